//! Evaluations and evaluators: what judges an item's output (item evaluators) or the whole
//! run (run evaluators), and the scores their evaluations become.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use serde::Serialize;
use serde_json::Value;

use super::item::ExperimentItem;
use super::result::ItemResult;
use crate::scores::Score;

/// One judgement of an evaluator: a named value with an optional comment and metadata. It is
/// sent as a score: an item's on the item's observation, a run's on the experiment
/// (`datasetRunId`).
///
/// ```
/// use langfuse_core::experiments::Evaluation;
///
/// let evaluation = Evaluation::numeric("similarity", 0.92)
///     .comment("close paraphrase")
///     .metadata(&serde_json::json!({ "method": "embedding-cosine" }));
/// assert_eq!(evaluation.value.as_f64(), Some(0.92));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The score's name.
    pub name: String,
    /// The value.
    pub value: EvaluationValue,
    /// A comment shown with the score.
    pub comment: Option<String>,
    /// Metadata (a JSON object, as scores take it).
    pub metadata: Option<Value>,
    /// The id of a score config defined in Langfuse, which the value is checked against.
    pub config_id: Option<String>,
}

/// The value of an [`Evaluation`], and the score's data type.
#[derive(Debug, Clone, PartialEq)]
pub enum EvaluationValue {
    /// `NUMERIC`.
    Numeric(f64),
    /// `BOOLEAN` (sent as 1 or 0).
    Boolean(bool),
    /// `CATEGORICAL`.
    Categorical(String),
    /// `TEXT`.
    Text(String),
}

impl EvaluationValue {
    /// The value as a number: numeric values as they are, booleans as 1 or 0; `None` for
    /// categorical and text values.
    ///
    /// ```
    /// use langfuse_core::experiments::EvaluationValue;
    ///
    /// assert_eq!(EvaluationValue::Boolean(true).as_f64(), Some(1.0));
    /// assert_eq!(EvaluationValue::Text("fine".into()).as_f64(), None);
    /// ```
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Numeric(v) => Some(*v),
            Self::Boolean(b) => Some(if *b { 1.0 } else { 0.0 }),
            Self::Categorical(_) | Self::Text(_) => None,
        }
    }
}

impl fmt::Display for EvaluationValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Numeric(v) => write!(f, "{v:.3}"),
            Self::Boolean(b) => write!(f, "{b}"),
            Self::Categorical(s) | Self::Text(s) => write!(f, "{s}"),
        }
    }
}

impl Evaluation {
    fn new(name: impl Into<String>, value: EvaluationValue) -> Self {
        Self {
            name: name.into(),
            value,
            comment: None,
            metadata: None,
            config_id: None,
        }
    }

    /// A numeric evaluation.
    pub fn numeric(name: impl Into<String>, value: f64) -> Self {
        Self::new(name, EvaluationValue::Numeric(value))
    }

    /// A boolean evaluation (1 or 0 in averages).
    ///
    /// ```
    /// let passed = langfuse_core::experiments::Evaluation::boolean("exact_match", true);
    /// # drop(passed);
    /// ```
    pub fn boolean(name: impl Into<String>, value: bool) -> Self {
        Self::new(name, EvaluationValue::Boolean(value))
    }

    /// A categorical evaluation: one label of a set.
    pub fn categorical(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self::new(name, EvaluationValue::Categorical(value.into()))
    }

    /// A text evaluation (1 to 500 characters).
    pub fn text(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self::new(name, EvaluationValue::Text(value.into()))
    }

    /// A comment shown with the score.
    pub fn comment(mut self, comment: impl Into<String>) -> Self {
        self.comment = Some(comment.into());
        self
    }

    /// Metadata: any value that serializes to a JSON object.
    pub fn metadata<T: Serialize + ?Sized>(mut self, metadata: &T) -> Self {
        self.metadata = serde_json::to_value(metadata).ok();
        self
    }

