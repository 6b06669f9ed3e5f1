//! [`DatasetError`]: why a dataset call failed, with the server's own message.

use std::fmt;

/// Why a dataset call failed. Every variant that comes from the server carries its message
/// (the `message` of Langfuse's JSON error body, or the body's text), with any key the SDK sent
/// redacted from it.
///
/// ```
/// use langfuse_core::datasets::DatasetError;
///
/// let error = DatasetError::NotFound { message: "Dataset not found".into() };
/// assert_eq!(error.status(), Some(404));
/// assert_eq!(error.message(), "Dataset not found");
/// assert_eq!(error.to_string(), "Langfuse answered 404: Dataset not found");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DatasetError {
    /// There is no Langfuse project to ask: the public or secret key is missing, or the
    /// client could not be built. Nothing was sent.
    NotConfigured(String),
    /// The request was not sent because it cannot be valid (an empty name, an input that
    /// cannot be serialized, ...).
    InvalidRequest(String),
    /// 404: no dataset (or item) by that name or id in the key's project.
    NotFound {
        /// The server's message.
        message: String,
    },
    /// 401 or 403: the keys are wrong, or belong to another project or organization.
    Unauthorized {
        /// HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// Another status retrying cannot fix (400 for an invalid body, 409, 413, ...).
    Rejected {
        /// HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// The server could not be reached, or kept answering 429 or 5xx, until the retries
    /// (`LANGFUSE_MAX_RETRIES`, honouring `Retry-After`) ran out.
    Unavailable {
        /// Status of the last answer, if there was one.
        status: Option<u16>,
        /// What went wrong last.
        message: String,
    },
    /// A 2xx answer that is not what the API documents.
    InvalidResponse(String),
}

impl DatasetError {
    /// The HTTP status the server answered with, if this error comes from an answer.
    ///
    /// ```
    /// use langfuse_core::datasets::DatasetError;
    ///
    /// assert_eq!(DatasetError::NotConfigured("no keys".into()).status(), None);
    /// ```
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::NotFound { .. } => Some(404),
            Self::Unauthorized { status, .. } | Self::Rejected { status, .. } => Some(*status),
            Self::Unavailable { status, .. } => *status,
            Self::NotConfigured(_) | Self::InvalidRequest(_) | Self::InvalidResponse(_) => None,
        }
    }

    /// The message: the server's for an answer, the SDK's otherwise.
    ///
    /// ```
    /// use langfuse_core::datasets::DatasetError;
    ///
    /// let error = DatasetError::Rejected { status: 400, message: "Invalid input".into() };
    /// assert_eq!(error.message(), "Invalid input");
    /// ```
    pub fn message(&self) -> &str {
        match self {
            Self::NotConfigured(message)
            | Self::InvalidRequest(message)
            | Self::InvalidResponse(message) => message,
            Self::NotFound { message }
            | Self::Unauthorized { message, .. }
            | Self::Rejected { message, .. }
            | Self::Unavailable { message, .. } => message,
        }
    }

    /// Whether the same call may succeed later (the server was unreachable or overloaded).
    ///
    /// ```
    /// use langfuse_core::datasets::DatasetError;
    ///
    /// let error = DatasetError::Unavailable { status: Some(503), message: "down".into() };
    /// assert!(error.is_transient());
    /// ```
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }
}

impl fmt::Display for DatasetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotConfigured(message) => {
                write!(f, "the Langfuse API is not configured: {message}")
            }
            Self::InvalidRequest(message) => write!(f, "invalid request, not sent: {message}"),
            Self::NotFound { message } => write!(f, "Langfuse answered 404: {message}"),
            Self::Unauthorized { status, message } | Self::Rejected { status, message } => {
                write!(f, "Langfuse answered {status}: {message}")
            }
            Self::Unavailable {
                status: Some(status),
                message,
            } => write!(
                f,
                "Langfuse is unavailable (last answer {status}): {message}"
            ),
            Self::Unavailable {
                status: None,
                message,
            } => write!(f, "Langfuse is unreachable: {message}"),
            Self::InvalidResponse(message) => {
                write!(f, "unexpected answer from Langfuse: {message}")
            }
        }
    }
}

impl std::error::Error for DatasetError {}

/// The error for a final (not retried) status and the server's message.
pub(crate) fn from_status(status: u16, message: String) -> DatasetError {
    match status {
        404 => DatasetError::NotFound { message },
        401 | 403 => DatasetError::Unauthorized { status, message },
        _ => DatasetError::Rejected { status, message },
    }
}

/// The message of an error body: the `message` field of Langfuse's JSON errors (with `error`
/// or `details` when the server adds them), else the body as text.
pub(crate) fn server_message(body: &str) -> String {
    let Ok(serde_json::Value::Object(fields)) = serde_json::from_str::<serde_json::Value>(body)
    else {
        return body.trim().to_owned();
    };
    let text = |key: &str| match fields.get(key) {
        Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Some(serde_json::Value::Null) | None => None,
        Some(other) => Some(other.to_string()),
    };
    match (text("message"), text("error").or_else(|| text("details"))) {
        (Some(message), Some(detail)) if detail != message => format!("{message} ({detail})"),
        (Some(message), _) => message,
        (None, Some(detail)) => detail,
        (None, None) => body.trim().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_comes_from_langfuse_json_errors() {
        assert_eq!(
            server_message(r#"{"message":"Dataset not found"}"#),
            "Dataset not found"
        );
        assert_eq!(
            server_message(r#"{"message":"Invalid request data","error":[{"path":["name"]}]}"#),
            r#"Invalid request data ([{"path":["name"]}])"#
        );
        assert_eq!(
            server_message(r#"{"error":"Unauthorized"}"#),
            "Unauthorized"
        );
        assert_eq!(server_message(" Bad Gateway \n"), "Bad Gateway");
        assert_eq!(server_message("[1]"), "[1]");
    }

    #[test]
    fn statuses_map_to_variants() {
        assert!(matches!(
            from_status(404, "x".into()),
            DatasetError::NotFound { .. }
        ));
        assert!(matches!(
            from_status(403, "x".into()),
            DatasetError::Unauthorized { status: 403, .. }
        ));
        assert!(matches!(
            from_status(400, "x".into()),
            DatasetError::Rejected { status: 400, .. }
        ));
    }
}
