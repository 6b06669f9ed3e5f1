//! An LLM call recorded as a Langfuse generation: model, model parameters, token usage (from
//! the response's `usage`), cost, and the prompt and completion as input and output.
//!
//! ```text
//! cargo run --example generation
//! ```
//!
//! The model is an OpenAI-compatible `/v1/chat/completions` stand-in served on 127.0.0.1, so
//! the example runs offline; point [`LlmClient`] at a real endpoint and nothing else changes.
//! Two calls are shown:
//!
//! - [`LlmClient::chat`]: a plain request, recorded with `#[observe(as_type = "generation")]`
//!   and `update_current_generation`.
//! - [`LlmClient::chat_streamed`]: a streamed (server-sent events) request, recorded with
//!   `start_observation(..).as_type(Generation)` and `update` as the chunks arrive: the
//!   completion start time (time to first token) at the first chunk, the joined text and the
//!   usage at the end.
//!
//! Without `LANGFUSE_PUBLIC_KEY` / `LANGFUSE_SECRET_KEY` the traces are printed on stderr.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Json;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures::StreamExt as _;
use langfuse::{ExporterKind, Langfuse, Level, ObservationType, observe};
use serde::{Deserialize, Serialize};
use serde_json::json;

// --- the wire format (the subset of OpenAI's chat completions used here) -------------------

/// One chat message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: String,
    pub content: String,
}

impl Message {
    pub fn new(role: &str, content: &str) -> Self {
        Self {
            role: role.to_owned(),
            content: content.to_owned(),
        }
    }
}

/// A `/v1/chat/completions` request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<Message>,
    pub temperature: f64,
    pub max_tokens: u32,
    #[serde(default)]
    pub stream: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<StreamOptions>,
}

/// Asks for the usage in the last chunk of a stream.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StreamOptions {
    pub include_usage: bool,
}

/// Token counts, as OpenAI reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct ChatResponse {
    model: String,
    choices: Vec<Choice>,
    usage: Usage,
}

#[derive(Debug, Serialize, Deserialize)]
struct Choice {
    message: Message,
}

#[derive(Debug, Serialize, Deserialize)]
struct ChatChunk {
    model: String,
    choices: Vec<ChunkChoice>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Debug, Serialize, Deserialize)]
struct ChunkChoice {
    delta: Delta,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Delta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    content: Option<String>,
}

// --- the stand-in model server -------------------------------------------------------------

/// The model version the stand-in reports, as OpenAI answers a request for `gpt-4o-mini`.
pub const RESPONSE_MODEL: &str = "gpt-4o-mini-2024-07-18";

/// The stand-in's answer to every question.
pub const ANSWER: &str = "Langfuse is an open-source LLM engineering platform: tracing, evaluations, prompt management and metrics.";

/// Starts an OpenAI-compatible `POST /v1/chat/completions` on an ephemeral loopback port.
/// Tokens are counted as whitespace-separated words.
pub async fn start_stand_in() -> std::io::Result<SocketAddr> {
    let router = Router::new().route("/v1/chat/completions", post(completions));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            eprintln!("stand-in model server stopped: {e}");
        }
    });
    Ok(address)
}

fn count_tokens(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

async fn completions(Json(request): Json<ChatRequest>) -> Response {
    let prompt_tokens = request
        .messages
        .iter()
        .map(|m| count_tokens(&m.content))
        .sum();
    let completion_tokens = count_tokens(ANSWER);
    let usage = Usage {
        prompt_tokens,
        completion_tokens,
        total_tokens: prompt_tokens + completion_tokens,
    };
    if !request.stream {
        return Json(ChatResponse {
            model: RESPONSE_MODEL.to_owned(),
            choices: vec![Choice {
                message: Message::new("assistant", ANSWER),
            }],
            usage,
        })
        .into_response();
    }

    // One server-sent event per word, a few milliseconds apart, then the usage, then [DONE].
    let include_usage = request.stream_options.is_some_and(|o| o.include_usage);
    let mut events: Vec<String> = ANSWER
        .split_inclusive(' ')
        .map(|word| {
            serde_json::to_string(&ChatChunk {
                model: RESPONSE_MODEL.to_owned(),
                choices: vec![ChunkChoice {
                    delta: Delta {
                        content: Some(word.to_owned()),
                    },
                }],
                usage: None,
            })
            .expect("a chunk serializes")
        })
        .collect();
    if include_usage {
        events.push(json!({ "model": RESPONSE_MODEL, "choices": [], "usage": usage }).to_string());
    }
    events.push("[DONE]".to_owned());
    let body = futures::stream::iter(events).then(|event| async move {
        tokio::time::sleep(Duration::from_millis(3)).await;
        Ok::<_, Infallible>(Bytes::from(format!("data: {event}\n\n")))
    });
    (
        [(header::CONTENT_TYPE, "text/event-stream")],
        Body::from_stream(body),
    )
        .into_response()
}

// --- the client, traced --------------------------------------------------------------------

/// A completion, what it cost in tokens and, when streamed, how long the first token took.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub text: String,
    pub usage: Option<Usage>,
    pub time_to_first_token: Option<Duration>,
}

