//! A stand-in for Langfuse's datasets API on a [`Receiver`]: datasets and items in memory,
//! every request checked against the OpenAPI spec (not deprecated, known parameters, bodies
//! strictly valid) and every answer against the spec's response schema. What does not conform
//! is collected in [`DatasetServer::problems`], which the tests assert empty.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::openapi::{check_request, check_response};
use super::{Receiver, RecordedRequest, Reply};

/// The project every stand-in dataset belongs to (the receiver's default project too).
pub const PROJECT_ID: &str = super::DEFAULT_PROJECT_ID;
/// When every stand-in item was created unless said otherwise.
pub const CREATED_AT: &str = "2026-01-21T14:35:42.000Z";

#[derive(Default)]
struct State {
    datasets: Vec<Value>,
    items: Vec<Value>,
    problems: Vec<String>,
    /// `(page, limit, version)` of every item listing, in order.
    pages: Vec<(u64, u64, Option<String>)>,
}

/// The stand-in; see the module documentation. Cloning shares it.
#[derive(Clone)]
pub struct DatasetServer {
    state: Arc<Mutex<State>>,
}

impl DatasetServer {
    /// Answers the dataset endpoints of `receiver` from now on (other paths keep their
    /// defaults: OTLP, scores, projects).
    pub fn install(receiver: &Receiver) -> Self {
        Self::install_with(receiver, |_| None)
    }

    /// Like [`install`](Self::install), with `other` deciding the answers to the other paths
    /// (`None`: the receiver's default).
    pub fn install_with(
        receiver: &Receiver,
        other: impl Fn(&RecordedRequest) -> Option<Reply> + Send + Sync + 'static,
    ) -> Self {
        let server = Self {
            state: Arc::default(),
        };
        let serving = server.clone();
        receiver.respond_with(move |request| serving.answer(request).or_else(|| other(request)));
        server
    }

    /// Adds a dataset; returns it as the API shows it.
    pub fn add_dataset(&self, name: &str, id: &str) -> Value {
        let dataset = json!({
            "id": id,
            "name": name,
            "description": format!("the {name} dataset"),
            "metadata": { "owner": "tests" },
            "inputSchema": null,
            "expectedOutputSchema": null,
            "projectId": PROJECT_ID,
            "createdAt": CREATED_AT,
            "updatedAt": CREATED_AT,
        });
        self.lock().datasets.push(dataset.clone());
        dataset
    }

    /// Adds an item to the dataset `dataset` (which must exist), created at `created_at`.
    pub fn add_item(
        &self,
        dataset: &str,
        id: &str,
        input: Value,
        expected_output: Value,
        metadata: Value,
        created_at: &str,
    ) {
        let mut state = self.lock();
        let dataset_id = state
            .datasets
            .iter()
            .find(|d| d["name"] == dataset)
            .map(|d| d["id"].clone())
            .expect("add the dataset first");
        state.items.push(json!({
            "id": id,
            "status": "ACTIVE",
            "input": input,
            "expectedOutput": expected_output,
            "metadata": metadata,
            "sourceTraceId": null,
            "sourceObservationId": null,
            "datasetId": dataset_id,
            "datasetName": dataset,
            "createdAt": created_at,
            "updatedAt": created_at,
            "mediaReferences": [],
        }));
    }

    /// Requests and answers that do not conform to the spec.
    pub fn problems(&self) -> Vec<String> {
        self.lock().problems.clone()
    }

    /// `(page, limit, version)` of every item listing so far.
    pub fn pages(&self) -> Vec<(u64, u64, Option<String>)> {
        self.lock().pages.clone()
    }

