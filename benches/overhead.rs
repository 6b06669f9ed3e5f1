//! Cost of one observation on the calling thread, beside fastrace in the same run.
//!
//! Every case runs the same shape for each library: a trace of one root and 99 children
//! (`trace_of_100`; ns per observation = time / 100) and a trace of one observation
//! (`root_only`). `plain` is the same code without tracing, to subtract the loop itself.
//!
//! ```text
//! cargo bench --bench overhead
//! ```

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use langfuse::{ExporterKind, Langfuse};

const CHILDREN: u64 = 99;

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
}

mod with_fastrace {
    use fastrace::prelude::*;

    use super::*;

    #[fastrace::trace]
    #[inline(never)]
    pub fn child(x: u64) -> u64 {
        black_box(x) + 1
    }

    #[inline(never)]
    pub fn root_only(x: u64) -> u64 {
        let root = Span::root("root_only", SpanContext::random());
        let _guard = root.set_local_parent();
        black_box(x) + 1
    }

    #[inline(never)]
    pub fn trace_of_100() -> u64 {
        let root = Span::root("trace_of_100", SpanContext::random());
        let _guard = root.set_local_parent();
        (0..CHILDREN).map(child).sum()
    }
}

/// Discards what fastrace collects: both libraries are measured recording, not reporting.
struct DiscardReporter;

impl fastrace::collector::Reporter for DiscardReporter {
    fn report(&mut self, spans: Vec<fastrace::collector::SpanRecord>) {
        black_box(spans);
    }
}

fn overhead(c: &mut Criterion) {
    // Our exporter thread drains and discards, like fastrace's reporter above.
    let _langfuse = Langfuse::builder()
        .ignore_environment()
        .exporter(ExporterKind::None)
        .init()
        .expect("benchmark configuration");
    fastrace::set_reporter(DiscardReporter, fastrace::collector::Config::default());
    let bench = |recording: bool, rate: f64| {
        langfuse::__private::bench::set_recording(recording);
        langfuse::__private::bench::set_sample_rate(rate);
    };

    let mut group = c.benchmark_group("trace_of_100");
    group.throughput(Throughput::Elements(CHILDREN + 1));
    group.bench_function("plain", |b| b.iter(plain::trace_of_100));
    bench(false, 1.0);
    group.bench_function("langfuse/disabled", |b| b.iter(ours::trace_of_100));
    bench(true, 0.0);
    group.bench_function("langfuse/sampled_out", |b| b.iter(ours::trace_of_100));
    bench(true, 1.0);
    group.bench_function("langfuse/enabled", |b| b.iter(ours::trace_of_100));
    group.bench_function("fastrace/enabled", |b| b.iter(with_fastrace::trace_of_100));
    group.finish();

    let mut group = c.benchmark_group("root_only");
    group.throughput(Throughput::Elements(1));
    group.bench_function("plain", |b| b.iter(|| plain::root_only(black_box(7))));
    bench(false, 1.0);
    group.bench_function("langfuse/disabled", |b| {
        b.iter(|| ours::root_only(black_box(7)))
    });
    bench(true, 0.0);
    group.bench_function("langfuse/sampled_out", |b| {
        b.iter(|| ours::root_only(black_box(7)))
    });
    bench(true, 1.0);
    group.bench_function("langfuse/enabled", |b| {
        b.iter(|| ours::root_only(black_box(7)))
    });
    group.bench_function("fastrace/enabled", |b| {
        b.iter(|| with_fastrace::root_only(black_box(7)))
    });
    group.finish();

    let stats = langfuse::get_client().stats();
    eprintln!(
        "langfuse: {} observations recorded, {} dropped because the queue was full",
        stats.started, stats.dropped_queue_full
    );
    fastrace::flush();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = overhead
}
criterion_main!(benches);
