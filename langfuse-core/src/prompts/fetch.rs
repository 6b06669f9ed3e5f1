//! The prompts' HTTP calls, and the thread they run on.
//!
//! Every request runs on one dedicated thread, `langfuse-prompts`, with its own
//! current-thread tokio runtime, started the first time a prompt is fetched. Never on the
//! application's runtime, so a caller's runtime (current-thread, multi-thread, or none)
//! cannot starve it nor be blocked by it; never on the exporter's thread either, so a fetch
//! neither waits behind a batch being encoded nor delays one, and it keeps the service's
//! priority (the exporter runs below it). Its HTTP client is the exporter's kind (same TLS
//! settings, headers and Basic auth, secrets scrubbed from server messages), its own instance.

use std::cell::Cell;
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use reqwest::{Method, Url};
use serde_json::Value;
use tokio::runtime::Handle;
use tokio::sync::{OnceCell, oneshot};
use tokio::time::Instant;

use super::cache::{Key, Selector};
use super::error::PromptError;
use super::types::{Prompt, prompt_from_json};
use crate::export::transport::{self, CallFailure, HttpTransport, TransportSettings};

/// The prompts endpoint, under the base URL.
const PROMPTS_PATH: &str = "/api/public/v2/prompts";
/// Large chat prompts are a few hundred kilobytes; anything past this is not a prompt.
const MAX_RESPONSE_BYTES: usize = 8 << 20;

thread_local! {
    static ON_WORKER: Cell<bool> = const { Cell::new(false) };
}

/// Whether the caller runs on the prompts thread (where waiting for a fetch would deadlock).
pub(crate) fn on_worker() -> bool {
    ON_WORKER.with(Cell::get)
}

/// The prompts thread, started on first use; it stops when this is dropped.
#[derive(Debug, Default)]
pub(crate) struct Worker {
    started: OnceLock<Result<Running, String>>,
}

#[derive(Debug)]
struct Running {
    handle: Handle,
    /// Dropping it ends the thread's `block_on`, and with it the runtime and its tasks.
    _stop: oneshot::Sender<()>,
}

impl Worker {
    /// Runs `future` on the prompts thread, starting it if needed.
    pub(crate) fn spawn<F>(&self, future: F) -> Result<(), PromptError>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        match self.started.get_or_init(start) {
            Ok(running) => {
                drop(running.handle.spawn(future));
                Ok(())
            }
            Err(reason) => Err(PromptError::NotConfigured {
                reason: reason.clone(),
            }),
        }
    }
}

fn start() -> Result<Running, String> {
    let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel(1);
    let (stop, stopped) = oneshot::channel::<()>();
    std::thread::Builder::new()
        .name("langfuse-prompts".to_owned())
        .spawn(move || {
            ON_WORKER.with(|w| w.set(true));
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
            let _ = ready_tx.send(Ok(runtime.handle().clone()));
            // Until the manager is dropped; dropping the runtime then cancels what is left.
            let _ = runtime.block_on(stopped);
        })
        .map_err(|e| format!("cannot start the langfuse-prompts thread: {e}"))?;
    match ready_rx.recv() {
        Ok(Ok(handle)) => Ok(Running {
            handle,
            _stop: stop,
        }),
        Ok(Err(e)) => Err(e),
        Err(_) => Err("the langfuse-prompts thread exited during startup".to_owned()),
    }
}

/// How much one fetch may try.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Budget {
    /// Limit on each request.
    pub(crate) timeout: Duration,
    /// Requests at most (1 plus the retries).
    pub(crate) attempts: u32,
}

impl Budget {
    /// The whole fetch's limit: timeout × attempts.
    pub(crate) fn total(&self) -> Duration {
        self.timeout.saturating_mul(self.attempts)
    }
}

