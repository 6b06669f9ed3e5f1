//! Scores: evaluations attached to a trace, an observation, a session or a dataset run.
//!
//! The caller only builds a [`Score`]: validation is a few comparisons, the hand-off one
//! lock-free channel send. The exporter thread turns it into the JSON body of
//! `POST /api/public/scores` (`CreateScoreRequest`), one score per request, with the same
//! retries as span exports (see `export::scores`).
//!
//! Counting rule: every score given while the client records is counted in
//! [`Stats::scores_created`] and ends in exactly one of `scores_exported`, a `scores_dropped_*`
//! counter, or `scores_pending`.

use std::fmt;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use parking_lot::Mutex;
use serde::Serialize;
use serde::ser::SerializeMap as _;
use tokio::sync::mpsc;

use crate::capture::serialize_bounded;
use crate::context::{Frame, with_local};
use crate::observation::{ObservationId, Payload, TraceId};
use crate::sampling;
use crate::state::{self, State};
use crate::stats::Stats;

/// Scores queued (in the hand-off channel, waiting on the exporter, or in flight) at most;
/// past that new scores are dropped and counted.
pub(crate) const MAX_QUEUED_SCORES: usize = 10_000;
/// Bytes of text (names, ids, comments, metadata) held by queued scores at most.
const MAX_QUEUED_SCORE_BYTES: usize = 16 * 1024 * 1024;
/// Largest metadata of one score, as JSON: the Python SDK's limit on one score event.
const MAX_METADATA_BYTES: usize = 1_000_000;
/// Characters of a TEXT score's value, at least and at most (the server's rule).
const TEXT_CHARS: std::ops::RangeInclusive<usize> = 1..=500;

/// A score to send to Langfuse: a named value about a trace, one of its observations, a
/// session or a dataset run, with an optional comment and metadata.
///
/// Build one with [`Score::numeric`], [`Score::boolean`], [`Score::categorical`] or
/// [`Score::text`], give it exactly one target ([`trace_id`](Score::trace_id), optionally with
/// [`observation_id`](Score::observation_id), or [`session_id`](Score::session_id), or
/// [`dataset_run_id`](Score::dataset_run_id)), then hand it to [`create_score`]. Or let
/// [`score_current_span`], [`score_current_trace`], [`Observation::score`] or
/// [`Observation::score_trace`] fill the target in.
///
/// A score is checked when it is handed over; an invalid one is dropped with a warning (target
/// `langfuse`) naming the problem, and counted in [`Stats::scores_dropped_invalid`]. The scores
/// API takes no timestamp: Langfuse stamps a score when it receives it.
///
/// [`Observation::score`]: crate::Observation::score
/// [`Observation::score_trace`]: crate::Observation::score_trace
///
/// ```
/// use langfuse_core::{Score, TraceId, create_score};
///
/// let trace: TraceId = "4bf92f3577b34da6a3ce929d0e0e4736".parse().unwrap();
/// create_score(
///     Score::numeric("relevance", 0.87)
///         .trace_id(trace)
///         .comment("judged by gpt-4o")
///         .metadata(&serde_json::json!({ "judge": "gpt-4o", "rubric": 3 })),
/// );
/// ```
#[derive(Debug, Clone, PartialEq)]
#[must_use = "a score does nothing until it is handed to create_score or score_current_*"]
pub struct Score {
    name: String,
    value: Value,
    id: Option<String>,
    trace_id: Option<TraceId>,
    observation_id: Option<ObservationId>,
    session_id: Option<String>,
    dataset_run_id: Option<String>,
    comment: Option<String>,
    metadata: Option<Metadata>,
    config_id: Option<String>,
    environment: Option<String>,
}

/// A score's value and data type.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Numeric(f64),
    Boolean(bool),
    Categorical(String),
    Text(String),
}

impl Value {
    /// The `dataType` of `CreateScoreRequest`.
    fn data_type(&self) -> &'static str {
        match self {
            Value::Numeric(_) => "NUMERIC",
            Value::Boolean(_) => "BOOLEAN",
            Value::Categorical(_) => "CATEGORICAL",
            Value::Text(_) => "TEXT",
        }
    }
}

/// Metadata serialized when it was set (the value is only borrowed), or why it could not be.
#[derive(Debug, Clone, PartialEq)]
enum Metadata {
    /// A JSON object.
    Object(String),
    /// Not sendable; the score is dropped as invalid.
    Invalid(String),
}

impl Score {
    fn new(name: impl Into<String>, value: Value) -> Self {
        Self {
            name: name.into(),
            value,
            id: None,
            trace_id: None,
            observation_id: None,
            session_id: None,
            dataset_run_id: None,
            comment: None,
            metadata: None,
            config_id: None,
            environment: None,
        }
    }

