//! A captured value as it travels to the exporter: JSON text, or plain text sent as is.

/// A JSON value produced off the hot path or by the capture serializer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Payload {
    /// Valid JSON text. A top-level JSON string is sent as its raw text on the wire.
    Json(String),
    /// Plain text sent as is (a user string, or a truncated prefix with its marker).
    Text(String),
}

impl Payload {
    /// Bytes held, for the queue's byte bound.
    pub(crate) fn len(&self) -> usize {
        match self {
            Self::Json(s) | Self::Text(s) => s.len(),
        }
    }
}

/// Merges two JSON objects key by key (newer wins). Anything that is not a JSON object (or a
/// truncated one) is replaced by the newer value.
pub(crate) fn merge_objects(older: Payload, newer: Payload) -> Payload {
    let (Payload::Json(old), Payload::Json(new)) = (&older, &newer) else {
        return newer;
    };
    let parse = |s: &str| serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(s);
    match (parse(old), parse(new)) {
        (Ok(mut merged), Ok(newer_map)) => {
            merged.extend(newer_map);
            serde_json::to_string(&merged).map_or(newer, Payload::Json)
        }
        _ => newer,
    }
}
