//! Flush and shutdown from every kind of caller (current-thread and multi-thread runtimes,
//! `spawn_blocking`, a plain thread, a task, the exporter thread itself through the mask),
//! deadlines against a server that never answers, idempotence, and the work refused after
//! shutdown. Complements `tests/lifecycle.rs`; each test runs in a process of its own
//! (`own_process!`: one client per process), so each shutdown context has its own test.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use langfuse::{LangfuseGuard, Score, Stats, observe};
use support::setup::{self, WAIT};
use support::{Receiver, Reply};

#[observe]
fn work(n: u32) -> u32 {
    n + 1
}

#[observe]
async fn async_work(n: u32) -> u32 {
    tokio::task::yield_now().await;
    n + 1
}

/// Longest a call given `deadline` may take: the deadline plus scheduling slack on a loaded
/// two-core machine. A deadlock would blow far past it.
fn by(deadline: Duration) -> Duration {
    deadline + Duration::from_secs(2)
}

#[track_caller]
fn assert_settled(stats: &Stats) {
    assert_eq!(
        stats.started,
        stats.exported + stats.dropped(),
        "everything exported or dropped with a reason: {stats:?}"
    );
    assert_eq!(stats.queue_depth, 0, "{stats:?}");
}

/// A receiver whose every answer takes a minute: requests hang for longer than any test.
fn hung_receiver() -> Receiver {
    let receiver = Receiver::start();
    receiver.respond_with(|_| Some(Reply::ok().after(Duration::from_secs(60))));
    receiver
}

fn init_hung(receiver: &Receiver) -> LangfuseGuard {
    setup::config_for(receiver)
        .timeout(Duration::from_secs(30))
        .init()
        .unwrap()
}

/// A current-thread runtime, the kind where a blocking wait on the runtime's own thread
/// would deadlock.
fn current_thread_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn shutdown_async_inside_a_current_thread_runtime() {
    own_process!();
    let receiver = Receiver::start();
    let guard = setup::init(&receiver);
    let runtime = current_thread_runtime();
    let report = runtime.block_on(async {
        assert_eq!(async_work(1).await, 2);
        work(2);
        guard.shutdown_async(WAIT).await
    });
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.exported, 2);
    assert_settled(&guard.stats());
    assert_eq!(receiver.spans().len(), 2);
}

#[test]
fn blocking_shutdown_inside_a_task_on_a_current_thread_runtime() {
    own_process!();
    // The opentelemetry-rust deadlock (#2715, #3176): a blocking call on the only executor
    // thread. Ours waits on the exporter's own thread and runtime, so it returns.
    let receiver = Receiver::start();
    let guard = setup::init(&receiver);
    let client = guard.client().clone();
    let runtime = current_thread_runtime();
    let report = runtime.block_on(async move {
        tokio::spawn(async move {
            async_work(1).await;
            client.shutdown(WAIT)
        })
        .await
        .unwrap()
    });
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(receiver.spans().len(), 1);
    drop(guard);
}

#[test]
fn shutdown_async_on_a_multi_thread_runtime_with_migrating_tasks() {
    own_process!();
    let receiver = Receiver::start();
    let guard = setup::init(&receiver);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let report = runtime.block_on(async {
        let tasks: Vec<_> = (0..20).map(|i| tokio::spawn(async_work(i))).collect();
        for task in tasks {
            task.await.unwrap();
        }
        let client = guard.client().clone();
        tokio::spawn(async move { client.shutdown_async(WAIT).await })
            .await
            .unwrap()
    });
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.exported, 20);
    assert_settled(&guard.stats());
}

#[test]
fn shutdown_from_spawn_blocking() {
    own_process!();
    let receiver = Receiver::start();
    let guard = setup::init(&receiver);
    let client = guard.client().clone();
    let runtime = current_thread_runtime();
    let report = runtime.block_on(async move {
        tokio::task::spawn_blocking(move || {
            work(1);
            client.shutdown(WAIT)
        })
        .await
        .unwrap()
    });
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(receiver.spans().len(), 1);
    drop(guard);
}

/// Recorder threads of [`shutdown_from_a_plain_thread_while_others_record`].
const RECORDERS: usize = 3;
/// Its queue bound and ring size: small, so that the work left for shutdown is bounded by
/// the configuration rather than by how fast the machine recorded before shutdown began.
const SMALL_QUEUE: usize = 500;
const SMALL_RING: usize = 16;

