//! An experiment on a Langfuse dataset, end to end on the wire: the dataset read from a
//! stand-in that checks requests against the OpenAPI spec, the spans decoded by the
//! independent `opentelemetry-proto` types, the scores as `POST /api/public/scores` bodies.
//! Langfuse v4 builds its Experiments view from exactly this: the `langfuse.experiment.*`
//! attributes on every observation of an item run, the experiment id derived by the server's
//! SHA-256 rule, scores on the item's root observation and on the experiment.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use langfuse::experiments::{
    Evaluation, EvaluatorInput, Experiment, ExperimentData, ExperimentError, ExperimentItem,
    ExperimentResult, ItemResult, Progress,
};
use langfuse::observe;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use support::datasets::{CREATED_AT, DatasetServer, PROJECT_ID};
use support::openapi::{assert_valid, operation};
use support::setup::{self, Tree, WAIT};
use support::{ReceivedSpan, Receiver, Reply, SCORES_PATH};

const DATASET_ID: &str = "cm9x1dataset0000000000001";
const ATTRIBUTES: [&str; 10] = [
    "langfuse.experiment.id",
    "langfuse.experiment.name",
    "langfuse.experiment.description",
    "langfuse.experiment.metadata",
    "langfuse.experiment.dataset.id",
    "langfuse.experiment.item.id",
    "langfuse.experiment.item.version",
    "langfuse.experiment.item.metadata",
    "langfuse.experiment.item.root_observation_id",
    "langfuse.experiment.item.expected_output",
];

#[observe(as_type = "tool")]
async fn look_up(country: String) -> String {
    match country.as_str() {
        "France" => "Paris",
        "Japan" => "Tokyo",
        _ => "Sydney",
    }
    .to_owned()
}

#[observe(as_type = "agent")]
async fn answer(country: String) -> Result<String, String> {
    Ok(langfuse::spawn(look_up(country)).await.unwrap())
}

