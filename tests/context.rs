//! Parents: nesting on one thread, across `.await` on a multi-threaded runtime where tasks
//! move between workers, siblings under `join!`/`select!`, and explicit propagation into
//! spawned tasks and threads.

mod support;

use std::time::Duration;

use langfuse::{ObservationExt as _, observe};
use support::Receiver;
use support::setup::{self, Tree, WAIT};

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
    let receiver = Receiver::start();
    let langfuse = setup::init(&receiver);

    assert_eq!(top(), 3);
    langfuse.flush(WAIT);

    let tree = Tree::new(receiver.wait_for_spans(5, WAIT));
    assert_eq!(tree.traces().len(), 1);
    tree.assert_child("middle", "top");
    let leaves = tree.all("leaf");
    assert_eq!(leaves.len(), 3);
    let middle = tree.one("middle");
    let top = tree.one("top");
    let under_middle = leaves
        .iter()
        .filter(|l| l.parent_span_id() == Some(middle.span_id()))
        .count();
    let under_top = leaves
        .iter()
        .filter(|l| l.parent_span_id() == Some(top.span_id()))
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
    let receiver = Receiver::start();
    let langfuse = setup::init(&receiver);
    const REQUESTS: usize = 64;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let tasks: Vec<_> = (0..REQUESTS).map(|i| tokio::spawn(async_root(i))).collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
    drop(runtime);
    langfuse.flush(WAIT);

    let tree = Tree::new(receiver.wait_for_spans(REQUESTS * 5, WAIT));
    let traces = tree.traces();
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
        assert_eq!(root.parent_span_id(), None);
        assert_eq!(middle.parent_span_id(), Some(root.span_id()));
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
            assert_eq!(leaf.parent_span_id(), Some(expected_parent.span_id()));
            assert!(leaf.span.start_time_unix_nano >= expected_parent.span.start_time_unix_nano);
            assert!(leaf.span.end_time_unix_nano <= expected_parent.span.end_time_unix_nano);
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
    let receiver = Receiver::start();
    let langfuse = setup::init(&receiver);

    concurrent_parent().await;
    langfuse.flush_async(WAIT).await;

    let tree = Tree::new(receiver.wait_for_spans(6, WAIT));
    let parent = tree.one("concurrent_parent");
    let siblings = tree.all("sibling");
    assert_eq!(
        siblings.len(),
        5,
        "three joined, two raced (the loser is cancelled)"
    );
    for sibling in siblings {
        assert_eq!(sibling.parent_span_id(), Some(parent.span_id()));
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
    let receiver = Receiver::start();
    let langfuse = setup::init(&receiver);

    spawner().await;
    langfuse.flush_async(WAIT).await;

    let tree = Tree::new(receiver.wait_for_spans(4, WAIT));
    let parent = tree.one("spawner");
    let children = tree.all("background_work");
    assert_eq!(children.len(), 3);
    let input_of =
        |s: &support::ReceivedSpan| s.str_attr("langfuse.observation.input").unwrap().to_owned();
    for child in children {
        if input_of(child) == r#"{"n":3}"# {
            assert_eq!(child.parent_span_id(), None);
            assert_ne!(child.trace_id(), parent.trace_id());
        } else {
            assert_eq!(child.parent_span_id(), Some(parent.span_id()));
            assert_eq!(child.trace_id(), parent.trace_id());
        }
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
    let receiver = Receiver::start();
    let langfuse = setup::init(&receiver);

    thread_parent();
    langfuse.flush(WAIT);

    let tree = Tree::new(receiver.wait_for_spans(2, WAIT));
    tree.assert_child("leaf", "thread_parent");
}

#[test]
fn ids_of_the_current_observation_are_visible_inside_it() {
    let receiver = Receiver::start();
    let langfuse = setup::init(&receiver);

    #[observe]
    fn report_ids() -> (String, String) {
        (
            langfuse::current_trace_id().unwrap().to_string(),
            langfuse::current_observation_id().unwrap().to_string(),
        )
    }

    assert!(langfuse::current_trace_id().is_none());
    let (trace_id, observation_id) = report_ids();
    assert!(langfuse::current_observation_id().is_none());
    langfuse.flush(WAIT);
    let span = &receiver.wait_for_spans(1, WAIT)[0];
    assert_eq!(span.trace_id(), trace_id);
    assert_eq!(span.span_id(), observation_id);
}
