//! [`PromptManager`]: the cache rules. A fresh hit is served from the cache; a stale one is
//! served too and refreshed in the background; a miss waits (bounded) for one shared fetch;
//! what cannot be fetched is served from the last good version, else the caller's fallback.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use reqwest::Method;
use serde_json::Value;
use tokio::sync::oneshot;

use super::cache::{Cache, Entry, Flight, Joined, SelectorRef, Slot, retry_gap};
use super::clock::{Clock, Nanos, as_nanos};
use super::error::PromptError;
use super::fetch::{Budget, Http, Worker, on_worker};
use super::types::{Prompt, PromptContent, fallback_prompt};
use crate::config::{Config, defaults};
use crate::export::transport::TransportSettings;

/// Retries of a fetch unless the caller says otherwise, and the most it may ask for (the
/// Python SDK's numbers).
pub(crate) const DEFAULT_MAX_RETRIES: u32 = 2;
pub(crate) const MAX_RETRIES: u32 = 4;
/// At most one warning of each kind (serving a stale version, serving a fallback) per
/// interval, on the cache's clock.
const WARNING_INTERVAL: Duration = Duration::from_secs(60);
/// The shortest timeout an attempt gets.
const MIN_TIMEOUT: Duration = Duration::from_millis(1);

/// What a manager needs from the configuration.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) base_url: String,
    pub(crate) transport: TransportSettings,
    /// Each request's limit unless the caller gives one (`LANGFUSE_TIMEOUT`).
    pub(crate) timeout: Duration,
    /// `LANGFUSE_PROMPT_CACHE_DEFAULT_TTL_SECONDS`.
    pub(crate) default_ttl: Duration,
}

impl Settings {
    /// The settings for `config`, or why prompts cannot be fetched with it.
    pub(crate) fn from_config(config: &Config) -> Result<Self, String> {
        let (Some(public_key), Some(secret_key)) = (config.public_key(), config.secret_key())
        else {
            return Err(
                "LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY must be set to fetch \
                        prompts from Langfuse"
                    .to_owned(),
            );
        };
        Ok(Self {
            base_url: config.base_url().to_owned(),
            transport: TransportSettings {
                traces_url: config.scores_url().clone(),
                public_key: Some(public_key.to_owned()),
                secret_key: Some(secret_key.to_owned()),
                compression: false,
                timeout: config.timeout(),
                max_retries: 0,
                extra_headers: config
                    .additional_headers()
                    .iter()
                    .map(|(name, value)| (name.clone(), value.clone()))
                    .collect(),
            },
            timeout: config.timeout(),
            default_ttl: config.prompt_cache_ttl(),
        })
    }
}

/// One `get_prompt` call, as the builder describes it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Request<'a> {
    pub(crate) name: &'a str,
    pub(crate) selector: SelectorRef<'a>,
    pub(crate) ttl: Option<Duration>,
    pub(crate) max_retries: Option<u32>,
    pub(crate) fetch_timeout: Option<Duration>,
    pub(crate) fallback: Option<&'a PromptContent>,
}

impl<'a> Request<'a> {
    pub(crate) fn new(name: &'a str) -> Self {
        Self {
            name,
            selector: SelectorRef::Label(defaults::PROMPT_LABEL),
            ttl: None,
            max_retries: None,
            fetch_timeout: None,
            fallback: None,
        }
    }

    /// The caller's fallback as a prompt.
    pub(crate) fn fallback_prompt(&self) -> Option<Prompt> {
        let (version, label) = match self.selector {
            SelectorRef::Version(version) => (Some(version), None),
            SelectorRef::Label(label) => (None, Some(label)),
        };
        self.fallback
            .map(|fallback| fallback_prompt(self.name, version, label, fallback))
    }
}

/// What a lookup found.
pub(crate) enum Lookup {
    /// An answer at once: a hit (fresh or stale), or an error or fallback without waiting.
    Ready(Result<Prompt, PromptError>),
    /// A fetch to wait for.
    Wait(Pending),
}

/// A caller waiting for a fetch.
pub(crate) struct Pending {
    slot: Arc<Slot>,
    flight: Arc<Flight>,
    started: Instant,
    deadline: Instant,
}

/// The prompt cache and its fetches, for one project.
pub(crate) struct PromptManager {
    shared: Arc<Shared>,
    worker: Worker,
}

