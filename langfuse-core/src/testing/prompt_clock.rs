//! [`PromptClock`]: the prompt cache's clock, moved by hand, so that tests drive expiry
//! (and the retry gaps, and the warnings' rate limit) without sleeping.

use std::sync::Arc;
use std::time::Duration;

use crate::prompts::clock::{ManualClock, install_manual};

/// The clock of the process' prompt cache, standing still until [`advance`](Self::advance)
/// moves it. Install it before the client starts (before `init()`); every call returns the
/// same clock. It changes only when cached prompts expire, not how long a request may take.
///
/// ```
/// use std::time::Duration;
/// use langfuse_core::testing::PromptClock;
///
/// let clock = PromptClock::install();
/// // let _langfuse = langfuse_core::init()?; ... get_prompt ... (cached for 60 s)
/// clock.advance(Duration::from_secs(61)); // now every cached prompt is stale
/// assert_eq!(clock.elapsed(), Duration::from_secs(61));
/// ```
///
/// # Panics
///
/// If the client already started with the real clock.
#[derive(Debug, Clone)]
pub struct PromptClock {
    clock: Arc<ManualClock>,
}

impl PromptClock {
    /// Installs the clock (or returns the one installed).
    pub fn install() -> Self {
        match install_manual() {
            Ok(clock) => Self { clock },
            Err(reason) => panic!("{reason}"),
        }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// How far it has moved since it was installed.
    pub fn elapsed(&self) -> Duration {
        self.clock.elapsed()
    }
}
