//! Names of the environment variables the SDK reads, one constant per variable. What each one
//! means, and its default, is in the [settings table](super).
//!
//! ```
//! use langfuse_core::config::env;
//!
//! assert_eq!(env::LANGFUSE_SAMPLE_RATE, "LANGFUSE_SAMPLE_RATE");
//! assert_eq!(env::RELEASE_FALLBACKS[0], "RENDER_GIT_COMMIT");
//! ```

use std::time::Duration;

use reqwest::Url;

use super::validate::{check_http_url, parse_bool, strip_userinfo, with_path};
use super::{Compression, ConfigError, ExporterKind, REDACTED, Secret};

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
/// Seconds a fetched prompt is served from the cache before it is refreshed.
pub const LANGFUSE_PROMPT_CACHE_DEFAULT_TTL_SECONDS: &str =
    "LANGFUSE_PROMPT_CACHE_DEFAULT_TTL_SECONDS";
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

// Everything below is private to `config`: how one build reads the variables above, in
// precedence order, and names the variable or setting a bad value came from.

/// What `OTEL_EXPORTER_OTLP_ENDPOINT` gets appended, as the OpenTelemetry specification says.
const OTLP_TRACES_SUFFIX: &str = "/v1/traces";

/// Where a value came from, to name it in an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Origin {
    Setting(&'static str),
    Env(&'static str),
}

impl Origin {
    pub(super) fn invalid(
        self,
        value: impl Into<String>,
        reason: impl Into<String>,
    ) -> ConfigError {
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
    pub(super) fn invalid_url(self, raw: &str, reason: impl Into<String>) -> ConfigError {
        self.invalid(strip_userinfo(raw), reason)
    }
}

/// Reads one environment variable; `None` when unset.
pub(super) type Lookup = dyn Fn(&str) -> Option<String>;

/// The process environment, as [`build`](super::ConfigBuilder::build) reads it. A value that is
/// not valid Unicode is read lossily, and so fails validation visibly instead of being ignored.
pub(super) fn process_var(name: &str) -> Option<String> {
    std::env::var_os(name).map(|value| value.to_string_lossy().into_owned())
}

/// The environment as seen by one build: `lookup` is `None` when it is ignored.
pub(super) struct Env<'a> {
    pub(super) lookup: Option<&'a Lookup>,
}

impl Env<'_> {
    /// The first of `vars` that is set and not blank, with its raw (untrimmed) value.
    pub(super) fn first(&self, vars: &[&'static str]) -> Option<(&'static str, String)> {
        let lookup = self.lookup?;
        vars.iter().find_map(|&var| {
            lookup(var)
                .filter(|value| !value.trim().is_empty())
                .map(|value| (var, value))
        })
    }

    /// The first of `vars` that is set and not blank, trimmed, as a string setting's candidate.
    pub(super) fn first_string(&self, vars: &[&'static str]) -> Option<(Origin, String)> {
        self.first(vars)
            .map(|(var, value)| (Origin::Env(var), value.trim().to_owned()))
    }

    pub(super) fn string(&self, var: &'static str) -> Option<(Origin, String)> {
        self.first_string(&[var])
    }
}

pub(super) fn from_setting(
    setting: &'static str,
    value: Option<String>,
) -> Option<(Origin, String)> {
    value.map(|value| (Origin::Setting(setting), value))
}

/// The first candidate present, in precedence order.
pub(super) fn first_of<const N: usize>(
    candidates: [Option<(Origin, String)>; N],
) -> Option<(Origin, String)> {
    candidates.into_iter().flatten().next()
}

/// How a builder value is quoted in an error.
pub(super) trait Shown {
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
pub(super) fn resolve<B: Shown, T>(
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

/// [`resolve`] for a boolean.
pub(super) fn resolve_bool(
    env: &Env<'_>,
    builder: Option<bool>,
    setting: &'static str,
    var: &'static str,
) -> Result<Option<bool>, ConfigError> {
    resolve(env, builder, setting, &[var], parse_bool, Ok)
}

/// [`resolve`] for a count with a lower bound.
pub(super) fn resolve_count(
    env: &Env<'_>,
    builder: Option<usize>,
    setting: &'static str,
    var: &'static str,
    min: usize,
) -> Result<Option<usize>, ConfigError> {
    resolve_count_within(env, builder, setting, var, min, usize::MAX)
}

/// [`resolve`] for a count from `min` to `max`.
pub(super) fn resolve_count_within(
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

pub(super) fn resolve_public_key(
    env: &Env<'_>,
    builder: Option<String>,
) -> Result<Option<String>, ConfigError> {
    let builder = builder
        .map(|key| key.trim().to_owned())
        .filter(|key| !key.is_empty());
    let Some((origin, key)) = first_of([
        from_setting("public_key", builder),
        env.string(LANGFUSE_PUBLIC_KEY),
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

pub(super) fn resolve_secret_key(
    env: &Env<'_>,
    builder: Option<Secret>,
) -> Result<Option<Secret>, ConfigError> {
    let builder = builder
        .map(|Secret(key)| key.trim().to_owned())
        .filter(|key| !key.is_empty());
    let Some((origin, key)) = first_of([
        from_setting("secret_key", builder),
        env.string(LANGFUSE_SECRET_KEY),
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
pub(super) fn resolve_otlp_endpoint(
    env: &Env<'_>,
    builder: Option<String>,
) -> Result<Option<Url>, ConfigError> {
    let full = first_of([
        from_setting("otlp_traces_endpoint", builder),
        env.string(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT),
    ]);
    if let Some((origin, raw)) = full {
        return check_http_url(&raw, true)
            .map(Some)
            .map_err(|reason| origin.invalid_url(&raw, reason));
    }
    let Some((origin, raw)) = env.string(OTEL_EXPORTER_OTLP_ENDPOINT) else {
        return Ok(None);
    };
    // A query would end up after the appended path, so the base must have none.
    check_http_url(&raw, false)
        .map(|base| Some(with_path(&base, OTLP_TRACES_SUFFIX)))
        .map_err(|reason| origin.invalid_url(&raw, reason))
}
