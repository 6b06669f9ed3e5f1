//! Ids a program can see: `current_trace_id`, `current_observation_id` and
//! `current_traceparent` name exactly what the server receives, and `create_trace_id(seed)`
//! derives the id every Langfuse SDK derives from the same seed.
//!
//! The ids sent are read from the in-memory recorder (`langfuse::testing`): its spans carry the
//! trace and span ids the exporter would encode.

use langfuse::testing::{self, Recorder};
use langfuse::{ObservationContext, continue_trace, create_trace_id, observe, start_observation};
use sha2::{Digest as _, Sha256};

/// What the code inside an observation saw.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    trace_id: String,
    observation_id: String,
    traceparent: String,
}

fn seen_here() -> Seen {
    Seen {
        trace_id: langfuse::current_trace_id().expect("a trace").to_string(),
        observation_id: langfuse::current_observation_id()
            .expect("an observation")
            .to_string(),
        traceparent: langfuse::current_traceparent().expect("a traceparent"),
    }
}

#[observe(capture_input = false, capture_output = false)]
fn sync_child() -> Seen {
    seen_here()
}

#[observe(capture_input = false, capture_output = false)]
async fn async_child() -> Seen {
    tokio::task::yield_now().await;
    seen_here()
}

#[observe(capture_input = false, capture_output = false)]
async fn parent() -> Vec<(&'static str, Seen)> {
    let mut seen = vec![("parent", seen_here())];
    seen.push(("sync_child", sync_child()));
    seen.push(("async_child", async_child().await));
    // After a child ended, the ids are the parent's again.
    seen.push(("parent", seen_here()));
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn current_ids_and_traceparent_name_what_the_server_receives() {
    assert_eq!(langfuse::current_trace_id(), None);
    assert_eq!(langfuse::current_observation_id(), None);
    assert_eq!(langfuse::current_traceparent(), None);

    let recorder = Recorder::new();
    let mut seen = tokio::spawn(recorder.instrument(parent())).await.unwrap();
    let mut manual = recorder.in_scope(|| start_observation("manual").start());
    {
        let _current = manual.enter();
        seen.push(("manual", seen_here()));
    }
    manual.end();
    assert_eq!(
        langfuse::current_traceparent(),
        None,
        "nothing current after"
    );

    let recording = recorder.recording();
    assert_eq!(recording.len(), 4);
    for (name, seen) in seen {
        let span = recording.one(name);
        let (trace_id, span_id) = (span.trace_id().to_string(), span.id().to_string());
        assert_eq!(seen.trace_id, trace_id, "{name}");
        assert_eq!(seen.observation_id, span_id, "{name}");
        assert_eq!(
            seen.traceparent,
            format!("00-{trace_id}-{span_id}-01"),
            "{name}: version 00, this trace, this observation as the parent, sampled"
        );
    }
}

/// The first 16 bytes of SHA-256, as lowercase hex, computed here rather than by the SDK.
fn sha256_prefix(seed: &str) -> String {
    Sha256::digest(seed.as_bytes())[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn a_seeded_trace_id_is_the_first_16_bytes_of_the_seeds_sha256() {
    for seed in [
        "conversation-42",
        "order-4711",
        "héllo 🦀",
        "a",
        &"long seed ".repeat(100),
    ] {
        assert_eq!(
            create_trace_id(Some(seed)).to_string(),
            sha256_prefix(seed),
            "{seed:?}"
        );
    }
    // The same values from python3, as langfuse-python's `create_trace_id(seed=...)` computes
    // them: hashlib.sha256(seed.encode("utf-8")).digest()[:16].hex()
    assert_eq!(
        create_trace_id(Some("conversation-42")).to_string(),
        "c5119362c78ef8e9b008218e214e3ac8"
    );
    assert_eq!(
        create_trace_id(Some("héllo 🦀")).to_string(),
        "a0b678a5713fed2dee7c25ac8488f61b"
    );
    // Without a seed (or with an empty one), a fresh random id each time.
    assert_ne!(create_trace_id(None), create_trace_id(None));
    assert_ne!(create_trace_id(Some("")), create_trace_id(Some("")));
}

#[observe(capture_input = false, capture_output = false)]
async fn process_order() {
    tokio::task::yield_now().await;
}

#[tokio::test(flavor = "current_thread")]
async fn work_continued_under_a_seeded_id_lands_in_that_trace() {
    // Two services that share only the order number find the same trace.
    let trace_id = create_trace_id(Some("order-4711"));
    let traceparent = format!("00-{trace_id}-00f067aa0ba902b7-01");
    let recording = testing::record_async(async {
        continue_trace(&traceparent, process_order()).await;
        start_observation("refund")
            .parent(ObservationContext::from_traceparent(&traceparent).unwrap())
            .start()
            .end();
    })
    .await;

    assert_eq!(recording.len(), 2);
    for name in ["process_order", "refund"] {
        assert_eq!(
            recording.one(name).trace_id().to_string(),
            sha256_prefix("order-4711"),
            "{name}"
        );
    }
}
