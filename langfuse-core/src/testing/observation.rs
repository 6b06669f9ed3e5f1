//! [`RecordedObservation`]: one finished observation, as the exporter would have sent it.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value as Json;

use crate::export::attributes::{SpanWriter, Value};
use crate::model::{Level, ObservationId, ObservationType, TraceId};

/// The value of one span attribute, as sent to Langfuse.
///
/// ```
/// use langfuse_core::testing::AttributeValue;
///
/// let value = AttributeValue::String("generation".into());
/// assert_eq!(value.as_str(), Some("generation"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttributeValue {
    /// A string (JSON payloads are sent as JSON text).
    String(String),
    /// A boolean.
    Bool(bool),
    /// A 64-bit integer.
    Int(i64),
    /// An array of strings (tags).
    StringArray(Vec<String>),
}

impl AttributeValue {
    /// The string, if this is one.
    ///
    /// ```
    /// use langfuse_core::testing::AttributeValue;
    /// assert_eq!(AttributeValue::Bool(true).as_str(), None);
    /// ```
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }
}

impl From<Value<'_>> for AttributeValue {
    fn from(value: Value<'_>) -> Self {
        match value {
            Value::Str(s) => Self::String(s.to_owned()),
            Value::Bool(b) => Self::Bool(b),
            Value::Int(i) => Self::Int(i),
            Value::StrArray(items) => Self::StringArray(items.to_vec()),
        }
    }
}

/// A finished observation of a [`Recording`](super::Recording): exactly the span the exporter
/// would have encoded for it (masking and the capture budget applied), with typed access to
/// what Langfuse reads from it.
///
/// JSON fields (input, output, metadata, model parameters, usage, cost) are returned as
/// [`serde_json::Value`]s; a payload that is plain text (a `&str` argument, or a capture cut
/// at its byte budget) comes back as a JSON string.
///
/// ```
/// use langfuse_core::{ObservationType, testing};
///
/// let recording = testing::record(|| {
///     let mut span = langfuse_core::start_observation("lookup").start();
///     span.update(|s| {
///         s.input(&serde_json::json!({ "id": 7 })).output("found");
///     });
///     span.end();
/// });
/// let lookup = recording.one("lookup");
/// assert_eq!(lookup.kind(), ObservationType::Span);
/// assert_eq!(lookup.input().unwrap()["id"], 7);
/// assert_eq!(lookup.output().unwrap(), "found");
/// ```
#[derive(Clone, PartialEq)]
pub struct RecordedObservation {
    pub(super) trace_id: TraceId,
    pub(super) id: ObservationId,
    pub(super) parent_id: Option<ObservationId>,
    pub(super) name: String,
    pub(super) start_unix_nanos: u64,
    pub(super) end_unix_nanos: u64,
    pub(super) attributes: Vec<(String, AttributeValue)>,
    /// `Some` when the span's status is ERROR, with its message (possibly empty).
    pub(super) error_status: Option<String>,
}

impl RecordedObservation {
    /// The trace it belongs to.
    pub fn trace_id(&self) -> TraceId {
        self.trace_id
    }

    /// Its id.
    pub fn id(&self) -> ObservationId {
        self.id
    }

