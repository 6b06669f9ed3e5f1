//! The cache's clock: when an entry expires, when a failed refresh may be retried, when the
//! next warning may go out. The real one is monotonic; tests install a manual one
//! (`langfuse::testing::PromptClock`) to drive expiry without sleeping. Network deadlines
//! always use real time.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Nanoseconds on the cache's clock.
pub(crate) type Nanos = u64;

#[derive(Debug, Clone)]
pub(crate) enum Clock {
    /// Monotonic time since the cache was built.
    Real(Instant),
    /// Time that moves only when told to.
    Manual(Arc<ManualClock>),
}

impl Clock {
    pub(crate) fn real() -> Self {
        Self::Real(Instant::now())
    }

    #[inline]
    pub(crate) fn now(&self) -> Nanos {
        match self {
            Self::Real(origin) => as_nanos(origin.elapsed()),
            Self::Manual(manual) => manual.nanos.load(Ordering::Acquire),
        }
    }

    /// The clock the process-wide client's cache uses: the manual one if a test installed
    /// it, else the real one. Once the real one is chosen, installing one is refused.
    pub(crate) fn for_client() -> Self {
        match INSTALLED.get() {
            Some(manual) => Self::Manual(Arc::clone(manual)),
            None => {
                CHOSE_REAL.store(true, Ordering::Release);
                // Installed in between: too late for this client; refused from now on.
                Self::real()
            }
        }
    }
}

/// A clock for tests: starts at zero, moves by [`advance`](Self::advance).
#[derive(Debug, Default)]
pub(crate) struct ManualClock {
    nanos: AtomicU64,
}

#[cfg_attr(not(feature = "testing"), allow(dead_code))]
impl ManualClock {
    pub(crate) fn advance(&self, by: Duration) {
        self.nanos.fetch_add(as_nanos(by), Ordering::AcqRel);
    }

    pub(crate) fn elapsed(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::Acquire))
    }
}

static INSTALLED: OnceLock<Arc<ManualClock>> = OnceLock::new();
static CHOSE_REAL: AtomicBool = AtomicBool::new(false);

/// Installs the manual clock for the process-wide client (the same one on every call), or
/// refuses if a client already started with the real clock.
#[cfg_attr(not(feature = "testing"), allow(dead_code))]
pub(crate) fn install_manual() -> Result<Arc<ManualClock>, &'static str> {
    let clock = Arc::clone(INSTALLED.get_or_init(Default::default));
    if CHOSE_REAL.load(Ordering::Acquire) {
        return Err("install the prompt clock before the client starts (before init())");
    }
    Ok(clock)
}

pub(crate) fn as_nanos(duration: Duration) -> Nanos {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}
