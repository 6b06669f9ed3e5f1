//! The current observation of each thread.
//!
//! Each thread keeps a stack of [`Frame`]s. A synchronous observation pushes its frame when it
//! starts and pops it when it ends. An asynchronous one keeps its frame inside its future and
//! pushes it only for the duration of each poll, so no guard is ever held across `.await` and
//! a task that moves between worker threads takes its context with it.
//!
//! A frame holds either an observation this thread is running (its [`Record`] in progress,
//! which `update_current_*` write into and which is handed to the exporter when it ends) or a
//! parent that lives elsewhere: the task that spawned this one, a remote service, a trace that
//! was sampled out, or an attribute scope. Every kind shares one layout, so that what children
//! need (trace id, parent id, sampled, attributes) is read without matching on the kind, and
//! ending an observation moves its record straight into the thread's ring.

mod frame;
mod local;
mod panic;
mod scope;
mod spawn;
#[cfg(feature = "testing")]
pub(crate) mod tap;
mod traceparent;

pub(crate) use frame::{Frame, FrameSlot, Kind, ParentContext};
pub(crate) use local::{ParentChoice, with_installed, with_local};
pub(crate) use panic::fail_from_panic;
pub use scope::{AttributesScope, propagate_attributes};
pub use spawn::{
    EnteredContext, ObservationContext, ObservationExt, WithContext, current_context, spawn,
};
pub use traceparent::{
    IntoParent, TRACEPARENT_HEADER, Traceparent, TraceparentError, continue_trace,
    current_traceparent,
};

use crate::clock;
use crate::collector;
use crate::lifecycle;
use crate::model::{ObservationId, Record, TraceId};

/// Where a new trace finds an OpenTelemetry parent (feature `opentelemetry`): installed by
/// the `tracing` layer, which knows how to read tracing-opentelemetry's context. Returns the
/// OpenTelemetry trace id and span id current on this thread, if any.
#[cfg(feature = "opentelemetry")]
pub(crate) type RemoteRootHook = fn() -> Option<(TraceId, ObservationId)>;

#[cfg(feature = "opentelemetry")]
static REMOTE_ROOT: std::sync::OnceLock<RemoteRootHook> = std::sync::OnceLock::new();

/// Installs the hook new traces ask for an OpenTelemetry parent (once per process).
#[cfg(feature = "opentelemetry")]
pub(crate) fn set_remote_root_hook(hook: RemoteRootHook) {
    let _ = REMOTE_ROOT.set(hook);
}

/// The OpenTelemetry span current on this thread, as the remote parent of a new trace
/// (which then joins the OpenTelemetry trace, as with a `traceparent`), if the hook is
/// installed and finds one.
#[cfg(feature = "opentelemetry")]
#[cold]
pub(crate) fn otel_root_parent(
    trace: impl FnOnce() -> Option<std::sync::Arc<crate::model::TraceAttributes>>,
) -> Option<ParentContext> {
    let (trace_id, id) = REMOTE_ROOT.get()?()?;
    let trace = trace();
    Some(ParentContext {
        trace_id,
        id,
        sampled: crate::sampling::keep(trace_id),
        remote: true,
        routed: false,
        trace,
    })
}

/// The parent observations started here would have, if any.
pub(crate) fn current_parent() -> Option<ParentContext> {
    with_local(|l| l.current_parent()).flatten()
}

/// A copy of the current frame, for a spawned task or another thread.
pub(crate) fn snapshot() -> Option<Frame> {
    with_local(|l| l.top().map(Frame::snapshot)).flatten()
}

/// Hands a closed record to the exporter from anywhere: through this thread's buffer, or the
/// shared queue where thread-locals are unusable (thread teardown). After shutdown it is
/// counted as dropped instead.
// Inlined, so that the record goes from the caller's hands into the ring's slot in one copy.
#[inline]
pub(crate) fn hand_off(record: Record) {
    #[cfg(feature = "testing")]
    if record.is_routed() {
        return tap::deliver(record);
    }
    if !lifecycle::ends_accepted() {
        collector::count_dropped_after_shutdown(1);
        return;
    }
    // Moved straight from here into the ring's slot, as `end_frame` does from the stack.
    let record = std::mem::ManuallyDrop::new(record);
    // SAFETY: `push_from` takes ownership of the record; it runs at most once, and when it
    // does not run (`None`), the record is still ours and goes to the shared queue instead.
    let pushed = with_local(|l| unsafe { l.buffer().push_from(&raw const *record) });
    if pushed.is_none() {
        collector::push_shared(std::mem::ManuallyDrop::into_inner(record));
    }
}

/// Ends an observation that is not on the context stack (its future completed or dropped,
/// its manual handle ended).
pub(crate) fn end_detached(mut record: Record) {
    record.close(clock::now());
    hand_off(record);
}

/// Whether observations started here would be recorded: tracing records and the current
/// context, if any, is sampled in.
pub(crate) fn recording_here() -> bool {
    may_record() && with_local(|l| l.recording_here()).unwrap_or(false)
}

/// Whether anything can be recorded at all: the SDK records, or a test recorder is open.
#[inline]
pub(crate) fn may_record() -> bool {
    #[cfg(feature = "testing")]
    if lifecycle::recorders_open() {
        return true;
    }
    lifecycle::is_enabled()
}

/// The id of the trace the current observation belongs to, if one is running and recorded.
///
/// ```
/// assert!(langfuse_core::current_trace_id().is_none());
/// ```
pub fn current_trace_id() -> Option<TraceId> {
    current_parent().filter(|p| p.sampled).map(|p| p.trace_id)
}

/// The id of the current observation, if one is running and recorded.
///
/// ```
/// assert!(langfuse_core::current_observation_id().is_none());
/// ```
pub fn current_observation_id() -> Option<ObservationId> {
    current_parent().filter(|p| p.sampled).map(|p| p.id)
}
