//! What `#[observe]` expands to: a guard for synchronous functions, a future wrapper for
//! asynchronous ones, and the recorders that capture inputs and outcomes.
//!
//! None of this is a stable API; the macro's expansion is its only intended caller.

use std::future::Future;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::capture::{InputRecorder, JsonSink, STATUS_MAX_BYTES, TextSink};
use crate::context::{self, Frame, FrameSlot, ParentChoice, with_local};
use crate::observation::{Descriptor, Level, ObservationId, Payload, Record};
use crate::stream::{ObservedStream, StreamItem};
use crate::traceparent::IntoParent;
use crate::{settings, state};

/// Calls `f`. The expansion runs a synchronous body through this so that `return` and `?`
/// inside it stay local, and so the closure is `FnOnce` (it may return borrows of `self`).
#[doc(hidden)]
#[inline(always)]
pub fn call_once<R>(f: impl FnOnce() -> R) -> R {
    f()
}

fn wants_input(descriptor: &Descriptor) -> bool {
    settings::capture_enabled(descriptor.capture_input)
}

fn wants_output(descriptor: &Descriptor) -> bool {
    settings::capture_enabled(descriptor.capture_output)
}

fn record_input(
    descriptor: &Descriptor,
    capture: impl FnOnce(&mut InputRecorder),
) -> Option<Payload> {
    if !wants_input(descriptor) {
        return None;
    }
    let mut input = InputRecorder::new(settings::capture_max_bytes());
    capture(&mut input);
    Some(input.into_payload())
}

/// The return value and error of an observed call, filled by the expansion.
#[doc(hidden)]
pub struct Outcome {
    capture_output: bool,
    output: Option<JsonSink>,
    error: Option<TextSink>,
}

impl Outcome {
    fn new(capture_output: bool) -> Self {
        Self {
            capture_output,
            output: None,
            error: None,
        }
    }

    /// Records the successful value with `write`, if output capture is on.
    #[inline]
    pub fn output(&mut self, write: impl FnOnce(&mut JsonSink)) {
        if self.capture_output {
            let sink = self
                .output
                .insert(JsonSink::new(settings::capture_max_bytes()));
            write(sink);
        }
    }

    /// Records an error: the observation's level becomes ERROR and `describe` writes its
    /// status message.
    #[inline]
    pub fn error(&mut self, describe: impl FnOnce(&mut TextSink)) {
        describe(self.error.insert(TextSink::new(STATUS_MAX_BYTES)));
    }

    /// Whether there is nothing to record (no output captured, no error).
    #[inline]
    fn is_empty(&self) -> bool {
        self.output.is_none() && self.error.is_none()
    }

    fn apply(self, observation: &mut Record) {
        if let Some(output) = self.output {
            // An output set explicitly (`update_current_span`) is what the user meant to show:
            // it wins over the captured return value.
            let data = observation.data_mut();
            if data.output.is_none() {
                data.output = Some(output.into_payload());
            }
        }
        if let Some(error) = self.error {
            let message = error.into_string();
            observation.fail(Level::Error, || message);
        }
    }
}

/// The guard of a synchronous observation: its frame is on this thread's context stack from
/// `start` to `end` (or to the drop that unwinding causes).
#[doc(hidden)]
#[must_use]
pub struct SyncObservation {
    /// This observation's frame on the stack, if it pushed one.
    slot: FrameSlot,
    descriptor: &'static Descriptor,
    /// The frame lives in this thread's stack: the guard must stay on this thread.
    _not_send: PhantomData<*const ()>,
}

impl SyncObservation {
    /// Starts an observation and makes it current.
    #[inline]
    pub fn start(descriptor: &'static Descriptor) -> Self {
        if !state::starts_allowed() {
            // The disabled path: one load, one branch, nothing else.
            return Self::inactive(descriptor);
        }
        Self::begin(descriptor)
    }

    #[inline(always)]
    fn inactive(descriptor: &'static Descriptor) -> Self {
        Self {
            slot: FrameSlot::NONE,
            descriptor,
            _not_send: PhantomData,
        }
    }

    fn begin(descriptor: &'static Descriptor) -> Self {
        Self {
            slot: with_local(|local| local.begin_pushed(descriptor, ParentChoice::Current))
                .unwrap_or(FrameSlot::NONE),
            descriptor,
            _not_send: PhantomData,
        }
    }

