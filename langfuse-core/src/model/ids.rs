//! Trace and observation ids: the 16- and 8-byte values of W3C trace context, their text
//! form, and trace ids made outside an observation (random, or derived from a seed so that
//! every service, in any language, that knows the seed arrives at the same trace).

use std::fmt;
use std::num::NonZeroU64;
use std::str::FromStr;

use sha2::{Digest as _, Sha256};

/// A 128-bit trace id, shown as 32 lowercase hex characters (the W3C and Langfuse form).
///
/// ```
/// use langfuse_core::TraceId;
///
/// let id: TraceId = "4bf92f3577b34da6a3ce929d0e0e4736".parse().unwrap();
/// assert_eq!(id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
/// assert!("not hex".parse::<TraceId>().is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TraceId(u128);

impl TraceId {
    /// Wraps a raw value; `None` for zero, which W3C and OTLP reserve as "invalid".
    ///
    /// ```
    /// use langfuse_core::TraceId;
    /// assert!(TraceId::from_u128(0).is_none());
    /// assert_eq!(TraceId::from_u128(1).unwrap().to_string(), "00000000000000000000000000000001");
    /// ```
    pub const fn from_u128(value: u128) -> Option<Self> {
        if value == 0 { None } else { Some(Self(value)) }
    }

    /// A valid id for records that are never exported (context carriers).
    pub(crate) const PLACEHOLDER: Self = Self(1);

    /// The raw value.
    ///
    /// ```
    /// use langfuse_core::TraceId;
    /// assert_eq!(TraceId::from_u128(7).unwrap().to_u128(), 7);
    /// ```
    pub const fn to_u128(self) -> u128 {
        self.0
    }

    /// The 16 bytes sent on the wire, most significant first.
    ///
    /// ```
    /// use langfuse_core::TraceId;
    /// assert_eq!(TraceId::from_u128(1).unwrap().to_bytes()[15], 1);
    /// ```
    pub const fn to_bytes(self) -> [u8; 16] {
        self.0.to_be_bytes()
    }

    /// Builds an id from its 16 wire bytes; `None` if they are all zero.
    ///
    /// ```
    /// use langfuse_core::TraceId;
    /// let id = TraceId::from_u128(42).unwrap();
    /// assert_eq!(TraceId::from_bytes(id.to_bytes()), Some(id));
    /// ```
    pub const fn from_bytes(bytes: [u8; 16]) -> Option<Self> {
        Self::from_u128(u128::from_be_bytes(bytes))
    }
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

impl fmt::Debug for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceId({self})")
    }
}

impl FromStr for TraceId {
    type Err = ParseIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let value = parse_hex(s, 32)?;
        Self::from_u128(value).ok_or(ParseIdError::Zero)
    }
}

/// A 64-bit observation (span) id, shown as 16 lowercase hex characters.
///
/// ```
/// use langfuse_core::ObservationId;
///
/// let id: ObservationId = "00f067aa0ba902b7".parse().unwrap();
/// assert_eq!(id.to_string(), "00f067aa0ba902b7");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObservationId(NonZeroU64);

impl ObservationId {
    /// Wraps a raw value; `None` for zero.
    ///
    /// ```
    /// use langfuse_core::ObservationId;
    /// assert!(ObservationId::from_u64(0).is_none());
    /// assert_eq!(ObservationId::from_u64(255).unwrap().to_string(), "00000000000000ff");
    /// ```
    pub const fn from_u64(value: u64) -> Option<Self> {
        match NonZeroU64::new(value) {
            Some(v) => Some(Self(v)),
            None => None,
        }
    }

    /// A valid id for records that are never exported (context carriers).
    pub(crate) const PLACEHOLDER: Self = Self(NonZeroU64::MIN);

    /// The raw value.
    ///
    /// ```
    /// use langfuse_core::ObservationId;
    /// assert_eq!(ObservationId::from_u64(9).unwrap().to_u64(), 9);
    /// ```
    pub const fn to_u64(self) -> u64 {
        self.0.get()
    }

    /// The 8 bytes sent on the wire, most significant first.
    ///
    /// ```
    /// use langfuse_core::ObservationId;
    /// assert_eq!(ObservationId::from_u64(1).unwrap().to_bytes()[7], 1);
    /// ```
    pub const fn to_bytes(self) -> [u8; 8] {
        self.0.get().to_be_bytes()
    }

    /// Builds an id from its 8 wire bytes; `None` if they are all zero.
    ///
    /// ```
    /// use langfuse_core::ObservationId;
    /// let id = ObservationId::from_u64(42).unwrap();
    /// assert_eq!(ObservationId::from_bytes(id.to_bytes()), Some(id));
    /// ```
    pub const fn from_bytes(bytes: [u8; 8]) -> Option<Self> {
        Self::from_u64(u64::from_be_bytes(bytes))
    }
}

impl fmt::Display for ObservationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0.get())
    }
}

impl fmt::Debug for ObservationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ObservationId({self})")
    }
}

impl FromStr for ObservationId {
    type Err = ParseIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let value = parse_hex(s, 16)?;
        Self::from_u64(value as u64).ok_or(ParseIdError::Zero)
    }
}

/// Why a trace or observation id did not parse.
///
/// ```
/// use langfuse_core::{ParseIdError, TraceId};
/// assert_eq!("abc".parse::<TraceId>(), Err(ParseIdError::Length { expected: 32, found: 3 }));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseIdError {
    /// The text does not have the expected number of hex characters.
    Length {
        /// Hex characters expected (32 for traces, 16 for observations).
        expected: usize,
        /// Characters found.
        found: usize,
    },
    /// A character is not lowercase or uppercase hex.
    NotHex,
    /// All zeros: reserved as "invalid" by W3C trace context.
    Zero,
}

impl fmt::Display for ParseIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Length { expected, found } => {
                write!(f, "expected {expected} hex characters, found {found}")
            }
            Self::NotHex => f.write_str("id contains a character that is not hex"),
            Self::Zero => f.write_str("an all-zero id is invalid"),
        }
    }
}

impl std::error::Error for ParseIdError {}

fn parse_hex(s: &str, len: usize) -> Result<u128, ParseIdError> {
    if s.len() != len {
        return Err(ParseIdError::Length {
            expected: len,
            found: s.len(),
        });
    }
    if !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ParseIdError::NotHex);
    }
    u128::from_str_radix(s, 16).map_err(|_| ParseIdError::NotHex)
}

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
    fn ids_round_trip_through_text() {
        let t = TraceId::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef).unwrap();
        assert_eq!(t.to_string().parse::<TraceId>().unwrap(), t);
        let o = ObservationId::from_u64(0x0123_4567_89ab_cdef).unwrap();
        assert_eq!(o.to_string().parse::<ObservationId>().unwrap(), o);
        assert_eq!(
            "0".repeat(16).parse::<ObservationId>(),
            Err(ParseIdError::Zero)
        );
        assert_eq!(
            "zz".repeat(8).parse::<ObservationId>(),
            Err(ParseIdError::NotHex)
        );
    }

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
