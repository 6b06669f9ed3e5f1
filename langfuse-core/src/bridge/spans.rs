//! Converted spans while they live: the layer's callbacks, and the table that holds each
//! span's observation between them.
//!
//! The frame stack of `context` stays the one source of truth. A converted span begins its
//! observation as `#[observe]` does (parent, ids, sampling, counters), and the observation's
//! frame waits in the table while the span is not entered. Entering the span moves the frame
//! onto the thread's stack, where it is the current observation (what `#[observe]` functions
//! and the update API find), and exiting moves it back, as the future wrapper does for each
//! poll. A span entered while its frame is elsewhere (on another thread, or lower on this
//! one), or one in a sampled-out trace, pushes a stand-in for it instead: a parent frame
//! marked as the layer's, which its exit pops. Closing the span ends the observation at its
//! last exit.
//!
//! The table is not the registry's span extensions: inserting an extension allocates, and a
//! converted span allocates nothing here beyond the values it records. Each span's entry
//! sits in place in a slot found from its id's hash, behind the slot's own lock, so threads
//! working on different spans do not meet; a span whose slot is taken goes to an overflow
//! map. Each slot also holds the id of its span in an atomic, read first by every callback:
//! the callbacks of a span the layer does not own return after one load, without a lock (the
//! layer sees every span's enter, exit and close; see `super::Layer`).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use parking_lot::{MappedMutexGuard, Mutex, MutexGuard};
use tracing::span::{Attributes, Id, Record as Values};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use super::fields::{self, EventMessage, Fields, Inline, Visitor};
use super::select::{Descriptors, Memo, Selection};
use crate::clock::{self, Timestamp};
use crate::context::{self, Frame, Kind, ParentChoice, ParentContext, with_local};
use crate::lifecycle;
use crate::model::{ObservationType, Record, TraceAttributes};

/// A span as the table knows it: the layer instance (several subscribers, each with its own
/// span ids, can live in one process) and the span's id, with the id's hash: its top bits
/// pick the slot, the next ones the overflow shard, the rest feed the overflow map. Spans of
/// two instances with the same id share a slot; the instance tells them apart under the lock.
#[derive(Clone, Copy)]
struct Key {
    instance: u64,
    id: u64,
    hash: u64,
}

impl Key {
    #[inline(always)]
    fn new(instance: u64, id: u64) -> Self {
        // One multiplication: every callback of every span (converted or not) computes it.
        Key {
            instance,
            id,
            hash: id.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        }
    }

    #[inline(always)]
    fn slot(self) -> &'static Slot {
        &SLOTS[(self.hash >> (64 - SLOT_BITS)) as usize]
    }

    #[inline(always)]
    fn shard(self) -> &'static Mutex<Shard> {
        &SHARDS[(self.hash >> (64 - SLOT_BITS - SHARD_BITS)) as usize % SHARD_COUNT]
    }

    /// Whether the table may hold this span: false, after two loads from one cache line,
    /// for every span the layer does not own (unless one it owns sits in the same slot).
    #[inline(always)]
    fn may_be_live(self) -> bool {
        let slot = self.slot();
        slot.id.load(Ordering::Relaxed) == self.id || slot.overflow.load(Ordering::Relaxed) != 0
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.instance == other.instance && self.id == other.id
    }
}

impl Eq for Key {}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Bits the slot and the shard do not use, at both ends (the map takes its bucket
        // from the low bits and a tag from the top seven).
        state.write_u64(self.hash.rotate_right(20));
    }
}

/// The overflow map's hasher: the key's hash, already mixed.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// What the table holds for one converted span. Only its frame moves on enter and exit, in
/// one copy each way; the rest stays in place from the span's creation to its close.
struct Entry {
    /// The observation's frame while no thread has it on its stack; always `None` for a
    /// span in a sampled-out trace, which only ever pushes stand-ins.
    frame: Option<Frame>,
    /// What a stand-in for the span is made of (the observation as a parent, or the
    /// sampled-out trace), and what a converted child naming the span as its explicit parent
    /// attaches to.
    parent: Option<ParentContext>,
    /// The span's callsite; `None` in a vacant slot.
    descriptors: Option<&'static Descriptors>,
    fields: Option<Box<Fields>>,
    last_exit: Timestamp,
    inline: Inline,
    entered: bool,
}

