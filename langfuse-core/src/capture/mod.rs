//! Capture of arguments, return values and error messages into bounded buffers.
//!
//! Values that implement `serde::Serialize` are written as JSON; others fall back to `Debug`
//! (as a JSON string); others to a type-name marker, so that no argument type can make
//! `#[observe]` fail to compile. The choice is made at compile time by autoref specialization:
//! the expansion calls a method on `&&&Wrap(&value)` and the compiler picks the most specific of
//! three traits whose bounds hold ([`CaptureViaSerialize`] > [`CaptureViaDebug`] >
//! [`CaptureViaTypeName`]). The same trick splits `Result` from other outputs
//! ([`SplitResult`] > [`SplitPlain`]) and renders errors ([`DescribeViaDisplay`] >
//! [`DescribeViaDebug`] > [`DescribeViaTypeName`]).
//!
//! Every buffer has a byte budget enforced while writing: serialization stops at the budget,
//! so a 100 MB argument costs what one at the budget costs, and what was written is closed
//! into valid JSON with the cut marked where it happened (see [`sink`] for the exact shape).
//! Captures write into recycled buffers ([`pool`]) that travel to the exporter with the
//! record, so capturing allocates nothing in steady state.

use std::fmt::{self, Write as _};
use std::panic::{AssertUnwindSafe, catch_unwind};

#[cfg(test)]
#[allow(
    clippy::needless_borrow,
    reason = "the extra borrows select the capture strategy"
)]
mod cut_properties;
mod payload;
mod policy;
pub(crate) mod pool;
mod ser;
pub(crate) mod sink;

pub(crate) use payload::{Payload, merge_objects};
pub use policy::CaptureSetting;
pub(crate) use policy::{configure, enabled, max_bytes};
pub use sink::JsonSink;
pub(crate) use sink::TRUNCATED_MARKER;

/// Budget for an error's status message.
pub(crate) const STATUS_MAX_BYTES: usize = 4096;

/// Borrows a value for capture; see the module docs. Not a stable API.
#[doc(hidden)]
pub struct Wrap<'a, T: ?Sized>(pub &'a T);

impl JsonSink {
    /// Writes one value with `write`, which returns `Err` when the value refused to serialize.
    /// A refusal or a panic inside user code rolls the value back and writes a marker instead,
    /// so the surrounding JSON stays valid and the observation is kept.
    fn value(&mut self, write: impl FnOnce(&mut JsonSink) -> Result<(), String>) {
        if self.is_cut() {
            return;
        }
        let checkpoint = self.checkpoint();
        let outcome = catch_unwind(AssertUnwindSafe(|| write(self)));
        if self.is_cut() {
            return;
        }
        let marker = match outcome {
            Ok(Ok(())) => return,
            Ok(Err(reason)) => format!("<unserializable: {reason}>"),
            Err(_) => "<panicked while capturing>".to_owned(),
        };
        self.restore(checkpoint);
        self.json_string(&marker);
    }
}

/// Escapes `Debug` output into a JSON string value as it streams in.
struct DebugWriter<'a> {
    sink: &'a mut JsonSink,
}

impl fmt::Write for DebugWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.sink.escaped(s).map_err(|_| fmt::Error)
    }
}

/// A bounded plain-text buffer, for status messages.
#[doc(hidden)]
pub struct TextSink {
    buf: String,
    limit: usize,
    truncated: bool,
}

impl TextSink {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            buf: String::new(),
            limit,
            truncated: false,
        }
    }

    /// Writes with `write`, keeping what fit if it errs or panics.
    fn text(&mut self, write: impl FnOnce(&mut TextSink) -> fmt::Result) {
        let outcome = catch_unwind(AssertUnwindSafe(|| write(self)));
        if outcome.is_err() && !self.truncated {
            self.buf.push_str("<panicked while formatting>");
        }
    }

    pub(crate) fn into_string(mut self) -> String {
        if self.truncated {
            self.buf.push_str(TRUNCATED_MARKER);
        }
        self.buf
    }
}

impl fmt::Write for TextSink {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.truncated {
            return Err(fmt::Error);
        }
        let room = self.limit.saturating_sub(self.buf.len());
        if s.len() > room {
            let mut cut = room;
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            self.buf.push_str(&s[..cut]);
            self.truncated = true;
            return Err(fmt::Error);
        }
        self.buf.push_str(s);
        Ok(())
    }
}

