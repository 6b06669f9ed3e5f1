//! Cost of one observation on the calling thread, beside `fastrace` and `tracing` +
//! `tracing-opentelemetry` in the same run, with the same shapes for every library.
//!
//! Shapes (criterion prints the time per iteration and, from the throughput, per observation):
//!
//! - `root_only`: one observation that starts a new trace (a request's root).
//! - `trace_of_100`: a root and 99 children; the cost of a child is
//!   `(trace_of_100 - root_only) / 99`.
//! - `nested_3`: a root, its child and its grandchild.
//! - `async_call`: `block_on` of an observed async fn that completes in one poll (a root).
//! - `async_100_polls`: the same fn pending 99 times before completing; the cost of a poll
//!   is the difference to `async_call`, divided by 99.
//! - `capture_small_of_100`: `trace_of_100` where each child captures a small struct.
//! - `capture_1mb`: a root that captures a 1 MB string argument.
//! - `tracing_bridge`: `langfuse::tracing::layer()`. `ignored/*`: a span the layer's filter
//!   does not select, in a subscriber whose other layer wants every span, without and with
//!   the layer; `converted/*`: a span with a `gen_ai.*` field (a generation, a new trace),
//!   created, entered, exited and closed, with the registry alone, with the layer, and with
//!   tracing-opentelemetry instead.
//!
//! States: `disabled` (ours: no keys; tracing: spans below the subscriber's level), `sampled_out`
//! (the trace's head sampling said no), `enabled`. `plain` is the same code without tracing.
//!
//! Where the work goes: our exporter thread drains and discards (`ExporterKind::None`);
//! fastrace's reporter discards; tracing's `BatchSpanProcessor` really exports OTLP/HTTP to a
//! loopback receiver, and drops spans whenever its queue of 2048 is full (so in these tight
//! loops it is measured partly on its cheaper dropping path). The exporter's own cost is in
//! `benches/exporter.rs`, the whole pipeline under load in `benches/examples/load.rs`.
//!
//! ```text
//! cargo bench -p langfuse-benches --bench overhead
//! LANGFUSE_BENCH_GROUPS=tracing_bridge cargo bench -p langfuse-benches --bench overhead
//! ```

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use langfuse::{ExporterKind, Langfuse};
use serde::Serialize;

#[path = "examples/support/otel.rs"]
mod otel;
#[path = "examples/support/receiver.rs"]
mod receiver;

const CHILDREN: u64 = 99;
/// Polls of `async_100_polls`: 99 pending, 1 ready.
const POLLS: u64 = 100;

/// A small request-like argument.
#[derive(Debug, Serialize)]
pub struct Small {
    id: u64,
    question: String,
    tags: Vec<&'static str>,
}

fn small() -> Small {
    Small {
        id: 42,
        question: "What does Langfuse trace?".to_owned(),
        tags: vec!["beta", "eu"],
    }
}

/// Pending once (waking itself at once), then ready: one extra poll of every wrapper around it.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

async fn yield_polls() -> u64 {
    for _ in 1..POLLS {
        YieldOnce(false).await;
    }
    black_box(POLLS)
}

mod plain {
    use super::*;

    #[inline(never)]
    pub fn child(x: u64) -> u64 {
        black_box(x) + 1
    }

    #[inline(never)]
    pub fn root_only(x: u64) -> u64 {
        black_box(x) + 1
    }

    #[inline(never)]
    pub fn trace_of_100() -> u64 {
        (0..CHILDREN).map(child).sum()
    }

    #[inline(never)]
    pub fn level1(x: u64) -> u64 {
        level2(black_box(x)) + 1
    }

    #[inline(never)]
    pub fn level2(x: u64) -> u64 {
        level3(black_box(x)) + 1
    }

    #[inline(never)]
    pub fn level3(x: u64) -> u64 {
        black_box(x) + 1
    }

