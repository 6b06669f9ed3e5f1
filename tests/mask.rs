//! The `mask` hook end to end: what the user's function hides never reaches the wire, and a
//! mask that panics costs the field, never the observation.

mod support;

use std::process::Command;

use langfuse::{ExporterKind, Langfuse, ObservationType};
use serde_json::{Value, json};
use support::Receiver;
use support::setup::{self, Tree, WAIT};

const SECRET: &str = "sk-live-7f3a9c";

/// Replaces the secret inside every string, at any depth.
fn redact(value: Value) -> Value {
    match value {
        Value::String(s) => Value::String(s.replace(SECRET, "[redacted]")),
        Value::Array(items) => Value::Array(items.into_iter().map(redact).collect()),
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, redact(v))).collect()),
        other => other,
    }
}

/// A root with trace-level input, output and metadata, and a generation child, every field
/// holding the secret.
fn record_a_trace_full_of_secrets() {
    let mut root = langfuse::start_observation("handle").start();
    {
        let _current = root.enter();
        langfuse::update_current_trace(|trace| {
            trace
                .user_id("user-1")
                .metadata(&json!({ "api_key": SECRET, "tenant": "acme" }))
                .input(&json!({ "question": format!("is {SECRET} valid?") }))
                .output(&format!("yes, {SECRET} is valid"));
        });
        let mut llm = langfuse::start_observation("llm")
            .as_type(ObservationType::Generation)
            .start();
        llm.update(|g| {
            g.input(&json!([{ "role": "user", "content": format!("key={SECRET}") }]))
                .output(&format!("echo {SECRET}"))
                .metadata(&json!({ "headers": { "authorization": format!("Bearer {SECRET}") } }))
                .model("gpt-4o-mini");
        });
        llm.end();
    }
    root.update(|span| {
        span.input(SECRET)
            .output(&json!({ "token": SECRET, "ok": true }))
            .metadata(&json!({ "nested": [SECRET] }));
    });
    root.end();
}

#[test]
fn a_masked_secret_never_reaches_the_wire() {
    own_process!();
    let receiver = Receiver::start();
    let langfuse = setup::config_for(&receiver).mask(redact).init().unwrap();

    record_a_trace_full_of_secrets();
    assert!(langfuse.flush(WAIT).is_complete());
    let tree = Tree::new(receiver.wait_for_spans(2, WAIT));

    // Not anywhere in any request body, whatever attribute it might have hidden in.
    let requests = receiver.trace_requests();
    assert!(!requests.is_empty());
    for request in &requests {
        let body = request.decoded_body().unwrap();
        assert!(
            !body.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
            "the secret was sent"
        );
    }

    let root = tree.one("handle");
    assert_eq!(
        root.str_attr("langfuse.observation.input"),
        Some("[redacted]")
    );
    assert_eq!(
        root.json_attr("langfuse.observation.output"),
        serde_json::json!({ "ok": true, "token": "[redacted]" })
    );
    assert_eq!(
        root.str_attr("langfuse.observation.metadata"),
        Some(r#"{"nested":["[redacted]"]}"#)
    );
    let llm = tree.one("llm");
    assert_eq!(
        llm.json_attr("langfuse.observation.input"),
        serde_json::json!([{ "content": "key=[redacted]", "role": "user" }])
    );
    assert_eq!(
        llm.str_attr("langfuse.observation.output"),
        Some("echo [redacted]")
    );
    assert_eq!(
        llm.str_attr("langfuse.observation.metadata"),
        Some(r#"{"headers":{"authorization":"Bearer [redacted]"}}"#)
    );
    // Fields the mask does not cover are untouched.
    assert_eq!(
        llm.str_attr("langfuse.observation.model.name"),
        Some("gpt-4o-mini")
    );

    // Trace-level fields, on every observation of the trace.
    for span in [root, llm] {
        assert_eq!(span.str_attr("user.id"), Some("user-1"), "{}", span.name());
        assert_eq!(
            span.str_attr("langfuse.trace.metadata"),
            Some(r#"{"api_key":"[redacted]","tenant":"acme"}"#),
            "{}",
            span.name()
        );
        assert_eq!(
            span.str_attr("langfuse.trace.input"),
            Some(r#"{"question":"is [redacted] valid?"}"#)
        );
        assert_eq!(
            span.str_attr("langfuse.trace.output"),
            Some("yes, [redacted] is valid")
        );
    }
}

#[test]
fn a_panicking_mask_replaces_the_field_and_keeps_the_observation() {
    own_process!();
    let receiver = Receiver::start();
    let langfuse = setup::config_for(&receiver)
        .mask(|value| {
            let text = value.to_string();
            assert!(!text.contains(SECRET), "this mask cannot cope with secrets");
            value
        })
        .init()
        .unwrap();

    let mut span = langfuse::start_observation("lookup").start();
    span.update(|s| {
        s.input(&json!({ "key": SECRET }))
            .output("nothing secret here")
            .metadata(&json!({ "attempt": 1 }));
    });
    span.end();
    assert!(langfuse.flush(WAIT).is_complete());

    let spans = receiver.wait_for_spans(1, WAIT);
    let span = &spans[0];
    assert_eq!(span.name(), "lookup");
    assert_eq!(
        span.str_attr("langfuse.observation.input"),
        Some("<fully masked due to failed mask function>")
    );
    assert_eq!(
        span.str_attr("langfuse.observation.output"),
        Some("nothing secret here")
    );
    assert_eq!(
        span.str_attr("langfuse.observation.metadata"),
        Some(r#"{"attempt":1}"#)
    );

    let stats = langfuse.stats();
    assert_eq!(stats.exported, 1);
    assert_eq!(stats.queue_depth, 0);
}

/// Set in the child process of the console test.
const CONSOLE_CHILD: &str = "LANGFUSE_TEST_MASK_CONSOLE_CHILD";

#[test]
fn the_console_exporter_prints_masked_values() {
    if std::env::var_os(CONSOLE_CHILD).is_some() {
        // The child: print a trace to stderr, which the parent reads.
        let langfuse = Langfuse::builder()
            .ignore_environment()
            .exporter(ExporterKind::Console)
            .mask(redact)
            .init()
            .unwrap();
        record_a_trace_full_of_secrets();
        assert!(langfuse.shutdown(WAIT).is_complete());
        return;
    }
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "the_console_exporter_prints_masked_values",
            "--nocapture",
        ])
        .env(CONSOLE_CHILD, "1")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "child failed: {stderr}");
    assert!(
        stderr.contains("handle") && stderr.contains("llm"),
        "{stderr}"
    );
    assert!(stderr.contains("[redacted]"), "{stderr}");
    assert!(!stderr.contains(SECRET), "the secret was printed: {stderr}");
}
