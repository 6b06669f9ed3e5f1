//! The two services of `examples/distributed.rs` against the test receiver: a request that
//! crosses from the frontend to the backend over HTTP is one trace, the backend's first
//! observation hangs under the frontend's call and is marked as the backend's root.

mod support;

/// The example's services, compiled into this test as they are (its `main` is not used here).
#[allow(dead_code)]
#[path = "../examples/distributed.rs"]
mod distributed;

use std::collections::BTreeSet;

use distributed::{Answer, Question, start_backend, start_frontend};
use support::setup::{self, Tree, WAIT};
use support::{ReceivedSpan, Receiver};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_across_two_services_is_one_trace_with_the_backend_marked_as_root() {
    own_process!();
    let receiver = Receiver::start();
    let langfuse = setup::init(&receiver);
    let frontend = start_frontend(start_backend().await.unwrap())
        .await
        .unwrap();

    const REQUESTS: usize = 6;
    let client = support::http_client();
    let calls = (0..REQUESTS).map(|i| {
        let request = client
            .post(format!("http://{frontend}/ask"))
            .json(&Question {
                question: format!("question {i}"),
            })
            .send();
        async move {
            let answer: Answer = request
                .await
                .unwrap()
                .error_for_status()
                .unwrap()
                .json()
                .await
                .unwrap();
            answer
        }
    });
    let mut answers = Vec::new();
    for call in calls.map(tokio::spawn).collect::<Vec<_>>() {
        answers.push(call.await.unwrap());
    }
    assert_eq!(answers.len(), REQUESTS);
    assert!(langfuse.flush_async(WAIT).await.is_complete());

    let tree = Tree::new(receiver.wait_for_spans(REQUESTS * 4, WAIT));
    assert_eq!(tree.spans.len(), REQUESTS * 4);
    let traces = tree.traces();
    assert_eq!(
        traces.len(),
        REQUESTS,
        "one trace per request, both services in it"
    );

    let question_of = |span: &ReceivedSpan| -> String {
        let input: serde_json::Value =
            serde_json::from_str(span.str_attr("langfuse.observation.input").unwrap()).unwrap();
        input
            .get("question")
            .or_else(|| input.get("query"))
            .and_then(|q| q.as_str())
            .unwrap()
            .to_owned()
    };
    let mut questions = BTreeSet::new();
    for spans in traces.values() {
        let find = |name: &str| -> &ReceivedSpan {
            let found: Vec<_> = spans.iter().filter(|s| s.name() == name).collect();
            assert_eq!(found.len(), 1, "one {name} per trace");
            found[0]
        };
        let (root, call, backend_root, search) = (
            find("handle_question"),
            find("ask_backend"),
            find("answer"),
            find("search_index"),
        );

        // The frontend's tree.
        assert_eq!(root.parent_span_id(), None);
        assert_eq!(call.parent_span_id(), Some(root.span_id()));
        // The link across services: the backend's first observation is a child of the call
        // that sent the traceparent, and Langfuse is told it is the backend's root.
        assert_eq!(backend_root.parent_span_id(), Some(call.span_id()));
        // v3 servers read `as_root`, v4 servers (the events table) `is_app_root`.
        for key in ["langfuse.internal.as_root", "langfuse.internal.is_app_root"] {
            assert_eq!(backend_root.bool_attr(key), Some(true), "{key}");
        }
        assert_eq!(search.parent_span_id(), Some(backend_root.span_id()));
        for local in [root, call, search] {
            for key in ["langfuse.internal.as_root", "langfuse.internal.is_app_root"] {
                assert!(
                    !local.has_attr(key),
                    "{} is not a service's first observation ({key})",
                    local.name()
                );
            }
        }
        assert_eq!(
            backend_root.str_attr("langfuse.observation.type"),
            Some("agent")
        );

        // All four belong to the same request: no request's backend work joined another's.
        let question = question_of(root);
        for span in [call, backend_root, search] {
            assert_eq!(question_of(span), question, "{}", span.name());
        }
        questions.insert(question);
    }
    assert_eq!(questions.len(), REQUESTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_called_without_a_traceparent_starts_its_own_trace() {
    own_process!();
    let receiver = Receiver::start();
    let langfuse = setup::init(&receiver);
    let backend = start_backend().await.unwrap();

    let answer: Answer = support::http_client()
        .post(format!("http://{backend}/answer"))
        .header(langfuse::TRACEPARENT_HEADER, "not a traceparent")
        .json(&Question {
            question: "direct".to_owned(),
        })
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer.sources.len(), 2);
    assert!(langfuse.flush_async(WAIT).await.is_complete());

    let tree = Tree::new(receiver.wait_for_spans(2, WAIT));
    let root = tree.one("answer");
    assert_eq!(root.parent_span_id(), None);
    assert!(!root.has_attr("langfuse.internal.as_root"));
    assert!(!root.has_attr("langfuse.internal.is_app_root"));
    tree.assert_child("search_index", "answer");
}
