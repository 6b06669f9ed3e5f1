//! Reading a [`Recording`] (from `langfuse::testing`) with the same helpers the wire tests use
//! on a received span, so that a test moved from the receiver to the recorder keeps its
//! assertions word for word: `str_attr`, `json_attr`, `bool_attr`, `has_attr`, `assert_child`
//! and the rest panic on a value of the wrong type exactly as [`ReceivedSpan`]'s do.
//!
//! A recorded observation is the span the exporter would encode, built by the same attribute
//! mapping (`langfuse-core/src/export/attributes.rs`): keys, values and value types are the
//! ones sent. `tests/wire.rs` checks the protobuf encoding of that mapping separately.
//!
//! [`ReceivedSpan`]: super::ReceivedSpan

use std::collections::HashMap;

use langfuse::TraceId;
use langfuse::testing::{AttributeValue, RecordedObservation, Recording};

/// The attribute accessors of [`ReceivedSpan`](super::ReceivedSpan), for a recorded
/// observation.
pub trait Attributes {
    /// An attribute's value.
    fn attr(&self, key: &str) -> Option<&AttributeValue>;

    /// Keys of the attributes, in the order they are sent.
    fn attr_keys(&self) -> Vec<&str>;

    /// Whether the observation has this attribute.
    fn has_attr(&self, key: &str) -> bool {
        self.attr(key).is_some()
    }

    /// A string attribute; panics if the attribute has another type.
    fn str_attr(&self, key: &str) -> Option<&str> {
        match self.attr(key)? {
            AttributeValue::String(s) => Some(s),
            other => panic!("attribute {key} is not a string: {other:?}"),
        }
    }

    /// A string attribute holding JSON, parsed (so that key order does not matter); panics if
    /// it is missing or not JSON.
    fn json_attr(&self, key: &str) -> serde_json::Value {
        let text = self
            .str_attr(key)
            .unwrap_or_else(|| panic!("no {key}: {:?}", self.attr_keys()));
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{key} is not JSON ({e}): {text}"))
    }

    /// A bool attribute; panics if the attribute has another type.
    fn bool_attr(&self, key: &str) -> Option<bool> {
        match self.attr(key)? {
            AttributeValue::Bool(b) => Some(*b),
            other => panic!("attribute {key} is not a bool: {other:?}"),
        }
    }

    /// An int attribute; panics if the attribute has another type.
    fn int_attr(&self, key: &str) -> Option<i64> {
        match self.attr(key)? {
            AttributeValue::Int(i) => Some(*i),
            other => panic!("attribute {key} is not an int: {other:?}"),
        }
    }

    /// An array attribute of strings; panics if the attribute is anything else.
    fn str_array_attr(&self, key: &str) -> Option<Vec<String>> {
        match self.attr(key)? {
            AttributeValue::StringArray(items) => Some(items.clone()),
            other => panic!("attribute {key} is not an array of strings: {other:?}"),
        }
    }
}

impl Attributes for RecordedObservation {
    fn attr(&self, key: &str) -> Option<&AttributeValue> {
        let mut found = self.attributes().iter().filter(|(k, _)| k == key);
        let (_, first) = found.next()?;
        assert!(found.next().is_none(), "attribute {key} is set twice");
        Some(first)
    }

    fn attr_keys(&self) -> Vec<&str> {
        self.attributes().iter().map(|(k, _)| k.as_str()).collect()
    }
}

/// Unix nanoseconds of the observation's start and end, as sent.
pub fn unix_nanos(observation: &RecordedObservation) -> (u64, u64) {
    let nanos = |t: std::time::SystemTime| {
        t.duration_since(std::time::UNIX_EPOCH)
            .expect("after the epoch")
            .as_nanos() as u64
    };
    (
        nanos(observation.start_time()),
        nanos(observation.end_time()),
    )
}

/// Asserts that the one observation named `child` is a child of the one named `parent`: same
/// trace, parent id, and nested in time (as `Tree::assert_child` does for received spans).
#[track_caller]
pub fn assert_child(recording: &Recording, child: &str, parent: &str) {
    let (c, p) = (recording.one(child), recording.one(parent));
    assert_eq!(
        c.trace_id(),
        p.trace_id(),
        "{child} and {parent} are in different traces"
    );
    assert_eq!(
        c.parent_id(),
        Some(p.id()),
        "{child} is not a child of {parent}"
    );
    let ((c_start, c_end), (p_start, p_end)) = (unix_nanos(c), unix_nanos(p));
    assert!(
        c_start >= p_start && c_end <= p_end,
        "{child} is not inside {parent} in time"
    );
}

/// The recorded observations grouped by trace.
pub fn traces(recording: &Recording) -> HashMap<TraceId, Vec<&RecordedObservation>> {
    let mut traces: HashMap<TraceId, Vec<&RecordedObservation>> = HashMap::new();
    for observation in recording.observations() {
        traces
            .entry(observation.trace_id())
            .or_default()
            .push(observation);
    }
    traces
}
