//! The process-wide client: start, flush, shutdown and stats.
//!
//! There is one client per process, because `#[observe]` records into process-wide buffers.
//! It is built once, by [`init`] (or [`Langfuse::builder`]`.init()`) at startup: that is when
//! the exporter thread and its HTTP client start, so no request ever pays for them.

use std::fmt;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot};

use crate::config::{Config, ConfigBuilder, ConfigError, DisabledReason, defaults};
use crate::export::project::ProjectLink;
use crate::export::worker::{self, Command, Reply};
use crate::lifecycle::{self, State};
use crate::model::{FlushReport, Stats};
use crate::{clock, collector, scores};

mod datasets;
mod links;
mod prompts;

pub use links::{current_trace_url, trace_url};
pub use prompts::get_prompt;

static CLIENT: OnceLock<Langfuse> = OnceLock::new();

/// Why [`init`] failed.
///
/// ```
/// use langfuse_core::{Config, Error};
///
/// let err = Config::builder().sample_rate(2.0).build().unwrap_err();
/// let err: Error = err.into();
/// assert!(err.to_string().contains("sample"));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A setting or environment variable is invalid. Tracing stays disabled.
    Config(ConfigError),
    /// A client already exists in this process: `init()` or `get_client()` started it, at
    /// `first_call`. There is one client (and one exporter) per process; keep the guard of
    /// the first `init()`, or use [`get_client`] to reach the running client.
    AlreadyInitialized {
        /// The call that started the client.
        first_call: FirstCall,
    },
    /// The exporter thread could not start.
    Exporter(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config(e) => write!(f, "langfuse configuration: {e}"),
            Self::AlreadyInitialized { first_call } => write!(
                f,
                "langfuse is already initialized in this process: {first_call} started it; \
                 there is one client per process (keep the first guard, or use get_client())"
            ),
            Self::Exporter(e) => write!(f, "langfuse exporter thread could not start: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Config(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Self::Config(e)
    }
}

/// Where the process-wide client was started: by which function, at which line of the
/// caller's code.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let first = langfuse_core::Langfuse::builder().ignore_environment().init()?;
/// let second = langfuse_core::init().unwrap_err();
/// match &second {
///     langfuse_core::Error::AlreadyInitialized { first_call } => {
///         assert_eq!(first_call.function(), "init");
///         assert_eq!(first_call.location().file(), file!());
///     }
///     other => panic!("{other}"),
/// }
/// println!("{second}"); // "... init() at src/main.rs:3:14 started it ..."
/// # drop(first);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirstCall {
    function: &'static str,
    location: &'static Location<'static>,
}

impl FirstCall {
    /// `"init"` (also for `Langfuse::builder()...init()`) or `"get_client"`.
    pub fn function(&self) -> &'static str {
        self.function
    }

    /// The caller's source location.
    pub fn location(&self) -> &'static Location<'static> {
        self.location
    }
}

impl fmt::Display for FirstCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}() at {}", self.function, self.location)
    }
}

/// The call that started the client, once one has.
static FIRST_CALL: OnceLock<FirstCall> = OnceLock::new();

/// A handle to the process-wide client. Cheap to clone; every clone is the same client.
///
/// ```no_run
/// use std::time::Duration;
///
/// let _guard = langfuse_core::init().expect("valid LANGFUSE_* configuration");
/// let client = langfuse_core::get_client();
/// let report = client.flush(Duration::from_secs(5));
/// println!("exported {} observations", report.exported);
/// ```
#[derive(Clone)]
pub struct Langfuse {
    inner: Option<Arc<Inner>>,
}

struct Inner {
    config: Config,
    project: Arc<ProjectLink>,
    commands: mpsc::UnboundedSender<Command>,
    thread: Mutex<Option<JoinHandle<()>>>,
    shut_down: AtomicBool,
}

