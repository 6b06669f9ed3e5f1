//! [`PromptError`]: why a prompt could not be had, with what the server said.

use std::fmt;
use std::time::Duration;

use super::types::PromptType;

/// Why [`get_prompt`](crate::Langfuse::get_prompt), [`create_prompt`](crate::Langfuse::create_prompt)
/// or [`update_prompt_labels`](crate::Langfuse::update_prompt_labels) failed.
///
/// A `get_prompt` with a [`fallback`](super::GetPrompt::fallback), or one for which a version
/// is cached, never returns the errors caused by the server or the network: it returns the
/// cached version, else the fallback. The message quotes the server's answer (its first 500
/// characters, secrets removed).
///
/// ```
/// use langfuse_core::PromptError;
///
/// fn explain(error: &PromptError) -> &'static str {
///     match error {
///         PromptError::NotFound { .. } => "no such prompt, version or label",
///         PromptError::Status { status: 401 | 403, .. } => "check LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY",
///         PromptError::Timeout { .. } | PromptError::Connection { .. } => "Langfuse is unreachable",
///         _ => "see the message",
///     }
/// }
/// let error = PromptError::NotFound { name: "greeting".into(), message: "Prompt not found".into() };
/// assert_eq!(explain(&error), "no such prompt, version or label");
/// assert_eq!(error.to_string(), "prompt 'greeting' not found: Prompt not found");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PromptError {
    /// The server has no prompt of this name with this version or label (404). A cached
    /// version of it is evicted.
    NotFound {
        /// The prompt's name.
        name: String,
        /// The server's message.
        message: String,
    },
    /// The server refused the request, or kept failing until the retries ran out: its last
    /// status and message.
    Status {
        /// HTTP status of the last answer.
        status: u16,
        /// The server's message, or the status' reason when it sent none.
        message: String,
        /// Requests sent.
        attempts: u32,
    },
    /// No answer before the deadline: each attempt is bounded by the fetch timeout, and a
    /// `get_prompt` by the fetch timeout times the attempts.
    Timeout {
        /// Requests sent (or joined: concurrent callers share one request).
        attempts: u32,
        /// How long the caller waited.
        waited: Duration,
    },
    /// The server could not be reached (connection refused, reset, DNS), on every attempt.
    Connection {
        /// Requests sent.
        attempts: u32,
        /// The last error.
        reason: String,
    },
    /// The server answered with something that is not a prompt.
    InvalidResponse {
        /// What is wrong with it.
        reason: String,
    },
    /// The prompt is not of the kind asked for (`.text()` found a chat prompt, say).
    WrongType {
        /// The prompt's name.
        name: String,
        /// The kind asked for.
        expected: PromptType,
        /// The kind the server has.
        found: PromptType,
    },
    /// Prompts cannot be fetched in this process: the keys are missing, the configuration is
    /// invalid, or the HTTP client could not be built.
    NotConfigured {
        /// Why.
        reason: String,
    },
    /// The call itself is invalid (an empty name, say).
    InvalidArgument {
        /// What is wrong.
        reason: String,
    },
}

impl PromptError {
    /// Whether the error comes from the server or the network (and so a cached version or the
    /// fallback is served instead): not found, a status, a timeout, a connection failure, an
    /// invalid answer.
    ///
    /// ```
    /// use langfuse_core::PromptError;
    ///
    /// assert!(PromptError::Connection { attempts: 3, reason: "refused".into() }.is_fetch_failure());
    /// assert!(!PromptError::InvalidArgument { reason: "empty name".into() }.is_fetch_failure());
    /// ```
    pub fn is_fetch_failure(&self) -> bool {
        matches!(
            self,
            Self::NotFound { .. }
                | Self::Status { .. }
                | Self::Timeout { .. }
                | Self::Connection { .. }
                | Self::InvalidResponse { .. }
        )
    }
}

impl fmt::Display for PromptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound { name, message } => write!(f, "prompt '{name}' not found: {message}"),
            Self::Status {
                status,
                message,
                attempts,
            } => write!(
                f,
                "the server answered {status}: {message} ({attempts} attempt{})",
                plural(*attempts)
            ),
            Self::Timeout { attempts, waited } => write!(
                f,
                "no answer from the server within {waited:?} ({attempts} attempt{})",
                plural(*attempts)
            ),
            Self::Connection { attempts, reason } => write!(
                f,
                "cannot reach the server: {reason} ({attempts} attempt{})",
                plural(*attempts)
            ),
            Self::InvalidResponse { reason } => {
                write!(f, "the server's answer is not a prompt: {reason}")
            }
            Self::WrongType {
                name,
                expected,
                found,
            } => write!(
                f,
                "prompt '{name}' is a {found} prompt, not a {expected} prompt"
            ),
            Self::NotConfigured { reason } => write!(f, "prompts are unavailable: {reason}"),
            Self::InvalidArgument { reason } => f.write_str(reason),
        }
    }
}

impl std::error::Error for PromptError {}

fn plural(n: u32) -> &'static str {
    if n == 1 { "" } else { "s" }
}