    pub async fn async_call(x: u64) -> u64 {
        black_box(x) + 1
    }

    pub async fn async_polls() -> u64 {
        yield_polls().await
    }

    #[inline(never)]
    pub fn small_child(s: &Small) -> u64 {
        black_box(s).id + 1
    }

    #[inline(never)]
    pub fn capture_small_of_100(s: &Small) -> u64 {
        (0..CHILDREN).map(|_| small_child(s)).sum()
    }

    #[inline(never)]
    pub fn capture_1mb(big: &str) -> usize {
        black_box(big).len()
    }
}

mod ours {
    use super::*;

    #[langfuse::observe(capture_input = false, capture_output = false)]
    #[inline(never)]
    pub fn child(x: u64) -> u64 {
        black_box(x) + 1
    }

    #[langfuse::observe(capture_input = false, capture_output = false)]
    #[inline(never)]
    pub fn root_only(x: u64) -> u64 {
        black_box(x) + 1
    }

    #[langfuse::observe(capture_input = false, capture_output = false)]
    #[inline(never)]
    pub fn trace_of_100() -> u64 {
        (0..CHILDREN).map(child).sum()
    }

    #[langfuse::observe(capture_input = false, capture_output = false)]
    #[inline(never)]
    pub fn level1(x: u64) -> u64 {
        level2(black_box(x)) + 1
    }

    #[langfuse::observe(capture_input = false, capture_output = false)]
    #[inline(never)]
    pub fn level2(x: u64) -> u64 {
        level3(black_box(x)) + 1
    }

    #[langfuse::observe(capture_input = false, capture_output = false)]
    #[inline(never)]
    pub fn level3(x: u64) -> u64 {
        black_box(x) + 1
    }

    #[langfuse::observe(capture_input = false, capture_output = false)]
    pub async fn async_call(x: u64) -> u64 {
        black_box(x) + 1
    }

    #[langfuse::observe(capture_input = false, capture_output = false)]
    pub async fn async_polls() -> u64 {
        yield_polls().await
    }

    /// Capture on (the default): the argument as JSON in, the return value out.
    #[langfuse::observe]
    #[inline(never)]
    pub fn small_child(s: &Small) -> u64 {
        black_box(s).id + 1
    }

    #[langfuse::observe(capture_input = false, capture_output = false)]
    #[inline(never)]
    pub fn capture_small_of_100(s: &Small) -> u64 {
        (0..CHILDREN).map(|_| small_child(s)).sum()
    }

    #[langfuse::observe]
    #[inline(never)]
    pub fn capture_1mb(big: &str) -> usize {
        black_box(big).len()
    }
}

mod with_fastrace {
    use fastrace::prelude::*;

    use super::*;

    fn root(name: &'static str, sampled: bool) -> Span {
        Span::root(name, SpanContext::random().sampled(sampled))
    }

    #[fastrace::trace]
    #[inline(never)]
    pub fn child(x: u64) -> u64 {
        black_box(x) + 1
    }

    #[inline(never)]
    pub fn root_only(x: u64, sampled: bool) -> u64 {
        let root = root("root_only", sampled);
        let _guard = root.set_local_parent();
        black_box(x) + 1
    }

    #[inline(never)]
    pub fn trace_of_100(sampled: bool) -> u64 {
        let root = root("trace_of_100", sampled);
        let _guard = root.set_local_parent();
        (0..CHILDREN).map(child).sum()
    }

    #[inline(never)]
    pub fn level1(x: u64) -> u64 {
        let root = root("level1", true);
        let _guard = root.set_local_parent();
        level2(black_box(x)) + 1
    }

    #[fastrace::trace]
    #[inline(never)]
    pub fn level2(x: u64) -> u64 {
        level3(black_box(x)) + 1
    }

    #[fastrace::trace]
    #[inline(never)]
    pub fn level3(x: u64) -> u64 {
        black_box(x) + 1
    }

