//! `#[observe(parent = expr)]`: a function given a W3C `traceparent` joins the caller's trace
//! under the caller's span and is marked as this service's root; a missing or invalid header
//! leaves it where it would be without one.
//!
//! The trees are read from the in-memory recorder (`langfuse::testing`), with the span ids and
//! the `as_root` mark the exporter would send.

mod support;

use langfuse::testing::{self, RecordedObservation, Recorder, Recording};
use langfuse::{ObservationContext, observe};
use support::recorded::Attributes as _;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN_ID: &str = "00f067aa0ba902b7";
const HEADER: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
/// The async test continues a remote trace of its own: recorders route a trace by its id, so
/// of two tests continuing the same remote trace at the same time, the first would receive the
/// observations of both.
const ASYNC_TRACE_ID: &str = "0af7651916cd43dd8448eb211c80319c";
const ASYNC_HEADER: &str = "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01";
const AS_ROOT: &str = "langfuse.internal.as_root";
/// What Langfuse v4 reads (its events table) for the same mark.
const IS_APP_ROOT: &str = "langfuse.internal.is_app_root";

#[observe]
fn load_user(id: u32) -> String {
    format!("user {id}")
}

/// An HTTP handler: the header is optional, as it is in a request.
#[observe(parent = traceparent)]
fn handle(traceparent: Option<&str>, id: u32) -> String {
    load_user(id)
}

#[observe]
async fn query(id: u32) -> u32 {
    tokio::task::yield_now().await;
    id * 2
}

#[observe(parent = headers.traceparent.as_deref())]
async fn handle_async(headers: Headers, id: u32) -> u32 {
    query(id).await
}

#[derive(Debug, serde::Serialize)]
struct Headers {
    traceparent: Option<String>,
}

#[observe]
fn local_request(traceparent: Option<&str>) -> String {
    handle(traceparent, 9)
}

fn with_input<'a>(spans: &[&'a RecordedObservation], input: &str) -> &'a RecordedObservation {
    spans
        .iter()
        .copied()
        .find(|s| s.str_attr("langfuse.observation.input") == Some(input))
        .unwrap_or_else(|| panic!("no span with input {input}"))
}

/// The remote parent's trace and span, `as_root`, and a child that is an ordinary child.
fn assert_continues_the_caller(
    recording: &Recording,
    trace_id: &str,
    span: &RecordedObservation,
    child: &RecordedObservation,
) {
    assert_eq!(
        span.trace_id().to_string(),
        trace_id,
        "{} joins the caller's trace",
        span.name()
    );
    assert_eq!(
        span.parent_id().map(|id| id.to_string()).as_deref(),
        Some(CALLER_SPAN_ID)
    );
    assert_eq!(span.bool_attr(AS_ROOT), Some(true));
    assert_eq!(span.bool_attr(IS_APP_ROOT), Some(true));
    assert_eq!(recording.parent_of(child), Some(span));
    assert_eq!(child.trace_id().to_string(), trace_id);
    assert!(
        !child.has_attr(AS_ROOT),
        "only the first observation is the root"
    );
    assert!(
        !child.has_attr(IS_APP_ROOT),
        "only the first observation is the root"
    );
}

#[test]
fn a_valid_traceparent_continues_the_callers_trace() {
    let recorder = Recorder::new();
    assert_eq!(recorder.in_scope(|| handle(Some(HEADER), 1)), "user 1");

    let recording = recorder.recording();
    assert_eq!(recording.len(), 2);
    assert_continues_the_caller(
        &recording,
        TRACE_ID,
        recording.one("handle"),
        recording.one("load_user"),
    );
    assert_eq!(
        recording
            .one("handle")
            .str_attr("langfuse.observation.input"),
        Some(format!(r#"{{"traceparent":"{HEADER}","id":1}}"#).as_str()),
        "the header is still an ordinary argument"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_async_function_continues_the_callers_trace() {
    let recorder = Recorder::new();
    let headers = Headers {
        traceparent: Some(ASYNC_HEADER.to_owned()),
    };
    // Spawned, so the first poll (where the parent is read) runs on a worker thread.
    let task = tokio::spawn(recorder.instrument(handle_async(headers, 4)));
    assert_eq!(task.await.unwrap(), 8);

    let recording = recorder.recording();
    assert_eq!(recording.len(), 2);
    assert_continues_the_caller(
        &recording,
        ASYNC_TRACE_ID,
        recording.one("handle_async"),
        recording.one("query"),
    );
}

#[test]
fn a_missing_or_invalid_traceparent_falls_back_to_the_current_context() {
    let recording = testing::record(|| {
        handle(None, 2);
        handle(Some("00-not-a-traceparent-01"), 3);
        handle(Some(&HEADER.to_uppercase()), 4);
        local_request(None);
    });

    assert_eq!(recording.len(), 9);
    let handles = recording.all("handle");
    assert_eq!(handles.len(), 4);
    for input in [
        r#"{"traceparent":null,"id":2}"#,
        r#"{"traceparent":"00-not-a-traceparent-01","id":3}"#,
        &format!(r#"{{"traceparent":"{}","id":4}}"#, HEADER.to_uppercase()),
    ] {
        let root = with_input(&handles, input);
        assert_eq!(root.parent_id(), None, "{input}: a new trace");
        assert_ne!(root.trace_id().to_string(), TRACE_ID);
        for key in [AS_ROOT, IS_APP_ROOT] {
            assert!(!root.has_attr(key), "{input}: a local root needs no mark");
        }
    }
    let nested = with_input(&handles, r#"{"traceparent":null,"id":9}"#);
    let caller = recording.one("local_request");
    assert_eq!(
        recording.parent_of(nested),
        Some(caller),
        "a child of the caller"
    );
    assert_eq!(nested.trace_id(), caller.trace_id());
    assert!(!nested.has_attr(AS_ROOT));
    assert!(!nested.has_attr(IS_APP_ROOT));
    assert_eq!(recording.traces().len(), 4, "no trace joined another");
}

#[observe(parent = context)]
fn resume(context: &ObservationContext) -> u8 {
    1
}

#[observe]
fn capture_context() -> ObservationContext {
    langfuse::current_context()
}

#[test]
fn an_observation_context_is_a_local_parent() {
    let recording = testing::record(|| {
        let context = capture_context();
        resume(&context);
    });

    assert_eq!(recording.len(), 2);
    let resumed = recording.one("resume");
    assert_eq!(
        recording.parent_of(resumed),
        Some(recording.one("capture_context"))
    );
    assert!(!resumed.has_attr(AS_ROOT), "the parent is in this process");
    assert!(
        !resumed.has_attr(IS_APP_ROOT),
        "the parent is in this process"
    );
}
