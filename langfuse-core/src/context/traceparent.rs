//! Distributed traces: the W3C `traceparent` header, to continue a trace across services.
//!
//! The outgoing side sends [`current_traceparent`] with its request; the receiving side
//! continues from it with `#[observe(parent = header)]`, [`continue_trace`] for a future, or
//! [`ObservationContext::from_traceparent`]. The first observation in the receiving service is
//! marked `langfuse.internal.is_app_root` (and `as_root`, for v3 servers), so Langfuse shows it
//! as that service's root while keeping the whole request in one trace.
//!
//! Sampling is decided from the trace id (the rule every Langfuse SDK uses), not from the
//! header's flag: with the same `LANGFUSE_SAMPLE_RATE`, every service keeps or drops the
//! same traces.

use std::fmt;
use std::future::Future;
use std::str::FromStr;

use super::frame::ParentContext;
use super::spawn::{ObservationContext, WithContext};
use crate::model::{ObservationId, TraceId};
use crate::sampling;

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
            routed: false,
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
    let parent = super::current_parent()?;
    Some(
        Traceparent {
            trace_id: parent.trace_id,
            parent_id: parent.id,
            sampled: parent.sampled,
        }
        .to_string(),
    )
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

/// Something that names the parent of an observation: what `#[observe(parent = ...)]`
/// accepts. A W3C `traceparent` value (as `&str`, `String` or [`Traceparent`]), an
/// [`ObservationContext`], or an `Option` of those. `None`, or a `traceparent` that does not
/// parse (logged at debug level), leaves the observation under the current context, so a bad
/// header never fails a request.
///
/// ```
/// use langfuse_core::IntoParent;
///
/// let header: Option<&str> = Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
/// assert!(header.into_context().trace_id().is_some());
/// assert!("not a traceparent".into_context().trace_id().is_none());
/// ```
pub trait IntoParent {
    /// The context to start under; empty when this names no parent.
    fn into_context(self) -> ObservationContext;
}

impl IntoParent for &str {
    fn into_context(self) -> ObservationContext {
        match self.parse::<Traceparent>() {
            Ok(traceparent) => traceparent.into(),
            Err(e) => {
                tracing::debug!(target: "langfuse", "ignoring traceparent {self:?}: {e}");
                ObservationContext::default()
            }
        }
    }
}

impl IntoParent for &String {
    fn into_context(self) -> ObservationContext {
        self.as_str().into_context()
    }
}

impl IntoParent for String {
    fn into_context(self) -> ObservationContext {
        self.as_str().into_context()
    }
}

impl IntoParent for Traceparent {
    fn into_context(self) -> ObservationContext {
        self.into()
    }
}

impl IntoParent for &Traceparent {
    fn into_context(self) -> ObservationContext {
        (*self).into()
    }
}

impl IntoParent for &ObservationContext {
    fn into_context(self) -> ObservationContext {
        self.clone()
    }
}

impl IntoParent for ObservationContext {
    fn into_context(self) -> ObservationContext {
        self
    }
}

