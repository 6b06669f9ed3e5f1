//! The Langfuse attribute mapping: the OTLP span a finished [`Record`] becomes (its ids, name,
//! times, `langfuse.*` attributes and status), as the Langfuse server reads it.
//!
//! Written once, against [`SpanWriter`], so that the protobuf encoder (`export::otlp`) and
//! the test recorder see exactly the same span.

use std::fmt::{self, Write as _};
use std::time::{Duration, UNIX_EPOCH};

use crate::capture::Payload;
use crate::clock::{Anchor, Timestamp};
use crate::model::{ExperimentAttributes, Level, ObservationId, Record, TraceId};

/// An attribute value of one of the kinds Langfuse reads (an OTLP `AnyValue`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Value<'a> {
    Str(&'a str),
    Bool(bool),
    Int(i64),
    StrArray(&'a [String]),
}

/// Receives the fields of one span, in OTLP field order: ids, name, times, attributes, status.
pub(crate) trait SpanWriter {
    fn ids(&mut self, trace_id: TraceId, span_id: ObservationId, parent: Option<ObservationId>);
    fn name(&mut self, name: &str);
    fn times(&mut self, start_unix_nanos: u64, end_unix_nanos: u64);
    fn attribute(&mut self, key: &str, value: Value<'_>);
    /// The span failed (level ERROR); `message` may be empty.
    fn error_status(&mut self, message: &str);
}

/// What every span of this process carries: from the configuration.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ProcessAttributes<'a> {
    /// `langfuse.environment`; omitted when `None` (the server then uses `default`).
    pub(crate) environment: Option<&'a str>,
    /// `langfuse.release`, unless the trace sets its own.
    pub(crate) release: Option<&'a str>,
}

/// Writes `record` as a span to `out`. `scratch` holds decoded text between calls.
#[inline]
pub(crate) fn write_span<W: SpanWriter>(
    record: &Record,
    process: &ProcessAttributes<'_>,
    anchor: &Anchor,
    text: &mut String,
    out: &mut W,
) {
    out.ids(record.trace_id, record.id, record.parent_id);
    out.name(record.name());
    out.times(
        anchor.unix_nanos(record.start),
        anchor.unix_nanos(record.end),
    );

    let kind = record.descriptor.kind;
    let data = record.data.as_deref();
    let trace = record.trace.as_deref();

    out.attribute("langfuse.observation.type", Value::Str(kind.as_str()));
    if record.level != Level::Default {
        out.attribute(
            "langfuse.observation.level",
            Value::Str(record.level.as_str()),
        );
    }
    if let Some(message) = record.status_message() {
        out.attribute("langfuse.observation.status_message", Value::Str(message));
    }
    if let Some(data) = data {
        payload_attribute(out, text, "langfuse.observation.input", data.input.as_ref());
        payload_attribute(
            out,
            text,
            "langfuse.observation.output",
            data.output.as_ref(),
        );
        payload_attribute(
            out,
            text,
            "langfuse.observation.metadata",
            data.metadata.as_ref(),
        );
    }
    let version = data
        .and_then(|d| d.version.as_deref())
        .or_else(|| trace.and_then(|t| t.version.as_deref()));
    if let Some(version) = version {
        out.attribute("langfuse.version", Value::Str(version));
    }
    // An environment set on the trace (an experiment's) is more specific than the process-wide
    // one.
    let environment = trace
        .and_then(|t| t.environment.as_deref())
        .or(process.environment);
    if let Some(environment) = environment {
        out.attribute("langfuse.environment", Value::Str(environment));
    }
    // A release set on the trace is more specific than the process-wide one.
    let release = trace.and_then(|t| t.release.as_deref()).or(process.release);
    if let Some(release) = release {
        out.attribute("langfuse.release", Value::Str(release));
    }

    if kind.is_generation_like()
        && let Some(generation) = data.and_then(|d| d.generation.as_deref())
    {
        if let Some(model) = &generation.model {
            out.attribute("langfuse.observation.model.name", Value::Str(model));
        }
        payload_attribute(
            out,
            text,
            "langfuse.observation.model.parameters",
            generation.model_parameters.as_ref(),
        );
        payload_attribute(
            out,
            text,
            "langfuse.observation.usage_details",
            generation.usage_details.as_ref(),
        );
        payload_attribute(
            out,
            text,
            "langfuse.observation.cost_details",
            generation.cost_details.as_ref(),
        );
        if let Some(at) = generation.completion_start_time {
            format_iso8601(anchor, at, text);
            out.attribute(
                "langfuse.observation.completion_start_time",
                Value::Str(text),
            );
        }
        if let Some(name) = &generation.prompt_name {
            out.attribute("langfuse.observation.prompt.name", Value::Str(name));
        }
        if let Some(version) = generation.prompt_version {
            out.attribute("langfuse.observation.prompt.version", Value::Int(version));
        }
    }

    if let Some(trace) = trace {
        if let Some(user_id) = &trace.user_id {
            out.attribute("user.id", Value::Str(user_id));
        }
        if let Some(session_id) = &trace.session_id {
            out.attribute("session.id", Value::Str(session_id));
        }
        if let Some(name) = &trace.name {
            out.attribute("langfuse.trace.name", Value::Str(name));
        }
        if !trace.tags.is_empty() {
            out.attribute("langfuse.trace.tags", Value::StrArray(&trace.tags));
        }
        payload_attribute(
            out,
            text,
            "langfuse.trace.metadata",
            trace.metadata.as_ref(),
        );
        if let Some(public) = trace.public {
            out.attribute("langfuse.trace.public", Value::Bool(public));
        }
        payload_attribute(out, text, "langfuse.trace.input", trace.input.as_ref());
        payload_attribute(out, text, "langfuse.trace.output", trace.output.as_ref());
        if let Some(experiment) = &trace.experiment {
            write_experiment(experiment, text, out);
        }
    }
    if record.is_as_root() {
        // This service's root of a remote trace: v4 servers (the events table) read
        // `is_app_root`, v3 servers `as_root`.
        out.attribute("langfuse.internal.as_root", Value::Bool(true));
        out.attribute("langfuse.internal.is_app_root", Value::Bool(true));
    }

    if record.level == Level::Error {
        out.error_status(record.status_message().unwrap_or(""));
    }
}

/// The `langfuse.experiment.*` attributes Langfuse v4 reads on every observation of an
/// experiment item run (`OtelIngestionProcessor.extractExperimentFields` on the server).
fn write_experiment<W: SpanWriter>(
    experiment: &ExperimentAttributes,
    text: &mut String,
    out: &mut W,
) {
    out.attribute("langfuse.experiment.id", Value::Str(&experiment.id));
    out.attribute("langfuse.experiment.name", Value::Str(&experiment.name));
    if let Some(description) = &experiment.description {
        out.attribute("langfuse.experiment.description", Value::Str(description));
    }
    payload_attribute(
        out,
        text,
        "langfuse.experiment.metadata",
        experiment.metadata.as_ref(),
    );
    if let Some(dataset_id) = &experiment.dataset_id {
        out.attribute("langfuse.experiment.dataset.id", Value::Str(dataset_id));
    }
    out.attribute(
        "langfuse.experiment.item.id",
        Value::Str(&experiment.item_id),
    );
    if let Some(version) = &experiment.item_version {
        out.attribute("langfuse.experiment.item.version", Value::Str(version));
    }
    payload_attribute(
        out,
        text,
        "langfuse.experiment.item.metadata",
        experiment.item_metadata.as_ref(),
    );
    if let Some(root) = &experiment.root_observation_id {
        out.attribute(
            "langfuse.experiment.item.root_observation_id",
            Value::Str(root),
        );
    }
    payload_attribute(
        out,
        text,
        "langfuse.experiment.item.expected_output",
        experiment.item_expected_output.as_ref(),
    );
}

fn payload_attribute<W: SpanWriter>(
    out: &mut W,
    scratch: &mut String,
    key: &str,
    payload: Option<&Payload>,
) {
    if let Some(payload) = payload {
        out.attribute(key, Value::Str(payload_text(payload, scratch)));
    }
}

/// The text sent for a payload. Langfuse stores attribute strings as they are, so a JSON
/// string literal is unwrapped to its raw text (shown as text rather than as `"..."`); any
/// other JSON goes as JSON text.
pub(crate) fn payload_text<'a>(payload: &'a Payload, scratch: &'a mut String) -> &'a str {
    match payload {
        Payload::Text(text) => text,
        Payload::Json(json) => {
            if json.trim_start().starts_with('"') && decode_json_string(json, scratch) {
                scratch
            } else {
                json
            }
        }
    }
}

/// Decodes `json` into `out` if it is exactly one JSON string literal. serde_json does the
/// unescaping; it only allocates for strings that contain escapes.
fn decode_json_string(json: &str, out: &mut String) -> bool {
    struct AppendTo<'a>(&'a mut String);

    impl serde::de::Visitor<'_> for AppendTo<'_> {
        type Value = ();

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON string")
        }

        fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<(), E> {
            self.0.push_str(value);
            Ok(())
        }
    }

    out.clear();
    let mut de = serde_json::Deserializer::from_str(json);
    serde::Deserializer::deserialize_str(&mut de, AppendTo(out)).is_ok() && de.end().is_ok()
}

/// Formats a timestamp as RFC 3339 UTC with nanoseconds, e.g. `2026-11-25T03:01:02.123456789Z`.
fn format_iso8601(anchor: &Anchor, at: Timestamp, out: &mut String) {
    out.clear();
    let time = UNIX_EPOCH + Duration::from_nanos(anchor.unix_nanos(at));
    // Writing to a String cannot fail, and u64 nanoseconds end in 2554, inside humantime's range.
    let _ = write!(out, "{}", humantime::format_rfc3339_nanos(time));
}
