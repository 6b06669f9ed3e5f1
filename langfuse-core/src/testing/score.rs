//! [`RecordedScore`]: a score given for a recorded trace, as the exporter would have sent it.

use serde_json::Value as Json;

use crate::model::{ObservationId, TraceId};

/// A score of a [`Recording`](super::Recording): the `CreateScoreRequest` body that
/// `POST /api/public/scores` would have received.
///
/// ```
/// use langfuse_core::{Score, testing};
///
/// let recording = testing::record(|| {
///     let span = langfuse_core::start_observation("answer").start();
///     span.score(Score::numeric("relevance", 0.9).comment("judged"));
///     span.end();
/// });
/// let score = recording.score("relevance");
/// assert_eq!(score.value(), 0.9);
/// assert_eq!(score.data_type(), "NUMERIC");
/// assert_eq!(score.observation_id(), Some(recording.one("answer").id()));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedScore {
    pub(super) body: Json,
}

impl RecordedScore {
    /// Its name.
    pub fn name(&self) -> &str {
        self.body["name"].as_str().unwrap_or_default()
    }

    /// Its value as sent: a number for NUMERIC and BOOLEAN scores (1 or 0), a string for
    /// CATEGORICAL and TEXT ones.
    pub fn value(&self) -> &Json {
        &self.body["value"]
    }

    /// `NUMERIC`, `BOOLEAN`, `CATEGORICAL` or `TEXT`.
    pub fn data_type(&self) -> &str {
        self.body["dataType"].as_str().unwrap_or_default()
    }

    /// The trace it is about.
    pub fn trace_id(&self) -> Option<TraceId> {
        self.body["traceId"].as_str().and_then(|id| id.parse().ok())
    }

    /// The observation it is about, if any.
    pub fn observation_id(&self) -> Option<ObservationId> {
        self.body["observationId"]
            .as_str()
            .and_then(|id| id.parse().ok())
    }

    /// Its comment.
    pub fn comment(&self) -> Option<&str> {
        self.body["comment"].as_str()
    }

    /// Its metadata.
    pub fn metadata(&self) -> Option<&Json> {
        self.body.get("metadata")
    }

    /// The environment it is sent with.
    pub fn environment(&self) -> Option<&str> {
        self.body["environment"].as_str()
    }

    /// The whole request body.
    pub fn body(&self) -> &Json {
        &self.body
    }
}
