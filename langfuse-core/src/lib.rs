//! Runtime of the [`langfuse`](https://docs.rs/langfuse) crate: context propagation,
//! thread-local recording and the exporter thread.
//!
//! Use the `langfuse` crate: it re-exports everything here together with `#[observe]`,
//! whose expansion calls into this crate through `__private`.
//!
//! # Threads and runtimes
//!
//! Recording an observation touches only the current thread: a clock read, a few ids from a
//! thread-local generator, and a push into the thread's own ring buffer. One dedicated OS
//! thread, `langfuse-exporter`, drains those buffers and ships batches with its own
//! current-thread tokio runtime and its own HTTP client. It never runs on, and never waits
//! for, the application's runtime; flushing and shutting down are safe from any thread,
//! inside any runtime (current-thread included), and always return by their deadline.

#![warn(missing_docs)]

mod attributes;
mod bench;
mod capture;
mod client;
mod clock;
mod collector;
pub mod config;
mod context;
mod export;
mod ids;
mod instrument;
mod links;
mod manual;
mod observation;
mod sampling;
mod scores;
mod settings;
mod state;
mod stats;
mod stream;
mod sync;
mod task;
mod traceparent;
mod update;

pub use client::{Error, Langfuse, LangfuseGuard, get_client, init};
pub use config::{Compression, Config, ConfigBuilder, ConfigError, DisabledReason, ExporterKind};
pub use ids::create_trace_id;
pub use links::{current_trace_url, trace_url};
pub use manual::{
    EnteredObservation, Observation, ObservationBuilder, create_event, start_observation,
};
pub use observation::{
    Level, ObservationId, ObservationType, ParseIdError, TraceAttributes, TraceId,
    UnknownObservationType,
};
pub use scores::{Score, create_score, score_current_span, score_current_trace};
pub use stats::{FlushReport, Stats};
pub use task::{
    EnteredContext, ObservationContext, ObservationExt, WithContext, current_context, spawn,
};
pub use traceparent::{
    IntoParent, TRACEPARENT_HEADER, Traceparent, TraceparentError, continue_trace,
    current_traceparent,
};
pub use update::{
    AttributesScope, ObservationUpdate, propagate_attributes, update_current_generation,
    update_current_span, update_current_trace,
};

/// The id of the trace the current observation belongs to, if one is running and recorded.
///
/// ```
/// assert!(langfuse_core::current_trace_id().is_none());
/// ```
pub fn current_trace_id() -> Option<TraceId> {
    context::current_parent()
        .filter(|p| p.sampled)
        .map(|p| p.trace_id)
}

/// The id of the current observation, if one is running and recorded.
///
/// ```
/// assert!(langfuse_core::current_observation_id().is_none());
/// ```
pub fn current_observation_id() -> Option<ObservationId> {
    context::current_parent()
        .filter(|p| p.sampled)
        .map(|p| p.id)
}

#[doc(hidden)]
pub mod __private {
    //! What `#[observe]` expands to. Not a stable API: only the macro may use it.

    pub use crate::capture::{InputRecorder, JsonSink, TextSink, Wrap};
    pub use crate::instrument::{
        AsyncObservation, Observed, Outcome, OutcomeToken, SyncObservation, call_once,
    };
    pub use crate::observation::{CaptureSetting, Descriptor, ObservationType};
    pub use crate::stream::{ObservedStream, StreamItem};
    pub use crate::traceparent::IntoParent;

    /// Switches for benchmarks that compare states within one process. Not for production:
    /// use the configuration.
    pub mod bench {
        pub use crate::bench::{Encoder, SyntheticRecords, WireSize};

        /// Turns recording on or off, as a disabled configuration would.
        pub fn set_recording(on: bool) {
            use crate::state::{self, State};
            state::set(if on { State::Enabled } else { State::Disabled });
        }

        /// Changes the sampling rate of new traces.
        pub fn set_sample_rate(rate: f64) {
            crate::sampling::set_rate(rate);
        }
    }

    /// The traits that pick how a value is captured (see `capture`), glob-imported by the
    /// expansion.
    pub mod autoref {
        pub use crate::capture::{
            CaptureViaDebug as _, CaptureViaSerialize as _, CaptureViaTypeName as _,
            DescribeViaDebug as _, DescribeViaDisplay as _, DescribeViaTypeName as _,
            SplitPlain as _, SplitResult as _,
        };
    }
}