    /// fastrace's macro makes children only: a root future is wrapped by hand.
    pub fn async_call(x: u64) -> impl Future<Output = u64> {
        async move { black_box(x) + 1 }.in_span(root("async_call", true))
    }

    pub fn async_polls() -> impl Future<Output = u64> {
        yield_polls().in_span(root("async_polls", true))
    }

    /// fastrace records no arguments; its nearest equivalent is a property formatted from one.
    #[fastrace::trace(properties = { "input": "{s:?}" })]
    #[inline(never)]
    pub fn small_child(s: &Small) -> u64 {
        black_box(s).id + 1
    }

    #[inline(never)]
    pub fn capture_small_of_100(s: &Small) -> u64 {
        let root = root("capture_small_of_100", true);
        let _guard = root.set_local_parent();
        (0..CHILDREN).map(|_| small_child(s)).sum()
    }

    #[inline(never)]
    pub fn capture_1mb(big: &str) -> usize {
        let root = root("capture_1mb", true).with_property(|| ("input", format!("{big:?}")));
        let _guard = root.set_local_parent();
        black_box(big).len()
    }
}

mod with_tracing {
    use super::*;

    #[tracing::instrument(skip_all)]
    #[inline(never)]
    pub fn child(x: u64) -> u64 {
        black_box(x) + 1
    }

    #[tracing::instrument(skip_all)]
    #[inline(never)]
    pub fn root_only(x: u64) -> u64 {
        black_box(x) + 1
    }

    #[tracing::instrument(skip_all)]
    #[inline(never)]
    pub fn trace_of_100() -> u64 {
        (0..CHILDREN).map(child).sum()
    }

    #[tracing::instrument(skip_all)]
    #[inline(never)]
    pub fn level1(x: u64) -> u64 {
        level2(black_box(x)) + 1
    }

    #[tracing::instrument(skip_all)]
    #[inline(never)]
    pub fn level2(x: u64) -> u64 {
        level3(black_box(x)) + 1
    }

    #[tracing::instrument(skip_all)]
    #[inline(never)]
    pub fn level3(x: u64) -> u64 {
        black_box(x) + 1
    }

    #[tracing::instrument(skip_all)]
    pub async fn async_call(x: u64) -> u64 {
        black_box(x) + 1
    }

    #[tracing::instrument(skip_all)]
    pub async fn async_polls() -> u64 {
        yield_polls().await
    }

    /// `#[instrument]`'s default: every argument recorded with `Debug`.
    #[tracing::instrument]
    #[inline(never)]
    pub fn small_child(s: &Small) -> u64 {
        black_box(s).id + 1
    }

    #[tracing::instrument(skip_all)]
    #[inline(never)]
    pub fn capture_small_of_100(s: &Small) -> u64 {
        (0..CHILDREN).map(|_| small_child(s)).sum()
    }

    #[tracing::instrument]
    #[inline(never)]
    pub fn capture_1mb(big: &str) -> usize {
        black_box(big).len()
    }

    /// The same functions at TRACE level, which the subscriber filters out.
    pub mod off {
        use super::*;

        #[tracing::instrument(level = "trace", skip_all)]
        #[inline(never)]
        pub fn child(x: u64) -> u64 {
            black_box(x) + 1
        }

        #[tracing::instrument(level = "trace", skip_all)]
        #[inline(never)]
        pub fn root_only(x: u64) -> u64 {
            black_box(x) + 1
        }

        #[tracing::instrument(level = "trace", skip_all)]
        #[inline(never)]
        pub fn trace_of_100() -> u64 {
            (0..CHILDREN).map(child).sum()
        }
    }
}

/// Discards what fastrace collects: its collection still runs on its own thread.
struct DiscardReporter;

impl fastrace::collector::Reporter for DiscardReporter {
    fn report(&mut self, spans: Vec<fastrace::collector::SpanRecord>) {
        black_box(spans);
    }
}

