//! Property tests: every variable, any text, never a panic; every valid value read back as
//! given; no error ever shows the secret key.

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
