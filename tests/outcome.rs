//! How an observation ends: `Err` (level ERROR, the error's Display as status), a panic
//! (ERROR, the panic continues), a future dropped before completion (WARNING, "cancelled"),
//! early returns and `?`.

mod support;

use std::time::Duration;

use langfuse::observe;
use support::Receiver;
use support::setup::{self, Tree, WAIT};

#[derive(Debug)]
struct QuotaExceeded {
    limit: u32,
}

impl std::fmt::Display for QuotaExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "quota of {} requests exceeded", self.limit)
    }
}

#[observe]
fn parse_number(text: &str) -> Result<u32, std::num::ParseIntError> {
    let n: u32 = text.trim().parse()?;
    Ok(n * 2)
}

#[observe]
fn check_quota(used: u32) -> Result<u32, QuotaExceeded> {
    if used >= 10 {
        return Err(QuotaExceeded { limit: 10 });
    }
    Ok(10 - used)
}

#[test]
fn err_and_early_returns_set_level_error_and_the_display_as_status() {
    let receiver = Receiver::start();
    let langfuse = setup::init(&receiver);

    assert_eq!(parse_number("21"), Ok(42));
    assert!(parse_number("forty-two").is_err());
    assert_eq!(check_quota(3).unwrap(), 7);
    assert!(check_quota(12).is_err());
    langfuse.flush(WAIT);

    let tree = Tree::new(receiver.wait_for_spans(4, WAIT));
    let by_input = |name: &str, input: &str| {
        tree.all(name)
            .into_iter()
            .find(|s| s.str_attr("langfuse.observation.input") == Some(input))
            .unwrap_or_else(|| panic!("no {name} with input {input}"))
    };
    let ok = by_input("parse_number", r#"{"text":"21"}"#);
    assert_eq!(ok.str_attr("langfuse.observation.output"), Some("42"));
    assert!(!ok.has_attr("langfuse.observation.level"));

    let failed = by_input("parse_number", r#"{"text":"forty-two"}"#);
    assert_eq!(failed.str_attr("langfuse.observation.level"), Some("ERROR"));
    assert_eq!(
        failed.str_attr("langfuse.observation.status_message"),
        Some("invalid digit found in string")
    );
    assert_eq!(failed.span.status.as_ref().map(|s| s.code), Some(2));

    let early = by_input("check_quota", r#"{"used":12}"#);
    assert_eq!(early.str_attr("langfuse.observation.level"), Some("ERROR"));
    assert_eq!(
        early.str_attr("langfuse.observation.status_message"),
        Some("quota of 10 requests exceeded")
    );
    let fine = by_input("check_quota", r#"{"used":3}"#);
    assert_eq!(fine.str_attr("langfuse.observation.output"), Some("7"));
}

#[observe]
fn explode(code: u32) -> u32 {
    if code > 0 {
        panic!("boom {code}");
    }
    code
}

#[observe]
fn survives_a_panicking_child() -> bool {
    std::panic::catch_unwind(|| explode(7)).is_err()
}

#[test]
fn a_panic_ends_the_observation_with_error_and_keeps_unwinding() {
    let receiver = Receiver::start();
    let langfuse = setup::init(&receiver);

    assert!(survives_a_panicking_child(), "the panic reached the caller");
    langfuse.flush(WAIT);

    let tree = Tree::new(receiver.wait_for_spans(2, WAIT));
    tree.assert_child("explode", "survives_a_panicking_child");
    let exploded = tree.one("explode");
    assert_eq!(
        exploded.str_attr("langfuse.observation.level"),
        Some("ERROR")
    );
    assert_eq!(
        exploded.str_attr("langfuse.observation.status_message"),
        Some("panicked: boom 7")
    );
    let parent = tree.one("survives_a_panicking_child");
    assert!(
        !parent.has_attr("langfuse.observation.level"),
        "the caller caught it"
    );
}

#[observe]
async fn explode_async(code: u32) -> u32 {
    tokio::task::yield_now().await;
    if code > 0 {
        panic!("async boom {code}");
    }
    code
}

#[observe]
async fn slow_call(ms: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    ms
}

#[observe]
async fn impatient_caller() -> Option<u64> {
    tokio::time::timeout(Duration::from_millis(5), slow_call(10_000))
        .await
        .ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_panics_and_cancellations_are_recorded() {
    let receiver = Receiver::start();
    let langfuse = setup::init(&receiver);

    let joined = tokio::spawn(explode_async(3)).await;
    assert!(joined.unwrap_err().is_panic());
    assert_eq!(impatient_caller().await, None);
    langfuse.flush_async(WAIT).await;

    let tree = Tree::new(receiver.wait_for_spans(3, WAIT));
    let exploded = tree.one("explode_async");
    assert_eq!(
        exploded.str_attr("langfuse.observation.level"),
        Some("ERROR")
    );
    assert_eq!(
        exploded.str_attr("langfuse.observation.status_message"),
        Some("panicked: async boom 3")
    );

    tree.assert_child("slow_call", "impatient_caller");
    let cancelled = tree.one("slow_call");
    assert_eq!(
        cancelled.str_attr("langfuse.observation.level"),
        Some("WARNING")
    );
    assert_eq!(
        cancelled.str_attr("langfuse.observation.status_message"),
        Some("cancelled")
    );
    assert!(!cancelled.has_attr("langfuse.observation.output"));
    let duration = cancelled.span.end_time_unix_nano - cancelled.span.start_time_unix_nano;
    assert!(
        duration < 5_000_000_000,
        "ended when dropped, not when it would have finished"
    );
    assert_eq!(
        tree.one("impatient_caller")
            .str_attr("langfuse.observation.output"),
        Some("null")
    );
}