/// Polls `done` until it holds; panics, naming `what`, if `timeout` passes first.
#[track_caller]
fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "not within {timeout:?}: {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn shutdown_from_a_plain_thread_while_others_record() {
    own_process!();
    let receiver = Receiver::start();
    // With the default queue (200,000 observations) the recorders' head start filled it with
    // however many observations the machine managed, 20,000 and more, which the exporter (niced
    // below the three spinning recorders) then had to encode and send within the deadline: on
    // a busy two-core machine it did not. Bounded, shutdown has at most
    // `SMALL_QUEUE + RECORDERS × SMALL_RING` observations to deliver, one request, whatever the
    // machine's speed; the recorders' overflow is dropped and counted (`dropped_queue_full`),
    // which the accounting below includes.
    let guard = setup::config_for(&receiver)
        .max_queue_size(SMALL_QUEUE)
        .thread_buffer_size(SMALL_RING)
        .init()
        .unwrap();
    let client = guard.client().clone();
    let stop = Arc::new(AtomicUsize::new(0));
    let recorders: Vec<_> = (0..RECORDERS)
        .map(|_| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                while stop.load(Ordering::Relaxed) == 0 {
                    work(1);
                }
            })
        })
        .collect();
    // Shutdown begins while the recorders are busy: once they have recorded more than the
    // queue and their rings can hold, rather than after a guessed sleep.
    let bound = (SMALL_QUEUE + RECORDERS * SMALL_RING) as u64;
    wait_until("the recorders filled the queue", WAIT, || {
        guard.stats().started > 2 * bound
    });
    let report = std::thread::spawn(move || client.shutdown(WAIT))
        .join()
        .unwrap();
    // At most `bound` observations to deliver (plus the one each recorder had running, which
    // ends into its ring once the exporter made room there): one request. With six busy loops
    // beside the three recorders on two cores, the niced exporter needed under a second for
    // it; the deadline is ten.
    assert!(!report.timed_out, "{report:?}");
    assert!(
        report.exported <= bound + RECORDERS as u64,
        "bounded by the queue: {report:?}"
    );
    // The recorders keep going after shutdown returned: refused and counted.
    let refused_by_then = guard.stats().refused_after_shutdown;
    wait_until("a recording refused after shutdown returned", WAIT, || {
        guard.stats().refused_after_shutdown > refused_by_then
    });
    stop.store(1, Ordering::Relaxed);
    for recorder in recorders {
        recorder.join().unwrap();
    }
    let stats = guard.stats();
    // Observations that were running when shutdown began ended afterwards: they are dropped
    // after shutdown, and nothing stays pending.
    assert_settled(&stats);
    assert!(stats.refused_after_shutdown > 0, "{stats:?}");
    assert_eq!(receiver.spans().len() as u64, stats.exported);
}

