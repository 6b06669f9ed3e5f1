//! Trace-level attributes end to end. Langfuse v4 is observations-first: user, session, trace
//! name, tags and the rest must be on every observation of the trace, so these tests check
//! exactly which observations carry them, for `update_current_trace`, `propagate_attributes`
//! (sync scopes), `with_trace_attributes` (futures), nested scopes, and the 200-character
//! limit on propagated values.
//!
//! Read from the in-memory recorder (`langfuse::testing`), whose spans come from the exporter's
//! own attribute mapping; except the test of a trace's release over the configured one: the
//! release is process-wide configuration, so that test runs in a process of its own
//! (`own_process!`) with a client configured for it, and reads what its receiver got.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use langfuse::testing::{self, RecordedObservation, Recorder};
use langfuse::{ObservationExt as _, observe, propagate_attributes, update_current_trace};
use serde_json::json;
use support::recorded::{self, Attributes as _};
use support::setup::{self, Tree, WAIT};
use support::{ReceivedSpan, Receiver};

/// Every key `update_current_trace` and scopes can set.
const TRACE_KEYS: [&str; 10] = [
    "user.id",
    "session.id",
    "langfuse.trace.name",
    "langfuse.trace.tags",
    "langfuse.trace.metadata",
    "langfuse.trace.public",
    "langfuse.trace.input",
    "langfuse.trace.output",
    "langfuse.version",
    "langfuse.release",
];

/// Asserts that `keys`, the attribute keys of the span `name` (received or recorded), hold
/// none of the trace's.
fn assert_no_trace_attributes(name: &str, keys: &[&str]) {
    for key in TRACE_KEYS {
        if key == "langfuse.release" {
            continue; // the process-wide release is on every span
        }
        assert!(!keys.contains(&key), "{name} carries {key}: {keys:?}");
    }
}

// --- update_current_trace ------------------------------------------------------------------

#[observe(capture_input = false, capture_output = false)]
fn ended_before_the_update() {}

#[observe(capture_input = false, capture_output = false)]
fn started_after_the_update() {}

#[observe(capture_input = false, capture_output = false)]
fn updater() {
    ended_before_the_update();
    update_current_trace(|trace| {
        trace
            .name("checkout")
            .user_id("user-42")
            .session_id("chat-7")
            .version("2.3.0")
            .release("2026-11-25.1")
            .tags(["beta", "eu"])
            .metadata(&json!({ "tenant": "acme", "plan": "pro" }))
            .public(true)
            .input(&json!({ "question": "What is Langfuse?" }))
            .output("An open-source LLM engineering platform.");
    });
    started_after_the_update();
}

#[observe(capture_input = false, capture_output = false)]
fn sibling_after_the_update() {}

#[observe(capture_input = false, capture_output = false)]
fn request_root() {
    updater();
    sibling_after_the_update();
}

fn assert_full_trace_attributes(span: &ReceivedSpan) {
    let name = span.name();
    assert_eq!(span.str_attr("user.id"), Some("user-42"), "{name}");
    assert_eq!(span.str_attr("session.id"), Some("chat-7"), "{name}");
    assert_eq!(
        span.str_attr("langfuse.trace.name"),
        Some("checkout"),
        "{name}"
    );
    assert_eq!(
        span.str_array_attr("langfuse.trace.tags"),
        Some(vec!["beta".to_owned(), "eu".to_owned()]),
        "{name}: tags are a string array"
    );
    assert_eq!(
        span.json_attr("langfuse.trace.metadata"),
        json!({ "tenant": "acme", "plan": "pro" }),
        "{name}"
    );
    assert_eq!(
        span.bool_attr("langfuse.trace.public"),
        Some(true),
        "{name}"
    );
    assert_eq!(
        span.json_attr("langfuse.trace.input"),
        json!({ "question": "What is Langfuse?" }),
        "{name}"
    );
    assert_eq!(
        span.str_attr("langfuse.trace.output"),
        Some("An open-source LLM engineering platform."),
        "{name}"
    );
    assert_eq!(span.str_attr("langfuse.version"), Some("2.3.0"), "{name}");
    assert_eq!(
        span.str_attr("langfuse.release"),
        Some("2026-11-25.1"),
        "{name}: the trace's release overrides the configured one"
    );
}

#[test]
fn update_current_trace_reaches_the_observation_its_ancestors_and_later_children() {
    own_process!();
    let receiver = Receiver::start();
    let langfuse = setup::config_for(&receiver)
        .release("configured-release")
        .init()
        .unwrap();

    request_root();
    assert!(langfuse.flush(WAIT).is_complete());

    let tree = Tree::new(receiver.wait_for_spans(5, WAIT));
    assert_eq!(tree.traces().len(), 1);
    for name in [
        "updater",
        "request_root",
        "started_after_the_update",
        "sibling_after_the_update",
    ] {
        assert_full_trace_attributes(tree.one(name));
    }
    let early = tree.one("ended_before_the_update");
    assert_no_trace_attributes(early.name(), &early.attr_keys());
    assert_eq!(
        early.str_attr("langfuse.release"),
        Some("configured-release")
    );
}

