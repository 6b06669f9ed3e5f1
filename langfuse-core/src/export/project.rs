//! The project id behind trace URLs (`{base_url}/project/{id}/traces/{trace id}`).
//!
//! Langfuse's URLs name the project, which only the server knows: the exporter thread asks
//! once, in the background, right after it starts (`GET /api/public/projects` answers with the
//! projects of the key), and keeps asking with a growing backoff until it has an answer. So
//! building a URL never waits on the network: until the id is known there is no URL. Callers
//! that prefer to wait a little register with the fetcher, whose timers answer them by their
//! deadline, so waiting works from any async runtime.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use reqwest::Url;
use serde_json::Value;
use tokio::sync::{Notify, mpsc, oneshot, watch};

use super::transport::HttpTransport;
use crate::config::{Config, ExporterKind};

/// The endpoint listing the projects an API key belongs to.
const PROJECTS_PATH: &str = "/api/public/projects";
/// The answer lists the key's own project; anything this large is not that answer.
const MAX_RESPONSE_BYTES: usize = 1 << 20;
/// First wait after a failed fetch; doubled after every further failure.
const INITIAL_BACKOFF: Duration = Duration::from_secs(1);
/// Longest wait between two fetches.
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// Shortest gap between two fetches when a caller is waiting for the id, so that callers
/// waiting on an unreachable server cannot turn the backoff into a stream of requests.
const MIN_GAP_WHEN_WAITED_FOR: Duration = Duration::from_secs(5);

/// Characters escaped in the project id, so that whatever the server sends stays one path
/// segment.
const PATH_SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// What the client knows about its project; shared with the fetcher on the exporter thread.
#[derive(Debug)]
pub(crate) struct ProjectLink {
    /// `{base_url}/project/{id}/traces/`, once the project id is known.
    prefix: OnceLock<String>,
    /// The project id as the server sent it, and `{base_url}/project/{id}` (the id escaped),
    /// set just before `prefix`.
    project: OnceLock<(String, String)>,
    /// Where callers wait for the id; `None` when trace URLs do not apply (console or none
    /// exporter, spans sent to an OpenTelemetry collector).
    waiters: Option<mpsc::UnboundedSender<Waiter>>,
}

/// A caller waiting for the project id until `deadline` (`None`: until it is known).
#[derive(Debug)]
struct Waiter {
    deadline: Option<Instant>,
    reply: oneshot::Sender<()>,
}

/// The exporter thread's side: fetches the id, then answers waiting callers.
#[derive(Debug)]
pub(crate) struct Fetcher {
    link: Arc<ProjectLink>,
    url: Url,
    base_url: String,
    waiters: mpsc::UnboundedReceiver<Waiter>,
}

impl ProjectLink {
    /// The link for `config`, and the fetcher to run on the exporter thread when trace URLs
    /// apply.
    pub(crate) fn new(config: &Config) -> (Arc<Self>, Option<Fetcher>) {
        let sends_to_langfuse =
            config.exporter() == ExporterKind::Otlp && config.otlp_traces_endpoint().is_none();
        let has_keys = config.public_key().is_some() && config.secret_key().is_some();
        // The base URL was validated, so this parses; were it ever not to, there is no URL.
        let url = Url::parse(&format!("{}{PROJECTS_PATH}", config.base_url()))
            .ok()
            .filter(|_| sends_to_langfuse && has_keys);
        let Some(url) = url else {
            let link = Self {
                prefix: OnceLock::new(),
                project: OnceLock::new(),
                waiters: None,
            };
            return (Arc::new(link), None);
        };
        let (sender, receiver) = mpsc::unbounded_channel();
        let link = Arc::new(Self {
            prefix: OnceLock::new(),
            project: OnceLock::new(),
            waiters: Some(sender),
        });
        let fetcher = Fetcher {
            link: Arc::clone(&link),
            url,
            base_url: config.base_url().to_owned(),
            waiters: receiver,
        };
        (link, Some(fetcher))
    }

    /// `{base_url}/project/{id}/traces/`, if the project id is known. Never waits.
    pub(crate) fn prefix(&self) -> Option<&str> {
        self.prefix.get().map(String::as_str)
    }

    /// The project id, if it is known. Never waits.
    pub(crate) fn project_id(&self) -> Option<&str> {
        self.project.get().map(|(id, _)| id.as_str())
    }