#[test]
fn concurrent_shutdowns_all_return_and_one_does_the_work() {
    own_process!();
    let receiver = Receiver::start();
    let guard = setup::init(&receiver);
    for i in 0..10 {
        work(i);
    }
    let reports: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let client = guard.client().clone();
                scope.spawn(move || client.shutdown(WAIT))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(reports.iter().map(|r| r.exported).sum::<u64>(), 10);
    assert!(reports.iter().all(|r| !r.timed_out), "{reports:?}");
    assert_settled(&guard.stats());
    // And later calls, of any form, return at once.
    let runtime = current_thread_runtime();
    let started = Instant::now();
    runtime.block_on(async {
        assert_eq!(guard.shutdown_async(WAIT).await.exported, 0);
        assert_eq!(guard.flush_async(WAIT).await.exported, 0);
    });
    assert_eq!(guard.flush(WAIT).exported, 0);
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[test]
fn work_after_shutdown_is_refused_and_counted_observations_and_scores() {
    own_process!();
    let receiver = Receiver::start();
    let guard = setup::init(&receiver);
    work(1);
    langfuse::create_score(Score::numeric("quality", 0.5).session_id("s-1"));
    let report = guard.shutdown(WAIT);
    assert!(report.is_complete(), "{report:?}");

    assert!(!guard.is_enabled(), "a shut-down client says so");
    work(2);
    let runtime = current_thread_runtime();
    runtime.block_on(async_work(3));
    langfuse::start_observation("manual").start().end();
    langfuse::create_score(Score::numeric("quality", 1.0).session_id("s-1"));
    langfuse::create_score(Score::boolean("ok", true).session_id("s-1"));

    let stats = guard.stats();
    assert_eq!(stats.refused_after_shutdown, 3, "{stats:?}");
    assert_eq!(stats.scores_refused_after_shutdown, 2, "{stats:?}");
    assert_eq!((stats.exported, stats.scores_exported), (1, 1), "{stats:?}");
    assert_settled(&stats);
    assert_eq!(receiver.spans().len(), 1);
    assert_eq!(receiver.scores().len(), 1);
}

#[test]
fn an_observation_open_across_shutdown_is_counted_when_it_ends() {
    own_process!();
    let receiver = Receiver::start();
    let guard = setup::init(&receiver);
    let open = langfuse::start_observation("long-running").start();
    assert!(guard.shutdown(WAIT).is_complete());
    open.end();
    let stats = guard.stats();
    assert_eq!(stats.dropped_after_shutdown, 1, "{stats:?}");
    assert_settled(&stats);
}

#[test]
fn flush_and_shutdown_async_keep_their_deadlines_inside_a_current_thread_runtime() {
    own_process!();
    let receiver = hung_receiver();
    let guard = init_hung(&receiver);
    let runtime = current_thread_runtime();
    runtime.block_on(async {
        async_work(1).await;
        let deadline = Duration::from_millis(300);
        let started = Instant::now();
        let report = guard.flush_async(deadline).await;
        assert!(report.timed_out && report.pending == 1, "{report:?}");
        assert!(started.elapsed() < by(deadline), "{:?}", started.elapsed());
        let started = Instant::now();
        let report = guard.shutdown_async(deadline).await;
        assert!(!report.is_complete(), "{report:?}");
        assert!(started.elapsed() < by(deadline), "{:?}", started.elapsed());
    });
    let stats = guard.stats();
    assert_eq!(stats.dropped_after_shutdown, 1, "{stats:?}");
    assert_settled(&stats);
}

#[test]
fn dropping_the_guard_against_a_hung_server_returns_within_the_timeout() {
    own_process!();
    let receiver = hung_receiver();
    let timeout = Duration::from_millis(400);
    let guard = setup::config_for(&receiver)
        .timeout(timeout)
        .init()
        .unwrap();
    let client = guard.client().clone();
    work(1);
    let started = Instant::now();
    drop(guard);
    assert!(started.elapsed() < by(timeout), "{:?}", started.elapsed());
    assert!(!client.is_enabled());
    let stats = client.stats();
    assert_eq!(stats.exported, 0);
    assert_settled(&stats);
}

#[test]
fn a_mask_that_flushes_or_shuts_down_cannot_deadlock_the_exporter() {
    own_process!();
    // The mask runs on the exporter thread: a flush or shutdown from there would wait on the
    // very thread that must answer. They return at once instead.
    let receiver = Receiver::start();
    let guard = setup::config_for(&receiver)
        .mask(|value| {
            let client = langfuse::get_client();
            let started = Instant::now();
            client.flush(Duration::from_secs(30));
            client.shutdown(Duration::from_secs(30));
            assert!(started.elapsed() < Duration::from_secs(1));
            value
        })
        .init()
        .unwrap();
    work(1);
    let report = guard.flush(WAIT);
    assert!(report.is_complete(), "{report:?}");
    assert!(guard.is_enabled(), "the exporter's calls were no-ops");
    assert_eq!(receiver.spans().len(), 1);
    assert!(guard.shutdown(WAIT).is_complete());
}

#[test]
fn flush_inside_an_observed_function_includes_what_ended_before_it() {
    own_process!();
    #[observe]
    fn handler(client: &langfuse::Langfuse) -> u64 {
        work(1);
        client.flush(WAIT).exported
    }
    let receiver = Receiver::start();
    let guard = setup::init(&receiver);
    assert_eq!(
        handler(guard.client()),
        1,
        "the child, not the still-open handler"
    );
    assert!(guard.shutdown(WAIT).is_complete());
    assert_eq!(receiver.spans().len(), 2);
}