impl fmt::Debug for Langfuse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            Some(inner) => f
                .debug_struct("Langfuse")
                .field("config", &inner.config)
                .field("shut_down", &inner.shut_down.load(Ordering::Relaxed))
                .finish(),
            None => f.write_str("Langfuse(disabled)"),
        }
    }
}

/// The process-wide client if one was started, without starting one.
pub(crate) fn existing_client() -> Option<&'static Langfuse> {
    CLIENT.get()
}

/// Starts the client from the `LANGFUSE_*` environment variables.
///
/// Returns a guard that shuts the client down (flushing what is queued, within
/// `LANGFUSE_TIMEOUT`) when dropped: keep it alive in `main`. Missing keys are not an
/// error: tracing is disabled with one warning, as in the Python SDK. An invalid value is an
/// error naming the variable and the value.
///
/// ```no_run
/// let _langfuse = langfuse_core::init().expect("valid LANGFUSE_* configuration");
/// // ... run the service; every #[observe] call is traced ...
/// ```
#[track_caller]
pub fn init() -> Result<LangfuseGuard, Error> {
    Config::builder().init()
}

/// The process-wide client. If neither [`init`] nor `get_client` ran before, it is started
/// now from the environment (prefer calling `init()` at startup, so that no request waits for
/// the exporter to start). With an invalid environment, the returned client is disabled and
/// the error is logged.
///
/// ```
/// let stats = langfuse_core::get_client().stats();
/// println!("{} observations exported so far", stats.exported);
/// ```
#[track_caller]
pub fn get_client() -> Langfuse {
    let caller = Location::caller();
    CLIENT
        .get_or_init(|| {
            let _ = FIRST_CALL.set(FirstCall {
                function: "get_client",
                location: caller,
            });
            start_from_env()
        })
        .clone()
}

/// The client `get_client` starts: from the environment, or disabled (with the error logged).
fn start_from_env() -> Langfuse {
    match Config::from_env() {
        Ok(config) => start(config).unwrap_or_else(|e| {
            tracing::error!(target: "langfuse", "{e}; tracing is disabled");
            lifecycle::set(State::Disabled);
            Langfuse { inner: None }
        }),
        Err(e) => {
            tracing::error!(target: "langfuse", "invalid configuration: {e}; tracing is disabled");
            prompts::unavailable(format!("invalid configuration: {e}"));
            lifecycle::set(State::Disabled);
            Langfuse { inner: None }
        }
    }
}

// Starting a client is the client's job, and the configuration layer cannot know the client:
// this one method of `ConfigBuilder` lives here rather than in `config/builder.rs`.
impl ConfigBuilder {
    /// Builds the configuration and starts the process-wide client with it.
    ///
    /// There is one client per process. Called when one is already running (a second
    /// `init()`, or after `get_client()` started one), it starts nothing and returns
    /// [`Error::AlreadyInitialized`] naming the call that did.
    ///
    /// ```no_run
    /// use std::time::Duration;
    ///
    /// let _guard = langfuse_core::Langfuse::builder()
    ///     .public_key("pk-lf-...")
    ///     .secret_key("sk-lf-...")
    ///     .base_url("https://cloud.langfuse.com")
    ///     .flush_interval(Duration::from_secs(1))
    ///     .init()
    ///     .expect("valid configuration");
    /// ```
    #[track_caller]
    pub fn init(self) -> Result<LangfuseGuard, Error> {
        let caller = Location::caller();
        let config = match self.build() {
            Ok(config) => config,
            Err(e) => {
                // Nothing would ever ship what is recorded: stop recording.
                lifecycle::transition(State::Uninit, State::Disabled);
                return Err(e.into());
            }
        };
        let mut started = None;
        let mut error = None;
        CLIENT.get_or_init(|| {
            let _ = FIRST_CALL.set(FirstCall {
                function: "init",
                location: caller,
            });
            start_or_disabled(config, &mut started, &mut error)
        });
        if let Some(e) = error {
            return Err(e);
        }
        match started {
            Some(client) => Ok(LangfuseGuard { client }),
            None => Err(Error::AlreadyInitialized {
                first_call: *FIRST_CALL.get().expect("set with the client"),
            }),
        }
    }
}

