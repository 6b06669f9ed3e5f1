//! The rate limit on "dropped" warnings: a full queue drops on every observation, and one
//! warning per drop would flood the logs of the service it is meant to inform.

use std::time::{Duration, Instant};

/// At most one warning per this interval, for each kind of drop.
const INTERVAL: Duration = Duration::from_secs(10);

/// Tracks what the last warning reported, for one ever-growing drop counter.
#[derive(Debug, Default)]
pub(crate) struct DropWarning {
    warned_total: u64,
    last: Option<Instant>,
}

impl DropWarning {
    /// Given the counter's current `total`, returns how many drops to report now: `Some` when
    /// there are new drops and no warning went out in the last interval (and records it),
    /// `None` otherwise.
    pub(crate) fn due(&mut self, total: u64) -> Option<u64> {
        if total == self.warned_total || self.last.is_some_and(|t| t.elapsed() < INTERVAL) {
            return None;
        }
        let new = total - self.warned_total;
        self.warned_total = total;
        self.last = Some(Instant::now());
        Some(new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_new_drops_at_most_once_per_interval() {
        let mut warning = DropWarning::default();
        assert_eq!(warning.due(0), None);
        assert_eq!(warning.due(5), Some(5));
        // Within the interval: held back, and counted in the next report.
        assert_eq!(warning.due(9), None);
        warning.last = Some(Instant::now() - INTERVAL);
        assert_eq!(warning.due(12), Some(7));
        warning.last = Some(Instant::now() - INTERVAL);
        assert_eq!(warning.due(12), None);
    }
}
