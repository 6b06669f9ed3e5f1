//! 100,000 observations from 8 threads, with the default settings, all arrive, each once.

mod support;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use langfuse::{Langfuse, observe};
use support::Receiver;
use support::setup::{PUBLIC_KEY, SECRET_KEY, WAIT};

const THREADS: usize = 8;
const TRACES_PER_THREAD: usize = 1_250;
/// A root and nine children: 10 observations per trace.
const CHILDREN: usize = 9;
const TOTAL: usize = THREADS * TRACES_PER_THREAD * (1 + CHILDREN);

/// How long delivering `observations` may take: WAIT, plus a millisecond for each. The
/// exporter runs niced below the service: beside four busy threads on two cores it needed
/// about 0.4 ms an observation, twenty times its pace on an idle machine. A flush returns as
/// soon as everything is delivered, so a generous deadline costs nothing when all is well.
fn delivery_deadline(observations: u64) -> Duration {
    WAIT + Duration::from_millis(observations)
}

#[observe(capture_input = false, capture_output = false)]
fn child(i: usize) -> usize {
    i * 2
}

#[observe(capture_input = false, capture_output = false)]
fn root(thread: usize) -> usize {
    (0..CHILDREN).map(child).sum::<usize>() + thread
}

#[test]
fn a_hundred_thousand_observations_from_eight_threads_arrive_exactly_once() {
    own_process!();
    let receiver = Receiver::start();
    // Defaults everywhere except where to send.
    let langfuse = Langfuse::builder()
        .ignore_environment()
        .public_key(PUBLIC_KEY)
        .secret_key(SECRET_KEY)
        .base_url(receiver.base_url())
        .init()
        .unwrap();

    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            scope.spawn(move || {
                for _ in 0..TRACES_PER_THREAD {
                    std::hint::black_box(root(thread));
                }
            });
        }
    });

    let deadline = delivery_deadline(TOTAL as u64);
    let report = langfuse.flush(deadline);
    assert!(report.is_complete(), "{report:?}");
    let stats = langfuse.stats();
    assert_eq!(stats.started, TOTAL as u64);
    assert_eq!(stats.exported, TOTAL as u64, "{stats:?}");
    assert_eq!(stats.dropped(), 0, "{stats:?}");

    let spans = receiver.spans_once(&stats);
    assert_eq!(
        spans.len(),
        TOTAL,
        "every observation exactly once: {stats:?}"
    );
    // Ids compared as the bytes received: formatting 100,000 of them as hex took longer than
    // the checks themselves.
    let ids: HashSet<&[u8]> = spans.iter().map(|s| s.span.span_id.as_slice()).collect();
    assert_eq!(ids.len(), TOTAL, "no span id twice");

    let mut per_trace: HashMap<&[u8], Vec<_>> = HashMap::new();
    for span in &spans {
        per_trace
            .entry(span.span.trace_id.as_slice())
            .or_default()
            .push(span);
    }
    assert_eq!(per_trace.len(), THREADS * TRACES_PER_THREAD);
    for spans in per_trace.values() {
        assert_eq!(spans.len(), 1 + CHILDREN);
        let root = spans.iter().find(|s| s.name() == "root").expect("a root");
        assert_eq!(root.parent_span_id(), None);
        for span in spans.iter().filter(|s| s.name() == "child") {
            assert_eq!(span.span.parent_span_id, root.span.span_id);
        }
    }
}
