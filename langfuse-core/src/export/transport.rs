//! HTTP delivery: one POST per batch, retried with backoff on transient failures.
//!
//! Runs on the exporter thread's own runtime. The retry loop is shared by every endpoint
//! ([`HttpTransport::post`]); [`HttpTransport::export`] is the OTLP traces call on top of it.

use std::error::Error as _;
use std::fmt::{self, Write as _};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use prost::bytes::Bytes;
use reqwest::header::{
    ACCEPT, AUTHORIZATION, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderName,
    HeaderValue, RETRY_AFTER, USER_AGENT,
};
use reqwest::{StatusCode, Url};
use tokio::time::Instant;

pub(crate) const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

/// What a name becomes as one segment of an API path: every byte but RFC 3986's unreserved
/// characters (letters, digits, `-._~`) escaped, as the Python SDK's `quote(name, safe="")`
/// does, so that `support/triage` or a name with `?` or spaces stays one segment.
pub(crate) fn path_segment(name: &str) -> percent_encoding::PercentEncode<'_> {
    const UNRESERVED_KEPT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(name, UNRESERVED_KEPT)
}

/// Content type of an OTLP/protobuf body.
pub(crate) const PROTOBUF: &str = "application/x-protobuf";
/// Content type of a JSON body (scores).
pub(crate) const JSON: &str = "application/json";

/// First backoff; doubled on every retry.
const INITIAL_BACKOFF: Duration = Duration::from_millis(500);
/// Longest backoff between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Longest `Retry-After` honoured: a server asking for more is treated as asking for this.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// Characters of a server's error body kept in an outcome.
pub(crate) const MAX_MESSAGE_CHARS: usize = 500;
/// Bytes of an error body read at most: enough for the message, bounded against huge pages.
const MAX_MESSAGE_BYTES: usize = 4 * 1024;

/// How to reach the server; built from the configuration.
#[derive(Clone)]
pub(crate) struct TransportSettings {
    /// Full URL of the OTLP traces endpoint.
    pub(crate) traces_url: Url,
    /// Langfuse public key: half of Basic auth, and `x-langfuse-public-key`.
    pub(crate) public_key: Option<String>,
    /// Langfuse secret key: the other half of Basic auth. Never logged or shown.
    pub(crate) secret_key: Option<String>,
    /// Gzip request bodies.
    pub(crate) compression: bool,
    /// Limit on one attempt, from connecting to the end of the response.
    pub(crate) timeout: Duration,
    /// Retries after the first attempt.
    pub(crate) max_retries: u32,
    /// Sent on every request after the SDK's own headers, replacing any of the same name
    /// (`OTEL_EXPORTER_OTLP_HEADERS`, for example a collector's own auth).
    pub(crate) extra_headers: Vec<(HeaderName, HeaderValue)>,
}

impl fmt::Debug for TransportSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransportSettings")
            .field("traces_url", &Redacted::url(&self.traces_url))
            .field("public_key", &self.public_key)
            .field(
                "secret_key",
                &self.secret_key.as_ref().map(|_| Redacted::SECRET),
            )
            .field("compression", &self.compression)
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("extra_headers", &HeaderNames(&self.extra_headers))
            .finish()
    }
}

/// Why a transport could not be built.
#[derive(Debug)]
pub(crate) enum TransportError {
    /// The public key has characters an HTTP header cannot carry.
    InvalidPublicKey,
    /// The secret key has characters that cannot be sent (Basic auth is base64, so only an
    /// impossible encoding failure leads here; kept so no path panics).
    InvalidSecretKey,
    /// The HTTP client could not be built (TLS initialisation).
    Client(reqwest::Error),
    /// No TLS settings for the endpoint (see [`tls`](super::tls)).
    Tls(String),
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidPublicKey => {
                f.write_str("the public key contains characters not allowed in an HTTP header")
            }
            Self::InvalidSecretKey => {
                f.write_str("the secret key cannot be encoded in an HTTP header")
            }
            Self::Client(e) => write!(f, "cannot build the HTTP client: {e}"),
            Self::Tls(e) => write!(f, "cannot set up TLS: {e}"),
        }
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Client(e) => Some(e),
            _ => None,
        }
    }
}

/// How one POST ended after all its attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// The server answered 2xx.
    Delivered,
    /// The server refused the request in a way retrying cannot fix (400, 401, 403, 404, 413,
    /// other 4xx, 501, ...).
    Rejected {
        /// HTTP status.
        status: u16,
        /// The server's response body, truncated, or the status' reason when it was empty.
        message: String,
    },
    /// Transient failures until the retries or the deadline ran out, or a request that could
    /// not be built.
    Failed {
        /// Status of the last response, if the last attempt got one.
        status: Option<u16>,
        /// What went wrong last, and why no further attempt was made.
        reason: String,
    },
}

/// The result of [`HttpTransport::post`], with what the counters need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExportOutcome {
    /// How it ended.
    pub(crate) result: Delivery,
    /// Requests sent (0 if the deadline had passed before the first).
    pub(crate) attempts: u32,
    /// Attempts after the first.
    pub(crate) retries: u32,
    /// Body bytes of the successful request, as sent (compressed when compression is on).
    pub(crate) bytes_sent: u64,
    /// Total time slept because the server sent `Retry-After`, if it ever did.
    pub(crate) waited_for_retry_after: Option<Duration>,
}

/// Posts batches to Langfuse (or an OpenTelemetry collector) with retries.
pub(crate) struct HttpTransport {
    client: reqwest::Client,
    traces_url: Url,
    compression: bool,
    timeout: Duration,
    max_retries: u32,
    // Kept only for `Debug`; the values live in the client's default headers.
    public_key: Option<String>,
    has_secret_key: bool,
    extra_header_names: Vec<HeaderName>,
    /// Texts that must never reach a log: the secret key, the Basic credentials and the
    /// extra headers' values. Scrubbed from the server's error messages, in case a proxy or
    /// a misconfigured server echoes the request's headers back. Never shown by `Debug`.
    secrets: Vec<String>,
}

