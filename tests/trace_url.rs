//! Trace URLs: the exporter thread looks the project id up once, in the background, and
//! `trace_url` never waits on the network.

mod support;

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use base64::Engine as _;
use langfuse::{ExporterKind, TraceId, create_trace_id};
use support::logs::Logs;
use support::setup::{self, PUBLIC_KEY, SECRET_KEY, WAIT};
use support::{DEFAULT_PROJECT_ID, PROJECTS_PATH, Receiver, Reply, projects_body};

/// Runs a future to completion on this thread, without any async runtime: `trace_url_async`
/// must not need one.
fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut future = pin!(future);
    loop {
        match future.as_mut().poll(&mut Context::from_waker(&waker)) {
            Poll::Ready(output) => return output,
            Poll::Pending => std::thread::park(),
        }
    }
}

fn expected_url(receiver: &Receiver, project: &str, trace_id: TraceId) -> String {
    format!(
        "{}/project/{project}/traces/{trace_id}",
        receiver.base_url()
    )
}

#[tokio::test(flavor = "current_thread")]
async fn the_url_names_the_keys_project_and_the_trace() {
    own_process!();
    let receiver = Receiver::start();
    let langfuse = setup::init(&receiver);
    let trace_id = create_trace_id(Some("order-4711"));
    let expected = expected_url(&receiver, DEFAULT_PROJECT_ID, trace_id);

    let url = langfuse.trace_url_async(trace_id, WAIT).await;
    assert_eq!(url.as_deref(), Some(expected.as_str()));
    // Known now: the blocking forms answer at once, from the cache.
    assert_eq!(
        langfuse.trace_url(trace_id).as_deref(),
        Some(expected.as_str())
    );
    assert_eq!(
        langfuse::trace_url(trace_id).as_deref(),
        Some(expected.as_str())
    );

    let lookups = receiver.project_requests();
    assert_eq!(lookups.len(), 1, "looked up once");
    let lookup = &lookups[0];
    assert_eq!(lookup.method, "GET");
    assert_eq!(lookup.path, PROJECTS_PATH);
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{PUBLIC_KEY}:{SECRET_KEY}"));
    assert_eq!(
        lookup.header("authorization"),
        Some(format!("Basic {basic}").as_str())
    );
    assert_eq!(lookup.header("x-langfuse-sdk-name"), Some("rust"));
    assert_eq!(lookup.header("x-langfuse-public-key"), Some(PUBLIC_KEY));

    // Still a valid link once the client has shut down.
    langfuse.shutdown_async(WAIT).await;
    assert_eq!(
        langfuse.trace_url(trace_id).as_deref(),
        Some(expected.as_str())
    );
}

#[test]
fn current_trace_url_follows_the_current_observation() {
    // The binary's shared client: default configuration, default project.
    let receiver = setup::shared();
    let langfuse = langfuse::get_client();
    // Wait for the lookup, without any runtime.
    let any = create_trace_id(None);
    assert!(block_on(langfuse.trace_url_async(any, WAIT)).is_some());

    assert_eq!(langfuse::current_trace_url(), None, "no observation here");
    let mut root = langfuse::start_observation("handle").start();
    let trace_id = root.trace_id().expect("recorded");
    {
        let _current = root.enter();
        assert_eq!(
            langfuse::current_trace_url(),
            Some(expected_url(receiver, DEFAULT_PROJECT_ID, trace_id))
        );
    }
    root.end();
    assert_eq!(langfuse::current_trace_url(), None);
}

