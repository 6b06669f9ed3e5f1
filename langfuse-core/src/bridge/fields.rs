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

/// What a field maps to, found from its name once per callsite (see [`Plan`]) rather than
/// for each value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
    Operation,
    Type,
    Name,
    ToolName,
    AgentName,
    RequestModel,
    ResponseModel,
    ModelName,
    ModelParameters,
    InputTokens,
    OutputTokens,
    TotalTokens,
    CacheReadTokens,
    CacheCreationTokens,
    ReasoningTokens,
    UsageDetails,
    CostDetails,
    InputMessages,
    OutputMessages,
    SystemInstructions,
    Prompt,
    Completion,
    ToolArguments,
    ToolResult,
    Input,
    Output,
    MetadataObject,
    LevelName,
    StatusMessage,
    ErrorText,
    ErrorType,
    OtelStatusCode,
    OtelStatusMessage,
    TimeToFirstChunk,
    CompletionStartTime,
    PromptName,
    PromptVersion,
    Version,
    UserId,
    SessionId,
    TraceName,
    Release,
    TraceTags,
    TracePublic,
    TraceMetadata,
    TraceInput,
    TraceOutput,
    /// `gen_ai.request.<parameter>`.
    Parameter,
    /// `langfuse.observation.metadata.<key>`.
    MetadataKey,
    /// `langfuse.trace.metadata.<key>`.
    TraceMetadataKey,
    /// Another `gen_ai.usage.*` count: never metadata.
    OtherUsage,
    /// Anything else: metadata with `with_other_fields`, else nothing.
    Other,
}

impl Action {
    /// The action of a field named `name`.
    pub(super) fn of(name: &str) -> Action {
        use Action::*;
        match name {
            "gen_ai.operation.name" => Operation,
            "langfuse.observation.type" => Type,
            "otel.name" | "langfuse.observation.name" => Name,
            "gen_ai.tool.name" => ToolName,
            "gen_ai.agent.name" => AgentName,
            "gen_ai.request.model" => RequestModel,
            "gen_ai.response.model" => ResponseModel,
            "langfuse.observation.model.name" => ModelName,
            "langfuse.observation.model.parameters" => ModelParameters,
            "gen_ai.usage.input_tokens" | "gen_ai.usage.prompt_tokens" => InputTokens,
            "gen_ai.usage.output_tokens" | "gen_ai.usage.completion_tokens" => OutputTokens,
            "gen_ai.usage.total_tokens" => TotalTokens,
            "gen_ai.usage.cache_read.input_tokens" | "gen_ai.usage.cache_read_input_tokens" => {
                CacheReadTokens
            }
            "gen_ai.usage.cache_creation.input_tokens"
            | "gen_ai.usage.cache_write.input_tokens"
            | "gen_ai.usage.cache_creation_input_tokens" => CacheCreationTokens,
            "gen_ai.usage.reasoning.output_tokens" | "gen_ai.usage.reasoning_tokens" => {
                ReasoningTokens
            }
            "langfuse.observation.usage_details" => UsageDetails,
            "langfuse.observation.cost_details" => CostDetails,
            "gen_ai.input.messages" => InputMessages,
            "gen_ai.output.messages" => OutputMessages,
            "gen_ai.system_instructions" => SystemInstructions,
            "gen_ai.prompt" => Prompt,
            "gen_ai.completion" => Completion,
            "gen_ai.tool.call.arguments" => ToolArguments,
            "gen_ai.tool.call.result" => ToolResult,
            "langfuse.observation.input" => Input,
            "langfuse.observation.output" => Output,
            "langfuse.observation.metadata" => MetadataObject,
            "langfuse.observation.level" => LevelName,
            "langfuse.observation.status_message" => StatusMessage,
            "error" => ErrorText,
            "error.type" | "gen_ai.tool.error.type" => ErrorType,
            "otel.status_code" => OtelStatusCode,
            "otel.status_message" => OtelStatusMessage,
            "gen_ai.response.time_to_first_chunk" => TimeToFirstChunk,
            "langfuse.observation.completion_start_time" => CompletionStartTime,
            "langfuse.observation.prompt.name" => PromptName,
            "langfuse.observation.prompt.version" => PromptVersion,
            "langfuse.version" => Version,
            "user.id" | "langfuse.user.id" => UserId,
            "session.id" | "langfuse.session.id" | "gen_ai.conversation.id" => SessionId,
            "langfuse.trace.name" => TraceName,
            "langfuse.release" => Release,
            "langfuse.trace.tags" => TraceTags,
            "langfuse.trace.public" => TracePublic,
            "langfuse.trace.metadata" => TraceMetadata,
            "langfuse.trace.input" => TraceInput,
            "langfuse.trace.output" => TraceOutput,
            _ if name.starts_with("gen_ai.request.") => Parameter,
            _ if name.starts_with("langfuse.observation.metadata.") => MetadataKey,
            _ if name.starts_with("langfuse.trace.metadata.") => TraceMetadataKey,
            _ if name.starts_with("gen_ai.usage.") => OtherUsage,
            _ => Other,
        }
    }

