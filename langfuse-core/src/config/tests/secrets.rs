//! Keys, URL credentials and header values never shown; clear text to a remote server flagged.

use super::*;

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
