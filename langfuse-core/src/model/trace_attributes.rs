//! Trace-level attributes (user, session, tags, metadata...) and how updates and nested
//! scopes merge them.
//!
//! Langfuse v4 is observations-first: it expects `user.id`, `session.id`, tags and the trace
//! name on every observation of a trace, so these travel with each observation instead of
//! being sent once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

use crate::capture::{self, Payload, merge_objects, serialize_bounded};

/// Longest value accepted for a propagated string attribute, as in the Python SDK: longer
/// values are dropped (with a warning) because Langfuse indexes these for filtering.
pub(crate) const MAX_PROPAGATED_LEN: usize = 200;

/// Trace-level attributes: name, user, session, tags, metadata, visibility, input and output.
///
/// Filled through [`update_current_trace`](crate::update_current_trace),
/// [`propagate_attributes`](crate::propagate_attributes) or
/// [`ObservationExt::with_trace_attributes`](crate::ObservationExt::with_trace_attributes),
/// and sent on every observation of the trace started in their scope, as Langfuse v4 expects.
///
/// ```
/// let _scope = langfuse_core::propagate_attributes(|attributes| {
///     attributes.user_id("user-42").session_id("chat-7").tags(["beta"]);
/// });
/// ```
#[derive(Debug, Default, Clone, PartialEq)]
pub struct TraceAttributes {
    pub(crate) name: Option<String>,
    pub(crate) user_id: Option<String>,
    pub(crate) session_id: Option<String>,
    pub(crate) version: Option<String>,
    pub(crate) release: Option<String>,
    pub(crate) tags: Vec<String>,
    pub(crate) metadata: Option<Payload>,
    pub(crate) public: Option<bool>,
    pub(crate) input: Option<Payload>,
    pub(crate) output: Option<Payload>,
    /// `langfuse.environment` for this trace's observations, over the configured one (an
    /// experiment's `sdk-experiment`). Set by the SDK only, so it is checked already.
    pub(crate) environment: Option<String>,
    /// The experiment item run this trace is (`langfuse.experiment.*`); set by the experiment
    /// runner only.
    pub(crate) experiment: Option<Arc<ExperimentAttributes>>,
    /// The test recorder the trace belongs to (`testing` feature): carried with the trace's
    /// attributes, so that every observation of the trace knows where it goes, wherever it
    /// ends. Never sent.
    #[cfg(feature = "testing")]
    pub(crate) route: Option<Route>,
}

/// The `langfuse.experiment.*` attributes of one experiment item run, which Langfuse v4 reads
/// on every observation of the item's trace to show it in its Experiments view. Replaced as a
/// whole by a newer scope, never merged field by field: an item belongs to one experiment.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct ExperimentAttributes {
    /// `langfuse.experiment.id`: the experiment (the dataset run id of its scores).
    pub(crate) id: String,
    /// `langfuse.experiment.name`: the run name.
    pub(crate) name: String,
    /// `langfuse.experiment.description`.
    pub(crate) description: Option<String>,
    /// `langfuse.experiment.metadata`: a JSON object.
    pub(crate) metadata: Option<Payload>,
    /// `langfuse.experiment.dataset.id`, for an item of a Langfuse dataset.
    pub(crate) dataset_id: Option<String>,
    /// `langfuse.experiment.item.id`: the dataset item's id, or a hash of a local item's input.
    pub(crate) item_id: String,
    /// `langfuse.experiment.item.version`: the dataset version read (RFC 3339), if pinned.
    pub(crate) item_version: Option<String>,
    /// `langfuse.experiment.item.metadata`: a JSON object.
    pub(crate) item_metadata: Option<Payload>,
    /// `langfuse.experiment.item.root_observation_id`: the observation holding the item's
    /// input, output and scores.
    pub(crate) root_observation_id: Option<String>,
    /// `langfuse.experiment.item.expected_output`.
    pub(crate) item_expected_output: Option<Payload>,
}

/// A handle to a test recorder's tap, opaque at this layer (the tap lives in `context`). Weak,
/// because the tap holds the records that hold it. Equal only to itself.
#[cfg(feature = "testing")]
#[derive(Clone)]
pub(crate) struct Route(pub(crate) std::sync::Weak<dyn std::any::Any + Send + Sync>);

#[cfg(feature = "testing")]
impl PartialEq for Route {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Weak::ptr_eq(&self.0, &other.0)
    }
}

