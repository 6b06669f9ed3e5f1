//! Shared harness for end-to-end tests: a loopback server that speaks Langfuse's OTLP, scores
//! and projects endpoints, records every request, and decodes bodies with the independent
//! `opentelemetry-proto` types (never with the SDK's own encoder).
//!
//! The server runs on its own thread and tokio runtime, so tests of any flavour (plain
//! `#[test]`, current-thread or multi-thread `#[tokio::test]`) can use it. It binds
//! 127.0.0.1 only.

// Each test file includes this module and uses a different part of it.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::fmt;
use std::io::Read as _;
use std::net::SocketAddr;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt as _, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
pub use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
pub use opentelemetry_proto::tonic::common::v1::any_value::Value as AttributeValue;
pub use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
pub use opentelemetry_proto::tonic::resource::v1::Resource;
pub use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;

use server::{Answer, DropConnection, Server};

pub mod datasets;
pub mod logs;
pub mod openapi;
pub mod process;
pub mod prompts;
pub mod recorded;
pub mod server;
pub mod setup;
pub mod urls;

/// Path of the OTLP traces endpoint.
pub const TRACES_PATH: &str = "/api/public/otel/v1/traces";
/// Path of the scores endpoint.
pub const SCORES_PATH: &str = "/api/public/scores";
/// Path of the endpoint listing the API key's projects (`GET`), which trace URLs need.
pub const PROJECTS_PATH: &str = "/api/public/projects";
/// The project id the receiver reports unless told otherwise.
pub const DEFAULT_PROJECT_ID: &str = "test-project";

/// An HTTP client for the tests' own requests. reqwest 0.13 with rustls needs a crypto
/// provider and this repository's reqwest has none of its own, so the process installs ring
/// first, as `examples/distributed.rs` does (see "TLS" in the README).
pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// A `GET /api/public/projects` answer listing projects with these ids, in the shape of the
/// OpenAPI `Projects` schema.
pub fn projects_body(ids: &[&str]) -> String {
    let data: Vec<serde_json::Value> = ids
        .iter()
        .map(|id| {
            serde_json::json!({
                "id": id,
                "name": format!("project {id}"),
                "organization": { "id": "test-org", "name": "Test org" },
                "metadata": {},
            })
        })
        .collect();
    serde_json::json!({ "data": data }).to_string()
}

/// What the receiver answers to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Extra response headers, such as `retry-after`.
    pub headers: Vec<(String, String)>,
    /// Response body.
    pub body: String,
    /// Wait this long before answering (or before dropping the connection).
    pub delay: Duration,
    /// Close the connection without any response.
    pub drop_connection: bool,
}

impl Reply {
    /// A reply with this status and an empty body.
    pub fn status(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: String::new(),
            delay: Duration::ZERO,
            drop_connection: false,
        }
    }

    /// What Langfuse answers to an accepted export: 200 `{}`.
    pub fn ok() -> Self {
        Self::status(200).with_body("{}")
    }

    /// Closes the connection without answering.
    pub fn drop_connection() -> Self {
        Self {
            drop_connection: true,
            ..Self::status(0)
        }
    }

    /// Adds a response header.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets the response body.
    pub fn with_body(mut self, body: &str) -> Self {
        self.body = body.to_owned();
        self
    }

    /// Delays the reply.
    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    fn is_accepted(&self) -> bool {
        !self.drop_connection && (200..300).contains(&self.status)
    }
}

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// Path, without the query.
    pub path: String,
    /// The query, without the `?`, if the request had one.
    pub query: Option<String>,
    /// Headers with lowercase names, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body exactly as received (still gzipped if it was sent so).
    pub body: Vec<u8>,
    /// The decoded OTLP request, for a well-formed POST to the traces path.
    pub export: Option<ExportTraceServiceRequest>,
    /// The parsed JSON, for a well-formed POST to the scores path.
    pub json: Option<serde_json::Value>,
    /// Why the body could not be decoded, if it could not.
    pub decode_error: Option<String>,
    /// What the receiver answered.
    pub reply: Reply,
    /// When the request arrived.
    pub received_at: Instant,
}