impl fmt::Debug for HttpTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpTransport")
            .field("traces_url", &Redacted::url(&self.traces_url))
            .field("public_key", &self.public_key)
            .field(
                "secret_key",
                &self.has_secret_key.then_some(Redacted::SECRET),
            )
            .field("compression", &self.compression)
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("extra_headers", &self.extra_header_names)
            .finish_non_exhaustive()
    }
}

impl HttpTransport {
    /// Builds the HTTP client and the headers every request carries.
    pub(crate) fn new(settings: TransportSettings) -> Result<Self, TransportError> {
        let TransportSettings {
            traces_url,
            public_key,
            secret_key,
            compression,
            timeout,
            max_retries,
            extra_headers,
        } = settings;

        let mut headers = HeaderMap::new();
        let mut secrets = Vec::new();
        insert_sdk_headers(&mut headers);
        if let (Some(public), Some(secret)) = (&public_key, &secret_key) {
            let (value, credentials) =
                basic_authorization(public, secret).ok_or(TransportError::InvalidSecretKey)?;
            secrets.push(secret.clone());
            secrets.push(credentials);
            headers.insert(AUTHORIZATION, value);
        }
        headers.insert(
            HeaderName::from_static("x-langfuse-ingestion-version"),
            HeaderValue::from_static("4"),
        );
        if let Some(public) = &public_key {
            let value = HeaderValue::try_from(public.as_str())
                .map_err(|_| TransportError::InvalidPublicKey)?;
            headers.insert(HeaderName::from_static("x-langfuse-public-key"), value);
        }
        let mut extra_header_names = Vec::with_capacity(extra_headers.len());
        for (name, value) in extra_headers {
            // These describe the body of each request, so only the transport can set them.
            if name == CONTENT_TYPE || name == CONTENT_ENCODING || name == CONTENT_LENGTH {
                tracing::warn!(target: "langfuse", header = %name, "ignoring an extra header that describes the request body");
                continue;
            }
            extra_header_names.push(name.clone());
            // Short values ("1", "true") are no secret, and scrubbing them would mangle messages.
            if let Ok(text) = value.to_str()
                && text.trim().len() >= 8
            {
                secrets.push(text.to_owned());
            }
            headers.insert(name, value);
        }

        let builder = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(timeout);
        let client = super::tls::configure(builder, &traces_url)
            .map_err(TransportError::Tls)?
            .build()
            .map_err(TransportError::Client)?;

        Ok(Self {
            client,
            traces_url,
            compression,
            timeout,
            max_retries,
            public_key,
            has_secret_key: secret_key.is_some(),
            extra_header_names,
            secrets,
        })
    }

    /// The body of a traces request for the encoded `raw`: gzipped when compression is on.
    pub(crate) fn traces_body(&self, raw: &[u8]) -> RequestBody {
        RequestBody::new(raw, self.compression)
    }

    /// Posts an encoded `ExportTraceServiceRequest` (see [`traces_body`](Self::traces_body))
    /// to the traces endpoint. See [`post`](Self::post) for retries and the deadline.
    pub(crate) async fn export(
        &self,
        body: RequestBody,
        deadline: Option<Instant>,
    ) -> ExportOutcome {
        self.post(&self.traces_url, PROTOBUF, body, deadline).await
    }

    /// Posts `body` to `url`.
    ///
    /// Retries 429, 500, 502, 503, 504, connection errors and timeouts, up to the configured
    /// number of retries, waiting by exponential backoff with jitter or by the server's
    /// `Retry-After`. Never sleeps past `deadline` nor lets an attempt run past it: when the
    /// next wait would cross it, gives up at once and says so. Other statuses are final.
    pub(crate) async fn post(
        &self,
        url: &Url,
        content_type: &'static str,
        body: RequestBody,
        deadline: Option<Instant>,
    ) -> ExportOutcome {
        let RequestBody {
            bytes: body,
            gzipped,
        } = body;

        let mut outcome = ExportOutcome {
            result: Delivery::Delivered,
            attempts: 0,
            retries: 0,
            bytes_sent: 0,
            waited_for_retry_after: None,
        };
        // The last transient failure, reported if a timer firing late leaves no time to retry.
        let mut last_failure: Option<(Option<u16>, String)> = None;
        loop {
            let timeout = match deadline {
                None => self.timeout,
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        outcome.result = match last_failure {
                            Some((status, reason)) => Delivery::Failed {
                                status,
                                reason: format!("{reason} (the deadline passed before a retry)"),
                            },
                            None => Delivery::Failed {
                                status: None,
                                reason: "the deadline passed before the request could be sent"
                                    .into(),
                            },
                        };
                        return outcome;
                    }
                    left.min(self.timeout)
                }
            };

            outcome.attempts += 1;
            let (status, reason, retry_after) = match self
                .attempt(url, content_type, gzipped, body.clone(), timeout)
                .await
            {
                Attempt::Delivered => {
                    outcome.bytes_sent = body.len() as u64;
                    return outcome;
                }
                Attempt::Rejected { status, message } => {
                    outcome.result = Delivery::Rejected { status, message };
                    return outcome;
                }
                Attempt::Fatal { reason } => {
                    outcome.result = Delivery::Failed {
                        status: None,
                        reason,
                    };
                    return outcome;
                }
                Attempt::Transient {
                    status,
                    reason,
                    retry_after,
                } => (status, reason, retry_after),
            };

