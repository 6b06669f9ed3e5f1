//! `update_current_span` and `update_current_generation` end to end: every field lands on the
//! attribute the wire contract names (DESIGN section 7), metadata merges across updates and
//! travels as one JSON attribute whatever its size, generation fields stay off span-typed
//! observations, and an update that has nothing to update costs nothing: outside any
//! observation, in a sampled-out trace, with tracing disabled.
//!
//! The attributes are read from the in-memory recorder (`langfuse::testing`), whose spans come
//! from the exporter's own attribute mapping. Two kinds of test use a client instead: the OTLP
//! status of an ERROR update (its message is part of the protobuf span, which the recorder
//! shows only as `is_error()`) is read from the client this binary shares; and the sampled-out
//! and disabled cases need a client configured for them, so each runs in a process of its own
//! (`own_process!`) against its own receiver.

mod support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, UNIX_EPOCH};

use langfuse::testing::{self, Recorder};
use langfuse::{
    Level, ObservationExt as _, TraceId, create_event, observe, propagate_attributes,
    update_current_generation, update_current_span, update_current_trace,
};
use serde_json::{Value, json};
use support::Receiver;
use support::recorded::Attributes as _;
use support::setup::{self, WAIT};

#[observe(capture_input = false, capture_output = false)]
fn retrieve() {
    update_current_span(|span| {
        span.name("retrieve: docs-v2")
            .input(&json!({ "query": "rust tracing", "k": 2 }))
            .metadata(&json!({ "index": "docs-v2", "shard": 1 }))
            .level(Level::Warning)
            .status_message("served from a stale index")
            .version("retriever-3");
    });
    update_current_span(|span| {
        span.output(&json!(["doc-1", "doc-2"]))
            .metadata(&json!({ "shard": 7, "hits": 2 }));
    });
}

#[test]
fn span_updates_set_each_field_and_merge_metadata_across_updates() {
    let recording = testing::record(retrieve);

    assert_eq!(recording.len(), 1);
    let span = recording.one("retrieve: docs-v2");
    assert_eq!(span.str_attr("langfuse.observation.type"), Some("span"));
    assert_eq!(
        span.json_attr("langfuse.observation.input"),
        json!({ "query": "rust tracing", "k": 2 })
    );
    assert_eq!(
        span.json_attr("langfuse.observation.output"),
        json!(["doc-1", "doc-2"])
    );
    assert_eq!(
        span.json_attr("langfuse.observation.metadata"),
        json!({ "index": "docs-v2", "shard": 7, "hits": 2 }),
        "keys of both updates, the second update's value for the shared key"
    );
    assert_eq!(span.str_attr("langfuse.observation.level"), Some("WARNING"));
    assert_eq!(
        span.str_attr("langfuse.observation.status_message"),
        Some("served from a stale index")
    );
    assert_eq!(span.str_attr("langfuse.version"), Some("retriever-3"));
    assert!(!span.is_error(), "only ERROR sets the OTLP status");
}

/// Returns its trace's id, to find the span among those the shared client sends.
#[observe(capture_input = false, capture_output = false)]
fn fail_softly() -> Option<TraceId> {
    update_current_span(|span| {
        span.level(Level::Error)
            .status_message("upstream returned 503");
    });
    langfuse::current_trace_id()
}

#[test]
fn an_error_level_set_by_update_marks_the_otlp_status() {
    let receiver = setup::shared();

    let trace_id = fail_softly().expect("the shared client records");

    let span = &receiver.wait_for_trace(trace_id, 1, WAIT)[0];
    assert_eq!(span.str_attr("langfuse.observation.level"), Some("ERROR"));
    let status = span
        .span
        .status
        .as_ref()
        .expect("an ERROR span has a status");
    assert_eq!(status.code, 2, "STATUS_CODE_ERROR");
    assert_eq!(status.message, "upstream returned 503");
}

/// 2025-11-25T03:01:02.123456789Z (`datetime.fromtimestamp(1764039662, timezone.utc)` in
/// python3 gives the seconds).
const FIRST_TOKEN_UNIX_NANOS: u64 = 1_764_039_662_123_456_789;

#[observe(
    name = "chat",
    as_type = "generation",
    capture_input = false,
    capture_output = false
)]
fn chat_completion() {
    update_current_generation(|generation| {
        generation
            .input(&json!([{ "role": "user", "content": "What is Langfuse?" }]))
            .model("gpt-4o-mini")
            .model_parameters(&json!({ "temperature": 0.2, "max_tokens": 256 }))
            .prompt(("support-answer", 3));
    });
    update_current_generation(|generation| {
        generation
            .completion_start_time(UNIX_EPOCH + Duration::from_nanos(FIRST_TOKEN_UNIX_NANOS))
            .output("An open-source LLM engineering platform.")
            .usage_details(&json!({ "input": 52, "output": 18, "total": 70 }))
            .cost_details(&json!({ "input": 0.0001, "output": 0.0004, "total": 0.0005 }));
    });
}