    /// Whether a value of this field is recorded at all.
    fn records(self, other_fields: bool) -> bool {
        match self {
            Action::OtherUsage => false,
            Action::Other => other_fields,
            _ => true,
        }
    }
}

/// The actions of a callsite's fields, by field index, built when the callsite is first
/// seen: a value is then mapped by an index, not by comparing its name with every known one,
/// and a callsite none of whose fields maps to anything is not visited at all.
pub(super) struct Plan {
    callsite: tracing::callsite::Identifier,
    actions: Box<[Action]>,
    /// Whether any field maps to something other than metadata.
    mapped: bool,
}

impl Plan {
    pub(super) fn new(metadata: &'static tracing::Metadata<'static>) -> Self {
        let actions: Box<[Action]> = metadata
            .fields()
            .iter()
            .map(|f| Action::of(f.name()))
            .collect();
        let mapped = actions.iter().any(|a| a.records(false));
        Plan {
            callsite: metadata.callsite(),
            actions,
            mapped,
        }
    }

    /// Whether the values of this callsite need visiting.
    #[inline]
    pub(super) fn visits(&self, other_fields: bool) -> bool {
        self.mapped || (other_fields && !self.actions.is_empty())
    }

    #[inline]
    fn action(&self, field: &Field) -> Action {
        match self.actions.get(field.index()) {
            // A value set can in principle carry another callsite's fields.
            Some(&action) if field.callsite() == self.callsite => action,
            _ => Action::of(field.name()),
        }
    }
}

