//! How an observation ends: `Err` (level ERROR, the error's Display as status), a panic
//! (ERROR, the panic continues), a future dropped before completion (WARNING, "cancelled"),
//! early returns and `?`.
//!
//! Every outcome is read from the in-memory recorder (`langfuse::testing`): its spans carry
//! the level, status message and OTLP error status the exporter would send.

mod support;

use std::time::Duration;

use langfuse::observe;
use langfuse::testing::{self, Recorder};
use support::recorded::{self, Attributes as _};

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
    let recording = testing::record(|| {
        assert_eq!(parse_number("21"), Ok(42));
        assert!(parse_number("forty-two").is_err());
        assert_eq!(check_quota(3).unwrap(), 7);
        assert!(check_quota(12).is_err());
    });

    assert_eq!(recording.len(), 4);
    let by_input = |name: &str, input: &str| {
        recording
            .all(name)
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
    assert!(failed.is_error(), "the OTLP status is ERROR");

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
    let recorder = Recorder::new();
    assert!(
        recorder.in_scope(survives_a_panicking_child),
        "the panic reached the caller"
    );

    let recording = recorder.recording();
    assert_eq!(recording.len(), 2);
    recorded::assert_child(&recording, "explode", "survives_a_panicking_child");
    let exploded = recording.one("explode");
    assert_eq!(
        exploded.str_attr("langfuse.observation.level"),
        Some("ERROR")
    );
    assert_eq!(
        exploded.str_attr("langfuse.observation.status_message"),
        Some("panicked: boom 7")
    );
    let parent = recording.one("survives_a_panicking_child");
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
    let recorder = Recorder::new();
    let joined = tokio::spawn(recorder.instrument(explode_async(3))).await;
    assert!(joined.unwrap_err().is_panic());
    assert_eq!(recorder.instrument(impatient_caller()).await, None);

    let recording = recorder.recording();
    assert_eq!(recording.len(), 3);
    let exploded = recording.one("explode_async");
    assert_eq!(
        exploded.str_attr("langfuse.observation.level"),
        Some("ERROR")
    );
    assert_eq!(
        exploded.str_attr("langfuse.observation.status_message"),
        Some("panicked: async boom 3")
    );

    recorded::assert_child(&recording, "slow_call", "impatient_caller");
    let cancelled = recording.one("slow_call");
    assert_eq!(
        cancelled.str_attr("langfuse.observation.level"),
        Some("WARNING")
    );
    assert_eq!(
        cancelled.str_attr("langfuse.observation.status_message"),
        Some("cancelled")
    );
    assert!(!cancelled.has_attr("langfuse.observation.output"));
    assert!(
        cancelled.duration() < Duration::from_secs(5),
        "ended when dropped, not when it would have finished"
    );
    assert_eq!(
        recording
            .one("impatient_caller")
            .str_attr("langfuse.observation.output"),
        Some("null")
    );
}