#[test]
fn until_the_project_id_is_known_there_is_no_url_and_no_waiting() {
    own_process!();
    // The wait below must end by its deadline plus a margin for a busy machine, and the answer
    // must come later still: otherwise a wait that overran its deadline would find it.
    let deadline = Duration::from_millis(100);
    let margin = Duration::from_secs(2);
    let answer_delay = Duration::from_millis(2_500);
    let receiver = Receiver::start();
    receiver.enqueue_projects([Reply::ok()
        .with_body(&projects_body(&["slow-project"]))
        .after(answer_delay)]);
    let langfuse = setup::init(&receiver);
    let trace_id = create_trace_id(None);

    let started = Instant::now();
    assert_eq!(langfuse.trace_url(trace_id), None);
    assert_eq!(block_on(langfuse.trace_url_async(trace_id, deadline)), None);
    let waited = started.elapsed();
    assert!(
        waited >= deadline && waited < deadline + margin,
        "the deadline is kept: {waited:?}"
    );

    // A longer wait sees the answer arrive.
    let url = block_on(langfuse.trace_url_async(trace_id, WAIT));
    assert_eq!(url, Some(expected_url(&receiver, "slow-project", trace_id)));
    assert_eq!(receiver.project_requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_lookup_is_retried_in_the_background() {
    own_process!();
    let receiver = Receiver::start();
    receiver.enqueue_projects([Reply::status(503).with_body(r#"{"message":"unavailable"}"#)]);
    receiver.set_projects_body(&projects_body(&["second-try"]));
    let langfuse = setup::init(&receiver);
    let trace_id = create_trace_id(None);

    let url = langfuse.trace_url_async(trace_id, WAIT).await;
    assert_eq!(url, Some(expected_url(&receiver, "second-try", trace_id)));
    let lookups = receiver.project_requests();
    assert_eq!(lookups.len(), 2);
    let gap = lookups[1].received_at - lookups[0].received_at;
    assert!(
        gap >= Duration::from_millis(700),
        "retried after a backoff: {gap:?}"
    );
}

#[test]
fn a_failed_lookup_logs_one_line_with_the_status_and_not_the_page() {
    own_process!();
    let logs = Logs::capture();
    let receiver = Receiver::start();
    let page = format!(
        "<!DOCTYPE html>\n<html>\n<body>\n{}\n</body>\n</html>\n",
        "<p>This page could not be found.</p>\n".repeat(50)
    );
    receiver.set_projects_reply(Reply::status(404).with_body(&page));
    let _langfuse = setup::init(&receiver);
    let line = logs.wait_for(&["WARN", "could not get the project id"], WAIT);
    assert!(line.contains("404 Not Found"), "{line}");
    assert!(!line.contains("<html") && !line.contains("<p>"), "{line}");
    let text = logs.text();
    let warned: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("project id"))
        .collect();
    assert_eq!(warned.len(), 1, "{text}");
    assert!(!text.contains("could not be found"), "{text}");
}

#[test]
fn the_project_id_stays_one_path_segment() {
    own_process!();
    let receiver = Receiver::start();
    receiver.set_projects_body(&projects_body(&["team/a b", "ignored"]));
    let langfuse = setup::init(&receiver);
    let trace_id = create_trace_id(None);
    assert_eq!(
        block_on(langfuse.trace_url_async(trace_id, WAIT)),
        Some(expected_url(&receiver, "team%2Fa%20b", trace_id))
    );
}

#[test]
fn a_key_without_a_project_gives_no_url() {
    own_process!();
    let receiver = Receiver::start();
    receiver.set_projects_body(r#"{"data":[]}"#);
    let langfuse = setup::init(&receiver);
    let trace_id = create_trace_id(None);
    assert_eq!(
        block_on(langfuse.trace_url_async(trace_id, Duration::from_millis(300))),
        None
    );
    assert_eq!(langfuse.trace_url(trace_id), None);
    // Spans are unaffected.
    let mut span = langfuse::start_observation("still exported").start();
    span.update(|s| {
        s.output("ok");
    });
    span.end();
    assert!(langfuse.flush(WAIT).is_complete());
    assert_eq!(receiver.wait_for_spans(1, WAIT)[0].name(), "still exported");
}

/// Waits long enough that a lookup, had one been started, would have reached the receiver.
fn assert_no_lookup(receiver: &Receiver) {
    std::thread::sleep(Duration::from_millis(200));
    assert!(receiver.project_requests().is_empty());
}

#[test]
fn no_url_when_spans_go_to_an_opentelemetry_collector() {
    own_process!();
    let receiver = Receiver::start();
    let langfuse = setup::config_for(&receiver)
        .otlp_traces_endpoint(receiver.traces_url())
        .init()
        .unwrap();
    let trace_id = create_trace_id(None);
    let started = Instant::now();
    assert_eq!(block_on(langfuse.trace_url_async(trace_id, WAIT)), None);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "answered at once"
    );
    assert_eq!(langfuse.trace_url(trace_id), None);
    assert_no_lookup(&receiver);
}

#[test]
fn no_url_with_the_none_exporter() {
    own_process!();
    let receiver = Receiver::start();
    let langfuse = setup::config_for(&receiver)
        .exporter(ExporterKind::None)
        .init()
        .unwrap();
    let trace_id = create_trace_id(None);
    let started = Instant::now();
    assert_eq!(block_on(langfuse.trace_url_async(trace_id, WAIT)), None);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "answered at once"
    );
    assert_eq!(langfuse::trace_url(trace_id), None);
    assert_no_lookup(&receiver);
}

#[test]
fn no_url_before_init_and_none_started_by_asking() {
    own_process!();
    let trace_id = create_trace_id(None);
    assert_eq!(langfuse::trace_url(trace_id), None);
    assert_eq!(langfuse::current_trace_url(), None);
    // Asking did not start a client: init still can.
    let receiver = Receiver::start();
    let langfuse = setup::init(&receiver);
    assert!(block_on(langfuse.trace_url_async(trace_id, WAIT)).is_some());
}

#[test]
fn after_shutdown_waiting_for_an_unknown_project_ends_at_once() {
    own_process!();
    let receiver = Receiver::start();
    receiver.set_projects_reply(Reply::status(503));
    let langfuse = setup::init(&receiver);
    let trace_id = create_trace_id(None);
    langfuse.shutdown(WAIT);
    let started = Instant::now();
    assert_eq!(block_on(langfuse.trace_url_async(trace_id, WAIT)), None);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "the exporter is gone: nothing to wait for"
    );
}
