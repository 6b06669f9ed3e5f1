//! The record an observation fills while it runs and leaves, finished, for the exporter.

use std::cell::RefCell;
use std::sync::Arc;
use std::thread::LocalKey;

use crate::capture::pool::{Recycler, Spares};
use crate::capture::{self, CaptureSetting, Payload};
use crate::clock::{self, Timestamp};
use crate::model::{Descriptor, Level, ObservationId, ObservationType, TraceAttributes, TraceId};

/// Generation-only fields (model, usage, cost, prompt link).
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct GenerationData {
    pub(crate) model: Option<String>,
    pub(crate) model_parameters: Option<Payload>,
    pub(crate) usage_details: Option<Payload>,
    pub(crate) cost_details: Option<Payload>,
    pub(crate) completion_start_time: Option<Timestamp>,
    pub(crate) prompt_name: Option<String>,
    pub(crate) prompt_version: Option<i64>,
}

/// Everything an observation may carry beyond ids, times and level. Boxed and allocated only
/// when something is captured or updated, so a plain observation allocates nothing.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct ObservationData {
    /// Overrides the descriptor's static name.
    pub(crate) name: Option<String>,
    pub(crate) input: Option<Payload>,
    pub(crate) output: Option<Payload>,
    pub(crate) metadata: Option<Payload>,
    pub(crate) status_message: Option<String>,
    pub(crate) version: Option<String>,
    pub(crate) generation: Option<Box<GenerationData>>,
    /// Trace attributes for this observation only, from a `propagate_attributes` scope opened
    /// inside it: its children outside the scope must not inherit them.
    pub(crate) own_trace: Option<Arc<TraceAttributes>>,
}

impl ObservationData {
    /// Bytes of captured text, for the queue's byte bound.
    pub(crate) fn captured_bytes(&self) -> usize {
        let payloads = [&self.input, &self.output, &self.metadata];
        payloads
            .iter()
            .filter_map(|p| p.as_ref())
            .map(|p| p.len())
            .sum::<usize>()
            + self.status_message.as_ref().map_or(0, String::len)
    }
}

thread_local! {
    #[allow(clippy::vec_box, reason = "the boxes are what is recycled: a record holds a box")]
    static SPARE_DATA: RefCell<Vec<Box<ObservationData>>> = const { RefCell::new(Vec::new()) };
}

/// Boxes of extended data the exporter is done with, for the next observations that capture
/// (so that capturing allocates nothing in steady state).
static DATA: Recycler<SpareData> = Recycler::new();

/// The pool of boxes of extended data.
struct SpareData;

impl Spares for SpareData {
    type Item = Box<ObservationData>;

    #[inline(always)]
    fn local() -> &'static LocalKey<RefCell<Vec<Box<ObservationData>>>> {
        &SPARE_DATA
    }

    fn weight(_: &Box<ObservationData>) -> usize {
        size_of::<ObservationData>()
    }
}

/// The descriptor of frames that are not observations (their record is only a carrier of ids
/// and attributes, never exported).
static CARRIER: Descriptor = Descriptor::new(
    "",
    ObservationType::Span,
    CaptureSetting::Off,
    CaptureSetting::Off,
);

/// Bit flags of a [`Record`].
pub(crate) mod flags {
    /// The observation joined a remote parent: Langfuse treats it as the trace root
    /// (`langfuse.internal.is_app_root`, and `as_root` for v3 servers).
    pub(crate) const AS_ROOT: u8 = 1;
    /// The trace was started under a test recorder (`testing` feature): the record goes to
    /// that recorder instead of the exporter.
    pub(crate) const ROUTED: u8 = 2;
    /// A carrier the `tracing` bridge pushed for a span entered while its own frame was
    /// elsewhere (on another thread, or lower on this one): what the span's exit pops. Never
    /// set on an observation's record.
    #[cfg(feature = "tracing-bridge")]
    pub(crate) const STAND_IN: u8 = 4;
}

