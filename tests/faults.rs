//! Server faults, each against a misbehaving loopback server: down at start, 5xx storms, 429
//! with `Retry-After`, 400 and 401/403 refusals, a server that accepts and never answers, and
//! connections reset mid-request.
//!
//! For each: every observation ends up exported or dropped with its reason
//! (`started == exported + dropped_* + queue_depth`), the queue never holds more than its
//! bound, and recording never waits for the server.

mod support;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use langfuse::{ConfigBuilder, LangfuseGuard, Stats, observe};
use support::logs::Logs;
use support::setup::{PUBLIC_KEY, SECRET_KEY, WAIT};
use support::{Receiver, Reply};
use tokio::io::AsyncReadExt as _;
use tokio::net::{TcpListener, TcpStream};

/// Small bounds, so that a test can fill them: `MAX_QUEUE` observations between the rings and
/// the server, plus `RING` in the recording thread's own buffer.
const MAX_QUEUE: usize = 40;
const RING: usize = 16;

#[observe(capture_input = false, capture_output = false)]
fn step(i: u32) -> u32 {
    i + 1
}

/// Every observation started is exported, dropped with a reason, or still queued.
#[track_caller]
fn assert_accounted(stats: &Stats) {
    assert_eq!(
        stats.started,
        stats.exported + stats.dropped() + stats.queue_depth,
        "an observation is unaccounted for: {stats:?}"
    );
}

/// The bound on what one recording thread can have queued: the shared queue and the
/// exporter's batches (`max_queue_size`), plus that thread's ring.
#[track_caller]
fn assert_bounded(stats: &Stats) {
    assert!(
        stats.queue_depth <= (MAX_QUEUE + RING) as u64,
        "queue depth {} above its bound: {stats:?}",
        stats.queue_depth
    );
}

/// Records `count` observations, flushes until everything settled, and returns the stats,
/// checked to account for every observation.
#[track_caller]
fn record_and_flush(guard: &LangfuseGuard, count: u32) -> Stats {
    for i in 0..count {
        step(i);
    }
    let report = guard.flush(WAIT);
    assert!(report.is_complete(), "{report:?}");
    let stats = guard.stats();
    assert_accounted(&stats);
    stats
}

/// A configuration sending to `addr`, with small queue bounds.
fn config_at(addr: SocketAddr) -> ConfigBuilder {
    langfuse::Langfuse::builder()
        .ignore_environment()
        .public_key(PUBLIC_KEY)
        .secret_key(SECRET_KEY)
        .base_url(format!("http://{addr}"))
        .flush_interval(Duration::from_millis(50))
        .max_queue_size(MAX_QUEUE)
        .thread_buffer_size(RING)
}

/// Batches only when flushed: each flush sends exactly one request.
fn one_batch_per_flush(receiver: &Receiver) -> LangfuseGuard {
    config_at(receiver.addr())
        .flush_interval(Duration::from_secs(3600))
        .init()
        .unwrap()
}

/// A loopback port with nothing listening on it (bound, then released).
fn closed_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// Every request that reached the receiver decoded as OTLP: none was malformed.
#[track_caller]
fn assert_all_decoded(receiver: &Receiver) {
    for request in receiver.trace_requests() {
        assert!(
            request.export.is_some(),
            "undecodable request: {:?}",
            request.decode_error
        );
    }
}

#[test]
fn down_at_start_then_up_delivers_everything_within_the_bound() {
    own_process!();
    let logs = Logs::capture();
    let addr = closed_port();
    let guard = config_at(addr).max_retries(10).init().unwrap();
    for i in 0..200 {
        step(i);
        assert_bounded(&guard.stats());
    }
    // Until at least one attempt was refused and its backoff started (the exporter logs each
    // retry it schedules), rather than a fixed sleep that may or may not cover it.
    logs.wait_for(&["DEBUG", "export attempt failed; retrying"], WAIT);
    let stats = guard.stats();
    assert_accounted(&stats);
    assert_bounded(&stats);
    assert!(
        stats.dropped_queue_full > 0,
        "the bound was reached: {stats:?}"
    );

    let receiver = Receiver::start_on(addr);
    let report = guard.flush(Duration::from_secs(30));
    assert!(report.is_complete(), "{report:?}");
    let stats = guard.stats();
    assert_accounted(&stats);
    assert_eq!(stats.queue_depth, 0);
    assert_eq!(stats.started, 200);
    // Nothing held within the bound was lost: only what the full queue refused is missing.
    assert_eq!(stats.exported + stats.dropped_queue_full, 200, "{stats:?}");
    assert!(stats.exported >= MAX_QUEUE as u64, "{stats:?}");
    assert_eq!(stats.dropped_export_failed, 0, "{stats:?}");
    assert!(
        stats.retries >= 1,
        "the first attempts were refused: {stats:?}"
    );

    let spans = receiver.wait_for_spans(stats.exported as usize, WAIT);
    assert_eq!(spans.len() as u64, stats.exported, "each delivered once");
    let ids: HashSet<String> = spans.iter().map(|s| s.span_id()).collect();
    assert_eq!(ids.len(), spans.len(), "no span twice");
    assert_all_decoded(&receiver);
}

