//! The OpenTelemetry endpoint and headers.

use super::*;

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
