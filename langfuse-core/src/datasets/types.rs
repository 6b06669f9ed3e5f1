//! What the datasets API sends and receives: datasets, items, and the requests that create
//! them (the `Dataset`, `DatasetItem`, `CreateDatasetRequest` and `CreateDatasetItemRequest`
//! schemas of Langfuse's OpenAPI specification).

use std::fmt;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use serde_json::{Map, Value};

use super::error::DatasetError;
use crate::model::{ObservationId, TraceId};

/// Whether a dataset item takes part in experiments (`ACTIVE`) or is kept for the record
/// only (`ARCHIVED`).
///
/// ```
/// use langfuse_core::datasets::DatasetStatus;
///
/// assert_eq!(DatasetStatus::default(), DatasetStatus::Active);
/// assert_eq!(DatasetStatus::Archived.as_str(), "ARCHIVED");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum DatasetStatus {
    /// Used by experiments (the default).
    #[default]
    Active,
    /// Kept, but left out of experiments.
    Archived,
}

impl DatasetStatus {
    /// `ACTIVE` or `ARCHIVED`, as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::Archived => "ARCHIVED",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "ACTIVE" => Some(Self::Active),
            "ARCHIVED" => Some(Self::Archived),
            _ => None,
        }
    }
}

/// One item of a dataset: an input, optionally the output expected for it, and metadata.
///
/// Read with [`Dataset::items`](super::Dataset::items) or
/// [`Dataset::items_async`](super::Dataset::items_async); written with
/// [`Langfuse::create_dataset_item`](crate::Langfuse::create_dataset_item).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DatasetItem {
    /// The item's id (unique in the project).
    pub id: String,
    /// The dataset it belongs to.
    pub dataset_id: String,
    /// That dataset's name.
    pub dataset_name: String,
    /// The input the task under test receives (`null` if the item has none).
    pub input: Value,
    /// The output expected for it, if any.
    pub expected_output: Option<Value>,
    /// The item's metadata, if any.
    pub metadata: Option<Value>,
    /// The trace the item was made from, if any.
    pub source_trace_id: Option<String>,
    /// The observation the item was made from, if any.
    pub source_observation_id: Option<String>,
    /// Whether the item takes part in experiments.
    pub status: DatasetStatus,
    /// When the item was created.
    pub created_at: SystemTime,
    /// When the item last changed.
    pub updated_at: SystemTime,
    /// The dataset version this item was read at, when the dataset was read at one (see
    /// [`Dataset::at_version`](super::Dataset::at_version)); `None` for the latest state.
    pub version: Option<SystemTime>,
}

/// A dataset item as the API sends it (`DatasetItem`).
#[derive(Debug)]
pub(crate) struct ItemBody(Map<String, Value>);

impl ItemBody {
    /// The item in `value`, which must be a JSON object.
    pub(crate) fn from_json(value: Value) -> Result<Self, DatasetError> {
        match value {
            Value::Object(fields) => Ok(Self(fields)),
            other => Err(invalid(format!("a dataset item is not an object: {other}"))),
        }
    }

    pub(crate) fn into_item(
        self,
        version: Option<SystemTime>,
    ) -> Result<DatasetItem, DatasetError> {
        let mut f = Fields(self.0, "dataset item");
        let status = match f.optional_string("status")? {
            Some(text) => DatasetStatus::parse(&text)
                .ok_or_else(|| invalid(format!("unknown dataset item status {text:?}")))?,
            None => DatasetStatus::default(),
        };
        Ok(DatasetItem {
            id: f.string("id")?,
            dataset_id: f.string("datasetId")?,
            dataset_name: f.string("datasetName")?,
            input: f.value("input").unwrap_or(Value::Null),
            expected_output: f.value("expectedOutput"),
            metadata: f.value("metadata"),
            source_trace_id: f.optional_string("sourceTraceId")?,
            source_observation_id: f.optional_string("sourceObservationId")?,
            status,
            created_at: f.time("createdAt")?,
            updated_at: f.time("updatedAt")?,
            version,
        })
    }
}

