//! Observations a panic unwinds through end with level ERROR and the panic's message.
//!
//! The message is only known to the panic hook, which runs before unwinding starts: the hook
//! stashes it in the thread's state, where the observation's guard finds it.

use std::sync::Once;

use super::frame::Frame;
use super::local::{Local, with_local};
use crate::model::{Level, Record};

/// Chains a panic hook that stashes the panic message for the observation unwinding on this
/// thread, so its status says why it failed. The previous hook still runs.
pub(crate) fn install_panic_hook() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| info.payload().downcast_ref::<String>().cloned());
            let message = message.map(|mut message| {
                if message.len() > 1024 {
                    let mut cut = 1024;
                    while !message.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    message.truncate(cut);
                }
                message
            });
            // Set even when there is no message: a panic caught earlier on this thread (a
            // `Serialize` impl during capture, the application's own `catch_unwind`) must not
            // lend its message to this one.
            with_local(|local| local.panic_message = message);
            previous(info);
        }));
    });
}

/// Marks an observation failed by a panic, with the panic's message when the hook saw it.
pub(crate) fn fail_from_panic(local: &Local, observation: &mut Record) {
    fail_with_panic_message(observation, local.panic_message.clone());
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
    let message = local.panic_message.clone();
    if let Some(observation) = local.frame_at(depth).and_then(Frame::observation) {
        fail_with_panic_message(observation, message);
    }
}