/// `init`'s start: the client, or a disabled one with the error kept for the caller.
fn start_or_disabled(
    config: Config,
    started: &mut Option<Langfuse>,
    error: &mut Option<Error>,
) -> Langfuse {
    match start(config) {
        Ok(client) => {
            *started = Some(client.clone());
            client
        }
        Err(e) => {
            *error = Some(e);
            lifecycle::set(State::Disabled);
            Langfuse { inner: None }
        }
    }
}

/// Starts the exporter for `config` (or returns a disabled client), then the prompt cache,
/// which needs the keys but not tracing, and loads the prompts to prefetch.
fn start(config: Config) -> Result<Langfuse, Error> {
    let prompts_config = config.clone();
    let client = start_exporter(config);
    prompts::start(&prompts_config);
    client
}

/// Starts the exporter for `config`, or returns a disabled client.
fn start_exporter(config: Config) -> Result<Langfuse, Error> {
    if let Some(reason) = config.disabled_reason() {
        warn_disabled(reason);
        lifecycle::set(State::Disabled);
        return Ok(Langfuse { inner: None });
    }
    if config.is_insecure_remote() {
        tracing::warn!(
            target: "langfuse",
            base_url = %config.base_url(),
            "LANGFUSE_BASE_URL uses plain http to a host that is not loopback: keys and data travel unencrypted"
        );
    }
    // Calibrate the clock and publish the hot-path settings before anything records.
    clock::clock();
    lifecycle::apply(&config);
    let (commands, receiver) = mpsc::unbounded_channel();
    let (project, fetcher) = ProjectLink::new(&config);
    let thread = worker::spawn(config.clone(), receiver, fetcher).map_err(Error::Exporter)?;
    lifecycle::set(State::Enabled);
    Ok(Langfuse {
        inner: Some(Arc::new(Inner {
            config,
            project,
            commands,
            thread: Mutex::new(Some(thread)),
            shut_down: AtomicBool::new(false),
        })),
    })
}

fn warn_disabled(reason: DisabledReason) {
    match reason {
        DisabledReason::MissingKeys { .. } => tracing::warn!(
            target: "langfuse",
            "{reason}: tracing is disabled. Set LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY, or LANGFUSE_EXPORTER=console to print traces locally"
        ),
        _ => tracing::info!(target: "langfuse", "{reason}: tracing is disabled"),
    }
}

impl Langfuse {
    /// A configuration builder; finish with [`ConfigBuilder::init`]. Settings not given are
    /// read from the environment, as in the Python SDK.
    ///
    /// ```no_run
    /// let _guard = langfuse_core::Langfuse::builder()
    ///     .sample_rate(0.1)
    ///     .init()
    ///     .unwrap();
    /// ```
    pub fn builder() -> ConfigBuilder {
        Config::builder()
    }

    /// Whether this client records and exports.
    ///
    /// ```
    /// // Without keys in the environment the client is disabled.
    /// let client = langfuse_core::get_client();
    /// println!("tracing enabled: {}", client.is_enabled());
    /// ```
    pub fn is_enabled(&self) -> bool {
        self.inner
            .as_ref()
            .is_some_and(|i| !i.shut_down.load(Ordering::Acquire))
    }

    /// The configuration in use, if the client is enabled.
    ///
    /// ```
    /// if let Some(config) = langfuse_core::get_client().config() {
    ///     println!("sending to {}", config.base_url());
    /// }
    /// ```
    pub fn config(&self) -> Option<&Config> {
        self.inner.as_ref().map(|i| &i.config)
    }

    /// Counters since the process started.
    ///
    /// ```
    /// let stats = langfuse_core::get_client().stats();
    /// assert!(stats.exported <= stats.started);
    /// ```
    pub fn stats(&self) -> Stats {
        stats()
    }