/// A finished observation, as handed from the hot path to the exporter thread.
///
/// Fixed size and cheap to move: everything optional sits behind one `Option<Box<_>>` and one
/// `Option<Arc<_>>`, both `None` for a plain observation.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub(crate) trace_id: TraceId,
    pub(crate) id: ObservationId,
    pub(crate) parent_id: Option<ObservationId>,
    pub(crate) start: Timestamp,
    pub(crate) end: Timestamp,
    pub(crate) descriptor: &'static Descriptor,
    pub(crate) level: Level,
    pub(crate) flags: u8,
    pub(crate) data: Option<Box<ObservationData>>,
    pub(crate) trace: Option<Arc<TraceAttributes>>,
}

impl Record {
    /// The name shown in Langfuse: an update's name if any, else the static one.
    pub(crate) fn name(&self) -> &str {
        self.data
            .as_ref()
            .and_then(|d| d.name.as_deref())
            .unwrap_or(self.descriptor.name)
    }

    /// Bytes of captured text this record holds, for the queue's byte bound.
    pub(crate) fn captured_bytes(&self) -> usize {
        self.data.as_ref().map_or(0, |d| d.captured_bytes())
    }

    /// The status message, if any.
    pub(crate) fn status_message(&self) -> Option<&str> {
        self.data.as_ref().and_then(|d| d.status_message.as_deref())
    }

    /// Whether Langfuse should treat this observation as its trace's root.
    pub(crate) fn is_as_root(&self) -> bool {
        self.flags & flags::AS_ROOT != 0
    }

    /// Whether the record belongs to a test recorder rather than the exporter.
    #[inline]
    pub(crate) fn is_routed(&self) -> bool {
        self.flags & flags::ROUTED != 0
    }

    /// A record that carries a parent's ids and attributes inside a non-observation frame.
    #[inline]
    pub(crate) fn carrier(
        trace_id: TraceId,
        id: ObservationId,
        trace: Option<Arc<TraceAttributes>>,
        flags: u8,
    ) -> Self {
        let now = Timestamp::ZERO;
        Record {
            trace_id,
            id,
            parent_id: None,
            start: now,
            end: now,
            descriptor: &CARRIER,
            level: Level::Default,
            flags,
            data: None,
            trace,
        }
    }

    /// A record starting now.
    #[inline]
    pub(crate) fn open(
        trace_id: TraceId,
        id: ObservationId,
        parent_id: Option<ObservationId>,
        flags: u8,
        trace: Option<Arc<TraceAttributes>>,
        descriptor: &'static Descriptor,
    ) -> Self {
        let start = clock::now();
        Record {
            trace_id,
            id,
            parent_id,
            start,
            end: start,
            descriptor,
            level: Level::Default,
            flags,
            data: None,
            trace,
        }
    }

    /// The extra data, allocated (or taken from the recycled ones) on first use.
    #[inline]
    pub(crate) fn data_mut(&mut self) -> &mut ObservationData {
        self.data
            .get_or_insert_with(|| DATA.take().unwrap_or_default())
    }

    /// Gives the extended data and its captured text back for reuse: for the exporter, once
    /// it is done with the record.
    #[inline]
    pub(crate) fn recycle(&mut self) {
        let Some(mut data) = self.data.take() else {
            return;
        };
        for payload in [data.input.take(), data.output.take(), data.metadata.take()]
            .into_iter()
            .flatten()
        {
            capture::recycle(payload);
        }
        *data = ObservationData::default();
        DATA.give(data);
    }

    /// Gives back the spare capacity of its captured payloads (see [`Payload::shrink`]): for a
    /// record that will wait in a backlog, where a few hundred bytes of spare capacity per
    /// record add up over a queue of 200,000.
    pub(crate) fn compact(&mut self) {
        if let Some(data) = &mut self.data {
            for payload in [&mut data.input, &mut data.output, &mut data.metadata]
                .into_iter()
                .flatten()
            {
                payload.shrink();
            }
        }
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

    /// Closes the record at `end`: the attributes propagated to it alone become its own.
    #[inline]
    pub(crate) fn close(&mut self, end: Timestamp) {
        self.end = end;
        if let Some(own) = self.data.as_mut().and_then(|d| d.own_trace.take()) {
            self.trace = Some(own);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_stays_small() {
        // The ring buffers hold records by value: keep them within two cache lines.
        assert!(
            std::mem::size_of::<Record>() <= 80,
            "{}",
            std::mem::size_of::<Record>()
        );
    }
}
