//! `langfuse::tracing::layer()`: which spans become observations, how they nest with
//! `#[observe]` both ways, and how their GenAI and `langfuse.*` fields map, read from the
//! in-memory recorder (the same attribute mapping the exporter encodes). The end-to-end tests
//! with rig, genai, axum and tracing-opentelemetry are in `integrations/tests`.

mod support;

use std::time::Duration;

use langfuse::testing::{self, RecordedObservation, Recording};
use langfuse::{Level, ObservationType, observe};
use serde_json::json;
use support::recorded::{self, Attributes as _};
use tracing::Instrument as _;
use tracing_subscriber::layer::SubscriberExt as _;

const INPUT: &str = "langfuse.observation.input";
const OUTPUT: &str = "langfuse.observation.output";
const METADATA: &str = "langfuse.observation.metadata";
const USAGE: &str = "langfuse.observation.usage_details";
const PARAMETERS: &str = "langfuse.observation.model.parameters";

/// Runs `f` under a subscriber with the layer (configured by `layer`) and a recorder.
fn record_with<L>(layer: L, f: impl FnOnce()) -> Recording
where
    L: tracing_subscriber::Layer<tracing_subscriber::Registry> + Send + Sync + 'static,
{
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, || testing::record(f))
}

fn record(f: impl FnOnce()) -> Recording {
    record_with(langfuse::tracing::layer(), f)
}

#[observe]
fn root(f: impl FnOnce()) {
    f()
}

#[observe]
fn inner() {}

#[test]
fn only_spans_with_genai_or_langfuse_fields_are_converted_by_default() {
    let recording = record(|| {
        root(|| {
            let plain = tracing::info_span!("plain", user = 7);
            let _plain = plain.enter();
            let chat = tracing::info_span!("chat", gen_ai.operation.name = "chat");
            let _chat = chat.enter();
            inner();
        })
    });
    // `plain` is transparent: `chat` attaches to `root`, the nearest recorded ancestor.
    assert_eq!(
        recording.outline(),
        "root\n  chat (generation)\n    inner\n"
    );
}

#[test]
fn targets_and_all_spans_add_more() {
    mod sqlx {
        pub fn query() {
            let span = tracing::info_span!("query", db.statement = "SELECT 1");
            let _entered = span.enter();
        }
    }
    let recording = record_with(
        langfuse::tracing::layer().with_target(module_path!().to_owned() + "::sqlx"),
        || root(sqlx::query),
    );
    assert_eq!(recording.outline(), "root\n  query\n");

    let recording = record_with(langfuse::tracing::layer().all_spans(), || {
        root(|| {
            let span = tracing::debug_span!("anything");
            let _entered = span.enter();
        })
    });
    assert_eq!(recording.outline(), "root\n  anything\n");
}

