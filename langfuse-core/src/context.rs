//! The current observation of each thread.
//!
//! Each thread keeps a stack of [`Frame`]s. A synchronous observation pushes its frame when it
//! starts and pops it when it ends. An asynchronous one keeps its frame inside its future and
//! pushes it only for the duration of each poll, so no guard is ever held across `.await` and
//! a task that moves between worker threads takes its context with it.
//!
//! A frame is either an observation this thread is running (its record in progress, which
//! `update_current_*` writes into) or a [`ParentContext`]: a parent that lives elsewhere (the
//! task that spawned this one, a remote service), or a trace that was sampled out.

use std::cell::RefCell;
use std::sync::Arc;

use crate::clock;
use crate::collector::{self, LocalBuffer};
use crate::observation::{
    Descriptor, Level, ObservationData, ObservationId, Record, Timestamp, TraceAttributes, TraceId,
    flags,
};
use crate::sampling;

/// An observation that has started and not yet ended.
#[derive(Debug)]
pub(crate) struct OpenObservation {
    pub(crate) trace_id: TraceId,
    pub(crate) id: ObservationId,
    pub(crate) parent_id: Option<ObservationId>,
    pub(crate) start: Timestamp,
    pub(crate) descriptor: &'static Descriptor,
    pub(crate) level: Level,
    pub(crate) flags: u8,
    pub(crate) data: Option<Box<ObservationData>>,
    pub(crate) trace: Option<Arc<TraceAttributes>>,
}

impl OpenObservation {
    /// The record it leaves when it ends at `end`.
    pub(crate) fn finish(self, end: Timestamp) -> Record {
        Record {
            trace_id: self.trace_id,
            id: self.id,
            parent_id: self.parent_id,
            start: self.start,
            end,
            descriptor: self.descriptor,
            level: self.level,
            flags: self.flags,
            data: self.data,
            trace: self.trace,
        }
    }

    /// The extra data, allocated on first use.
    pub(crate) fn data_mut(&mut self) -> &mut ObservationData {
        self.data.get_or_insert_with(Default::default)
    }

    /// Marks the observation failed, keeping the first status message set.
    pub(crate) fn fail(&mut self, level: Level, message: impl FnOnce() -> String) {
        if level > self.level {
            self.level = level;
        }
        let data = self.data_mut();
        if data.status_message.is_none() {
            data.status_message = Some(message());
        }
    }

    fn as_parent(&self) -> ParentContext {
        ParentContext {
            trace_id: self.trace_id,
            id: self.id,
            sampled: true,
            remote: false,
            trace: self.trace.clone(),
        }
    }
}

/// What a child needs from its parent: the trace, the parent's id, whether the trace is
/// sampled, whether the parent is remote, and the trace-level attributes to inherit.
#[derive(Debug, Clone)]
pub(crate) struct ParentContext {
    pub(crate) trace_id: TraceId,
    pub(crate) id: ObservationId,
    pub(crate) sampled: bool,
    /// The parent is in another process: the first observation under it is marked as the
    /// trace's root in this service (`langfuse.internal.as_root`).
    pub(crate) remote: bool,
    pub(crate) trace: Option<Arc<TraceAttributes>>,
}

/// One entry of a thread's context stack.
#[derive(Debug)]
pub(crate) enum Frame {
    /// An observation running on this thread.
    Observation(OpenObservation),
    /// A parent living elsewhere, or a sampled-out trace.
    Parent(ParentContext),
}

impl Frame {
    #[inline]
    fn key(&self) -> ParentKey {
        match self {
            Frame::Observation(o) => ParentKey {
                trace_id: o.trace_id,
                id: o.id,
                sampled: true,
                remote: false,
            },
            Frame::Parent(p) => p.key(),
        }
    }

    #[inline]
    fn trace(&self) -> &Option<Arc<TraceAttributes>> {
        match self {
            Frame::Observation(o) => &o.trace,
            Frame::Parent(p) => &p.trace,
        }
    }

    /// The parent context a spawned task or an outgoing request carries.
    pub(crate) fn to_parent_context(&self) -> ParentContext {
        match self {
            Frame::Observation(o) => o.as_parent(),
            Frame::Parent(p) => p.clone(),
        }
    }
}

/// The copyable part of a parent: all a child needs to decide how to begin.
#[derive(Clone, Copy)]
struct ParentKey {
    trace_id: TraceId,
    id: ObservationId,
    sampled: bool,
    remote: bool,
}

impl ParentContext {
    #[inline]
    fn key(&self) -> ParentKey {
        ParentKey {
            trace_id: self.trace_id,
            id: self.id,
            sampled: self.sampled,
            remote: self.remote,
        }
    }
}

/// How an observation began.
pub(crate) enum Begin {
    /// Tracing is off, or the parent's trace is sampled out: nothing to do, nothing to push.
    Noop,
    /// A new trace that sampling dropped: children must see it to stay dropped, so it is
    /// pushed like an observation, but nothing is recorded.
    Unsampled(ParentContext),
    /// A recorded observation.
    Sampled(OpenObservation),
}

impl Begin {
    pub(crate) fn into_frame(self) -> Option<Frame> {
        match self {
            Begin::Noop => None,
            Begin::Unsampled(p) => Some(Frame::Parent(p)),
            Begin::Sampled(o) => Some(Frame::Observation(o)),
        }
    }
}

/// Per-thread state: the context stack, the id generator and the hand-off buffer.
pub(crate) struct Local {
    stack: Vec<Frame>,
    rng: fastrand::Rng,
    buffer: Option<LocalBuffer>,
    /// Message of the panic in flight on this thread, stashed by the panic hook.
    pub(crate) panic_message: Option<String>,
}