impl std::fmt::Debug for PromptManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PromptManager")
            .field("http", &self.shared.http)
            .field("cache", &self.shared.cache)
            .finish_non_exhaustive()
    }
}

/// What the fetches on the prompts thread share with the callers.
struct Shared {
    http: Http,
    cache: Cache,
    clock: Clock,
    timeout: Duration,
    default_ttl: Duration,
    warnings: Mutex<Warnings>,
}

impl PromptManager {
    pub(crate) fn new(settings: Settings, clock: Clock) -> Result<Self, String> {
        Ok(Self {
            shared: Arc::new(Shared {
                http: Http::new(&settings.base_url, settings.transport)?,
                cache: Cache::default(),
                clock,
                timeout: settings.timeout,
                default_ttl: settings.default_ttl,
                warnings: Mutex::default(),
            }),
            worker: Worker::default(),
        })
    }

    /// The cache, then a fetch if needed. Never waits: a miss returns the fetch to wait for.
    #[inline]
    pub(crate) fn lookup(&self, request: &Request<'_>) -> Lookup {
        if request.name.is_empty() {
            return Lookup::Ready(Err(PromptError::InvalidArgument {
                reason: "a prompt name cannot be empty".to_owned(),
            }));
        }
        let ttl = request.ttl.unwrap_or(self.shared.default_ttl);
        if !ttl.is_zero()
            && let Some(Some(prompt)) =
                self.shared
                    .cache
                    .with_slot(request.name, request.selector, |slot| {
                        self.hit(slot, request, ttl)
                    })
        {
            return Lookup::Ready(Ok(prompt));
        }
        self.miss(request, ttl)
    }

    /// A usable entry: returned, and refreshed in the background when stale.
    #[inline]
    fn hit(&self, slot: &Arc<Slot>, request: &Request<'_>, ttl: Duration) -> Option<Prompt> {
        let entry = slot.entry.load();
        let entry = entry.as_ref().filter(|entry| !entry.invalidated)?;
        let now = self.shared.clock.now();
        if now >= entry.expires_at && now >= slot.retry_at.load(Ordering::Acquire) {
            let budget = self.budget(request);
            if let Joined::Started(flight) =
                slot.join_or_start(|generation| Flight::new(generation, budget.attempts))
            {
                tracing::debug!(target: "langfuse", prompt = %slot.key, "stale: refreshing in the background");
                self.run(Arc::clone(slot), flight, budget, ttl);
            }
        }
        Some(entry.prompt.clone())
    }

    fn miss(&self, request: &Request<'_>, ttl: Duration) -> Lookup {
        let slot = self.shared.cache.slot(request.name, request.selector);
        // A caller who has something to serve does not wait for a server that just failed.
        let has_last_good = slot.entry.load().is_some();
        if (has_last_good || request.fallback.is_some())
            && self.shared.clock.now() < slot.retry_at.load(Ordering::Acquire)
        {
            let reason = PromptError::Connection {
                attempts: 0,
                reason: "the last fetch failed moments ago; not waiting for the server".into(),
            };
            return Lookup::Ready(self.shared.serve(Err(reason), &slot, request));
        }
        let budget = self.budget(request);
        let joined = slot.join_or_start(|generation| Flight::new(generation, budget.attempts));
        let flight = Arc::clone(joined.flight());
        if let Joined::Started(started) = joined {
            tracing::debug!(target: "langfuse", prompt = %slot.key, "not cached: fetching");
            self.run(Arc::clone(&slot), started, budget, ttl);
        }
        let started = Instant::now();
        Lookup::Wait(Pending {
            slot,
            flight,
            started,
            deadline: started + budget.total(),
        })
    }

    fn budget(&self, request: &Request<'_>) -> Budget {
        Budget {
            timeout: request
                .fetch_timeout
                .unwrap_or(self.shared.timeout)
                .max(MIN_TIMEOUT),
            attempts: 1 + request
                .max_retries
                .unwrap_or(DEFAULT_MAX_RETRIES)
                .min(MAX_RETRIES),
        }
    }

    /// Runs `flight` on the prompts thread.
    fn run(&self, slot: Arc<Slot>, flight: Arc<Flight>, budget: Budget, ttl: Duration) {
        let shared = Arc::clone(&self.shared);
        let (task_slot, task_flight) = (Arc::clone(&slot), Arc::clone(&flight));
        let task = async move {
            let result = shared.http.fetch(&task_slot.key, budget).await;
            shared.settle(&task_slot, &task_flight, result, ttl);
        };
        if let Err(error) = self.worker.spawn(task) {
            self.shared.settle(&slot, &flight, Err(error), ttl);
        }
    }

