//! What an observation is made of: ids, types, levels, the static descriptor the macro emits,
//! and the record a finished observation leaves for the exporter.

use std::fmt;
use std::num::NonZeroU64;
use std::str::FromStr;
use std::sync::Arc;

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

/// The kind of an observation, as Langfuse shows it.
///
/// `Generation` and `Embedding` are "generation-like": they carry model, usage and cost.
///
/// ```
/// use langfuse_core::ObservationType;
/// assert_eq!(ObservationType::Retriever.as_str(), "retriever");
/// assert_eq!("tool".parse::<ObservationType>(), Ok(ObservationType::Tool));
/// assert!(ObservationType::Embedding.is_generation_like());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ObservationType {
    /// A unit of work with a duration (the default).
    #[default]
    Span,
    /// A call to a language model.
    Generation,
    /// A point in time, without duration.
    Event,
    /// An agent deciding what to do next.
    Agent,
    /// A tool called by an agent or a model.
    Tool,
    /// A link between steps, such as a pipeline stage.
    Chain,
    /// A retrieval step, such as a vector search.
    Retriever,
    /// An evaluation of another observation's output.
    Evaluator,
    /// A call to an embedding model.
    Embedding,
    /// A safety or policy check.
    Guardrail,
}

impl ObservationType {
    /// Every type, in the order Langfuse documents them.
    pub const ALL: [ObservationType; 10] = [
        Self::Span,
        Self::Generation,
        Self::Event,
        Self::Agent,
        Self::Tool,
        Self::Chain,
        Self::Retriever,
        Self::Evaluator,
        Self::Embedding,
        Self::Guardrail,
    ];

    /// The lowercase name sent as `langfuse.observation.type`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Span => "span",
            Self::Generation => "generation",
            Self::Event => "event",
            Self::Agent => "agent",
            Self::Tool => "tool",
            Self::Chain => "chain",
            Self::Retriever => "retriever",
            Self::Evaluator => "evaluator",
            Self::Embedding => "embedding",
            Self::Guardrail => "guardrail",
        }
    }

    /// Whether model, usage and cost fields apply.
    pub const fn is_generation_like(self) -> bool {
        matches!(self, Self::Generation | Self::Embedding)
    }
}

impl fmt::Display for ObservationType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ObservationType {
    type Err = UnknownObservationType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownObservationType(s.to_owned()))
    }
}

/// A string that names no [`ObservationType`].
///
/// ```
/// use langfuse_core::ObservationType;
/// let err = "llm".parse::<ObservationType>().unwrap_err();
/// assert!(err.to_string().contains("llm"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownObservationType(pub String);

impl fmt::Display for UnknownObservationType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown observation type `{}`; expected one of span, generation, event, agent, tool, chain, retriever, evaluator, embedding, guardrail",
            self.0
        )
    }
}

impl std::error::Error for UnknownObservationType {}

/// Severity of an observation, sent as `langfuse.observation.level`.
///
/// ```
/// use langfuse_core::Level;
/// assert_eq!(Level::Warning.as_str(), "WARNING");
/// assert!(Level::Error > Level::Default);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Level {
    /// Diagnostic detail.
    Debug,
    /// The normal level.
    #[default]
    Default,
    /// Something went wrong but the work went on (cancellation, for example).
    Warning,
    /// The work failed: an `Err`, a panic.
    Error,
}

impl Level {
    /// The uppercase name Langfuse expects.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Debug => "DEBUG",
            Self::Default => "DEFAULT",
            Self::Warning => "WARNING",
            Self::Error => "ERROR",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether to capture a function's input or output: the macro's `capture_input` /
/// `capture_output`, or `Inherit` to follow `LANGFUSE_OBSERVE_DECORATOR_IO_CAPTURE_ENABLED`.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureSetting {
    /// Follow the configuration's default.
    Inherit,
    /// Always capture.
    On,
    /// Never capture.
    Off,
}

/// The static part of an observation, emitted once per annotated function by `#[observe]`.
///
/// Everything known at compile time lives here so that starting an observation copies one
/// pointer instead of a name and flags.
#[doc(hidden)]
#[derive(Debug)]
pub struct Descriptor {
    pub(crate) name: &'static str,
    pub(crate) kind: ObservationType,
    pub(crate) capture_input: CaptureSetting,
    pub(crate) capture_output: CaptureSetting,
}

impl Descriptor {
    /// Used by the macro expansion; not a stable API.
    pub const fn new(
        name: &'static str,
        kind: ObservationType,
        capture_input: CaptureSetting,
        capture_output: CaptureSetting,
    ) -> Self {
        Self {
            name,
            kind,
            capture_input,
            capture_output,
        }
    }

    /// The observation's name.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The observation's type.
    pub const fn kind(&self) -> ObservationType {
        self.kind
    }
}

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

/// Time of a record: raw clock ticks on the hot path, or Unix nanoseconds when the caller gave
/// an explicit time (importing past work). Converted to Unix nanoseconds on the exporter thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timestamp {
    /// A reading of [`crate::clock`] taken on the hot path.
    Ticks(u64),
    /// Nanoseconds since the Unix epoch.
    UnixNanos(u64),
}

