//! The generation flows of `examples/generation.rs`: a plain and a streamed chat completion
//! are recorded as generations with the model that answered, the model parameters, usage and
//! cost from the response, the prompt and completion, and (streamed) the time the first token
//! arrived.
//!
//! What the SDK records is read from the in-memory recorder (`langfuse::testing`); the only
//! HTTP is the example's stand-in model API (and, for the failing calls, a loopback server
//! that answers 404).

mod support;

/// The example's stand-in server and client, compiled into this test as they are (its `main`
/// is not used here).
#[allow(dead_code)]
#[path = "../examples/generation.rs"]
mod generation;

use std::time::{Duration, UNIX_EPOCH};

use generation::{ANSWER, LlmClient, RESPONSE_MODEL, Usage, question, start_stand_in};
use langfuse::observe;
use langfuse::testing::{RecordedObservation, Recorder};
use serde_json::json;
use support::Receiver;
use support::recorded::{self, Attributes as _};

/// The attributes both flows must send, checked against values computed here.
fn assert_generation(span: &RecordedObservation, usage: Usage) {
    let name = span.name();
    assert_eq!(
        span.str_attr("langfuse.observation.type"),
        Some("generation"),
        "{name}"
    );
    assert_eq!(
        span.str_attr("langfuse.observation.model.name"),
        Some(RESPONSE_MODEL),
        "{name}: the model version that answered"
    );
    assert_eq!(
        span.json_attr("langfuse.observation.model.parameters"),
        json!({ "temperature": 0.2, "max_tokens": 200 }),
        "{name}"
    );
    assert_eq!(
        span.json_attr("langfuse.observation.input"),
        json!([
            { "role": "system", "content": "You answer in one sentence." },
            { "role": "user", "content": "What is Langfuse?" },
        ]),
        "{name}"
    );
    assert_eq!(
        span.str_attr("langfuse.observation.output"),
        Some(ANSWER),
        "{name}"
    );

    // The stand-in counts words: 8 in the prompt, 13 in the answer.
    assert_eq!(
        usage,
        Usage {
            prompt_tokens: 8,
            completion_tokens: 13,
            total_tokens: 21
        }
    );
    assert_eq!(
        span.json_attr("langfuse.observation.usage_details"),
        json!({ "input": 8, "output": 13, "total": 21 }),
        "{name}"
    );
    // gpt-4o-mini: $0.15 per million input tokens, $0.60 per million output tokens.
    let cost = span.json_attr("langfuse.observation.cost_details");
    for (kind, expected) in [
        ("input", 8.0 * 0.15e-6),
        ("output", 13.0 * 0.60e-6),
        ("total", 8.0 * 0.15e-6 + 13.0 * 0.60e-6),
    ] {
        let sent = cost[kind]
            .as_f64()
            .unwrap_or_else(|| panic!("{name}: cost {kind} is not a number: {cost}"));
        assert!(
            (sent - expected).abs() < 1e-15,
            "{name}: cost {kind} {sent}"
        );
    }
}

#[observe(capture_input = false, capture_output = false, skip(llm))]
async fn ask(llm: &LlmClient) -> (generation::Completion, generation::Completion) {
    let plain = llm.chat(&question("What is Langfuse?")).await.unwrap();
    let streamed = llm
        .chat_streamed(&question("What is Langfuse?"))
        .await
        .unwrap();
    (plain, streamed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_and_streamed_completions_arrive_as_generations_with_model_usage_and_cost() {
    let llm = LlmClient::new(format!("http://{}", start_stand_in().await.unwrap()));
    let recorder = Recorder::new();

    let (plain, streamed) = recorder.instrument(ask(&llm)).await;
    assert_eq!(plain.text, ANSWER);
    assert_eq!(streamed.text, ANSWER, "the chunks joined");
    assert!(streamed.time_to_first_token.is_some());

    let recording = recorder.recording();
    assert_eq!(recording.len(), 3);
    recorded::assert_child(&recording, "chat-completion", "ask");
    recorded::assert_child(&recording, "chat-completion-stream", "ask");

    let plain_span = recording.one("chat-completion");
    assert_generation(plain_span, plain.usage.unwrap());
    assert!(
        !plain_span.has_attr("langfuse.observation.completion_start_time"),
        "not streamed: no separate first token"
    );

    let streamed_span = recording.one("chat-completion-stream");
    assert_generation(streamed_span, streamed.usage.unwrap());
    let first_token = streamed_span
        .str_attr("langfuse.observation.completion_start_time")
        .expect("the time of the first chunk");
    let first_token = humantime::parse_rfc3339(first_token)
        .unwrap_or_else(|e| panic!("not RFC 3339 ({e}): {first_token}"));
    let first_token = first_token.duration_since(UNIX_EPOCH).unwrap();
    // Within the generation, allowing for the exporter's clock calibration.
    let (start, end) = recorded::unix_nanos(streamed_span);
    let slack = Duration::from_secs(1);
    assert!(
        Duration::from_nanos(start) <= first_token + slack
            && first_token <= Duration::from_nanos(end) + slack,
        "the first token arrived while the generation was open"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_call_is_a_generation_with_level_error_and_the_reason() {
    // The receiver answers 404 to anything but Langfuse's endpoints (no client sends to it).
    let receiver = Receiver::start();
    let llm = LlmClient::new(receiver.base_url());

    let recorder = Recorder::new();
    recorder
        .instrument(async {
            assert!(llm.chat(&question("What is Langfuse?")).await.is_err());
            assert!(
                llm.chat_streamed(&question("What is Langfuse?"))
                    .await
                    .is_err()
            );
        })
        .await;

    let recording = recorder.recording();
    assert_eq!(recording.len(), 2);
    for name in ["chat-completion", "chat-completion-stream"] {
        let span = recording.one(name);
        assert_eq!(
            span.str_attr("langfuse.observation.level"),
            Some("ERROR"),
            "{name}"
        );
        let status = span
            .str_attr("langfuse.observation.status_message")
            .unwrap();
        assert!(status.contains("404"), "{name}: {status}");
        assert!(!span.has_attr("langfuse.observation.output"), "{name}");
        assert!(
            !span.has_attr("langfuse.observation.usage_details"),
            "{name}"
        );
    }
}