    /// A `NUMERIC` score. The value must be finite.
    ///
    /// ```
    /// let score = langfuse_core::Score::numeric("latency-ms", 182.0);
    /// # drop(score);
    /// ```
    pub fn numeric(name: impl Into<String>, value: f64) -> Self {
        Self::new(name, Value::Numeric(value))
    }

    /// A `BOOLEAN` score, sent as 1 or 0.
    ///
    /// ```
    /// let score = langfuse_core::Score::boolean("hallucination", false);
    /// # drop(score);
    /// ```
    pub fn boolean(name: impl Into<String>, value: bool) -> Self {
        Self::new(name, Value::Boolean(value))
    }

    /// A `CATEGORICAL` score: one label out of a set.
    ///
    /// ```
    /// let score = langfuse_core::Score::categorical("sentiment", "positive");
    /// # drop(score);
    /// ```
    pub fn categorical(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self::new(name, Value::Categorical(value.into()))
    }

    /// A `TEXT` score: free text of 1 to 500 characters.
    ///
    /// ```
    /// let score = langfuse_core::Score::text("review", "Accurate, but cites an outdated source.");
    /// # drop(score);
    /// ```
    pub fn text(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self::new(name, Value::Text(value.into()))
    }

    /// The trace this score is about.
    ///
    /// ```
    /// use langfuse_core::{Score, TraceId};
    ///
    /// let trace: TraceId = "4bf92f3577b34da6a3ce929d0e0e4736".parse().unwrap();
    /// let score = Score::boolean("resolved", true).trace_id(trace);
    /// # drop(score);
    /// ```
    pub fn trace_id(mut self, trace_id: TraceId) -> Self {
        self.trace_id = Some(trace_id);
        self
    }

    /// The observation this score is about; it needs the observation's
    /// [`trace_id`](Score::trace_id) too.
    ///
    /// ```
    /// use langfuse_core::{ObservationId, Score, TraceId};
    ///
    /// let trace: TraceId = "4bf92f3577b34da6a3ce929d0e0e4736".parse().unwrap();
    /// let span: ObservationId = "00f067aa0ba902b7".parse().unwrap();
    /// let score = Score::numeric("faithfulness", 0.9).trace_id(trace).observation_id(span);
    /// # drop(score);
    /// ```
    pub fn observation_id(mut self, observation_id: ObservationId) -> Self {
        self.observation_id = Some(observation_id);
        self
    }

    /// The session this score is about, instead of a trace.
    ///
    /// ```
    /// let score = langfuse_core::Score::categorical("outcome", "resolved").session_id("chat-7");
    /// # drop(score);
    /// ```
    pub fn session_id(mut self, session_id: impl Into<String>) -> Self {
        self.session_id = Some(session_id.into());
        self
    }

    /// The dataset run this score is about, instead of a trace or a session.
    ///
    /// ```
    /// let score = langfuse_core::Score::numeric("accuracy", 0.74).dataset_run_id("run-2024-06-01");
    /// # drop(score);
    /// ```
    pub fn dataset_run_id(mut self, dataset_run_id: impl Into<String>) -> Self {
        self.dataset_run_id = Some(dataset_run_id.into());
        self
    }

    /// The score's own id. Langfuse upserts by it, so sending a score again with the same id
    /// updates it instead of adding another. Without one, the SDK draws a random id.
    ///
    /// ```
    /// let score = langfuse_core::Score::boolean("approved", true)
    ///     .session_id("chat-7")
    ///     .id("chat-7-approved");
    /// # drop(score);
    /// ```
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// A comment shown with the score.
    ///
    /// ```
    /// let score = langfuse_core::Score::numeric("helpfulness", 2.0)
    ///     .session_id("chat-7")
    ///     .comment("answered, but only after two clarifications");
    /// # drop(score);
    /// ```
    pub fn comment(mut self, comment: impl Into<String>) -> Self {
        self.comment = Some(comment.into());
        self
    }

    /// Metadata: any value that serializes to a JSON object (at most 1 MB of JSON). It is
    /// serialized now, since the value is only borrowed; anything else makes the score
    /// invalid.
    ///
    /// ```
    /// use std::collections::BTreeMap;
    ///
    /// let metadata: BTreeMap<&str, &str> = [("judge", "gpt-4o"), ("rubric", "v3")].into();
    /// let score = langfuse_core::Score::numeric("relevance", 0.8)
    ///     .session_id("chat-7")
    ///     .metadata(&metadata);
    /// # drop(score);
    /// ```
    pub fn metadata<T: Serialize + ?Sized>(mut self, metadata: &T) -> Self {
        self.metadata = Some(match serialize_bounded(metadata, MAX_METADATA_BYTES) {
            Payload::Json(json) if json.starts_with('{') => Metadata::Object(json),
            // The capture serializer's markers for a value that failed as a whole.
            Payload::Json(json)
                if json.starts_with("\"<unserializable") || json.starts_with("\"<panicked") =>
            {
                Metadata::Invalid(format!(
                    "metadata could not be serialized: {}",
                    json.trim_matches('"')
                ))
            }
            Payload::Json(json) => Metadata::Invalid(format!(
                "metadata must serialize to a JSON object, not {}",
                describe_json(&json)
            )),
            Payload::Text(_) => Metadata::Invalid(format!(
                "metadata is larger than {MAX_METADATA_BYTES} bytes of JSON"
            )),
        });
        self
    }

