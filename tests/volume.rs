//! 100,000 observations from 8 threads, with the default settings, all arrive, each once.

mod support;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use langfuse::{Langfuse, Stats, observe};
use support::setup::{PUBLIC_KEY, SECRET_KEY, WAIT};
use support::{ReceivedSpan, Receiver};

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

/// The spans of the accepted exports, each request body counted once, for a flush that
/// returned complete (every batch was answered 2xx, and the receiver logs a request before it
/// answers, so nothing is still on its way). On a loaded machine the receiver can take longer
/// than the SDK's timeout (5 s by default) to answer a request it accepted; the SDK then sends
/// the batch again, as it must, since it cannot know that the first copy arrived (Langfuse
/// keeps one span per id). Such a resend is the same body, and there are no more of them than
/// retries; apart from them, every span must arrive exactly once.
fn spans_once(receiver: &Receiver, stats: &Stats) -> Vec<ReceivedSpan> {
    let mut bodies = HashSet::new();
    let mut resent = 0;
    let mut spans = Vec::new();
    for request in receiver.trace_requests() {
        if !request.accepted() {
            continue;
        }
        if !bodies.insert(request.body) {
            resent += 1;
            continue;
        }
        let export = request.export.expect("an accepted export was decoded");
        for resource_spans in export.resource_spans {
            let resource = resource_spans.resource.unwrap_or_default();
            for scope_spans in resource_spans.scope_spans {
                let scope = scope_spans.scope.unwrap_or_default();
                spans.extend(scope_spans.spans.into_iter().map(|span| ReceivedSpan {
                    span,
                    resource: resource.clone(),
                    scope: scope.clone(),
                }));
            }
        }
    }
    assert!(
        resent <= stats.retries,
        "{resent} batches arrived twice, after {} retries: {stats:?}",
        stats.retries
    );
    spans
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

    let spans = spans_once(&receiver, &stats);
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