/// The experiment id, derived independently: SHA-256 (the `sha2` crate) over the JSON array
/// written by hand, first 16 hex digits.
fn expected_experiment_id(project: &str, dataset: &str, run: &str) -> String {
    let seed = format!(r#"["langfuse-experiment-v1","{project}","{dataset}","{run}"]"#);
    Sha256::digest(seed.as_bytes())[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn stand_in(receiver: &Receiver, server: &DatasetServer) {
    let _ = receiver;
    server.add_dataset("capitals", DATASET_ID);
    for (id, country, capital, continent) in [
        ("item-fr", "France", "Paris", "Europe"),
        ("item-jp", "Japan", "Tokyo", "Asia"),
        ("item-au", "Australia", "Canberra", "Oceania"),
    ] {
        server.add_item(
            "capitals",
            id,
            json!(country),
            json!(capital),
            json!({ "continent": continent }),
            CREATED_AT,
        );
    }
}

/// Runs the experiment `run_name` over `data`: the lookup task, an exact-match evaluator, and
/// with `accuracy` a run evaluator.
async fn run_experiment(
    run_name: &str,
    data: impl Into<ExperimentData>,
    accuracy: bool,
) -> ExperimentResult<String> {
    let mut experiment = Experiment::new("capital-cities")
        .run_name(run_name)
        .description("capitals, answered by the lookup tool")
        .metadata(&json!({ "model": "lookup-v1", "temperature": 0 }))
        .max_concurrency(2)
        .progress(Progress::Off)
        .task(async |item: &ExperimentItem| answer(item.input_str().unwrap().to_owned()).await)
        .evaluator("exact_match", |e: EvaluatorInput<'_, String>| {
            Evaluation::boolean("exact_match", e.expected_str() == Some(e.output.as_str()))
        });
    if accuracy {
        experiment = experiment.run_evaluator("accuracy", |items: &[ItemResult<String>]| {
            let hits = items
                .iter()
                .filter_map(|i| i.evaluation("exact_match"))
                .filter(|e| e.value.as_f64() == Some(1.0))
                .count();
            Evaluation::numeric("accuracy", hits as f64 / items.len() as f64)
        });
    }
    experiment.run(data).await.unwrap()
}

fn str_attr<'a>(span: &'a ReceivedSpan, key: &str) -> &'a str {
    span.str_attr(key)
        .unwrap_or_else(|| panic!("{} has no {key}: {:?}", span.name(), span.attr_keys()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_experiment_on_a_dataset_reaches_langfuse_as_v4_reads_it() {
    own_process!();
    let receiver = Receiver::start();
    let server = DatasetServer::install(&receiver);
    stand_in(&receiver, &server);
    let langfuse = setup::init(&receiver);
    let version = humantime::parse_rfc3339("2026-02-01T00:00:00Z").unwrap();
    let dataset = langfuse
        .get_dataset_async("capitals")
        .await
        .unwrap()
        .at_version(version)
        .page_size(2);

    let result = run_experiment("nightly", &dataset, true).await;

    let experiment_id = expected_experiment_id(PROJECT_ID, DATASET_ID, "nightly");
    assert_eq!(result.experiment_id, experiment_id);
    assert_eq!(
        result.dataset_run_id.as_deref(),
        Some(experiment_id.as_str())
    );
    assert_eq!(
        result.experiment_url.as_deref(),
        Some(
            format!(
                "{}/project/{PROJECT_ID}/experiments/results?baseline={experiment_id}",
                receiver.base_url()
            )
            .as_str()
        )
    );
    assert_eq!(result.items.len(), 3);
    assert_eq!(result.average("exact_match"), Some(2.0 / 3.0));

    // Three items of six observations each, and the run evaluation's trace of two.
    let tree = Tree::new(receiver.wait_for_spans(20, WAIT));
    for item in &result.items {
        let trace_id = item.trace_id.unwrap().to_string();
        let spans: Vec<&ReceivedSpan> = tree
            .spans
            .iter()
            .filter(|s| s.trace_id() == trace_id)
            .collect();
        let names: Vec<&str> = spans.iter().map(|s| s.name()).collect();
        assert_eq!(spans.len(), 6, "{names:?}");
        let task = spans
            .iter()
            .find(|s| s.name() == "experiment-item-task")
            .unwrap();
        assert_eq!(
            Some(task.span_id()),
            item.observation_id.map(|o| o.to_string())
        );
        let item_id = item.item.dataset_item_id().unwrap();
        let stored = server
            .items()
            .into_iter()
            .find(|i| i["id"] == item_id)
            .unwrap();
        for span in &spans {
            for key in ATTRIBUTES {
                str_attr(span, key);
            }
            assert_eq!(str_attr(span, "langfuse.experiment.id"), experiment_id);
            assert_eq!(str_attr(span, "langfuse.experiment.name"), "nightly");
            assert_eq!(
                str_attr(span, "langfuse.experiment.description"),
                "capitals, answered by the lookup tool"
            );
            assert_eq!(
                span.json_attr("langfuse.experiment.metadata"),
                json!({ "model": "lookup-v1", "temperature": 0 })
            );
            assert_eq!(str_attr(span, "langfuse.experiment.dataset.id"), DATASET_ID);
            assert_eq!(str_attr(span, "langfuse.experiment.item.id"), item_id);
            assert_eq!(
                str_attr(span, "langfuse.experiment.item.version"),
                "2026-02-01T00:00:00.000Z"
            );
            assert_eq!(
                span.json_attr("langfuse.experiment.item.metadata"),
                stored["metadata"]
            );
            assert_eq!(
                str_attr(span, "langfuse.experiment.item.root_observation_id"),
                task.span_id()
            );
            assert_eq!(
                str_attr(span, "langfuse.experiment.item.expected_output"),
                stored["expectedOutput"].as_str().unwrap()
            );
            assert_eq!(str_attr(span, "langfuse.environment"), "sdk-experiment");
        }
        let metadata = task.json_attr("langfuse.observation.metadata");
        assert_eq!(metadata["dataset_id"], DATASET_ID);
        assert_eq!(metadata["dataset_item_id"], item_id);
    }

    // Scores: on each item's root observation, and the run's on the experiment.
    let scores = receiver.scores();
    assert_eq!(scores.len(), 4, "{scores:#?}");
    for score in &scores {
        assert_valid("CreateScoreRequest", score);
        assert_eq!(score["environment"], "sdk-experiment");
    }
    for item in &result.items {
        let score = scores
            .iter()
            .find(|s| s["traceId"] == json!(item.trace_id.unwrap().to_string()))
            .unwrap();
        assert_eq!(score["name"], "exact_match");
        assert_eq!(
            score["observationId"],
            json!(item.observation_id.unwrap().to_string())
        );
    }
    let run_score = scores.iter().find(|s| s["name"] == "accuracy").unwrap();
    assert_eq!(run_score["datasetRunId"], json!(experiment_id));
    assert!(run_score.get("traceId").is_none());

    // Nothing deprecated was called: no dataset-run-items, no dataset runs.
    for request in receiver.requests() {
        let (template, operation) = operation(&request.method, &request.path)
            .unwrap_or_else(|| panic!("{} {} is not in the spec", request.method, request.path));
        assert_ne!(
            operation["deprecated"],
            json!(true),
            "{} {template} is deprecated",
            request.method
        );
    }
    let problems = server.problems();
    assert!(problems.is_empty(), "{problems:#?}");

    // Another worker, or the run resumed, under the same name: the same experiment.
    let again = run_experiment("nightly", &dataset, false).await;
    assert_eq!(again.experiment_id, experiment_id);
    let other = run_experiment("nightly-2", &dataset, false).await;
    assert_eq!(
        other.experiment_id,
        expected_experiment_id(PROJECT_ID, DATASET_ID, "nightly-2")
    );
}

#[tokio::test]
async fn scores_answered_429_are_sent_again_and_the_run_waits_for_them() {
    own_process!();
    let receiver = Receiver::start();
    let refused = Arc::new(AtomicUsize::new(0));
    let counting = Arc::clone(&refused);
    let server = DatasetServer::install_with(&receiver, move |request| {
        let first_two = request.path == SCORES_PATH && counting.fetch_add(1, Ordering::SeqCst) < 2;
        first_two.then(|| {
            Reply::status(429)
                .with_header("retry-after", "0")
                .with_body(r#"{"message":"rate limit exceeded"}"#)
        })
    });
    stand_in(&receiver, &server);
    let langfuse = setup::init(&receiver);
    let items: Vec<ExperimentItem> = langfuse
        .get_dataset_async("capitals")
        .await
        .unwrap()
        .items_async()
        .collect()
        .await
        .unwrap()
        .into_iter()
        .map(ExperimentItem::from)
        .collect();

    // Dataset items without their dataset: the project id comes from the API.
    let result = run_experiment("rate-limited", items, false).await;
    assert_eq!(
        result.experiment_id,
        expected_experiment_id(PROJECT_ID, DATASET_ID, "rate-limited")
    );

    // The run flushed before returning: every score is delivered by now.
    let attempts = receiver.requests_to(SCORES_PATH);
    let statuses: Vec<u16> = attempts.iter().map(|r| r.reply.status).collect();
    assert_eq!(
        statuses.iter().filter(|&&s| s == 429).count(),
        2,
        "{statuses:?}"
    );
    let delivered: Vec<Value> = receiver.scores();
    assert_eq!(
        delivered.len(),
        3,
        "every item's score, after the 429s: {statuses:?}"
    );
    let stats = langfuse.stats();
    assert_eq!(stats.scores_exported, 3);
    assert_eq!(stats.scores_pending, 0);
    let problems = server.problems();
    assert!(problems.is_empty(), "{problems:#?}");
}

#[tokio::test]
async fn a_sampled_out_item_sends_nothing_and_its_task_traces_nothing() {
    own_process!();
    let receiver = Receiver::start();
    let server = DatasetServer::install(&receiver);
    stand_in(&receiver, &server);
    let langfuse = setup::config_for(&receiver)
        .sample_rate(0.0)
        .init()
        .expect("valid test configuration");
    let data = vec![
        ExperimentItem::new("France").expected_output("Paris"),
        ExperimentItem::new("Japan").expected_output("Tokyo"),
    ];

    let result = run_experiment("sampled-out", data, true).await;

    // The task and the evaluators ran; nothing of theirs was recorded.
    assert_eq!(result.average("exact_match"), Some(1.0));
    assert!(result.items.iter().all(|i| i.trace_id.is_none()));
    let report = langfuse.flush(WAIT);
    assert!(report.is_complete());
    assert!(receiver.spans().is_empty(), "{:?}", receiver.spans());
    assert!(receiver.scores().is_empty(), "{:?}", receiver.scores());
    let stats = langfuse.stats();
    assert_eq!(stats.exported, 0);
    assert_eq!(
        stats.started, 0,
        "no observation of an unrecorded item starts a trace"
    );
}

#[tokio::test]
async fn a_dataset_that_cannot_be_read_fails_the_run_with_the_servers_message() {
    own_process!();
    let receiver = Receiver::start();
    let server = DatasetServer::install(&receiver);
    stand_in(&receiver, &server);
    let langfuse = setup::config_for(&receiver)
        .max_retries(1)
        .init()
        .expect("valid test configuration");
    let dataset = langfuse.get_dataset_async("capitals").await.unwrap();
    receiver.enqueue([
        Reply::status(503).with_body(r#"{"message":"maintenance"}"#),
        Reply::status(503).with_body(r#"{"message":"maintenance"}"#),
    ]);

    let error = Experiment::new("capital-cities")
        .progress(Progress::Off)
        .task(async |item: &ExperimentItem| answer(item.input_str().unwrap().to_owned()).await)
        .run(&dataset)
        .await
        .unwrap_err();

    match error {
        ExperimentError::Dataset(e) => {
            assert_eq!(e.status(), Some(503));
            assert!(e.message().starts_with("maintenance"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    assert!(receiver.spans().is_empty(), "no item ran");
}
