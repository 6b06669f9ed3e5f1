//! The exporter thread: one named OS thread with its own current-thread tokio runtime and
//! HTTP client, never the application's. It drains the per-thread buffers, batches, encodes,
//! compresses and sends, retries, and keeps the counters. Everything expensive happens here.
//!
//! Sending policy: one request in flight while the queue keeps up, so that under load batches
//! grow (up to `LANGFUSE_OTEL_MAX_BATCH_SIZE_BYTES`) instead of requests multiplying (Langfuse
//! Cloud limits requests per minute). Up to [`MAX_IN_FLIGHT`] requests when a backlog of full
//! batches builds up, or while a flush or shutdown is waiting.

use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderName, HeaderValue};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use super::console::ConsoleExporter;
use super::drop_warning::DropWarning;
use super::mask::Masker;
use super::otlp::{EncoderSettings, OtlpEncoder};
use super::project::Fetcher;
use super::scores::{ScoreExporter, ScoreMark};
use super::transport::{Delivery, ExportOutcome, HttpTransport, TransportSettings};
use crate::clock::Anchor;
use crate::collector::{self, BatchFate};
use crate::config::{Compression, Config, ExporterKind};
use crate::model::FlushReport;
use crate::model::Record;

/// Requests in flight at most.
const MAX_IN_FLIGHT: usize = 4;
/// How often the buffers are drained even when no producer asked (caps the delay before a
/// quiet thread's observations are seen).
const MAX_DRAIN_TICK: Duration = Duration::from_millis(100);
/// A request from the client handle.
pub(crate) enum Command {
    /// Export everything finished before this command, answer by `deadline`.
    Flush { deadline: Instant, reply: Reply },
    /// Flush, then stop the thread.
    Shutdown { deadline: Instant, reply: Reply },
}

/// Where a flush's report goes: a blocked thread, an awaiting task, or nobody (the last
/// client handle is gone and the exporter stops on its own).
pub(crate) enum Reply {
    Blocking(std::sync::mpsc::SyncSender<FlushReport>),
    Async(oneshot::Sender<FlushReport>),
    Nobody,
}

impl Reply {
    fn send(self, report: FlushReport) {
        // The caller may have given up waiting; that is fine.
        match self {
            Reply::Blocking(tx) => {
                let _ = tx.try_send(report);
            }
            Reply::Async(tx) => {
                let _ = tx.send(report);
            }
            Reply::Nobody => {}
        }
    }
}

thread_local! {
    static IS_EXPORTER: Cell<bool> = const { Cell::new(false) };
}

/// Whether the caller runs on the exporter thread (where waiting for a flush would deadlock).
pub(crate) fn is_exporter_thread() -> bool {
    IS_EXPORTER.with(Cell::get)
}