/// A dataset as the API sends it (`Dataset`).
#[derive(Debug)]
pub(crate) struct DatasetBody {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) metadata: Option<Value>,
    pub(crate) input_schema: Option<Value>,
    pub(crate) expected_output_schema: Option<Value>,
    pub(crate) project_id: String,
    pub(crate) created_at: SystemTime,
    pub(crate) updated_at: SystemTime,
}

impl DatasetBody {
    pub(crate) fn from_json(value: Value) -> Result<Self, DatasetError> {
        let Value::Object(fields) = value else {
            return Err(invalid(format!("a dataset is not an object: {value}")));
        };
        let mut f = Fields(fields, "dataset");
        Ok(Self {
            id: f.string("id")?,
            name: f.string("name")?,
            description: f.optional_string("description")?,
            metadata: f.value("metadata"),
            input_schema: f.value("inputSchema"),
            expected_output_schema: f.value("expectedOutputSchema"),
            project_id: f.string("projectId")?,
            created_at: f.time("createdAt")?,
            updated_at: f.time("updatedAt")?,
        })
    }
}

/// One page of `GET /api/public/dataset-items` (`PaginatedDatasetItems`).
#[derive(Debug)]
pub(crate) struct ItemsPage {
    pub(crate) data: Vec<ItemBody>,
    pub(crate) meta: PageMeta,
}

impl ItemsPage {
    pub(crate) fn from_json(value: Value) -> Result<Self, DatasetError> {
        let Value::Object(fields) = value else {
            return Err(invalid(format!(
                "a page of items is not an object: {value}"
            )));
        };
        let mut f = Fields(fields, "page of items");
        let data = match f.value("data") {
            Some(Value::Array(items)) => items
                .into_iter()
                .map(ItemBody::from_json)
                .collect::<Result<_, _>>()?,
            _ => return Err(invalid("a page of items has no data array".into())),
        };
        let meta = match f.value("meta") {
            Some(Value::Object(meta)) => {
                let mut m = Fields(meta, "page meta");
                PageMeta {
                    page: m.count("page")?,
                    total_items: m.count("totalItems")?,
                    total_pages: m.count("totalPages")?,
                }
            }
            _ => return Err(invalid("a page of items has no meta object".into())),
        };
        Ok(Self { data, meta })
    }
}

/// `utilsMetaResponse`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PageMeta {
    pub(crate) page: u64,
    pub(crate) total_items: u64,
    pub(crate) total_pages: u64,
}

/// The fields of one object of an answer, taken out by name.
struct Fields(Map<String, Value>, &'static str);

impl Fields {
    /// A field's value; `None` when absent or `null`.
    fn value(&mut self, name: &str) -> Option<Value> {
        self.0.remove(name).filter(|v| !v.is_null())
    }

    fn optional_string(&mut self, name: &str) -> Result<Option<String>, DatasetError> {
        match self.value(name) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(other) => Err(invalid(format!(
                "{} {name} is not a string: {other}",
                self.1
            ))),
        }
    }

    fn string(&mut self, name: &str) -> Result<String, DatasetError> {
        self.optional_string(name)?
            .ok_or_else(|| invalid(format!("{} has no {name}", self.1)))
    }

    fn count(&mut self, name: &str) -> Result<u64, DatasetError> {
        match self.value(name) {
            Some(Value::Number(n)) if n.as_u64().is_some() => Ok(n.as_u64().unwrap_or(0)),
            other => Err(invalid(format!(
                "{} {name} is not a count: {}",
                self.1,
                other.unwrap_or(Value::Null)
            ))),
        }
    }

    fn time(&mut self, name: &str) -> Result<SystemTime, DatasetError> {
        let text = self.string(name)?;
        parse_time(name, &text)
    }
}

fn invalid(message: String) -> DatasetError {
    DatasetError::InvalidResponse(message)
}

