//! What the client reports: counters since start, and the outcome of a flush or shutdown.

use std::time::Duration;

/// Counters since the process started. Every recorded observation ends up in exactly one of
/// `exported`, the `dropped_*` counters, or `queue_depth`; observations still running are in
/// none of them yet.
///
/// ```
/// let stats = langfuse_core::get_client().stats();
/// assert!(stats.exported + stats.dropped() + stats.queue_depth <= stats.started);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Observations recorded (sampled in) that have started.
    pub started: u64,
    /// Observations delivered (accepted with 200 by the server, or printed by the console
    /// exporter).
    pub exported: u64,
    /// Observations dropped because the queue was at `LANGFUSE_MAX_QUEUE_SIZE` or
    /// `LANGFUSE_MAX_QUEUE_BYTES`.
    pub dropped_queue_full: u64,
    /// Observations not recorded because their trace was sampled out.
    pub dropped_sampling: u64,
    /// Observations in requests the server refused (400, 401, 403, 413 and other 4xx).
    pub dropped_rejected: u64,
    /// Observations in requests that still failed after every retry, or when a deadline passed.
    pub dropped_export_failed: u64,
    /// Observations still queued when shutdown's deadline passed, or that ended after it.
    pub dropped_after_shutdown: u64,
    /// Observations refused because they started after shutdown (never recorded).
    pub refused_after_shutdown: u64,
    /// HTTP export requests made (each batch counts once, however many attempts it took).
    pub export_requests: u64,
    /// Export requests whose batch was finally rejected or failed.
    pub failed_requests: u64,
    /// Retried attempts across all requests.
    pub retries: u64,
    /// Bytes sent in successful requests (after compression).
    pub bytes_sent: u64,
    /// Observations finished and waiting: in thread buffers, the queue, or in flight. At most
    /// `LANGFUSE_MAX_QUEUE_SIZE` plus `LANGFUSE_THREAD_BUFFER_SIZE` for each thread that
    /// records. After shutdown, whatever is left is counted in `dropped_after_shutdown`
    /// instead, so this goes back to 0.
    pub queue_depth: u64,
    /// Scores given to [`create_score`](crate::create_score), `score_current_*` or
    /// [`Observation::score`](crate::Observation::score) while the client records, valid or
    /// not. Each ends in exactly one of `scores_exported`, a `scores_dropped_*` counter, or
    /// `scores_pending`.
    pub scores_created: u64,
    /// Scores accepted by Langfuse (or printed by the console exporter).
    pub scores_exported: u64,
    /// Scores dropped before sending because they were invalid (each logged with the
    /// problem).
    pub scores_dropped_invalid: u64,
    /// Scores dropped because their trace is sampled out.
    pub scores_dropped_sampling: u64,
    /// Scores dropped because 10,000 scores (or 16 MiB of their text) were already queued.
    pub scores_dropped_queue_full: u64,
    /// Scores the server refused (400, 401, 403, 404 and other 4xx); not retried.
    pub scores_dropped_rejected: u64,
    /// Scores whose request still failed after every retry or when a deadline passed, or that
    /// had nowhere to go (spans sent to an OpenTelemetry collector and no Langfuse keys).
    pub scores_dropped_export_failed: u64,
    /// Scores still queued when shutdown's deadline passed.
    pub scores_dropped_after_shutdown: u64,
    /// Scores refused because they were given after shutdown began (not in
    /// `scores_created`).
    pub scores_refused_after_shutdown: u64,
    /// Scores queued: waiting for the exporter thread, or in flight.
    pub scores_pending: u64,
}

impl Stats {
    /// All observations recorded and then lost, whatever the reason (sampling excluded: a
    /// sampled-out observation was never recorded).
    ///
    /// ```
    /// let stats = langfuse_core::Stats::default();
    /// assert_eq!(stats.dropped(), 0);
    /// ```
    pub fn dropped(&self) -> u64 {
        self.dropped_queue_full
            + self.dropped_rejected
            + self.dropped_export_failed
            + self.dropped_after_shutdown
    }

    /// All scores created and then dropped, whatever the reason (invalid and sampled-out
    /// ones included: a score is counted when it is given).
    ///
    /// ```
    /// let stats = langfuse_core::get_client().stats();
    /// assert!(stats.scores_exported + stats.scores_dropped() + stats.scores_pending <= stats.scores_created);
    /// ```
    pub fn scores_dropped(&self) -> u64 {
        self.scores_dropped_invalid
            + self.scores_dropped_sampling
            + self.scores_dropped_queue_full
            + self.scores_dropped_rejected
            + self.scores_dropped_export_failed
            + self.scores_dropped_after_shutdown
    }
}

/// The outcome of [`Langfuse::flush`](crate::Langfuse::flush) or
/// [`Langfuse::shutdown`](crate::Langfuse::shutdown).
///
/// ```no_run
/// use std::time::Duration;
///
/// let report = langfuse_core::get_client().flush(Duration::from_secs(5));
/// if !report.is_complete() {
///     eprintln!("{} observations still queued after {:?}", report.pending, report.elapsed);
/// }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FlushReport {
    /// Observations exported while the call ran.
    pub exported: u64,
    /// Observations dropped while the call ran (queue full, rejected, failed).
    pub dropped: u64,
    /// Observations still queued when the call returned.
    pub pending: u64,
    /// Whether the call returned because its deadline passed.
    pub timed_out: bool,
    /// How long the call took.
    pub elapsed: Duration,
    /// Scores exported while the call ran.
    pub scores_exported: u64,
    /// Scores dropped while the call ran (rejected, failed, or left at shutdown's deadline).
    pub scores_dropped: u64,
    /// Scores still queued when the call returned.
    pub scores_pending: u64,
}

impl FlushReport {
    /// Everything finished before the call, observations and scores, was exported or
    /// accounted for as dropped.
    ///
    /// ```
    /// assert!(langfuse_core::FlushReport::default().is_complete());
    /// ```
    pub fn is_complete(&self) -> bool {
        !self.timed_out && self.pending == 0 && self.scores_pending == 0
    }
}
