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
    pub(crate) fn finish(mut self, end: Timestamp) -> Record {
        if let Some(own) = self.data.as_mut().and_then(|d| d.own_trace.take()) {
            self.trace = Some(own);
        }
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

    /// Adds propagated attributes to this observation only (not to its later children).
    pub(crate) fn propagate(&mut self, attributes: &TraceAttributes) {
        let base = self
            .data
            .as_ref()
            .and_then(|d| d.own_trace.clone())
            .or_else(|| self.trace.clone());
        let merged = match base {
            Some(base) => base.merged_with(attributes),
            None => attributes.clone(),
        };
        self.data_mut().own_trace = Some(Arc::new(merged));
    }

    pub(crate) fn as_parent(&self) -> ParentContext {
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
    /// A `propagate_attributes` scope: observations started inside carry its attributes.
    Scope(Scope),
}

/// Attributes propagated to the observations started inside a scope.
#[derive(Debug, Clone)]
pub(crate) struct Scope {
    /// What children see below the scope; `None` outside any trace (they start new ones).
    pub(crate) below: Option<ParentContext>,
    /// The enclosing attributes merged with the scope's own.
    pub(crate) trace: Option<Arc<TraceAttributes>>,
}

impl Frame {
    #[inline]
    pub(crate) fn key(&self) -> Option<ParentKey> {
        match self {
            Frame::Observation(o) => Some(ParentKey {
                trace_id: o.trace_id,
                id: o.id,
                sampled: true,
                remote: false,
            }),
            Frame::Parent(p) => Some(p.key()),
            Frame::Scope(s) => s.below.as_ref().map(ParentContext::key),
        }
    }

    #[inline]
    fn trace(&self) -> &Option<Arc<TraceAttributes>> {
        match self {
            Frame::Observation(o) => &o.trace,
            Frame::Parent(p) => &p.trace,
            Frame::Scope(s) => &s.trace,
        }
    }

    fn trace_mut(&mut self) -> &mut Option<Arc<TraceAttributes>> {
        match self {
            Frame::Observation(o) => &mut o.trace,
            Frame::Parent(p) => &mut p.trace,
            Frame::Scope(s) => &mut s.trace,
        }
    }

    /// The trace this frame belongs to, if any.
    fn trace_id(&self) -> Option<TraceId> {
        self.key().map(|k| k.trace_id)
    }

    /// What a spawned task or another thread needs to continue from this frame: the same
    /// frame, with an observation replaced by a reference to it.
    pub(crate) fn snapshot(&self) -> Frame {
        match self {
            Frame::Observation(o) => Frame::Parent(o.as_parent()),
            Frame::Parent(p) => Frame::Parent(p.clone()),
            Frame::Scope(s) => Frame::Scope(s.clone()),
        }
    }

    /// The parent that observations started here would have.
    pub(crate) fn as_parent(&self) -> Option<ParentContext> {
        match self {
            Frame::Observation(o) => Some(o.as_parent()),
            Frame::Parent(p) => Some(p.clone()),
            Frame::Scope(s) => s.below.as_ref().map(|below| ParentContext {
                trace: s.trace.clone(),
                ..below.clone()
            }),
        }
    }
}

/// The copyable part of a parent: all a child needs to decide how to begin.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ParentKey {
    pub(crate) trace_id: TraceId,
    pub(crate) id: ObservationId,
    pub(crate) sampled: bool,
    pub(crate) remote: bool,
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

/// Where a new observation attaches.
#[derive(Clone, Copy)]
pub(crate) enum ParentChoice<'a> {
    /// Under the current frame (a new trace if there is none).
    Current,
    /// Under this parent, or a new trace for `None`, whatever is current.
    Given(Option<&'a ParentContext>),
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
        self.begin_under(descriptor, ParentChoice::Current)
    }

    /// Begins an observation under the chosen parent.
    pub(crate) fn begin_under(
        &mut self,
        descriptor: &'static Descriptor,
        choice: ParentChoice<'_>,
    ) -> Begin {
        let parent = match choice {
            ParentChoice::Current => self.stack.last().and_then(Frame::key),
            ParentChoice::Given(p) => p.map(ParentContext::key),
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
        let trace = match choice {
            ParentChoice::Current => self.stack.last().and_then(|f| f.trace().clone()),
            ParentChoice::Given(p) => p.and_then(|p| p.trace.clone()),
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
    /// recorded. Attribute scopes are looked through; a parent that lives elsewhere ends the
    /// search (its observation belongs to another task or service).
    pub(crate) fn current_observation(&mut self) -> Option<&mut OpenObservation> {
        for frame in self.stack.iter_mut().rev() {
            match frame {
                Frame::Observation(o) => return Some(o),
                Frame::Parent(_) => return None,
                Frame::Scope(_) => {}
            }
        }
        None
    }

    /// Whether new observations here would be recorded: recording is on and the current trace,
    /// if any, is sampled in.
    pub(crate) fn recording_here(&self) -> bool {
        self.stack
            .last()
            .and_then(Frame::key)
            .is_none_or(|k| k.sampled)
    }

    /// The attributes observations started here would carry.
    pub(crate) fn current_trace_attributes(&self) -> Option<Arc<TraceAttributes>> {
        self.stack.last().and_then(|f| f.trace().clone())
    }

    /// The parent observations started here would have.
    pub(crate) fn current_parent(&self) -> Option<ParentContext> {
        self.stack.last().and_then(Frame::as_parent)
    }

    /// Applies `update` to the current trace: to every frame of that trace on this thread's
    /// stack (the current observation, its ancestors here, the scopes between them), so that
    /// they and every observation started after carry it.
    pub(crate) fn update_trace(&mut self, update: &TraceAttributes) -> bool {
        let Some(trace_id) = self.stack.iter().rev().find_map(Frame::trace_id) else {
            return false;
        };
        for frame in &mut self.stack {
            if frame.trace_id() == Some(trace_id) {
                if let Frame::Observation(o) = frame
                    && let Some(own) = o.data.as_mut().and_then(|d| d.own_trace.as_mut())
                {
                    *own = Arc::new(own.merged_with(update));
                }
                let slot = frame.trace_mut();
                let merged = match slot {
                    Some(existing) => existing.merged_with(update),
                    None => update.clone(),
                };
                *slot = Some(Arc::new(merged));
            }
        }
        true
    }

    /// Ends an observation: takes the clock and hands the record to the exporter.
    #[inline]
    pub(crate) fn end(&mut self, open: OpenObservation) {
        let record = open.finish(clock::now());
        self.buffer().push(record);
    }
}

/// The parent observations started here would have, if any.
pub(crate) fn current_parent() -> Option<ParentContext> {
    with_local(|l| l.current_parent()).flatten()
}

/// A copy of the current frame, for a spawned task or another thread.
pub(crate) fn snapshot() -> Option<Frame> {
    with_local(|l| l.top().map(Frame::snapshot)).flatten()
}

/// Hands a finished record to the exporter from anywhere: through this thread's buffer, or
/// the shared queue where thread-locals are unusable (thread teardown). After shutdown it is
/// counted as dropped instead.
pub(crate) fn hand_off(record: Record) {
    if !crate::state::ends_accepted() {
        collector::count_dropped_after_shutdown(1);
        return;
    }
    let mut record = Some(record);
    with_local(|l| {
        if let Some(r) = record.take() {
            l.buffer().push(r);
        }
    });
    if let Some(r) = record {
        collector::push_shared(r);
    }
}

/// Marks an observation failed by a panic, with the panic's message when the hook saw it.
pub(crate) fn fail_from_panic(local: &Local, observation: &mut OpenObservation) {
    let message = local.panic_message.clone();
    observation.fail(Level::Error, || match message {
        Some(m) => format!("panicked: {m}"),
        None => "panicked".to_owned(),
    });
}

/// Makes the frame in `slot` current on this thread while `f` runs (one poll of a future or
/// stream that carries its context), then puts it back into `slot`, also when `f` unwinds; an
/// observation unwound through is marked failed. An empty slot, or unusable thread-locals
/// (thread teardown), just run `f`.
#[inline]
pub(crate) fn with_installed<T>(slot: &mut Option<Frame>, f: impl FnOnce() -> T) -> T {
    let Some(frame) = slot.take() else {
        return f();
    };
    let mut frame = Some(frame);
    let Some(depth) = with_local(|local| local.push(frame.take().expect("frame present"))) else {
        *slot = frame;
        return f();
    };
    let _reinstall = Reinstall { slot, depth };
    f()
}

/// Puts an installed frame back into its owner when a poll returns or unwinds.
struct Reinstall<'a> {
    slot: &'a mut Option<Frame>,
    depth: usize,
}

impl Drop for Reinstall<'_> {
    fn drop(&mut self) {
        let depth = self.depth;
        let slot = &mut *self.slot;
        with_local(|local| {
            if let Some(mut frame) = local.pop(depth) {
                if std::thread::panicking()
                    && let Frame::Observation(o) = &mut frame
                {
                    fail_from_panic(local, o);
                }
                *slot = Some(frame);
            }
        });
    }
}
