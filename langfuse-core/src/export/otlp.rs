//! OTLP/protobuf encoding of finished observations, written straight from [`Record`]s.
//!
//! The output is an `ExportTraceServiceRequest` (opentelemetry-proto, collector/trace/v1) with
//! one `ResourceSpans` and one `ScopeSpans`, carrying the Langfuse attribute mapping of
//! `export::attributes`. No intermediate message structs are built: each span is written once,
//! in place, into one request buffer that the encoder keeps between batches. A span's length
//! prefix is reserved before it is written and filled in after; the request's own headers go
//! into room left at the front of the buffer, so nothing is copied to assemble the request and
//! a steady-state batch allocates nothing.

use std::collections::VecDeque;

use prost::encoding::{WireType, encoded_len_varint};

use super::attributes::{ProcessAttributes, SpanWriter, Value, write_span};
use crate::clock::Anchor;
use crate::model::{ObservationId, Record, TraceId};

// Field numbers from opentelemetry-proto. Every one is below 16, so each key is one byte.
const REQUEST_RESOURCE_SPANS: u32 = 1;
const RESOURCE_SPANS_RESOURCE: u32 = 1;
const RESOURCE_SPANS_SCOPE_SPANS: u32 = 2;
const RESOURCE_ATTRIBUTES: u32 = 1;
const SCOPE_SPANS_SCOPE: u32 = 1;
const SCOPE_SPANS_SPANS: u32 = 2;
const SCOPE_NAME: u32 = 1;
const SCOPE_VERSION: u32 = 2;
const SCOPE_ATTRIBUTES: u32 = 3;
const SPAN_TRACE_ID: u32 = 1;
const SPAN_SPAN_ID: u32 = 2;
const SPAN_PARENT_SPAN_ID: u32 = 4;
const SPAN_NAME: u32 = 5;
const SPAN_KIND: u32 = 6;
const SPAN_START_TIME: u32 = 7;
const SPAN_END_TIME: u32 = 8;
const SPAN_ATTRIBUTES: u32 = 9;
const SPAN_STATUS: u32 = 15;
const STATUS_MESSAGE: u32 = 2;
const STATUS_CODE: u32 = 3;
const KEY_VALUE_KEY: u32 = 1;
const KEY_VALUE_VALUE: u32 = 2;
const ANY_VALUE_STRING: u32 = 1;
const ANY_VALUE_BOOL: u32 = 2;
const ANY_VALUE_INT: u32 = 3;
const ANY_VALUE_ARRAY: u32 = 5;
const ARRAY_VALUE_VALUES: u32 = 1;

const SPAN_KIND_INTERNAL: u64 = 1;
const STATUS_CODE_ERROR: u64 = 2;

/// Instrumentation scope name. The server skips copying leftover attributes into metadata
/// only for scopes starting with `langfuse-sdk`, so this exact prefix matters.
const SCOPE: &str = "langfuse-sdk";
const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Buffer capacity kept between batches: twice the default batch size, so that a full batch
/// (its buffer grown by doubling) is not shrunk and grown again for the next one, while one
/// huge batch does not pin its memory forever.
const RETAINED_SCRATCH_BYTES: usize = 2 * crate::config::defaults::MAX_BATCH_BYTES;

/// The most bytes a length-delimited field's key and length take: a one-byte key (every field
/// number is below 16) and a varint of at most 10 bytes.
const MAX_HEADER_LEN: usize = 11;

/// Bytes reserved for a span's length before the span is written: two varint bytes cover
/// 128 bytes to 16 KiB, where nearly every span falls; others are moved once to fit.
const SPAN_LENGTH_ROOM: usize = 2;

/// Process-wide values the encoder stamps on every request; built from the configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct EncoderSettings {
    /// Resource `service.name`.
    pub(crate) service_name: String,
    /// `langfuse.environment`, on the resource and on every span; omitted when `None` (the
    /// server then uses `default`).
    pub(crate) environment: Option<String>,
    /// `langfuse.release`, on the resource and on every span unless the trace sets its own.
    pub(crate) release: Option<String>,
    /// Scope attribute `public_key`.
    pub(crate) public_key: Option<String>,
}

/// One encoded request and what went into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EncodedBatch<'a> {
    /// The uncompressed `ExportTraceServiceRequest`, in the encoder's buffer until the next
    /// batch.
    pub(crate) body: &'a [u8],
    /// Records taken from the queue: one span each.
    pub(crate) observations: usize,
    /// Sum of [`Record::captured_bytes`] of those records, so the queue can release its byte
    /// bound.
    pub(crate) captured_bytes: usize,
}

/// Encodes records into OTLP requests, keeping its buffers between calls.
#[derive(Debug)]
pub(crate) struct OtlpEncoder {
    environment: Option<String>,
    release: Option<String>,
    /// `ResourceSpans.resource`, key and length included: identical in every request.
    resource_field: Vec<u8>,
    /// `ScopeSpans.scope`, key and length included: identical in every request.
    scope_field: Vec<u8>,
    /// The request being built: [`Self::prefix_room`] bytes for the request's headers, then
    /// the framed spans (`ScopeSpans.spans` fields).
    request: Vec<u8>,
    /// Room at the front of `request` for everything before the spans: the resource and
    /// scope fields and two headers.
    prefix_room: usize,
    /// Decoded text of a JSON string payload, or a formatted timestamp.
    text: String,
}

