//! Trace Rust services into [Langfuse](https://langfuse.com): annotate functions with
//! [`#[observe]`](macro@observe), set three environment variables, and every request becomes
//! a Langfuse trace of nested observations, at a cost of tens of nanoseconds per observation.
//!
//! ```no_run
//! use langfuse::observe;
//!
//! #[observe(as_type = "retriever")]
//! async fn retrieve(question: &str) -> Vec<String> {
//!     vec![format!("a document about {question}")]
//! }
//!
//! #[observe]
//! async fn answer(question: String) -> Result<String, std::io::Error> {
//!     let documents = retrieve(&question).await; // a child of `answer`
//!     Ok(format!("{} documents", documents.len()))
//! }
//!
//! #[tokio::main]
//! async fn main() {
//!     // Reads LANGFUSE_PUBLIC_KEY, LANGFUSE_SECRET_KEY and LANGFUSE_BASE_URL.
//!     let _langfuse = langfuse::init().expect("valid LANGFUSE_* configuration");
//!     answer("What is Langfuse?".into()).await.unwrap();
//! } // dropping the guard flushes what is queued
//! ```
//!
//! # How it works
//!
//! `#[observe]` expands at compile time into a start and an end call around the function body
//! (see the macro's documentation, or `cargo expand`). Starting an observation reads the
//! parent from a thread-local context, draws ids and reads the clock; ending it pushes a
//! fixed-size record into the thread's own ring buffer. A dedicated exporter thread drains
//! the buffers, encodes OTLP, compresses and ships to Langfuse's
//! `/api/public/otel/v1/traces`, with retries and a bounded queue whose every drop is counted
//! in [`Stats`].
//!
//! Async functions carry their observation inside their future, so the context follows the
//! task across `.await` and across worker threads. Context does **not** follow
//! `tokio::spawn` or `std::thread::spawn` by itself: use [`spawn`],
//! [`ObservationExt::in_current_observation`] or [`current_context`].
//!
//! # Prompts
//!
//! [`get_prompt`] fetches prompts managed in Langfuse through a cache that never stalls a
//! request: a fresh hit costs no I/O and no lock, an expired prompt is served at once and
//! refreshed in the background, a miss waits a bounded time for one shared request, and an
//! outage serves the last good version (see [`prompts`]). Link a prompt to the generation
//! that used it with [`ObservationUpdate::prompt`].
//!
//! # Datasets and experiments
//!
//! [`datasets`] reads and writes Langfuse datasets; [`experiments`] runs a task over one (or
//! over local items), scores every output and writes the run as Langfuse v4's Experiments view
//! reads it, with a quality gate for CI ([`experiments::ExperimentResult::assert_average`]).
//!
//! # Configuration
//!
//! The same environment variables as the Python SDK (see [`config`]), or
//! [`Langfuse::builder`] in code. Without keys, tracing is disabled (one warning) and an
//! observation costs about a nanosecond. `LANGFUSE_EXPORTER=console` prints traces to stderr
//! instead of shipping them.

pub use langfuse_core::*;
pub use langfuse_macros::observe;

/// The README's Rust examples, compiled and run as doctests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
