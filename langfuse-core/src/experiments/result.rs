//! What a run returns: every item's output, evaluations and trace, the run's evaluations, the
//! experiment's id and URL; and the quality gate that turns them into a test assertion.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use super::evaluation::Evaluation;
use super::item::ExperimentItem;
use crate::model::{ObservationId, TraceId};

/// What one item's run produced.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ItemResult<O> {
    /// The item's position in the data (0-based).
    pub index: usize,
    /// The item.
    pub item: ExperimentItem,
    /// What the task returned, or why it failed (its error, or the panic's message).
    pub output: Result<O, String>,
    /// The item evaluators' evaluations (also sent as scores on the item's observation).
    pub evaluations: Vec<Evaluation>,
    /// Evaluators that failed or panicked: their name and why.
    pub evaluator_errors: Vec<(String, String)>,
    /// The item's trace, if it was recorded.
    pub trace_id: Option<TraceId>,
    /// The observation holding the item's input, output and scores
    /// (`langfuse.experiment.item.root_observation_id`), if recorded.
    pub observation_id: Option<ObservationId>,
}

impl<O> ItemResult<O> {
    /// The evaluation named `name`, if an evaluator returned one.
    pub fn evaluation(&self, name: &str) -> Option<&Evaluation> {
        self.evaluations.iter().find(|e| e.name == name)
    }

    /// Whether the task failed.
    pub fn failed(&self) -> bool {
        self.output.is_err()
    }
}

/// What [`Experiment::run`](super::Experiment::run) returns.
///
/// `Display` prints a summary (average of every numeric and boolean evaluation, the run
/// evaluations, failures, the experiment's URL); the alternate form (`{:#}`) adds a line per
/// item.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ExperimentResult<O> {
    /// The experiment's name.
    pub name: String,
    /// The run's name (`langfuse.experiment.name`).
    pub run_name: String,
    /// The experiment's description.
    pub description: Option<String>,
    /// The experiment's id (`langfuse.experiment.id`, and the `datasetRunId` of the run
    /// scores).
    pub experiment_id: String,
    /// The dataset run the items belong to, for data from a Langfuse dataset (the experiment
    /// id, as Langfuse v4 identifies them).
    pub dataset_run_id: Option<String>,
    /// The experiment's page in the Langfuse UI, when the project is known (spans sent to
    /// Langfuse, not to the console or an OpenTelemetry collector).
    pub experiment_url: Option<String>,
    /// Every item's result, in the order of the data.
    pub items: Vec<ItemResult<O>>,
    /// The run evaluators' evaluations (also sent as scores on the experiment).
    pub run_evaluations: Vec<Evaluation>,
    /// Run evaluators that failed or panicked: their name and why.
    pub run_evaluator_errors: Vec<(String, String)>,
    /// How long the run took, flush included.
    pub elapsed: Duration,
}

impl<O> ExperimentResult<O> {
    /// Items whose task failed.
    pub fn failures(&self) -> impl Iterator<Item = &ItemResult<O>> {
        self.items.iter().filter(|i| i.failed())
    }

    /// The mean of the evaluation `name` over every item, booleans counting 1 or 0. An item
    /// without it (its task or evaluator failed, or it is not numeric) counts as 0, so that a
    /// failure never raises the average. `None` when there are no items.
    ///
    /// ```
    /// # use langfuse_core::experiments::{Evaluation, Experiment, ExperimentItem, ExperimentResult, Progress};
    /// # fn result() -> ExperimentResult<String> {
    /// #     let experiment = Experiment::new("capitals")
    /// #         .progress(Progress::Off)
    /// #         .task(async |_: &ExperimentItem| Ok::<_, std::io::Error>("Paris".to_owned()))
    /// #         .evaluator("exact_match", |e| {
    /// #             Evaluation::boolean("exact_match", e.expected_str() == Some(e.output.as_str()))
    /// #         });
    /// #     let items = vec![ExperimentItem::new("France").expected_output("Paris")];
    /// #     let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    /// #     runtime.block_on(experiment.run(items)).unwrap()
    /// # }
    /// let result: ExperimentResult<String> = result();
    /// if let Some(accuracy) = result.average("exact_match") {
    ///     println!("accuracy {accuracy:.2}");
    /// }
    /// assert_eq!(result.average("exact_match"), Some(1.0));
    /// ```
    pub fn average(&self, name: &str) -> Option<f64> {
        if self.items.is_empty() {
            return None;
        }
        let sum: f64 = self.items.iter().map(|i| value_of(i, name)).sum();
        Some(sum / self.items.len() as f64)
    }

    /// The run evaluation named `name`, if a run evaluator returned one.
    pub fn run_evaluation(&self, name: &str) -> Option<&Evaluation> {
        self.run_evaluations.iter().find(|e| e.name == name)
    }
}

