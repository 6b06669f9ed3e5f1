//! The hot path's clock: raw TSC ticks (about 10 ns to read, where `Instant::now` costs 25),
//! converted to Unix nanoseconds only on the exporter thread.

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::observation::{Timestamp, TimestampKind};

static CLOCK: OnceLock<quanta::Clock> = OnceLock::new();

/// The process-wide clock, calibrated on first use. Calibration spins for at least half a
/// millisecond (up to 200 ms on a busy machine), so only `init()` and the exporter thread
/// call this; the hot path never waits for it (see [`now`]).
#[inline]
pub(crate) fn clock() -> &'static quanta::Clock {
    CLOCK.get_or_init(quanta::Clock::new)
}

/// A reading for the hot path: raw TSC ticks once the clock is calibrated, wall-clock
/// nanoseconds before (an observation recorded before `init()` must not pay for the
/// calibration; the exporter converts both kinds).
#[inline]
pub(crate) fn now() -> Timestamp {
    match CLOCK.get() {
        Some(clock) => Timestamp::from_ticks(clock.raw()),
        None => uncalibrated_now(),
    }
}

#[cold]
#[inline(never)]
fn uncalibrated_now() -> Timestamp {
    Timestamp::from_unix_nanos(unix_nanos_now())
}

/// The current time as Unix nanoseconds (for explicit timestamps given by users).
pub(crate) fn unix_nanos_now() -> u64 {
    system_time_to_unix_nanos(SystemTime::now())
}

/// Converts a wall-clock time to Unix nanoseconds, saturating before the epoch.
pub(crate) fn system_time_to_unix_nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Pairs a raw clock reading with the wall-clock time at that moment, so that later readings
/// can be converted to Unix nanoseconds. Taken on the exporter thread, refreshed per batch so
/// that drift between the TSC and the system clock never accumulates.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Anchor {
    raw: u64,
    unix_nanos: u64,
}

impl Anchor {
    /// Reads both clocks now.
    pub(crate) fn now() -> Self {
        let raw = clock().raw();
        let unix_nanos = unix_nanos_now();
        Self { raw, unix_nanos }
    }

    /// A fixed anchor, for tests that need exact timestamps.
    #[cfg(test)]
    pub(crate) fn fixed(raw: u64, unix_nanos: u64) -> Self {
        Self { raw, unix_nanos }
    }

    /// Converts a record's timestamp to Unix nanoseconds.
    pub(crate) fn unix_nanos(&self, ts: Timestamp) -> u64 {
        match ts.kind() {
            TimestampKind::UnixNanos(n) => n,
            TimestampKind::Ticks(raw) => {
                let clock = clock();
                if raw >= self.raw {
                    self.unix_nanos
                        .saturating_add(clock.delta_as_nanos(self.raw, raw))
                } else {
                    self.unix_nanos
                        .saturating_sub(clock.delta_as_nanos(raw, self.raw))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_convert_close_to_wall_clock() {
        let anchor = Anchor::now();
        let ts = now();
        let wall = unix_nanos_now();
        let converted = anchor.unix_nanos(ts);
        assert!(
            converted.abs_diff(wall) < 50_000_000,
            "{converted} vs {wall}"
        );
    }

    #[test]
    fn ticks_before_the_anchor_convert_backwards() {
        let early = now();
        std::thread::sleep(std::time::Duration::from_millis(5));
        let anchor = Anchor::now();
        let converted = anchor.unix_nanos(early);
        assert!(converted < anchor.unix_nanos);
        assert!(anchor.unix_nanos - converted >= 4_000_000);
    }

    #[test]
    fn readings_are_ticks_once_calibrated() {
        clock();
        assert!(matches!(now().kind(), TimestampKind::Ticks(_)));
    }

    #[test]
    fn explicit_times_pass_through() {
        let anchor = Anchor::fixed(0, 0);
        assert_eq!(anchor.unix_nanos(Timestamp::from_unix_nanos(42)), 42);
    }
}
