//! Each variable's valid and invalid values, and the errors that name them.

use super::*;

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
        (LANGFUSE_PROMPT_CACHE_DEFAULT_TTL_SECONDS, "0", |c| {
            c.prompt_cache_ttl() == Duration::ZERO
        }),
        (LANGFUSE_PROMPT_CACHE_DEFAULT_TTL_SECONDS, " 300\n", |c| {
            c.prompt_cache_ttl() == Duration::from_secs(300)
        }),
        (LANGFUSE_PROMPT_CACHE_DEFAULT_TTL_SECONDS, "31536000", |c| {
            c.prompt_cache_ttl() == Duration::from_secs(31_536_000)
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
        (
            LANGFUSE_PROMPT_CACHE_DEFAULT_TTL_SECONDS,
            "1.5",
            "whole number of seconds",
        ),
        (
            LANGFUSE_PROMPT_CACHE_DEFAULT_TTL_SECONDS,
            "-1",
            "whole number of seconds",
        ),
        (
            LANGFUSE_PROMPT_CACHE_DEFAULT_TTL_SECONDS,
            "31536001",
            "from 0 to 31536000",
        ),
        (
            LANGFUSE_PROMPT_CACHE_DEFAULT_TTL_SECONDS,
            "60s",
            "whole number",
        ),
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
        (
            |b| b.prompt_cache_ttl(Duration::from_secs(31_536_001)),
            "prompt_cache_ttl",
            "31536001s",
            "from 0 to 31536000",
        ),
        (
            |b| b.prefetch_prompts([""]),
            "prefetch_prompts",
            "",
            "must not be empty",
        ),
        (
            |b| b.prefetch_prompt_label("greeting", " "),
            "prefetch_prompts",
            " ",
            "must not be empty",
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
