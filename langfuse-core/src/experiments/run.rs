//! Running an experiment: each item under its own trace, at most `max_concurrency` at once,
//! on the caller's runtime, then the run evaluators, the scores and a flush.
//!
//! One item's trace, as the Python SDK writes it:
//!
//! ```text
//! experiment-item-run            span       input, output, metadata
//! ├─ experiment-item-task        span       the item's root observation: input, output, scores
//! │  └─ ... the task's own observations
//! └─ experiment-item-evaluation  span       evaluator counts
//!    └─ <evaluator name>         evaluator  input, evaluations (or ERROR)
//! ```
//!
//! Every observation of the trace, the task's included wherever the context travels, carries
//! the item's `langfuse.experiment.*` attributes and the environment `sdk-experiment`: they
//! ride on the trace attributes the context propagates, like a user id.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::evaluation::{Evaluation, EvaluatorInput, ItemEvaluator, RunEvaluator};
use super::item::ExperimentItem;
use super::progress::Counters;
use super::result::ItemResult;
use crate::capture::{self, Payload, serialize_bounded};
use crate::context::{Frame, ObservationContext, current_context, propagate_attributes};
use crate::datasets::{DatasetError, DatasetItemStream, format_time};
use crate::model::{
    ExperimentAttributes, Level, ObservationId, ObservationType, TraceAttributes, create_trace_id,
};
use crate::observe::{Observation, start_observation};
use crate::scores::create_score;

/// The environment of every observation and score an experiment writes, as the Python SDK
/// sets it (Langfuse hides it from the default views).
pub(crate) const EXPERIMENT_ENVIRONMENT: &str = "sdk-experiment";

/// What every item of one run shares.
pub(crate) struct Plan<'a, O> {
    pub(crate) name: String,
    pub(crate) run_name: String,
    pub(crate) description: Option<String>,
    /// The experiment's metadata, if it is a JSON object.
    pub(crate) metadata: Option<Map<String, Value>>,
    /// The experiment of local items (and of dataset items without an entry below).
    pub(crate) experiment_id: String,
    /// The experiment of each dataset's items, when derived per dataset.
    pub(crate) dataset_experiments: HashMap<String, String>,
    pub(crate) evaluators: &'a [Box<dyn ItemEvaluator<O> + 'a>],
}

impl<O> Plan<'_, O> {
    fn experiment_id_of(&self, item: &ExperimentItem) -> &str {
        item.dataset_id()
            .and_then(|id| self.dataset_experiments.get(id))
            .unwrap_or(&self.experiment_id)
    }

    /// The metadata of the item's observations: the item's, the experiment's, then the run's
    /// own keys, which win.
    fn observation_metadata(&self, item: &ExperimentItem) -> Value {
        let mut metadata = Map::new();
        if let Some(Value::Object(own)) = &item.metadata {
            metadata.extend(own.clone());
        }
        if let Some(experiment) = &self.metadata {
            metadata.extend(experiment.clone());
        }
        metadata.insert("experiment_name".into(), json!(self.name));
        metadata.insert("experiment_run_name".into(), json!(self.run_name));
        if let (Some(dataset), Some(item)) = (item.dataset_id(), item.dataset_item_id()) {
            metadata.insert("dataset_id".into(), json!(dataset));
            metadata.insert("dataset_item_id".into(), json!(item));
        }
        Value::Object(metadata)
    }

    /// The `langfuse.experiment.*` attributes of `item`, whose root observation is `root`.
    fn attributes(
        &self,
        item: &ExperimentItem,
        root: Option<ObservationId>,
    ) -> ExperimentAttributes {
        let budget = capture::max_bytes();
        let object = |value: Option<&Value>| {
            value
                .filter(|v| v.is_object())
                .map(|v| serialize_bounded(v, budget))
        };
        let metadata = self.metadata.as_ref().map(|m| serialize_bounded(m, budget));
        ExperimentAttributes {
            id: self.experiment_id_of(item).to_owned(),
            name: self.run_name.clone(),
            description: self.description.clone(),
            metadata,
            dataset_id: item.dataset_id().map(str::to_owned),
            item_id: item.experiment_item_id(),
            item_version: item
                .dataset
                .as_ref()
                .and_then(|d| d.version)
                .map(format_time),
            item_metadata: object(item.metadata.as_ref()),
            root_observation_id: root.map(|id| id.to_string()),
            item_expected_output: item
                .expected_output
                .as_ref()
                .map(|v| serialize_bounded(v, budget))
                .filter(|p| !matches!(p, Payload::Json(j) if j == "null")),
        }
    }
}