impl RecordedRequest {
    /// The value of a header (case-insensitive name); the first one if sent twice.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a header (case-insensitive name).
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The body after undoing `Content-Encoding: gzip`.
    pub fn decoded_body(&self) -> Result<Vec<u8>, String> {
        decode_content(self.header("content-encoding"), &self.body)
    }

    /// The request target as sent: the path and, if there is one, `?` and the query.
    pub fn target(&self) -> String {
        match &self.query {
            Some(query) => format!("{}?{query}", self.path),
            None => self.path.clone(),
        }
    }

    /// Whether the receiver answered 2xx: only then does a real server keep the data.
    pub fn accepted(&self) -> bool {
        self.reply.is_accepted()
    }
}

/// A span with the resource and scope it was sent under.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedSpan {
    /// The span.
    pub span: Span,
    /// Its resource.
    pub resource: Resource,
    /// Its instrumentation scope.
    pub scope: InstrumentationScope,
}

impl ReceivedSpan {
    /// The span's name.
    pub fn name(&self) -> &str {
        &self.span.name
    }

    /// Trace id as 32 lowercase hex characters.
    pub fn trace_id(&self) -> String {
        hex(&self.span.trace_id)
    }

    /// Span id as 16 lowercase hex characters.
    pub fn span_id(&self) -> String {
        hex(&self.span.span_id)
    }

    /// Parent span id as hex, `None` for a root span.
    pub fn parent_span_id(&self) -> Option<String> {
        (!self.span.parent_span_id.is_empty()).then(|| hex(&self.span.parent_span_id))
    }

    /// A span attribute's value. Panics if the key was sent twice: the SDK never does that.
    pub fn attr(&self, key: &str) -> Option<&AttributeValue> {
        find_attr(&self.span.attributes, key)
    }

    /// Whether the span has this attribute.
    pub fn has_attr(&self, key: &str) -> bool {
        self.attr(key).is_some()
    }

    /// Keys of the span's attributes, in the order sent.
    pub fn attr_keys(&self) -> Vec<&str> {
        self.span
            .attributes
            .iter()
            .map(|kv| kv.key.as_str())
            .collect()
    }

    /// A string attribute; panics if the attribute has another type.
    pub fn str_attr(&self, key: &str) -> Option<&str> {
        str_value(key, self.attr(key))
    }

    /// A string attribute holding JSON, parsed (so that key order does not matter); panics
    /// if it is missing or not JSON.
    pub fn json_attr(&self, key: &str) -> serde_json::Value {
        let text = self
            .str_attr(key)
            .unwrap_or_else(|| panic!("{} has no {key}: {:?}", self.name(), self.attr_keys()));
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{key} is not JSON ({e}): {text}"))
    }

    /// A bool attribute; panics if the attribute has another type.
    pub fn bool_attr(&self, key: &str) -> Option<bool> {
        match self.attr(key)? {
            AttributeValue::BoolValue(b) => Some(*b),
            other => panic!("attribute {key} is not a bool: {other:?}"),
        }
    }

    /// An int attribute; panics if the attribute has another type.
    pub fn int_attr(&self, key: &str) -> Option<i64> {
        match self.attr(key)? {
            AttributeValue::IntValue(i) => Some(*i),
            other => panic!("attribute {key} is not an int: {other:?}"),
        }
    }

    /// The values of an array attribute; panics if the attribute is not an array.
    pub fn array_attr(&self, key: &str) -> Option<Vec<AttributeValue>> {
        match self.attr(key)? {
            AttributeValue::ArrayValue(array) => Some(
                array
                    .values
                    .iter()
                    .map(|v| v.value.clone().expect("array element without a value"))
                    .collect(),
            ),
            other => panic!("attribute {key} is not an array: {other:?}"),
        }
    }

