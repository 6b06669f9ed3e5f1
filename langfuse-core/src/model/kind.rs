//! What kind of observation something is, and how severe: the two enums Langfuse shows on
//! every observation.

use std::fmt;
use std::str::FromStr;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_parse_from_their_names() {
        for t in ObservationType::ALL {
            assert_eq!(t.as_str().parse::<ObservationType>(), Ok(t));
        }
        assert!("SPAN".parse::<ObservationType>().is_err());
    }
}