    /// Its parent's id; `None` for a trace's root. A continued remote trace's first
    /// observation has the remote parent's id.
    pub fn parent_id(&self) -> Option<ObservationId> {
        self.parent_id
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its type (`langfuse.observation.type`).
    pub fn kind(&self) -> ObservationType {
        self.str("langfuse.observation.type")
            .and_then(|t| t.parse().ok())
            .unwrap_or_default()
    }

    /// Its level (`langfuse.observation.level`; DEFAULT when not sent).
    pub fn level(&self) -> Level {
        match self.str("langfuse.observation.level") {
            Some("DEBUG") => Level::Debug,
            Some("WARNING") => Level::Warning,
            Some("ERROR") => Level::Error,
            _ => Level::Default,
        }
    }

    /// Its status message, if any.
    pub fn status_message(&self) -> Option<&str> {
        self.str("langfuse.observation.status_message")
    }

    /// Whether the span's status is ERROR (it is exactly when the level is ERROR).
    pub fn is_error(&self) -> bool {
        self.error_status.is_some()
    }

    /// The message of the span's ERROR status (the OTLP `Status.message`); `None` when the
    /// status is not ERROR, empty when it is without a message.
    pub fn error_status_message(&self) -> Option<&str> {
        self.error_status.as_deref()
    }

    /// When it started.
    pub fn start_time(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(self.start_unix_nanos)
    }

    /// When it ended.
    pub fn end_time(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(self.end_unix_nanos)
    }

    /// How long it ran.
    pub fn duration(&self) -> Duration {
        Duration::from_nanos(self.end_unix_nanos.saturating_sub(self.start_unix_nanos))
    }

    /// Its input.
    pub fn input(&self) -> Option<Json> {
        self.json("langfuse.observation.input")
    }

    /// Its output.
    pub fn output(&self) -> Option<Json> {
        self.json("langfuse.observation.output")
    }

    /// Its metadata (a JSON object).
    pub fn metadata(&self) -> Option<Json> {
        self.json("langfuse.observation.metadata")
    }

    /// Its version (`langfuse.version`: its own, else the trace's).
    pub fn version(&self) -> Option<&str> {
        self.str("langfuse.version")
    }

    /// The environment it is sent with (`langfuse.environment`).
    pub fn environment(&self) -> Option<&str> {
        self.str("langfuse.environment")
    }

    /// The release it is sent with (`langfuse.release`: the trace's, else the process's).
    pub fn release(&self) -> Option<&str> {
        self.str("langfuse.release")
    }

    /// The model's name (generation-like observations).
    pub fn model(&self) -> Option<&str> {
        self.str("langfuse.observation.model.name")
    }

    /// The model parameters (generation-like observations).
    pub fn model_parameters(&self) -> Option<Json> {
        self.json("langfuse.observation.model.parameters")
    }

    /// The usage details, a JSON object of token counts (generation-like observations).
    pub fn usage(&self) -> Option<Json> {
        self.json("langfuse.observation.usage_details")
    }

    /// The cost details, a JSON object of USD amounts (generation-like observations).
    pub fn cost(&self) -> Option<Json> {
        self.json("langfuse.observation.cost_details")
    }

    /// When the model produced its first token (generation-like observations).
    pub fn completion_start_time(&self) -> Option<SystemTime> {
        let text = self.str("langfuse.observation.completion_start_time")?;
        humantime::parse_rfc3339(text).ok()
    }

    /// The linked prompt's name and version (generation-like observations).
    pub fn prompt(&self) -> Option<(&str, i64)> {
        let name = self.str("langfuse.observation.prompt.name")?;
        match self.attribute("langfuse.observation.prompt.version") {
            Some(AttributeValue::Int(version)) => Some((name, *version)),
            _ => None,
        }
    }

    /// The trace's user id (`user.id`).
    pub fn user_id(&self) -> Option<&str> {
        self.str("user.id")
    }

    /// The trace's session id (`session.id`).
    pub fn session_id(&self) -> Option<&str> {
        self.str("session.id")
    }

    /// The trace's name (`langfuse.trace.name`).
    pub fn trace_name(&self) -> Option<&str> {
        self.str("langfuse.trace.name")
    }

    /// The trace's tags.
    pub fn tags(&self) -> Vec<&str> {
        match self.attribute("langfuse.trace.tags") {
            Some(AttributeValue::StringArray(tags)) => tags.iter().map(String::as_str).collect(),
            _ => Vec::new(),
        }
    }

    /// The trace's metadata (a JSON object).
    pub fn trace_metadata(&self) -> Option<Json> {
        self.json("langfuse.trace.metadata")
    }

    /// Whether the trace is public, if set.
    pub fn trace_public(&self) -> Option<bool> {
        match self.attribute("langfuse.trace.public") {
            Some(AttributeValue::Bool(public)) => Some(*public),
            _ => None,
        }
    }

    /// The trace's input, if set on the trace.
    pub fn trace_input(&self) -> Option<Json> {
        self.json("langfuse.trace.input")
    }

    /// The trace's output, if set on the trace.
    pub fn trace_output(&self) -> Option<Json> {
        self.json("langfuse.trace.output")
    }

    /// Whether it starts this service's part of a remote trace, so that Langfuse shows it as
    /// a root (`langfuse.internal.is_app_root` for v4 servers, and `langfuse.internal.as_root`
    /// for v3 servers: both are sent).
    pub fn is_remote_root(&self) -> bool {
        let marked = |key| self.attribute(key) == Some(&AttributeValue::Bool(true));
        marked("langfuse.internal.is_app_root") && marked("langfuse.internal.as_root")
    }

    /// One attribute, by key.
    ///
    /// ```
    /// use langfuse_core::testing::{self, AttributeValue};
    ///
    /// let recording = testing::record(|| langfuse_core::start_observation("work").start().end());
    /// let work = recording.one("work");
    /// assert_eq!(
    ///     work.attribute("langfuse.observation.type"),
    ///     Some(&AttributeValue::String("span".into()))
    /// );
    /// ```
    pub fn attribute(&self, key: &str) -> Option<&AttributeValue> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, value)| value)
    }

    /// Every attribute, in the order they are sent.
    pub fn attributes(&self) -> &[(String, AttributeValue)] {
        &self.attributes
    }

    /// A string attribute parsed as JSON, as the Langfuse UI reads it: text that is not JSON
    /// comes back as a JSON string.
    pub fn json(&self, key: &str) -> Option<Json> {
        let text = self.str(key)?;
        Some(serde_json::from_str(text).unwrap_or_else(|_| Json::String(text.to_owned())))
    }

    fn str(&self, key: &str) -> Option<&str> {
        self.attribute(key).and_then(AttributeValue::as_str)
    }
}