    /// Exports everything finished so far and waits, at most `timeout`, for it to be
    /// delivered.
    ///
    /// Blocks the calling thread (never the exporter), so it is safe anywhere, including
    /// inside a current-thread tokio runtime; in async code prefer [`Langfuse::flush_async`],
    /// which does not block the executor.
    ///
    /// ```no_run
    /// use std::time::Duration;
    ///
    /// let report = langfuse_core::get_client().flush(Duration::from_secs(2));
    /// assert!(report.elapsed <= Duration::from_secs(3));
    /// ```
    pub fn flush(&self, timeout: Duration) -> FlushReport {
        let started = Instant::now();
        let Some(inner) = self.live() else {
            return idle_report(started);
        };
        let deadline = started + timeout;
        let (reply, response) = std::sync::mpsc::sync_channel(1);
        if inner
            .commands
            .send(Command::Flush {
                deadline,
                reply: Reply::Blocking(reply),
            })
            .is_err()
        {
            return idle_report(started);
        }
        wait_blocking(&response, deadline, started)
    }

    /// Like [`Langfuse::flush`], without blocking the executor. Works on any async runtime:
    /// the deadline is kept by the exporter thread, which always answers by then.
    ///
    /// ```no_run
    /// # async fn handler() {
    /// use std::time::Duration;
    ///
    /// let report = langfuse_core::get_client().flush_async(Duration::from_secs(2)).await;
    /// println!("{} still pending", report.pending);
    /// # }
    /// ```
    pub async fn flush_async(&self, timeout: Duration) -> FlushReport {
        let started = Instant::now();
        let Some(inner) = self.live() else {
            return idle_report(started);
        };
        let (reply, response) = oneshot::channel();
        let command = Command::Flush {
            deadline: started + timeout,
            reply: Reply::Async(reply),
        };
        if inner.commands.send(command).is_err() {
            return idle_report(started);
        }
        response.await.unwrap_or_else(|_| idle_report(started))
    }

    /// Flushes within `timeout`, then stops the exporter thread. New observations are
    /// refused from the start of the call (and counted in [`Stats::refused_after_shutdown`]).
    /// Idempotent: later calls return at once.
    ///
    /// ```no_run
    /// use std::time::Duration;
    ///
    /// let client = langfuse_core::get_client();
    /// let report = client.shutdown(Duration::from_secs(5));
    /// assert!(client.shutdown(Duration::from_secs(5)).pending <= report.pending);
    /// ```
    pub fn shutdown(&self, timeout: Duration) -> FlushReport {
        let started = Instant::now();
        let Some(inner) = self.begin_shutdown() else {
            return idle_report(started);
        };
        let deadline = started + timeout;
        let (reply, response) = std::sync::mpsc::sync_channel(1);
        let report = match inner.commands.send(Command::Shutdown {
            deadline,
            reply: Reply::Blocking(reply),
        }) {
            Ok(()) => wait_blocking(&response, deadline, started),
            Err(_) => idle_report(started),
        };
        self.finish_shutdown(inner, deadline);
        report
    }

    /// Like [`Langfuse::shutdown`], without blocking the executor.
    ///
    /// ```no_run
    /// # async fn stop() {
    /// use std::time::Duration;
    ///
    /// langfuse_core::get_client().shutdown_async(Duration::from_secs(5)).await;
    /// # }
    /// ```
    pub async fn shutdown_async(&self, timeout: Duration) -> FlushReport {
        let started = Instant::now();
        let Some(inner) = self.begin_shutdown() else {
            return idle_report(started);
        };
        let deadline = started + timeout;
        let (reply, response) = oneshot::channel();
        let report = match inner.commands.send(Command::Shutdown {
            deadline,
            reply: Reply::Async(reply),
        }) {
            Ok(()) => response.await.unwrap_or_else(|_| idle_report(started)),
            Err(_) => idle_report(started),
        };
        self.finish_shutdown(inner, deadline);
        report
    }

