//! `run_experiment` read from the recorder (`langfuse::testing`): the tree of each item run,
//! the experiment attributes on every one of its observations (the task's own, sync, async and
//! spawned, included), scores, failures and panics, bounded concurrency and the quality gate.
//! No client, keys or HTTP: the wire is `tests/experiment_wire.rs`'s business.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use langfuse::experiments::{
    Evaluation, EvaluatorInput, Experiment, ExperimentItem, ItemResult, Progress,
};
use langfuse::testing::{AttributeValue, RecordedObservation, Recorder, Recording};
use langfuse::{Level, ObservationType, observe};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

#[observe]
fn normalize(text: &str) -> String {
    text.trim().to_lowercase()
}

#[observe(as_type = "tool")]
async fn look_up(country: String) -> String {
    tokio::task::yield_now().await;
    match country.as_str() {
        "france" => "Paris",
        "japan" => "Tokyo",
        _ => "?",
    }
    .to_owned()
}

/// The task under test: sync and async observed functions, a spawned task, a manual span.
#[observe(as_type = "agent")]
async fn answer(question: String) -> Result<String, String> {
    let country = normalize(&question);
    let city = langfuse::spawn(look_up(country)).await.unwrap();
    let mut check = langfuse::start_observation("check").start();
    check.update(|c| {
        c.output(&true);
    });
    check.end();
    if city == "?" {
        return Err(format!("unknown country {question:?}"));
    }
    Ok(city)
}

fn data() -> Vec<ExperimentItem> {
    vec![
        ExperimentItem::new("France")
            .expected_output("Paris")
            .metadata(&json!({ "continent": "Europe" })),
        ExperimentItem::new("Japan").expected_output("Tokyo"),
    ]
}

fn exact_match(e: EvaluatorInput<'_, String>) -> Evaluation {
    Evaluation::boolean("exact_match", e.expected_str() == Some(e.output.as_str()))
}

fn str_attr<'a>(observation: &'a RecordedObservation, key: &str) -> Option<&'a str> {
    observation.attribute(key).and_then(AttributeValue::as_str)
}