    /// The id of a score config defined in Langfuse, which the value is checked against.
    ///
    /// ```
    /// let score = langfuse_core::Score::categorical("tone", "friendly")
    ///     .session_id("chat-7")
    ///     .config_id("cm1tone");
    /// # drop(score);
    /// ```
    pub fn config_id(mut self, config_id: impl Into<String>) -> Self {
        self.config_id = Some(config_id.into());
        self
    }

    /// The environment (default: the configured `LANGFUSE_TRACING_ENVIRONMENT`). Same rule as
    /// the configuration: 1 to 40 characters of `a-z`, `0-9`, `_` and `-`, not starting with
    /// `langfuse`.
    ///
    /// ```
    /// let score = langfuse_core::Score::boolean("passed", true)
    ///     .dataset_run_id("nightly-42")
    ///     .environment("evaluation");
    /// # drop(score);
    /// ```
    pub fn environment(mut self, environment: impl Into<String>) -> Self {
        self.environment = Some(environment.into());
        self
    }

    /// Checks everything but the target, which may still be filled in.
    fn check_fields(&self) -> Result<(), Invalid> {
        if self.name.trim().is_empty() {
            return Err(Invalid::EmptyName);
        }
        match &self.value {
            Value::Numeric(v) if !v.is_finite() => return Err(Invalid::NotFinite(*v)),
            Value::Text(text) => {
                let chars = text.chars().count();
                if !TEXT_CHARS.contains(&chars) {
                    return Err(Invalid::TextLength(chars));
                }
            }
            _ => {}
        }
        for (field, value) in [
            ("id", &self.id),
            ("session id", &self.session_id),
            ("dataset run id", &self.dataset_run_id),
            ("config id", &self.config_id),
        ] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                return Err(Invalid::EmptyField(field));
            }
        }
        if let Some(Metadata::Invalid(problem)) = &self.metadata {
            return Err(Invalid::Metadata(problem.clone()));
        }
        if let Some(environment) = &self.environment {
            crate::config::check_environment(environment).map_err(Invalid::Environment)?;
        }
        Ok(())
    }

    /// Checks that the score has exactly one target.
    fn check_target(&self) -> Result<(), Invalid> {
        if self.observation_id.is_some() && self.trace_id.is_none() {
            return Err(Invalid::ObservationWithoutTrace);
        }
        let targets = [
            self.trace_id.is_some(),
            self.session_id.is_some(),
            self.dataset_run_id.is_some(),
        ];
        match targets.iter().filter(|&&t| t).count() {
            0 => Err(Invalid::NoTarget),
            1 => Ok(()),
            _ => Err(Invalid::SeveralTargets),
        }
    }

    /// Every check, as on the way to the queue.
    #[cfg(test)]
    fn check(&self) -> Result<(), Invalid> {
        self.check_fields()?;
        self.check_target()
    }

    /// Bytes of text this score holds, for the queue's byte bound.
    fn held_bytes(&self) -> usize {
        let strings = [
            &self.id,
            &self.session_id,
            &self.dataset_run_id,
            &self.comment,
            &self.config_id,
            &self.environment,
        ];
        let metadata = match &self.metadata {
            Some(Metadata::Object(json) | Metadata::Invalid(json)) => json.len(),
            None => 0,
        };
        let value = match &self.value {
            Value::Categorical(s) | Value::Text(s) => s.len(),
            Value::Numeric(_) | Value::Boolean(_) => 0,
        };
        self.name.len()
            + value
            + metadata
            + strings
                .iter()
                .map(|s| s.as_ref().map_or(0, String::len))
                .sum::<usize>()
    }

    /// The score's name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The `CreateScoreRequest` JSON body. `id` is used when the score has none of its own;
    /// `default_environment` when it has no environment. Runs on the exporter thread.
    pub(crate) fn to_request_json(
        &self,
        id: &str,
        default_environment: Option<&str>,
    ) -> serde_json::Result<Vec<u8>> {
        serde_json::to_vec(&RequestBody {
            score: self,
            id,
            environment: self.environment.as_deref().or(default_environment),
        })
    }

    /// One line for the console exporter.
    pub(crate) fn describe(&self) -> String {
        let value = match &self.value {
            Value::Numeric(v) => v.to_string(),
            Value::Boolean(b) => b.to_string(),
            Value::Categorical(s) | Value::Text(s) => format!("{s:?}"),
        };
        let mut line = format!("score {} = {value} ({})", self.name, self.value.data_type());
        if let Some(trace) = self.trace_id {
            line.push_str(&format!("  trace {trace}"));
        }
        if let Some(observation) = self.observation_id {
            line.push_str(&format!("  observation {observation}"));
        }
        if let Some(session) = &self.session_id {
            line.push_str(&format!("  session {session}"));
        }
        if let Some(run) = &self.dataset_run_id {
            line.push_str(&format!("  dataset run {run}"));
        }
        if let Some(comment) = &self.comment {
            line.push_str(&format!("  comment {comment:?}"));
        }
        line
    }
}