    /// Waits on this thread until the fetch ends or the caller's deadline passes, then
    /// serves what there is.
    pub(crate) fn wait_blocking(
        &self,
        pending: &Pending,
        request: &Request<'_>,
    ) -> Result<Prompt, PromptError> {
        let outcome = if on_worker() {
            Some(Err(PromptError::NotConfigured {
                reason: "a blocking get_prompt cannot wait on the langfuse-prompts thread".into(),
            }))
        } else {
            pending.flight.wait_blocking(pending.deadline)
        };
        self.finish(pending, outcome, request)
    }

    /// The fetch's end, or the caller's deadline, delivered by the prompts thread (which
    /// keeps the time, so the caller's runtime needs no timer, nor to be tokio).
    pub(crate) fn wait_async(
        &self,
        pending: &Pending,
    ) -> oneshot::Receiver<Option<Result<Prompt, PromptError>>> {
        let (reply, answer) = oneshot::channel();
        if let Some(result) = pending.flight.result() {
            let _ = reply.send(Some(result));
            return answer;
        }
        let flight = Arc::clone(&pending.flight);
        let deadline = tokio::time::Instant::from_std(pending.deadline);
        let task = async move {
            let mut reply = reply;
            let outcome = tokio::select! {
                result = flight.wait() => Some(result),
                () = tokio::time::sleep_until(deadline) => None,
                () = reply.closed() => return,
            };
            let _ = reply.send(outcome);
        };
        // If the thread cannot start, the task is dropped with its sender: the caller sees
        // the channel closed.
        let _ = self.worker.spawn(task);
        answer
    }

    /// What a waiting caller gets: the fetched prompt, else the last good version, else the
    /// fallback, else the error (`None`: the caller's deadline passed first).
    pub(crate) fn finish(
        &self,
        pending: &Pending,
        outcome: Option<Result<Prompt, PromptError>>,
        request: &Request<'_>,
    ) -> Result<Prompt, PromptError> {
        let result = outcome.unwrap_or_else(|| {
            Err(PromptError::Timeout {
                attempts: pending.flight.attempts,
                waited: pending.started.elapsed(),
            })
        });
        self.shared.serve(result, &pending.slot, request)
    }

    /// The error a caller gets when its waiting channel closed (the prompts thread stopped).
    pub(crate) fn stopped() -> PromptError {
        PromptError::NotConfigured {
            reason: "the langfuse-prompts thread has stopped".into(),
        }
    }

    /// Serves the fallback (or the error) for a failure that involved no cache.
    pub(crate) fn serve_without_cache(
        error: PromptError,
        request: &Request<'_>,
    ) -> Result<Prompt, PromptError> {
        if matches!(error, PromptError::InvalidArgument { .. }) {
            return Err(error);
        }
        match request.fallback_prompt() {
            Some(fallback) => {
                tracing::debug!(target: "langfuse", prompt = request.name, %error, "serving the caller's fallback");
                Ok(fallback)
            }
            None => Err(error),
        }
    }

    /// Sends a write on the prompts thread; the prompt's cache entries are invalidated once
    /// the request has been made (whatever its outcome: a timed-out write may have happened).
    pub(crate) fn write(&self, write: Write, reply: Reply) {
        let shared = Arc::clone(&self.shared);
        let task = async move {
            let url = match &write.target {
                Target::Create => shared.http.create_url(),
                Target::Labels { version } => shared.http.version_url(&write.name, *version),
            };
            let result = match url {
                Ok(url) => {
                    let method = match write.target {
                        Target::Create => Method::POST,
                        Target::Labels { .. } => Method::PATCH,
                    };
                    let result = shared
                        .http
                        .write(&write.name, method, url, &write.body, shared.timeout)
                        .await;
                    if !matches!(result, Err(PromptError::NotConfigured { .. })) {
                        shared.invalidate(&write.name);
                    }
                    result
                }
                Err(error) => Err(error),
            };
            reply.send(result);
        };
        let _ = self.worker.spawn(task);
    }

    /// Each request's default limit, for the writes' callers.
    pub(crate) fn timeout(&self) -> Duration {
        self.shared.timeout
    }

