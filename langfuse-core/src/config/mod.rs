//! Configuration: every environment variable and default, in one place.
//!
//! A [`Config`] is built once, validated, and never changes. Settings come from the
//! [`ConfigBuilder`] first, then from the environment, then from the defaults below. An invalid
//! value is an error at build time ([`ConfigError`]) that names the variable or setting and shows
//! the value, except values that may be credentials, which are never shown. Missing keys are not
//! an error: the SDK runs disabled (see [`Config::disabled_reason`]), as the Python SDK does.
//!
//! Names follow the Python SDK where it has one. The last column says whether the Python SDK (v5)
//! reads the variable; **ours** marks the variables this crate adds.
//!
//! | Variable | Default | Meaning | Python SDK |
//! | --- | --- | --- | --- |
//! | `LANGFUSE_PUBLIC_KEY` | unset | Project public key (`pk-lf-...`). Blank counts as unset. | yes |
//! | `LANGFUSE_SECRET_KEY` | unset | Project secret key (`sk-lf-...`). Blank counts as unset. Never logged, never shown by `Debug` or in an error. | yes |
//! | `LANGFUSE_BASE_URL` | `https://cloud.langfuse.com` | Langfuse server, an `http` or `https` URL; a trailing slash is removed. | yes |
//! | `LANGFUSE_HOST` | unset | Older name of `LANGFUSE_BASE_URL`, read only when that is unset. | yes |
//! | `LANGFUSE_TRACING_ENABLED` | `true` | `false` turns tracing off: every observation becomes a no-op. | yes |
//! | `LANGFUSE_SAMPLE_RATE` | `1.0` | Fraction of traces kept, from 0 to 1. | yes |
//! | `LANGFUSE_FLUSH_AT` | `512` | Observations per export batch. | yes |
//! | `LANGFUSE_FLUSH_INTERVAL` | `5` | Seconds (a float) after which a partial batch is exported. | yes |
//! | `LANGFUSE_TIMEOUT` | `5` | Seconds (an integer or a float) allowed for each HTTP request. | yes |
//! | `LANGFUSE_DEBUG` | `false` | Verbose logs from the SDK (`tracing` target `langfuse`). | yes |
//! | `LANGFUSE_TRACING_ENVIRONMENT` | unset (the server shows `default`) | Environment of every trace: 1 to 40 characters of `a-z`, `0-9`, `_`, `-`, not starting with `langfuse`. | yes |
//! | `LANGFUSE_RELEASE` | the first CI commit variable set (below) | Release of every trace. | yes |
//! | `LANGFUSE_OBSERVE_DECORATOR_IO_CAPTURE_ENABLED` | `true` | Whether `#[observe]` captures inputs and outputs unless the function says otherwise. | yes |
//! | `LANGFUSE_OTEL_TRACES_EXPORT_PATH` | `/api/public/otel/v1/traces` | Path appended to the base URL for span export; must start with `/`. | yes |
//! | `LANGFUSE_OTEL_COMPRESSION` | `gzip` | `gzip` or `none` for span export. Falls back to `OTEL_EXPORTER_OTLP_TRACES_COMPRESSION`, then `OTEL_EXPORTER_OTLP_COMPRESSION`. | yes |
//! | `LANGFUSE_MAX_QUEUE_SIZE` | `200000` | Observations held for export (the shared queue and the exporter's batches, in flight included); beyond it new observations are dropped and counted. Each recording thread's ring (`LANGFUSE_THREAD_BUFFER_SIZE`) comes on top. | yes (default 2048 there) |
//! | `LANGFUSE_MAX_QUEUE_BYTES` | `67108864` (64 MiB) | Captured bytes (inputs, outputs, metadata) held for export; at least 1024. | **ours** |
//! | `LANGFUSE_CAPTURE_MAX_BYTES` | `32768` (32 KiB) | Byte budget of one captured field; serialization stops there and the field is marked truncated. At least 64. | **ours** |
//! | `LANGFUSE_EXPORTER` | `otlp` | `otlp` (send to Langfuse or a collector), `console` (write spans in readable form, for local development), `none` (record, then discard). | **ours** |
//! | `LANGFUSE_OTEL_MAX_BATCH_SIZE_BYTES` | `4194304` (4 MiB) | Uncompressed request size at which a batch is cut; at least 1024. | **ours** (same name, different meaning: Python drops a request above it, default 64 MiB) |
//! | `LANGFUSE_MAX_RETRIES` | `5` | Retries of one export after the first attempt. | **ours** (Python v2 only) |
//! | `LANGFUSE_THREAD_BUFFER_SIZE` | `4096` | Capacity of each recording thread's ring buffer, in observations (80 bytes each, allocated on a thread's first observation); a full ring spills into the shared queue. From 16 to 1048576 (a larger ring could not be allocated, and the allocation failure would abort the process on its first observation). | **ours** |
//! | `LANGFUSE_EXPORTER_NICENESS` | `10` | How much lower than the service the exporter thread is scheduled (Linux `nice`, 0 to 19): on a machine whose cores are all busy, requests run first and the exporter takes the idle time. 0 keeps the service's priority. Ignored elsewhere than Linux. | **ours** |
//! | `OTEL_SDK_DISABLED` | `false` | `true` turns tracing off, whatever else is set. | yes |
//! | `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` | unset | Full URL, used as is: spans go there (an OpenTelemetry Collector) instead of Langfuse. | **ours** (standard OpenTelemetry) |
//! | `OTEL_EXPORTER_OTLP_ENDPOINT` | unset | Base URL; spans go to it plus `/v1/traces`. Read when the variable above is unset. | **ours** (standard OpenTelemetry) |
//! | `OTEL_EXPORTER_OTLP_TRACES_HEADERS` | unset | Headers for the collector, `k1=v1,k2=v2` with percent-encoded values. Values are never shown. | **ours** (standard OpenTelemetry) |
//! | `OTEL_EXPORTER_OTLP_HEADERS` | unset | Read when the variable above is unset. | **ours** (standard OpenTelemetry) |
//! | `OTEL_EXPORTER_OTLP_TRACES_COMPRESSION`, `OTEL_EXPORTER_OTLP_COMPRESSION` | unset | Fallbacks of `LANGFUSE_OTEL_COMPRESSION`, in this order. | yes |
//! | `OTEL_SERVICE_NAME` | the executable's file name without extension, else `unknown_service:rust` | The `service.name` resource attribute. | through OpenTelemetry |
//!
//! The release falls back to the first of these that is set: `RENDER_GIT_COMMIT`,
//! `CI_COMMIT_SHA`, `CIRCLE_SHA1`, `SOURCE_VERSION`, `TRAVIS_COMMIT`, `GIT_COMMIT`, `GITHUB_SHA`,
//! `BITBUCKET_COMMIT`, `BUILD_SOURCEVERSION`, `DRONE_COMMIT_SHA` ([`env::RELEASE_FALLBACKS`]).
//!
//! Rules shared by every variable:
//!
//! - A variable set to an empty or blank value counts as unset.
//! - Values are trimmed before parsing.
//! - Booleans accept `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`, in any case. Anything else is
//!   an error (the Python SDK silently treats most unknown values as `true`).
//! - A value that is not valid Unicode is read lossily, and so fails validation visibly instead of
//!   being ignored.
//!
//! OpenTelemetry endpoint: when `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set, spans go there instead of Langfuse, without the Langfuse
//! keys, and the collector is expected to forward them (scores still go to Langfuse). Platforms
//! that set `OTEL_EXPORTER_OTLP_ENDPOINT` for their own tracing, such as the OpenTelemetry
//! Operator's injection, therefore redirect Langfuse spans too;
//! [`ConfigBuilder::ignore_otlp_endpoint_env`] keeps them going to Langfuse.
//!
//! Precedence: a builder value wins over the environment, which wins over the default. For the
//! server URL the order is the Python SDK's: [`ConfigBuilder::base_url`], `LANGFUSE_BASE_URL`,
//! [`ConfigBuilder::host`], `LANGFUSE_HOST`, the default.
//!
//! ```
//! use std::time::Duration;
//! use langfuse_core::{Config, ExporterKind};
//!
//! let config = Config::builder()
//!     .ignore_environment()
//!     .public_key("pk-lf-1234")
//!     .secret_key("sk-lf-5678")
//!     .base_url("https://langfuse.example.com/")
//!     .environment("staging")
//!     .flush_interval(Duration::from_secs(1))
//!     .build()?;
//! assert_eq!(config.base_url(), "https://langfuse.example.com");
//! assert_eq!(config.traces_url().as_str(), "https://langfuse.example.com/api/public/otel/v1/traces");
//! assert_eq!(config.exporter(), ExporterKind::Otlp);
//! assert!(config.disabled_reason().is_none());
//! # Ok::<(), langfuse_core::ConfigError>(())
//! ```

use std::borrow::Cow;
use std::error::Error;
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use percent_encoding::percent_decode_str;
use reqwest::Url;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

mod mask;
pub(crate) use mask::Mask;

/// Names of the environment variables the SDK reads, one constant per variable.
///
/// ```
/// use langfuse_core::config::env;
///
/// assert_eq!(env::LANGFUSE_SAMPLE_RATE, "LANGFUSE_SAMPLE_RATE");
/// assert_eq!(env::RELEASE_FALLBACKS[0], "RENDER_GIT_COMMIT");
/// ```
pub mod env {
    /// Project public key.
    pub const LANGFUSE_PUBLIC_KEY: &str = "LANGFUSE_PUBLIC_KEY";
    /// Project secret key.
    pub const LANGFUSE_SECRET_KEY: &str = "LANGFUSE_SECRET_KEY";
    /// Langfuse server URL.
    pub const LANGFUSE_BASE_URL: &str = "LANGFUSE_BASE_URL";
    /// Older name of [`LANGFUSE_BASE_URL`], read when that is unset.
    pub const LANGFUSE_HOST: &str = "LANGFUSE_HOST";
    /// `false` turns tracing off.
    pub const LANGFUSE_TRACING_ENABLED: &str = "LANGFUSE_TRACING_ENABLED";
    /// Fraction of traces kept, 0 to 1.
    pub const LANGFUSE_SAMPLE_RATE: &str = "LANGFUSE_SAMPLE_RATE";
    /// Observations per export batch.
    pub const LANGFUSE_FLUSH_AT: &str = "LANGFUSE_FLUSH_AT";
    /// Seconds after which a partial batch is exported.
    pub const LANGFUSE_FLUSH_INTERVAL: &str = "LANGFUSE_FLUSH_INTERVAL";
    /// Seconds allowed for each HTTP request.
    pub const LANGFUSE_TIMEOUT: &str = "LANGFUSE_TIMEOUT";
    /// Verbose SDK logs.
    pub const LANGFUSE_DEBUG: &str = "LANGFUSE_DEBUG";
    /// Environment of every trace.
    pub const LANGFUSE_TRACING_ENVIRONMENT: &str = "LANGFUSE_TRACING_ENVIRONMENT";
    /// Release of every trace.
    pub const LANGFUSE_RELEASE: &str = "LANGFUSE_RELEASE";
    /// Default of input and output capture for `#[observe]`.
    pub const LANGFUSE_OBSERVE_DECORATOR_IO_CAPTURE_ENABLED: &str =
        "LANGFUSE_OBSERVE_DECORATOR_IO_CAPTURE_ENABLED";
    /// Path appended to the base URL for span export.
    pub const LANGFUSE_OTEL_TRACES_EXPORT_PATH: &str = "LANGFUSE_OTEL_TRACES_EXPORT_PATH";
    /// `gzip` or `none` for span export.
    pub const LANGFUSE_OTEL_COMPRESSION: &str = "LANGFUSE_OTEL_COMPRESSION";
    /// Observations held for export.
    pub const LANGFUSE_MAX_QUEUE_SIZE: &str = "LANGFUSE_MAX_QUEUE_SIZE";
    /// Captured bytes held for export (ours).
    pub const LANGFUSE_MAX_QUEUE_BYTES: &str = "LANGFUSE_MAX_QUEUE_BYTES";
    /// Byte budget of one captured field (ours).
    pub const LANGFUSE_CAPTURE_MAX_BYTES: &str = "LANGFUSE_CAPTURE_MAX_BYTES";
    /// `otlp`, `console` or `none` (ours).
    pub const LANGFUSE_EXPORTER: &str = "LANGFUSE_EXPORTER";
    /// Uncompressed request size at which a batch is cut (ours; Python's meaning differs).
    pub const LANGFUSE_OTEL_MAX_BATCH_SIZE_BYTES: &str = "LANGFUSE_OTEL_MAX_BATCH_SIZE_BYTES";
    /// Retries of one export (ours).
    pub const LANGFUSE_MAX_RETRIES: &str = "LANGFUSE_MAX_RETRIES";
    /// Observations a thread buffers before handing them to the queue (ours).
    pub const LANGFUSE_THREAD_BUFFER_SIZE: &str = "LANGFUSE_THREAD_BUFFER_SIZE";
    /// How much lower than the service the exporter thread is scheduled (ours).
    pub const LANGFUSE_EXPORTER_NICENESS: &str = "LANGFUSE_EXPORTER_NICENESS";
    /// `true` turns tracing off (OpenTelemetry).
    pub const OTEL_SDK_DISABLED: &str = "OTEL_SDK_DISABLED";
    /// Full URL spans are sent to instead of Langfuse (OpenTelemetry).
    pub const OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
    /// Base URL; spans go to it plus `/v1/traces` (OpenTelemetry).
    pub const OTEL_EXPORTER_OTLP_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
    /// Headers for span export to the OpenTelemetry endpoint (OpenTelemetry).
    pub const OTEL_EXPORTER_OTLP_TRACES_HEADERS: &str = "OTEL_EXPORTER_OTLP_TRACES_HEADERS";
    /// Headers for every OTLP export, read when the traces variant is unset (OpenTelemetry).
    pub const OTEL_EXPORTER_OTLP_HEADERS: &str = "OTEL_EXPORTER_OTLP_HEADERS";
    /// First fallback of [`LANGFUSE_OTEL_COMPRESSION`] (OpenTelemetry).
    pub const OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: &str = "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION";
    /// Second fallback of [`LANGFUSE_OTEL_COMPRESSION`] (OpenTelemetry).
    pub const OTEL_EXPORTER_OTLP_COMPRESSION: &str = "OTEL_EXPORTER_OTLP_COMPRESSION";
    /// The `service.name` resource attribute (OpenTelemetry).
    pub const OTEL_SERVICE_NAME: &str = "OTEL_SERVICE_NAME";

    /// CI variables holding the commit, read in this order when [`LANGFUSE_RELEASE`] is unset.
    pub const RELEASE_FALLBACKS: [&str; 10] = [
        "RENDER_GIT_COMMIT",
        "CI_COMMIT_SHA",
        "CIRCLE_SHA1",
        "SOURCE_VERSION",
        "TRAVIS_COMMIT",
        "GIT_COMMIT",
        "GITHUB_SHA",
        "BITBUCKET_COMMIT",
        "BUILD_SOURCEVERSION",
        "DRONE_COMMIT_SHA",
    ];
}

const DEFAULT_BASE_URL: &str = "https://cloud.langfuse.com";
const DEFAULT_SAMPLE_RATE: f64 = 1.0;
const DEFAULT_FLUSH_AT: usize = 512;
const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_secs(5);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
const DEFAULT_TRACES_EXPORT_PATH: &str = "/api/public/otel/v1/traces";
const SCORES_PATH: &str = "/api/public/scores";
const OTLP_TRACES_SUFFIX: &str = "/v1/traces";
const DEFAULT_MAX_QUEUE_SIZE: usize = 200_000;
const DEFAULT_MAX_QUEUE_BYTES: usize = 64 << 20;
const DEFAULT_CAPTURE_MAX_BYTES: usize = 32 << 10;
const DEFAULT_MAX_BATCH_BYTES: usize = 4 << 20;
const DEFAULT_MAX_RETRIES: u32 = 5;
const DEFAULT_THREAD_BUFFER_SIZE: usize = 4096;
/// Lower than the service, yet never starved on an idle core; see `LANGFUSE_EXPORTER_NICENESS`.
const DEFAULT_EXPORTER_NICENESS: usize = 10;
/// Linux's lowest priority.
const MAX_EXPORTER_NICENESS: usize = 19;
const UNKNOWN_SERVICE_NAME: &str = "unknown_service:rust";

const MIN_QUEUE_BYTES: usize = 1024;
const MIN_CAPTURE_BYTES: usize = 64;
const MIN_BATCH_BYTES: usize = 1024;
const MIN_THREAD_BUFFER_SIZE: usize = 16;
/// Each thread allocates its ring (80 bytes a slot) on its first observation, on the hot path:
/// an absurd size must be a configuration error, not an allocation failure that aborts there.
const MAX_THREAD_BUFFER_SIZE: usize = 1 << 20;
// Longer durations are certainly mistakes, and bounding them keeps `Instant + duration` from
// overflowing anywhere downstream.
const MAX_SECONDS: f64 = 86_400.0;
const MAX_ENVIRONMENT_LEN: usize = 40;

/// What an error shows instead of a value that may be a credential.
const REDACTED: &str = "<redacted>";

