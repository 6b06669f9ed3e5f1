//! Trace ids made outside an observation: random, or derived from a seed so that every
//! service (in any language) that knows the seed arrives at the same trace.

use sha2::{Digest as _, Sha256};

use crate::observation::TraceId;

/// A new trace id: random without a seed; with one, the first 16 bytes of the SHA-256 of the
/// seed's UTF-8 bytes, exactly as the Python and JS SDKs' `create_trace_id(seed=...)` derive
/// it. A seeded id is deterministic across processes and languages: use an id your systems
/// already share (an order number, a conversation id) to find or continue the same trace from
/// anywhere, for example to attach a score later or to link to the trace
/// ([`Langfuse::trace_url`](crate::Langfuse::trace_url)).
///
/// An empty seed counts as no seed, as in those SDKs, so that requests missing their key do
/// not all land in one trace.
///
/// Random ids come from a fast thread-local generator seeded by the OS, like the ids of new
/// traces, and are never zero.
///
/// ```
/// use langfuse_core::{ObservationId, Traceparent, create_trace_id};
///
/// // Every service derives the same id from the same seed.
/// let trace_id = create_trace_id(Some("order-4711"));
/// assert_eq!(trace_id.to_string(), "173d0ddbff034193face7ce60d3f58b4");
/// assert_eq!(create_trace_id(Some("order-4711")), trace_id);
///
/// // Without a seed, a fresh id every time.
/// assert_ne!(create_trace_id(None), create_trace_id(None));
///
/// // Continue that trace here, under a parent of your choosing:
/// let parent = Traceparent {
///     trace_id,
///     parent_id: ObservationId::from_u64(1).unwrap(),
///     sampled: true,
/// };
/// # async fn process_order() {}
/// # async fn run(parent: Traceparent) {
/// langfuse_core::continue_trace(&parent.to_string(), process_order()).await;
/// # }
/// ```
pub fn create_trace_id(seed: Option<&str>) -> TraceId {
    match seed {
        Some(seed) if !seed.is_empty() => seeded(seed),
        _ => random(),
    }
}

fn seeded(seed: &str) -> TraceId {
    let digest = Sha256::digest(seed.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    // An all-zero prefix would mean a SHA-256 preimage attack; even then, never hand out the
    // invalid id.
    TraceId::from_bytes(bytes).unwrap_or_else(random)
}

fn random() -> TraceId {
    loop {
        if let Some(id) = TraceId::from_u128(fastrand::u128(..)) {
            return id;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_ids_match_the_python_sdk() {
        // Computed independently with python3:
        //   hashlib.sha256(seed.encode("utf-8")).digest()[:16].hex()
        // which is what langfuse-python's `Langfuse.create_trace_id(seed=seed)` returns.
        let vectors = [
            ("my-seed", "e47b450a58ba3f9ba4a36ec20b7f7c18"),
            ("order-4711", "173d0ddbff034193face7ce60d3f58b4"),
            ("héllo 🦀", "a0b678a5713fed2dee7c25ac8488f61b"),
        ];
        for (seed, expected) in vectors {
            assert_eq!(
                create_trace_id(Some(seed)).to_string(),
                expected,
                "seed {seed:?}"
            );
        }
    }

    #[test]
    fn seeded_ids_are_stable_and_distinct() {
        assert_eq!(create_trace_id(Some("a")), create_trace_id(Some("a")));
        assert_ne!(create_trace_id(Some("a")), create_trace_id(Some("b")));
    }

    #[test]
    fn an_empty_seed_is_no_seed() {
        // Python's `if not seed:` and JS's `if (seed)` both fall back to a random id; the
        // SHA-256 of "" would start e3b0c44298fc1c149afbf4c8996fb924.
        let empty = create_trace_id(Some(""));
        assert_ne!(empty.to_string(), "e3b0c44298fc1c149afbf4c8996fb924");
        assert_ne!(empty, create_trace_id(Some("")));
    }

    #[test]
    fn random_ids_differ() {
        let ids: std::collections::HashSet<TraceId> =
            (0..1000).map(|_| create_trace_id(None)).collect();
        assert_eq!(ids.len(), 1000);
    }
}