            if outcome.retries >= self.max_retries {
                outcome.result = Delivery::Failed {
                    status,
                    reason: format!("{reason} (gave up after {} attempts)", outcome.attempts),
                };
                return outcome;
            }
            let wait = retry_after.unwrap_or_else(|| backoff(outcome.retries));
            if let Some(deadline) = deadline
                && Instant::now() + wait >= deadline
            {
                outcome.result = Delivery::Failed {
                    status,
                    reason: format!(
                        "{reason} (the next attempt, in {} ms, would pass the deadline)",
                        wait.as_millis()
                    ),
                };
                return outcome;
            }
            tracing::debug!(
                target: "langfuse",
                attempt = outcome.attempts,
                ?wait,
                %reason,
                "export attempt failed; retrying"
            );
            tokio::time::sleep(wait).await;
            last_failure = Some((status, reason));
            if retry_after.is_some() {
                *outcome.waited_for_retry_after.get_or_insert(Duration::ZERO) += wait;
            }
            outcome.retries += 1;
        }
    }

    /// One request and its classification.
    async fn attempt(
        &self,
        url: &Url,
        content_type: &'static str,
        gzipped: bool,
        body: Bytes,
        timeout: Duration,
    ) -> Attempt {
        let mut request = self
            .client
            .post(url.clone())
            .timeout(timeout)
            .header(CONTENT_TYPE, HeaderValue::from_static(content_type))
            .body(body);
        if gzipped {
            request = request.header(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        let response = match request.send().await {
            Ok(response) => response,
            // A request that cannot be built fails the same way every time.
            Err(e) if e.is_builder() => {
                return Attempt::Fatal {
                    reason: describe(e),
                };
            }
            Err(e) => {
                return Attempt::Transient {
                    status: None,
                    reason: describe(e),
                    retry_after: None,
                };
            }
        };

        let status = response.status();
        if status.is_success() {
            // Read the (tiny) body so the connection goes back to the pool; the request has
            // been accepted whatever happens to it.
            let _ = response.bytes().await;
            return Attempt::Delivered;
        }
        let retry_after = parse_retry_after(response.headers(), SystemTime::now());
        let message = self.message(read_message(response).await);
        if is_transient(status) {
            let reason = if message.is_empty() {
                format!("server answered {status}")
            } else {
                format!("server answered {status}: {message}")
            };
            Attempt::Transient {
                status: Some(status.as_u16()),
                reason,
                retry_after,
            }
        } else {
            let message = if message.is_empty() {
                status.canonical_reason().unwrap_or("no message").to_owned()
            } else {
                message
            };
            Attempt::Rejected {
                status: status.as_u16(),
                message,
            }
        }
    }
}

impl HttpTransport {
    /// A server's error message as it may be shown: every secret this transport sends
    /// replaced by `<redacted>` (so that a server or proxy echoing the request back cannot
    /// put a key into the logs), then cut to its first characters. In this order, so that
    /// the cut cannot leave half a secret behind.
    fn message(&self, mut text: String) -> String {
        for secret in &self.secrets {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), Redacted::SECRET);
            }
        }
        truncate_chars(&text, MAX_MESSAGE_CHARS)
    }
}

/// Why [`HttpTransport::get`] got no usable answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GetFailure {
    /// The response's status, if there was a response.
    pub(crate) status: Option<u16>,
    /// What went wrong.
    pub(crate) reason: String,
}

