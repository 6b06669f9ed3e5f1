//! The `mask` hook ([`ConfigBuilder::mask`](crate::ConfigBuilder::mask)): the user's function
//! rewrites every observation's input, output and metadata, and every trace's input, output
//! and metadata (an experiment item's expected output and metadata too), before anything
//! leaves the process.
//!
//! It runs on the exporter thread, as records arrive from the hand-off buffers and before the
//! OTLP encoder or the console printer sees them, so the request path never pays for it. Each
//! field is parsed into a [`serde_json::Value`], handed to the function, and serialized
//! again; a capture cut at its byte budget too, since it is valid JSON (closed where it was
//! cut, the marker inside). A function that panics, or returns something that cannot be
//! serialized, costs that one field, which becomes [`MASK_FAILED`]; the observation itself is
//! always kept.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::capture::Payload;
use crate::collector;
use crate::config::Mask;
use crate::model::{Record, TraceAttributes};

/// What replaces a field whose mask failed: the Python and JS SDKs' text, so that it reads
/// the same in Langfuse whichever SDK sent it.
pub(crate) const MASK_FAILED: &str = "<fully masked due to failed mask function>";

/// Minimum time between two warnings about failed masks.
const WARNING_INTERVAL: Duration = Duration::from_secs(10);

/// Why a field was fully masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    Panicked,
    Unserializable,
}

/// Applies a [`Mask`] on the exporter thread and reports its failures, rate-limited.
#[derive(Debug)]
pub(crate) struct Masker {
    mask: Mask,
    /// Fields fully masked since the last warning, and the latest reason.
    failed: u64,
    last_failure: Option<Failure>,
    last_warning: Option<Instant>,
}

impl Masker {
    pub(crate) fn new(mask: Mask) -> Self {
        Self {
            mask,
            failed: 0,
            last_failure: None,
            last_warning: None,
        }
    }

    /// Masks records just drained into the exporter's queue, and keeps the queue's byte bound
    /// exact: the collector released what each record held when it arrived, and will release
    /// the masked size when it leaves.
    pub(crate) fn mask_drained<'a>(&mut self, records: impl Iterator<Item = &'a mut Record>) {
        let (before, after) = self.mask_records(records);
        collector::global().resize_held_bytes(before, after);
        self.warn_about_failures(Instant::now());
    }

    /// Masks records outside the exporter's queue (a test recorder's), by the same rules.
    #[cfg(feature = "testing")]
    pub(crate) fn mask_in_place<'a>(&mut self, records: impl Iterator<Item = &'a mut Record>) {
        self.mask_records(records);
        self.warn_about_failures(Instant::now());
    }

    /// Masks every maskable field of `records` in place. Returns the records' captured bytes
    /// before and after.
    fn mask_records<'a>(
        &mut self,
        records: impl Iterator<Item = &'a mut Record>,
    ) -> (usize, usize) {
        // Records of one trace share their trace attributes: mask each set once per pass.
        // Holding the originals keeps their addresses from being reused within the pass.
        type Masked = (Arc<TraceAttributes>, Arc<TraceAttributes>);
        let mut traces: HashMap<*const TraceAttributes, Masked> = HashMap::new();
        let (mut before, mut after) = (0, 0);
        for record in records {
            before += record.captured_bytes();
            if let Some(data) = record.data.as_deref_mut() {
                for payload in [&mut data.input, &mut data.output, &mut data.metadata]
                    .into_iter()
                    .flatten()
                {
                    self.mask_payload(payload);
                }
            }
            if let Some(trace) = &mut record.trace
                && has_maskable_fields(trace)
            {
                let masked = match traces.entry(Arc::as_ptr(trace)) {
                    Entry::Occupied(entry) => Arc::clone(&entry.get().1),
                    Entry::Vacant(entry) => {
                        let mut copy = TraceAttributes::clone(trace);
                        for payload in [&mut copy.input, &mut copy.output, &mut copy.metadata]
                            .into_iter()
                            .flatten()
                        {
                            self.mask_payload(payload);
                        }
                        if let Some(experiment) = &mut copy.experiment {
                            let experiment = Arc::make_mut(experiment);
                            for payload in [
                                &mut experiment.metadata,
                                &mut experiment.item_metadata,
                                &mut experiment.item_expected_output,
                            ]
                            .into_iter()
                            .flatten()
                            {
                                self.mask_payload(payload);
                            }
                        }
                        let masked = Arc::new(copy);
                        entry.insert((Arc::clone(trace), Arc::clone(&masked)));
                        masked
                    }
                };
                *trace = masked;
            }
            after += record.captured_bytes();
        }
        (before, after)
    }

    /// Replaces `payload` by the mask's result, or by [`MASK_FAILED`].
    fn mask_payload(&mut self, payload: &mut Payload) {
        let value = match std::mem::replace(payload, Payload::Text(String::new())) {
            // `Json` holds valid JSON; should that ever break, the mask still sees the text.
            Payload::Json(text) => match serde_json::from_str(&text) {
                Ok(value) => value,
                Err(_) => Value::String(text),
            },
            // Plain text (a user's string, a stream's joined text) is a JSON string to the
            // mask. A capture cut at its byte budget is JSON (closed at the cut, the marker
            // inside), so the mask sees its structure like any other capture's.
            Payload::Text(text) => Value::String(text),
        };
        *payload = match self.apply(value) {
            Ok(masked) => masked,
            Err(failure) => {
                self.failed += 1;
                self.last_failure = Some(failure);
                Payload::Text(MASK_FAILED.to_owned())
            }
        };
    }

    fn apply(&self, value: Value) -> Result<Payload, Failure> {
        // The function is only ever called with values it owns, and the exporter keeps no state
        // that a panic halfway through could leave inconsistent.
        let masked = catch_unwind(AssertUnwindSafe(|| self.mask.call(value)))
            .map_err(|_| Failure::Panicked)?;
        match masked {
            // Sent as its text, as a captured string would be.
            Value::String(text) => Ok(Payload::Text(text)),
            other => serde_json::to_string(&other)
                .map(Payload::Json)
                .map_err(|_| Failure::Unserializable),
        }
    }

    /// Warns about fields fully masked since the last warning, at most once per interval. The
    /// panic message is not repeated: it may quote the very data the mask was meant to hide.
    fn warn_about_failures(&mut self, now: Instant) {
        let Some(failure) = self.last_failure else {
            return;
        };
        if self
            .last_warning
            .is_some_and(|at| now.saturating_duration_since(at) < WARNING_INTERVAL)
        {
            return;
        }
        let reason = match failure {
            Failure::Panicked => "the mask function panicked",
            Failure::Unserializable => {
                "the mask function returned a value that cannot be serialized"
            }
        };
        tracing::warn!(
            target: "langfuse",
            fields = self.failed,
            "{reason}; the affected inputs, outputs or metadata were replaced by \"{MASK_FAILED}\" (observations are still exported)"
        );
        self.failed = 0;
        self.last_failure = None;
        self.last_warning = Some(now);
    }
}