/// A short description of a JSON value that is not an object, for error messages.
fn describe_json(json: &str) -> &'static str {
    match json.as_bytes().first() {
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

/// The body of `POST /api/public/scores`: `CreateScoreRequest`, without the fields left
/// unset (the schema makes them optional; `null` would only add bytes).
struct RequestBody<'a> {
    score: &'a Score,
    id: &'a str,
    environment: Option<&'a str>,
}

impl Serialize for RequestBody<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let score = self.score;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("id", score.id.as_deref().unwrap_or(self.id))?;
        if let Some(trace) = score.trace_id {
            map.serialize_entry("traceId", &trace.to_string())?;
        }
        if let Some(observation) = score.observation_id {
            map.serialize_entry("observationId", &observation.to_string())?;
        }
        if let Some(session) = &score.session_id {
            map.serialize_entry("sessionId", session)?;
        }
        if let Some(run) = &score.dataset_run_id {
            map.serialize_entry("datasetRunId", run)?;
        }
        map.serialize_entry("name", &score.name)?;
        match &score.value {
            Value::Numeric(v) => map.serialize_entry("value", v)?,
            Value::Boolean(b) => map.serialize_entry("value", &if *b { 1.0 } else { 0.0 })?,
            Value::Categorical(s) | Value::Text(s) => map.serialize_entry("value", s)?,
        }
        map.serialize_entry("dataType", score.value.data_type())?;
        if let Some(comment) = &score.comment {
            map.serialize_entry("comment", comment)?;
        }
        if let Some(Metadata::Object(json)) = &score.metadata {
            // Already JSON: embedded as is rather than parsed back into a tree.
            let raw: &serde_json::value::RawValue =
                serde_json::from_str(json).map_err(serde::ser::Error::custom)?;
            map.serialize_entry("metadata", raw)?;
        }
        if let Some(environment) = self.environment {
            map.serialize_entry("environment", environment)?;
        }
        if let Some(config) = &score.config_id {
            map.serialize_entry("configId", config)?;
        }
        map.end()
    }
}

/// Why a score was dropped before it was queued.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Invalid {
    EmptyName,
    NoTarget,
    SeveralTargets,
    ObservationWithoutTrace,
    NoCurrentObservation,
    NotFinite(f64),
    TextLength(usize),
    EmptyField(&'static str),
    Metadata(String),
    Environment(String),
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EmptyName => f.write_str("the name is empty"),
            Self::NoTarget => f.write_str(
                "it has no target: set a trace id (optionally with an observation id), a session id or a dataset run id",
            ),
            Self::SeveralTargets => f.write_str(
                "it has several targets: set exactly one of a trace id (optionally with an observation id), a session id or a dataset run id",
            ),
            Self::ObservationWithoutTrace => {
                f.write_str("an observation id needs the trace id of its observation")
            }
            Self::NoCurrentObservation => f.write_str(
                "no recorded observation is current here (call it inside an observed function, or use create_score with explicit ids)",
            ),
            Self::NotFinite(v) => write!(f, "a numeric value must be finite, not {v}"),
            Self::TextLength(chars) => write!(
                f,
                "a text value must have 1 to 500 characters, not {chars}"
            ),
            Self::EmptyField(field) => write!(f, "the {field} is empty"),
            Self::Metadata(problem) => f.write_str(problem),
            Self::Environment(problem) => write!(f, "invalid environment: {problem}"),
        }
    }
}

/// Creates a score: checks it, then hands it to the exporter thread, which sends it to
/// Langfuse (`POST /api/public/scores`) with retries. Never blocks and never fails: a
/// problem is logged (target `langfuse`) and counted in [`Stats`].
///
/// The score is dropped, and counted, when it is invalid, when its trace is sampled out (so
/// that scores follow the trace's sampling decision, as in the Python SDK), or when 10,000
/// scores are already queued.
/// With tracing disabled it is a no-op; after shutdown it is refused and counted in
/// [`Stats::scores_refused_after_shutdown`].
///
/// ```
/// use langfuse_core::{Score, create_score};
///
/// // Score a conversation as a whole.
/// create_score(Score::categorical("outcome", "resolved").session_id("chat-7"));
///
/// // Score a trace from elsewhere, for example from user feedback received later.
/// if let Some(trace) = langfuse_core::current_trace_id() {
///     create_score(Score::boolean("thumbs-up", true).trace_id(trace));
/// }
/// ```
pub fn create_score(score: Score) {
    submit(score, Target::AsGiven);
}