/// Compression of span export requests.
///
/// ```
/// use langfuse_core::{Compression, Config};
///
/// let config = Config::builder().ignore_environment().compression(Compression::None).build()?;
/// assert_eq!(config.compression(), Compression::None);
/// assert_eq!(Compression::default(), Compression::Gzip);
/// # Ok::<(), langfuse_core::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Compression {
    /// `Content-Encoding: gzip`, the default.
    #[default]
    Gzip,
    /// No compression.
    None,
}

impl Compression {
    /// The name used in the environment: `gzip` or `none`.
    ///
    /// ```
    /// use langfuse_core::Compression;
    /// assert_eq!(Compression::Gzip.as_str(), "gzip");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Gzip => "gzip",
            Self::None => "none",
        }
    }

    fn parse(value: &str) -> Result<Self, String> {
        match value.to_ascii_lowercase().as_str() {
            "gzip" => Ok(Self::Gzip),
            "none" => Ok(Self::None),
            _ => Err("expected gzip or none".to_owned()),
        }
    }
}

/// Where finished observations go.
///
/// ```
/// use langfuse_core::{Config, ExporterKind};
///
/// // The console exporter needs no keys.
/// let config = Config::builder().ignore_environment().exporter(ExporterKind::Console).build()?;
/// assert_eq!(config.exporter(), ExporterKind::Console);
/// assert!(config.disabled_reason().is_none());
/// # Ok::<(), langfuse_core::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ExporterKind {
    /// OTLP/HTTP to Langfuse, or to the OpenTelemetry endpoint when one is configured. The default.
    #[default]
    Otlp,
    /// Write every span in readable form instead of sending it; for local development.
    Console,
    /// Record and discard; for benchmarks and tests.
    None,
}

impl ExporterKind {
    /// The name used in the environment: `otlp`, `console` or `none`.
    ///
    /// ```
    /// use langfuse_core::ExporterKind;
    /// assert_eq!(ExporterKind::Console.as_str(), "console");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Otlp => "otlp",
            Self::Console => "console",
            Self::None => "none",
        }
    }

    fn parse(value: &str) -> Result<Self, String> {
        match value.to_ascii_lowercase().as_str() {
            "otlp" => Ok(Self::Otlp),
            "console" => Ok(Self::Console),
            "none" => Ok(Self::None),
            _ => Err("expected otlp, console or none".to_owned()),
        }
    }
}

/// Why a valid configuration still records nothing. Logged once, as a warning, at start.
///
/// ```
/// use langfuse_core::{Config, DisabledReason};
///
/// let config = Config::builder().ignore_environment().public_key("pk-lf-1").build()?;
/// assert_eq!(
///     config.disabled_reason(),
///     Some(DisabledReason::MissingKeys { public_key_missing: false, secret_key_missing: true })
/// );
/// assert_eq!(config.disabled_reason().unwrap().to_string(), "LANGFUSE_SECRET_KEY is not set");
/// # Ok::<(), langfuse_core::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DisabledReason {
    /// `LANGFUSE_TRACING_ENABLED=false` or [`ConfigBuilder::tracing_enabled`]`(false)`.
    TracingDisabled,
    /// `OTEL_SDK_DISABLED=true`.
    OtelSdkDisabled,
    /// The OTLP exporter sends to Langfuse and a key is missing.
    MissingKeys {
        /// `LANGFUSE_PUBLIC_KEY` is unset or blank.
        public_key_missing: bool,
        /// `LANGFUSE_SECRET_KEY` is unset or blank.
        secret_key_missing: bool,
    },
}

impl fmt::Display for DisabledReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::TracingDisabled => f.write_str(
                "tracing is disabled (LANGFUSE_TRACING_ENABLED or tracing_enabled(false))",
            ),
            Self::OtelSdkDisabled => f.write_str("OTEL_SDK_DISABLED is true"),
            Self::MissingKeys {
                public_key_missing: true,
                secret_key_missing: true,
            } => f.write_str("LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY are not set"),
            Self::MissingKeys {
                public_key_missing: true,
                ..
            } => f.write_str("LANGFUSE_PUBLIC_KEY is not set"),
            Self::MissingKeys { .. } => f.write_str("LANGFUSE_SECRET_KEY is not set"),
        }
    }
}

/// A validated, immutable configuration. Build one with [`Config::builder`] or
/// [`Config::from_env`]; see the [module documentation](self) for every setting.
///
/// Its `Debug` output never shows the secret key or header values.
///
/// ```
/// use langfuse_core::Config;
///
/// let config = Config::builder().ignore_environment().secret_key("sk-lf-hidden").build()?;
/// let shown = format!("{config:?}");
/// assert!(shown.contains(r#"secret_key: Some("<redacted>")"#));
/// assert!(!shown.contains("sk-lf-hidden"));
/// # Ok::<(), langfuse_core::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct Config {
    pub(crate) public_key: Option<String>,
    pub(crate) secret_key: Option<Secret>,
    pub(crate) base_url: String,
    pub(crate) tracing_enabled: bool,
    pub(crate) otel_sdk_disabled: bool,
    pub(crate) sample_rate: f64,
    pub(crate) flush_at: usize,
    pub(crate) flush_interval: Duration,
    pub(crate) timeout: Duration,
    pub(crate) debug: bool,
    pub(crate) environment: Option<String>,
    pub(crate) release: Option<String>,
    pub(crate) io_capture_enabled: bool,
    pub(crate) traces_export_path: String,
    pub(crate) compression: Compression,
    pub(crate) max_queue_size: usize,
    pub(crate) max_queue_bytes: usize,
    pub(crate) capture_max_bytes: usize,
    pub(crate) exporter: ExporterKind,
    pub(crate) max_batch_bytes: usize,
    pub(crate) max_retries: u32,
    pub(crate) thread_buffer_size: usize,
    pub(crate) exporter_niceness: u8,
    pub(crate) otlp_traces_endpoint: Option<Url>,
    pub(crate) otlp_headers: HeaderMap,
    pub(crate) additional_headers: HeaderMap,
    pub(crate) service_name: String,
    pub(crate) mask: Option<Mask>,
    // Derived at build time so that using them can never fail.
    pub(crate) traces_url: Url,
    pub(crate) scores_url: Url,
    pub(crate) insecure_remote: bool,
}

impl Config {
    /// A builder with nothing set: [`build`](ConfigBuilder::build) fills every setting from the
    /// environment, then from the defaults.
    ///
    /// ```
    /// use langfuse_core::Config;
    ///
    /// let config = Config::builder().ignore_environment().sample_rate(0.1).build()?;
    /// assert_eq!(config.sample_rate(), 0.1);
    /// # Ok::<(), langfuse_core::ConfigError>(())
    /// ```
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// Reads every setting from the environment, with the defaults for what is unset.
    ///
    /// ```
    /// use langfuse_core::Config;
    ///
    /// match Config::from_env() {
    ///     Ok(config) => println!("exporting to {}", config.traces_url()),
    ///     Err(error) => eprintln!("langfuse: {error}"),
    /// }
    /// ```
    pub fn from_env() -> Result<Self, ConfigError> {
        ConfigBuilder::default().build()
    }

    /// The project public key, if set.
    pub fn public_key(&self) -> Option<&str> {
        self.public_key.as_deref()
    }

    /// The project secret key, if set: for the Authorization header. Never log it; the
    /// configuration's own `Debug` output and errors never show it.
    pub fn secret_key(&self) -> Option<&str> {
        self.secret_key.as_ref().map(|secret| secret.0.as_str())
    }

    /// The Langfuse server URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The tracing-enabled setting itself; [`disabled_reason`](Self::disabled_reason) tells
    /// whether the SDK actually records.
    pub fn tracing_enabled(&self) -> bool {
        self.tracing_enabled
    }

    /// Whether `OTEL_SDK_DISABLED` is true.
    pub fn otel_sdk_disabled(&self) -> bool {
        self.otel_sdk_disabled
    }

    /// Fraction of traces kept, from 0 to 1.
    pub fn sample_rate(&self) -> f64 {
        self.sample_rate
    }

    /// Observations per export batch.
    pub fn flush_at(&self) -> usize {
        self.flush_at
    }

    /// Time after which a partial batch is exported.
    pub fn flush_interval(&self) -> Duration {
        self.flush_interval
    }

    /// Time allowed for each HTTP request.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Whether the SDK logs verbosely.
    pub fn debug(&self) -> bool {
        self.debug
    }

    /// The environment of every trace, if set.
    pub fn environment(&self) -> Option<&str> {
        self.environment.as_deref()
    }

    /// The release of every trace, if set or found in a CI variable.
    pub fn release(&self) -> Option<&str> {
        self.release.as_deref()
    }

    /// Whether `#[observe]` captures inputs and outputs unless the function says otherwise.
    pub fn io_capture_enabled(&self) -> bool {
        self.io_capture_enabled
    }

    /// Path appended to the base URL for span export.
    pub fn traces_export_path(&self) -> &str {
        &self.traces_export_path
    }

    /// Compression of span export requests.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// Observations held for export before new ones are dropped.
    pub fn max_queue_size(&self) -> usize {
        self.max_queue_size
    }

    /// Captured bytes held for export before new observations are dropped.
    pub fn max_queue_bytes(&self) -> usize {
        self.max_queue_bytes
    }

    /// Byte budget of one captured field.
    pub fn capture_max_bytes(&self) -> usize {
        self.capture_max_bytes
    }

    /// Where finished observations go.
    pub fn exporter(&self) -> ExporterKind {
        self.exporter
    }

    /// Uncompressed request size at which a batch is cut. A single observation larger than this
    /// is still sent, alone.
    pub fn max_batch_bytes(&self) -> usize {
        self.max_batch_bytes
    }

    /// Retries of one export after the first attempt.
    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// Observations a thread buffers before handing them to the queue.
    pub fn thread_buffer_size(&self) -> usize {
        self.thread_buffer_size
    }

    /// How much lower than the service the exporter thread is scheduled (Linux `nice`).
    pub fn exporter_niceness(&self) -> u8 {
        self.exporter_niceness
    }

    /// The OpenTelemetry endpoint spans go to instead of Langfuse, if one is configured.
    pub fn otlp_traces_endpoint(&self) -> Option<&Url> {
        self.otlp_traces_endpoint.as_ref()
    }

    /// Headers for span export to the OpenTelemetry endpoint. They are meant for that endpoint
    /// only and are not sent to Langfuse. Every value is marked sensitive.
    pub fn otlp_headers(&self) -> &HeaderMap {
        &self.otlp_headers
    }

    /// Headers added to every request the SDK makes (span export and scores). Every value is
    /// marked sensitive.
    pub fn additional_headers(&self) -> &HeaderMap {
        &self.additional_headers
    }

    /// The `service.name` resource attribute.
    pub fn service_name(&self) -> &str {
        &self.service_name
    }

    /// Where spans are POSTed: the OpenTelemetry endpoint if configured, else the base URL plus
    /// the traces export path.
    ///
    /// ```
    /// use langfuse_core::Config;
    ///
    /// let config = Config::builder().ignore_environment().base_url("http://localhost:3000").build()?;
    /// assert_eq!(config.traces_url().as_str(), "http://localhost:3000/api/public/otel/v1/traces");
    /// # Ok::<(), langfuse_core::ConfigError>(())
    /// ```
    pub fn traces_url(&self) -> &Url {
        &self.traces_url
    }

    /// Where scores are POSTed: always Langfuse, even when spans go to an OpenTelemetry endpoint.
    ///
    /// ```
    /// use langfuse_core::Config;
    ///
    /// let config = Config::builder().ignore_environment().build()?;
    /// assert_eq!(config.scores_url().as_str(), "https://cloud.langfuse.com/api/public/scores");
    /// # Ok::<(), langfuse_core::ConfigError>(())
    /// ```
    pub fn scores_url(&self) -> &Url {
        &self.scores_url
    }

    /// Why this configuration records nothing, or `None` when it records. Checked in this order:
    /// tracing disabled, `OTEL_SDK_DISABLED`, missing keys. Keys are required only when the OTLP
    /// exporter sends to Langfuse; the console and none exporters, and an OpenTelemetry endpoint,
    /// need none (scores, which always go to Langfuse, still do).
    ///
    /// ```
    /// use langfuse_core::{Config, DisabledReason};
    ///
    /// let config = Config::builder().ignore_environment().build()?;
    /// assert!(matches!(config.disabled_reason(), Some(DisabledReason::MissingKeys { .. })));
    /// # Ok::<(), langfuse_core::ConfigError>(())
    /// ```
    pub fn disabled_reason(&self) -> Option<DisabledReason> {
        if !self.tracing_enabled {
            return Some(DisabledReason::TracingDisabled);
        }
        if self.otel_sdk_disabled {
            return Some(DisabledReason::OtelSdkDisabled);
        }
        let sends_to_langfuse =
            self.exporter == ExporterKind::Otlp && self.otlp_traces_endpoint.is_none();
        let public_key_missing = self.public_key.is_none();
        let secret_key_missing = self.secret_key.is_none();
        if sends_to_langfuse && (public_key_missing || secret_key_missing) {
            return Some(DisabledReason::MissingKeys {
                public_key_missing,
                secret_key_missing,
            });
        }
        None
    }

    /// Whether the keys would travel in clear text to another machine: the base URL is `http`
    /// and its host is not `localhost` or a loopback address. Worth a warning, not an error,
    /// since a server inside a private network is a legitimate setup.
    ///
    /// ```
    /// use langfuse_core::Config;
    ///
    /// let remote = Config::builder().ignore_environment().base_url("http://langfuse.example.com").build()?;
    /// let local = Config::builder().ignore_environment().base_url("http://127.0.0.1:3000").build()?;
    /// assert!(remote.is_insecure_remote());
    /// assert!(!local.is_insecure_remote());
    /// # Ok::<(), langfuse_core::ConfigError>(())
    /// ```
    pub fn is_insecure_remote(&self) -> bool {
        self.insecure_remote
    }

    /// The mask function, if one was given ([`ConfigBuilder::mask`]).
    pub(crate) fn mask(&self) -> Option<&Mask> {
        self.mask.as_ref()
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("public_key", &self.public_key)
            .field("secret_key", &self.secret_key)
            .field("base_url", &self.base_url)
            .field("tracing_enabled", &self.tracing_enabled)
            .field("otel_sdk_disabled", &self.otel_sdk_disabled)
            .field("sample_rate", &self.sample_rate)
            .field("flush_at", &self.flush_at)
            .field("flush_interval", &self.flush_interval)
            .field("timeout", &self.timeout)
            .field("debug", &self.debug)
            .field("environment", &self.environment)
            .field("release", &self.release)
            .field("io_capture_enabled", &self.io_capture_enabled)
            .field("traces_export_path", &self.traces_export_path)
            .field("compression", &self.compression)
            .field("max_queue_size", &self.max_queue_size)
            .field("max_queue_bytes", &self.max_queue_bytes)
            .field("capture_max_bytes", &self.capture_max_bytes)
            .field("exporter", &self.exporter)
            .field("max_batch_bytes", &self.max_batch_bytes)
            .field("max_retries", &self.max_retries)
            .field("thread_buffer_size", &self.thread_buffer_size)
            .field("exporter_niceness", &self.exporter_niceness)
            .field(
                "otlp_traces_endpoint",
                &self.otlp_traces_endpoint.as_ref().map(Url::as_str),
            )
            .field("otlp_headers", &RedactedHeaders(&self.otlp_headers))
            .field(
                "additional_headers",
                &RedactedHeaders(&self.additional_headers),
            )
            .field("service_name", &self.service_name)
            .field("mask", &self.mask)
            .field("traces_url", &self.traces_url.as_str())
            .field("scores_url", &self.scores_url.as_str())
            .finish()
    }
}

/// Header names with their values hidden: OTLP headers usually carry an API key.
struct RedactedHeaders<'a>(&'a HeaderMap);

impl fmt::Debug for RedactedHeaders<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.keys().map(|name| (name.as_str(), REDACTED)))
            .finish()
    }
}

/// A string that may be a credential: its `Debug` shows `"<redacted>"`.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(REDACTED, f)
    }
}

/// Builds a [`Config`]. Every setting left unset is read from the environment (unless
/// [`ignore_environment`](Self::ignore_environment) is called), then defaulted. Values given here
/// are validated by the same rules as the environment, when [`build`](Self::build) runs.
///
/// Its `Debug` output never shows the secret key or header values.
///
/// ```
/// use std::time::Duration;
/// use langfuse_core::{Compression, Config};
///
/// let config = Config::builder()
///     .ignore_environment()
///     .public_key("pk-lf-1")
///     .secret_key("sk-lf-1")
///     .timeout(Duration::from_millis(2500))
///     .compression(Compression::None)
///     .build()?;
/// assert_eq!(config.timeout(), Duration::from_millis(2500));
/// # Ok::<(), langfuse_core::ConfigError>(())
/// ```
#[derive(Debug, Clone, Default)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct ConfigBuilder {
    ignore_environment: bool,
    ignore_otlp_endpoint_env: bool,
    public_key: Option<String>,
    secret_key: Option<Secret>,
    base_url: Option<String>,
    host: Option<String>,
    tracing_enabled: Option<bool>,
    sample_rate: Option<f64>,
    flush_at: Option<usize>,
    flush_interval: Option<Duration>,
    timeout: Option<Duration>,
    debug: Option<bool>,
    environment: Option<String>,
    release: Option<String>,
    io_capture_enabled: Option<bool>,
    traces_export_path: Option<String>,
    compression: Option<Compression>,
    max_queue_size: Option<usize>,
    max_queue_bytes: Option<usize>,
    capture_max_bytes: Option<usize>,
    exporter: Option<ExporterKind>,
    max_batch_bytes: Option<usize>,
    max_retries: Option<u32>,
    thread_buffer_size: Option<usize>,
    exporter_niceness: Option<usize>,
    otlp_traces_endpoint: Option<String>,
    otlp_headers: Vec<(String, Secret)>,
    additional_headers: Vec<(String, Secret)>,
    service_name: Option<String>,
    mask: Option<Mask>,
}