#[test]
fn generation_updates_send_model_parameters_usage_cost_timing_and_prompt() {
    let recording = testing::record(chat_completion);

    assert_eq!(recording.len(), 1);
    let generation = recording.one("chat");
    assert_eq!(
        generation.str_attr("langfuse.observation.type"),
        Some("generation")
    );
    assert_eq!(
        generation.str_attr("langfuse.observation.model.name"),
        Some("gpt-4o-mini")
    );
    assert_eq!(
        generation.json_attr("langfuse.observation.model.parameters"),
        json!({ "temperature": 0.2, "max_tokens": 256 })
    );
    let usage = generation.json_attr("langfuse.observation.usage_details");
    assert_eq!(usage, json!({ "input": 52, "output": 18, "total": 70 }));
    assert!(
        usage.as_object().unwrap().values().all(Value::is_u64),
        "usage is a JSON object of integers"
    );
    let cost = generation.json_attr("langfuse.observation.cost_details");
    assert_eq!(
        cost,
        json!({ "input": 0.0001, "output": 0.0004, "total": 0.0005 })
    );
    assert!(cost.as_object().unwrap().values().all(Value::is_f64));
    assert_eq!(
        generation.str_attr("langfuse.observation.completion_start_time"),
        Some("2025-11-25T03:01:02.123456789Z")
    );
    assert_eq!(
        generation.str_attr("langfuse.observation.prompt.name"),
        Some("support-answer")
    );
    assert_eq!(
        generation.int_attr("langfuse.observation.prompt.version"),
        Some(3),
        "the prompt version is an int attribute, not a string"
    );
    assert_eq!(
        generation.json_attr("langfuse.observation.input"),
        json!([{ "role": "user", "content": "What is Langfuse?" }])
    );
    assert_eq!(
        generation.str_attr("langfuse.observation.output"),
        Some("An open-source LLM engineering platform.")
    );
}

#[observe(as_type = "embedding", capture_input = false, capture_output = false)]
fn embed() {
    update_current_generation(|embedding| {
        embedding
            .model("text-embedding-3-small")
            .usage_details(&json!({ "input": 8 }));
    });
}

#[test]
fn embeddings_are_generation_like_and_carry_model_and_usage() {
    let recording = testing::record(embed);

    assert_eq!(recording.len(), 1);
    let span = &recording.observations()[0];
    assert_eq!(
        span.str_attr("langfuse.observation.type"),
        Some("embedding")
    );
    assert_eq!(
        span.str_attr("langfuse.observation.model.name"),
        Some("text-embedding-3-small")
    );
    assert_eq!(
        span.json_attr("langfuse.observation.usage_details"),
        json!({ "input": 8 })
    );
}

#[observe(as_type = "tool", capture_input = false, capture_output = false)]
fn search_tool() {
    update_current_generation(|tool| {
        tool.model("gpt-4o-mini")
            .model_parameters(&json!({ "temperature": 0 }))
            .usage_details(&json!({ "input": 1 }))
            .cost_details(&json!({ "total": 0.1 }))
            .completion_start_time(UNIX_EPOCH + Duration::from_secs(1_764_039_662))
            .prompt(("unused", 1))
            .metadata(&json!({ "engine": "bm25" }));
    });
}

#[test]
fn generation_fields_on_a_span_typed_observation_are_not_sent() {
    let recording = testing::record(search_tool);

    assert_eq!(recording.len(), 1);
    let span = &recording.observations()[0];
    assert_eq!(span.str_attr("langfuse.observation.type"), Some("tool"));
    for key in [
        "langfuse.observation.model.name",
        "langfuse.observation.model.parameters",
        "langfuse.observation.usage_details",
        "langfuse.observation.cost_details",
        "langfuse.observation.completion_start_time",
        "langfuse.observation.prompt.name",
        "langfuse.observation.prompt.version",
    ] {
        assert!(
            !span.has_attr(key),
            "{key} sent on a tool: {:?}",
            span.attr_keys()
        );
    }
    assert_eq!(
        span.json_attr("langfuse.observation.metadata"),
        json!({ "engine": "bm25" }),
        "the span fields of the same update still apply"
    );
}

#[observe(capture_input = false, capture_output = false)]
fn annotate_widely(metadata: &BTreeMap<String, String>) {
    update_current_span(|span| {
        span.metadata(metadata);
    });
}

#[test]
fn metadata_with_500_keys_arrives_as_one_json_attribute_with_every_key() {
    let metadata: BTreeMap<String, String> = (0..500)
        .map(|i| (format!("key-{i:03}"), format!("value-{i}")))
        .collect();
    let recording = testing::record(|| annotate_widely(&metadata));

    assert_eq!(recording.len(), 1);
    let span = &recording.observations()[0];
    let metadata_keys: Vec<&str> = span
        .attr_keys()
        .into_iter()
        .filter(|k| k.contains("metadata"))
        .collect();
    assert_eq!(
        metadata_keys,
        ["langfuse.observation.metadata"],
        "one attribute, not one per key (which OTel SDKs cap at 128)"
    );
    let received = span.json_attr("langfuse.observation.metadata");
    let received = received.as_object().expect("a JSON object");
    assert_eq!(received.len(), 500);
    for (key, value) in &metadata {
        assert_eq!(received[key], json!(value), "{key}");
    }
}

