//! The hand-off from the hot path to the exporter thread, and the counters that account for
//! every observation.
//!
//! Each recording thread owns a bounded single-producer ring: ending an observation is one
//! push, with no lock, no allocation and no syscall. The exporter thread drains every ring on
//! each tick and whenever a ring has taken half its capacity since the last wake-up. A full
//! ring spills into one shared queue, so a burst is absorbed instead of dropped. The shared
//! queue and the exporter's pending batches together are bounded by `max_queue_size`
//! observations and `max_queue_bytes` captured bytes; past that, observations are dropped
//! and counted, never silently.
//!
//! Counting rule: an observation is counted as queued *before* it becomes visible to the
//! exporter, so a flush can never miss one that is already queued.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use parking_lot::Mutex;
use tokio::sync::Notify;

// Until `init()` sets the configured bounds, the configuration defaults hold.
use crate::config::defaults::{MAX_QUEUE_BYTES, MAX_QUEUE_SIZE, THREAD_BUFFER_SIZE};
use crate::model::Record;
use crate::model::Stats;

pub(crate) mod atomics;
pub(crate) mod handoff;

use handoff::{QueueRoom, WakeFlag};

/// Per-thread counters, written only by their thread (plain load + store, no read-modify-write
/// on the hot path) and read by `stats()`.
#[derive(Debug, Default)]
pub(crate) struct ThreadCounters {
    started: AtomicU64,
    sampled_out: AtomicU64,
}

#[inline(always)]
fn bump_single_writer(counter: &AtomicU64) {
    counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

/// A thread's side of the hand-off.
pub(crate) struct LocalBuffer {
    producer: rtrb::Producer<Record>,
    counters: Arc<ThreadCounters>,
    /// Pushes left before this thread wakes the exporter again.
    until_wake: usize,
    wake_every: usize,
}

impl LocalBuffer {
    #[inline]
    pub(crate) fn count_started(&self) {
        bump_single_writer(&self.counters.started);
    }

    #[inline]
    pub(crate) fn count_sampled_out(&self) {
        bump_single_writer(&self.counters.sampled_out);
    }

    /// Hands a finished observation to the exporter.
    #[inline]
    pub(crate) fn push(&mut self, record: Record) {
        if let Err(rtrb::PushError::Full(record)) = self.producer.push(record) {
            push_shared(record);
        }
        self.count_push();
    }

    /// Hands a finished observation to the exporter by moving it from `source` straight into
    /// the ring's slot: one copy instead of the two or three that passing it by value through
    /// the calls costs on the hot path.
    ///
    /// # Safety
    ///
    /// `source` must point to an initialized record that the caller never reads or drops
    /// again (ownership moves into the ring).
    #[inline]
    pub(crate) unsafe fn push_from(&mut self, source: *const Record) {
        match self.producer.write_chunk_uninit(1) {
            Ok(mut chunk) => {
                let (slot, _) = chunk.as_mut_slices();
                // SAFETY: the caller hands over ownership of `*source`.
                slot[0].write(unsafe { std::ptr::read(source) });
                // SAFETY: the one slot of the chunk was just initialized.
                unsafe { chunk.commit_all() };
            }
            // SAFETY: as above.
            Err(_) => push_shared(unsafe { std::ptr::read(source) }),
        }
        self.count_push();
    }

    #[inline]
    fn count_push(&mut self) {
        self.until_wake -= 1;
        if self.until_wake == 0 {
            self.until_wake = self.wake_every;
            COLLECTOR.wake();
        }
    }
}

/// The exporter's side of one thread's ring.
struct Registered {
    consumer: rtrb::Consumer<Record>,
    counters: Arc<ThreadCounters>,
}

#[derive(Debug, Default)]
struct Counters {
    /// Started and sampled-out counts of threads that have exited.
    retired_started: AtomicU64,
    retired_sampled_out: AtomicU64,
    exported: AtomicU64,
    dropped_queue_full: AtomicU64,
    dropped_rejected: AtomicU64,
    dropped_failed: AtomicU64,
    dropped_after_shutdown: AtomicU64,
    export_requests: AtomicU64,
    failed_requests: AtomicU64,
    retries: AtomicU64,
    bytes_sent: AtomicU64,
}

pub(crate) struct Collector {
    threads: Mutex<Vec<Registered>>,
    /// Records from full rings and from threads without usable thread-locals. Counted in
    /// `queued` when they enter.
    shared: Mutex<Vec<Record>>,
    /// Observations in `shared` or held by the exporter (pending or in flight).
    room: QueueRoom,
    ring_capacity: AtomicUsize,
    wake: WakeFlag,
    notify: Notify,
    counters: Counters,
}

/// The collector's initial value: a macro rather than a `const fn` because under loom (whose
/// atomics have no `const` constructor) it is built at run time instead.
macro_rules! new_collector {
    () => {
        Collector {
            threads: Mutex::new(Vec::new()),
            shared: Mutex::new(Vec::new()),
            room: QueueRoom::new(MAX_QUEUE_SIZE, MAX_QUEUE_BYTES),
            ring_capacity: AtomicUsize::new(THREAD_BUFFER_SIZE),
            wake: WakeFlag::new(),
            notify: Notify::const_new(),
            counters: Counters {
                retired_started: AtomicU64::new(0),
                retired_sampled_out: AtomicU64::new(0),
                exported: AtomicU64::new(0),
                dropped_queue_full: AtomicU64::new(0),
                dropped_rejected: AtomicU64::new(0),
                dropped_failed: AtomicU64::new(0),
                dropped_after_shutdown: AtomicU64::new(0),
                export_requests: AtomicU64::new(0),
                failed_requests: AtomicU64::new(0),
                retries: AtomicU64::new(0),
                bytes_sent: AtomicU64::new(0),
            },
        }
    };
}

#[cfg(not(langfuse_loom))]
static COLLECTOR: Collector = new_collector!();

// The loom build (`--cfg langfuse_loom`) only runs the model checks of `handoff`: the collector
// just has to compile.
#[cfg(langfuse_loom)]
static COLLECTOR: std::sync::LazyLock<Collector> = std::sync::LazyLock::new(|| new_collector!());

/// The process-wide collector.
pub(crate) fn global() -> &'static Collector {
    &COLLECTOR
}

