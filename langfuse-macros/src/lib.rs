//! `#[observe]`: see the `langfuse` crate.
