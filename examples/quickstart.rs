//! A small request flow traced with `#[observe]`: a handler that retrieves documents, calls a
//! model, calls a tool that fails, and answers.
//!
//! ```text
//! cargo run --example quickstart
//! ```
//!
//! Without `LANGFUSE_PUBLIC_KEY` / `LANGFUSE_SECRET_KEY` it prints each trace as a tree on
//! stderr. With them (and `LANGFUSE_BASE_URL` for a self-hosted server) it ships the traces to
//! Langfuse and prints a link-friendly summary.

use std::time::Duration;

use langfuse::{ExporterKind, Langfuse, observe};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
struct Document {
    id: String,
    text: String,
}

#[derive(Debug)]
enum WeatherError {
    Unavailable { city: String },
}

impl std::fmt::Display for WeatherError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WeatherError::Unavailable { city } => {
                write!(f, "weather service unavailable for {city}")
            }
        }
    }
}

impl std::error::Error for WeatherError {}

/// A vector search, simulated with a short sleep.
#[observe(as_type = "retriever")]
async fn retrieve_documents(question: &str, limit: usize) -> Vec<Document> {
    tokio::time::sleep(Duration::from_millis(3)).await;
    (1..=limit)
        .map(|i| Document {
            id: format!("doc-{i}"),
            text: format!("Passage {i} about: {question}"),
        })
        .collect()
}

/// A call to a language model, simulated.
#[observe(name = "generate-answer", as_type = "generation")]
async fn generate_answer(question: &str, documents: &[Document]) -> String {
    tokio::time::sleep(Duration::from_millis(12)).await;
    let answer = format!(
        "Based on {} documents: Langfuse traces LLM applications ({question})",
        documents.len()
    );
    // What a real client reads from the model's response.
    langfuse::update_current_generation(|generation| {
        generation
            .model("gpt-4o-mini")
            .model_parameters(&serde_json::json!({ "temperature": 0.2 }))
            .usage_details(&serde_json::json!({ "input": 52, "output": 18 }));
    });
    answer
}

/// A tool the model may call. This one fails for some cities.
#[observe(as_type = "tool")]
fn lookup_weather(city: &str) -> Result<String, WeatherError> {
    if city == "Atlantis" {
        return Err(WeatherError::Unavailable {
            city: city.to_owned(),
        });
    }
    Ok(format!("sunny in {city}"))
}

/// Checks the answer before it leaves the service.
#[observe(as_type = "guardrail", capture_output = false)]
fn check_answer(answer: &str) -> bool {
    !answer.is_empty() && !answer.contains("password")
}

/// The request handler: the root of each trace.
#[observe]
async fn handle_request(question: String, city: String) -> Result<String, WeatherError> {
    langfuse::update_current_trace(|trace| {
        trace
            .user_id("user-42")
            .session_id("chat-7")
            .tags(["quickstart"]);
    });
    let documents = retrieve_documents(&question, 2).await;
    // Two independent steps run concurrently; both are children of this observation.
    let (answer, weather) = tokio::join!(generate_answer(&question, &documents), async {
        lookup_weather(&city)
    });
    let weather = weather?;
    let answer = format!("{answer}. Weather: {weather}.");
    langfuse::score_current_trace(langfuse::Score::numeric(
        "answer-length",
        answer.len() as f64,
    ));
    if !check_answer(&answer) {
        return Ok("I can't answer that.".to_owned());
    }
    Ok(answer)
}

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

    for (question, city) in [
        ("What is Langfuse?", "Berlin"),
        ("How do traces nest?", "Atlantis"),
    ] {
        match handle_request(question.to_owned(), city.to_owned()).await {
            Ok(answer) => println!("answer: {answer}"),
            Err(e) => println!("failed: {e}"),
        }
    }

    let report = langfuse.flush_async(Duration::from_secs(10)).await;
    let stats = langfuse.stats();
    println!(
        "\n{} observations recorded, {} exported, {} dropped, flush took {:?}",
        stats.started,
        stats.exported,
        stats.dropped(),
        report.elapsed
    );
    if has_keys {
        let base = langfuse.config().map(|c| c.base_url().to_string());
        println!("open {} to see the traces", base.unwrap_or_default());
    }
    Ok(())
}