    /// An array attribute of strings; panics if it holds anything else.
    pub fn str_array_attr(&self, key: &str) -> Option<Vec<String>> {
        let values = self.array_attr(key)?;
        Some(
            values
                .into_iter()
                .map(|v| match v {
                    AttributeValue::StringValue(s) => s,
                    other => panic!("attribute {key} holds a non-string: {other:?}"),
                })
                .collect(),
        )
    }

    /// A string attribute of the resource.
    pub fn resource_str_attr(&self, key: &str) -> Option<&str> {
        str_value(key, find_attr(&self.resource.attributes, key))
    }

    /// A string attribute of the scope.
    pub fn scope_str_attr(&self, key: &str) -> Option<&str> {
        str_value(key, find_attr(&self.scope.attributes, key))
    }
}

/// The value of `key` among `attributes`; panics if the key appears twice.
pub fn find_attr<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a AttributeValue> {
    let mut found = attributes.iter().filter(|kv| kv.key == key);
    let first = found.next()?;
    assert!(found.next().is_none(), "attribute {key} was sent twice");
    first.value.as_ref()?.value.as_ref()
}

fn str_value<'a>(key: &str, value: Option<&'a AttributeValue>) -> Option<&'a str> {
    match value? {
        AttributeValue::StringValue(s) => Some(s),
        other => panic!("attribute {key} is not a string: {other:?}"),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

type Responder = Box<dyn Fn(&RecordedRequest) -> Option<Reply> + Send + Sync>;

#[derive(Default)]
struct Shared {
    log: Mutex<Vec<RecordedRequest>>,
    arrived: Condvar,
    script: Mutex<VecDeque<Reply>>,
    responder: Mutex<Option<Responder>>,
    /// Replies to `GET` [`PROJECTS_PATH`], used in order before `projects_reply`. Kept apart
    /// from `script`, so that the SDK's background project lookup never takes a reply meant
    /// for an export.
    projects_script: Mutex<VecDeque<Reply>>,
    /// The reply to `GET` [`PROJECTS_PATH`] once its script is used up; `None`: one project,
    /// [`DEFAULT_PROJECT_ID`].
    projects_reply: Mutex<Option<Reply>>,
}

/// A loopback Langfuse endpoint. Dropping it stops the server.
pub struct Receiver {
    server: Server,
    shared: Arc<Shared>,
}

impl fmt::Debug for Receiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("addr", &self.server.addr())
            .finish_non_exhaustive()
    }
}

impl Receiver {
    /// Binds 127.0.0.1 on a free port and serves on a thread of its own.
    pub fn start() -> Self {
        Self::start_on("127.0.0.1:0".parse().expect("a socket address"))
    }

    /// Serves on `addr` (a loopback address), for a server that comes up where the SDK
    /// was already sending (see `tests/faults.rs`).
    pub fn start_on(addr: SocketAddr) -> Self {
        let shared = Arc::new(Shared::default());
        let serving = Arc::clone(&shared);
        let server = Server::start("test-receiver", addr, move |request| {
            handle(Arc::clone(&serving), request)
        });
        Self { server, shared }
    }

