//! The datasets API against a stand-in that checks every request against Langfuse's OpenAPI
//! spec and answers in the shape of its response schemas (`tests/support/datasets.rs`): lazy
//! paging at a version, creating datasets and items, and errors that carry the server's
//! message. Each test starts a client of its own against its own stand-in.

mod support;

use std::time::Duration;

use langfuse::datasets::{DatasetError, DatasetStatus, NewDataset, NewDatasetItem};
use langfuse::{ObservationId, TraceId};
use serde_json::{Value, json};
use support::datasets::{CREATED_AT, DatasetServer, PROJECT_ID};
use support::setup::{self, PUBLIC_KEY};
use support::{Receiver, Reply};

/// A stand-in with the dataset `capitals` of `count` items (`item-1`...), the client pointed
/// at it.
fn stand_in(count: usize) -> (Receiver, DatasetServer, langfuse::LangfuseGuard) {
    let receiver = Receiver::start();
    let server = DatasetServer::install(&receiver);
    server.add_dataset("capitals", "ds-capitals");
    for i in 1..=count {
        server.add_item(
            "capitals",
            &format!("item-{i}"),
            json!({ "country": format!("country {i}") }),
            json!(format!("capital {i}")),
            json!({ "index": i }),
            CREATED_AT,
        );
    }
    let guard = setup::config_for(&receiver)
        .max_retries(2)
        .init()
        .expect("valid test configuration");
    (receiver, server, guard)
}

fn assert_conforms(server: &DatasetServer) {
    let problems = server.problems();
    assert!(
        problems.is_empty(),
        "not as the spec defines: {problems:#?}"
    );
}

#[tokio::test]
async fn items_are_fetched_a_page_at_a_time_as_they_are_consumed() {
    own_process!();
    let (_receiver, server, langfuse) = stand_in(5);
    let dataset = langfuse
        .get_dataset_async("capitals")
        .await
        .unwrap()
        .page_size(2);
    assert_eq!(dataset.id(), "ds-capitals");
    assert_eq!(dataset.name(), "capitals");
    assert_eq!(dataset.project_id(), PROJECT_ID);
    assert_eq!(dataset.description(), Some("the capitals dataset"));
    assert_eq!(dataset.metadata(), Some(&json!({ "owner": "tests" })));
    assert!(server.pages().is_empty(), "get_dataset reads no items");

    let mut items = dataset.items_async();
    let first = items.next().await.unwrap().unwrap();
    assert_eq!(first.id, "item-1");
    assert_eq!(first.dataset_id, "ds-capitals");
    assert_eq!(first.input, json!({ "country": "country 1" }));
    assert_eq!(first.expected_output, Some(json!("capital 1")));
    assert_eq!(first.metadata, Some(json!({ "index": 1 })));
    assert_eq!(first.status, DatasetStatus::Active);
    assert_eq!(first.version, None);
    assert_eq!(items.total(), Some(5));
    items.next().await.unwrap().unwrap();
    assert_eq!(
        server.pages().len(),
        1,
        "two items come from the first page"
    );
    items.next().await.unwrap().unwrap();
    assert_eq!(
        server.pages().len(),
        2,
        "the third item needs the second page"
    );

    let rest = items.collect().await.unwrap();
    assert_eq!(
        rest.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
        ["item-4", "item-5"]
    );
    assert_eq!(
        server.pages(),
        [(1, 2, None), (2, 2, None), (3, 2, None)],
        "one request per page, and none past the last"
    );
    assert_conforms(&server);
}

#[test]
fn a_dataset_read_at_a_version_pins_every_page_and_item_to_it() {
    own_process!();
    let (_receiver, server, langfuse) = stand_in(3);
    server.add_item(
        "capitals",
        "added-later",
        json!("later"),
        Value::Null,
        Value::Null,
        "2026-03-01T00:00:00.000Z",
    );
    let version = humantime::parse_rfc3339("2026-02-01T10:20:30.456Z").unwrap();

    // The blocking forms, from a plain thread.
    let dataset = langfuse
        .get_dataset("capitals")
        .unwrap()
        .at_version(version + Duration::from_nanos(789))
        .page_size(2);
    let items: Vec<_> = dataset.items().collect::<Result<_, _>>().unwrap();
    assert_eq!(
        items.len(),
        3,
        "the item added after the version is left out"
    );
    assert!(
        items
            .iter()
            .all(|i| i.version == Some(version + Duration::from_nanos(789)))
    );
    let versions: Vec<_> = server.pages().into_iter().map(|(_, _, v)| v).collect();
    assert_eq!(
        versions,
        [
            Some("2026-02-01T10:20:30.456Z".to_owned()),
            Some("2026-02-01T10:20:30.456Z".to_owned())
        ]
    );

    let latest: Vec<_> = langfuse
        .get_dataset("capitals")
        .unwrap()
        .items()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(latest.len(), 4);
    assert_conforms(&server);
}