/// Collects a function's arguments as one JSON object, `{"name": value, ...}`.
#[doc(hidden)]
pub struct InputRecorder {
    sink: JsonSink,
    empty: bool,
}

impl InputRecorder {
    #[inline]
    pub(crate) fn new(limit: usize) -> Self {
        let mut sink = JsonSink::new(limit);
        sink.begin_object();
        Self { sink, empty: true }
    }

    /// Starts the entry for argument `name` and returns the sink for its value.
    #[inline]
    pub fn arg(&mut self, name: &'static str) -> &mut JsonSink {
        // Argument names are Rust identifiers, which never need escaping in JSON (no quotes,
        // backslashes or control characters); raw ones lose `r#`.
        let name = name.strip_prefix("r#").unwrap_or(name);
        self.sink.begin_entry(self.empty, name);
        self.empty = false;
        &mut self.sink
    }

    #[inline]
    pub(crate) fn into_payload(mut self) -> Payload {
        self.sink.end_container();
        self.sink.into_payload()
    }
}

/// Serializes with serde into a bounded sink, through the capture serializer ([`ser`]):
/// serde_json's JSON, except that non-finite floats become string markers and nesting stops
/// at [`ser::MAX_DEPTH`] (serde_json writes `null` for the first and overflows the stack on
/// the second), and the work stops with the budget.
#[inline]
fn write_serialize<T: serde::Serialize + ?Sized>(value: &T, sink: &mut JsonSink) {
    sink.value(|sink| match sink.serialize(value) {
        Ok(()) => Ok(()),
        // The budget ran out: the sink already closed the JSON.
        Err(_) if sink.is_cut() => Ok(()),
        Err(e) => Err(e.to_string()),
    });
}

/// Formats with `Debug` into a bounded sink, as a JSON string.
fn write_debug<T: fmt::Debug + ?Sized>(value: &T, sink: &mut JsonSink) {
    sink.value(|sink| {
        if sink.begin_text().is_err() {
            return Ok(());
        }
        let result = write!(DebugWriter { sink }, "{value:?}");
        if sink.is_cut() {
            return Ok(());
        }
        let _ = sink.end_text();
        result.map_err(|_| "Debug implementation returned an error".to_owned())
    });
}

/// Writes a type-name marker for values that are neither `Serialize` nor `Debug`.
fn write_type_name<T: ?Sized>(sink: &mut JsonSink) {
    sink.json_string(&format!("<{}>", std::any::type_name::<T>()));
}

/// Highest priority capture: the value implements `Serialize`. Not a stable API.
#[doc(hidden)]
pub trait CaptureViaSerialize {
    /// Writes the value into `sink`.
    fn __langfuse_capture(&self, sink: &mut JsonSink);
}

impl<T: serde::Serialize + ?Sized> CaptureViaSerialize for &&Wrap<'_, T> {
    fn __langfuse_capture(&self, sink: &mut JsonSink) {
        write_serialize(self.0, sink);
    }
}

/// Second choice: the value implements `Debug`. Not a stable API.
#[doc(hidden)]
pub trait CaptureViaDebug {
    /// Writes the value into `sink`.
    fn __langfuse_capture(&self, sink: &mut JsonSink);
}

impl<T: fmt::Debug + ?Sized> CaptureViaDebug for &Wrap<'_, T> {
    fn __langfuse_capture(&self, sink: &mut JsonSink) {
        write_debug(self.0, sink);
    }
}

/// Last resort: the value's type name. Not a stable API.
#[doc(hidden)]
pub trait CaptureViaTypeName {
    /// Writes the value into `sink`.
    fn __langfuse_capture(&self, sink: &mut JsonSink);
}

impl<T: ?Sized> CaptureViaTypeName for Wrap<'_, T> {
    fn __langfuse_capture(&self, sink: &mut JsonSink) {
        write_type_name::<T>(sink);
    }
}

/// Splits a `Result` output into its `Ok` value or its error. Not a stable API.
#[doc(hidden)]
pub trait SplitResult {
    /// The success type.
    type Ok: ?Sized;
    /// The error type.
    type Err: ?Sized;
    /// `Ok(value)` or `Err(error)`.
    fn __langfuse_split(&self) -> Result<&Self::Ok, &Self::Err>;
}

impl<T, E> SplitResult for &Wrap<'_, Result<T, E>> {
    type Ok = T;
    type Err = E;
    fn __langfuse_split(&self) -> Result<&T, &E> {
        self.0.as_ref()
    }
}