/// Generation-only fields (model, usage, cost, prompt link).
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct GenerationData {
    pub(crate) model: Option<String>,
    pub(crate) model_parameters: Option<Payload>,
    pub(crate) usage_details: Option<Payload>,
    pub(crate) cost_details: Option<Payload>,
    pub(crate) completion_start_time: Option<Timestamp>,
    pub(crate) prompt_name: Option<String>,
    pub(crate) prompt_version: Option<i64>,
}

/// Everything an observation may carry beyond ids, times and level. Boxed and allocated only
/// when something is captured or updated, so a plain observation allocates nothing.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct ObservationData {
    /// Overrides the descriptor's static name.
    pub(crate) name: Option<String>,
    pub(crate) input: Option<Payload>,
    pub(crate) output: Option<Payload>,
    pub(crate) metadata: Option<Payload>,
    pub(crate) status_message: Option<String>,
    pub(crate) version: Option<String>,
    pub(crate) generation: Option<Box<GenerationData>>,
    /// Trace attributes for this observation only, from a `propagate_attributes` scope opened
    /// inside it: its children outside the scope must not inherit them.
    pub(crate) own_trace: Option<Arc<TraceAttributes>>,
}

impl ObservationData {
    /// Bytes of captured text, for the queue's byte bound.
    pub(crate) fn captured_bytes(&self) -> usize {
        let payloads = [&self.input, &self.output, &self.metadata];
        payloads
            .iter()
            .filter_map(|p| p.as_ref())
            .map(|p| p.len())
            .sum::<usize>()
            + self.status_message.as_ref().map_or(0, String::len)
    }
}

/// Trace-level attributes: name, user, session, tags, metadata, visibility, input and output.
///
/// Filled through [`update_current_trace`](crate::update_current_trace),
/// [`propagate_attributes`](crate::propagate_attributes) or
/// [`ObservationExt::with_trace_attributes`](crate::ObservationExt::with_trace_attributes),
/// and sent on every observation of the trace started in their scope, as Langfuse v4 expects.
///
/// ```
/// let _scope = langfuse_core::propagate_attributes(|attributes| {
///     attributes.user_id("user-42").session_id("chat-7").tags(["beta"]);
/// });
/// ```
#[derive(Debug, Default, Clone, PartialEq)]
pub struct TraceAttributes {
    pub(crate) name: Option<String>,
    pub(crate) user_id: Option<String>,
    pub(crate) session_id: Option<String>,
    pub(crate) version: Option<String>,
    pub(crate) release: Option<String>,
    pub(crate) tags: Vec<String>,
    pub(crate) metadata: Option<Payload>,
    pub(crate) public: Option<bool>,
    pub(crate) input: Option<Payload>,
    pub(crate) output: Option<Payload>,
}

/// Bit flags of a [`Record`].
pub(crate) mod flags {
    /// The observation joined a remote parent: Langfuse treats it as the trace root
    /// (`langfuse.internal.as_root`).
    pub(crate) const AS_ROOT: u8 = 1;
}

/// A finished observation, as handed from the hot path to the exporter thread.
///
/// Fixed size and cheap to move: everything optional sits behind one `Option<Box<_>>` and one
/// `Option<Arc<_>>`, both `None` for a plain observation.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub(crate) trace_id: TraceId,
    pub(crate) id: ObservationId,
    pub(crate) parent_id: Option<ObservationId>,
    pub(crate) start: Timestamp,
    pub(crate) end: Timestamp,
    pub(crate) descriptor: &'static Descriptor,
    pub(crate) level: Level,
    pub(crate) flags: u8,
    pub(crate) data: Option<Box<ObservationData>>,
    pub(crate) trace: Option<Arc<TraceAttributes>>,
}

impl Record {
    /// The name shown in Langfuse: an update's name if any, else the static one.
    pub(crate) fn name(&self) -> &str {
        self.data
            .as_ref()
            .and_then(|d| d.name.as_deref())
            .unwrap_or(self.descriptor.name)
    }

    /// Bytes of captured text this record holds, for the queue's byte bound.
    pub(crate) fn captured_bytes(&self) -> usize {
        self.data.as_ref().map_or(0, |d| d.captured_bytes())
    }

    /// The status message, if any.
    pub(crate) fn status_message(&self) -> Option<&str> {
        self.data.as_ref().and_then(|d| d.status_message.as_deref())
    }

    /// Whether Langfuse should treat this observation as its trace's root.
    pub(crate) fn is_as_root(&self) -> bool {
        self.flags & flags::AS_ROOT != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_stays_small() {
        // The ring buffers hold records by value: keep them within two cache lines.
        assert!(
            std::mem::size_of::<Record>() <= 96,
            "{}",
            std::mem::size_of::<Record>()
        );
    }

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
    fn types_parse_from_their_names() {
        for t in ObservationType::ALL {
            assert_eq!(t.as_str().parse::<ObservationType>(), Ok(t));
        }
        assert!("SPAN".parse::<ObservationType>().is_err());
    }
}