/// A dataset to create with [`Langfuse::create_dataset`](crate::Langfuse::create_dataset)
/// (`POST /api/public/v2/datasets`). Langfuse upserts datasets by name: creating one that
/// exists updates its description, metadata and schemas.
///
/// ```
/// use langfuse_core::datasets::NewDataset;
///
/// let dataset = NewDataset::new("capital-cities")
///     .description("Countries and their capitals")
///     .metadata(&serde_json::json!({ "owner": "evals-team" }));
/// # drop(dataset);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[must_use = "a dataset is created only when passed to create_dataset"]
pub struct NewDataset {
    name: String,
    description: Option<String>,
    metadata: Option<Value>,
    input_schema: Option<Value>,
    expected_output_schema: Option<Value>,
    problem: Option<String>,
}

impl NewDataset {
    /// A dataset named `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            description: None,
            metadata: None,
            input_schema: None,
            expected_output_schema: None,
            problem: None,
        }
    }

    /// Its description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Its metadata: any value that serializes to JSON.
    pub fn metadata<T: Serialize + ?Sized>(mut self, metadata: &T) -> Self {
        self.metadata = to_json(metadata, "metadata", &mut self.problem);
        self
    }

    /// A JSON Schema every item's input must match (Langfuse checks new and existing items).
    ///
    /// ```
    /// let dataset = langfuse_core::datasets::NewDataset::new("qa")
    ///     .input_schema(&serde_json::json!({ "type": "string" }));
    /// # drop(dataset);
    /// ```
    pub fn input_schema<T: Serialize + ?Sized>(mut self, schema: &T) -> Self {
        self.input_schema = to_json(schema, "input schema", &mut self.problem);
        self
    }

    /// A JSON Schema every item's expected output must match.
    pub fn expected_output_schema<T: Serialize + ?Sized>(mut self, schema: &T) -> Self {
        self.expected_output_schema = to_json(schema, "expected output schema", &mut self.problem);
        self
    }

    /// The dataset's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The `CreateDatasetRequest` body, once the dataset is checked.
    pub(crate) fn body(&self) -> Result<Value, DatasetError> {
        check_name(&self.name)?;
        if let Some(problem) = &self.problem {
            return Err(DatasetError::InvalidRequest(problem.clone()));
        }
        let mut body = Map::new();
        body.insert("name".into(), Value::String(self.name.clone()));
        let optional = [
            ("description", self.description.clone().map(Value::String)),
            ("metadata", self.metadata.clone()),
            ("inputSchema", self.input_schema.clone()),
            ("expectedOutputSchema", self.expected_output_schema.clone()),
        ];
        body.extend(
            optional
                .into_iter()
                .filter_map(|(name, value)| Some((name.to_owned(), value?))),
        );
        Ok(Value::Object(body))
    }
}

/// An item to add to a dataset with
/// [`Langfuse::create_dataset_item`](crate::Langfuse::create_dataset_item)
/// (`POST /api/public/dataset-items`).
///
/// Langfuse upserts items by id: give one to update an item. Without one the SDK draws a
/// random id, so that a request retried after a lost answer cannot add the item twice.
///
/// ```
/// use langfuse_core::datasets::NewDatasetItem;
///
/// let item = NewDatasetItem::new("capital-cities", &serde_json::json!({ "country": "France" }))
///     .expected_output("Paris")
///     .metadata(&serde_json::json!({ "continent": "Europe" }));
/// # drop(item);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[must_use = "an item is created only when passed to create_dataset_item"]
pub struct NewDatasetItem {
    dataset_name: String,
    input: Value,
    expected_output: Option<Value>,
    metadata: Option<Value>,
    source_trace_id: Option<String>,
    source_observation_id: Option<String>,
    id: Option<String>,
    status: Option<DatasetStatus>,
    problem: Option<String>,
}

impl NewDatasetItem {
    /// An item of the dataset `dataset_name` with this input (any value that serializes to
    /// JSON).
    pub fn new<T: Serialize + ?Sized>(dataset_name: impl Into<String>, input: &T) -> Self {
        let mut problem = None;
        let input = to_json(input, "input", &mut problem).unwrap_or(Value::Null);
        Self {
            dataset_name: dataset_name.into(),
            input,
            expected_output: None,
            metadata: None,
            source_trace_id: None,
            source_observation_id: None,
            id: None,
            status: None,
            problem,
        }
    }

