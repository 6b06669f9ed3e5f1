//! Bad input: non-finite floats, endless nesting, huge strings and collections, `Serialize` and
//! `Debug` impls that panic or fail, errors whose `Display` is huge or panics, and text that
//! was not UTF-8. Each becomes a marker inside its observation: never a crash, never a lost
//! observation, never a request the server cannot decode.

mod support;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::os::unix::ffi::OsStringExt as _;

use langfuse::{LangfuseGuard, observe};
use serde::{Serialize, Serializer};
use support::setup::{self, Tree, WAIT};
use support::{ReceivedSpan, Receiver};

const INPUT: &str = "langfuse.observation.input";
const OUTPUT: &str = "langfuse.observation.output";
const STATUS: &str = "langfuse.observation.status_message";
const TRUNCATED: &str = "[truncated by langfuse]";
/// The capture budget of these tests (per field).
const BUDGET: usize = 4096;

fn start() -> (Receiver, LangfuseGuard) {
    let receiver = Receiver::start();
    let guard = setup::config_for(&receiver)
        .capture_max_bytes(BUDGET)
        .init()
        .unwrap();
    (receiver, guard)
}

/// Flushes, checks that every request decoded and every observation arrived, and returns the
/// spans.
fn delivered(receiver: &Receiver, guard: &LangfuseGuard, expected: usize) -> Tree {
    let report = guard.flush(WAIT);
    assert!(report.is_complete(), "{report:?}");
    let stats = guard.stats();
    assert_eq!(
        (stats.started, stats.exported, stats.dropped()),
        (expected as u64, expected as u64, 0),
        "no observation lost: {stats:?}"
    );
    for request in receiver.trace_requests() {
        assert!(
            request.export.is_some(),
            "the server could not decode a request: {:?}",
            request.decode_error
        );
    }
    Tree::new(receiver.wait_for_spans(expected, WAIT))
}

/// A JSON attribute, parsed: it must be valid JSON.
fn json(span: &ReceivedSpan, key: &str) -> serde_json::Value {
    let text = span
        .str_attr(key)
        .unwrap_or_else(|| panic!("{} has no {key}", span.name()));
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{key} is not JSON ({e}): {text}"))
}

#[observe]
fn non_finite(x: f64, history: Vec<f32>, by_name: BTreeMap<String, f64>) -> (f64, f64, f32) {
    let _ = (x, history, by_name);
    (f64::INFINITY, f64::NEG_INFINITY, f32::NAN)
}

/// A value nested `self.0` levels deep, made lazily: only its serialization is deep.
struct Deep(usize);

impl Serialize for Deep {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = serializer.serialize_map(Some(1))?;
        match self.0.checked_sub(1) {
            Some(next) => map.serialize_entry("next", &Deep(next))?,
            None => map.serialize_entry("leaf", &true)?,
        }
        map.end()
    }
}

#[observe]
fn deep(value: Deep) -> Deep {
    Deep(value.0)
}

/// A linked list as users write it: nested once per element when serialized.
#[derive(Serialize)]
struct Node {
    value: u32,
    next: Option<Box<Node>>,
}

#[observe]
fn linked_list(head: &Node) -> usize {
    let mut length = 0;
    let mut node = Some(head);
    while let Some(n) = node {
        length += 1;
        node = n.next.as_deref();
    }
    length
}

#[observe]
fn huge(text: String, numbers: Vec<u64>, map: BTreeMap<u32, String>) -> String {
    let _ = (numbers, map);
    text
}

struct PanicsInSerialize;

impl Serialize for PanicsInSerialize {
    fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        panic!("boom-in-serialize")
    }
}

struct FailsInSerialize;

impl Serialize for FailsInSerialize {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error as _, SerializeSeq as _};
        // Fails halfway through: whatever was written must be rolled back.
        let mut seq = serializer.serialize_seq(Some(2))?;
        seq.serialize_element(&1)?;
        Err(S::Error::custom("refuses-4711"))
    }
}

struct PanicsInDebug;

impl fmt::Debug for PanicsInDebug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("partial")?;
        panic!("boom-in-debug")
    }
}

struct FailsInDebug;

impl fmt::Debug for FailsInDebug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("partial")?;
        Err(fmt::Error)
    }
}

