//! The few configuration values the hot path reads, kept in atomics so that reading them
//! costs one relaxed load and no lock.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::config::Config;
use crate::observation::CaptureSetting;
use crate::{collector, sampling};

static IO_CAPTURE_DEFAULT: AtomicBool = AtomicBool::new(true);
static CAPTURE_MAX_BYTES: AtomicUsize = AtomicUsize::new(32 * 1024);

/// Publishes a configuration's hot-path settings.
pub(crate) fn apply(config: &Config) {
    IO_CAPTURE_DEFAULT.store(config.io_capture_enabled(), Ordering::Relaxed);
    CAPTURE_MAX_BYTES.store(config.capture_max_bytes(), Ordering::Relaxed);
    sampling::set_rate(config.sample_rate());
    collector::global().configure(
        config.max_queue_size(),
        config.max_queue_bytes(),
        config.thread_buffer_size(),
    );
}

/// Whether a function's input or output is captured.
#[inline]
pub(crate) fn capture_enabled(setting: CaptureSetting) -> bool {
    match setting {
        CaptureSetting::On => true,
        CaptureSetting::Off => false,
        CaptureSetting::Inherit => IO_CAPTURE_DEFAULT.load(Ordering::Relaxed),
    }
}

/// The byte budget of one captured field.
#[inline]
pub(crate) fn capture_max_bytes() -> usize {
    CAPTURE_MAX_BYTES.load(Ordering::Relaxed)
}
