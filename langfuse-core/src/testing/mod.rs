//! Testing your instrumented code: record what it traces, in memory, and assert on it.
//!
//! Enable the `testing` feature in your dev-dependencies:
//!
//! ```toml
//! [dev-dependencies]
//! langfuse-rust = { version = "0.1", features = ["testing"] }
//! ```
//!
//! Then run the code under test with [`record`] (a closure), [`record_async`] (a future) or a
//! [`Recorder`], and assert on the [`Recording`] it returns: the tree of observations, their
//! names, types, levels, input and output, metadata, model, usage, cost, trace attributes,
//! and the scores given.
//!
//! ```
//! use langfuse_core::{ObservationType, testing};
//!
//! fn answer(question: &str) -> String {
//!     let mut generation = langfuse_core::start_observation("llm")
//!         .as_type(ObservationType::Generation)
//!         .start();
//!     generation.update(|g| {
//!         g.model("gpt-4o-mini")
//!             .usage_details(&serde_json::json!({ "input": 12, "output": 3 }));
//!     });
//!     generation.end();
//!     format!("an answer to {question}")
//! }
//!
//! let recording = testing::record(|| answer("What is Langfuse?"));
//! let llm = recording.one("llm");
//! assert_eq!(llm.kind(), ObservationType::Generation);
//! assert_eq!(llm.model(), Some("gpt-4o-mini"));
//! assert_eq!(llm.usage().unwrap()["input"], 12);
//! ```
//!
//! # What is recorded
//!
//! Every trace that *starts* under the recorder, with all its observations, on whatever
//! thread or task they end, as long as the context travels there (see
//! [`spawn`](crate::spawn)); nothing started elsewhere. So tests that run at the same time on
//! `cargo test`'s threads each see only their own traces, and nothing needs a client, keys,
//! a network or a global setup. A recorded trace never reaches the exporter, is kept
//! whatever the sampling rate, and is not counted in [`Stats`](crate::Stats). Scores about
//! those traces are recorded too, and so are scores about no trace (a session, a dataset run:
//! an experiment's run scores) given by the recorder's own code.
//!
//! What a [`RecordedObservation`] holds is the span the exporter would have encoded, built
//! by the same attribute mapping, after the same masking and within the same capture budget:
//! a test that passes here describes what Langfuse will show.
//!
//! # Cost
//!
//! The feature adds a branch to the start and end of every observation, and while a recorder
//! is open every observation in the process looks up whether it belongs to one. Enable it in
//! dev-dependencies only, never in the build you ship.

mod observation;
mod prompt_clock;
mod recorder;
mod recording;
mod score;

use std::future::Future;

pub use observation::{AttributeValue, RecordedObservation};
pub use prompt_clock::PromptClock;
pub use recorder::{Recorded, Recorder};
pub use recording::Recording;
pub use score::RecordedScore;

/// Runs `f` under a new [`Recorder`] and returns what the traces it started recorded (`f`'s
/// own result is dropped: use [`Recorder::in_scope`] to keep it).
///
/// ```
/// let recording = langfuse_core::testing::record(|| {
///     langfuse_core::start_observation("work").start().end();
/// });
/// assert_eq!(recording.outline(), "work\n");
/// ```
pub fn record<R>(f: impl FnOnce() -> R) -> Recording {
    let recorder = Recorder::new();
    drop(recorder.in_scope(f));
    recorder.recording()
}

/// Runs `future` under a new [`Recorder`] and returns what the traces it started recorded
/// (the future's output is dropped: use [`Recorder::instrument`] to keep it).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let recording = langfuse_core::testing::record_async(async {
///     langfuse_core::start_observation("work").start().end();
/// })
/// .await;
/// assert_eq!(recording.len(), 1);
/// # }
/// ```
pub async fn record_async<F: Future>(future: F) -> Recording {
    let recorder = Recorder::new();
    drop(recorder.instrument(future).await);
    recorder.recording()
}