    /// The score config the value is checked against.
    pub fn config_id(mut self, config_id: impl Into<String>) -> Self {
        self.config_id = Some(config_id.into());
        self
    }

    /// The score this evaluation is sent as; the caller sets its target.
    pub(crate) fn to_score(&self) -> Score {
        let mut score = match &self.value {
            EvaluationValue::Numeric(v) => Score::numeric(self.name.clone(), *v),
            EvaluationValue::Boolean(b) => Score::boolean(self.name.clone(), *b),
            EvaluationValue::Categorical(s) => Score::categorical(self.name.clone(), s.clone()),
            EvaluationValue::Text(s) => Score::text(self.name.clone(), s.clone()),
        };
        if let Some(comment) = &self.comment {
            score = score.comment(comment.clone());
        }
        if let Some(metadata) = &self.metadata {
            score = score.metadata(metadata);
        }
        if let Some(config_id) = &self.config_id {
            score = score.config_id(config_id.clone());
        }
        score
    }

    /// As the evaluator observation's output shows it.
    pub(crate) fn to_json(&self) -> Value {
        let value = match &self.value {
            EvaluationValue::Numeric(v) => serde_json::json!(v),
            EvaluationValue::Boolean(b) => serde_json::json!(b),
            EvaluationValue::Categorical(s) | EvaluationValue::Text(s) => serde_json::json!(s),
        };
        let mut json = serde_json::json!({ "name": self.name, "value": value });
        if let Some(comment) = &self.comment {
            json["comment"] = Value::String(comment.clone());
        }
        if let Some(metadata) = &self.metadata {
            json["metadata"] = metadata.clone();
        }
        json
    }
}

/// What an evaluator may return: one [`Evaluation`], several (`Vec`), maybe none (`Option`),
/// or any of these in a `Result` whose error (anything `Display`) marks the evaluator failed.
///
/// ```
/// use langfuse_core::experiments::{Evaluation, IntoEvaluations};
///
/// let ok: Result<Evaluation, String> = Ok(Evaluation::boolean("valid_json", true));
/// assert_eq!(ok.into_evaluations().unwrap().len(), 1);
/// let failed: Result<Evaluation, String> = Err("judge unreachable".into());
/// assert_eq!(failed.into_evaluations().unwrap_err(), "judge unreachable");
/// ```
pub trait IntoEvaluations {
    /// The evaluations, or why the evaluator failed.
    fn into_evaluations(self) -> Result<Vec<Evaluation>, String>;
}

impl IntoEvaluations for Evaluation {
    fn into_evaluations(self) -> Result<Vec<Evaluation>, String> {
        Ok(vec![self])
    }
}

impl IntoEvaluations for Vec<Evaluation> {
    fn into_evaluations(self) -> Result<Vec<Evaluation>, String> {
        Ok(self)
    }
}

impl IntoEvaluations for Option<Evaluation> {
    fn into_evaluations(self) -> Result<Vec<Evaluation>, String> {
        Ok(self.into_iter().collect())
    }
}

impl<T: IntoEvaluations, E: fmt::Display> IntoEvaluations for Result<T, E> {
    fn into_evaluations(self) -> Result<Vec<Evaluation>, String> {
        self.map_err(|e| e.to_string())?.into_evaluations()
    }
}

/// What an item evaluator judges: the item (input, expected output, metadata) and the task's
/// output for it.
#[derive(Debug)]
pub struct EvaluatorInput<'a, O> {
    /// The item.
    pub item: &'a ExperimentItem,
    /// What the task returned for it.
    pub output: &'a O,
}

impl<O> Clone for EvaluatorInput<'_, O> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<O> Copy for EvaluatorInput<'_, O> {}