/// A storm of `status` answers, shorter than the retry budget: retried, then delivered once.
fn storm_then_recovery(status: u16) {
    let receiver = Receiver::start();
    receiver.enqueue([
        Reply::status(status).with_body("storm"),
        Reply::status(status),
    ]);
    let guard = one_batch_per_flush(&receiver);
    let stats = record_and_flush(&guard, 10);
    assert_eq!(
        (stats.exported, stats.dropped(), stats.queue_depth),
        (10, 0, 0),
        "{stats:?}"
    );
    assert_eq!(
        (stats.export_requests, stats.retries, stats.failed_requests),
        (1, 2, 0),
        "{stats:?}"
    );
    let requests = receiver.trace_requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(
        requests.iter().map(|r| r.reply.status).collect::<Vec<_>>(),
        [status, status, 200]
    );
    assert_eq!(requests[0].body, requests[2].body, "the same batch, resent");
    assert_all_decoded(&receiver);
    assert_eq!(receiver.spans().len(), 10, "delivered once");
}

#[test]
fn a_500_storm_is_retried_then_delivered() {
    own_process!();
    storm_then_recovery(500);
}

#[test]
fn a_502_storm_is_retried_then_delivered() {
    own_process!();
    storm_then_recovery(502);
}

#[test]
fn a_503_storm_is_retried_then_delivered() {
    own_process!();
    storm_then_recovery(503);
}

#[test]
fn a_504_storm_is_retried_then_delivered() {
    own_process!();
    storm_then_recovery(504);
}

#[test]
fn a_storm_longer_than_the_retry_budget_drops_and_counts_the_batch() {
    own_process!();
    let logs = Logs::capture();
    let receiver = Receiver::start();
    receiver.respond_with(|_| Some(Reply::status(503).with_body("down for maintenance")));
    let guard = config_at(receiver.addr())
        .flush_interval(Duration::from_secs(3600))
        .max_retries(1)
        .init()
        .unwrap();
    for i in 0..10 {
        step(i);
    }
    let report = guard.flush(WAIT);
    assert!(
        report.is_complete(),
        "settled, if not delivered: {report:?}"
    );
    assert_eq!(report.dropped, 10);
    let stats = guard.stats();
    assert_accounted(&stats);
    assert_eq!(
        (
            stats.exported,
            stats.dropped_export_failed,
            stats.queue_depth
        ),
        (0, 10, 0)
    );
    assert_eq!(
        (stats.export_requests, stats.retries, stats.failed_requests),
        (1, 1, 1)
    );
    assert_eq!(receiver.trace_requests().len(), 2);
    let warnings = logs.lines_with(&["WARN", "export failed", "down for maintenance"]);
    assert_eq!(warnings.len(), 1, "{}", logs.text());
}

#[test]
fn too_many_requests_waits_as_long_as_retry_after_says() {
    own_process!();
    let receiver = Receiver::start();
    receiver.enqueue([Reply::status(429)
        .with_header("retry-after", "1")
        .with_body("rate limit exceeded")]);
    let guard = one_batch_per_flush(&receiver);
    let stats = record_and_flush(&guard, 5);
    assert_eq!((stats.exported, stats.retries), (5, 1), "{stats:?}");
    let requests = receiver.trace_requests();
    assert_eq!(requests.len(), 2);
    // The server asked for a second; the backoff alone would have waited about half that.
    let gap = requests[1].received_at - requests[0].received_at;
    assert!(gap >= Duration::from_millis(950), "retried after {gap:?}");
    assert_eq!(receiver.spans().len(), 5);
}

