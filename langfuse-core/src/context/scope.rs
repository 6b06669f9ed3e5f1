//! Trace attributes propagated to a scope: every observation started inside carries them.
//!
//! A scope is a frame of its own on the context stack, so it nests, travels into spawned
//! work like any other frame, and ends exactly when its guard drops.

use std::marker::PhantomData;
use std::sync::Arc;

use super::frame::Frame;
use super::local::with_local;
use crate::model::TraceAttributes;

/// Propagates trace attributes (user, session, tags, metadata, trace name, version...) to the
/// current observation and to every observation started while the returned guard lives.
/// Nested scopes merge: tags add up, metadata keys merge, inner values win.
///
/// For async code, use
/// [`ObservationExt::with_trace_attributes`](crate::ObservationExt::with_trace_attributes):
/// the guard must not be held across `.await`.
///
/// ```
/// let _scope = langfuse_core::propagate_attributes(|attributes| {
///     attributes
///         .user_id("user-42")
///         .session_id("chat-7")
///         .tags(["beta"])
///         .metadata(&serde_json::json!({ "tenant": "acme" }));
/// });
/// // every observation started here carries user-42, chat-7, the tag and the metadata
/// ```
pub fn propagate_attributes(attributes: impl FnOnce(&mut TraceAttributes)) -> AttributesScope {
    let depth = scope_frame(attributes).and_then(|scope| with_local(|local| local.push(scope)));
    AttributesScope {
        depth,
        _not_send: PhantomData,
    }
}

/// Builds the frame of an attribute scope at the current point, and puts the attributes on the
/// current observation too. `None` when nothing is recorded here.
pub(crate) fn scope_frame(attributes: impl FnOnce(&mut TraceAttributes)) -> Option<Frame> {
    if !super::recording_here() {
        return None;
    }
    let mut own = TraceAttributes::default();
    attributes(&mut own);
    with_local(|local| {
        let enclosing = local.current_trace_attributes();
        let merged = match &enclosing {
            Some(enclosing) => enclosing.merged_with(&own),
            None => own.clone(),
        };
        if let Some(current) = local.current_observation() {
            current.propagate(&own);
        }
        Frame::scope(local.current_parent(), Arc::new(merged))
    })
}

/// Keeps propagated attributes in force until dropped; see [`propagate_attributes`].
#[must_use = "the attributes propagate only until this guard drops"]
#[derive(Debug)]
pub struct AttributesScope {
    depth: Option<usize>,
    _not_send: PhantomData<*const ()>,
}

impl Drop for AttributesScope {
    fn drop(&mut self) {
        if let Some(depth) = self.depth {
            with_local(|local| local.pop(depth));
        }
    }
}
