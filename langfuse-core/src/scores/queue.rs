//! The hand-off of scores to the exporter thread: one unbounded channel, bounded by counters
//! in count and bytes, and the counters that account for every score.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use parking_lot::Mutex;
use tokio::sync::mpsc;

use super::Score;
use crate::model::Stats;

/// Scores queued (in the hand-off channel, waiting on the exporter, or in flight) at most;
/// past that new scores are dropped and counted.
pub(crate) const MAX_QUEUED_SCORES: usize = 10_000;
/// Bytes of text (names, ids, comments, metadata) held by queued scores at most.
const MAX_QUEUED_SCORE_BYTES: usize = 16 * 1024 * 1024;

/// Takes room in the queue and hands the score to the exporter thread.
pub(super) fn enqueue(score: Score) {
    let c = counters();
    let bytes = score.held_bytes();
    if !c.reserve(bytes) {
        c.dropped_queue_full.fetch_add(1, Ordering::Relaxed);
        return;
    }
    if queue().sender.send(score).is_err() {
        // The exporter has stopped: shutdown completed between the state check and now.
        c.release(bytes);
        c.dropped_after_shutdown.fetch_add(1, Ordering::Relaxed);
    }
}

/// The hand-off channel. Created on first use, so that scores given before `init()` wait in
/// it; the exporter thread takes the receiving end when it starts.
struct Queue {
    sender: mpsc::UnboundedSender<Score>,
    receiver: Mutex<Option<mpsc::UnboundedReceiver<Score>>>,
}

fn queue() -> &'static Queue {
    static QUEUE: OnceLock<Queue> = OnceLock::new();
    QUEUE.get_or_init(|| {
        let (sender, receiver) = mpsc::unbounded_channel();
        Queue {
            sender,
            receiver: Mutex::new(Some(receiver)),
        }
    })
}

/// The receiving end of the hand-off, for the exporter thread (once per process).
pub(crate) fn take_receiver() -> Option<mpsc::UnboundedReceiver<Score>> {
    queue().receiver.lock().take()
}

/// How a queued score left the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fate {
    /// Accepted by Langfuse (or printed by the console exporter).
    Exported,
    /// Refused by the server in a way retrying cannot fix.
    Rejected,
    /// Retries ran out, the deadline passed, or there is nowhere to send it.
    Failed,
    /// Still queued when shutdown's deadline passed, or left behind by a stopped exporter.
    AbandonedAtShutdown,
}

/// The score counters, process-wide like the client.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(super) created: AtomicU64,
    exported: AtomicU64,
    pub(super) dropped_invalid: AtomicU64,
    pub(super) dropped_sampling: AtomicU64,
    dropped_queue_full: AtomicU64,
    dropped_rejected: AtomicU64,
    dropped_failed: AtomicU64,
    dropped_after_shutdown: AtomicU64,
    pub(super) refused_after_shutdown: AtomicU64,
    /// Scores queued: in the channel, waiting on the exporter, or in flight.
    queued: AtomicUsize,
    queued_bytes: AtomicUsize,
}

pub(crate) fn counters() -> &'static Counters {
    static COUNTERS: Counters = Counters {
        created: AtomicU64::new(0),
        exported: AtomicU64::new(0),
        dropped_invalid: AtomicU64::new(0),
        dropped_sampling: AtomicU64::new(0),
        dropped_queue_full: AtomicU64::new(0),
        dropped_rejected: AtomicU64::new(0),
        dropped_failed: AtomicU64::new(0),
        dropped_after_shutdown: AtomicU64::new(0),
        refused_after_shutdown: AtomicU64::new(0),
        queued: AtomicUsize::new(0),
        queued_bytes: AtomicUsize::new(0),
    };
    &COUNTERS
}

impl Counters {
    /// Takes room for one score holding `bytes`, or refuses.
    fn reserve(&self, bytes: usize) -> bool {
        if self.queued.fetch_add(1, Ordering::AcqRel) >= MAX_QUEUED_SCORES {
            self.queued.fetch_sub(1, Ordering::AcqRel);
            return false;
        }
        let before = self.queued_bytes.fetch_add(bytes, Ordering::AcqRel);
        if before + bytes > MAX_QUEUED_SCORE_BYTES {
            self.queued_bytes.fetch_sub(bytes, Ordering::AcqRel);
            self.queued.fetch_sub(1, Ordering::AcqRel);
            return false;
        }
        true
    }

    fn release(&self, bytes: usize) {
        self.queued.fetch_sub(1, Ordering::AcqRel);
        self.queued_bytes.fetch_sub(bytes, Ordering::AcqRel);
    }

    /// Accounts for a queued score leaving the queue.
    pub(crate) fn settle(&self, score: &Score, fate: Fate) {
        self.release(score.held_bytes());
        let counter = match fate {
            Fate::Exported => &self.exported,
            Fate::Rejected => &self.dropped_rejected,
            Fate::Failed => &self.dropped_failed,
            Fate::AbandonedAtShutdown => &self.dropped_after_shutdown,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Scores dropped because the queue was full, so far.
    pub(crate) fn dropped_queue_full(&self) -> u64 {
        self.dropped_queue_full.load(Ordering::Relaxed)
    }

    /// Scores queued now.
    pub(crate) fn pending(&self) -> u64 {
        self.queued.load(Ordering::Relaxed) as u64
    }

    /// Fills the score fields of `stats`.
    pub(crate) fn add_to(&self, stats: &mut Stats) {
        *stats = Stats {
            scores_created: self.created.load(Ordering::Relaxed),
            scores_exported: self.exported.load(Ordering::Relaxed),
            scores_dropped_invalid: self.dropped_invalid.load(Ordering::Relaxed),
            scores_dropped_sampling: self.dropped_sampling.load(Ordering::Relaxed),
            scores_dropped_queue_full: self.dropped_queue_full.load(Ordering::Relaxed),
            scores_dropped_rejected: self.dropped_rejected.load(Ordering::Relaxed),
            scores_dropped_export_failed: self.dropped_failed.load(Ordering::Relaxed),
            scores_dropped_after_shutdown: self.dropped_after_shutdown.load(Ordering::Relaxed),
            scores_refused_after_shutdown: self.refused_after_shutdown.load(Ordering::Relaxed),
            scores_pending: self.pending(),
            ..*stats
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_queue_is_bounded_in_count_and_bytes() {
        let counters = Counters::default();
        for _ in 0..MAX_QUEUED_SCORES {
            assert!(counters.reserve(1));
        }
        assert!(!counters.reserve(1));
        counters.release(1);
        assert!(counters.reserve(1));

        let counters = Counters::default();
        assert!(counters.reserve(MAX_QUEUED_SCORE_BYTES));
        assert!(!counters.reserve(1));
        assert_eq!(counters.pending(), 1);
    }
}
