//! One trace across two services: a `frontend` that calls a `backend` over HTTP, both traced
//! with `#[observe]`. The frontend sends `langfuse::current_traceparent()` in the W3C
//! `traceparent` header; the backend continues the trace with `langfuse::continue_trace`, so its
//! observations join the frontend's trace, and its first observation is marked as the
//! backend's root (`langfuse.internal.as_root`).
//!
//! ```text
//! cargo run --example distributed
//! ```
//!
//! Both services run in this process on 127.0.0.1 (ephemeral ports), as two separate
//! deployments would. Without `LANGFUSE_PUBLIC_KEY` / `LANGFUSE_SECRET_KEY` the traces are
//! printed on stderr; with them (and `LANGFUSE_BASE_URL` for a self-hosted server) they go to
//! Langfuse, where each request shows as one trace spanning both services.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::{Json, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use langfuse::{ExporterKind, Langfuse, TRACEPARENT_HEADER, observe};
use serde::{Deserialize, Serialize};

/// What a client asks, and what the frontend forwards to the backend.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Question {
    pub question: String,
}

/// What the backend answers, and the frontend passes on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Answer {
    pub answer: String,
    pub sources: Vec<String>,
}

// --- backend ---------------------------------------------------------------------------------

/// Starts the backend on an ephemeral loopback port: `POST /answer`.
pub async fn start_backend() -> std::io::Result<SocketAddr> {
    serve(Router::new().route("/answer", post(backend_answer))).await
}

/// The HTTP handler: continues the caller's trace if it sent a `traceparent`. A missing or
/// malformed header is not an error: the request then starts a trace of its own.
async fn backend_answer(headers: HeaderMap, Json(question): Json<Question>) -> Json<Answer> {
    let traceparent = headers
        .get(TRACEPARENT_HEADER)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    Json(langfuse::continue_trace(traceparent, answer(question.question)).await)
}

/// The backend's first observation: a child of the frontend's call, and the backend's root.
#[observe(as_type = "agent")]
async fn answer(question: String) -> Answer {
    let sources = search_index(&question).await;
    Answer {
        answer: format!("{} sources mention \"{question}\"", sources.len()),
        sources,
    }
}

/// A vector search, simulated.
#[observe(as_type = "retriever")]
async fn search_index(query: &str) -> Vec<String> {
    tokio::time::sleep(Duration::from_millis(2)).await;
    vec![
        format!("doc-1 about {query}"),
        format!("doc-2 about {query}"),
    ]
}

/// A pooled HTTP client. reqwest 0.13 with rustls needs a crypto provider, and this
/// repository's reqwest has none of its own: the process installs ring, which langfuse's default
/// `rustls` feature builds anyway (see "TLS" in the README). With reqwest's default features
/// (aws-lc-rs), `reqwest::Client::new()` alone is enough.
fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

// --- frontend --------------------------------------------------------------------------------

/// What the frontend's handlers share: where the backend is, and a pooled HTTP client.
#[derive(Clone)]
struct Frontend {
    backend: SocketAddr,
    http: reqwest::Client,
}

/// Starts the frontend on an ephemeral loopback port: `POST /ask`, answered by `backend`.
pub async fn start_frontend(backend: SocketAddr) -> std::io::Result<SocketAddr> {
    let state = Frontend {
        backend,
        http: http_client(),
    };
    serve(
        Router::new()
            .route("/ask", post(frontend_ask))
            .with_state(state),
    )
    .await
}

async fn frontend_ask(
    State(frontend): State<Frontend>,
    Json(question): Json<Question>,
) -> Result<Json<Answer>, (StatusCode, String)> {
    handle_question(&frontend, question.question)
        .await
        .map(Json)
        .map_err(|e| (StatusCode::BAD_GATEWAY, e.to_string()))
}

/// The frontend's request: the root of the trace.
#[observe(skip(frontend))]
async fn handle_question(frontend: &Frontend, question: String) -> Result<Answer, reqwest::Error> {
    let question = question.trim().to_owned();
    ask_backend(frontend, &question).await
}

/// The call to the backend. The `traceparent` names this observation, so the backend's work
/// appears under it.
#[observe(as_type = "tool", skip(frontend))]
async fn ask_backend(frontend: &Frontend, question: &str) -> Result<Answer, reqwest::Error> {
    let mut request = frontend
        .http
        .post(format!("http://{}/answer", frontend.backend))
        .json(&Question {
            question: question.to_owned(),
        });
    if let Some(traceparent) = langfuse::current_traceparent() {
        request = request.header(TRACEPARENT_HEADER, traceparent);
    }
    request.send().await?.error_for_status()?.json().await
}

/// Serves `router` on 127.0.0.1 with a port the system picks, in the background.
async fn serve(router: Router) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            eprintln!("server on {address} stopped: {e}");
        }
    });
    Ok(address)
}

// --- the demo --------------------------------------------------------------------------------

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let has_keys = std::env::var_os("LANGFUSE_PUBLIC_KEY").is_some()
        && std::env::var_os("LANGFUSE_SECRET_KEY").is_some();
    let langfuse = if has_keys {
        langfuse::init()?
    } else {
        eprintln!("No LANGFUSE_PUBLIC_KEY/LANGFUSE_SECRET_KEY: printing traces here instead.\n");
        Langfuse::builder().exporter(ExporterKind::Console).init()?
    };

    let backend = start_backend().await?;
    let frontend = start_frontend(backend).await?;
    println!("backend on http://{backend}, frontend on http://{frontend}");

    let client = http_client();
    for question in ["What is Langfuse?", "How do traces cross services?"] {
        let answer: Answer = client
            .post(format!("http://{frontend}/ask"))
            .json(&Question {
                question: question.to_owned(),
            })
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        println!("{question} -> {} ({:?})", answer.answer, answer.sources);
    }

    langfuse.flush_async(Duration::from_secs(10)).await;
    let stats = langfuse.stats();
    println!(
        "\n{} observations recorded across both services, {} exported, {} dropped",
        stats.started,
        stats.exported,
        stats.dropped()
    );
    println!(
        "each request is one trace: frontend root, its backend call, and the backend's work under it"
    );
    Ok(())
}
