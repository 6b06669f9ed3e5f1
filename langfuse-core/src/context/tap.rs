//! Taps: where the traces started under a test recorder go instead of the exporter (the
//! `testing` feature; see `langfuse::testing`).
//!
//! A recorder opens a [`Tap`] and installs it on the threads that run its code (for the
//! duration of a closure, or of each poll of a future). A trace that starts where a tap is
//! installed is *routed*: every observation of it carries `flags::ROUTED` and a [`Route`] to
//! the tap in its trace attributes, both inherited like the trace id, so that it reaches the
//! tap from any thread or task the context travels to. A routed record skips sampling, the
//! counters and the exporter; when it ends it moves into its tap. Two recorders continuing
//! the same remote trace at once each get their own observations.
//!
//! The tap also registers the ids of its traces, for what only names a trace by its id: a
//! score given with an explicit trace id.
//!
//! Nothing here runs without the `testing` feature, and with it only routed observations
//! (and the start of any observation while a recorder is open) pay for a lookup.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Weak};

use parking_lot::Mutex;

use super::local::with_local;
use crate::lifecycle;
use crate::model::{Record, Route, TraceAttributes, TraceId};

/// What one recorder receives.
#[derive(Debug, Default)]
pub(crate) struct Tap {
    records: Mutex<Vec<Record>>,
    /// `CreateScoreRequest` bodies of the scores given for routed traces, as the exporter
    /// would send them (without the configured default environment, which the recorder adds).
    scores: Mutex<Vec<Vec<u8>>>,
    /// The traces routed here, to unregister when the tap closes.
    traces: Mutex<Vec<TraceId>>,
}

/// Routed traces and their taps.
static ROUTES: LazyLock<Mutex<HashMap<TraceId, Weak<Tap>>>> = LazyLock::new(Default::default);

impl Tap {
    /// Opens a tap: while it lives, observations may start even when the SDK does not record.
    pub(crate) fn open() -> Arc<Tap> {
        // As `init()` does: a panic's message reaches the status of what it unwinds through.
        crate::panics::install_hook();
        lifecycle::recorder_opened();
        Arc::new(Tap::default())
    }

    /// Routes the trace `trace_id` here: returns the attributes it starts with, `inherited`
    /// (an enclosing scope's) and the route to this tap.
    pub(crate) fn route(
        self: &Arc<Self>,
        trace_id: TraceId,
        inherited: Option<&TraceAttributes>,
    ) -> Arc<TraceAttributes> {
        self.traces.lock().push(trace_id);
        {
            // By id, the first open tap wins: only scores given by trace id look here.
            let mut routes = ROUTES.lock();
            if routes.get(&trace_id).is_none_or(|t| t.strong_count() == 0) {
                routes.insert(trace_id, Arc::downgrade(self));
            }
        }
        let mut attributes = inherited.cloned().unwrap_or_default();
        let weak: Weak<dyn std::any::Any + Send + Sync> = Arc::downgrade(self) as _;
        attributes.route = Some(Route(weak));
        Arc::new(attributes)
    }

    /// The records received so far, in the order they ended.
    pub(crate) fn records(&self) -> Vec<Record> {
        self.records.lock().clone()
    }

    /// The score bodies received so far.
    pub(crate) fn scores(&self) -> Vec<Vec<u8>> {
        self.scores.lock().clone()
    }

    /// The traces routed here so far, in the order they started.
    pub(crate) fn traces(&self) -> Vec<TraceId> {
        self.traces.lock().clone()
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        let mut routes = ROUTES.lock();
        for trace_id in self.traces.get_mut().drain(..) {
            if routes.get(&trace_id).is_some_and(|t| t.strong_count() == 0) {
                routes.remove(&trace_id);
            }
        }
        lifecycle::recorder_closed();
    }
}

/// The open tap a trace with these attributes is routed to.
pub(crate) fn tap_of(attributes: Option<&TraceAttributes>) -> Option<Arc<Tap>> {
    let route = attributes?.route.as_ref()?;
    route.0.upgrade()?.downcast::<Tap>().ok()
}

/// The open tap of the trace `trace_id`, by id.
fn tap_by_id(trace_id: TraceId) -> Option<Arc<Tap>> {
    ROUTES.lock().get(&trace_id).and_then(Weak::upgrade)
}

/// Moves a finished routed record into its tap; dropped if the tap has closed.
#[cold]
pub(crate) fn deliver(record: Record) {
    if let Some(tap) = tap_of(record.trace.as_deref()) {
        tap.records.lock().push(record);
    }
}

/// Gives a score body to the tap of its trace: the tap of the current context's attributes
/// when the score is about the current trace, else the tap registered for `trace_id`.
/// Returns `false` when the trace is not routed.
pub(crate) fn deliver_score(
    trace_id: TraceId,
    current: Option<&TraceAttributes>,
    body: impl FnOnce() -> Option<Vec<u8>>,
) -> bool {
    let Some(tap) = tap_of(current).or_else(|| tap_by_id(trace_id)) else {
        return false;
    };
    if let Some(body) = body() {
        tap.scores.lock().push(body);
    }
    true
}

/// Gives the body of a score about no trace (a session, a dataset run) to the tap installed
/// on this thread, if any: a recorder keeps the scores its own code gives. Returns `false`
/// when no tap is installed.
pub(crate) fn deliver_untraced_score(body: impl FnOnce() -> Option<Vec<u8>>) -> bool {
    let Some(tap) = with_local(|local| local.tap.clone()).flatten() else {
        return false;
    };
    if let Some(body) = body() {
        tap.scores.lock().push(body);
    }
    true
}

/// Runs `f` with `tap` installed on this thread: traces started inside are routed to it.
/// Taps nest: the previous one is back when `f` returns or unwinds.
pub(crate) fn with_tap<T>(tap: &Arc<Tap>, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<Arc<Tap>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            with_local(|local| local.tap = previous);
        }
    }
    let previous = with_local(|local| local.tap.replace(Arc::clone(tap))).flatten();
    let _restore = Restore(previous);
    f()
}
