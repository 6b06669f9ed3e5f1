//! The per-thread state: the stack of frames, the id generator and the hand-off buffer, and
//! how an observation begins, ends and is installed for one poll.

use std::cell::RefCell;
use std::sync::Arc;

use super::frame::{Frame, FrameSlot, Kind, ParentContext};
use super::panic::mark_unwound;
use crate::clock;
use crate::collector::{self, LocalBuffer};
use crate::model::{Descriptor, ObservationId, Record, TraceAttributes, TraceId, flags};
use crate::sampling;

/// How an observation begins; see `Local::plan`.
enum Plan {
    /// Under a sampled-out parent: nothing is recorded or tracked.
    Nothing,
    /// A new trace that sampling dropped.
    Unsampled {
        trace_id: TraceId,
        id: ObservationId,
    },
    /// A recorded observation.
    Record {
        trace_id: TraceId,
        id: ObservationId,
        parent_id: Option<ObservationId>,
        flags: u8,
        trace: Option<Arc<TraceAttributes>>,
    },
}

impl Plan {
    #[inline]
    fn into_frame(self, descriptor: &'static Descriptor) -> Option<Frame> {
        match self {
            Plan::Nothing => None,
            Plan::Unsampled { trace_id, id } => Some(Frame::unsampled(trace_id, id)),
            Plan::Record {
                trace_id,
                id,
                parent_id,
                flags,
                trace,
            } => Some(Frame::observing(Record::open(
                trace_id, id, parent_id, flags, trace, descriptor,
            ))),
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

/// Per-thread state: the context stack, the id generator and the hand-off buffer.
pub(crate) struct Local {
    stack: Vec<Frame>,
    rng: fastrand::Rng,
    buffer: Option<LocalBuffer>,
    /// The test recorder whose code runs on this thread now, if any.
    #[cfg(feature = "testing")]
    pub(crate) tap: Option<Arc<super::tap::Tap>>,
}

thread_local! {
    static LOCAL: RefCell<Local> = RefCell::new(Local {
        stack: Vec::with_capacity(16),
        rng: fastrand::Rng::new(),
        buffer: None,
        #[cfg(feature = "testing")]
        tap: None,
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

    /// Whether an observation begun here with `choice` starts a plain new trace: nothing on
    /// the stack (no parent, no scope whose attributes it would carry), and nothing else that
    /// could give it a parent (a test recorder here, an OpenTelemetry span). Then it takes
    /// the shortest path (`begin_root_pushed`): what `plan` decides for it, without the plan.
    #[inline(always)]
    fn starts_plain_trace(&self, choice: ParentChoice<'_>) -> bool {
        #[cfg(feature = "testing")]
        let recorders = self.tap.is_some() || !crate::lifecycle::is_enabled();
        #[cfg(not(feature = "testing"))]
        let recorders = false;
        matches!(choice, ParentChoice::Current)
            && self.stack.is_empty()
            && !cfg!(feature = "opentelemetry")
            && !recorders
    }

    /// The id a sampled-out trace's frame carries: only ever sent as the parent id of an
    /// outgoing `traceparent`, so derived from the trace id instead of drawn.
    #[inline(always)]
    fn unsampled_id(trace_id: TraceId) -> ObservationId {
        ObservationId::from_u64(trace_id.to_u128() as u64 | 1).unwrap_or(ObservationId::PLACEHOLDER)
    }

    /// Decides how an observation begins under the chosen parent: the ids of a recorded
    /// observation, a sampled-out new trace (tracked so that its children stay out), or
    /// nothing at all under a sampled-out parent. Always inlined: returned through memory,
    /// the plan costs more than deciding it.
    #[inline(always)]
    fn plan(&mut self, choice: ParentChoice<'_>) -> Plan {
        let parent = match choice {
            ParentChoice::Current => self.stack.last().and_then(Frame::key),
            ParentChoice::Given(p) => p.map(ParentContext::key),
        };
        #[cfg(feature = "opentelemetry")]
        if parent.is_none()
            && matches!(choice, ParentChoice::Current)
            && let Some(remote) = super::otel_root_parent(|| self.current_trace_attributes())
        {
            return self.plan(ParentChoice::Given(Some(&remote)));
        }
        #[cfg(feature = "testing")]
        if let Some(plan) = self.plan_for_recorders(choice, parent) {
            return plan;
        }
        let Some(parent) = parent else {
            let trace_id = self.new_trace_id();
            if !sampling::keep(trace_id) {
                self.buffer().count_sampled_out();
                let id = Self::unsampled_id(trace_id);
                return Plan::Unsampled { trace_id, id };
            }
            let id = self.new_span_id();
            self.buffer().count_started();
            // A detached scope's attributes still apply to the new trace.
            let trace = match choice {
                ParentChoice::Current => self.stack.last().and_then(|f| f.record.trace.clone()),
                ParentChoice::Given(_) => None,
            };
            return Plan::Record {
                trace_id,
                id,
                parent_id: None,
                flags: 0,
                trace,
            };
        };
        if !parent.sampled {
            self.buffer().count_sampled_out();
            return Plan::Nothing;
        }
        let id = self.new_span_id();
        self.buffer().count_started();
        // Only inherited when there is something to inherit: a plain trace clones nothing.
        let trace = match choice {
            ParentChoice::Current => self.stack.last().and_then(|f| f.record.trace.clone()),
            ParentChoice::Given(p) => p.and_then(|p| p.trace.clone()),
        };
        Plan::Record {
            trace_id: parent.trace_id,
            id,
            parent_id: Some(parent.id),
            flags: if parent.remote { flags::AS_ROOT } else { 0 },
            trace,
        }
    }

    /// What a trace routed to a test recorder does differently: a child of a routed parent,
    /// a new trace or the continuation of a remote one under an installed tap, are routed
    /// (recorded whatever the sampling, counted nowhere). Observations that are not routed
    /// start only when the SDK itself records: while a recorder is open,
    /// `lifecycle::starts_allowed` lets every observation this far. `None`: plan as usual.
    #[cfg(feature = "testing")]
    #[cold]
    fn plan_for_recorders(
        &mut self,
        choice: ParentChoice<'_>,
        parent: Option<super::frame::ParentKey>,
    ) -> Option<Plan> {
        let inherited = || match choice {
            ParentChoice::Current => self.stack.last().and_then(|f| f.record.trace.clone()),
            ParentChoice::Given(p) => p.and_then(|p| p.trace.clone()),
        };
        match parent {
            Some(parent) if parent.routed => {
                let trace = inherited();
                let id = self.new_span_id();
                let as_root = if parent.remote { flags::AS_ROOT } else { 0 };
                return Some(Plan::Record {
                    trace_id: parent.trace_id,
                    id,
                    parent_id: Some(parent.id),
                    flags: flags::ROUTED | as_root,
                    trace,
                });
            }
            Some(parent) if parent.remote && self.tap.is_some() => {
                let tap = self.tap.clone()?;
                let trace = tap.route(parent.trace_id, inherited().as_deref());
                let id = self.new_span_id();
                return Some(Plan::Record {
                    trace_id: parent.trace_id,
                    id,
                    parent_id: Some(parent.id),
                    flags: flags::ROUTED | flags::AS_ROOT,
                    trace: Some(trace),
                });
            }
            None if self.tap.is_some() => {
                let tap = self.tap.clone()?;
                let trace_id = self.new_trace_id();
                // A detached scope's attributes still apply to the new trace.
                let scope = match choice {
                    ParentChoice::Current => self.stack.last().and_then(|f| f.record.trace.clone()),
                    ParentChoice::Given(_) => None,
                };
                let trace = tap.route(trace_id, scope.as_deref());
                let id = self.new_span_id();
                return Some(Plan::Record {
                    trace_id,
                    id,
                    parent_id: None,
                    flags: flags::ROUTED,
                    trace: Some(trace),
                });
            }
            _ => {}
        }
        (!crate::lifecycle::is_enabled()).then_some(Plan::Nothing)
    }

    /// Begins an observation under the chosen parent and returns its frame (to carry in a
    /// future, or to enter later), or `None` when nothing is to be tracked.
    #[inline]
    pub(crate) fn begin(
        &mut self,
        descriptor: &'static Descriptor,
        choice: ParentChoice<'_>,
    ) -> Option<Frame> {
        self.plan(choice).into_frame(descriptor)
    }

    /// Begins an observation under the chosen parent and makes it current. Returns its depth
    /// and whether it is recorded, packed in one word (see [`FrameSlot`]).
    #[inline]
    pub(crate) fn begin_pushed(
        &mut self,
        descriptor: &'static Descriptor,
        choice: ParentChoice<'_>,
    ) -> FrameSlot {
        if self.starts_plain_trace(choice) {
            return self.begin_root_pushed(descriptor);
        }
        let plan = self.plan(choice);
        let recorded = matches!(plan, Plan::Record { .. });
        // Room first, then the frame is built in its slot: building it elsewhere and copying
        // it in costs more than the rest of this function (the copy reads back its small
        // fields before their stores retire).
        if matches!(plan, Plan::Nothing) {
            return FrameSlot::NONE;
        }
        self.stack.reserve(1);
        let depth = self.stack.len();
        let slot = &mut self.stack.spare_capacity_mut()[0];
        match plan {
            Plan::Nothing => return FrameSlot::NONE,
            Plan::Unsampled { trace_id, id } => {
                slot.write(Frame::unsampled(trace_id, id));
            }
            Plan::Record {
                trace_id,
                id,
                parent_id,
                flags,
                trace,
            } => {
                let record = Record::open(trace_id, id, parent_id, flags, trace, descriptor);
                slot.write(Frame::observing(record));
            }
        }
        // SAFETY: the slot at `depth` is within capacity and was just initialized.
        unsafe { self.stack.set_len(depth + 1) };
        FrameSlot::new(depth, recorded)
    }

    /// [`Local::begin_pushed`] for a plain new trace (see [`Local::starts_plain_trace`]): the
    /// trace id, the sampling decision and the frame, written straight into its slot. A
    /// sampled-out trace still pushes a frame, so that its children know to stay out.
    #[inline(always)]
    fn begin_root_pushed(&mut self, descriptor: &'static Descriptor) -> FrameSlot {
        let trace_id = self.new_trace_id();
        let sampled = sampling::keep(trace_id);
        let id = if sampled {
            self.buffer().count_started();
            self.new_span_id()
        } else {
            self.buffer().count_sampled_out();
            Self::unsampled_id(trace_id)
        };
        self.stack.reserve(1);
        let depth = self.stack.len();
        let slot = &mut self.stack.spare_capacity_mut()[0];
        if sampled {
            let record = Record::open(trace_id, id, None, 0, None, descriptor);
            slot.write(Frame::observing(record));
        } else {
            slot.write(Frame::unsampled(trace_id, id));
        }
        // SAFETY: the slot at `depth` is within capacity and was just initialized.
        unsafe { self.stack.set_len(depth + 1) };
        FrameSlot::new(depth, sampled)
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

    /// The depth of the topmost frame a `tracing` span's enter pushed for the observation
    /// `id` (the observation's own frame, or a stand-in for it), and whether it is the
    /// observation's own: what the span's exit takes back. Other frames for the same
    /// observation (a context entered inside the span) are passed over.
    #[cfg(feature = "tracing-bridge")]
    #[inline]
    pub(crate) fn find_entered(&self, id: ObservationId) -> Option<(usize, bool)> {
        let depth = self.stack.iter().rposition(|f| {
            f.record.id == id
                && (f.kind == Kind::Observation || f.record.flags & flags::STAND_IN != 0)
        })?;
        Some((depth, self.stack[depth].kind == Kind::Observation))
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
    pub(crate) fn current_observation(&mut self) -> Option<&mut Record> {
        for frame in self.stack.iter_mut().rev() {
            match frame.kind {
                Kind::Observation => return Some(&mut frame.record),
                Kind::Parent => return None,
                Kind::Scope => {}
            }
        }
        None
    }

    /// Whether observations started here would be recorded (the current trace, if any, is
    /// sampled in).
    pub(crate) fn recording_here(&self) -> bool {
        self.stack
            .last()
            .and_then(Frame::key)
            .is_none_or(|k| k.sampled)
    }

    /// The attributes observations started here would carry.
    pub(crate) fn current_trace_attributes(&self) -> Option<Arc<TraceAttributes>> {
        self.stack.last().and_then(|f| f.record.trace.clone())
    }

    /// The parent observations started here would have.
    pub(crate) fn current_parent(&self) -> Option<ParentContext> {
        self.stack.last().and_then(Frame::as_parent)
    }

    /// Applies `update` to the current trace: to every frame of that trace on this thread's
    /// stack (the current observation, its ancestors here, the scopes between them), so that
    /// they and every observation started after carry it.
    pub(crate) fn update_trace(&mut self, update: &TraceAttributes) -> bool {
        let Some(trace_id) = self
            .stack
            .iter()
            .rev()
            .find_map(|f| f.key().map(|k| k.trace_id))
        else {
            return false;
        };
        for frame in &mut self.stack {
            if frame.key().map(|k| k.trace_id) != Some(trace_id) {
                continue;
            }
            let record = &mut frame.record;
            if let Some(own) = record.data.as_mut().and_then(|d| d.own_trace.as_mut()) {
                *own = Arc::new(own.merged_with(update));
            }
            let merged = match &record.trace {
                Some(existing) => existing.merged_with(update),
                None => update.clone(),
            };
            record.trace = Some(Arc::new(merged));
        }
        true
    }

    /// Ends the frame pushed at `depth`: an observation's record moves from the stack straight
    /// into the thread's ring; other frames are dropped in place.
    #[inline]
    pub(crate) fn end_frame(&mut self, depth: usize) {
        if depth + 1 != self.stack.len() {
            if let Some(observation) = self.pop_slow(depth).and_then(Frame::into_observation) {
                self.end(observation);
            }
            return;
        }
        let Some(frame) = self.stack.last_mut() else {
            return;
        };
        #[cfg(feature = "testing")]
        if frame.kind == Kind::Observation && frame.record.is_routed() {
            if let Some(observation) = self.stack.pop().and_then(Frame::into_observation) {
                self.end(observation);
            }
            return;
        }
        if frame.kind != Kind::Observation || !crate::lifecycle::ends_accepted() {
            if frame.kind == Kind::Observation {
                collector::count_dropped_after_shutdown(1);
            }
            // Dropped in place: nothing of it leaves the stack. Its two fields that own memory
            // are dropped here, inline (a sampled-out trace's frame holds neither).
            drop(frame.record.data.take());
            drop(frame.record.trace.take());
            // SAFETY: `depth` is below the length; the frame past it is not dropped again,
            // and what it still holds (ids, times, flags, a `&'static` descriptor) owns
            // nothing, so forgetting it leaks nothing.
            unsafe { self.stack.set_len(depth) };
            return;
        }
        frame.record.close(clock::now());
        let buffer = self.buffer.get_or_insert_with(collector::register_thread);
        // The record moves from its stack slot straight into the ring's slot.
        // SAFETY: the frame at `depth` (the last) is initialized; shortening the stack first
        // hands its ownership to us, and its record is moved out exactly once, below. The
        // other fields of a frame are plain data with nothing to drop.
        unsafe {
            self.stack.set_len(depth);
            let frame = self.stack.as_ptr().add(depth);
            buffer.push_from(&raw const (*frame).record);
        }
    }

    /// Hands a closed record to the exporter through this thread's ring.
    #[inline]
    fn hand_off(&mut self, record: Record) {
        #[cfg(feature = "testing")]
        if record.is_routed() {
            return super::tap::deliver(record);
        }
        if crate::lifecycle::ends_accepted() {
            self.buffer().push(record);
        } else {
            collector::count_dropped_after_shutdown(1);
        }
    }

    /// Hands an observation that ended here to the exporter.
    #[inline]
    pub(crate) fn end(&mut self, mut record: Record) {
        record.close(clock::now());
        self.hand_off(record);
    }

    /// Moves the frame out of `slot` onto the stack and returns its depth. One copy of the
    /// frame: moving it through `Option::take` and `Vec::push` costs several, on every poll.
    #[inline]
    pub(crate) fn install(&mut self, slot: &mut Option<Frame>) -> usize {
        self.stack.reserve(1);
        let depth = self.stack.len();
        if let Some(frame) = slot.as_mut() {
            // SAFETY: the frame is moved bitwise into the spare slot at `depth` (within
            // capacity), and `slot` is overwritten with `None` without dropping it, so the
            // frame has exactly one owner again: the stack.
            unsafe {
                std::ptr::copy_nonoverlapping(frame, self.stack.as_mut_ptr().add(depth), 1);
                std::ptr::write(slot, None);
                self.stack.set_len(depth + 1);
            }
        }
        depth
    }

    /// Moves the frame at `depth` back into `slot` (which is empty), if it is still there:
    /// the inverse of [`Local::install`].
    #[inline]
    pub(crate) fn uninstall(&mut self, depth: usize, slot: &mut Option<Frame>) {
        if depth + 1 != self.stack.len() {
            *slot = self.pop_slow(depth);
            return;
        }
        // SAFETY: the frame at `depth` is the last and initialized; shortening the stack
        // hands it over, and it is moved bitwise into `slot`, which holds `None` (nothing to
        // drop), so it has exactly one owner again.
        unsafe {
            self.stack.set_len(depth);
            let frame = self.stack.as_ptr().add(depth);
            std::ptr::write(slot, Some(std::ptr::read(frame)));
        }
    }
}

/// Makes the frame in `slot` current on this thread while `f` runs (one poll of a future or
/// stream that carries its context), then puts it back into `slot`, also when `f` unwinds; an
/// observation unwound through is marked failed. An empty slot, or unusable thread-locals
/// (thread teardown), just run `f`.
#[inline]
pub(crate) fn with_installed<T>(slot: &mut Option<Frame>, f: impl FnOnce() -> T) -> T {
    if slot.is_none() {
        return f();
    }
    let Some(depth) = with_local(|local| local.install(slot)) else {
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
            if std::thread::panicking() {
                mark_unwound(local, depth);
            }
            local.uninstall(depth, slot);
        });
    }
}