/// SHA-256 of `text`, first 16 hex digits, by the independent `sha2`.
fn sha16(text: &str) -> String {
    Sha256::digest(text.as_bytes())[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The observations of the item trace whose run span has `input`.
fn item_trace<'a>(recording: &'a Recording, input: &str) -> Vec<&'a RecordedObservation> {
    let run = recording
        .all("experiment-item-run")
        .into_iter()
        .find(|o| o.input() == Some(json!(input)))
        .unwrap_or_else(|| panic!("no item run with input {input}"));
    recording.trace(run.trace_id())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_observation_of_an_item_run_carries_the_experiment() {
    let recorder = Recorder::new();
    let result = recorder
        .instrument(
            Experiment::new("capital-cities")
                .run_name("run-1")
                .description("capitals, answered")
                .metadata(&json!({ "model": "lookup-v1" }))
                .progress(Progress::Off)
                .task(async |item: &ExperimentItem| {
                    answer(item.input_str().unwrap().to_owned()).await
                })
                .evaluator("exact_match", exact_match)
                .run(data()),
        )
        .await
        .unwrap();
    let recording = recorder.recording();

    assert_eq!(result.run_name, "run-1");
    assert_eq!(result.experiment_id.len(), 16);
    assert_eq!(
        result.dataset_run_id, None,
        "local data belongs to no dataset"
    );
    assert_eq!(
        result.experiment_url, None,
        "no client, no project to link to"
    );
    assert_eq!(result.items.len(), 2);

    for (item, input) in data().iter().zip(["France", "Japan"]) {
        let trace = item_trace(&recording, input);
        let outline: Vec<&str> = trace.iter().map(|o| o.name()).collect();
        for name in [
            "experiment-item-run",
            "experiment-item-task",
            "answer",
            "normalize",
            "look_up",
            "check",
            "experiment-item-evaluation",
            "exact_match",
        ] {
            assert!(outline.contains(&name), "{name} missing from {outline:?}");
        }
        let find = |name: &str| *trace.iter().find(|o| o.name() == name).unwrap();
        let run = find("experiment-item-run");
        let task = find("experiment-item-task");
        assert_eq!(run.parent_id(), None, "each item is a trace of its own");
        assert_eq!(task.parent_id(), Some(run.id()));
        assert_eq!(find("answer").parent_id(), Some(task.id()));
        assert_eq!(find("look_up").parent_id(), Some(find("answer").id()));
        assert_eq!(
            find("experiment-item-evaluation").parent_id(),
            Some(run.id())
        );
        let evaluator = find("exact_match");
        assert_eq!(evaluator.kind(), ObservationType::Evaluator);
        assert_eq!(
            evaluator.parent_id(),
            Some(find("experiment-item-evaluation").id())
        );

        let item_id = sha16(input);
        for observation in &trace {
            let attr = |key: &str| str_attr(observation, key);
            let what = observation.name();
            assert_eq!(
                attr("langfuse.experiment.id"),
                Some(result.experiment_id.as_str()),
                "{what}"
            );
            assert_eq!(attr("langfuse.experiment.name"), Some("run-1"), "{what}");
            assert_eq!(
                attr("langfuse.experiment.description"),
                Some("capitals, answered"),
                "{what}"
            );
            assert_eq!(
                observation.json("langfuse.experiment.metadata"),
                Some(json!({ "model": "lookup-v1" })),
                "{what}"
            );
            assert_eq!(
                attr("langfuse.experiment.item.id"),
                Some(item_id.as_str()),
                "{what}"
            );
            assert_eq!(
                attr("langfuse.experiment.item.root_observation_id"),
                Some(task.id().to_string().as_str()),
                "{what}"
            );
            assert_eq!(
                observation.json("langfuse.experiment.item.expected_output"),
                item.expected_output.clone(),
                "{what}"
            );
            assert_eq!(
                observation.json("langfuse.experiment.item.metadata"),
                item.metadata.clone(),
                "{what}"
            );
            assert_eq!(attr("langfuse.experiment.dataset.id"), None, "{what}");
            assert_eq!(observation.environment(), Some("sdk-experiment"), "{what}");
        }
        assert_eq!(task.input(), Some(json!(input)));
        assert_eq!(task.output(), item.expected_output.clone());
        let metadata = run.metadata().unwrap();
        assert_eq!(metadata["experiment_name"], "capital-cities");
        assert_eq!(metadata["experiment_run_name"], "run-1");
        assert_eq!(metadata["model"], "lookup-v1");
    }
}

#[tokio::test]
async fn item_scores_go_on_the_root_observation_and_run_scores_on_the_experiment() {
    let recorder = Recorder::new();
    let result = recorder
        .instrument(
            Experiment::new("capital-cities")
                .progress(Progress::Off)
                .task(async |item: &ExperimentItem| {
                    answer(item.input_str().unwrap().to_owned()).await
                })
                .evaluator("exact_match", exact_match)
                .evaluator("length", |e: EvaluatorInput<'_, String>| {
                    Evaluation::numeric("length", e.output.len() as f64).comment("characters")
                })
                .run_evaluator("accuracy", |items: &[ItemResult<String>]| {
                    let hits = items
                        .iter()
                        .filter(|i| {
                            i.evaluation("exact_match").unwrap().value.as_f64() == Some(1.0)
                        })
                        .count();
                    Evaluation::numeric("accuracy", hits as f64 / items.len() as f64)
                })
                .run(data()),
        )
        .await
        .unwrap();
    let recording = recorder.recording();

    let item_scores: Vec<_> = recording
        .scores()
        .iter()
        .filter(|s| s.name() != "accuracy")
        .collect();
    assert_eq!(
        item_scores.len(),
        4,
        "two evaluations for each of two items"
    );
    for score in item_scores {
        let item = result
            .items
            .iter()
            .find(|i| i.trace_id == score.trace_id())
            .expect("the score of an item's trace");
        assert_eq!(score.observation_id(), item.observation_id);
        let root = recording
            .observations()
            .iter()
            .find(|o| Some(o.id()) == score.observation_id())
            .unwrap();
        assert_eq!(root.name(), "experiment-item-task");
        assert_eq!(score.environment(), Some("sdk-experiment"));
    }
    let run_score = recording.score("accuracy");
    assert_eq!(run_score.value(), &json!(1.0));
    assert_eq!(
        run_score.body()["datasetRunId"],
        json!(result.experiment_id),
        "run scores go to the experiment"
    );
    assert_eq!(run_score.trace_id(), None);
    assert_eq!(
        result.run_evaluation("accuracy").unwrap().value.as_f64(),
        Some(1.0)
    );
    let run_evaluation = recording.one("experiment-run-evaluation");
    assert_eq!(run_evaluation.environment(), Some("sdk-experiment"));
    assert_eq!(recording.one("accuracy").kind(), ObservationType::Evaluator);
}

