//! The atomics of the lock-free hand-off protocols ([`crate::collector::handoff`]): std's in
//! every build, loom's when the crate is compiled with `--cfg langfuse_loom` to model-check
//! them. The cfg has the crate's own name rather than the customary `loom` because
//! `RUSTFLAGS` reach every dependency, and tokio compiled with `--cfg loom` leaves out
//! `tokio::net`, which hyper-util (under reqwest) needs: the build would fail.
//!
//! ```text
//! RUSTFLAGS="--cfg langfuse_loom" cargo test -p langfuse-rust-core --release --lib loom
//! ```

#[cfg(langfuse_loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
#[cfg(not(langfuse_loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
