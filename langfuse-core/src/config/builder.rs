//! [`ConfigBuilder`]: the settings given in code, and [`build`](ConfigBuilder::build), which
//! resolves every setting in precedence order: builder, then environment, then default.

use std::time::Duration;

use reqwest::header::HeaderMap;

use super::env::{
    self, Env, Lookup, Origin, first_of, from_setting, resolve, resolve_bool, resolve_count,
    resolve_count_within, resolve_otlp_endpoint, resolve_public_key, resolve_secret_key,
};
use super::validate::{
    MAX_EXPORTER_NICENESS, MAX_THREAD_BUFFER_SIZE, MIN_BATCH_BYTES, MIN_CAPTURE_BYTES,
    MIN_QUEUE_BYTES, MIN_THREAD_BUFFER_SIZE, builder_headers, check_duration, check_environment,
    check_export_path, check_http_url, check_not_empty, check_prompt_cache_ttl, check_sample_rate,
    is_loopback, parse_f64, parse_otlp_headers, parse_seconds, parse_u32, parse_whole_seconds,
    with_path,
};
use super::{Compression, Config, ConfigError, ExporterKind, Mask, Secret, defaults};

/// Where scores are POSTed, under the base URL. Not a setting.
const SCORES_PATH: &str = "/api/public/scores";

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
    prompt_cache_ttl: Option<Duration>,
    prefetch_prompts: Vec<(String, String)>,
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

    /// Byte budget of one captured field (`LANGFUSE_CAPTURE_MAX_BYTES`), at least 64;
    /// default 32 KiB.
    ///
    /// A function's input (the object of its arguments), its output, metadata, and a value
    /// captured through its `Debug` text each get this budget. Serialization stops where the
    /// budget runs out, so a 100 MB argument costs what one at the budget costs, and what was
    /// written is closed into valid JSON, with the cut marked where it happened by the text
    /// `… [truncated by langfuse]`:
    ///
    /// - a string cut in the middle keeps its first bytes (whole characters and escapes) and
    ///   ends with the marker: `"the first wor… [truncated by langfuse]"`;
    /// - any other element that does not fit (a number, `true`, `null`, an object's key, a
    ///   nested array or object) is left out whole, and the array or object it was in gets a
    ///   final marker entry instead: `[1,2,"… [truncated by langfuse]"]` for an array,
    ///   `{"a":1,"… [truncated by langfuse]":null}` for an object;
    /// - a value that does not fit at all is the marker string itself,
    ///   `"… [truncated by langfuse]"`;
    /// - every array and object open at the cut is closed.
    ///
    /// So `{"question":"What does … [truncated by langfuse]"}` or
    /// `{"items":[{"id":1},{"id":2},"… [truncated by langfuse]"]}` is what a cut input looks
    /// like, and it parses as JSON (in the Langfuse UI and in a `mask` hook). The result is at
    /// most the budget plus 35 bytes (the final marker entry of an object). An error's status
    /// message is plain text with its own budget of 4 KiB, cut the same way as a string.
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

    /// How long a fetched prompt is served from the cache before it is refreshed in the
    /// background (`LANGFUSE_PROMPT_CACHE_DEFAULT_TTL_SECONDS`), from zero (no cache) to a
    /// year. A `get_prompt` call can give its own with `cache_ttl`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use langfuse_core::Config;
    ///
    /// let config = Config::builder()
    ///     .ignore_environment()
    ///     .prompt_cache_ttl(Duration::from_secs(300))
    ///     .build()?;
    /// assert_eq!(config.prompt_cache_ttl(), Duration::from_secs(300));
    /// # Ok::<(), langfuse_core::ConfigError>(())
    /// ```
    pub fn prompt_cache_ttl(mut self, ttl: Duration) -> Self {
        self.prompt_cache_ttl = Some(ttl);
        self
    }

    /// Prompts to load, by their `production` label, while the client starts: `init()` asks
    /// for all of them at once and waits for them at most `LANGFUSE_TIMEOUT`, so the first
    /// request that needs one finds it cached. A prompt that cannot be loaded then is not an
    /// error: it is logged, and fetched again when first asked for. Needs the keys (without
    /// them there are no prompts); no environment variable sets it. Names may name folders
    /// (`support/triage`); none may be blank.
    ///
    /// ```
    /// use langfuse_core::Config;
    ///
    /// let config = Config::builder()
    ///     .ignore_environment()
    ///     .prefetch_prompts(["support/triage", "greeting"])
    ///     .build()?;
    /// assert_eq!(config.prefetch_prompts().len(), 2);
    /// assert!(Config::builder().ignore_environment().prefetch_prompts([" "]).build().is_err());
    /// # Ok::<(), langfuse_core::ConfigError>(())
    /// ```
    pub fn prefetch_prompts<I>(mut self, names: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        let label = super::defaults::PROMPT_LABEL;
        self.prefetch_prompts.extend(
            names
                .into_iter()
                .map(|name| (name.into(), label.to_owned())),
        );
        self
    }

    /// Like [`prefetch_prompts`](Self::prefetch_prompts), for one prompt by another label
    /// than `production`.
    ///
    /// ```
    /// use langfuse_core::Config;
    ///
    /// let config = Config::builder()
    ///     .ignore_environment()
    ///     .prefetch_prompt_label("greeting", "staging")
    ///     .build()?;
    /// assert_eq!(config.prefetch_prompts(), [("greeting".to_owned(), "staging".to_owned())]);
    /// # Ok::<(), langfuse_core::ConfigError>(())
    /// ```
    pub fn prefetch_prompt_label(
        mut self,
        name: impl Into<String>,
        label: impl Into<String>,
    ) -> Self {
        self.prefetch_prompts.push((name.into(), label.into()));
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
        self.build_with(&env::process_var)
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
        .unwrap_or((Origin::Setting("base_url"), defaults::BASE_URL.to_owned()));
        let base =
            check_http_url(&raw, false).map_err(|reason| origin.invalid_url(&raw, reason))?;
        let base_url = base.as_str().trim_end_matches('/').to_owned();

        let tracing_enabled = resolve_bool(
            &env,
            self.tracing_enabled,
            "tracing_enabled",
            env::LANGFUSE_TRACING_ENABLED,
        )?
        .unwrap_or(defaults::TRACING_ENABLED);
        // Read even when the builder enables tracing: it is the process-wide OpenTelemetry
        // kill switch, and the Python SDK honours it the same way.
        let otel_sdk_disabled = resolve_bool(&env, None, "", env::OTEL_SDK_DISABLED)?
            .unwrap_or(defaults::OTEL_SDK_DISABLED);
        let sample_rate = resolve(
            &env,
            self.sample_rate,
            "sample_rate",
            &[env::LANGFUSE_SAMPLE_RATE],
            parse_f64,
            check_sample_rate,
        )?
        .unwrap_or(defaults::SAMPLE_RATE);
        let flush_at = resolve_count(&env, self.flush_at, "flush_at", env::LANGFUSE_FLUSH_AT, 1)?
            .unwrap_or(defaults::FLUSH_AT);
        let flush_interval = resolve(
            &env,
            self.flush_interval,
            "flush_interval",
            &[env::LANGFUSE_FLUSH_INTERVAL],
            parse_seconds,
            check_duration,
        )?
        .unwrap_or(defaults::FLUSH_INTERVAL);
        let timeout = resolve(
            &env,
            self.timeout,
            "timeout",
            &[env::LANGFUSE_TIMEOUT],
            parse_seconds,
            check_duration,
        )?
        .unwrap_or(defaults::TIMEOUT);
        let debug = resolve_bool(&env, self.debug, "debug", env::LANGFUSE_DEBUG)?
            .unwrap_or(defaults::DEBUG);
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
        let io_capture_enabled = resolve_bool(
            &env,
            self.io_capture_enabled,
            "io_capture_enabled",
            env::LANGFUSE_OBSERVE_DECORATOR_IO_CAPTURE_ENABLED,
        )?
        .unwrap_or(defaults::IO_CAPTURE_ENABLED);
        let traces_export_path = first_of([
            from_setting("traces_export_path", self.traces_export_path),
            env.string(env::LANGFUSE_OTEL_TRACES_EXPORT_PATH),
        ])
        .map(|(origin, raw)| check_export_path(&raw).map_err(|reason| origin.invalid(raw, reason)))
        .transpose()?
        .unwrap_or_else(|| defaults::TRACES_EXPORT_PATH.to_owned());
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
        .unwrap_or(defaults::COMPRESSION);
        let max_queue_size = resolve_count(
            &env,
            self.max_queue_size,
            "max_queue_size",
            env::LANGFUSE_MAX_QUEUE_SIZE,
            1,
        )?
        .unwrap_or(defaults::MAX_QUEUE_SIZE);
        let max_queue_bytes = resolve_count(
            &env,
            self.max_queue_bytes,
            "max_queue_bytes",
            env::LANGFUSE_MAX_QUEUE_BYTES,
            MIN_QUEUE_BYTES,
        )?
        .unwrap_or(defaults::MAX_QUEUE_BYTES);
        let capture_max_bytes = resolve_count(
            &env,
            self.capture_max_bytes,
            "capture_max_bytes",
            env::LANGFUSE_CAPTURE_MAX_BYTES,
            MIN_CAPTURE_BYTES,
        )?
        .unwrap_or(defaults::CAPTURE_MAX_BYTES);
        let exporter = resolve(
            &env,
            self.exporter,
            "exporter",
            &[env::LANGFUSE_EXPORTER],
            ExporterKind::parse,
            Ok,
        )?
        .unwrap_or(defaults::EXPORTER);
        let max_batch_bytes = resolve_count(
            &env,
            self.max_batch_bytes,
            "max_batch_bytes",
            env::LANGFUSE_OTEL_MAX_BATCH_SIZE_BYTES,
            MIN_BATCH_BYTES,
        )?
        .unwrap_or(defaults::MAX_BATCH_BYTES);
        let max_retries = resolve(
            &env,
            self.max_retries,
            "max_retries",
            &[env::LANGFUSE_MAX_RETRIES],
            parse_u32,
            Ok,
        )?
        .unwrap_or(defaults::MAX_RETRIES);
        let thread_buffer_size = resolve_count_within(
            &env,
            self.thread_buffer_size,
            "thread_buffer_size",
            env::LANGFUSE_THREAD_BUFFER_SIZE,
            MIN_THREAD_BUFFER_SIZE,
            MAX_THREAD_BUFFER_SIZE,
        )?
        .unwrap_or(defaults::THREAD_BUFFER_SIZE);
        let exporter_niceness = resolve_count_within(
            &env,
            self.exporter_niceness,
            "exporter_niceness",
            env::LANGFUSE_EXPORTER_NICENESS,
            0,
            MAX_EXPORTER_NICENESS,
        )?
        // At most MAX_EXPORTER_NICENESS, so the cast is exact.
        .map_or(defaults::EXPORTER_NICENESS, |niceness| niceness as u8);
        let prompt_cache_ttl = resolve(
            &env,
            self.prompt_cache_ttl,
            "prompt_cache_ttl",
            &[env::LANGFUSE_PROMPT_CACHE_DEFAULT_TTL_SECONDS],
            parse_whole_seconds,
            check_prompt_cache_ttl,
        )?
        .unwrap_or(defaults::PROMPT_CACHE_TTL);
        for (name, label) in &self.prefetch_prompts {
            for value in [name, label] {
                check_not_empty(value).map_err(|reason| {
                    Origin::Setting("prefetch_prompts").invalid(value.clone(), reason)
                })?;
            }
        }
        let prefetch_prompts = self.prefetch_prompts;
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
        .unwrap_or_else(defaults::service_name);

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
            prompt_cache_ttl,
            prefetch_prompts,
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