    /// The output expected for the input.
    pub fn expected_output<T: Serialize + ?Sized>(mut self, expected: &T) -> Self {
        self.expected_output = to_json(expected, "expected output", &mut self.problem);
        self
    }

    /// The item's metadata.
    pub fn metadata<T: Serialize + ?Sized>(mut self, metadata: &T) -> Self {
        self.metadata = to_json(metadata, "metadata", &mut self.problem);
        self
    }

    /// The trace the item comes from (a production trace turned into a test case).
    ///
    /// ```
    /// let trace = langfuse_core::create_trace_id(Some("order-4711"));
    /// let item = langfuse_core::datasets::NewDatasetItem::new("regressions", "refund my order")
    ///     .source_trace_id(trace);
    /// # drop(item);
    /// ```
    pub fn source_trace_id(mut self, trace_id: TraceId) -> Self {
        self.source_trace_id = Some(trace_id.to_string());
        self
    }

    /// The observation the item comes from, with its trace.
    ///
    /// ```
    /// use langfuse_core::{ObservationId, TraceId};
    ///
    /// let trace: TraceId = "4bf92f3577b34da6a3ce929d0e0e4736".parse().unwrap();
    /// let span: ObservationId = "00f067aa0ba902b7".parse().unwrap();
    /// let item = langfuse_core::datasets::NewDatasetItem::new("regressions", "refund my order")
    ///     .source_observation(trace, span);
    /// # drop(item);
    /// ```
    pub fn source_observation(mut self, trace_id: TraceId, observation_id: ObservationId) -> Self {
        self.source_trace_id = Some(trace_id.to_string());
        self.source_observation_id = Some(observation_id.to_string());
        self
    }

    /// The item's id: an existing item with this id is updated (at most 255 characters,
    /// unique in the project).
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Archives the item, or makes it active again.
    pub fn status(mut self, status: DatasetStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// The dataset's name.
    pub fn dataset_name(&self) -> &str {
        &self.dataset_name
    }

    /// The `CreateDatasetItemRequest` body, once [`prepared`](Self::prepared).
    pub(crate) fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert(
            "datasetName".into(),
            Value::String(self.dataset_name.clone()),
        );
        body.insert("input".into(), self.input.clone());
        let optional = [
            ("expectedOutput", self.expected_output.clone()),
            ("metadata", self.metadata.clone()),
            (
                "sourceTraceId",
                self.source_trace_id.clone().map(Value::String),
            ),
            (
                "sourceObservationId",
                self.source_observation_id.clone().map(Value::String),
            ),
            ("id", self.id.clone().map(Value::String)),
            (
                "status",
                self.status.map(|s| Value::String(s.as_str().into())),
            ),
        ];
        body.extend(
            optional
                .into_iter()
                .filter_map(|(name, value)| Some((name.to_owned(), value?))),
        );
        Value::Object(body)
    }

    /// Checks the item and gives it an id if it has none.
    pub(crate) fn prepared(mut self) -> Result<Self, DatasetError> {
        check_name(&self.dataset_name)?;
        if let Some(problem) = self.problem.take() {
            return Err(DatasetError::InvalidRequest(problem));
        }
        match &self.id {
            Some(id) if id.trim().is_empty() => {
                return Err(DatasetError::InvalidRequest("the item id is empty".into()));
            }
            Some(id) if id.chars().count() > 255 => {
                return Err(DatasetError::InvalidRequest(
                    "an item id has at most 255 characters".into(),
                ));
            }
            Some(_) => {}
            None => self.id = Some(crate::scores::random_id()),
        }
        Ok(self)
    }
}

/// A time as the API writes it: RFC 3339 in UTC, to the millisecond (the server's precision),
/// as the `version` parameter and the `langfuse.experiment.item.version` attribute take it.
pub(crate) fn format_time(at: SystemTime) -> String {
    // Before 1970 cannot be a dataset version; the epoch stands in rather than a panic.
    let at = at.max(SystemTime::UNIX_EPOCH);
    let millis = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let at = SystemTime::UNIX_EPOCH + Duration::from_millis(millis as u64);
    humantime::format_rfc3339_millis(at).to_string()
}