thread_local! {
    static LOCAL: RefCell<Local> = RefCell::new(Local {
        stack: Vec::with_capacity(16),
        rng: fastrand::Rng::new(),
        buffer: None,
        panic_message: None,
    });
}

/// Runs `f` on this thread's state. Returns `None` while the thread is being torn down (its
/// thread-locals destroyed) or if the state is already borrowed; callers then do nothing.
#[inline]
pub(crate) fn with_local<R>(f: impl FnOnce(&mut Local) -> R) -> Option<R> {
    LOCAL
        .try_with(|cell| cell.try_borrow_mut().ok().map(|mut l| f(&mut l)))
        .ok()
        .flatten()
}

impl Local {
    #[inline]
    fn new_span_id(&mut self) -> ObservationId {
        loop {
            if let Some(id) = ObservationId::from_u64(self.rng.u64(..)) {
                return id;
            }
        }
    }

    #[inline]
    fn new_trace_id(&mut self) -> TraceId {
        loop {
            let value = (u128::from(self.rng.u64(..)) << 64) | u128::from(self.rng.u64(..));
            if let Some(id) = TraceId::from_u128(value) {
                return id;
            }
        }
    }

    /// The hand-off buffer, registered with the collector on first use.
    #[inline]
    pub(crate) fn buffer(&mut self) -> &mut LocalBuffer {
        self.buffer.get_or_insert_with(collector::register_thread)
    }

    /// Begins an observation under the current frame, or a new trace if there is none.
    #[inline]
    pub(crate) fn begin(&mut self, descriptor: &'static Descriptor) -> Begin {
        self.begin_under(descriptor, None)
    }

    /// Begins an observation under `explicit`, or under the current frame when `None`.
    pub(crate) fn begin_under(
        &mut self,
        descriptor: &'static Descriptor,
        explicit: Option<&ParentContext>,
    ) -> Begin {
        let parent = match explicit {
            Some(p) => Some(p.key()),
            None => self.stack.last().map(Frame::key),
        };
        let (trace_id, parent_id, flags) = match parent {
            Some(p) if !p.sampled => {
                self.buffer().count_sampled_out();
                return Begin::Noop;
            }
            Some(p) => (
                p.trace_id,
                Some(p.id),
                if p.remote { flags::AS_ROOT } else { 0 },
            ),
            None => {
                let trace_id = self.new_trace_id();
                if !sampling::keep(trace_id) {
                    self.buffer().count_sampled_out();
                    let id = self.new_span_id();
                    return Begin::Unsampled(ParentContext {
                        trace_id,
                        id,
                        sampled: false,
                        remote: false,
                        trace: None,
                    });
                }
                (trace_id, None, 0)
            }
        };
        // Only inherited when there is something to inherit: a plain trace clones nothing.
        let trace = match explicit {
            Some(p) => p.trace.clone(),
            None => self.stack.last().and_then(|f| f.trace().clone()),
        };
        let id = self.new_span_id();
        self.buffer().count_started();
        Begin::Sampled(OpenObservation {
            trace_id,
            id,
            parent_id,
            start: clock::now(),
            descriptor,
            level: Level::Default,
            flags,
            data: None,
            trace,
        })
    }

    /// Pushes a frame and returns its depth, which the owner passes back to [`Local::pop`].
    #[inline]
    pub(crate) fn push(&mut self, frame: Frame) -> usize {
        self.stack.push(frame);
        self.stack.len() - 1
    }

    /// Removes the frame pushed at `depth`. Frames are popped in LIFO order unless a guard was
    /// leaked or dropped out of order; then the frames above it are discarded too, because
    /// their owners are gone.
    #[inline]
    pub(crate) fn pop(&mut self, depth: usize) -> Option<Frame> {
        if depth + 1 == self.stack.len() {
            return self.stack.pop();
        }
        self.pop_slow(depth)
    }

    #[cold]
    fn pop_slow(&mut self, depth: usize) -> Option<Frame> {
        if depth >= self.stack.len() {
            return None;
        }
        let frame = self.stack.swap_remove(depth);
        self.stack.truncate(depth);
        Some(frame)
    }

    /// The frame at `depth`, if it is still there.
    pub(crate) fn frame_at(&mut self, depth: usize) -> Option<&mut Frame> {
        self.stack.get_mut(depth)
    }

    /// The top frame.
    pub(crate) fn top(&self) -> Option<&Frame> {
        self.stack.last()
    }

    /// The innermost observation this thread is running in the current context, if it is
    /// recorded. A parent that lives elsewhere ends the search: its observation belongs to
    /// another task or service.
    pub(crate) fn current_observation(&mut self) -> Option<&mut OpenObservation> {
        match self.stack.last_mut()? {
            Frame::Observation(o) => Some(o),
            Frame::Parent(_) => None,
        }
    }

    /// Ends an observation: takes the clock and hands the record to the exporter.
    #[inline]
    pub(crate) fn end(&mut self, open: OpenObservation) {
        let record = open.finish(clock::now());
        self.buffer().push(record);
    }
}

/// The context a spawned task or an outgoing request should carry, if any.
pub(crate) fn current_parent() -> Option<ParentContext> {
    with_local(|l| l.top().map(Frame::to_parent_context)).flatten()
}

/// Ends `open` from a place that may not have a usable thread-local state (a future dropped
/// during thread teardown): falls back to the shared queue.
pub(crate) fn end_anywhere(open: OpenObservation) {
    let mut open = Some(open);
    let done = with_local(|l| {
        if let Some(o) = open.take() {
            l.end(o);
        }
    });
    if done.is_none()
        && let Some(o) = open
    {
        collector::push_shared(o.finish(clock::now()));
    }
}