/// Puts every library in one state.
#[derive(Clone, Copy)]
enum State {
    Disabled,
    SampledOut,
    Enabled,
}

fn set(state: State) {
    use langfuse::__private::bench;
    let (recording, rate, sampled) = match state {
        State::Disabled => (false, 1.0, true),
        State::SampledOut => (true, 0.0, false),
        State::Enabled => (true, 1.0, true),
    };
    bench::set_recording(recording);
    bench::set_sample_rate(rate);
    otel::set_sampled(sampled);
}

type Group<'a> = BenchmarkGroup<'a, criterion::measurement::WallTime>;

fn sync_shapes(c: &mut Criterion) {
    let mut group = c.benchmark_group("root_only");
    group.throughput(Throughput::Elements(1));
    let g: &mut Group = &mut group;
    g.bench_function("plain", |b| b.iter(|| plain::root_only(black_box(7))));
    set(State::Disabled);
    g.bench_function("langfuse/disabled", |b| {
        b.iter(|| ours::root_only(black_box(7)))
    });
    g.bench_function("tracing/disabled", |b| {
        b.iter(|| with_tracing::off::root_only(black_box(7)))
    });
    set(State::SampledOut);
    g.bench_function("langfuse/sampled_out", |b| {
        b.iter(|| ours::root_only(black_box(7)))
    });
    g.bench_function("fastrace/sampled_out", |b| {
        b.iter(|| with_fastrace::root_only(black_box(7), false))
    });
    g.bench_function("tracing/sampled_out", |b| {
        b.iter(|| with_tracing::root_only(black_box(7)))
    });
    set(State::Enabled);
    g.bench_function("langfuse/enabled", |b| {
        b.iter(|| ours::root_only(black_box(7)))
    });
    g.bench_function("fastrace/enabled", |b| {
        b.iter(|| with_fastrace::root_only(black_box(7), true))
    });
    g.bench_function("tracing/enabled", |b| {
        b.iter(|| with_tracing::root_only(black_box(7)))
    });
    group.finish();

    let mut group = c.benchmark_group("trace_of_100");
    group.throughput(Throughput::Elements(CHILDREN + 1));
    let g: &mut Group = &mut group;
    g.bench_function("plain", |b| b.iter(plain::trace_of_100));
    set(State::Disabled);
    g.bench_function("langfuse/disabled", |b| b.iter(ours::trace_of_100));
    g.bench_function("tracing/disabled", |b| {
        b.iter(with_tracing::off::trace_of_100)
    });
    set(State::SampledOut);
    g.bench_function("langfuse/sampled_out", |b| b.iter(ours::trace_of_100));
    g.bench_function("fastrace/sampled_out", |b| {
        b.iter(|| with_fastrace::trace_of_100(false))
    });
    g.bench_function("tracing/sampled_out", |b| {
        b.iter(with_tracing::trace_of_100)
    });
    set(State::Enabled);
    g.bench_function("langfuse/enabled", |b| b.iter(ours::trace_of_100));
    g.bench_function("fastrace/enabled", |b| {
        b.iter(|| with_fastrace::trace_of_100(true))
    });
    g.bench_function("tracing/enabled", |b| b.iter(with_tracing::trace_of_100));
    group.finish();

    let mut group = c.benchmark_group("nested_3");
    group.throughput(Throughput::Elements(3));
    let g: &mut Group = &mut group;
    g.bench_function("plain", |b| b.iter(|| plain::level1(black_box(7))));
    set(State::Enabled);
    g.bench_function("langfuse/enabled", |b| {
        b.iter(|| ours::level1(black_box(7)))
    });
    g.bench_function("fastrace/enabled", |b| {
        b.iter(|| with_fastrace::level1(black_box(7)))
    });
    g.bench_function("tracing/enabled", |b| {
        b.iter(|| with_tracing::level1(black_box(7)))
    });
    group.finish();
}

