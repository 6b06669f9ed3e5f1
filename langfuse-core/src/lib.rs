//! Runtime of the [`langfuse`](https://docs.rs/langfuse-rust) crate: context propagation,
//! thread-local recording and the exporter thread.
//!
//! Use the `langfuse` crate: it re-exports everything here together with `#[observe]`,
//! whose expansion calls into this crate through `__private`.
//!
//! # The path of one observation
//!
//! ```text
//!  compile time  #[observe] fn ...            langfuse-macros/src/expand.rs
//!                      |
//!  hot path      start / end guards            observe/     sync.rs, future.rs, stream.rs
//!  (the calling        |
//!   thread only) parent, ids, sampling         context/     local.rs, frame.rs
//!                      |
//!                the record it fills           model/       record.rs
//!                      |
//!                the thread's own ring  ---->  collector/   mod.rs, handoff.rs
//!                                                  |
//!  exporter      drain, batch, mask  <-------------+        export/worker.rs, mask.rs
//!  thread              |
//!                the Langfuse attributes       export/      attributes.rs
//!                      |
//!                OTLP protobuf + gzip          export/      otlp.rs
//!                      |
//!                HTTP POST, retries            export/      transport.rs
//!                      v
//!                /api/public/otel/v1/traces
//! ```
//!
//! Each folder is a layer that uses only the layers before it in this list (a test,
//! `tests/layering.rs`, keeps it so):
//!
//! | layer | holds |
//! | --- | --- |
//! | [`config`] | every setting, environment variable and default |
//! | `clock`, `capture/` | the hot path's clock; bounded capture of arguments and results |
//! | `model/` | ids, kinds, levels, the record, trace attributes, stats |
//! | `sampling` | the head-sampling rule |
//! | `panics` | the message of the panic unwinding a thread, from a chained hook |
//! | `collector/` | thread-local rings, the bounded shared queue, the counters |
//! | `lifecycle` | whether the SDK records, the decision before `init()`, refusals |
//! | `context/` | the current observation per thread: begin, end, scopes, spawn, `traceparent` |
//! | `scores/` | scores and their queue |
//! | `observe/` | what `#[observe]` and the manual API call |
//! | `export/` | the exporter thread: masking, OTLP, HTTP, console, scores |
//! | [`datasets`] | the datasets API: datasets, items, lazy paging, typed errors |
//! | [`prompts`] | prompt management: the prompt types and compile, the cache, the fetches on their own thread |
//! | `client/` | `init`, the client handle, flush, shutdown, stats, trace URLs, datasets, the process' prompts |
//! | [`experiments`] | `run_experiment`: items under traces, evaluators, scores, progress |
//! | `testing/` | the in-memory recorder for tests (feature `testing`) |
//! | `bridge/` | the `tracing` layer (feature `tracing-bridge`; `langfuse::tracing`) |
//! | `openai/` | async-openai's calls as generations (feature `async-openai`) |
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
// docs.rs builds with `--cfg docsrs` and every feature: feature-gated items say which feature
// they need.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(docsrs, doc(auto_cfg(hide(feature = "tracing-bridge"))))]

// In layer order: each module uses only those above it (tests/layering.rs). Each layer is a
// paragraph of its own, so that rustfmt keeps the order.
pub mod config;

mod clock;

mod capture;

mod model;

mod sampling;

mod panics;

mod collector;

mod lifecycle;

mod context;

mod scores;

mod observe;

mod export;

pub mod datasets;

pub mod prompts;

mod client;

pub mod experiments;

#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;

// Integrations, above every layer they use. The bridge's folder is `bridge/` (its layer's
// name); its public path is `tracing`.
// The badge names the `langfuse` crate's feature, `tracing` (this crate's is `tracing-bridge`).
#[cfg(feature = "tracing-bridge")]
#[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
#[path = "bridge/mod.rs"]
pub mod tracing;

#[cfg(feature = "async-openai")]
#[cfg_attr(docsrs, doc(cfg(feature = "async-openai")))]
pub mod openai;

pub use client::{
    Error, FirstCall, Langfuse, LangfuseGuard, current_trace_url, get_client, get_prompt, init,
    trace_url,
};
pub use config::{Compression, Config, ConfigBuilder, ConfigError, DisabledReason, ExporterKind};
pub use context::{
    AttributesScope, EnteredContext, IntoParent, ObservationContext, ObservationExt,
    TRACEPARENT_HEADER, Traceparent, TraceparentError, WithContext, continue_trace,
    current_context, current_observation_id, current_trace_id, current_traceparent,
    propagate_attributes, spawn,
};
pub use model::{
    FlushReport, Level, ObservationId, ObservationType, ParseIdError, Stats, TraceAttributes,
    TraceId, UnknownObservationType, create_trace_id,
};
pub use observe::{
    EnteredObservation, Observation, ObservationBuilder, ObservationUpdate, PromptLink,
    create_event, start_observation, update_current_generation, update_current_span,
    update_current_trace,
};
pub use prompts::{
    ChatItem, ChatMessage, ChatPrompt, CompileError, CreatePrompt, GetPrompt, Prompt,
    PromptContent, PromptError, PromptType, TextPrompt, UpdatePromptLabels, Variables,
};
pub use scores::{Score, create_score, score_current_span, score_current_trace};

#[doc(hidden)]
pub mod __private {
    //! What `#[observe]` expands to. Not a stable API: only the macro may use it.

    pub use crate::capture::{CaptureSetting, InputRecorder, JsonSink, TextSink, Wrap};
    pub use crate::context::IntoParent;
    pub use crate::model::{Descriptor, ObservationType};
    pub use crate::observe::{
        AsyncObservation, Observed, ObservedStream, Outcome, StreamItem, SyncObservation, call_once,
    };

    /// Switches for this repository's benchmarks, which compare states within one process.
    /// Not for production (use the configuration), and not a stable API.
    #[cfg(feature = "bench-internals")]
    pub mod bench {
        pub use crate::export::bench::{Encoder, SyntheticRecords, WireSize};

        /// Turns recording on or off, as a disabled configuration would.
        pub fn set_recording(on: bool) {
            use crate::lifecycle::{self, State};
            lifecycle::set(if on { State::Enabled } else { State::Disabled });
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
