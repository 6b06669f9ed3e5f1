//! The future wrapper of an asynchronous observation: its frame travels inside the future and
//! is current only while the future is polled, on whichever thread polls it.

use std::future::Future;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::outcome::Outcome;
use super::{record_input, wants_output};
use crate::capture::InputRecorder;
use crate::context::{self, Frame, IntoParent, ParentChoice, with_local};
use crate::lifecycle;
use crate::model::{Descriptor, Level, ObservationId};

/// An asynchronous observation before it is attached to its future.
#[doc(hidden)]
#[must_use]
pub struct AsyncObservation {
    frame: Option<Frame>,
    descriptor: &'static Descriptor,
}

impl AsyncObservation {
    /// Starts an observation under the current context. It becomes current only while its
    /// future is polled.
    #[inline]
    pub fn start(descriptor: &'static Descriptor) -> Self {
        let frame = if lifecycle::starts_allowed() {
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
        let frame = if lifecycle::starts_allowed() {
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

    /// Attaches the observation to `future`, which never completes (`-> !`): the drop on
    /// unwind is its only end.
    #[inline]
    pub fn instrument<F: Future>(
        self,
        future: F,
    ) -> Observed<F, impl FnMut(&F::Output, &mut Outcome)> {
        self.instrument_with(future, |_, _| {})
    }

    /// Attaches the observation to `future`, whose output `()` is recorded as `null`, as any
    /// `()` returned by a synchronous function is.
    #[inline]
    pub fn instrument_unit<F: Future<Output = ()>>(
        self,
        future: F,
    ) -> Observed<F, impl FnMut(&(), &mut Outcome)> {
        self.instrument_with(future, |(), outcome| outcome.unit())
    }

    /// Attaches the observation to `future`. When it completes, `record` records its outcome
    /// (the output, or an error) from a reference to its output, while the observation is
    /// still current, and only if the observation is recorded.
    #[inline]
    pub fn instrument_with<F, R>(self, future: F, record: R) -> Observed<F, R>
    where
        F: Future,
        R: FnMut(&F::Output, &mut Outcome),
    {
        let (recorded, capture_output) = match &self.frame {
            Some(frame) if frame.kind == context::Kind::Observation => {
                (Some(frame.record.id), wants_output(self.descriptor))
            }
            _ => (None, false),
        };
        Observed {
            inner: ManuallyDrop::new(future),
            frame: self.frame,
            record,
            recorded,
            capture_output,
        }
    }
}

/// A future that makes its observation current on every poll and ends it when the inner
/// future completes (recording its outcome), panics, or is dropped before completion (level
/// WARNING, "cancelled").
#[doc(hidden)]
#[must_use = "futures do nothing unless polled"]
pub struct Observed<F, R> {
    /// Dropped by hand in `Drop`, inside the observation's context, so that work done by its
    /// destructors is attributed to it. That is also why the pin projection below is written
    /// by hand: pin-project-lite cannot drop a pinned field inside a closure.
    inner: ManuallyDrop<F>,
    /// `None` when inactive, while installed on the stack during a poll, or once ended.
    frame: Option<Frame>,
    /// Records the outcome from the output; called once, at completion.
    record: R,
    /// The observation's id, when it is recorded.
    recorded: Option<ObservationId>,
    /// Whether the output is captured, decided when the observation starts.
    capture_output: bool,
}

impl<F: Future, R: FnMut(&F::Output, &mut Outcome)> Future for Observed<F, R> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `inner` is structurally pinned: it is never moved out of `self`, and it is
        // dropped in place in `Drop`. The other fields are not pinned and are moved freely.
        let this = unsafe { self.get_unchecked_mut() };
        let inner = unsafe { Pin::new_unchecked(&mut *this.inner) };
        let (record, recorded) = (&mut this.record, this.recorded);
        let capture_output = this.capture_output;
        let poll = context::with_installed(&mut this.frame, || {
            let poll = inner.poll(cx);
            if let (Poll::Ready(output), Some(id)) = (&poll, recorded) {
                record_current(id, capture_output, |outcome| record(output, outcome));
            }
            poll
        });
        if poll.is_ready()
            && let Some(observation) = this.frame.take().and_then(Frame::into_observation)
        {
            context::end_detached(observation);
        }
        poll
    }
}

/// Records an outcome into observation `id`, installed by the poll that completed it (it is
/// the current one, unless the body left a frame of its own above it). User code (Serialize,
/// Display) runs here, with the observation current.
#[inline]
fn record_current(id: ObservationId, capture_output: bool, record: impl FnOnce(&mut Outcome)) {
    let mut recorded = Outcome::new(capture_output);
    record(&mut recorded);
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

impl<F, R> Drop for Observed<F, R> {
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
