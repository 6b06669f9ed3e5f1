//! Runtime of the [`langfuse`](https://docs.rs/langfuse) crate. Use `langfuse` itself: this
//! crate's API is re-exported there, and `#[observe]` expands to calls into it.

#![warn(missing_docs)]

mod clock;
pub mod config;
pub(crate) mod export;
mod observation;

pub use observation::{
    Level, ObservationId, ObservationType, ParseIdError, TraceId, UnknownObservationType,
};

#[doc(hidden)]
pub mod __private {
    pub use crate::observation::{CaptureSetting, Descriptor, ObservationType};
}
