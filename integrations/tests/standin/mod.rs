//! A loopback stand-in for an OpenAI-compatible server (axum), enough for the real clients:
//! chat completions (plain and streamed, with a tool call when tools are offered and no tool
//! result came back yet), the Responses API and embeddings, with usage that splits cached
//! input and reasoning out. A model named `overloaded` gets a 429 with OpenAI's error body.

#![allow(dead_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures::stream::{self, Stream, StreamExt as _};
use serde_json::{Value, json};

/// How long the stand-in waits before the first chunk with content (after the role-only
/// chunk, which comes at once).
pub const FIRST_CONTENT_AFTER: Duration = Duration::from_millis(80);

/// The answer, word by word.
pub const ANSWER: &str = "It is sunny in Paris.";

/// Usage of every chat answer: 100 prompt tokens (40 cached), 30 completion tokens (10 of
/// them reasoning).
pub fn chat_usage() -> Value {
    json!({
        "prompt_tokens": 100,
        "completion_tokens": 30,
        "total_tokens": 130,
        "prompt_tokens_details": { "cached_tokens": 40 },
        "completion_tokens_details": { "reasoning_tokens": 10 },
    })
}

/// The stand-in, serving on its own thread and runtime.
pub struct StandIn {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Value>>>,
}

impl StandIn {
    pub fn start() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let state = Arc::clone(&requests);
        std::thread::Builder::new()
            .name("openai-standin".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                    let app = Router::new()
                        .route("/v1/chat/completions", post(chat))
                        .route("/v1/responses", post(responses))
                        .route("/v1/embeddings", post(embeddings))
                        .with_state(state);
                    axum::serve(listener, app).await.unwrap();
                });
            })
            .unwrap();
        Self { addr, requests }
    }

    /// `http://127.0.0.1:PORT/v1`, the base URL clients take.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The JSON bodies received so far.
    pub fn requests(&self) -> Vec<Value> {
        self.requests.lock().unwrap().clone()
    }
}

type Requests = Arc<Mutex<Vec<Value>>>;

fn overloaded() -> Response {
    let body = json!({
        "error": {
            "message": "The server is overloaded, try again later.",
            "type": "server_error",
            "param": null,
            "code": "overloaded",
        }
    });
    (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response()
}

/// Whether the conversation calls for a tool: tools are offered and no tool result came back.
fn wants_tool(body: &Value) -> bool {
    let offered = body["tools"].as_array().is_some_and(|t| !t.is_empty());
    let answered = body["messages"]
        .as_array()
        .is_some_and(|m| m.iter().any(|m| m["role"] == "tool"));
    offered && !answered
}

fn tool_call() -> Value {
    json!({
        "id": "call_1",
        "type": "function",
        "function": { "name": "get_weather", "arguments": "{\"city\":\"Paris\"}" },
    })
}

async fn chat(State(requests): State<Requests>, axum::Json(body): axum::Json<Value>) -> Response {
    requests.lock().unwrap().push(body.clone());
    if body["model"] == "overloaded" {
        return overloaded();
    }
    let model = format!("{}-2024-07-18", body["model"].as_str().unwrap_or("model"));
    let tool = wants_tool(&body);
    if body["stream"] == true {
        let usage = body["stream_options"]["include_usage"] == true;
        return Sse::new(chunks(model, tool, usage)).into_response();
    }
    let message = if tool {
        json!({ "role": "assistant", "content": null, "tool_calls": [tool_call()] })
    } else {
        json!({ "role": "assistant", "content": ANSWER })
    };
    axum::Json(json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_764_000_000,
        "model": model,
        "choices": [{
            "index": 0,
            "message": message,
            "finish_reason": if tool { "tool_calls" } else { "stop" },
            "logprobs": null,
        }],
        "usage": chat_usage(),
    }))
    .into_response()
}

fn chunk(model: &str, delta: Value, finish: Option<&str>) -> Value {
    json!({
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1_764_000_000,
        "model": model,
        "choices": [{ "index": 0, "delta": delta, "finish_reason": finish, "logprobs": null }],
    })
}

/// OpenAI's shape of a stream: a role-only chunk, then content, then the finish, then (when
/// asked for) a chunk with the usage and no choices.
fn chunks(model: String, tool: bool, usage: bool) -> impl Stream<Item = Result<Event, Infallible>> {
    let mut items = vec![chunk(
        &model,
        json!({ "role": "assistant", "content": "" }),
        None,
    )];
    let first_content = items.len();
    if tool {
        let mut call = tool_call();
        call["index"] = json!(0);
        items.push(chunk(&model, json!({ "tool_calls": [call] }), None));
        items.push(chunk(&model, json!({}), Some("tool_calls")));
    } else {
        for word in ANSWER.split_inclusive(' ') {
            items.push(chunk(&model, json!({ "content": word }), None));
        }
        items.push(chunk(&model, json!({}), Some("stop")));
    }
    if usage {
        items.push(json!({
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 1_764_000_000,
            "model": model,
            "choices": [],
            "usage": chat_usage(),
        }));
    }
    let events: Vec<(usize, Value)> = items.into_iter().enumerate().collect();
    stream::iter(events)
        .then(move |(i, item)| async move {
            if i == first_content {
                tokio::time::sleep(FIRST_CONTENT_AFTER).await;
            }
            Ok(Event::default().data(item.to_string()))
        })
        .chain(stream::once(async { Ok(Event::default().data("[DONE]")) }))
}

async fn responses(
    State(requests): State<Requests>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    requests.lock().unwrap().push(body.clone());
    let model = body["model"].as_str().unwrap_or("model").to_owned();
    axum::Json(json!({
        "id": "resp_1",
        "object": "response",
        "created_at": 1_764_000_000,
        "status": "completed",
        "model": model,
        "output": [{
            "type": "message",
            "id": "msg_1",
            "status": "completed",
            "role": "assistant",
            "content": [{ "type": "output_text", "text": ANSWER, "annotations": [] }],
        }],
        "parallel_tool_calls": true,
        "tool_choice": "auto",
        "tools": [],
        "usage": {
            "input_tokens": 50,
            "input_tokens_details": { "cached_tokens": 20 },
            "output_tokens": 12,
            "output_tokens_details": { "reasoning_tokens": 2 },
            "total_tokens": 62,
        },
    }))
    .into_response()
}

async fn embeddings(
    State(requests): State<Requests>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    requests.lock().unwrap().push(body.clone());
    axum::Json(json!({
        "object": "list",
        "model": body["model"],
        "data": [
            { "object": "embedding", "index": 0, "embedding": [0.1, 0.2, 0.3] },
            { "object": "embedding", "index": 1, "embedding": [0.4, 0.5, 0.6] },
        ],
        "usage": { "prompt_tokens": 8, "total_tokens": 8 },
    }))
    .into_response()
}
