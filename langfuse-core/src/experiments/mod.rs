//! Experiments: run a task over a dataset, score every output, and compare runs in Langfuse,
//! on Langfuse v4's experiment model (the Python SDK 5's `run_experiment`).
//!
//! An [`Experiment`] names the run and holds its task (an async closure called once per item)
//! and evaluators; [`Experiment::run`] takes the data (local [`ExperimentItem`]s or a Langfuse
//! [`Dataset`](crate::datasets::Dataset)) and returns an [`ExperimentResult`].
//!
//! ```no_run
//! use langfuse_core::experiments::{Evaluation, Experiment, ExperimentItem};
//!
//! async fn capital_of(country: &str) -> Result<String, std::io::Error> {
//!     Ok(match country { "France" => "Paris", _ => "?" }.to_owned())
//! }
//!
//! # async fn example() -> Result<(), langfuse_core::experiments::ExperimentError> {
//! let data = vec![
//!     ExperimentItem::new("France").expected_output("Paris"),
//!     ExperimentItem::new("Japan").expected_output("Tokyo"),
//! ];
//! let result = Experiment::new("capital-cities")
//!     .description("Capitals, answered by the model")
//!     .task(async |item: &ExperimentItem| capital_of(item.input_str().unwrap_or("")).await)
//!     .evaluator("exact_match", |e| {
//!         Evaluation::boolean("exact_match", e.expected_str() == Some(e.output.as_str()))
//!     })
//!     .run(data)
//!     .await?;
//! println!("{result}");
//! # Ok(())
//! # }
//! ```
//!
//! # What Langfuse receives
//!
//! Each item runs in a trace of its own, written as the Python SDK writes it:
//!
//! ```text
//! experiment-item-run            span       input, output, metadata
//! ├─ experiment-item-task        span       the item's root observation: input, output, scores
//! │  └─ ... the task's own observations (#[observe], generations, tools...)
//! └─ experiment-item-evaluation  span
//!    └─ exact_match              evaluator  input, evaluations (or ERROR)
//! ```
//!
//! - Every observation of the trace, the task's own included (sync, async, or spawned with
//!   the context: see [`spawn`](crate::spawn)), carries the attributes Langfuse v4 builds its
//!   Experiments view from: `langfuse.experiment.id`, `.name` (the run name),
//!   `.description`, `.metadata`, `.dataset.id`, `.item.id`, `.item.version`,
//!   `.item.metadata`, `.item.root_observation_id` and `.item.expected_output`, and the
//!   environment `sdk-experiment`.
//! - The experiment id of a run on a Langfuse dataset is derived from the project, the
//!   dataset and the run name (SHA-256, the rule of the server and the other SDKs), so
//!   several workers, or a run resumed under the same [`run_name`](Experiment::run_name),
//!   write one experiment; [`experiment_id`](Experiment::experiment_id) sets it outright (for
//!   local data, whose id is otherwise random).
//! - Item evaluations are scores on the item's root observation; run evaluations are scores
//!   with `datasetRunId` set to the experiment id. No deprecated endpoint
//!   (`dataset-run-items`) is called.
//! - A task or evaluator that fails or panics is recorded as ERROR on its observation, and
//!   the run goes on. The run flushes before it returns.
//!
//! # Concurrency
//!
//! Items run at most [`max_concurrency`](Experiment::max_concurrency) at a time (default
//! 50, as in the Python SDK), all driven by the future `run` returns, on the caller's
//! runtime: the task and the evaluators may borrow from the caller, and need not be `Send`.
//! Work that should use several threads can spawn from inside the task.
//!
//! # A quality gate in CI
//!
//! [`ExperimentResult::assert_average`] (or [`check_average`](ExperimentResult::check_average))
//! fails a test when an evaluation's average drops below a threshold, listing the worst
//! items. With `LANGFUSE_EXPORTER=console` (or no keys at all) such a test needs no network.

use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::time::{Instant, SystemTime};

use serde::Serialize;
use serde_json::Value;

mod evaluation;
mod id;
mod item;
mod progress;
mod result;
mod run;

use evaluation::{
    AsyncItemEvaluator, AsyncRunEvaluator, ItemEvaluator, RunEvaluator, SyncItemEvaluator,
    SyncRunEvaluator,
};
pub use evaluation::{Evaluation, EvaluationValue, EvaluatorInput, IntoEvaluations};
use id::{default_run_name, random_experiment_id, stable_experiment_id};
pub use item::{ExperimentData, ExperimentItem};
pub use progress::Progress;
use progress::Reporter;
pub use result::{ExperimentResult, ItemResult, QualityGateError, WorstItem};
use run::{Plan, Source, client_timeout, run_all, run_evaluators, run_item};

