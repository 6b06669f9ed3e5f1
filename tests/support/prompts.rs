//! A loopback stand-in for Langfuse's prompts API (`/api/public/v2/prompts`): it keeps
//! prompts with versions and labels as the server does, checks every request against the
//! operation the vendored OpenAPI spec defines for it (`openapi::check_request`) and every
//! answer against the response schema (`openapi::check_response`), and can be made slow,
//! down, or answer an error, for every request or for the next ones.
//!
//! Like [`Receiver`](super::Receiver) it serves on its own thread and runtime and binds
//! 127.0.0.1 only.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt as _, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use serde_json::{Value, json};

use super::openapi;
use super::server::{Answer, DropConnection, Server};

/// The prompts endpoint.
pub const PROMPTS_PATH: &str = "/api/public/v2/prompts";

/// How the server treats a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answers as Langfuse would.
    None,
    /// Works out the answer when the request arrives, then waits this long before sending
    /// it (a slow server or network: the answer is what was true on arrival).
    Delay(Duration),
    /// Answers this status with a JSON message, whatever the request.
    Status(u16),
    /// Closes the connection without an answer (the server is down).
    Down,
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct PromptRequest {
    /// `GET`, `POST`, `PATCH`...
    pub method: String,
    /// The path as sent, still percent-encoded.
    pub path: String,
    /// The query string as sent (without `?`), empty if none.
    pub query: String,
    /// Headers, lowercase names.
    pub headers: Vec<(String, String)>,
    /// The JSON body, if any.
    pub body: Option<Value>,
    /// The status answered (0: the connection was closed without one).
    pub status: u16,
    /// What does not conform to the spec, in the request or in the answer.
    pub problems: Vec<String>,
    /// When it arrived.
    pub at: Instant,
}

impl PromptRequest {
    /// A header's value (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One version of a prompt, as the server keeps it.
#[derive(Debug, Clone)]
struct Version {
    name: String,
    version: i64,
    kind: &'static str,
    prompt: Value,
    config: Value,
    labels: Vec<String>,
    tags: Vec<String>,
    commit_message: Option<String>,
}

impl Version {
    /// The answer's `Prompt` object.
    fn to_json(&self) -> Value {
        json!({
            "type": self.kind,
            "name": self.name,
            "version": self.version,
            "prompt": self.prompt,
            "config": self.config,
            "labels": self.labels,
            "tags": self.tags,
            "commitMessage": self.commit_message,
            "resolutionGraph": null,
        })
    }
}

#[derive(Default)]
struct State {
    versions: Mutex<Vec<Version>>,
    log: Mutex<Vec<PromptRequest>>,
    arrived: Condvar,
    fault: Mutex<Option<Fault>>,
    script: Mutex<VecDeque<Fault>>,
}

/// The running stand-in; dropping it stops it.
pub struct PromptServer {
    server: Server,
    state: Arc<State>,
}

impl PromptServer {
    /// Binds 127.0.0.1 on a free port, with no prompts.
    pub fn start() -> Self {
        let state = Arc::new(State::default());
        let serving = Arc::clone(&state);
        let server = Server::start(
            "test-prompts-server",
            "127.0.0.1:0".parse().expect("a socket address"),
            move |request| handle(Arc::clone(&serving), request),
        );
        Self { server, state }
    }

    /// `http://127.0.0.1:PORT`, the SDK's base URL.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    /// Publishes a new version of a text prompt with these labels (taken off the other
    /// versions; `latest` moves to it), as the Langfuse UI would. Returns its version.
    pub fn publish_text(&self, name: &str, template: &str, labels: &[&str]) -> i64 {
        self.publish(name, "text", json!(template), labels, json!({}))
    }

    /// Publishes a new version of a chat prompt (`ChatMessageWithPlaceholders` items).
    pub fn publish_chat(&self, name: &str, messages: Value, labels: &[&str]) -> i64 {
        self.publish(name, "chat", messages, labels, json!({}))
    }

    /// Publishes a new version with a config.
    pub fn publish(
        &self,
        name: &str,
        kind: &'static str,
        prompt: Value,
        labels: &[&str],
        config: Value,
    ) -> i64 {
        let labels: Vec<String> = labels.iter().map(|l| (*l).to_owned()).collect();
        insert(
            &mut lock(&self.state.versions),
            name,
            kind,
            prompt,
            labels,
            None,
            config,
            None,
        )
    }

