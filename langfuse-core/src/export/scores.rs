//! The exporter thread's side of scores: takes them from the hand-off channel, writes each as
//! a `CreateScoreRequest` JSON body and POSTs it to `{base_url}/api/public/scores`, one score
//! per request (the endpoint takes one object), a few requests at a time, with the same
//! retries as span exports.
//!
//! Scores always go to Langfuse, even when spans go to an OpenTelemetry collector
//! (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`): a collector has no scores endpoint. In that mode the
//! collector's headers are not sent to Langfuse, and without Langfuse keys scores are dropped
//! with one warning.

use std::collections::{HashMap, VecDeque};
use std::io::Write as _;
use std::sync::Arc;

use reqwest::Url;
use tokio::sync::mpsc;
use tokio::task::{self, JoinError, JoinSet};

use super::drop_warning::DropWarning;
use super::transport::{
    Delivery, ExportOutcome, HttpTransport, JSON, RequestBody, TransportSettings,
};
use crate::config::{Config, ExporterKind};
use crate::model::{FlushReport, Stats};
use crate::scores::{self, Fate, Score};

/// Score requests in flight at most.
const MAX_IN_FLIGHT: usize = 4;
/// Where scores go, decided once from the configuration.
enum Route {
    Http {
        transport: Arc<HttpTransport>,
        url: Url,
    },
    /// `LANGFUSE_EXPORTER=console`: printed with the traces.
    Console,
    /// `LANGFUSE_EXPORTER=none`: accepted and discarded, like observations.
    Discard,
    /// No way to reach Langfuse; why, for the one warning.
    Unavailable(String),
}

/// A score handed to the transport and not settled yet.
struct InFlight {
    seq: u64,
    score: Score,
}

/// What a flush or shutdown waits for among scores, and the counters when it began.
pub(crate) struct ScoreMark {
    /// Done once every score with a sequence number below this has settled.
    target: u64,
    exported_before: u64,
    dropped_before: u64,
}

impl ScoreMark {
    /// Adds the scores' part to a flush report.
    pub(crate) fn fill(&self, report: &mut FlushReport) {
        let mut stats = Stats::default();
        scores::counters().add_to(&mut stats);
        report.scores_exported = stats.scores_exported.saturating_sub(self.exported_before);
        report.scores_dropped = stats.scores_dropped().saturating_sub(self.dropped_before);
        report.scores_pending = stats.scores_pending;
    }
}

/// Sends scores; owned by the exporter loop.
pub(crate) struct ScoreExporter {
    receiver: Option<mpsc::UnboundedReceiver<Score>>,
    route: Route,
    environment: Option<String>,
    pending: VecDeque<Score>,
    /// Sequence number of the next score taken from the channel.
    next_seq: u64,
    /// Sequence number of the next score taken from `pending` (sent or settled at once).
    next_cut: u64,
    in_flight: JoinSet<ExportOutcome>,
    in_flight_scores: HashMap<task::Id, InFlight>,
    rejected_statuses_logged: Vec<u16>,
    unavailable_warned: bool,
    drop_warning: DropWarning,
}

impl ScoreExporter {
    /// `span_transport` is the OTLP transport when there is one; it is shared (one connection
    /// pool, the same headers) unless spans go to a collector.
    pub(crate) fn new(config: &Config, span_transport: Option<&Arc<HttpTransport>>) -> Self {
        Self {
            receiver: scores::take_receiver(),
            route: route(config, span_transport),
            environment: config.environment().map(str::to_owned),
            pending: VecDeque::new(),
            next_seq: 0,
            next_cut: 0,
            in_flight: JoinSet::new(),
            in_flight_scores: HashMap::new(),
            rejected_statuses_logged: Vec::new(),
            unavailable_warned: false,
            drop_warning: DropWarning::default(),
        }
    }

    /// Moves the scores handed over so far into `pending`.
    pub(crate) fn drain(&mut self) {
        if let Some(receiver) = &mut self.receiver {
            while let Ok(score) = receiver.try_recv() {
                self.pending.push_back(score);
                self.next_seq += 1;
            }
        }
        self.warn_about_drops();
    }

    /// A mark for a flush registered now (after a [`drain`](Self::drain)).
    pub(crate) fn mark(&self) -> ScoreMark {
        let mut stats = Stats::default();
        scores::counters().add_to(&mut stats);
        ScoreMark {
            target: self.next_seq,
            exported_before: stats.scores_exported,
            dropped_before: stats.scores_dropped(),
        }
    }