/// Scores the current observation: fills in its trace id and observation id (the ones
/// [`current_trace_id`](crate::current_trace_id) and
/// [`current_observation_id`](crate::current_observation_id) return). Outside any observation
/// the score is dropped with a warning; in a sampled-out trace it is dropped silently. Both are
/// counted in [`Stats`].
///
/// ```
/// use langfuse_core::{Score, score_current_span};
///
/// fn check_answer(answer: &str) -> bool {
///     let grounded = answer.contains("source:");
///     score_current_span(Score::boolean("grounded", grounded).comment("citation check"));
///     grounded
/// }
///
/// let mut span = langfuse_core::start_observation("answer").start();
/// {
///     let _current = span.enter();
///     check_answer("Rust is a language. source: rust-lang.org");
/// }
/// span.end();
/// ```
pub fn score_current_span(score: Score) {
    submit(score, Target::Current { observation: true });
}

/// Scores the current trace: fills in its trace id (any observation id set on the score is
/// cleared, so the score is about the whole trace). Outside any trace the score is dropped with
/// a warning; in a sampled-out trace it is dropped silently. Both are counted in [`Stats`].
///
/// ```
/// use langfuse_core::{Score, score_current_trace};
///
/// let mut request = langfuse_core::start_observation("handle-request").start();
/// {
///     let _current = request.enter();
///     score_current_trace(Score::numeric("user-rating", 4.0).comment("from the feedback form"));
/// }
/// request.end();
/// ```
pub fn score_current_trace(score: Score) {
    submit(score, Target::Current { observation: false });
}

/// Where a score's target comes from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Target {
    /// The ids set on the score.
    AsGiven,
    /// The current context: its observation too, or only its trace.
    Current { observation: bool },
    /// An observation handle's ids; `None` when the handle is not recorded.
    Handle(Option<(TraceId, Option<ObservationId>)>),
}

/// Checks, samples and queues a score.
pub(crate) fn submit(mut score: Score, target: Target) {
    if !accepting() {
        return;
    }
    let c = counters();
    c.created.fetch_add(1, Ordering::Relaxed);
    if let Err(problem) = score.check_fields() {
        return drop_invalid(&score, &problem);
    }
    let recorded = match target {
        Target::AsGiven => score.trace_id.is_none_or(trace_recorded),
        Target::Current { observation } => match current_key() {
            Some((trace_id, id, sampled)) => {
                score.trace_id = Some(trace_id);
                score.observation_id = observation.then_some(id);
                sampled
            }
            None => return drop_invalid(&score, &Invalid::NoCurrentObservation),
        },
        Target::Handle(Some((trace_id, observation_id))) => {
            score.trace_id = Some(trace_id);
            score.observation_id = observation_id;
            true
        }
        // A handle that is not recorded while recording is on: its trace was sampled out.
        Target::Handle(None) => false,
    };
    if !recorded {
        c.dropped_sampling.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(target: "langfuse", score = %score.name, "score dropped: its trace is sampled out");
        return;
    }
    if let Err(problem) = score.check_target() {
        return drop_invalid(&score, &problem);
    }
    enqueue(score);
}

/// Whether scores are taken now. Mirrors what observations do: nothing at all when disabled,
/// refused and counted once shutdown has begun.
fn accepting() -> bool {
    match state::get() {
        State::Enabled => true,
        // Scores before `init()` wait in the queue, like observations, if the environment
        // has keys.
        State::Uninit => crate::client::decide_before_init(),
        State::Disabled => false,
        State::ShuttingDown | State::ShutDown => {
            counters()
                .refused_after_shutdown
                .fetch_add(1, Ordering::Relaxed);
            false
        }
    }
}

/// The current context's trace id, observation id and sampling decision.
fn current_key() -> Option<(TraceId, ObservationId, bool)> {
    with_local(|local| local.top().and_then(Frame::key))
        .flatten()
        .map(|k| (k.trace_id, k.id, k.sampled))
}

/// Whether `trace_id` is recorded: the current context's decision when it is that trace (it
/// may come from a remote parent's sampled flag), else the local sampling rule, which every
/// service with the same rate applies alike.
fn trace_recorded(trace_id: TraceId) -> bool {
    match current_key() {
        Some((current, _, sampled)) if current == trace_id => sampled,
        _ => sampling::keep(trace_id),
    }
}

