//! Instructions per observation on the calling thread, counted by callgrind: a measure of the
//! hot path that a busy machine cannot disturb (criterion's times can be).
//!
//! ```text
//! cargo build -p langfuse-benches --release --example instructions
//! valgrind --tool=callgrind --toggle-collect='*probe_loop*' --callgrind-out-file=/dev/null \
//!     target/release/examples/instructions child 1000
//! ```
//!
//! Only `probe_loop` and what it calls are counted, on this thread: the exporter thread's
//! work is not. Divide "Collected" by the iterations (1000) and subtract the `plain` case.
//! `scripts/bench.sh` does this for every case.
//!
//! It also prints the heap allocations made on this thread inside `probe_loop`, per
//! iteration (DESIGN budget: none in steady state with capture off), and the thread's CPU
//! time per iteration (`CLOCK_THREAD_CPUTIME_ID`): run without callgrind and with many
//! iterations, a time that the other processes of a busy machine disturb less than
//! criterion's wall time (they still share its caches).
//!
//! ```text
//! target/release/examples/instructions capture_small 2000000
//! ```
//!
//! The `tracing_*` cases measure `langfuse::tracing::layer()`: a converted span
//! (`tracing_layer_bridge` over `tracing_layer`) and a span it ignores
//! (`tracing_ignored_layer_bridge` over `tracing_ignored_layer`), each beside another layer
//! that wants every span, as a log formatter does. `tracing_registry` and `tracing_bridge` run
//! under the registry alone, which never frees a span when no layer sits above it (its close
//! path is then missing from the baseline).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use langfuse::__private::bench;
use langfuse::{ExporterKind, Langfuse};