/// Creates this thread's ring and registers its consumer with the exporter (once per thread).
#[cold]
pub(crate) fn register_thread() -> LocalBuffer {
    let capacity = COLLECTOR.ring_capacity.load(Ordering::Relaxed).max(2);
    let (producer, consumer) = rtrb::RingBuffer::new(capacity);
    let counters = Arc::new(ThreadCounters::default());
    COLLECTOR.threads.lock().push(Registered {
        consumer,
        counters: Arc::clone(&counters),
    });
    // Wake the exporter when half the ring has filled since the last wake-up: rarely enough
    // that the wake-up syscall stays off the profile, early enough that the other half
    // absorbs its scheduling delay.
    let wake_every = (capacity / 2).max(1);
    LocalBuffer {
        producer,
        counters,
        until_wake: wake_every,
        wake_every,
    }
}

/// Queues a record in the shared queue: the overflow of a full ring, or a record ended where
/// thread-locals are unusable.
#[cold]
pub(crate) fn push_shared(mut record: Record) {
    let bytes = record.captured_bytes();
    if !COLLECTOR.reserve(bytes) {
        COLLECTOR
            .counters
            .dropped_queue_full
            .fetch_add(1, Ordering::Relaxed);
        // Its buffers are this thread's next captures': a full queue costs no allocation.
        record.recycle();
        return;
    }
    COLLECTOR.shared.lock().push(record);
    COLLECTOR.wake();
}

/// Counts an observation that ended after the exporter stopped.
#[cold]
pub(crate) fn count_dropped_after_shutdown(n: u64) {
    COLLECTOR
        .counters
        .dropped_after_shutdown
        .fetch_add(n, Ordering::Relaxed);
}

/// How a batch handed to the exporter ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BatchFate {
    /// Delivered (or printed, for the console exporter).
    Exported,
    /// The server refused it and retrying would not help (400, 401, 403, 413...).
    Rejected,
    /// Retries ran out, or the deadline passed.
    Failed,
    /// Still queued when shutdown's deadline passed.
    AbandonedAtShutdown,
}

