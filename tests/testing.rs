//! `langfuse::testing`, the recorder users test their instrumented code with: trees, fields,
//! scores and masking; recorders in parallel tests, on multi-threaded runtimes and across
//! spawned tasks; and no client, keys or HTTP anywhere (this binary never calls `init()`).

use langfuse::testing::{self, AttributeValue, Recorder};
use langfuse::{Level, ObservationType, Score, observe};
use serde::Serialize;

#[derive(Serialize)]
struct Query {
    text: String,
    top_k: u32,
}

#[observe(as_type = "retriever")]
fn retrieve(query: &Query) -> Vec<String> {
    (0..query.top_k)
        .map(|i| format!("doc-{i} about {}", query.text))
        .collect()
}

#[observe(as_type = "generation", name = "llm")]
fn generate(documents: &[String]) -> String {
    langfuse::update_current_generation(|g| {
        g.model("gpt-4o-mini")
            .model_parameters(&serde_json::json!({ "temperature": 0.0 }))
            .usage_details(&serde_json::json!({ "input": 52, "output": 18 }))
            .cost_details(&serde_json::json!({ "total": 0.0004 }))
            .prompt(("answer", 3));
    });
    format!("{} documents", documents.len())
}

#[observe]
fn answer(user: &str, question: &str) -> Result<String, std::io::Error> {
    langfuse::update_current_trace(|t| {
        t.user_id(user).session_id("chat-7").tags(["beta"]);
    });
    let documents = retrieve(&Query {
        text: question.to_owned(),
        top_k: 2,
    });
    langfuse::score_current_trace(Score::numeric("helpfulness", 0.75));
    Ok(generate(&documents))
}

#[test]
fn a_recording_holds_the_tree_and_every_field() {
    let recording = testing::record(|| answer("user-42", "What is Langfuse?"));

    assert_eq!(
        recording.outline(),
        "answer\n  retrieve (retriever)\n  llm (generation)\n"
    );
    assert_eq!(recording.traces().len(), 1);
    let root = recording.one("answer");
    assert_eq!(root.parent_id(), None);
    assert_eq!(root.kind(), ObservationType::Span);
    assert_eq!(
        root.input().unwrap(),
        serde_json::json!({ "user": "user-42", "question": "What is Langfuse?" })
    );
    assert_eq!(root.output().unwrap(), "2 documents");
    assert_eq!(root.user_id(), Some("user-42"));

    let retriever = recording.one("retrieve");
    assert_eq!(recording.parent_of(retriever).unwrap().name(), "answer");
    assert_eq!(retriever.input().unwrap()["query"]["top_k"], 2);
    assert_eq!(retriever.output().unwrap().as_array().unwrap().len(), 2);
    assert_eq!(retriever.session_id(), Some("chat-7"));
    assert_eq!(retriever.tags(), ["beta"]);

    let llm = recording.one("llm");
    assert_eq!(llm.kind(), ObservationType::Generation);
    assert_eq!(llm.model(), Some("gpt-4o-mini"));
    assert_eq!(llm.model_parameters().unwrap()["temperature"], 0.0);
    assert_eq!(
        llm.usage().unwrap(),
        serde_json::json!({ "input": 52, "output": 18 })
    );
    assert_eq!(llm.cost().unwrap()["total"], 0.0004);
    assert_eq!(llm.prompt(), Some(("answer", 3)));
    assert!(llm.start_time() >= root.start_time() && llm.end_time() <= root.end_time());

    let score = recording.score("helpfulness");
    assert_eq!(score.value(), 0.75);
    assert_eq!(score.trace_id(), Some(root.trace_id()));
    assert_eq!(score.observation_id(), None);
}

#[observe]
fn fails(code: u32) -> Result<(), String> {
    Err(format!("upstream returned {code}"))
}

#[observe]
fn panics() {
    panic!("boom");
}