#[observe]
fn misbehaving(
    a: PanicsInSerialize,
    b: FailsInSerialize,
    c: PanicsInDebug,
    d: FailsInDebug,
    fine: u32,
) -> PanicsInSerialize {
    let _ = (a, b, c, d, fine);
    PanicsInSerialize
}

#[derive(Debug)]
struct HugeError;

impl fmt::Display for HugeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for _ in 0..100_000 {
            f.write_str("a very long error message ")?;
        }
        Ok(())
    }
}

#[observe]
fn fails_hugely() -> Result<u32, HugeError> {
    Err(HugeError)
}

#[derive(Debug)]
struct PanickingDisplay;

impl fmt::Display for PanickingDisplay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("before the panic, ")?;
        panic!("boom-in-display")
    }
}

#[observe]
fn fails_with_a_panicking_display() -> Result<u32, PanickingDisplay> {
    Err(PanickingDisplay)
}

/// Only `Debug`: a file name that is not UTF-8, and text full of characters JSON must escape.
#[derive(Debug)]
#[allow(dead_code)]
struct RawName(OsString);

#[derive(Debug)]
#[allow(dead_code)]
struct Awkward(&'static str);

#[observe]
fn not_utf8(name: RawName, awkward: Awkward, lossy: String) -> RawName {
    let _ = (awkward, lossy);
    name
}

#[observe]
fn panics_without_a_message() {
    std::panic::panic_any(42_u8);
}

#[test]
fn non_finite_floats_become_markers() {
    own_process!();
    let (receiver, guard) = start();
    let by_name = [("loss".to_owned(), f64::NAN)].into();
    non_finite(f64::NAN, vec![1.5, f32::INFINITY], by_name);
    let tree = delivered(&receiver, &guard, 1);
    let span = tree.one("non_finite");
    assert_eq!(
        json(span, INPUT),
        serde_json::json!({
            "x": "NaN",
            "history": [1.5, "Infinity"],
            "by_name": {"loss": "NaN"},
        })
    );
    assert_eq!(
        json(span, OUTPUT),
        serde_json::json!(["Infinity", "-Infinity", "NaN"])
    );
}

#[test]
fn deep_nesting_stops_with_a_marker_instead_of_overflowing_the_stack() {
    own_process!();
    let (receiver, guard) = start();
    // Run where the stack is small, as on a runtime's worker threads: unguarded, serde_json
    // recursed until the stack overflowed and the process aborted.
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            deep(Deep(1_000_000));
            let mut list = Node {
                value: 0,
                next: None,
            };
            for value in 1..500 {
                list = Node {
                    value,
                    next: Some(Box::new(list)),
                };
            }
            assert_eq!(linked_list(&list), 500);
            // Dropping a long `Box` chain recurses too: unlink it iteratively.
            let mut next = list.next.take();
            while let Some(mut node) = next {
                next = node.next.take();
            }
        })
        .unwrap()
        .join()
        .unwrap();
    let tree = delivered(&receiver, &guard, 2);
    let marker = serde_json::Value::from("<nested deeper than 64 levels>");
    for (name, key) in [("deep", INPUT), ("deep", OUTPUT), ("linked_list", INPUT)] {
        let value = json(tree.one(name), key);
        // Follow the chain: "next" where there is one, else an object's only entry (the
        // argument's name around the input).
        let mut depth = 0;
        let mut innermost = &value;
        while let Some(object) = innermost.as_object() {
            depth += 1;
            innermost = match object.get("next") {
                Some(next) => next,
                None if object.len() == 1 => object.values().next().unwrap(),
                None => break,
            };
        }
        // A value nests 64 levels at most; the input's object of arguments adds one.
        let limit = if key == INPUT { 65 } else { 64 };
        assert!(depth <= limit, "{name} {key}: {depth} levels");
        assert_eq!(innermost, &marker, "{name} {key} ends with the marker");
    }
}

