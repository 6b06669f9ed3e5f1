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
//!
//! # Cargo features
//!
//! The package is `langfuse-rust` (`cargo add langfuse-rust`; the name `langfuse` is taken on
//! crates.io); its library is `langfuse`, the name code uses.
//!
//! | feature | what it adds |
//! | --- | --- |
//! | `rustls` (default) | HTTPS through rustls with the ring provider (no C toolchain beyond `cc`, no system libraries) |
//! | `rustls-aws-lc` | HTTPS through rustls with aws-lc-rs instead |
//! | `native-tls` | HTTPS through the platform's TLS (OpenSSL on Linux) |
//! | `testing` | `langfuse::testing`: an in-memory recorder for your tests (dev-dependencies only) |
//! | `tracing` | `langfuse::tracing`: `tracing` spans (axum, rig, genai...) as observations |
//! | `opentelemetry` | with `tracing`: observations join the trace of `tracing-opentelemetry` |
//! | `async-openai` | `langfuse::openai`: async-openai's calls as generations, with usage and time to first token |
//!
//! Without any TLS feature only `http://` endpoints work (a local OpenTelemetry Collector).
//!
//! # Stability
//!
//! This crate follows semantic versioning for everything it documents: the `#[observe]`
//! arguments, the functions, types and methods above and their behaviour, the configuration
//! variables. Before 1.0, a minor version (0.x) may break them, and the CHANGELOG says how.
//! The `__private` module is not part of that promise: it is what `#[observe]` expands to,
//! changes with every release, and must not be used directly; neither is the
//! `bench-internals` feature. The minimum supported Rust version is 1.88; raising it is a
//! minor change.

// docs.rs builds with `--cfg docsrs` and every feature: feature-gated items say which feature
// they need.
#![cfg_attr(docsrs, feature(doc_cfg))]
// The runtime crate names the bridge's feature `tracing-bridge`; users enable `tracing` here.
#![cfg_attr(docsrs, doc(auto_cfg(hide(feature = "tracing-bridge"))))]

pub use langfuse_core::*;
// Named here, so that docs.rs shows this crate's feature name for it.
#[cfg(feature = "tracing")]
#[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
pub use langfuse_core::tracing;
pub use langfuse_macros::observe;

/// The README's Rust examples, compiled and run as doctests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