use crate::client::Langfuse;
use crate::datasets::DatasetError;

/// Items run at once unless [`Experiment::max_concurrency`] says otherwise (the Python SDK's
/// default).
pub const DEFAULT_MAX_CONCURRENCY: usize = 50;

/// An experiment to run: its name, description and metadata, its task, its evaluators, and
/// how it runs. Give the [`task`](Experiment::task) first (it fixes the output type the
/// evaluators see), then the evaluators, then [`run`](Experiment::run) it over the data.
///
/// ```no_run
/// use langfuse_core::experiments::{Evaluation, Experiment, ExperimentItem};
///
/// # async fn answer(q: &str) -> Result<String, std::io::Error> { Ok(q.into()) }
/// # async fn example() -> Result<(), langfuse_core::experiments::ExperimentError> {
/// let result = Experiment::new("capital-cities")
///     .task(async |item: &ExperimentItem| answer(item.input_str().unwrap_or("")).await)
///     .evaluator("exact_match", |e| {
///         Evaluation::boolean("exact_match", e.expected_str() == Some(e.output.as_str()))
///     })
///     .run(vec![ExperimentItem::new("France").expected_output("Paris")])
///     .await?;
/// # Ok(())
/// # }
/// ```
#[must_use = "an experiment does nothing until run"]
pub struct Experiment<'a, O = (), T = NoTask> {
    name: String,
    run_name: Option<String>,
    description: Option<String>,
    metadata: Option<Value>,
    experiment_id: Option<String>,
    max_concurrency: usize,
    progress: Progress,
    task: T,
    evaluators: Vec<Box<dyn ItemEvaluator<O> + 'a>>,
    run_evaluators: Vec<Box<dyn RunEvaluator<O> + 'a>>,
}

/// An [`Experiment`] whose task is not given yet.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTask;

/// An [`Experiment`]'s task: an async function of the item returning `Result<O, E>`.
pub struct Task<F, E> {
    f: F,
    _error: PhantomData<fn() -> E>,
}

impl<F, E> fmt::Debug for Task<F, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Task")
    }
}

impl<O, S> fmt::Debug for Experiment<'_, O, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Experiment")
            .field("name", &self.name)
            .field("run_name", &self.run_name)
            .field("experiment_id", &self.experiment_id)
            .field("max_concurrency", &self.max_concurrency)
            .field(
                "evaluators",
                &self.evaluators.iter().map(|e| e.name()).collect::<Vec<_>>(),
            )
            .field(
                "run_evaluators",
                &self
                    .run_evaluators
                    .iter()
                    .map(|e| e.name())
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl<'a> Experiment<'a> {
    /// An experiment named `name` (shown in Langfuse and in the item observations' metadata).
    ///
    /// ```
    /// let experiment = langfuse_core::experiments::Experiment::new("capital-cities");
    /// # drop(experiment);
    /// ```
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            run_name: None,
            description: None,
            metadata: None,
            experiment_id: None,
            max_concurrency: DEFAULT_MAX_CONCURRENCY,
            progress: Progress::Auto,
            task: NoTask,
            evaluators: Vec::new(),
            run_evaluators: Vec::new(),
        }
    }

    /// The task under test: an async closure (or async fn) of the item returning
    /// `Result<O, E>`, `E: Display`. It runs once per item, under the item's root
    /// observation: everything it traces nests there. An `Err` or a panic fails that item
    /// only (recorded as ERROR, its evaluators skipped). It may borrow from the caller and
    /// need not be `Send`.
    ///
    /// ```
    /// use langfuse_core::experiments::{Experiment, ExperimentItem};
    ///
    /// let prefix = String::from("Answer: ");
    /// let experiment = Experiment::new("echo").task(async |item: &ExperimentItem| {
    ///     Ok::<_, std::convert::Infallible>(format!("{prefix}{}", item.input))
    /// });
    /// # drop(experiment);
    /// ```
    pub fn task<F, O, E>(self, task: F) -> Experiment<'a, O, Task<F, E>>
    where
        F: AsyncFn(&ExperimentItem) -> Result<O, E>,
        E: fmt::Display,
        O: Serialize,
    {
        Experiment {
            name: self.name,
            run_name: self.run_name,
            description: self.description,
            metadata: self.metadata,
            experiment_id: self.experiment_id,
            max_concurrency: self.max_concurrency,
            progress: self.progress,
            task: Task {
                f: task,
                _error: PhantomData,
            },
            evaluators: Vec::new(),
            run_evaluators: Vec::new(),
        }
    }
}