/// Lowers the calling thread's scheduling priority by `niceness` steps, on Linux: when the
/// machine's cores are all busy, the service's threads run before the exporter, so encoding,
/// compressing and shipping never delay a request (the tail-latency spikes the Python SDK's
/// exporter thread causes). When a core is idle, niceness changes nothing. If the exporter is
/// starved for long, the queue fills and drops are counted; memory stays bounded. Threads the
/// exporter's runtime starts (DNS lookups) inherit the priority. Elsewhere: nothing.
fn yield_to_the_service(niceness: u8) {
    #[cfg(target_os = "linux")]
    if niceness > 0 {
        // SAFETY: plain system calls about the calling thread, no memory passed. On Linux,
        // `PRIO_PROCESS` with a thread id applies to that thread alone. Relative to the
        // thread's current value (inherited from the thread that called `init()`), capped at
        // the lowest priority. (A -1 from `getpriority` may be an error: the exporter then
        // ends up one step less nice, which is harmless.)
        let failed = unsafe {
            let tid = libc::gettid() as libc::id_t;
            let current = libc::getpriority(libc::PRIO_PROCESS, tid);
            let target = (current + i32::from(niceness)).min(19);
            libc::setpriority(libc::PRIO_PROCESS, tid, target) != 0
        };
        if failed {
            tracing::debug!(target: "langfuse", "could not lower the exporter thread's priority");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = niceness;
}

/// Starts the exporter thread and waits until its runtime and HTTP client are ready. The
/// project fetcher, if any, runs beside the worker on the same runtime.
pub(crate) fn spawn(
    config: Config,
    commands: mpsc::UnboundedReceiver<Command>,
    project: Option<Fetcher>,
) -> Result<JoinHandle<()>, String> {
    let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel::<Result<(), String>>(1);
    let handle = std::thread::Builder::new()
        .name("langfuse-exporter".to_owned())
        .spawn(move || {
            IS_EXPORTER.with(|c| c.set(true));
            yield_to_the_service(config.exporter_niceness());
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_io()
                .enable_time()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => {
                    let _ = ready_tx.send(Err(format!("tokio runtime: {e}")));
                    return;
                }
            };
            let sink = match Sink::new(&config) {
                Ok(sink) => sink,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            if let (Some(project), Sink::Otlp { transport, .. }) = (project, &sink) {
                runtime.spawn(project.run(Arc::clone(transport)));
            }
            let _ = ready_tx.send(Ok(()));
            runtime.block_on(Worker::new(&config, sink).run(commands));
        })
        .map_err(|e| format!("spawning the thread: {e}"))?;
    match ready_rx.recv() {
        Ok(Ok(())) => Ok(handle),
        Ok(Err(e)) => Err(e),
        Err(_) => Err("the exporter thread exited during startup".to_owned()),
    }
}

/// Where finished observations go.
enum Sink {
    Otlp {
        encoder: OtlpEncoder,
        transport: Arc<HttpTransport>,
        max_batch_bytes: usize,
    },
    Console(ConsoleExporter<std::io::Stderr>),
    Discard,
}

impl Sink {
    fn new(config: &Config) -> Result<Self, String> {
        Ok(match config.exporter() {
            ExporterKind::Otlp => Sink::Otlp {
                encoder: OtlpEncoder::new(EncoderSettings {
                    service_name: config.service_name().to_owned(),
                    environment: config.environment().map(str::to_owned),
                    release: config.release().map(str::to_owned),
                    public_key: config.public_key().map(str::to_owned),
                }),
                transport: Arc::new(
                    HttpTransport::new(TransportSettings {
                        traces_url: config.traces_url().clone(),
                        public_key: config.public_key().map(str::to_owned),
                        secret_key: config.secret_key().map(str::to_owned),
                        compression: config.compression() == Compression::Gzip,
                        timeout: config.timeout(),
                        max_retries: config.max_retries(),
                        extra_headers: extra_headers(config),
                    })
                    .map_err(|e| format!("HTTP client: {e}"))?,
                ),
                max_batch_bytes: config.max_batch_bytes(),
            },
            ExporterKind::Console => Sink::Console(ConsoleExporter::stderr()),
            ExporterKind::None => Sink::Discard,
        })
    }
}

/// Headers added to every export: the user's, plus the OpenTelemetry ones when exporting to a
/// collector instead of Langfuse.
fn extra_headers(config: &Config) -> Vec<(HeaderName, HeaderValue)> {
    let otlp = config
        .otlp_traces_endpoint()
        .map(|_| config.otlp_headers().iter());
    config
        .additional_headers()
        .iter()
        .chain(otlp.into_iter().flatten())
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

/// A flush or shutdown waiting for its observations to settle.
struct Waiter {
    /// Done once every observation with a sequence number below this has settled.
    target: u64,
    deadline: Instant,
    reply: Reply,
    started: Instant,
    exported_before: u64,
    dropped_before: u64,
    scores: ScoreMark,
}

/// A batch handed to the transport and not settled yet.
struct InFlight {
    first_seq: u64,
    count: usize,
    captured_bytes: usize,
}

/// The result of one request, reported back to the loop.
struct Sent {
    first_seq: u64,
    outcome: ExportOutcome,
}

struct Worker {
    sink: Sink,
    /// The user's mask, applied as records arrive; `None` without one, or when records are
    /// discarded anyway.
    masker: Option<Masker>,
    pending: VecDeque<Record>,
    /// Sequence number of the next observation moved into `pending`.
    next_seq: u64,
    /// Sequence number of the next observation cut into a batch (`pending` starts here).
    next_cut: u64,
    in_flight: JoinSet<Sent>,
    in_flight_batches: Vec<InFlight>,
    flush_at: usize,
    flush_interval: Duration,
    last_send: Instant,
    waiters: Vec<Waiter>,
    shutdown: Option<Waiter>,
    drop_warning: DropWarning,
    rejected_statuses_logged: Vec<u16>,
    /// Named in the log when the server refuses the credentials (never the secret key).
    public_key: Option<String>,
    /// Spans go to an OpenTelemetry collector (`OTEL_EXPORTER_OTLP_*`), not to Langfuse.
    to_collector: bool,
    scores: ScoreExporter,
}

impl Worker {
    fn new(config: &Config, sink: Sink) -> Self {
        let span_transport = match &sink {
            Sink::Otlp { transport, .. } => Some(transport),
            _ => None,
        };
        let scores = ScoreExporter::new(config, span_transport);
        let masker = match sink {
            Sink::Discard => None,
            _ => config.mask().cloned().map(Masker::new),
        };
        Self {
            sink,
            masker,
            pending: VecDeque::new(),
            next_seq: 0,
            next_cut: 0,
            in_flight: JoinSet::new(),
            in_flight_batches: Vec::new(),
            flush_at: config.flush_at(),
            flush_interval: config.flush_interval(),
            last_send: Instant::now(),
            waiters: Vec::new(),
            shutdown: None,
            drop_warning: DropWarning::default(),
            rejected_statuses_logged: Vec::new(),
            public_key: config.public_key().map(str::to_owned),
            to_collector: config.otlp_traces_endpoint().is_some(),
            scores,
        }
    }

    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        let mut ticker = tokio::time::interval(self.flush_interval.min(MAX_DRAIN_TICK));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let collector = collector::global();
        let mut commands_open = true;
        loop {
            let next_deadline = self.next_deadline();
            tokio::select! {
                command = commands.recv(), if commands_open => match command {
                    Some(command) => self.accept(command),
                    None => {
                        // Every client handle is gone: stop after a last flush.
                        commands_open = false;
                        self.accept_shutdown(Instant::now() + Duration::from_secs(5), Reply::Nobody);
                    }
                },
                Some(sent) = self.in_flight.join_next(), if !self.in_flight.is_empty() => {
                    if let Ok(sent) = sent {
                        self.settle(sent);
                    }
                }
                Some(done) = self.scores.next_done(), if self.scores.has_in_flight() => {
                    self.scores.settle(done);
                }
                () = collector.woken() => {}
                _ = ticker.tick() => {}
                () = sleep_until(next_deadline), if next_deadline.is_some() => {}
            }
            self.drain();
            self.dispatch();
            self.dispatch_scores();
            self.answer_waiters();
            self.warn_about_drops();
            if self.shutdown_complete() {
                break;
            }
        }
    }

    fn accept(&mut self, command: Command) {
        match command {
            Command::Flush { deadline, reply } => {
                let waiter = self.waiter(deadline, reply);
                self.waiters.push(waiter);
            }
            Command::Shutdown { deadline, reply } => self.accept_shutdown(deadline, reply),
        }
    }

    fn accept_shutdown(&mut self, deadline: Instant, reply: Reply) {
        if self.shutdown.is_some() {
            // Already stopping: the first caller's shutdown does the work.
            reply.send(FlushReport::default());
            return;
        }
        let waiter = self.waiter(deadline, reply);
        self.shutdown = Some(waiter);
    }

    /// Registers a flush: everything finished before now must settle.
    fn waiter(&mut self, deadline: Instant, reply: Reply) -> Waiter {
        self.drain();
        let stats = collector::global().stats();
        Waiter {
            target: self.next_seq,
            deadline,
            reply,
            started: Instant::now(),
            exported_before: stats.exported,
            dropped_before: stats.dropped(),
            scores: self.scores.mark(),
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.waiters
            .iter()
            .chain(self.shutdown.as_ref())
            .map(|w| w.deadline)
            .min()
    }

    fn drain(&mut self) {
        let first_new = self.pending.len();
        let moved = collector::global().drain_into(&mut self.pending);
        self.next_seq += moved as u64;
        // Before any sink sees them: nothing unmasked is encoded, printed or sent.
        if let Some(masker) = &mut self.masker {
            masker.mask_drained(self.pending.range_mut(first_new..));
        }
        // Every request slot taken and a backlog behind them: the server is down, slow or
        // behind, and what was just drained will wait. Captures are written into recycled
        // buffers of at least a few hundred bytes; a waiting record keeps only what it holds.
        if self.in_flight.len() >= MAX_IN_FLIGHT
            && self.pending.len() >= self.flush_at.saturating_mul(2)
        {
            for record in self.pending.range_mut(first_new..) {
                record.compact();
            }
        }
        self.scores.drain();
    }

    /// Sends pending scores. As for spans, only shutdown's deadline ends their delivery; a
    /// flush's deadline bounds its caller's wait.
    fn dispatch_scores(&mut self) {
        let deadline = self
            .shutdown
            .as_ref()
            .map(|w| tokio::time::Instant::from_std(w.deadline));
        self.scores.dispatch(deadline);
    }

    fn flushing(&self) -> bool {
        !self.waiters.is_empty() || self.shutdown.is_some()
    }

    /// Starts as many sends as the policy allows.
    fn dispatch(&mut self) {
        if self.pending.is_empty() {
            self.release_backlog_capacity();
            return;
        }
        let due = self.flushing()
            || self.pending.len() >= self.flush_at
            || self.last_send.elapsed() >= self.flush_interval;
        if !due {
            return;
        }
        // A flush's deadline bounds how long its caller waits, not how long a batch may keep
        // retrying; only shutdown's deadline ends delivery.
        let deadline = self
            .shutdown
            .as_ref()
            .map(|w| tokio::time::Instant::from_std(w.deadline));
        match &mut self.sink {
            Sink::Console(console) => {
                let records: Vec<Record> = self.pending.drain(..).collect();
                let count = records.len();
                let bytes = records.iter().map(Record::captured_bytes).sum();
                if let Err(e) = console.export(records, &Anchor::now()) {
                    tracing::warn!(target: "langfuse", "console exporter could not write: {e}");
                }
                self.next_cut += count as u64;
                collector::global().settle(BatchFate::Exported, count, bytes);
            }
            Sink::Discard => {
                let count = self.pending.len();
                let bytes = self.pending.iter().map(Record::captured_bytes).sum();
                for mut record in self.pending.drain(..) {
                    record.recycle();
                }
                self.next_cut += count as u64;
                collector::global().settle(BatchFate::Exported, count, bytes);
            }
            Sink::Otlp {
                encoder,
                transport,
                max_batch_bytes,
            } => {
                let flushing = !self.waiters.is_empty() || self.shutdown.is_some();
                while !self.pending.is_empty() {
                    let backlog = self.pending.len() >= self.flush_at.saturating_mul(2);
                    let limit = if flushing || backlog {
                        MAX_IN_FLIGHT
                    } else {
                        1
                    };
                    if self.in_flight.len() >= limit {
                        break;
                    }
                    let Some(batch) =
                        encoder.encode_batch(&mut self.pending, *max_batch_bytes, &Anchor::now())
                    else {
                        break;
                    };
                    // Compressed here, on this thread: the encoder's buffer is reused for the
                    // next batch.
                    let body = transport.traces_body(batch.body);
                    let first_seq = self.next_cut;
                    self.next_cut += batch.observations as u64;
                    self.in_flight_batches.push(InFlight {
                        first_seq,
                        count: batch.observations,
                        captured_bytes: batch.captured_bytes,
                    });
                    let transport = Arc::clone(transport);
                    self.in_flight.spawn(async move {
                        let outcome = transport.export(body, deadline).await;
                        Sent { first_seq, outcome }
                    });
                    self.last_send = Instant::now();
                }
            }
        }
        if matches!(self.sink, Sink::Console(_) | Sink::Discard) {
            self.last_send = Instant::now();
        }
        if self.pending.is_empty() {
            self.release_backlog_capacity();
        }
    }

    /// Gives back what a backlog grew `pending` to (up to `max_queue_size` records, 16 MB at
    /// the default), so that memory returns to its level before an outage once it drains.
    fn release_backlog_capacity(&mut self) {
        let keep = self.flush_at.saturating_mul(4);
        if self.pending.capacity() > keep.saturating_mul(2) {
            self.pending.shrink_to(keep);
        }
    }

    fn settle(&mut self, sent: Sent) {
        let Some(index) = self
            .in_flight_batches
            .iter()
            .position(|b| b.first_seq == sent.first_seq)
        else {
            return;
        };
        let batch = self.in_flight_batches.swap_remove(index);
        let outcome = &sent.outcome;
        let fate = match &outcome.result {
            Delivery::Delivered => BatchFate::Exported,
            Delivery::Rejected { status, message } => {
                self.log_rejection(*status, message, batch.count);
                BatchFate::Rejected
            }
            Delivery::Failed { reason, .. } => {
                tracing::warn!(
                    target: "langfuse",
                    observations = batch.count,
                    attempts = outcome.attempts,
                    "export failed, observations dropped: {reason}"
                );
                BatchFate::Failed
            }
        };
        let collector = collector::global();
        collector.count_request(
            fate == BatchFate::Exported,
            outcome.retries,
            outcome.bytes_sent,
        );
        collector.settle(fate, batch.count, batch.captured_bytes);
    }

    /// Logs a refused request once per status code, with the server's own message.
    fn log_rejection(&mut self, status: u16, message: &str, count: usize) {
        if self.rejected_statuses_logged.contains(&status) {
            tracing::debug!(target: "langfuse", status, observations = count, "export rejected again: {message}");
            return;
        }
        self.rejected_statuses_logged.push(status);
        if (status == 401 || status == 403) && self.to_collector {
            tracing::error!(
                target: "langfuse",
                status,
                observations = count,
                "the OpenTelemetry endpoint refused the export (HTTP {status}); check the credentials in OTEL_EXPORTER_OTLP_HEADERS (or OTEL_EXPORTER_OTLP_TRACES_HEADERS). Not retried; further rejections with this status are logged at debug level. Server said: {message}"
            );
            return;
        }
        if status == 401 || status == 403 {
            // The usual causes: a key pair from another project, a secret key that was
            // rotated, or a base URL in another region than the project. Name the key in use
            // by its public half so the operator can tell which one; never the secret.
            let public_key = self.public_key.as_deref().unwrap_or("<none>");
            let refusal = if status == 401 {
                "Langfuse refused the API keys"
            } else {
                "Langfuse refused access for the API keys"
            };
            tracing::error!(
                target: "langfuse",
                status,
                observations = count,
                public_key,
                "{refusal} with public key {public_key} (HTTP {status}); check LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY, and that LANGFUSE_BASE_URL is the server (region) of that project. Not retried; further rejections with this status are logged at debug level. Server said: {message}"
            );
            return;
        }
        tracing::error!(
            target: "langfuse",
            status,
            observations = count,
            "Langfuse rejected an export (not retried; further rejections with this status are logged at debug level): {message}"
        );
    }

    /// Everything below this sequence number has settled.
    fn settled_below(&self) -> u64 {
        self.in_flight_batches
            .iter()
            .map(|b| b.first_seq)
            .min()
            .unwrap_or(self.next_cut)
    }

    fn answer_waiters(&mut self) {
        let settled = self.settled_below();
        let now = Instant::now();
        let mut i = 0;
        while i < self.waiters.len() {
            let w = &self.waiters[i];
            let done = settled >= w.target && self.scores.reached(&w.scores);
            if done || now >= w.deadline {
                let waiter = self.waiters.swap_remove(i);
                let report = report(&waiter, !done);
                waiter.reply.send(report);
            } else {
                i += 1;
            }
        }
    }

    fn shutdown_complete(&mut self) -> bool {
        let Some(w) = &self.shutdown else {
            return false;
        };
        let done =
            self.settled_below() >= w.target && self.pending.is_empty() && self.scores.is_idle();
        if !done && Instant::now() < w.deadline {
            return false;
        }
        // Deadline passed (or all done): whatever is left is lost, and counted.
        self.in_flight.abort_all();
        while let Some(result) = self.in_flight.try_join_next() {
            // A request may have completed just before the abort: settle it for what it was.
            if let Ok(sent) = result {
                self.settle(sent);
            }
        }
        let collector = collector::global();
        for batch in self.in_flight_batches.drain(..) {
            collector.settle(
                BatchFate::AbandonedAtShutdown,
                batch.count,
                batch.captured_bytes,
            );
        }
        let pending = self.pending.len();
        let pending_bytes = self.pending.iter().map(Record::captured_bytes).sum();
        self.pending.clear();
        collector.settle(BatchFate::AbandonedAtShutdown, pending, pending_bytes);
        self.scores.abandon();
        if let Sink::Console(console) = &mut self.sink
            && let Err(e) = console.finish(&Anchor::now())
        {
            tracing::warn!(target: "langfuse", "console exporter could not write: {e}");
        }
        // From here on nothing is accepted, and whatever ended after the last drain is
        // dropped and counted rather than left pending forever.
        crate::lifecycle::set(crate::lifecycle::State::ShutDown);
        collector.discard_after_shutdown();
        let shutdown = self.shutdown.take().expect("checked above");
        for waiter in self.waiters.drain(..).chain(Some(shutdown)) {
            let report = report(&waiter, !done);
            waiter.reply.send(report);
        }
        true
    }

    fn warn_about_drops(&mut self) {
        let total = collector::global().dropped_queue_full();
        let Some(dropped) = self.drop_warning.due(total) else {
            return;
        };
        tracing::warn!(
            target: "langfuse",
            dropped,
            total,
            "observations dropped because the queue is full (raise LANGFUSE_MAX_QUEUE_SIZE or LANGFUSE_MAX_QUEUE_BYTES, or check that the server keeps up)"
        );
    }
}

fn report(waiter: &Waiter, timed_out: bool) -> FlushReport {
    let stats = collector::global().stats();
    let mut report = FlushReport {
        exported: stats.exported.saturating_sub(waiter.exported_before),
        dropped: stats.dropped().saturating_sub(waiter.dropped_before),
        pending: stats.queue_depth,
        timed_out,
        elapsed: waiter.started.elapsed(),
        ..FlushReport::default()
    };
    waiter.scores.fill(&mut report);
    report
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)).await,
        None => std::future::pending().await,
    }
}
