//! Parents: nesting on one thread, across `.await` on a multi-threaded runtime where tasks
//! move between workers, siblings under `join!`/`select!`, and explicit propagation into
//! spawned tasks and threads.
//!
//! The trees are read from the in-memory recorder (`langfuse::testing`), which follows the
//! context to every thread and task it travels to. One test also uses the client this binary
//! shares (`support::setup::shared`): a task spawned without the context starts a trace of its
//! own outside the recorder, and that trace is exported like any other.

mod support;

use std::time::Duration;

use langfuse::testing::{self, Recorder};
use langfuse::{ObservationExt as _, observe};
use support::recorded::{self, Attributes as _};
use support::setup::{self, WAIT};
use support::{ReceivedSpan, Receiver};

#[observe]
fn leaf() -> u32 {
    1
}

#[observe]
fn middle() -> u32 {
    leaf() + leaf()
}

#[observe]
fn top() -> u32 {
    middle() + leaf()
}

#[test]
fn sync_calls_nest_on_one_thread() {
    let recorder = Recorder::new();
    assert_eq!(recorder.in_scope(top), 3);

    let recording = recorder.recording();
    assert_eq!(recording.len(), 5);
    assert_eq!(recording.traces().len(), 1);
    recorded::assert_child(&recording, "middle", "top");
    let leaves = recording.all("leaf");
    assert_eq!(leaves.len(), 3);
    let middle = recording.one("middle");
    let top = recording.one("top");
    let under_middle = leaves
        .iter()
        .filter(|l| l.parent_id() == Some(middle.id()))
        .count();
    let under_top = leaves
        .iter()
        .filter(|l| l.parent_id() == Some(top.id()))
        .count();
    assert_eq!((under_middle, under_top), (2, 1));
}

#[observe]
async fn async_leaf(request: usize, step: usize) -> usize {
    // Yield and sleep so the task is likely to resume on another worker.
    tokio::task::yield_now().await;
    tokio::time::sleep(Duration::from_millis(1)).await;
    request * 10 + step
}

#[observe]
async fn async_middle(request: usize) -> usize {
    let a = async_leaf(request, 1).await;
    tokio::task::yield_now().await;
    let b = async_leaf(request, 2).await;
    a + b
}

#[observe]
async fn async_root(request: usize) -> usize {
    let sum = async_middle(request).await;
    tokio::time::sleep(Duration::from_millis(1)).await;
    sum + async_leaf(request, 3).await
}

#[test]
fn async_calls_keep_their_parent_across_awaits_and_worker_threads() {
    let recorder = Recorder::new();
    const REQUESTS: usize = 64;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let tasks: Vec<_> = (0..REQUESTS)
            .map(|i| tokio::spawn(recorder.instrument(async_root(i))))
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
    drop(runtime);

    let recording = recorder.recording();
    assert_eq!(recording.len(), REQUESTS * 5);
    let traces = recorded::traces(&recording);
    assert_eq!(
        traces.len(),
        REQUESTS,
        "one trace per request, none split or merged"
    );
    for spans in traces.values() {
        let find = |name: &str| -> Vec<_> { spans.iter().filter(|s| s.name() == name).collect() };
        let (root, middle, leaves) = (find("async_root"), find("async_middle"), find("async_leaf"));
        assert_eq!((root.len(), middle.len(), leaves.len()), (1, 1, 3));
        let (root, middle) = (root[0], middle[0]);
        assert_eq!(root.parent_id(), None);
        assert_eq!(middle.parent_id(), Some(root.id()));
        let request: usize = root
            .str_attr("langfuse.observation.input")
            .and_then(|i| serde_json::from_str::<serde_json::Value>(i).ok())
            .and_then(|v| v["request"].as_u64())
            .unwrap() as usize;
        for leaf in leaves {
            let input: serde_json::Value =
                serde_json::from_str(leaf.str_attr("langfuse.observation.input").unwrap()).unwrap();
            assert_eq!(
                input["request"], request,
                "a leaf of another request joined this trace"
            );
            let expected_parent = if input["step"] == 3 { root } else { middle };
            assert_eq!(leaf.parent_id(), Some(expected_parent.id()));
            assert!(leaf.start_time() >= expected_parent.start_time());
            assert!(leaf.end_time() <= expected_parent.end_time());
        }
    }
}

