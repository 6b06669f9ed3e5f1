//! [`Recorder`]: routes the traces its code starts to itself, and turns what it received into
//! a [`Recording`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use serde_json::Value as Json;

use super::observation::Collect;
use super::{RecordedScore, Recording};
use crate::client;
use crate::clock::Anchor;
use crate::config::{Config, Mask};
use crate::context::tap::{Tap, with_tap};
use crate::export::attributes::{ProcessAttributes, write_span};
use crate::export::mask::Masker;

/// Records the traces started by the code it runs, in memory, instead of exporting them.
///
/// Run code with [`in_scope`](Self::in_scope) (a closure) or [`instrument`](Self::instrument)
/// (a future), then read what it recorded with [`recording`](Self::recording). Every trace
/// that *starts* in that code is recorded, with all its observations, wherever they run:
/// on other threads and tasks the context travels to (`langfuse::spawn`,
/// `in_current_observation`, an entered `ObservationContext`), and across the worker threads
/// of a multi-threaded runtime. Traces started elsewhere, by other tests running at the same
/// time, are not: recorders in parallel tests never see each other's data, and need no
/// client, no keys and no HTTP.
///
/// A recorded trace is kept whatever the sampling rate, is not counted in
/// [`Stats`](crate::Stats), and never reaches the exporter. What the recording holds is
/// what the exporter would have sent: the same capture budget and capture default
/// (`LANGFUSE_*` configuration, or the started client's), the same masking (the client's
/// mask, or [`mask`](Self::mask)), the same environment and release.
///
/// Cloning shares the recorder.
///
/// ```
/// use langfuse_core::testing::Recorder;
///
/// fn handle(question: &str) -> usize {
///     let mut span = langfuse_core::start_observation("handle").start();
///     span.update(|s| {
///         s.input(question);
///     });
///     span.end();
///     question.len()
/// }
///
/// let recorder = Recorder::new();
/// let answer = recorder.in_scope(|| handle("What is Langfuse?"));
/// assert_eq!(answer, 17);
/// let recording = recorder.recording();
/// assert_eq!(recording.one("handle").input().unwrap(), "What is Langfuse?");
/// ```
#[derive(Clone)]
pub struct Recorder {
    tap: Arc<Tap>,
    mask: Option<Mask>,
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Recorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recorder")
            .field("traces", &self.tap.traces().len())
            .field("finished", &self.tap.records().len())
            .finish()
    }
}

impl Recorder {
    /// A recorder that has recorded nothing yet.
    ///
    /// ```
    /// let recorder = langfuse_core::testing::Recorder::new();
    /// assert!(recorder.recording().is_empty());
    /// ```
    pub fn new() -> Self {
        Self {
            tap: Tap::open(),
            mask: None,
        }
    }

    /// Masks what this recorder returns with `mask`, as
    /// [`ConfigBuilder::mask`](crate::ConfigBuilder::mask) would (instead of the client's
    /// mask, if one is configured).
    ///
    /// ```
    /// use langfuse_core::testing::Recorder;
    ///
    /// let recorder = Recorder::new().mask(|_| serde_json::json!("<redacted>"));
    /// recorder.in_scope(|| {
    ///     let mut span = langfuse_core::start_observation("login").start();
    ///     span.update(|s| {
    ///         s.input("hunter2");
    ///     });
    ///     span.end();
    /// });
    /// assert_eq!(recorder.recording().one("login").input().unwrap(), "<redacted>");
    /// ```
    pub fn mask<F>(mut self, mask: F) -> Self
    where
        F: Fn(Json) -> Json + Send + Sync + 'static,
    {
        self.mask = Some(Mask::new(mask));
        self
    }

    /// Runs `f`; the traces it starts are recorded here.
    ///
    /// ```
    /// let recorder = langfuse_core::testing::Recorder::new();
    /// recorder.in_scope(|| langfuse_core::start_observation("work").start().end());
    /// assert_eq!(recorder.recording().len(), 1);
    /// ```
    pub fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        with_tap(&self.tap, f)
    }

    /// Wraps `future` so that the traces it starts, in any of its polls, are recorded here.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let recorder = langfuse_core::testing::Recorder::new();
    /// recorder
    ///     .instrument(async { langfuse_core::start_observation("work").start().end() })
    ///     .await;
    /// assert_eq!(recorder.recording().len(), 1);
    /// # }
    /// ```
    pub fn instrument<F: Future>(&self, future: F) -> Recorded<F> {
        Recorded {
            inner: future,
            tap: Arc::clone(&self.tap),
        }
    }

    /// What has been recorded so far: the observations that have ended and the scores given.
    /// Observations still running (in a task that has not finished, say) are not in it yet;
    /// call it again once they end.
    pub fn recording(&self) -> Recording {
        let config = active_config();
        let mut records = self.tap.records();
        let mask = self
            .mask
            .clone()
            .or_else(|| config.as_ref().and_then(|c| c.mask().cloned()));
        if let Some(mask) = mask {
            Masker::new(mask).mask_in_place(records.iter_mut());
        }
        let process = ProcessAttributes {
            environment: config.as_ref().and_then(Config::environment),
            release: config.as_ref().and_then(Config::release),
        };
        let anchor = Anchor::now();
        let mut text = String::new();
        let mut observations: Vec<_> = records
            .iter()
            .map(|record| {
                let mut span = Collect::new();
                write_span(record, &process, &anchor, &mut text, &mut span);
                span.0
            })
            .collect();
        observations.sort_by_key(|o| (o.start_unix_nanos, o.end_unix_nanos));
        let scores = self
            .tap
            .scores()
            .iter()
            .filter_map(|body| serde_json::from_slice::<Json>(body).ok())
            .map(|mut body| {
                // The exporter fills in the configured environment the same way.
                if body.get("environment").is_none()
                    && let Some(environment) = process.environment
                {
                    body["environment"] = Json::String(environment.to_owned());
                }
                RecordedScore { body }
            })
            .collect();
        Recording {
            observations,
            scores,
            traces: self.tap.traces(),
        }
    }
}

/// The configuration the exporter would use: the started client's, else the environment's.
fn active_config() -> Option<Config> {
    match client::existing_client().and_then(|c| c.config()) {
        Some(config) => Some(config.clone()),
        None => Config::from_env().ok(),
    }
}

pin_project_lite::pin_project! {
    /// A future whose traces are recorded by a [`Recorder`]; see [`Recorder::instrument`].
    #[must_use = "futures do nothing unless polled"]
    pub struct Recorded<F> {
        #[pin]
        inner: F,
        tap: Arc<Tap>,
    }
}

impl<F> fmt::Debug for Recorded<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recorded").finish_non_exhaustive()
    }
}

impl<F: Future> Future for Recorded<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let inner = this.inner;
        with_tap(this.tap, || inner.poll(cx))
    }
}