#[test]
fn huge_strings_and_collections_are_cut_at_the_budget() {
    own_process!();
    let (receiver, guard) = start();
    let text = "x".repeat(10 << 20);
    let numbers: Vec<u64> = (0..1_000_000).collect();
    let map: BTreeMap<u32, String> = (0..100_000).map(|i| (i, "value".to_owned())).collect();
    huge(text, numbers, map);
    let tree = delivered(&receiver, &guard, 1);
    let span = tree.one("huge");
    for key in [INPUT, OUTPUT] {
        let value = span.str_attr(key).unwrap();
        assert!(
            value.len() <= BUDGET + TRUNCATED.len() + 8,
            "{key}: {} bytes",
            value.len()
        );
    }
    // The input is still JSON: the object of arguments, closed, with the first argument's
    // string cut and marked where the budget ran out (the later arguments did not fit).
    let input = json(span, INPUT);
    let arguments = input.as_object().unwrap();
    assert_eq!(arguments.keys().collect::<Vec<_>>(), ["text"], "{input}");
    let text = input["text"].as_str().unwrap();
    assert!(
        text.starts_with("xxxx") && text.ends_with(TRUNCATED),
        "{text}"
    );
    // The output, a string, is sent as its text: cut, and marked at its end.
    assert!(span.str_attr(OUTPUT).unwrap().ends_with(TRUNCATED));
    // The bytes held for it stayed within the budget too.
    assert!(guard.stats().bytes_sent < 64 * 1024);
}

#[test]
fn serialize_and_debug_impls_that_panic_or_fail_become_markers() {
    own_process!();
    let (receiver, guard) = start();
    misbehaving(
        PanicsInSerialize,
        FailsInSerialize,
        PanicsInDebug,
        FailsInDebug,
        7,
    );
    let tree = delivered(&receiver, &guard, 1);
    let span = tree.one("misbehaving");
    let input = json(span, INPUT);
    assert_eq!(input["a"], "<panicked while capturing>");
    let b = input["b"].as_str().unwrap();
    assert!(
        b.starts_with("<unserializable:") && b.contains("refuses-4711"),
        "{b}"
    );
    assert_eq!(input["c"], "<panicked while capturing>");
    assert!(input["d"].as_str().unwrap().starts_with("<unserializable:"));
    assert_eq!(input["fine"], 7, "the arguments after them are intact");
    // A top-level string is sent as its raw text.
    assert_eq!(span.str_attr(OUTPUT), Some("<panicked while capturing>"));
    assert!(
        span.attr("langfuse.observation.level").is_none(),
        "capture problems do not fail the observation"
    );
}

#[test]
fn huge_or_panicking_error_messages_are_bounded_and_kept() {
    own_process!();
    let (receiver, guard) = start();
    assert!(fails_hugely().is_err());
    assert!(fails_with_a_panicking_display().is_err());
    let tree = delivered(&receiver, &guard, 2);
    let status = tree.one("fails_hugely").str_attr(STATUS).unwrap();
    assert!(status.starts_with("a very long error message"), "{status}");
    assert!(status.ends_with(TRUNCATED), "{status}");
    assert!(
        status.len() <= 4096 + TRUNCATED.len() + 8,
        "{}",
        status.len()
    );
    let panicked = tree.one("fails_with_a_panicking_display");
    assert_eq!(
        panicked.str_attr("langfuse.observation.level"),
        Some("ERROR")
    );
    let status = panicked.str_attr(STATUS).unwrap();
    assert!(status.contains("<panicked while formatting>"), "{status}");
}

