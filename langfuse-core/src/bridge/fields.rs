//! The values recorded on a converted span, and how they map to the observation: the
//! OpenTelemetry GenAI conventions (`gen_ai.*`, what rig and genai record) and Langfuse's own
//! attribute names (`langfuse.*`), as the Langfuse server reads them from OTLP, with its gaps
//! closed here on the client.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};

use crate::capture::{self, CaptureSetting};
use crate::clock::{Anchor, Timestamp};
use crate::model::{Level, ObservationType, Record, TokenCounts, TraceAttributes, normalize_usage};
use crate::observe::ObservationUpdate;

/// The observation type of a GenAI operation (`gen_ai.operation.name`), by the table of
/// Langfuse's `ObservationTypeMapper`, plus rig's `chat_streaming`.
pub(super) fn type_of_operation(operation: &str) -> Option<ObservationType> {
    Some(match operation {
        "chat" | "text_completion" | "generate_content" | "chat_streaming" | "completion" => {
            ObservationType::Generation
        }
        "embeddings" => ObservationType::Embedding,
        "invoke_agent" | "create_agent" => ObservationType::Agent,
        "execute_tool" => ObservationType::Tool,
        "invoke_workflow" => ObservationType::Chain,
        _ => return None,
    })
}

/// What is known of a span's type without allocating: set by the fields that decide it.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Inline {
    /// From `gen_ai.operation.name`.
    pub(super) operation: Option<ObservationType>,
    /// From `langfuse.observation.type`, which wins.
    pub(super) explicit: Option<ObservationType>,
}

impl Inline {
    pub(super) fn kind(&self) -> Option<ObservationType> {
        self.explicit.or(self.operation)
    }
}

/// Everything else a span recorded, boxed on its first value.
#[derive(Debug, Default)]
pub(super) struct Fields {
    name: Option<String>,
    tool_name: Option<String>,
    agent_name: Option<String>,
    model: Option<String>,
    request_model: Option<String>,
    response_model: Option<String>,
    parameters: Map<String, Value>,
    model_parameters: Option<Value>,
    counts: TokenCounts,
    usage_details: Option<Value>,
    cost_details: Option<Value>,
    input: Option<Value>,
    output: Option<Value>,
    input_messages: Option<Value>,
    output_messages: Option<Value>,
    system_instructions: Option<Value>,
    prompt: Option<Value>,
    completion: Option<Value>,
    tool_arguments: Option<Value>,
    tool_result: Option<Value>,
    metadata: Map<String, Value>,
    level: Option<Level>,
    status_message: Option<String>,
    error: Option<String>,
    error_type: Option<String>,
    otel_error: bool,
    otel_status_message: Option<String>,
    /// The first ERROR event inside the span.
    pub(super) event_error: Option<String>,
    time_to_first_chunk: Option<f64>,
    completion_start_time: Option<SystemTime>,
    prompt_name: Option<String>,
    prompt_version: Option<i64>,
    version: Option<String>,
    /// Trace-level attributes recorded since they were last applied.
    pub(super) trace: Option<TraceAttributes>,
}

impl Fields {
    /// Whether the span named a model (the server's fallback for spans of no known type).
    pub(super) fn names_a_model(&self) -> bool {
        self.model.is_some() || self.request_model.is_some() || self.response_model.is_some()
    }
}