#[test]
fn errors_and_panics_are_recorded_with_their_level() {
    let recording = testing::record(|| {
        let _ = fails(503);
        let _ = std::panic::catch_unwind(panics);
    });
    let failed = recording.one("fails");
    assert_eq!(failed.level(), Level::Error);
    assert!(failed.is_error());
    assert_eq!(failed.status_message(), Some("upstream returned 503"));
    let panicked = recording.one("panics");
    assert_eq!(panicked.level(), Level::Error);
    assert_eq!(panicked.status_message(), Some("panicked: boom"));
    assert_eq!(panicked.error_status_message(), Some("panicked: boom"));
    assert_eq!(recording.outline(), "fails [ERROR]\npanics [ERROR]\n");
}

#[test]
fn nothing_started_outside_the_recorder_is_recorded() {
    let recorder = Recorder::new();
    // Not under the recorder: without a client, not recorded at all.
    answer("user-1", "outside").unwrap();
    recorder.in_scope(|| answer("user-2", "inside")).unwrap();
    answer("user-3", "outside again").unwrap();
    let recording = recorder.recording();
    assert_eq!(recording.all("answer").len(), 1);
    assert_eq!(recording.one("answer").user_id(), Some("user-2"));
}

#[test]
fn recorders_in_parallel_tests_see_only_their_own_traces() {
    // Sixteen threads, each recording the same functions under its own recorder, at once.
    let threads: Vec<_> = (0..16)
        .map(|i| {
            std::thread::spawn(move || {
                for round in 0..25 {
                    let user = format!("user-{i}-{round}");
                    let recording = testing::record(|| answer(&user, "q"));
                    assert_eq!(recording.traces().len(), 1);
                    assert_eq!(recording.len(), 3, "{recording}");
                    for observation in recording.observations() {
                        assert_eq!(observation.user_id(), Some(user.as_str()));
                        assert_eq!(observation.trace_id(), recording.traces()[0]);
                    }
                    assert_eq!(recording.scores().len(), 1);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
}

#[observe]
async fn fetch(step: u32) -> u32 {
    // Give the multi-threaded scheduler every chance to move the task between workers.
    for _ in 0..3 {
        tokio::task::yield_now().await;
    }
    step * 2
}

#[observe]
async fn pipeline() -> u32 {
    let mut total = 0;
    for step in 0..4 {
        total += fetch(step).await;
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn futures_on_a_multi_threaded_runtime_are_recorded_across_workers() {
    let recorder = Recorder::new();
    let handles: Vec<_> = (0..8)
        .map(|_| tokio::spawn(recorder.instrument(pipeline())))
        .collect();
    for handle in handles {
        assert_eq!(handle.await.unwrap(), 12);
    }
    let recording = recorder.recording();
    assert_eq!(recording.traces().len(), 8);
    assert_eq!(recording.all("pipeline").len(), 8);
    for root in recording.all("pipeline") {
        let children = recording.children_of(root);
        assert_eq!(children.len(), 4);
        assert!(children.iter().all(|c| c.name() == "fetch"));
    }
}

#[observe]
async fn parent_task() -> u32 {
    // Carried into the spawned task: its observation is a child of this one.
    let carried = langfuse::spawn(fetch(10));
    // Not carried: a plain tokio::spawn starts with an empty context.
    let plain = tokio::spawn(fetch(20));
    carried.await.unwrap() + plain.await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawned_tasks_are_recorded_when_the_context_travels_with_them() {
    let recording = testing::record_async(parent_task()).await;
    assert_eq!(recording.outline(), "parent_task\n  fetch\n");
    assert_eq!(recording.one("fetch").input().unwrap()["step"], 10);
}

#[test]
fn threads_entered_with_the_context_are_recorded() {
    let recording = testing::record(|| {
        let root = langfuse::start_observation("root").start();
        let context = root.context();
        std::thread::spawn(move || {
            let _entered = context.enter();
            let _ = fails(500);
        })
        .join()
        .unwrap();
        root.end();
    });
    assert_eq!(recording.outline(), "root\n  fails [ERROR]\n");
}

#[test]
fn a_continued_remote_trace_is_recorded_under_its_remote_parent() {
    let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let recording = testing::record(|| {
        let _entered = langfuse::ObservationContext::from_traceparent(header)
            .unwrap()
            .enter();
        answer("user-9", "continued").unwrap();
    });
    let root = recording.one("answer");
    assert_eq!(
        root.trace_id().to_string(),
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    assert_eq!(root.parent_id().unwrap().to_string(), "00f067aa0ba902b7");
    assert!(root.is_remote_root());
    assert_eq!(recording.roots().len(), 1);
}

#[test]
fn recorders_continuing_the_same_remote_trace_at_once_each_get_their_own() {
    // Two tests that continue the same fixture header, at the same time.
    let header = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let barrier = std::sync::Barrier::new(2);
    let recordings: Vec<_> = std::thread::scope(|scope| {
        let run = |user: &'static str| {
            let barrier = &barrier;
            scope.spawn(move || {
                let recorder = Recorder::new();
                recorder.in_scope(|| {
                    let _entered = langfuse::ObservationContext::from_traceparent(header)
                        .unwrap()
                        .enter();
                    barrier.wait();
                    answer(user, "continued").unwrap();
                });
                (user, recorder.recording())
            })
        };
        let handles = [run("first"), run("second")];
        handles.map(|h| h.join().unwrap()).into()
    });
    for (user, recording) in recordings {
        assert_eq!(recording.len(), 3, "{user}: {recording}");
        assert!(
            recording
                .observations()
                .iter()
                .all(|o| o.user_id() == Some(user))
        );
        assert_eq!(recording.scores().len(), 1, "{user}");
    }
}

#[test]
fn the_recorder_masks_and_keeps_the_capture_budget() {
    let recorder = Recorder::new().mask(|value| match value {
        serde_json::Value::Object(mut map) => {
            if map.contains_key("user") {
                map.insert("user".into(), "<redacted>".into());
            }
            serde_json::Value::Object(map)
        }
        other => other,
    });
    recorder.in_scope(|| answer("user-42", "short")).unwrap();
    let huge = Query {
        text: "x".repeat(1 << 20),
        top_k: 1,
    };
    recorder.in_scope(|| retrieve(&huge));
    let recording = recorder.recording();
    let input = recording.one("answer").input().unwrap();
    assert_eq!(input["user"], "<redacted>");
    assert_eq!(input["question"], "short");
    // The default budget of one captured field (32 KiB) holds.
    let sent = recording
        .all("retrieve")
        .last()
        .unwrap()
        .attribute("langfuse.observation.input")
        .and_then(AttributeValue::as_str)
        .unwrap()
        .len();
    assert!(sent <= 33 * 1024, "{sent} bytes");
}

#[test]
fn scores_on_observations_and_handles_reach_the_recording() {
    let recording = testing::record(|| {
        let span = langfuse::start_observation("judge").start();
        span.score(Score::boolean("passed", true));
        span.score(Score::text("review", "")); // invalid (empty text): dropped, with a warning
        let trace_id = span.trace_id().unwrap();
        span.end();
        langfuse::create_score(Score::categorical("verdict", "good").trace_id(trace_id));
    });
    assert_eq!(recording.scores().len(), 2);
    let passed = recording.score("passed");
    assert_eq!(passed.value(), 1.0);
    assert_eq!(passed.data_type(), "BOOLEAN");
    assert_eq!(passed.observation_id(), Some(recording.one("judge").id()));
    assert_eq!(recording.score("verdict").value(), "good");
}

#[test]
fn observations_still_running_arrive_in_a_later_recording() {
    let recorder = Recorder::new();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let span = recorder.in_scope(|| langfuse::start_observation("slow").start());
    let worker = std::thread::spawn(move || {
        // Ends once the test has looked (or gave up: the sender dropped).
        let _ = released.recv();
        span.end();
    });
    assert!(recorder.recording().is_empty());
    drop(release);
    worker.join().unwrap();
    assert_eq!(recorder.recording().outline(), "slow\n");
}
