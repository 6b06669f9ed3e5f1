//! Why a valid configuration records nothing.

use super::*;

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