    /// Loads `prompts` (name, label) at once and waits for them until `wait` has passed.
    pub(crate) fn prefetch(&self, prompts: &[(String, String)], wait: Duration) {
        if prompts.is_empty() {
            return;
        }
        let deadline = Instant::now() + wait;
        let pending: Vec<(String, Lookup)> = prompts
            .iter()
            .map(|(name, label)| {
                let mut request = Request::new(name);
                request.selector = SelectorRef::Label(label);
                (format!("{name}-label:{label}"), self.lookup(&request))
            })
            .collect();
        let (mut loaded, mut failed, mut late) = (0, Vec::new(), Vec::new());
        for (key, lookup) in pending {
            let outcome = match lookup {
                Lookup::Ready(result) => Some(result),
                Lookup::Wait(pending) => {
                    pending.flight.wait_blocking(deadline.min(pending.deadline))
                }
            };
            match outcome {
                Some(Ok(_)) => loaded += 1,
                Some(Err(error)) => failed.push(format!("{key}: {error}")),
                None => late.push(key),
            }
        }
        tracing::debug!(target: "langfuse", loaded, "prompts prefetched");
        if !failed.is_empty() {
            tracing::warn!(target: "langfuse", "could not prefetch {} prompt(s); each is fetched again when first asked for: {}", failed.len(), failed.join("; "));
        }
        if !late.is_empty() {
            tracing::warn!(target: "langfuse", "{} prompt(s) still loading after {wait:?} (the first caller waits for them): {}", late.len(), late.join(", "));
        }
    }
}

impl Shared {
    /// Records a finished fetch in its slot, then wakes its waiters.
    fn settle(
        &self,
        slot: &Slot,
        flight: &Arc<Flight>,
        result: Result<Prompt, PromptError>,
        ttl: Duration,
    ) {
        let now = self.clock.now();
        // A write to the prompt since the fetch began: what it got may predate the write.
        let current = slot.generation.load(Ordering::Acquire) == flight.generation;
        match &result {
            Ok(prompt) if current => {
                tracing::debug!(target: "langfuse", prompt = %slot.key, version = prompt.version(), "prompt fetched");
                slot.entry.store(Some(Arc::new(Entry {
                    prompt: prompt.clone(),
                    fetched_at: now,
                    expires_at: now.saturating_add(as_nanos(ttl)),
                    invalidated: false,
                })));
                slot.failures.store(0, Ordering::Release);
                slot.retry_at.store(0, Ordering::Release);
            }
            Err(PromptError::NotFound { message, .. }) if current => {
                slot.failures.store(0, Ordering::Release);
                slot.retry_at.store(0, Ordering::Release);
                if let Some(evicted) = slot.entry.swap(None) {
                    tracing::warn!(
                        target: "langfuse",
                        prompt = %slot.key,
                        version = evicted.prompt.version(),
                        "the server no longer has this prompt (404: {message}): evicted from the cache"
                    );
                }
            }
            Err(error) if current && error.is_fetch_failure() => {
                let failures = slot
                    .failures
                    .fetch_add(1, Ordering::AcqRel)
                    .saturating_add(1);
                let gap = retry_gap(failures);
                slot.retry_at
                    .store(now.saturating_add(as_nanos(gap)), Ordering::Release);
                tracing::debug!(target: "langfuse", prompt = %slot.key, failures, "prompt fetch failed ({error}); no new attempt for {gap:?}");
                if let Some(entry) = slot.entry.load_full() {
                    self.warn_stale(slot, &entry, error, now);
                }
            }
            _ if !current => {
                tracing::debug!(target: "langfuse", prompt = %slot.key, "the answer predates a write to the prompt: not stored");
            }
            _ => {}
        }
        slot.detach(flight);
        flight.complete(result);
    }

    /// The answer to a caller whose fetch failed: the last good version, else the fallback,
    /// else the error.
    fn serve(
        &self,
        result: Result<Prompt, PromptError>,
        slot: &Slot,
        request: &Request<'_>,
    ) -> Result<Prompt, PromptError> {
        let error = match result {
            Ok(prompt) => return Ok(prompt),
            Err(error @ PromptError::InvalidArgument { .. }) => return Err(error),
            Err(error) => error,
        };
        if !matches!(error, PromptError::NotFound { .. })
            && let Some(entry) = slot.entry.load_full()
        {
            self.warn_stale(slot, &entry, &error, self.clock.now());
            return Ok(entry.prompt.clone());
        }
        match request.fallback_prompt() {
            Some(fallback) => {
                let now = self.clock.now();
                if let Some(held) = self.warnings.lock().fallback.due(now) {
                    tracing::warn!(
                        target: "langfuse",
                        prompt = %slot.key,
                        held_back = held,
                        "could not get the prompt ({error}) and none is cached: serving the caller's fallback (at most one such warning a minute; `held_back` were not logged)"
                    );
                }
                Ok(fallback)
            }
            None => Err(error),
        }
    }

