//! [`Recording`]: what a recorder received, with the lookups a test reaches for.

use std::fmt;

use super::{RecordedObservation, RecordedScore};
use crate::model::{Level, ObservationType, TraceId};

/// The finished observations and scores of the traces started under a
/// [`Recorder`](super::Recorder), ordered by start time.
///
/// Lookups by name panic with the names that were recorded when they find nothing, so a
/// failing test says what it got.
///
/// ```
/// use langfuse_core::testing;
///
/// let recording = testing::record(|| {
///     let root = langfuse_core::start_observation("handle").start();
///     langfuse_core::start_observation("query")
///         .parent(root.context())
///         .start()
///         .end();
///     root.end();
/// });
/// let query = recording.one("query");
/// assert_eq!(recording.parent_of(query).unwrap().name(), "handle");
/// assert_eq!(recording.outline(), "handle\n  query\n");
/// ```
#[derive(Debug, Clone, Default)]
pub struct Recording {
    pub(super) observations: Vec<RecordedObservation>,
    pub(super) scores: Vec<RecordedScore>,
    pub(super) traces: Vec<TraceId>,
}

impl Recording {
    /// Every finished observation, ordered by start time.
    pub fn observations(&self) -> &[RecordedObservation] {
        &self.observations
    }

    /// How many observations finished.
    pub fn len(&self) -> usize {
        self.observations.len()
    }

    /// Whether nothing finished.
    pub fn is_empty(&self) -> bool {
        self.observations.is_empty()
    }

    /// The traces started under the recorder, in the order they started.
    pub fn traces(&self) -> &[TraceId] {
        &self.traces
    }

    /// The first observation named `name`, if any.
    pub fn get(&self, name: &str) -> Option<&RecordedObservation> {
        self.observations.iter().find(|o| o.name() == name)
    }

    /// The one observation named `name`.
    ///
    /// # Panics
    ///
    /// If there is none, or more than one; the message lists what was recorded.
    #[track_caller]
    pub fn one(&self, name: &str) -> &RecordedObservation {
        match self.all(name).as_slice() {
            [one] => one,
            found => panic!(
                "expected one observation named {name:?}, found {}; recorded:\n{}",
                found.len(),
                self.outline()
            ),
        }
    }

    /// Every observation named `name`.
    pub fn all(&self, name: &str) -> Vec<&RecordedObservation> {
        self.observations
            .iter()
            .filter(|o| o.name() == name)
            .collect()
    }

    /// Every observation of type `kind`.
    pub fn of_kind(&self, kind: ObservationType) -> Vec<&RecordedObservation> {
        self.observations
            .iter()
            .filter(|o| o.kind() == kind)
            .collect()
    }

    /// The observations of one trace.
    pub fn trace(&self, trace_id: TraceId) -> Vec<&RecordedObservation> {
        self.observations
            .iter()
            .filter(|o| o.trace_id() == trace_id)
            .collect()
    }

    /// The observations whose parent is not in the recording: each trace's root, and the
    /// first observation of a trace continued from a remote parent.
    pub fn roots(&self) -> Vec<&RecordedObservation> {
        self.observations
            .iter()
            .filter(|o| self.parent_of(o).is_none())
            .collect()
    }

    /// The parent of `observation`, if it is in the recording.
    pub fn parent_of(&self, observation: &RecordedObservation) -> Option<&RecordedObservation> {
        let parent = observation.parent_id()?;
        self.observations
            .iter()
            .find(|o| o.id() == parent && o.trace_id() == observation.trace_id())
    }

    /// The children of `observation`, ordered by start time.
    pub fn children_of(&self, observation: &RecordedObservation) -> Vec<&RecordedObservation> {
        self.observations
            .iter()
            .filter(|o| {
                o.trace_id() == observation.trace_id() && o.parent_id() == Some(observation.id())
            })
            .collect()
    }

    /// Every score given for the recorded traces.
    pub fn scores(&self) -> &[RecordedScore] {
        &self.scores
    }

    /// The one score named `name`.
    ///
    /// # Panics
    ///
    /// If there is none, or more than one; the message lists the scores recorded.
    #[track_caller]
    pub fn score(&self, name: &str) -> &RecordedScore {
        let found: Vec<&RecordedScore> = self.scores.iter().filter(|s| s.name() == name).collect();
        match found.as_slice() {
            [one] => one,
            _ => panic!(
                "expected one score named {name:?}, found {}; recorded: {:?}",
                found.len(),
                self.scores
                    .iter()
                    .map(RecordedScore::name)
                    .collect::<Vec<_>>()
            ),
        }
    }

    /// The trees of the recording as indented text, one observation per line: its name, its
    /// type unless it is a span, and its level unless it is DEFAULT. Children are indented
    /// two spaces under their parent, in start order; traces follow each other.
    ///
    /// ```text
    /// answer
    ///   retrieve (retriever)
    ///   generate (generation) [ERROR]
    /// ```
    pub fn outline(&self) -> String {
        let mut out = String::new();
        for root in self.roots() {
            self.outline_into(&mut out, root, 0);
        }
        out
    }

    fn outline_into(&self, out: &mut String, observation: &RecordedObservation, depth: usize) {
        out.push_str(&"  ".repeat(depth));
        out.push_str(observation.name());
        if observation.kind() != ObservationType::Span {
            out.push_str(&format!(" ({})", observation.kind()));
        }
        if observation.level() != Level::Default {
            out.push_str(&format!(" [{}]", observation.level()));
        }
        out.push('\n');
        for child in self.children_of(observation) {
            self.outline_into(out, child, depth + 1);
        }
    }
}

impl fmt::Display for Recording {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.outline())
    }
}