/// Any other output is a success. Not a stable API.
#[doc(hidden)]
pub trait SplitPlain {
    /// The output type itself.
    type Ok: ?Sized;
    /// Never produced.
    type Err: ?Sized;
    /// Always `Ok(value)`.
    fn __langfuse_split(&self) -> Result<&Self::Ok, &Self::Err>;
}

impl<T: ?Sized> SplitPlain for Wrap<'_, T> {
    type Ok = T;
    type Err = std::convert::Infallible;
    fn __langfuse_split(&self) -> Result<&T, &std::convert::Infallible> {
        Ok(self.0)
    }
}

/// Describes an error by its `Display`. Not a stable API.
#[doc(hidden)]
pub trait DescribeViaDisplay {
    /// Writes the description into `sink`.
    fn __langfuse_describe(&self, sink: &mut TextSink);
}

impl<T: fmt::Display + ?Sized> DescribeViaDisplay for &&Wrap<'_, T> {
    fn __langfuse_describe(&self, sink: &mut TextSink) {
        sink.text(|sink| write!(sink, "{}", self.0));
    }
}

/// Describes an error by its `Debug`. Not a stable API.
#[doc(hidden)]
pub trait DescribeViaDebug {
    /// Writes the description into `sink`.
    fn __langfuse_describe(&self, sink: &mut TextSink);
}

impl<T: fmt::Debug + ?Sized> DescribeViaDebug for &Wrap<'_, T> {
    fn __langfuse_describe(&self, sink: &mut TextSink) {
        sink.text(|sink| write!(sink, "{:?}", self.0));
    }
}

/// Describes an error by its type name. Not a stable API.
#[doc(hidden)]
pub trait DescribeViaTypeName {
    /// Writes the description into `sink`.
    fn __langfuse_describe(&self, sink: &mut TextSink);
}

impl<T: ?Sized> DescribeViaTypeName for Wrap<'_, T> {
    fn __langfuse_describe(&self, sink: &mut TextSink) {
        sink.text(|sink| sink.write_str(std::any::type_name::<T>()));
    }
}

/// Serializes any `Serialize` value within `limit` bytes (used by the update API).
pub(crate) fn serialize_bounded<T: serde::Serialize + ?Sized>(value: &T, limit: usize) -> Payload {
    serialize_bounded_checked(value, limit).0
}

/// [`serialize_bounded`], and whether the value was cut at the budget.
pub(crate) fn serialize_bounded_checked<T: serde::Serialize + ?Sized>(
    value: &T,
    limit: usize,
) -> (Payload, bool) {
    let mut sink = JsonSink::new(limit);
    write_serialize(value, &mut sink);
    let cut = sink.is_cut();
    (sink.into_payload(), cut)
}

/// Gives the buffer of a payload the exporter is done with back for reuse.
#[inline]
pub(crate) fn recycle(payload: Payload) {
    match payload {
        Payload::Json(text) | Payload::Text(text) => pool::give_string(text),
    }
}

#[cfg(test)]
#[allow(
    clippy::needless_borrow,
    reason = "the extra borrows select the capture strategy"
)]
mod tests {
    use super::*;
    #[allow(unused_imports)]
    use super::{CaptureViaDebug as _, CaptureViaSerialize as _, CaptureViaTypeName as _};

    macro_rules! capture {
        ($value:expr, $limit:expr) => {{
            let mut sink = JsonSink::new($limit);
            (&&&Wrap(&$value)).__langfuse_capture(&mut sink);
            sink.into_payload()
        }};
    }

    #[derive(serde::Serialize)]
    struct Query {
        text: &'static str,
        k: u32,
    }

    #[derive(Debug)]
    #[allow(dead_code)]
    struct OnlyDebug {
        password_hint: &'static str,
    }

    struct Opaque;

