//! Head sampling end to end: the share of recorded traces matches `sample_rate`, the decision
//! taken at the root holds for everything in the trace (children, spawned tasks, threads,
//! scores), and a trace continued from a `traceparent` is kept or dropped by the same trace-id
//! rule every service applies, so a distributed trace is never half recorded.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use langfuse::{
    ObservationContext, Score, TraceId, continue_trace, create_score, create_trace_id, observe,
    score_current_span, score_current_trace, start_observation,
};
use support::Receiver;
use support::setup::{self, Tree, WAIT};

const RATE: f64 = 0.25;

/// The sampling rule, written out independently of the SDK: keep the trace when the low 64
/// bits of its id are below `rate × 2^64`. For a rate of 0.25 that bound is exactly 2^62.
fn kept(trace_id: &str) -> bool {
    assert_eq!(RATE, 0.25, "the bound below is worked out for 0.25");
    let value = u128::from_str_radix(trace_id, 16).expect("a hex trace id");
    (value as u64) < 1u64 << 62
}

#[observe(capture_input = false, capture_output = false)]
fn root_request() {}

/// How long delivering `observations` may take: WAIT, plus a millisecond for each. The
/// exporter runs niced below the service: beside four busy threads on two cores it needed
/// about 0.4 ms an observation, twenty times its pace on an idle machine. A flush returns as
/// soon as everything is delivered, so a generous deadline costs nothing when all is well.
fn delivery_deadline(observations: u64) -> Duration {
    WAIT + Duration::from_millis(observations)
}

#[test]
fn the_share_of_recorded_traces_matches_the_sample_rate() {
    own_process!();
    let receiver = Receiver::start();
    let langfuse = setup::config_for(&receiver)
        .sample_rate(RATE)
        .init()
        .unwrap();

    const TRACES: u64 = 100_000;
    for _ in 0..TRACES {
        root_request();
    }
    // About 25,000 traces are recorded, one span each.
    let deadline = delivery_deadline(langfuse.stats().started);
    assert!(langfuse.flush(deadline).is_complete());

    let stats = langfuse.stats();
    assert_eq!(stats.started + stats.dropped_sampling, TRACES);
    assert_eq!(stats.dropped(), 0);
    let spans = receiver.wait_for_spans(stats.started as usize, deadline);
    let trace_ids: BTreeSet<String> = spans.iter().map(|s| s.trace_id()).collect();
    assert_eq!(trace_ids.len() as u64, stats.started, "one span per trace");
    assert!(
        trace_ids.iter().all(|id| kept(id)),
        "every recorded trace satisfies the rule"
    );

    // Trace ids are uniformly random, so the number of recorded traces is binomial:
    // n = 100,000 trials with p = 0.25, mean n·p = 25,000 and standard deviation
    // sqrt(n·p·(1-p)) = sqrt(18,750) ≈ 136.9. Accepting 6 standard deviations (±822, a rate
    // within ±0.0082 of 0.25) fails a correct sampler with probability below 2·10⁻⁹ (the
    // normal tail beyond 6σ), while a sampler off by a single percentage point (0.24 or 0.26,
    // 1,000 traces away) is caught at more than 7σ.
    let recorded = trace_ids.len() as f64;
    let mean = TRACES as f64 * RATE;
    let sd = (TRACES as f64 * RATE * (1.0 - RATE)).sqrt();
    assert!(
        (recorded - mean).abs() <= 6.0 * sd,
        "{recorded} traces recorded, expected {mean} ± {:.0}",
        6.0 * sd
    );
}

#[observe(capture_input = false, capture_output = false)]
fn sync_child() {}

#[observe(capture_input = false, capture_output = false)]
async fn task_child() {
    tokio::task::yield_now().await;
}

#[observe(capture_input = false, capture_output = false)]
fn thread_child() {}

/// A request that fans out to a spawned task and a thread and scores itself. Returns its
/// `traceparent`, which exists whether or not the trace is recorded.
#[observe(capture_input = false, capture_output = false)]
async fn fanning_out_request() -> String {
    let traceparent = langfuse::current_traceparent().expect("inside an observation");
    sync_child();
    langfuse::spawn(task_child()).await.unwrap();
    let context = langfuse::current_context();
    std::thread::spawn(move || {
        let _entered = context.enter();
        thread_child();
    })
    .join()
    .unwrap();
    score_current_span(Score::numeric("span-quality", 0.9));
    score_current_trace(Score::boolean("resolved", true));
    traceparent
}