fn async_shapes(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("current-thread runtime");
    set(State::Enabled);

    let mut group = c.benchmark_group("async_call");
    group.throughput(Throughput::Elements(1));
    let g: &mut Group = &mut group;
    g.bench_function("plain", |b| {
        b.iter(|| rt.block_on(plain::async_call(black_box(7))))
    });
    set(State::Disabled);
    g.bench_function("langfuse/disabled", |b| {
        b.iter(|| rt.block_on(ours::async_call(black_box(7))))
    });
    set(State::Enabled);
    g.bench_function("langfuse/enabled", |b| {
        b.iter(|| rt.block_on(ours::async_call(black_box(7))))
    });
    g.bench_function("fastrace/enabled", |b| {
        b.iter(|| rt.block_on(with_fastrace::async_call(black_box(7))))
    });
    g.bench_function("tracing/enabled", |b| {
        b.iter(|| rt.block_on(with_tracing::async_call(black_box(7))))
    });
    group.finish();

    let mut group = c.benchmark_group("async_100_polls");
    group.throughput(Throughput::Elements(POLLS));
    let g: &mut Group = &mut group;
    g.bench_function("plain", |b| b.iter(|| rt.block_on(plain::async_polls())));
    g.bench_function("langfuse/enabled", |b| {
        b.iter(|| rt.block_on(ours::async_polls()))
    });
    g.bench_function("fastrace/enabled", |b| {
        b.iter(|| rt.block_on(with_fastrace::async_polls()))
    });
    g.bench_function("tracing/enabled", |b| {
        b.iter(|| rt.block_on(with_tracing::async_polls()))
    });
    group.finish();
}

fn capture_shapes(c: &mut Criterion) {
    let s = small();
    set(State::Enabled);
    let mut group = c.benchmark_group("capture_small_of_100");
    group.throughput(Throughput::Elements(CHILDREN + 1));
    let g: &mut Group = &mut group;
    g.bench_function("plain", |b| b.iter(|| plain::capture_small_of_100(&s)));
    g.bench_function("langfuse/enabled", |b| {
        b.iter(|| ours::capture_small_of_100(&s))
    });
    g.bench_function("fastrace/enabled", |b| {
        b.iter(|| with_fastrace::capture_small_of_100(&s))
    });
    g.bench_function("tracing/enabled", |b| {
        b.iter(|| with_tracing::capture_small_of_100(&s))
    });
    group.finish();

    // Word-like text, so that no library gets a degenerate input.
    let big: String = "the quick brown fox jumps over the lazy dog "
        .chars()
        .cycle()
        .take(1 << 20)
        .collect();
    let mut group = c.benchmark_group("capture_1mb");
    group.throughput(Throughput::Elements(1));
    // A tracing iteration formats a megabyte: fewer samples keep the group short.
    group.sample_size(20);
    let g: &mut Group = &mut group;
    g.bench_function("plain", |b| b.iter(|| plain::capture_1mb(&big)));
    set(State::SampledOut);
    g.bench_function("langfuse/sampled_out", |b| {
        b.iter(|| ours::capture_1mb(&big))
    });
    set(State::Enabled);
    g.bench_function("langfuse/enabled", |b| b.iter(|| ours::capture_1mb(&big)));
    g.bench_function("fastrace/enabled", |b| {
        b.iter(|| with_fastrace::capture_1mb(&big))
    });
    g.bench_function("tracing/enabled", |b| {
        b.iter(|| with_tracing::capture_1mb(&big))
    });
    group.finish();
}

/// The `tracing` bridge (`langfuse::tracing::layer()`), in subscribers that differ only by it.
mod bridge {
    use std::hint::black_box;

    use tracing_subscriber::layer::{Context, SubscriberExt as _};

    /// Another layer interested in every span (a log formatter, say), so that a span the
    /// bridge ignores still exists: what the bridge's filter costs it is then measured.
    pub struct Interested;

    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Interested {
        fn on_enter(&self, id: &tracing::span::Id, _: Context<'_, S>) {
            black_box(id);
        }
    }