impl fmt::Display for GetFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl HttpTransport {
    /// One GET to `url` with the headers every request carries (Basic auth included), for a
    /// small JSON answer. Not retried: the caller decides when to try again. A body larger than
    /// `max_bytes` is refused rather than read.
    pub(crate) async fn get(&self, url: &Url, max_bytes: usize) -> Result<Vec<u8>, GetFailure> {
        let failure = |status: Option<u16>, reason: String| GetFailure { status, reason };
        let response = self
            .client
            .get(url.clone())
            .header(ACCEPT, HeaderValue::from_static(JSON))
            .send()
            .await
            .map_err(|e| failure(None, describe(e)))?;
        let status = response.status();
        if !status.is_success() {
            // One line for the log: the status, and the server's message only when it sent
            // one as JSON. A proxy's or a login page's HTML is left out: read as a message it
            // is a wall of markup.
            let reason = match json_message(&read_message(response).await) {
                Some(message) => format!(
                    "server answered {status}: {}",
                    self.message(message).replace(['\n', '\r'], " ")
                ),
                None => format!("server answered {status}"),
            };
            return Err(failure(Some(status.as_u16()), reason));
        }
        let too_large = || {
            failure(
                Some(status.as_u16()),
                format!("the response is larger than {max_bytes} bytes"),
            )
        };
        if response
            .content_length()
            .is_some_and(|len| len > max_bytes as u64)
        {
            return Err(too_large());
        }
        let mut response = response;
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| failure(Some(status.as_u16()), describe(e)))?
        {
            if body.len() + chunk.len() > max_bytes {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

/// The message of an error body that is JSON: its `message` (or `error`) text, or the body
/// itself when it is a JSON string. `None` for anything else (HTML, plain text, no body).
fn json_message(body: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    let text = match &value {
        serde_json::Value::String(text) => text,
        serde_json::Value::Object(object) => ["message", "error"]
            .iter()
            .find_map(|key| object.get(*key)?.as_str())?,
        _ => return None,
    };
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// Why [`HttpTransport::call`] got no usable answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CallFailure {
    /// The response's status, if there was a response.
    pub(crate) status: Option<u16>,
    /// The server's message (secrets removed, cut to its first characters), or what went
    /// wrong without an answer.
    pub(crate) message: String,
    /// Whether another attempt may succeed: 429, 500, 502, 503, 504, a connection error, a
    /// timeout.
    pub(crate) transient: bool,
    /// Whether the request ran out of time.
    pub(crate) timed_out: bool,
    /// The wait the server asked for (`Retry-After`), capped.
    pub(crate) retry_after: Option<Duration>,
}

impl HttpTransport {
    /// One request to `url` with the headers every request carries, an optional JSON body,
    /// and `timeout` for the whole of it (connecting to the end of the body), for a JSON
    /// answer of at most `max_bytes`. Not retried: the caller decides (see
    /// [`CallFailure::transient`]).
    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        url: &Url,
        json: Option<Vec<u8>>,
        timeout: Duration,
        max_bytes: usize,
    ) -> Result<Vec<u8>, CallFailure> {
        let failed = |e: reqwest::Error, status: Option<u16>| CallFailure {
            status,
            timed_out: e.is_timeout(),
            transient: !e.is_builder(),
            message: describe(e),
            retry_after: None,
        };
        let mut request = self
            .client
            .request(method, url.clone())
            .timeout(timeout)
            .header(ACCEPT, HeaderValue::from_static(JSON));
        if let Some(body) = json {
            request = request
                .header(CONTENT_TYPE, HeaderValue::from_static(JSON))
                .body(body);
        }
        let mut response = request.send().await.map_err(|e| failed(e, None))?;
        let status = response.status();
        if !status.is_success() {
            let retry_after = parse_retry_after(response.headers(), SystemTime::now());
            let message = self.message(read_message(response).await);
            return Err(CallFailure {
                status: Some(status.as_u16()),
                message: if message.is_empty() {
                    status.canonical_reason().unwrap_or("no message").to_owned()
                } else {
                    message
                },
                transient: is_transient(status),
                timed_out: false,
                retry_after,
            });
        }
        let too_large = || CallFailure {
            status: Some(status.as_u16()),
            message: format!("the response is larger than {max_bytes} bytes"),
            transient: false,
            timed_out: false,
            retry_after: None,
        };
        if response
            .content_length()
            .is_some_and(|len| len > max_bytes as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| failed(e, Some(status.as_u16())))?
        {
            if body.len() + chunk.len() > max_bytes {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

/// How one request ended.
enum Attempt {
    Delivered,
    Rejected {
        status: u16,
        message: String,
    },
    Transient {
        status: Option<u16>,
        reason: String,
        retry_after: Option<Duration>,
    },
    Fatal {
        reason: String,
    },
}

/// Statuses worth another try: rate limiting and the server or a proxy being briefly down.
pub(crate) fn is_transient(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 500 | 502 | 503 | 504)
}

/// Backoff before retry number `retry + 1`: 500 ms doubling, capped at 30 s, ±20% jitter so
/// that many processes hit by the same outage do not come back in step.
pub(crate) fn backoff(retry: u32) -> Duration {
    let base = INITIAL_BACKOFF
        .saturating_mul(1u32 << retry.min(16))
        .min(MAX_BACKOFF);
    base.mul_f64(0.8 + 0.4 * fastrand::f64()).min(MAX_BACKOFF)
}

/// The wait a `Retry-After` header asks for (delta-seconds or HTTP-date), capped.
pub(crate) fn parse_retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let wait = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => {
            let at = httpdate::parse_http_date(value).ok()?;
            // A date in the past means "now".
            at.duration_since(now).unwrap_or(Duration::ZERO)
        }
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// An error response's body (its first few kilobytes), as trimmed text (empty if there was
/// none). Pass it through [`HttpTransport::message`] before showing it.
pub(crate) async fn read_message(mut response: reqwest::Response) -> String {
    let mut body = Vec::new();
    while body.len() < MAX_MESSAGE_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    String::from_utf8_lossy(&body).trim().to_owned()
}

pub(crate) fn truncate_chars(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// An error and its causes on one line ("error sending request: client error (Connect): tcp
/// connect error: Connection refused"). The URL is left out: the caller knows it, and a URL
/// can carry credentials.
pub(crate) fn describe(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let _ = write!(text, ": {cause}");
        source = cause.source();
    }
    text
}

/// The headers that name this SDK on every request it makes to Langfuse (user agent, SDK name
/// and version, as the server's usage statistics read them).
pub(crate) fn insert_sdk_headers(headers: &mut HeaderMap) {
    headers.insert(
        USER_AGENT,
        HeaderValue::from_static(concat!("langfuse-rust/", env!("CARGO_PKG_VERSION"))),
    );
    headers.insert(
        HeaderName::from_static("x-langfuse-sdk-name"),
        HeaderValue::from_static("rust"),
    );
    headers.insert(
        HeaderName::from_static("x-langfuse-sdk-version"),
        HeaderValue::from_static(SDK_VERSION),
    );
}

/// `Basic base64(public:secret)`, marked sensitive so that reqwest's and hyper's own Debug
/// output leaves it out, with the encoded credentials (a secret too, for scrubbing logs).
/// `None` when the keys hold bytes a header cannot carry.
pub(crate) fn basic_authorization(public: &str, secret: &str) -> Option<(HeaderValue, String)> {
    let credentials =
        base64::engine::general_purpose::STANDARD.encode(format!("{public}:{secret}"));
    let mut value = HeaderValue::try_from(format!("Basic {credentials}")).ok()?;
    value.set_sensitive(true);
    Some((value, credentials))
}

/// A request body as it goes on the wire, shared by every attempt to send it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RequestBody {
    bytes: Bytes,
    gzipped: bool,
}

impl RequestBody {
    /// `raw`, gzipped when `compress` is set (or copied as it is).
    pub(crate) fn new(raw: &[u8], compress: bool) -> Self {
        if compress {
            match gzip(raw) {
                Ok(compressed) => {
                    return Self {
                        bytes: compressed.into(),
                        gzipped: true,
                    };
                }
                // Writing into a Vec does not fail; if it ever did, the server takes plain
                // bodies too.
                Err(e) => {
                    tracing::warn!(target: "langfuse", error = %e, "gzip failed; sending the batch uncompressed");
                }
            }
        }
        Self::plain(raw.to_vec())
    }

    /// `bytes`, sent as they are.
    pub(crate) fn plain(bytes: Vec<u8>) -> Self {
        Self {
            bytes: bytes.into(),
            gzipped: false,
        }
    }

    /// Its length on the wire.
    #[cfg(feature = "bench-internals")]
    pub(crate) fn len(&self) -> usize {
        self.bytes.len()
    }
}

thread_local! {
    /// This thread's compressor (the exporter's), kept between requests: a new one allocates
    /// and clears its window and hash tables, a few hundred kilobytes, for every request.
    static GZIP: std::cell::RefCell<Option<flate2::Compress>> =
        const { std::cell::RefCell::new(None) };
}

/// `body` gzipped (deflate at the fast level, with gzip's header and trailer).
pub(crate) fn gzip(body: &[u8]) -> std::io::Result<Vec<u8>> {
    let compress_with = |compress: &mut flate2::Compress| {
        let mut out = Vec::with_capacity(body.len() / 4 + 64);
        loop {
            let consumed = usize::try_from(compress.total_in()).unwrap_or(usize::MAX);
            let input = body.get(consumed..).unwrap_or_default();
            let status = compress
                .compress_vec(input, &mut out, flate2::FlushCompress::Finish)
                .map_err(std::io::Error::other)?;
            if status == flate2::Status::StreamEnd {
                return Ok(out);
            }
            out.reserve(out.capacity().max(64));
        }
    };
    let new = || flate2::Compress::new_gzip(flate2::Compression::fast(), 15);
    GZIP.try_with(|cell| match cell.try_borrow_mut() {
        Ok(mut kept) => {
            let compress = kept.get_or_insert_with(new);
            compress.reset();
            compress_with(compress)
        }
        Err(_) => compress_with(&mut new()),
    })
    .unwrap_or_else(|_| compress_with(&mut new()))
}

/// Debug helpers that never show secrets.
struct Redacted;

impl Redacted {
    const SECRET: &'static str = "<redacted>";

    /// The URL without a password, if it has one.
    fn url(url: &Url) -> String {
        let mut url = url.clone();
        if url.password().is_some() {
            let _ = url.set_password(Some(Self::SECRET));
        }
        url.to_string()
    }
}

/// Shows header names only: values (a collector's token, say) may be secret.
struct HeaderNames<'a>(&'a [(HeaderName, HeaderValue)]);

impl fmt::Debug for HeaderNames<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(name, _)| name))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::io::Read as _;
    use std::sync::Arc;