    /// `{base_url}/project/{id}`, the project's pages in the UI, if the id is known.
    pub(crate) fn project_url(&self) -> Option<&str> {
        self.project.get().map(|(_, url)| url.as_str())
    }

    /// Like [`prefix`](Self::prefix), waiting at most `timeout` for the fetch. The exporter
    /// thread keeps the time, so this needs no timer from the caller's runtime. `None` at once
    /// when trace URLs do not apply or the exporter has stopped.
    pub(crate) async fn wait_for_prefix(&self, timeout: Duration) -> Option<&str> {
        if let Some(prefix) = self.prefix() {
            return Some(prefix);
        }
        let waiters = self.waiters.as_ref()?;
        if timeout.is_zero() {
            return None;
        }
        let (reply, answered) = oneshot::channel();
        let waiter = Waiter {
            deadline: Instant::now().checked_add(timeout),
            reply,
        };
        if waiters.send(waiter).is_ok() {
            // An error only means the exporter stopped: nothing more will be learnt.
            let _ = answered.await;
        }
        self.prefix()
    }
}

impl Fetcher {
    /// Fetches the project id until it is known, and answers waiting callers meanwhile. Runs
    /// on the exporter thread's runtime, and ends with it.
    pub(crate) async fn run(self, transport: Arc<HttpTransport>) {
        let Fetcher {
            link,
            url,
            base_url,
            mut waiters,
        } = self;
        let (known_tx, known) = watch::channel(false);
        let hurry = Notify::new();
        let fetch = fetch_until_known(&link, &transport, &url, &base_url, &hurry, known_tx);
        tokio::pin!(fetch);
        let mut fetching = true;
        loop {
            tokio::select! {
                () = &mut fetch, if fetching => fetching = false,
                waiter = waiters.recv() => match waiter {
                    Some(waiter) => {
                        hurry.notify_one();
                        tokio::spawn(answer(waiter, known.clone()));
                    }
                    // The link holds the sender, so this does not happen while it lives.
                    None => {
                        if fetching {
                            fetch.await;
                        }
                        return;
                    }
                },
            }
        }
    }
}