#[cfg(feature = "testing")]
impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Route")
    }
}

impl TraceAttributes {
    /// Sets the trace's name (shown instead of the root observation's name).
    ///
    /// ```
    /// langfuse_core::update_current_trace(|trace| {
    ///     trace.name("chat-request");
    /// });
    /// ```
    pub fn name(&mut self, name: impl Into<String>) -> &mut Self {
        self.name = checked("name", name.into());
        self
    }

    /// Sets the user the trace belongs to (`user.id`).
    ///
    /// ```
    /// langfuse_core::update_current_trace(|trace| {
    ///     trace.user_id("user-42");
    /// });
    /// ```
    pub fn user_id(&mut self, user_id: impl Into<String>) -> &mut Self {
        self.user_id = checked("user_id", user_id.into());
        self
    }

    /// Sets the session (conversation) the trace belongs to (`session.id`).
    ///
    /// ```
    /// langfuse_core::update_current_trace(|trace| {
    ///     trace.session_id("chat-7");
    /// });
    /// ```
    pub fn session_id(&mut self, session_id: impl Into<String>) -> &mut Self {
        self.session_id = checked("session_id", session_id.into());
        self
    }

    /// Sets the version of the code that produced the trace.
    ///
    /// ```
    /// langfuse_core::update_current_trace(|trace| {
    ///     trace.version("2.3.0");
    /// });
    /// ```
    pub fn version(&mut self, version: impl Into<String>) -> &mut Self {
        self.version = checked("version", version.into());
        self
    }

    /// Sets the release, overriding `LANGFUSE_RELEASE` for this trace.
    ///
    /// ```
    /// langfuse_core::update_current_trace(|trace| {
    ///     trace.release("2026-11-25.1");
    /// });
    /// ```
    pub fn release(&mut self, release: impl Into<String>) -> &mut Self {
        self.release = checked("release", release.into());
        self
    }

    /// Adds tags. Tags from enclosing scopes and earlier updates are kept.
    ///
    /// ```
    /// langfuse_core::update_current_trace(|trace| {
    ///     trace.tags(["beta", "eu"]);
    /// });
    /// ```
    pub fn tags<I, S>(&mut self, tags: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        for tag in tags {
            if let Some(tag) = checked("tag", tag.into())
                && !self.tags.contains(&tag)
            {
                self.tags.push(tag);
            }
        }
        self
    }

    /// Adds trace metadata: any value that serializes to a JSON object. Keys merge with
    /// enclosing scopes and earlier updates (newer values win).
    ///
    /// ```
    /// langfuse_core::update_current_trace(|trace| {
    ///     trace.metadata(&serde_json::json!({ "tenant": "acme", "plan": "pro" }));
    /// });
    /// ```
    pub fn metadata<T: Serialize + ?Sized>(&mut self, metadata: &T) -> &mut Self {
        let payload = serialize_bounded(metadata, capture::max_bytes());
        self.metadata = Some(match self.metadata.take() {
            Some(existing) => merge_objects(existing, payload),
            None => payload,
        });
        self
    }

    /// Marks the trace public: anyone with its link can view it.
    ///
    /// ```
    /// langfuse_core::update_current_trace(|trace| {
    ///     trace.public(true);
    /// });
    /// ```
    pub fn public(&mut self, public: bool) -> &mut Self {
        self.public = Some(public);
        self
    }

    /// Sets the trace's input (by default Langfuse shows the root observation's).
    ///
    /// ```
    /// langfuse_core::update_current_trace(|trace| {
    ///     trace.input("What is Langfuse?");
    /// });
    /// ```
    pub fn input<T: Serialize + ?Sized>(&mut self, input: &T) -> &mut Self {
        self.input = Some(serialize_bounded(input, capture::max_bytes()));
        self
    }

    /// Sets the trace's output (by default Langfuse shows the root observation's).
    ///
    /// ```
    /// langfuse_core::update_current_trace(|trace| {
    ///     trace.output("An open-source LLM engineering platform.");
    /// });
    /// ```
    pub fn output<T: Serialize + ?Sized>(&mut self, output: &T) -> &mut Self {
        self.output = Some(serialize_bounded(output, capture::max_bytes()));
        self
    }

