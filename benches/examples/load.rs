//! What tracing costs a loaded service, end to end, and what it costs in memory and at start.
//!
//! An axum service on 127.0.0.1 answers each request through five nested async functions with
//! about 1 ms of awaited work (a tokio sleep) and a little CPU. A load generator in the same
//! process, on its own thread and runtime, keeps `--concurrency` HTTP/1.1 connections busy for
//! `--duration` seconds and records each request's latency in an HDR histogram. The same
//! service runs three ways, in turn, against the same loopback receiver speaking Langfuse's
//! OTLP endpoint:
//!
//! - `off`: the functions without any tracing;
//! - `langfuse`: `#[observe]` on each (capture on, the default), shipping to the receiver;
//! - `tracing`: `#[tracing::instrument]` on each, `tracing-opentelemetry` and the OTLP batch
//!   exporter shipping to the same receiver (see `support/otel.rs`).
//!
//! ```text
//! cargo run -p langfuse-benches --release --example load                   # every variant
//! cargo run -p langfuse-benches --release --example load -- --duration 2 --receiver ok
//! cargo run -p langfuse-benches --release --example load -- --mode memory --duration 60
//! cargo run -p langfuse-benches --release --example load -- --mode cold-start --runs 21
//! ```
//!
//! `--no-capture` runs ours with capture off (`io_capture_enabled(false)`), to tell what
//! capturing arguments and results costs from what the observations themselves cost;
//! `--no-gzip` sends uncompressed requests (`Compression::None`), to tell what compressing
//! costs the exporter thread and, through the cores and caches it shares, the service.
//!
//! Modes:
//!
//! - `load` (default): for each receiver variant (`ok`, `slow`: every request takes 2 s, `down`:
//!   connection refused) and each round, runs `off`, `langfuse`, `tracing`; prints throughput,
//!   p50/p99/p99.9/max latency, and observations received against created.
//! - `memory`: resident memory (VmRSS) while the service runs at full load with the receiver
//!   down, then after it comes back and the queue drains.
//! - `cold-start`: spawns fresh processes of this example and times the first observed call,
//!   with and without `init()` first, against the same function undecorated.

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt as _, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

#[path = "support/otel.rs"]
mod otel;
#[path = "support/receiver.rs"]
mod receiver;

use receiver::Receiver;

/// Observed functions per request.
const DEPTH: u64 = 5;
/// Awaited work per request.
const SLEEP: Duration = Duration::from_millis(1);
/// Rounds of the CPU loop in each function: a few microseconds per request in all.
const CPU_ROUNDS: u64 = 1_000;
/// How long a slow receiver takes per request.
const SLOW_RECEIVER: Duration = Duration::from_secs(2);

#[inline(never)]
fn cpu(seed: u64) -> u64 {
    let mut x = seed;
    for _ in 0..CPU_ROUNDS {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        x ^= x >> 29;
    }
    std::hint::black_box(x)
}