impl<T: IntoParent> IntoParent for Option<T> {
    fn into_context(self) -> ObservationContext {
        self.map(IntoParent::into_context).unwrap_or_default()
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

    /// Property tests against an independent reading of the W3C rules.
    mod properties {
        use proptest::prelude::*;

        use super::*;

        /// W3C Trace Context, section 3.2, written out plainly: `version-traceid-parentid-flags`
        /// in lowercase hex of lengths 2, 32, 16 and 2; version `ff` is invalid; all-zero ids
        /// are invalid; version `00` has exactly these four fields, later versions may append
        /// `-` and more. Surrounding whitespace is allowed (HTTP strips it).
        fn w3c_valid(header: &str) -> bool {
            let fields: Vec<&str> = header.trim().split('-').collect();
            let hex = |s: &str, len: usize| {
                s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            };
            let zero = |s: &str| s.bytes().all(|b| b == b'0');
            fields.len() >= 4
                && hex(fields[0], 2)
                && fields[0] != "ff"
                && (fields[0] != "00" || fields.len() == 4)
                && hex(fields[1], 32)
                && !zero(fields[1])
                && hex(fields[2], 16)
                && !zero(fields[2])
                && hex(fields[3], 2)
        }

        /// Headers near the valid ones: valid parts, mutated parts, and stray characters, so
        /// that both sides of every rule are exercised.
        fn near_header() -> impl Strategy<Value = String> {
            let part = |len: usize| {
                prop_oneof![
                    4 => prop::collection::vec(prop::sample::select(b"0123456789abcdef".to_vec()), len)
                        .prop_map(|b| String::from_utf8(b).unwrap()),
                    1 => Just("0".repeat(len)),
                    1 => prop::collection::vec(prop::sample::select(b"0123456789abcdefABCDEFgz -".to_vec()), len.saturating_sub(1)..=len + 1)
                        .prop_map(|b| String::from_utf8(b).unwrap()),
                ]
            };
            (
                prop_oneof![
                    Just("00".to_owned()),
                    Just("01".to_owned()),
                    Just("ff".to_owned()),
                    part(2)
                ],
                part(32),
                part(16),
                part(2),
                prop_oneof![
                    Just(String::new()),
                    Just("-".to_owned()),
                    "-[a-z0-9-]{0,8}",
                    Just(" ".to_owned())
                ],
                prop_oneof![Just(""), Just(" "), Just("\t")],
            )
                .prop_map(|(version, trace, parent, flags, tail, pad)| {
                    format!("{pad}{version}-{trace}-{parent}-{flags}{tail}{pad}")
                })
        }

        proptest! {
            #[test]
            fn arbitrary_text_never_panics(text in any::<String>()) {
                let _ = text.parse::<Traceparent>();
            }

            #[test]
            fn the_parser_agrees_with_the_w3c_rules(header in near_header()) {
                let parsed = header.parse::<Traceparent>();
                prop_assert_eq!(parsed.is_ok(), w3c_valid(&header), "{:?} gave {:?}", header, parsed);
                if let Ok(parsed) = parsed {
                    // What is accepted is the header's own ids.
                    let fields: Vec<&str> = header.trim().split('-').collect();
                    prop_assert_eq!(parsed.trace_id.to_string(), fields[1]);
                    prop_assert_eq!(parsed.parent_id.to_string(), fields[2]);
                    let flags = u8::from_str_radix(fields[3], 16).unwrap();
                    prop_assert_eq!(parsed.sampled, flags & 1 == 1);
                }
            }

            #[test]
            fn every_formatted_traceparent_parses_back(
                trace in 1u128..,
                parent in 1u64..,
                sampled in any::<bool>(),
            ) {
                let traceparent = Traceparent {
                    trace_id: TraceId::from_u128(trace).unwrap(),
                    parent_id: ObservationId::from_u64(parent).unwrap(),
                    sampled,
                };
                let header = traceparent.to_string();
                prop_assert!(w3c_valid(&header), "{}", header);
                prop_assert_eq!(header.len(), 55);
                prop_assert_eq!(header.parse::<Traceparent>(), Ok(traceparent));
            }

            #[test]
            fn one_changed_character_is_rejected_or_changes_the_value(
                trace in 1u128..,
                parent in 1u64..,
                position in 0usize..55,
                replacement in prop::sample::select(b"0123456789abcdefABCDEF-xz ".to_vec()),
            ) {
                let original = Traceparent {
                    trace_id: TraceId::from_u128(trace).unwrap(),
                    parent_id: ObservationId::from_u64(parent).unwrap(),
                    sampled: true,
                };
                let mut bytes = original.to_string().into_bytes();
                bytes[position] = replacement;
                let changed = String::from_utf8(bytes).unwrap();
                match changed.parse::<Traceparent>() {
                    Ok(parsed) => {
                        prop_assert!(w3c_valid(&changed), "{}", changed);
                        if changed != original.to_string() && position > 2 && position < 52 {
                            prop_assert_ne!(parsed, original);
                        }
                    }
                    Err(_) => prop_assert!(!w3c_valid(&changed), "{}", changed),
                }
            }
        }
    }
}
