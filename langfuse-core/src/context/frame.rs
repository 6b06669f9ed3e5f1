//! One entry of a thread's context stack, and what children read from it.

use std::sync::Arc;

use crate::model::{ObservationId, Record, TraceAttributes, TraceId, flags};

/// What a frame stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An observation running on this thread; its record is live.
    Observation,
    /// A parent living elsewhere (another task, another service) or a sampled-out trace.
    Parent,
    /// A `propagate_attributes` scope: observations started inside carry its attributes.
    Scope,
}

/// One entry of a thread's context stack.
#[derive(Debug)]
pub(crate) struct Frame {
    /// For an observation, its record in progress. For other kinds, `trace_id` and `id` name
    /// the parent children attach to, `trace` the attributes they inherit and `flags` whether
    /// they belong to a test recorder (`flags::ROUTED`).
    pub(crate) record: Record,
    pub(crate) kind: Kind,
    /// Whether observations started under this frame are recorded.
    pub(crate) sampled: bool,
    /// The parent is in another process: the first observation under it is marked as this
    /// service's root of the trace (`langfuse.internal.is_app_root` and `as_root`).
    pub(crate) remote: bool,
    /// A scope outside any trace: there is no parent, children start new traces.
    pub(crate) detached: bool,
}

/// What a child needs from its parent: the trace, the parent's id, whether the trace is
/// sampled, whether the parent is remote, and the trace-level attributes to inherit.
#[derive(Debug, Clone)]
pub(crate) struct ParentContext {
    pub(crate) trace_id: TraceId,
    pub(crate) id: ObservationId,
    pub(crate) sampled: bool,
    pub(crate) remote: bool,
    /// The trace belongs to a test recorder (`testing` feature; always `false` without it).
    pub(crate) routed: bool,
    pub(crate) trace: Option<Arc<TraceAttributes>>,
}

/// The copyable part of a parent: all a child needs to decide how to begin.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ParentKey {
    pub(crate) trace_id: TraceId,
    pub(crate) id: ObservationId,
    pub(crate) sampled: bool,
    pub(crate) remote: bool,
    pub(crate) routed: bool,
}

/// Whether `record` belongs to a test recorder; a constant `false` without the `testing`
/// feature, so that the hot path does not even read the flag.
#[inline(always)]
pub(crate) fn routed(record: &Record) -> bool {
    cfg!(feature = "testing") && record.is_routed()
}

/// The flags a carrier record gets for a parent that is `routed`.
#[inline(always)]
fn carrier_flags(routed: bool) -> u8 {
    if routed { flags::ROUTED } else { 0 }
}

impl ParentContext {
    /// A recorded observation as the parent of others.
    pub(crate) fn of(record: &Record) -> Self {
        ParentContext {
            trace_id: record.trace_id,
            id: record.id,
            sampled: true,
            remote: false,
            routed: routed(record),
            trace: record.trace.clone(),
        }
    }

    #[inline]
    pub(crate) fn key(&self) -> ParentKey {
        ParentKey {
            trace_id: self.trace_id,
            id: self.id,
            sampled: self.sampled,
            remote: self.remote,
            routed: self.routed,
        }
    }
}

impl Frame {
    /// A frame standing for `parent`.
    pub(crate) fn parent(parent: ParentContext) -> Self {
        Frame {
            record: Record::carrier(
                parent.trace_id,
                parent.id,
                parent.trace,
                carrier_flags(parent.routed),
            ),
            kind: Kind::Parent,
            sampled: parent.sampled,
            remote: parent.remote,
            detached: false,
        }
    }

    /// A frame standing for `parent` that the `tracing` bridge pushed when a span was
    /// entered while its own frame was elsewhere, or for a span in a sampled-out trace.
    #[cfg(feature = "tracing-bridge")]
    pub(crate) fn stand_in(parent: ParentContext) -> Self {
        let mut frame = Frame::parent(parent);
        frame.record.flags |= flags::STAND_IN;
        frame
    }

