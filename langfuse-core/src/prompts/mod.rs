//! Prompt management: prompts kept in Langfuse, fetched on the request path, served from a
//! cache that never stalls a request.
//!
//! ```no_run
//! use langfuse_core::{ChatMessage, Variables};
//!
//! # async fn handler(ticket: &str) -> Result<(), Box<dyn std::error::Error>> {
//! let prompt = langfuse_core::get_prompt("support/triage")
//!     .chat()
//!     .fallback([ChatMessage::system("Triage this ticket.")])
//!     .await?;
//! let messages = prompt.compile_strict(Variables::new().set("ticket", ticket))?;
//! // ... call the model with `messages` inside an observed generation, and link it:
//! langfuse_core::update_current_generation(|g| {
//!     g.prompt(&prompt);
//! });
//! # let _ = messages;
//! # Ok(())
//! # }
//! ```
//!
//! # Fetching
//!
//! [`Langfuse::get_prompt`](crate::Langfuse::get_prompt) (or [`get_prompt`](crate::get_prompt)
//! on the process' client) makes a [`GetPrompt`]: `.version(n)` or `.label(l)` (default
//! `production`), `.cache_ttl(d)`, `.fallback(..)`, `.max_retries(n)`, `.fetch_timeout(d)`,
//! then `.await` (any executor) or `.blocking()` (sync code, inside or outside a runtime).
//! It asks `GET /api/public/v2/prompts/{name}?label=...` (or `?version=...`), the name
//! percent-encoded as one segment, so folders (`support/triage`) work.
//!
//! # The cache
//!
//! Keyed as in the Python SDK: name and version if a version is asked for, else name and
//! label. Per key:
//!
//! | state | what a call does |
//! | --- | --- |
//! | fresh (fetched less than the TTL ago) | returns it: no I/O, no lock, a few tens of nanoseconds (see BENCHMARKS.md) |
//! | stale | returns it at once, and refreshes it in the background: one request per key however many callers ask, on the SDK's thread |
//! | not cached | waits for one shared request, at most the fetch timeout times the attempts; concurrent callers share it |
//! | the server fails (down, slow, 5xx) | the last good version keeps being served, one warning a minute; a new attempt no sooner than 1 s after the failure, doubling to a minute |
//! | the server answers 404 | the cached version is evicted (a removed label is not served forever) |
//! | nothing cached and the fetch fails | the fallback if given (flagged [`is_fallback`](Prompt::is_fallback), never cached, never linked to a generation), else a [`PromptError`]; right after a failure, a caller with a fallback gets it without waiting |
//! | `create_prompt`, `update_prompt_labels` | every cached version of that name (and of no other) is invalidated: the next call waits for the server's version, and serves the old one only if that fails |
//!
//! The TTL is `LANGFUSE_PROMPT_CACHE_DEFAULT_TTL_SECONDS` (60 s) unless a call gives its
//! own; zero means every call waits for the server. [`ConfigBuilder::prefetch_prompts`](crate::ConfigBuilder::prefetch_prompts)
//! loads prompts while the client starts.
//!
//! # Threads
//!
//! Fetches run on one thread of the SDK's, `langfuse-prompts`, with its own current-thread
//! tokio runtime, started the first time a prompt is fetched: never on the caller's runtime,
//! never on the exporter's thread (a prompt fetch never delays span export, nor waits behind
//! it). A waiting caller's deadline is kept there too, so `.await` works on any executor and
//! `.blocking()` never needs, nor blocks, a runtime.
//!
//! # Compiling
//!
//! [`TextPrompt::compile`] and [`ChatPrompt::compile`] substitute `{{variables}}` by the
//! Python SDK's rules (see [`Variables`]); chat placeholders expand to message lists.
//! `compile_strict` returns a [`CompileError`] naming every missing and every unused
//! variable.
//!
//! # In Langfuse
//!
//! A prompt fetch is not an observation: nothing is traced for it. Link the prompt to the
//! generation that used it with [`ObservationUpdate::prompt`](crate::ObservationUpdate::prompt),
//! which records its name and version (`langfuse.observation.prompt.name` and `.version`); a
//! fallback links nothing.

mod builder;
mod cache;
pub(crate) mod clock;
mod compile;
mod error;
mod fetch;
mod manager;
mod types;

pub use builder::{CreatePrompt, GetPrompt, PromptFuture, UpdatePromptLabels, WriteFuture};
pub use compile::{CompileError, Variables};
pub use error::PromptError;
pub use types::{
    ChatItem, ChatMessage, ChatPrompt, FromPrompt, Prompt, PromptContent, PromptType, TextPrompt,
};

pub(crate) use builder::Access;
pub(crate) use manager::{PromptManager, Settings};