impl<'a, O> EvaluatorInput<'a, O> {
    /// The item's input.
    pub fn input(&self) -> &'a Value {
        &self.item.input
    }

    /// The item's expected output, if any.
    pub fn expected_output(&self) -> Option<&'a Value> {
        self.item.expected_output.as_ref()
    }

    /// The item's expected output, if it is a JSON string.
    pub fn expected_str(&self) -> Option<&'a str> {
        self.item.expected_str()
    }

    /// The item's metadata, if any.
    pub fn metadata(&self) -> Option<&'a Value> {
        self.item.metadata.as_ref()
    }
}

pub(crate) type LocalBoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// An item evaluator, type-erased: see [`Experiment::evaluator`](super::Experiment::evaluator).
pub(crate) trait ItemEvaluator<O> {
    fn name(&self) -> &str;
    fn evaluate<'a>(
        &'a self,
        input: EvaluatorInput<'a, O>,
    ) -> LocalBoxFuture<'a, Result<Vec<Evaluation>, String>>;
}

/// A run evaluator, type-erased: see
/// [`Experiment::run_evaluator`](super::Experiment::run_evaluator).
pub(crate) trait RunEvaluator<O> {
    fn name(&self) -> &str;
    fn evaluate<'a>(
        &'a self,
        items: &'a [ItemResult<O>],
    ) -> LocalBoxFuture<'a, Result<Vec<Evaluation>, String>>;
}

pub(crate) struct SyncItemEvaluator<F> {
    pub(crate) name: String,
    pub(crate) f: F,
}

impl<O, F, R> ItemEvaluator<O> for SyncItemEvaluator<F>
where
    F: Fn(EvaluatorInput<'_, O>) -> R,
    R: IntoEvaluations,
{
    fn name(&self) -> &str {
        &self.name
    }

    fn evaluate<'a>(
        &'a self,
        input: EvaluatorInput<'a, O>,
    ) -> LocalBoxFuture<'a, Result<Vec<Evaluation>, String>> {
        // Called when first polled, so that a panic is caught like an async evaluator's.
        Box::pin(async move { (self.f)(input).into_evaluations() })
    }
}

pub(crate) struct AsyncItemEvaluator<F> {
    pub(crate) name: String,
    pub(crate) f: F,
}

impl<O, F, R> ItemEvaluator<O> for AsyncItemEvaluator<F>
where
    F: AsyncFn(EvaluatorInput<'_, O>) -> R,
    R: IntoEvaluations,
{
    fn name(&self) -> &str {
        &self.name
    }

    fn evaluate<'a>(
        &'a self,
        input: EvaluatorInput<'a, O>,
    ) -> LocalBoxFuture<'a, Result<Vec<Evaluation>, String>> {
        Box::pin(async move { (self.f)(input).await.into_evaluations() })
    }
}

pub(crate) struct SyncRunEvaluator<F> {
    pub(crate) name: String,
    pub(crate) f: F,
}

impl<O, F, R> RunEvaluator<O> for SyncRunEvaluator<F>
where
    F: Fn(&[ItemResult<O>]) -> R,
    R: IntoEvaluations,
{
    fn name(&self) -> &str {
        &self.name
    }

    fn evaluate<'a>(
        &'a self,
        items: &'a [ItemResult<O>],
    ) -> LocalBoxFuture<'a, Result<Vec<Evaluation>, String>> {
        Box::pin(async move { (self.f)(items).into_evaluations() })
    }
}

pub(crate) struct AsyncRunEvaluator<F> {
    pub(crate) name: String,
    pub(crate) f: F,
}

impl<O, F, R> RunEvaluator<O> for AsyncRunEvaluator<F>
where
    F: AsyncFn(&[ItemResult<O>]) -> R,
    R: IntoEvaluations,
{
    fn name(&self) -> &str {
        &self.name
    }

    fn evaluate<'a>(
        &'a self,
        items: &'a [ItemResult<O>],
    ) -> LocalBoxFuture<'a, Result<Vec<Evaluation>, String>> {
        Box::pin(async move { (self.f)(items).await.into_evaluations() })
    }
}
