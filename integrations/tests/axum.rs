//! An axum service with tower-http's `TraceLayer`: with the `tower_http` target enabled, the
//! request span is the trace's root, and the `#[observe]` handler (and what it calls) nest
//! inside it; exported to the loopback Langfuse receiver and decoded there.

#[path = "../../tests/support/mod.rs"]
mod support;

use axum::Router;
use axum::routing::get;
use langfuse::observe;
use support::setup::{self, Tree, WAIT};
use tower_http::trace::TraceLayer;
use tracing_subscriber::layer::SubscriberExt as _;

#[observe(as_type = "retriever")]
async fn lookup(city: &str) -> String {
    format!("sunny in {city}")
}

#[observe(capture_input = false)]
async fn weather() -> String {
    let trace_id = langfuse::current_trace_id().unwrap();
    let answer = lookup("Paris").await;
    format!("{trace_id} {answer}")
}

#[tokio::test]
async fn the_request_span_is_the_root_and_observe_handlers_nest_inside() {
    let receiver = setup::shared();
    let subscriber =
        tracing_subscriber::registry().with(langfuse::tracing::layer().with_target("tower_http"));
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let app = Router::new()
        .route("/weather", get(weather))
        .layer(TraceLayer::new_for_http());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let body = support::http_client()
        .get(format!("http://{addr}/weather"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (trace_id, answer) = body.split_once(' ').unwrap();
    assert_eq!(answer, "sunny in Paris");
    let trace_id = trace_id.to_owned();
    let spans = tokio::task::spawn_blocking(move || receiver.wait_for_trace(trace_id, 3, WAIT))
        .await
        .unwrap();
    let tree = Tree::new(spans);
    let request = tree.one("request");
    assert!(
        tree.parent_of(request).is_none(),
        "the request span is the root"
    );
    assert!(request.parent_span_id().is_none());
    tree.assert_child("weather", "request");
    tree.assert_child("lookup", "weather");
}