    /// `http://127.0.0.1:PORT`, to use as `LANGFUSE_BASE_URL`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    /// The full OTLP traces URL.
    pub fn traces_url(&self) -> String {
        format!("{}{TRACES_PATH}", self.base_url())
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// Queues replies, used in order by the next requests (any path but the project lookup,
    /// see [`Receiver::enqueue_projects`]) before the responder and the defaults.
    pub fn enqueue(&self, replies: impl IntoIterator<Item = Reply>) {
        lock(&self.shared.script).extend(replies);
    }

    /// Decides replies for requests the queue does not cover (project lookups aside); `None`
    /// means the default (200 `{}` for a well-formed body, 400 for a malformed one, 404 for an
    /// unknown path).
    pub fn respond_with(
        &self,
        responder: impl Fn(&RecordedRequest) -> Option<Reply> + Send + Sync + 'static,
    ) {
        *lock(&self.shared.responder) = Some(Box::new(responder));
    }

    /// Answers every later `GET` [`PROJECTS_PATH`] with 200 and `body` (for example from
    /// [`projects_body`]). Project lookups never use the replies of [`Receiver::enqueue`] or
    /// [`Receiver::respond_with`].
    pub fn set_projects_body(&self, body: &str) {
        self.set_projects_reply(Reply::ok().with_body(body));
    }

    /// Answers every later `GET` [`PROJECTS_PATH`] with `reply`, once the replies queued by
    /// [`Receiver::enqueue_projects`] are used up.
    pub fn set_projects_reply(&self, reply: Reply) {
        *lock(&self.shared.projects_reply) = Some(reply);
    }

    /// Queues replies for the next `GET` [`PROJECTS_PATH`] requests, in order.
    pub fn enqueue_projects(&self, replies: impl IntoIterator<Item = Reply>) {
        lock(&self.shared.projects_script).extend(replies);
    }

    /// `GET` [`PROJECTS_PATH`] requests so far.
    pub fn project_requests(&self) -> Vec<RecordedRequest> {
        self.requests_to(PROJECTS_PATH)
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.log).clone()
    }

    /// Requests to the traces path so far.
    pub fn trace_requests(&self) -> Vec<RecordedRequest> {
        self.requests_to(TRACES_PATH)
    }

    /// Requests to `path` so far.
    pub fn requests_to(&self, path: &str) -> Vec<RecordedRequest> {
        lock(&self.shared.log)
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    /// Forgets the requests seen so far.
    pub fn clear(&self) {
        lock(&self.shared.log).clear();
    }

    /// Spans of every accepted (2xx) export, flattened, in arrival order. A batch that was
    /// answered with an error or dropped is left out, as a real server would not keep it.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        spans_of(&lock(&self.shared.log))
    }

    /// Spans of every export, accepted or not (retries show up more than once).
    pub fn all_spans(&self) -> Vec<ReceivedSpan> {
        let log = lock(&self.shared.log);
        log.iter()
            .filter_map(|r| r.export.as_ref())
            .flat_map(flatten)
            .collect()
    }

    /// The spans of the accepted exports, each request body counted once, for a flush that
    /// returned complete (every batch was answered 2xx, and the receiver logs a request before
    /// it answers, so nothing is still on its way). On a loaded machine the receiver can take
    /// longer than the SDK's timeout (5 s by default) to answer a request it accepted; the SDK
    /// then sends the batch again, as it must, since it cannot know that the first copy
    /// arrived (Langfuse keeps one span per id). Such a resend is the same body, and there are
    /// no more of them than `stats` counts retries; apart from them, every span must arrive
    /// exactly once.
    pub fn spans_once(&self, stats: &langfuse::Stats) -> Vec<ReceivedSpan> {
        let log = lock(&self.shared.log);
        let mut bodies = std::collections::HashSet::new();
        let mut resent = 0;
        let mut spans = Vec::new();
        for request in log.iter().filter(|r| r.path == TRACES_PATH && r.accepted()) {
            if !bodies.insert(&request.body) {
                resent += 1;
                continue;
            }
            spans.extend(flatten(
                request
                    .export
                    .as_ref()
                    .expect("an accepted export was decoded"),
            ));
        }
        assert!(
            resent <= stats.retries,
            "{resent} batches arrived twice, after {} retries: {stats:?}",
            stats.retries
        );
        spans
    }

    /// Parsed JSON bodies of every accepted POST to the scores path.
    pub fn scores(&self) -> Vec<serde_json::Value> {
        lock(&self.shared.log)
            .iter()
            .filter(|r| r.path == SCORES_PATH && r.accepted())
            .filter_map(|r| r.json.clone())
            .collect()
    }