impl ConfigBuilder {
    /// Reads nothing from the environment: unset settings take their defaults. For tests, and
    /// for programs that configure everything in code.
    ///
    /// ```
    /// use langfuse_core::Config;
    ///
    /// let config = Config::builder().ignore_environment().build()?;
    /// assert_eq!(config.public_key(), None);
    /// # Ok::<(), langfuse_core::ConfigError>(())
    /// ```
    pub fn ignore_environment(mut self) -> Self {
        self.ignore_environment = true;
        self
    }

    /// Reads neither `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` and `OTEL_EXPORTER_OTLP_ENDPOINT` nor
    /// the OTLP header variables, so that spans go to Langfuse even where the platform sets them
    /// for its own tracing. The rest of the environment is still read, and
    /// [`otlp_traces_endpoint`](Self::otlp_traces_endpoint) still applies.
    ///
    /// ```
    /// use langfuse_core::Config;
    ///
    /// // Even if OTEL_EXPORTER_OTLP_ENDPOINT points at the platform's collector:
    /// if let Ok(config) = Config::builder().ignore_otlp_endpoint_env().build() {
    ///     assert!(config.otlp_traces_endpoint().is_none());
    /// }
    /// ```
    pub fn ignore_otlp_endpoint_env(mut self) -> Self {
        self.ignore_otlp_endpoint_env = true;
        self
    }

    /// The project public key (`LANGFUSE_PUBLIC_KEY`). Trimmed; a blank key counts as unset.
    ///
    /// ```
    /// use langfuse_core::Config;
    ///
    /// let config = Config::builder().ignore_environment().public_key(" pk-lf-1\n").build()?;
    /// assert_eq!(config.public_key(), Some("pk-lf-1"));
    /// # Ok::<(), langfuse_core::ConfigError>(())
    /// ```
    pub fn public_key(mut self, key: impl Into<String>) -> Self {
        self.public_key = Some(key.into());
        self
    }

    /// The project secret key (`LANGFUSE_SECRET_KEY`). Trimmed; a blank key counts as unset.
    ///
    /// ```
    /// use langfuse_core::Config;
    ///
    /// let config = Config::builder().ignore_environment().secret_key(" sk-lf-1\n").build()?;
    /// assert_eq!(config.secret_key(), Some("sk-lf-1"));
    /// # Ok::<(), langfuse_core::ConfigError>(())
    /// ```
    pub fn secret_key(mut self, key: impl Into<String>) -> Self {
        self.secret_key = Some(Secret(key.into()));
        self
    }

    /// The Langfuse server URL (`LANGFUSE_BASE_URL`); wins over everything else.
    ///
    /// ```
    /// use langfuse_core::Config;
    ///
    /// let config = Config::builder().ignore_environment().base_url("https://eu.example.com/").build()?;
    /// assert_eq!(config.base_url(), "https://eu.example.com");
    /// # Ok::<(), langfuse_core::ConfigError>(())
    /// ```
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The server URL under its older name (`LANGFUSE_HOST`): used only when neither
    /// [`base_url`](Self::base_url) nor `LANGFUSE_BASE_URL` is set, as in the Python SDK.
    ///
    /// ```
    /// use langfuse_core::Config;
    ///
    /// let config = Config::builder().ignore_environment().host("http://localhost:3000").build()?;
    /// assert_eq!(config.base_url(), "http://localhost:3000");
    /// # Ok::<(), langfuse_core::ConfigError>(())
    /// ```
    pub fn host(mut self, url: impl Into<String>) -> Self {
        self.host = Some(url.into());
        self
    }

    /// Whether tracing is on (`LANGFUSE_TRACING_ENABLED`). `OTEL_SDK_DISABLED=true` still turns
    /// it off.
    ///
    /// ```
    /// use langfuse_core::{Config, DisabledReason};
    ///
    /// let config = Config::builder().ignore_environment().tracing_enabled(false).build()?;
    /// assert_eq!(config.disabled_reason(), Some(DisabledReason::TracingDisabled));
    /// # Ok::<(), langfuse_core::ConfigError>(())
    /// ```
    pub fn tracing_enabled(mut self, enabled: bool) -> Self {
        self.tracing_enabled = Some(enabled);
        self
    }

    /// Fraction of traces kept (`LANGFUSE_SAMPLE_RATE`), from 0 to 1.
    ///
    /// ```
    /// use langfuse_core::Config;
    ///
    /// assert!(Config::builder().ignore_environment().sample_rate(1.5).build().is_err());
    /// ```
    pub fn sample_rate(mut self, rate: f64) -> Self {
        self.sample_rate = Some(rate);
        self
    }

    /// Observations per export batch (`LANGFUSE_FLUSH_AT`), at least 1.
    pub fn flush_at(mut self, observations: usize) -> Self {
        self.flush_at = Some(observations);
        self
    }

    /// Time after which a partial batch is exported (`LANGFUSE_FLUSH_INTERVAL`); more than zero,
    /// at most a day.
    pub fn flush_interval(mut self, interval: Duration) -> Self {
        self.flush_interval = Some(interval);
        self
    }

    /// Time allowed for each HTTP request (`LANGFUSE_TIMEOUT`); more than zero, at most a day.
    ///
    /// ```
    /// use std::time::Duration;
    /// use langfuse_core::Config;
    ///
    /// assert!(Config::builder().ignore_environment().timeout(Duration::ZERO).build().is_err());
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Verbose SDK logs (`LANGFUSE_DEBUG`).
    pub fn debug(mut self, debug: bool) -> Self {
        self.debug = Some(debug);
        self
    }

    /// Environment of every trace (`LANGFUSE_TRACING_ENVIRONMENT`): 1 to 40 characters of
    /// `a-z`, `0-9`, `_` and `-`, not starting with `langfuse`.
    ///
    /// ```
    /// use langfuse_core::Config;
    ///
    /// assert!(Config::builder().ignore_environment().environment("staging").build().is_ok());
    /// assert!(Config::builder().ignore_environment().environment("Staging").build().is_err());
    /// ```
    pub fn environment(mut self, environment: impl Into<String>) -> Self {
        self.environment = Some(environment.into());
        self
    }

    /// Release of every trace (`LANGFUSE_RELEASE`); not empty.
    pub fn release(mut self, release: impl Into<String>) -> Self {
        self.release = Some(release.into());
        self
    }

    /// Whether `#[observe]` captures inputs and outputs by default
    /// (`LANGFUSE_OBSERVE_DECORATOR_IO_CAPTURE_ENABLED`).
    pub fn io_capture_enabled(mut self, enabled: bool) -> Self {
        self.io_capture_enabled = Some(enabled);
        self
    }

    /// Path appended to the base URL for span export (`LANGFUSE_OTEL_TRACES_EXPORT_PATH`); starts
    /// with `/`, no query or fragment.
    ///
    /// ```
    /// use langfuse_core::Config;
    ///
    /// let config = Config::builder().ignore_environment().traces_export_path("/otel/v1/traces").build()?;
    /// assert_eq!(config.traces_url().as_str(), "https://cloud.langfuse.com/otel/v1/traces");
    /// # Ok::<(), langfuse_core::ConfigError>(())
    /// ```
    pub fn traces_export_path(mut self, path: impl Into<String>) -> Self {
        self.traces_export_path = Some(path.into());
        self
    }

    /// Compression of span export requests (`LANGFUSE_OTEL_COMPRESSION`).
    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = Some(compression);
        self
    }

    /// Observations held for export (`LANGFUSE_MAX_QUEUE_SIZE`), at least 1.
    pub fn max_queue_size(mut self, observations: usize) -> Self {
        self.max_queue_size = Some(observations);
        self
    }

    /// Captured bytes held for export (`LANGFUSE_MAX_QUEUE_BYTES`), at least 1024.
    pub fn max_queue_bytes(mut self, bytes: usize) -> Self {
        self.max_queue_bytes = Some(bytes);
        self
    }

    /// Byte budget of one captured field (`LANGFUSE_CAPTURE_MAX_BYTES`), at least 64.
    pub fn capture_max_bytes(mut self, bytes: usize) -> Self {
        self.capture_max_bytes = Some(bytes);
        self
    }

    /// Where finished observations go (`LANGFUSE_EXPORTER`).
    pub fn exporter(mut self, exporter: ExporterKind) -> Self {
        self.exporter = Some(exporter);
        self
    }

    /// Uncompressed request size at which a batch is cut (`LANGFUSE_OTEL_MAX_BATCH_SIZE_BYTES`),
    /// at least 1024.
    pub fn max_batch_bytes(mut self, bytes: usize) -> Self {
        self.max_batch_bytes = Some(bytes);
        self
    }

    /// Retries of one export after the first attempt (`LANGFUSE_MAX_RETRIES`); 0 disables
    /// retrying.
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = Some(retries);
        self
    }

    /// Observations a thread buffers before handing them to the queue
    /// (`LANGFUSE_THREAD_BUFFER_SIZE`), from 16 to 1,048,576.
    pub fn thread_buffer_size(mut self, observations: usize) -> Self {
        self.thread_buffer_size = Some(observations);
        self
    }

    /// How much lower than the service the exporter thread is scheduled
    /// (`LANGFUSE_EXPORTER_NICENESS`): a Linux `nice` increment from 0 to 19, default 10.
    /// When every core is busy, the service's threads then run before the exporter, so its
    /// encoding, compression and requests never delay a request; when a core is idle, it
    /// changes nothing. Under sustained full load the exporter may fall behind, and the queue
    /// bounds what it holds (drops are counted). 0 keeps the service's priority. Other
    /// platforms ignore it.
    pub fn exporter_niceness(mut self, niceness: u8) -> Self {
        self.exporter_niceness = Some(usize::from(niceness));
        self
    }

    /// Full URL, used as is, that spans go to instead of Langfuse
    /// (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`): an OpenTelemetry Collector, typically. Must be
    /// `http` or `https`, without credentials (give those with
    /// [`otlp_header`](Self::otlp_header)).
    ///
    /// ```
    /// use langfuse_core::Config;
    ///
    /// let config = Config::builder()
    ///     .ignore_environment()
    ///     .otlp_traces_endpoint("https://otel.example.com/v1/traces")
    ///     .build()?;
    /// assert_eq!(config.traces_url().as_str(), "https://otel.example.com/v1/traces");
    /// # Ok::<(), langfuse_core::ConfigError>(())
    /// ```
    pub fn otlp_traces_endpoint(mut self, url: impl Into<String>) -> Self {
        self.otlp_traces_endpoint = Some(url.into());
        self
    }

    /// Adds a header for span export to the OpenTelemetry endpoint. Once one is given here,
    /// `OTEL_EXPORTER_OTLP_TRACES_HEADERS` and `OTEL_EXPORTER_OTLP_HEADERS` are not read. A name
    /// given twice keeps the last value.
    ///
    /// ```
    /// use langfuse_core::Config;
    ///
    /// let config = Config::builder()
    ///     .ignore_environment()
    ///     .otlp_header("Authorization", "Bearer t0ken")
    ///     .build()?;
    /// assert_eq!(config.otlp_headers()["authorization"], "Bearer t0ken");
    /// # Ok::<(), langfuse_core::ConfigError>(())
    /// ```
    pub fn otlp_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.otlp_headers.push((name.into(), Secret(value.into())));
        self
    }

    /// Adds a header to every request the SDK makes. A name given twice keeps the last value.
    ///
    /// ```
    /// use langfuse_core::Config;
    ///
    /// assert!(Config::builder().ignore_environment().header("x-team", "search").build().is_ok());
    /// assert!(Config::builder().ignore_environment().header("bad name", "x").build().is_err());
    /// ```
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.additional_headers
            .push((name.into(), Secret(value.into())));
        self
    }

    /// The `service.name` resource attribute (`OTEL_SERVICE_NAME`); not empty.
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// A function that rewrites sensitive data before it leaves the process: the Python SDK's
    /// `mask`. No environment variable sets it.
    ///
    /// It receives, one at a time, the input, the output and the metadata of every observation,
    /// and the input, output and metadata of every trace, each as a [`serde_json::Value`] (a
    /// plain string, or a capture cut at `LANGFUSE_CAPTURE_MAX_BYTES`, arrives as
    /// [`Value::String`](serde_json::Value::String)), and returns what is sent instead. It
    /// applies to the OTLP and console exporters alike. Names, status messages, user and
    /// session ids, tags, model parameters, usage and cost are not masked.
    ///
    /// Cost: it runs on the exporter thread, never on the thread that recorded the
    /// observation, once per present field (trace fields once per batch, not once per
    /// observation), and each call parses the field into a `Value` and serializes the result.
    /// A slow mask therefore slows exporting, not requests; nothing is captured, and nothing
    /// masked, for traces that are sampled out.
    ///
    /// If the function panics, or returns a value that cannot be serialized, that field is
    /// replaced by `"<fully masked due to failed mask function>"`, as in the Python SDK, and a
    /// warning is logged at most every 10 seconds; the observation is still exported. The panic
    /// itself still goes through the process' panic hook, which prints it by default, and
    /// under `panic = "abort"` it ends the process like any other panic.
    ///
    /// ```
    /// use langfuse_core::Config;
    /// use serde_json::Value;
    ///
    /// /// Hides every value under a "password" or "api_key" key, at any depth.
    /// fn redact(value: Value) -> Value {
    ///     match value {
    ///         Value::Object(map) => Value::Object(
    ///             map.into_iter()
    ///                 .map(|(key, value)| match key.as_str() {
    ///                     "password" | "api_key" => (key, Value::from("***")),
    ///                     _ => (key, redact(value)),
    ///                 })
    ///                 .collect(),
    ///         ),
    ///         Value::Array(items) => Value::Array(items.into_iter().map(redact).collect()),
    ///         other => other,
    ///     }
    /// }
    ///
    /// let config = Config::builder().ignore_environment().mask(redact).build()?;
    /// assert!(format!("{config:?}").contains("mask: Some(<mask fn>)"));
    /// # Ok::<(), langfuse_core::ConfigError>(())
    /// ```
    pub fn mask<F>(mut self, mask: F) -> Self
    where
        F: Fn(serde_json::Value) -> serde_json::Value + Send + Sync + 'static,
    {
        self.mask = Some(Mask::new(mask));
        self
    }

    /// Validates every setting and builds the configuration: builder values first, then the
    /// process environment (unless ignored), then the defaults.
    ///
    /// ```
    /// use langfuse_core::{Config, ConfigError};
    ///
    /// let error = Config::builder().ignore_environment().flush_at(0).build().unwrap_err();
    /// assert_eq!(error.to_string(), r#"invalid builder setting flush_at="0": expected a whole number >= 1"#);
    /// ```
    pub fn build(self) -> Result<Config, ConfigError> {
        self.build_with(&|name| {
            std::env::var_os(name).map(|value| value.to_string_lossy().into_owned())
        })
    }

    /// [`build`](Self::build) with an injected environment, so that tests never mutate the
    /// process environment.
    pub(crate) fn build_with(self, lookup: &Lookup) -> Result<Config, ConfigError> {
        let env = Env {
            lookup: (!self.ignore_environment).then_some(lookup),
        };

        let public_key = resolve_public_key(&env, self.public_key)?;
        let secret_key = resolve_secret_key(&env, self.secret_key)?;

        // The default goes through the same check, which it passes, rather than an `expect`.
        let (origin, raw) = first_of([
            from_setting("base_url", self.base_url),
            env.string(env::LANGFUSE_BASE_URL),
            from_setting("host", self.host),
            env.string(env::LANGFUSE_HOST),
        ])
        .unwrap_or((Origin::Setting("base_url"), DEFAULT_BASE_URL.to_owned()));
        let base =
            check_http_url(&raw, false).map_err(|reason| origin.invalid_url(&raw, reason))?;
        let base_url = base.as_str().trim_end_matches('/').to_owned();

        let tracing_enabled = resolve(
            &env,
            self.tracing_enabled,
            "tracing_enabled",
            &[env::LANGFUSE_TRACING_ENABLED],
            parse_bool,
            Ok,
        )?
        .unwrap_or(true);
        // Read even when the builder enables tracing: it is the process-wide OpenTelemetry
        // kill switch, and the Python SDK honours it the same way.
        let otel_sdk_disabled =
            resolve(&env, None, "", &[env::OTEL_SDK_DISABLED], parse_bool, Ok)?.unwrap_or(false);
        let sample_rate = resolve(
            &env,
            self.sample_rate,
            "sample_rate",
            &[env::LANGFUSE_SAMPLE_RATE],
            parse_f64,
            check_sample_rate,
        )?
        .unwrap_or(DEFAULT_SAMPLE_RATE);
        let flush_at = resolve_count(&env, self.flush_at, "flush_at", env::LANGFUSE_FLUSH_AT, 1)?
            .unwrap_or(DEFAULT_FLUSH_AT);
        let flush_interval = resolve(
            &env,
            self.flush_interval,
            "flush_interval",
            &[env::LANGFUSE_FLUSH_INTERVAL],
            parse_seconds,
            check_duration,
        )?
        .unwrap_or(DEFAULT_FLUSH_INTERVAL);
        let timeout = resolve(
            &env,
            self.timeout,
            "timeout",
            &[env::LANGFUSE_TIMEOUT],
            parse_seconds,
            check_duration,
        )?
        .unwrap_or(DEFAULT_TIMEOUT);
        let debug = resolve(
            &env,
            self.debug,
            "debug",
            &[env::LANGFUSE_DEBUG],
            parse_bool,
            Ok,
        )?
        .unwrap_or(false);
        let environment = first_of([
            from_setting("environment", self.environment),
            env.string(env::LANGFUSE_TRACING_ENVIRONMENT),
        ])
        .map(|(origin, raw)| check_environment(&raw).map_err(|reason| origin.invalid(raw, reason)))
        .transpose()?;
        let release = first_of([
            from_setting("release", self.release),
            env.string(env::LANGFUSE_RELEASE),
            env.first_string(&env::RELEASE_FALLBACKS),
        ])
        .map(|(origin, raw)| check_not_empty(&raw).map_err(|reason| origin.invalid(raw, reason)))
        .transpose()?;
        let io_capture_enabled = resolve(
            &env,
            self.io_capture_enabled,
            "io_capture_enabled",
            &[env::LANGFUSE_OBSERVE_DECORATOR_IO_CAPTURE_ENABLED],
            parse_bool,
            Ok,
        )?
        .unwrap_or(true);
        let traces_export_path = first_of([
            from_setting("traces_export_path", self.traces_export_path),
            env.string(env::LANGFUSE_OTEL_TRACES_EXPORT_PATH),
        ])
        .map(|(origin, raw)| check_export_path(&raw).map_err(|reason| origin.invalid(raw, reason)))
        .transpose()?
        .unwrap_or_else(|| DEFAULT_TRACES_EXPORT_PATH.to_owned());
        let compression = resolve(
            &env,
            self.compression,
            "compression",
            &[
                env::LANGFUSE_OTEL_COMPRESSION,
                env::OTEL_EXPORTER_OTLP_TRACES_COMPRESSION,
                env::OTEL_EXPORTER_OTLP_COMPRESSION,
            ],
            Compression::parse,
            Ok,
        )?
        .unwrap_or_default();
        let max_queue_size = resolve_count(
            &env,
            self.max_queue_size,
            "max_queue_size",
            env::LANGFUSE_MAX_QUEUE_SIZE,
            1,
        )?
        .unwrap_or(DEFAULT_MAX_QUEUE_SIZE);
        let max_queue_bytes = resolve_count(
            &env,
            self.max_queue_bytes,
            "max_queue_bytes",
            env::LANGFUSE_MAX_QUEUE_BYTES,
            MIN_QUEUE_BYTES,
        )?
        .unwrap_or(DEFAULT_MAX_QUEUE_BYTES);
        let capture_max_bytes = resolve_count(
            &env,
            self.capture_max_bytes,
            "capture_max_bytes",
            env::LANGFUSE_CAPTURE_MAX_BYTES,
            MIN_CAPTURE_BYTES,
        )?
        .unwrap_or(DEFAULT_CAPTURE_MAX_BYTES);
        let exporter = resolve(
            &env,
            self.exporter,
            "exporter",
            &[env::LANGFUSE_EXPORTER],
            ExporterKind::parse,
            Ok,
        )?
        .unwrap_or_default();
        let max_batch_bytes = resolve_count(
            &env,
            self.max_batch_bytes,
            "max_batch_bytes",
            env::LANGFUSE_OTEL_MAX_BATCH_SIZE_BYTES,
            MIN_BATCH_BYTES,
        )?
        .unwrap_or(DEFAULT_MAX_BATCH_BYTES);
        let max_retries = resolve(
            &env,
            self.max_retries,
            "max_retries",
            &[env::LANGFUSE_MAX_RETRIES],
            |raw| {
                raw.parse::<u32>()
                    .map_err(|_| "expected a whole number >= 0".to_owned())
            },
            Ok,
        )?
        .unwrap_or(DEFAULT_MAX_RETRIES);
        let thread_buffer_size = resolve_count_within(
            &env,
            self.thread_buffer_size,
            "thread_buffer_size",
            env::LANGFUSE_THREAD_BUFFER_SIZE,
            MIN_THREAD_BUFFER_SIZE,
            MAX_THREAD_BUFFER_SIZE,
        )?
        .unwrap_or(DEFAULT_THREAD_BUFFER_SIZE);
        let exporter_niceness = resolve_count_within(
            &env,
            self.exporter_niceness,
            "exporter_niceness",
            env::LANGFUSE_EXPORTER_NICENESS,
            0,
            MAX_EXPORTER_NICENESS,
        )?
        .unwrap_or(DEFAULT_EXPORTER_NICENESS) as u8;
        let otlp_env = Env {
            lookup: env.lookup.filter(|_| !self.ignore_otlp_endpoint_env),
        };
        let otlp_traces_endpoint = resolve_otlp_endpoint(&otlp_env, self.otlp_traces_endpoint)?;
        let otlp_headers = if self.otlp_headers.is_empty() {
            match otlp_env.first(&[
                env::OTEL_EXPORTER_OTLP_TRACES_HEADERS,
                env::OTEL_EXPORTER_OTLP_HEADERS,
            ]) {
                Some((var, raw)) => {
                    parse_otlp_headers(&raw).map_err(|reason| ConfigError::InvalidHeader {
                        origin: var,
                        reason,
                    })?
                }
                None => HeaderMap::new(),
            }
        } else {
            builder_headers("otlp_header", self.otlp_headers)?
        };
        let additional_headers = builder_headers("header", self.additional_headers)?;
        let service_name = first_of([
            from_setting("service_name", self.service_name),
            env.string(env::OTEL_SERVICE_NAME),
        ])
        .map(|(origin, raw)| check_not_empty(&raw).map_err(|reason| origin.invalid(raw, reason)))
        .transpose()?
        .unwrap_or_else(default_service_name);

        let traces_url = match &otlp_traces_endpoint {
            Some(endpoint) => endpoint.clone(),
            None => with_path(&base, &traces_export_path),
        };
        let scores_url = with_path(&base, SCORES_PATH);
        let insecure_remote = base.scheme() == "http" && !is_loopback(&base);

        Ok(Config {
            public_key,
            secret_key,
            base_url,
            tracing_enabled,
            otel_sdk_disabled,
            sample_rate,
            flush_at,
            flush_interval,
            timeout,
            debug,
            environment,
            release,
            io_capture_enabled,
            traces_export_path,
            compression,
            max_queue_size,
            max_queue_bytes,
            capture_max_bytes,
            exporter,
            max_batch_bytes,
            max_retries,
            thread_buffer_size,
            exporter_niceness,
            otlp_traces_endpoint,
            otlp_headers,
            additional_headers,
            service_name,
            mask: self.mask,
            traces_url,
            scores_url,
            insecure_remote,
        })
    }
}