#[test]
fn text_that_was_not_utf8_arrives_escaped() {
    own_process!();
    let (receiver, guard) = start();
    let name = RawName(OsString::from_vec(vec![
        b'c', b'a', b'f', 0xE9, 0xFF, b'\n',
    ]));
    let lossy = String::from_utf8_lossy(&[0xF0, 0x28, 0x8C, 0x28]).into_owned();
    not_utf8(
        name,
        Awkward("quote \" backslash \\ nul \0 bell \x07 line separator \u{2028} emoji 🦀"),
        lossy,
    );
    let tree = delivered(&receiver, &guard, 1);
    let span = tree.one("not_utf8");
    let input = json(span, INPUT);
    let name = input["name"].as_str().unwrap();
    assert_eq!(name, r#"RawName("caf\xE9\xFF\n")"#);
    let awkward = input["awkward"].as_str().unwrap();
    assert!(awkward.contains("nul \\0 bell \\u{7}"), "{awkward}");
    assert!(awkward.contains('🦀'), "{awkward}");
    assert_eq!(input["lossy"], "\u{FFFD}(\u{FFFD}(");
    // A top-level string is sent as its raw text.
    assert_eq!(span.str_attr(OUTPUT), Some(r#"RawName("caf\xE9\xFF\n")"#));
}

#[test]
fn a_caught_panic_in_capture_never_lends_its_message_to_a_later_panic() {
    own_process!();
    let (receiver, guard) = start();
    misbehaving(
        PanicsInSerialize,
        FailsInSerialize,
        PanicsInDebug,
        FailsInDebug,
        1,
    );
    assert!(std::panic::catch_unwind(panics_without_a_message).is_err());
    let tree = delivered(&receiver, &guard, 2);
    let span = tree.one("panics_without_a_message");
    assert_eq!(span.str_attr("langfuse.observation.level"), Some("ERROR"));
    assert_eq!(span.str_attr(STATUS), Some("panicked"));
}

#[test]
fn the_update_api_and_scores_take_bad_values_too() {
    own_process!();
    let (receiver, guard) = start();
    // Output capture off: the update's output is the one sent.
    #[observe(as_type = "generation", capture_output = false)]
    fn generate() {
        langfuse::update_current_generation(|generation| {
            generation
                .metadata(&serde_json::json!({ "ok": 1 }))
                .model_parameters(
                    &[("temperature", f64::NAN)]
                        .into_iter()
                        .collect::<BTreeMap<_, _>>(),
                )
                .output(&Deep(10_000));
        });
        langfuse::score_current_span(langfuse::Score::numeric("quality", f64::NAN));
        let metadata: BTreeMap<&str, f64> = [("p99", f64::INFINITY)].into();
        langfuse::score_current_span(langfuse::Score::numeric("latency", 1.0).metadata(&metadata));
    }
    generate();
    let tree = delivered(&receiver, &guard, 1);
    let span = tree.one("generate");
    assert_eq!(
        json(span, "langfuse.observation.model.parameters"),
        serde_json::json!({ "temperature": "NaN" })
    );
    let output = span.str_attr(OUTPUT).unwrap();
    assert!(
        output.contains("<nested deeper than 64 levels>"),
        "{output}"
    );
    let stats = guard.stats();
    // A NaN score value is invalid (the server rejects it): dropped before sending, counted.
    assert_eq!(stats.scores_dropped_invalid, 1, "{stats:?}");
    assert_eq!(stats.scores_exported, 1, "{stats:?}");
    let scores = receiver.scores();
    assert_eq!(
        scores[0]["metadata"],
        serde_json::json!({ "p99": "Infinity" }),
        "{scores:?}"
    );
}

#[test]
fn environment_values_that_are_not_utf8_are_typed_errors() {
    own_process!();
    use std::os::unix::ffi::OsStrExt as _;
    // SAFETY: this test runs in a process of its own (`own_process!`), where no other thread
    // exists yet.
    unsafe { std::env::set_var("LANGFUSE_FLUSH_AT", std::ffi::OsStr::from_bytes(b"12\xff")) };
    match langfuse::init() {
        Err(langfuse::Error::Config(langfuse::ConfigError::InvalidEnv { var, value, .. })) => {
            assert_eq!(var, "LANGFUSE_FLUSH_AT");
            assert_eq!(value, "12\u{FFFD}", "shown with the bad byte replaced");
        }
        other => panic!("expected an InvalidEnv error, got {other:?}"),
    }
    let config = langfuse::Config::builder()
        .public_key("pk-lf-1")
        .secret_key("sk-lf-1")
        .flush_at(3)
        .build();
    assert!(config.is_ok(), "the builder's value wins: {config:?}");
    // SAFETY: as above; the client of this process is already decided (disabled).
    unsafe {
        std::env::set_var(
            "LANGFUSE_PUBLIC_KEY",
            std::ffi::OsStr::from_bytes(b"pk-lf-\xc3\x28"),
        );
    }
    let error = langfuse::Config::builder().flush_at(3).build().unwrap_err();
    assert!(
        matches!(
            &error,
            langfuse::ConfigError::InvalidEnv {
                var: "LANGFUSE_PUBLIC_KEY",
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("printable ASCII"), "{error}");
}