impl<O: Serialize> ExperimentResult<O> {
    /// A quality gate: `Ok(average)` when the [`average`](Self::average) of the evaluation
    /// `name` is at least `threshold`, else an error whose message lists the worst items
    /// (their input, output or error, expected output and value). Return it from a test, or
    /// use [`assert_average`](Self::assert_average).
    ///
    /// ```
    /// use langfuse_core::experiments::QualityGateError;
    /// # use langfuse_core::experiments::{Evaluation, Experiment, ExperimentItem, ExperimentResult, Progress};
    /// # fn result() -> ExperimentResult<String> {
    /// #     let experiment = Experiment::new("capitals")
    /// #         .progress(Progress::Off)
    /// #         .task(async |_: &ExperimentItem| Ok::<_, std::io::Error>("Paris".to_owned()))
    /// #         .evaluator("exact_match", |e| {
    /// #             Evaluation::boolean("exact_match", e.expected_str() == Some(e.output.as_str()))
    /// #         });
    /// #     let items = vec![ExperimentItem::new("France").expected_output("Paris")];
    /// #     let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    /// #     runtime.block_on(experiment.run(items)).unwrap()
    /// # }
    /// // In a test returning `Result<(), QualityGateError>`:
    /// fn answers_stay_accurate() -> Result<(), QualityGateError> {
    ///     let result = result();
    ///     let accuracy = result.check_average("exact_match", 0.9)?;
    ///     println!("accuracy {accuracy:.2}");
    ///     Ok(())
    /// }
    /// # answers_stay_accurate().unwrap();
    /// ```
    #[allow(
        clippy::result_large_err,
        reason = "built once, when a gate fails: its size costs nothing worth a box"
    )]
    pub fn check_average(&self, name: &str, threshold: f64) -> Result<f64, QualityGateError> {
        let average = self.average(name).unwrap_or(0.0);
        if average >= threshold && !self.items.is_empty() {
            return Ok(average);
        }
        let mut ranked: Vec<&ItemResult<O>> = self.items.iter().collect();
        ranked.sort_by(|a, b| value_of(a, name).total_cmp(&value_of(b, name)));
        let worst = ranked
            .into_iter()
            .take(WORST_ITEMS)
            .map(|item| WorstItem {
                index: item.index,
                value: item.evaluation(name).and_then(|e| e.value.as_f64()),
                input: preview(&item.item.input),
                output: match &item.output {
                    Ok(output) => Ok(serde_json::to_value(output)
                        .map(|v| preview(&v))
                        .unwrap_or_else(|e| format!("<unserializable: {e}>"))),
                    Err(e) => Err(cut(e, PREVIEW_CHARS)),
                },
                expected: item.item.expected_output.as_ref().map(preview),
                comment: item.evaluation(name).and_then(|e| e.comment.clone()),
            })
            .collect();
        Err(QualityGateError {
            experiment: self.name.clone(),
            evaluation: name.to_owned(),
            average: self.average(name),
            threshold,
            items: self.items.len(),
            failed: self.failures().count(),
            worst,
            experiment_url: self.experiment_url.clone(),
        })
    }

    /// Panics with the [`check_average`](Self::check_average) message when the average of
    /// `name` is below `threshold`: a one-line CI gate.
    ///
    /// ```
    /// # use langfuse_core::experiments::{Evaluation, Experiment, ExperimentItem, ExperimentResult, Progress};
    /// # fn result() -> ExperimentResult<String> {
    /// #     let experiment = Experiment::new("capitals")
    /// #         .progress(Progress::Off)
    /// #         .task(async |_: &ExperimentItem| Ok::<_, std::io::Error>("Paris".to_owned()))
    /// #         .evaluator("exact_match", |e| {
    /// #             Evaluation::boolean("exact_match", e.expected_str() == Some(e.output.as_str()))
    /// #         });
    /// #     let items = vec![ExperimentItem::new("France").expected_output("Paris")];
    /// #     let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    /// #     runtime.block_on(experiment.run(items)).unwrap()
    /// # }
    /// result().assert_average("exact_match", 0.9);
    /// ```
    #[track_caller]
    pub fn assert_average(&self, name: &str, threshold: f64) -> f64 {
        match self.check_average(name, threshold) {
            Ok(average) => average,
            Err(e) => panic!("{e}"),
        }
    }
}

/// Items listed by a failed quality gate.
const WORST_ITEMS: usize = 5;
/// Characters shown of an input, output or expected output.
const PREVIEW_CHARS: usize = 80;

fn value_of<O>(item: &ItemResult<O>, name: &str) -> f64 {
    item.evaluation(name)
        .and_then(|e| e.value.as_f64())
        .unwrap_or(0.0)
}

fn preview(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => cut(text, PREVIEW_CHARS),
        other => cut(&other.to_string(), PREVIEW_CHARS),
    }
}