/// Records a span's values into its [`Inline`] part and its [`Fields`] (boxed on the first
/// value that needs them).
pub(super) struct Visitor<'a> {
    pub(super) plan: &'a Plan,
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

    // Into each `record_*`: the common values (the operation, fields that map to nothing)
    // then cost no call, and `record`'s large frame is set up only for the others.
    #[inline(always)]
    fn visit(&mut self, field: &Field, value: FieldValue<'_>) {
        match self.plan.action(field) {
            // The one field most converted spans have, kept out of `record`'s large frame.
            Action::Operation => {
                if let FieldValue::Str(operation) = value {
                    self.inline.operation = type_of_operation(operation);
                }
            }
            action if action.records(self.other_fields) => {
                self.record(action, field.name(), value);
            }
            _ => {}
        }
    }

    #[inline(never)]
    fn record(&mut self, action: Action, name: &'static str, value: FieldValue<'_>) {
        use Action::*;
        match action {
            // Taken by `visit`.
            Operation => {}
            Type => {
                self.inline.explicit = value.text().parse().ok();
            }
            Name => self.fields().name = Some(value.text()),
            ToolName => self.fields().tool_name = Some(value.text()),
            AgentName => self.fields().agent_name = Some(value.text()),
            RequestModel => self.fields().request_model = Some(value.text()),
            ResponseModel => self.fields().response_model = Some(value.text()),
            ModelName => self.fields().model = Some(value.text()),
            ModelParameters => {
                self.fields().model_parameters = Some(value.parsed());
            }
            InputTokens => self.fields().counts.input = value.count(),
            OutputTokens => self.fields().counts.output = value.count(),
            TotalTokens => self.fields().counts.total = value.count(),
            CacheReadTokens => self.fields().counts.cache_read = value.count(),
            CacheCreationTokens => self.fields().counts.cache_creation = value.count(),
            ReasoningTokens => self.fields().counts.reasoning = value.count(),
            UsageDetails => {
                self.fields().usage_details = Some(value.parsed());
            }
            CostDetails => {
                self.fields().cost_details = Some(value.parsed());
            }
            InputMessages => self.fields().input_messages = Some(value.parsed()),
            OutputMessages => self.fields().output_messages = Some(value.parsed()),
            SystemInstructions => {
                self.fields().system_instructions = Some(value.parsed());
            }
            Prompt => self.fields().prompt = Some(value.parsed()),
            Completion => self.fields().completion = Some(value.parsed()),
            ToolArguments => self.fields().tool_arguments = Some(value.parsed()),
            ToolResult => self.fields().tool_result = Some(value.parsed()),
            Input => self.fields().input = Some(value.parsed()),
            Output => self.fields().output = Some(value.parsed()),
            MetadataObject => {
                if let Value::Object(object) = value.parsed() {
                    self.fields().metadata.extend(object);
                }
            }
            LevelName => {
                self.fields().level = match value.text().to_ascii_uppercase().as_str() {
                    "DEBUG" => Some(Level::Debug),
                    "DEFAULT" => Some(Level::Default),
                    "WARNING" => Some(Level::Warning),
                    "ERROR" => Some(Level::Error),
                    _ => None,
                };
            }
            StatusMessage => {
                self.fields().status_message = Some(value.text());
            }
            ErrorText => self.fields().error = Some(value.text()),
            ErrorType => {
                self.fields().error_type = Some(value.text());
            }
            OtelStatusCode => {
                self.fields().otel_error = value.text().eq_ignore_ascii_case("error");
            }
            OtelStatusMessage => self.fields().otel_status_message = Some(value.text()),
            TimeToFirstChunk => {
                self.fields().time_to_first_chunk = value.float();
            }
            CompletionStartTime => {
                self.fields().completion_start_time =
                    humantime::parse_rfc3339_weak(value.text().trim_matches('"')).ok();
            }
            PromptName => self.fields().prompt_name = Some(value.text()),
            PromptVersion => {
                self.fields().prompt_version = value.count().and_then(|n| i64::try_from(n).ok());
            }
            Version => self.fields().version = Some(value.text()),
            UserId => {
                self.trace().user_id(value.text());
            }
            SessionId => {
                self.trace().session_id(value.text());
            }
            TraceName => {
                self.trace().name(value.text());
            }
            Release => {
                self.trace().release(value.text());
            }
            TraceTags => {
                let tags = tags(&value);
                self.trace().tags(tags);
            }
            TracePublic => {
                if let Some(public) = value.boolean() {
                    self.trace().public(public);
                }
            }
            TraceMetadata => {
                let metadata = value.parsed();
                if metadata.is_object() {
                    self.trace().metadata(&metadata);
                }
            }
            TraceInput => {
                let input = value.parsed();
                self.trace().input(&input);
            }
            TraceOutput => {
                let output = value.parsed();
                self.trace().output(&output);
            }
            Parameter => {
                let parameter = name.strip_prefix("gen_ai.request.").unwrap_or(name);
                let value = value.parsed();
                self.fields().parameters.insert(parameter.to_owned(), value);
            }
            MetadataKey => {
                let key = name
                    .strip_prefix("langfuse.observation.metadata.")
                    .unwrap_or(name);
                let value = value.parsed();
                self.fields().metadata.insert(key.to_owned(), value);
            }
            TraceMetadataKey => {
                let key = name
                    .strip_prefix("langfuse.trace.metadata.")
                    .unwrap_or(name);
                let mut object = Map::new();
                object.insert(key.to_owned(), value.parsed());
                self.trace().metadata(&object);
            }
            OtherUsage => {}
            Other => {
                let value = value.json();
                self.fields().metadata.insert(name.to_owned(), value);
            }
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
        self.visit(field, FieldValue::Str(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.visit(field, FieldValue::I64(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.visit(field, FieldValue::U64(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.visit(field, FieldValue::F64(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.visit(field, FieldValue::Bool(value));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let text = value.to_string();
        self.visit(field, FieldValue::Str(&text));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.visit(field, FieldValue::Debug(value));
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