/// Another layer, counting the spans it sees entered.
#[derive(Clone, Default)]
struct Entered(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Entered {
    fn on_enter(&self, _: &tracing::span::Id, _: tracing_subscriber::layer::Context<'_, S>) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Entered {
    fn count(&self) -> usize {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

fn plain_then_chat() {
    root(|| {
        let plain = tracing::info_span!("plain", user = 7);
        let _plain = plain.enter();
        let chat = tracing::info_span!("chat", gen_ai.operation.name = "chat");
        let _chat = chat.enter();
        inner();
    })
}

#[test]
fn other_layers_see_every_span_whichever_side_of_the_layer_they_are() {
    // Added last (beside the other layer), and added first (alone on the registry, other
    // layers on top): the same spans for the other layer, the same trace for Langfuse.
    let entered = Entered::default();
    let subscriber = tracing_subscriber::registry()
        .with(entered.clone())
        .with(langfuse::tracing::layer());
    let recording =
        tracing::subscriber::with_default(subscriber, || testing::record(plain_then_chat));
    assert_eq!(entered.count(), 2);
    assert_eq!(
        recording.outline(),
        "root\n  chat (generation)\n    inner\n"
    );

    let entered = Entered::default();
    let subscriber = tracing_subscriber::registry()
        .with(langfuse::tracing::layer())
        .with(entered.clone());
    let recording =
        tracing::subscriber::with_default(subscriber, || testing::record(plain_then_chat));
    assert_eq!(entered.count(), 2);
    assert_eq!(
        recording.outline(),
        "root\n  chat (generation)\n    inner\n"
    );
}

#[test]
fn a_span_entered_again_inside_itself_stays_the_parent_until_its_last_exit() {
    let recording = record(|| {
        let span = tracing::info_span!("outer", langfuse.observation.type = "chain");
        let first = span.enter();
        let again = span.enter();
        // A context taken inside the span and held past an exit of it.
        let context = langfuse::current_context().enter();
        inner();
        drop(again);
        inner();
        drop(context);
        drop(first);
        // Nothing of the span is left current.
        inner();
    });
    assert_eq!(
        recording.outline(),
        "outer (chain)\n  inner\n  inner\ninner\n",
        "{}",
        recording.outline()
    );
}

#[test]
fn observe_inside_a_converted_span_nests_under_it() {
    let recording = record(|| {
        let span = tracing::info_span!("request", langfuse.observation.type = "chain");
        span.in_scope(|| {
            inner();
            inner();
        });
    });
    assert_eq!(recording.outline(), "request (chain)\n  inner\n  inner\n");
}

#[observe]
async fn observed_step() {
    tokio::task::yield_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instrumented_futures_carry_the_span_across_workers() {
    let subscriber = tracing_subscriber::registry().with(langfuse::tracing::layer());
    let _default = tracing::subscriber::set_default(subscriber);
    let recording = testing::record_async(async {
        let span = tracing::info_span!("agent", gen_ai.operation.name = "invoke_agent");
        let task = tokio::spawn(
            async {
                for _ in 0..3 {
                    observed_step().await;
                    tokio::task::yield_now().await;
                }
            }
            .instrument(span),
        );
        task.await.unwrap();
    })
    .await;
    assert_eq!(
        recording.outline(),
        "agent (agent)\n  observed_step\n  observed_step\n  observed_step\n"
    );
}

#[test]
fn an_explicit_converted_parent_wins_and_an_explicit_root_joins_the_current_observation() {
    let recording = record(|| {
        root(|| {
            let outer = tracing::info_span!("outer", langfuse.observation.type = "agent");
            let sibling = tracing::info_span!("sibling", langfuse.observation.type = "tool");
            let _sibling = sibling.enter();
            // Created while `sibling` is current, but its explicit parent is `outer`.
            let child =
                tracing::info_span!(parent: &outer, "child", gen_ai.operation.name = "chat");
            drop(child);
            // rig's `invoke_agent` is an explicit root: it still belongs to this trace.
            let detached = tracing::info_span!(parent: None, "detached", gen_ai.operation.name = "execute_tool");
            drop(detached);
        })
    });
    assert_eq!(
        recording.outline(),
        "root\n  outer (agent)\n    child (generation)\n  sibling (tool)\n    detached (tool)\n"
    );
}

#[test]
fn a_span_entered_on_two_threads_at_once_is_the_parent_on_both() {
    let recording = record(|| {
        let span = tracing::info_span!("fan_out", langfuse.observation.type = "chain");
        let _here = span.enter();
        std::thread::scope(|scope| {
            scope.spawn(|| {
                let _there = span.enter();
                inner();
            });
        });
        inner();
    });
    let fan_out = recording.one("fan_out");
    let children = recording.children_of(fan_out);
    assert_eq!(children.len(), 2, "{}", recording.outline());
    assert!(children.iter().all(|c| c.name() == "inner"));
}

#[test]
fn a_span_closed_long_after_its_last_exit_ends_at_the_exit() {
    let subscriber = tracing_subscriber::registry().with(langfuse::tracing::layer());
    let recorder = testing::Recorder::new();
    tracing::subscriber::with_default(subscriber, || {
        let span = recorder.in_scope(|| {
            let span = tracing::info_span!("handled", langfuse.observation.type = "span");
            span.in_scope(|| std::thread::sleep(Duration::from_millis(5)));
            span
        });
        std::thread::sleep(Duration::from_millis(80));
        drop(span);
    });
    let recording = recorder.recording();
    let handled = recording.one("handled");
    let took = handled.duration();
    assert!(
        took >= Duration::from_millis(5) && took < Duration::from_millis(60),
        "ended at the drop, not the exit: {took:?}"
    );
}

#[test]
fn a_span_never_entered_ends_when_it_closes() {
    let recording = record(|| {
        let span = tracing::info_span!("pending", langfuse.observation.type = "event");
        std::thread::sleep(Duration::from_millis(5));
        drop(span);
    });
    assert!(recording.one("pending").duration() >= Duration::from_millis(5));
}

#[test]
fn operation_names_map_to_types() {
    let recording = record(|| {
        root(|| {
            for operation in [
                "chat",
                "text_completion",
                "generate_content",
                "chat_streaming",
                "embeddings",
                "invoke_agent",
                "execute_tool",
                "rerank",
            ] {
                let span =
                    tracing::info_span!("op", gen_ai.operation.name = operation, op = operation);
                drop(span);
            }
        })
    });
    let types: Vec<ObservationType> = recording
        .children_of(recording.one("root"))
        .iter()
        .map(|o| o.kind())
        .collect();
    use ObservationType::*;
    assert_eq!(
        types,
        [
            Generation, Generation, Generation, Generation, Embedding, Agent, Tool, Span
        ]
    );
}

/// The fields of rig's completion span (`rig_core::telemetry`), recorded as rig records them.
fn rig_like_chat(response_model: Option<&str>) {
    let span = tracing::info_span!(
        target: "rig::completions",
        "chat",
        gen_ai.operation.name = "chat",
        gen_ai.provider.name = "openai",
        gen_ai.request.model = "gpt-4o",
        gen_ai.system_instructions = r#"[{"type":"text","content":"Be brief."}]"#,
        gen_ai.request.temperature = 0.2,
        gen_ai.request.max_tokens = 100,
        gen_ai.response.model = tracing::field::Empty,
        gen_ai.usage.input_tokens = tracing::field::Empty,
        gen_ai.usage.output_tokens = tracing::field::Empty,
        gen_ai.usage.cache_read.input_tokens = tracing::field::Empty,
        gen_ai.usage.cache_creation.input_tokens = tracing::field::Empty,
        gen_ai.usage.reasoning_tokens = tracing::field::Empty,
        gen_ai.input.messages = tracing::field::Empty,
        gen_ai.output.messages = tracing::field::Empty,
        gen_ai.response.time_to_first_chunk = tracing::field::Empty,
    );
    let _entered = span.enter();
    span.record(
        "gen_ai.input.messages",
        r#"[{"role":"user","parts":[{"type":"text","content":"Hi"}]}]"#,
    );
    std::thread::sleep(Duration::from_millis(10));
    if let Some(model) = response_model {
        span.record("gen_ai.response.model", model);
    }
    span.record("gen_ai.usage.input_tokens", 1000);
    span.record("gen_ai.usage.output_tokens", 500);
    span.record("gen_ai.usage.cache_read.input_tokens", 600);
    span.record("gen_ai.usage.cache_creation.input_tokens", 100);
    span.record("gen_ai.usage.reasoning_tokens", 300);
    span.record("gen_ai.response.time_to_first_chunk", 0.004);
    span.record(
        "gen_ai.output.messages",
        r#"[{"role":"assistant","parts":[{"type":"text","content":"Hello."}],"finish_reason":"stop"}]"#,
    );
}

#[test]
fn a_completion_span_becomes_a_generation_with_model_parameters_usage_and_messages() {
    let recording = record(|| root(|| rig_like_chat(Some("gpt-4o-2024-08-06"))));
    let chat = recording.one("chat");
    assert_eq!(chat.kind(), ObservationType::Generation);
    assert_eq!(
        chat.model(),
        Some("gpt-4o-2024-08-06"),
        "the response's model wins"
    );
    assert_eq!(
        chat.json_attr(PARAMETERS),
        json!({ "temperature": 0.2, "max_tokens": 100 })
    );
    assert_eq!(
        chat.json_attr(USAGE),
        json!({
            "input": 300,
            "input_cached_tokens": 600,
            "input_cache_creation": 100,
            "output": 200,
            "output_reasoning_tokens": 300,
        }),
        "each part counted once, rig's reasoning_tokens split out"
    );
    assert_eq!(
        chat.json_attr(INPUT),
        json!([
            { "role": "system", "parts": [{ "type": "text", "content": "Be brief." }] },
            { "role": "user", "parts": [{ "type": "text", "content": "Hi" }] },
        ])
    );
    assert_eq!(chat.json_attr(OUTPUT)[0]["parts"][0]["content"], "Hello.");
    let first = chat
        .completion_start_time()
        .expect("time_to_first_chunk sets it")
        .duration_since(chat.start_time())
        .unwrap();
    assert!(
        first >= Duration::from_millis(3) && first < Duration::from_millis(6),
        "{first:?}"
    );
    assert!(!chat.has_attr(METADATA), "other fields are opt-in");

    let recording = record(|| root(|| rig_like_chat(None)));
    assert_eq!(
        recording.one("chat").model(),
        Some("gpt-4o"),
        "else the request's"
    );
}

#[test]
fn agent_spans_carry_no_usage_and_tools_their_arguments_and_result() {
    let recording = record(|| {
        let agent = tracing::info_span!(
            "invoke_agent",
            gen_ai.operation.name = "invoke_agent",
            gen_ai.agent.name = "weather-agent",
            gen_ai.prompt = "Weather in Paris?",
            gen_ai.completion = tracing::field::Empty,
            gen_ai.usage.input_tokens = tracing::field::Empty,
            gen_ai.usage.output_tokens = tracing::field::Empty,
        );
        agent.in_scope(|| {
            let tool = tracing::info_span!(
                "execute_tool",
                gen_ai.operation.name = "execute_tool",
                gen_ai.tool.name = "get_weather",
                gen_ai.tool.call.arguments = r#"{"city":"Paris"}"#,
                gen_ai.tool.call.result = tracing::field::Empty,
            );
            tool.in_scope(|| tool.record("gen_ai.tool.call.result", "sunny"));
        });
        // The run's totals, which its generations already carry.
        agent.record("gen_ai.usage.input_tokens", 2000);
        agent.record("gen_ai.usage.output_tokens", 80);
        agent.record("gen_ai.completion", "It is sunny.");
    });
    assert_eq!(
        recording.outline(),
        "weather-agent (agent)\n  get_weather (tool)\n"
    );
    let agent = recording.one("weather-agent");
    assert!(!agent.has_attr(USAGE), "no usage counted twice");
    assert_eq!(agent.str_attr(INPUT), Some("Weather in Paris?"));
    assert_eq!(agent.str_attr(OUTPUT), Some("It is sunny."));
    let tool = recording.one("get_weather");
    assert_eq!(tool.json_attr(INPUT), json!({ "city": "Paris" }));
    assert_eq!(tool.str_attr(OUTPUT), Some("sunny"));
}

fn level_and_message(recording: &Recording, name: &str) -> (Level, Option<String>) {
    let o: &RecordedObservation = recording.one(name);
    (o.level(), o.status_message().map(str::to_owned))
}

#[test]
fn errors_set_level_error_with_their_message() {
    let recording = record(|| {
        root(|| {
            let field = tracing::info_span!(
                "field",
                gen_ai.operation.name = "chat",
                error = tracing::field::Empty
            );
            field.record("error", "rate limited");
            drop(field);
            // genai's convention.
            let otel = tracing::info_span!(
                "otel",
                gen_ai.operation.name = "chat",
                otel.status_code = tracing::field::Empty,
                error.type = tracing::field::Empty,
            );
            otel.record("otel.status_code", "error");
            otel.record("error.type", "timeout");
            drop(otel);
            let event = tracing::info_span!("event", gen_ai.operation.name = "chat");
            event.in_scope(|| tracing::error!(status = 500, "the provider failed"));
            drop(event);
            let warning = tracing::info_span!("warning", gen_ai.operation.name = "chat");
            warning.in_scope(|| tracing::warn!("retrying"));
        })
    });
    assert_eq!(
        level_and_message(&recording, "field"),
        (Level::Error, Some("rate limited".into()))
    );
    assert_eq!(
        level_and_message(&recording, "otel"),
        (Level::Error, Some("timeout".into()))
    );
    assert_eq!(
        level_and_message(&recording, "event"),
        (Level::Error, Some("the provider failed".into()))
    );
    assert_eq!(
        level_and_message(&recording, "warning"),
        (Level::Default, None)
    );
    assert!(recording.one("otel").is_error());
}

#[test]
fn langfuse_fields_map_to_the_attributes_of_the_sdks_own_api() {
    let recording = record(|| {
        let span = tracing::info_span!(
            "handle",
            langfuse.observation.type = "retriever",
            langfuse.observation.input = r#"{"query":"rust"}"#,
            langfuse.observation.metadata.index = "docs-v2",
            langfuse.user.id = "user-42",
            session.id = "chat-7",
            langfuse.trace.tags = "beta,eu",
            langfuse.trace.name = "search",
            langfuse.version = "3",
            langfuse.observation.level = "WARNING",
            langfuse.observation.status_message = "stale index",
        );
        span.in_scope(inner);
    });
    let handle = recording.one("handle");
    assert_eq!(handle.kind(), ObservationType::Retriever);
    assert_eq!(handle.json_attr(INPUT), json!({ "query": "rust" }));
    assert_eq!(handle.json_attr(METADATA), json!({ "index": "docs-v2" }));
    assert_eq!(handle.level(), Level::Warning);
    assert_eq!(handle.status_message(), Some("stale index"));
    assert_eq!(handle.version(), Some("3"));
    for o in [handle, recording.one("inner")] {
        assert_eq!(o.user_id(), Some("user-42"), "{}", o.name());
        assert_eq!(o.session_id(), Some("chat-7"));
        assert_eq!(o.tags(), ["beta", "eu"]);
        assert_eq!(o.trace_name(), Some("search"));
    }
}

#[test]
fn trace_fields_recorded_later_reach_the_ancestors_on_this_thread() {
    let recording = record(|| {
        root(|| {
            let span = tracing::info_span!(
                "chat",
                gen_ai.operation.name = "chat",
                user.id = tracing::field::Empty
            );
            span.in_scope(|| span.record("user.id", "user-9"));
        })
    });
    assert_eq!(recording.one("root").user_id(), Some("user-9"));
    assert_eq!(recording.one("chat").user_id(), Some("user-9"));
}

#[test]
fn other_fields_are_metadata_when_asked_for() {
    let recording = record_with(langfuse::tracing::layer().with_other_fields(true), || {
        let span = tracing::info_span!(
            "chat",
            gen_ai.operation.name = "chat",
            gen_ai.provider.name = "openai",
            http.status = 200,
        );
        drop(span);
    });
    assert_eq!(
        recording.one("chat").json_attr(METADATA),
        json!({ "gen_ai.provider.name": "openai", "http.status": 200 })
    );
}

#[test]
fn explicit_usage_and_the_server_fallback_for_spans_that_name_a_model() {
    let recording = record(|| {
        let span = tracing::info_span!(
            "llm",
            gen_ai.request.model = "claude-sonnet-4-5",
            langfuse.observation.usage_details =
                r#"{"input_tokens":12,"cache_read_input_tokens":900,"output_tokens":40}"#,
        );
        drop(span);
    });
    let llm = recording.one("llm");
    assert_eq!(llm.kind(), ObservationType::Generation);
    assert_eq!(
        llm.json_attr(USAGE),
        json!({ "input": 12, "input_cached_tokens": 900, "output": 40 })
    );
}

#[test]
fn inputs_follow_the_capture_budget_and_masking() {
    let subscriber = tracing_subscriber::registry().with(langfuse::tracing::layer());
    let recorder = testing::Recorder::new().mask(|value| {
        serde_json::from_str(&value.to_string().replace("secret", "[redacted]")).unwrap()
    });
    tracing::subscriber::with_default(subscriber, || {
        recorder.in_scope(|| {
            let span = tracing::info_span!(
                "chat",
                gen_ai.operation.name = "chat",
                gen_ai.input.messages = r#"[{"role":"user","content":"my secret"}]"#,
            );
            drop(span);
        })
    });
    let recording = recorder.recording();
    assert_eq!(
        recording.one("chat").json_attr(INPUT),
        json!([{ "role": "user", "content": "my [redacted]" }])
    );
    let _ = recorded::unix_nanos(recording.one("chat"));
}

// What arrives at a Langfuse endpoint, under the SDK's own configuration: sampling, stats,
// the capture switch and budget, each in a process of its own.

use support::Receiver;
use support::setup;

#[observe(capture_input = false, capture_output = false)]
fn observed_inside() {}

fn chat_span_with(messages: &str) {
    let span = tracing::info_span!(
        "chat",
        gen_ai.operation.name = "chat",
        gen_ai.request.model = "gpt-4o-mini",
        gen_ai.input.messages = messages,
    );
    span.in_scope(observed_inside);
}

#[test]
fn a_sampled_out_span_records_nothing_and_keeps_what_runs_inside_out() {
    own_process!();
    let receiver = Receiver::start();
    let langfuse = setup::config_for(&receiver)
        .sample_rate(0.0)
        .init()
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(langfuse::tracing::layer());
    tracing::subscriber::with_default(subscriber, || {
        for _ in 0..10 {
            chat_span_with("[]");
        }
    });
    assert!(langfuse.flush(setup::WAIT).is_complete());
    let stats = langfuse.stats();
    assert_eq!(stats.started, 0);
    // The spans' new traces, and the observed function inside each.
    assert_eq!(stats.dropped_sampling, 20);
    assert!(receiver.spans().is_empty());
}

#[test]
fn bridged_spans_are_exported_and_counted_like_observations() {
    own_process!();
    let receiver = Receiver::start();
    let langfuse = setup::config_for(&receiver).init().unwrap();
    let subscriber = tracing_subscriber::registry().with(langfuse::tracing::layer());
    tracing::subscriber::with_default(subscriber, || chat_span_with("[]"));
    assert!(langfuse.flush(setup::WAIT).is_complete());
    let stats = langfuse.stats();
    assert_eq!((stats.started, stats.exported), (2, 2));
    let tree = setup::Tree::new(receiver.wait_for_spans(2, setup::WAIT));
    tree.assert_child("observed_inside", "chat");
    let chat = tree.one("chat");
    assert_eq!(
        chat.str_attr("langfuse.observation.type"),
        Some("generation")
    );
    assert_eq!(
        chat.str_attr("langfuse.observation.model.name"),
        Some("gpt-4o-mini")
    );
}

#[test]
fn messages_are_held_to_the_capture_budget() {
    own_process!();
    let receiver = Receiver::start();
    let langfuse = setup::config_for(&receiver)
        .capture_max_bytes(256)
        .init()
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(langfuse::tracing::layer());
    let long = format!(r#"[{{"role":"user","content":"{}"}}]"#, "x".repeat(10_000));
    tracing::subscriber::with_default(subscriber, || chat_span_with(&long));
    assert!(langfuse.flush(setup::WAIT).is_complete());
    let tree = setup::Tree::new(receiver.wait_for_spans(2, setup::WAIT));
    let input = tree.one("chat").str_attr(INPUT).unwrap().to_owned();
    assert!(input.len() < 400, "{} bytes", input.len());
    assert!(input.contains("truncated"), "{input}");
}

#[test]
fn messages_are_not_captured_when_capture_is_off() {
    own_process!();
    let receiver = Receiver::start();
    let langfuse = setup::config_for(&receiver)
        .io_capture_enabled(false)
        .init()
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(langfuse::tracing::layer());
    tracing::subscriber::with_default(subscriber, || {
        chat_span_with(r#"[{"role":"user","content":"private"}]"#)
    });
    assert!(langfuse.flush(setup::WAIT).is_complete());
    let tree = setup::Tree::new(receiver.wait_for_spans(2, setup::WAIT));
    let chat = tree.one("chat");
    assert!(!chat.has_attr(INPUT));
    assert_eq!(
        chat.str_attr("langfuse.observation.model.name"),
        Some("gpt-4o-mini")
    );
}