    use axum::Router;
    use axum::extract::State;
    use axum::response::{IntoResponse, Response};
    use axum::routing::post;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
    use parking_lot::Mutex;
    use prost::Message as _;

    impl HttpTransport {
        /// `export` of an encoded request, compressed as configured.
        async fn export_vec(&self, raw: Vec<u8>, deadline: Option<Instant>) -> ExportOutcome {
            self.export(self.traces_body(&raw), deadline).await
        }
    }

    use super::*;

    const PATH: &str = "/api/public/otel/v1/traces";

    #[derive(Clone)]
    struct Reply {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: String,
        delay: Duration,
    }

    impl Reply {
        fn status(status: u16) -> Self {
            Self {
                status,
                headers: Vec::new(),
                body: String::new(),
                delay: Duration::ZERO,
            }
        }

        fn ok() -> Self {
            Self::status(200).body("{}")
        }

        fn body(mut self, body: impl Into<String>) -> Self {
            self.body = body.into();
            self
        }

        fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
            self.headers.push((name, value.into()));
            self
        }

        fn delay(mut self, delay: Duration) -> Self {
            self.delay = delay;
            self
        }
    }

    struct Seen {
        headers: HeaderMap,
        body: Vec<u8>,
        at: std::time::Instant,
    }

    /// A loopback OTLP endpoint answering from a script, then with a fallback reply.
    #[derive(Clone)]
    struct Server {
        script: Arc<Mutex<VecDeque<Reply>>>,
        fallback: Reply,
        seen: Arc<Mutex<Vec<Seen>>>,
    }

    impl Server {
        async fn start(script: impl IntoIterator<Item = Reply>, fallback: Reply) -> (Url, Self) {
            let server = Self {
                script: Arc::new(Mutex::new(script.into_iter().collect())),
                fallback,
                seen: Arc::default(),
            };
            let app = Router::new()
                .route(PATH, post(Self::handle).get(Self::handle))
                .with_state(server.clone());
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
            (format!("http://{addr}{PATH}").parse().unwrap(), server)
        }

        async fn handle(State(server): State<Self>, headers: HeaderMap, body: Bytes) -> Response {
            server.seen.lock().push(Seen {
                headers,
                body: body.to_vec(),
                at: std::time::Instant::now(),
            });
            let reply = server
                .script
                .lock()
                .pop_front()
                .unwrap_or_else(|| server.fallback.clone());
            tokio::time::sleep(reply.delay).await;
            let status = StatusCode::from_u16(reply.status).unwrap();
            let mut response = (status, reply.body).into_response();
            for (name, value) in reply.headers {
                response.headers_mut().insert(name, value.parse().unwrap());
            }
            response
        }

        fn count(&self) -> usize {
            self.seen.lock().len()
        }
    }

    fn settings(url: Url) -> TransportSettings {
        TransportSettings {
            traces_url: url,
            public_key: Some("pk-lf-test".into()),
            secret_key: Some("sk-lf-secret".into()),
            compression: true,
            timeout: Duration::from_secs(5),
            max_retries: 3,
            extra_headers: Vec::new(),
        }
    }

    /// A request built with the independent opentelemetry-proto types, not our encoder.
    fn sample_request() -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource::default()),
                scope_spans: vec![ScopeSpans {
                    spans: vec![Span {
                        trace_id: vec![7; 16],
                        span_id: vec![9; 8],
                        name: "handler".into(),
                        ..Span::default()
                    }],
                    ..ScopeSpans::default()
                }],
                ..ResourceSpans::default()
            }],
        }
    }

    fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
        assert!(
            headers.get_all(name).iter().count() <= 1,
            "{name} sent twice"
        );
        headers.get(name).map(|v| v.to_str().unwrap())
    }

    #[tokio::test]
    async fn delivers_with_headers_auth_and_gzip() {
        let (url, server) = Server::start([], Reply::ok()).await;
        let mut settings = settings(url);
        settings.extra_headers = vec![
            (
                HeaderName::from_static("x-scope-orgid"),
                HeaderValue::from_static("tenant-1"),
            ),
            // Extra headers win over the SDK's own...
            (
                HeaderName::from_static("x-langfuse-sdk-name"),
                HeaderValue::from_static("rust-custom"),
            ),
            // ...but not over the ones that describe the body.
            (CONTENT_TYPE, HeaderValue::from_static("text/plain")),
        ];
        let transport = HttpTransport::new(settings).unwrap();
        let request = sample_request();
        let outcome = transport.export_vec(request.encode_to_vec(), None).await;

        assert_eq!(outcome.result, Delivery::Delivered);
        assert_eq!(outcome.result, Delivery::Delivered);
        assert_eq!((outcome.attempts, outcome.retries), (1, 0));
        assert_eq!(outcome.waited_for_retry_after, None);

        let seen = server.seen.lock();
        assert_eq!(seen.len(), 1);
        let h = &seen[0].headers;
        let credentials =
            base64::engine::general_purpose::STANDARD.encode("pk-lf-test:sk-lf-secret");
        assert_eq!(
            header(h, "authorization"),
            Some(format!("Basic {credentials}").as_str())
        );
        assert_eq!(header(h, "x-langfuse-ingestion-version"), Some("4"));
        assert_eq!(header(h, "x-langfuse-sdk-name"), Some("rust-custom"));
        assert_eq!(
            header(h, "x-langfuse-sdk-version"),
            Some(env!("CARGO_PKG_VERSION"))
        );
        assert_eq!(header(h, "x-langfuse-public-key"), Some("pk-lf-test"));
        assert_eq!(header(h, "x-scope-orgid"), Some("tenant-1"));
        assert_eq!(header(h, "content-type"), Some("application/x-protobuf"));
        assert_eq!(header(h, "content-encoding"), Some("gzip"));
        assert!(
            header(h, "user-agent")
                .unwrap()
                .starts_with("langfuse-rust/")
        );

        assert_eq!(outcome.bytes_sent, seen[0].body.len() as u64);
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(seen[0].body.as_slice())
            .read_to_end(&mut plain)
            .unwrap();
        assert_eq!(
            ExportTraceServiceRequest::decode(plain.as_slice()).unwrap(),
            request
        );
    }

    #[tokio::test]
    async fn plain_body_and_no_auth_when_unconfigured() {
        let (url, server) = Server::start([], Reply::ok()).await;
        let transport = HttpTransport::new(TransportSettings {
            public_key: None,
            secret_key: None,
            compression: false,
            ..settings(url)
        })
        .unwrap();
        let body = sample_request().encode_to_vec();
        let outcome = transport.export_vec(body.clone(), None).await;
        assert_eq!(outcome.result, Delivery::Delivered);
        assert_eq!(outcome.bytes_sent, body.len() as u64);
        let seen = server.seen.lock();
        let h = &seen[0].headers;
        assert_eq!(header(h, "authorization"), None);
        assert_eq!(header(h, "x-langfuse-public-key"), None);
        assert_eq!(header(h, "content-encoding"), None);
        assert_eq!(header(h, "x-langfuse-ingestion-version"), Some("4"));
        assert_eq!(seen[0].body, body);
    }

    #[tokio::test]
    async fn json_posts_share_the_retry_loop() {
        let (url, server) = Server::start([Reply::status(502)], Reply::ok()).await;
        let transport = HttpTransport::new(settings(url.clone())).unwrap();
        let body = br#"{"name":"accuracy","value":1}"#.to_vec();
        let outcome = transport
            .post(&url, JSON, RequestBody::plain(body.clone()), None)
            .await;
        assert_eq!(outcome.result, Delivery::Delivered);
        assert_eq!((outcome.attempts, outcome.retries), (2, 1));
        let seen = server.seen.lock();
        assert_eq!(
            header(&seen[1].headers, "content-type"),
            Some("application/json")
        );
        assert_eq!(seen[1].body, body);
    }

    #[tokio::test]
    async fn retries_a_503_then_delivers() {
        let (url, server) = Server::start([Reply::status(503).body("busy")], Reply::ok()).await;
        let transport = HttpTransport::new(settings(url)).unwrap();
        let started = std::time::Instant::now();
        let outcome = transport
            .export_vec(sample_request().encode_to_vec(), None)
            .await;
        assert_eq!(outcome.result, Delivery::Delivered);
        assert_eq!((outcome.attempts, outcome.retries), (2, 1));
        assert_eq!(outcome.waited_for_retry_after, None);
        // First backoff is 500 ms ± 20%.
        assert!(
            started.elapsed() >= Duration::from_millis(390),
            "{:?}",
            started.elapsed()
        );
        let seen = server.seen.lock();
        assert_eq!(seen.len(), 2);
        assert_eq!(
            seen[0].body, seen[1].body,
            "the same compressed body is resent"
        );
    }

    #[tokio::test]
    async fn honours_retry_after_on_429() {
        let throttled = Reply::status(429)
            .header("retry-after", "1")
            .body("rate limit exceeded");
        let (url, server) = Server::start([throttled], Reply::ok()).await;
        let transport = HttpTransport::new(settings(url)).unwrap();
        let outcome = transport
            .export_vec(sample_request().encode_to_vec(), None)
            .await;
        assert_eq!(outcome.result, Delivery::Delivered);
        assert_eq!((outcome.attempts, outcome.retries), (2, 1));
        assert_eq!(outcome.waited_for_retry_after, Some(Duration::from_secs(1)));
        let seen = server.seen.lock();
        let gap = seen[1].at - seen[0].at;
        assert!(gap >= Duration::from_millis(950), "{gap:?}");
    }

    #[tokio::test]
    async fn client_errors_are_not_retried() {
        let script = [
            Reply::status(400).body(r#"{"message":"Invalid request: span without traceId"}"#),
            Reply::status(401).body(r#"{"message":"Invalid credentials"}"#),
            Reply::status(403),
            Reply::status(404),
            Reply::status(413),
            Reply::status(422),
            Reply::status(501),
        ];
        let (url, server) = Server::start(script, Reply::ok()).await;
        let transport = HttpTransport::new(settings(url)).unwrap();
        for (expected, fragment) in [
            (400, "span without traceId"),
            (401, "Invalid credentials"),
            (403, "Forbidden"),
            (404, "Not Found"),
            (413, "Payload Too Large"),
            (422, "Unprocessable"),
            (501, "Not Implemented"),
        ] {
            let before = server.count();
            let outcome = transport
                .export_vec(sample_request().encode_to_vec(), None)
                .await;
            match &outcome.result {
                Delivery::Rejected { status, message } => {
                    assert_eq!(*status, expected);
                    assert!(message.contains(fragment), "{expected}: {message}");
                }
                other => panic!("{expected}: {other:?}"),
            }
            assert_eq!((outcome.attempts, outcome.retries), (1, 0));
            assert_eq!(outcome.bytes_sent, 0);
            assert_eq!(server.count(), before + 1);
        }
    }

    #[tokio::test]
    async fn long_error_bodies_are_truncated() {
        let (url, _server) =
            Server::start([Reply::status(400).body("é".repeat(5_000))], Reply::ok()).await;
        let transport = HttpTransport::new(settings(url)).unwrap();
        let outcome = transport
            .export_vec(sample_request().encode_to_vec(), None)
            .await;
        let Delivery::Rejected { message, .. } = outcome.result else {
            panic!("{outcome:?}");
        };
        assert_eq!(message.chars().count(), MAX_MESSAGE_CHARS + 1);
        assert!(message.ends_with('…'));
    }

    #[tokio::test]
    async fn gives_up_rather_than_sleep_past_the_deadline() {
        let (url, server) = Server::start([], Reply::status(503)).await;
        let transport = HttpTransport::new(TransportSettings {
            max_retries: 10,
            ..settings(url)
        })
        .unwrap();
        let started = Instant::now();
        let deadline = started + Duration::from_millis(1_200);
        let outcome = transport
            .export_vec(sample_request().encode_to_vec(), Some(deadline))
            .await;
        let elapsed = started.elapsed();
        match &outcome.result {
            Delivery::Failed { status, reason } => {
                assert_eq!(*status, Some(503));
                assert!(reason.contains("deadline"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        // 500 ms ± 20% then 1 s ± 20%: the second wait always crosses the deadline.
        assert_eq!((outcome.attempts, outcome.retries), (2, 1));
        assert_eq!(server.count(), 2);
        assert!(elapsed < Duration::from_millis(1_200), "{elapsed:?}");
    }

    #[tokio::test]
    async fn a_slow_server_cannot_hold_past_the_deadline() {
        let slow = Reply::ok().delay(Duration::from_secs(5));
        let (url, _server) = Server::start([], slow).await;
        let transport = HttpTransport::new(settings(url)).unwrap();
        let started = Instant::now();
        let outcome = transport
            .export_vec(
                sample_request().encode_to_vec(),
                Some(started + Duration::from_millis(300)),
            )
            .await;
        assert!(
            matches!(outcome.result, Delivery::Failed { status: None, .. }),
            "{outcome:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn a_passed_deadline_sends_nothing() {
        let (url, server) = Server::start([], Reply::ok()).await;
        let transport = HttpTransport::new(settings(url)).unwrap();
        let outcome = transport
            .export_vec(sample_request().encode_to_vec(), Some(Instant::now()))
            .await;
        assert!(
            matches!(outcome.result, Delivery::Failed { .. }),
            "{outcome:?}"
        );
        assert_eq!(outcome.attempts, 0);
        assert_eq!(server.count(), 0);
    }

    #[tokio::test]
    async fn connection_refused_fails_after_retries() {
        // Bind then drop, so the port is (almost certainly) closed.
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let url: Url = format!("http://{addr}{PATH}").parse().unwrap();
        let transport = HttpTransport::new(TransportSettings {
            max_retries: 2,
            ..settings(url)
        })
        .unwrap();
        let outcome = transport
            .export_vec(sample_request().encode_to_vec(), None)
            .await;
        match &outcome.result {
            Delivery::Failed { status, reason } => {
                assert_eq!(*status, None);
                assert!(reason.to_lowercase().contains("connect"), "{reason}");
                assert!(reason.contains("gave up after 3 attempts"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!((outcome.attempts, outcome.retries), (3, 2));
        assert_eq!(outcome.bytes_sent, 0);
    }

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::now();
        let parse = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(RETRY_AFTER, HeaderValue::from_str(value).unwrap());
            parse_retry_after(&headers, now)
        };
        assert_eq!(parse("5"), Some(Duration::from_secs(5)));
        assert_eq!(parse(" 0 "), Some(Duration::ZERO));
        assert_eq!(parse("3600"), Some(MAX_RETRY_AFTER));
        let in_30s = httpdate::fmt_http_date(now + Duration::from_secs(30));
        let wait = parse(&in_30s).unwrap();
        // HTTP dates have whole seconds.
        assert!(
            wait > Duration::from_secs(28) && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse(&past), Some(Duration::ZERO));
        let far = httpdate::fmt_http_date(now + Duration::from_secs(86_400));
        assert_eq!(parse(&far), Some(MAX_RETRY_AFTER));
        assert_eq!(parse("soon"), None);
        assert_eq!(parse("-1"), None);
        assert_eq!(parse_retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn backoff_doubles_with_jitter_and_a_cap() {
        for _ in 0..200 {
            let first = backoff(0);
            assert!(first >= Duration::from_millis(400) && first <= Duration::from_millis(600));
            let second = backoff(1);
            assert!(second >= Duration::from_millis(800) && second <= Duration::from_millis(1_200));
            for retry in [6, 10, 31, u32::MAX] {
                let late = backoff(retry);
                assert!(
                    late >= Duration::from_secs(24) && late <= MAX_BACKOFF,
                    "{late:?}"
                );
            }
        }
    }

    #[test]
    fn truncation_counts_characters() {
        assert_eq!(truncate_chars("abc", 5), "abc");
        assert_eq!(truncate_chars("abcdef", 3), "abc…");
        assert_eq!(truncate_chars("ééé", 2), "éé…");
    }

    #[test]
    fn secrets_stay_out_of_debug_and_errors() {
        let mut settings = settings(
            "http://user:hunter2@cloud.langfuse.com/api/public/otel/v1/traces"
                .parse()
                .unwrap(),
        );
        settings.extra_headers = vec![(
            AUTHORIZATION,
            HeaderValue::from_static("Bearer collector-token"),
        )];
        let credentials =
            base64::engine::general_purpose::STANDARD.encode("pk-lf-test:sk-lf-secret");
        let settings_debug = format!("{settings:?}");
        let transport_debug = format!("{:?}", HttpTransport::new(settings).unwrap());
        for text in [settings_debug, transport_debug] {
            for secret in [
                "sk-lf-secret",
                credentials.as_str(),
                "collector-token",
                "hunter2",
            ] {
                assert!(!text.contains(secret), "{secret} leaked: {text}");
            }
            assert!(text.contains("pk-lf-test"), "{text}");
            assert!(text.contains("<redacted>"), "{text}");
        }

        let bad = TransportSettings {
            public_key: Some("pk\nlf".into()),
            ..self::settings("http://127.0.0.1:1/".parse().unwrap())
        };
        let error = HttpTransport::new(bad).unwrap_err();
        assert!(matches!(error, TransportError::InvalidPublicKey));
        assert!(!error.to_string().contains("sk-lf-secret"));
    }

    #[tokio::test]
    async fn get_sends_the_sdk_headers_and_returns_the_body() {
        let body = r#"{"data":[{"id":"p-1"}]}"#;
        let (url, server) = Server::start([], Reply::ok().body(body)).await;
        let transport = HttpTransport::new(settings(url.clone())).unwrap();
        assert_eq!(transport.get(&url, 1024).await.unwrap(), body.as_bytes());

        let seen = server.seen.lock();
        let credentials =
            base64::engine::general_purpose::STANDARD.encode("pk-lf-test:sk-lf-secret");
        assert_eq!(
            header(&seen[0].headers, "authorization"),
            Some(format!("Basic {credentials}").as_str())
        );
        assert_eq!(header(&seen[0].headers, "accept"), Some(JSON));
        assert_eq!(
            header(&seen[0].headers, "x-langfuse-sdk-name"),
            Some("rust")
        );
    }

    #[tokio::test]
    async fn get_reports_errors_without_retrying() {
        let (url, server) = Server::start(
            [Reply::status(401).body(r#"{"message":"Invalid credentials"}"#)],
            Reply::status(503),
        )
        .await;
        let transport = HttpTransport::new(settings(url.clone())).unwrap();
        let failure = transport.get(&url, 1024).await.unwrap_err();
        assert_eq!(failure.status, Some(401));
        assert!(failure.reason.contains("Invalid credentials"), "{failure}");
        let failure = transport.get(&url, 1024).await.unwrap_err();
        assert_eq!(failure.status, Some(503));
        assert_eq!(server.count(), 2, "one request per call");

        let refused = HttpTransport::new(settings("http://127.0.0.1:1/".parse().unwrap())).unwrap();
        let failure = refused
            .get(&"http://127.0.0.1:1/".parse().unwrap(), 1024)
            .await
            .unwrap_err();
        assert_eq!(failure.status, None);
    }

    #[tokio::test]
    async fn get_failures_are_one_line_with_the_status_and_no_html() {
        let page = "<!DOCTYPE html>\n<html>\n<head><title>404</title></head>\n<body>\n<h1>Not \
                    Found</h1>\n</body>\n</html>\n";
        let (url, _server) = Server::start(
            [
                Reply::status(404).body(page),
                Reply::status(502).body("upstream connect error\nor disconnect"),
                Reply::status(403).body("{\"error\":\"Forbidden\",\n\"detail\":\"x\"}"),
            ],
            Reply::status(503),
        )
        .await;
        let transport = HttpTransport::new(settings(url.clone())).unwrap();
        for expected in [
            "server answered 404 Not Found",
            "server answered 502 Bad Gateway",
            "server answered 403 Forbidden: Forbidden",
            "server answered 503 Service Unavailable",
        ] {
            let failure = transport.get(&url, 1024).await.unwrap_err();
            assert_eq!(failure.reason, expected);
        }
        assert_eq!(
            json_message(r#"{"message":"a\nb"}"#).as_deref(),
            Some("a\nb")
        );
        let (url, _server) = Server::start(
            [Reply::status(400).body(r#"{"message":"bad\nkey"}"#)],
            Reply::status(503),
        )
        .await;
        let transport = HttpTransport::new(settings(url.clone())).unwrap();
        let failure = transport.get(&url, 1024).await.unwrap_err();
        assert_eq!(failure.reason, "server answered 400 Bad Request: bad key");
    }

    #[test]
    fn gzip_round_trips_with_the_kept_compressor() {
        use std::io::Read as _;
        let bodies = [
            Vec::new(),
            b"a small body".to_vec(),
            (0..300_000u32)
                .flat_map(|i| (i % 251).to_le_bytes())
                .collect(),
            b"after a large one".to_vec(),
        ];
        for body in &bodies {
            let compressed = gzip(body).unwrap();
            let mut plain = Vec::new();
            flate2::read::GzDecoder::new(compressed.as_slice())
                .read_to_end(&mut plain)
                .unwrap();
            assert_eq!(&plain, body);
        }
    }

    #[tokio::test]
    async fn get_refuses_oversized_bodies() {
        let (url, _server) = Server::start([], Reply::ok().body("x".repeat(2000))).await;
        let transport = HttpTransport::new(settings(url.clone())).unwrap();
        let failure = transport.get(&url, 1000).await.unwrap_err();
        assert!(
            failure.reason.contains("larger than 1000 bytes"),
            "{failure}"
        );
        assert_eq!(transport.get(&url, 2000).await.unwrap().len(), 2000);
    }
}
