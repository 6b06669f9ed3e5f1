//! Capture of inputs and outputs: any argument type, skip, `self`, the per-field byte budget,
//! the configuration default, and nothing serialized for a sampled-out trace.
//!
//! What is captured is read from the in-memory recorder (`langfuse::testing`), whose spans come
//! from the exporter's own attribute mapping. The byte budget, the capture default and the
//! sampling rate are process-wide settings of the client's configuration, so those three tests
//! each run in a process of their own (`own_process!`) with a client configured for them,
//! against their own receiver.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};

use langfuse::observe;
use langfuse::testing;
use serde::Serialize;
use support::Receiver;
use support::recorded::Attributes as _;
use support::setup::{self, Tree, WAIT};

#[derive(Serialize)]
struct Query {
    text: String,
    top_k: u8,
}

#[derive(Debug)]
#[allow(dead_code)]
struct Connection {
    host: &'static str,
}

struct Opaque;

#[observe]
fn every_kind_of_argument(query: Query, connection: &Connection, opaque: Opaque, n: u32) -> Query {
    let _ = (connection, opaque);
    Query {
        text: format!("{} again", query.text),
        top_k: query.top_k + n as u8,
    }
}

#[observe(skip(password, token))]
fn login(user: &str, password: &str, token: String) -> bool {
    !user.is_empty() && !password.is_empty() && !token.is_empty()
}

struct Index {
    name: &'static str,
}

impl Index {
    #[observe]
    fn search(&self, term: &str) -> Vec<String> {
        vec![format!("{}:{term}", self.name)]
    }
}

#[observe(capture_input = false)]
fn no_input(secret: &str) -> usize {
    secret.len()
}

#[observe(capture_output = false)]
fn no_output(n: u32) -> u32 {
    n + 1
}

#[observe]
fn destructured((a, b): (u32, u32), [first, _]: [char; 2]) -> u32 {
    a + b + first as u32
}

#[test]
fn arguments_and_results_are_captured_whatever_their_type() {
    let recording = testing::record(|| {
        let query = Query {
            text: "capital of France".into(),
            top_k: 3,
        };
        every_kind_of_argument(query, &Connection { host: "db" }, Opaque, 2);
        login("ada", "hunter2", "tok".into());
        Index { name: "docs" }.search("rust");
        no_input("do not capture me");
        no_output(1);
        destructured((1, 2), ['x', 'y']);
    });

    assert_eq!(recording.len(), 6);
    let input = |name: &str| {
        recording
            .one(name)
            .str_attr("langfuse.observation.input")
            .map(str::to_owned)
    };
    let output = |name: &str| {
        recording
            .one(name)
            .str_attr("langfuse.observation.output")
            .map(str::to_owned)
    };

    assert_eq!(
        input("every_kind_of_argument").as_deref(),
        Some(
            r#"{"query":{"text":"capital of France","top_k":3},"connection":"Connection { host: \"db\" }","opaque":"<capture::Opaque>","n":2}"#
        )
    );
    assert_eq!(
        output("every_kind_of_argument").as_deref(),
        Some(r#"{"text":"capital of France again","top_k":5}"#)
    );
    assert_eq!(input("login").as_deref(), Some(r#"{"user":"ada"}"#));
    assert_eq!(
        input("search").as_deref(),
        Some(r#"{"term":"rust"}"#),
        "self is never captured"
    );
    assert_eq!(input("no_input"), None);
    assert_eq!(output("no_input").as_deref(), Some("17"));
    assert_eq!(input("no_output").as_deref(), Some(r#"{"n":1}"#));
    assert_eq!(output("no_output"), None);
    assert_eq!(
        input("destructured").as_deref(),
        Some(r#"{"a":1,"b":2,"first":"x"}"#)
    );
}

#[observe]
fn huge(document: String) -> usize {
    document.len()
}

#[test]
fn the_byte_budget_truncates_a_huge_argument_and_marks_it() {
    own_process!();
    let receiver = Receiver::start();
    let langfuse = setup::config_for(&receiver)
        .capture_max_bytes(1024)
        .init()
        .unwrap();

    huge("x".repeat(10_000_000));
    langfuse.flush(WAIT);

    let span = &receiver.wait_for_spans(1, WAIT)[0];
    let input = span.str_attr("langfuse.observation.input").unwrap();
    assert!(input.starts_with(r#"{"document":"xxxx"#));
    // Still JSON: the string cut and marked, the object closed.
    assert!(input.ends_with(r#"… [truncated by langfuse]"}"#), "{input}");
    let parsed: serde_json::Value = serde_json::from_str(input).unwrap();
    assert!(
        parsed["document"]
            .as_str()
            .unwrap()
            .ends_with("… [truncated by langfuse]")
    );
    assert!(input.len() < 1100, "{}", input.len());
    assert_eq!(
        span.str_attr("langfuse.observation.output"),
        Some("10000000")
    );
}

#[test]
fn the_configured_default_turns_capture_off() {
    own_process!();
    let receiver = Receiver::start();
    let langfuse = setup::config_for(&receiver)
        .io_capture_enabled(false)
        .init()
        .unwrap();

    login("ada", "hunter2", "tok".into());
    no_output(1); // capture_output = false, input follows the default (off)
    langfuse.flush(WAIT);

    let tree = Tree::new(receiver.wait_for_spans(2, WAIT));
    for span in &tree.spans {
        assert!(
            !span.has_attr("langfuse.observation.input"),
            "{}",
            span.name()
        );
        assert!(
            !span.has_attr("langfuse.observation.output"),
            "{}",
            span.name()
        );
    }
}

static SERIALIZED: AtomicUsize = AtomicUsize::new(0);

struct Counted;

impl Serialize for Counted {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        SERIALIZED.fetch_add(1, Ordering::SeqCst);
        serializer.serialize_unit()
    }
}

#[observe]
fn sampled(value: Counted) -> Counted {
    value
}

#[test]
fn nothing_is_serialized_for_a_sampled_out_trace() {
    own_process!();
    let receiver = Receiver::start();
    let langfuse = setup::config_for(&receiver)
        .sample_rate(0.0)
        .init()
        .unwrap();

    for _ in 0..100 {
        sampled(Counted);
    }
    langfuse.flush(WAIT);
    assert_eq!(SERIALIZED.load(Ordering::SeqCst), 0);
    let stats = langfuse.stats();
    assert_eq!(stats.started, 0);
    assert_eq!(stats.dropped_sampling, 100);
    assert!(receiver.spans().is_empty());
}
