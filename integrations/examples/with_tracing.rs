//! `langfuse::tracing::layer()` in an axum service with tower-http's `TraceLayer`: the request
//! span is the trace's root, the `#[observe]` handler nests inside it, and a span with GenAI
//! fields (as rig and genai emit them) becomes a generation with its model and usage.
//!
//! ```text
//! cargo run -p langfuse-integrations --example with_tracing
//! ```

mod support;

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use langfuse::observe;
use tower_http::trace::TraceLayer;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// A model call as an instrumented library records it.
async fn call_model(question: &str) -> String {
    let span = tracing::info_span!(
        "chat",
        gen_ai.operation.name = "chat",
        gen_ai.request.model = "gpt-4o-mini",
        gen_ai.usage.input_tokens = tracing::field::Empty,
        gen_ai.usage.output_tokens = tracing::field::Empty,
    );
    let _ = question;
    tokio::time::sleep(Duration::from_millis(20)).await;
    span.record("gen_ai.usage.input_tokens", 12);
    span.record("gen_ai.usage.output_tokens", 5);
    "It is sunny.".to_owned()
}

#[observe(capture_input = false)]
async fn weather() -> String {
    call_model("What is the weather?").await
}

#[tokio::main]
async fn main() {
    let langfuse = support::init();
    tracing_subscriber::registry()
        .with(langfuse::tracing::layer().with_target("tower_http"))
        .init();

    let app = Router::new()
        .route("/weather", get(weather))
        .layer(TraceLayer::new_for_http());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let _ = rustls::crypto::ring::default_provider().install_default();
    let answer = reqwest::get(format!("http://{addr}/weather"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    println!("answer: {answer}");
    langfuse.flush_async(Duration::from_secs(5)).await;
}