    /// Waits until at least `count` accepted spans have arrived and returns all of them.
    /// Panics with what did arrive if `timeout` passes first.
    pub fn wait_for_spans(&self, count: usize, timeout: Duration) -> Vec<ReceivedSpan> {
        let log = self.wait_until(timeout, |log| spans_of(log).len() >= count);
        let spans = spans_of(&log);
        assert!(
            spans.len() >= count,
            "expected {count} spans within {timeout:?}, got {}: {:?}; requests: {:?}",
            spans.len(),
            spans.iter().map(ReceivedSpan::name).collect::<Vec<_>>(),
            log.iter()
                .map(|r| format!("{} {} -> {}", r.method, r.path, r.reply.status))
                .collect::<Vec<_>>(),
        );
        spans
    }

    /// Waits until at least `count` accepted spans of the trace `trace_id` have arrived and
    /// returns the spans of that trace; for tests that share a client (and a receiver) with
    /// others in the same binary. Panics with what did arrive if `timeout` passes first.
    pub fn wait_for_trace(
        &self,
        trace_id: impl fmt::Display,
        count: usize,
        timeout: Duration,
    ) -> Vec<ReceivedSpan> {
        let trace_id = trace_id.to_string();
        let of_trace = |log: &[RecordedRequest]| -> Vec<ReceivedSpan> {
            spans_of(log)
                .into_iter()
                .filter(|s| s.trace_id() == trace_id)
                .collect()
        };
        let log = self.wait_until(timeout, |log| of_trace(log).len() >= count);
        let spans = of_trace(&log);
        assert!(
            spans.len() >= count,
            "expected {count} spans of trace {trace_id} within {timeout:?}, got {}: {:?}",
            spans.len(),
            spans.iter().map(ReceivedSpan::name).collect::<Vec<_>>(),
        );
        spans
    }

    /// Waits until at least `count` requests (any path, any outcome) have arrived; returns
    /// them, or panics if `timeout` passes first.
    pub fn wait_for_requests(&self, count: usize, timeout: Duration) -> Vec<RecordedRequest> {
        let log = self.wait_until(timeout, |log| log.len() >= count);
        assert!(
            log.len() >= count,
            "expected {count} requests within {timeout:?}, got {}",
            log.len()
        );
        log.clone()
    }

    fn wait_until(
        &self,
        timeout: Duration,
        done: impl Fn(&[RecordedRequest]) -> bool,
    ) -> MutexGuard<'_, Vec<RecordedRequest>> {
        let deadline = Instant::now() + timeout;
        let mut log = lock(&self.shared.log);
        while !done(&log) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            log = self
                .shared
                .arrived
                .wait_timeout(log, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        log
    }
}

/// A poisoned lock only means another test thread panicked; the data is still usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn spans_of(log: &[RecordedRequest]) -> Vec<ReceivedSpan> {
    log.iter()
        .filter(|r| r.accepted())
        .filter_map(|r| r.export.as_ref())
        .flat_map(flatten)
        .collect()
}

fn flatten(request: &ExportTraceServiceRequest) -> Vec<ReceivedSpan> {
    let mut spans = Vec::new();
    for resource_spans in &request.resource_spans {
        let resource = resource_spans.resource.clone().unwrap_or_default();
        for scope_spans in &resource_spans.scope_spans {
            let scope = scope_spans.scope.clone().unwrap_or_default();
            for span in &scope_spans.spans {
                spans.push(ReceivedSpan {
                    span: span.clone(),
                    resource: resource.clone(),
                    scope: scope.clone(),
                });
            }
        }
    }
    spans
}