impl fmt::Debug for RecordedObservation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordedObservation")
            .field("name", &self.name)
            .field("kind", &self.kind())
            .field("trace_id", &self.trace_id)
            .field("id", &self.id)
            .field("parent_id", &self.parent_id)
            .field("attributes", &self.attributes)
            .finish()
    }
}

/// Collects a span from the attribute mapping.
pub(super) struct Collect(pub(super) RecordedObservation);

impl Collect {
    pub(super) fn new() -> Self {
        let placeholder = TraceId::from_u128(1).expect("non-zero");
        Self(RecordedObservation {
            trace_id: placeholder,
            id: ObservationId::from_u64(1).expect("non-zero"),
            parent_id: None,
            name: String::new(),
            start_unix_nanos: 0,
            end_unix_nanos: 0,
            attributes: Vec::new(),
            error_status: None,
        })
    }
}

impl SpanWriter for Collect {
    fn ids(&mut self, trace_id: TraceId, span_id: ObservationId, parent: Option<ObservationId>) {
        self.0.trace_id = trace_id;
        self.0.id = span_id;
        self.0.parent_id = parent;
    }

    fn name(&mut self, name: &str) {
        name.clone_into(&mut self.0.name);
    }

    fn times(&mut self, start_unix_nanos: u64, end_unix_nanos: u64) {
        self.0.start_unix_nanos = start_unix_nanos;
        self.0.end_unix_nanos = end_unix_nanos;
    }

    fn attribute(&mut self, key: &str, value: Value<'_>) {
        self.0.attributes.push((key.to_owned(), value.into()));
    }

    fn error_status(&mut self, message: &str) {
        self.0.error_status = Some(message.to_owned());
    }
}