/// The request path, five functions deep, once per way of tracing it.
macro_rules! request_path {
    ($(#[$attr:meta])*) => {
        $(#[$attr])*
        pub async fn handle(id: u64, route: &str) -> u64 {
            cpu(id) ^ plan(id, route).await
        }

        $(#[$attr])*
        pub async fn plan(id: u64, route: &str) -> u64 {
            cpu(id + 1) ^ retrieve(id, route).await
        }

        $(#[$attr])*
        pub async fn retrieve(id: u64, route: &str) -> u64 {
            cpu(id + 2) ^ rank(id, route).await
        }

        $(#[$attr])*
        pub async fn rank(id: u64, route: &str) -> u64 {
            cpu(id + 3) ^ generate(id, route).await
        }

        $(#[$attr])*
        pub async fn generate(id: u64, route: &str) -> u64 {
            tokio::time::sleep(SLEEP).await;
            cpu(id + 4) ^ route.len() as u64
        }
    };
}

mod off {
    use super::*;
    request_path!();
}

mod ours {
    use super::*;
    request_path!(#[langfuse::observe]);
}

mod traced {
    use super::*;
    request_path!(#[tracing::instrument]);
}

/// How the service is traced during a phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tracer {
    Off,
    Langfuse,
    Tracing,
}

impl Tracer {
    fn name(self) -> &'static str {
        match self {
            Tracer::Off => "off",
            Tracer::Langfuse => "langfuse",
            Tracer::Tracing => "tracing",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Tracer::Off => "/off",
            Tracer::Langfuse => "/langfuse",
            Tracer::Tracing => "/tracing",
        }
    }

    fn parse(s: &str) -> Result<Self, String> {
        match s {
            "off" => Ok(Tracer::Off),
            "langfuse" => Ok(Tracer::Langfuse),
            "tracing" => Ok(Tracer::Tracing),
            _ => Err(format!("unknown tracer {s:?} (off, langfuse, tracing)")),
        }
    }
}

/// How the receiver behaves during a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReceiverMode {
    Ok,
    Slow,
    Down,
}

impl ReceiverMode {
    fn name(self) -> &'static str {
        match self {
            ReceiverMode::Ok => "ok",
            ReceiverMode::Slow => "slow",
            ReceiverMode::Down => "down",
        }
    }

    fn parse(s: &str) -> Result<Self, String> {
        match s {
            "ok" => Ok(ReceiverMode::Ok),
            "slow" => Ok(ReceiverMode::Slow),
            "down" => Ok(ReceiverMode::Down),
            _ => Err(format!("unknown receiver mode {s:?} (ok, slow, down)")),
        }
    }

    fn apply(self, receiver: &mut Receiver) {
        match self {
            ReceiverMode::Ok => {
                receiver.come_back();
                receiver.set_delay(Duration::ZERO);
            }
            ReceiverMode::Slow => {
                receiver.come_back();
                receiver.set_delay(SLOW_RECEIVER);
            }
            ReceiverMode::Down => receiver.go_down(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Load,
    Memory,
    ColdStart,
    ColdChild,
}

#[derive(Debug, Clone)]
struct Options {
    mode: Mode,
    duration: Duration,
    warmup: Duration,
    concurrency: usize,
    rounds: usize,
    receivers: Vec<ReceiverMode>,
    tracers: Vec<Tracer>,
    runs: usize,
    variant: String,
    /// Fail (exit 1) unless every request succeeded and, with the receiver up, every
    /// observation of ours arrived: the CI smoke test.
    check: bool,
    /// Whether ours captures inputs and outputs (the default, as for users).
    capture: bool,
    /// Whether ours gzips its requests (the default, as for users).
    gzip: bool,
}

const USAGE: &str = "\
usage: load [--mode load|memory|cold-start] [--duration SECS] [--warmup SECS]
            [--concurrency N] [--rounds N] [--receiver ok,slow,down]
            [--tracers off,langfuse,tracing] [--runs N] [--check] [--no-capture] [--no-gzip]";

impl Options {
    fn parse() -> Result<Self, String> {
        let mut o = Options {
            mode: Mode::Load,
            duration: Duration::from_secs(10),
            warmup: Duration::from_secs(1),
            concurrency: 100,
            rounds: 1,
            receivers: vec![ReceiverMode::Ok, ReceiverMode::Slow, ReceiverMode::Down],
            tracers: vec![Tracer::Off, Tracer::Langfuse, Tracer::Tracing],
            runs: 21,
            variant: String::new(),
            check: false,
            capture: true,
            gzip: true,
        };
        let mut duration_given = false;
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            if flag == "--help" || flag == "-h" {
                return Err(USAGE.to_owned());
            }
            if flag == "--no-capture" {
                o.capture = false;
                continue;
            }
            if flag == "--no-gzip" {
                o.gzip = false;
                continue;
            }
            if flag == "--check" {
                o.check = true;
                continue;
            }
            let value = args
                .next()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
            let secs = |v: &str| {
                v.parse::<f64>()
                    .ok()
                    .filter(|s| *s >= 0.0)
                    .map(Duration::from_secs_f64)
                    .ok_or_else(|| format!("{flag}: not a number of seconds: {v}"))
            };
            let count = |v: &str| {
                v.parse::<usize>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("{flag}: not a positive count: {v}"))
            };
            match flag.as_str() {
                "--mode" => {
                    o.mode = match value.as_str() {
                        "load" => Mode::Load,
                        "memory" => Mode::Memory,
                        "cold-start" => Mode::ColdStart,
                        "cold-child" => Mode::ColdChild,
                        other => return Err(format!("unknown mode {other:?}\n{USAGE}")),
                    }
                }
                "--duration" => {
                    o.duration = secs(&value)?;
                    duration_given = true;
                }
                "--warmup" => o.warmup = secs(&value)?,
                "--concurrency" => o.concurrency = count(&value)?,
                "--rounds" => o.rounds = count(&value)?,
                "--runs" => o.runs = count(&value)?,
                "--variant" => o.variant = value,
                "--receiver" => {
                    o.receivers = value
                        .split(',')
                        .map(ReceiverMode::parse)
                        .collect::<Result<_, _>>()?
                }
                "--tracers" => {
                    o.tracers = value
                        .split(',')
                        .map(Tracer::parse)
                        .collect::<Result<_, _>>()?
                }
                other => return Err(format!("unknown flag {other}\n{USAGE}")),
            }
        }
        if o.mode == Mode::Memory && !duration_given {
            o.duration = Duration::from_secs(60);
        }
        Ok(o)
    }
}

fn main() {
    let options = match Options::parse() {
        Ok(o) => o,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    match options.mode {
        Mode::Load => run_load(&options),
        Mode::Memory => run_memory(&options),
        Mode::ColdStart => run_cold_start(&options),
        Mode::ColdChild => cold_child(&options.variant),
    }
}

// ---------------------------------------------------------------------------------------
// The service and the load generator

/// Requests completed by the service, per tracer.
#[derive(Default)]
struct Served {
    off: AtomicU64,
    langfuse: AtomicU64,
    tracing: AtomicU64,
}

impl Served {
    fn of(&self, tracer: Tracer) -> &AtomicU64 {
        match tracer {
            Tracer::Off => &self.off,
            Tracer::Langfuse => &self.langfuse,
            Tracer::Tracing => &self.tracing,
        }
    }
}

/// The service: its own runtime (one worker per core), on 127.0.0.1.
struct Service {
    addr: SocketAddr,
    served: Arc<Served>,
    _runtime: tokio::runtime::Runtime,
}

impl Service {
    fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .thread_name("service")
            .enable_all()
            .build()
            .expect("service runtime");
        let served = Arc::new(Served::default());
        let ids = Arc::new(AtomicU64::new(0));
        let route = |tracer: Tracer| {
            let served = Arc::clone(&served);
            let ids = Arc::clone(&ids);
            get(move || {
                let served = Arc::clone(&served);
                let id = ids.fetch_add(1, Ordering::Relaxed);
                async move {
                    let answer = match tracer {
                        Tracer::Off => off::handle(id, "off").await,
                        Tracer::Langfuse => ours::handle(id, "langfuse").await,
                        Tracer::Tracing => traced::handle(id, "tracing").await,
                    };
                    served.of(tracer).fetch_add(1, Ordering::Relaxed);
                    answer.to_string()
                }
            })
        };
        let app = Router::new()
            .route(Tracer::Off.path(), route(Tracer::Off))
            .route(Tracer::Langfuse.path(), route(Tracer::Langfuse))
            .route(Tracer::Tracing.path(), route(Tracer::Tracing));
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind the service");
        let addr = listener.local_addr().expect("service address");
        runtime.spawn(async move {
            axum::serve(listener, app).await.expect("service");
        });
        Self {
            addr,
            served,
            _runtime: runtime,
        }
    }
}

/// What the generator saw in one phase.
struct Load {
    requests: u64,
    errors: u64,
    elapsed: Duration,
    /// CPU time of the generator thread.
    generator_cpu: Duration,
    /// Latency in microseconds.
    latency: Histogram<u64>,
}

/// Keeps `concurrency` connections busy with requests to `path` for `duration`, from a thread
/// and runtime of its own so that the service's runtime does not run the generator's tasks.
fn generate_load(
    addr: SocketAddr,
    path: &'static str,
    concurrency: usize,
    duration: Duration,
) -> Load {
    std::thread::Builder::new()
        .name("load-generator".to_owned())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("generator runtime");
            runtime.block_on(async move {
                let start = Instant::now();
                let deadline = start + duration;
                let tasks: Vec<_> = (0..concurrency)
                    .map(|_| tokio::spawn(connection(addr, path, deadline)))
                    .collect();
                let mut load = Load {
                    requests: 0,
                    errors: 0,
                    elapsed: Duration::ZERO,
                    generator_cpu: Duration::ZERO,
                    latency: histogram(),
                };
                for task in tasks {
                    let (requests, errors, latency) = task.await.expect("generator task");
                    load.requests += requests;
                    load.errors += errors;
                    load.latency.add(&latency).expect("same bounds");
                }
                load.elapsed = start.elapsed();
                load.generator_cpu = Duration::from_nanos(thread_cpu_ns());
                load
            })
        })
        .expect("generator thread")
        .join()
        .expect("generator")
}

/// CPU time of the calling thread, in nanoseconds.
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 120_000_000, 3).expect("histogram bounds")
}

/// One keep-alive connection sending requests back to back until `deadline`.
async fn connection(
    addr: SocketAddr,
    path: &'static str,
    deadline: Instant,
) -> (u64, u64, Histogram<u64>) {
    let mut latency = histogram();
    let (mut requests, mut errors) = (0, 0);
    while Instant::now() < deadline {
        let Ok(stream) = tokio::net::TcpStream::connect(addr).await else {
            errors += 1;
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let Ok((mut sender, conn)) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await
        else {
            errors += 1;
            continue;
        };
        tokio::spawn(conn);
        while Instant::now() < deadline {
            if sender.ready().await.is_err() {
                errors += 1;
                break;
            }
            let request = hyper::Request::get(path)
                .header(hyper::header::HOST, "127.0.0.1")
                .body(Empty::<Bytes>::new())
                .expect("valid request");
            let sent = Instant::now();
            let ok = match sender.send_request(request).await {
                Ok(response) => {
                    let status = response.status();
                    response.into_body().collect().await.is_ok() && status.is_success()
                }
                Err(_) => false,
            };
            if ok {
                requests += 1;
                latency.saturating_record(sent.elapsed().as_micros() as u64);
            } else {
                errors += 1;
                break;
            }
        }
    }
    (requests, errors, latency)
}

// ---------------------------------------------------------------------------------------
// CPU time by thread

/// Who a thread works for, from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Service,
    Exporter,
    Receiver,
    Other,
}

fn role(comm: &str) -> Role {
    // Thread names as the kernel keeps them: cut to 15 bytes.
    if comm.starts_with("service") {
        Role::Service
    } else if comm.starts_with("langfuse-export")
        || comm.starts_with("OpenTelemetry")
        || comm.starts_with("reqwest-interna")
    {
        Role::Exporter
    } else if comm.starts_with("loopback-receiv") {
        Role::Receiver
    } else {
        Role::Other
    }
}

/// CPU time spent so far by this process's threads, by role, in nanoseconds (from
/// `/proc/self/task/*/schedstat`). Threads that exited are not counted: none of these does
/// during a run. (The generator's thread is measured by itself, before it exits.)
#[derive(Debug, Clone, Copy, Default)]
struct CpuTime {
    service: u64,
    exporter: u64,
    receiver: u64,
}

impl CpuTime {
    fn now() -> Self {
        let mut cpu = CpuTime::default();
        let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
            return cpu;
        };
        for task in tasks.flatten() {
            let path = task.path();
            let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
            let ns: u64 = std::fs::read_to_string(path.join("schedstat"))
                .ok()
                .and_then(|s| s.split_whitespace().next()?.parse().ok())
                .unwrap_or(0);
            match role(comm.trim()) {
                Role::Service => cpu.service += ns,
                Role::Exporter => cpu.exporter += ns,
                Role::Receiver => cpu.receiver += ns,
                Role::Other => {}
            }
        }
        cpu
    }

    fn since(self, before: CpuTime) -> CpuTime {
        CpuTime {
            service: self.service.saturating_sub(before.service),
            exporter: self.exporter.saturating_sub(before.exporter),
            receiver: self.receiver.saturating_sub(before.receiver),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Mode `load`

/// One phase's results.
struct Phase {
    tracer: Tracer,
    rps: f64,
    p50: u64,
    p99: u64,
    p999: u64,
    max: u64,
    errors: u64,
    created: u64,
    received: u64,
    /// Our exporter's own account (exported / dropped), for `langfuse` phases.
    accounted: Option<(u64, u64)>,
    /// CPU time per request, in microseconds, by role: the service's threads, the exporter's
    /// (ours, or the batch processor's and its HTTP client's), the receiver's, the generator's.
    cpu_per_request: [f64; 4],
}

struct Harness {
    receiver: Receiver,
    service: Service,
    langfuse: langfuse::LangfuseGuard,
    provider: opentelemetry_sdk::trace::SdkTracerProvider,
}

impl Harness {
    fn start(options: &Options) -> Self {
        let receiver = Receiver::start();
        // Both exporters are built before any runtime runs on this thread: the OTLP exporter's
        // blocking HTTP client refuses to start inside one.
        let provider = otel::install(&receiver.traces_url());
        let langfuse = langfuse::Langfuse::builder()
            .ignore_environment()
            .public_key("pk-lf-load")
            .secret_key("sk-lf-load")
            .base_url(receiver.base_url())
            .io_capture_enabled(options.capture)
            .compression(if options.gzip {
                langfuse::Compression::Gzip
            } else {
                langfuse::Compression::None
            })
            .init()
            .expect("load test configuration");
        let service = Service::start();
        Self {
            receiver,
            service,
            langfuse,
            provider,
        }
    }

    fn received(&self, tracer: Tracer) -> u64 {
        let r = self.receiver.received();
        match tracer {
            Tracer::Off => 0,
            Tracer::Langfuse => r.ours,
            Tracer::Tracing => r.others,
        }
    }

    /// Ships what the tracer has queued (waiting at most `patience`), then waits until the
    /// receiver's count stops moving, and returns it.
    fn drain(&self, tracer: Tracer, patience: Duration) -> u64 {
        let deadline = Instant::now() + patience;
        match tracer {
            Tracer::Off => return 0,
            Tracer::Langfuse => {
                self.langfuse.flush(patience);
            }
            Tracer::Tracing => {
                // force_flush has no deadline of its own: wait for it aside, at most `patience`.
                let provider = self.provider.clone();
                let (done, flushed) = std::sync::mpsc::channel();
                std::thread::spawn(move || {
                    let _ = provider.force_flush();
                    let _ = done.send(());
                });
                let _ = flushed.recv_timeout(patience);
            }
        }
        let mut last = self.received(tracer);
        let mut still_since = Instant::now();
        while still_since.elapsed() < Duration::from_millis(300) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
            let now = self.received(tracer);
            if now != last {
                last = now;
                still_since = Instant::now();
            }
        }
        last
    }

    fn phase(&self, tracer: Tracer, options: &Options, patience: Duration) -> Phase {
        let served_before = self.service.served.of(tracer).load(Ordering::Relaxed);
        let received_before = self.received(tracer);
        let stats_before = self.langfuse.stats();
        let cpu_before = CpuTime::now();
        let load = generate_load(
            self.service.addr,
            tracer.path(),
            options.concurrency,
            options.duration,
        );
        let served = self.service.served.of(tracer).load(Ordering::Relaxed) - served_before;
        let created = if tracer == Tracer::Off {
            0
        } else {
            served * DEPTH
        };
        let received = self.drain(tracer, patience) - received_before;
        // After the drain: shipping what the phase queued is part of its cost.
        let cpu = CpuTime::now().since(cpu_before);
        let per_request = |ns: u64| ns as f64 / 1e3 / load.requests.max(1) as f64;
        let accounted = (tracer == Tracer::Langfuse).then(|| {
            let s = self.langfuse.stats();
            (
                s.exported - stats_before.exported,
                s.dropped() - stats_before.dropped(),
            )
        });
        let h = &load.latency;
        Phase {
            tracer,
            rps: load.requests as f64 / load.elapsed.as_secs_f64(),
            p50: h.value_at_quantile(0.50),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
            errors: load.errors,
            created,
            received,
            accounted,
            cpu_per_request: [
                per_request(cpu.service),
                per_request(cpu.exporter),
                per_request(cpu.receiver),
                per_request(u64::try_from(load.generator_cpu.as_nanos()).unwrap_or(u64::MAX)),
            ],
        }
    }
}

fn run_load(options: &Options) {
    let mut harness = Harness::start(options);
    println!(
        "load: {} connections, {:?} per phase, {} round(s); service: {} worker threads; {} observed async fns per request, {:?} sleep each request",
        options.concurrency,
        options.duration,
        options.rounds,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        DEPTH,
        SLEEP,
    );
    // Warm every path up (connections, thread-local buffers, allocator) with the receiver up.
    ReceiverMode::Ok.apply(&mut harness.receiver);
    for &tracer in &options.tracers {
        generate_load(
            harness.service.addr,
            tracer.path(),
            options.concurrency,
            options.warmup,
        );
    }
    harness.langfuse.flush(Duration::from_secs(10));
    let _ = harness.provider.force_flush();

    let mut failures = Vec::new();
    for &mode in &options.receivers {
        mode.apply(&mut harness.receiver);
        // A slow receiver needs time per request: allow several before calling a phase done.
        let patience = match mode {
            ReceiverMode::Ok => Duration::from_secs(10),
            ReceiverMode::Slow => Duration::from_secs(12),
            ReceiverMode::Down => Duration::from_secs(2),
        };
        let mut phases = Vec::new();
        for round in 1..=options.rounds {
            for &tracer in &options.tracers {
                let phase = harness.phase(tracer, options, patience);
                print_phase(mode, round, &phase);
                if options.check {
                    let lost = tracer == Tracer::Langfuse
                        && mode == ReceiverMode::Ok
                        && phase.received < phase.created;
                    if phase.errors > 0 || phase.rps == 0.0 || lost {
                        failures.push(format!(
                            "receiver={} tracer={}: {} errors, {} of {} observations received",
                            mode.name(),
                            tracer.name(),
                            phase.errors,
                            phase.received,
                            phase.created
                        ));
                    }
                }
                phases.push(phase);
            }
        }
        print_summary(mode, options, &phases);
    }
    ReceiverMode::Ok.apply(&mut harness.receiver);
    let report = harness.langfuse.shutdown(Duration::from_secs(10));
    let _ = harness.provider.shutdown();
    eprintln!("langfuse shutdown: {report:?}");
    if !failures.is_empty() {
        eprintln!("check failed:\n  {}", failures.join("\n  "));
        std::process::exit(1);
    }
}

fn print_phase(mode: ReceiverMode, round: usize, p: &Phase) {
    let accounted = match p.accounted {
        Some((exported, dropped)) => format!(" (sdk: {exported} exported, {dropped} dropped)"),
        None => String::new(),
    };
    let [service, exporter, receiver, generator] = p.cpu_per_request;
    println!(
        "phase receiver={} round={} tracer={:<8} rps={:.0} p50_us={} p99_us={} p999_us={} max_us={} errors={} created={} received={}{} cpu_us_per_req service={service:.1} exporter={exporter:.1} receiver={receiver:.1} generator={generator:.1}",
        mode.name(),
        round,
        p.tracer.name(),
        p.rps,
        p.p50,
        p.p99,
        p.p999,
        p.max,
        p.errors,
        p.created,
        p.received,
        accounted,
    );
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

fn print_summary(mode: ReceiverMode, options: &Options, phases: &[Phase]) {
    let of = |tracer: Tracer, f: &dyn Fn(&Phase) -> f64| {
        median(
            phases
                .iter()
                .filter(|p| p.tracer == tracer)
                .map(f)
                .collect(),
        )
    };
    let base_rps = of(Tracer::Off, &|p| p.rps);
    let base_p99 = of(Tracer::Off, &|p| p.p99 as f64);
    println!();
    println!(
        "summary receiver={} ({} round(s), medians of rounds; latency in microseconds)",
        mode.name(),
        options.rounds
    );
    let base_cpu = of(Tracer::Off, &|p| p.cpu_per_request[0]);
    println!(
        "| tracer | req/s | vs off | p50 | p99 | p99 vs off | p99.9 | max | created | received | service CPU µs/req | vs off | exporter CPU µs/req | receiver CPU µs/req |"
    );
    println!(
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for &tracer in &options.tracers {
        let rps = of(tracer, &|p| p.rps);
        let p99 = of(tracer, &|p| p.p99 as f64);
        let created: u64 = phases
            .iter()
            .filter(|p| p.tracer == tracer)
            .map(|p| p.created)
            .sum();
        let received: u64 = phases
            .iter()
            .filter(|p| p.tracer == tracer)
            .map(|p| p.received)
            .sum();
        let relative = |value: f64, base: f64| {
            if base.is_nan() || tracer == Tracer::Off {
                "-".to_owned()
            } else {
                format!("{:+.1}%", (value / base - 1.0) * 100.0)
            }
        };
        let delivered = if tracer == Tracer::Off {
            "-".to_owned()
        } else {
            format!(
                "{received} ({:.1}%)",
                100.0 * received as f64 / created.max(1) as f64
            )
        };
        let service_cpu = of(tracer, &|p| p.cpu_per_request[0]);
        println!(
            "| {} | {:.0} | {} | {:.0} | {:.0} | {} | {:.0} | {:.0} | {} | {} | {:.1} | {} | {:.1} | {:.1} |",
            tracer.name(),
            rps,
            relative(rps, base_rps),
            of(tracer, &|p| p.p50 as f64),
            p99,
            relative(p99, base_p99),
            of(tracer, &|p| p.p999 as f64),
            of(tracer, &|p| p.max as f64),
            if tracer == Tracer::Off {
                "-".to_owned()
            } else {
                created.to_string()
            },
            delivered,
            service_cpu,
            if tracer == Tracer::Off {
                "-".to_owned()
            } else {
                format!("{:+.1}", service_cpu - base_cpu)
            },
            of(tracer, &|p| p.cpu_per_request[1]),
            of(tracer, &|p| p.cpu_per_request[2]),
        );
    }
    println!();
}

// ---------------------------------------------------------------------------------------
// Mode `memory`

/// Resident memory of this process, in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Asks the allocator to give its free memory back to the system, so that what stays
/// resident is what is still in use: glibc keeps freed blocks in its arenas, which VmRSS
/// counts. Returns whether it could.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release_free_memory() -> bool {
    unsafe extern "C" {
        fn malloc_trim(pad: usize) -> i32;
    }
    // SAFETY: malloc_trim only walks glibc's own heaps; it is safe to call at any time.
    unsafe { malloc_trim(0) };
    true
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_free_memory() -> bool {
    false
}

fn run_memory(options: &Options) {
    let mut harness = Harness::start(options);
    let config = harness.langfuse.config().expect("configured").clone();
    let addr = harness.service.addr;
    let concurrency = options.concurrency;
    println!(
        "memory: {} connections; queue bound {} observations and {} MiB of captured bytes, batches up to {} MiB",
        concurrency,
        config.max_queue_size(),
        config.max_queue_bytes() >> 20,
        config.max_batch_bytes() >> 20,
    );

    // Baseline: the same load with the receiver up, drained.
    generate_load(
        addr,
        Tracer::Langfuse.path(),
        concurrency,
        Duration::from_secs(5),
    );
    harness.langfuse.flush(Duration::from_secs(10));
    let baseline = rss_kib();
    println!(
        "baseline after 5 s of load with the receiver up, drained: {} MiB",
        baseline >> 10
    );

    harness.receiver.go_down();
    let stop = Arc::new(AtomicBool::new(false));
    let monitor = {
        let stop = Arc::clone(&stop);
        let client = langfuse::get_client();
        std::thread::spawn(move || {
            let start = Instant::now();
            let mut samples = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_secs(1));
                let s = client.stats();
                samples.push((start.elapsed(), rss_kib(), s.queue_depth, s.dropped()));
            }
            samples
        })
    };
    let load = generate_load(addr, Tracer::Langfuse.path(), concurrency, options.duration);
    stop.store(true, Ordering::Relaxed);
    let samples = monitor.join().expect("monitor");
    println!(
        "receiver down, full load for {:?}: {:.0} req/s",
        options.duration,
        load.requests as f64 / load.elapsed.as_secs_f64()
    );
    println!("| t (s) | VmRSS (MiB) | queue depth | dropped so far |");
    println!("| ---: | ---: | ---: | ---: |");
    let step = (samples.len() / 12).max(1);
    for (i, (t, rss, depth, dropped)) in samples.iter().enumerate() {
        if i % step == 0 || i + 1 == samples.len() {
            println!(
                "| {:.0} | {} | {} | {} |",
                t.as_secs_f64(),
                rss >> 10,
                depth,
                dropped
            );
        }
    }
    let peak = samples.iter().map(|s| s.1).max().unwrap_or(0);
    let max_depth = samples.iter().map(|s| s.2).max().unwrap_or(0);
    let second_half = &samples[samples.len() / 2..];
    let plateau_low = second_half.iter().map(|s| s.1).min().unwrap_or(0);
    let plateau_high = second_half.iter().map(|s| s.1).max().unwrap_or(0);

    harness.receiver.come_back();
    let back = Instant::now();
    while harness.langfuse.stats().queue_depth > 0 && back.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(200));
    }
    let drained_in = back.elapsed();
    std::thread::sleep(Duration::from_secs(2));
    let after = rss_kib();
    let trimmed = release_free_memory().then(rss_kib);
    let stats = harness.langfuse.stats();
    println!();
    println!("summary memory (MiB)");
    println!(
        "| baseline | peak (down) | second half (down) | after drain | after drain, allocator trimmed | max queue depth | queue bound |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    println!(
        "| {} | {} | {}-{} | {} | {} | {} | {} |",
        baseline >> 10,
        peak >> 10,
        plateau_low >> 10,
        plateau_high >> 10,
        after >> 10,
        trimmed.map_or("n/a".to_owned(), |t| (t >> 10).to_string()),
        max_depth,
        config.max_queue_size(),
    );
    println!(
        "drained in {:.1} s after the receiver came back; created {}, exported {}, dropped {} (queue full {}, export failed {})",
        drained_in.as_secs_f64(),
        stats.started,
        stats.exported,
        stats.dropped(),
        stats.dropped_queue_full,
        stats.dropped_export_failed,
    );
    harness.langfuse.shutdown(Duration::from_secs(5));
}

