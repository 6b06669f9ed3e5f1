//! tracing-opentelemetry beside langfuse's layer, both exporting to the loopback receiver: a
//! trace that starts inside a span tracing-opentelemetry tracks joins its trace id, its root
//! naming the OpenTelemetry span as its parent (and marked as this service's root), so the
//! request has one trace id in Langfuse and in the OpenTelemetry backend.

#[path = "../../tests/support/mod.rs"]
mod support;

use std::time::Duration;

use langfuse::observe;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig as _};
use opentelemetry_sdk::trace::SdkTracerProvider;
use support::setup::{self, WAIT};
use support::{ReceivedSpan, Receiver};
use tracing::Instrument as _;
use tracing_subscriber::layer::SubscriberExt as _;

#[observe]
async fn handle() -> langfuse::TraceId {
    let span = tracing::info_span!("chat", gen_ai.operation.name = "chat");
    async {}.instrument(span).await;
    langfuse::current_trace_id().unwrap()
}

fn otel_provider(receiver: &Receiver) -> SdkTracerProvider {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(receiver.traces_url())
        .build()
        .expect("OTLP exporter");
    SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .build()
}

fn scope(span: &ReceivedSpan) -> String {
    span.scope.name.clone()
}

#[test]
fn one_request_has_one_trace_id_in_both_exporters() {
    own_process!();
    let receiver = Receiver::start();
    let langfuse = setup::init(&receiver);
    // Built outside any runtime: the blocking HTTP client refuses to start inside one.
    let provider = otel_provider(&receiver);
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("service")))
        .with(langfuse::tracing::layer());
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let trace_id = runtime
        .block_on(handle().instrument(tracing::info_span!("HTTP GET /chat", http.method = "GET")));
    drop(runtime);
    assert!(langfuse.flush(WAIT).is_complete());
    provider.force_flush().unwrap();

    let spans = receiver.wait_for_spans(3, WAIT);
    let deadline = std::time::Instant::now() + WAIT;
    let mut spans = spans;
    while spans.len() < 3 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        spans = receiver.spans();
    }
    let otel: Vec<&ReceivedSpan> = spans.iter().filter(|s| scope(s) == "service").collect();
    let ours: Vec<&ReceivedSpan> = spans
        .iter()
        .filter(|s| scope(s) == "langfuse-sdk")
        .collect();
    assert!(
        !otel.is_empty() && ours.len() == 2,
        "{:?}",
        spans
            .iter()
            .map(|s| (s.name(), scope(s)))
            .collect::<Vec<_>>()
    );
    let request = otel.iter().find(|s| s.name() == "HTTP GET /chat").unwrap();
    assert_eq!(request.trace_id(), trace_id.to_string());
    for span in &ours {
        assert_eq!(span.trace_id(), request.trace_id(), "{}", span.name());
    }
    let root = ours.iter().find(|s| s.name() == "handle").unwrap();
    assert_eq!(
        root.parent_span_id(),
        Some(request.span_id()),
        "the OpenTelemetry parent"
    );
    assert_eq!(root.bool_attr("langfuse.internal.is_app_root"), Some(true));
    let chat = ours.iter().find(|s| s.name() == "chat").unwrap();
    assert_eq!(chat.parent_span_id(), Some(root.span_id()));
    let _ = provider.shutdown();
}
