//! Whether the SDK records: the one atomic every observation reads first, the decision an
//! observation makes when nothing was configured yet, and the count of work refused after
//! shutdown.
//!
//! `Uninit` lasts until `init()` (or the first observation, which decides from the
//! environment alone, so that a library annotated with `#[observe]` costs nothing in a program
//! that never configured Langfuse).

use std::sync::Once;
#[cfg(feature = "testing")]
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

use crate::config::Config;
use crate::{capture, collector, panics, sampling};

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

/// Whether the SDK records now.
pub(crate) fn is_enabled() -> bool {
    get() == State::Enabled
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
///
/// With the `testing` feature, `true` can also mean "a test recorder is open somewhere": the
/// context then records only the traces started under one (see `context::tap`).
#[inline(always)]
pub(crate) fn starts_allowed() -> bool {
    match STATE.load(Ordering::Relaxed) {
        ENABLED => true,
        // Disabled is the other steady state: answer it without a call.
        #[cfg(not(feature = "testing"))]
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
    let globally = match s {
        UNINIT => decide_before_init(),
        SHUTTING_DOWN | SHUT_DOWN => {
            #[cfg(feature = "testing")]
            if recorders_open() {
                return true;
            }
            count_refused_after_shutdown();
            false
        }
        // Anything else (Disabled, raced in) records nothing.
        _ => false,
    };
    #[cfg(feature = "testing")]
    if !globally {
        return recorders_open();
    }
    globally
}

/// Test recorders open now (`testing` feature): while there is one, observations start even
/// when the SDK does not record, and the context keeps those started under a recorder.
#[cfg(feature = "testing")]
static RECORDERS: AtomicUsize = AtomicUsize::new(0);

/// Counts a test recorder opening.
#[cfg(feature = "testing")]
pub(crate) fn recorder_opened() {
    RECORDERS.fetch_add(1, Ordering::AcqRel);
}

/// Counts a test recorder closing.
#[cfg(feature = "testing")]
pub(crate) fn recorder_closed() {
    RECORDERS.fetch_sub(1, Ordering::AcqRel);
}

/// Whether a test recorder is open.
#[cfg(feature = "testing")]
#[inline]
pub(crate) fn recorders_open() -> bool {
    RECORDERS.load(Ordering::Relaxed) != 0
}

/// Whether new work that is not an observation (a score) is taken now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Recording: take it.
    Accept,
    /// Not recording (no keys, tracing disabled, or a bad configuration): ignore it.
    Disabled,
    /// Shutdown has begun: refuse it, visibly.
    AfterShutdown,
}

/// Whether new work is taken now. Before `init()`, decides from the environment as the first
/// observation would: work given before `init()` waits in the queues if there are keys.
pub(crate) fn admission() -> Admission {
    match get() {
        State::Enabled => Admission::Accept,
        State::Uninit if decide_before_init() => Admission::Accept,
        State::Uninit | State::Disabled => Admission::Disabled,
        State::ShuttingDown | State::ShutDown => Admission::AfterShutdown,
    }
}

/// Called by the first observation when nothing was configured yet: records (into bounded
/// buffers, shipped once `init()` runs) if the environment has keys, otherwise disables
/// recording so that an unconfigured program pays nothing.
#[cold]
pub(crate) fn decide_before_init() -> bool {
    static DECIDED: Once = Once::new();
    DECIDED.call_once(|| {
        let enabled = match Config::from_env() {
            Ok(config) if config.disabled_reason().is_none() => {
                apply(&config);
                true
            }
            _ => false,
        };
        let next = if enabled {
            State::Enabled
        } else {
            State::Disabled
        };
        transition(State::Uninit, next);
    });
    get() == State::Enabled
}

/// Publishes a configuration's hot-path settings (capture, sampling, the queue's bounds) and
/// installs the panic hook: everything recording needs before the first observation.
pub(crate) fn apply(config: &Config) {
    panics::install_hook();
    capture::configure(config.io_capture_enabled(), config.capture_max_bytes());
    sampling::set_rate(config.sample_rate());
    collector::global().configure(
        config.max_queue_size(),
        config.max_queue_bytes(),
        config.thread_buffer_size(),
    );
}

/// Observations refused because the client had shut down.
static REFUSED_AFTER_SHUTDOWN: AtomicU64 = AtomicU64::new(0);

/// Counts an observation refused because the client has shut down.
#[cold]
fn count_refused_after_shutdown() {
    REFUSED_AFTER_SHUTDOWN.fetch_add(1, Ordering::Relaxed);
}

/// Observations refused after shutdown, so far.
pub(crate) fn refused_after_shutdown() -> u64 {
    REFUSED_AFTER_SHUTDOWN.load(Ordering::Relaxed)
}
