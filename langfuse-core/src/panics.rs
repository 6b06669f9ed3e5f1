//! The message of the panic unwinding each thread, for the status of the observations it
//! unwinds through.
//!
//! Only a panic hook sees the message, and it runs before unwinding starts: the hook installed
//! here stashes the message in a thread-local, where an observation's guard finds it, then
//! calls the hook that was installed before. It is installed when the SDK starts recording
//! (`init()`, the first observation before it, or a test recorder).

use std::cell::RefCell;
use std::sync::Once;

/// Longest message kept, in bytes.
const MAX_MESSAGE_BYTES: usize = 1024;

thread_local! {
    static MESSAGE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Chains the hook, once per process. The previous hook still runs.
pub(crate) fn install_hook() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .map(truncated);
            // Set even when there is no message: a panic caught earlier on this thread (a
            // `Serialize` impl during capture, the application's own `catch_unwind`) must not
            // lend its message to this one.
            let _ = MESSAGE.try_with(|stash| {
                if let Ok(mut stash) = stash.try_borrow_mut() {
                    *stash = message;
                }
            });
            previous(info);
        }));
    });
}

/// The message of the latest panic on this thread, if the hook saw one.
pub(crate) fn message() -> Option<String> {
    MESSAGE
        .try_with(|stash| stash.try_borrow().ok().and_then(|m| m.clone()))
        .ok()
        .flatten()
}

fn truncated(mut message: String) -> String {
    if message.len() > MAX_MESSAGE_BYTES {
        let mut cut = MAX_MESSAGE_BYTES;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_are_cut_on_a_character_boundary() {
        let message = "é".repeat(MAX_MESSAGE_BYTES);
        let cut = truncated(message);
        assert!(cut.len() <= MAX_MESSAGE_BYTES);
        assert!(cut.chars().all(|c| c == 'é'));
    }

    #[test]
    fn the_hook_stashes_the_message_of_this_thread() {
        install_hook();
        let _ = std::panic::catch_unwind(|| panic!("boom {}", 7));
        assert_eq!(message().as_deref(), Some("boom 7"));
        std::thread::spawn(|| assert_eq!(message(), None))
            .join()
            .unwrap();
    }
}