    /// A sampled-out trace: tracked so that its children stay out of it, never recorded.
    #[inline]
    pub(crate) fn unsampled(trace_id: TraceId, id: ObservationId) -> Self {
        Frame {
            record: Record::carrier(trace_id, id, None, 0),
            kind: Kind::Parent,
            sampled: false,
            remote: false,
            detached: false,
        }
    }

    /// A frame running `observation`.
    pub(crate) fn observing(observation: Record) -> Self {
        Frame {
            record: observation,
            kind: Kind::Observation,
            sampled: true,
            remote: false,
            detached: false,
        }
    }

    /// A scope frame: attributes for observations started inside, on top of `below`.
    pub(crate) fn scope(below: Option<ParentContext>, trace: Arc<TraceAttributes>) -> Self {
        match below {
            Some(below) => Frame {
                record: Record::carrier(
                    below.trace_id,
                    below.id,
                    Some(trace),
                    carrier_flags(below.routed),
                ),
                kind: Kind::Scope,
                sampled: below.sampled,
                remote: below.remote,
                detached: false,
            },
            None => Frame {
                // Ids are never read for a detached scope: children start new traces.
                record: Record::carrier(
                    TraceId::PLACEHOLDER,
                    ObservationId::PLACEHOLDER,
                    Some(trace),
                    0,
                ),
                kind: Kind::Scope,
                sampled: true,
                remote: false,
                detached: true,
            },
        }
    }

    /// What a child started under this frame attaches to.
    #[inline]
    pub(crate) fn key(&self) -> Option<ParentKey> {
        if self.detached {
            return None;
        }
        Some(ParentKey {
            trace_id: self.record.trace_id,
            id: self.record.id,
            sampled: self.sampled,
            remote: self.remote,
            routed: routed(&self.record),
        })
    }

    /// The parent that observations started here would have.
    pub(crate) fn as_parent(&self) -> Option<ParentContext> {
        let key = self.key()?;
        Some(ParentContext {
            trace_id: key.trace_id,
            id: key.id,
            sampled: key.sampled,
            remote: key.remote,
            routed: key.routed,
            trace: self.record.trace.clone(),
        })
    }

    /// What a spawned task or another thread needs to continue from this frame: the same
    /// frame, with an observation replaced by a reference to it.
    pub(crate) fn snapshot(&self) -> Frame {
        match (self.kind, self.as_parent()) {
            (Kind::Scope, below) => match &self.record.trace {
                Some(trace) => Frame::scope(below, Arc::clone(trace)),
                None => Frame::parent_or_empty(below),
            },
            (_, parent) => Frame::parent_or_empty(parent),
        }
    }

    fn parent_or_empty(parent: Option<ParentContext>) -> Frame {
        match parent {
            Some(parent) => Frame::parent(parent),
            None => Frame::scope(None, Arc::default()),
        }
    }

    /// The recorded observation this frame runs, if it is one.
    #[inline]
    pub(crate) fn observation(&mut self) -> Option<&mut Record> {
        (self.kind == Kind::Observation).then_some(&mut self.record)
    }

    /// The recorded observation this frame runs, by value.
    #[inline]
    pub(crate) fn into_observation(self) -> Option<Record> {
        (self.kind == Kind::Observation).then_some(self.record)
    }
}

/// Where a synchronous observation's frame sits on the stack, and whether it is recorded,
/// in one word: returning a `(usize, bool)` through the thread-local accessor costs a
/// partial-store reload on the hot path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrameSlot(usize);

impl FrameSlot {
    /// No frame was pushed.
    pub(crate) const NONE: Self = Self(usize::MAX);

    #[inline]
    pub(crate) fn new(depth: usize, recorded: bool) -> Self {
        Self((depth << 1) | usize::from(recorded))
    }

    /// The frame's depth, if one was pushed.
    #[inline]
    pub(crate) fn depth(self) -> Option<usize> {
        (self != Self::NONE).then_some(self.0 >> 1)
    }

    /// Whether the frame is a recorded observation.
    #[inline]
    pub(crate) fn recorded(self) -> bool {
        self != Self::NONE && self.0 & 1 == 1
    }
}
