//! Prompt management: prompts kept in Langfuse, fetched through the SDK's cache, compiled,
//! linked to the generation that used them, created and relabelled, and served through an
//! outage.
//!
//! ```text
//! cargo run --example prompts
//! ```
//!
//! It needs no keys and no network: the prompts API is a stand-in served on 127.0.0.1 (the
//! subset of `/api/public/v2/prompts` the SDK uses), and traces are printed on stderr. Point
//! `base_url` at your Langfuse, with your keys, and nothing else changes (but the example
//! creates prompt versions: use a project of your own).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch};
use langfuse::{ChatMessage, ExporterKind, Langfuse, PromptError, TextPrompt, Variables, observe};
use serde_json::{Value, json};

// --- the stand-in: prompts with versions and labels, as Langfuse keeps them -----------------

/// Every version of every prompt, and whether the stand-in pretends to be down.
#[derive(Clone, Default)]
pub struct StandIn {
    versions: Arc<Mutex<Vec<Value>>>,
    down: Arc<Mutex<bool>>,
}

impl StandIn {
    /// Adds a version (the next number), taking its labels off the others; `latest` moves.
    pub fn publish(&self, mut prompt: Value) -> Value {
        let mut versions = self.versions.lock().unwrap();
        let name = prompt["name"].as_str().unwrap_or_default().to_owned();
        let version = versions
            .iter()
            .filter(|v| v["name"] == name.as_str())
            .count() as i64
            + 1;
        let mut labels: Vec<Value> = prompt["labels"].as_array().cloned().unwrap_or_default();
        labels.push(json!("latest"));
        for other in versions.iter_mut().filter(|v| v["name"] == name.as_str()) {
            let kept: Vec<Value> = other["labels"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|l| !labels.contains(l))
                .cloned()
                .collect();
            other["labels"] = Value::Array(kept);
        }
        prompt["version"] = json!(version);
        prompt["labels"] = Value::Array(labels);
        for (field, default) in [
            ("config", json!({})),
            ("tags", json!([])),
            ("commitMessage", Value::Null),
        ] {
            if prompt.get(field).is_none_or(Value::is_null) {
                prompt[field] = default;
            }
        }
        versions.push(prompt.clone());
        prompt
    }

    /// Makes every request fail with 503 (or work again).
    pub fn set_down(&self, down: bool) {
        *self.down.lock().unwrap() = down;
    }

    fn is_down(&self) -> bool {
        *self.down.lock().unwrap()
    }
}

async fn get_prompt(
    State(stand_in): State<StandIn>,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if stand_in.is_down() {
        return (StatusCode::SERVICE_UNAVAILABLE, "down for maintenance").into_response();
    }
    let versions = stand_in.versions.lock().unwrap();
    let found = versions.iter().find(|v| {
        v["name"] == name.as_str()
            && match query.get("version") {
                Some(version) => version.parse::<i64>().is_ok_and(|n| v["version"] == n),
                None => {
                    let label = query.get("label").map_or("production", String::as_str);
                    v["labels"]
                        .as_array()
                        .is_some_and(|l| l.contains(&json!(label)))
                }
            }
    });
    match found {
        Some(prompt) => axum::Json(prompt.clone()).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({ "message": "Prompt not found" })),
        )
            .into_response(),
    }
}

async fn create_prompt(
    State(stand_in): State<StandIn>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    axum::Json(stand_in.publish(body)).into_response()
}

