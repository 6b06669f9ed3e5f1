//! Scores: evaluations attached to a trace, an observation, a session or a dataset run.
//!
//! The caller only builds a [`Score`]: validation is a few comparisons, the hand-off one
//! lock-free channel send. The exporter thread turns it into the JSON body of
//! `POST /api/public/scores` (`CreateScoreRequest`), one score per request, with the same
//! retries as span exports (see `export::scores`).
//!
//! Counting rule: every score given while the client records is counted in
//! [`Stats::scores_created`](crate::Stats::scores_created) and ends in exactly one of `scores_exported`, a `scores_dropped_*`
//! counter, or `scores_pending`.

use std::fmt;
use std::sync::atomic::Ordering;

use serde::Serialize;

use crate::capture::{Payload, serialize_bounded_checked};
use crate::context::{Frame, with_local};
use crate::lifecycle::{self, Admission};
use crate::model::{ObservationId, TraceId};
use crate::sampling;

mod queue;
mod request;

use queue::enqueue;
pub(crate) use queue::{Fate, MAX_QUEUED_SCORES, counters, take_receiver};
pub(crate) use request::{console_line, random_id, request_json};

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
/// `langfuse`) naming the problem, and counted in [`Stats::scores_dropped_invalid`](crate::Stats::scores_dropped_invalid). The scores
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
    pub(crate) name: String,
    pub(crate) value: Value,
    pub(crate) id: Option<String>,
    pub(crate) trace_id: Option<TraceId>,
    pub(crate) observation_id: Option<ObservationId>,
    pub(crate) session_id: Option<String>,
    pub(crate) dataset_run_id: Option<String>,
    pub(crate) comment: Option<String>,
    pub(crate) metadata: Option<Metadata>,
    pub(crate) config_id: Option<String>,
    pub(crate) environment: Option<String>,
}

/// A score's value and data type.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Numeric(f64),
    Boolean(bool),
    Categorical(String),
    Text(String),
}

impl Value {
    /// The `dataType` of `CreateScoreRequest`.
    pub(crate) fn data_type(&self) -> &'static str {
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
pub(crate) enum Metadata {
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
        self.metadata = Some(
            match serialize_bounded_checked(metadata, MAX_METADATA_BYTES) {
                (_, true) => Metadata::Invalid(format!(
                    "metadata is larger than {MAX_METADATA_BYTES} bytes of JSON"
                )),
                (Payload::Json(json), _) if json.starts_with('{') => Metadata::Object(json),
                // The capture serializer's markers for a value that failed as a whole.
                (Payload::Json(json), _)
                    if json.starts_with("\"<unserializable") || json.starts_with("\"<panicked") =>
                {
                    Metadata::Invalid(format!(
                        "metadata could not be serialized: {}",
                        json.trim_matches('"')
                    ))
                }
                (Payload::Json(json), _) => Metadata::Invalid(format!(
                    "metadata must serialize to a JSON object, not {}",
                    describe_json(&json)
                )),
                (Payload::Text(_), _) => {
                    Metadata::Invalid("metadata must serialize to a JSON object".to_owned())
                }
            },
        );
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
    pub(crate) fn check(&self) -> Result<(), Invalid> {
        self.check_fields()?;
        self.check_target()
    }

    /// Bytes of text this score holds, for the queue's byte bound.
    pub(crate) fn held_bytes(&self) -> usize {
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
/// problem is logged (target `langfuse`) and counted in [`Stats`](crate::Stats).
///
/// The score is dropped, and counted, when it is invalid, when its trace is sampled out (so
/// that scores follow the trace's sampling decision, as in the Python SDK), or when 10,000
/// scores are already queued.
/// With tracing disabled it is a no-op; after shutdown it is refused and counted in
/// [`Stats::scores_refused_after_shutdown`](crate::Stats::scores_refused_after_shutdown).
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
/// counted in [`Stats`](crate::Stats).
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
/// a warning; in a sampled-out trace it is dropped silently. Both are counted in [`Stats`](crate::Stats).
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
    #[cfg(feature = "testing")]
    if lifecycle::recorders_open() && submit_to_recorder(&mut score, &target) {
        return;
    }
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

/// Gives the score to the test recorder of its trace, if that trace is routed to one; `false`
/// otherwise (the score then goes the usual way). A routed score is checked like any other,
/// and counted nowhere: the recorder holds it.
#[cfg(feature = "testing")]
fn submit_to_recorder(score: &mut Score, target: &Target) -> bool {
    let mut current = None;
    let (trace_id, observation_id) = match target {
        Target::AsGiven => match score.trace_id {
            Some(trace_id) => (trace_id, score.observation_id),
            // About a session or a dataset run: the recorder whose code gives it, if any.
            None => {
                return crate::context::tap::deliver_untraced_score(|| {
                    if let Err(problem) = score.check_fields().and_then(|()| score.check_target()) {
                        tracing::warn!(target: "langfuse", score = %score.name, "score dropped, not sent: {problem}");
                        return None;
                    }
                    request_json(score, &random_id(), None).ok()
                });
            }
        },
        Target::Current { observation } => match current_key() {
            Some((trace_id, id, _)) => {
                current = with_local(|l| l.current_trace_attributes()).flatten();
                (trace_id, observation.then_some(id))
            }
            None => return false,
        },
        Target::Handle(Some((trace_id, observation_id))) => (*trace_id, *observation_id),
        Target::Handle(None) => return false,
    };
    crate::context::tap::deliver_score(trace_id, current.as_deref(), || {
        score.trace_id = Some(trace_id);
        score.observation_id = observation_id;
        if let Err(problem) = score.check_fields().and_then(|()| score.check_target()) {
            tracing::warn!(target: "langfuse", score = %score.name, "score dropped, not sent: {problem}");
            return None;
        }
        request_json(score, &random_id(), None).ok()
    })
}

/// Whether scores are taken now. Mirrors what observations do: nothing at all when disabled,
/// refused and counted once shutdown has begun.
fn accepting() -> bool {
    match lifecycle::admission() {
        Admission::Accept => true,
        Admission::Disabled => false,
        Admission::AfterShutdown => {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn trace() -> TraceId {
        "4bf92f3577b34da6a3ce929d0e0e4736".parse().unwrap()
    }

    fn span() -> ObservationId {
        "00f067aa0ba902b7".parse().unwrap()
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
    fn held_bytes_count_every_text_field() {
        let score = Score::text("ab", "cde")
            .session_id("fg")
            .comment("h")
            .metadata(&json!({}));
        assert_eq!(score.held_bytes(), 2 + 3 + 2 + 1 + 2);
    }
}
