//! The two lock-free protocols of the hand-off, kept apart from everything else so that they
//! can be model-checked with loom (`RUSTFLAGS="--cfg langfuse_loom" cargo test -p langfuse-rust-core
//! --release --lib loom`, see RELIABILITY.md):
//!
//! - [`QueueRoom`]: the bound on observations (and captured bytes) held between the rings and
//!   the server. Reservations are all-or-nothing and never admit past the bound, whatever
//!   the interleaving of producers spilling from full rings and the exporter admitting ring
//!   contents; releases never underflow.
//! - [`WakeFlag`]: how producers wake the exporter without a syscall per observation. A
//!   producer publishes its records, then raises the flag and notifies only if it was down;
//!   the exporter lowers the flag before reading. No wake-up is lost: whatever a producer
//!   published before a raise that did not notify is read by the drain that lowers the flag.

use crate::collector::atomics::{AtomicBool, AtomicUsize, Ordering};

/// Room for observations between the recording threads' rings and the server: the shared
/// overflow queue plus everything the exporter holds (pending and in flight).
#[derive(Debug)]
pub(crate) struct QueueRoom {
    /// Observations admitted and not yet released.
    queued: AtomicUsize,
    /// Captured bytes of those observations.
    queued_bytes: AtomicUsize,
    max: AtomicUsize,
    max_bytes: AtomicUsize,
}

impl QueueRoom {
    /// Room for `max` observations holding `max_bytes` captured bytes.
    #[cfg(not(langfuse_loom))]
    pub(crate) const fn new(max: usize, max_bytes: usize) -> Self {
        Self {
            queued: AtomicUsize::new(0),
            queued_bytes: AtomicUsize::new(0),
            max: AtomicUsize::new(max),
            max_bytes: AtomicUsize::new(max_bytes),
        }
    }

    /// Room for `max` observations holding `max_bytes` captured bytes.
    #[cfg(langfuse_loom)]
    pub(crate) fn new(max: usize, max_bytes: usize) -> Self {
        Self {
            queued: AtomicUsize::new(0),
            queued_bytes: AtomicUsize::new(0),
            max: AtomicUsize::new(max),
            max_bytes: AtomicUsize::new(max_bytes),
        }
    }

    /// Sets the bounds (from the configuration, before anything records).
    pub(crate) fn set_bounds(&self, max: usize, max_bytes: usize) {
        self.max.store(max.max(1), Ordering::Relaxed);
        self.max_bytes.store(max_bytes.max(1), Ordering::Relaxed);
    }

    /// Takes room for one observation holding `bytes`, or refuses. One observation larger
    /// than the byte bound is still admitted into a queue that holds no bytes, so that it is
    /// never stuck; that is the only way past the byte bound.
    pub(crate) fn reserve(&self, bytes: usize) -> bool {
        self.take(1, bytes, true)
    }

    /// Takes room for `count` observations holding `bytes` in all, all or nothing.
    pub(crate) fn reserve_many(&self, count: usize, bytes: usize) -> bool {
        self.take(count, bytes, false)
    }

    fn take(&self, count: usize, bytes: usize, lone_oversized_ok: bool) -> bool {
        let max = self.max.load(Ordering::Relaxed);
        // A check and an add in one step: a load followed by a separate add would let two
        // threads both see the last free slot and both take it.
        if self
            .queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |queued| {
                queued.checked_add(count).filter(|&after| after <= max)
            })
            .is_err()
        {
            return false;
        }
        let max_bytes = self.max_bytes.load(Ordering::Relaxed);
        let bytes_taken = self
            .queued_bytes
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                let after = held.checked_add(bytes)?;
                let fits = bytes == 0 || after <= max_bytes || (lone_oversized_ok && held == 0);
                fits.then_some(after)
            })
            .is_ok();
        if !bytes_taken {
            // Give the count back: this reservation never happened.
            self.queued.fetch_sub(count, Ordering::AcqRel);
        }
        bytes_taken
    }

    /// Gives back the room of `count` observations holding `bytes`.
    pub(crate) fn release(&self, count: usize, bytes: usize) {
        let queued = self.queued.fetch_sub(count, Ordering::AcqRel);
        let held = self.queued_bytes.fetch_sub(bytes, Ordering::AcqRel);
        debug_assert!(
            queued >= count && held >= bytes,
            "released more room than was reserved"
        );
    }

    /// Accounts for records whose captured bytes changed from `before` to `after` while
    /// admitted (the exporter's masking rewrites them). The holder owns at least `before`
    /// of the total, so shrinking cannot underflow; growing may pass the byte bound, which
    /// then refuses new records until it is back under.
    pub(crate) fn resize(&self, before: usize, after: usize) {
        if after > before {
            self.queued_bytes
                .fetch_add(after - before, Ordering::AcqRel);
        } else if before > after {
            self.queued_bytes
                .fetch_sub(before - after, Ordering::AcqRel);
        }
    }

    /// Observations admitted now.
    pub(crate) fn queued(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }

    /// Captured bytes admitted now.
    #[cfg_attr(not(any(test, langfuse_loom)), allow(dead_code))]
    pub(crate) fn queued_bytes(&self) -> usize {
        self.queued_bytes.load(Ordering::Acquire)
    }
}

