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
    /// destructors is attributed to it. That is also why the pin projection below is written
    /// by hand: pin-project-lite cannot drop a pinned field inside a closure.
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
