//! What `#[observe]` and the manual API call: a guard for synchronous functions, a future
//! wrapper for asynchronous ones, an observed stream, manual observations, and updates of the
//! current observation.
//!
//! Everything here starts in [`crate::context`] (which frame is current, the parent, ids,
//! sampling) and ends by handing a finished [`crate::model::Record`] to the collector. The
//! guards and wrappers are not a stable API; the macro's expansion is their only intended
//! caller. Manual observations and updates are public API.

mod future;
mod manual;
mod outcome;
mod stream;
mod sync;
mod update;

pub use future::{AsyncObservation, Observed};
pub use manual::{
    EnteredObservation, Observation, ObservationBuilder, create_event, start_observation,
};
pub use outcome::Outcome;
pub use stream::{ObservedStream, StreamItem};
pub use sync::{SyncObservation, call_once};
pub use update::{
    ObservationUpdate, PromptLink, update_current_generation, update_current_span,
    update_current_trace,
};

use crate::capture::{self, InputRecorder, Payload};
use crate::model::Descriptor;

pub(crate) fn wants_input(descriptor: &Descriptor) -> bool {
    capture::enabled(descriptor.capture_input)
}

pub(crate) fn wants_output(descriptor: &Descriptor) -> bool {
    capture::enabled(descriptor.capture_output)
}

pub(crate) fn record_input(
    descriptor: &Descriptor,
    capture: impl FnOnce(&mut InputRecorder),
) -> Option<Payload> {
    if !wants_input(descriptor) {
        return None;
    }
    let mut input = InputRecorder::new(capture::max_bytes());
    capture(&mut input);
    Some(input.into_payload())
}