    /// These attributes with `newer` applied on top: set values replace, tags add up,
    /// metadata keys merge.
    pub(crate) fn merged_with(&self, newer: &TraceAttributes) -> TraceAttributes {
        let mut merged = self.clone();
        let replace = |mine: &mut Option<String>, theirs: &Option<String>| {
            if theirs.is_some() {
                mine.clone_from(theirs);
            }
        };
        replace(&mut merged.name, &newer.name);
        replace(&mut merged.user_id, &newer.user_id);
        replace(&mut merged.session_id, &newer.session_id);
        replace(&mut merged.version, &newer.version);
        replace(&mut merged.release, &newer.release);
        for tag in &newer.tags {
            if !merged.tags.contains(tag) {
                merged.tags.push(tag.clone());
            }
        }
        if let Some(metadata) = &newer.metadata {
            merged.metadata = Some(match merged.metadata.take() {
                Some(existing) => merge_objects(existing, metadata.clone()),
                None => metadata.clone(),
            });
        }
        if newer.public.is_some() {
            merged.public = newer.public;
        }
        if newer.input.is_some() {
            merged.input.clone_from(&newer.input);
        }
        if newer.output.is_some() {
            merged.output.clone_from(&newer.output);
        }
        if newer.environment.is_some() {
            merged.environment.clone_from(&newer.environment);
        }
        if newer.experiment.is_some() {
            merged.experiment.clone_from(&newer.experiment);
        }
        merged
    }
}

/// Keeps a propagated string if it fits Langfuse's limit; warns once otherwise. The limit is in
/// characters (Unicode scalar values), as Python's `len` counts them, not in bytes.
fn checked(field: &'static str, value: String) -> Option<String> {
    // Fewer bytes than the limit means fewer characters too: only long values are counted.
    if value.len() <= MAX_PROPAGATED_LEN || value.chars().count() <= MAX_PROPAGATED_LEN {
        return Some(value);
    }
    static WARNED: AtomicBool = AtomicBool::new(false);
    if !WARNED.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            target: "langfuse",
            field,
            characters = value.chars().count(),
            "trace attribute longer than {MAX_PROPAGATED_LEN} characters dropped (Langfuse indexes these for filtering; put long values in metadata). Further drops are logged at debug level"
        );
    } else {
        tracing::debug!(target: "langfuse", field, characters = value.chars().count(), "oversize trace attribute dropped");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newer_scalars_replace_tags_add_and_metadata_merges() {
        let mut outer = TraceAttributes::default();
        outer
            .user_id("u-1")
            .session_id("s-1")
            .tags(["a", "b"])
            .metadata(&serde_json::json!({"tenant": "acme", "plan": "free"}));
        let mut inner = TraceAttributes::default();
        inner
            .user_id("u-2")
            .tags(["b", "c"])
            .metadata(&serde_json::json!({"plan": "pro"}));

        let merged = outer.merged_with(&inner);
        assert_eq!(merged.user_id.as_deref(), Some("u-2"));
        assert_eq!(merged.session_id.as_deref(), Some("s-1"));
        assert_eq!(merged.tags, ["a", "b", "c"]);
        let Some(Payload::Json(metadata)) = &merged.metadata else {
            panic!("{:?}", merged.metadata);
        };
        // Compared as JSON: the order of keys follows serde_json's features.
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(metadata).unwrap(),
            serde_json::json!({ "plan": "pro", "tenant": "acme" })
        );
    }

    #[test]
    fn oversize_values_are_dropped() {
        let mut attributes = TraceAttributes::default();
        attributes.user_id("u".repeat(MAX_PROPAGATED_LEN + 1));
        assert_eq!(attributes.user_id, None);
        attributes.user_id("u".repeat(MAX_PROPAGATED_LEN));
        assert!(attributes.user_id.is_some());
    }

    #[test]
    fn the_limit_counts_characters_not_bytes() {
        let mut attributes = TraceAttributes::default();
        attributes.session_id("é".repeat(MAX_PROPAGATED_LEN));
        assert!(
            attributes.session_id.is_some(),
            "200 characters in 400 bytes"
        );
        attributes.session_id("é".repeat(MAX_PROPAGATED_LEN + 1));
        assert_eq!(attributes.session_id, None);
    }

    #[test]
    fn non_object_metadata_is_replaced() {
        let merged = merge_objects(Payload::Json("[1]".into()), Payload::Json("{}".into()));
        assert_eq!(merged, Payload::Json("{}".into()));
    }
}
