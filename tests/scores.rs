//! Scores end to end: what reaches `POST /api/public/scores`, checked against the
//! `CreateScoreRequest` schema of Langfuse's OpenAPI spec (vendored in tests/data), plus retries,
//! rejections, sampling, validation, flush and shutdown, with the counters of each.

mod support;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use base64::Engine as _;
use langfuse::{
    ObservationContext, ObservationId, Score, TraceId, create_score, score_current_span,
    score_current_trace, start_observation,
};
use serde_json::{Value, json};
use support::setup::{self, PUBLIC_KEY, SECRET_KEY, Tree, WAIT};
use support::{Receiver, RecordedRequest, Reply, SCORES_PATH};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

fn trace() -> TraceId {
    TRACE.parse().unwrap()
}

fn assert_valid(body: &Value) {
    support::openapi::assert_valid("CreateScoreRequest", body);
}

/// Every request to the scores endpoint: one JSON object each, valid against the schema, sent
/// as JSON with Langfuse's credentials and SDK headers. Returns their bodies.
fn score_requests(receiver: &Receiver) -> Vec<Value> {
    receiver
        .requests_to(SCORES_PATH)
        .iter()
        .map(|request| {
            check_headers(request);
            let body = request
                .json
                .clone()
                .unwrap_or_else(|| panic!("not JSON: {:?}", request.decode_error));
            assert!(body.is_object(), "one object per request, got {body}");
            assert_valid(&body);
            body
        })
        .collect()
}

fn check_headers(request: &RecordedRequest) {
    assert_eq!(request.method, "POST");
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.header("content-encoding"), None);
    let credentials =
        base64::engine::general_purpose::STANDARD.encode(format!("{PUBLIC_KEY}:{SECRET_KEY}"));
    assert_eq!(
        request.header("authorization"),
        Some(format!("Basic {credentials}").as_str())
    );
    assert_eq!(request.header("x-langfuse-sdk-name"), Some("rust"));
    assert_eq!(request.header("x-langfuse-public-key"), Some(PUBLIC_KEY));
    assert!(request.header("x-langfuse-sdk-version").is_some());
}

fn by_name(bodies: &[Value]) -> HashMap<String, Value> {
    bodies
        .iter()
        .map(|b| (b["name"].as_str().unwrap().to_owned(), b.clone()))
        .collect()
}

/// Polls `done` until it holds; panics, naming `what`, if WAIT passes first.
#[track_caller]
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < deadline, "not within {WAIT:?}: {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

// --- tests --------------------------------------------------------------------------------

#[test]
fn the_schema_check_is_not_vacuous() {
    assert_valid(&json!({ "name": "n", "value": 1.0, "traceId": TRACE, "dataType": "NUMERIC" }));
    for bad in [
        json!({ "name": "n" }),
        json!({ "name": "n", "value": true }),
        json!({ "name": "n", "value": 1.0, "dataType": "PERCENT" }),
        json!({ "name": "n", "value": 1.0, "metadata": [1] }),
        json!({ "name": "n", "value": 1.0, "timestamp": "2024-01-01T00:00:00Z" }),
    ] {
        assert!(
            !support::openapi::errors("CreateScoreRequest", &bad).is_empty(),
            "accepted {bad}"
        );
    }
    // OpenAPI's `nullable` is understood.
    assert_valid(&json!({ "name": "n", "value": "x", "comment": null, "dataType": null }));
}