#[cold]
fn drop_invalid(score: &Score, problem: &Invalid) {
    counters().dropped_invalid.fetch_add(1, Ordering::Relaxed);
    tracing::warn!(target: "langfuse", score = %score.name, "score dropped, not sent: {problem}");
}

/// Takes room in the queue and hands the score to the exporter thread.
fn enqueue(score: Score) {
    let c = counters();
    let bytes = score.held_bytes();
    if !c.reserve(bytes) {
        c.dropped_queue_full.fetch_add(1, Ordering::Relaxed);
        return;
    }
    if queue().sender.send(score).is_err() {
        // The exporter has stopped: shutdown completed between the state check and now.
        c.release(bytes);
        c.dropped_after_shutdown.fetch_add(1, Ordering::Relaxed);
    }
}

/// The hand-off channel. Created on first use, so that scores given before `init()` wait in
/// it; the exporter thread takes the receiving end when it starts.
struct Queue {
    sender: mpsc::UnboundedSender<Score>,
    receiver: Mutex<Option<mpsc::UnboundedReceiver<Score>>>,
}

fn queue() -> &'static Queue {
    static QUEUE: OnceLock<Queue> = OnceLock::new();
    QUEUE.get_or_init(|| {
        let (sender, receiver) = mpsc::unbounded_channel();
        Queue {
            sender,
            receiver: Mutex::new(Some(receiver)),
        }
    })
}

/// The receiving end of the hand-off, for the exporter thread (once per process).
pub(crate) fn take_receiver() -> Option<mpsc::UnboundedReceiver<Score>> {
    queue().receiver.lock().take()
}

/// How a queued score left the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fate {
    /// Accepted by Langfuse (or printed by the console exporter).
    Exported,
    /// Refused by the server in a way retrying cannot fix.
    Rejected,
    /// Retries ran out, the deadline passed, or there is nowhere to send it.
    Failed,
    /// Still queued when shutdown's deadline passed, or left behind by a stopped exporter.
    AbandonedAtShutdown,
}

/// The score counters, process-wide like the client.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    created: AtomicU64,
    exported: AtomicU64,
    dropped_invalid: AtomicU64,
    dropped_sampling: AtomicU64,
    dropped_queue_full: AtomicU64,
    dropped_rejected: AtomicU64,
    dropped_failed: AtomicU64,
    dropped_after_shutdown: AtomicU64,
    refused_after_shutdown: AtomicU64,
    /// Scores queued: in the channel, waiting on the exporter, or in flight.
    queued: AtomicUsize,
    queued_bytes: AtomicUsize,
}

pub(crate) fn counters() -> &'static Counters {
    static COUNTERS: Counters = Counters {
        created: AtomicU64::new(0),
        exported: AtomicU64::new(0),
        dropped_invalid: AtomicU64::new(0),
        dropped_sampling: AtomicU64::new(0),
        dropped_queue_full: AtomicU64::new(0),
        dropped_rejected: AtomicU64::new(0),
        dropped_failed: AtomicU64::new(0),
        dropped_after_shutdown: AtomicU64::new(0),
        refused_after_shutdown: AtomicU64::new(0),
        queued: AtomicUsize::new(0),
        queued_bytes: AtomicUsize::new(0),
    };
    &COUNTERS
}

impl Counters {
    /// Takes room for one score holding `bytes`, or refuses.
    fn reserve(&self, bytes: usize) -> bool {
        if self.queued.fetch_add(1, Ordering::AcqRel) >= MAX_QUEUED_SCORES {
            self.queued.fetch_sub(1, Ordering::AcqRel);
            return false;
        }
        let before = self.queued_bytes.fetch_add(bytes, Ordering::AcqRel);
        if before + bytes > MAX_QUEUED_SCORE_BYTES {
            self.queued_bytes.fetch_sub(bytes, Ordering::AcqRel);
            self.queued.fetch_sub(1, Ordering::AcqRel);
            return false;
        }
        true
    }

    fn release(&self, bytes: usize) {
        self.queued.fetch_sub(1, Ordering::AcqRel);
        self.queued_bytes.fetch_sub(bytes, Ordering::AcqRel);
    }