#[test]
fn a_bad_request_is_not_retried_but_counted_and_logged_once_with_the_message() {
    own_process!();
    let logs = Logs::capture();
    let receiver = Receiver::start();
    receiver.respond_with(|_| {
        Some(Reply::status(400).with_body(r#"{"message":"Invalid request: reason-4711"}"#))
    });
    let guard = one_batch_per_flush(&receiver);
    for i in 0..3 {
        step(i);
        step(i);
        let report = guard.flush(WAIT);
        assert!(report.is_complete(), "{report:?}");
        assert_eq!(report.dropped, 2);
    }
    let stats = guard.stats();
    assert_accounted(&stats);
    assert_eq!(
        (stats.exported, stats.dropped_rejected, stats.queue_depth),
        (0, 6, 0)
    );
    assert_eq!(
        (stats.export_requests, stats.failed_requests, stats.retries),
        (3, 3, 0),
        "one request per batch, none retried: {stats:?}"
    );
    assert_eq!(receiver.trace_requests().len(), 3);
    assert_all_decoded(&receiver);

    let errors = logs.lines_with(&["ERROR", "rejected", "reason-4711"]);
    assert_eq!(errors.len(), 1, "logged once: {}", logs.text());
    assert!(errors[0].contains("400"), "{}", errors[0]);
    let again = logs.lines_with(&["DEBUG", "rejected again", "reason-4711"]);
    assert_eq!(again.len(), 2, "{}", logs.text());
}

/// The server refuses the keys with `status`: one error naming the public key, never the
/// secret one.
fn refused_credentials(status: u16) {
    let logs = Logs::capture();
    let receiver = Receiver::start();
    receiver.respond_with(move |_| {
        Some(Reply::status(status).with_body(r#"{"message":"Invalid credentials. Confirm that you've configured the correct host."}"#))
    });
    let guard = one_batch_per_flush(&receiver);
    for round in 0..2 {
        step(round);
        assert!(guard.flush(WAIT).is_complete());
    }
    let stats = guard.stats();
    assert_accounted(&stats);
    assert_eq!((stats.dropped_rejected, stats.retries), (2, 0), "{stats:?}");

    let errors = logs.sdk_lines("ERROR");
    assert_eq!(errors.len(), 1, "one clear error: {}", logs.text());
    let error = &errors[0];
    for expected in [
        PUBLIC_KEY,
        &format!("HTTP {status}"),
        "LANGFUSE_SECRET_KEY",
        "LANGFUSE_BASE_URL",
        "Invalid credentials",
    ] {
        assert!(
            error.contains(expected),
            "{expected:?} missing from {error}"
        );
    }
    assert!(!logs.text().contains(SECRET_KEY), "{}", logs.text());
}

#[test]
fn unauthorized_is_one_error_naming_the_public_key_never_the_secret() {
    own_process!();
    refused_credentials(401);
}

#[test]
fn forbidden_is_one_error_naming_the_public_key_never_the_secret() {
    own_process!();
    refused_credentials(403);
}

/// What a [`FaultyServer`] does with each new connection.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// Reads the start of the request, then resets the connection (RST).
    Reset,
    /// Accepts and never reads nor answers.
    Hang,
}

/// A loopback server that applies its faults to the first connections in order, then passes
/// every later connection through to an upstream [`Receiver`].
struct FaultyServer {
    addr: SocketAddr,
    connections: Arc<Mutex<usize>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FaultyServer {
    fn start(faults: Vec<Fault>, upstream: Option<SocketAddr>) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(Mutex::new(0));
        let counted = Arc::clone(&connections);
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = TcpListener::from_std(listener).unwrap();
                let mut faults = faults.into_iter();
                // Hung connections stay open until the server stops.
                let mut held = Vec::new();
                loop {
                    let (mut stream, _) = tokio::select! {
                        _ = &mut stopped => return,
                        accepted = listener.accept() => match accepted {
                            Ok(accepted) => accepted,
                            Err(_) => continue,
                        },
                    };
                    *counted.lock().unwrap() += 1;
                    match faults.next() {
                        Some(Fault::Hang) => held.push(stream),
                        Some(Fault::Reset) => {
                            tokio::spawn(async move {
                                let mut start = [0u8; 32];
                                let _ = stream.read(&mut start).await;
                                // Linger zero: closing sends RST instead of FIN.
                                let _ = stream.set_zero_linger();
                                drop(stream);
                            });
                        }
                        None => match upstream {
                            Some(upstream) => {
                                tokio::spawn(async move {
                                    if let Ok(mut server) = TcpStream::connect(upstream).await {
                                        let _ =
                                            tokio::io::copy_bidirectional(&mut stream, &mut server)
                                                .await;
                                    }
                                });
                            }
                            None => held.push(stream),
                        },
                    }
                }
            });
        });
        Self {
            addr,
            connections,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn connections(&self) -> usize {
        *self.connections.lock().unwrap()
    }
}

impl Drop for FaultyServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[test]
fn a_server_that_accepts_and_never_answers_costs_the_request_path_nothing() {
    own_process!();
    // Every connection hangs: accepted, never read, never answered.
    let server = FaultyServer::start(Vec::new(), None);
    let guard = config_at(server.addr)
        .timeout(Duration::from_millis(300))
        .max_retries(1)
        .init()
        .unwrap();
    for i in 0..20 {
        step(i);
    }
    // A flush returns by its deadline, with the batch still in flight.
    let started = Instant::now();
    let report = guard.flush(Duration::from_millis(200));
    assert!(report.timed_out, "{report:?}");
    assert!(started.elapsed() < Duration::from_secs(2), "{report:?}");
    // The exporter reached the server. Waited for rather than checked at once: on a busy
    // machine the exporter, niced below the service, may not have connected within 200 ms.
    let connected = Instant::now() + WAIT;
    while server.connections() == 0 {
        assert!(
            Instant::now() < connected,
            "nothing connected within {WAIT:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }

    // While the exporter waits on the server, observations still record and return at once:
    // the loop finishes, each one is counted, and each is queued or dropped as full; none
    // waits for room.
    let before = guard.stats();
    for i in 0..5_000 {
        step(i);
        if i % 100 == 0 {
            let stats = guard.stats();
            assert_bounded(&stats);
            assert_accounted(&stats);
        }
    }
    let during = guard.stats();
    assert_eq!(during.started, before.started + 5_000);
    assert!(during.dropped_queue_full > 0, "{during:?}");
    assert_accounted(&during);
    assert_bounded(&during);

    // Each attempt times out (300 ms), the retry too: the batches fail and are counted.
    let report = guard.flush(WAIT);
    assert!(report.is_complete(), "{report:?}");
    let stats = guard.stats();
    assert_accounted(&stats);
    assert_eq!(stats.queue_depth, 0);
    assert_eq!(stats.exported, 0);
    assert!(stats.dropped_export_failed > 0, "{stats:?}");
    assert_eq!(
        stats.dropped_export_failed + stats.dropped_queue_full,
        5_020,
        "{stats:?}"
    );
    assert!(
        stats.failed_requests >= 1 && stats.retries >= 1,
        "{stats:?}"
    );
}

#[test]
fn connections_reset_mid_request_are_retried_then_delivered_once() {
    own_process!();
    let receiver = Receiver::start();
    let server = FaultyServer::start(vec![Fault::Reset, Fault::Reset], Some(receiver.addr()));
    // Spans only go through the faulty server (as to an OpenTelemetry collector), so that
    // the faults hit the export and not the background project lookup.
    let guard = config_at(receiver.addr())
        .otlp_traces_endpoint(format!("http://{}{}", server.addr, support::TRACES_PATH))
        .flush_interval(Duration::from_secs(3600))
        .init()
        .unwrap();
    let stats = record_and_flush(&guard, 10);
    assert_eq!((stats.exported, stats.dropped()), (10, 0), "{stats:?}");
    assert_eq!((stats.export_requests, stats.retries), (1, 2), "{stats:?}");
    assert!(server.connections() >= 3);
    assert_eq!(
        receiver.trace_requests().len(),
        1,
        "only the third got through"
    );
    assert_all_decoded(&receiver);
    let spans = receiver.wait_for_spans(10, WAIT);
    assert_eq!(spans.len(), 10);
}

#[test]
fn a_hung_server_cannot_hold_shutdown_past_its_deadline() {
    own_process!();
    let server = FaultyServer::start(vec![Fault::Hang; 64], None);
    let guard = config_at(server.addr)
        .timeout(Duration::from_secs(20))
        .init()
        .unwrap();
    for i in 0..10 {
        step(i);
    }
    let started = Instant::now();
    let report = guard.shutdown(Duration::from_millis(300));
    assert!(started.elapsed() < Duration::from_secs(2), "{report:?}");
    assert!(!report.is_complete(), "{report:?}");
    let stats = guard.stats();
    assert_accounted(&stats);
    assert_eq!(stats.queue_depth, 0, "nothing stays pending: {stats:?}");
    assert_eq!(stats.dropped_after_shutdown, 10, "{stats:?}");
    // Refused, and counted, from now on.
    step(99);
    assert_eq!(guard.stats().refused_after_shutdown, 1);
}

#[test]
fn a_collector_refusing_its_credentials_points_at_the_otlp_headers() {
    own_process!();
    let logs = Logs::capture();
    let receiver = Receiver::start();
    receiver.respond_with(|_| Some(Reply::status(401).with_body("missing api key")));
    let guard = config_at(receiver.addr())
        .otlp_traces_endpoint(receiver.traces_url())
        .otlp_header("x-api-key", "collector-key-123456")
        .init()
        .unwrap();
    step(1);
    assert!(guard.flush(WAIT).is_complete());
    assert_eq!(guard.stats().dropped_rejected, 1);
    let errors = logs.sdk_lines("ERROR");
    assert_eq!(errors.len(), 1, "{}", logs.text());
    assert!(
        errors[0].contains("OTEL_EXPORTER_OTLP_HEADERS") && errors[0].contains("missing api key"),
        "{}",
        errors[0]
    );
    let text = logs.text();
    for secret in [SECRET_KEY, "collector-key-123456"] {
        assert!(!text.contains(secret), "{text}");
    }
}