async fn update_labels(
    State(stand_in): State<StandIn>,
    Path((name, version)): Path<(String, i64)>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let new: Vec<Value> = body["newLabels"].as_array().cloned().unwrap_or_default();
    let mut versions = stand_in.versions.lock().unwrap();
    for prompt in versions.iter_mut().filter(|v| v["name"] == name.as_str()) {
        let mut labels: Vec<Value> = prompt["labels"].as_array().cloned().unwrap_or_default();
        labels.retain(|l| !new.contains(l));
        if prompt["version"] == version {
            labels.extend(new.iter().cloned());
        }
        prompt["labels"] = Value::Array(labels);
    }
    match versions
        .iter()
        .find(|v| v["name"] == name.as_str() && v["version"] == version)
    {
        Some(prompt) => axum::Json(prompt.clone()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Serves the stand-in on 127.0.0.1, seeded with two prompts.
pub async fn start_stand_in() -> std::io::Result<(SocketAddr, StandIn)> {
    let stand_in = StandIn::default();
    stand_in.publish(json!({
        "type": "text",
        "name": "movie-critic",
        "prompt": "As a {{criticlevel}} movie critic, do you like {{movie}}?",
        "labels": ["production"],
        "config": { "model": "gpt-4o-mini", "temperature": 0.7 },
    }));
    stand_in.publish(json!({
        "type": "chat",
        "name": "support/triage",
        "prompt": [
            { "type": "chatmessage", "role": "system", "content": "You triage tickets for {{product}}." },
            { "type": "placeholder", "name": "history" },
            { "type": "chatmessage", "role": "user", "content": "{{ticket}}" },
        ],
        "labels": ["production"],
    }));
    let app = Router::new()
        .route("/api/public/v2/prompts", axum::routing::post(create_prompt))
        .route("/api/public/v2/prompts/{name}", get(get_prompt))
        .route(
            "/api/public/v2/prompts/{name}/versions/{version}",
            patch(update_labels),
        )
        .with_state(stand_in.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((addr, stand_in))
}

// --- the application -------------------------------------------------------------------------

/// The model's parameters, kept in the prompt's `config`.
#[derive(Debug, serde::Deserialize)]
pub struct ModelConfig {
    pub model: String,
    pub temperature: f64,
}

/// A stand-in LLM call, recorded as a generation linked to the prompt it used.
#[observe(as_type = "generation", skip(prompt))]
pub fn review(prompt: &TextPrompt, movie: &str) -> String {
    let text = prompt.compile([("criticlevel", "expert"), ("movie", movie)]);
    let config: Option<ModelConfig> = prompt.config().ok();
    langfuse::update_current_generation(|g| {
        g.prompt(prompt).input(&text);
        if let Some(config) = &config {
            g.model(&config.model)
                .model_parameters(&json!({ "temperature": config.temperature }));
        }
    });
    format!("{movie}? A masterpiece.")
}

/// Everything the example shows, step by step; returns what it printed, for its test.
pub async fn run(
    stand_in: &StandIn,
) -> Result<Vec<String>, Box<dyn std::error::Error + Send + Sync>> {
    let client = langfuse::get_client();
    let mut shown = Vec::new();
    let mut show = |line: String| {
        println!("{line}");
        shown.push(line);
    };

    // 1. A text prompt: prefetched while the client started, so this is a cache hit.
    let critic = client.get_prompt("movie-critic").text().await?;
    show(format!(
        "movie-critic v{}: {}",
        critic.version(),
        critic.template()
    ));
    show(format!(
        "compiled: {}",
        critic.compile([("criticlevel", "expert"), ("movie", "Dune 2")])
    ));
    match critic.compile_strict([("criticlevel", "expert"), ("film", "Dune 2")]) {
        Ok(text) => show(format!("strict: {text}")),
        Err(error) => show(format!("strict compile refused: {error}")),
    }

    // 2. A chat prompt in a folder, with a placeholder for the conversation so far.
    let triage = client.get_prompt("support/triage").chat().await?;
    let messages = triage.compile_strict(
        Variables::new()
            .set("product", "Langfuse")
            .set("ticket", "My traces are missing")
            .placeholder(
                "history",
                [
                    ChatMessage::user("Hi"),
                    ChatMessage::assistant("Hello! What happened?"),
                ],
            ),
    )?;
    show(format!(
        "support/triage v{} compiles to {} messages: {}",
        triage.version(),
        messages.len(),
        serde_json::to_string(&messages)?
    ));

    // 3. The generation that used the prompt is linked to its name and version.
    show(format!("review: {}", review(&critic, "Dune 2")));

    // 4. A new version, made the production one: this process reads its own write.
    let created = client
        .create_prompt(
            "movie-critic",
            "As a {{criticlevel}} critic, rate {{movie}} out of 10.",
        )
        .labels(["production"])
        .config(json!({ "model": "gpt-4o", "temperature": 0.2 }))
        .commit_message("ask for a rating")
        .await?;
    let current = client.get_prompt("movie-critic").text().await?;
    show(format!(
        "created v{}; production is now v{}",
        created.version(),
        current.version()
    ));

    // 5. Roll back: production goes back to version 1.
    client
        .update_prompt_labels("movie-critic", 1, ["production"])
        .await?;
    let rolled_back = client.get_prompt("movie-critic").text().await?;
    show(format!(
        "rolled back: production is v{}",
        rolled_back.version()
    ));

    // 6. A prompt Langfuse does not have: the fallback, flagged, linked to nothing.
    let fallback = client
        .get_prompt("not-in-langfuse")
        .text()
        .fallback("Summarize {{text}}")
        .await?;
    show(format!(
        "not-in-langfuse: fallback={} template={:?}",
        fallback.is_fallback(),
        fallback.template()
    ));

    // 7. Langfuse goes down: the cached version keeps being served, even to a call that asks
    // for a fresh one (a TTL of zero), with one warning.
    stand_in.set_down(true);
    let during_outage = client
        .get_prompt("movie-critic")
        .text()
        .cache_ttl(Duration::ZERO)
        .max_retries(0)
        .await?;
    show(format!(
        "during the outage: still v{} (fallback={})",
        during_outage.version(),
        during_outage.is_fallback()
    ));
    let error: PromptError = client
        .get_prompt("never-cached")
        .max_retries(0)
        .await
        .unwrap_err();
    show(format!("a prompt never cached, no fallback: {error}"));
    stand_in.set_down(false);
    Ok(shown)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let (addr, stand_in) = start_stand_in().await?;
    println!("prompts API stand-in on http://{addr}/api/public/v2/prompts\n");
    // No real keys needed by the stand-in; traces go to stderr.
    let langfuse = Langfuse::builder()
        .ignore_environment()
        .public_key("pk-lf-example")
        .secret_key("sk-lf-example")
        .base_url(format!("http://{addr}"))
        .exporter(ExporterKind::Console)
        .prefetch_prompts(["movie-critic"])
        .init()?;
    run(&stand_in).await?;
    langfuse.flush_async(Duration::from_secs(5)).await;
    Ok(())
}
