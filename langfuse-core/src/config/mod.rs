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
//! | `LANGFUSE_CAPTURE_MAX_BYTES` | `32768` (32 KiB) | Byte budget of one captured field; serialization stops there and what was written is closed into valid JSON with `… [truncated by langfuse]` where it was cut (exact shape: [`ConfigBuilder::capture_max_bytes`]). At least 64. | **ours** |
//! | `LANGFUSE_EXPORTER` | `otlp` | `otlp` (send to Langfuse or a collector), `console` (write spans in readable form, for local development), `none` (record, then discard). | **ours** |
//! | `LANGFUSE_OTEL_MAX_BATCH_SIZE_BYTES` | `4194304` (4 MiB) | Uncompressed request size at which a batch is cut; at least 1024. | **ours** (same name, different meaning: Python drops a request above it, default 64 MiB) |
//! | `LANGFUSE_MAX_RETRIES` | `5` | Retries of one export after the first attempt. | **ours** (Python v2 only) |
//! | `LANGFUSE_THREAD_BUFFER_SIZE` | `4096` | Capacity of each recording thread's ring buffer, in observations (80 bytes each, allocated on a thread's first observation); a full ring spills into the shared queue. From 16 to 1048576 (a larger ring could not be allocated, and the allocation failure would abort the process on its first observation). | **ours** |
//! | `LANGFUSE_PROMPT_CACHE_DEFAULT_TTL_SECONDS` | `60` | How long a fetched prompt is served from the cache before it is refreshed in the background: a whole number of seconds from 0 to 31536000 (a year). 0 turns the cache off: every `get_prompt` asks the server. | yes |
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

// Where things are, and what adding a setting touches:
//
// - this table (above): the variable, its default, its meaning;
// - `env.rs`: the variable's name, `env::LANGFUSE_...`;
// - `defaults.rs`: its default, named after the getter (a bound, if any, goes in `validate.rs`);
// - `builder.rs`: the builder field and its setter, and one resolver statement in `build_with`;
// - below: the `Config` field and its getter.
//
// The compiler then points at the `Config` literal in `build_with` and at `Debug for Config`;
// tests fail until the variable is in `tests::ALL_VARS` and this table agrees with `defaults.rs`.

use std::fmt;
use std::time::Duration;

use reqwest::Url;
use reqwest::header::HeaderMap;

mod builder;
pub(crate) mod defaults;
pub mod env;
mod error;
mod mask;
#[cfg(test)]
mod tests;
mod validate;

pub use builder::ConfigBuilder;
pub use error::ConfigError;
pub(crate) use mask::Mask;
pub(crate) use validate::check_environment;

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Compression {
    /// `Content-Encoding: gzip`, the default.
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

impl Default for Compression {
    fn default() -> Self {
        defaults::COMPRESSION
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExporterKind {
    /// OTLP/HTTP to Langfuse, or to the OpenTelemetry endpoint when one is configured. The default.
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

impl Default for ExporterKind {
    fn default() -> Self {
        defaults::EXPORTER
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
    pub(crate) prompt_cache_ttl: Duration,
    pub(crate) prefetch_prompts: Vec<(String, String)>,
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

    /// How long a fetched prompt is served from the cache before it is refreshed in the
    /// background (`LANGFUSE_PROMPT_CACHE_DEFAULT_TTL_SECONDS`); zero means no cache. A
    /// `get_prompt` call can give its own with `cache_ttl`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use langfuse_core::Config;
    ///
    /// let config = Config::builder().ignore_environment().build()?;
    /// assert_eq!(config.prompt_cache_ttl(), Duration::from_secs(60));
    /// # Ok::<(), langfuse_core::ConfigError>(())
    /// ```
    pub fn prompt_cache_ttl(&self) -> Duration {
        self.prompt_cache_ttl
    }

    /// The prompts loaded while the client starts ([`ConfigBuilder::prefetch_prompts`]), as
    /// (name, label) pairs.
    ///
    /// ```
    /// use langfuse_core::Config;
    ///
    /// let config = Config::builder().ignore_environment().prefetch_prompts(["greeting"]).build()?;
    /// assert_eq!(config.prefetch_prompts(), [("greeting".to_owned(), "production".to_owned())]);
    /// # Ok::<(), langfuse_core::ConfigError>(())
    /// ```
    pub fn prefetch_prompts(&self) -> &[(String, String)] {
        &self.prefetch_prompts
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
        // Destructured so that a new field cannot be left out by mistake.
        let Self {
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
            prompt_cache_ttl,
            prefetch_prompts,
            otlp_traces_endpoint,
            otlp_headers,
            additional_headers,
            service_name,
            mask,
            traces_url,
            scores_url,
            // Derived from `base_url`, which is shown.
            insecure_remote: _,
        } = self;
        f.debug_struct("Config")
            .field("public_key", public_key)
            .field("secret_key", secret_key)
            .field("base_url", base_url)
            .field("tracing_enabled", tracing_enabled)
            .field("otel_sdk_disabled", otel_sdk_disabled)
            .field("sample_rate", sample_rate)
            .field("flush_at", flush_at)
            .field("flush_interval", flush_interval)
            .field("timeout", timeout)
            .field("debug", debug)
            .field("environment", environment)
            .field("release", release)
            .field("io_capture_enabled", io_capture_enabled)
            .field("traces_export_path", traces_export_path)
            .field("compression", compression)
            .field("max_queue_size", max_queue_size)
            .field("max_queue_bytes", max_queue_bytes)
            .field("capture_max_bytes", capture_max_bytes)
            .field("exporter", exporter)
            .field("max_batch_bytes", max_batch_bytes)
            .field("max_retries", max_retries)
            .field("thread_buffer_size", thread_buffer_size)
            .field("exporter_niceness", exporter_niceness)
            .field("prompt_cache_ttl", prompt_cache_ttl)
            .field("prefetch_prompts", prefetch_prompts)
            .field(
                "otlp_traces_endpoint",
                &otlp_traces_endpoint.as_ref().map(Url::as_str),
            )
            .field("otlp_headers", &RedactedHeaders(otlp_headers))
            .field("additional_headers", &RedactedHeaders(additional_headers))
            .field("service_name", service_name)
            .field("mask", mask)
            .field("traces_url", &traces_url.as_str())
            .field("scores_url", &scores_url.as_str())
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