/// An invalid configuration value.
///
/// The message names the variable or builder setting and quotes the value, except where the
/// value may be a credential (keys, headers): those are never shown.
///
/// ```
/// use langfuse_core::{Config, ConfigError};
///
/// let error = Config::builder().ignore_environment().sample_rate(1.5).build().unwrap_err();
/// assert!(matches!(error, ConfigError::InvalidSetting { setting: "sample_rate", .. }));
/// assert_eq!(
///     error.to_string(),
///     r#"invalid builder setting sample_rate="1.5": expected a number between 0 and 1"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// An environment variable holds an invalid value.
    InvalidEnv {
        /// The variable's name.
        var: &'static str,
        /// The value as read, with anything that may be a credential (a key, a URL's user name
        /// and password) replaced by `<redacted>`.
        value: String,
        /// What was expected.
        reason: String,
    },
    /// A [`ConfigBuilder`] setting holds an invalid value.
    InvalidSetting {
        /// The setting's name: the builder method.
        setting: &'static str,
        /// The value given, with anything that may be a credential (a key, a URL's user name
        /// and password) replaced by `<redacted>`.
        value: String,
        /// What was expected.
        reason: String,
    },
    /// Headers that cannot be sent. Header values are never shown, since headers carry API keys.
    InvalidHeader {
        /// The variable (`OTEL_EXPORTER_OTLP_HEADERS`, ...) or builder setting (`header`,
        /// `otlp_header`) the headers came from.
        origin: &'static str,
        /// What is wrong, naming the header or the entry's position but not its value.
        reason: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidEnv { var, value, reason } => {
                write!(f, "invalid {var}={value:?}: {reason}")
            }
            Self::InvalidSetting {
                setting,
                value,
                reason,
            } => write!(f, "invalid builder setting {setting}={value:?}: {reason}"),
            Self::InvalidHeader { origin, reason } => {
                write!(
                    f,
                    "invalid {origin}: {reason} (header values are not shown)"
                )
            }
        }
    }
}

impl Error for ConfigError {}

/// Where a value came from, to name it in an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Setting(&'static str),
    Env(&'static str),
}

impl Origin {
    fn invalid(self, value: impl Into<String>, reason: impl Into<String>) -> ConfigError {
        let (value, reason) = (value.into(), reason.into());
        match self {
            Self::Setting(setting) => ConfigError::InvalidSetting {
                setting,
                value,
                reason,
            },
            Self::Env(var) => ConfigError::InvalidEnv { var, value, reason },
        }
    }

    /// Like [`invalid`](Self::invalid), with any `user:password@` hidden in the URL shown.
    fn invalid_url(self, raw: &str, reason: impl Into<String>) -> ConfigError {
        self.invalid(strip_userinfo(raw), reason)
    }
}

/// Reads one environment variable; `None` when unset.
type Lookup = dyn Fn(&str) -> Option<String>;

/// The environment as seen by one build: `lookup` is `None` when it is ignored.
struct Env<'a> {
    lookup: Option<&'a Lookup>,
}

impl Env<'_> {
    /// The first of `vars` that is set and not blank, with its raw (untrimmed) value.
    fn first(&self, vars: &[&'static str]) -> Option<(&'static str, String)> {
        let lookup = self.lookup?;
        vars.iter().find_map(|&var| {
            lookup(var)
                .filter(|value| !value.trim().is_empty())
                .map(|value| (var, value))
        })
    }

    /// The first of `vars` that is set and not blank, trimmed, as a string setting's candidate.
    fn first_string(&self, vars: &[&'static str]) -> Option<(Origin, String)> {
        self.first(vars)
            .map(|(var, value)| (Origin::Env(var), value.trim().to_owned()))
    }

    fn string(&self, var: &'static str) -> Option<(Origin, String)> {
        self.first_string(&[var])
    }
}

fn from_setting(setting: &'static str, value: Option<String>) -> Option<(Origin, String)> {
    value.map(|value| (Origin::Setting(setting), value))
}

/// The first candidate present, in precedence order.
fn first_of<const N: usize>(candidates: [Option<(Origin, String)>; N]) -> Option<(Origin, String)> {
    candidates.into_iter().flatten().next()
}

/// How a builder value is quoted in an error.
trait Shown {
    fn shown(&self) -> String;
}

impl Shown for bool {
    fn shown(&self) -> String {
        self.to_string()
    }
}

impl Shown for f64 {
    fn shown(&self) -> String {
        self.to_string()
    }
}

impl Shown for usize {
    fn shown(&self) -> String {
        self.to_string()
    }
}

impl Shown for u32 {
    fn shown(&self) -> String {
        self.to_string()
    }
}

impl Shown for Duration {
    fn shown(&self) -> String {
        format!("{self:?}")
    }
}

impl Shown for Compression {
    fn shown(&self) -> String {
        self.as_str().to_owned()
    }
}

impl Shown for ExporterKind {
    fn shown(&self) -> String {
        self.as_str().to_owned()
    }
}

/// Resolves a typed setting: the builder's value if given, else the first of `vars` that is set,
/// else `None` for the caller's default. `parse` reads a trimmed environment value; `check`
/// applies the rules both sources share.
fn resolve<B: Shown, T>(
    env: &Env<'_>,
    builder: Option<B>,
    setting: &'static str,
    vars: &[&'static str],
    parse: impl Fn(&str) -> Result<B, String>,
    check: impl Fn(B) -> Result<T, String>,
) -> Result<Option<T>, ConfigError> {
    if let Some(value) = builder {
        let shown = value.shown();
        return check(value)
            .map(Some)
            .map_err(|reason| Origin::Setting(setting).invalid(shown, reason));
    }
    let Some((var, raw)) = env.first(vars) else {
        return Ok(None);
    };
    parse(raw.trim())
        .and_then(check)
        .map(Some)
        .map_err(|reason| Origin::Env(var).invalid(raw, reason))
}

/// [`resolve`] for a count with a lower bound.
fn resolve_count(
    env: &Env<'_>,
    builder: Option<usize>,
    setting: &'static str,
    var: &'static str,
    min: usize,
) -> Result<Option<usize>, ConfigError> {
    resolve_count_within(env, builder, setting, var, min, usize::MAX)
}

/// [`resolve`] for a count from `min` to `max`.
fn resolve_count_within(
    env: &Env<'_>,
    builder: Option<usize>,
    setting: &'static str,
    var: &'static str,
    min: usize,
    max: usize,
) -> Result<Option<usize>, ConfigError> {
    let reason = || {
        if max == usize::MAX {
            format!("expected a whole number >= {min}")
        } else {
            format!("expected a whole number >= {min} and <= {max}")
        }
    };
    resolve(
        env,
        builder,
        setting,
        &[var],
        |raw| raw.parse::<usize>().map_err(|_| reason()),
        |n| {
            if (min..=max).contains(&n) {
                Ok(n)
            } else {
                Err(reason())
            }
        },
    )
}

fn resolve_public_key(
    env: &Env<'_>,
    builder: Option<String>,
) -> Result<Option<String>, ConfigError> {
    let builder = builder
        .map(|key| key.trim().to_owned())
        .filter(|key| !key.is_empty());
    let Some((origin, key)) = first_of([
        from_setting("public_key", builder),
        env.string(env::LANGFUSE_PUBLIC_KEY),
    ]) else {
        return Ok(None);
    };
    // A swapped pair would put the secret key into headers and resource attributes, and into
    // this very error: refuse it without showing it.
    if key.starts_with("sk-lf-") {
        return Err(origin.invalid(
            REDACTED,
            "this is a secret key (it starts with \"sk-lf-\"); the public key starts with \
             \"pk-lf-\". Are LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY swapped?",
        ));
    }
    // It is sent as the x-langfuse-public-key header and as the user name of HTTP Basic auth,
    // where a ':' would end it early.
    if !key.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
        return Err(origin.invalid(
            key,
            "expected printable ASCII characters, without spaces or ':'",
        ));
    }
    Ok(Some(key))
}

fn resolve_secret_key(
    env: &Env<'_>,
    builder: Option<Secret>,
) -> Result<Option<Secret>, ConfigError> {
    let builder = builder
        .map(|Secret(key)| key.trim().to_owned())
        .filter(|key| !key.is_empty());
    let Some((origin, key)) = first_of([
        from_setting("secret_key", builder),
        env.string(env::LANGFUSE_SECRET_KEY),
    ]) else {
        return Ok(None);
    };
    if key.starts_with("pk-lf-") {
        return Err(origin.invalid(
            REDACTED,
            "this is a public key (it starts with \"pk-lf-\"); the secret key starts with \
             \"sk-lf-\". Are LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY swapped?",
        ));
    }
    Ok(Some(Secret(key)))
}

/// The builder's endpoint, else `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as is, else
/// `OTEL_EXPORTER_OTLP_ENDPOINT` plus `/v1/traces`, as the OpenTelemetry specification says.
fn resolve_otlp_endpoint(
    env: &Env<'_>,
    builder: Option<String>,
) -> Result<Option<Url>, ConfigError> {
    let full = first_of([
        from_setting("otlp_traces_endpoint", builder),
        env.string(env::OTEL_EXPORTER_OTLP_TRACES_ENDPOINT),
    ]);
    if let Some((origin, raw)) = full {
        return check_http_url(&raw, true)
            .map(Some)
            .map_err(|reason| origin.invalid_url(&raw, reason));
    }
    let Some((origin, raw)) = env.string(env::OTEL_EXPORTER_OTLP_ENDPOINT) else {
        return Ok(None);
    };
    // A query would end up after the appended path, so the base must have none.
    check_http_url(&raw, false)
        .map(|base| Some(with_path(&base, OTLP_TRACES_SUFFIX)))
        .map_err(|reason| origin.invalid_url(&raw, reason))
}

fn parse_bool(raw: &str) -> Result<bool, String> {
    match raw.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err("expected true or false (or 1/0, yes/no, on/off)".to_owned()),
    }
}

