//! Property tests of the cut at the byte budget: for random values and budgets, every capture
//! (a serialized value, a function's arguments, a `Debug` fallback) is valid JSON to a parser
//! that shares no code with serde_json (tinyjson), stays within the budget plus
//! [`MAX_OVERSHOOT`], is exactly serde_json's output when it fits, and otherwise is serde_json's
//! output up to the cut followed by the marker where the module docs of `sink` say.

use proptest::prelude::*;
use serde_json::Value;

use super::sink::{MAX_OVERSHOOT, TRUNCATED_MARKER};
use super::{
    CaptureViaDebug as _, CaptureViaSerialize as _, InputRecorder, JsonSink, Payload, Wrap,
    serialize_bounded,
};

/// Arbitrary JSON values: every kind, strings with escapes and multi-byte characters, nested
/// a few levels.
fn json_value() -> impl Strategy<Value = Value> {
    let text = prop_oneof![
        ".{0,40}",
        "[a-z \"\\\\\n\t\u{1}é€😀]{0,80}",
        Just("x".repeat(3000)),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        text.prop_map(Value::from),
    ];
    leaf.prop_recursive(6, 200, 12, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..12).prop_map(Value::Array),
            prop::collection::btree_map("[a-z\"é\n]{0,12}", inner, 0..12)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Checks one capture against the JSON it would be without a budget.
fn check(json: &str, whole: &str, budget: usize) -> Result<(), TestCaseError> {
    prop_assert!(
        json.parse::<tinyjson::JsonValue>().is_ok(),
        "not valid JSON (budget {budget}): {json}"
    );
    prop_assert!(
        json.len() <= budget + MAX_OVERSHOOT,
        "{} bytes for a budget of {budget}",
        json.len()
    );
    if !json.contains(TRUNCATED_MARKER) {
        prop_assert_eq!(json, whole, "not cut, so exactly serde_json's output");
        prop_assert!(whole.len() <= budget, "{} bytes fit {budget}", whole.len());
        return Ok(());
    }
    // Cut: the marker ends a string, or is the final entry of an array or object; then only
    // closing brackets follow.
    let open = json.trim_end_matches([']', '}']);
    prop_assert!(
        open.ends_with(&format!("{TRUNCATED_MARKER}\""))
            || open.ends_with(&format!("\"{TRUNCATED_MARKER}\":null")),
        "the marker is not where the cut is: {json}"
    );
    // Up to the marker, what was written is serde_json's output (a cut string's first
    // characters; everything before a dropped element, its comma included).
    let at = json.rfind(TRUNCATED_MARKER).expect("contains the marker");
    let before = &json.as_bytes()[..at - 1];
    prop_assert!(
        whole.as_bytes().starts_with(before),
        "not serde_json's output up to the cut:\n{json}\n{whole}"
    );
    prop_assert!(whole.len() > budget, "{whole} fits {budget} but was cut");
    Ok(())
}

fn text(payload: Payload) -> String {
    match payload {
        Payload::Json(json) => json,
        Payload::Text(text) => panic!("a capture is JSON: {text}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn a_value_cut_anywhere_is_valid_json(value in json_value(), budget in 0usize..4000) {
        let json = text(serialize_bounded(&value, budget));
        check(&json, &serde_json::to_string(&value).unwrap(), budget)?;
    }

    #[test]
    fn arguments_cut_anywhere_are_valid_json(
        args in prop::collection::vec(json_value(), 0..4),
        budget in 0usize..4000,
    ) {
        const NAMES: [&str; 4] = ["query", "r#type", "k", "documents"];
        let mut input = InputRecorder::new(budget);
        let mut whole = String::from("{");
        for (i, arg) in args.iter().enumerate() {
            (&&&Wrap(arg)).__langfuse_capture(input.arg(NAMES[i]));
            if i > 0 {
                whole.push(',');
            }
            let name = NAMES[i].trim_start_matches("r#");
            whole.push_str(&format!("\"{name}\":{}", serde_json::to_string(arg).unwrap()));
        }
        whole.push('}');
        check(&text(input.into_payload()), &whole, budget)?;
    }

    #[test]
    fn a_debug_fallback_cut_anywhere_is_valid_json(value in json_value(), budget in 0usize..4000) {
        /// Only `Debug`: captured through the fallback.
        struct OnlyDebug(Value);
        impl std::fmt::Debug for OnlyDebug {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{:?}", self.0)
            }
        }
        let value = OnlyDebug(value);
        let mut sink = JsonSink::new(budget);
        (&&&Wrap(&value)).__langfuse_capture(&mut sink);
        let whole = serde_json::to_string(&format!("{value:?}")).unwrap();
        check(&text(sink.into_payload()), &whole, budget)?;
    }
}

#[test]
fn the_independent_parser_refuses_what_a_cut_used_to_be() {
    // The shape before captures were closed at the cut: a prefix and the marker.
    for broken in [
        "{\"k\":\"trunc… [truncated by langfuse]",
        "[7,7,7… [truncated by langfuse]",
        "[1,2,]",
        "{\"a\":1,}",
        "\"raw \u{1} control\"",
        "",
    ] {
        assert!(
            broken.parse::<tinyjson::JsonValue>().is_err(),
            "{broken:?} must not parse"
        );
    }
    // And the values a cut produces do parse.
    let cut = text(serialize_bounded(&vec!["a".repeat(100); 10], 64));
    assert!(cut.parse::<tinyjson::JsonValue>().is_ok(), "{cut}");
    assert!(cut.ends_with(&format!("{TRUNCATED_MARKER}\"]")), "{cut}");
}