#[tokio::test]
async fn failing_and_panicking_tasks_and_evaluators_are_recorded_and_the_run_goes_on() {
    let data = vec![
        ExperimentItem::new("France").expected_output("Paris"),
        ExperimentItem::new("Atlantis"),
        ExperimentItem::new("panic"),
        ExperimentItem::new("Japan").expected_output("Tokyo"),
    ];
    let recorder = Recorder::new();
    let result = recorder
        .instrument(
            Experiment::new("failures")
                .progress(Progress::Off)
                .task(async |item: &ExperimentItem| {
                    let question = item.input_str().unwrap().to_owned();
                    if question == "panic" {
                        panic!("the model client panicked");
                    }
                    answer(question).await
                })
                .evaluator("exact_match", exact_match)
                .evaluator("strict", |e: EvaluatorInput<'_, String>| {
                    if e.output == "Tokyo" {
                        Err("the judge is unreachable".to_owned())
                    } else {
                        Ok(Evaluation::boolean("strict", true))
                    }
                })
                .async_evaluator("flaky", async |e: EvaluatorInput<'_, String>| {
                    tokio::task::yield_now().await;
                    if e.output == "Paris" {
                        panic!("judge bug");
                    }
                    Evaluation::numeric("flaky", 0.5)
                })
                .run_evaluator(
                    "broken",
                    |_: &[ItemResult<String>]| -> Result<Evaluation, &str> { Err("no aggregate") },
                )
                .run(data),
        )
        .await
        .unwrap();
    let recording = recorder.recording();

    assert_eq!(result.items.len(), 4, "every item has a result");
    let failed: Vec<_> = result.failures().map(|i| i.index).collect();
    assert_eq!(failed, [1, 2]);
    assert_eq!(
        result.items[1].output,
        Err("unknown country \"Atlantis\"".to_owned())
    );
    assert_eq!(
        result.items[2].output,
        Err("panicked: the model client panicked".to_owned())
    );
    assert!(
        result.items[1].evaluations.is_empty(),
        "no evaluators for a failed task"
    );

    let atlantis = item_trace(&recording, "Atlantis");
    for name in ["experiment-item-run", "experiment-item-task", "answer"] {
        let observation = atlantis.iter().find(|o| o.name() == name).unwrap();
        assert_eq!(observation.level(), Level::Error, "{name}");
        assert_eq!(
            observation.status_message(),
            Some("unknown country \"Atlantis\""),
            "{name}"
        );
    }
    let panicked = item_trace(&recording, "panic");
    let task = panicked
        .iter()
        .find(|o| o.name() == "experiment-item-task")
        .unwrap();
    assert_eq!(task.level(), Level::Error);
    assert_eq!(
        task.status_message(),
        Some("panicked: the model client panicked")
    );
    assert!(task.is_error());

    // France: `flaky` panicked, `strict` and `exact_match` scored.
    let france = &result.items[0];
    assert_eq!(
        france.evaluator_errors,
        [("flaky".to_owned(), "panicked: judge bug".to_owned())]
    );
    assert_eq!(france.evaluations.len(), 2);
    let flaky = item_trace(&recording, "France")
        .into_iter()
        .find(|o| o.name() == "flaky")
        .unwrap();
    assert_eq!(flaky.level(), Level::Error);
    assert_eq!(flaky.status_message(), Some("panicked: judge bug"));
    // Japan: `strict` failed.
    let japan = &result.items[3];
    assert_eq!(
        japan.evaluator_errors,
        [("strict".to_owned(), "the judge is unreachable".to_owned())]
    );
    let strict = item_trace(&recording, "Japan")
        .into_iter()
        .find(|o| o.name() == "strict")
        .unwrap();
    assert_eq!(strict.level(), Level::Error);
    assert_eq!(
        strict.output(),
        Some(json!({ "error": "the judge is unreachable" }))
    );
    // Every evaluation that did succeed is scored.
    assert_eq!(recording.scores().len(), 4);

    assert_eq!(
        result.run_evaluator_errors,
        [("broken".to_owned(), "no aggregate".to_owned())]
    );
    assert_eq!(recording.one("broken").level(), Level::Error);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_more_items_run_at_once_than_set() {
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let data: Vec<_> = (0..12).map(|i| ExperimentItem::new(&i)).collect();
    let result = Experiment::new("concurrency")
        .max_concurrency(3)
        .progress(Progress::Off)
        .task(async |item: &ExperimentItem| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            running.fetch_sub(1, Ordering::SeqCst);
            Ok::<_, String>(item.input.clone())
        })
        .run(data)
        .await
        .unwrap();
    assert_eq!(
        most.load(Ordering::SeqCst),
        3,
        "three at a time, never more"
    );
    let outputs: Vec<Value> = result
        .items
        .iter()
        .map(|i| i.output.clone().unwrap())
        .collect();
    assert_eq!(
        outputs,
        (0..12).map(|i| json!(i)).collect::<Vec<_>>(),
        "in the data's order"
    );
}