    /// A span no callsite filter of the bridge selects.
    #[inline(never)]
    pub fn ignored(x: u64) -> u64 {
        let span = tracing::info_span!("query", db.rows = x);
        span.in_scope(|| black_box(x) + 1)
    }

    /// A span the bridge converts: a generation, a new trace each time.
    #[inline(never)]
    pub fn converted(x: u64) -> u64 {
        let span = tracing::info_span!("chat", gen_ai.operation.name = "chat");
        span.in_scope(|| black_box(x) + 1)
    }

    pub fn without() -> impl tracing::Subscriber + Send + Sync {
        tracing_subscriber::registry().with(Interested)
    }

    pub fn with_langfuse() -> impl tracing::Subscriber + Send + Sync {
        tracing_subscriber::registry()
            .with(Interested)
            .with(langfuse::tracing::layer())
    }
}

fn bridge_shapes(c: &mut Criterion, provider: &opentelemetry_sdk::trace::SdkTracerProvider) {
    use opentelemetry::trace::TracerProvider as _;
    use tracing_subscriber::layer::SubscriberExt as _;

    set(State::Enabled);
    let mut group = c.benchmark_group("tracing_bridge");
    group.throughput(Throughput::Elements(1));
    let g: &mut Group = &mut group;
    tracing::subscriber::with_default(bridge::without(), || {
        g.bench_function("ignored/without_langfuse", |b| {
            b.iter(|| bridge::ignored(black_box(7)))
        });
        g.bench_function("converted/registry_only", |b| {
            b.iter(|| bridge::converted(black_box(7)))
        });
    });
    tracing::subscriber::with_default(bridge::with_langfuse(), || {
        g.bench_function("ignored/with_langfuse", |b| {
            b.iter(|| bridge::ignored(black_box(7)))
        });
        g.bench_function("converted/langfuse", |b| {
            b.iter(|| bridge::converted(black_box(7)))
        });
    });
    let otel = tracing_subscriber::registry()
        .with(bridge::Interested)
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("bench")));
    tracing::subscriber::with_default(otel, || {
        g.bench_function("converted/tracing-opentelemetry", |b| {
            b.iter(|| bridge::converted(black_box(7)))
        });
    });
    group.finish();
}

fn overhead(c: &mut Criterion) {
    let receiver = receiver::Receiver::start();
    // Our exporter thread drains and discards, like fastrace's reporter.
    let _langfuse = Langfuse::builder()
        .ignore_environment()
        .exporter(ExporterKind::None)
        .init()
        .expect("benchmark configuration");
    fastrace::set_reporter(DiscardReporter, fastrace::collector::Config::default());
    let provider = otel::install(&receiver.traces_url());

    // `LANGFUSE_BENCH_GROUPS=tracing_bridge` runs that group alone (the others take minutes).
    let only = std::env::var("LANGFUSE_BENCH_GROUPS").ok();
    let wanted = |group: &str| {
        only.as_deref()
            .is_none_or(|o| o.split(',').any(|g| g == group))
    };
    if wanted("sync") {
        sync_shapes(c);
    }
    if wanted("async") {
        async_shapes(c);
    }
    if wanted("capture") {
        capture_shapes(c);
    }
    if wanted("tracing_bridge") {
        bridge_shapes(c, &provider);
    }

    let stats = langfuse::get_client().stats();
    eprintln!(
        "langfuse: {} observations recorded, {} dropped because the queue was full",
        stats.started, stats.dropped_queue_full
    );
    fastrace::flush();
    let _ = provider.force_flush();
    eprintln!(
        "tracing-opentelemetry: {} spans reached the loopback receiver",
        receiver.received().others
    );
    let _ = provider.shutdown();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = overhead
}
criterion_main!(benches);