fn parse_f64(raw: &str) -> Result<f64, String> {
    raw.parse::<f64>()
        .map_err(|_| "expected a number between 0 and 1".to_owned())
}

fn check_sample_rate(rate: f64) -> Result<f64, String> {
    // `contains` is false for NaN, so this also rejects it.
    if (0.0..=1.0).contains(&rate) {
        Ok(rate)
    } else {
        Err("expected a number between 0 and 1".to_owned())
    }
}

fn seconds_reason() -> String {
    format!(
        "expected a number of seconds greater than 0 and at most {MAX_SECONDS}, such as 5 or 0.5"
    )
}

fn parse_seconds(raw: &str) -> Result<Duration, String> {
    let seconds = raw.parse::<f64>().map_err(|_| seconds_reason())?;
    if !(seconds > 0.0 && seconds <= MAX_SECONDS) {
        return Err(seconds_reason());
    }
    Duration::try_from_secs_f64(seconds).map_err(|_| seconds_reason())
}

fn check_duration(duration: Duration) -> Result<Duration, String> {
    // A tiny positive float can round to zero nanoseconds: rejected here too.
    if duration.is_zero() || duration.as_secs_f64() > MAX_SECONDS {
        Err(seconds_reason())
    } else {
        Ok(duration)
    }
}

fn check_not_empty(value: &str) -> Result<String, String> {
    if value.trim().is_empty() {
        Err("must not be empty".to_owned())
    } else {
        Ok(value.to_owned())
    }
}

/// The server's rule for environments: `^(?!langfuse)[a-z0-9_-]+$`, at most 40 characters.
/// Scores given their own environment are checked by the same rule.
pub(crate) fn check_environment(value: &str) -> Result<String, String> {
    const RULE: &str = "an environment is 1 to 40 characters of a-z, 0-9, '_' and '-', \
                        and does not start with \"langfuse\"";
    let problem = if value.is_empty() {
        Some("it is empty")
    } else if value.chars().count() > MAX_ENVIRONMENT_LEN {
        Some("it is longer than 40 characters")
    } else if value.bytes().any(|b| b.is_ascii_uppercase()) {
        Some("it has uppercase letters")
    } else if !value
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    {
        Some("it has characters other than a-z, 0-9, '_' and '-'")
    } else if value.starts_with("langfuse") {
        Some("names starting with \"langfuse\" are reserved")
    } else {
        None
    };
    match problem {
        Some(problem) => Err(format!("{problem}; {RULE}")),
        None => Ok(value.to_owned()),
    }
}

/// Parses an `http` or `https` URL without credentials, and without a fragment, nor a query unless
/// `allow_query`.
fn check_http_url(raw: &str, allow_query: bool) -> Result<Url, String> {
    let url = Url::parse(raw)
        .map_err(|error| format!("expected an http:// or https:// URL ({error})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("expected an http:// or https:// URL".to_owned());
    }
    if !url.username().is_empty() || url.password().is_some() {
        // The value shown in the error has had them removed already.
        return Err(
            "must not contain a user name or password (hidden in the value shown); \
                    Langfuse keys go in LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY, collector \
                    credentials in OTEL_EXPORTER_OTLP_HEADERS"
                .to_owned(),
        );
    }
    if url.fragment().is_some() || (!allow_query && url.query().is_some()) {
        return Err(if allow_query {
            "must not contain a fragment (#...)".to_owned()
        } else {
            "must not contain a query (?...) or fragment (#...)".to_owned()
        });
    }
    Ok(url)
}

fn check_export_path(path: &str) -> Result<String, String> {
    if !path.starts_with('/') {
        return Err("expected a path starting with '/'".to_owned());
    }
    if path.contains(['?', '#']) || path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("expected a plain path, without '?', '#' or whitespace".to_owned());
    }
    Ok(path.to_owned())
}

/// `base` with `path` (which starts with '/') appended to its path, any trailing slash of the
/// base dropped first. Infallible: `set_path` encodes whatever it is given.
fn with_path(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let joined = format!("{}{path}", base.path().trim_end_matches('/'));
    url.set_path(&joined);
    url
}

/// Hides `user:password@` in a URL-like string, whether or not it parses, so that an error never
/// shows credentials. Everything up to the last '@' goes, even past a '/': a password may hold
/// one (and then the URL does not parse), and a shortened value is better than a leaked one.
fn strip_userinfo(raw: &str) -> String {
    let Some(scheme_end) = raw.find("://").map(|index| index + 3) else {
        return raw.to_owned();
    };
    match raw[scheme_end..].rfind('@') {
        Some(at) => format!(
            "{}{REDACTED}@{}",
            &raw[..scheme_end],
            &raw[scheme_end + at + 1..]
        ),
        None => raw.to_owned(),
    }
}

/// `localhost`, a `*.localhost` name (RFC 6761 reserves them for loopback), `127.0.0.0/8`, `::1`
/// or an IPv4-mapped loopback address.
fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    // IPv6 hosts come bracketed.
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return ip.to_canonical().is_loopback();
    }
    // The URL parser has lowercased the name already.
    let name = host.trim_end_matches('.');
    name == "localhost" || name.ends_with(".localhost")
}

/// Parses the OpenTelemetry header list: `k1=v1,k2=v2`, whitespace around keys and values
/// ignored, values percent-decoded. Errors name the entry by position, and the header by name
/// once the name is known to be valid; never a value, nor an invalid name, which may be a token
/// written in the wrong place (`Authorization: Bearer abc=` splits at its last character).
fn parse_otlp_headers(raw: &str) -> Result<HeaderMap, String> {
    const FORMAT: &str = "expected key1=value1,key2=value2";
    let mut headers = HeaderMap::new();
    for (index, entry) in raw.split(',').enumerate() {
        let entry_label = format!("entry {}", index + 1);
        let Some((name, value)) = entry.split_once('=') else {
            let problem = if entry.trim().is_empty() {
                "is empty"
            } else {
                "has no '='"
            };
            return Err(format!("{entry_label} {problem}; {FORMAT}"));
        };
        let name = name.trim();
        if name.is_empty() {
            return Err(format!("{entry_label} has an empty name; {FORMAT}"));
        }
        let value: Cow<'_, [u8]> = percent_decode_str(value.trim()).into();
        let (name, value) = header_pair(&entry_label, name, &value)?;
        headers.insert(name, value);
    }
    Ok(headers)
}

fn builder_headers(
    origin: &'static str,
    pairs: Vec<(String, Secret)>,
) -> Result<HeaderMap, ConfigError> {
    let mut headers = HeaderMap::new();
    for (index, (name, Secret(value))) in pairs.into_iter().enumerate() {
        let label = format!("header {} (in the order given)", index + 1);
        let (name, value) = header_pair(&label, &name, value.as_bytes())
            .map_err(|reason| ConfigError::InvalidHeader { origin, reason })?;
        headers.insert(name, value);
    }
    Ok(headers)
}

/// A validated header; the value is marked sensitive so that `http`'s own `Debug` hides it too.
/// `label` says which header failed without showing it.
fn header_pair(label: &str, name: &str, value: &[u8]) -> Result<(HeaderName, HeaderValue), String> {
    let header_name = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("{label} has an invalid HTTP header name"))?;
    let mut header_value = HeaderValue::from_bytes(value).map_err(|_| {
        format!("{label} ({header_name}) has an invalid HTTP header value (control characters?)")
    })?;
    header_value.set_sensitive(true);
    Ok((header_name, header_value))
}