impl OtlpEncoder {
    /// Prepares the parts every request shares.
    pub(crate) fn new(settings: EncoderSettings) -> Self {
        let EncoderSettings {
            service_name,
            environment,
            release,
            public_key,
        } = settings;

        let mut resource = Vec::new();
        put_attribute(
            &mut resource,
            RESOURCE_ATTRIBUTES,
            "service.name",
            Value::Str(&service_name),
        );
        if let Some(environment) = &environment {
            put_attribute(
                &mut resource,
                RESOURCE_ATTRIBUTES,
                "langfuse.environment",
                Value::Str(environment),
            );
        }
        if let Some(release) = &release {
            put_attribute(
                &mut resource,
                RESOURCE_ATTRIBUTES,
                "langfuse.release",
                Value::Str(release),
            );
        }
        put_attribute(
            &mut resource,
            RESOURCE_ATTRIBUTES,
            "telemetry.sdk.language",
            Value::Str("rust"),
        );
        put_attribute(
            &mut resource,
            RESOURCE_ATTRIBUTES,
            "telemetry.sdk.name",
            Value::Str("langfuse"),
        );
        put_attribute(
            &mut resource,
            RESOURCE_ATTRIBUTES,
            "telemetry.sdk.version",
            Value::Str(SDK_VERSION),
        );
        let mut resource_field = Vec::with_capacity(framed_len(resource.len()));
        put_bytes(&mut resource_field, RESOURCE_SPANS_RESOURCE, &resource);

        let mut scope = Vec::new();
        put_bytes(&mut scope, SCOPE_NAME, SCOPE.as_bytes());
        put_bytes(&mut scope, SCOPE_VERSION, SDK_VERSION.as_bytes());
        if let Some(public_key) = &public_key {
            put_attribute(
                &mut scope,
                SCOPE_ATTRIBUTES,
                "public_key",
                Value::Str(public_key),
            );
        }
        let mut scope_field = Vec::with_capacity(framed_len(scope.len()));
        put_bytes(&mut scope_field, SCOPE_SPANS_SCOPE, &scope);

        let prefix_room = resource_field.len() + scope_field.len() + 2 * MAX_HEADER_LEN;
        Self {
            environment,
            release,
            resource_field,
            scope_field,
            request: Vec::new(),
            prefix_room,
            text: String::new(),
        }
    }

    /// Takes records from the front of `pending` while the encoded request stays within
    /// `max_bytes`, and returns that request; `None` when `pending` is empty.
    ///
    /// At least one record is always taken, even if it alone exceeds `max_bytes`, so that an
    /// oversized observation cannot block the queue. Every record has non-zero trace and
    /// span ids by type, so the server's "missing id" rejection of a whole request cannot
    /// happen.
    pub(crate) fn encode_batch(
        &mut self,
        pending: &mut VecDeque<Record>,
        max_bytes: usize,
        anchor: &Anchor,
    ) -> Option<EncodedBatch<'_>> {
        if pending.is_empty() {
            return None;
        }
        self.trim_scratch();
        self.request.clear();
        self.request.resize(self.prefix_room, 0);
        let mut observations = 0;
        let mut captured_bytes = 0;
        while let Some(record) = pending.front() {
            let before = self.request.len();
            self.encode_span(record, anchor);
            let spans_len = self.request.len() - self.prefix_room;
            if observations > 0
                && request_len(&self.resource_field, &self.scope_field, spans_len) > max_bytes
            {
                // It goes first into the next request.
                self.request.truncate(before);
                break;
            }
            captured_bytes += record.captured_bytes();
            if let Some(mut record) = pending.pop_front() {
                // Its buffers go back to the threads that capture.
                record.recycle();
            }
            observations += 1;
        }
        let start = self.write_prefix();
        Some(EncodedBatch {
            body: &self.request[start..],
            observations,
            captured_bytes,
        })
    }

    /// Writes the request's headers, the resource and the scope into the room before the
    /// spans, right-aligned against them, and returns where the request starts.
    fn write_prefix(&mut self) -> usize {
        let spans_len = self.request.len() - self.prefix_room;
        let scope_spans_len = self.scope_field.len() + spans_len;
        let resource_spans_len = self.resource_field.len() + framed_len(scope_spans_len);
        let (resource_spans_varint, resource_spans_varint_len) =
            varint_bytes(resource_spans_len as u64);
        let (scope_spans_varint, scope_spans_varint_len) = varint_bytes(scope_spans_len as u64);
        let start = self.prefix_room
            - (1 + resource_spans_varint_len
                + self.resource_field.len()
                + 1
                + scope_spans_varint_len
                + self.scope_field.len());
        let parts: [&[u8]; 6] = [
            &[key(REQUEST_RESOURCE_SPANS, WireType::LengthDelimited)],
            &resource_spans_varint[..resource_spans_varint_len],
            &self.resource_field,
            &[key(RESOURCE_SPANS_SCOPE_SPANS, WireType::LengthDelimited)],
            &scope_spans_varint[..scope_spans_varint_len],
            &self.scope_field,
        ];
        let mut at = start;
        for part in parts {
            self.request[at..at + part.len()].copy_from_slice(part);
            at += part.len();
        }
        debug_assert_eq!(at, self.prefix_room);
        debug_assert_eq!(
            self.request.len() - start,
            request_len(&self.resource_field, &self.scope_field, spans_len)
        );
        start
    }

    /// Lets go of what one huge batch grew the buffers to.
    fn trim_scratch(&mut self) {
        self.request.clear();
        self.request.shrink_to(RETAINED_SCRATCH_BYTES);
        self.text.clear();
        self.text.shrink_to(RETAINED_SCRATCH_BYTES);
    }

    /// Appends one record to the request as a framed `ScopeSpans.spans` field.
    fn encode_span(&mut self, record: &Record, anchor: &Anchor) {
        let Self {
            environment,
            release,
            request,
            text,
            ..
        } = self;
        request.push(key(SCOPE_SPANS_SPANS, WireType::LengthDelimited));
        let length_at = request.len();
        request.extend_from_slice(&[0; SPAN_LENGTH_ROOM]);
        let process = ProcessAttributes {
            environment: environment.as_deref(),
            release: release.as_deref(),
        };
        write_span(record, &process, anchor, text, &mut ProtoSpan(request));
        fill_length(request, length_at);
    }
}

