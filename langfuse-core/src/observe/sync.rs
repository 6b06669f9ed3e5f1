//! The guard of a synchronous observation: its frame is on this thread's context stack from
//! start to end.

use std::marker::PhantomData;
use std::mem::ManuallyDrop;

use super::outcome::Outcome;
use super::stream::{ObservedStream, StreamItem};
use super::{record_input, wants_output};
use crate::capture::InputRecorder;
use crate::context::{self, Frame, FrameSlot, IntoParent, ParentChoice, with_local};
use crate::lifecycle;
use crate::model::{Descriptor, Level};

/// Calls `f`. The expansion runs a synchronous body through this so that `return` and `?`
/// inside it stay local, and so the closure is `FnOnce` (it may return borrows of `self`).
#[doc(hidden)]
#[inline(always)]
pub fn call_once<R>(f: impl FnOnce() -> R) -> R {
    f()
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
        if !lifecycle::starts_allowed() {
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
        if !lifecycle::starts_allowed() {
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

    /// Ends the observation of a function that returned `()`, recorded as `null`.
    #[inline]
    pub fn end_unit(self) {
        self.end(Outcome::unit);
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
                    context::fail_from_panic(&mut observation);
                } else {
                    observation.fail(Level::Warning, || "ended without returning".to_owned());
                }
                local.end(observation);
            }
        });
    }
}