// ---------------------------------------------------------------------------------------
// Mode `cold-start`

mod first {
    use langfuse::observe;

    #[inline(never)]
    pub fn plain(question: &str) -> usize {
        std::hint::black_box(question).len()
    }

    #[observe]
    #[inline(never)]
    pub fn observed(question: &str) -> usize {
        std::hint::black_box(question).len()
    }
}

/// Runs in a fresh process: times one first call and prints it.
fn cold_child(variant: &str) {
    let question = "What does the first call cost?";
    let mut init_ns = 0;
    let start = Instant::now();
    let result = match variant {
        "plain" => first::plain(question),
        "observed-no-init" => first::observed(question),
        "observed-after-init" => {
            let guard = langfuse::init().expect("keys in the environment");
            init_ns = start.elapsed().as_nanos();
            let call = Instant::now();
            let result = first::observed(question);
            let first_call_ns = call.elapsed().as_nanos();
            std::hint::black_box(result);
            println!("first_call_ns={first_call_ns} init_ns={init_ns}");
            // Nothing listens at the configured URL: skip the guard's flush.
            std::mem::forget(guard);
            std::process::exit(0);
        }
        other => {
            eprintln!("unknown variant {other:?}");
            std::process::exit(2);
        }
    };
    let first_call_ns = start.elapsed().as_nanos();
    std::hint::black_box(result);
    println!("first_call_ns={first_call_ns} init_ns={init_ns}");
    std::process::exit(0);
}

