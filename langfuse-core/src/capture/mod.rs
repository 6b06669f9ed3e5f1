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
//! so a 100 MB argument costs what one at the budget costs.

use std::cell::Cell;
use std::fmt::{self, Write as _};
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};

mod guard;
mod payload;
mod policy;

pub(crate) use payload::{Payload, merge_objects};
pub use policy::CaptureSetting;
pub(crate) use policy::{configure, enabled, max_bytes};

/// Marker appended to a field cut at its byte budget.
const TRUNCATED_MARKER: &str = "… [truncated by langfuse]";

/// Budget for an error's status message.
pub(crate) const STATUS_MAX_BYTES: usize = 4096;

/// Borrows a value for capture; see the module docs. Not a stable API.
#[doc(hidden)]
pub struct Wrap<'a, T: ?Sized>(pub &'a T);

/// A bounded buffer receiving one JSON value at a time.
#[doc(hidden)]
pub struct JsonSink {
    buf: Vec<u8>,
    limit: usize,
    truncated: bool,
}

thread_local! {
    /// The buffer sinks on this thread write into. A capture then allocates once, for the
    /// exact-size copy it keeps, rather than once for every doubling of a growing buffer.
    /// A sink takes it and gives it back when it finishes, so a capture nested inside another
    /// (a `Serialize` impl calling an observed function) just starts with a fresh buffer, and
    /// a sink dropped unfinished frees its buffer. (A `Drop` impl returning it would put a
    /// drop check on every observation's path, capture off included.)
    static SCRATCH: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// Scratch buffers grown past this are not kept for the next capture.
const MAX_SCRATCH_CAPACITY: usize = 64 * 1024;

impl JsonSink {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            buf: SCRATCH.try_with(Cell::take).unwrap_or_default(),
            limit,
            truncated: false,
        }
    }

    /// Appends text as is (JSON punctuation around values), within the budget.
    pub(crate) fn raw(&mut self, s: &str) {
        self.push_str(s);
    }

    /// A position to come back to with [`JsonSink::rewind`].
    pub(crate) fn mark(&self) -> usize {
        self.buf.len()
    }

    /// What was written since `mark`; empty once the budget ran out.
    pub(crate) fn written_since(&self, mark: usize) -> &[u8] {
        if self.truncated {
            return &[];
        }
        self.buf.get(mark..).unwrap_or_default()
    }

    /// Forgets what was written since `mark` (not once the budget ran out: the cut is kept).
    pub(crate) fn rewind(&mut self, mark: usize) {
        if !self.truncated {
            self.buf.truncate(mark);
        }
    }

    #[inline]
    fn push_str(&mut self, s: &str) {
        // Infallible once truncated: the write just stops.
        let _ = io::Write::write_all(self, s.as_bytes());
    }

    /// Writes one value with `write`, which returns `Err` when the value refused to serialize.
    /// A refusal or a panic inside user code rolls the value back and writes a marker instead,
    /// so the surrounding JSON stays valid and the observation is kept.
    fn value(&mut self, write: impl FnOnce(&mut JsonSink) -> Result<(), String>) {
        if self.truncated {
            return;
        }
        let mark = self.buf.len();
        let outcome = catch_unwind(AssertUnwindSafe(|| write(self)));
        if self.truncated {
            return;
        }
        let marker = match outcome {
            Ok(Ok(())) => return,
            Ok(Err(reason)) => format!("<unserializable: {reason}>"),
            Err(_) => "<panicked while capturing>".to_owned(),
        };
        self.buf.truncate(mark);
        self.json_string(&marker);
    }

    /// Writes `s` as a JSON string literal, escaped, within the budget.
    fn json_string(&mut self, s: &str) {
        self.push_str("\"");
        let _ = JsonStringWriter { sink: self }.write_str(s);
        self.push_str("\"");
    }

    /// The captured text: valid JSON, or the valid-UTF-8 prefix plus a marker when the
    /// budget ran out.
    pub(crate) fn into_payload(self) -> Payload {
        let payload = if self.truncated {
            // The cut may split a multi-byte character: keep the valid prefix.
            let valid = match std::str::from_utf8(&self.buf) {
                Ok(text) => text,
                Err(e) => std::str::from_utf8(&self.buf[..e.valid_up_to()]).unwrap_or_default(),
            };
            let mut text = String::with_capacity(valid.len() + TRUNCATED_MARKER.len());
            text.push_str(valid);
            text.push_str(TRUNCATED_MARKER);
            Payload::Text(text)
        } else {
            // Only whole values were written, and serde_json and our escaper emit UTF-8.
            Payload::Json(
                std::str::from_utf8(&self.buf)
                    .unwrap_or_default()
                    .to_owned(),
            )
        };
        let mut buf = self.buf;
        if buf.capacity() <= MAX_SCRATCH_CAPACITY {
            buf.clear();
            let _ = SCRATCH.try_with(|scratch| scratch.set(buf));
        }
        payload
    }
}

