//! Whether the SDK records: the one atomic every observation reads first.
//!
//! `Uninit` lasts until `init()` (or the first observation, which decides from the
//! environment alone, so that a library annotated with `#[observe]` costs nothing in a program
//! that never configured Langfuse).

use std::sync::atomic::{AtomicU8, Ordering};

const UNINIT: u8 = 0;
const ENABLED: u8 = 1;
const DISABLED: u8 = 2;
const SHUTTING_DOWN: u8 = 3;
const SHUT_DOWN: u8 = 4;

static STATE: AtomicU8 = AtomicU8::new(UNINIT);

/// The lifecycle of the process-wide client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// Not configured yet.
    Uninit,
    /// Recording.
    Enabled,
    /// Not recording (no keys, tracing disabled, or a bad configuration).
    Disabled,
    /// Shutdown started: new observations are refused, open ones may still end and be sent.
    ShuttingDown,
    /// The exporter is gone: nothing is accepted.
    ShutDown,
}

impl State {
    fn to_u8(self) -> u8 {
        match self {
            Self::Uninit => UNINIT,
            Self::Enabled => ENABLED,
            Self::Disabled => DISABLED,
            Self::ShuttingDown => SHUTTING_DOWN,
            Self::ShutDown => SHUT_DOWN,
        }
    }

    fn from_u8(v: u8) -> Self {
        match v {
            UNINIT => Self::Uninit,
            ENABLED => Self::Enabled,
            DISABLED => Self::Disabled,
            SHUTTING_DOWN => Self::ShuttingDown,
            _ => Self::ShutDown,
        }
    }
}

/// The current state.
pub(crate) fn get() -> State {
    State::from_u8(STATE.load(Ordering::Acquire))
}

/// Moves to `state`.
pub(crate) fn set(state: State) {
    STATE.store(state.to_u8(), Ordering::Release);
}

/// Moves from `from` to `to` if the state is still `from`.
pub(crate) fn transition(from: State, to: State) -> bool {
    STATE
        .compare_exchange(
            from.to_u8(),
            to.to_u8(),
            Ordering::AcqRel,
            Ordering::Acquire,
        )
        .is_ok()
}

/// Whether a new observation should be recorded. One relaxed load on the hot path.
#[inline(always)]
pub(crate) fn starts_allowed() -> bool {
    match STATE.load(Ordering::Relaxed) {
        ENABLED => true,
        // Disabled is the other steady state: answer it without a call.
        DISABLED => false,
        s => refused(s),
    }
}

/// Whether a finished observation can still be handed to the exporter.
#[inline(always)]
pub(crate) fn ends_accepted() -> bool {
    STATE.load(Ordering::Relaxed) != SHUT_DOWN
}

#[cold]
#[inline(never)]
fn refused(s: u8) -> bool {
    match s {
        UNINIT => crate::client::decide_before_init(),
        SHUTTING_DOWN | SHUT_DOWN => {
            crate::collector::count_refused_after_shutdown();
            false
        }
        // Anything else (Disabled, raced in) records nothing.
        _ => false,
    }
}
