//! Observations over streams: an observed function that returns a `Stream` keeps its
//! observation open until the stream ends or is dropped, records the time of the first item
//! that carries content (time to first token, for generations), and captures the items as
//! the output.
//!
//! Items are captured as they pass, within the capture budget: the output is their text
//! joined when every item is a string (token streams), otherwise the list of items. An item
//! captured as `null` or `""` (what a `stream_item` mapper returns for a chunk without text,
//! such as OpenAI's first chunk, which only names the role) carries no content: it is left out
//! of the output and does not start the completion. An error item carries none either.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

use crate::capture;
use crate::capture::Payload;
use crate::capture::{JsonSink, STATUS_MAX_BYTES, TextSink};
use crate::clock;
use crate::context::{self, Frame};
use crate::model::Level;

/// Records one item of an observed stream; filled by the expansion. Not a stable API.
#[doc(hidden)]
pub struct StreamItem<'a> {
    items: Option<&'a mut ItemsCapture>,
    error: &'a mut Option<String>,
    /// Whether the item carried content, once `item` has looked at it.
    content: Option<bool>,
    /// Whether `item` must find out about content even when nothing is captured: until the
    /// first item with content has been seen.
    probe: bool,
    errored: bool,
}

/// What a probe keeps of an item when output capture is off: enough to tell `null` and `""`
/// from content.
const PROBE_BYTES: usize = 8;

impl StreamItem<'_> {
    /// Captures a successful item with `write`, if output capture is on (or, until the first
    /// item with content, writes it aside to see whether it carries any).
    #[inline]
    pub fn item(&mut self, write: impl FnOnce(&mut JsonSink)) {
        match self.items.as_deref_mut() {
            Some(items) => self.content = Some(items.push(write)),
            None if self.probe => {
                let mut sink = JsonSink::new(PROBE_BYTES);
                let start = sink.checkpoint();
                write(&mut sink);
                self.content = Some(carries_content(sink.written_since(&start)));
                capture::recycle(sink.into_payload());
            }
            None => {}
        }
    }

    /// Records an error item: the observation's level becomes ERROR (the first error's
    /// description is its status message).
    pub fn error(&mut self, describe: impl FnOnce(&mut TextSink)) {
        self.errored = true;
        if self.error.is_none() {
            let mut sink = TextSink::new(STATUS_MAX_BYTES);
            describe(&mut sink);
            *self.error = Some(sink.into_string());
        }
    }

    /// Whether the item carried content: what `item` found, else (an item whose capture was
    /// compiled out) any item that is not an error.
    fn carried_content(&self) -> bool {
        self.content.unwrap_or(!self.errored)
    }
}

/// Whether a captured item has content: anything but `null` and `""` (a cut at the budget,
/// which shows nothing, counts as content).
fn carries_content(json: &[u8]) -> bool {
    !matches!(json, b"null" | b"\"\"")
}

/// The items captured so far, as a JSON array under the capture budget.
struct ItemsCapture {
    sink: JsonSink,
    count: usize,
}

impl ItemsCapture {
    fn new() -> Self {
        let mut sink = JsonSink::new(capture::max_bytes());
        sink.begin_array();
        Self { sink, count: 0 }
    }

    /// Captures one item; one without content (see [`carries_content`]) is taken back out.
    /// Returns whether it had content.
    fn push(&mut self, write: impl FnOnce(&mut JsonSink)) -> bool {
        let before = self.sink.checkpoint();
        let _ = self.sink.begin_element(self.count == 0);
        let value = self.sink.checkpoint();
        write(&mut self.sink);
        if carries_content(self.sink.written_since(&value)) {
            self.count += 1;
            return true;
        }
        self.sink.restore(before);
        false
    }

    /// The output: joined text when every item was a string, else the list of items. Cut at
    /// the budget, the list ends with the marker (a cut string item ends with it, or a final
    /// marker entry follows the items that fit), so joined text ends with it too.
    fn into_payload(mut self) -> Payload {
        self.sink.end_container();
        match self.sink.into_payload() {
            Payload::Json(json) => match serde_json::from_str::<Vec<serde_json::Value>>(&json) {
                Ok(items) if !items.is_empty() && items.iter().all(|v| v.is_string()) => {
                    let text: String = items.iter().filter_map(|v| v.as_str()).collect();
                    capture::recycle(Payload::Json(json));
                    Payload::Text(text)
                }
                _ => Payload::Json(json),
            },
            text => text,
        }
    }
}

