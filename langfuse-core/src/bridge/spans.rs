//! Converted spans while they live: the layer's callbacks, and the table that holds each
//! span's observation between them.
//!
//! The frame stack of `context` stays the one source of truth. A converted span begins its
//! observation as `#[observe]` does (parent, ids, sampling, counters), and the observation's
//! frame waits in the table while the span is not entered. Entering the span moves the frame
//! onto the thread's stack, where it is the current observation (what `#[observe]` functions
//! and the update API find), and exiting moves it back, as the future wrapper does for each
//! poll. A span entered on a second thread while the first has it pushes a parent frame
//! there. Closing the span ends the observation at its last exit.
//!
//! The table is not the registry's span extensions: inserting an extension allocates, and a
//! converted span allocates nothing here beyond the values it records. It is sharded by span
//! id, each shard a small map behind its own lock, so threads working on different spans do
//! not meet.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use tracing::span::{Attributes, Id, Record as Values};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use super::fields::{self, EventMessage, Fields, Inline, Visitor};
use super::select::{self, Descriptors};
use crate::clock::{self, Timestamp};
use crate::context::{self, Frame, Kind, ParentChoice, ParentContext, with_local};
use crate::lifecycle;
use crate::model::{ObservationId, ObservationType, TraceAttributes};

/// A span as the table knows it: the layer instance (several subscribers, each with its own
/// span ids, can live in one process) and the span's id.
type Key = (u64, u64);

/// What the table holds for one converted span.
struct Entry {
    /// The observation's frame (or, in a sampled-out trace, a marker frame) while no thread
    /// has it on its stack.
    frame: Option<Frame>,
    /// What a thread entering the span while another has the frame pushes instead.
    parent: Option<ParentContext>,
    descriptors: &'static Descriptors,
    inline: Inline,
    fields: Option<Box<Fields>>,
    entered: bool,
    last_exit: Timestamp,
}

#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type Shard = Mutex<HashMap<Key, Entry, BuildHasherDefault<IdHasher>>>;

const SHARDS: usize = 64;

static TABLE: LazyLock<Box<[Shard]>> = LazyLock::new(|| {
    (0..SHARDS)
        .map(|_| Mutex::new(HashMap::with_capacity_and_hasher(64, Default::default())))
        .collect()
});

fn shard(key: Key) -> &'static Shard {
    let mixed = (key.1 ^ key.0.rotate_left(32)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    &TABLE[(mixed >> 58) as usize % SHARDS]
}

/// What an enter pushed on this thread, so that the exit takes it back.
#[derive(Clone, Copy)]
enum Pushed {
    /// The span's own frame, of this kind.
    Own(ObservationId, Kind),
    /// A parent frame standing for the span's observation running on another thread.
    Parent(ObservationId),
    Nothing,
}

thread_local! {
    /// The converted spans entered on this thread, innermost last.
    static ENTERED: RefCell<Vec<(Key, Pushed)>> = RefCell::new(Vec::with_capacity(16));
}

static INSTANCES: AtomicU64 = AtomicU64::new(1);

/// The layer itself (wrapped in its per-layer filter by [`super::Layer`]).
pub(super) struct Bridge {
    instance: u64,
    pub(super) other_fields: bool,
    #[cfg(feature = "opentelemetry")]
    pub(super) otel: super::otel::Correlation,
}

impl Bridge {
    pub(super) fn new() -> Self {
        Self {
            instance: INSTANCES.fetch_add(1, Ordering::Relaxed),
            other_fields: false,
            #[cfg(feature = "opentelemetry")]
            otel: Default::default(),
        }
    }

    fn key(&self, id: &Id) -> Key {
        (self.instance, id.into_u64())
    }

    /// The parent a span's explicit parent gives, if that parent is converted.
    fn explicit_parent(&self, parent: &Id) -> Option<Option<ParentContext>> {
        let key = self.key(parent);
        let shard = shard(key).lock();
        let entry = shard.get(&key)?;
        Some(entry.parent.clone())
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

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if !lifecycle::starts_allowed() {
            return;
        }
        let descriptors = select::descriptors(attrs.metadata());
        let mut inline = Inline::default();
        let mut fields = None;
        attrs.record(&mut Visitor {
            inline: &mut inline,
            fields: &mut fields,
            other_fields: self.other_fields,
        });
        // The explicit parent if it is converted; else the current observation of this
        // thread (never tracing's current span: its parents may be filtered out).
        let explicit = attrs.parent().and_then(|p| self.explicit_parent(p));
        #[cfg(feature = "opentelemetry")]
        let explicit = explicit.or_else(|| self.otel.parent_of_root(attrs, &ctx));
        #[cfg(not(feature = "opentelemetry"))]
        let _ = &ctx;
        let choice = match &explicit {
            Some(parent) => ParentChoice::Given(parent.as_ref()),
            None => ParentChoice::Current,
        };
        let descriptor = descriptors.of(inline.kind().unwrap_or_default());
        let mut frame = with_local(|l| match l.begin(descriptor, choice) {
            Some(frame) => Some(frame),
            // Under a sampled-out parent: a marker, so that what runs inside the span stays
            // out of the trace on any thread.
            None => match choice {
                ParentChoice::Given(parent) => parent.cloned(),
                ParentChoice::Current => l.current_parent(),
            }
            .filter(|p| !p.sampled)
            .map(Frame::parent),
        })
        .flatten();
        if let Some(trace) = fields.as_mut().and_then(|f| f.trace.take())
            && let Some(record) = frame.as_mut().and_then(Frame::observation)
        {
            apply_trace(record, &trace);
            // As `update_current_trace` from inside the span: the ancestors on this thread
            // carry them too.
            let trace_id = record.trace_id;
            with_local(|l| {
                if l.current_parent().is_some_and(|p| p.trace_id == trace_id) {
                    l.update_trace(&trace);
                }
            });
        }
        let parent = frame.as_ref().and_then(Frame::as_parent);
        let entry = Entry {
            frame,
            parent,
            descriptors,
            inline,
            fields,
            entered: false,
            last_exit: Timestamp::ZERO,
        };
        let key = self.key(id);
        shard(key).lock().insert(key, entry);
    }