/// Writes the length of what follows the [`SPAN_LENGTH_ROOM`] bytes at `at` into them,
/// moving what follows when its varint needs fewer or more bytes.
fn fill_length(buf: &mut Vec<u8>, at: usize) {
    let body_start = at + SPAN_LENGTH_ROOM;
    let len = buf.len() - body_start;
    let (varint, needed) = varint_bytes(len as u64);
    if needed != SPAN_LENGTH_ROOM {
        // Rare: a span under 128 bytes or over 16 KiB.
        let end = buf.len();
        if needed < SPAN_LENGTH_ROOM {
            buf.copy_within(body_start..end, at + needed);
            buf.truncate(end - (SPAN_LENGTH_ROOM - needed));
        } else {
            buf.resize(end + needed - SPAN_LENGTH_ROOM, 0);
            buf.copy_within(body_start..end, at + needed);
        }
    }
    buf[at..at + needed].copy_from_slice(&varint[..needed]);
}

/// `value` as a varint: its bytes and how many there are.
#[inline(always)]
fn varint_bytes(mut value: u64) -> ([u8; 10], usize) {
    let mut bytes = [0; 10];
    let mut len = 0;
    while value >= 0x80 {
        bytes[len] = (value as u8 & 0x7f) | 0x80;
        value >>= 7;
        len += 1;
    }
    bytes[len] = value as u8;
    (bytes, len + 1)
}

/// Writes a span's fields as the `Span` message body, in field-number order (the mapping
/// calls the writer in that order).
struct ProtoSpan<'a>(&'a mut Vec<u8>);

impl SpanWriter for ProtoSpan<'_> {
    fn ids(&mut self, trace_id: TraceId, span_id: ObservationId, parent: Option<ObservationId>) {
        put_bytes(self.0, SPAN_TRACE_ID, &trace_id.to_bytes());
        put_bytes(self.0, SPAN_SPAN_ID, &span_id.to_bytes());
        if let Some(parent) = parent {
            put_bytes(self.0, SPAN_PARENT_SPAN_ID, &parent.to_bytes());
        }
    }

    fn name(&mut self, name: &str) {
        put_bytes(self.0, SPAN_NAME, name.as_bytes());
        put_varint(self.0, SPAN_KIND, SPAN_KIND_INTERNAL);
    }

    fn times(&mut self, start_unix_nanos: u64, end_unix_nanos: u64) {
        put_fixed64(self.0, SPAN_START_TIME, start_unix_nanos);
        put_fixed64(self.0, SPAN_END_TIME, end_unix_nanos);
    }

    fn attribute(&mut self, key: &str, value: Value<'_>) {
        put_attribute(self.0, SPAN_ATTRIBUTES, key, value);
    }

    fn error_status(&mut self, message: &str) {
        let buf = &mut *self.0;
        let status_len = if message.is_empty() {
            0
        } else {
            framed_len(message.len())
        } + 2;
        put_header(buf, SPAN_STATUS, status_len);
        if !message.is_empty() {
            put_bytes(buf, STATUS_MESSAGE, message.as_bytes());
        }
        put_varint(buf, STATUS_CODE, STATUS_CODE_ERROR);
    }
}

/// Length of the `AnyValue` message body of `value`.
fn value_len(value: Value<'_>) -> usize {
    match value {
        Value::Str(s) => framed_len(s.len()),
        Value::Bool(_) => 2,
        Value::Int(i) => 1 + encoded_len_varint(i as u64),
        Value::StrArray(items) => framed_len(array_len(items)),
    }
}

/// Writes the `AnyValue` message body of `value`.
fn put_value(buf: &mut Vec<u8>, value: Value<'_>) {
    match value {
        Value::Str(s) => put_bytes(buf, ANY_VALUE_STRING, s.as_bytes()),
        Value::Bool(b) => put_varint(buf, ANY_VALUE_BOOL, u64::from(b)),
        // int64 is a plain varint of the two's complement, as protobuf specifies.
        Value::Int(i) => put_varint(buf, ANY_VALUE_INT, i as u64),
        Value::StrArray(items) => {
            put_header(buf, ANY_VALUE_ARRAY, array_len(items));
            for item in items {
                put_header(buf, ARRAY_VALUE_VALUES, framed_len(item.len()));
                put_bytes(buf, ANY_VALUE_STRING, item.as_bytes());
            }
        }
    }
}

/// Length of an `ArrayValue` body holding one string `AnyValue` per item.
fn array_len(items: &[String]) -> usize {
    items
        .iter()
        .map(|item| framed_len(framed_len(item.len())))
        .sum()
}

/// Length of a length-delimited field with a one-byte key and a body of `len` bytes.
fn framed_len(len: usize) -> usize {
    1 + encoded_len_varint(len as u64) + len
}

/// Length of the whole request once `spans_len` bytes of framed spans are in it.
fn request_len(resource_field: &[u8], scope_field: &[u8], spans_len: usize) -> usize {
    let scope_spans_len = scope_field.len() + spans_len;
    framed_len(resource_field.len() + framed_len(scope_spans_len))
}

/// The one-byte key of field `tag` (every field number here is below 16).
#[inline(always)]
const fn key(tag: u32, wire_type: WireType) -> u8 {
    debug_assert!(tag < 16);
    ((tag << 3) | wire_type as u32) as u8
}

/// Appends `value` as a varint. Most values written are lengths below 128: one byte.
#[inline(always)]
fn put_varint_raw(buf: &mut Vec<u8>, value: u64) {
    if value < 0x80 {
        buf.push(value as u8);
    } else {
        let (bytes, len) = varint_bytes(value);
        buf.extend_from_slice(&bytes[..len]);
    }
}