    #[test]
    fn serialize_then_debug_then_type_name() {
        assert_eq!(
            capture!(Query { text: "hi", k: 3 }, 1024),
            Payload::Json(r#"{"text":"hi","k":3}"#.into())
        );
        assert_eq!(
            capture!(
                OnlyDebug {
                    password_hint: "x\"y"
                },
                1024
            ),
            Payload::Json(r#""OnlyDebug { password_hint: \"x\\\"y\" }""#.into())
        );
        assert_eq!(
            capture!(Opaque, 1024),
            Payload::Json(r#""<langfuse_core::capture::tests::Opaque>""#.into())
        );
    }

    /// The JSON of a payload cut at its budget, parsed.
    fn cut_json(payload: Payload, limit: usize) -> (String, serde_json::Value) {
        let Payload::Json(json) = payload else {
            panic!("a cut capture is JSON");
        };
        assert!(
            json.len() <= limit + sink::MAX_OVERSHOOT,
            "{limit}: {} bytes",
            json.len()
        );
        let value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
        (json, value)
    }

    #[test]
    fn budget_stops_serialization_and_marks_truncation() {
        let big = vec![7u8; 1_000_000];
        let (text, value) = cut_json(capture!(big, 100), 100);
        // An array cut at the budget: the elements that fit, then a final marker entry.
        assert!(text.starts_with("[7,7,7"));
        assert!(
            text.ends_with(&format!(",\"{TRUNCATED_MARKER}\"]")),
            "{text}"
        );
        let items = value.as_array().unwrap();
        assert!(items[..items.len() - 1].iter().all(|v| v == 7));
        // Everything but the marker entry stays within the budget, closing bracket included.
        assert!(text.len() - TRUNCATED_MARKER.len() - 3 <= 100, "{text}");
    }

    #[test]
    fn truncation_never_splits_a_character() {
        let s = "é".repeat(100);
        let (text, _) = cut_json(capture!(s, 10), 10);
        assert_eq!(text, format!("\"éééé{TRUNCATED_MARKER}\""));
    }

    #[test]
    fn long_strings_are_cut_before_serialization_to_the_same_bytes() {
        // What the sink keeps of a string cut before serde_json sees it must be what it keeps
        // of the whole string: escapes, multi-byte characters and map keys included.
        let text: String = "a\"é\n€😀\u{1}".repeat(5_000);
        let map = std::collections::BTreeMap::from([(text.clone(), text.as_str())]);
        for limit in [1, 2, 7, 100, 1000, 4096] {
            for captured in [capture!(text, limit), capture!(map, limit)] {
                let (json, value) = cut_json(captured, limit);
                if limit < 2 {
                    assert_eq!(value, TRUNCATED_MARKER, "{limit}: nothing fits");
                } else if let Some(cut) = value
                    .as_str()
                    .and_then(|v| v.strip_suffix(TRUNCATED_MARKER))
                {
                    // The string's first characters, whole, up to the budget.
                    assert!(text.starts_with(cut), "{limit}: {json}");
                    let kept = json.len() - TRUNCATED_MARKER.len();
                    assert!(kept <= limit && limit - kept < 7, "{limit}: {json}");
                } else {
                    // A key that does not fit leaves its entry out.
                    assert_eq!(json, format!("{{\"{TRUNCATED_MARKER}\":null}}"), "{limit}");
                }
            }
        }
        // A byte string too: cut, then still truncated.
        let bytes = serde_bytes_like(&[200u8; 10_000]);
        let (cut, _) = cut_json(capture!(bytes, 50), 50);
        assert!(cut.starts_with("[200,200,"));
    }

    /// A value that serializes through `serialize_bytes`.
    fn serde_bytes_like(bytes: &[u8]) -> impl serde::Serialize + '_ {
        struct Bytes<'a>(&'a [u8]);
        impl serde::Serialize for Bytes<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(self.0)
            }
        }
        Bytes(bytes)
    }

    #[test]
    fn input_is_an_object_of_arguments() {
        let mut input = InputRecorder::new(1024);
        (&&&Wrap(&"Paris")).__langfuse_capture(input.arg("city"));
        (&&&Wrap(&3)).__langfuse_capture(input.arg("r#type"));
        assert_eq!(
            input.into_payload(),
            Payload::Json(r#"{"city":"Paris","type":3}"#.into())
        );
        assert_eq!(
            InputRecorder::new(16).into_payload(),
            Payload::Json("{}".into())
        );
    }

    #[test]
    fn a_refusing_serializer_becomes_a_marker() {
        use std::collections::BTreeMap;
        // serde_json refuses maps whose keys are not strings.
        let map: BTreeMap<(u8, u8), u8> = [((1, 2), 3)].into();
        let mut input = InputRecorder::new(1024);
        (&&&Wrap(&map)).__langfuse_capture(input.arg("map"));
        (&&&Wrap(&1)).__langfuse_capture(input.arg("next"));
        let Payload::Json(json) = input.into_payload() else {
            panic!("expected JSON");
        };
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert!(
            value["map"]
                .as_str()
                .unwrap()
                .starts_with("<unserializable:")
        );
        assert_eq!(value["next"], 1);
    }

    #[test]
    fn a_panicking_serializer_becomes_a_marker() {
        struct Bomb;
        impl serde::Serialize for Bomb {
            fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
                panic!("boom")
            }
        }
        let payload = capture!(Bomb, 1024);
        assert_eq!(
            payload,
            Payload::Json("\"<panicked while capturing>\"".into())
        );
    }

    #[test]
    fn non_finite_floats_and_deep_values_become_markers() {
        assert_eq!(
            capture!(vec![f64::NAN, 1.0, f64::NEG_INFINITY], 1024),
            Payload::Json(r#"["NaN",1.0,"-Infinity"]"#.into())
        );
        /// Nested without end, one level per call.
        struct Endless;
        impl serde::Serialize for Endless {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeSeq as _;
                let mut seq = s.serialize_seq(Some(1))?;
                seq.serialize_element(&Endless)?;
                seq.end()
            }
        }
        // A budget large enough that only the depth limit can end it.
        let Payload::Json(json) = capture!(Endless, 1 << 20) else {
            panic!("expected whole JSON");
        };
        assert_eq!(
            json,
            format!(
                "{}\"{}\"{}",
                "[".repeat(ser::MAX_DEPTH as usize),
                ser::DEPTH_MARKER,
                "]".repeat(ser::MAX_DEPTH as usize)
            )
        );
    }

    #[test]
    fn a_failing_or_panicking_debug_rolls_back_to_a_marker() {
        struct Fails;
        impl fmt::Debug for Fails {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("half \" written")?;
                Err(fmt::Error)
            }
        }
        struct Panics;
        impl fmt::Debug for Panics {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("half written")?;
                panic!("boom")
            }
        }
        let mut input = InputRecorder::new(1024);
        (&&&Wrap(&Fails)).__langfuse_capture(input.arg("a"));
        (&&&Wrap(&Panics)).__langfuse_capture(input.arg("b"));
        (&&&Wrap(&"ok")).__langfuse_capture(input.arg("c"));
        assert_eq!(
            input.into_payload(),
            Payload::Json(
                r#"{"a":"<unserializable: Debug implementation returned an error>","b":"<panicked while capturing>","c":"ok"}"#
                    .into()
            )
        );
    }

    #[test]
    fn debug_of_bytes_that_are_not_utf8_is_valid_json() {
        use std::os::unix::ffi::OsStrExt as _;
        let name = std::ffi::OsStr::from_bytes(b"caf\xE9\n\"");
        // Through Debug (an OsStr is also Serialize, as a byte array).
        let mut sink = JsonSink::new(1024);
        write_debug(name, &mut sink);
        let Payload::Json(json) = sink.into_payload() else {
            panic!("expected JSON");
        };
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value, r#""caf\xE9\n\"""#);
    }

    #[test]
    fn a_display_that_panics_keeps_what_it_wrote_and_says_so() {
        #[allow(unused_imports)]
        use super::{DescribeViaDebug as _, DescribeViaDisplay as _, DescribeViaTypeName as _};
        struct Panics;
        impl fmt::Display for Panics {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("disk ")?;
                panic!("boom")
            }
        }
        let mut sink = TextSink::new(STATUS_MAX_BYTES);
        (&&&Wrap(&Panics)).__langfuse_describe(&mut sink);
        assert_eq!(sink.into_string(), "disk <panicked while formatting>");
    }

    #[test]
    fn errors_are_described_by_display_then_debug_then_type_name() {
        #[allow(unused_imports)]
        use super::{DescribeViaDebug as _, DescribeViaDisplay as _, DescribeViaTypeName as _};
        let mut sink = TextSink::new(STATUS_MAX_BYTES);
        (&&&Wrap(&std::io::Error::other("disk full"))).__langfuse_describe(&mut sink);
        assert_eq!(sink.into_string(), "disk full");

        let mut sink = TextSink::new(STATUS_MAX_BYTES);
        (&&&Wrap(&OnlyDebug { password_hint: "" })).__langfuse_describe(&mut sink);
        assert_eq!(sink.into_string(), "OnlyDebug { password_hint: \"\" }");

        let mut sink = TextSink::new(8);
        (&&&Wrap(&"a very long message")).__langfuse_describe(&mut sink);
        assert_eq!(sink.into_string(), format!("a very l{TRUNCATED_MARKER}"));
    }
}
