//! Builder over environment over default, and the fallbacks between variables.

use super::*;

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
    assert_eq!(config.flush_interval(), defaults::FLUSH_INTERVAL);
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
        (None, None, None, None, defaults::BASE_URL),
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
fn service_name_sources() {
    assert_eq!(ok(&[(OTEL_SERVICE_NAME, "api")]).service_name(), "api");
    let builder = Config::builder().service_name("code");
    let config = build_in(builder, &[(OTEL_SERVICE_NAME, "env")]).unwrap();
    assert_eq!(config.service_name(), "code");
}