/// The prompts API of one Langfuse project.
pub(crate) struct Http {
    base: String,
    settings: TransportSettings,
    transport: OnceCell<Result<Arc<HttpTransport>, String>>,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http")
            .field("base", &self.base)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Http {
    /// For the server at `base_url`; the client is built on the prompts thread, on first use.
    pub(crate) fn new(base_url: &str, mut settings: TransportSettings) -> Result<Self, String> {
        let base = format!("{}{PROMPTS_PATH}", base_url.trim_end_matches('/'));
        settings.traces_url = Url::parse(&base).map_err(|e| format!("invalid base URL: {e}"))?;
        settings.compression = false;
        settings.max_retries = 0;
        Ok(Self {
            base,
            settings,
            transport: OnceCell::new(),
        })
    }

    async fn transport(&self) -> Result<&HttpTransport, PromptError> {
        let built = self
            .transport
            .get_or_init(|| async {
                HttpTransport::new(self.settings.clone())
                    .map(Arc::new)
                    .map_err(|e| format!("HTTP client: {e}"))
            })
            .await;
        match built {
            Ok(transport) => Ok(transport),
            Err(reason) => Err(PromptError::NotConfigured {
                reason: reason.clone(),
            }),
        }
    }

    /// `GET {base}/api/public/v2/prompts/{name}?version=N` (or `?label=L`), the name
    /// percent-encoded as one segment.
    pub(crate) fn prompt_url(&self, key: &Key) -> Result<Url, PromptError> {
        let mut url = self.url(&format!("/{}", transport::path_segment(&key.name)))?;
        match &key.selector {
            Selector::Version(version) => url
                .query_pairs_mut()
                .append_pair("version", &version.to_string()),
            Selector::Label(label) => url.query_pairs_mut().append_pair("label", label),
        };
        Ok(url)
    }

    /// `PATCH {base}/api/public/v2/prompts/{name}/versions/{version}`.
    pub(crate) fn version_url(&self, name: &str, version: i64) -> Result<Url, PromptError> {
        self.url(&format!(
            "/{}/versions/{version}",
            transport::path_segment(name)
        ))
    }

    /// `POST {base}/api/public/v2/prompts`.
    pub(crate) fn create_url(&self) -> Result<Url, PromptError> {
        self.url("")
    }

    fn url(&self, rest: &str) -> Result<Url, PromptError> {
        Url::parse(&format!("{}{rest}", self.base)).map_err(|e| PromptError::InvalidArgument {
            reason: format!("cannot build the prompt's URL: {e}"),
        })
    }

    /// Fetches one prompt: each request bounded by the budget's timeout, the whole by its
    /// total; 429, 5xx, connection errors and timeouts retried after a short pause (the
    /// server's `Retry-After` if it sent one and it fits); other statuses final.
    pub(crate) async fn fetch(&self, key: &Key, budget: Budget) -> Result<Prompt, PromptError> {
        let url = self.prompt_url(key)?;
        let transport = self.transport().await?;
        let started = Instant::now();
        let deadline = started + budget.total();
        let mut attempts = 0;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(PromptError::Timeout {
                    attempts,
                    waited: started.elapsed(),
                });
            }
            attempts += 1;
            let failure = match transport
                .call(
                    Method::GET,
                    &url,
                    None,
                    budget.timeout.min(left),
                    MAX_RESPONSE_BYTES,
                )
                .await
            {
                Ok(body) => return parse_prompt(&body),
                Err(failure) => failure,
            };
            if failure.status == Some(404) {
                return Err(PromptError::NotFound {
                    name: key.name.to_string(),
                    message: server_message(&failure.message),
                });
            }
            if !failure.transient || attempts >= budget.attempts {
                return Err(final_error(failure, attempts, started.elapsed()));
            }
            let wait = failure.retry_after.unwrap_or_else(|| pause(budget.timeout));
            if Instant::now() + wait >= deadline {
                return Err(final_error(failure, attempts, started.elapsed()));
            }
            tracing::debug!(target: "langfuse", prompt = %key, attempt = attempts, ?wait, reason = %failure.message, "prompt fetch failed; retrying");
            tokio::time::sleep(wait).await;
        }
    }

    /// One write (no retry: a create that timed out may have been made), answered with the
    /// prompt as the server now has it.
    pub(crate) async fn write(
        &self,
        name: &str,
        method: Method,
        url: Url,
        body: &Value,
        timeout: Duration,
    ) -> Result<Prompt, PromptError> {
        let transport = self.transport().await?;
        let started = Instant::now();
        let body = serde_json::to_vec(body).map_err(|e| PromptError::InvalidArgument {
            reason: format!("cannot serialize the request: {e}"),
        })?;
        match transport
            .call(method, &url, Some(body), timeout, MAX_RESPONSE_BYTES)
            .await
        {
            Ok(body) => parse_prompt(&body),
            Err(failure) if failure.status == Some(404) => Err(PromptError::NotFound {
                name: name.to_owned(),
                message: server_message(&failure.message),
            }),
            Err(failure) => Err(final_error(failure, 1, started.elapsed())),
        }
    }
}

