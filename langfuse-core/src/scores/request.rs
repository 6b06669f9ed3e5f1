//! A score as the Langfuse API takes it: the `CreateScoreRequest` JSON body of
//! `POST /api/public/scores`, and the line the console exporter prints instead.

use serde::Serialize;
use serde::ser::SerializeMap as _;

use super::{Metadata, Score, Value};

/// The `CreateScoreRequest` JSON body. `id` is used when the score has none of its own;
/// `default_environment` when it has no environment. Runs on the exporter thread.
pub(crate) fn request_json(
    score: &Score,
    id: &str,
    default_environment: Option<&str>,
) -> serde_json::Result<Vec<u8>> {
    serde_json::to_vec(&RequestBody {
        score,
        id,
        environment: score.environment.as_deref().or(default_environment),
    })
}

/// One line for the console exporter.
pub(crate) fn console_line(score: &Score) -> String {
    let value = match &score.value {
        Value::Numeric(v) => v.to_string(),
        Value::Boolean(b) => b.to_string(),
        Value::Categorical(s) | Value::Text(s) => format!("{s:?}"),
    };
    let mut line = format!(
        "score {} = {value} ({})",
        score.name,
        score.value.data_type()
    );
    if let Some(trace) = score.trace_id {
        line.push_str(&format!("  trace {trace}"));
    }
    if let Some(observation) = score.observation_id {
        line.push_str(&format!("  observation {observation}"));
    }
    if let Some(session) = &score.session_id {
        line.push_str(&format!("  session {session}"));
    }
    if let Some(run) = &score.dataset_run_id {
        line.push_str(&format!("  dataset run {run}"));
    }
    if let Some(comment) = &score.comment {
        line.push_str(&format!("  comment {comment:?}"));
    }
    line
}

/// The body of `POST /api/public/scores`: `CreateScoreRequest`, without the fields left
/// unset (the schema makes them optional; `null` would only add bytes).
struct RequestBody<'a> {
    score: &'a Score,
    id: &'a str,
    environment: Option<&'a str>,
}

impl Serialize for RequestBody<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let score = self.score;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("id", score.id.as_deref().unwrap_or(self.id))?;
        if let Some(trace) = score.trace_id {
            map.serialize_entry("traceId", &trace.to_string())?;
        }
        if let Some(observation) = score.observation_id {
            map.serialize_entry("observationId", &observation.to_string())?;
        }
        if let Some(session) = &score.session_id {
            map.serialize_entry("sessionId", session)?;
        }
        if let Some(run) = &score.dataset_run_id {
            map.serialize_entry("datasetRunId", run)?;
        }
        map.serialize_entry("name", &score.name)?;
        match &score.value {
            Value::Numeric(v) => map.serialize_entry("value", v)?,
            Value::Boolean(b) => map.serialize_entry("value", &if *b { 1.0 } else { 0.0 })?,
            Value::Categorical(s) | Value::Text(s) => map.serialize_entry("value", s)?,
        }
        map.serialize_entry("dataType", score.value.data_type())?;
        if let Some(comment) = &score.comment {
            map.serialize_entry("comment", comment)?;
        }
        if let Some(Metadata::Object(json)) = &score.metadata {
            // Already JSON: embedded as is rather than parsed back into a tree.
            let raw: &serde_json::value::RawValue =
                serde_json::from_str(json).map_err(serde::ser::Error::custom)?;
            map.serialize_entry("metadata", raw)?;
        }
        if let Some(environment) = self.environment {
            map.serialize_entry("environment", environment)?;
        }
        if let Some(config) = &score.config_id {
            map.serialize_entry("configId", config)?;
        }
        map.end()
    }
}

/// A random UUID (version 4), the id of a score that has none: Langfuse upserts by id, so a
/// retried request cannot create the score twice.
pub(crate) fn random_id() -> String {
    let bits = fastrand::u128(..);
    // Version 4, variant 10.
    let bits = (bits & !(0xf << 76)) | (0x4 << 76);
    let bits = (bits & !(0x3 << 62)) | (0x2 << 62);
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        (bits >> 96) as u32,
        (bits >> 80) as u16,
        (bits >> 64) as u16,
        (bits >> 48) as u16,
        bits & 0xffff_ffff_ffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ObservationId, TraceId};
    use serde_json::{Value as Json, json};

    fn trace() -> TraceId {
        "4bf92f3577b34da6a3ce929d0e0e4736".parse().unwrap()
    }

    fn span() -> ObservationId {
        "00f067aa0ba902b7".parse().unwrap()
    }

    fn body(score: &Score, environment: Option<&str>) -> Json {
        serde_json::from_slice(&request_json(score, "generated-id", environment).unwrap()).unwrap()
    }

    #[test]
    fn each_type_has_its_value_and_data_type() {
        let cases = [
            (Score::numeric("n", 0.25), json!(0.25), "NUMERIC"),
            (Score::boolean("b", true), json!(1.0), "BOOLEAN"),
            (Score::boolean("b", false), json!(0.0), "BOOLEAN"),
            (
                Score::categorical("c", "good"),
                json!("good"),
                "CATEGORICAL",
            ),
            (Score::text("t", "fine work"), json!("fine work"), "TEXT"),
        ];
        for (score, value, data_type) in cases {
            let body = body(&score.session_id("s"), None);
            assert_eq!(body["value"], value, "{body}");
            assert_eq!(body["dataType"], data_type, "{body}");
        }
    }

    #[test]
    fn an_observation_score_has_every_field_set_and_nothing_else() {
        let score = Score::numeric("faithfulness", 0.5)
            .trace_id(trace())
            .observation_id(span())
            .id("score-1")
            .comment("ok")
            .metadata(&json!({ "judge": "gpt-4o", "nested": { "k": [1, 2] } }))
            .config_id("cfg-1")
            .environment("staging");
        assert_eq!(score.check(), Ok(()));
        assert_eq!(
            body(&score, Some("production")),
            json!({
                "id": "score-1",
                "traceId": "4bf92f3577b34da6a3ce929d0e0e4736",
                "observationId": "00f067aa0ba902b7",
                "name": "faithfulness",
                "value": 0.5,
                "dataType": "NUMERIC",
                "comment": "ok",
                "metadata": { "judge": "gpt-4o", "nested": { "k": [1, 2] } },
                "environment": "staging",
                "configId": "cfg-1",
            })
        );
    }

    #[test]
    fn unset_fields_are_left_out_and_defaults_fill_in() {
        let score = Score::categorical("outcome", "resolved").session_id("chat-7");
        assert_eq!(
            body(&score, Some("production")),
            json!({
                "id": "generated-id",
                "sessionId": "chat-7",
                "name": "outcome",
                "value": "resolved",
                "dataType": "CATEGORICAL",
                "environment": "production",
            })
        );
        let without_environment = body(&score, None);
        assert!(without_environment.get("environment").is_none());
        let run = body(
            &Score::boolean("passed", true).dataset_run_id("run-1"),
            None,
        );
        assert_eq!(run["datasetRunId"], "run-1");
    }

    #[test]
    fn random_ids_are_version_4_uuids() {
        let id = random_id();
        assert_eq!(id.len(), 36, "{id}");
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'), "{id}");
        assert!(
            matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'),
            "{id}"
        );
        assert_ne!(random_id(), id);
    }
}