/// Runs one item: the task under its root observation, then the item evaluators, then the
/// scores. Never fails: a failing or panicking task or evaluator is recorded and reported.
pub(crate) async fn run_item<O, T, E>(
    plan: &Plan<'_, O>,
    index: usize,
    item: ExperimentItem,
    task: &T,
) -> ItemResult<O>
where
    T: AsyncFn(&ExperimentItem) -> Result<O, E>,
    E: fmt::Display,
    O: Serialize,
{
    // A new trace per item. When it is not recorded (sampled out, tracing off), nothing of
    // the item is: its work runs in a context that records nothing, rather than starting
    // traces of its own.
    let mut run = start_observation("experiment-item-run")
        .parent(ObservationContext::default())
        .start();
    let recorded = run.id().is_some();
    let mut task_span = recorded.then(|| {
        start_observation("experiment-item-task")
            .parent(run.context())
            .start()
    });
    let root = task_span.as_ref().and_then(Observation::id);
    let trace_id = run.trace_id();

    let experiment = Arc::new(plan.attributes(&item, root));
    let apply = |attributes: &mut TraceAttributes| {
        attributes.environment = Some(EXPERIMENT_ENVIRONMENT.to_owned());
        attributes.experiment = Some(Arc::clone(&experiment));
    };
    let (item_context, task_context) = match &mut task_span {
        Some(task_span) => (scoped(&mut run, &apply), scoped(task_span, &apply)),
        None => (unrecorded(), unrecorded()),
    };

    // Called inside the context: a task that does work before its first await (a closure
    // returning a future) traces it under the item too.
    let output = match task_context
        .attach(CatchUnwind::new(async { task(&item).await }))
        .await
    {
        Ok(Ok(output)) => Ok(output),
        Ok(Err(e)) => Err(e.to_string()),
        Err(panic) => Err(panic),
    };
    if let Err(e) = &output {
        tracing::warn!(target: "langfuse", experiment = %plan.name, item = index, "experiment task failed: {e}");
    }
    let metadata = plan.observation_metadata(&item);
    if let Some(mut task_span) = task_span {
        task_span.update(|u| {
            u.input(&item.input).metadata(&metadata);
            describe_outcome(u, &output);
        });
        task_span.end();
    }

    let mut evaluations = Vec::new();
    let mut evaluator_errors = Vec::new();
    if let Ok(out) = &output
        && !plan.evaluators.is_empty()
    {
        let mut evaluation_span = recorded.then(|| {
            start_observation("experiment-item-evaluation")
                .parent(item_context.clone())
                .start()
        });
        let evaluator_parent = evaluation_span
            .as_ref()
            .map_or_else(unrecorded, Observation::context);
        let output_json = serde_json::to_value(out).unwrap_or(Value::Null);
        for (evaluator_index, evaluator) in plan.evaluators.iter().enumerate() {
            let mut observation = recorded.then(|| {
                start_observation(evaluator.name())
                    .as_type(ObservationType::Evaluator)
                    .parent(evaluator_parent.clone())
                    .start()
            });
            if let Some(observation) = &mut observation {
                observation.update(|u| {
                    u.input(&json!({
                        "input": item.input,
                        "output": output_json,
                        "expected_output": item.expected_output,
                        "metadata": item.metadata,
                    }))
                    .metadata(
                        &json!({ "evaluator_kind": "item", "evaluator_index": evaluator_index }),
                    );
                });
            }
            let context = observation
                .as_ref()
                .map_or_else(unrecorded, Observation::context);
            let input = EvaluatorInput {
                item: &item,
                output: out,
            };
            let result = context
                .attach(CatchUnwind::new(evaluator.evaluate(input)))
                .await
                .and_then(|r| r);
            record_evaluation(
                observation,
                evaluator.name(),
                &plan.name,
                result,
                &mut evaluations,
                &mut evaluator_errors,
            );
        }
        if let Some(evaluation_span) = &mut evaluation_span {
            evaluation_span.update(|u| {
                u.output(&json!({
                    "evaluator_count": plan.evaluators.len(),
                    "evaluation_count": evaluations.len(),
                    "failed_evaluator_count": evaluator_errors.len(),
                }));
            });
        }
        drop(evaluation_span);
    }

    // Item scores go on the item's root observation, as the Python SDK puts them.
    if let (Some(trace_id), Some(root)) = (trace_id, root) {
        for evaluation in &evaluations {
            create_score(
                evaluation
                    .to_score()
                    .trace_id(trace_id)
                    .observation_id(root)
                    .environment(EXPERIMENT_ENVIRONMENT),
            );
        }
    }

    run.update(|u| {
        u.input(&item.input).metadata(&metadata);
        describe_outcome(u, &output);
    });
    run.end();

    ItemResult {
        index,
        item,
        output,
        evaluations,
        evaluator_errors,
        trace_id,
        observation_id: root,
    }
}