    /// Accounts for a queued score leaving the queue.
    pub(crate) fn settle(&self, score: &Score, fate: Fate) {
        self.release(score.held_bytes());
        let counter = match fate {
            Fate::Exported => &self.exported,
            Fate::Rejected => &self.dropped_rejected,
            Fate::Failed => &self.dropped_failed,
            Fate::AbandonedAtShutdown => &self.dropped_after_shutdown,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Scores dropped because the queue was full, so far.
    pub(crate) fn dropped_queue_full(&self) -> u64 {
        self.dropped_queue_full.load(Ordering::Relaxed)
    }

    /// Scores queued now.
    pub(crate) fn pending(&self) -> u64 {
        self.queued.load(Ordering::Relaxed) as u64
    }

    /// The score fields of [`Stats`]; the others are left at zero.
    pub(crate) fn stats(&self) -> Stats {
        Stats {
            scores_created: self.created.load(Ordering::Relaxed),
            scores_exported: self.exported.load(Ordering::Relaxed),
            scores_dropped_invalid: self.dropped_invalid.load(Ordering::Relaxed),
            scores_dropped_sampling: self.dropped_sampling.load(Ordering::Relaxed),
            scores_dropped_queue_full: self.dropped_queue_full.load(Ordering::Relaxed),
            scores_dropped_rejected: self.dropped_rejected.load(Ordering::Relaxed),
            scores_dropped_export_failed: self.dropped_failed.load(Ordering::Relaxed),
            scores_dropped_after_shutdown: self.dropped_after_shutdown.load(Ordering::Relaxed),
            scores_refused_after_shutdown: self.refused_after_shutdown.load(Ordering::Relaxed),
            scores_pending: self.pending(),
            ..Stats::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value as Json, json};

    fn trace() -> TraceId {
        "4bf92f3577b34da6a3ce929d0e0e4736".parse().unwrap()
    }

    fn span() -> ObservationId {
        "00f067aa0ba902b7".parse().unwrap()
    }

    fn body(score: &Score, environment: Option<&str>) -> Json {
        serde_json::from_slice(&score.to_request_json("generated-id", environment).unwrap())
            .unwrap()
    }

    #[test]
    fn each_type_has_its_value_and_data_type() {
        let cases = [
            (Score::numeric("n", 0.25), json!(0.25), "NUMERIC"),
            (Score::boolean("b", true), json!(1.0), "BOOLEAN"),
            (Score::boolean("b", false), json!(0.0), "BOOLEAN"),
            (
                Score::categorical("c", "good"),
                json!("good"),
                "CATEGORICAL",
            ),
            (Score::text("t", "fine work"), json!("fine work"), "TEXT"),
        ];
        for (score, value, data_type) in cases {
            let body = body(&score.session_id("s"), None);
            assert_eq!(body["value"], value, "{body}");
            assert_eq!(body["dataType"], data_type, "{body}");
        }
    }

    #[test]
    fn an_observation_score_has_every_field_set_and_nothing_else() {
        let score = Score::numeric("faithfulness", 0.5)
            .trace_id(trace())
            .observation_id(span())
            .id("score-1")
            .comment("ok")
            .metadata(&json!({ "judge": "gpt-4o", "nested": { "k": [1, 2] } }))
            .config_id("cfg-1")
            .environment("staging");
        assert_eq!(score.check(), Ok(()));
        assert_eq!(
            body(&score, Some("production")),
            json!({
                "id": "score-1",
                "traceId": "4bf92f3577b34da6a3ce929d0e0e4736",
                "observationId": "00f067aa0ba902b7",
                "name": "faithfulness",
                "value": 0.5,
                "dataType": "NUMERIC",
                "comment": "ok",
                "metadata": { "judge": "gpt-4o", "nested": { "k": [1, 2] } },
                "environment": "staging",
                "configId": "cfg-1",
            })
        );
    }

    #[test]
    fn unset_fields_are_left_out_and_defaults_fill_in() {
        let score = Score::categorical("outcome", "resolved").session_id("chat-7");
        assert_eq!(
            body(&score, Some("production")),
            json!({
                "id": "generated-id",
                "sessionId": "chat-7",
                "name": "outcome",
                "value": "resolved",
                "dataType": "CATEGORICAL",
                "environment": "production",
            })
        );
        let without_environment = body(&score, None);
        assert!(without_environment.get("environment").is_none());
        let run = body(
            &Score::boolean("passed", true).dataset_run_id("run-1"),
            None,
        );
        assert_eq!(run["datasetRunId"], "run-1");
    }

    #[test]
    fn targets_must_be_exactly_one() {
        let ok = [
            Score::numeric("n", 1.0).trace_id(trace()),
            Score::numeric("n", 1.0)
                .trace_id(trace())
                .observation_id(span()),
            Score::numeric("n", 1.0).session_id("s"),
            Score::numeric("n", 1.0).dataset_run_id("r"),
        ];
        for score in ok {
            assert_eq!(score.check(), Ok(()), "{score:?}");
        }
        let bad = [
            (Score::numeric("n", 1.0), Invalid::NoTarget),
            (
                Score::numeric("n", 1.0).observation_id(span()),
                Invalid::ObservationWithoutTrace,
            ),
            (
                Score::numeric("n", 1.0)
                    .session_id("s")
                    .observation_id(span()),
                Invalid::ObservationWithoutTrace,
            ),
            (
                Score::numeric("n", 1.0).trace_id(trace()).session_id("s"),
                Invalid::SeveralTargets,
            ),
            (
                Score::numeric("n", 1.0).session_id("s").dataset_run_id("r"),
                Invalid::SeveralTargets,
            ),
        ];
        for (score, problem) in bad {
            assert_eq!(score.check(), Err(problem), "{score:?}");
        }
    }

    #[test]
    fn fields_are_checked() {
        let s = |score: Score| score.session_id("s").check();
        assert_eq!(s(Score::numeric("", 1.0)), Err(Invalid::EmptyName));
        assert_eq!(s(Score::numeric("  ", 1.0)), Err(Invalid::EmptyName));
        assert!(matches!(
            s(Score::numeric("n", f64::NAN)),
            Err(Invalid::NotFinite(_))
        ));
        assert!(matches!(
            s(Score::numeric("n", f64::INFINITY)),
            Err(Invalid::NotFinite(_))
        ));
        assert_eq!(s(Score::text("t", "")), Err(Invalid::TextLength(0)));
        assert_eq!(s(Score::text("t", "é".repeat(500))), Ok(()));
        assert_eq!(
            s(Score::text("t", "é".repeat(501))),
            Err(Invalid::TextLength(501))
        );
        assert_eq!(
            s(Score::numeric("n", 1.0).id("")),
            Err(Invalid::EmptyField("id"))
        );
        assert_eq!(
            Score::numeric("n", 1.0).session_id("").check(),
            Err(Invalid::EmptyField("session id"))
        );
        assert_eq!(
            s(Score::numeric("n", 1.0).config_id(" ")),
            Err(Invalid::EmptyField("config id"))
        );
        assert_eq!(s(Score::categorical("c", "")), Ok(()));
    }

    #[test]
    fn metadata_must_be_a_json_object() {
        let s = |score: Score| score.session_id("s").check();
        assert_eq!(s(Score::numeric("n", 1.0).metadata(&json!({}))), Ok(()));
        for (value, what) in [
            (json!([1, 2]), "an array"),
            (json!("text"), "a string"),
            (json!(3), "a number"),
            (json!(null), "null"),
            (json!(true), "a boolean"),
        ] {
            match s(Score::numeric("n", 1.0).metadata(&value)) {
                Err(Invalid::Metadata(problem)) => assert!(problem.contains(what), "{problem}"),
                other => panic!("{value}: {other:?}"),
            }
        }
        let keys_not_strings: std::collections::HashMap<(u8, u8), u8> = [((1, 2), 3)].into();
        match s(Score::numeric("n", 1.0).metadata(&keys_not_strings)) {
            Err(Invalid::Metadata(problem)) => {
                assert!(problem.contains("could not be serialized"), "{problem}");
            }
            other => panic!("{other:?}"),
        }
        let huge = json!({ "blob": "x".repeat(MAX_METADATA_BYTES) });
        match s(Score::numeric("n", 1.0).metadata(&huge)) {
            Err(Invalid::Metadata(problem)) => assert!(problem.contains("larger"), "{problem}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn environments_follow_the_server_rule() {
        let s = |env: &str| {
            Score::numeric("n", 1.0)
                .session_id("s")
                .environment(env)
                .check()
        };
        assert_eq!(s("production"), Ok(()));
        assert_eq!(s("eval_2-b"), Ok(()));
        for bad in [
            "",
            "Production",
            "prod env",
            "langfuse-eval",
            &"a".repeat(41),
        ] {
            assert!(matches!(s(bad), Err(Invalid::Environment(_))), "{bad:?}");
        }
    }

    #[test]
    fn problems_read_clearly() {
        assert!(Invalid::NoTarget.to_string().contains("session id"));
        assert!(
            Invalid::TextLength(501)
                .to_string()
                .contains("1 to 500 characters")
        );
        assert!(
            Invalid::Environment("it is empty".into())
                .to_string()
                .contains("environment")
        );
    }

    #[test]
    fn the_queue_is_bounded_in_count_and_bytes() {
        let counters = Counters::default();
        for _ in 0..MAX_QUEUED_SCORES {
            assert!(counters.reserve(1));
        }
        assert!(!counters.reserve(1));
        counters.release(1);
        assert!(counters.reserve(1));

        let counters = Counters::default();
        assert!(counters.reserve(MAX_QUEUED_SCORE_BYTES));
        assert!(!counters.reserve(1));
        assert_eq!(counters.pending(), 1);
    }

    #[test]
    fn held_bytes_count_every_text_field() {
        let score = Score::text("ab", "cde")
            .session_id("fg")
            .comment("h")
            .metadata(&json!({}));
        assert_eq!(score.held_bytes(), 2 + 3 + 2 + 1 + 2);
    }
}