/// A value as `tracing` hands it over.
enum FieldValue<'a> {
    Str(&'a str),
    I64(i64),
    U64(u64),
    F64(f64),
    Bool(bool),
    Debug(&'a dyn fmt::Debug),
}

impl FieldValue<'_> {
    fn text(&self) -> String {
        match self {
            Self::Str(s) => (*s).to_owned(),
            Self::I64(n) => n.to_string(),
            Self::U64(n) => n.to_string(),
            Self::F64(n) => n.to_string(),
            Self::Bool(b) => b.to_string(),
            Self::Debug(d) => format!("{d:?}"),
        }
    }

    fn json(&self) -> Value {
        match self {
            Self::Str(s) => Value::String((*s).to_owned()),
            Self::I64(n) => Value::from(*n),
            Self::U64(n) => Value::from(*n),
            Self::F64(n) => serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number),
            Self::Bool(b) => Value::Bool(*b),
            Self::Debug(d) => Value::String(format!("{d:?}")),
        }
    }

    /// JSON text recorded as a string (messages, arguments) as the JSON it holds; anything
    /// else as its value.
    fn parsed(&self) -> Value {
        let text = match self {
            Self::Str(s) => (*s).to_owned(),
            Self::Debug(d) => format!("{d:?}"),
            other => return other.json(),
        };
        match serde_json::from_str::<Value>(&text) {
            Ok(value) if value.is_object() || value.is_array() => value,
            _ => Value::String(text),
        }
    }

    fn count(&self) -> Option<u64> {
        match *self {
            Self::U64(n) => Some(n),
            Self::I64(n) => u64::try_from(n).ok(),
            Self::F64(n) if n >= 0.0 && n.fract() == 0.0 => Some(n as u64),
            Self::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    fn float(&self) -> Option<f64> {
        match *self {
            Self::F64(n) => Some(n),
            Self::U64(n) => Some(n as f64),
            Self::I64(n) => Some(n as f64),
            Self::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    fn boolean(&self) -> Option<bool> {
        match *self {
            Self::Bool(b) => Some(b),
            Self::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
}

/// Records a span's values into its [`Inline`] part and its [`Fields`] (boxed on the first
/// value that needs them).
pub(super) struct Visitor<'a> {
    pub(super) inline: &'a mut Inline,
    pub(super) fields: &'a mut Option<Box<Fields>>,
    /// Whether fields outside both conventions go to metadata.
    pub(super) other_fields: bool,
}

impl Visitor<'_> {
    fn fields(&mut self) -> &mut Fields {
        self.fields.get_or_insert_with(Default::default)
    }

    fn trace(&mut self) -> &mut TraceAttributes {
        self.fields().trace.get_or_insert_with(Default::default)
    }

    fn record(&mut self, name: &'static str, value: FieldValue<'_>) {
        match name {
            "gen_ai.operation.name" => {
                if let FieldValue::Str(operation) = value {
                    self.inline.operation = type_of_operation(operation);
                }
            }
            "langfuse.observation.type" => {
                self.inline.explicit = value.text().parse().ok();
            }
            "otel.name" | "langfuse.observation.name" => self.fields().name = Some(value.text()),
            "gen_ai.tool.name" => self.fields().tool_name = Some(value.text()),
            "gen_ai.agent.name" => self.fields().agent_name = Some(value.text()),
            "gen_ai.request.model" => self.fields().request_model = Some(value.text()),
            "gen_ai.response.model" => self.fields().response_model = Some(value.text()),
            "langfuse.observation.model.name" => self.fields().model = Some(value.text()),
            "langfuse.observation.model.parameters" => {
                self.fields().model_parameters = Some(value.parsed());
            }
            "gen_ai.usage.input_tokens" | "gen_ai.usage.prompt_tokens" => {
                self.fields().counts.input = value.count();
            }
            "gen_ai.usage.output_tokens" | "gen_ai.usage.completion_tokens" => {
                self.fields().counts.output = value.count();
            }
            "gen_ai.usage.total_tokens" => self.fields().counts.total = value.count(),
            "gen_ai.usage.cache_read.input_tokens" | "gen_ai.usage.cache_read_input_tokens" => {
                self.fields().counts.cache_read = value.count();
            }
            "gen_ai.usage.cache_creation.input_tokens"
            | "gen_ai.usage.cache_write.input_tokens"
            | "gen_ai.usage.cache_creation_input_tokens" => {
                self.fields().counts.cache_creation = value.count();
            }
            "gen_ai.usage.reasoning.output_tokens" | "gen_ai.usage.reasoning_tokens" => {
                self.fields().counts.reasoning = value.count();
            }
            "langfuse.observation.usage_details" => {
                self.fields().usage_details = Some(value.parsed());
            }
            "langfuse.observation.cost_details" => {
                self.fields().cost_details = Some(value.parsed());
            }
            "gen_ai.input.messages" => self.fields().input_messages = Some(value.parsed()),
            "gen_ai.output.messages" => self.fields().output_messages = Some(value.parsed()),
            "gen_ai.system_instructions" => {
                self.fields().system_instructions = Some(value.parsed());
            }
            "gen_ai.prompt" => self.fields().prompt = Some(value.parsed()),
            "gen_ai.completion" => self.fields().completion = Some(value.parsed()),
            "gen_ai.tool.call.arguments" => self.fields().tool_arguments = Some(value.parsed()),
            "gen_ai.tool.call.result" => self.fields().tool_result = Some(value.parsed()),
            "langfuse.observation.input" => self.fields().input = Some(value.parsed()),
            "langfuse.observation.output" => self.fields().output = Some(value.parsed()),
            "langfuse.observation.metadata" => {
                if let Value::Object(object) = value.parsed() {
                    self.fields().metadata.extend(object);
                }
            }
            "langfuse.observation.level" => {
                self.fields().level = match value.text().to_ascii_uppercase().as_str() {
                    "DEBUG" => Some(Level::Debug),
                    "DEFAULT" => Some(Level::Default),
                    "WARNING" => Some(Level::Warning),
                    "ERROR" => Some(Level::Error),
                    _ => None,
                };
            }
            "langfuse.observation.status_message" => {
                self.fields().status_message = Some(value.text());
            }
            "error" => self.fields().error = Some(value.text()),
            "error.type" | "gen_ai.tool.error.type" => {
                self.fields().error_type = Some(value.text());
            }
            "otel.status_code" => {
                self.fields().otel_error = value.text().eq_ignore_ascii_case("error");
            }
            "otel.status_message" => self.fields().otel_status_message = Some(value.text()),
            "gen_ai.response.time_to_first_chunk" => {
                self.fields().time_to_first_chunk = value.float();
            }
            "langfuse.observation.completion_start_time" => {
                self.fields().completion_start_time =
                    humantime::parse_rfc3339_weak(value.text().trim_matches('"')).ok();
            }
            "langfuse.observation.prompt.name" => self.fields().prompt_name = Some(value.text()),
            "langfuse.observation.prompt.version" => {
                self.fields().prompt_version = value.count().and_then(|n| i64::try_from(n).ok());
            }
            "langfuse.version" => self.fields().version = Some(value.text()),
            "user.id" | "langfuse.user.id" => {
                self.trace().user_id(value.text());
            }
            "session.id" | "langfuse.session.id" | "gen_ai.conversation.id" => {
                self.trace().session_id(value.text());
            }
            "langfuse.trace.name" => {
                self.trace().name(value.text());
            }
            "langfuse.release" => {
                self.trace().release(value.text());
            }
            "langfuse.trace.tags" => {
                let tags = tags(&value);
                self.trace().tags(tags);
            }
            "langfuse.trace.public" => {
                if let Some(public) = value.boolean() {
                    self.trace().public(public);
                }
            }
            "langfuse.trace.metadata" => {
                let metadata = value.parsed();
                if metadata.is_object() {
                    self.trace().metadata(&metadata);
                }
            }
            "langfuse.trace.input" => {
                let input = value.parsed();
                self.trace().input(&input);
            }
            "langfuse.trace.output" => {
                let output = value.parsed();
                self.trace().output(&output);
            }
            _ => self.record_other(name, value),
        }
    }

    fn record_other(&mut self, name: &'static str, value: FieldValue<'_>) {
        if let Some(parameter) = name.strip_prefix("gen_ai.request.") {
            let value = value.parsed();
            self.fields().parameters.insert(parameter.to_owned(), value);
        } else if let Some(key) = name.strip_prefix("langfuse.observation.metadata.") {
            let value = value.parsed();
            self.fields().metadata.insert(key.to_owned(), value);
        } else if let Some(key) = name.strip_prefix("langfuse.trace.metadata.") {
            let mut object = Map::new();
            object.insert(key.to_owned(), value.parsed());
            self.trace().metadata(&object);
        } else if self.other_fields && !name.starts_with("gen_ai.usage.") {
            let value = value.json();
            self.fields().metadata.insert(name.to_owned(), value);
        }
    }
}

/// Tags from a JSON array, a comma-separated list, or one tag.
fn tags(value: &FieldValue<'_>) -> Vec<String> {
    match value.parsed() {
        Value::Array(items) => items
            .into_iter()
            .map(|t| match t {
                Value::String(s) => s,
                other => other.to_string(),
            })
            .collect(),
        Value::String(text) => text
            .split(',')
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect(),
        other => vec![other.to_string()],
    }
}

impl Visit for Visitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.record(field.name(), FieldValue::Str(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.record(field.name(), FieldValue::I64(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.record(field.name(), FieldValue::U64(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.record(field.name(), FieldValue::F64(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.record(field.name(), FieldValue::Bool(value));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let text = value.to_string();
        self.record(field.name(), FieldValue::Str(&text));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.record(field.name(), FieldValue::Debug(value));
    }
}

/// Collects an event's message and `error` field, for an ERROR event inside a span.
#[derive(Default)]
pub(super) struct EventMessage {
    message: Option<String>,
    error: Option<String>,
}

impl EventMessage {
    pub(super) fn into_text(self) -> String {
        match (self.message, self.error) {
            (Some(message), Some(error)) => format!("{message}: {error}"),
            (Some(text), None) | (None, Some(text)) => text,
            (None, None) => "error".to_owned(),
        }
    }
}

impl Visit for EventMessage {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.record_debug(field, &format_args!("{value}"));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.record_debug(field, &format_args!("{value}"));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        match field.name() {
            "message" => self.message = Some(format!("{value:?}")),
            "error" => self.error = Some(format!("{value:?}")),
            _ => {}
        }
    }
}

/// The status of a span that recorded an error, by precedence: Langfuse's own level and
/// message, an `error` field, OpenTelemetry's status (`otel.status_code = "ERROR"`, with
/// `otel.status_message`, else `error.type`), an `error.type` alone, an ERROR event.
fn error_status(fields: &Fields) -> Option<String> {
    if let Some(error) = &fields.error {
        return Some(error.clone());
    }
    if fields.otel_error {
        return Some(
            fields
                .otel_status_message
                .clone()
                .or_else(|| fields.error_type.clone())
                .unwrap_or_else(|| "error".to_owned()),
        );
    }
    fields
        .error_type
        .clone()
        .or_else(|| fields.event_error.clone())
}

/// The chat input: the system instructions as a first message, then the messages.
fn chat_input(fields: &mut Fields) -> Option<Value> {
    let system = fields.system_instructions.take();
    let messages = fields.input_messages.take();
    match (system, messages) {
        (None, messages) => messages,
        (Some(system), messages) => {
            let system = match system {
                parts @ Value::Array(_) => serde_json::json!({ "role": "system", "parts": parts }),
                text => serde_json::json!({ "role": "system", "content": text }),
            };
            let mut all = vec![system];
            match messages {
                Some(Value::Array(messages)) => all.extend(messages),
                Some(other) => all.push(other),
                None => {}
            }
            Some(Value::Array(all))
        }
    }
}

/// Writes what a span recorded into its record when the span closes: its type, name, input,
/// output, metadata, level and, for generation-like types, model, parameters, usage (once,
/// in Langfuse's keys; none on agents, which repeat their run's totals), cost, completion
/// start and prompt.
pub(super) fn finish(record: &mut Record, kind: ObservationType, fields: Option<Box<Fields>>) {
    let Some(mut fields) = fields else { return };
    let mut update = ObservationUpdate::default();
    let name = fields.name.take().or_else(|| match kind {
        ObservationType::Tool => fields.tool_name.take(),
        ObservationType::Agent => fields.agent_name.take(),
        _ => None,
    });
    if let Some(name) = name {
        update.name(name);
    }

    if capture::enabled(CaptureSetting::Inherit) {
        let (input, output) = match kind {
            ObservationType::Tool => (fields.tool_arguments.take(), fields.tool_result.take()),
            ObservationType::Agent => (
                fields.prompt.take().or_else(|| chat_input(&mut fields)),
                fields.completion.take().or(fields.output_messages.take()),
            ),
            _ => (
                chat_input(&mut fields)
                    .or(fields.prompt.take())
                    .or(fields.tool_arguments.take()),
                fields
                    .output_messages
                    .take()
                    .or(fields.completion.take())
                    .or(fields.tool_result.take()),
            ),
        };
        if let Some(input) = fields.input.take().or(input) {
            update.input(&input);
        }
        if let Some(output) = fields.output.take().or(output) {
            update.output(&output);
        }
    }
    if !fields.metadata.is_empty() {
        update.metadata(&fields.metadata);
    }
    if let Some(version) = fields.version.take() {
        update.version(version);
    }
    if let Some(message) = error_status(&fields) {
        update.level(Level::Error).status_message(message);
    }
    if let Some(level) = fields.level {
        update.level(level);
    }
    if let Some(message) = fields.status_message.take() {
        update.status_message(message);
    }

    if kind.is_generation_like() {
        let model = fields
            .model
            .take()
            .or(fields.response_model.take())
            .or(fields.request_model.take());
        if let Some(model) = model {
            update.model(model);
        }
        match fields.model_parameters.take() {
            Some(parameters) => update.model_parameters(&parameters),
            None if !fields.parameters.is_empty() => update.model_parameters(&fields.parameters),
            None => &mut update,
        };
        let usage = match fields.usage_details.take() {
            Some(explicit) => normalize_usage(&explicit),
            None if !fields.counts.is_empty() => Some(fields.counts.to_langfuse()),
            None => None,
        };
        if let Some(usage) = usage {
            update.normalized_usage(&usage);
        }
        if let Some(cost) = fields.cost_details.take() {
            update.cost_details(&cost);
        }
        let completion_start = fields.completion_start_time.or_else(|| {
            let seconds = fields
                .time_to_first_chunk
                .filter(|s| s.is_finite() && *s >= 0.0)?;
            Some(start_time(record.start) + Duration::from_secs_f64(seconds))
        });
        if let Some(at) = completion_start {
            update.completion_start_time(at);
        }
        if let (Some(name), Some(version)) = (fields.prompt_name.take(), fields.prompt_version) {
            update.prompt((name, version));
        }
    }
    update.apply(record);
}

/// A record's start as wall-clock time.
fn start_time(start: Timestamp) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(Anchor::now().unix_nanos(start))
}
