//! Distributed traces: the W3C `traceparent` header, to continue a trace across services.
//!
//! The outgoing side sends [`current_traceparent`] with its request; the receiving side
//! continues from it with `#[observe(parent = header)]`, [`continue_trace`] for a future, or
//! [`ObservationContext::from_traceparent`]. The first observation in the receiving service is
//! marked `langfuse.internal.as_root`, so Langfuse shows it as that service's root while
//! keeping the whole request in one trace.
//!
//! Sampling is decided from the trace id (the rule every Langfuse SDK uses), not from the
//! header's flag: with the same `LANGFUSE_SAMPLE_RATE`, every service keeps or drops the
//! same traces.

use std::fmt;
use std::future::Future;
use std::str::FromStr;

use crate::context::{self, Frame, ParentContext};
use crate::observation::{ObservationId, TraceId};
use crate::sampling;
use crate::task::{ObservationContext, WithContext};

/// The name of the W3C header.
pub const TRACEPARENT_HEADER: &str = "traceparent";

/// A parsed W3C `traceparent` value: `00-<trace id>-<parent id>-<flags>`.
///
/// ```
/// use langfuse_core::Traceparent;
///
/// let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
/// let parent: Traceparent = header.parse().unwrap();
/// assert!(parent.sampled);
/// assert_eq!(parent.to_string(), header);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Traceparent {
    /// The trace to continue.
    pub trace_id: TraceId,
    /// The caller's observation, the parent of the next one here.
    pub parent_id: ObservationId,
    /// The caller's sampling flag (informational: this SDK decides from the trace id).
    pub sampled: bool,
}

/// Why a `traceparent` value was rejected.
///
/// ```
/// use langfuse_core::{Traceparent, TraceparentError};
///
/// assert_eq!("garbage".parse::<Traceparent>(), Err(TraceparentError::Format));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TraceparentError {
    /// Not `version-traceid-parentid-flags` with the right lengths and lowercase hex.
    Format,
    /// Version `ff`, which W3C forbids.
    Version,
    /// An all-zero trace id or parent id.
    ZeroId,
}

impl fmt::Display for TraceparentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Format => {
                "traceparent must be `00-<32 lowercase hex>-<16 lowercase hex>-<2 lowercase hex>`"
            }
            Self::Version => "traceparent version ff is invalid",
            Self::ZeroId => "traceparent has an all-zero trace id or parent id",
        })
    }
}

impl std::error::Error for TraceparentError {}

fn lower_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl FromStr for Traceparent {
    type Err = TraceparentError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let value = value.trim();
        let mut parts = value.split('-');
        let (Some(version), Some(trace), Some(parent), Some(flags)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TraceparentError::Format);
        };
        if !lower_hex(version, 2)
            || !lower_hex(trace, 32)
            || !lower_hex(parent, 16)
            || !lower_hex(flags, 2)
        {
            return Err(TraceparentError::Format);
        }
        if version == "ff" {
            return Err(TraceparentError::Version);
        }
        // Version 00 has exactly four fields; later versions may append more.
        if version == "00" && parts.next().is_some() {
            return Err(TraceparentError::Format);
        }
        let trace_id = trace.parse().map_err(|_| TraceparentError::ZeroId)?;
        let parent_id = parent.parse().map_err(|_| TraceparentError::ZeroId)?;
        let flags = u8::from_str_radix(flags, 16).map_err(|_| TraceparentError::Format)?;
        Ok(Self {
            trace_id,
            parent_id,
            sampled: flags & 1 == 1,
        })
    }
}

impl fmt::Display for Traceparent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "00-{}-{}-{:02x}",
            self.trace_id,
            self.parent_id,
            u8::from(self.sampled)
        )
    }
}

impl Traceparent {
    /// The parent context a service continuing this trace starts from.
    pub(crate) fn to_parent(self) -> ParentContext {
        ParentContext {
            trace_id: self.trace_id,
            id: self.parent_id,
            sampled: sampling::keep(self.trace_id),
            remote: true,
            trace: None,
        }
    }
}

/// The `traceparent` header to send with an outgoing request, so the callee continues this
/// trace; `None` outside any observation.
///
/// ```
/// // Inside an observed function:
/// if let Some(value) = langfuse_core::current_traceparent() {
///     // request.header(langfuse_core::TRACEPARENT_HEADER, value)
/// #   let _ = value;
/// }
/// ```
pub fn current_traceparent() -> Option<String> {
    let parent = context::current_parent()?;
    Some(
        Traceparent {
            trace_id: parent.trace_id,
            parent_id: parent.id,
            sampled: parent.sampled,
        }
        .to_string(),
    )
}

impl ObservationContext {
    /// The context of a remote caller, from its `traceparent` header.
    ///
    /// ```
    /// use langfuse_core::ObservationContext;
    ///
    /// let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    /// let remote = ObservationContext::from_traceparent(header).unwrap();
    /// assert_eq!(remote.trace_id().unwrap().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
    /// ```
    pub fn from_traceparent(header: &str) -> Result<Self, TraceparentError> {
        let traceparent: Traceparent = header.parse()?;
        Ok(traceparent.into())
    }
}

impl From<Traceparent> for ObservationContext {
    fn from(traceparent: Traceparent) -> Self {
        ObservationContext::from_frame(Frame::Parent(traceparent.to_parent()))
    }
}

/// Runs `future` as a continuation of the remote trace in `traceparent`: observations started
/// inside join that trace. An invalid header is logged at debug level and ignored (the
/// future then starts its own trace), so a bad header never fails a request.
///
/// ```
/// # async fn handle_request() {}
/// # async fn example(header: &str) {
/// langfuse_core::continue_trace(header, handle_request()).await;
/// # }
/// ```
pub fn continue_trace<F: Future>(traceparent: &str, future: F) -> WithContext<F> {
    match ObservationContext::from_traceparent(traceparent) {
        Ok(context) => context.attach(future),
        Err(e) => {
            tracing::debug!(target: "langfuse", "ignoring traceparent {traceparent:?}: {e}");
            ObservationContext::default().attach(future)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats_the_w3c_example() {
        let header = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        let parsed: Traceparent = header.parse().unwrap();
        assert_eq!(parsed.to_string(), header);
        let unsampled: Traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"
            .parse()
            .unwrap();
        assert!(!unsampled.sampled);
    }

    #[test]
    fn rejects_what_w3c_rejects() {
        let cases = [
            ("", TraceparentError::Format),
            (
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
                TraceparentError::Format,
            ),
            (
                "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
                TraceparentError::Format,
            ),
            (
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
                TraceparentError::Format,
            ),
            (
                "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                TraceparentError::Version,
            ),
            (
                "00-00000000000000000000000000000000-b7ad6b7169203331-01",
                TraceparentError::ZeroId,
            ),
            (
                "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
                TraceparentError::ZeroId,
            ),
            (
                "0-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                TraceparentError::Format,
            ),
        ];
        for (header, expected) in cases {
            assert_eq!(header.parse::<Traceparent>(), Err(expected), "{header:?}");
        }
    }

    #[test]
    fn later_versions_may_append_fields() {
        let header = "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-future";
        assert!(header.parse::<Traceparent>().is_ok());
    }
}
