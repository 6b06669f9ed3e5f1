//! Checks the test receiver itself with hand-built requests (opentelemetry-proto types and
//! prost, never the SDK's encoder), so end-to-end tests can trust what it reports; and
//! `support::process`, which gives a test a process of its own.

mod support;

use std::io::{Read as _, Write as _};
use std::time::Duration;

use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};
use prost::Message as _;
use support::process::test_name;
use support::{
    AttributeValue, ExportTraceServiceRequest, InstrumentationScope, KeyValue, Receiver, Reply,
    Resource, SCORES_PATH, Span, TRACES_PATH,
};

const TRACE_ID: [u8; 16] = [
    0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36,
];
const WAIT: Duration = Duration::from_secs(5);

fn kv(key: &str, value: AttributeValue) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..KeyValue::default()
    }
}

fn string(s: &str) -> AttributeValue {
    AttributeValue::StringValue(s.into())
}

fn export_request() -> ExportTraceServiceRequest {
    let root = Span {
        trace_id: TRACE_ID.to_vec(),
        span_id: vec![0, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7],
        name: "handle request".into(),
        start_time_unix_nano: 1_764_039_662_000_000_000,
        end_time_unix_nano: 1_764_039_662_500_000_000,
        attributes: vec![
            kv("langfuse.observation.type", string("span")),
            kv("langfuse.trace.public", AttributeValue::BoolValue(true)),
            kv(
                "langfuse.observation.prompt.version",
                AttributeValue::IntValue(3),
            ),
            kv(
                "langfuse.trace.tags",
                AttributeValue::ArrayValue(ArrayValue {
                    values: vec![
                        AnyValue {
                            value: Some(string("beta")),
                        },
                        AnyValue {
                            value: Some(string("eu")),
                        },
                    ],
                }),
            ),
        ],
        ..Span::default()
    };
    let child = Span {
        trace_id: TRACE_ID.to_vec(),
        span_id: vec![1, 2, 3, 4, 5, 6, 7, 8],
        parent_span_id: root.span_id.clone(),
        name: "call model".into(),
        attributes: vec![kv("langfuse.observation.type", string("generation"))],
        ..Span::default()
    };
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", string("selftest"))],
                ..Resource::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "langfuse-sdk".into(),
                    version: "0.0.0".into(),
                    attributes: vec![kv("public_key", string("pk-lf-test"))],
                    ..InstrumentationScope::default()
                }),
                spans: vec![root, child],
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

async fn post_export(
    client: &reqwest::Client,
    receiver: &Receiver,
) -> reqwest::Result<reqwest::Response> {
    client
        .post(receiver.traces_url())
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "gzip")
        .body(gzip(&export_request().encode_to_vec()))
        .send()
        .await
}

