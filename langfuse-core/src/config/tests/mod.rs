//! The configuration's unit tests. Every environment is injected (`build_in`): no test reads or
//! changes the process environment.

use std::collections::HashMap;

use super::env::*;
use super::*;

mod disabled;
mod otlp;
mod precedence;
mod properties;
mod secrets;
mod values;

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
    LANGFUSE_PROMPT_CACHE_DEFAULT_TTL_SECONDS,
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

/// The module documentation of `config/mod.rs`: the settings table.
fn module_docs() -> String {
    include_str!("../mod.rs")
        .lines()
        .take_while(|line| line.starts_with("//!"))
        .collect::<Vec<_>>()
        .join("\n")
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
    assert_eq!(config.prompt_cache_ttl(), Duration::from_secs(60));
    assert!(config.prefetch_prompts().is_empty());
    assert_eq!(config.otlp_traces_endpoint(), None);
    assert!(config.otlp_headers().is_empty());
    assert!(config.additional_headers().is_empty());
    assert_eq!(config.service_name(), defaults::service_name());
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
    let docs = module_docs();
    for var in ALL_VARS.iter().chain(RELEASE_FALLBACKS.iter()) {
        assert!(
            docs.contains(&format!("`{var}`")),
            "{var} is missing from the module docs"
        );
    }
}

#[test]
fn all_vars_lists_every_name_in_env() {
    let names: Vec<&str> = include_str!("../env.rs")
        .lines()
        .filter_map(|line| line.strip_prefix("pub const "))
        .filter_map(|rest| rest.split_once(": &str"))
        .map(|(name, _)| name)
        .collect();
    for name in &names {
        assert!(ALL_VARS.contains(name), "{name} is missing from ALL_VARS");
    }
    assert_eq!(names.len(), ALL_VARS.len());
}

#[test]
fn the_settings_table_shows_the_defaults_and_bounds() {
    let docs = module_docs();
    let row = |var: &str| {
        let start = format!("//! | `{var}` | ");
        docs.lines()
            .find(|line| line.starts_with(&start))
            .unwrap_or_else(|| panic!("no row for {var}"))
            .to_owned()
    };
    let seconds = |duration: Duration| duration.as_secs_f64().to_string();
    let defaults: &[(&str, String)] = &[
        (LANGFUSE_BASE_URL, defaults::BASE_URL.to_owned()),
        (
            LANGFUSE_TRACING_ENABLED,
            defaults::TRACING_ENABLED.to_string(),
        ),
        (LANGFUSE_SAMPLE_RATE, format!("{:?}", defaults::SAMPLE_RATE)),
        (LANGFUSE_FLUSH_AT, defaults::FLUSH_AT.to_string()),
        (LANGFUSE_FLUSH_INTERVAL, seconds(defaults::FLUSH_INTERVAL)),
        (LANGFUSE_TIMEOUT, seconds(defaults::TIMEOUT)),
        (LANGFUSE_DEBUG, defaults::DEBUG.to_string()),
        (
            LANGFUSE_OBSERVE_DECORATOR_IO_CAPTURE_ENABLED,
            defaults::IO_CAPTURE_ENABLED.to_string(),
        ),
        (
            LANGFUSE_OTEL_TRACES_EXPORT_PATH,
            defaults::TRACES_EXPORT_PATH.to_owned(),
        ),
        (
            LANGFUSE_OTEL_COMPRESSION,
            defaults::COMPRESSION.as_str().to_owned(),
        ),
        (
            LANGFUSE_MAX_QUEUE_SIZE,
            defaults::MAX_QUEUE_SIZE.to_string(),
        ),
        (
            LANGFUSE_MAX_QUEUE_BYTES,
            defaults::MAX_QUEUE_BYTES.to_string(),
        ),
        (
            LANGFUSE_CAPTURE_MAX_BYTES,
            defaults::CAPTURE_MAX_BYTES.to_string(),
        ),
        (LANGFUSE_EXPORTER, defaults::EXPORTER.as_str().to_owned()),
        (
            LANGFUSE_OTEL_MAX_BATCH_SIZE_BYTES,
            defaults::MAX_BATCH_BYTES.to_string(),
        ),
        (LANGFUSE_MAX_RETRIES, defaults::MAX_RETRIES.to_string()),
        (
            LANGFUSE_THREAD_BUFFER_SIZE,
            defaults::THREAD_BUFFER_SIZE.to_string(),
        ),
        (
            LANGFUSE_EXPORTER_NICENESS,
            defaults::EXPORTER_NICENESS.to_string(),
        ),
        (
            LANGFUSE_PROMPT_CACHE_DEFAULT_TTL_SECONDS,
            seconds(defaults::PROMPT_CACHE_TTL),
        ),
        (OTEL_SDK_DISABLED, defaults::OTEL_SDK_DISABLED.to_string()),
    ];
    for (var, default) in defaults {
        let row = row(var);
        assert!(
            row.starts_with(&format!("//! | `{var}` | `{default}`")),
            "{row}"
        );
    }
    let bounds: &[(&str, String)] = &[
        (
            LANGFUSE_MAX_QUEUE_BYTES,
            format!("at least {}", validate::MIN_QUEUE_BYTES),
        ),
        (
            LANGFUSE_CAPTURE_MAX_BYTES,
            format!("At least {}", validate::MIN_CAPTURE_BYTES),
        ),
        (
            LANGFUSE_OTEL_MAX_BATCH_SIZE_BYTES,
            format!("at least {}", validate::MIN_BATCH_BYTES),
        ),
        (
            LANGFUSE_THREAD_BUFFER_SIZE,
            format!(
                "From {} to {}",
                validate::MIN_THREAD_BUFFER_SIZE,
                validate::MAX_THREAD_BUFFER_SIZE
            ),
        ),
        (
            LANGFUSE_EXPORTER_NICENESS,
            format!("0 to {}", validate::MAX_EXPORTER_NICENESS),
        ),
        (
            LANGFUSE_PROMPT_CACHE_DEFAULT_TTL_SECONDS,
            format!("0 to {}", validate::MAX_PROMPT_CACHE_TTL_SECONDS),
        ),
    ];
    for (var, bound) in bounds {
        let row = row(var);
        assert!(row.contains(bound.as_str()), "{bound:?} not in {row}");
    }
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