impl io::Write for JsonSink {
    #[inline]
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.truncated {
            return Err(io::Error::other("capture budget exhausted"));
        }
        let room = self.limit.saturating_sub(self.buf.len());
        if data.len() > room {
            self.buf.extend_from_slice(&data[..room]);
            self.truncated = true;
            return Err(io::Error::other("capture budget exhausted"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    /// `write` takes everything or fails at the budget, never a part: no retry loop needed
    /// (serde_json writes every piece of JSON through this).
    #[inline]
    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.write(data).map(|_| ())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Escapes text into a JSON string body as `Debug` output streams in.
struct JsonStringWriter<'a> {
    sink: &'a mut JsonSink,
}

impl fmt::Write for JsonStringWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut start = 0;
        for (i, b) in s.bytes().enumerate() {
            let escaped = match b {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0..=0x1f => "",
                _ => continue,
            };
            self.raw(&s[start..i])?;
            if escaped.is_empty() {
                self.raw(&format!("\\u{b:04x}"))?;
            } else {
                self.raw(escaped)?;
            }
            start = i + 1;
        }
        self.raw(&s[start..])
    }
}

impl JsonStringWriter<'_> {
    fn raw(&mut self, s: &str) -> fmt::Result {
        io::Write::write_all(self.sink, s.as_bytes()).map_err(|_| fmt::Error)
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
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            sink: JsonSink::new(limit),
            empty: true,
        }
    }

    /// Starts the entry for argument `name` and returns the sink for its value.
    pub fn arg(&mut self, name: &'static str) -> &mut JsonSink {
        self.sink.push_str(if self.empty { "{" } else { "," });
        self.empty = false;
        // Argument names are Rust identifiers, which never need escaping in JSON (no quotes,
        // backslashes or control characters); raw ones lose `r#`.
        self.sink.push_str("\"");
        self.sink.push_str(name.strip_prefix("r#").unwrap_or(name));
        self.sink.push_str("\":");
        &mut self.sink
    }

    pub(crate) fn into_payload(mut self) -> Payload {
        self.sink.push_str(if self.empty { "{}" } else { "}" });
        self.sink.into_payload()
    }
}

/// Serializes with serde into a bounded sink, through the [`guard`] adapter: non-finite floats
/// become string markers and nesting stops at [`guard::MAX_DEPTH`] (serde_json alone writes
/// `null` for the first and overflows the stack on the second), and strings longer than the
/// budget are cut before serde_json scans them.
fn write_serialize<T: serde::Serialize + ?Sized>(value: &T, sink: &mut JsonSink) {
    let guarded = guard::guarded(value, sink.limit);
    sink.value(|sink| match serde_json::to_writer(&mut *sink, &guarded) {
        Ok(()) => Ok(()),
        // The budget ran out: the sink already knows, and keeps the prefix.
        Err(_) if sink.truncated => Ok(()),
        Err(e) => Err(e.to_string()),
    });
}

/// Formats with `Debug` into a bounded sink, as a JSON string.
fn write_debug<T: fmt::Debug + ?Sized>(value: &T, sink: &mut JsonSink) {
    sink.value(|sink| {
        sink.push_str("\"");
        let result = write!(JsonStringWriter { sink }, "{value:?}");
        if sink.truncated {
            return Ok(());
        }
        sink.push_str("\"");
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
    let mut sink = JsonSink::new(limit);
    write_serialize(value, &mut sink);
    sink.into_payload()
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

    #[test]
    fn budget_stops_serialization_and_marks_truncation() {
        let big = vec![7u8; 1_000_000];
        let Payload::Text(text) = capture!(big, 100) else {
            panic!("expected a truncated payload");
        };
        assert!(text.starts_with("[7,7,7"));
        assert!(text.ends_with(TRUNCATED_MARKER));
        assert!(text.len() <= 100 + TRUNCATED_MARKER.len());
    }

    #[test]
    fn truncation_never_splits_a_character() {
        let s = "é".repeat(100);
        let Payload::Text(text) = capture!(s, 10) else {
            panic!("expected a truncated payload");
        };
        assert_eq!(text, format!("\"éééé{TRUNCATED_MARKER}"));
    }

    #[test]
    fn long_strings_are_cut_before_serialization_to_the_same_bytes() {
        // What the sink keeps of a string cut before serde_json sees it must be what it keeps
        // of the whole string: escapes, multi-byte characters and map keys included.
        let text: String = "a\"é\n€😀\u{1}".repeat(5_000);
        let map = std::collections::BTreeMap::from([(text.clone(), text.as_str())]);
        for limit in [1, 2, 7, 100, 1000, 4096] {
            for captured in [capture!(text, limit), capture!(map, limit)] {
                let Payload::Text(cut) = captured else {
                    panic!("expected a truncated payload");
                };
                let whole = if cut.starts_with('{') {
                    serde_json::to_string(&map).unwrap()
                } else {
                    serde_json::to_string(&text).unwrap()
                };
                let kept = cut.strip_suffix(TRUNCATED_MARKER).unwrap();
                assert!(kept.len() <= limit);
                assert!(whole.starts_with(kept), "{limit}: {kept}");
                assert!(limit - kept.len() < 4, "{limit}: {kept}");
            }
        }
        // A byte string too: cut, then still truncated.
        let bytes = serde_bytes_like(&[200u8; 10_000]);
        let Payload::Text(cut) = capture!(bytes, 50) else {
            panic!("expected a truncated payload");
        };
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
                "[".repeat(guard::MAX_DEPTH),
                guard::DEPTH_MARKER,
                "]".repeat(guard::MAX_DEPTH)
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
