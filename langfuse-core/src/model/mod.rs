//! The vocabulary every layer above speaks: ids, observation kinds and levels, the static
//! descriptor `#[observe]` emits, the record an observation fills, trace-level attributes,
//! and the counters the client reports.
//!
//! Plain data: nothing here records, queues or exports.

mod descriptor;
mod ids;
mod kind;
mod record;
mod stats;
mod trace_attributes;
mod usage;

pub use descriptor::Descriptor;
pub use ids::{ObservationId, ParseIdError, TraceId, create_trace_id};
pub use kind::{Level, ObservationType, UnknownObservationType};
pub(crate) use record::{GenerationData, ObservationData, Record, flags};
pub use stats::{FlushReport, Stats};
pub(crate) use trace_attributes::ExperimentAttributes;
#[cfg(feature = "testing")]
pub(crate) use trace_attributes::Route;
pub use trace_attributes::TraceAttributes;
#[cfg(feature = "tracing-bridge")]
pub(crate) use usage::TokenCounts;
pub(crate) use usage::normalize as normalize_usage;