/// Whether a wake-up of the exporter is pending: raised by producers, lowered by the exporter
/// when it drains. See the module documentation for the protocol.
#[derive(Debug)]
pub(crate) struct WakeFlag {
    pending: AtomicBool,
}

impl WakeFlag {
    /// A lowered flag.
    #[cfg(not(langfuse_loom))]
    pub(crate) const fn new() -> Self {
        Self {
            pending: AtomicBool::new(false),
        }
    }

    /// A lowered flag.
    #[cfg(langfuse_loom)]
    pub(crate) fn new() -> Self {
        Self {
            pending: AtomicBool::new(false),
        }
    }

    /// Called by a producer after publishing its records. Returns whether the caller must
    /// notify the exporter: only the first raise since the last drain does.
    #[inline]
    pub(crate) fn raise(&self) -> bool {
        // Release: the records published before are visible to the drain that lowers the
        // flag, also when this raise does not notify (the flag was already up).
        !self.pending.swap(true, Ordering::AcqRel)
    }

    /// Called by the exporter before it reads the producers' records.
    #[inline]
    pub(crate) fn lower(&self) {
        // Acquire: pairs with every `raise` so far, so the reads that follow see what those
        // producers published. A raise after this one notifies again.
        self.pending.swap(false, Ordering::AcqRel);
    }
}

#[cfg(all(test, not(langfuse_loom)))]
mod tests {
    use super::*;

    #[test]
    fn reservations_stop_at_the_bound_and_come_back_on_release() {
        let room = QueueRoom::new(3, 100);
        assert!(room.reserve(10));
        assert!(room.reserve_many(2, 20));
        assert!(!room.reserve(0), "count bound");
        assert!(!room.reserve_many(1, 0));
        room.release(1, 10);
        assert!(room.reserve(0));
        assert_eq!((room.queued(), room.queued_bytes()), (3, 20));
        room.release(3, 20);
        assert_eq!((room.queued(), room.queued_bytes()), (0, 0));
    }

    #[test]
    fn the_byte_bound_admits_one_oversized_record_into_an_empty_queue_only() {
        let room = QueueRoom::new(10, 100);
        assert!(
            !room.reserve_many(1, 101),
            "chunks never pass the byte bound"
        );
        assert!(room.reserve(500), "alone, it would be stuck forever");
        assert!(!room.reserve(1), "no room left in bytes");
        assert!(room.reserve(0), "records without captured data still fit");
        assert_eq!(room.queued(), 2, "a refused reservation takes nothing");
        room.release(2, 500);
        assert!(room.reserve_many(2, 100));
        assert!(!room.reserve(1));
    }

    #[test]
    fn huge_counts_never_wrap() {
        let room = QueueRoom::new(usize::MAX, usize::MAX);
        assert!(room.reserve_many(usize::MAX, usize::MAX));
        assert!(!room.reserve(0));
        assert!(!room.reserve_many(1, 1));
        room.release(usize::MAX, usize::MAX);
        assert_eq!(room.queued(), 0);
    }