/// Answers `waiter` once the id is known, at its deadline, or not at all if it gave up.
async fn answer(mut waiter: Waiter, mut known: watch::Receiver<bool>) {
    let deadline = waiter.deadline;
    let deadline = async move {
        match deadline {
            Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        // Known, or the fetcher is gone: either way there is nothing more to wait for.
        _ = known.wait_for(|known| *known) => {}
        () = deadline => {}
        () = waiter.reply.closed() => return,
    }
    let _ = waiter.reply.send(());
}

async fn fetch_until_known(
    link: &ProjectLink,
    transport: &HttpTransport,
    url: &Url,
    base_url: &str,
    hurry: &Notify,
    known: watch::Sender<bool>,
) {
    let mut failures = 0u32;
    loop {
        let started = tokio::time::Instant::now();
        let result = match transport.get(url, MAX_RESPONSE_BYTES).await {
            Ok(body) => parse_project_id(&body),
            Err(failure) => Err(failure.to_string()),
        };
        match result {
            Ok(id) => {
                let escaped = utf8_percent_encode(&id, PATH_SEGMENT).to_string();
                let project_url = format!("{base_url}/project/{escaped}");
                let prefix = format!("{project_url}/traces/");
                let _ = link.project.set((id, project_url));
                let _ = link.prefix.set(prefix);
                known.send_replace(true);
                tracing::debug!(target: "langfuse", project_id = %escaped, "project id known: trace URLs are available");
                return;
            }
            Err(reason) if failures == 0 => tracing::warn!(
                target: "langfuse",
                "could not get the project id from {PROJECTS_PATH}, so trace URLs are unavailable for now (retrying in the background): {reason}"
            ),
            Err(reason) => tracing::debug!(
                target: "langfuse",
                failures = failures + 1,
                "could not get the project id again: {reason}"
            ),
        }
        let wait = backoff(failures);
        failures = failures.saturating_add(1);
        tokio::select! {
            () = tokio::time::sleep_until(started + wait) => {}
            () = async {
                hurry.notified().await;
                tokio::time::sleep_until(started + MIN_GAP_WHEN_WAITED_FOR).await;
            } => {}
        }
    }
}

/// The wait after failure number `failures + 1`: doubling from one second, capped, with
/// ±20% jitter so that a fleet restarted together does not retry in step.
fn backoff(failures: u32) -> Duration {
    let base = INITIAL_BACKOFF
        .saturating_mul(1u32 << failures.min(16))
        .min(MAX_BACKOFF);
    base.mul_f64(0.8 + 0.4 * fastrand::f64())
}

/// The first project's id from a `GET /api/public/projects` answer (`{"data":[{"id":...}]}`).
/// A project-scoped key (the kind that sends traces) lists exactly its own project.
fn parse_project_id(body: &[u8]) -> Result<String, String> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| format!("the answer is not the expected JSON: {e}"))?;
    let id = value
        .get("data")
        .and_then(Value::as_array)
        .and_then(|projects| projects.first())
        .and_then(|project| project.get("id"))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|id| !id.is_empty());
    match id {
        Some(id) => Ok(id.to_owned()),
        None => Err("the answer lists no project (trace URLs need a project-scoped key)".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_first_project_id() {
        let body = br#"{"data":[{"id":"clx1","name":"a","organization":{"id":"o","name":"o"},"metadata":{}},{"id":"clx2"}]}"#;
        assert_eq!(parse_project_id(body), Ok("clx1".into()));
        assert_eq!(
            parse_project_id(br#"{"data":[{"id":" p "}]}"#),
            Ok("p".into())
        );
    }

    #[test]
    fn rejects_answers_without_a_project() {
        for body in [
            &br#"{"data":[]}"#[..],
            br#"{"data":[{"id":""}]}"#,
            br#"{"data":[{"id":7}]}"#,
            br#"{"projects":[{"id":"p"}]}"#,
            br#"[]"#,
            b"<html>login</html>",
            b"",
        ] {
            assert!(
                parse_project_id(body).is_err(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        for failures in 0..40 {
            let expected = INITIAL_BACKOFF
                .saturating_mul(1u32 << failures.min(16))
                .min(MAX_BACKOFF);
            let wait = backoff(failures);
            assert!(wait >= expected.mul_f64(0.8) && wait <= expected.mul_f64(1.2));
        }
        assert!(backoff(100) <= MAX_BACKOFF.mul_f64(1.2));
    }

    #[test]
    fn project_ids_stay_one_path_segment() {
        let id = utf8_percent_encode("a/b?c#d e%", PATH_SEGMENT).to_string();
        assert_eq!(id, "a%2Fb%3Fc%23d%20e%25");
    }

    fn config(builder: crate::ConfigBuilder) -> Config {
        builder
            .ignore_environment()
            .public_key("pk-lf-1")
            .secret_key("sk-lf-1")
            .build()
            .unwrap()
    }

    #[test]
    fn only_langfuse_otlp_export_fetches() {
        let (_, fetcher) = ProjectLink::new(&config(Config::builder()));
        let fetcher = fetcher.expect("OTLP to Langfuse");
        assert_eq!(
            fetcher.url.as_str(),
            "https://cloud.langfuse.com/api/public/projects"
        );

        for builder in [
            Config::builder().exporter(ExporterKind::Console),
            Config::builder().exporter(ExporterKind::None),
            Config::builder().otlp_traces_endpoint("http://collector:4318/v1/traces"),
        ] {
            let (link, fetcher) = ProjectLink::new(&config(builder));
            assert!(fetcher.is_none());
            assert!(link.waiters.is_none());
        }
    }

    #[test]
    fn waiting_without_a_fetcher_returns_at_once() {
        let (link, _) = ProjectLink::new(&config(Config::builder().exporter(ExporterKind::None)));
        let waited = ready_now(link.wait_for_prefix(Duration::from_secs(3600)));
        assert_eq!(waited, None);
    }

    /// Polls a future that must be ready at once (no runtime needed).
    fn ready_now<F: std::future::Future>(future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        let waker = std::task::Waker::noop();
        match future
            .as_mut()
            .poll(&mut std::task::Context::from_waker(waker))
        {
            std::task::Poll::Ready(output) => output,
            std::task::Poll::Pending => panic!("the future waited"),
        }
    }
}