    /// Starts an observation under `parent` (`#[observe(parent = ...)]`), or under the current
    /// context when `parent` gives none, and makes it current.
    #[inline]
    pub fn start_under(descriptor: &'static Descriptor, parent: impl IntoParent) -> Self {
        if !state::starts_allowed() {
            return Self::inactive(descriptor);
        }
        let parent = parent.into_context().as_parent();
        let choice = match &parent {
            Some(parent) => ParentChoice::Given(Some(parent)),
            None => ParentChoice::Current,
        };
        Self {
            slot: with_local(|local| local.begin_pushed(descriptor, choice))
                .unwrap_or(FrameSlot::NONE),
            descriptor,
            _not_send: PhantomData,
        }
    }

    /// Captures the arguments with `capture`, if this observation is recorded and captures
    /// its input.
    #[inline]
    pub fn with_input(self, capture: impl FnOnce(&mut InputRecorder)) -> Self {
        if self.slot.recorded()
            && let Some(depth) = self.slot.depth()
            && let Some(input) = record_input(self.descriptor, capture)
        {
            with_local(|local| {
                if let Some(o) = local.frame_at(depth).and_then(Frame::observation) {
                    o.data_mut().input = Some(input);
                }
            });
        }
        self
    }

    /// Ends the observation. `outcome` records the return value or error; it runs only when
    /// the observation is recorded.
    #[inline]
    pub fn end(self, outcome: impl FnOnce(&mut Outcome)) {
        let this = ManuallyDrop::new(self);
        let Some(depth) = this.slot.depth() else {
            return;
        };
        if this.slot.recorded() {
            // User code (Serialize, Display) runs here, outside any borrow of the thread state.
            let mut recorded = Outcome::new(wants_output(this.descriptor));
            outcome(&mut recorded);
            if !recorded.is_empty() {
                Self::record_outcome(depth, recorded);
            }
        }
        Self::finish(depth);
    }

    /// Writes an outcome into the observation's frame (only when there is one: an output or an
    /// error), so that the common path passes nothing but the depth.
    #[inline(never)]
    fn record_outcome(depth: usize, recorded: Outcome) {
        with_local(|local| {
            if let Some(observation) = local.frame_at(depth).and_then(Frame::observation) {
                recorded.apply(observation);
            }
        });
    }

    fn finish(depth: usize) {
        with_local(|local| local.end_frame(depth));
    }

    /// Moves the observation into the stream the function returns: it stays open until the
    /// stream ends or is dropped. `record` captures each item (only when recorded).
    #[inline]
    pub fn stream<S, R>(self, stream: S, record: R) -> ObservedStream<S, R>
    where
        S: futures_core::Stream,
        R: FnMut(&S::Item, &mut StreamItem<'_>),
    {
        let this = ManuallyDrop::new(self);
        let frame = this
            .slot
            .depth()
            .and_then(|depth| with_local(|local| local.pop(depth)).flatten());
        ObservedStream::new(stream, frame, wants_output(this.descriptor), record)
    }
}

impl Drop for SyncObservation {
    /// Reached only when `end` was not: the body panicked.
    fn drop(&mut self) {
        let Some(depth) = self.slot.depth() else {
            return;
        };
        with_local(|local| {
            if let Some(mut observation) = local.pop(depth).and_then(Frame::into_observation) {
                if std::thread::panicking() {
                    context::fail_from_panic(local, &mut observation);
                } else {
                    observation.fail(Level::Warning, || "ended without returning".to_owned());
                }
                local.end(observation);
            }
        });
    }
}

/// An asynchronous observation before it is attached to its future.
#[doc(hidden)]
#[must_use]
pub struct AsyncObservation {
    frame: Option<Frame>,
    descriptor: &'static Descriptor,
}

/// Lets the body of an async observation record its outcome into its own frame.
#[doc(hidden)]
#[derive(Clone, Copy)]
pub struct OutcomeToken {
    id: Option<ObservationId>,
    capture_output: bool,
}

impl OutcomeToken {
    /// Records the outcome into the observation this token belongs to, if it is the current
    /// one (it is, inside its own future's poll).
    #[inline]
    pub fn end(self, outcome: impl FnOnce(&mut Outcome)) {
        let Some(id) = self.id else { return };
        let mut recorded = Outcome::new(self.capture_output);
        outcome(&mut recorded);
        // No output captured and no error: nothing to write, no need to find the observation.
        if recorded.is_empty() {
            return;
        }
        with_local(|local| {
            if let Some(o) = local.current_observation()
                && o.id == id
            {
                recorded.apply(o);
            }
        });
    }
}

impl AsyncObservation {
    /// Starts an observation under the current context. It becomes current only while its
    /// future is polled.
    #[inline]
    pub fn start(descriptor: &'static Descriptor) -> Self {
        let frame = if state::starts_allowed() {
            with_local(|local| local.begin(descriptor, ParentChoice::Current)).flatten()
        } else {
            None
        };
        Self { frame, descriptor }
    }