#[tokio::test]
async fn decodes_a_gzipped_export() {
    let receiver = Receiver::start();
    let client = support::http_client();
    let body = gzip(&export_request().encode_to_vec());
    let response = client
        .post(receiver.traces_url())
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "gzip")
        .header("x-langfuse-ingestion-version", "4")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "{}");

    let spans = receiver.wait_for_spans(2, WAIT);
    assert_eq!(spans.len(), 2);
    let (root, child) = (&spans[0], &spans[1]);
    assert_eq!(root.name(), "handle request");
    assert_eq!(root.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(root.span_id(), "00f067aa0ba902b7");
    assert_eq!(root.parent_span_id(), None);
    assert_eq!(child.parent_span_id().as_deref(), Some("00f067aa0ba902b7"));
    assert_eq!(root.span.end_time_unix_nano, 1_764_039_662_500_000_000);

    assert_eq!(root.str_attr("langfuse.observation.type"), Some("span"));
    assert_eq!(
        child.str_attr("langfuse.observation.type"),
        Some("generation")
    );
    assert_eq!(root.bool_attr("langfuse.trace.public"), Some(true));
    assert_eq!(
        root.int_attr("langfuse.observation.prompt.version"),
        Some(3)
    );
    assert_eq!(
        root.str_array_attr("langfuse.trace.tags"),
        Some(vec!["beta".to_owned(), "eu".to_owned()])
    );
    assert_eq!(root.array_attr("langfuse.trace.tags").unwrap().len(), 2);
    assert_eq!(root.str_attr("missing"), None);
    assert!(!child.has_attr("langfuse.trace.public"));
    assert_eq!(
        root.attr_keys(),
        [
            "langfuse.observation.type",
            "langfuse.trace.public",
            "langfuse.observation.prompt.version",
            "langfuse.trace.tags"
        ]
    );
    assert_eq!(child.resource_str_attr("service.name"), Some("selftest"));
    assert_eq!(child.scope.name, "langfuse-sdk");
    assert_eq!(child.scope_str_attr("public_key"), Some("pk-lf-test"));

    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", TRACES_PATH)
    );
    assert_eq!(request.header("X-Langfuse-Ingestion-Version"), Some("4"));
    assert_eq!(request.header_values("content-encoding"), ["gzip"]);
    assert_eq!(request.body, body);
    assert_eq!(
        request.decoded_body().unwrap(),
        export_request().encode_to_vec()
    );
    assert_eq!(request.export.as_ref(), Some(&export_request()));
    assert!(request.accepted());
    assert_eq!(receiver.trace_requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripted_replies_come_first_and_only_accepted_spans_count() {
    let receiver = Receiver::start();
    receiver.enqueue([
        Reply::status(503)
            .with_header("retry-after", "7")
            .with_body("busy"),
        Reply::drop_connection(),
    ]);
    let client = support::http_client();

    let busy = post_export(&client, &receiver).await.unwrap();
    assert_eq!(busy.status(), 503);
    assert_eq!(busy.headers()["retry-after"], "7");
    assert_eq!(busy.text().await.unwrap(), "busy");

    let dropped = post_export(&client, &receiver).await;
    assert!(dropped.is_err(), "{dropped:?}");

    let accepted = post_export(&client, &receiver).await.unwrap();
    assert_eq!(accepted.status(), 200);

    let requests = receiver.wait_for_requests(3, WAIT);
    let statuses: Vec<_> = requests
        .iter()
        .map(|r| (r.reply.status, r.accepted()))
        .collect();
    assert_eq!(statuses, [(503, false), (0, false), (200, true)]);
    assert_eq!(receiver.spans().len(), 2, "only the accepted export counts");
    assert_eq!(
        receiver.all_spans().len(),
        6,
        "every decoded export, retries included"
    );

    receiver.clear();
    assert!(receiver.requests().is_empty());
}

#[tokio::test]
async fn delayed_replies_and_responders() {
    let receiver = Receiver::start();
    receiver.respond_with(|request| {
        (request.path == SCORES_PATH).then(|| Reply::status(429).with_header("retry-after", "1"))
    });
    receiver.enqueue([Reply::ok().after(Duration::from_secs(3))]);
    let client = support::http_client();

    let timed_out = client
        .post(receiver.traces_url())
        .header("content-type", "application/x-protobuf")
        .timeout(Duration::from_millis(200))
        .body(export_request().encode_to_vec())
        .send()
        .await;
    assert!(timed_out.unwrap_err().is_timeout());

    let throttled = client
        .post(format!("{}{SCORES_PATH}", receiver.base_url()))
        .header("content-type", "application/json")
        .body(r#"{"name":"accuracy","value":0.9,"traceId":"abc"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(throttled.status(), 429);
    // The responder declines trace exports, so they get the default reply.
    assert_eq!(post_export(&client, &receiver).await.unwrap().status(), 200);
    assert!(
        receiver.scores().is_empty(),
        "a throttled score is not kept"
    );
}

#[tokio::test]
async fn scores_are_parsed_as_json() {
    let receiver = Receiver::start();
    let client = support::http_client();
    let response = client
        .post(format!("{}{SCORES_PATH}", receiver.base_url()))
        .header("content-type", "application/json")
        .body(r#"{"name":"accuracy","value":0.9,"traceId":"4bf92f3577b34da6a3ce929d0e0e4736"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let scores = receiver.scores();
    assert_eq!(scores.len(), 1);
    assert_eq!(scores[0]["name"], "accuracy");
    assert_eq!(scores[0]["value"], 0.9);
    assert_eq!(receiver.requests_to(SCORES_PATH).len(), 1);
    assert!(receiver.spans().is_empty());
}

#[tokio::test]
async fn malformed_requests_get_the_servers_answers() {
    let receiver = Receiver::start();
    let client = support::http_client();
    let post = |content_type: &'static str, encoding: Option<&'static str>, body: Vec<u8>| {
        let mut request = client
            .post(receiver.traces_url())
            .header("content-type", content_type)
            .body(body);
        if let Some(encoding) = encoding {
            request = request.header("content-encoding", encoding);
        }
        request.send()
    };

    let garbage = post("application/x-protobuf", None, vec![0xff, 0xff, 0xff])
        .await
        .unwrap();
    assert_eq!(garbage.status(), 400);
    let not_gzip = post("application/x-protobuf", Some("gzip"), b"plain".to_vec())
        .await
        .unwrap();
    assert_eq!(not_gzip.status(), 400);
    let wrong_type = post("text/plain", None, export_request().encode_to_vec())
        .await
        .unwrap();
    assert_eq!(wrong_type.status(), 400);

    let mut no_ids = export_request();
    no_ids.resource_spans[0].scope_spans[0].spans[1]
        .span_id
        .clear();
    let rejected = post("application/x-protobuf", None, no_ids.encode_to_vec())
        .await
        .unwrap();
    assert_eq!(rejected.status(), 400);
    assert!(rejected.text().await.unwrap().contains("spanId"));

    let unknown = client
        .post(format!("{}/api/public/ingestion", receiver.base_url()))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);

    let requests = receiver.requests();
    assert_eq!(requests.len(), 5);
    assert!(requests[..4].iter().all(|r| r.decode_error.is_some()));
    assert!(receiver.spans().is_empty());
}

/// Posts `body` as an OTLP export over a blocking socket and returns the raw response.
fn post_over_a_raw_socket(receiver: &Receiver, body: &[u8]) -> String {
    let mut stream = std::net::TcpStream::connect(receiver.addr()).unwrap();
    write!(
        stream,
        "POST {TRACES_PATH} HTTP/1.1\r\nHost: {}\r\ncontent-type: application/x-protobuf\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        receiver.addr(),
        body.len()
    )
    .unwrap();
    stream.write_all(body).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

/// The receiver needs no runtime from the test: a blocking socket on a plain thread works.
#[test]
fn serves_plain_threads_over_a_raw_socket() {
    let receiver = Receiver::start();
    let response = post_over_a_raw_socket(&receiver, &export_request().encode_to_vec());
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("{}"), "{response}");
    assert_eq!(receiver.wait_for_spans(2, WAIT).len(), 2);
}

#[test]
#[should_panic(expected = "expected 1 spans")]
fn waiting_reports_what_did_not_arrive() {
    Receiver::start().wait_for_spans(1, Duration::from_millis(50));
}

/// Spans of a second trace, to tell traces apart.
fn other_trace_request() -> ExportTraceServiceRequest {
    let mut request = export_request();
    let spans = &mut request.resource_spans[0].scope_spans[0].spans;
    spans.truncate(1);
    spans[0].trace_id = vec![0x11; 16];
    spans[0].name = "other trace".into();
    request
}

#[tokio::test]
async fn waiting_for_a_trace_returns_only_its_spans() {
    let receiver = Receiver::start();
    let client = support::http_client();
    for request in [other_trace_request(), export_request()] {
        let response = client
            .post(receiver.traces_url())
            .header("content-type", "application/x-protobuf")
            .body(request.encode_to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let spans = receiver.wait_for_trace("4bf92f3577b34da6a3ce929d0e0e4736", 2, WAIT);
    let names: Vec<_> = spans.iter().map(|s| s.name()).collect();
    assert_eq!(names, ["handle request", "call model"]);
    let other = receiver.wait_for_trace("11".repeat(16), 1, WAIT);
    assert_eq!(other.len(), 1);
    assert_eq!(other[0].name(), "other trace");
    assert_eq!(receiver.spans().len(), 3);
}

#[test]
#[should_panic(expected = "expected 3 spans of trace 4bf92f3577b34da6a3ce929d0e0e4736")]
fn waiting_for_a_trace_reports_what_did_not_arrive() {
    let receiver = Receiver::start();
    let response = post_over_a_raw_socket(&receiver, &export_request().encode_to_vec());
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    // Two spans of the trace arrived, not three.
    receiver.wait_for_trace(
        "4bf92f3577b34da6a3ce929d0e0e4736",
        3,
        Duration::from_millis(50),
    );
}

// --- support::process ---------------------------------------------------------------------

#[test]
fn test_name_keeps_the_path_between_the_crate_and_the_marker() {
    for (marker, name) in [
        ("shutdown::deadline_holds::here", "deadline_holds"),
        ("bin::a::b::{{closure}}::here", "a::b"),
        ("bin::a::b::here", "a::b"),
        ("bin::t::{{closure}}::{{closure}}::here", "t"),
        ("bin::m::t::{{closure}}::here", "m::t"),
    ] {
        assert_eq!(test_name(marker), name, "{marker}");
    }
}

#[test]
fn test_name_of_a_marker_in_a_plain_test_is_the_test() {
    fn here() {}
    assert_eq!(
        test_name(std::any::type_name_of_val(&here)),
        "test_name_of_a_marker_in_a_plain_test_is_the_test"
    );
}

#[tokio::test]
async fn test_name_of_a_marker_in_an_async_test_is_the_test() {
    // The body of an async test is a closure: `bin::test::{{closure}}::here`.
    fn here() {}
    let marker = std::any::type_name_of_val(&here);
    assert!(marker.contains("{{closure}}"), "{marker}");
    assert_eq!(
        test_name(marker),
        "test_name_of_a_marker_in_an_async_test_is_the_test"
    );
}

mod nested {
    use super::support::process::test_name;

    #[test]
    fn test_name_of_a_test_in_a_module_keeps_the_module() {
        fn here() {}
        assert_eq!(
            test_name(std::any::type_name_of_val(&here)),
            "nested::test_name_of_a_test_in_a_module_keeps_the_module"
        );
    }

    #[test]
    fn own_process_works_in_a_module() {
        crate::own_process!();
        super::assert_alone("nested::own_process_works_in_a_module");
    }
}

/// Asserts that the calling test `name` runs in a process of its own: a child started for it
/// alone, or a process of nextest's.
#[track_caller]
fn assert_alone(name: &str) {
    let child_of = std::env::var("LANGFUSE_TEST_OWN_PROCESS").ok();
    let under_nextest = std::env::var_os("NEXTEST").is_some();
    assert!(
        under_nextest || child_of.as_deref() == Some(name),
        "the body of {name} ran in a shared process (child of {child_of:?})"
    );
}

#[test]
fn own_process_runs_the_body_in_a_process_of_its_own() {
    own_process!();
    assert_alone("own_process_runs_the_body_in_a_process_of_its_own");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_process_runs_an_async_body_in_a_process_of_its_own() {
    own_process!();
    assert_alone("own_process_runs_an_async_body_in_a_process_of_its_own");
}

/// A body that fails fails its test. In the child of plain `cargo test` the body's panic does
/// not match `expected`, so the child's test fails and the parent must panic with "failed in
/// its own process"; under nextest the body runs in place and panics with that text itself.
#[test]
#[should_panic(expected = "failed in its own process")]
fn own_process_fails_the_test_when_the_body_fails() {
    own_process!();
    if std::env::var_os("LANGFUSE_TEST_OWN_PROCESS").is_some() {
        panic!("the body panicked in the child");
    }
    panic!("the body failed in its own process (in place, under nextest)");
}