/// USD per million tokens, input and output (gpt-4o-mini's list price). Langfuse can infer
/// cost from the model and usage by itself; sending it makes it exact for custom prices.
pub const PRICE_PER_MILLION: (f64, f64) = (0.15, 0.60);

/// Langfuse's usage shape: `input`, `output`, `total` as integers.
pub fn usage_details(usage: &Usage) -> serde_json::Value {
    json!({
        "input": usage.prompt_tokens,
        "output": usage.completion_tokens,
        "total": usage.total_tokens,
    })
}

/// Cost in USD by kind, from [`PRICE_PER_MILLION`].
pub fn cost_details(usage: &Usage) -> serde_json::Value {
    let input = usage.prompt_tokens as f64 * PRICE_PER_MILLION.0 / 1e6;
    let output = usage.completion_tokens as f64 * PRICE_PER_MILLION.1 / 1e6;
    json!({ "input": input, "output": output, "total": input + output })
}

fn model_parameters(request: &ChatRequest) -> serde_json::Value {
    json!({ "temperature": request.temperature, "max_tokens": request.max_tokens })
}

/// A pooled HTTP client. reqwest 0.13 with rustls needs a crypto provider, and this
/// repository's reqwest has none of its own: the process installs ring, which langfuse's default
/// `rustls` feature builds anyway (see "TLS" in the README). With reqwest's default features
/// (aws-lc-rs), `reqwest::Client::new()` alone is enough.
fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// An OpenAI-compatible client whose calls are recorded as generations.
#[derive(Debug, Clone)]
pub struct LlmClient {
    http: reqwest::Client,
    base_url: String,
}