#[inline(always)]
fn put_header(buf: &mut Vec<u8>, tag: u32, len: usize) {
    buf.push(key(tag, WireType::LengthDelimited));
    put_varint_raw(buf, len as u64);
}

#[inline(always)]
fn put_bytes(buf: &mut Vec<u8>, tag: u32, bytes: &[u8]) {
    put_header(buf, tag, bytes.len());
    buf.extend_from_slice(bytes);
}

#[inline(always)]
fn put_varint(buf: &mut Vec<u8>, tag: u32, value: u64) {
    buf.push(key(tag, WireType::Varint));
    put_varint_raw(buf, value);
}

#[inline(always)]
fn put_fixed64(buf: &mut Vec<u8>, tag: u32, value: u64) {
    buf.push(key(tag, WireType::SixtyFourBit));
    buf.extend_from_slice(&value.to_le_bytes());
}

/// Writes one `KeyValue` as field `tag` of the enclosing message.
fn put_attribute(buf: &mut Vec<u8>, tag: u32, key: &str, value: Value<'_>) {
    let value_len = value_len(value);
    let key_value_len = framed_len(key.len()) + framed_len(value_len);
    // One reservation for the whole attribute: the pushes below never reallocate.
    buf.reserve(framed_len(key_value_len));
    put_header(buf, tag, key_value_len);
    put_bytes(buf, KEY_VALUE_KEY, key.as_bytes());
    put_header(buf, KEY_VALUE_VALUE, value_len);
    put_value(buf, value);
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, VecDeque};
    use std::sync::Arc;
    use std::time::UNIX_EPOCH;

    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
    use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::Span;
    use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
    use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
    use prost::Message as _;

    use super::*;
    use crate::capture::{CaptureSetting, Payload};
    use crate::clock::Timestamp;
    use crate::export::attributes::payload_text;
    use crate::model::{
        Descriptor, GenerationData, Level, ObservationData, ObservationType, TraceAttributes, flags,
    };

    static RETRIEVE: Descriptor = Descriptor::new(
        "retrieve",
        ObservationType::Retriever,
        CaptureSetting::Inherit,
        CaptureSetting::Inherit,
    );
    static CHAT: Descriptor = Descriptor::new(
        "chat",
        ObservationType::Generation,
        CaptureSetting::Inherit,
        CaptureSetting::Inherit,
    );
    static EMBED: Descriptor = Descriptor::new(
        "embed",
        ObservationType::Embedding,
        CaptureSetting::Inherit,
        CaptureSetting::Inherit,
    );

    const TRACE: u128 = 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736;
    const START: u64 = 1_764_039_662_123_456_789;

    fn settings() -> EncoderSettings {
        EncoderSettings {
            service_name: "checkout".into(),
            environment: Some("staging".into()),
            release: Some("v1.2.3".into()),
            public_key: Some("pk-lf-test".into()),
        }
    }

    fn record(id: u64, descriptor: &'static Descriptor) -> Record {
        Record {
            trace_id: TraceId::from_u128(TRACE).unwrap(),
            id: ObservationId::from_u64(id).unwrap(),
            parent_id: None,
            start: Timestamp::from_unix_nanos(START),
            end: Timestamp::from_unix_nanos(START + 1_500_000),
            descriptor,
            level: Level::Default,
            flags: 0,
            data: None,
            trace: None,
        }
    }

    fn with_data(mut record: Record, data: ObservationData) -> Record {
        record.data = Some(Box::new(data));
        record
    }

    fn encode_all(
        settings: EncoderSettings,
        records: Vec<Record>,
    ) -> (Vec<u8>, ExportTraceServiceRequest) {
        let count = records.len();
        let mut pending = VecDeque::from(records);
        let mut encoder = OtlpEncoder::new(settings);
        let batch = encoder
            .encode_batch(&mut pending, usize::MAX, &Anchor::fixed(0, 0))
            .unwrap();
        assert_eq!(batch.observations, count);
        assert!(pending.is_empty());
        let decoded = ExportTraceServiceRequest::decode(batch.body).unwrap();
        (batch.body.to_vec(), decoded)
    }

    fn spans_of(request: &ExportTraceServiceRequest) -> &[Span] {
        assert_eq!(request.resource_spans.len(), 1);
        assert_eq!(request.resource_spans[0].scope_spans.len(), 1);
        &request.resource_spans[0].scope_spans[0].spans
    }

    fn one_span(records: Vec<Record>) -> Span {
        let (_, request) = encode_all(settings(), records);
        let spans = spans_of(&request);
        assert_eq!(spans.len(), 1);
        spans[0].clone()
    }

    fn attr<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a AnyValue> {
        let mut found = attributes.iter().filter(|kv| kv.key == key);
        let first = found.next()?;
        assert!(found.next().is_none(), "attribute {key} sent twice");
        first.value.as_ref()?.value.as_ref()
    }

    fn str_attr<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a str> {
        match attr(attributes, key)? {
            AnyValue::StringValue(s) => Some(s),
            other => panic!("{key} is not a string: {other:?}"),
        }
    }

    fn keys(attributes: &[KeyValue]) -> Vec<&str> {
        attributes.iter().map(|kv| kv.key.as_str()).collect()
    }

    fn nanos_of(rfc3339: &str) -> u64 {
        let time = humantime::parse_rfc3339(rfc3339).unwrap();
        time.duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64
    }

    #[test]
    fn output_is_canonical_protobuf() {
        // prost re-encodes in field order with minimal varints: byte equality means our
        // hand-written lengths and order match what any generated encoder would produce.
        let mut child = record(2, &CHAT);
        child.parent_id = ObservationId::from_u64(1);
        child.level = Level::Error;
        child.flags = flags::AS_ROOT;
        let child = with_data(
            child,
            ObservationData {
                status_message: Some("boom".into()),
                input: Some(Payload::Json("\"hi\"".into())),
                generation: Some(Box::new(GenerationData {
                    prompt_version: Some(-3),
                    ..GenerationData::default()
                })),
                ..ObservationData::default()
            },
        );
        let mut root = record(1, &RETRIEVE);
        root.trace = Some(Arc::new(TraceAttributes {
            tags: vec!["a".into(), String::new(), "é".repeat(100)],
            public: Some(false),
            ..TraceAttributes::default()
        }));
        let (body, request) = encode_all(settings(), vec![root, child]);
        assert_eq!(request.encode_to_vec(), body);
    }

    #[test]
    fn resource_and_scope_identify_the_sdk() {
        let (_, request) = encode_all(settings(), vec![record(1, &RETRIEVE)]);
        let resource: &Resource = request.resource_spans[0].resource.as_ref().unwrap();
        let version = env!("CARGO_PKG_VERSION");
        let expected = [
            ("service.name", "checkout"),
            ("langfuse.environment", "staging"),
            ("langfuse.release", "v1.2.3"),
            ("telemetry.sdk.language", "rust"),
            ("telemetry.sdk.name", "langfuse"),
            ("telemetry.sdk.version", version),
        ];
        assert_eq!(keys(&resource.attributes), expected.map(|(k, _)| k));
        for (key, value) in expected {
            assert_eq!(str_attr(&resource.attributes, key), Some(value), "{key}");
        }
        let scope: &InstrumentationScope = request.resource_spans[0].scope_spans[0]
            .scope
            .as_ref()
            .unwrap();
        assert_eq!(scope.name, "langfuse-sdk");
        assert_eq!(scope.version, version);
        assert_eq!(keys(&scope.attributes), ["public_key"]);
        assert_eq!(
            str_attr(&scope.attributes, "public_key"),
            Some("pk-lf-test")
        );
    }

    #[test]
    fn unset_settings_are_left_out() {
        let settings = EncoderSettings {
            service_name: "svc".into(),
            ..EncoderSettings::default()
        };
        let (_, request) = encode_all(settings, vec![record(1, &RETRIEVE)]);
        let resource = request.resource_spans[0].resource.as_ref().unwrap();
        assert_eq!(
            keys(&resource.attributes),
            [
                "service.name",
                "telemetry.sdk.language",
                "telemetry.sdk.name",
                "telemetry.sdk.version"
            ]
        );
        let scope = request.resource_spans[0].scope_spans[0]
            .scope
            .as_ref()
            .unwrap();
        assert!(scope.attributes.is_empty());
        let span = &spans_of(&request)[0];
        assert_eq!(keys(&span.attributes), ["langfuse.observation.type"]);
    }

    #[test]
    fn plain_span_carries_ids_name_kind_and_times() {
        let mut child = record(0x00f0_67aa_0ba9_02b7, &RETRIEVE);
        child.parent_id = ObservationId::from_u64(0x0102_0304_0506_0708);
        let span = one_span(vec![child]);
        assert_eq!(span.trace_id, TRACE.to_be_bytes());
        assert_eq!(
            span.span_id,
            [0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7]
        );
        assert_eq!(span.parent_span_id, [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(span.name, "retrieve");
        assert_eq!(span.kind, SpanKind::Internal as i32);
        assert_eq!(span.start_time_unix_nano, START);
        assert_eq!(span.end_time_unix_nano, START + 1_500_000);
        assert!(span.status.is_none());
        assert_eq!(
            keys(&span.attributes),
            [
                "langfuse.observation.type",
                "langfuse.environment",
                "langfuse.release"
            ]
        );
        assert_eq!(
            str_attr(&span.attributes, "langfuse.observation.type"),
            Some("retriever")
        );
        assert_eq!(
            str_attr(&span.attributes, "langfuse.environment"),
            Some("staging")
        );
        assert_eq!(
            str_attr(&span.attributes, "langfuse.release"),
            Some("v1.2.3")
        );

        let root = one_span(vec![record(1, &RETRIEVE)]);
        assert!(root.parent_span_id.is_empty());
    }

    #[test]
    fn tick_timestamps_are_converted_with_the_anchor() {
        let mut r = record(1, &RETRIEVE);
        r.start = Timestamp::from_ticks(1_000);
        r.end = Timestamp::from_unix_nanos(START + 7);
        let mut pending = VecDeque::from([r]);
        let mut encoder = OtlpEncoder::new(settings());
        let batch = encoder
            .encode_batch(&mut pending, usize::MAX, &Anchor::fixed(1_000, START))
            .unwrap();
        let request = ExportTraceServiceRequest::decode(batch.body).unwrap();
        let span = &spans_of(&request)[0];
        assert_eq!(span.start_time_unix_nano, START);
        assert_eq!(span.end_time_unix_nano, START + 7);
    }

    #[test]
    fn updated_name_replaces_the_static_one() {
        let r = with_data(
            record(1, &RETRIEVE),
            ObservationData {
                name: Some("search docs".into()),
                ..ObservationData::default()
            },
        );
        assert_eq!(one_span(vec![r]).name, "search docs");
    }

    #[test]
    fn error_level_sets_level_status_and_message() {
        let mut r = record(1, &RETRIEVE);
        r.level = Level::Error;
        let r = with_data(
            r,
            ObservationData {
                status_message: Some("connection reset".into()),
                ..ObservationData::default()
            },
        );
        let span = one_span(vec![r]);
        assert_eq!(
            str_attr(&span.attributes, "langfuse.observation.level"),
            Some("ERROR")
        );
        assert_eq!(
            str_attr(&span.attributes, "langfuse.observation.status_message"),
            Some("connection reset")
        );
        let status = span.status.unwrap();
        assert_eq!(status.code, StatusCode::Error as i32);
        assert_eq!(status.message, "connection reset");

        let mut bare = record(2, &RETRIEVE);
        bare.level = Level::Error;
        let status = one_span(vec![bare]).status.unwrap();
        assert_eq!(status.code, StatusCode::Error as i32);
        assert_eq!(status.message, "");
    }

    #[test]
    fn other_levels_have_no_status() {
        for (level, text) in [(Level::Warning, "WARNING"), (Level::Debug, "DEBUG")] {
            let mut r = record(1, &RETRIEVE);
            r.level = level;
            let r = with_data(
                r,
                ObservationData {
                    status_message: Some("cancelled".into()),
                    ..ObservationData::default()
                },
            );
            let span = one_span(vec![r]);
            assert_eq!(
                str_attr(&span.attributes, "langfuse.observation.level"),
                Some(text)
            );
            assert_eq!(
                str_attr(&span.attributes, "langfuse.observation.status_message"),
                Some("cancelled")
            );
            assert!(span.status.is_none());
        }
    }

    #[test]
    fn json_string_payloads_are_sent_as_raw_text() {
        let cases = [
            (
                Payload::Json(r#""hello \"world\"""#.into()),
                r#"hello "world""#,
            ),
            (
                Payload::Json(r#"  "\u00e9\ud83d\ude00\n" "#.into()),
                "é😀\n",
            ),
            (Payload::Json(r#""""#.into()), ""),
            (Payload::Json(r#"{"a":[1,"x"]}"#.into()), r#"{"a":[1,"x"]}"#),
            (Payload::Json("42".into()), "42"),
            (Payload::Json("null".into()), "null"),
            (Payload::Text(r#""quoted""#.into()), r#""quoted""#),
            (
                Payload::Text("plain…[truncated]".into()),
                "plain…[truncated]",
            ),
        ];
        for (payload, expected) in cases {
            let r = with_data(
                record(1, &RETRIEVE),
                ObservationData {
                    input: Some(payload.clone()),
                    output: Some(payload.clone()),
                    metadata: Some(payload.clone()),
                    ..ObservationData::default()
                },
            );
            let span = one_span(vec![r]);
            for key in [
                "langfuse.observation.input",
                "langfuse.observation.output",
                "langfuse.observation.metadata",
            ] {
                assert_eq!(
                    str_attr(&span.attributes, key),
                    Some(expected),
                    "{key} of {payload:?}"
                );
            }
        }
    }

    #[test]
    fn malformed_json_strings_fall_back_to_the_text() {
        // Payload::Json promises valid JSON; if that is ever broken the text still goes out.
        let mut scratch = String::new();
        for text in [r#""a" "b""#, r#""unterminated"#, r#""bad \q escape""#] {
            let payload = Payload::Json(text.into());
            assert_eq!(payload_text(&payload, &mut scratch), text);
        }
    }

    #[test]
    fn generation_fields() {
        let r = with_data(
            record(1, &CHAT),
            ObservationData {
                version: Some("obs-v2".into()),
                generation: Some(Box::new(GenerationData {
                    model: Some("gpt-4o".into()),
                    model_parameters: Some(Payload::Json(r#"{"temperature":0.2}"#.into())),
                    usage_details: Some(Payload::Json(r#"{"input":10,"output":20}"#.into())),
                    cost_details: Some(Payload::Json(r#"{"total":0.0012}"#.into())),
                    completion_start_time: Some(Timestamp::from_unix_nanos(nanos_of(
                        "2026-11-25T03:01:02.123456789Z",
                    ))),
                    prompt_name: Some("greeting".into()),
                    prompt_version: Some(7),
                })),
                ..ObservationData::default()
            },
        );
        let span = one_span(vec![r]);
        let a = &span.attributes;
        assert_eq!(str_attr(a, "langfuse.observation.type"), Some("generation"));
        assert_eq!(
            str_attr(a, "langfuse.observation.model.name"),
            Some("gpt-4o")
        );
        assert_eq!(
            str_attr(a, "langfuse.observation.model.parameters"),
            Some(r#"{"temperature":0.2}"#)
        );
        assert_eq!(
            str_attr(a, "langfuse.observation.usage_details"),
            Some(r#"{"input":10,"output":20}"#)
        );
        assert_eq!(
            str_attr(a, "langfuse.observation.cost_details"),
            Some(r#"{"total":0.0012}"#)
        );
        assert_eq!(
            str_attr(a, "langfuse.observation.completion_start_time"),
            Some("2026-11-25T03:01:02.123456789Z")
        );
        assert_eq!(
            str_attr(a, "langfuse.observation.prompt.name"),
            Some("greeting")
        );
        assert_eq!(
            attr(a, "langfuse.observation.prompt.version"),
            Some(&AnyValue::IntValue(7))
        );
        assert_eq!(str_attr(a, "langfuse.version"), Some("obs-v2"));
    }

    #[test]
    fn generation_fields_only_on_generation_like_types() {
        let generation = GenerationData {
            model: Some("text-embedding-3-small".into()),
            prompt_version: Some(1),
            ..GenerationData::default()
        };
        let data = ObservationData {
            generation: Some(Box::new(generation)),
            ..ObservationData::default()
        };
        let embedding = one_span(vec![with_data(record(1, &EMBED), data.clone())]);
        assert_eq!(
            str_attr(&embedding.attributes, "langfuse.observation.model.name"),
            Some("text-embedding-3-small")
        );
        let span = one_span(vec![with_data(record(1, &RETRIEVE), data)]);
        assert!(attr(&span.attributes, "langfuse.observation.model.name").is_none());
        assert!(attr(&span.attributes, "langfuse.observation.prompt.version").is_none());
    }

    #[test]
    #[allow(clippy::needless_update, reason = "the `testing` feature adds a field")]
    fn trace_attributes_go_on_every_span() {
        let trace = Arc::new(TraceAttributes {
            name: Some("checkout flow".into()),
            user_id: Some("user-1".into()),
            session_id: Some("session-9".into()),
            version: Some("trace-v1".into()),
            release: Some("trace-release".into()),
            tags: vec!["beta".into(), "eu".into()],
            metadata: Some(Payload::Json(r#"{"tenant":"acme"}"#.into())),
            public: Some(true),
            input: Some(Payload::Json(r#""what is up?""#.into())),
            output: Some(Payload::Json(r#"{"answer":42}"#.into())),
            ..TraceAttributes::default()
        });
        let mut first = record(1, &RETRIEVE);
        first.trace = Some(trace.clone());
        let mut second = with_data(
            record(2, &RETRIEVE),
            ObservationData {
                version: Some("obs-v9".into()),
                ..ObservationData::default()
            },
        );
        second.trace = Some(trace);
        let (_, request) = encode_all(settings(), vec![first, second]);
        let spans = spans_of(&request);
        for span in spans {
            let a = &span.attributes;
            assert_eq!(str_attr(a, "user.id"), Some("user-1"));
            assert_eq!(str_attr(a, "session.id"), Some("session-9"));
            assert_eq!(str_attr(a, "langfuse.trace.name"), Some("checkout flow"));
            let tags = match attr(a, "langfuse.trace.tags") {
                Some(AnyValue::ArrayValue(array)) => array
                    .values
                    .iter()
                    .map(|v| match &v.value {
                        Some(AnyValue::StringValue(s)) => s.as_str(),
                        other => panic!("tag is not a string: {other:?}"),
                    })
                    .collect::<Vec<_>>(),
                other => panic!("tags are not an array: {other:?}"),
            };
            assert_eq!(tags, ["beta", "eu"]);
            assert_eq!(
                str_attr(a, "langfuse.trace.metadata"),
                Some(r#"{"tenant":"acme"}"#)
            );
            assert_eq!(
                attr(a, "langfuse.trace.public"),
                Some(&AnyValue::BoolValue(true))
            );
            assert_eq!(str_attr(a, "langfuse.trace.input"), Some("what is up?"));
            assert_eq!(
                str_attr(a, "langfuse.trace.output"),
                Some(r#"{"answer":42}"#)
            );
            assert_eq!(str_attr(a, "langfuse.release"), Some("trace-release"));
        }
        assert_eq!(
            str_attr(&spans[0].attributes, "langfuse.version"),
            Some("trace-v1")
        );
        assert_eq!(
            str_attr(&spans[1].attributes, "langfuse.version"),
            Some("obs-v9")
        );
    }

    #[test]
    fn false_and_empty_trace_values() {
        let mut r = record(1, &RETRIEVE);
        r.trace = Some(Arc::new(TraceAttributes {
            public: Some(false),
            ..TraceAttributes::default()
        }));
        let span = one_span(vec![r]);
        assert_eq!(
            attr(&span.attributes, "langfuse.trace.public"),
            Some(&AnyValue::BoolValue(false))
        );
        assert!(attr(&span.attributes, "langfuse.trace.tags").is_none());
        // Without a trace release the process-wide one applies.
        assert_eq!(
            str_attr(&span.attributes, "langfuse.release"),
            Some("v1.2.3")
        );
    }

    #[test]
    fn as_root_flag() {
        let mut joined = record(1, &RETRIEVE);
        joined.parent_id = ObservationId::from_u64(99);
        joined.flags = flags::AS_ROOT;
        let span = one_span(vec![joined]);
        for key in ["langfuse.internal.as_root", "langfuse.internal.is_app_root"] {
            assert_eq!(
                attr(&span.attributes, key),
                Some(&AnyValue::BoolValue(true)),
                "{key}"
            );
            let plain = one_span(vec![record(1, &RETRIEVE)]);
            assert!(attr(&plain.attributes, key).is_none(), "{key}");
        }
    }

    #[test]
    #[allow(clippy::needless_update, reason = "the `testing` feature adds a field")]
    fn every_attribute_of_a_full_record_is_sent_once() {
        let mut r = record(1, &CHAT);
        r.level = Level::Warning;
        r.flags = flags::AS_ROOT;
        r.trace = Some(Arc::new(TraceAttributes {
            name: Some("t".into()),
            user_id: Some("u".into()),
            session_id: Some("s".into()),
            version: Some("tv".into()),
            release: Some("tr".into()),
            tags: vec!["x".into()],
            metadata: Some(Payload::Json("{}".into())),
            public: Some(true),
            input: Some(Payload::Text("in".into())),
            output: Some(Payload::Text("out".into())),
            ..TraceAttributes::default()
        }));
        let r = with_data(
            r,
            ObservationData {
                name: None,
                input: Some(Payload::Text("i".into())),
                output: Some(Payload::Text("o".into())),
                metadata: Some(Payload::Json("{}".into())),
                status_message: Some("m".into()),
                version: Some("v".into()),
                generation: Some(Box::new(GenerationData {
                    model: Some("m".into()),
                    model_parameters: Some(Payload::Json("{}".into())),
                    usage_details: Some(Payload::Json("{}".into())),
                    cost_details: Some(Payload::Json("{}".into())),
                    completion_start_time: Some(Timestamp::from_unix_nanos(START)),
                    prompt_name: Some("p".into()),
                    prompt_version: Some(1),
                })),
                own_trace: None,
            },
        );
        let span = one_span(vec![r]);
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for key in keys(&span.attributes) {
            *counts.entry(key).or_default() += 1;
        }
        let mut sent: Vec<_> = counts.keys().copied().collect();
        sent.sort_unstable();
        let mut expected = vec![
            "langfuse.observation.type",
            "langfuse.observation.level",
            "langfuse.observation.status_message",
            "langfuse.observation.input",
            "langfuse.observation.output",
            "langfuse.observation.metadata",
            "langfuse.version",
            "langfuse.environment",
            "langfuse.release",
            "langfuse.observation.model.name",
            "langfuse.observation.model.parameters",
            "langfuse.observation.usage_details",
            "langfuse.observation.cost_details",
            "langfuse.observation.completion_start_time",
            "langfuse.observation.prompt.name",
            "langfuse.observation.prompt.version",
            "user.id",
            "session.id",
            "langfuse.trace.name",
            "langfuse.trace.tags",
            "langfuse.trace.metadata",
            "langfuse.trace.public",
            "langfuse.trace.input",
            "langfuse.trace.output",
            "langfuse.internal.as_root",
            "langfuse.internal.is_app_root",
        ];
        expected.sort_unstable();
        assert_eq!(sent, expected);
        assert!(counts.values().all(|&n| n == 1), "{counts:?}");
    }

    fn sized_record(id: u64, input_len: usize) -> Record {
        with_data(
            record(id, &RETRIEVE),
            ObservationData {
                input: Some(Payload::Text("x".repeat(input_len))),
                ..ObservationData::default()
            },
        )
    }

    fn encoded_len_of(records: Vec<Record>) -> usize {
        let mut pending = VecDeque::from(records);
        OtlpEncoder::new(settings())
            .encode_batch(&mut pending, usize::MAX, &Anchor::fixed(0, 0))
            .unwrap()
            .body
            .len()
    }

    #[test]
    fn spans_of_every_length_prefix_size_decode() {
        // Without environment and release, a span without data is under 128 bytes (a
        // one-byte length), and the inputs below take spans across 128 bytes and 16 KiB (a
        // two- and a three-byte length), where the encoder moves a span to fit its length.
        let settings = EncoderSettings {
            environment: None,
            release: None,
            ..settings()
        };
        let lengths = (0..=160).chain(16_200..=16_400).chain([2_000_000]);
        let mut pending: VecDeque<Record> = std::iter::once(record(1, &RETRIEVE))
            .chain(lengths.clone().map(|n| sized_record(n as u64 + 2, n)))
            .collect();
        let count = pending.len();
        let mut encoder = OtlpEncoder::new(settings);
        let batch = encoder
            .encode_batch(&mut pending, usize::MAX, &Anchor::fixed(0, 0))
            .unwrap();
        assert_eq!(batch.observations, count);
        let request = ExportTraceServiceRequest::decode(batch.body).unwrap();
        let spans = spans_of(&request);
        assert_eq!(spans.len(), count);
        assert!(spans[0].encoded_len() < 128, "{}", spans[0].encoded_len());
        assert_eq!(spans[0].span_id, 1u64.to_be_bytes());
        for (span, n) in spans[1..].iter().zip(lengths) {
            assert_eq!(span.span_id, (n as u64 + 2).to_be_bytes());
            let input = str_attr(&span.attributes, "langfuse.observation.input").unwrap();
            assert_eq!(input.len(), n);
        }
    }

    #[test]
    fn batches_are_cut_by_encoded_size() {
        let max_bytes = 4_000;
        let records: Vec<Record> = (1..=20).map(|id| sized_record(id, 900)).collect();
        let mut pending = VecDeque::from(records.clone());
        let mut encoder = OtlpEncoder::new(settings());
        let anchor = Anchor::fixed(0, 0);
        let mut next_id = 1u64;
        let mut batches = 0;
        while let Some(batch) = encoder.encode_batch(&mut pending, max_bytes, &anchor) {
            batches += 1;
            assert!(
                batch.body.len() <= max_bytes,
                "{} > {max_bytes}",
                batch.body.len()
            );
            assert_eq!(batch.captured_bytes, 900 * batch.observations);
            let request = ExportTraceServiceRequest::decode(batch.body).unwrap();
            let spans = spans_of(&request);
            assert_eq!(spans.len(), batch.observations);
            for span in spans {
                assert_eq!(span.span_id, next_id.to_be_bytes(), "order is kept");
                next_id += 1;
            }
            // Maximal: one more record would not have fitted.
            if !pending.is_empty() {
                let first = (next_id - batch.observations as u64) as usize - 1;
                let with_next = records[first..=first + batch.observations].to_vec();
                assert!(encoded_len_of(with_next) > max_bytes);
            }
        }
        assert_eq!(next_id, 21);
        assert!(batches > 1 && batches < 20, "{batches} batches");
        assert!(pending.is_empty());
    }

    #[test]
    fn an_oversized_record_goes_alone() {
        let mut pending = VecDeque::from([sized_record(1, 10_000), sized_record(2, 10)]);
        let mut encoder = OtlpEncoder::new(settings());
        let anchor = Anchor::fixed(0, 0);
        let first = encoder.encode_batch(&mut pending, 1_000, &anchor).unwrap();
        assert_eq!(first.observations, 1);
        assert!(first.body.len() > 10_000);
        let second = encoder.encode_batch(&mut pending, 1_000, &anchor).unwrap();
        assert_eq!(second.observations, 1);
        assert!(encoder.encode_batch(&mut pending, 1_000, &anchor).is_none());
    }

    #[test]
    fn scratch_state_does_not_leak_between_batches() {
        let mut encoder = OtlpEncoder::new(settings());
        let anchor = Anchor::fixed(0, 0);
        let make = || {
            let mut r = with_data(
                record(3, &RETRIEVE),
                ObservationData {
                    input: Some(Payload::Json(r#""raw""#.into())),
                    ..ObservationData::default()
                },
            );
            r.level = Level::Error;
            VecDeque::from([sized_record(1, 50), r])
        };
        let a = encoder
            .encode_batch(&mut make(), usize::MAX, &anchor)
            .unwrap()
            .body
            .to_vec();
        let b = encoder
            .encode_batch(&mut make(), usize::MAX, &anchor)
            .unwrap()
            .body
            .to_vec();
        assert_eq!(a, b);
    }
}
