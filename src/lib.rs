//! Trace Rust services into Langfuse.
pub use langfuse_core::*;