impl<O, S> Experiment<'_, O, S> {
    /// The run's exact name (`langfuse.experiment.name`); by default the experiment's name
    /// and the start time, `capital-cities - 2026-05-01T12:00:00.123456Z`. On a Langfuse
    /// dataset, runs of one name are one experiment: give every worker of a sharded run, or a
    /// resumed run, the same name.
    pub fn run_name(mut self, run_name: impl Into<String>) -> Self {
        self.run_name = Some(run_name.into());
        self
    }

    /// A description of the experiment.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// The experiment's metadata: a value that serializes to a JSON object (the model, the
    /// prompt version...), on every item's observations and in `langfuse.experiment.metadata`.
    ///
    /// ```
    /// let experiment = langfuse_core::experiments::Experiment::new("capitals")
    ///     .metadata(&serde_json::json!({ "model": "gpt-4o-mini", "temperature": 0 }));
    /// # drop(experiment);
    /// ```
    pub fn metadata<T: Serialize + ?Sized>(mut self, metadata: &T) -> Self {
        match serde_json::to_value(metadata) {
            Ok(value @ Value::Object(_)) => self.metadata = Some(value),
            Ok(other) => tracing::warn!(
                target: "langfuse",
                "experiment metadata must be a JSON object, not {other}; ignored"
            ),
            Err(e) => {
                tracing::warn!(target: "langfuse", "experiment metadata cannot be serialized: {e}; ignored");
            }
        }
        self
    }

    /// The experiment id, instead of the derived one: several processes (or a resumed run)
    /// given the same id write one experiment, also on local data.
    pub fn experiment_id(mut self, id: impl Into<String>) -> Self {
        self.experiment_id = Some(id.into());
        self
    }

    /// Items run at once, at most (default [`DEFAULT_MAX_CONCURRENCY`]; at least 1).
    pub fn max_concurrency(mut self, items: usize) -> Self {
        self.max_concurrency = items.max(1);
        self
    }

    /// How the run shows its progress on stderr (default [`Progress::Auto`]: a bar on a
    /// terminal, a line every 10 s otherwise).
    pub fn progress(mut self, progress: Progress) -> Self {
        self.progress = progress;
        self
    }
}

