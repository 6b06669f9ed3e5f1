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
use support::Receiver;
use support::setup;

const THREADS: u64 = 16;
const TREES_PER_THREAD: u64 = 60;
const TASKS: u64 = 400;
/// Trees are at most this deep, with up to `MAX_CHILDREN` children per node.
const MAX_DEPTH: u32 = 4;
const MAX_CHILDREN: u32 = 4;

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

    let report = guard.flush(Duration::from_secs(60));
    assert!(report.is_complete(), "{report:?}");
    let created = std::mem::take(&mut *CREATED.lock().unwrap());
    let stats = guard.stats();
    assert_eq!(stats.started, created.len() as u64, "{stats:?}");
    assert_eq!(stats.queue_depth, 0, "{stats:?}");

    let spans = receiver.wait_for_spans(stats.exported as usize, Duration::from_secs(60));
    assert_eq!(
        spans.len() as u64 + stats.dropped(),
        created.len() as u64,
        "received + dropped == created: {stats:?}"
    );
    assert_eq!(spans.len() as u64, stats.exported);

    let mut seen = HashSet::new();
    for span in &spans {
        assert!(seen.insert(span.span_id()), "span {} twice", span.span_id());
    }
    let created_by_id: HashMap<String, &Created> =
        created.iter().map(|c| (c.1.to_string(), c)).collect();
    assert_eq!(created_by_id.len(), created.len(), "ids are unique");
    let received: HashMap<String, String> =
        spans.iter().map(|s| (s.span_id(), s.trace_id())).collect();
    for span in &spans {
        let (trace, _, parent) = created_by_id
            .get(&span.span_id())
            .unwrap_or_else(|| panic!("span {} was never created", span.span_id()));
        assert_eq!(span.trace_id(), trace.to_string());
        assert_eq!(
            span.parent_span_id(),
            parent.map(|p| p.to_string()),
            "the parent it ran under"
        );
        if let Some(parent) = span.parent_span_id() {
            let (parent_trace, _, _) = created_by_id[&parent];
            assert_eq!(span.trace_id(), parent_trace.to_string(), "same trace");
            if stats.dropped() == 0 {
                assert_eq!(received.get(&parent), Some(&span.trace_id()));
            }
        }
    }
    // Big enough to mean something: thousands of trees, tens of thousands of observations.
    assert!(created.len() > 10_000, "{}", created.len());
}