fn run_cold_start(options: &Options) {
    let exe = std::env::current_exe().expect("own path");
    let variants = ["plain", "observed-no-init", "observed-after-init"];
    let mut first_calls: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    let mut inits: Vec<f64> = Vec::new();
    // Interleaved, so that drifting machine load affects every variant alike.
    for _ in 0..options.runs {
        for (i, variant) in variants.iter().enumerate() {
            let output = Command::new(&exe)
                .args(["--mode", "cold-child", "--variant", variant])
                // Keys make the SDK record; nothing listens on port 9 of loopback, and nothing
                // is sent before the process exits.
                .env("LANGFUSE_PUBLIC_KEY", "pk-lf-cold")
                .env("LANGFUSE_SECRET_KEY", "sk-lf-cold")
                .env("LANGFUSE_BASE_URL", "http://127.0.0.1:9")
                .output()
                .expect("spawn a fresh process");
            let stdout = String::from_utf8_lossy(&output.stdout);
            let field = |name: &str| {
                stdout
                    .split_whitespace()
                    .find_map(|kv| kv.strip_prefix(name))
                    .and_then(|v| v.parse::<f64>().ok())
            };
            let (Some(first_call), Some(init)) = (field("first_call_ns="), field("init_ns="))
            else {
                eprintln!(
                    "{variant}: unexpected output {stdout:?} {:?}",
                    String::from_utf8_lossy(&output.stderr)
                );
                std::process::exit(1);
            };
            first_calls[i].push(first_call);
            if *variant == "observed-after-init" {
                inits.push(init);
            }
        }
    }
    println!(
        "cold start: {} fresh processes per variant, medians",
        options.runs
    );
    println!("| first call of | median (µs) | min (µs) | max (µs) |");
    println!("| --- | ---: | ---: | ---: |");
    for (variant, values) in variants.iter().zip(&first_calls) {
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(0.0, f64::max);
        println!(
            "| {variant} | {:.1} | {:.1} | {:.1} |",
            median(values.clone()) / 1e3,
            min / 1e3,
            max / 1e3
        );
    }
    println!(
        "| (init() itself, before observed-after-init) | {:.1} | {:.1} | {:.1} |",
        median(inits.clone()) / 1e3,
        inits.iter().copied().fold(f64::INFINITY, f64::min) / 1e3,
        inits.iter().copied().fold(0.0, f64::max) / 1e3,
    );
}