fn default_service_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|path| {
            path.file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
        })
        .filter(|stem| !stem.is_empty())
        .unwrap_or_else(|| UNKNOWN_SERVICE_NAME.to_owned())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::env::*;
    use super::*;

    /// Every variable the module reads, for the tests that must cover them all.
    const ALL_VARS: &[&str] = &[
        LANGFUSE_PUBLIC_KEY,
        LANGFUSE_SECRET_KEY,
        LANGFUSE_BASE_URL,
        LANGFUSE_HOST,
        LANGFUSE_TRACING_ENABLED,
        LANGFUSE_SAMPLE_RATE,
        LANGFUSE_FLUSH_AT,
        LANGFUSE_FLUSH_INTERVAL,
        LANGFUSE_TIMEOUT,
        LANGFUSE_DEBUG,
        LANGFUSE_TRACING_ENVIRONMENT,
        LANGFUSE_RELEASE,
        LANGFUSE_OBSERVE_DECORATOR_IO_CAPTURE_ENABLED,
        LANGFUSE_OTEL_TRACES_EXPORT_PATH,
        LANGFUSE_OTEL_COMPRESSION,
        LANGFUSE_MAX_QUEUE_SIZE,
        LANGFUSE_MAX_QUEUE_BYTES,
        LANGFUSE_CAPTURE_MAX_BYTES,
        LANGFUSE_EXPORTER,
        LANGFUSE_OTEL_MAX_BATCH_SIZE_BYTES,
        LANGFUSE_MAX_RETRIES,
        LANGFUSE_THREAD_BUFFER_SIZE,
        LANGFUSE_EXPORTER_NICENESS,
        OTEL_SDK_DISABLED,
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
        OTEL_EXPORTER_OTLP_ENDPOINT,
        OTEL_EXPORTER_OTLP_TRACES_HEADERS,
        OTEL_EXPORTER_OTLP_HEADERS,
        OTEL_EXPORTER_OTLP_TRACES_COMPRESSION,
        OTEL_EXPORTER_OTLP_COMPRESSION,
        OTEL_SERVICE_NAME,
    ];

    /// Builds with exactly `vars` as the environment; the process environment is never touched.
    fn build_in<K: AsRef<str>, V: AsRef<str>>(
        builder: ConfigBuilder,
        vars: &[(K, V)],
    ) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.as_ref().to_owned(), v.as_ref().to_owned()))
            .collect();
        builder.build_with(&move |name: &str| map.get(name).cloned())
    }

    fn from_vars<K: AsRef<str>, V: AsRef<str>>(vars: &[(K, V)]) -> Result<Config, ConfigError> {
        build_in(Config::builder(), vars)
    }

    fn ok<K: AsRef<str>, V: AsRef<str>>(vars: &[(K, V)]) -> Config {
        from_vars(vars).unwrap_or_else(|error| panic!("unexpected error: {error}"))
    }

    fn no_vars() -> Config {
        ok::<&str, &str>(&[])
    }

    fn builder_ok(builder: ConfigBuilder) -> Config {
        builder
            .ignore_environment()
            .build()
            .unwrap_or_else(|error| panic!("unexpected error: {error}"))
    }

    fn keys() -> ConfigBuilder {
        Config::builder()
            .public_key("pk-lf-1")
            .secret_key("sk-lf-1")
    }

    #[test]
    fn every_setting_has_its_default() {
        let config = no_vars();
        assert_eq!(config.public_key(), None);
        assert_eq!(config.secret_key(), None);
        assert_eq!(config.base_url(), "https://cloud.langfuse.com");
        assert!(config.tracing_enabled());
        assert!(!config.otel_sdk_disabled());
        assert_eq!(config.sample_rate(), 1.0);
        assert_eq!(config.flush_at(), 512);
        assert_eq!(config.flush_interval(), Duration::from_secs(5));
        assert_eq!(config.timeout(), Duration::from_secs(5));
        assert!(!config.debug());
        assert_eq!(config.environment(), None);
        assert_eq!(config.release(), None);
        assert!(config.io_capture_enabled());
        assert_eq!(config.traces_export_path(), "/api/public/otel/v1/traces");
        assert_eq!(config.compression(), Compression::Gzip);
        assert_eq!(config.max_queue_size(), 200_000);
        assert_eq!(config.max_queue_bytes(), 64 * 1024 * 1024);
        assert_eq!(config.capture_max_bytes(), 32 * 1024);
        assert_eq!(config.exporter(), ExporterKind::Otlp);
        assert_eq!(config.max_batch_bytes(), 4 * 1024 * 1024);
        assert_eq!(config.max_retries(), 5);
        assert_eq!(config.thread_buffer_size(), 4096);
        assert_eq!(config.exporter_niceness(), 10);
        assert_eq!(config.otlp_traces_endpoint(), None);
        assert!(config.otlp_headers().is_empty());
        assert!(config.additional_headers().is_empty());
        assert_eq!(config.service_name(), default_service_name());
        assert_eq!(
            config.traces_url().as_str(),
            "https://cloud.langfuse.com/api/public/otel/v1/traces"
        );
        assert_eq!(
            config.scores_url().as_str(),
            "https://cloud.langfuse.com/api/public/scores"
        );
        assert!(!config.is_insecure_remote());
        assert_eq!(
            config.disabled_reason(),
            Some(DisabledReason::MissingKeys {
                public_key_missing: true,
                secret_key_missing: true,
            })
        );
    }

    #[test]
    fn default_service_name_is_the_executable_stem() {
        let stem = std::env::current_exe()
            .unwrap()
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert_eq!(no_vars().service_name(), stem);
    }

    #[test]
    fn module_docs_list_every_variable() {
        let source = include_str!("mod.rs");
        let docs: String = source
            .lines()
            .take_while(|line| line.starts_with("//!"))
            .collect::<Vec<_>>()
            .join("\n");
        for var in ALL_VARS.iter().chain(RELEASE_FALLBACKS.iter()) {
            assert!(
                docs.contains(&format!("`{var}`")),
                "{var} is missing from the module docs"
            );
        }
    }

    #[test]
    fn valid_environment_values() {
        type Check = fn(&Config) -> bool;
        let cases: &[(&str, &str, Check)] = &[
            (LANGFUSE_PUBLIC_KEY, "pk-lf-1", |c| {
                c.public_key() == Some("pk-lf-1")
            }),
            (LANGFUSE_PUBLIC_KEY, " pk-lf-1\n", |c| {
                c.public_key() == Some("pk-lf-1")
            }),
            (LANGFUSE_SECRET_KEY, "sk-lf-1\n", |c| {
                c.secret_key() == Some("sk-lf-1")
            }),
            (LANGFUSE_BASE_URL, "http://localhost:3000/", |c| {
                c.base_url() == "http://localhost:3000"
            }),
            (LANGFUSE_BASE_URL, "https://Example.COM", |c| {
                c.base_url() == "https://example.com"
            }),
            (LANGFUSE_BASE_URL, "https://example.com/langfuse/", |c| {
                c.base_url() == "https://example.com/langfuse"
                    && c.traces_url().as_str()
                        == "https://example.com/langfuse/api/public/otel/v1/traces"
                    && c.scores_url().as_str() == "https://example.com/langfuse/api/public/scores"
            }),
            (LANGFUSE_HOST, "https://us.cloud.langfuse.com", |c| {
                c.base_url() == "https://us.cloud.langfuse.com"
            }),
            (LANGFUSE_TRACING_ENABLED, "false", |c| !c.tracing_enabled()),
            (LANGFUSE_SAMPLE_RATE, "0", |c| c.sample_rate() == 0.0),
            (LANGFUSE_SAMPLE_RATE, "0.25", |c| c.sample_rate() == 0.25),
            (LANGFUSE_SAMPLE_RATE, " 1 ", |c| c.sample_rate() == 1.0),
            (LANGFUSE_SAMPLE_RATE, "1e-3", |c| c.sample_rate() == 0.001),
            (LANGFUSE_FLUSH_AT, "1", |c| c.flush_at() == 1),
            (LANGFUSE_FLUSH_AT, " 2048\n", |c| c.flush_at() == 2048),
            (LANGFUSE_FLUSH_INTERVAL, "0.5", |c| {
                c.flush_interval() == Duration::from_millis(500)
            }),
            (LANGFUSE_FLUSH_INTERVAL, "2", |c| {
                c.flush_interval() == Duration::from_secs(2)
            }),
            (LANGFUSE_FLUSH_INTERVAL, "86400", |c| {
                c.flush_interval() == Duration::from_secs(86_400)
            }),
            (LANGFUSE_TIMEOUT, "10", |c| {
                c.timeout() == Duration::from_secs(10)
            }),
            (LANGFUSE_TIMEOUT, "0.25", |c| {
                c.timeout() == Duration::from_millis(250)
            }),
            (LANGFUSE_DEBUG, "true", |c| c.debug()),
            (LANGFUSE_TRACING_ENVIRONMENT, "production", |c| {
                c.environment() == Some("production")
            }),
            (LANGFUSE_TRACING_ENVIRONMENT, "eu-west_2", |c| {
                c.environment() == Some("eu-west_2")
            }),
            (LANGFUSE_TRACING_ENVIRONMENT, "x", |c| {
                c.environment() == Some("x")
            }),
            (LANGFUSE_TRACING_ENVIRONMENT, "my-langfuse", |c| {
                c.environment() == Some("my-langfuse")
            }),
            (
                LANGFUSE_TRACING_ENVIRONMENT,
                "abcdefghijabcdefghijabcdefghijabcdefghij",
                |c| c.environment().map(str::len) == Some(40),
            ),
            (LANGFUSE_RELEASE, " v1.2.3 ", |c| {
                c.release() == Some("v1.2.3")
            }),
            (
                LANGFUSE_OBSERVE_DECORATOR_IO_CAPTURE_ENABLED,
                "false",
                |c| !c.io_capture_enabled(),
            ),
            (LANGFUSE_OTEL_TRACES_EXPORT_PATH, "/otel/v1/traces", |c| {
                c.traces_export_path() == "/otel/v1/traces"
                    && c.traces_url().as_str() == "https://cloud.langfuse.com/otel/v1/traces"
            }),
            (LANGFUSE_OTEL_COMPRESSION, "none", |c| {
                c.compression() == Compression::None
            }),
            (LANGFUSE_OTEL_COMPRESSION, "None", |c| {
                c.compression() == Compression::None
            }),
            (LANGFUSE_OTEL_COMPRESSION, "GZIP", |c| {
                c.compression() == Compression::Gzip
            }),
            (OTEL_EXPORTER_OTLP_TRACES_COMPRESSION, "none", |c| {
                c.compression() == Compression::None
            }),
            (OTEL_EXPORTER_OTLP_COMPRESSION, "none", |c| {
                c.compression() == Compression::None
            }),
            (LANGFUSE_MAX_QUEUE_SIZE, "1", |c| c.max_queue_size() == 1),
            (LANGFUSE_MAX_QUEUE_SIZE, "1000000", |c| {
                c.max_queue_size() == 1_000_000
            }),
            (LANGFUSE_MAX_QUEUE_BYTES, "1024", |c| {
                c.max_queue_bytes() == 1024
            }),
            (LANGFUSE_CAPTURE_MAX_BYTES, "64", |c| {
                c.capture_max_bytes() == 64
            }),
            (LANGFUSE_EXPORTER, "console", |c| {
                c.exporter() == ExporterKind::Console
            }),
            (LANGFUSE_EXPORTER, "NONE", |c| {
                c.exporter() == ExporterKind::None
            }),
            (LANGFUSE_EXPORTER, "Otlp", |c| {
                c.exporter() == ExporterKind::Otlp
            }),
            (LANGFUSE_OTEL_MAX_BATCH_SIZE_BYTES, "1024", |c| {
                c.max_batch_bytes() == 1024
            }),
            (LANGFUSE_MAX_RETRIES, "0", |c| c.max_retries() == 0),
            (LANGFUSE_MAX_RETRIES, "12", |c| c.max_retries() == 12),
            (LANGFUSE_THREAD_BUFFER_SIZE, "16", |c| {
                c.thread_buffer_size() == 16
            }),
            (LANGFUSE_THREAD_BUFFER_SIZE, "1048576", |c| {
                c.thread_buffer_size() == 1 << 20
            }),
            (LANGFUSE_EXPORTER_NICENESS, "0", |c| {
                c.exporter_niceness() == 0
            }),
            (LANGFUSE_EXPORTER_NICENESS, "19", |c| {
                c.exporter_niceness() == 19
            }),
            (OTEL_SDK_DISABLED, "true", |c| c.otel_sdk_disabled()),
            (OTEL_SERVICE_NAME, " checkout ", |c| {
                c.service_name() == "checkout"
            }),
            (
                OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
                "http://collector:4318/custom",
                |c| c.traces_url().as_str() == "http://collector:4318/custom",
            ),
            (OTEL_EXPORTER_OTLP_ENDPOINT, "http://collector:4318", |c| {
                c.traces_url().as_str() == "http://collector:4318/v1/traces"
            }),
            (OTEL_EXPORTER_OTLP_TRACES_HEADERS, "api-key=abc", |c| {
                c.otlp_headers()["api-key"] == "abc"
            }),
            (OTEL_EXPORTER_OTLP_HEADERS, "api-key=abc", |c| {
                c.otlp_headers()["api-key"] == "abc"
            }),
        ];
        for (var, value, check) in cases {
            let config = ok(&[(var, value)]);
            assert!(check(&config), "{var}={value:?} gave {config:?}");
        }
    }

    #[test]
    fn invalid_environment_values_name_the_variable_and_value() {
        let too_long = "a".repeat(41);
        let cases: &[(&str, &str, &str)] = &[
            (LANGFUSE_PUBLIC_KEY, "pk-lf-\u{1}", "printable ASCII"),
            (LANGFUSE_PUBLIC_KEY, "pk-lf-é", "printable ASCII"),
            (LANGFUSE_PUBLIC_KEY, "pk-lf 1", "without spaces"),
            (LANGFUSE_PUBLIC_KEY, "pk-lf:1", "':'"),
            (
                LANGFUSE_BASE_URL,
                "cloud.langfuse.com",
                "http:// or https://",
            ),
            (
                LANGFUSE_BASE_URL,
                "ftp://example.com",
                "http:// or https://",
            ),
            (LANGFUSE_BASE_URL, "https://example.com/?region=eu", "query"),
            (LANGFUSE_BASE_URL, "https://example.com/#top", "fragment"),
            (LANGFUSE_HOST, "not a url", "http:// or https://"),
            (LANGFUSE_TRACING_ENABLED, "maybe", "expected true or false"),
            (LANGFUSE_SAMPLE_RATE, "1.5", "between 0 and 1"),
            (LANGFUSE_SAMPLE_RATE, "-0.1", "between 0 and 1"),
            (LANGFUSE_SAMPLE_RATE, "NaN", "between 0 and 1"),
            (LANGFUSE_SAMPLE_RATE, "inf", "between 0 and 1"),
            (LANGFUSE_SAMPLE_RATE, "50%", "between 0 and 1"),
            (LANGFUSE_FLUSH_AT, "0", ">= 1"),
            (LANGFUSE_FLUSH_AT, "-1", ">= 1"),
            (LANGFUSE_FLUSH_AT, "1.5", ">= 1"),
            (LANGFUSE_FLUSH_AT, "lots", ">= 1"),
            (LANGFUSE_FLUSH_INTERVAL, "0", "seconds greater than 0"),
            (LANGFUSE_FLUSH_INTERVAL, "-1", "seconds greater than 0"),
            (LANGFUSE_FLUSH_INTERVAL, "nan", "seconds greater than 0"),
            (LANGFUSE_FLUSH_INTERVAL, "inf", "seconds greater than 0"),
            (LANGFUSE_FLUSH_INTERVAL, "1e-12", "seconds greater than 0"),
            (LANGFUSE_FLUSH_INTERVAL, "86401", "at most 86400"),
            (LANGFUSE_FLUSH_INTERVAL, "5s", "seconds greater than 0"),
            (LANGFUSE_TIMEOUT, "0", "seconds greater than 0"),
            (LANGFUSE_TIMEOUT, "5000ms", "seconds greater than 0"),
            (LANGFUSE_DEBUG, "2", "expected true or false"),
            (LANGFUSE_TRACING_ENVIRONMENT, "Production", "uppercase"),
            (LANGFUSE_TRACING_ENVIRONMENT, "prod env", "other than a-z"),
            (LANGFUSE_TRACING_ENVIRONMENT, "prod!", "other than a-z"),
            (LANGFUSE_TRACING_ENVIRONMENT, "langfuse", "reserved"),
            (LANGFUSE_TRACING_ENVIRONMENT, "langfuse-prod", "reserved"),
            (LANGFUSE_TRACING_ENVIRONMENT, &too_long, "longer than 40"),
            (
                LANGFUSE_OBSERVE_DECORATOR_IO_CAPTURE_ENABLED,
                "nope",
                "expected true or false",
            ),
            (
                LANGFUSE_OTEL_TRACES_EXPORT_PATH,
                "api/public/otel",
                "starting with '/'",
            ),
            (
                LANGFUSE_OTEL_TRACES_EXPORT_PATH,
                "/traces?x=1",
                "without '?'",
            ),
            (LANGFUSE_OTEL_TRACES_EXPORT_PATH, "/a b", "whitespace"),
            (LANGFUSE_OTEL_COMPRESSION, "deflate", "gzip or none"),
            (OTEL_EXPORTER_OTLP_TRACES_COMPRESSION, "br", "gzip or none"),
            (OTEL_EXPORTER_OTLP_COMPRESSION, "zstd", "gzip or none"),
            (LANGFUSE_MAX_QUEUE_SIZE, "0", ">= 1"),
            (LANGFUSE_MAX_QUEUE_BYTES, "1023", ">= 1024"),
            (LANGFUSE_CAPTURE_MAX_BYTES, "63", ">= 64"),
            (LANGFUSE_EXPORTER, "stdout", "otlp, console or none"),
            (LANGFUSE_OTEL_MAX_BATCH_SIZE_BYTES, "100", ">= 1024"),
            (LANGFUSE_MAX_RETRIES, "-1", ">= 0"),
            (LANGFUSE_MAX_RETRIES, "3.5", ">= 0"),
            (LANGFUSE_THREAD_BUFFER_SIZE, "15", ">= 16"),
            (LANGFUSE_THREAD_BUFFER_SIZE, "1048577", "<= 1048576"),
            (LANGFUSE_THREAD_BUFFER_SIZE, "1000000000000", "<= 1048576"),
            (LANGFUSE_EXPORTER_NICENESS, "20", "<= 19"),
            (LANGFUSE_EXPORTER_NICENESS, "-5", ">= 0"),
            (LANGFUSE_FLUSH_AT, "99999999999999999999999", ">= 1"),
            (LANGFUSE_MAX_QUEUE_SIZE, "1e6", ">= 1"),
            (LANGFUSE_MAX_RETRIES, "4294967296", ">= 0"),
            (LANGFUSE_TIMEOUT, "86400.5", "at most 86400"),
            (LANGFUSE_TIMEOUT, "1e400", "seconds greater than 0"),
            (LANGFUSE_SAMPLE_RATE, "0x1", "between 0 and 1"),
            (
                LANGFUSE_TRACING_ENVIRONMENT,
                "prod\u{301}",
                "other than a-z",
            ),
            (LANGFUSE_BASE_URL, "http://", "http:// or https://"),
            (
                LANGFUSE_BASE_URL,
                "https://exa mple.com",
                "http:// or https://",
            ),
            (LANGFUSE_OTEL_TRACES_EXPORT_PATH, "/a\u{0}b", "whitespace"),
            (OTEL_SDK_DISABLED, "disabled", "expected true or false"),
            (
                OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
                "collector:4318",
                "http:// or https://",
            ),
            (
                OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
                "grpc://collector:4317",
                "http:// or https://",
            ),
            (
                OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
                "http://collector/v1/traces#x",
                "fragment",
            ),
            (
                OTEL_EXPORTER_OTLP_ENDPOINT,
                "http://collector:4318?tenant=a",
                "query",
            ),
        ];
        for &(var, value, reason_part) in cases {
            let error = from_vars(&[(var, value)]).expect_err(&format!("{var}={value:?}"));
            let ConfigError::InvalidEnv {
                var: error_var,
                value: error_value,
                reason,
            } = &error
            else {
                panic!("{var}={value:?} gave {error:?}");
            };
            assert_eq!((*error_var, error_value.as_str()), (var, value));
            assert!(reason.contains(reason_part), "{var}={value:?}: {reason}");
            let message = error.to_string();
            assert!(
                message.starts_with(&format!("invalid {var}={value:?}: ")),
                "{message}"
            );
        }
    }

    #[test]
    fn error_message_format() {
        let error = from_vars(&[(LANGFUSE_SAMPLE_RATE, "1.5")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            r#"invalid LANGFUSE_SAMPLE_RATE="1.5": expected a number between 0 and 1"#
        );
        // The raw value is shown, whitespace included, so that a stray character is visible.
        let error = from_vars(&[(LANGFUSE_FLUSH_AT, " 12x\n")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            r#"invalid LANGFUSE_FLUSH_AT=" 12x\n": expected a whole number >= 1"#
        );
        let error = Config::builder()
            .ignore_environment()
            .timeout(Duration::ZERO)
            .build()
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            r#"invalid builder setting timeout="0ns": expected a number of seconds greater than 0 and at most 86400, such as 5 or 0.5"#
        );
    }

    #[test]
    fn booleans_accept_common_spellings() {
        type Get = fn(&Config) -> bool;
        let vars: &[(&str, Get)] = &[
            (LANGFUSE_TRACING_ENABLED, Config::tracing_enabled),
            (LANGFUSE_DEBUG, Config::debug),
            (
                LANGFUSE_OBSERVE_DECORATOR_IO_CAPTURE_ENABLED,
                Config::io_capture_enabled,
            ),
            (OTEL_SDK_DISABLED, Config::otel_sdk_disabled),
        ];
        let spellings = [
            ("true", true),
            ("TRUE", true),
            (" True\n", true),
            ("1", true),
            ("yes", true),
            ("YES", true),
            ("on", true),
            ("false", false),
            ("False", false),
            ("0", false),
            ("no", false),
            ("off", false),
            ("OFF", false),
        ];
        for (var, get) in vars {
            for (spelling, expected) in spellings {
                let config = ok(&[(var, spelling)]);
                assert_eq!(get(&config), expected, "{var}={spelling:?}");
            }
        }
    }

    #[test]
    fn blank_values_count_as_unset() {
        let defaults = format!("{:?}", no_vars());
        for var in ALL_VARS.iter().chain(RELEASE_FALLBACKS.iter()) {
            for blank in ["", "   ", "\n"] {
                let config = ok(&[(var, blank)]);
                assert_eq!(format!("{config:?}"), defaults, "{var}={blank:?}");
            }
        }
    }

    #[test]
    fn ignore_environment_reads_nothing() {
        let vars: Vec<(&str, &str)> = ALL_VARS
            .iter()
            .chain(RELEASE_FALLBACKS.iter())
            .map(|&var| (var, "not valid for anything"))
            .collect();
        let config = build_in(Config::builder().ignore_environment(), &vars).unwrap();
        assert_eq!(format!("{config:?}"), format!("{:?}", no_vars()));
    }

    #[test]
    fn builder_values_win_over_the_environment() {
        let vars = [
            (LANGFUSE_PUBLIC_KEY, "pk-lf-env"),
            (LANGFUSE_SECRET_KEY, "sk-lf-env"),
            (LANGFUSE_BASE_URL, "https://env.example.com"),
            (LANGFUSE_TRACING_ENABLED, "false"),
            (LANGFUSE_SAMPLE_RATE, "0.1"),
            (LANGFUSE_FLUSH_AT, "10"),
            (LANGFUSE_FLUSH_INTERVAL, "10"),
            (LANGFUSE_TIMEOUT, "10"),
            (LANGFUSE_DEBUG, "false"),
            (LANGFUSE_TRACING_ENVIRONMENT, "env"),
            (LANGFUSE_RELEASE, "env"),
            (LANGFUSE_OBSERVE_DECORATOR_IO_CAPTURE_ENABLED, "false"),
            (LANGFUSE_OTEL_TRACES_EXPORT_PATH, "/env"),
            (LANGFUSE_OTEL_COMPRESSION, "none"),
            (LANGFUSE_MAX_QUEUE_SIZE, "10"),
            (LANGFUSE_MAX_QUEUE_BYTES, "10000"),
            (LANGFUSE_CAPTURE_MAX_BYTES, "1000"),
            (LANGFUSE_EXPORTER, "none"),
            (LANGFUSE_OTEL_MAX_BATCH_SIZE_BYTES, "10000"),
            (LANGFUSE_MAX_RETRIES, "10"),
            (LANGFUSE_THREAD_BUFFER_SIZE, "100"),
            (LANGFUSE_EXPORTER_NICENESS, "15"),
            (
                OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
                "http://env:4318/v1/traces",
            ),
            (OTEL_EXPORTER_OTLP_TRACES_HEADERS, "x-env=1"),
            (OTEL_SERVICE_NAME, "env"),
        ];
        let builder = Config::builder()
            .public_key("pk-lf-code")
            .secret_key("sk-lf-code")
            .base_url("https://code.example.com")
            .tracing_enabled(true)
            .sample_rate(0.5)
            .flush_at(20)
            .flush_interval(Duration::from_secs(20))
            .timeout(Duration::from_secs(20))
            .debug(true)
            .environment("code")
            .release("code")
            .io_capture_enabled(true)
            .traces_export_path("/code")
            .compression(Compression::Gzip)
            .max_queue_size(20)
            .max_queue_bytes(20_000)
            .capture_max_bytes(2000)
            .exporter(ExporterKind::Console)
            .max_batch_bytes(20_000)
            .max_retries(20)
            .thread_buffer_size(200)
            .exporter_niceness(3)
            .otlp_traces_endpoint("http://code:4318/v1/traces")
            .otlp_header("x-code", "2")
            .service_name("code");
        let config = build_in(builder, &vars).unwrap();
        assert_eq!(config.public_key(), Some("pk-lf-code"));
        assert_eq!(config.secret_key(), Some("sk-lf-code"));
        assert_eq!(config.base_url(), "https://code.example.com");
        assert!(config.tracing_enabled());
        assert_eq!(config.sample_rate(), 0.5);
        assert_eq!(config.flush_at(), 20);
        assert_eq!(config.flush_interval(), Duration::from_secs(20));
        assert_eq!(config.timeout(), Duration::from_secs(20));
        assert!(config.debug());
        assert_eq!(config.environment(), Some("code"));
        assert_eq!(config.release(), Some("code"));
        assert!(config.io_capture_enabled());
        assert_eq!(config.traces_export_path(), "/code");
        assert_eq!(config.compression(), Compression::Gzip);
        assert_eq!(config.max_queue_size(), 20);
        assert_eq!(config.max_queue_bytes(), 20_000);
        assert_eq!(config.capture_max_bytes(), 2000);
        assert_eq!(config.exporter(), ExporterKind::Console);
        assert_eq!(config.max_batch_bytes(), 20_000);
        assert_eq!(config.max_retries(), 20);
        assert_eq!(config.thread_buffer_size(), 200);
        assert_eq!(config.exporter_niceness(), 3);
        assert_eq!(config.traces_url().as_str(), "http://code:4318/v1/traces");
        assert!(config.otlp_headers().contains_key("x-code"));
        assert!(!config.otlp_headers().contains_key("x-env"));
        assert_eq!(config.service_name(), "code");
    }

    #[test]
    fn environment_fills_what_the_builder_leaves_unset() {
        let vars = [(LANGFUSE_FLUSH_AT, "10"), (LANGFUSE_TIMEOUT, "7")];
        let config = build_in(Config::builder().flush_at(20), &vars).unwrap();
        assert_eq!(config.flush_at(), 20);
        assert_eq!(config.timeout(), Duration::from_secs(7));
        assert_eq!(config.flush_interval(), DEFAULT_FLUSH_INTERVAL);
    }

    #[test]
    fn builder_values_are_validated_like_the_environment() {
        type Set = fn(ConfigBuilder) -> ConfigBuilder;
        let cases: &[(Set, &str, &str, &str)] = &[
            (
                |b| b.sample_rate(1.5),
                "sample_rate",
                "1.5",
                "between 0 and 1",
            ),
            (
                |b| b.sample_rate(-0.5),
                "sample_rate",
                "-0.5",
                "between 0 and 1",
            ),
            (
                |b| b.sample_rate(f64::NAN),
                "sample_rate",
                "NaN",
                "between 0 and 1",
            ),
            (|b| b.flush_at(0), "flush_at", "0", ">= 1"),
            (
                |b| b.flush_interval(Duration::ZERO),
                "flush_interval",
                "0ns",
                "greater than 0",
            ),
            (
                |b| b.flush_interval(Duration::from_secs(86_401)),
                "flush_interval",
                "86401s",
                "at most 86400",
            ),
            (
                |b| b.timeout(Duration::ZERO),
                "timeout",
                "0ns",
                "greater than 0",
            ),
            (
                |b| b.environment("Prod"),
                "environment",
                "Prod",
                "uppercase",
            ),
            (|b| b.environment(""), "environment", "", "empty"),
            (
                |b| b.environment("langfuse-x"),
                "environment",
                "langfuse-x",
                "reserved",
            ),
            (|b| b.release(""), "release", "", "must not be empty"),
            (|b| b.release("  "), "release", "  ", "must not be empty"),
            (
                |b| b.traces_export_path("v1/traces"),
                "traces_export_path",
                "v1/traces",
                "'/'",
            ),
            (|b| b.max_queue_size(0), "max_queue_size", "0", ">= 1"),
            (
                |b| b.max_queue_bytes(1023),
                "max_queue_bytes",
                "1023",
                ">= 1024",
            ),
            (
                |b| b.capture_max_bytes(63),
                "capture_max_bytes",
                "63",
                ">= 64",
            ),
            (
                |b| b.max_batch_bytes(1023),
                "max_batch_bytes",
                "1023",
                ">= 1024",
            ),
            (
                |b| b.thread_buffer_size(15),
                "thread_buffer_size",
                "15",
                ">= 16",
            ),
            (
                |b| b.base_url("localhost:3000"),
                "base_url",
                "localhost:3000",
                "http://",
            ),
            (|b| b.base_url(""), "base_url", "", "http://"),
            (
                |b| b.host("ftp://example.com"),
                "host",
                "ftp://example.com",
                "http://",
            ),
            (
                |b| b.otlp_traces_endpoint("unix:///tmp/otel.sock"),
                "otlp_traces_endpoint",
                "unix:///tmp/otel.sock",
                "http://",
            ),
            (
                |b| b.service_name(""),
                "service_name",
                "",
                "must not be empty",
            ),
            (
                |b| b.public_key("pk-lf-\u{1}"),
                "public_key",
                "pk-lf-\u{1}",
                "printable ASCII",
            ),
        ];
        for &(set, setting, value, reason_part) in cases {
            let error = set(Config::builder().ignore_environment())
                .build()
                .expect_err(setting);
            let ConfigError::InvalidSetting {
                setting: error_setting,
                value: error_value,
                reason,
            } = &error
            else {
                panic!("{setting}: {error:?}");
            };
            assert_eq!((*error_setting, error_value.as_str()), (setting, value));
            assert!(reason.contains(reason_part), "{setting}: {reason}");
            assert!(
                error
                    .to_string()
                    .starts_with(&format!("invalid builder setting {setting}={value:?}: ")),
                "{error}"
            );
        }
    }

    #[test]
    fn blank_builder_keys_fall_through_to_the_environment() {
        let vars = [
            (LANGFUSE_PUBLIC_KEY, "pk-lf-env"),
            (LANGFUSE_SECRET_KEY, "sk-lf-env"),
        ];
        let config = build_in(Config::builder().public_key(" ").secret_key(""), &vars).unwrap();
        assert_eq!(config.public_key(), Some("pk-lf-env"));
        assert_eq!(config.secret_key(), Some("sk-lf-env"));
    }

    #[test]
    fn base_url_precedence() {
        let (a, b, c, d) = (
            "https://a.example.com",
            "https://b.example.com",
            "https://c.example.com",
            "https://d.example.com",
        );
        // (builder base_url, LANGFUSE_BASE_URL, builder host, LANGFUSE_HOST) -> base URL
        let cases = [
            (Some(a), Some(b), Some(c), Some(d), a),
            (None, Some(b), Some(c), Some(d), b),
            (None, None, Some(c), Some(d), c),
            (None, None, None, Some(d), d),
            (None, None, None, None, DEFAULT_BASE_URL),
            // A lower-precedence value is not even read, so it cannot fail the build.
            (None, Some(b), None, Some("not a url"), b),
        ];
        for (builder_base_url, env_base_url, builder_host, env_host, expected) in cases {
            let mut builder = Config::builder();
            if let Some(url) = builder_base_url {
                builder = builder.base_url(url);
            }
            if let Some(url) = builder_host {
                builder = builder.host(url);
            }
            let mut vars = Vec::new();
            if let Some(url) = env_base_url {
                vars.push((LANGFUSE_BASE_URL, url));
            }
            if let Some(url) = env_host {
                vars.push((LANGFUSE_HOST, url));
            }
            let config = build_in(builder, &vars).unwrap();
            assert_eq!(config.base_url(), expected);
        }
    }

    #[test]
    fn release_falls_back_to_ci_variables_in_order() {
        for (index, expected) in RELEASE_FALLBACKS.iter().enumerate() {
            // This variable and every later one are set: the first wins.
            let vars: Vec<(&str, String)> = RELEASE_FALLBACKS[index..]
                .iter()
                .map(|&var| (var, format!("sha-{var}")))
                .collect();
            let config = ok(&vars);
            assert_eq!(config.release(), Some(format!("sha-{expected}").as_str()));
        }
        let config = ok(&[(LANGFUSE_RELEASE, "v1"), (RELEASE_FALLBACKS[0], "sha")]);
        assert_eq!(config.release(), Some("v1"));
        let config = build_in(Config::builder().release("v2"), &[(LANGFUSE_RELEASE, "v1")]);
        assert_eq!(config.unwrap().release(), Some("v2"));
    }

    #[test]
    fn compression_falls_back_in_order() {
        // (LANGFUSE_OTEL_COMPRESSION, OTEL_..._TRACES_COMPRESSION, OTEL_..._COMPRESSION) -> result
        let cases = [
            (Some("none"), Some("gzip"), Some("gzip"), Compression::None),
            (Some("gzip"), Some("none"), Some("none"), Compression::Gzip),
            (None, Some("none"), Some("gzip"), Compression::None),
            (None, Some("gzip"), Some("none"), Compression::Gzip),
            (None, None, Some("none"), Compression::None),
            (None, None, None, Compression::Gzip),
            // Lower-precedence values are not read.
            (Some("none"), Some("br"), Some("lz4"), Compression::None),
        ];
        for (langfuse, traces, general, expected) in cases {
            let vars: Vec<(&str, &str)> = [
                (LANGFUSE_OTEL_COMPRESSION, langfuse),
                (OTEL_EXPORTER_OTLP_TRACES_COMPRESSION, traces),
                (OTEL_EXPORTER_OTLP_COMPRESSION, general),
            ]
            .into_iter()
            .filter_map(|(var, value)| value.map(|value| (var, value)))
            .collect();
            assert_eq!(ok(&vars).compression(), expected, "{vars:?}");
        }
        // The error names the variable actually read.
        let error = from_vars(&[
            (OTEL_EXPORTER_OTLP_TRACES_COMPRESSION, "br"),
            (OTEL_EXPORTER_OTLP_COMPRESSION, "gzip"),
        ])
        .unwrap_err();
        assert!(matches!(
            error,
            ConfigError::InvalidEnv {
                var: OTEL_EXPORTER_OTLP_TRACES_COMPRESSION,
                ..
            }
        ));
        let builder = Config::builder().compression(Compression::Gzip);
        let config = build_in(builder, &[(LANGFUSE_OTEL_COMPRESSION, "none")]).unwrap();
        assert_eq!(config.compression(), Compression::Gzip);
    }

    #[test]
    fn otlp_endpoint_forms() {
        let traces = OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
        let base = OTEL_EXPORTER_OTLP_ENDPOINT;
        let cases: &[(&[(&str, &str)], &str)] = &[
            // The per-signal variable is used as is.
            (
                &[(traces, "http://collector:4318/custom/path")],
                "http://collector:4318/custom/path",
            ),
            (
                &[(traces, "https://otel.example.com/v1/traces?tenant=a")],
                "https://otel.example.com/v1/traces?tenant=a",
            ),
            // The general one gets /v1/traces appended to its path.
            (
                &[(base, "http://collector:4318")],
                "http://collector:4318/v1/traces",
            ),
            (
                &[(base, "http://collector:4318/")],
                "http://collector:4318/v1/traces",
            ),
            (
                &[(base, "https://otel.example.com/prefix/")],
                "https://otel.example.com/prefix/v1/traces",
            ),
            // The per-signal variable wins.
            (
                &[
                    (traces, "http://traces:4318/v1/traces"),
                    (base, "http://general:4318"),
                ],
                "http://traces:4318/v1/traces",
            ),
        ];
        for &(vars, expected) in cases {
            let config = ok(vars);
            assert_eq!(
                config.otlp_traces_endpoint().map(Url::as_str),
                Some(expected),
                "{vars:?}"
            );
            assert_eq!(config.traces_url().as_str(), expected);
            // Scores always go to Langfuse.
            assert_eq!(
                config.scores_url().as_str(),
                "https://cloud.langfuse.com/api/public/scores"
            );
        }
        let builder = Config::builder().otlp_traces_endpoint("http://code:4318/v1/traces");
        let config = build_in(builder, &[(traces, "http://env:4318/v1/traces")]).unwrap();
        assert_eq!(config.traces_url().as_str(), "http://code:4318/v1/traces");
    }

    #[test]
    fn the_otlp_endpoint_environment_can_be_ignored_alone() {
        let vars = [
            (
                OTEL_EXPORTER_OTLP_ENDPOINT,
                "http://platform-collector:4318",
            ),
            (
                OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
                "http://platform-collector:4318/v1/traces",
            ),
            (OTEL_EXPORTER_OTLP_HEADERS, "not=valid=,,"),
            (LANGFUSE_PUBLIC_KEY, "pk-lf-1"),
            (LANGFUSE_SECRET_KEY, "sk-lf-1"),
        ];
        let config = build_in(Config::builder().ignore_otlp_endpoint_env(), &vars).unwrap();
        assert_eq!(config.otlp_traces_endpoint(), None);
        assert!(config.otlp_headers().is_empty());
        assert_eq!(
            config.traces_url().as_str(),
            "https://cloud.langfuse.com/api/public/otel/v1/traces"
        );
        assert_eq!(config.public_key(), Some("pk-lf-1"));
        assert_eq!(config.disabled_reason(), None);
        // What is set in code still applies.
        let builder = Config::builder()
            .ignore_otlp_endpoint_env()
            .otlp_traces_endpoint("http://mine:4318/v1/traces")
            .otlp_header("x-mine", "1");
        let config = build_in(builder, &vars).unwrap();
        assert_eq!(config.traces_url().as_str(), "http://mine:4318/v1/traces");
        assert!(config.otlp_headers().contains_key("x-mine"));
    }

    #[test]
    fn url_credentials_are_rejected_and_never_shown() {
        let cases = [
            (
                LANGFUSE_BASE_URL,
                "https://user:hunter2@example.com/x",
                "https://<redacted>@example.com/x",
            ),
            (
                LANGFUSE_HOST,
                "https://hunter2@example.com",
                "https://<redacted>@example.com",
            ),
            (
                OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
                "http://user:hunter2@collector:4318/v1/traces",
                "http://<redacted>@collector:4318/v1/traces",
            ),
            (
                OTEL_EXPORTER_OTLP_ENDPOINT,
                "http://user:hunter2@collector:4318",
                "http://<redacted>@collector:4318",
            ),
            // Unparseable, and still hidden.
            (
                LANGFUSE_BASE_URL,
                "https://user:hunter2@exa mple.com",
                "https://<redacted>@exa mple.com",
            ),
            // A '/' in the password ends the authority early for a URL parser; not for us.
            (
                LANGFUSE_BASE_URL,
                "https://user:hun/ter2@example.com",
                "https://<redacted>@example.com",
            ),
        ];
        for (var, value, shown) in cases {
            let error = from_vars(&[(var, value)]).unwrap_err();
            let ConfigError::InvalidEnv {
                var: error_var,
                value: error_value,
                ..
            } = &error
            else {
                panic!("{error:?}");
            };
            assert_eq!((*error_var, error_value.as_str()), (var, shown));
            let message = error.to_string();
            assert!(
                !message.contains("hunter2") && !message.contains("ter2"),
                "{message}"
            );
        }
    }

    #[test]
    fn otlp_headers_parse_the_w3c_format() {
        let cases: &[(&str, &[(&str, &str)])] = &[
            ("api-key=abc", &[("api-key", "abc")]),
            (
                " api-key = abc , x-tenant=t1 ",
                &[("api-key", "abc"), ("x-tenant", "t1")],
            ),
            (
                "Authorization=Basic%20dXNlcjpwYXNz",
                &[("authorization", "Basic dXNlcjpwYXNz")],
            ),
            ("k=a%3Db%2Cc", &[("k", "a=b,c")]),
            // Only the first '=' separates: base64 padding survives.
            ("k=dG9rZW4=", &[("k", "dG9rZW4=")]),
            ("k=", &[("k", "")]),
            // A repeated name keeps the last value.
            ("k=1,k=2", &[("k", "2")]),
            // Invalid percent sequences are kept as they are.
            ("k=100%", &[("k", "100%")]),
        ];
        for &(raw, expected) in cases {
            let config = ok(&[(OTEL_EXPORTER_OTLP_HEADERS, raw)]);
            let headers = config.otlp_headers();
            assert_eq!(headers.len(), expected.len(), "{raw:?}");
            for &(name, value) in expected {
                assert_eq!(headers[name], value, "{raw:?}");
                assert!(headers[name].is_sensitive());
            }
        }
    }

    #[test]
    fn otlp_header_precedence() {
        let config = ok(&[
            (OTEL_EXPORTER_OTLP_TRACES_HEADERS, "x-traces=1"),
            (OTEL_EXPORTER_OTLP_HEADERS, "x-general=1"),
        ]);
        assert!(config.otlp_headers().contains_key("x-traces"));
        assert!(!config.otlp_headers().contains_key("x-general"));
        // Builder headers replace the environment's, which is then not even parsed.
        let builder = Config::builder().otlp_header("x-code", "1");
        let config = build_in(builder, &[(OTEL_EXPORTER_OTLP_HEADERS, "malformed")]).unwrap();
        assert_eq!(config.otlp_headers().len(), 1);
        assert!(config.otlp_headers().contains_key("x-code"));
    }

    #[test]
    fn malformed_otlp_headers_never_show_values() {
        let cases = [
            ("api-key=s3cr3t,broken", "entry 2 has no '='"),
            ("api-key=s3cr3t,", "entry 2 is empty"),
            ("api-key=s3cr3t,,x=1", "entry 2 is empty"),
            ("=s3cr3t", "entry 1 has an empty name"),
            ("bad name=s3cr3t", "entry 1 has an invalid HTTP header name"),
            ("Authorization: Bearer s3cr3t", "entry 1 has no '='"),
            (
                "Authorization: Bearer s3cr3t=",
                "entry 1 has an invalid HTTP header name",
            ),
            (
                "api-key=s3cr3t%0Aevil",
                "entry 1 (api-key) has an invalid HTTP header value",
            ),
        ];
        for var in [
            OTEL_EXPORTER_OTLP_TRACES_HEADERS,
            OTEL_EXPORTER_OTLP_HEADERS,
        ] {
            for (raw, reason_part) in cases {
                let error = from_vars(&[(var, raw)]).unwrap_err();
                let ConfigError::InvalidHeader { origin, reason } = &error else {
                    panic!("{raw:?} gave {error:?}");
                };
                assert_eq!(*origin, var);
                assert!(reason.contains(reason_part), "{raw:?}: {reason}");
                let message = error.to_string();
                assert!(
                    message.starts_with(&format!("invalid {var}: ")),
                    "{message}"
                );
                assert!(!message.contains("s3cr3t"), "{message}");
                assert!(!format!("{error:?}").contains("s3cr3t"));
            }
        }
    }

    #[test]
    fn builder_headers_are_validated_without_showing_values() {
        let config = builder_ok(
            Config::builder()
                .header("X-Team", "search")
                .header("x-team", "ranking"),
        );
        assert_eq!(config.additional_headers().len(), 1);
        assert_eq!(config.additional_headers()["x-team"], "ranking");
        assert!(config.additional_headers()["x-team"].is_sensitive());

        let cases: &[(&str, &str, &str, &str)] = &[
            (
                "header",
                "bad name",
                "s3cr3t",
                "header 1 (in the order given) has an invalid HTTP header name",
            ),
            (
                "header",
                "x-key",
                "s3cr3t\nevil",
                "(x-key) has an invalid HTTP header value",
            ),
            (
                "otlp_header",
                "",
                "s3cr3t",
                "has an invalid HTTP header name",
            ),
        ];
        for &(origin, name, value, reason) in cases {
            let builder = Config::builder().ignore_environment();
            let builder = if origin == "header" {
                builder.header(name, value)
            } else {
                builder.otlp_header(name, value)
            };
            let error = builder.build().unwrap_err();
            let message = error.to_string();
            assert!(matches!(error, ConfigError::InvalidHeader { origin: o, .. } if o == origin));
            assert!(message.contains(reason), "{message}");
            assert!(!message.contains("s3cr3t"), "{message}");
        }
    }

    #[test]
    fn disabled_reasons() {
        use DisabledReason::*;
        let missing = |public_key_missing, secret_key_missing| {
            Some(MissingKeys {
                public_key_missing,
                secret_key_missing,
            })
        };
        type Set = fn(ConfigBuilder) -> ConfigBuilder;
        type Vars = &'static [(&'static str, &'static str)];
        let cases: &[(Set, Vars, Option<DisabledReason>)] = &[
            (|b| b.public_key("pk-lf-1").secret_key("sk-lf-1"), &[], None),
            (|b| b, &[], missing(true, true)),
            (|b| b.public_key("pk-lf-1"), &[], missing(false, true)),
            (|b| b.secret_key("sk-lf-1"), &[], missing(true, false)),
            (
                |b| b,
                &[
                    (LANGFUSE_PUBLIC_KEY, "pk-lf-1"),
                    (LANGFUSE_SECRET_KEY, "sk-lf-1"),
                ],
                None,
            ),
            (
                |b| b.public_key("pk-lf-1").secret_key("sk-lf-1"),
                &[(LANGFUSE_TRACING_ENABLED, "false")],
                Some(TracingDisabled),
            ),
            // Tracing disabled is reported before missing keys.
            (
                |b| b,
                &[(LANGFUSE_TRACING_ENABLED, "false")],
                Some(TracingDisabled),
            ),
            (
                |b| b.public_key("pk-lf-1").secret_key("sk-lf-1"),
                &[(OTEL_SDK_DISABLED, "true")],
                Some(OtelSdkDisabled),
            ),
            // OTEL_SDK_DISABLED is a kill switch the builder cannot override...
            (
                |b| {
                    b.tracing_enabled(true)
                        .public_key("pk-lf-1")
                        .secret_key("sk-lf-1")
                },
                &[(OTEL_SDK_DISABLED, "true")],
                Some(OtelSdkDisabled),
            ),
            // ...while LANGFUSE_TRACING_ENABLED is an ordinary setting.
            (
                |b| {
                    b.tracing_enabled(true)
                        .public_key("pk-lf-1")
                        .secret_key("sk-lf-1")
                },
                &[(LANGFUSE_TRACING_ENABLED, "false")],
                None,
            ),
            (
                |b| {
                    b.tracing_enabled(false)
                        .public_key("pk-lf-1")
                        .secret_key("sk-lf-1")
                },
                &[],
                Some(TracingDisabled),
            ),
            // Keys are needed only to send to Langfuse.
            (|b| b.exporter(ExporterKind::Console), &[], None),
            (|b| b.exporter(ExporterKind::None), &[], None),
            (
                |b| b,
                &[(OTEL_EXPORTER_OTLP_ENDPOINT, "http://collector:4318")],
                None,
            ),
            (
                |b| b.otlp_traces_endpoint("http://collector:4318/v1/traces"),
                &[],
                None,
            ),
        ];
        for (index, &(set, vars, expected)) in cases.iter().enumerate() {
            let config = build_in(set(Config::builder()), vars).unwrap();
            assert_eq!(config.disabled_reason(), expected, "case {index}: {vars:?}");
        }
    }

    #[test]
    fn disabled_reasons_read_well() {
        let cases = [
            (
                DisabledReason::TracingDisabled,
                "tracing is disabled (LANGFUSE_TRACING_ENABLED or tracing_enabled(false))",
            ),
            (DisabledReason::OtelSdkDisabled, "OTEL_SDK_DISABLED is true"),
            (
                DisabledReason::MissingKeys {
                    public_key_missing: true,
                    secret_key_missing: true,
                },
                "LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY are not set",
            ),
            (
                DisabledReason::MissingKeys {
                    public_key_missing: true,
                    secret_key_missing: false,
                },
                "LANGFUSE_PUBLIC_KEY is not set",
            ),
            (
                DisabledReason::MissingKeys {
                    public_key_missing: false,
                    secret_key_missing: true,
                },
                "LANGFUSE_SECRET_KEY is not set",
            ),
        ];
        for (reason, message) in cases {
            assert_eq!(reason.to_string(), message);
        }
    }

    #[test]
    fn debug_never_shows_secrets() {
        let builder = Config::builder()
            .ignore_environment()
            .public_key("pk-lf-public")
            .secret_key("sk-lf-TOPSECRET")
            .header("x-api-key", "HEADERSECRET")
            .otlp_header("authorization", "Bearer OTLPSECRET");
        let builder_debug = format!("{builder:?}");
        let config = builder.build().unwrap();
        let config_debug = format!("{config:?}");
        let pretty_debug = format!("{config:#?}");
        for shown in [&builder_debug, &config_debug, &pretty_debug] {
            for secret in ["TOPSECRET", "HEADERSECRET", "OTLPSECRET"] {
                assert!(!shown.contains(secret), "{secret} in {shown}");
            }
        }
        assert!(
            config_debug.contains(r#"secret_key: Some("<redacted>")"#),
            "{config_debug}"
        );
        assert!(
            config_debug.contains(r#""x-api-key": "<redacted>""#),
            "{config_debug}"
        );
        assert!(
            config_debug.contains(r#""authorization": "<redacted>""#),
            "{config_debug}"
        );
        assert!(
            config_debug.contains("pk-lf-public"),
            "the public key is not secret"
        );
        assert!(
            builder_debug.contains(r#"secret_key: Some("<redacted>")"#),
            "{builder_debug}"
        );
        // The header maps themselves hide their values too.
        assert!(!format!("{:?}", config.otlp_headers()).contains("OTLPSECRET"));
        assert!(!format!("{:?}", config.additional_headers()).contains("HEADERSECRET"));
    }

    #[test]
    fn swapped_keys_are_refused_without_showing_them() {
        let cases = [
            (LANGFUSE_PUBLIC_KEY, "sk-lf-TOPSECRET", "secret key"),
            (LANGFUSE_SECRET_KEY, "pk-lf-swapped", "public key"),
        ];
        for (var, value, reason_part) in cases {
            let error = from_vars(&[(var, value)]).unwrap_err();
            let ConfigError::InvalidEnv {
                var: error_var,
                value: shown,
                reason,
            } = &error
            else {
                panic!("{error:?}");
            };
            assert_eq!((*error_var, shown.as_str()), (var, "<redacted>"));
            assert!(
                reason.contains(reason_part) && reason.contains("swapped"),
                "{reason}"
            );
            assert!(!error.to_string().contains(value), "{error}");
        }
        let error = Config::builder()
            .ignore_environment()
            .public_key("sk-lf-TOPSECRET")
            .build()
            .unwrap_err();
        assert!(
            matches!(&error, ConfigError::InvalidSetting { setting: "public_key", value, .. } if value == "<redacted>")
        );
        assert!(!error.to_string().contains("TOPSECRET"));
    }

    #[test]
    fn insecure_remote_means_clear_text_to_another_machine() {
        let cases = [
            ("https://cloud.langfuse.com", false),
            ("https://10.0.0.5", false),
            ("http://localhost:3000", false),
            ("http://LOCALHOST", false),
            ("http://localhost.:3000", false),
            ("http://langfuse.localhost", false),
            ("http://127.0.0.1:3000", false),
            ("http://127.8.9.10", false),
            ("http://[::1]:3000", false),
            ("http://[::ffff:127.0.0.1]", false),
            ("http://langfuse.internal:3000", true),
            ("http://10.0.0.5:3000", true),
            ("http://localhost.example.com", true),
            ("http://[2001:db8::1]", true),
        ];
        for (base_url, expected) in cases {
            let config = builder_ok(Config::builder().base_url(base_url));
            assert_eq!(config.is_insecure_remote(), expected, "{base_url}");
        }
    }

    #[test]
    fn service_name_sources() {
        assert_eq!(ok(&[(OTEL_SERVICE_NAME, "api")]).service_name(), "api");
        let builder = Config::builder().service_name("code");
        let config = build_in(builder, &[(OTEL_SERVICE_NAME, "env")]).unwrap();
        assert_eq!(config.service_name(), "code");
    }

    #[test]
    fn config_is_cheap_to_share() {
        fn assert_send_sync_clone<T: Send + Sync + Clone>() {}
        assert_send_sync_clone::<Config>();
        assert_send_sync_clone::<ConfigBuilder>();
        assert_send_sync_clone::<ConfigError>();
        let config = builder_ok(keys());
        assert_eq!(format!("{:?}", config.clone()), format!("{config:?}"));
    }

    /// Property tests: every variable, any text, never a panic; every valid value read back
    /// as given; no error ever shows the secret key.
    mod properties {
        use proptest::prelude::*;

        use super::*;

        /// Any text, and text shaped like what each variable expects but slightly off.
        fn any_value() -> impl Strategy<Value = String> {
            prop_oneof![
                any::<String>(),
                "[ \t\n]*[-+]?[0-9]{0,25}(\\.[0-9]{0,20})?([eE][-+]?[0-9]{1,4})?[ \t\n]*",
                "(true|false|yes|no|on|off|1|0|TRUE|maybe|nan|inf|-inf|NaN|gzip|none|otlp|console)",
                "(https?|ftp|grpc)://[a-zA-Z0-9.:@/?#%\\[\\] _-]{0,40}",
                "/[ -~]{0,30}",
                "[a-z0-9_-]{0,45}",
                "([a-zA-Z0-9 _-]{0,8}=[a-zA-Z0-9% ,=]{0,8},?){0,4}",
            ]
        }

        proptest! {
            #[test]
            fn any_value_of_any_variable_is_a_config_or_a_typed_error(
                var in prop::sample::select(ALL_VARS),
                value in any_value(),
            ) {
                match from_vars(&[(var, value.as_str())]) {
                    Ok(_) => {}
                    Err(error) => {
                        // Named, and displayable.
                        let shown = error.to_string();
                        prop_assert!(shown.contains(var), "{shown}");
                    }
                }
            }

            #[test]
            fn any_mix_of_variables_never_panics(
                vars in prop::collection::vec((prop::sample::select(ALL_VARS), any_value()), 0..8),
            ) {
                let _ = from_vars(&vars);
            }

            #[test]
            fn valid_counts_read_back_as_given(
                flush_at in 1usize..=usize::MAX,
                max_queue in 1usize..=usize::MAX,
                queue_bytes in 1024usize..=usize::MAX,
                capture in 64usize..=usize::MAX,
                batch in 1024usize..=usize::MAX,
                retries in any::<u32>(),
                ring in 16usize..=(1 << 20),
                niceness in 0u8..=19,
            ) {
                let config = ok(&[
                    (LANGFUSE_FLUSH_AT, format!(" {flush_at} ")),
                    (LANGFUSE_MAX_QUEUE_SIZE, max_queue.to_string()),
                    (LANGFUSE_MAX_QUEUE_BYTES, queue_bytes.to_string()),
                    (LANGFUSE_CAPTURE_MAX_BYTES, capture.to_string()),
                    (LANGFUSE_OTEL_MAX_BATCH_SIZE_BYTES, batch.to_string()),
                    (LANGFUSE_MAX_RETRIES, retries.to_string()),
                    (LANGFUSE_THREAD_BUFFER_SIZE, ring.to_string()),
                    (LANGFUSE_EXPORTER_NICENESS, niceness.to_string()),
                ]);
                prop_assert_eq!(config.exporter_niceness(), niceness);
                prop_assert_eq!(config.flush_at(), flush_at);
                prop_assert_eq!(config.max_queue_size(), max_queue);
                prop_assert_eq!(config.max_queue_bytes(), queue_bytes);
                prop_assert_eq!(config.capture_max_bytes(), capture);
                prop_assert_eq!(config.max_batch_bytes(), batch);
                prop_assert_eq!(config.max_retries(), retries);
                prop_assert_eq!(config.thread_buffer_size(), ring);
            }

            #[test]
            fn valid_rates_and_durations_read_back_as_given(
                rate in 0.0f64..=1.0,
                interval in 1e-6f64..=86_400.0,
                timeout in 1e-6f64..=86_400.0,
            ) {
                // Rust prints a float so that it parses back to the same value.
                let config = ok(&[
                    (LANGFUSE_SAMPLE_RATE, rate.to_string()),
                    (LANGFUSE_FLUSH_INTERVAL, interval.to_string()),
                    (LANGFUSE_TIMEOUT, timeout.to_string()),
                ]);
                prop_assert_eq!(config.sample_rate(), rate);
                prop_assert_eq!(config.flush_interval(), Duration::from_secs_f64(interval));
                prop_assert_eq!(config.timeout(), Duration::from_secs_f64(timeout));
                // The builder takes the same values.
                let built = builder_ok(
                    Config::builder()
                        .sample_rate(rate)
                        .flush_interval(config.flush_interval())
                        .timeout(config.timeout()),
                );
                prop_assert_eq!(built.sample_rate(), rate);
                prop_assert_eq!(built.flush_interval(), config.flush_interval());
            }

            #[test]
            fn out_of_range_numbers_are_refused(
                rate in prop_oneof![f64::MIN..-1e-9, 1.0000001f64..f64::MAX],
                seconds in prop_oneof![f64::MIN..=0.0, 86_400.001f64..f64::MAX],
                ring in prop_oneof![0usize..16, ((1usize << 20) + 1)..=usize::MAX],
            ) {
                prop_assert!(from_vars(&[(LANGFUSE_SAMPLE_RATE, rate.to_string())]).is_err());
                prop_assert!(from_vars(&[(LANGFUSE_TIMEOUT, seconds.to_string())]).is_err());
                prop_assert!(from_vars(&[(LANGFUSE_FLUSH_INTERVAL, seconds.to_string())]).is_err());
                prop_assert!(from_vars(&[(LANGFUSE_THREAD_BUFFER_SIZE, ring.to_string())]).is_err());
                prop_assert!(builder_ok_or_err(Config::builder().sample_rate(rate)).is_err());
                prop_assert!(builder_ok_or_err(Config::builder().thread_buffer_size(ring)).is_err());
            }

            #[test]
            fn valid_environments_read_back_as_given(environment in "[a-z0-9_-]{1,40}") {
                prop_assume!(!environment.starts_with("langfuse"));
                let config = ok(&[(LANGFUSE_TRACING_ENVIRONMENT, environment.as_str())]);
                prop_assert_eq!(config.environment(), Some(environment.as_str()));
            }

            #[test]
            fn no_error_shows_the_secret_key(
                secret in "sk-lf-[a-zA-Z0-9]{8,20}",
                var in prop::sample::select(ALL_VARS),
                value in any_value(),
            ) {
                // The secret where it belongs, in the public key's place, and in a URL; any
                // other variable broken.
                for (key_var, key_value) in [
                    (LANGFUSE_SECRET_KEY, secret.clone()),
                    (LANGFUSE_PUBLIC_KEY, secret.clone()),
                    (LANGFUSE_BASE_URL, format!("https://pk-lf-1:{secret}@example.com")),
                    (OTEL_EXPORTER_OTLP_HEADERS, format!("authorization=Bearer {secret},x=\u{1}")),
                ] {
                    let vars = [(key_var, key_value.as_str()), (var, value.as_str())];
                    if let Err(error) = from_vars(&vars) {
                        prop_assert!(!error.to_string().contains(&secret), "{error}");
                        prop_assert!(!format!("{error:?}").contains(&secret), "{error:?}");
                    }
                    if let Ok(config) = from_vars(&vars) {
                        let shown = format!("{config:?}");
                        prop_assert!(!shown.contains(&secret), "{shown}");
                    }
                }
            }
        }

        fn builder_ok_or_err(builder: ConfigBuilder) -> Result<Config, ConfigError> {
            builder.ignore_environment().build()
        }
    }
}