pin_project_lite::pin_project! {
    /// A stream carrying its observation; see the module documentation. Not a stable API.
    #[doc(hidden)]
    #[must_use = "streams do nothing unless polled"]
    pub struct ObservedStream<S, R> {
        // Declared first so that it is dropped first: the observation ends (cancelled, if the
        // stream had not finished) before the inner stream's destructors run, as it would
        // end at the stream's last item.
        observation: StreamObservation,
        record: R,
        #[pin]
        inner: S,
    }
}

/// What an observed stream records, apart from the stream itself. Ends the observation when
/// dropped, if the stream did not end it first.
struct StreamObservation {
    /// `None` when inactive, while installed during a poll, or once ended.
    frame: Option<Frame>,
    items: Option<ItemsCapture>,
    error: Option<String>,
    /// Whether an item with content was seen (the completion has started).
    content_seen: bool,
}

impl<S, R> ObservedStream<S, R> {
    pub(crate) fn new(inner: S, frame: Option<Frame>, capture_output: bool, record: R) -> Self {
        let recorded = frame
            .as_ref()
            .is_some_and(|f| f.kind == context::Kind::Observation);
        Self {
            observation: StreamObservation {
                frame,
                items: (recorded && capture_output).then(ItemsCapture::new),
                error: None,
                content_seen: false,
            },
            record,
            inner,
        }
    }
}

impl StreamObservation {
    /// Whether a recorded observation is open.
    fn is_recorded(&self) -> bool {
        self.frame
            .as_ref()
            .is_some_and(|f| f.kind == context::Kind::Observation)
    }

    /// Notes an item with content: the first one is the completion start of a generation.
    fn note_content(&mut self) {
        if self.content_seen {
            return;
        }
        self.content_seen = true;
        let Some(observation) = self.frame.as_mut().and_then(Frame::observation) else {
            return;
        };
        if observation.descriptor.kind().is_generation_like() {
            let generation = observation
                .data_mut()
                .generation
                .get_or_insert_with(Default::default);
            if generation.completion_start_time.is_none() {
                generation.completion_start_time = Some(clock::now());
            }
        }
    }

    /// Ends the observation with what the stream produced.
    fn end(&mut self, cancelled: bool) {
        let Some(mut observation) = self.frame.take().and_then(Frame::into_observation) else {
            return;
        };
        // A stream dropped before its first item produced nothing to show; an output set with
        // `update_current_span` wins over the captured items.
        if let Some(items) = self.items.take()
            && !(cancelled && items.count == 0)
        {
            let data = observation.data_mut();
            if data.output.is_none() {
                data.output = Some(items.into_payload());
            }
        }
        if let Some(error) = self.error.take() {
            observation.fail(Level::Error, || error);
        }
        if cancelled {
            let level = if std::thread::panicking() {
                Level::Error
            } else {
                Level::Warning
            };
            observation.fail(level, || "cancelled".to_owned());
        }
        context::end_detached(observation);
    }
}

impl Drop for StreamObservation {
    fn drop(&mut self) {
        self.end(true);
    }
}

impl<S, R> Stream for ObservedStream<S, R>
where
    S: Stream,
    R: FnMut(&S::Item, &mut StreamItem<'_>),
{
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = self.project();
        let observation = this.observation;
        let inner = this.inner;
        let poll = context::with_installed(&mut observation.frame, || inner.poll_next(cx));
        match &poll {
            Poll::Ready(Some(item)) => {
                if observation.is_recorded() {
                    let mut recorder = StreamItem {
                        items: observation.items.as_mut(),
                        error: &mut observation.error,
                        content: None,
                        probe: !observation.content_seen,
                        errored: false,
                    };
                    (this.record)(item, &mut recorder);
                    if recorder.carried_content() {
                        observation.note_content();
                    }
                }
            }
            Poll::Ready(None) => observation.end(false),
            Poll::Pending => {}
        }
        poll
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}