async fn handle(shared: Arc<Shared>, request: Request<Incoming>) -> Answer {
    let received_at = Instant::now();
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().map(str::to_owned);
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = match request.into_body().collect().await {
        Ok(collected) => collected.to_bytes().to_vec(),
        Err(_) => return Err(DropConnection),
    };

    let mut recorded = RecordedRequest {
        method,
        path,
        query,
        headers,
        body,
        export: None,
        json: None,
        decode_error: None,
        reply: Reply::ok(),
        received_at,
    };
    let default = decode_and_default_reply(&mut recorded);
    let reply = if recorded.method == "GET" && recorded.path == PROJECTS_PATH {
        let scripted = lock(&shared.projects_script).pop_front();
        scripted
            .or_else(|| lock(&shared.projects_reply).clone())
            .unwrap_or(default)
    } else {
        let scripted = lock(&shared.script).pop_front();
        scripted
            .or_else(|| lock(&shared.responder).as_ref().and_then(|f| f(&recorded)))
            .unwrap_or(default)
    };
    recorded.reply = reply.clone();
    lock(&shared.log).push(recorded);
    shared.arrived.notify_all();

    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    if reply.drop_connection {
        return Err(DropConnection);
    }
    let mut response = Response::builder().status(reply.status);
    for (name, value) in &reply.headers {
        response = response.header(name, value);
    }
    Ok(response
        .body(Full::new(Bytes::from(reply.body)))
        .expect("valid scripted reply"))
}

/// Decodes the body the way the Langfuse server would and picks its answer.
fn decode_and_default_reply(recorded: &mut RecordedRequest) -> Reply {
    let is_post = recorded.method == "POST";
    match recorded.path.as_str() {
        TRACES_PATH if is_post => {
            let content_type = recorded.header("content-type").unwrap_or("");
            let decoded = if content_type.contains("application/x-protobuf") {
                recorded.decoded_body().and_then(|body| {
                    ExportTraceServiceRequest::decode(body.as_slice()).map_err(|e| e.to_string())
                })
            } else {
                Err(format!(
                    "unsupported content type {content_type:?} (this receiver decodes protobuf only)"
                ))
            };
            let missing_ids = decoded.as_ref().ok().is_some_and(|request| {
                flatten(request)
                    .iter()
                    .any(|s| s.span.trace_id.is_empty() || s.span.span_id.is_empty())
            });
            match decoded {
                // The real server rejects the whole export when one span has no ids.
                Ok(_) if missing_ids => {
                    recorded.decode_error = Some("a span without trace id or span id".into());
                    Reply::status(400).with_body(r#"{"message":"span without traceId or spanId"}"#)
                }
                Ok(request) => {
                    recorded.export = Some(request);
                    Reply::ok()
                }
                Err(e) => {
                    let reply = Reply::status(400).with_body(&error_body(&e));
                    recorded.decode_error = Some(e);
                    reply
                }
            }
        }
        SCORES_PATH if is_post => {
            let parsed = recorded.decoded_body().and_then(|body| {
                serde_json::from_slice::<serde_json::Value>(&body).map_err(|e| e.to_string())
            });
            match parsed {
                Ok(json) => {
                    recorded.json = Some(json);
                    Reply::ok()
                }
                Err(e) => {
                    let reply = Reply::status(400).with_body(&error_body(&e));
                    recorded.decode_error = Some(e);
                    reply
                }
            }
        }
        PROJECTS_PATH if recorded.method == "GET" => {
            Reply::ok().with_body(&projects_body(&[DEFAULT_PROJECT_ID]))
        }
        _ => Reply::status(404).with_body(r#"{"message":"not found"}"#),
    }
}

fn error_body(message: &str) -> String {
    serde_json::json!({ "message": message }).to_string()
}

fn decode_content(encoding: Option<&str>, body: &[u8]) -> Result<Vec<u8>, String> {
    match encoding.map(str::trim) {
        None | Some("") | Some("identity") => Ok(body.to_vec()),
        Some(e) if e.eq_ignore_ascii_case("gzip") => {
            let mut plain = Vec::new();
            flate2::read::GzDecoder::new(body)
                .read_to_end(&mut plain)
                .map_err(|e| format!("invalid gzip body: {e}"))?;
            Ok(plain)
        }
        Some(other) => Err(format!("unsupported content encoding {other:?}")),
    }
}