impl Entry {
    const VACANT: Entry = Entry {
        frame: None,
        parent: None,
        descriptors: None,
        fields: None,
        last_exit: Timestamp::ZERO,
        inline: Inline {
            operation: None,
            explicit: None,
        },
        entered: false,
    };
}

/// What a closing span leaves of its entry, when it has an observation to end: the rest is
/// dropped in place.
struct Closed {
    /// Taken out of the frame in the slot, so that the record is copied once on its way to
    /// the ring.
    record: Record,
    descriptors: &'static Descriptors,
    fields: Option<Box<Fields>>,
    last_exit: Timestamp,
    inline: Inline,
    entered: bool,
}

impl Entry {
    /// Takes what the span's end needs out of the entry and leaves it vacant; `None` when
    /// it was vacant or has no observation (a stand-in span, or one begun after shutdown).
    #[inline]
    fn vacate(&mut self) -> Option<Closed> {
        let descriptors = self.descriptors.take()?;
        self.parent = None;
        let record = self.frame.take().and_then(Frame::into_observation);
        Some(Closed {
            record: record?,
            descriptors,
            fields: self.fields.take(),
            last_exit: self.last_exit,
            inline: self.inline,
            entered: self.entered,
        })
    }
}

/// One slot of the table: a converted span's entry in place, found from its id's hash with
/// no probing. A span whose slot is taken goes to the overflow map instead.
struct Slot {
    /// The id of the span held here, or 0 (no span has that id): read without the lock, as
    /// the first test of every callback; written with it.
    id: AtomicU64,
    /// How many spans of this slot's hash are in the overflow map.
    overflow: AtomicU32,
    held: Mutex<Held>,
}

struct Held {
    instance: u64,
    id: u64,
    entry: Entry,
}

/// Slots of the table: many more than a service has converted spans open at once, so that
/// nearly every span gets its own.
const SLOT_BITS: u32 = 10;

static SLOTS: [Slot; 1 << SLOT_BITS] = [const {
    Slot {
        id: AtomicU64::new(0),
        overflow: AtomicU32::new(0),
        held: Mutex::new(Held {
            instance: 0,
            id: 0,
            entry: Entry::VACANT,
        }),
    }
}; 1 << SLOT_BITS];

/// One shard of the overflow map.
struct Shard {
    live: HashMap<Key, Box<Entry>, BuildHasherDefault<KeyHasher>>,
    /// Boxes of closed spans, for the next ones: an overflowing span allocates none in
    /// steady state. Shards are picked by hash, so each sees as many spans close as start.
    #[expect(
        clippy::vec_box,
        reason = "the boxes themselves are what is kept, to move into `live` again"
    )]
    spare: Vec<Box<Entry>>,
}

/// Boxes a shard keeps for reuse at most (beyond, a closing span frees its own).
const SPARE: usize = 16;

const SHARD_BITS: u32 = 4;
const SHARD_COUNT: usize = 1 << SHARD_BITS;

static SHARDS: [Mutex<Shard>; SHARD_COUNT] = [const {
    Mutex::new(Shard {
        live: HashMap::with_hasher(BuildHasherDefault::new()),
        spare: Vec::new(),
    })
}; SHARD_COUNT];

/// A span's entry, locked.
type Locked = MappedMutexGuard<'static, Entry>;

/// The entry of a span the table holds, locked.
// Into each callback: returned through a call, the guard costs more than the lookup.
#[inline(always)]
fn lookup(key: Key) -> Option<Locked> {
    let slot = key.slot();
    if slot.id.load(Ordering::Relaxed) == key.id {
        let held = slot.held.lock();
        if held.id == key.id && held.instance == key.instance {
            return Some(MutexGuard::map(held, |h| &mut h.entry));
        }
    }
    if slot.overflow.load(Ordering::Relaxed) != 0 {
        let shard = key.shard().lock();
        return MutexGuard::try_map(shard, |s| s.live.get_mut(&key).map(|e| &mut **e)).ok();
    }
    None
}