#[observe(capture_input = false, capture_output = false)]
fn after_the_stray_updates() {}

#[test]
fn updates_outside_any_observation_do_nothing() {
    let recorder = Recorder::new();
    let closure_runs = AtomicUsize::new(0);
    recorder.in_scope(|| {
        update_current_span(|span| {
            closure_runs.fetch_add(1, Ordering::Relaxed);
            span.name("stray").metadata(&json!({ "stray": true }));
        });
        update_current_generation(|generation| {
            closure_runs.fetch_add(1, Ordering::Relaxed);
            generation.model("stray-model");
        });
        update_current_trace(|trace| {
            closure_runs.fetch_add(1, Ordering::Relaxed);
            trace.user_id("stray-user").tags(["stray"]);
        });
    });
    assert_eq!(
        closure_runs.load(Ordering::Relaxed),
        0,
        "with no observation to update, the closure is not even called"
    );
    let stray = recorder.recording();
    assert_eq!(stray.traces().len(), 0, "an update starts nothing");
    assert!(stray.is_empty());

    recorder.in_scope(after_the_stray_updates);

    let recording = recorder.recording();
    let spans = recording.observations();
    assert_eq!(spans.len(), 1, "only the observation started afterwards");
    let span = &spans[0];
    assert_eq!(span.name(), "after_the_stray_updates");
    assert_eq!(
        span.attr_keys(),
        ["langfuse.observation.type"],
        "nothing of the stray updates stuck to a later observation"
    );
    assert_eq!(recording.traces().len(), 1);
}

/// Counts the closures an observed function hands to the SDK that actually run.
static CLOSURES_RUN: AtomicUsize = AtomicUsize::new(0);

fn count() {
    CLOSURES_RUN.fetch_add(1, Ordering::Relaxed);
}

#[observe]
fn updates_everything(question: &str) -> usize {
    update_current_span(|span| {
        count();
        span.metadata(&json!({ "question": question }));
    });
    update_current_generation(|generation| {
        count();
        generation.model("gpt-4o-mini");
    });
    update_current_trace(|trace| {
        count();
        trace.user_id("user-42");
    });
    let _scope = propagate_attributes(|attributes| {
        count();
        attributes.session_id("chat-7");
    });
    create_event("cache-miss", |event| {
        count();
        event.input(question);
    });
    question.len()
}

#[observe]
async fn updates_everything_async(question: &'static str) -> usize {
    let len = async { updates_everything(question) }
        .with_trace_attributes(|attributes| {
            count();
            attributes.user_id("user-43");
        })
        .await;
    tokio::task::yield_now().await;
    len
}

#[test]
fn update_closures_are_not_called_in_a_sampled_out_trace() {
    own_process!();
    let receiver = Receiver::start();
    let langfuse = setup::config_for(&receiver)
        .sample_rate(0.0)
        .init()
        .unwrap();

    assert_eq!(updates_everything("what is langfuse"), 16);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert_eq!(runtime.block_on(updates_everything_async("async")), 5);
    assert!(langfuse.flush(WAIT).is_complete());

    assert_eq!(CLOSURES_RUN.load(Ordering::Relaxed), 0);
    let stats = langfuse.stats();
    assert_eq!(stats.started, 0);
    // Every observation of a sampled-out trace is counted: each call of `updates_everything`
    // and its event, and the async root.
    assert_eq!(stats.dropped_sampling, 5);
    assert!(receiver.trace_requests().is_empty());
}

#[test]
fn update_closures_are_not_called_with_tracing_disabled() {
    own_process!();
    let receiver = Receiver::start();
    let langfuse = setup::config_for(&receiver)
        .tracing_enabled(false)
        .init()
        .unwrap();
    assert!(!langfuse.is_enabled());

    assert_eq!(updates_everything("what is langfuse"), 16);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert_eq!(runtime.block_on(updates_everything_async("async")), 5);
    langfuse.flush(WAIT);

    assert_eq!(CLOSURES_RUN.load(Ordering::Relaxed), 0);
    assert_eq!(langfuse.stats().started, 0);
    assert!(
        receiver.requests().is_empty(),
        "a disabled client sends nothing"
    );
}

#[observe]
fn explicit_output_wins() -> u32 {
    langfuse::update_current_span(|span| {
        span.output("what the user chose to show");
    });
    42
}

#[test]
fn an_output_set_by_an_update_wins_over_the_captured_return_value() {
    let recorder = Recorder::new();
    assert_eq!(recorder.in_scope(explicit_output_wins), 42);
    let recording = recorder.recording();
    assert_eq!(recording.len(), 1);
    let span = &recording.observations()[0];
    assert_eq!(
        span.str_attr("langfuse.observation.output"),
        Some("what the user chose to show")
    );
}