fn cut(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// A failed quality gate: see [`ExperimentResult::check_average`]. `Debug` shows the same
/// message as `Display`, so that a test returning it prints the worst items.
#[derive(Clone, PartialEq)]
pub struct QualityGateError {
    /// The experiment.
    pub experiment: String,
    /// The evaluation averaged.
    pub evaluation: String,
    /// Its average (`None` without items).
    pub average: Option<f64>,
    /// The threshold it missed.
    pub threshold: f64,
    /// Items in the run.
    pub items: usize,
    /// Items whose task failed.
    pub failed: usize,
    /// The lowest-valued items, worst first.
    pub worst: Vec<WorstItem>,
    /// The experiment's page in Langfuse, if known.
    pub experiment_url: Option<String>,
}

/// One item of a [`QualityGateError`].
#[derive(Debug, Clone, PartialEq)]
pub struct WorstItem {
    /// Its position in the data.
    pub index: usize,
    /// Its value of the evaluation (`None`: it has none).
    pub value: Option<f64>,
    /// Its input, shortened.
    pub input: String,
    /// Its output, shortened, or why the task failed.
    pub output: Result<String, String>,
    /// Its expected output, shortened.
    pub expected: Option<String>,
    /// The evaluation's comment.
    pub comment: Option<String>,
}

impl fmt::Display for QualityGateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.average {
            Some(average) => write!(
                f,
                "experiment {:?}: average {} is {average:.3}, below {:.3} ({} items, {} failed)",
                self.experiment, self.evaluation, self.threshold, self.items, self.failed
            )?,
            None => write!(
                f,
                "experiment {:?}: no items, so no average {} to compare with {:.3}",
                self.experiment, self.evaluation, self.threshold
            )?,
        }
        if !self.worst.is_empty() {
            write!(f, "\nworst items:")?;
        }
        for item in &self.worst {
            let value = item
                .value
                .map_or_else(|| "none".to_owned(), |v| format!("{v:.3}"));
            write!(
                f,
                "\n  #{} {} = {value}  input {}",
                item.index, self.evaluation, item.input
            )?;
            match &item.output {
                Ok(output) => write!(f, "  output {output}")?,
                Err(error) => write!(f, "  task failed: {error}")?,
            }
            if let Some(expected) = &item.expected {
                write!(f, "  expected {expected}")?;
            }
            if let Some(comment) = &item.comment {
                write!(f, "  ({comment})")?;
            }
        }
        if let Some(url) = &self.experiment_url {
            write!(f, "\nexperiment: {url}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for QualityGateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for QualityGateError {}

impl<O: Serialize> fmt::Display for ExperimentResult<O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            for item in &self.items {
                write!(
                    f,
                    "{:>3}. input {}",
                    item.index + 1,
                    preview(&item.item.input)
                )?;
                match &item.output {
                    Ok(output) => {
                        let output = serde_json::to_value(output)
                            .map(|v| preview(&v))
                            .unwrap_or_default();
                        write!(f, "  output {output}")?;
                    }
                    Err(error) => write!(f, "  FAILED: {}", cut(error, PREVIEW_CHARS))?,
                }
                if let Some(expected) = &item.item.expected_output {
                    write!(f, "  expected {}", preview(expected))?;
                }
                for evaluation in &item.evaluations {
                    write!(f, "  {}={}", evaluation.name, evaluation.value)?;
                }
                for (evaluator, error) in &item.evaluator_errors {
                    write!(f, "  {evaluator} FAILED: {}", cut(error, PREVIEW_CHARS))?;
                }
                writeln!(f)?;
            }
        }
        write!(f, "experiment {:?}", self.name)?;
        if let Some(description) = &self.description {
            write!(f, " - {description}")?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "run {:?} (experiment id {})",
            self.run_name, self.experiment_id
        )?;
        let failed = self.failures().count();
        writeln!(
            f,
            "{} items, {failed} failed, {:.2} s",
            self.items.len(),
            self.elapsed.as_secs_f64()
        )?;
        let mut names: Vec<&str> = Vec::new();
        for evaluation in self.items.iter().flat_map(|i| &i.evaluations) {
            if evaluation.value.as_f64().is_some() && !names.contains(&evaluation.name.as_str()) {
                names.push(&evaluation.name);
            }
        }
        if !names.is_empty() {
            writeln!(f, "average scores:")?;
            for name in names {
                writeln!(f, "  {name}: {:.3}", self.average(name).unwrap_or(0.0))?;
            }
        }
        let evaluator_errors: usize = self.items.iter().map(|i| i.evaluator_errors.len()).sum();
        if evaluator_errors > 0 {
            writeln!(f, "evaluator failures: {evaluator_errors}")?;
        }
        if !self.run_evaluations.is_empty() || !self.run_evaluator_errors.is_empty() {
            writeln!(f, "run evaluations:")?;
            for evaluation in &self.run_evaluations {
                write!(f, "  {}: {}", evaluation.name, evaluation.value)?;
                if let Some(comment) = &evaluation.comment {
                    write!(f, " ({comment})")?;
                }
                writeln!(f)?;
            }
            for (evaluator, error) in &self.run_evaluator_errors {
                writeln!(f, "  {evaluator} FAILED: {}", cut(error, PREVIEW_CHARS))?;
            }
        }
        if let Some(url) = &self.experiment_url {
            writeln!(f, "experiment: {url}")?;
        }
        Ok(())
    }
}