/// Parses an API timestamp (`2026-01-21T14:35:42.123Z`; an explicit `+00:00` is accepted too).
pub(crate) fn parse_time(field: &str, text: &str) -> Result<SystemTime, DatasetError> {
    let text = text.trim();
    let normalized = text.strip_suffix("+00:00").map(|t| format!("{t}Z"));
    humantime::parse_rfc3339_weak(normalized.as_deref().unwrap_or(text)).map_err(|e| {
        DatasetError::InvalidResponse(format!("{field} {text:?} is not an RFC 3339 time: {e}"))
    })
}

fn check_name(name: &str) -> Result<(), DatasetError> {
    if name.trim().is_empty() {
        return Err(DatasetError::InvalidRequest(
            "the dataset name is empty".into(),
        ));
    }
    Ok(())
}

/// `value` as JSON; a value that cannot be serialized is remembered as the request's problem
/// (reported when it is sent), as builders here cannot fail.
fn to_json<T: Serialize + ?Sized>(
    value: &T,
    what: &str,
    problem: &mut Option<String>,
) -> Option<Value> {
    match serde_json::to_value(value) {
        Ok(value) => Some(value),
        Err(e) => {
            problem.get_or_insert_with(|| format!("the {what} cannot be serialized: {e}"));
            None
        }
    }
}

impl fmt::Display for DatasetStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn times_round_trip_at_millisecond_precision() {
        let at = parse_time("t", "2026-01-21T14:35:42.123Z").unwrap();
        assert_eq!(format_time(at), "2026-01-21T14:35:42.123Z");
        assert_eq!(
            parse_time("t", "2026-01-21T14:35:42+00:00").unwrap(),
            parse_time("t", "2026-01-21T14:35:42Z").unwrap()
        );
        let nanos = at + Duration::from_nanos(999_999);
        assert_eq!(format_time(nanos), "2026-01-21T14:35:42.123Z");
        assert!(parse_time("t", "yesterday").is_err());
    }

    #[test]
    fn items_without_an_id_get_one() {
        let item = NewDatasetItem::new("qa", "question").prepared().unwrap();
        let body = item.body();
        assert_eq!(body["datasetName"], "qa");
        assert_eq!(body["input"], "question");
        assert_eq!(body["id"].as_str().unwrap().len(), 36);
        assert!(body.get("expectedOutput").is_none());
        let given = NewDatasetItem::new("qa", "q")
            .id("item-1")
            .prepared()
            .unwrap();
        assert_eq!(given.id.as_deref(), Some("item-1"));
    }

    #[test]
    fn problems_are_reported_before_sending() {
        let keys_not_strings: std::collections::HashMap<(u8, u8), u8> = [((1, 2), 3)].into();
        let item = NewDatasetItem::new("qa", &keys_not_strings);
        assert!(matches!(
            item.prepared(),
            Err(DatasetError::InvalidRequest(message)) if message.contains("input")
        ));
        assert!(matches!(
            NewDataset::new("  ").body(),
            Err(DatasetError::InvalidRequest(_))
        ));
        assert!(NewDatasetItem::new("qa", "q").id("").prepared().is_err());
    }

    #[test]
    fn null_fields_are_absent() {
        let body = ItemBody::from_json(json!({
            "id": "i", "datasetId": "d", "datasetName": "n", "status": "ARCHIVED",
            "input": {"q": 1}, "expectedOutput": null, "metadata": null,
            "sourceTraceId": null, "sourceObservationId": null,
            "createdAt": "2026-01-21T14:35:42.000Z", "updatedAt": "2026-01-21T14:35:42.000Z",
            "mediaReferences": []
        }))
        .unwrap();
        assert!(
            ItemBody::from_json(json!({"id": 1}))
                .unwrap()
                .into_item(None)
                .is_err()
        );
        let item = body.into_item(None).unwrap();
        assert_eq!(item.expected_output, None);
        assert_eq!(item.metadata, None);
        assert_eq!(item.status, DatasetStatus::Archived);
        assert_eq!(item.input, json!({"q": 1}));
    }
}