#[observe(capture_input = false, capture_output = false)]
async fn async_grandchild() {
    tokio::task::yield_now().await;
}

#[observe(capture_input = false, capture_output = false)]
async fn async_updater() {
    tokio::time::sleep(Duration::from_millis(1)).await;
    update_current_trace(|trace| {
        trace.user_id("user-7").tags(["async"]);
    });
    tokio::task::yield_now().await;
    async_grandchild().await;
}

#[observe(capture_input = false, capture_output = false)]
async fn async_request_root() {
    tokio::task::yield_now().await;
    async_updater().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_current_trace_in_async_code_reaches_the_awaiting_ancestors() {
    let recorder = Recorder::new();
    tokio::spawn(recorder.instrument(async_request_root()))
        .await
        .unwrap();

    let recording = recorder.recording();
    assert_eq!(recording.len(), 3);
    for name in ["async_request_root", "async_updater", "async_grandchild"] {
        let span = recording.one(name);
        assert_eq!(span.str_attr("user.id"), Some("user-7"), "{name}");
        assert_eq!(
            span.str_array_attr("langfuse.trace.tags"),
            Some(vec!["async".to_owned()]),
            "{name}"
        );
    }
}

// --- propagate_attributes ------------------------------------------------------------------

#[observe(capture_input = false, capture_output = false)]
fn nested_inside_the_scope() {}

#[observe(capture_input = false, capture_output = false)]
fn inside_the_scope() {
    nested_inside_the_scope();
}

#[observe(capture_input = false, capture_output = false)]
fn sibling_before_the_scope() {}

#[observe(capture_input = false, capture_output = false)]
fn sibling_after_the_scope() {}

#[observe(capture_input = false, capture_output = false)]
fn scoped_parent() {
    sibling_before_the_scope();
    {
        let _scope = propagate_attributes(|attributes| {
            attributes
                .user_id("user-42")
                .session_id("chat-7")
                .name("scoped-request")
                .version("v9")
                .tags(["beta"])
                .metadata(&json!({ "tenant": "acme" }));
        });
        inside_the_scope();
    }
    sibling_after_the_scope();
}

#[test]
fn propagate_attributes_applies_to_the_current_observation_and_those_started_in_scope() {
    let recording = testing::record(scoped_parent);

    assert_eq!(recording.len(), 5);
    for name in [
        "scoped_parent",
        "inside_the_scope",
        "nested_inside_the_scope",
    ] {
        let span = recording.one(name);
        assert_eq!(span.str_attr("user.id"), Some("user-42"), "{name}");
        assert_eq!(span.str_attr("session.id"), Some("chat-7"), "{name}");
        assert_eq!(
            span.str_attr("langfuse.trace.name"),
            Some("scoped-request"),
            "{name}"
        );
        assert_eq!(span.str_attr("langfuse.version"), Some("v9"), "{name}");
        assert_eq!(
            span.str_array_attr("langfuse.trace.tags"),
            Some(vec!["beta".to_owned()]),
            "{name}"
        );
        assert_eq!(
            span.json_attr("langfuse.trace.metadata"),
            json!({ "tenant": "acme" }),
            "{name}"
        );
    }
    recorded::assert_child(&recording, "nested_inside_the_scope", "inside_the_scope");
    for name in ["sibling_before_the_scope", "sibling_after_the_scope"] {
        assert_no_trace_attributes(name, &recording.one(name).attr_keys());
    }
}

#[observe(capture_input = false, capture_output = false)]
fn in_the_inner_scope() {}

#[observe(capture_input = false, capture_output = false)]
fn in_the_outer_scope_only() {}

#[observe(capture_input = false, capture_output = false)]
fn nested_scopes() {
    let _outer = propagate_attributes(|attributes| {
        attributes
            .user_id("outer-user")
            .session_id("outer-session")
            .tags(["a", "b"])
            .metadata(&json!({ "tenant": "acme", "plan": "free" }));
    });
    {
        let _inner = propagate_attributes(|attributes| {
            attributes
                .user_id("inner-user")
                .tags(["b", "c"])
                .metadata(&json!({ "plan": "pro" }));
        });
        in_the_inner_scope();
    }
    in_the_outer_scope_only();
}

#[test]
fn nested_scopes_merge_tags_and_metadata_and_the_inner_value_wins() {
    let recording = testing::record(nested_scopes);

    assert_eq!(recording.len(), 3);
    let tags = |span: &RecordedObservation| span.str_array_attr("langfuse.trace.tags").unwrap();

    let inner = recording.one("in_the_inner_scope");
    assert_eq!(inner.str_attr("user.id"), Some("inner-user"));
    assert_eq!(
        inner.str_attr("session.id"),
        Some("outer-session"),
        "what the inner scope does not set comes from the outer one"
    );
    assert_eq!(tags(inner), ["a", "b", "c"]);
    assert_eq!(
        inner.json_attr("langfuse.trace.metadata"),
        json!({ "tenant": "acme", "plan": "pro" })
    );

    let outer = recording.one("in_the_outer_scope_only");
    assert_eq!(outer.str_attr("user.id"), Some("outer-user"));
    assert_eq!(outer.str_attr("session.id"), Some("outer-session"));
    assert_eq!(tags(outer), ["a", "b"]);
    assert_eq!(
        outer.json_attr("langfuse.trace.metadata"),
        json!({ "tenant": "acme", "plan": "free" })
    );

    // Both scopes were opened inside this observation: it carries both, the later one winning.
    let current = recording.one("nested_scopes");
    assert_eq!(current.str_attr("user.id"), Some("inner-user"));
    assert_eq!(tags(current), ["a", "b", "c"]);
    assert_eq!(
        current.json_attr("langfuse.trace.metadata"),
        json!({ "tenant": "acme", "plan": "pro" })
    );
}

// --- with_trace_attributes ------------------------------------------------------------------

#[observe(capture_output = false)]
async fn step(request: usize, label: &'static str) {
    tokio::task::yield_now().await;
    tokio::time::sleep(Duration::from_millis(1)).await;
    let _ = (request, label);
}

#[observe(capture_output = false)]
async fn handle_request(request: usize) {
    step(request, "before").await;
    async {
        step(request, "inside").await;
        tokio::task::yield_now().await;
        step(request, "inside-again").await;
    }
    .with_trace_attributes(|attributes| {
        attributes
            .user_id(format!("user-{request}"))
            .tags(["scoped"]);
    })
    .await;
    step(request, "after").await;
}

#[test]
fn with_trace_attributes_follows_futures_across_worker_threads_without_crosstalk() {
    let recorder = Recorder::new();
    const REQUESTS: usize = 32;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let tasks: Vec<_> =
            (0..REQUESTS)
                .map(|request| {
                    // Outside any observation: the scope applies to the trace the handler starts.
                    tokio::spawn(recorder.instrument(
                        handle_request(request).with_trace_attributes(move |attributes| {
                            attributes.session_id(format!("session-{request}"));
                        }),
                    ))
                })
                .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
    drop(runtime);

    let recording = recorder.recording();
    assert_eq!(recording.len(), REQUESTS * 5);
    assert_eq!(recording.traces().len(), REQUESTS);
    let input = |span: &RecordedObservation| span.json_attr("langfuse.observation.input");
    for span in recording.observations() {
        let request = input(span)["request"].as_u64().unwrap();
        let session = format!("session-{request}");
        let user = format!("user-{request}");
        assert_eq!(
            span.str_attr("session.id"),
            Some(session.as_str()),
            "{}: the outer scope reaches every observation of its request",
            span.name()
        );
        let label = input(span)["label"].as_str().map(str::to_owned);
        let in_scope = match label.as_deref() {
            // The handler is current when the inner scope opens, so it carries it too.
            None => true,
            Some("inside" | "inside-again") => true,
            Some("before" | "after") => false,
            Some(other) => panic!("unexpected step {other}"),
        };
        if in_scope {
            assert_eq!(span.str_attr("user.id"), Some(user.as_str()), "{label:?}");
            assert_eq!(
                span.str_array_attr("langfuse.trace.tags"),
                Some(vec!["scoped".to_owned()])
            );
        } else {
            assert_eq!(span.str_attr("user.id"), None, "{label:?}");
            assert!(!span.has_attr("langfuse.trace.tags"));
        }
    }
}

// --- the 200-character limit ----------------------------------------------------------------

/// Collects what the SDK logs.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogBuffer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[observe(capture_input = false, capture_output = false)]
fn child_of_oversize() {}

#[observe(capture_input = false, capture_output = false)]
fn oversize_attributes() {
    let _scope = propagate_attributes(|attributes| {
        attributes
            .user_id("u".repeat(201))
            .session_id("chat-7")
            .tags(["kept", &"t".repeat(201)])
            // Exactly 200 characters: kept, also when they take more than 200 bytes.
            .name("n".repeat(200))
            .version("é".repeat(200));
    });
    child_of_oversize();
}

#[test]
fn a_value_over_200_characters_is_dropped_with_a_warning_and_the_others_apply() {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    // The warning is logged on the thread that opens the scope: a subscriber for this thread
    // sees it, whatever the tests running alongside log.
    let recording =
        tracing::subscriber::with_default(subscriber, || testing::record(oversize_attributes));

    assert_eq!(recording.len(), 2);
    for span in recording.observations() {
        let name = span.name();
        assert_eq!(span.str_attr("user.id"), None, "{name}");
        assert_eq!(span.str_attr("session.id"), Some("chat-7"), "{name}");
        assert_eq!(
            span.str_array_attr("langfuse.trace.tags"),
            Some(vec!["kept".to_owned()]),
            "{name}"
        );
        assert_eq!(
            span.str_attr("langfuse.trace.name"),
            Some("n".repeat(200).as_str()),
            "{name}"
        );
        assert_eq!(
            span.str_attr("langfuse.version"),
            Some("é".repeat(200).as_str()),
            "{name}: 200 characters are allowed, whatever their byte length"
        );
    }
    let logged = logs.text();
    assert!(
        logged.contains("WARN") && logged.contains("longer than 200 characters dropped"),
        "the first drop is a warning: {logged}"
    );
}