/// Adds a span: its entry is written in place, in its slot or the overflow map.
#[inline]
fn insert(key: Key, fill: impl FnOnce(&mut Entry)) {
    let slot = key.slot();
    let mut held = slot.held.lock();
    if held.entry.descriptors.is_none() {
        held.instance = key.instance;
        held.id = key.id;
        fill(&mut held.entry);
        slot.id.store(key.id, Ordering::Relaxed);
        return;
    }
    drop(held);
    insert_overflow(key, fill);
}

#[cold]
fn insert_overflow(key: Key, fill: impl FnOnce(&mut Entry)) {
    let mut shard = key.shard().lock();
    let mut entry = shard.spare.pop().unwrap_or_else(|| Box::new(Entry::VACANT));
    fill(&mut entry);
    key.slot().overflow.fetch_add(1, Ordering::Relaxed);
    if let Some(old) = shard.live.insert(key, entry) {
        // An id the subscriber gave twice without closing it: counted once.
        key.slot().overflow.fetch_sub(1, Ordering::Relaxed);
        drop(shard);
        drop(old);
    }
}

/// Removes a span, returning what its end needs.
#[inline]
fn remove(key: Key) -> Option<Closed> {
    let slot = key.slot();
    if slot.id.load(Ordering::Relaxed) == key.id {
        let mut held = slot.held.lock();
        if held.id == key.id && held.instance == key.instance {
            held.id = 0;
            slot.id.store(0, Ordering::Relaxed);
            return held.entry.vacate();
        }
    }
    if slot.overflow.load(Ordering::Relaxed) != 0 {
        return remove_overflow(key);
    }
    None
}

#[cold]
fn remove_overflow(key: Key) -> Option<Closed> {
    let mut shard = key.shard().lock();
    let mut boxed = shard.live.remove(&key)?;
    key.slot().overflow.fetch_sub(1, Ordering::Relaxed);
    let closed = boxed.vacate();
    if shard.spare.len() < SPARE {
        shard.spare.push(boxed);
    }
    closed
}

static INSTANCES: AtomicU64 = AtomicU64::new(1);

/// The layer itself: wrapped in its per-layer filter by [`super::Layer`], which calls the
/// span callbacks below directly.
pub(super) struct Bridge {
    instance: u64,
    /// The same choice as the per-layer filter's.
    pub(super) selection: Selection,
    memo: Memo,
    pub(super) other_fields: bool,
    #[cfg(feature = "opentelemetry")]
    pub(super) otel: super::otel::Correlation,
}

impl Bridge {
    pub(super) fn new() -> Self {
        Self {
            instance: INSTANCES.fetch_add(1, Ordering::Relaxed),
            selection: Selection::default(),
            memo: Memo::default(),
            other_fields: false,
            #[cfg(feature = "opentelemetry")]
            otel: Default::default(),
        }
    }

    #[inline(always)]
    fn key(&self, id: &Id) -> Key {
        Key::new(self.instance, id.into_u64())
    }

    /// The parent a span's explicit parent gives, if that parent is converted.
    fn explicit_parent(&self, parent: &Id) -> Option<Option<ParentContext>> {
        let key = self.key(parent);
        if !key.may_be_live() {
            return None;
        }
        Some(lookup(key)?.parent.clone())
    }

    /// Makes the span's observation current on this thread.
    #[inline(always)]
    pub(super) fn enter(&self, id: &Id) {
        let key = self.key(id);
        if key.may_be_live() {
            Self::enter_owned(key);
        }
    }

    #[inline(never)]
    fn enter_owned(key: Key) {
        let Some(mut entry) = lookup(key) else {
            return;
        };
        entry.entered = true;
        if entry.frame.is_some() {
            // From the table onto the stack, in one copy. With thread-locals unusable
            // (teardown), the frame stays in the table.
            let _ = with_local(|l| l.install(&mut entry.frame));
            return;
        }
        let Some(parent) = entry.parent.clone() else {
            return;
        };
        drop(entry);
        let _ = with_local(|l| l.push(Frame::stand_in(parent)));
    }

