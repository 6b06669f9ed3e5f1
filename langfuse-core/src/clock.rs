//! The hot path's clock: raw TSC ticks (about 10 ns to read, where `Instant::now` costs 25),
//! converted to Unix nanoseconds only on the exporter thread.

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// Time of a record: a raw clock reading taken on the hot path, or Unix nanoseconds when the
/// caller gave an explicit time (importing past work). Converted to Unix nanoseconds on the
/// exporter thread. One word: the top bit tells the two apart (clock readings and Unix
/// nanoseconds both stay below 2^63 for centuries), which keeps records small.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timestamp(u64);

const UNIX_NANOS_BIT: u64 = 1 << 63;

/// What a [`Timestamp`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimestampKind {
    /// A reading of [`crate::clock`].
    Ticks(u64),
    /// Nanoseconds since the Unix epoch.
    UnixNanos(u64),
}

impl Timestamp {
    /// A placeholder for records that are never exported (context carriers).
    pub(crate) const ZERO: Self = Self(0);

    /// A raw clock reading.
    #[inline]
    pub(crate) const fn from_ticks(raw: u64) -> Self {
        Self(raw & !UNIX_NANOS_BIT)
    }

    /// An explicit time, in nanoseconds since the Unix epoch.
    pub(crate) const fn from_unix_nanos(nanos: u64) -> Self {
        Self((nanos & !UNIX_NANOS_BIT) | UNIX_NANOS_BIT)
    }

    /// What this timestamp holds.
    pub(crate) const fn kind(self) -> TimestampKind {
        if self.0 & UNIX_NANOS_BIT == 0 {
            TimestampKind::Ticks(self.0)
        } else {
            TimestampKind::UnixNanos(self.0 & !UNIX_NANOS_BIT)
        }
    }
}

impl std::fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.kind().fmt(f)
    }
}

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
/// can be converted to Unix nanoseconds. Taken on the exporter thread for each batch.
///
/// Observations of one trace often leave in different batches, so every batch must convert
/// with the same anchor: two independent measurements disagree by the time between their two
/// reads (hundreds of nanoseconds, or milliseconds when the exporter thread is descheduled
/// between them), enough for a child to appear to start before its parent or end after it.
/// [`Anchor::now`] therefore keeps one process-wide anchor and replaces it only when the
/// clocks have drifted apart by more than [`MAX_DRIFT_NANOS`], so drift never accumulates
/// beyond that either.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Anchor {
    raw: u64,
    unix_nanos: u64,
}

/// How far the TSC and the system clock may drift apart before the anchor is renewed. Langfuse
/// keeps milliseconds, so a smaller step would never show, while renewing on every batch would
/// add the measurement's noise to every batch.
const MAX_DRIFT_NANOS: u64 = 1_000_000;

/// The anchor every batch converts with; see [`Anchor`].
static CURRENT: parking_lot::Mutex<Option<Anchor>> = parking_lot::Mutex::new(None);

impl Anchor {
    /// The process-wide anchor, renewed first if the clocks have drifted apart.
    pub(crate) fn now() -> Self {
        let (fresh, uncertainty) = Self::measure_with_uncertainty();
        let mut current = CURRENT.lock();
        match *current {
            // Kept while it agrees with the clocks, or while the measurement is too noisy
            // (the thread kept being descheduled) to tell.
            Some(anchor)
                if uncertainty > MAX_DRIFT_NANOS / 4
                    || anchor
                        .unix_nanos(Timestamp::from_ticks(fresh.raw))
                        .abs_diff(fresh.unix_nanos)
                        <= MAX_DRIFT_NANOS =>
            {
                anchor
            }
            _ => {
                *current = Some(fresh);
                fresh
            }
        }
    }

    /// A fresh measurement, bypassing the process-wide anchor.
    #[cfg(test)]
    fn measure() -> Self {
        Self::measure_with_uncertainty().0
    }

    /// Reads both clocks, the TSC on either side of the system clock, and keeps the tightest
    /// of a few tries (being descheduled between the reads would skew the pair). Returns the
    /// pair and the time between its two TSC reads, which bounds its error.
    fn measure_with_uncertainty() -> (Self, u64) {
        let clock = clock();
        let mut best: Option<(u64, Self)> = None;
        for _ in 0..8 {
            let before = clock.raw();
            let unix_nanos = unix_nanos_now();
            let after = clock.raw().max(before);
            let width = clock.delta_as_nanos(before, after);
            let candidate = Self {
                raw: before + (after - before) / 2,
                unix_nanos,
            };
            if best.is_none_or(|(narrowest, _)| width < narrowest) {
                best = Some((width, candidate));
            }
            if width <= 1_000 {
                break;
            }
        }
        let (width, anchor) = best.expect("at least one try");
        (anchor, width)
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
        clock();
        let early = now();
        std::thread::sleep(std::time::Duration::from_millis(5));
        // A fresh measurement: the process-wide anchor may be older than `early`.
        let anchor = Anchor::measure();
        let converted = anchor.unix_nanos(early);
        assert!(converted < anchor.unix_nanos);
        assert!(anchor.unix_nanos - converted >= 4_000_000);
    }

    #[test]
    fn consecutive_anchors_convert_a_reading_to_the_same_time() {
        // Two spans of one trace can leave in different batches: converted with anchors that
        // disagree, a child could end after its parent.
        clock();
        let reading = now();
        for _ in 0..100 {
            let (first, second) = (Anchor::now(), Anchor::now());
            assert_eq!(first.unix_nanos(reading), second.unix_nanos(reading));
        }
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
