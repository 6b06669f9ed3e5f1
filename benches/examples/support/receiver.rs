//! A loopback stand-in for Langfuse's OTLP endpoint, for benchmarks and the load test: it
//! accepts `POST /api/public/otel/v1/traces`, counts the spans in each request without
//! keeping them, and answers 200 `{}`. It can be made slow (every request waits before its
//! answer) or taken down and brought back on the same port.
//!
//! Spans are counted by walking the protobuf framing (`ExportTraceServiceRequest` →
//! `ResourceSpans` → `ScopeSpans` → `Span`) rather than decoding them, so the receiver takes as
//! little as possible of the CPU it shares with the service under test. Requests carrying
//! `x-langfuse-sdk-name` are counted as ours, the others as another SDK's.
//!
//! It runs on its own single-threaded tokio runtime and binds 127.0.0.1 only.

// Shared by benches and examples, each using a different part.
#![allow(dead_code)]

use std::io::Read as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http_body_util::{BodyExt as _, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::task::JoinSet;

/// Path of the OTLP traces endpoint.
pub const TRACES_PATH: &str = "/api/public/otel/v1/traces";

/// Spans and requests received (answered 200) so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Received {
    /// Spans sent by this SDK (requests with `x-langfuse-sdk-name`).
    pub ours: u64,
    /// Spans sent by any other exporter.
    pub others: u64,
    /// Answered requests.
    pub requests: u64,
    /// Request bodies as sent (compressed), in bytes.
    pub bytes: u64,
}

#[derive(Default)]
struct Counters {
    ours: AtomicU64,
    others: AtomicU64,
    requests: AtomicU64,
    bytes: AtomicU64,
    /// How long each request waits before its answer, in milliseconds.
    delay_ms: AtomicU64,
}

/// The running receiver; dropping it stops it.
pub struct Receiver {
    addr: SocketAddr,
    counters: Arc<Counters>,
    runtime: tokio::runtime::Runtime,
    /// The accept loop, which owns every connection: aborting it closes them all.
    server: Option<tokio::task::JoinHandle<()>>,
}

impl Receiver {
    /// Binds a free port on 127.0.0.1 and starts answering.
    pub fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("loopback-receiver")
            .enable_all()
            .build()
            .expect("receiver runtime");
        let counters = Arc::new(Counters::default());
        let listener = runtime
            .block_on(bind("127.0.0.1:0".parse().expect("address")))
            .expect("bind the receiver");
        let addr = listener.local_addr().expect("bound address");
        let server = runtime.spawn(serve(listener, Arc::clone(&counters)));
        Self {
            addr,
            counters,
            runtime,
            server: Some(server),
        }
    }

    /// The base URL to configure an SDK with.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The full OTLP traces URL, for exporters configured with an endpoint.
    pub fn traces_url(&self) -> String {
        format!("{}{TRACES_PATH}", self.base_url())
    }

    /// Makes every later request wait `delay` before its answer.
    pub fn set_delay(&self, delay: Duration) {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.counters.delay_ms.store(ms, Ordering::Relaxed);
    }

    /// Stops listening and closes every open connection: clients get connection refused.
    pub fn go_down(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
            // Wait until the listener and the connections are really closed.
            let _ = self.runtime.block_on(server);
        }
    }

    /// Listens again on the same port.
    pub fn come_back(&mut self) {
        if self.server.is_some() {
            return;
        }
        let listener = self
            .runtime
            .block_on(bind(self.addr))
            .expect("bind the receiver again");
        self.server = Some(
            self.runtime
                .spawn(serve(listener, Arc::clone(&self.counters))),
        );
    }

    /// What has been received so far.
    pub fn received(&self) -> Received {
        let c = &self.counters;
        Received {
            ours: c.ours.load(Ordering::Relaxed),
            others: c.others.load(Ordering::Relaxed),
            requests: c.requests.load(Ordering::Relaxed),
            bytes: c.bytes.load(Ordering::Relaxed),
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.go_down();
    }
}

/// A listener that can be bound again to the same port right after it is closed.
async fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

async fn serve(listener: tokio::net::TcpListener, counters: Arc<Counters>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let counters = Arc::clone(&counters);
                connections.spawn(async move {
                    let service = service_fn(move |request| handle(request, Arc::clone(&counters)));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            // Reap finished connections so the set does not grow.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn handle(
    request: Request<Incoming>,
    counters: Arc<Counters>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let ours = request.headers().contains_key("x-langfuse-sdk-name");
    let gzipped = request
        .headers()
        .get("content-encoding")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
    let is_traces = request.method() == hyper::Method::POST && request.uri().path() == TRACES_PATH;
    let body = request.into_body().collect().await?.to_bytes();
    let delay = counters.delay_ms.load(Ordering::Relaxed);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    if is_traces {
        let spans = if gzipped {
            let mut plain = Vec::with_capacity(body.len() * 4);
            match flate2::read::GzDecoder::new(&body[..]).read_to_end(&mut plain) {
                Ok(_) => count_spans(&plain),
                Err(_) => None,
            }
        } else {
            count_spans(&body)
        };
        let Some(spans) = spans else {
            return Ok(reply(
                400,
                r#"{"error":"malformed ExportTraceServiceRequest"}"#,
            ));
        };
        let counter = if ours {
            &counters.ours
        } else {
            &counters.others
        };
        counter.fetch_add(spans, Ordering::Relaxed);
        counters
            .bytes
            .fetch_add(body.len() as u64, Ordering::Relaxed);
    }
    counters.requests.fetch_add(1, Ordering::Relaxed);
    // Scores and project lookups get an empty success too: only spans are counted.
    Ok(reply(200, if is_traces { "{}" } else { r#"{"data":[]}"# }))
}

fn reply(status: u16, body: &'static str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .expect("valid response")
}

/// Spans in an `ExportTraceServiceRequest`, or `None` if the framing is broken.
fn count_spans(request: &[u8]) -> Option<u64> {
    let mut spans = 0;
    // resource_spans = 1, scope_spans = 2, spans = 2 (opentelemetry-proto).
    for resource_spans in fields(request, 1) {
        for scope_spans in fields(resource_spans?, 2) {
            for span in fields(scope_spans?, 2) {
                span?;
                spans += 1;
            }
        }
    }
    Some(spans)
}

/// The length-delimited fields numbered `wanted` of a protobuf message, skipping the others;
/// yields `None` once (and stops) on malformed input.
fn fields(mut message: &[u8], wanted: u64) -> impl Iterator<Item = Option<&[u8]>> {
    std::iter::from_fn(move || {
        while !message.is_empty() {
            let Some(key) = varint(&mut message) else {
                message = &[];
                return Some(None);
            };
            let skip = match key & 7 {
                0 => varint(&mut message).map(|_| 0),
                1 => Some(8),
                2 => varint(&mut message).and_then(|len| usize::try_from(len).ok()),
                5 => Some(4),
                _ => None,
            };
            let Some(len) = skip.filter(|&len| len <= message.len()) else {
                message = &[];
                return Some(None);
            };
            let (field, rest) = message.split_at(len);
            message = rest;
            if key & 7 == 2 && key >> 3 == wanted {
                return Some(Some(field));
            }
        }
        None
    })
}

fn varint(buf: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = buf.split_first()?;
        *buf = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}