impl LlmClient {
    /// A client for the API at `base_url` (for example `http://127.0.0.1:8080`).
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            http: http_client(),
            base_url: base_url.into(),
        }
    }

    fn url(&self) -> String {
        format!("{}/v1/chat/completions", self.base_url)
    }

    /// One chat completion, recorded as a generation. An `Err` marks it ERROR with the
    /// error's message, as `#[observe]` does for every `Result`.
    #[observe(
        name = "chat-completion",
        as_type = "generation",
        capture_input = false,
        capture_output = false
    )]
    pub async fn chat(&self, request: &ChatRequest) -> Result<Completion, reqwest::Error> {
        langfuse::update_current_generation(|generation| {
            generation
                .model(&request.model)
                .model_parameters(&model_parameters(request))
                .input(&request.messages);
        });
        let response: ChatResponse = self
            .http
            .post(self.url())
            .json(request)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let text = response
            .choices
            .into_iter()
            .next()
            .map(|choice| choice.message.content)
            .unwrap_or_default();
        langfuse::update_current_generation(|generation| {
            generation
                .model(&response.model) // the exact version that answered
                .output(&text)
                .usage_details(&usage_details(&response.usage))
                .cost_details(&cost_details(&response.usage));
        });
        Ok(Completion {
            text,
            usage: Some(response.usage),
            time_to_first_token: None,
        })
    }

    /// A streamed chat completion, recorded as a generation that stays open while the chunks
    /// arrive: the completion start time is taken at the first chunk with text, the output is
    /// the joined text and the usage comes from the stream's last chunk. A generation started
    /// here is a child of the observation current where this is called.
    pub async fn chat_streamed(
        &self,
        request: &ChatRequest,
    ) -> Result<Completion, Box<dyn std::error::Error + Send + Sync>> {
        let mut generation = langfuse::start_observation("chat-completion-stream")
            .as_type(ObservationType::Generation)
            .start();
        generation.update(|g| {
            g.model(&request.model)
                .model_parameters(&model_parameters(request))
                .input(&request.messages);
        });
        let result = self.read_stream(request, &mut generation).await;
        match &result {
            Ok(completion) => {
                generation.update(|g| {
                    g.output(&completion.text);
                    if let Some(usage) = &completion.usage {
                        g.usage_details(&usage_details(usage))
                            .cost_details(&cost_details(usage));
                    }
                });
            }
            Err(e) => {
                generation.update(|g| {
                    g.level(Level::Error).status_message(e.to_string());
                });
            }
        }
        generation.end();
        result
    }

    async fn read_stream(
        &self,
        request: &ChatRequest,
        generation: &mut langfuse::Observation,
    ) -> Result<Completion, Box<dyn std::error::Error + Send + Sync>> {
        let request = ChatRequest {
            stream: true,
            stream_options: Some(StreamOptions {
                include_usage: true,
            }),
            ..request.clone()
        };
        let mut response = self
            .http
            .post(self.url())
            .json(&request)
            .send()
            .await?
            .error_for_status()?;
        let sent = std::time::Instant::now();
        let mut time_to_first_token = None;
        let mut text = String::new();
        let mut usage = None;
        let mut pending: Vec<u8> = Vec::new();
        while let Some(bytes) = response.chunk().await? {
            pending.extend_from_slice(&bytes);
            // Server-sent events end with a blank line; a network chunk may hold several
            // events or part of one.
            while let Some(end) = pending.windows(2).position(|w| w == b"\n\n") {
                let event: Vec<u8> = pending.drain(..end + 2).collect();
                let event = std::str::from_utf8(&event)?;
                for data in event.lines().filter_map(|l| l.strip_prefix("data: ")) {
                    if data == "[DONE]" {
                        return Ok(Completion {
                            text,
                            usage,
                            time_to_first_token,
                        });
                    }
                    let chunk: ChatChunk = serde_json::from_str(data)?;
                    let delta = chunk
                        .choices
                        .into_iter()
                        .next()
                        .and_then(|c| c.delta.content);
                    if let Some(delta) = delta.filter(|d| !d.is_empty()) {
                        if text.is_empty() {
                            time_to_first_token = Some(sent.elapsed());
                            generation.update(|g| {
                                g.completion_start_time(SystemTime::now())
                                    .model(&chunk.model);
                            });
                        }
                        text.push_str(&delta);
                    }
                    if chunk.usage.is_some() {
                        usage = chunk.usage;
                    }
                }
            }
        }
        Err("the stream ended without [DONE]".into())
    }
}

/// A question for the model, as a typical request builds it.
pub fn question(text: &str) -> ChatRequest {
    ChatRequest {
        model: "gpt-4o-mini".to_owned(),
        messages: vec![
            Message::new("system", "You answer in one sentence."),
            Message::new("user", text),
        ],
        temperature: 0.2,
        max_tokens: 200,
        stream: false,
        stream_options: None,
    }
}

/// The application's request: both calls happen inside it, so they are its children.
#[observe(skip(llm))]
async fn answer_twice(
    llm: &LlmClient,
    text: &str,
) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let plain = llm.chat(&question(text)).await?;
    let streamed = llm.chat_streamed(&question(text)).await?;
    let tokens = |c: &Completion| c.usage.map_or(0, |u| u.total_tokens);
    Ok(format!(
        "plain:    {} ({} tokens)\nstreamed: {} ({} tokens, first token after {:?})",
        plain.text,
        tokens(&plain),
        streamed.text,
        tokens(&streamed),
        streamed.time_to_first_token.unwrap_or_default(),
    ))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let has_keys = std::env::var_os("LANGFUSE_PUBLIC_KEY").is_some()
        && std::env::var_os("LANGFUSE_SECRET_KEY").is_some();
    let langfuse = if has_keys {
        langfuse::init()?
    } else {
        eprintln!("No LANGFUSE_PUBLIC_KEY/LANGFUSE_SECRET_KEY: printing traces here instead.\n");
        Langfuse::builder().exporter(ExporterKind::Console).init()?
    };

    let server = start_stand_in().await?;
    println!("OpenAI-compatible stand-in on http://{server}/v1/chat/completions");
    let llm = LlmClient::new(format!("http://{server}"));
    println!("{}", answer_twice(&llm, "What is Langfuse?").await?);

    langfuse.flush_async(Duration::from_secs(10)).await;
    let stats = langfuse.stats();
    println!(
        "\n{} observations recorded (a request and its two generations), {} exported, {} dropped",
        stats.started,
        stats.exported,
        stats.dropped()
    );
    Ok(())
}