    /// Takes what the span's enter pushed off this thread's stack: its own frame back to
    /// the table, a stand-in dropped.
    #[inline(always)]
    pub(super) fn exit(&self, id: &Id) {
        let key = self.key(id);
        if key.may_be_live() {
            Self::exit_owned(key);
        }
    }

    #[inline(never)]
    fn exit_owned(key: Key) {
        let now = clock::now();
        let Some(mut entry) = lookup(key) else {
            return;
        };
        let entry = &mut *entry;
        entry.last_exit = now;
        let Some(observation) = entry.parent.as_ref().map(|p| p.id) else {
            return;
        };
        let slot = &mut entry.frame;
        with_local(|l| match l.find_entered(observation) {
            Some((depth, true)) => l.uninstall(depth, slot),
            Some((depth, false)) => drop(l.pop(depth)),
            None => {}
        });
    }

    /// Records values given after the span's creation.
    #[inline(always)]
    pub(super) fn record(&self, id: &Id, values: &Values<'_>) {
        let key = self.key(id);
        if key.may_be_live() {
            self.record_owned(key, values);
        }
    }

    #[inline(never)]
    fn record_owned(&self, key: Key, values: &Values<'_>) {
        let Some(mut guard) = lookup(key) else {
            return;
        };
        let entry = &mut *guard;
        let Some(descriptors) = entry.descriptors else {
            return;
        };
        values.record(&mut Visitor {
            plan: &descriptors.plan,
            inline: &mut entry.inline,
            fields: &mut entry.fields,
            other_fields: self.other_fields,
        });
        let Some(trace) = entry
            .fields
            .as_mut()
            .filter(|f| f.trace.is_some())
            .and_then(|f| f.trace.take())
        else {
            return;
        };
        match entry.frame.as_mut() {
            Some(frame) => {
                if let Some(record) = frame.observation() {
                    apply_trace(record, &trace);
                }
            }
            None => {
                drop(guard);
                // Entered here (or on another thread, where this cannot reach): the frames
                // of its trace on this thread's stack take them, as with
                // `update_current_trace`.
                with_local(|l| l.update_trace(&trace));
            }
        }
    }

    /// Ends the span's observation, at its last exit.
    #[inline(always)]
    pub(super) fn close(&self, id: Id) {
        let key = self.key(&id);
        if key.may_be_live() {
            Self::close_owned(key);
        }
    }

    #[inline(never)]
    fn close_owned(key: Key) {
        let Some(closed) = remove(key) else {
            return;
        };
        let mut record = closed.record;
        let fields = closed.fields;
        let kind = closed
            .inline
            .kind()
            .or_else(|| {
                // As the server does: a span that names a model is a generation.
                let named = record.descriptor.kind() == ObservationType::Span;
                (named && fields.as_ref().is_some_and(|f| f.names_a_model()))
                    .then_some(ObservationType::Generation)
            })
            .unwrap_or_else(|| record.descriptor.kind());
        record.descriptor = closed.descriptors.of(kind);
        if fields.is_some() {
            fields::finish(&mut record, kind, fields);
        }
        // The end is the last exit: a handle or a clone dropped later does not stretch it.
        let end = if closed.entered {
            closed.last_exit
        } else {
            clock::now()
        };
        record.close(end);
        context::hand_off(record);
    }
}

impl<S> tracing_subscriber::Layer<S> for Bridge
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    #[cfg(feature = "opentelemetry")]
    fn on_register_dispatch(&self, dispatch: &tracing::Dispatch) {
        self.otel.register(dispatch);
    }

    #[inline]
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        // Beside other layers, the filter lets the spans of every callsite through (see
        // `Selection`'s `callsite_enabled`): those the layer does not take stop here.
        if let Some(descriptors) = self.memo.converts(&self.selection, attrs.metadata()) {
            self.convert(attrs, id, descriptors, &ctx);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if *event.metadata().level() != tracing::Level::ERROR {
            return;
        }
        self.mark_error(event, &ctx);
    }
}

