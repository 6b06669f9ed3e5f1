//! What the exporter thread spends per observation, and what it puts on the wire: OTLP
//! protobuf encoding plus gzip of drained records, for a typical observation (a one-line
//! question in, a short answer out) and for one with 4 KB of captured input. Traces are a
//! root and four children. `encode` is the protobuf encoding alone, `encode_gzip` what the
//! exporter does by default. This work never runs on a request's thread.
//!
//! ```text
//! cargo bench -p langfuse-benches --bench exporter
//! ```
//!
//! Bytes per observation are printed once per shape (`wire:` lines); criterion prints the
//! time per observation as a rate.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use langfuse::__private::bench::{Encoder, SyntheticRecords};

/// Observations per measured call: one full request at the default batch size.
const BATCH: usize = 512;

fn exporter(c: &mut Criterion) {
    let mut group = c.benchmark_group("export");
    group.throughput(Throughput::Elements(BATCH as u64));
    for (name, input_bytes) in [("typical", 0), ("input_4kb", 4096)] {
        let records = SyntheticRecords::new(BATCH, input_bytes);
        let mut encoder = Encoder::new();
        let size = encoder.encode_and_gzip(records.clone());
        eprintln!(
            "wire: {name}: {} observations in {} request(s): {:.1} protobuf bytes and {:.1} gzip bytes per observation",
            size.observations,
            size.requests,
            size.protobuf_bytes as f64 / size.observations as f64,
            size.gzip_bytes as f64 / size.observations as f64,
        );
        group.bench_function(format!("encode/{name}"), |b| {
            b.iter_batched(
                || records.clone(),
                |records| black_box(encoder.encode_only(records)),
                BatchSize::LargeInput,
            )
        });
        group.bench_function(format!("encode_gzip/{name}"), |b| {
            // Cloning the records is setup, outside the measurement.
            b.iter_batched(
                || records.clone(),
                |records| black_box(encoder.encode_and_gzip(records)),
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = exporter
}
criterion_main!(benches);