    fn warn_stale(&self, slot: &Slot, entry: &Entry, error: &PromptError, now: Nanos) {
        let Some(held) = self.warnings.lock().stale.due(now) else {
            return;
        };
        tracing::warn!(
            target: "langfuse",
            prompt = %slot.key,
            version = entry.prompt.version(),
            age = ?Duration::from_nanos(now.saturating_sub(entry.fetched_at)),
            held_back = held,
            "could not refresh the prompt ({error}): serving the cached version until a refresh succeeds (at most one such warning a minute; `held_back` were not logged)"
        );
    }

    /// Invalidates every cached version of the prompt `name`, and of no other name.
    fn invalidate(&self, name: &str) {
        for slot in self.cache.slots_of(name) {
            slot.invalidate();
        }
    }
}

/// Rate limits of the warnings.
#[derive(Debug, Default)]
struct Warnings {
    stale: Limiter,
    fallback: Limiter,
}

#[derive(Debug, Default)]
struct Limiter {
    last: Option<Nanos>,
    held: u64,
}

impl Limiter {
    /// `Some(warnings held back since the last one)` when one may go out now.
    fn due(&mut self, now: Nanos) -> Option<u64> {
        if let Some(last) = self.last
            && now < last.saturating_add(as_nanos(WARNING_INTERVAL))
        {
            self.held += 1;
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.held))
    }
}

/// A write to the prompts API.
#[derive(Debug)]
pub(crate) struct Write {
    /// The prompt written (its cache entries are invalidated).
    pub(crate) name: String,
    pub(crate) target: Target,
    pub(crate) body: Value,
}

#[derive(Debug)]
pub(crate) enum Target {
    /// `POST /api/public/v2/prompts`.
    Create,
    /// `PATCH /api/public/v2/prompts/{name}/versions/{version}`.
    Labels { version: i64 },
}

/// Where a write's answer goes.
pub(crate) enum Reply {
    Blocking(std::sync::mpsc::SyncSender<Result<Prompt, PromptError>>),
    Async(oneshot::Sender<Result<Prompt, PromptError>>),
}

impl Reply {
    fn send(self, result: Result<Prompt, PromptError>) {
        match self {
            Self::Blocking(sender) => {
                let _ = sender.try_send(result);
            }
            Self::Async(sender) => {
                let _ = sender.send(result);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_go_out_at_most_once_an_interval_counting_the_others() {
        let mut limiter = Limiter::default();
        let second = as_nanos(Duration::from_secs(1));
        assert_eq!(limiter.due(0), Some(0));
        assert_eq!(limiter.due(second), None);
        assert_eq!(limiter.due(59 * second), None);
        assert_eq!(limiter.due(60 * second), Some(2));
        assert_eq!(limiter.due(61 * second), None);
    }

    #[test]
    fn retries_default_to_two_and_stop_at_four() {
        let settings = Settings::from_config(
            &Config::builder()
                .ignore_environment()
                .public_key("pk-lf-1")
                .secret_key("sk-lf-1")
                .build()
                .unwrap(),
        )
        .unwrap();
        let manager = PromptManager::new(settings, Clock::real()).unwrap();
        let mut request = Request::new("p");
        assert_eq!(manager.budget(&request).attempts, 3);
        request.max_retries = Some(10);
        assert_eq!(manager.budget(&request).attempts, 5);
        request.max_retries = Some(0);
        assert_eq!(manager.budget(&request).attempts, 1);
        assert_eq!(manager.budget(&request).timeout, Duration::from_secs(5));
        request.fetch_timeout = Some(Duration::ZERO);
        assert_eq!(manager.budget(&request).timeout, MIN_TIMEOUT);
    }

    #[test]
    fn no_keys_no_prompts() {
        let config = Config::builder().ignore_environment().build().unwrap();
        let reason = Settings::from_config(&config).unwrap_err();
        assert!(reason.contains("LANGFUSE_PUBLIC_KEY"), "{reason}");
    }
}