impl Bridge {
    /// Begins the observation of a new converted span.
    #[inline(never)]
    fn convert<S>(
        &self,
        attrs: &Attributes<'_>,
        id: &Id,
        descriptors: &'static Descriptors,
        ctx: &Context<'_, S>,
    ) where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        if !lifecycle::starts_allowed() {
            return;
        }
        let mut inline = Inline::default();
        let mut fields = None;
        if descriptors.plan.visits(self.other_fields) {
            attrs.record(&mut Visitor {
                plan: &descriptors.plan,
                inline: &mut inline,
                fields: &mut fields,
                other_fields: self.other_fields,
            });
        }
        // The explicit parent if it is converted; else the current observation of this
        // thread (never tracing's current span: its parents may be filtered out).
        let explicit = attrs.parent().and_then(|p| self.explicit_parent(p));
        #[cfg(feature = "opentelemetry")]
        let explicit = explicit.or_else(|| self.otel.parent_of_root(attrs, ctx));
        #[cfg(not(feature = "opentelemetry"))]
        let _ = ctx;
        let choice = match &explicit {
            Some(parent) => ParentChoice::Given(parent.as_ref()),
            None => ParentChoice::Current,
        };
        let descriptor = descriptors.of(inline.kind().unwrap_or_default());
        insert(self.key(id), |entry| {
            // Begun straight into the table's slot, which holds the frame from here on.
            with_local(|l| {
                entry.frame = l.begin(descriptor, choice);
                if entry.frame.is_none() {
                    // Under a sampled-out parent: its stand-ins keep what runs inside the
                    // span out of the trace, on any thread.
                    entry.parent = match choice {
                        ParentChoice::Given(parent) => parent.cloned(),
                        ParentChoice::Current => l.current_parent(),
                    }
                    .filter(|p| !p.sampled);
                }
            });
            match entry.frame.as_mut() {
                Some(frame) if frame.kind == Kind::Observation => {
                    if let Some(fields) = fields.as_mut().filter(|f| f.trace.is_some()) {
                        start_with_trace(frame, fields);
                    }
                    entry.parent = frame.as_parent();
                }
                // A new trace that sampling dropped: stand-ins only, as above.
                Some(_) => entry.parent = entry.frame.take().and_then(|f| f.as_parent()),
                None => {}
            }
            entry.descriptors = Some(descriptors);
            entry.fields = fields;
            entry.last_exit = Timestamp::ZERO;
            entry.inline = inline;
            entry.entered = false;
        });
    }

    /// An ERROR event inside a converted span: the span's observation fails with its
    /// message, if nothing else set one.
    #[cold]
    fn mark_error<S>(&self, event: &Event<'_>, ctx: &Context<'_, S>)
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let Some(span) = ctx.event_span(event) else {
            return;
        };
        let key = self.key(&span.id());
        if !key.may_be_live() {
            return;
        }
        let Some(mut entry) = lookup(key) else {
            return;
        };
        let fields = entry.fields.get_or_insert_with(Default::default);
        if fields.event_error.is_none() {
            let mut message = EventMessage::default();
            event.record(&mut message);
            fields.event_error = Some(message.into_text());
        }
    }
}

/// Trace attributes recorded at a span's creation: on its observation and, as with
/// `update_current_trace` from inside the span, on its ancestors on this thread.
#[cold]
fn start_with_trace(frame: &mut Frame, fields: &mut Fields) {
    let Some(trace) = fields.trace.take() else {
        return;
    };
    apply_trace(&mut frame.record, &trace);
    let trace_id = frame.record.trace_id;
    with_local(|l| {
        if l.current_parent().is_some_and(|p| p.trace_id == trace_id) {
            l.update_trace(&trace);
        }
    });
}

/// Trace attributes recorded on a span: on its observation and, through its attributes, on
/// every observation started under it after.
fn apply_trace(record: &mut Record, trace: &TraceAttributes) {
    let merged = match &record.trace {
        Some(existing) => existing.merged_with(trace),
        None => trace.clone(),
    };
    record.trace = Some(std::sync::Arc::new(merged));
}