    /// Where trace URLs come from; `None` for a disabled client.
    pub(crate) fn project(&self) -> Option<&ProjectLink> {
        self.inner.as_deref().map(|i| &*i.project)
    }

    fn live(&self) -> Option<&Inner> {
        let inner = self.inner.as_deref()?;
        if inner.shut_down.load(Ordering::Acquire) || worker::is_exporter_thread() {
            // Waiting on ourselves would never return.
            return None;
        }
        Some(inner)
    }

    fn begin_shutdown(&self) -> Option<&Inner> {
        let inner = self.inner.as_deref()?;
        if worker::is_exporter_thread() || inner.shut_down.swap(true, Ordering::AcqRel) {
            return None;
        }
        lifecycle::set(State::ShuttingDown);
        Some(inner)
    }

    fn finish_shutdown(&self, inner: &Inner, deadline: Instant) {
        lifecycle::set(State::ShutDown);
        // The worker replies right before it exits; give it until the deadline to finish,
        // then leave it detached rather than block past the caller's deadline.
        let handle = inner.thread.lock().take();
        if let Some(handle) = handle {
            while !handle.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            if handle.is_finished() {
                let _ = handle.join();
            }
        }
    }
}

/// Every counter: the collector's, the refusals and the scores'.
fn stats() -> Stats {
    let collector = collector::global();
    if lifecycle::get() == State::ShutDown {
        // Observations that ended while shutdown ran, after the exporter's last drain.
        collector.discard_after_shutdown();
    }
    let mut stats = collector.stats();
    stats.refused_after_shutdown = lifecycle::refused_after_shutdown();
    scores::counters().add_to(&mut stats);
    stats
}

fn wait_blocking(
    response: &std::sync::mpsc::Receiver<FlushReport>,
    deadline: Instant,
    started: Instant,
) -> FlushReport {
    // The worker answers by the deadline; the grace covers its last bookkeeping.
    let wait = deadline.saturating_duration_since(Instant::now()) + Duration::from_millis(100);
    response.recv_timeout(wait).unwrap_or_else(|_| {
        let stats = stats();
        FlushReport {
            pending: stats.queue_depth,
            scores_pending: stats.scores_pending,
            timed_out: true,
            elapsed: started.elapsed(),
            ..FlushReport::default()
        }
    })
}

fn idle_report(started: Instant) -> FlushReport {
    let stats = stats();
    FlushReport {
        pending: stats.queue_depth,
        scores_pending: stats.scores_pending,
        elapsed: started.elapsed(),
        ..FlushReport::default()
    }
}

/// Returned by [`init`]: shuts the client down when dropped, flushing what is queued within
/// `LANGFUSE_TIMEOUT`. Keep it alive for as long as the program traces (usually in `main`).
///
/// ```no_run
/// let guard = langfuse_core::init().unwrap();
/// guard.flush(std::time::Duration::from_secs(1));
/// drop(guard); // flushes and stops the exporter thread
/// ```
#[must_use = "dropping the guard shuts the client down; keep it alive in main"]
#[derive(Debug)]
pub struct LangfuseGuard {
    client: Langfuse,
}

impl LangfuseGuard {
    /// The client this guard keeps alive.
    ///
    /// ```no_run
    /// let guard = langfuse_core::init().unwrap();
    /// println!("{:?}", guard.client().stats());
    /// ```
    pub fn client(&self) -> &Langfuse {
        &self.client
    }
}

impl std::ops::Deref for LangfuseGuard {
    type Target = Langfuse;

    fn deref(&self) -> &Langfuse {
        &self.client
    }
}

impl Drop for LangfuseGuard {
    fn drop(&mut self) {
        let timeout = self
            .client
            .config()
            .map_or(defaults::TIMEOUT, Config::timeout);
        let report = self.client.shutdown(timeout);
        if !report.is_complete() {
            tracing::warn!(
                target: "langfuse",
                pending = report.pending,
                scores_pending = report.scores_pending,
                "shutdown deadline passed with observations or scores still queued"
            );
        }
    }
}