impl Collector {
    /// Sets the bounds from the configuration; rings created later use the new capacity.
    pub(crate) fn configure(&self, max_queue: usize, max_queue_bytes: usize, ring_capacity: usize) {
        self.room.set_bounds(max_queue, max_queue_bytes);
        self.ring_capacity
            .store(ring_capacity.max(2), Ordering::Relaxed);
    }

    /// Takes room for one observation of `bytes` captured bytes, or refuses.
    fn reserve(&self, bytes: usize) -> bool {
        self.room.reserve(bytes)
    }

    /// Moves a chunk of ring records into `pending`, reserving their room in one step; those
    /// beyond the bounds are dropped. Returns how many were dropped.
    fn admit(
        &self,
        chunk: rtrb::chunks::ReadChunk<'_, Record>,
        pending: &mut VecDeque<Record>,
    ) -> u64 {
        let count = chunk.len();
        let (first, second) = chunk.as_slices();
        let bytes: usize = first.iter().chain(second).map(Record::captured_bytes).sum();
        // The common case: the whole chunk fits, and is admitted in one atomic step (a check
        // followed by a separate add would let producers' concurrent spills take the same
        // room; the loom model in `handoff` shows it).
        if self.room.reserve_many(count, bytes) {
            pending.extend(chunk);
            return 0;
        }
        let mut dropped = 0;
        for mut record in chunk {
            if self.reserve(record.captured_bytes()) {
                pending.push_back(record);
            } else {
                // Its buffers go back to the threads that capture, as an exported one's do.
                record.recycle();
                dropped += 1;
            }
        }
        dropped
    }

    /// Wakes the exporter thread, at most once until it has run.
    pub(crate) fn wake(&self) {
        if self.wake.raise() {
            self.notify.notify_one();
        }
    }

    /// Waits until a producer asks for a drain. Only the exporter thread calls this.
    pub(crate) async fn woken(&self) {
        self.notify.notified().await;
    }

    /// Moves every finished observation from the rings and the shared queue into `pending`,
    /// dropping (and counting) those beyond the queue's bounds. Returns how many were moved.
    pub(crate) fn drain_into(&self, pending: &mut VecDeque<Record>) -> usize {
        // Pairs with the producers' raise in `wake`: whatever they pushed before waking us is
        // visible to the reads below.
        self.wake.lower();
        let before = pending.len();
        {
            // Every move between counters happens under this lock, which `stats()` takes
            // too, so that a snapshot never catches a record between two of them.
            let mut threads = self.threads.lock();
            threads.retain_mut(|t| {
                let available = t.consumer.slots();
                if available > 0
                    && let Ok(chunk) = t.consumer.read_chunk(available)
                {
                    let dropped = self.admit(chunk, pending);
                    if dropped > 0 {
                        self.counters
                            .dropped_queue_full
                            .fetch_add(dropped, Ordering::Relaxed);
                    }
                }
                // The thread exited and everything it pushed has been read: fold its counters.
                let retire = t.consumer.is_abandoned() && t.consumer.is_empty();
                if retire {
                    self.counters.retired_started.fetch_add(
                        t.counters.started.load(Ordering::Relaxed),
                        Ordering::Relaxed,
                    );
                    self.counters.retired_sampled_out.fetch_add(
                        t.counters.sampled_out.load(Ordering::Relaxed),
                        Ordering::Relaxed,
                    );
                }
                !retire
            });
        }
        // Records in `shared` already hold their room: taking them changes no counter.
        let shared = std::mem::take(&mut *self.shared.lock());
        pending.extend(shared);
        pending.len() - before
    }

    /// Accounts for records the exporter rewrote (masking) while holding them: they held
    /// `before` captured bytes when they were reserved and will release `after` when they
    /// settle.
    pub(crate) fn resize_held_bytes(&self, before: usize, after: usize) {
        self.room.resize(before, after);
    }

