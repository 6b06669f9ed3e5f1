//! What reaches the server: one request decoded with the independent `opentelemetry-proto`
//! types, checked field by field against the wire contract (DESIGN section 7).

mod support;

use std::cell::Cell;
use std::collections::HashSet;

use base64::Engine as _;
use langfuse::{Compression, TraceId, observe};
use support::setup::{self, PUBLIC_KEY, SECRET_KEY, Tree, WAIT};
use support::{Receiver, TRACES_PATH};

#[observe(as_type = "retriever")]
fn retrieve(query: &str, k: usize) -> Vec<String> {
    (0..k).map(|i| format!("{query}-{i}")).collect()
}

#[observe(name = "llm-call", as_type = "generation")]
fn generate(prompt: String) -> String {
    format!("answer to {prompt}")
}

#[observe(as_type = "tool")]
fn failing_tool(city: &str) -> Result<String, std::io::Error> {
    Err(std::io::Error::other(format!(
        "connection refused for {city}"
    )))
}

thread_local! {
    /// The trace id of the last `handle` call on this thread, to find its spans among those
    /// of the other tests that share the binary's client.
    static LAST_TRACE: Cell<Option<TraceId>> = const { Cell::new(None) };
}

#[observe]
fn handle(question: &str) -> String {
    LAST_TRACE.set(langfuse::current_trace_id());
    let documents = retrieve(question, 2);
    let _ = failing_tool("Berlin");
    generate(format!("{question} ({} documents)", documents.len()))
}

