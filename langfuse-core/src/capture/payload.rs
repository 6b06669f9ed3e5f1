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

    /// Moves the text out of the recycled buffer it was written into, when the buffer is
    /// mostly spare capacity, into one of its exact size, and gives the buffer back for the
    /// next capture: for a payload that will wait in a backlog. (Shrinking the buffer in place
    /// would leave its tail as a hole too small for the next capture's buffer.)
    pub(crate) fn shrink(&mut self) {
        let (Self::Json(s) | Self::Text(s)) = self;
        if s.capacity() > 2 * s.len() + 32 {
            let exact = s.as_str().to_owned();
            super::pool::give_string(std::mem::replace(s, exact));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shrinking_keeps_the_text_and_drops_spare_capacity_only_when_it_is_most_of_it() {
        let mut small = String::with_capacity(256);
        small.push_str(r#"{"id":42}"#);
        let mut small = Payload::Json(small);
        small.shrink();
        assert_eq!(small, Payload::Json(r#"{"id":42}"#.into()));
        let Payload::Json(text) = &small else {
            unreachable!()
        };
        assert!(text.capacity() < 64, "{}", text.capacity());

        let mut full = String::with_capacity(256);
        full.push_str(&"x".repeat(200));
        let address = full.as_ptr();
        let mut full = Payload::Text(full);
        full.shrink();
        let Payload::Text(text) = &full else {
            unreachable!()
        };
        assert_eq!((text.as_ptr(), text.capacity()), (address, 256));
    }
}