    /// Whether every score the mark waits for has settled.
    pub(crate) fn reached(&self, mark: &ScoreMark) -> bool {
        self.settled_below() >= mark.target
    }

    /// Whether nothing is waiting or in flight.
    pub(crate) fn is_idle(&self) -> bool {
        self.pending.is_empty() && self.in_flight_scores.is_empty()
    }

    /// Whether a request is in flight (the loop polls [`next_done`](Self::next_done) only
    /// then).
    pub(crate) fn has_in_flight(&self) -> bool {
        !self.in_flight.is_empty()
    }

    /// Waits for the next request to finish.
    pub(crate) async fn next_done(
        &mut self,
    ) -> Option<Result<(task::Id, ExportOutcome), JoinError>> {
        self.in_flight.join_next_with_id().await
    }

    /// Everything below this sequence number has settled.
    fn settled_below(&self) -> u64 {
        self.in_flight_scores
            .values()
            .map(|f| f.seq)
            .min()
            .unwrap_or(self.next_cut)
    }

    /// Sends (or settles) pending scores, a few requests at a time. `deadline` bounds the
    /// requests started now (a flush's or shutdown's deadline).
    pub(crate) fn dispatch(&mut self, deadline: Option<tokio::time::Instant>) {
        while !self.pending.is_empty() {
            if let Route::Http { .. } = self.route
                && self.in_flight_scores.len() >= MAX_IN_FLIGHT
            {
                return;
            }
            let Some(score) = self.pending.pop_front() else {
                return;
            };
            let seq = self.next_cut;
            self.next_cut += 1;
            match &self.route {
                Route::Http { transport, url } => {
                    let body = match scores::request_json(
                        &score,
                        &scores::random_id(),
                        self.environment.as_deref(),
                    ) {
                        Ok(body) => body,
                        Err(e) => {
                            tracing::warn!(target: "langfuse", score = %score.name(), "score could not be serialized, dropped: {e}");
                            scores::counters().settle(&score, Fate::Failed);
                            continue;
                        }
                    };
                    let transport = Arc::clone(transport);
                    let url = url.clone();
                    let handle = self.in_flight.spawn(async move {
                        transport
                            .post(&url, JSON, RequestBody::plain(body), deadline)
                            .await
                    });
                    self.in_flight_scores
                        .insert(handle.id(), InFlight { seq, score });
                }
                Route::Console => {
                    let line = scores::console_line(&score);
                    if let Err(e) = writeln!(std::io::stderr().lock(), "{line}") {
                        tracing::warn!(target: "langfuse", "console exporter could not write: {e}");
                    }
                    scores::counters().settle(&score, Fate::Exported);
                }
                Route::Discard => scores::counters().settle(&score, Fate::Exported),
                Route::Unavailable(reason) => {
                    if !self.unavailable_warned {
                        self.unavailable_warned = true;
                        tracing::warn!(target: "langfuse", "scores are dropped: {reason}");
                    }
                    scores::counters().settle(&score, Fate::Failed);
                }
            }
        }
    }

    /// Accounts for a finished request.
    pub(crate) fn settle(&mut self, done: Result<(task::Id, ExportOutcome), JoinError>) {
        let (id, outcome) = match done {
            Ok(done) => done,
            Err(e) => {
                // Only a panic or an abort gets here; either way the score is lost.
                if let Some(flight) = self.in_flight_scores.remove(&e.id()) {
                    tracing::warn!(target: "langfuse", score = %flight.score.name(), "score request did not complete: {e}");
                    scores::counters().settle(&flight.score, Fate::Failed);
                }
                return;
            }
        };
        let Some(InFlight { score, .. }) = self.in_flight_scores.remove(&id) else {
            return;
        };
        let fate = match outcome.result {
            Delivery::Delivered => Fate::Exported,
            Delivery::Rejected { status, message } => {
                self.log_rejection(&score, status, &message);
                Fate::Rejected
            }
            Delivery::Failed { reason, .. } => {
                tracing::warn!(
                    target: "langfuse",
                    score = %score.name(),
                    attempts = outcome.attempts,
                    "score export failed, score dropped: {reason}"
                );
                Fate::Failed
            }
        };
        scores::counters().settle(&score, fate);
    }