#[tokio::test]
async fn the_experiment_id_can_be_given_and_is_random_otherwise() {
    let run = |id: Option<&str>| {
        let mut experiment = Experiment::new("ids").progress(Progress::Off);
        if let Some(id) = id {
            experiment = experiment.experiment_id(id);
        }
        experiment
            .task(async |item: &ExperimentItem| Ok::<_, String>(item.input.clone()))
            .run(vec![ExperimentItem::new("x")])
    };
    let first = run(None).await.unwrap().experiment_id;
    let second = run(None).await.unwrap().experiment_id;
    assert_ne!(first, second);
    let recorder = Recorder::new();
    let shared = recorder.instrument(run(Some("shared-7"))).await.unwrap();
    assert_eq!(shared.experiment_id, "shared-7");
    let recording = recorder.recording();
    assert_eq!(
        str_attr(
            recording.one("experiment-item-task"),
            "langfuse.experiment.id"
        ),
        Some("shared-7")
    );
}

#[tokio::test]
async fn a_quality_gate_names_the_worst_items() {
    let data = vec![
        ExperimentItem::new("France").expected_output("Paris"),
        ExperimentItem::new("Japan").expected_output("Tokyo"),
        ExperimentItem::new("Peru").expected_output("Lima"),
    ];
    let result = Experiment::new("gate")
        .progress(Progress::Off)
        .task(async |item: &ExperimentItem| answer(item.input_str().unwrap().to_owned()).await)
        .evaluator("exact_match", exact_match)
        .run(data)
        .await
        .unwrap();
    assert_eq!(
        result.average("exact_match"),
        Some(2.0 / 3.0),
        "a failed item counts 0"
    );
    assert!((result.check_average("exact_match", 0.6).unwrap() - 2.0 / 3.0).abs() < 1e-9);
    let error = result.check_average("exact_match", 0.9).unwrap_err();
    let message = error.to_string();
    assert!(
        message.starts_with(
            "experiment \"gate\": average exact_match is 0.667, below 0.900 (3 items, 1 failed)"
        ),
        "{message}"
    );
    assert!(
        message.contains("#2 exact_match = none  input Peru  task failed: unknown country \"Peru\"  expected Lima"),
        "{message}"
    );
    assert_eq!(error.worst[0].index, 2, "the worst item first");
    let panic = std::panic::catch_unwind(|| result.assert_average("exact_match", 0.9));
    assert!(panic.is_err());
    let summary = result.to_string();
    assert!(summary.contains("3 items, 1 failed"), "{summary}");
    assert!(summary.contains("exact_match: 0.667"), "{summary}");
}

#[tokio::test]
async fn a_task_that_works_before_returning_its_future_traces_under_the_item() {
    let recorder = Recorder::new();
    recorder
        .instrument(
            Experiment::new("eager")
                .progress(Progress::Off)
                .task(|item: &ExperimentItem| {
                    // Runs when the task is called, before any poll.
                    let country = normalize(item.input_str().unwrap());
                    async move { Ok::<_, String>(country) }
                })
                .run(vec![ExperimentItem::new("France")]),
        )
        .await
        .unwrap();
    let recording = recorder.recording();
    assert_eq!(recording.traces().len(), 1, "{}", recording.outline());
    let normalize = recording.one("normalize");
    assert_eq!(
        recording.parent_of(normalize).unwrap().name(),
        "experiment-item-task"
    );
    assert_eq!(normalize.environment(), Some("sdk-experiment"));
}