    #[test]
    fn masking_resizes_the_held_bytes() {
        let room = QueueRoom::new(10, 100);
        assert!(room.reserve_many(2, 60));
        room.resize(60, 20);
        assert_eq!(room.queued_bytes(), 20);
        room.resize(20, 90);
        assert!(!room.reserve(20));
        room.release(2, 90);
        assert_eq!(room.queued_bytes(), 0);
    }

    #[test]
    fn only_the_first_raise_since_a_drain_notifies() {
        let flag = WakeFlag::new();
        assert!(flag.raise());
        assert!(!flag.raise());
        flag.lower();
        assert!(flag.raise());
    }
}

/// Model checks: every interleaving (and every weak-memory outcome loom models) of the
/// protocols above. Run with `RUSTFLAGS="--cfg langfuse_loom" cargo test -p langfuse-rust-core --release
/// --lib loom`.
#[cfg(all(test, langfuse_loom))]
mod loom_tests {
    use loom::sync::Arc;
    use loom::sync::Notify;
    use loom::thread;

    use super::*;

    /// Producers publish records and wake the exporter as `LocalBuffer` does; the exporter
    /// drains once on its own (a tick) and then only when woken. If any interleaving lost a
    /// wake-up, the exporter would wait forever and loom would report a deadlock.
    #[test]
    fn loom_no_wake_up_is_lost() {
        const PRODUCERS: usize = 2;
        const RECORDS_EACH: usize = 1;
        loom::model(|| {
            let flag = Arc::new(WakeFlag::new());
            let notify = Arc::new(Notify::new());
            // Stands in for the rings: a release store per record, as rtrb's push does.
            let published = Arc::new(AtomicUsize::new(0));
            let producers: Vec<_> = (0..PRODUCERS)
                .map(|_| {
                    let (flag, notify, published) = (
                        Arc::clone(&flag),
                        Arc::clone(&notify),
                        Arc::clone(&published),
                    );
                    thread::spawn(move || {
                        for _ in 0..RECORDS_EACH {
                            published.fetch_add(1, Ordering::Release);
                            if flag.raise() {
                                notify.notify();
                            }
                        }
                    })
                })
                .collect();

            // A drain that no producer asked for (the exporter's tick).
            flag.lower();
            let mut seen = published.load(Ordering::Acquire);
            while seen < PRODUCERS * RECORDS_EACH {
                notify.wait();
                flag.lower();
                seen = published.load(Ordering::Acquire);
            }
            for producer in producers {
                producer.join().unwrap();
            }
        });
    }

    /// Two producers spill single records while the exporter admits a chunk from a ring, each
    /// giving its room back afterwards: at no point are more observations admitted than the
    /// bound (counted by the holders themselves, the ground truth), nor more bytes held, and
    /// at the end everything is given back (no underflow, no leak).
    #[test]
    fn loom_reservations_never_pass_the_bound_or_underflow() {
        const MAX: usize = 2;
        const MAX_BYTES: usize = 10;
        fn hold(room: &QueueRoom, held: &AtomicUsize, count: usize, bytes: usize) {
            let admitted = if count == 1 {
                room.reserve(bytes)
            } else {
                room.reserve_many(count, bytes)
            };
            if admitted {
                let now = held.fetch_add(count, Ordering::SeqCst) + count;
                assert!(now <= MAX, "{now} observations admitted, bound {MAX}");
                assert!(room.queued_bytes() <= MAX_BYTES);
                held.fetch_sub(count, Ordering::SeqCst);
                room.release(count, bytes);
            }
        }
        loom::model(|| {
            let room = Arc::new(QueueRoom::new(MAX, MAX_BYTES));
            let held = Arc::new(AtomicUsize::new(0));
            let producers: Vec<_> = (0..2)
                .map(|_| {
                    let (room, held) = (Arc::clone(&room), Arc::clone(&held));
                    thread::spawn(move || hold(&room, &held, 1, 4))
                })
                .collect();
            // The exporter admits a chunk of two records from a ring.
            hold(&room, &held, 2, 6);
            for producer in producers {
                producer.join().unwrap();
            }
            assert_eq!((room.queued(), room.queued_bytes()), (0, 0));
        });
    }
}
