//! Observations a panic unwinds through end with level ERROR and the panic's message (which
//! the hook of `crate::panics` stashed).

use super::frame::Frame;
use super::local::Local;
use crate::model::{Level, Record};
use crate::panics;

/// Marks an observation failed by a panic, with the panic's message when the hook saw it.
pub(crate) fn fail_from_panic(observation: &mut Record) {
    fail_with_panic_message(observation, panics::message());
}

fn fail_with_panic_message(observation: &mut Record, message: Option<String>) {
    observation.fail(Level::Error, || match message {
        Some(m) => format!("panicked: {m}"),
        None => "panicked".to_owned(),
    });
}

/// Marks the observation at `depth`, which a panic is unwinding through, failed.
#[cold]
pub(super) fn mark_unwound(local: &mut Local, depth: usize) {
    let message = panics::message();
    if let Some(observation) = local.frame_at(depth).and_then(Frame::observation) {
        fail_with_panic_message(observation, message);
    }
}