#[test]
fn the_root_decision_holds_for_children_tasks_threads_and_scores() {
    own_process!();
    let receiver = Receiver::start();
    let langfuse = setup::config_for(&receiver)
        .sample_rate(RATE)
        .init()
        .unwrap();
    const REQUESTS: usize = 400;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let traceparents: Vec<String> = runtime.block_on(async {
        let mut traceparents = Vec::new();
        for _ in 0..REQUESTS {
            traceparents.push(fanning_out_request().await);
        }
        traceparents
    });
    drop(runtime);

    // Scores given for explicit trace ids follow the same rule.
    let seeded: Vec<TraceId> = (0..40)
        .map(|i| create_trace_id(Some(&format!("order-{i}"))))
        .collect();
    for trace_id in &seeded {
        create_score(Score::numeric("order-score", 1.0).trace_id(*trace_id));
    }
    assert!(langfuse.flush(WAIT).is_complete());

    // Which traces should be recorded, by the rule alone.
    let mut expected: BTreeSet<String> = BTreeSet::new();
    for traceparent in &traceparents {
        let fields: Vec<&str> = traceparent.split('-').collect();
        let (trace_id, flags) = (fields[1], fields[3]);
        let keep = kept(trace_id);
        assert_eq!(flags, if keep { "01" } else { "00" }, "{traceparent}");
        if keep {
            expected.insert(trace_id.to_owned());
        }
    }
    let dropped = REQUESTS - expected.len();
    assert!(!expected.is_empty() && dropped > 0, "both outcomes occur");

    let stats = langfuse.stats();
    assert_eq!(stats.started as usize, expected.len() * 4);
    assert_eq!(
        stats.dropped_sampling as usize,
        dropped * 4,
        "the root and its three children, each counted"
    );

    let tree = Tree::new(receiver.wait_for_spans(expected.len() * 4, WAIT));
    assert_eq!(tree.spans.len(), expected.len() * 4);
    let traces = tree.traces();
    assert_eq!(
        traces.keys().cloned().collect::<BTreeSet<_>>(),
        expected,
        "exactly the kept traces arrive, none partially"
    );
    for spans in traces.values() {
        let by_name: BTreeMap<&str, _> = spans.iter().map(|s| (s.name(), *s)).collect();
        assert_eq!(
            by_name.keys().copied().collect::<Vec<_>>(),
            [
                "fanning_out_request",
                "sync_child",
                "task_child",
                "thread_child"
            ]
        );
        let root = by_name["fanning_out_request"];
        for child in ["sync_child", "task_child", "thread_child"] {
            assert_eq!(
                by_name[child].parent_span_id(),
                Some(root.span_id()),
                "{child}"
            );
        }
    }

    let scores = receiver.scores();
    let scored_traces = |name: &str| -> Vec<String> {
        scores
            .iter()
            .filter(|s| s["name"] == name)
            .map(|s| s["traceId"].as_str().unwrap().to_owned())
            .collect()
    };
    for name in ["span-quality", "resolved"] {
        let traces = scored_traces(name);
        assert_eq!(
            traces.iter().cloned().collect::<BTreeSet<_>>(),
            expected,
            "{name}"
        );
        assert_eq!(traces.len(), expected.len(), "{name}: one per kept trace");
    }
    let seeded_kept: BTreeSet<String> = seeded
        .iter()
        .map(TraceId::to_string)
        .filter(|id| kept(id))
        .collect();
    assert_eq!(
        scored_traces("order-score")
            .into_iter()
            .collect::<BTreeSet<_>>(),
        seeded_kept
    );
    assert_eq!(
        stats.scores_dropped_sampling as usize,
        dropped * 2 + (seeded.len() - seeded_kept.len())
    );
}

#[observe(capture_input = false, capture_output = false)]
fn backend_step() {}

#[observe(capture_output = false)]
async fn backend_handler(request: usize) {
    tokio::task::yield_now().await;
    backend_step();
    let _ = request;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_continued_trace_is_kept_or_dropped_by_the_trace_id_rule() {
    own_process!();
    let receiver = Receiver::start();
    let langfuse = setup::config_for(&receiver)
        .sample_rate(RATE)
        .init()
        .unwrap();
    const CALLS: usize = 200;

    let mut expected = BTreeSet::new();
    for request in 0..CALLS {
        // Trace ids another service would derive from a shared key. The caller's flag is set
        // against the rule on purpose: the decision comes from the id, not the flag.
        let trace_id = create_trace_id(Some(&format!("request-{request}"))).to_string();
        let keep = kept(&trace_id);
        if keep {
            expected.insert(trace_id.clone());
        }
        let flags = if keep { "00" } else { "01" };
        let traceparent = format!("00-{trace_id}-00f067aa0ba902b7-{flags}");
        if request % 2 == 0 {
            continue_trace(&traceparent, backend_handler(request)).await;
        } else {
            let remote = ObservationContext::from_traceparent(&traceparent).unwrap();
            start_observation("manual-handler")
                .parent(remote)
                .start()
                .end();
        }
    }
    assert!(langfuse.flush_async(WAIT).await.is_complete());
    assert!(!expected.is_empty() && expected.len() < CALLS);

    let stats = langfuse.stats();
    let async_kept = (0..CALLS)
        .step_by(2)
        .filter(|i| {
            let id = create_trace_id(Some(&format!("request-{i}"))).to_string();
            kept(&id)
        })
        .count();
    let spans_expected = async_kept * 2 + (expected.len() - async_kept);
    assert_eq!(stats.started as usize, spans_expected);

    let tree = Tree::new(receiver.wait_for_spans(spans_expected, WAIT));
    assert_eq!(tree.spans.len(), spans_expected);
    let traces = tree.traces();
    assert_eq!(traces.keys().cloned().collect::<BTreeSet<_>>(), expected);
    for span in &tree.spans {
        let first_here = span.name() != "backend_step";
        for key in ["langfuse.internal.as_root", "langfuse.internal.is_app_root"] {
            assert_eq!(
                span.bool_attr(key),
                first_here.then_some(true),
                "{} {key}",
                span.name()
            );
        }
        if first_here {
            assert_eq!(span.parent_span_id().as_deref(), Some("00f067aa0ba902b7"));
        }
    }
}