    /// Accounts for `count` observations (holding `bytes` captured bytes) leaving the queue.
    pub(crate) fn settle(&self, fate: BatchFate, count: usize, bytes: usize) {
        // Under the lock `stats()` reads with: see `drain_into`.
        let _ledger = self.threads.lock();
        self.room.release(count, bytes);
        let counter = match fate {
            BatchFate::Exported => &self.counters.exported,
            BatchFate::Rejected => &self.counters.dropped_rejected,
            BatchFate::Failed => &self.counters.dropped_failed,
            BatchFate::AbandonedAtShutdown => &self.counters.dropped_after_shutdown,
        };
        counter.fetch_add(count as u64, Ordering::Relaxed);
    }

    /// Accounts for one HTTP request and its outcome.
    pub(crate) fn count_request(&self, succeeded: bool, retries: u32, bytes_sent: u64) {
        self.counters
            .export_requests
            .fetch_add(1, Ordering::Relaxed);
        if !succeeded {
            self.counters
                .failed_requests
                .fetch_add(1, Ordering::Relaxed);
        }
        self.counters
            .retries
            .fetch_add(u64::from(retries), Ordering::Relaxed);
        self.counters
            .bytes_sent
            .fetch_add(bytes_sent, Ordering::Relaxed);
    }

    /// Drops whatever is left in the rings and the shared queue once the exporter is gone, and
    /// counts it as dropped after shutdown. Observations that end while shutdown runs are
    /// still accepted (`ShuttingDown`), and one that lands after the exporter's last drain
    /// would otherwise sit in a ring forever, counted as pending by every later `stats()`.
    /// Called by the exporter as it stops, and by `stats()` after shutdown for records that
    /// raced with that last sweep.
    pub(crate) fn discard_after_shutdown(&self) {
        let mut discarded = 0usize;
        // Held to the end, like every move between counters: see `drain_into`.
        let mut threads = self.threads.lock();
        for t in threads.iter_mut() {
            let available = t.consumer.slots();
            if available > 0
                && let Ok(chunk) = t.consumer.read_chunk(available)
            {
                // Ring records hold no room (they are admitted when drained): just drop them.
                discarded += chunk.into_iter().count();
            }
        }
        let shared = std::mem::take(&mut *self.shared.lock());
        if !shared.is_empty() {
            let bytes = shared.iter().map(Record::captured_bytes).sum();
            self.room.release(shared.len(), bytes);
            discarded += shared.len();
        }
        if discarded > 0 {
            self.counters
                .dropped_after_shutdown
                .fetch_add(discarded as u64, Ordering::Relaxed);
        }
    }

    /// Observations dropped because the queue was full, so far.
    pub(crate) fn dropped_queue_full(&self) -> u64 {
        self.counters.dropped_queue_full.load(Ordering::Relaxed)
    }

    /// A snapshot of the observation counters (the score counters and refusals are kept
    /// elsewhere: see `Langfuse::stats`).
    pub(crate) fn stats(&self) -> Stats {
        let c = &self.counters;
        // The exporter moves records between counters only under this lock (see
        // `drain_into`), so the snapshot adds up: with no observation running or ending
        // meanwhile, `started == exported + dropped() + queue_depth` exactly.
        let threads = self.threads.lock();
        let mut started = c.retired_started.load(Ordering::Relaxed);
        let mut sampled_out = c.retired_sampled_out.load(Ordering::Relaxed);
        let mut in_rings = 0usize;
        for t in threads.iter() {
            started += t.counters.started.load(Ordering::Relaxed);
            sampled_out += t.counters.sampled_out.load(Ordering::Relaxed);
            in_rings += t.consumer.slots();
        }
        Stats {
            started,
            exported: c.exported.load(Ordering::Relaxed),
            dropped_queue_full: c.dropped_queue_full.load(Ordering::Relaxed),
            dropped_sampling: sampled_out,
            dropped_rejected: c.dropped_rejected.load(Ordering::Relaxed),
            dropped_export_failed: c.dropped_failed.load(Ordering::Relaxed),
            dropped_after_shutdown: c.dropped_after_shutdown.load(Ordering::Relaxed),
            export_requests: c.export_requests.load(Ordering::Relaxed),
            failed_requests: c.failed_requests.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
            bytes_sent: c.bytes_sent.load(Ordering::Relaxed),
            queue_depth: (self.room.queued() + in_rings) as u64,
            ..Stats::default()
        }
    }
}