/// Counts allocations made by this thread while `COUNTING` is set.
struct CountingAllocator;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded to the system allocator unchanged; the bookkeeping touches
// only const-initialized thread-locals, which never allocate.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_allocation();
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_allocation();
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_allocation();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn count_allocation() {
    let _ = COUNTING.try_with(|counting| {
        if counting.get() {
            let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        }
    });
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

#[inline(never)]
fn plain(x: u64) -> u64 {
    black_box(x) + 1
}

#[langfuse::observe(capture_input = false, capture_output = false)]
#[inline(never)]
fn observed(x: u64) -> u64 {
    black_box(x) + 1
}

/// Capture on (the default): two small arguments in, a number out.
#[langfuse::observe]
#[inline(never)]
fn captured(x: u64, question: &str) -> u64 {
    black_box(x) + question.len() as u64
}

#[langfuse::observe(capture_input = false, capture_output = false)]
#[inline(never)]
fn parent(iterations: u64) -> u64 {
    probe_loop(iterations, observed)
}

/// The small request-like argument of `benches/overhead.rs` (`capture_small_of_100`).
#[derive(Debug, serde::Serialize)]
struct Small {
    id: u64,
    question: String,
    tags: Vec<&'static str>,
}

/// Capture on: a small struct in, a number out (a child in `capture_small_of_100`).
#[langfuse::observe]
#[inline(never)]
fn small_child(s: &Small) -> u64 {
    black_box(s).id + 1
}

#[langfuse::observe(capture_input = false, capture_output = false)]
#[inline(never)]
fn small_parent(iterations: u64, s: &Small) -> u64 {
    probe_loop(iterations, |_| small_child(s))
}

/// Children of both kinds under a parent, for the warm-up: outside `probe_loop`, which
/// callgrind counts wherever it runs.
#[langfuse::observe(capture_input = false, capture_output = false)]
#[inline(never)]
fn warm_up_parent(s: &Small) -> u64 {
    observed(1) + small_child(s)
}

/// Capture on: a 1 MB string argument, cut at the budget (`capture_1mb`).
#[langfuse::observe]
#[inline(never)]
fn capture_1mb(big: &str) -> usize {
    black_box(big).len()
}

/// Capture on, async, the loaded service's shape: two small arguments in, a number out, one
/// await that is pending once (`async_capture`).
#[langfuse::observe]
async fn captured_async(x: u64, route: &str) -> u64 {
    YieldOnce(false).await;
    black_box(x) + route.len() as u64
}

#[langfuse::observe(capture_input = false, capture_output = false)]
async fn observed_async(polls: u64) -> u64 {
    for _ in 1..polls {
        YieldOnce(false).await;
    }
    black_box(polls)
}

async fn plain_async(polls: u64) -> u64 {
    for _ in 1..polls {
        YieldOnce(false).await;
    }
    black_box(polls)
}

/// Pending once, then ready.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if std::mem::replace(&mut self.0, true) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// Polls `future` to completion by hand: no runtime's instructions in the count.
fn poll_to_end<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

/// A span `langfuse::tracing::layer()` converts (a generation, a new trace each time).
#[inline(never)]
fn bridged(x: u64) -> u64 {
    let span = tracing::info_span!("chat", gen_ai.operation.name = "chat");
    span.in_scope(|| black_box(x) + 1)
}

/// A span the layer does not convert (no `gen_ai.*` or `langfuse.*` field).
#[inline(never)]
fn ignored(x: u64) -> u64 {
    let span = tracing::info_span!("query", db.rows = x);
    span.in_scope(|| black_box(x) + 1)
}

/// Another layer that wants every span (a log formatter, say): spans the bridge ignores then
/// still exist, and the registry's close path runs as it does in a real subscriber.
struct Interested;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Interested {
    fn on_enter(&self, id: &tracing::span::Id, _: tracing_subscriber::layer::Context<'_, S>) {
        black_box(id);
    }
}

/// A layer that does nothing: what adding any layer at all costs (`tracing-subscriber`'s
/// dispatch through one more level), the floor under the bridge's own cost.
struct Noop;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Noop {}

/// The subscribers the `tracing_*` cases run under.
#[derive(Clone, Copy)]
enum Stack {
    /// The registry alone.
    Registry,
    /// The registry and the bridge.
    Bridge,
    /// The registry and [`Interested`].
    Layer,
    /// The registry, [`Interested`] and the bridge.
    LayerBridge,
    /// The registry, [`Interested`] and [`Noop`].
    LayerNoop,
}

/// Runs `probe_loop(f)` under `stack`, after a warm-up; with `inside`, inside an entered
/// converted span (so that the bridge holds a live span while `f` runs).
fn tracing_loop<F>(iterations: u64, stack: Stack, inside: bool, f: F) -> u64
where
    F: Fn(u64) -> u64 + Copy,
{
    use tracing_subscriber::layer::SubscriberExt as _;
    let run = move || {
        for i in 0..100 {
            black_box(f(i));
        }
        if inside {
            let outer = tracing::info_span!("agent", gen_ai.operation.name = "invoke_agent");
            outer.in_scope(|| probe_loop(iterations, f))
        } else {
            probe_loop(iterations, f)
        }
    };
    let registry = tracing_subscriber::registry;
    match stack {
        Stack::Registry => tracing::subscriber::with_default(registry(), run),
        Stack::Bridge => {
            tracing::subscriber::with_default(registry().with(langfuse::tracing::layer()), run)
        }
        Stack::Layer => tracing::subscriber::with_default(registry().with(Interested), run),
        Stack::LayerBridge => tracing::subscriber::with_default(
            registry().with(Interested).with(langfuse::tracing::layer()),
            run,
        ),
        Stack::LayerNoop => {
            tracing::subscriber::with_default(registry().with(Interested).with(Noop), run)
        }
    }
}

/// The counted region.
#[inline(never)]
fn probe_loop(iterations: u64, f: impl Fn(u64) -> u64) -> u64 {
    COUNTING.with(|c| c.set(true));
    let mut sum = 0;
    for i in 0..iterations {
        sum += f(black_box(i));
    }
    COUNTING.with(|c| c.set(false));
    sum
}

fn main() {
    let mut args = std::env::args().skip(1);
    let case = args.next().unwrap_or_default();
    let iterations: u64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(1000);
    let _langfuse = Langfuse::builder()
        .ignore_environment()
        .exporter(ExporterKind::None)
        .init()
        .expect("probe configuration");
    let (recording, rate) = match case.as_str() {
        "disabled" => (false, 1.0),
        "sampled_out" => (true, 0.0),
        _ => (true, 1.0),
    };
    bench::set_recording(recording);
    bench::set_sample_rate(rate);
    let small = Small {
        id: 42,
        question: "What does Langfuse trace?".to_owned(),
        tags: vec!["beta", "eu"],
    };
    let big: String = "the quick brown fox jumps over the lazy dog "
        .chars()
        .cycle()
        .take(1 << 20)
        .collect();
    // Warm up outside the counted region (never through `probe_loop`, which callgrind counts
    // wherever it runs): thread-locals, the ring, the stack's capacity, and the buffers
    // captures recycle (the exporter thread gives them back as it drains).
    for round in 0..20 {
        for i in 0..100 {
            black_box(observed(i));
            black_box(warm_up_parent(&small));
            black_box(poll_to_end(observed_async(2)));
            black_box(captured(i, "warm-up"));
            black_box(poll_to_end(captured_async(i, "warm-up")));
        }
        if round % 5 == 0 {
            black_box(capture_1mb(&big));
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    // Captures write into buffers the exporter thread gives back once it has drained their
    // records. In a service it does so all along; under callgrind it barely runs during the
    // counted loop, so the loop's worth of buffers is made and given back first.
    for i in 0..iterations + 100 {
        black_box(captured(i, "warm-up"));
        black_box(warm_up_parent(&small));
    }
    _langfuse.flush(std::time::Duration::from_secs(10));
    let cpu_before = thread_cpu();
    let sum = match case.as_str() {
        "plain" => probe_loop(iterations, plain),
        "disabled" | "sampled_out" | "root" => probe_loop(iterations, observed),
        // The children of one open observation; the parent's own start and end are outside.
        "child" => parent(iterations),
        "capture_root" => probe_loop(iterations, |i| captured(i, "What does Langfuse trace?")),
        // Children capturing a small struct; the parent's own start and end are outside.
        "capture_small" => small_parent(iterations, &small),
        "capture_1mb" => probe_loop(iterations, |_| capture_1mb(&big) as u64),
        "async_1_poll" => probe_loop(iterations, |_| poll_to_end(observed_async(1))),
        "async_capture" => probe_loop(iterations, |i| poll_to_end(captured_async(i, "langfuse"))),
        "async_2_polls" => probe_loop(iterations, |_| poll_to_end(observed_async(2))),
        "async_plain_1_poll" => probe_loop(iterations, |_| poll_to_end(plain_async(1))),
        "async_plain_2_polls" => probe_loop(iterations, |_| poll_to_end(plain_async(2))),
        // A converted `tracing` span, against the registry's own cost: the registry alone
        // (which never frees a span without a layer above it), and beside another layer.
        "tracing_registry" => tracing_loop(iterations, Stack::Registry, false, bridged),
        "tracing_bridge" => tracing_loop(iterations, Stack::Bridge, false, bridged),
        "tracing_layer" => tracing_loop(iterations, Stack::Layer, false, bridged),
        "tracing_layer_bridge" => tracing_loop(iterations, Stack::LayerBridge, false, bridged),
        "tracing_layer_noop" => tracing_loop(iterations, Stack::LayerNoop, false, bridged),
        // A span the bridge ignores: alone (its callsite disabled), beside a layer that wants
        // it, and so inside a converted span.
        "tracing_ignored_registry" => tracing_loop(iterations, Stack::Registry, false, ignored),
        "tracing_ignored_bridge" => tracing_loop(iterations, Stack::Bridge, false, ignored),
        "tracing_ignored_layer" => tracing_loop(iterations, Stack::Layer, false, ignored),
        "tracing_ignored_layer_bridge" => {
            tracing_loop(iterations, Stack::LayerBridge, false, ignored)
        }
        "tracing_ignored_layer_noop" => tracing_loop(iterations, Stack::LayerNoop, false, ignored),
        "tracing_ignored_layer_inside" => tracing_loop(iterations, Stack::Layer, true, ignored),
        "tracing_ignored_layer_bridge_inside" => {
            tracing_loop(iterations, Stack::LayerBridge, true, ignored)
        }
        other => {
            eprintln!(
                "unknown case {other:?}: plain, disabled, sampled_out, root, child, \
                 capture_root, capture_small, capture_1mb, async_1_poll, async_2_polls, \
                 async_capture, \
                 async_plain_1_poll, async_plain_2_polls, \
                 tracing_{{registry,bridge,layer,layer_bridge,layer_noop}}, \
                 tracing_ignored_{{registry,bridge,layer,layer_bridge,layer_noop,layer_inside,\
                 layer_bridge_inside}}"
            );
            std::process::exit(2);
        }
    };
    black_box(sum);
    let cpu = thread_cpu()
        .zip(cpu_before)
        .map_or(0.0, |(after, before)| (after - before).as_nanos() as f64);
    let allocations = ALLOCATIONS.with(Cell::get);
    println!(
        "case={case} iterations={iterations} allocations_per_iteration={} \
         cpu_ns_per_iteration={:.1}",
        allocations as f64 / iterations as f64,
        cpu / iterations as f64
    );
}

/// The calling thread's CPU time so far (`CLOCK_THREAD_CPUTIME_ID`, as `benches/prompts.rs`
/// reads it); `None` where it cannot be read.
fn thread_cpu() -> Option<std::time::Duration> {
    #[cfg(unix)]
    {
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: writes one timespec we own; no other memory is touched.
        let ok = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) } == 0;
        ok.then(|| std::time::Duration::new(now.tv_sec as u64, now.tv_nsec as u32))
    }
    #[cfg(not(unix))]
    None
}