    fn on_record(&self, id: &Id, values: &Values<'_>, _ctx: Context<'_, S>) {
        let key = self.key(id);
        let mut shard = shard(key).lock();
        let Some(entry) = shard.get_mut(&key) else {
            return;
        };
        values.record(&mut Visitor {
            inline: &mut entry.inline,
            fields: &mut entry.fields,
            other_fields: self.other_fields,
        });
        let Some(trace) = entry.fields.as_mut().and_then(|f| f.trace.take()) else {
            return;
        };
        match entry.frame.as_mut() {
            Some(frame) => {
                if let Some(record) = frame.observation() {
                    apply_trace(record, &trace);
                }
            }
            None => {
                drop(shard);
                // Entered here (or on another thread, where this cannot reach): the frames
                // of its trace on this thread's stack take them, as with
                // `update_current_trace`.
                with_local(|l| l.update_trace(&trace));
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if *event.metadata().level() != tracing::Level::ERROR {
            return;
        }
        let Some(span) = ctx.event_span(event) else {
            return;
        };
        let key = self.key(&span.id());
        let mut shard = shard(key).lock();
        let Some(entry) = shard.get_mut(&key) else {
            return;
        };
        let fields = entry.fields.get_or_insert_with(Default::default);
        if fields.event_error.is_none() {
            let mut message = EventMessage::default();
            event.record(&mut message);
            fields.event_error = Some(message.into_text());
        }
    }

    fn on_enter(&self, id: &Id, _ctx: Context<'_, S>) {
        let key = self.key(id);
        let (frame, own) = {
            let mut shard = shard(key).lock();
            let Some(entry) = shard.get_mut(&key) else {
                return;
            };
            entry.entered = true;
            match entry.frame.take() {
                Some(frame) => (Some(frame), true),
                // Another thread has it: a parent frame standing for it.
                None => (entry.parent.clone().map(Frame::parent), false),
            }
        };
        let pushed = match frame {
            Some(frame) => {
                let (observation, kind) = (frame.record.id, frame.kind);
                let mut slot = Some(frame);
                let pushed = with_local(|l| slot.take().map(|frame| l.push(frame)));
                match (pushed, slot) {
                    (Some(_), _) if own => Pushed::Own(observation, kind),
                    (Some(_), _) => Pushed::Parent(observation),
                    // Thread-locals unusable (teardown): the frame stays in the table.
                    (None, frame) => {
                        if own && let Some(entry) = shard(key).lock().get_mut(&key) {
                            entry.frame = frame;
                        }
                        Pushed::Nothing
                    }
                }
            }
            None => Pushed::Nothing,
        };
        let _ = ENTERED.try_with(|entered| entered.borrow_mut().push((key, pushed)));
    }

    fn on_exit(&self, id: &Id, _ctx: Context<'_, S>) {
        let key = self.key(id);
        let pushed = ENTERED
            .try_with(|entered| {
                let mut entered = entered.borrow_mut();
                let at = entered.iter().rposition(|(k, _)| *k == key)?;
                Some(entered.remove(at).1)
            })
            .ok()
            .flatten();
        let now = clock::now();
        let returned = match pushed {
            Some(Pushed::Own(observation, kind)) => with_local(|l| {
                let depth = l.find(observation, kind)?;
                l.pop(depth)
            })
            .flatten(),
            Some(Pushed::Parent(observation)) => {
                with_local(|l| {
                    if let Some(depth) = l.find(observation, Kind::Parent) {
                        l.pop(depth);
                    }
                });
                None
            }
            Some(Pushed::Nothing) | None => None,
        };
        let mut shard = shard(key).lock();
        if let Some(entry) = shard.get_mut(&key) {
            entry.last_exit = now;
            if returned.is_some() {
                entry.frame = returned;
            }
        }
    }

    fn on_close(&self, id: Id, _ctx: Context<'_, S>) {
        let key = self.key(&id);
        let Some(entry) = shard(key).lock().remove(&key) else {
            return;
        };
        let Some(mut record) = entry.frame.and_then(Frame::into_observation) else {
            return;
        };
        let kind = entry
            .inline
            .kind()
            .or_else(|| {
                // As the server does: a span that names a model is a generation.
                let named = record.descriptor.kind() == ObservationType::Span;
                (named && entry.fields.as_ref().is_some_and(|f| f.names_a_model()))
                    .then_some(ObservationType::Generation)
            })
            .unwrap_or_else(|| record.descriptor.kind());
        record.descriptor = entry.descriptors.of(kind);
        fields::finish(&mut record, kind, entry.fields);
        // The end is the last exit: a handle or a clone dropped later does not stretch it.
        let end = if entry.entered {
            entry.last_exit
        } else {
            clock::now()
        };
        record.close(end);
        context::hand_off(record);
    }
}

/// Trace attributes recorded on a span: on its observation and, through its attributes, on
/// every observation started under it after.
fn apply_trace(record: &mut crate::model::Record, trace: &TraceAttributes) {
    let merged = match &record.trace {
        Some(existing) => existing.merged_with(trace),
        None => trace.clone(),
    };
    record.trace = Some(std::sync::Arc::new(merged));
}
