//! `#[observe(parent = expr)]`: a function given a W3C `traceparent` joins the caller's trace
//! under the caller's span and is marked as this service's root; a missing or invalid header
//! leaves it where it would be without one.

mod support;

use langfuse::{ObservationContext, observe};
use support::setup::{self, Tree, WAIT};
use support::{ReceivedSpan, Receiver};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN_ID: &str = "00f067aa0ba902b7";
const HEADER: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const AS_ROOT: &str = "langfuse.internal.as_root";

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

fn with_input<'a>(spans: &[&'a ReceivedSpan], input: &str) -> &'a ReceivedSpan {
    spans
        .iter()
        .copied()
        .find(|s| s.str_attr("langfuse.observation.input") == Some(input))
        .unwrap_or_else(|| panic!("no span with input {input}"))
}

/// The remote parent's trace and span, `as_root`, and a child that is an ordinary child.
fn assert_continues_the_caller(tree: &Tree, span: &ReceivedSpan, child: &ReceivedSpan) {
    assert_eq!(
        span.trace_id(),
        TRACE_ID,
        "{} joins the caller's trace",
        span.name()
    );
    assert_eq!(span.parent_span_id().as_deref(), Some(CALLER_SPAN_ID));
    assert_eq!(span.bool_attr(AS_ROOT), Some(true));
    assert_eq!(tree.parent_of(child), Some(span));
    assert_eq!(child.trace_id(), TRACE_ID);
    assert!(
        !child.has_attr(AS_ROOT),
        "only the first observation is the root"
    );
}

#[test]
fn a_valid_traceparent_continues_the_callers_trace() {
    let receiver = Receiver::start();
    let langfuse = setup::init(&receiver);

    assert_eq!(handle(Some(HEADER), 1), "user 1");
    langfuse.flush(WAIT);

    let tree = Tree::new(receiver.wait_for_spans(2, WAIT));
    assert_continues_the_caller(&tree, tree.one("handle"), tree.one("load_user"));
    assert_eq!(
        tree.one("handle").str_attr("langfuse.observation.input"),
        Some(format!(r#"{{"traceparent":"{HEADER}","id":1}}"#).as_str()),
        "the header is still an ordinary argument"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_async_function_continues_the_callers_trace() {
    let receiver = Receiver::start();
    let langfuse = setup::init(&receiver);

    let headers = Headers {
        traceparent: Some(HEADER.to_owned()),
    };
    // Spawned, so the first poll (where the parent is read) runs on a worker thread.
    assert_eq!(tokio::spawn(handle_async(headers, 4)).await.unwrap(), 8);
    langfuse.flush_async(WAIT).await;

    let tree = Tree::new(receiver.wait_for_spans(2, WAIT));
    assert_continues_the_caller(&tree, tree.one("handle_async"), tree.one("query"));
}

#[test]
fn a_missing_or_invalid_traceparent_falls_back_to_the_current_context() {
    let receiver = Receiver::start();
    let langfuse = setup::init(&receiver);

    handle(None, 2);
    handle(Some("00-not-a-traceparent-01"), 3);
    handle(Some(&HEADER.to_uppercase()), 4);
    local_request(None);
    langfuse.flush(WAIT);

    let tree = Tree::new(receiver.wait_for_spans(9, WAIT));
    let handles = tree.all("handle");
    assert_eq!(handles.len(), 4);
    for input in [
        r#"{"traceparent":null,"id":2}"#,
        r#"{"traceparent":"00-not-a-traceparent-01","id":3}"#,
        &format!(r#"{{"traceparent":"{}","id":4}}"#, HEADER.to_uppercase()),
    ] {
        let root = with_input(&handles, input);
        assert_eq!(root.parent_span_id(), None, "{input}: a new trace");
        assert_ne!(root.trace_id(), TRACE_ID);
        assert!(
            !root.has_attr(AS_ROOT),
            "{input}: a local root needs no mark"
        );
    }
    let nested = with_input(&handles, r#"{"traceparent":null,"id":9}"#);
    let caller = tree.one("local_request");
    assert_eq!(
        tree.parent_of(nested),
        Some(caller),
        "a child of the caller"
    );
    assert_eq!(nested.trace_id(), caller.trace_id());
    assert!(!nested.has_attr(AS_ROOT));
    assert_eq!(tree.traces().len(), 4, "no trace joined another");
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
    let receiver = Receiver::start();
    let langfuse = setup::init(&receiver);

    let context = capture_context();
    resume(&context);
    langfuse.flush(WAIT);

    let tree = Tree::new(receiver.wait_for_spans(2, WAIT));
    let resumed = tree.one("resume");
    assert_eq!(tree.parent_of(resumed), Some(tree.one("capture_context")));
    assert!(!resumed.has_attr(AS_ROOT), "the parent is in this process");
}