    /// Logs a refused score once per status code, with the server's own message.
    fn log_rejection(&mut self, score: &Score, status: u16, message: &str) {
        if self.rejected_statuses_logged.contains(&status) {
            tracing::debug!(target: "langfuse", status, score = %score.name(), "score rejected again: {message}");
            return;
        }
        self.rejected_statuses_logged.push(status);
        tracing::error!(
            target: "langfuse",
            status,
            score = %score.name(),
            "Langfuse rejected a score (not retried; further rejections with this status are logged at debug level): {message}"
        );
    }

    /// At shutdown's end: whatever has not settled is lost, and counted. Also closes the
    /// hand-off, so that a score given from now on is counted by its sender.
    pub(crate) fn abandon(&mut self) {
        self.in_flight.abort_all();
        while let Some(done) = self.in_flight.try_join_next_with_id() {
            // A request may have completed just before the abort: settle it for what it was.
            if done.is_ok() {
                self.settle(done);
            }
        }
        let counters = scores::counters();
        for (_, flight) in self.in_flight_scores.drain() {
            counters.settle(&flight.score, Fate::AbandonedAtShutdown);
        }
        if let Some(receiver) = &mut self.receiver {
            receiver.close();
            while let Ok(score) = receiver.try_recv() {
                self.pending.push_back(score);
            }
        }
        for score in self.pending.drain(..) {
            counters.settle(&score, Fate::AbandonedAtShutdown);
        }
    }

    fn warn_about_drops(&mut self) {
        let total = scores::counters().dropped_queue_full();
        let Some(dropped) = self.drop_warning.due(total) else {
            return;
        };
        tracing::warn!(
            target: "langfuse",
            dropped,
            total,
            "scores dropped because {} are already queued (check that Langfuse keeps up)",
            scores::MAX_QUEUED_SCORES
        );
    }
}

/// Where scores go for this configuration.
fn route(config: &Config, span_transport: Option<&Arc<HttpTransport>>) -> Route {
    match config.exporter() {
        ExporterKind::Console => return Route::Console,
        ExporterKind::None => return Route::Discard,
        ExporterKind::Otlp => {}
    }
    let url = config.scores_url().clone();
    if config.otlp_traces_endpoint().is_none()
        && let Some(transport) = span_transport
    {
        return Route::Http {
            transport: Arc::clone(transport),
            url,
        };
    }
    // Spans go to a collector: scores need their own client, with Langfuse's credentials and
    // without the collector's headers.
    let (Some(public_key), Some(secret_key)) = (config.public_key(), config.secret_key()) else {
        return Route::Unavailable(
            "spans go to OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, and scores, which only Langfuse \
             accepts, need LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY"
                .to_owned(),
        );
    };
    let settings = TransportSettings {
        traces_url: url.clone(),
        public_key: Some(public_key.to_owned()),
        secret_key: Some(secret_key.to_owned()),
        compression: false,
        timeout: config.timeout(),
        max_retries: config.max_retries(),
        extra_headers: config
            .additional_headers()
            .iter()
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect(),
    };
    match HttpTransport::new(settings) {
        Ok(transport) => Route::Http {
            transport: Arc::new(transport),
            url,
        },
        Err(e) => Route::Unavailable(format!("the HTTP client for scores: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(builder: crate::ConfigBuilder) -> Config {
        builder.ignore_environment().build().unwrap()
    }

    #[test]
    fn routes_follow_the_exporter_and_the_endpoint() {
        let with_keys = || {
            Config::builder()
                .public_key("pk-lf-1")
                .secret_key("sk-lf-1")
                .base_url("http://127.0.0.1:3000")
        };
        let console = config(with_keys().exporter(ExporterKind::Console));
        assert!(matches!(route(&console, None), Route::Console));
        let none = config(with_keys().exporter(ExporterKind::None));
        assert!(matches!(route(&none, None), Route::Discard));

        let collector = config(with_keys().otlp_traces_endpoint("http://127.0.0.1:4318/v1/traces"));
        match route(&collector, None) {
            Route::Http { url, .. } => {
                assert_eq!(url.as_str(), "http://127.0.0.1:3000/api/public/scores");
            }
            _ => panic!("a collector with keys still sends scores to Langfuse"),
        }
        let keyless =
            config(Config::builder().otlp_traces_endpoint("http://127.0.0.1:4318/v1/traces"));
        match route(&keyless, None) {
            Route::Unavailable(reason) => assert!(reason.contains("LANGFUSE_PUBLIC_KEY")),
            _ => panic!("no keys, no scores"),
        }
    }
}