#[tokio::test]
async fn datasets_and_items_are_created_as_the_spec_defines() {
    own_process!();
    let (receiver, server, langfuse) = stand_in(0);
    let dataset = langfuse
        .create_dataset_async(
            NewDataset::new("qa/2026 ü")
                .description("questions")
                .metadata(&json!({ "team": "evals" }))
                .input_schema(&json!({ "type": "object" })),
        )
        .await
        .unwrap();
    assert_eq!(dataset.name(), "qa/2026 ü");
    assert_eq!(dataset.input_schema(), Some(&json!({ "type": "object" })));

    let trace: TraceId = "4bf92f3577b34da6a3ce929d0e0e4736".parse().unwrap();
    let span: ObservationId = "00f067aa0ba902b7".parse().unwrap();
    let item = langfuse
        .create_dataset_item_async(
            NewDatasetItem::new("qa/2026 ü", &json!({ "question": "What is Langfuse?" }))
                .expected_output("An LLM engineering platform")
                .metadata(&json!({ "source": "support" }))
                .source_observation(trace, span),
        )
        .await
        .unwrap();
    assert_eq!(item.dataset_name, "qa/2026 ü");
    assert_eq!(
        item.source_trace_id.as_deref(),
        Some("4bf92f3577b34da6a3ce929d0e0e4736")
    );
    assert_eq!(
        item.source_observation_id.as_deref(),
        Some("00f067aa0ba902b7")
    );
    assert_eq!(
        item.expected_output,
        Some(json!("An LLM engineering platform"))
    );
    // No id given: the SDK drew one, so that a retried request upserts the same item.
    assert_eq!(item.id.len(), 36, "{}", item.id);

    let archived = langfuse
        .create_dataset_item(
            NewDatasetItem::new("qa/2026 ü", "old question")
                .id("item-7")
                .status(DatasetStatus::Archived),
        )
        .unwrap();
    assert_eq!(archived.id, "item-7");
    assert_eq!(archived.status, DatasetStatus::Archived);

    // The name is one path segment, however many slashes it has.
    let read = langfuse.get_dataset_async("qa/2026 ü").await.unwrap();
    assert_eq!(read.id(), dataset.id());
    let get = receiver
        .requests()
        .into_iter()
        .find(|r| r.method == "GET" && r.path.starts_with("/api/public/v2/datasets/"))
        .unwrap();
    assert_eq!(get.path, "/api/public/v2/datasets/qa%2F2026%20%C3%BC");

    let posts = receiver.requests_to("/api/public/dataset-items");
    let body: Value = serde_json::from_slice(&posts[0].decoded_body().unwrap()).unwrap();
    assert_eq!(body["sourceTraceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(body["sourceObservationId"], "00f067aa0ba902b7");
    assert_eq!(body["input"], json!({ "question": "What is Langfuse?" }));
    for request in receiver.requests() {
        assert_eq!(request.header("x-langfuse-public-key"), Some(PUBLIC_KEY));
        assert!(
            request
                .header("authorization")
                .unwrap()
                .starts_with("Basic ")
        );
        assert_eq!(request.header("x-langfuse-sdk-name"), Some("rust"));
    }
    assert_conforms(&server);
}

#[tokio::test]
async fn errors_carry_the_servers_message() {
    own_process!();
    let (receiver, server, langfuse) = stand_in(1);

    match langfuse.get_dataset_async("missing").await {
        Err(DatasetError::NotFound { message }) => assert_eq!(message, "Dataset not found"),
        other => panic!("{other:?}"),
    }

    receiver.enqueue([Reply::status(401).with_body(r#"{"message":"Invalid credentials"}"#)]);
    let error = langfuse.get_dataset_async("capitals").await.unwrap_err();
    assert_eq!(error.status(), Some(401));
    assert!(
        matches!(error, DatasetError::Unauthorized { .. }),
        "{error:?}"
    );
    assert_eq!(error.message(), "Invalid credentials");

    receiver.enqueue([Reply::status(400).with_body(
        r#"{"message":"Invalid request data","error":"input does not match the dataset's schema"}"#,
    )]);
    let error = langfuse
        .create_dataset_item_async(NewDatasetItem::new("capitals", "q"))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        DatasetError::Rejected {
            status: 400,
            message: "Invalid request data (input does not match the dataset's schema)".into()
        }
    );

    // 429 and 5xx are retried (honouring Retry-After), then answered.
    receiver.enqueue([
        Reply::status(429).with_header("retry-after", "0"),
        Reply::status(503),
    ]);
    let dataset = langfuse.get_dataset_async("capitals").await.unwrap();
    assert_eq!(dataset.id(), "ds-capitals");

    // Until the retries run out (two, in this configuration).
    receiver.enqueue([
        Reply::status(502),
        Reply::status(502),
        Reply::status(502).with_body("Bad gateway"),
    ]);
    let error = dataset.items_async().collect().await.unwrap_err();
    assert!(error.is_transient(), "{error:?}");
    assert_eq!(error.status(), Some(502));
    assert!(error.message().contains("Bad gateway"), "{error}");

    // Nothing is sent for a request that cannot be valid.
    let before = receiver.requests().len();
    let error = langfuse
        .create_dataset_async(NewDataset::new(" "))
        .await
        .unwrap_err();
    assert!(
        matches!(error, DatasetError::InvalidRequest(_)),
        "{error:?}"
    );
    assert_eq!(receiver.requests().len(), before);
    assert_conforms(&server);
}

#[test]
fn without_keys_there_is_no_dataset_api() {
    own_process!();
    let _guard = langfuse::Langfuse::builder()
        .ignore_environment()
        .exporter(langfuse::ExporterKind::Console)
        .init()
        .unwrap();
    let error = langfuse::get_client().get_dataset("capitals").unwrap_err();
    assert!(matches!(error, DatasetError::NotConfigured(_)), "{error:?}");
}