#[test]
fn every_type_of_score_on_a_trace_arrives_as_one_valid_request_each() {
    own_process!();
    let receiver = Receiver::start();
    let langfuse = setup::init(&receiver);

    create_score(
        Score::numeric("relevance", 0.87)
            .trace_id(trace())
            .id("relevance-1")
            .comment("judged by a model")
            .metadata(&json!({ "judge": "gpt-4o", "rubric": { "version": 3 } }))
            .config_id("cfg-relevance"),
    );
    create_score(Score::boolean("resolved", true).trace_id(trace()));
    create_score(Score::categorical("sentiment", "positive").trace_id(trace()));
    create_score(Score::text("review", "Accurate and short.").trace_id(trace()));

    let report = langfuse.flush(WAIT);
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.scores_exported, 4, "{report:?}");

    let bodies = score_requests(&receiver);
    assert_eq!(bodies.len(), 4, "{bodies:?}");
    let scores = by_name(&bodies);
    assert_eq!(
        scores["relevance"],
        json!({
            "id": "relevance-1",
            "traceId": TRACE,
            "name": "relevance",
            "value": 0.87,
            "dataType": "NUMERIC",
            "comment": "judged by a model",
            "metadata": { "judge": "gpt-4o", "rubric": { "version": 3 } },
            "configId": "cfg-relevance",
        })
    );
    assert_eq!(scores["resolved"]["value"], json!(1.0));
    assert_eq!(scores["resolved"]["dataType"], "BOOLEAN");
    assert_eq!(scores["sentiment"]["value"], "positive");
    assert_eq!(scores["sentiment"]["dataType"], "CATEGORICAL");
    assert_eq!(scores["review"]["value"], "Accurate and short.");
    assert_eq!(scores["review"]["dataType"], "TEXT");

    // Scores without an id get a fresh one, so a retried request cannot duplicate them.
    let ids: HashSet<&str> = bodies.iter().map(|b| b["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 4);
    for body in &bodies {
        assert!(body.get("observationId").is_none());
        assert!(
            body.get("environment").is_none(),
            "no environment configured"
        );
    }

    let stats = langfuse.stats();
    assert_eq!(
        (stats.scores_created, stats.scores_exported),
        (4, 4),
        "{stats:?}"
    );
    assert_eq!(
        (stats.scores_dropped(), stats.scores_pending),
        (0, 0),
        "{stats:?}"
    );
    // Scores do not count as observations.
    assert_eq!((stats.started, stats.exported), (0, 0));
    assert!(receiver.trace_requests().is_empty());
}

#[test]
fn current_and_handle_scores_take_the_observation_and_trace_ids() {
    own_process!();
    let receiver = Receiver::start();
    let langfuse = setup::init(&receiver);

    // `#[observe]` makes an observation current the same way `enter` does.
    let mut parent = start_observation("parent").start();
    {
        let _current = parent.enter();
        score_current_span(Score::numeric("span-score", 1.0));
        score_current_trace(Score::boolean("trace-score", true));
        // The observation id of a score for the whole trace is cleared.
        score_current_trace(
            Score::numeric("trace-score-2", 2.0)
                .observation_id(ObservationId::from_u64(7).unwrap()),
        );
        let child = start_observation("child").start();
        child.score(Score::categorical("child-score", "ok"));
        child.score_trace(Score::text("child-trace-score", "fine"));
        child.end();
    }
    parent.end();

    assert!(langfuse.flush(WAIT).is_complete());
    let tree = Tree::new(receiver.wait_for_spans(2, WAIT));
    let (parent, child) = (tree.one("parent"), tree.one("child"));
    let scores = by_name(&score_requests(&receiver));
    assert_eq!(scores.len(), 5);
    for score in scores.values() {
        assert_eq!(score["traceId"], parent.trace_id());
    }
    assert_eq!(scores["span-score"]["observationId"], parent.span_id());
    assert_eq!(scores["child-score"]["observationId"], child.span_id());
    for name in ["trace-score", "trace-score-2", "child-trace-score"] {
        assert!(scores[name].get("observationId").is_none(), "{name}");
    }
    assert_eq!(langfuse.stats().scores_exported, 5);
}

#[test]
fn session_and_dataset_run_scores_carry_the_environment() {
    own_process!();
    let receiver = Receiver::start();
    let langfuse = setup::config_for(&receiver)
        .environment("staging")
        .init()
        .unwrap();

    create_score(Score::categorical("outcome", "resolved").session_id("chat-7"));
    create_score(
        Score::numeric("accuracy", 0.74)
            .dataset_run_id("run-1")
            .environment("evaluation"),
    );
    assert!(langfuse.flush(WAIT).is_complete());

    let scores = by_name(&score_requests(&receiver));
    assert_eq!(
        scores["outcome"],
        json!({
            "id": scores["outcome"]["id"],
            "sessionId": "chat-7",
            "name": "outcome",
            "value": "resolved",
            "dataType": "CATEGORICAL",
            "environment": "staging",
        })
    );
    assert_eq!(scores["accuracy"]["datasetRunId"], "run-1");
    assert_eq!(scores["accuracy"]["environment"], "evaluation");
    assert!(scores["accuracy"].get("traceId").is_none());
}

#[test]
fn a_503_and_a_429_are_retried_with_the_same_body() {
    own_process!();
    let receiver = Receiver::start();
    receiver.enqueue([
        Reply::status(503).with_body("busy"),
        Reply::status(429)
            .with_header("retry-after", "1")
            .with_body(r#"{"code":"rate_limited"}"#),
    ]);
    let langfuse = setup::init(&receiver);

    create_score(Score::numeric("latency", 182.0).session_id("s-1"));
    let report = langfuse.flush(WAIT);
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.scores_exported, 1);

    let requests = receiver.requests_to(SCORES_PATH);
    let statuses: Vec<u16> = requests.iter().map(|r| r.reply.status).collect();
    assert_eq!(statuses, [503, 429, 200]);
    assert!(requests.windows(2).all(|w| w[0].body == w[1].body));
    // Retry-After: 1 was honoured.
    assert!(requests[2].received_at - requests[1].received_at >= Duration::from_millis(950));
    score_requests(&receiver);
    let stats = langfuse.stats();
    assert_eq!((stats.scores_exported, stats.scores_dropped()), (1, 0));
}

#[test]
fn a_400_is_not_retried_and_is_counted() {
    own_process!();
    let receiver = Receiver::start();
    receiver.enqueue([Reply::status(400).with_body(r#"{"message":"Invalid score config"}"#)]);
    let langfuse = setup::init(&receiver);

    create_score(
        Score::numeric("quality", 3.0)
            .session_id("s-1")
            .config_id("cfg"),
    );
    let report = langfuse.flush(WAIT);
    assert_eq!(report.scores_dropped, 1, "{report:?}");
    assert_eq!(receiver.requests_to(SCORES_PATH).len(), 1);

    // The next score goes through.
    create_score(Score::numeric("quality", 4.0).session_id("s-1"));
    assert!(langfuse.flush(WAIT).is_complete());
    assert_eq!(receiver.requests_to(SCORES_PATH).len(), 2);
    score_requests(&receiver);

    let stats = langfuse.stats();
    assert_eq!(stats.scores_dropped_rejected, 1, "{stats:?}");
    assert_eq!(stats.scores_exported, 1, "{stats:?}");
    assert_eq!(stats.scores_created, 2, "{stats:?}");
}

#[test]
fn invalid_scores_never_reach_the_wire() {
    own_process!();
    let receiver = Receiver::start();
    let langfuse = setup::init(&receiver);

    let invalid = [
        Score::numeric("", 1.0).trace_id(trace()),
        Score::numeric("no-target", 1.0),
        Score::numeric("two-targets", 1.0)
            .trace_id(trace())
            .session_id("s"),
        Score::numeric("observation-alone", 1.0)
            .observation_id(ObservationId::from_u64(1).unwrap()),
        Score::numeric("nan", f64::NAN).trace_id(trace()),
        Score::numeric("infinite", f64::NEG_INFINITY).trace_id(trace()),
        Score::text("empty-text", "").trace_id(trace()),
        Score::text("long-text", "x".repeat(501)).trace_id(trace()),
        Score::numeric("array-metadata", 1.0)
            .trace_id(trace())
            .metadata(&[1, 2, 3]),
        Score::numeric("bad-environment", 1.0)
            .trace_id(trace())
            .environment("Production"),
        Score::numeric("reserved-environment", 1.0)
            .trace_id(trace())
            .environment("langfuse-eval"),
        Score::numeric("empty-session", 1.0).session_id(""),
    ];
    let count = invalid.len() as u64;
    for score in invalid {
        create_score(score);
    }
    // Outside any observation there is nothing to score.
    score_current_span(Score::numeric("no-current-span", 1.0));
    score_current_trace(Score::numeric("no-current-trace", 1.0));

    assert!(langfuse.flush(WAIT).is_complete());
    assert!(receiver.requests_to(SCORES_PATH).is_empty());
    let stats = langfuse.stats();
    assert_eq!(stats.scores_created, count + 2, "{stats:?}");
    assert_eq!(stats.scores_dropped_invalid, count + 2, "{stats:?}");
    assert_eq!(stats.scores_dropped(), count + 2, "{stats:?}");
    assert_eq!(stats.scores_exported, 0);
}

#[test]
fn scores_of_sampled_out_traces_are_dropped_and_counted() {
    own_process!();
    let receiver = Receiver::start();
    let langfuse = setup::config_for(&receiver)
        .sample_rate(0.0)
        .init()
        .unwrap();

    create_score(Score::numeric("explicit", 1.0).trace_id(trace()));
    let span = start_observation("sampled-out").start();
    span.score(Score::numeric("handle", 1.0));
    span.score_trace(Score::numeric("handle-trace", 1.0));
    span.end();
    {
        // A caller's trace, sampled out here too.
        let remote =
            ObservationContext::from_traceparent(&format!("00-{TRACE}-00f067aa0ba902b7-01"))
                .unwrap();
        let _current = remote.enter();
        score_current_span(Score::numeric("current", 1.0));
        score_current_trace(Score::numeric("current-trace", 1.0));
    }
    // A session has no trace to follow: it is sent.
    create_score(Score::numeric("session", 1.0).session_id("s-1"));

    assert!(langfuse.flush(WAIT).is_complete());
    let bodies = score_requests(&receiver);
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert_eq!(bodies[0]["name"], "session");
    let stats = langfuse.stats();
    assert_eq!(stats.scores_dropped_sampling, 5, "{stats:?}");
    assert_eq!(stats.scores_exported, 1, "{stats:?}");
    assert_eq!(stats.scores_created, 6, "{stats:?}");
}

#[test]
fn flush_waits_for_a_score_in_flight() {
    own_process!();
    let receiver = Receiver::start();
    receiver.enqueue([Reply::ok().after(Duration::from_millis(800))]);
    let langfuse = setup::config_for(&receiver)
        .flush_interval(Duration::from_secs(3600))
        .init()
        .unwrap();

    create_score(Score::boolean("slow", true).session_id("s-1"));
    let report = langfuse.flush(WAIT);
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.scores_exported, 1, "{report:?}");
    assert!(report.elapsed >= Duration::from_millis(700), "{report:?}");
    assert_eq!(receiver.requests_to(SCORES_PATH).len(), 1);
    assert_eq!(langfuse.stats().scores_pending, 0);
}

#[test]
fn shutdown_sends_queued_scores_then_refuses_new_ones() {
    own_process!();
    let receiver = Receiver::start();
    let langfuse = setup::init(&receiver);

    create_score(Score::numeric("before", 1.0).session_id("s-1"));
    let report = langfuse.shutdown(WAIT);
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.scores_exported, 1);

    create_score(Score::numeric("after", 1.0).session_id("s-1"));
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(receiver.requests_to(SCORES_PATH).len(), 1);
    let stats = langfuse.stats();
    assert_eq!(stats.scores_refused_after_shutdown, 1, "{stats:?}");
    assert_eq!(stats.scores_created, 1, "{stats:?}");
}

#[test]
fn what_is_left_at_shutdown_deadline_is_counted() {
    own_process!();
    let receiver = Receiver::start();
    receiver.respond_with(|_| Some(Reply::ok().after(Duration::from_secs(5))));
    let langfuse = setup::init(&receiver);

    create_score(Score::numeric("stuck", 1.0).session_id("s-1"));
    // Let the request start, so that one score is in flight when the deadline passes. (The
    // request to the scores path: the project lookup is a request too.)
    wait_until("the score's request", || {
        !receiver.requests_to(SCORES_PATH).is_empty()
    });
    let report = langfuse.shutdown(Duration::from_millis(300));
    assert!(report.timed_out, "{report:?}");
    assert!(report.elapsed < Duration::from_secs(2), "{report:?}");

    let stats = langfuse.stats();
    assert_eq!(stats.scores_dropped_after_shutdown, 1, "{stats:?}");
    assert_eq!((stats.scores_exported, stats.scores_pending), (0, 0));
}

#[test]
fn scores_given_before_init_wait_and_the_queue_is_bounded() {
    own_process!();
    let receiver = Receiver::start();
    // SAFETY: this test runs in a process of its own (`own_process!`), and only the receiver's
    // thread exists, which reads no environment.
    unsafe {
        std::env::set_var("LANGFUSE_PUBLIC_KEY", PUBLIC_KEY);
        std::env::set_var("LANGFUSE_SECRET_KEY", SECRET_KEY);
        std::env::set_var("LANGFUSE_BASE_URL", receiver.base_url());
    }
    // At most 10,000 scores wait; the one past that is dropped.
    const QUEUE: u64 = 10_000;
    for i in 0..=QUEUE {
        create_score(Score::numeric("early", i as f64).session_id("s-1"));
    }

    // The client starts and sends what waited; a short shutdown leaves the rest, counted.
    let langfuse = langfuse::init().expect("valid environment");
    let stats = langfuse.stats();
    assert_eq!(stats.scores_created, QUEUE + 1, "{stats:?}");
    assert_eq!(stats.scores_dropped_queue_full, 1, "{stats:?}");
    // Until the client has seen five of them accepted. (Waiting for five requests to reach the
    // receiver was not enough: on a busy machine the exporter had not read the answers yet when
    // the short shutdown below abandoned them.)
    wait_until("five scores exported", || {
        langfuse.stats().scores_exported >= 5
    });
    langfuse.shutdown(Duration::from_millis(200));
    let stats = langfuse.stats();
    assert!(stats.scores_exported >= 5, "{stats:?}");
    assert_eq!(stats.scores_pending, 0, "{stats:?}");
    assert_eq!(
        stats.scores_exported + stats.scores_dropped(),
        stats.scores_created,
        "every score is accounted for: {stats:?}"
    );
    assert!(stats.scores_dropped_after_shutdown > 0, "{stats:?}");
}

#[test]
fn scores_go_to_langfuse_when_spans_go_to_a_collector() {
    own_process!();
    let langfuse_server = Receiver::start();
    let collector = Receiver::start();
    let langfuse = setup::config_for(&langfuse_server)
        .otlp_traces_endpoint(collector.traces_url())
        .otlp_header("authorization", "Bearer collector-token")
        .header("x-team", "search")
        .init()
        .unwrap();

    let span = start_observation("work").start();
    span.score(Score::numeric("quality", 1.0));
    span.end();
    assert!(langfuse.flush(WAIT).is_complete());

    assert_eq!(collector.wait_for_spans(1, WAIT).len(), 1);
    assert!(collector.requests_to(SCORES_PATH).is_empty());
    assert!(langfuse_server.trace_requests().is_empty());
    let requests = langfuse_server.requests_to(SCORES_PATH);
    assert_eq!(requests.len(), 1);
    // Langfuse's credentials and the user's headers, never the collector's.
    assert_eq!(requests[0].header("x-team"), Some("search"));
    assert!(
        requests[0]
            .headers
            .iter()
            .all(|(_, value)| !value.contains("collector-token"))
    );
    score_requests(&langfuse_server);
}

#[test]
fn a_collector_without_langfuse_keys_drops_scores_with_a_count() {
    own_process!();
    let collector = Receiver::start();
    let langfuse = langfuse::Langfuse::builder()
        .ignore_environment()
        .base_url(collector.base_url())
        .otlp_traces_endpoint(collector.traces_url())
        .flush_interval(Duration::from_millis(50))
        .init()
        .unwrap();
    assert!(langfuse.is_enabled());

    create_score(Score::numeric("quality", 1.0).session_id("s-1"));
    create_score(Score::numeric("quality", 2.0).session_id("s-1"));
    assert!(langfuse.flush(WAIT).is_complete());
    assert!(collector.requests_to(SCORES_PATH).is_empty());
    let stats = langfuse.stats();
    assert_eq!(stats.scores_dropped_export_failed, 2, "{stats:?}");
}