fn has_maskable_fields(trace: &TraceAttributes) -> bool {
    trace.input.is_some()
        || trace.output.is_some()
        || trace.metadata.is_some()
        || trace.experiment.as_ref().is_some_and(|e| {
            e.metadata.is_some() || e.item_metadata.is_some() || e.item_expected_output.is_some()
        })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::capture::CaptureSetting;
    use crate::clock::Timestamp;
    use crate::model::{
        Descriptor, Level, ObservationData, ObservationId, ObservationType, TraceId,
    };

    static SPAN: Descriptor = Descriptor::new(
        "span",
        ObservationType::Span,
        CaptureSetting::Off,
        CaptureSetting::Off,
    );

    fn record(data: Option<ObservationData>, trace: Option<Arc<TraceAttributes>>) -> Record {
        Record {
            trace_id: TraceId::from_u128(1).unwrap(),
            id: ObservationId::from_u64(1).unwrap(),
            parent_id: None,
            start: Timestamp::from_unix_nanos(1),
            end: Timestamp::from_unix_nanos(2),
            descriptor: &SPAN,
            level: Level::Default,
            flags: 0,
            data: data.map(Box::new),
            trace,
        }
    }

    fn json(text: &str) -> Option<Payload> {
        Some(Payload::Json(text.to_owned()))
    }

    fn text(text: &str) -> Option<Payload> {
        Some(Payload::Text(text.to_owned()))
    }

    /// Replaces every string that contains "secret", at any depth, by "***".
    fn redact(value: Value) -> Value {
        match value {
            Value::String(s) if s.contains("secret") => Value::String("***".into()),
            Value::Array(items) => Value::Array(items.into_iter().map(redact).collect()),
            Value::Object(map) => {
                Value::Object(map.into_iter().map(|(k, v)| (k, redact(v))).collect())
            }
            other => other,
        }
    }

    fn masker(mask: impl Fn(Value) -> Value + Send + Sync + 'static) -> Masker {
        Masker::new(Mask::new(mask))
    }

    fn mask_one(masker: &mut Masker, mut r: Record) -> Record {
        masker.mask_records(std::iter::once(&mut r));
        r
    }

    #[test]
    fn masks_input_output_and_metadata() {
        let mut m = masker(redact);
        let r = mask_one(
            &mut m,
            record(
                Some(ObservationData {
                    input: json(r#"{"password":"secret","user":"ann"}"#),
                    output: json(r#"["ok","secret"]"#),
                    metadata: json(r#"{"token":"secret"}"#),
                    status_message: Some("secret stays: status messages are not masked".into()),
                    ..ObservationData::default()
                }),
                None,
            ),
        );
        let data = r.data.unwrap();
        assert_eq!(data.input, json(r#"{"password":"***","user":"ann"}"#));
        assert_eq!(data.output, json(r#"["ok","***"]"#));
        assert_eq!(data.metadata, json(r#"{"token":"***"}"#));
        assert!(data.status_message.unwrap().starts_with("secret"));
        assert_eq!(m.failed, 0);
    }

    #[test]
    fn text_and_json_strings_reach_the_mask_as_strings() {
        let seen = Arc::new(parking_lot::Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let mut m = masker(move |value| {
            log.lock().push(value.clone());
            value
        });
        let r = mask_one(
            &mut m,
            record(
                Some(ObservationData {
                    input: text("plain text"),
                    output: json(r#""a \"json\" string""#),
                    // Plain text that is not JSON (what a cut capture used to be).
                    metadata: text(r#"{"k":"trunc… [truncated by langfuse]"#),
                    ..ObservationData::default()
                }),
                None,
            ),
        );
        assert_eq!(
            *seen.lock(),
            [
                Value::String("plain text".into()),
                Value::String(r#"a "json" string"#.into()),
                Value::String(r#"{"k":"trunc… [truncated by langfuse]"#.into()),
            ]
        );
        // A string comes back as text, sent as is, like a captured string.
        let data = r.data.unwrap();
        assert_eq!(data.input, text("plain text"));
        assert_eq!(data.output, text(r#"a "json" string"#));
    }

    #[test]
    fn a_capture_cut_at_its_budget_reaches_the_mask_as_json() {
        let seen = Arc::new(parking_lot::Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let mut m = masker(move |value| {
            log.lock().push(value.clone());
            value
        });
        let document = serde_json::json!({"user": "ada", "notes": "n".repeat(500)});
        let cut = crate::capture::serialize_bounded(&document, 64);
        mask_one(
            &mut m,
            record(
                Some(ObservationData {
                    input: Some(cut),
                    ..ObservationData::default()
                }),
                None,
            ),
        );
        let seen = seen.lock();
        let notes = seen[0]["notes"].as_str().unwrap();
        assert!(notes.ends_with(crate::capture::TRUNCATED_MARKER), "{notes}");
        assert!(notes.starts_with("nnn"));
    }

    #[test]
    fn the_mask_may_change_the_shape() {
        let mut m = masker(|value| match value {
            Value::String(s) => serde_json::json!({ "length": s.len() }),
            _ => Value::Null,
        });
        let r = mask_one(
            &mut m,
            record(
                Some(ObservationData {
                    input: text("four"),
                    output: json(r#"{"a":1}"#),
                    ..ObservationData::default()
                }),
                None,
            ),
        );
        let data = r.data.unwrap();
        assert_eq!(data.input, json(r#"{"length":4}"#));
        assert_eq!(data.output, json("null"));
        assert_eq!(data.metadata, None, "absent fields stay absent");
    }

    #[test]
    fn malformed_json_is_masked_as_text() {
        let mut m = masker(redact);
        let r = mask_one(
            &mut m,
            record(
                Some(ObservationData {
                    input: json("{not json: secret"),
                    ..ObservationData::default()
                }),
                None,
            ),
        );
        assert_eq!(r.data.unwrap().input, text("***"));
    }

    #[test]
    fn a_panicking_mask_fully_masks_the_field_and_keeps_the_observation() {
        let mut m = masker(|value| {
            if value.get("boom").is_some() {
                panic!("mask failed on {value}");
            }
            redact(value)
        });
        let r = mask_one(
            &mut m,
            record(
                Some(ObservationData {
                    input: json(r#"{"boom":"secret"}"#),
                    output: json(r#""secret""#),
                    metadata: json(r#"{"boom":1}"#),
                    ..ObservationData::default()
                }),
                None,
            ),
        );
        let data = r.data.unwrap();
        assert_eq!(data.input, text(MASK_FAILED));
        assert_eq!(data.output, text("***"), "other fields are masked normally");
        assert_eq!(data.metadata, text(MASK_FAILED));
        assert_eq!(m.failed, 2);
        assert_eq!(m.last_failure, Some(Failure::Panicked));
    }

    #[test]
    fn trace_attributes_are_masked_once_per_trace_and_shared() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&calls);
        let mut m = masker(move |value| {
            counter.fetch_add(1, Ordering::Relaxed);
            redact(value)
        });
        let trace = Arc::new(TraceAttributes {
            user_id: Some("secret-user-ids-are-not-masked".into()),
            metadata: json(r#"{"api_key":"secret"}"#),
            input: text("secret question"),
            output: json(r#"{"answer":"secret"}"#),
            ..TraceAttributes::default()
        });
        let other = Arc::new(TraceAttributes {
            metadata: json(r#"{"tenant":"secret"}"#),
            ..TraceAttributes::default()
        });
        let plain = Arc::new(TraceAttributes {
            name: Some("no maskable fields".into()),
            ..TraceAttributes::default()
        });
        let mut records = [
            record(None, Some(Arc::clone(&trace))),
            record(None, Some(Arc::clone(&trace))),
            record(None, Some(Arc::clone(&other))),
            record(None, Some(Arc::clone(&trace))),
            record(None, Some(Arc::clone(&plain))),
        ];
        m.mask_records(records.iter_mut());

        // Three fields of `trace` and one of `other`, each once.
        assert_eq!(calls.load(Ordering::Relaxed), 4);
        let masked = records[0].trace.clone().unwrap();
        assert_eq!(masked.metadata, json(r#"{"api_key":"***"}"#));
        assert_eq!(masked.input, text("***"));
        assert_eq!(masked.output, json(r#"{"answer":"***"}"#));
        assert_eq!(masked.user_id, trace.user_id);
        for i in [1, 3] {
            assert!(Arc::ptr_eq(records[i].trace.as_ref().unwrap(), &masked));
        }
        assert_eq!(
            records[2].trace.as_ref().unwrap().metadata,
            json(r#"{"tenant":"***"}"#)
        );
        assert!(
            Arc::ptr_eq(records[4].trace.as_ref().unwrap(), &plain),
            "nothing to mask: the shared attributes are not copied"
        );
        // The caller's copy is untouched (it may still be in use by open observations).
        assert_eq!(trace.input, text("secret question"));
    }

    #[test]
    fn records_without_payloads_never_call_the_mask() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&calls);
        let mut m = masker(move |value| {
            counter.fetch_add(1, Ordering::Relaxed);
            value
        });
        let mut records = [
            record(None, None),
            record(
                Some(ObservationData {
                    name: Some("renamed".into()),
                    ..ObservationData::default()
                }),
                None,
            ),
        ];
        assert_eq!(m.mask_records(records.iter_mut()), (0, 0));
        assert_eq!(calls.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn reports_captured_bytes_before_and_after() {
        let mut m = masker(|_| Value::String("xy".into()));
        let mut records = [
            record(
                Some(ObservationData {
                    input: text("0123456789"),
                    output: json(r#"{"a":1}"#),
                    status_message: Some("abc".into()),
                    ..ObservationData::default()
                }),
                None,
            ),
            record(
                Some(ObservationData {
                    metadata: json("[]"),
                    ..ObservationData::default()
                }),
                None,
            ),
        ];
        let before: usize = records.iter().map(Record::captured_bytes).sum();
        assert_eq!(before, 10 + 7 + 3 + 2);
        assert_eq!(m.mask_records(records.iter_mut()), (before, 2 + 2 + 3 + 2));
    }

    #[test]
    fn warnings_are_rate_limited_and_count_since_the_last_one() {
        let mut m = masker(|_| panic!("always"));
        let fail_once = |m: &mut Masker| {
            mask_one(
                m,
                record(
                    Some(ObservationData {
                        input: text("x"),
                        ..ObservationData::default()
                    }),
                    None,
                ),
            );
        };
        let t0 = Instant::now();
        fail_once(&mut m);
        m.warn_about_failures(t0);
        assert_eq!((m.failed, m.last_warning), (0, Some(t0)));

        fail_once(&mut m);
        fail_once(&mut m);
        m.warn_about_failures(t0 + Duration::from_secs(1));
        assert_eq!(
            m.failed, 2,
            "within the interval: kept for the next warning"
        );
        assert_eq!(m.last_warning, Some(t0));

        let later = t0 + WARNING_INTERVAL;
        m.warn_about_failures(later);
        assert_eq!((m.failed, m.last_warning), (0, Some(later)));

        // Nothing failed since: nothing to say.
        m.warn_about_failures(later + WARNING_INTERVAL);
        assert_eq!(m.last_warning, Some(later));
    }
}