/// Runs the run evaluators, in a trace of their own (`experiment-run-evaluation`), and sends
/// their evaluations as scores on the experiment when any item was recorded.
pub(crate) async fn run_evaluators<O>(
    plan: &Plan<'_, O>,
    evaluators: &[Box<dyn RunEvaluator<O> + '_>],
    items: &[ItemResult<O>],
) -> (Vec<Evaluation>, Vec<(String, String)>) {
    let mut evaluations = Vec::new();
    let mut errors = Vec::new();
    if evaluators.is_empty() {
        return (evaluations, errors);
    }
    let mut root = start_observation("experiment-run-evaluation")
        .parent(ObservationContext::default())
        .start();
    let recorded = root.id().is_some();
    let context = if recorded {
        scoped(&mut root, &|attributes: &mut TraceAttributes| {
            attributes.environment = Some(EXPERIMENT_ENVIRONMENT.to_owned());
        })
    } else {
        unrecorded()
    };
    let summary = json!({
        "experiment_id": plan.experiment_id,
        "experiment_name": plan.name,
        "experiment_run_name": plan.run_name,
        "items": items.len(),
        "failed_items": items.iter().filter(|i| i.failed()).count(),
    });
    root.update(|u| {
        u.input(&summary);
    });
    for (evaluator_index, evaluator) in evaluators.iter().enumerate() {
        let mut observation = recorded.then(|| {
            start_observation(evaluator.name())
                .as_type(ObservationType::Evaluator)
                .parent(context.clone())
                .start()
        });
        if let Some(observation) = &mut observation {
            observation.update(|u| {
                u.input(&summary).metadata(
                    &json!({ "evaluator_kind": "run", "evaluator_index": evaluator_index }),
                );
            });
        }
        let evaluator_context = observation
            .as_ref()
            .map_or_else(unrecorded, Observation::context);
        let result = evaluator_context
            .attach(CatchUnwind::new(evaluator.evaluate(items)))
            .await
            .and_then(|r| r);
        record_evaluation(
            observation,
            evaluator.name(),
            &plan.name,
            result,
            &mut evaluations,
            &mut errors,
        );
    }
    root.update(|u| {
        u.output(
            &evaluations
                .iter()
                .map(Evaluation::to_json)
                .collect::<Vec<_>>(),
        );
        if !errors.is_empty() {
            u.level(Level::Error)
                .status_message(format!("{} run evaluators failed", errors.len()));
        }
    });
    root.end();

    // Run scores belong to the experiment, which exists only if an item was recorded.
    if items.iter().any(|i| i.trace_id.is_some()) {
        for evaluation in &evaluations {
            create_score(
                evaluation
                    .to_score()
                    .dataset_run_id(plan.experiment_id.clone())
                    .environment(EXPERIMENT_ENVIRONMENT),
            );
        }
    }
    (evaluations, errors)
}

/// Ends an evaluator's observation with its evaluations, or as ERROR with why it failed.
fn record_evaluation(
    observation: Option<Observation>,
    evaluator: &str,
    experiment: &str,
    result: Result<Vec<Evaluation>, String>,
    evaluations: &mut Vec<Evaluation>,
    errors: &mut Vec<(String, String)>,
) {
    match result {
        Ok(found) => {
            if let Some(mut observation) = observation {
                observation.update(|u| {
                    u.output(&found.iter().map(Evaluation::to_json).collect::<Vec<_>>());
                });
            }
            evaluations.extend(found);
        }
        Err(message) => {
            tracing::warn!(target: "langfuse", experiment, evaluator, "experiment evaluator failed: {message}");
            if let Some(mut observation) = observation {
                observation.update(|u| {
                    u.output(&json!({ "error": message }))
                        .level(Level::Error)
                        .status_message(message.clone());
                });
            }
            errors.push((evaluator.to_owned(), message));
        }
    }
}

fn describe_outcome<O: Serialize>(
    update: &mut crate::observe::ObservationUpdate,
    output: &Result<O, String>,
) {
    match output {
        Ok(output) => {
            update.output(output);
        }
        Err(e) => {
            update
                .output(&format!("Error: {e}"))
                .level(Level::Error)
                .status_message(e.clone());
        }
    }
}

/// Puts `attributes` on `observation` and returns the context its children start in: under
/// it, with those attributes.
fn scoped(
    observation: &mut Observation,
    attributes: &dyn Fn(&mut TraceAttributes),
) -> ObservationContext {
    let _entered = observation.enter();
    let _scope = propagate_attributes(attributes);
    current_context()
}

/// A context whose observations are not recorded: the work of an item whose trace is not.
fn unrecorded() -> ObservationContext {
    ObservationContext::from_frame(Frame::unsampled(
        create_trace_id(None),
        ObservationId::PLACEHOLDER,
    ))
}

/// Where the items come from, one at a time.
pub(crate) enum Source {
    /// Local items, and how many there are.
    Items(std::vec::IntoIter<ExperimentItem>, u64),
    /// A dataset's items, read a page at a time.
    Dataset(DatasetItemStream),
}

impl Source {
    fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<ExperimentItem, DatasetError>>> {
        match self {
            Source::Items(items, _) => Poll::Ready(items.next().map(Ok)),
            Source::Dataset(stream) => futures_core::Stream::poll_next(Pin::new(stream), cx)
                .map(|item| item.map(|item| item.map(ExperimentItem::from))),
        }
    }

    fn total(&self) -> Option<u64> {
        match self {
            Source::Items(_, total) => Some(*total),
            Source::Dataset(stream) => stream.total(),
        }
    }
}

/// Runs the items of `source` through `start`, keeping at most `max_concurrency` in flight,
/// all polled by this future on the caller's runtime. Returns the results in the order of the
/// data, and the error that stopped reading a dataset, if one did (the items already started
/// finish first).
pub(crate) async fn run_all<O, F>(
    mut source: Source,
    max_concurrency: usize,
    counters: &Counters,
    mut start: impl FnMut(usize, ExperimentItem) -> F,
) -> (Vec<ItemResult<O>>, Option<DatasetError>)
where
    F: Future<Output = ItemResult<O>>,
{
    let max_concurrency = max_concurrency.max(1);
    let mut in_flight: Vec<Pin<Box<F>>> = Vec::new();
    let mut results = Vec::new();
    let mut next_index = 0;
    let mut exhausted = false;
    let mut error = None;
    if let Some(total) = source.total() {
        counters.set_total(total);
    }
    std::future::poll_fn(|cx| {
        loop {
            let mut progressed = false;
            while !exhausted && in_flight.len() < max_concurrency {
                match source.poll_next(cx) {
                    Poll::Ready(Some(Ok(item))) => {
                        in_flight.push(Box::pin(start(next_index, item)));
                        next_index += 1;
                        progressed = true;
                        if let Some(total) = source.total() {
                            counters.set_total(total);
                        }
                    }
                    Poll::Ready(Some(Err(e))) => {
                        error = Some(e);
                        exhausted = true;
                    }
                    Poll::Ready(None) => exhausted = true,
                    Poll::Pending => break,
                }
            }
            let mut i = 0;
            while i < in_flight.len() {
                match in_flight[i].as_mut().poll(cx) {
                    Poll::Ready(result) => {
                        drop(in_flight.swap_remove(i));
                        counters.item_done(result.failed());
                        results.push(result);
                        progressed = true;
                    }
                    Poll::Pending => i += 1,
                }
            }
            if exhausted && in_flight.is_empty() {
                return Poll::Ready(());
            }
            if !progressed {
                return Poll::Pending;
            }
        }
    })
    .await;
    results.sort_by_key(|r: &ItemResult<O>| r.index);
    (results, error)
}

pin_project_lite::pin_project! {
    /// A future whose panic is caught and returned as its message, so that one item's panic
    /// fails that item only.
    pub(crate) struct CatchUnwind<F> {
        #[pin]
        inner: F,
    }
}

impl<F> CatchUnwind<F> {
    pub(crate) fn new(inner: F) -> Self {
        Self { inner }
    }
}

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, String>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.project().inner;
        match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => {
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| payload.downcast_ref::<String>().cloned());
                Poll::Ready(Err(match message {
                    Some(message) => format!("panicked: {message}"),
                    None => "panicked".to_owned(),
                }))
            }
        }
    }
}

/// How long the run waits for the project id (for the experiment's URL) and for its flush.
pub(crate) fn client_timeout() -> Duration {
    crate::client::existing_client()
        .and_then(|c| c.config().map(crate::config::Config::timeout))
        .unwrap_or(crate::config::defaults::TIMEOUT)
}