impl<'a, O, T, E> Experiment<'a, O, Task<T, E>>
where
    T: AsyncFn(&ExperimentItem) -> Result<O, E>,
    E: fmt::Display,
    O: Serialize,
{
    /// Adds an item evaluator: a function of the item and the task's output returning one
    /// [`Evaluation`], several, an `Option`, or a `Result` of these (see
    /// [`IntoEvaluations`]). It runs in an `evaluator` observation named `name`, only for
    /// items whose task succeeded; its evaluations become scores on the item's observation.
    ///
    /// ```
    /// use langfuse_core::experiments::{Evaluation, Experiment, ExperimentItem};
    ///
    /// # async fn answer(item: &ExperimentItem) -> Result<String, std::io::Error> { Ok(String::new()) }
    /// let experiment = Experiment::new("capitals")
    ///     .task(answer)
    ///     .evaluator("exact_match", |e| {
    ///         Evaluation::boolean("exact_match", e.expected_str() == Some(e.output.as_str()))
    ///     });
    /// # drop(experiment);
    /// ```
    pub fn evaluator<F, R>(mut self, name: impl Into<String>, evaluator: F) -> Self
    where
        F: Fn(EvaluatorInput<'_, O>) -> R + 'a,
        R: IntoEvaluations + 'a,
        O: 'a,
    {
        self.evaluators.push(Box::new(SyncItemEvaluator {
            name: name.into(),
            f: evaluator,
        }));
        self
    }

    /// Adds an async item evaluator (an LLM judge, say); see [`evaluator`](Self::evaluator).
    /// Its own observations (the judge's generation) nest under its `evaluator` observation.
    ///
    /// ```
    /// use langfuse_core::experiments::{Evaluation, EvaluatorInput, Experiment, ExperimentItem};
    ///
    /// async fn judge(answer: &str) -> Result<f64, std::io::Error> {
    ///     Ok(if answer.is_empty() { 0.0 } else { 1.0 })
    /// }
    /// # async fn answer(item: &ExperimentItem) -> Result<String, std::io::Error> { Ok(String::new()) }
    ///
    /// let experiment = Experiment::new("capitals").task(answer).async_evaluator(
    ///     "helpfulness",
    ///     async |e: EvaluatorInput<'_, String>| {
    ///         judge(e.output).await.map(|v| Evaluation::numeric("helpfulness", v))
    ///     },
    /// );
    /// # drop(experiment);
    /// ```
    pub fn async_evaluator<F, R>(mut self, name: impl Into<String>, evaluator: F) -> Self
    where
        F: AsyncFn(EvaluatorInput<'_, O>) -> R + 'a,
        R: IntoEvaluations + 'a,
        O: 'a,
    {
        self.evaluators.push(Box::new(AsyncItemEvaluator {
            name: name.into(),
            f: evaluator,
        }));
        self
    }

    /// Adds a run evaluator: a function of every item's result (an aggregate: accuracy, a
    /// distribution...), run once after the items. Its evaluations become scores on the
    /// experiment (`datasetRunId` = the experiment id).
    ///
    /// ```
    /// use langfuse_core::experiments::{Evaluation, Experiment, ExperimentItem, ItemResult};
    ///
    /// # async fn answer(item: &ExperimentItem) -> Result<String, std::io::Error> { Ok(String::new()) }
    /// let experiment = Experiment::new("capitals").task(answer).run_evaluator(
    ///     "failure_rate",
    ///     |items: &[ItemResult<String>]| {
    ///         let failed = items.iter().filter(|i| i.failed()).count();
    ///         Evaluation::numeric("failure_rate", failed as f64 / items.len().max(1) as f64)
    ///     },
    /// );
    /// # drop(experiment);
    /// ```
    pub fn run_evaluator<F, R>(mut self, name: impl Into<String>, evaluator: F) -> Self
    where
        F: Fn(&[ItemResult<O>]) -> R + 'a,
        R: IntoEvaluations + 'a,
        O: 'a,
    {
        self.run_evaluators.push(Box::new(SyncRunEvaluator {
            name: name.into(),
            f: evaluator,
        }));
        self
    }

    /// Adds an async run evaluator; see [`run_evaluator`](Self::run_evaluator).
    pub fn async_run_evaluator<F, R>(mut self, name: impl Into<String>, evaluator: F) -> Self
    where
        F: AsyncFn(&[ItemResult<O>]) -> R + 'a,
        R: IntoEvaluations + 'a,
        O: 'a,
    {
        self.run_evaluators.push(Box::new(AsyncRunEvaluator {
            name: name.into(),
            f: evaluator,
        }));
        self
    }

    /// Runs the task over `data` (local items, a `Vec` of dataset items, or a
    /// [`Dataset`](crate::datasets::Dataset), whose items are fetched a page at a time as the
    /// run needs them), then the evaluators; sends the scores, flushes, and returns every
    /// item's result, the run evaluations and the experiment's URL.
    ///
    /// A failing task or evaluator fails its item only. The only errors of the run itself are
    /// a dataset that could not be read (after the items already started have finished and
    /// been flushed) and an empty name.
    ///
    /// Uses the process's client (`init()` first); without one, nothing is exported, unless
    /// the run is recorded by `langfuse::testing`.
    ///
    /// ```no_run
    /// use langfuse_core::experiments::{Evaluation, Experiment};
    ///
    /// # async fn answer(question: &serde_json::Value) -> Result<String, std::io::Error> { Ok(String::new()) }
    /// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = langfuse_core::get_client();
    /// let dataset = client.get_dataset_async("capital-cities").await?;
    /// let result = Experiment::new("capital-cities")
    ///     .run_name("gpt-4o-mini, prompt v3")
    ///     .max_concurrency(8)
    ///     .task(async |item| answer(&item.input).await)
    ///     .evaluator("exact_match", |e| {
    ///         Evaluation::boolean("exact_match", e.expected_str() == Some(e.output.as_str()))
    ///     })
    ///     .run(&dataset)
    ///     .await?;
    /// if let Some(url) = &result.experiment_url {
    ///     println!("compare runs at {url}");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn run(
        self,
        data: impl Into<ExperimentData>,
    ) -> Result<ExperimentResult<O>, ExperimentError> {
        let started = Instant::now();
        if self.name.trim().is_empty() {
            return Err(ExperimentError::Invalid(
                "the experiment name is empty".into(),
            ));
        }
        let run_name = self
            .run_name
            .clone()
            .unwrap_or_else(|| default_run_name(&self.name, SystemTime::now()));
        let client = Langfuse::current_or_detached();
        let timeout = client_timeout();

        let (source, experiment_id, dataset_experiments, on_dataset) = match data.into() {
            ExperimentData::Dataset(dataset) => {
                let id = self.experiment_id.clone().unwrap_or_else(|| {
                    stable_experiment_id(dataset.project_id(), dataset.id(), &run_name)
                });
                (
                    Source::Dataset(dataset.items_async()),
                    id,
                    HashMap::new(),
                    true,
                )
            }
            ExperimentData::Items(items) => {
                let mut dataset_ids: Vec<&str> = Vec::new();
                for id in items.iter().filter_map(ExperimentItem::dataset_id) {
                    if !dataset_ids.contains(&id) {
                        dataset_ids.push(id);
                    }
                }
                let mut per_dataset = HashMap::new();
                let id = match (&self.experiment_id, dataset_ids.first()) {
                    (Some(id), _) => id.clone(),
                    (None, None) => random_experiment_id(),
                    (None, Some(first)) => match client.project_id_async(timeout, true).await {
                        Some(project) => {
                            for dataset in &dataset_ids {
                                per_dataset.insert(
                                    (*dataset).to_owned(),
                                    stable_experiment_id(&project, dataset, &run_name),
                                );
                            }
                            if dataset_ids.len() > 1 {
                                tracing::warn!(
                                    target: "langfuse",
                                    datasets = dataset_ids.len(),
                                    "experiment data comes from several datasets: each dataset's items form an experiment of their own; the run scores go to the experiment of dataset {first}"
                                );
                            }
                            per_dataset[*first].clone()
                        }
                        None => {
                            tracing::warn!(
                                target: "langfuse",
                                "the project id is unknown, so the experiment id cannot be derived from the dataset: using a random one"
                            );
                            random_experiment_id()
                        }
                    },
                };
                let on_dataset = !dataset_ids.is_empty();
                let total = items.len() as u64;
                (
                    Source::Items(items.into_iter(), total),
                    id,
                    per_dataset,
                    on_dataset,
                )
            }
        };

        let plan = Plan {
            name: self.name.clone(),
            run_name: run_name.clone(),
            description: self.description.clone(),
            metadata: match &self.metadata {
                Some(Value::Object(map)) => Some(map.clone()),
                _ => None,
            },
            experiment_id,
            dataset_experiments,
            evaluators: &self.evaluators,
        };
        let reporter = Reporter::start(self.progress, &self.name);
        let (items, error) = {
            let plan = &plan;
            let task = &self.task.f;
            run_all(
                source,
                self.max_concurrency,
                reporter.counters(),
                |index, item| run_item(plan, index, item, task),
            )
            .await
        };
        reporter.finish();

        let (run_evaluations, run_evaluator_errors) =
            run_evaluators(&plan, &self.run_evaluators, &items).await;

        client.flush_async(timeout).await;
        if let Some(error) = error {
            tracing::warn!(
                target: "langfuse",
                experiment = %self.name,
                items = items.len(),
                "reading the dataset failed; the items already run are flushed: {error}"
            );
            return Err(ExperimentError::Dataset(error));
        }
        let experiment_url = match client.project_id_async(timeout, false).await {
            Some(_) => client.project_url().map(|project| {
                let id: String = percent_encoding::utf8_percent_encode(
                    &plan.experiment_id,
                    percent_encoding::NON_ALPHANUMERIC,
                )
                .collect();
                format!("{project}/experiments/results?baseline={id}")
            }),
            None => None,
        };

        Ok(ExperimentResult {
            name: self.name.clone(),
            run_name,
            description: self.description.clone(),
            dataset_run_id: on_dataset.then(|| plan.experiment_id.clone()),
            experiment_id: plan.experiment_id.clone(),
            experiment_url,
            items,
            run_evaluations,
            run_evaluator_errors,
            elapsed: started.elapsed(),
        })
    }
}

/// Why [`Experiment::run`] could not run, or complete, the experiment.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExperimentError {
    /// The dataset's items could not be read (the items read before were run and flushed).
    Dataset(DatasetError),
    /// The experiment is invalid (an empty name).
    Invalid(String),
}

impl fmt::Display for ExperimentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dataset(e) => write!(f, "the experiment's dataset could not be read: {e}"),
            Self::Invalid(problem) => write!(f, "invalid experiment: {problem}"),
        }
    }
}

impl std::error::Error for ExperimentError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Dataset(e) => Some(e),
            Self::Invalid(_) => None,
        }
    }
}

impl From<DatasetError> for ExperimentError {
    fn from(e: DatasetError) -> Self {
        Self::Dataset(e)
    }
}
