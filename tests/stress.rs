//! Concurrency: 16 threads and a multi-thread runtime's migrating tasks build random trees of
//! observations (from fixed seeds, so a failure replays). Every observation created arrives
//! or is counted as dropped, no span id arrives twice, and every parent exists in the same
//! trace.

mod support;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use langfuse::{ObservationId, TraceId, observe};
use support::setup::{self, WAIT};
use support::{ReceivedSpan, Receiver};

const THREADS: u64 = 16;
const TREES_PER_THREAD: u64 = 60;
const TASKS: u64 = 400;
/// Trees are at most this deep, with up to `MAX_CHILDREN` children per node.
const MAX_DEPTH: u32 = 4;
const MAX_CHILDREN: u32 = 4;

/// How long delivering `observations` may take: WAIT, plus a millisecond for each. The
/// exporter runs niced below the service: beside four busy threads on two cores it needed
/// about 0.4 ms an observation, twenty times its pace on an idle machine. A flush returns as
/// soon as everything is delivered, so a generous deadline costs nothing when all is well.
fn delivery_deadline(observations: u64) -> Duration {
    WAIT + Duration::from_millis(observations)
}

/// What a node saw of itself while it ran: `(trace, id, parent)`.
type Created = (TraceId, ObservationId, Option<ObservationId>);

static CREATED: Mutex<Vec<Created>> = Mutex::new(Vec::new());

fn created(parent: Option<ObservationId>) -> ObservationId {
    let trace = langfuse::current_trace_id().expect("inside a recorded observation");
    let id = langfuse::current_observation_id().expect("inside a recorded observation");
    CREATED.lock().unwrap().push((trace, id, parent));
    id
}

#[observe(capture_input = false, capture_output = false)]
fn node(seed: u64, depth: u32, parent: Option<ObservationId>) {
    let id = created(parent);
    let mut rng = fastrand::Rng::with_seed(seed);
    if depth < MAX_DEPTH {
        for _ in 0..rng.u32(0..=MAX_CHILDREN) {
            node(rng.u64(..), depth + 1, Some(id));
        }
    }
}

#[observe(capture_input = false, capture_output = false)]
async fn async_node(seed: u64, depth: u32, parent: Option<ObservationId>) {
    let id = created(parent);
    let mut rng = fastrand::Rng::with_seed(seed);
    if depth >= MAX_DEPTH {
        return;
    }
    let mut spawned = Vec::new();
    for _ in 0..rng.u32(0..=MAX_CHILDREN) {
        let child_seed = rng.u64(..);
        match rng.u8(0..4) {
            // A child on another task, possibly another worker thread, carrying the context.
            0 => spawned.push(langfuse::spawn(boxed_node(child_seed, depth + 1, Some(id)))),
            // A synchronous child subtree.
            1 => node(child_seed, depth + 1, Some(id)),
            // An awaited child; the yields give the runtime a chance to move this task.
            _ => {
                tokio::task::yield_now().await;
                boxed_node(child_seed, depth + 1, Some(id)).await;
            }
        }
        tokio::task::yield_now().await;
    }
    for child in spawned {
        child.await.unwrap();
    }
}

/// The recursion of `async_node` goes through a named, `Send` type.
fn boxed_node(
    seed: u64,
    depth: u32,
    parent: Option<ObservationId>,
) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async_node(seed, depth, parent))
}

fn span_id(span: &ReceivedSpan) -> ObservationId {
    let bytes = span.span.span_id.as_slice().try_into().expect("8 bytes");
    ObservationId::from_bytes(bytes).expect("a valid span id")
}

fn trace_id(span: &ReceivedSpan) -> TraceId {
    let bytes = span.span.trace_id.as_slice().try_into().expect("16 bytes");
    TraceId::from_bytes(bytes).expect("a valid trace id")
}

fn parent_id(span: &ReceivedSpan) -> Option<ObservationId> {
    let bytes = span.span.parent_span_id.as_slice();
    (!bytes.is_empty())
        .then(|| ObservationId::from_bytes(bytes.try_into().expect("8 bytes")).expect("valid"))
}

#[test]
fn random_trees_from_threads_and_migrating_tasks_arrive_whole() {
    own_process!();
    let receiver = Receiver::start();
    let guard = setup::config_for(&receiver)
        .flush_interval(Duration::from_millis(20))
        .init()
        .unwrap();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            scope.spawn(move || {
                let mut rng = fastrand::Rng::with_seed(thread);
                for _ in 0..TREES_PER_THREAD {
                    node(rng.u64(..), 0, None);
                }
            });
        }
        runtime.block_on(async {
            let mut rng = fastrand::Rng::with_seed(0xA5);
            let roots: Vec<_> = (0..TASKS)
                .map(|_| tokio::spawn(async_node(rng.u64(..), 0, None)))
                .collect();
            for root in roots {
                root.await.unwrap();
            }
        });
    });
    drop(runtime);

    let created = std::mem::take(&mut *CREATED.lock().unwrap());
    let deadline = delivery_deadline(created.len() as u64);
    let report = guard.flush(deadline);
    assert!(report.is_complete(), "{report:?}");
    let stats = guard.stats();
    assert_eq!(stats.started, created.len() as u64, "{stats:?}");
    assert_eq!(stats.queue_depth, 0, "{stats:?}");

    let spans = receiver.spans_once(&stats);
    assert_eq!(
        spans.len() as u64 + stats.dropped(),
        created.len() as u64,
        "received + dropped == created: {stats:?}"
    );
    assert_eq!(spans.len() as u64, stats.exported);

    // Ids compared as the SDK's types, read from the bytes received: formatting tens of
    // thousands of them as hex took longer than the checks themselves.
    let mut seen = HashSet::new();
    for span in &spans {
        let id = span_id(span);
        assert!(seen.insert(id), "span {id} twice");
    }
    let created_by_id: HashMap<ObservationId, &Created> =
        created.iter().map(|c| (c.1, c)).collect();
    assert_eq!(created_by_id.len(), created.len(), "ids are unique");
    let received: HashMap<ObservationId, TraceId> =
        spans.iter().map(|s| (span_id(s), trace_id(s))).collect();
    for span in &spans {
        let id = span_id(span);
        let (trace, _, parent) = created_by_id
            .get(&id)
            .unwrap_or_else(|| panic!("span {id} was never created"));
        assert_eq!(trace_id(span), *trace);
        assert_eq!(parent_id(span), *parent, "the parent it ran under");
        if let Some(parent) = parent_id(span) {
            let (parent_trace, _, _) = created_by_id[&parent];
            assert_eq!(trace_id(span), *parent_trace, "same trace");
            if stats.dropped() == 0 {
                assert_eq!(received.get(&parent), Some(&trace_id(span)));
            }
        }
    }
    // Big enough to mean something: thousands of trees, tens of thousands of observations.
    assert!(created.len() > 10_000, "{}", created.len());
}
