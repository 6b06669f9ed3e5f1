//! Runs an experiment over a small local dataset: a task that answers questions about capital
//! cities (one of its answers is wrong, one question makes it fail), an exact-match evaluator,
//! and a run evaluator for the accuracy.
//!
//! ```text
//! cargo run --example experiment
//! ```
//!
//! Without `LANGFUSE_PUBLIC_KEY` / `LANGFUSE_SECRET_KEY` it prints each item's trace on stderr
//! (the console exporter) and the result on stdout. With them, the run goes to Langfuse, shows
//! in its Experiments view, and the result ends with the experiment's URL.

use std::time::Duration;

use langfuse::experiments::{Evaluation, Experiment, ExperimentItem, ItemResult};
use langfuse::{ExporterKind, Langfuse, observe};

/// The "model": a lookup with a deliberate mistake and a deliberate failure.
#[observe(as_type = "generation")]
async fn ask_model(country: &str) -> Result<String, String> {
    tokio::time::sleep(Duration::from_millis(20)).await;
    langfuse::update_current_generation(|g| {
        g.model("capitals-lookup-v1")
            .usage_details(&serde_json::json!({ "input": 12, "output": 2 }));
    });
    match country {
        "France" => Ok("Paris".into()),
        "Japan" => Ok("Tokyo".into()),
        "Australia" => Ok("Sydney".into()), // wrong: the evaluator catches it
        "Atlantis" => Err(format!("no such country: {country}")),
        _ => Ok("I don't know".into()),
    }
}

/// The task under test: one item in, one answer out.
#[observe]
async fn answer(country: String) -> Result<String, String> {
    ask_model(&country).await.map(|city| city.trim().to_owned())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let keys = std::env::var_os("LANGFUSE_PUBLIC_KEY").is_some()
        && std::env::var_os("LANGFUSE_SECRET_KEY").is_some();
    let mut builder = Langfuse::builder();
    if !keys {
        builder = builder.exporter(ExporterKind::Console);
    }
    let _langfuse = builder.init()?;

    let data = vec![
        ExperimentItem::new("France").expected_output("Paris"),
        ExperimentItem::new("Japan").expected_output("Tokyo"),
        ExperimentItem::new("Australia").expected_output("Canberra"),
        ExperimentItem::new("Atlantis").expected_output("Poseidonis"),
    ];

    let result = Experiment::new("capital-cities")
        .description("Capitals of four countries, one of them fictional")
        .metadata(&serde_json::json!({ "model": "capitals-lookup-v1" }))
        .max_concurrency(2)
        .task(async |item: &ExperimentItem| {
            answer(item.input_str().unwrap_or_default().to_owned()).await
        })
        .evaluator("exact_match", |e| {
            let expected = e.expected_output().and_then(|v| v.as_str());
            Evaluation::boolean("exact_match", expected == Some(e.output.as_str()))
        })
        .run_evaluator("accuracy", |items: &[ItemResult<String>]| {
            let correct = items
                .iter()
                .filter_map(|i| i.evaluation("exact_match"))
                .filter(|e| e.value.as_f64() == Some(1.0))
                .count();
            Evaluation::numeric("accuracy", correct as f64 / items.len().max(1) as f64)
                .comment(format!("{correct} of {} items", items.len()))
        })
        .run(data)
        .await?;

    print!("{result:#}");
    Ok(())
}
