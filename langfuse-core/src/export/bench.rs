//! Entry points for measuring the exporter's own work (encode + gzip) outside the exporter
//! thread, on records shaped like real ones. Reached through `__private::bench`; not an API.

use std::collections::VecDeque;

use crate::capture::{CaptureSetting, Payload};
use crate::clock::{self, Anchor};
use crate::export::otlp::{EncoderSettings, OtlpEncoder};
use crate::export::transport::RequestBody;
use crate::model::{Descriptor, ObservationData, ObservationId, ObservationType, Record, TraceId};

/// Observations per synthetic trace: a root and four children, the load test's shape.
const TRACE_LEN: usize = 5;
/// The configuration's default `max_batch_bytes`: requests are cut where the exporter cuts them.
const MAX_BATCH_BYTES: usize = 4 << 20;

static ROOT: Descriptor = Descriptor::new(
    "handle_request",
    ObservationType::Span,
    CaptureSetting::Inherit,
    CaptureSetting::Inherit,
);
static CHILD: Descriptor = Descriptor::new(
    "retrieve_documents",
    ObservationType::Retriever,
    CaptureSetting::Inherit,
    CaptureSetting::Inherit,
);

/// Finished observations as the exporter drains them from the rings.
#[derive(Debug, Clone)]
pub struct SyntheticRecords(VecDeque<Record>);

impl SyntheticRecords {
    /// `count` observations in traces of five, each with a small JSON output and a JSON
    /// input of `input_bytes` bytes of word-like text (so gzip sees realistic redundancy,
    /// neither random bytes nor one repeated character). `input_bytes == 0` gives the typical
    /// observation: a one-line question as input.
    pub fn new(count: usize, input_bytes: usize) -> Self {
        let mut rng = fastrand::Rng::with_seed(0x1a6f_05e5);
        let mut records = VecDeque::with_capacity(count);
        let mut root = None;
        for i in 0..count {
            let start = clock::now();
            if i % TRACE_LEN == 0 {
                let trace_id = TraceId::from_u128(rng.u128(1..)).expect("non-zero");
                root = Some((
                    trace_id,
                    ObservationId::from_u64(rng.u64(1..)).expect("non-zero"),
                ));
            }
            let (trace_id, root_id) = root.expect("set on the first record");
            let is_root = i % TRACE_LEN == 0;
            let input = if input_bytes == 0 {
                format!(
                    r#"{{"question":"{}","limit":{}}}"#,
                    words(&mut rng, 40),
                    i % 7
                )
            } else {
                // `{"text":"` + body + `"}` is `input_bytes` long.
                format!(
                    r#"{{"text":"{}"}}"#,
                    words(&mut rng, input_bytes.saturating_sub(11))
                )
            };
            let output = format!(
                r#"{{"answer":"{}","documents":{}}}"#,
                words(&mut rng, 60),
                i % 3
            );
            records.push_back(Record {
                trace_id,
                id: if is_root {
                    root_id
                } else {
                    ObservationId::from_u64(rng.u64(1..)).expect("non-zero")
                },
                parent_id: (!is_root).then_some(root_id),
                start,
                end: clock::now(),
                descriptor: if is_root { &ROOT } else { &CHILD },
                level: crate::model::Level::Default,
                flags: 0,
                data: Some(Box::new(ObservationData {
                    input: Some(Payload::Json(input)),
                    output: Some(Payload::Json(output)),
                    ..ObservationData::default()
                })),
                trace: None,
            });
        }
        Self(records)
    }

    /// How many observations there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Lowercase words and spaces, exactly `len` bytes.
fn words(rng: &mut fastrand::Rng, len: usize) -> String {
    // A vocabulary large enough that gzip finds English-like redundancy, not a pattern.
    const VOCABULARY: &str = "langfuse trace the model answer of retrieval a document question \
        token latency span and context user which customer order shipped between policy refund \
        within days support ticket agent tool called weather berlin search results ranked by \
        score embedding vector chunk summary previous conversation is was not because invoice \
        account password reset email sent to from with please thanks error timeout retry after \
        minutes seconds";
    let words: Vec<&str> = VOCABULARY.split_whitespace().collect();
    let mut text = String::with_capacity(len + 16);
    while text.len() < len {
        text.push_str(words[rng.usize(..words.len())]);
        text.push(' ');
    }
    text.truncate(len);
    text
}

/// What the exporter produced for a set of records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WireSize {
    /// Observations encoded.
    pub observations: usize,
    /// HTTP requests they were cut into.
    pub requests: usize,
    /// Protobuf bytes before compression.
    pub protobuf_bytes: usize,
    /// Bytes on the wire after gzip (the request bodies).
    pub gzip_bytes: usize,
}

/// The exporter's encoder and compressor, with the buffers it keeps between batches.
#[derive(Debug)]
pub struct Encoder {
    encoder: OtlpEncoder,
}

impl Default for Encoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Encoder {
    /// An encoder with the resource and scope a configured client sends.
    pub fn new() -> Self {
        Self {
            encoder: OtlpEncoder::new(EncoderSettings {
                service_name: "bench".to_owned(),
                environment: Some("production".to_owned()),
                release: Some("v1.2.3".to_owned()),
                public_key: Some("pk-lf-00000000-0000-0000-0000-000000000000".to_owned()),
            }),
        }
    }

    /// Does what the exporter thread does with drained records before sending: converts
    /// times, encodes OTLP protobuf in requests of at most the default batch size, and gzips
    /// each request body. The records are consumed (and freed) as they are encoded.
    pub fn encode_and_gzip(&mut self, records: SyntheticRecords) -> WireSize {
        self.encode(records, true)
    }

    /// The same without compression (`LANGFUSE_OTEL_COMPRESSION=none`); `gzip_bytes` stays 0.
    pub fn encode_only(&mut self, records: SyntheticRecords) -> WireSize {
        self.encode(records, false)
    }

    fn encode(&mut self, records: SyntheticRecords, compress: bool) -> WireSize {
        let mut pending = records.0;
        let anchor = Anchor::now();
        let mut size = WireSize::default();
        while let Some(batch) = self
            .encoder
            .encode_batch(&mut pending, MAX_BATCH_BYTES, &anchor)
        {
            size.observations += batch.observations;
            size.requests += 1;
            size.protobuf_bytes += batch.body.len();
            if compress {
                size.gzip_bytes += RequestBody::new(batch.body, true).len();
            }
        }
        size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_have_the_requested_size_and_everything_is_encoded() {
        let records = SyntheticRecords::new(10, 4096);
        for r in &records.0 {
            let input = r.data.as_ref().and_then(|d| d.input.as_ref()).unwrap();
            assert_eq!(input.len(), 4096);
        }
        let size = Encoder::new().encode_and_gzip(records);
        assert_eq!(size.observations, 10);
        assert_eq!(size.requests, 1);
        assert!(size.protobuf_bytes > 10 * 4096);
        assert!(size.gzip_bytes < size.protobuf_bytes);
    }

    #[test]
    fn traces_are_a_root_and_four_children() {
        let records = SyntheticRecords::new(10, 0);
        let r = &records.0;
        assert!(r[0].parent_id.is_none());
        assert_eq!(r[1].parent_id, Some(r[0].id));
        assert_eq!(r[4].trace_id, r[0].trace_id);
        assert!(r[5].parent_id.is_none());
        assert_ne!(r[5].trace_id, r[0].trace_id);
    }
}
