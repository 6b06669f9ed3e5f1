//! What an experiment runs over: [`ExperimentItem`]s, local or from a Langfuse dataset, and
//! [`ExperimentData`], where they come from.

use std::time::SystemTime;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::datasets::{Dataset, DatasetItem};

/// One input of an experiment, with the output expected for it and metadata: what the task
/// and the evaluators receive.
///
/// Build local items with [`ExperimentItem::new`]; items of a Langfuse dataset convert with
/// `From<DatasetItem>` (and keep their dataset's ids, so the run is linked to the dataset).
///
/// ```
/// use langfuse_core::experiments::ExperimentItem;
///
/// let item = ExperimentItem::new("What is the capital of France?")
///     .expected_output("Paris")
///     .metadata(&serde_json::json!({ "continent": "Europe" }));
/// assert_eq!(item.input_str(), Some("What is the capital of France?"));
/// assert_eq!(item.expected_output.as_ref().unwrap(), "Paris");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ExperimentItem {
    /// What the task receives.
    pub input: Value,
    /// The output expected for it, for the evaluators.
    pub expected_output: Option<Value>,
    /// Metadata, for the evaluators and the item's observations.
    pub metadata: Option<Value>,
    pub(crate) dataset: Option<DatasetLink>,
}

/// Where a dataset item comes from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DatasetLink {
    pub(crate) dataset_id: String,
    pub(crate) item_id: String,
    pub(crate) version: Option<SystemTime>,
}

impl ExperimentItem {
    /// A local item with this input: any value that serializes to JSON (one that cannot is
    /// kept as `null`, with a warning).
    pub fn new<T: Serialize + ?Sized>(input: &T) -> Self {
        Self {
            input: to_value(input, "input").unwrap_or(Value::Null),
            expected_output: None,
            metadata: None,
            dataset: None,
        }
    }

    /// The output expected for the input.
    pub fn expected_output<T: Serialize + ?Sized>(mut self, expected: &T) -> Self {
        self.expected_output = to_value(expected, "expected output");
        self
    }

    /// Metadata. A JSON object is also sent as `langfuse.experiment.item.metadata`.
    pub fn metadata<T: Serialize + ?Sized>(mut self, metadata: &T) -> Self {
        self.metadata = to_value(metadata, "metadata");
        self
    }

    /// The input, if it is a JSON string.
    ///
    /// ```
    /// let item = langfuse_core::experiments::ExperimentItem::new("France");
    /// assert_eq!(item.input_str(), Some("France"));
    /// ```
    pub fn input_str(&self) -> Option<&str> {
        self.input.as_str()
    }

    /// The input deserialized into `T`.
    ///
    /// ```
    /// #[derive(serde::Deserialize)]
    /// struct Question { country: String }
    ///
    /// let item = langfuse_core::experiments::ExperimentItem::new(
    ///     &serde_json::json!({ "country": "France" }),
    /// );
    /// let question: Question = item.input_as().unwrap();
    /// assert_eq!(question.country, "France");
    /// ```
    pub fn input_as<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(&self.input)
    }

    /// The expected output, if it is a JSON string.
    pub fn expected_str(&self) -> Option<&str> {
        self.expected_output.as_ref().and_then(Value::as_str)
    }

    /// The dataset item's id, for an item of a Langfuse dataset.
    pub fn dataset_item_id(&self) -> Option<&str> {
        self.dataset.as_ref().map(|d| d.item_id.as_str())
    }

    /// The dataset's id, for an item of a Langfuse dataset.
    pub fn dataset_id(&self) -> Option<&str> {
        self.dataset.as_ref().map(|d| d.dataset_id.as_str())
    }

    /// `langfuse.experiment.item.id`: the dataset item's id, or, for a local item, the first
    /// 16 hex digits of SHA-256 over its input (the text of a string input, the compact JSON
    /// of any other, keys sorted), as the Python SDK derives it.
    pub(crate) fn experiment_item_id(&self) -> String {
        if let Some(dataset) = &self.dataset {
            return dataset.item_id.clone();
        }
        let serialized = match &self.input {
            Value::String(text) => text.clone(),
            other => canonical_json(other),
        };
        let digest = Sha256::digest(serialized.as_bytes());
        digest[..8].iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl From<DatasetItem> for ExperimentItem {
    fn from(item: DatasetItem) -> Self {
        Self {
            input: item.input,
            expected_output: item.expected_output,
            metadata: item.metadata,
            dataset: Some(DatasetLink {
                dataset_id: item.dataset_id,
                item_id: item.id,
                version: item.version,
            }),
        }
    }
}

/// What an experiment runs over: local items, or a Langfuse dataset (its items fetched a page
/// at a time as the run needs them). Converts from a `Vec` of [`ExperimentItem`]s or of
/// [`DatasetItem`]s, and from a [`Dataset`].
#[derive(Debug)]
#[non_exhaustive]
pub enum ExperimentData {
    /// Items in memory.
    Items(Vec<ExperimentItem>),
    /// A Langfuse dataset, read as the run goes.
    Dataset(Box<Dataset>),
}

impl From<Vec<ExperimentItem>> for ExperimentData {
    fn from(items: Vec<ExperimentItem>) -> Self {
        Self::Items(items)
    }
}

impl From<Vec<DatasetItem>> for ExperimentData {
    fn from(items: Vec<DatasetItem>) -> Self {
        Self::Items(items.into_iter().map(ExperimentItem::from).collect())
    }
}

impl From<Dataset> for ExperimentData {
    fn from(dataset: Dataset) -> Self {
        Self::Dataset(Box::new(dataset))
    }
}

impl From<&Dataset> for ExperimentData {
    fn from(dataset: &Dataset) -> Self {
        Self::Dataset(Box::new(dataset.clone()))
    }
}

/// Compact JSON with every object's keys sorted, whatever order `serde_json::Map` keeps (its
/// `preserve_order` feature, which any crate in the build may turn on, keeps insertion order):
/// the same input always gives the same item id.
fn canonical_json(value: &Value) -> String {
    fn write(value: &Value, out: &mut String) {
        match value {
            Value::Object(map) => {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                out.push('{');
                for (i, (key, value)) in entries.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(key.clone()).to_string());
                    out.push(':');
                    write(value, out);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(item, out);
                }
                out.push(']');
            }
            scalar => out.push_str(&scalar.to_string()),
        }
    }
    let mut out = String::new();
    write(value, &mut out);
    out
}

fn to_value<T: Serialize + ?Sized>(value: &T, what: &str) -> Option<Value> {
    match serde_json::to_value(value) {
        Ok(value) => Some(value),
        Err(e) => {
            tracing::warn!(target: "langfuse", "experiment item {what} cannot be serialized, kept as null: {e}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn local_items_are_identified_by_their_input() {
        let text = ExperimentItem::new("France");
        // SHA-256("France"), first 8 bytes.
        let expected: String = Sha256::digest(b"France")[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(text.experiment_item_id(), expected);
        assert_eq!(text.experiment_item_id().len(), 16);
        let object = ExperimentItem::new(&json!({ "b": 1, "a": [true] }));
        let expected: String = Sha256::digest(br#"{"a":[true],"b":1}"#)[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(object.experiment_item_id(), expected);
    }
}