    /// Starts an observation under `parent` (`#[observe(parent = ...)]`), or under the current
    /// context when `parent` gives none.
    #[inline]
    pub fn start_under(descriptor: &'static Descriptor, parent: impl IntoParent) -> Self {
        let frame = if state::starts_allowed() {
            let parent = parent.into_context().as_parent();
            let choice = match &parent {
                Some(parent) => ParentChoice::Given(Some(parent)),
                None => ParentChoice::Current,
            };
            with_local(|local| local.begin(descriptor, choice)).flatten()
        } else {
            None
        };
        Self { frame, descriptor }
    }

    /// Captures the arguments with `capture`, if this observation is recorded and captures
    /// its input.
    #[inline]
    pub fn with_input(mut self, capture: impl FnOnce(&mut InputRecorder)) -> Self {
        if let Some(o) = self.frame.as_mut().and_then(Frame::observation)
            && let Some(input) = record_input(self.descriptor, capture)
        {
            o.data_mut().input = Some(input);
        }
        self
    }

    /// The token the body uses to record its outcome.
    #[inline]
    pub fn token(&self) -> OutcomeToken {
        match &self.frame {
            Some(frame) if frame.kind == context::Kind::Observation => OutcomeToken {
                id: Some(frame.record.id),
                capture_output: wants_output(self.descriptor),
            },
            _ => OutcomeToken {
                id: None,
                capture_output: false,
            },
        }
    }

    /// Attaches the observation to `future`.
    #[inline]
    pub fn instrument<F: Future>(self, future: F) -> Observed<F> {
        Observed {
            inner: ManuallyDrop::new(future),
            frame: self.frame,
        }
    }
}

/// A future that makes its observation current on every poll and ends it when the inner
/// future completes, panics, or is dropped before completion (level WARNING, "cancelled").
#[doc(hidden)]
#[must_use = "futures do nothing unless polled"]
pub struct Observed<F> {
    /// Dropped by hand in `Drop`, inside the observation's context, so that work done by its
    /// destructors is attributed to it.
    inner: ManuallyDrop<F>,
    /// `None` when inactive, while installed on the stack during a poll, or once ended.
    frame: Option<Frame>,
}

impl<F: Future> Future for Observed<F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `inner` is structurally pinned: it is never moved out of `self`, and it is
        // dropped in place in `Drop`. `frame` is not pinned and is moved freely.
        let this = unsafe { self.get_unchecked_mut() };
        let inner = unsafe { Pin::new_unchecked(&mut *this.inner) };
        let poll = context::with_installed(&mut this.frame, || inner.poll(cx));
        if poll.is_ready()
            && let Some(observation) = this.frame.take().and_then(Frame::into_observation)
        {
            context::end_detached(observation);
        }
        poll
    }
}

impl<F> Drop for Observed<F> {
    fn drop(&mut self) {
        let inner = &mut self.inner;
        // SAFETY: `inner` is dropped exactly once, here, and never used again; the frame is
        // current while its destructors run, so their work is attributed to it.
        context::with_installed(&mut self.frame, || unsafe { ManuallyDrop::drop(inner) });
        if let Some(mut observation) = self.frame.take().and_then(Frame::into_observation) {
            // Not completed: dropped before the end, or unwinding through a panic.
            if std::thread::panicking() {
                observation.fail(Level::Error, || "panicked".to_owned());
            } else {
                observation.fail(Level::Warning, || "cancelled".to_owned());
            }
            context::end_detached(observation);
        }
    }
}
