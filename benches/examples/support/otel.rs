//! The comparison setup: `tracing` + `tracing-opentelemetry` + `opentelemetry_sdk`'s
//! `BatchSpanProcessor` + `opentelemetry-otlp` over HTTP (binary protobuf, gzip), configured
//! as the opentelemetry-otlp documentation shows for production: default batch settings
//! (queue of 2048, batches of 512, a 5 s schedule delay, its own thread), parent-based
//! sampling, pointed at Langfuse's OTLP endpoint with Basic auth.
//!
//! The root sampler reads a switch so that one process can measure sampled-in and
//! sampled-out traces, the way `langfuse::__private::bench::set_sample_rate` does for us.

// Shared by benches and examples, each using a different part.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use base64::Engine as _;
use opentelemetry::trace::{Link, SpanKind, TraceId, TraceState, TracerProvider as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_otlp::{Protocol, WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{
    Sampler, SamplingDecision, SamplingResult, SdkTracerProvider, ShouldSample,
};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt as _;

static SAMPLE_ROOTS: AtomicBool = AtomicBool::new(true);

/// Whether new traces are sampled (children follow their root).
pub fn set_sampled(on: bool) {
    SAMPLE_ROOTS.store(on, Ordering::Relaxed);
}

/// Keeps or drops every new trace, by the switch above: as cheap as `TraceIdRatioBased`.
#[derive(Debug, Clone)]
struct Switch;

impl ShouldSample for Switch {
    fn should_sample(
        &self,
        _parent: Option<&Context>,
        _trace_id: TraceId,
        _name: &str,
        _kind: &SpanKind,
        _attributes: &[KeyValue],
        _links: &[Link],
    ) -> SamplingResult {
        let decision = if SAMPLE_ROOTS.load(Ordering::Relaxed) {
            SamplingDecision::RecordAndSample
        } else {
            SamplingDecision::Drop
        };
        SamplingResult {
            decision,
            attributes: Vec::new(),
            trace_state: TraceState::default(),
        }
    }
}

/// Installs the global `tracing` subscriber, exporting to `traces_url`. Spans at TRACE level
/// are filtered out (the "disabled" comparison); everything at INFO goes to OpenTelemetry.
///
/// Call it outside any tokio runtime: the blocking HTTP client refuses to start inside one.
pub fn install(traces_url: &str) -> SdkTracerProvider {
    // The blocking reqwest client needs a rustls crypto provider (see benches/Cargo.toml).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let credentials = base64::engine::general_purpose::STANDARD.encode("pk-lf-bench:sk-lf-bench");
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(traces_url)
        .with_headers(HashMap::from([
            ("authorization".to_owned(), format!("Basic {credentials}")),
            ("x-langfuse-ingestion-version".to_owned(), "4".to_owned()),
        ]))
        .with_compression(opentelemetry_otlp::Compression::Gzip)
        .build()
        .expect("OTLP exporter");
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_sampler(Sampler::ParentBased(Box::new(Switch)))
        .with_resource(Resource::builder().with_service_name("bench").build())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(LevelFilter::INFO)
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("bench")));
    tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");
    provider
}