#[test]
fn a_request_arrives_as_one_trace_with_its_tree_and_attributes() {
    let receiver = setup::shared();

    handle("what is langfuse");
    let trace_id = LAST_TRACE.get().expect("recorded");

    // Each of the request's four observations arrives under the root's trace id.
    let tree = Tree::new(receiver.wait_for_trace(trace_id, 4, WAIT));
    assert_eq!(tree.spans.len(), 4);
    assert_eq!(tree.traces().len(), 1, "one trace id for the whole request");

    let root = tree.one("handle");
    assert_eq!(root.parent_span_id(), None);
    tree.assert_child("retrieve", "handle");
    tree.assert_child("failing_tool", "handle");
    tree.assert_child("llm-call", "handle");

    for (name, kind) in [
        ("handle", "span"),
        ("retrieve", "retriever"),
        ("failing_tool", "tool"),
        ("llm-call", "generation"),
    ] {
        let span = tree.one(name);
        assert_eq!(
            span.str_attr("langfuse.observation.type"),
            Some(kind),
            "{name}"
        );
        assert!(span.span.start_time_unix_nano <= span.span.end_time_unix_nano);
        assert_eq!(span.span.trace_id.len(), 16);
        assert_eq!(span.span.span_id.len(), 8);
    }

    let retrieve = tree.one("retrieve");
    assert_eq!(
        retrieve.str_attr("langfuse.observation.input"),
        Some(r#"{"query":"what is langfuse","k":2}"#)
    );
    assert_eq!(
        retrieve.str_attr("langfuse.observation.output"),
        Some(r#"["what is langfuse-0","what is langfuse-1"]"#)
    );
    // A string output is sent as its text, not as a JSON string literal.
    assert_eq!(
        tree.one("llm-call").str_attr("langfuse.observation.output"),
        Some("answer to what is langfuse (2 documents)")
    );
    assert_eq!(
        root.str_attr("langfuse.observation.input"),
        Some(r#"{"question":"what is langfuse"}"#)
    );
    assert!(
        !root.has_attr("langfuse.observation.level"),
        "DEFAULT level is implied"
    );

    let tool = tree.one("failing_tool");
    assert_eq!(tool.str_attr("langfuse.observation.level"), Some("ERROR"));
    assert_eq!(
        tool.str_attr("langfuse.observation.status_message"),
        Some("connection refused for Berlin")
    );
    let status = tool
        .span
        .status
        .as_ref()
        .expect("an ERROR observation has a status");
    assert_eq!(status.code, 2, "STATUS_CODE_ERROR");
    assert!(
        !tool.has_attr("langfuse.observation.output"),
        "no output for an Err"
    );
}

#[test]
fn requests_carry_auth_sdk_headers_resource_and_scope() {
    own_process!();
    let receiver = Receiver::start();
    let langfuse = setup::config_for(&receiver)
        .environment("staging")
        .release("v1.2.3")
        .service_name("checkout-service")
        .init()
        .unwrap();

    handle("headers");
    assert!(langfuse.flush(WAIT).is_complete());
    receiver.wait_for_spans(4, WAIT);

    let requests = receiver.trace_requests();
    assert!(!requests.is_empty());
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{PUBLIC_KEY}:{SECRET_KEY}"));
    for request in &requests {
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, TRACES_PATH);
        assert_eq!(
            request.header("authorization"),
            Some(format!("Basic {basic}").as_str())
        );
        assert_eq!(
            request.header("content-type"),
            Some("application/x-protobuf")
        );
        assert_eq!(request.header("content-encoding"), Some("gzip"));
        assert_eq!(request.header("x-langfuse-ingestion-version"), Some("4"));
        assert_eq!(request.header("x-langfuse-sdk-name"), Some("rust"));
        assert_eq!(
            request.header("x-langfuse-sdk-version"),
            Some(env!("CARGO_PKG_VERSION"))
        );
        assert_eq!(request.header("x-langfuse-public-key"), Some(PUBLIC_KEY));
        assert!(request.decode_error.is_none(), "{:?}", request.decode_error);
    }

    let tree = Tree::new(receiver.spans());
    for span in &tree.spans {
        assert_eq!(
            span.resource_str_attr("service.name"),
            Some("checkout-service")
        );
        assert_eq!(
            span.resource_str_attr("langfuse.environment"),
            Some("staging")
        );
        assert_eq!(span.resource_str_attr("langfuse.release"), Some("v1.2.3"));
        assert_eq!(span.scope.name, "langfuse-sdk");
        assert_eq!(span.scope.version, env!("CARGO_PKG_VERSION"));
        assert_eq!(span.scope_str_attr("public_key"), Some(PUBLIC_KEY));
        assert_eq!(span.str_attr("langfuse.environment"), Some("staging"));
        assert_eq!(span.str_attr("langfuse.release"), Some("v1.2.3"));
    }
}

#[test]
fn without_compression_the_body_is_plain_protobuf() {
    own_process!();
    let receiver = Receiver::start();
    let langfuse = setup::config_for(&receiver)
        .compression(Compression::None)
        .init()
        .unwrap();

    handle("plain");
    assert!(langfuse.flush(WAIT).is_complete());
    receiver.wait_for_spans(4, WAIT);
    for request in receiver.trace_requests() {
        assert_eq!(request.header("content-encoding"), None);
        assert!(request.decode_error.is_none());
    }
}

#[test]
fn each_call_of_a_root_function_is_its_own_trace() {
    let receiver = setup::shared();

    let trace_ids: Vec<TraceId> = (0..5)
        .map(|i| {
            handle(&format!("question {i}"));
            LAST_TRACE.get().expect("recorded")
        })
        .collect();
    assert_eq!(
        trace_ids.iter().collect::<HashSet<_>>().len(),
        5,
        "a trace id per call: {trace_ids:?}"
    );

    let spans = trace_ids
        .iter()
        .flat_map(|trace_id| receiver.wait_for_trace(trace_id, 4, WAIT))
        .collect();
    let tree = Tree::new(spans);
    let traces = tree.traces();
    assert_eq!(traces.len(), 5);
    for spans in traces.values() {
        assert_eq!(spans.len(), 4);
        let roots: Vec<_> = spans
            .iter()
            .filter(|s| s.parent_span_id().is_none())
            .collect();
        assert_eq!(roots.len(), 1);
        assert_eq!(roots[0].name(), "handle");
        for span in spans {
            if let Some(parent) = span.parent_span_id() {
                assert_eq!(parent, roots[0].span_id());
            }
        }
    }
}
