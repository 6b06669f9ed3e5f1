//! What to capture and how much: the configuration's capture default and byte budget, kept in
//! atomics so that the hot path reads them with one relaxed load and no lock.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Whether to capture a function's input or output: the macro's `capture_input` /
/// `capture_output`, or `Inherit` to follow `LANGFUSE_OBSERVE_DECORATOR_IO_CAPTURE_ENABLED`.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureSetting {
    /// Follow the configuration's default.
    Inherit,
    /// Always capture.
    On,
    /// Never capture.
    Off,
}

use crate::config::defaults;

static IO_CAPTURE_DEFAULT: AtomicBool = AtomicBool::new(defaults::IO_CAPTURE_ENABLED);
static MAX_BYTES: AtomicUsize = AtomicUsize::new(defaults::CAPTURE_MAX_BYTES);

/// Publishes the configuration's capture default and byte budget.
pub(crate) fn configure(io_capture_default: bool, max_bytes: usize) {
    IO_CAPTURE_DEFAULT.store(io_capture_default, Ordering::Relaxed);
    MAX_BYTES.store(max_bytes, Ordering::Relaxed);
}

/// Whether a function's input or output is captured.
#[inline]
pub(crate) fn enabled(setting: CaptureSetting) -> bool {
    match setting {
        CaptureSetting::On => true,
        CaptureSetting::Off => false,
        CaptureSetting::Inherit => IO_CAPTURE_DEFAULT.load(Ordering::Relaxed),
    }
}

/// The byte budget of one captured field.
#[inline]
pub(crate) fn max_bytes() -> usize {
    MAX_BYTES.load(Ordering::Relaxed)
}