/// The pause between two attempts: a quarter of the timeout, from 50 ms to a second (the
/// Python SDK waits a constant second), ±20% so that a fleet does not retry in step.
fn pause(timeout: Duration) -> Duration {
    let base = (timeout / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
    base.mul_f64(0.8 + 0.4 * fastrand::f64())
}

fn final_error(failure: CallFailure, attempts: u32, waited: Duration) -> PromptError {
    match failure.status {
        Some(status) => PromptError::Status {
            status,
            message: server_message(&failure.message),
            attempts,
        },
        None if failure.timed_out => PromptError::Timeout { attempts, waited },
        None => PromptError::Connection {
            attempts,
            reason: failure.message,
        },
    }
}

fn parse_prompt(body: &[u8]) -> Result<Prompt, PromptError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| PromptError::InvalidResponse {
        reason: format!("not JSON: {e}"),
    })?;
    prompt_from_json(&value).map_err(|reason| PromptError::InvalidResponse { reason })
}

/// The `message` (or `error`) of a JSON error body, else the body as it is.
fn server_message(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|value| {
            ["message", "error"]
                .iter()
                .find_map(|key| value.get(key)?.as_str().map(str::to_owned))
        })
        .unwrap_or_else(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(base: &str) -> Http {
        Http::new(
            base,
            TransportSettings {
                traces_url: Url::parse("http://unused").unwrap(),
                public_key: Some("pk-lf-1".into()),
                secret_key: Some("sk-lf-1".into()),
                compression: true,
                timeout: Duration::from_secs(5),
                max_retries: 5,
                extra_headers: Vec::new(),
            },
        )
        .unwrap()
    }

    fn key(name: &str, selector: Selector) -> Key {
        Key {
            name: name.into(),
            selector,
        }
    }

    #[test]
    fn names_are_one_encoded_segment_as_in_the_python_sdk() {
        let http = http("https://cloud.langfuse.com");
        let url = |name: &str, selector| http.prompt_url(&key(name, selector)).unwrap();
        assert_eq!(
            url("support/triage", Selector::Label("production".into())).as_str(),
            "https://cloud.langfuse.com/api/public/v2/prompts/support%2Ftriage?label=production"
        );
        assert_eq!(
            url("a b?c#d%e+f~g.h-i_j", Selector::Version(3)).as_str(),
            "https://cloud.langfuse.com/api/public/v2/prompts/a%20b%3Fc%23d%25e%2Bf~g.h-i_j?version=3"
        );
        assert_eq!(
            url("café", Selector::Label("a&b c".into())).as_str(),
            "https://cloud.langfuse.com/api/public/v2/prompts/caf%C3%A9?label=a%26b+c"
        );
        assert_eq!(
            http.version_url("support/triage", 2).unwrap().as_str(),
            "https://cloud.langfuse.com/api/public/v2/prompts/support%2Ftriage/versions/2"
        );
        assert_eq!(
            http.create_url().unwrap().as_str(),
            "https://cloud.langfuse.com/api/public/v2/prompts"
        );
        let under_a_path =
            Http::new("http://localhost:3000/langfuse/", http.settings.clone()).unwrap();
        assert_eq!(
            under_a_path.create_url().unwrap().as_str(),
            "http://localhost:3000/langfuse/api/public/v2/prompts"
        );
    }

    #[test]
    fn server_messages_are_read_from_json_bodies() {
        assert_eq!(
            server_message(r#"{"message":"Prompt not found"}"#),
            "Prompt not found"
        );
        assert_eq!(
            server_message(r#"{"error":"Unauthorized"}"#),
            "Unauthorized"
        );
        assert_eq!(server_message("Bad Gateway"), "Bad Gateway");
    }

    #[test]
    fn the_pause_fits_the_timeout() {
        for (timeout, low, high) in [(5_000, 800, 1_200), (100, 40, 60), (1_000, 200, 300)] {
            let pause = pause(Duration::from_millis(timeout)).as_millis();
            assert!((low..=high).contains(&pause), "{timeout} ms: {pause}");
        }
    }
}