    /// The items stored, as the API shows them.
    pub fn items(&self) -> Vec<Value> {
        self.lock().items.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn answer(&self, request: &RecordedRequest) -> Option<Reply> {
        let is_dataset_path = request.path.starts_with("/api/public/v2/datasets")
            || request.path.starts_with("/api/public/dataset")
            || request.path.starts_with("/api/public/datasets");
        if !is_dataset_path {
            return None;
        }
        let body: Option<Value> = if request.body.is_empty() {
            None
        } else {
            match request
                .decoded_body()
                .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
            {
                Ok(body) => Some(body),
                Err(e) => {
                    self.lock().problems.push(format!("unreadable body: {e}"));
                    return Some(Reply::status(400).with_body(r#"{"message":"unreadable"}"#));
                }
            }
        };
        let problems = check_request(&request.method, &request.target(), body.as_ref());
        if !problems.is_empty() {
            let message = json!({ "message": format!("{problems:?}") }).to_string();
            self.lock().problems.extend(problems);
            return Some(Reply::status(400).with_body(&message));
        }
        let query = super::urls::query_pairs(request.query.as_deref().unwrap_or(""));
        let segments: Vec<&str> = request.path.split('/').collect();
        let (status, answer) = match (request.method.as_str(), segments.as_slice()) {
            ("GET", ["", "api", "public", "v2", "datasets", name]) => {
                let name = super::urls::path_segment(name);
                let state = self.lock();
                match state.datasets.iter().find(|d| d["name"] == name.as_str()) {
                    Some(dataset) => (200, dataset.clone()),
                    None => (404, json!({ "message": "Dataset not found" })),
                }
            }
            ("POST", ["", "api", "public", "v2", "datasets"]) => {
                let body = body.unwrap_or_default();
                let name = body["name"].as_str().unwrap_or_default().to_owned();
                let mut state = self.lock();
                let existing = state
                    .datasets
                    .iter()
                    .position(|d| d["name"] == name.as_str());
                let mut dataset = match existing {
                    Some(index) => state.datasets.remove(index),
                    None => json!({
                        "id": format!("ds-{}", state.datasets.len() + 1),
                        "name": name,
                        "projectId": PROJECT_ID,
                        "createdAt": CREATED_AT,
                        "updatedAt": CREATED_AT,
                    }),
                };
                for (field, default) in [
                    ("description", Value::Null),
                    ("metadata", Value::Null),
                    ("inputSchema", Value::Null),
                    ("expectedOutputSchema", Value::Null),
                ] {
                    dataset[field] = body.get(field).cloned().unwrap_or(default);
                }
                state.datasets.push(dataset.clone());
                (200, dataset)
            }
            ("GET", ["", "api", "public", "dataset-items"]) => {
                let value = |name: &str| {
                    query
                        .iter()
                        .find(|(n, _)| n == name)
                        .map(|(_, v)| v.clone())
                };
                let page: u64 = value("page").and_then(|p| p.parse().ok()).unwrap_or(1);
                let limit: u64 = value("limit").and_then(|l| l.parse().ok()).unwrap_or(50);
                let version = value("version");
                let name = value("datasetName");
                let mut state = self.lock();
                state.pages.push((page, limit, version.clone()));
                let version_time = version
                    .as_deref()
                    .map(|v| humantime::parse_rfc3339(v).expect("an RFC 3339 version"));
                let matching: Vec<Value> = state
                    .items
                    .iter()
                    .filter(|i| name.as_deref().is_none_or(|n| i["datasetName"] == n))
                    .filter(|i| {
                        version_time.is_none_or(|at| {
                            humantime::parse_rfc3339(i["createdAt"].as_str().unwrap()).unwrap()
                                <= at
                        })
                    })
                    .cloned()
                    .collect();
                let total = matching.len() as u64;
                let data: Vec<Value> = matching
                    .into_iter()
                    .skip(((page - 1) * limit) as usize)
                    .take(limit as usize)
                    .collect();
                (
                    200,
                    json!({
                        "data": data,
                        "meta": {
                            "page": page,
                            "limit": limit,
                            "totalItems": total,
                            "totalPages": total.div_ceil(limit),
                        },
                    }),
                )
            }
            ("POST", ["", "api", "public", "dataset-items"]) => {
                let body = body.unwrap_or_default();
                let mut state = self.lock();
                let dataset_name = body["datasetName"].as_str().unwrap_or_default().to_owned();
                match state
                    .datasets
                    .iter()
                    .find(|d| d["name"] == dataset_name.as_str())
                {
                    None => (404, json!({ "message": "Dataset not found" })),
                    Some(dataset) => {
                        let item = json!({
                            "id": body.get("id").cloned().unwrap_or(json!("server-id")),
                            "status": body.get("status").cloned().unwrap_or(json!("ACTIVE")),
                            "input": body.get("input").cloned().unwrap_or(Value::Null),
                            "expectedOutput": body.get("expectedOutput").cloned().unwrap_or(Value::Null),
                            "metadata": body.get("metadata").cloned().unwrap_or(Value::Null),
                            "sourceTraceId": body.get("sourceTraceId").cloned().unwrap_or(Value::Null),
                            "sourceObservationId": body.get("sourceObservationId").cloned().unwrap_or(Value::Null),
                            "datasetId": dataset["id"],
                            "datasetName": dataset_name,
                            "createdAt": CREATED_AT,
                            "updatedAt": CREATED_AT,
                            "mediaReferences": [],
                        });
                        state.items.retain(|i| i["id"] != item["id"]);
                        state.items.push(item.clone());
                        (200, item)
                    }
                }
            }
            _ => (404, json!({ "message": "not found" })),
        };
        let problems = check_response(&request.method, &request.path, status, &answer);
        self.lock().problems.extend(problems.into_iter().map(|p| {
            format!(
                "stand-in answer to {} {}: {p}",
                request.method, request.path
            )
        }));
        Some(Reply::status(status).with_body(&answer.to_string()))
    }
}