    /// Deletes every version of `name`.
    pub fn remove(&self, name: &str) {
        lock(&self.state.versions).retain(|v| v.name != name);
    }

    /// Treats every later request this way (after the scripted ones).
    pub fn set_fault(&self, fault: Fault) {
        *lock(&self.state.fault) = Some(fault);
    }

    /// Treats the next requests this way, one fault each, before [`set_fault`](Self::set_fault)'s.
    pub fn enqueue_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        lock(&self.state.script).extend(faults);
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<PromptRequest> {
        lock(&self.state.log).clone()
    }

    /// The `GET`s of the prompt `name` so far.
    pub fn gets_of(&self, name: &str) -> Vec<PromptRequest> {
        let path = format!("{PROMPTS_PATH}/{}", encode(name));
        self.requests()
            .into_iter()
            .filter(|r| r.method == "GET" && r.path == path)
            .collect()
    }

    /// Waits until `count` requests have arrived, and returns all of them; panics with what
    /// arrived if `timeout` passes first.
    pub fn wait_for_requests(&self, count: usize, timeout: Duration) -> Vec<PromptRequest> {
        let deadline = Instant::now() + timeout;
        let mut log = lock(&self.state.log);
        while log.len() < count {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                panic!(
                    "expected {count} requests within {timeout:?}, got {}: {:?}",
                    log.len(),
                    log.iter()
                        .map(|r| format!("{} {}?{}", r.method, r.path, r.query))
                        .collect::<Vec<_>>()
                );
            }
            log = self
                .state
                .arrived
                .wait_timeout(log, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        log.clone()
    }

    /// Asserts that every request so far, and every answer, conformed to the spec.
    #[track_caller]
    pub fn assert_all_conform(&self) {
        for request in self.requests() {
            assert!(
                request.problems.is_empty(),
                "{} {}?{} does not conform to the spec: {:?}\n{:#?}",
                request.method,
                request.path,
                request.query,
                request.problems,
                request.body
            );
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Adds a version: the next number, these labels taken off the others, `latest` moved.
#[allow(clippy::too_many_arguments)]
fn insert(
    versions: &mut Vec<Version>,
    name: &str,
    kind: &'static str,
    prompt: Value,
    mut labels: Vec<String>,
    tags: Option<Vec<String>>,
    config: Value,
    commit_message: Option<String>,
) -> i64 {
    let version = versions
        .iter()
        .filter(|v| v.name == name)
        .map(|v| v.version)
        .max()
        .unwrap_or(0)
        + 1;
    if !labels.iter().any(|l| l == "latest") {
        labels.push("latest".to_owned());
    }
    let mut kept_tags = Vec::new();
    for other in versions.iter_mut().filter(|v| v.name == name) {
        other.labels.retain(|l| !labels.contains(l));
        kept_tags.clone_from(&other.tags);
    }
    let tags = tags.unwrap_or(kept_tags);
    for other in versions.iter_mut().filter(|v| v.name == name) {
        other.tags.clone_from(&tags);
    }
    versions.push(Version {
        name: name.to_owned(),
        version,
        kind,
        prompt,
        config,
        labels,
        tags,
        commit_message,
    });
    version
}

/// As the SDK encodes a name: every byte but letters, digits and `_.-~`.
pub fn encode(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"_.-~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn handle(state: Arc<State>, request: Request<Incoming>) -> Answer {
    let at = Instant::now();
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or("").to_owned();
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let raw = request
        .into_body()
        .collect()
        .await
        .map_err(|_| DropConnection)?
        .to_bytes();
    let mut problems = Vec::new();
    let body = if raw.is_empty() {
        None
    } else {
        match serde_json::from_slice::<Value>(&raw) {
            Ok(body) => Some(body),
            Err(e) => {
                problems.push(format!("the body is not JSON: {e}"));
                None
            }
        }
    };
    let target = if query.is_empty() {
        path.clone()
    } else {
        format!("{path}?{query}")
    };
    problems.extend(openapi::check_request(&method, &target, body.as_ref()));
    if !headers
        .iter()
        .any(|(n, v)| n == "authorization" && v.starts_with("Basic "))
    {
        problems.push("no Basic authorization".into());
    }

    let fault = lock(&state.script)
        .pop_front()
        .or_else(|| lock(&state.fault).clone())
        .unwrap_or(Fault::None);
    let (status, answer) = match &fault {
        Fault::Down => (0, Value::Null),
        Fault::Status(status) => (
            *status,
            json!({ "message": format!("stand-in answers {status}") }),
        ),
        Fault::None | Fault::Delay(_) => answer(&state, &method, &path, &query, body.as_ref()),
    };
    if status != 0 {
        problems.extend(openapi::check_response(&method, &path, status, &answer));
    }
    lock(&state.log).push(PromptRequest {
        method,
        path,
        query,
        headers,
        body,
        status,
        problems,
        at,
    });
    state.arrived.notify_all();

    match fault {
        Fault::Down => return Err(DropConnection),
        Fault::Delay(delay) => tokio::time::sleep(delay).await,
        Fault::None | Fault::Status(_) => {}
    }
    Ok(Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(answer.to_string())))
        .expect("a valid answer"))
}

/// What Langfuse answers.
fn answer(
    state: &State,
    method: &str,
    path: &str,
    query: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let not_found = |what: &str| (404, json!({ "message": format!("{what} not found") }));
    let Some(rest) = path.strip_prefix(PROMPTS_PATH) else {
        return not_found("route");
    };
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let mut versions = lock(&state.versions);
    match (method, segments.as_slice()) {
        ("GET", [name]) => {
            let name = super::urls::path_segment(name);
            let query = super::urls::query_pairs(query);
            let version = query
                .iter()
                .find(|(k, _)| k == "version")
                .and_then(|(_, v)| v.parse::<i64>().ok());
            let label = query
                .iter()
                .find(|(k, _)| k == "label")
                .map_or("production", |(_, v)| v.as_str());
            let found = versions.iter().find(|v| {
                v.name == name
                    && match version {
                        Some(version) => v.version == version,
                        None => v.labels.iter().any(|l| l == label),
                    }
            });
            match found {
                Some(version) => (200, version.to_json()),
                None => not_found("Prompt"),
            }
        }
        ("POST", []) => {
            let Some(body) = body else {
                return (400, json!({ "message": "no body" }));
            };
            let strings = |key: &str| -> Option<Vec<String>> {
                body.get(key)?.as_array().map(|items| {
                    items
                        .iter()
                        .filter_map(|i| i.as_str().map(str::to_owned))
                        .collect()
                })
            };
            let name = body["name"].as_str().unwrap_or_default().to_owned();
            let kind = if body["type"] == "chat" {
                "chat"
            } else {
                "text"
            };
            // The server stores chat messages with their type.
            let prompt = match body["prompt"].clone() {
                Value::Array(items) => Value::Array(
                    items
                        .into_iter()
                        .map(|mut item| {
                            if item.get("type").is_none() {
                                item["type"] = json!("chatmessage");
                            }
                            item
                        })
                        .collect(),
                ),
                other => other,
            };
            let version = insert(
                &mut versions,
                &name,
                kind,
                prompt,
                strings("labels").unwrap_or_default(),
                strings("tags"),
                body.get("config")
                    .cloned()
                    .filter(|c| !c.is_null())
                    .unwrap_or(json!({})),
                body["commitMessage"].as_str().map(str::to_owned),
            );
            let created = versions
                .iter()
                .find(|v| v.name == name && v.version == version)
                .expect("just inserted");
            (200, created.to_json())
        }
        ("PATCH", [name, "versions", version]) => {
            let name = super::urls::path_segment(name);
            let Ok(version) = version.parse::<i64>() else {
                return (400, json!({ "message": "version is not an integer" }));
            };
            let labels: Vec<String> = body
                .and_then(|b| b["newLabels"].as_array())
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|i| i.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            if !versions
                .iter()
                .any(|v| v.name == name && v.version == version)
            {
                return not_found("Prompt version");
            }
            for other in versions.iter_mut().filter(|v| v.name == name) {
                if other.version == version {
                    for label in &labels {
                        if !other.labels.contains(label) {
                            other.labels.push(label.clone());
                        }
                    }
                } else {
                    other.labels.retain(|l| !labels.contains(l));
                }
            }
            let updated = versions
                .iter()
                .find(|v| v.name == name && v.version == version)
                .expect("checked");
            (200, updated.to_json())
        }
        _ => not_found("route"),
    }
}