#[observe]
async fn sibling(name: &'static str, delay_ms: u64) -> &'static str {
    tokio::time::sleep(Duration::from_millis(delay_ms)).await;
    name
}

#[observe]
async fn concurrent_parent() -> usize {
    let (a, b, c) = tokio::join!(sibling("a", 3), sibling("b", 1), sibling("c", 2));
    let winner = tokio::select! {
        first = sibling("fast", 1) => first,
        second = sibling("slow", 500) => second,
    };
    a.len() + b.len() + c.len() + winner.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_and_select_siblings_share_their_parent() {
    let recording = testing::record_async(concurrent_parent()).await;

    assert_eq!(recording.len(), 6);
    let parent = recording.one("concurrent_parent");
    let siblings = recording.all("sibling");
    assert_eq!(
        siblings.len(),
        5,
        "three joined, two raced (the loser is cancelled)"
    );
    for sibling in siblings {
        assert_eq!(sibling.parent_id(), Some(parent.id()));
        assert_eq!(sibling.trace_id(), parent.trace_id());
    }
}

#[observe]
async fn background_work(n: u32) -> u32 {
    tokio::time::sleep(Duration::from_millis(1)).await;
    n + 1
}

#[observe]
async fn spawner() -> u32 {
    let with_spawn = langfuse::spawn(background_work(1));
    let with_extension = tokio::spawn(background_work(2).in_current_observation());
    // Without propagation a spawned task starts a trace of its own, as documented.
    let detached = tokio::spawn(background_work(3));
    with_spawn.await.unwrap() + with_extension.await.unwrap() + detached.await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawned_tasks_keep_the_parent_only_when_asked() {
    // The task spawned without the context starts its trace outside the recorder, where the
    // binary's client exports it.
    let receiver = setup::shared();
    let recording = testing::record_async(spawner()).await;

    let parent = recording.one("spawner");
    let carried = recording.all("background_work");
    assert_eq!(
        carried.len(),
        2,
        "the two tasks given the context: {recording}"
    );
    for child in carried {
        assert_ne!(
            child.str_attr("langfuse.observation.input"),
            Some(r#"{"n":3}"#)
        );
        assert_eq!(child.parent_id(), Some(parent.id()));
        assert_eq!(child.trace_id(), parent.trace_id());
    }
    let detached = wait_for_span(receiver, |s| {
        s.name() == "background_work"
            && s.str_attr("langfuse.observation.input") == Some(r#"{"n":3}"#)
    });
    assert_eq!(detached.parent_span_id(), None);
    assert_ne!(detached.trace_id(), parent.trace_id().to_string());
}

/// The first span `matches` accepts among those `receiver` received, waiting for more requests
/// until one arrives (each wait up to [`WAIT`]).
fn wait_for_span(receiver: &Receiver, matches: impl Fn(&ReceivedSpan) -> bool) -> ReceivedSpan {
    loop {
        let seen = receiver.requests().len();
        if let Some(span) = receiver.spans().into_iter().find(&matches) {
            return span;
        }
        receiver.wait_for_requests(seen + 1, WAIT);
    }
}

#[observe]
fn thread_parent() -> u32 {
    let context = langfuse::current_context();
    assert_eq!(context.trace_id(), langfuse::current_trace_id());
    std::thread::spawn(move || {
        let _entered = context.enter();
        leaf()
    })
    .join()
    .unwrap()
}

#[test]
fn threads_join_the_trace_through_current_context() {
    let recording = testing::record(thread_parent);

    assert_eq!(recording.len(), 2);
    recorded::assert_child(&recording, "leaf", "thread_parent");
}

#[test]
fn ids_of_the_current_observation_are_visible_inside_it() {
    #[observe]
    fn report_ids() -> (String, String) {
        (
            langfuse::current_trace_id().unwrap().to_string(),
            langfuse::current_observation_id().unwrap().to_string(),
        )
    }

    let recorder = Recorder::new();
    assert!(langfuse::current_trace_id().is_none());
    let (trace_id, observation_id) = recorder.in_scope(report_ids);
    assert!(langfuse::current_observation_id().is_none());
    let recording = recorder.recording();
    let span = &recording.observations()[0];
    assert_eq!(span.trace_id().to_string(), trace_id);
    assert_eq!(span.id().to_string(), observation_id);
}
