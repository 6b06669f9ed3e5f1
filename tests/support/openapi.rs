//! Requests checked against Langfuse's own API specification, vendored at
//! `tests/data/langfuse-openapi.yml` (its source and date are in `tests/data/README.md`).
//!
//! - [`assert_valid`] / [`errors`]: a body against a schema of `components.schemas`, strict
//!   about its fields (the server ignores unknown fields, but the SDK must send none).
//! - [`check_request`]: a whole request against the operation the spec defines for its method
//!   and path: the operation exists and is not deprecated, required query parameters are
//!   there and no unknown ones, integer parameters parse, and the JSON body (if the operation
//!   takes one) is valid, strictly.
//! - [`check_response`]: a stand-in server's answer against the operation's response schema,
//!   so that the fixtures the SDK parses look like what the real server sends.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use serde_json::{Value, json};

/// The spec, parsed once per test process.
pub fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/langfuse-openapi.yml"
        );
        let text = std::fs::read_to_string(path).expect("read tests/data/langfuse-openapi.yml");
        serde_yaml_ng::from_str(&text).expect("parse the OpenAPI spec")
    })
}

/// The errors of `body` against the schema `name` (`components.schemas.<name>`), each with
/// the path of the value it is about; empty when the body is valid.
pub fn errors(name: &str, body: &Value) -> Vec<String> {
    assert!(
        spec()["components"]["schemas"].get(name).is_some(),
        "the spec defines no schema named {name}"
    );
    let schema = json!({ "$ref": format!("#/components/schemas/{name}") });
    errors_against(&format!("strict:{name}"), &schema, true, body)
}

/// Asserts that `body` is valid against the schema `name`.
#[track_caller]
pub fn assert_valid(name: &str, body: &Value) {
    let errors = errors(name, body);
    assert!(
        errors.is_empty(),
        "not a valid {name}: {errors:?}\n{body:#}"
    );
}

/// The operation of the spec for `method` and a concrete `path` (without the query), and the
/// path template it matched (`/api/public/v2/prompts/{promptName}`).
pub fn operation(method: &str, path: &str) -> Option<(&'static str, &'static Value)> {
    let method = method.to_ascii_lowercase();
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let paths = spec()["paths"].as_object()?;
    // A literal segment beats a parameter (`/v2/datasets` before `/v2/{x}`): fewest
    // parameters first.
    let mut matches: Vec<(&'static str, &'static Value, usize)> = paths
        .iter()
        .filter_map(|(template, operations)| {
            let parts: Vec<&str> = template.split('/').collect();
            if parts.len() != segments.len() {
                return None;
            }
            let mut parameters = 0;
            for (part, segment) in parts.iter().zip(&segments) {
                if part.starts_with('{') {
                    if segment.is_empty() {
                        return None;
                    }
                    parameters += 1;
                } else if part != segment {
                    return None;
                }
            }
            let operation = operations.get(&method)?;
            Some((template.as_str(), operation, parameters))
        })
        .collect();
    matches.sort_by_key(|(_, _, parameters)| *parameters);
    matches.first().map(|(t, o, _)| (*t, *o))
}

/// The problems of a request the SDK sent, against the spec (empty when it conforms).
/// `path_and_query` is the request target as sent (`/api/public/v2/prompts/a%2Fb?label=x`).
pub fn check_request(method: &str, path_and_query: &str, body: Option<&Value>) -> Vec<String> {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let Some((template, operation)) = operation(method, path) else {
        return vec![format!("no operation {method} {path} in the spec")];
    };
    let mut problems = Vec::new();
    if operation["deprecated"] == json!(true) {
        problems.push(format!("{method} {template} is deprecated"));
    }
    let parameters: Vec<&Value> = operation["parameters"]
        .as_array()
        .map(|p| p.iter().collect())
        .unwrap_or_default();
    let given = super::urls::query_pairs(query);
    for parameter in parameters.iter().filter(|p| p["in"] == "query") {
        let name = parameter["name"].as_str().unwrap_or_default();
        let values: Vec<&str> = given
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect();
        if values.is_empty() && parameter["required"] == json!(true) {
            problems.push(format!("query parameter {name} is required"));
        }
        let integer = parameter["schema"]["type"] == "integer";
        for value in values {
            if integer && value.parse::<i64>().is_err() {
                problems.push(format!(
                    "query parameter {name}={value:?} is not an integer"
                ));
            }
        }
    }
    for (name, _) in &given {
        let known = parameters
            .iter()
            .any(|p| p["in"] == "query" && p["name"] == name.as_str());
        if !known {
            problems.push(format!("unknown query parameter {name}"));
        }
    }
    let schema = &operation["requestBody"]["content"]["application/json"]["schema"];
    match (schema.is_null(), body) {
        (true, Some(_)) => problems.push(format!("{method} {template} takes no body")),
        (false, None) if operation["requestBody"]["required"] == json!(true) => {
            problems.push(format!("{method} {template} needs a body"));
        }
        (false, Some(body)) => {
            let key = format!("request:{method}:{template}");
            problems.extend(errors_against(&key, schema, true, body));
        }
        _ => {}
    }
    problems
}

/// Asserts that a request conforms to the spec; see [`check_request`].
#[track_caller]
pub fn assert_request(method: &str, path_and_query: &str, body: Option<&Value>) {
    let problems = check_request(method, path_and_query, body);
    assert!(
        problems.is_empty(),
        "{method} {path_and_query} does not conform to the spec: {problems:?}\n{body:#?}"
    );
}

/// The problems of a stand-in's answer with `status` to `method path`, against the response
/// schema the spec gives for that status (not strict: the server may add fields).
pub fn check_response(method: &str, path: &str, status: u16, body: &Value) -> Vec<String> {
    let path = path.split('?').next().unwrap_or(path);
    let Some((template, operation)) = operation(method, path) else {
        return vec![format!("no operation {method} {path} in the spec")];
    };
    let schema =
        &operation["responses"][status.to_string()]["content"]["application/json"]["schema"];
    if schema.is_null() {
        return Vec::new();
    }
    let key = format!("response:{method}:{template}:{status}");
    errors_against(&key, schema, false, body)
}

fn errors_against(key: &str, schema: &Value, strict: bool, body: &Value) -> Vec<String> {
    with_validator(key, schema, strict, |validator| {
        validator
            .iter_errors(body)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect()
    })
}

fn with_validator<T>(
    key: &str,
    schema: &Value,
    strict: bool,
    f: impl FnOnce(&jsonschema::Validator) -> T,
) -> T {
    static VALIDATORS: OnceLock<Mutex<HashMap<String, &'static jsonschema::Validator>>> =
        OnceLock::new();
    let validators = VALIDATORS.get_or_init(Default::default);
    let mut validators = validators.lock().unwrap();
    let validator = *validators
        .entry(key.to_owned())
        .or_insert_with(|| Box::leak(Box::new(compile(schema, strict))));
    drop(validators);
    f(validator)
}

/// A validator for `schema`, which may refer to `components.schemas`. Strict: the body may
/// have no field the schema does not define (at its top level, through `$ref`, `allOf` and
/// `oneOf` alike: JSON Schema's `unevaluatedProperties`).
fn compile(schema: &Value, strict: bool) -> jsonschema::Validator {
    let mut schemas = spec()["components"]["schemas"].clone();
    let mut schema = schema.clone();
    to_json_schema(&mut schemas);
    to_json_schema(&mut schema);
    let mut root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": { "schemas": schemas },
    });
    if let Value::Object(fields) = schema {
        for (name, value) in fields {
            root[name] = value;
        }
    }
    if strict {
        root["unevaluatedProperties"] = json!(false);
    }
    jsonschema::validator_for(&root).unwrap_or_else(|e| panic!("the schema compiles: {e}"))
}

/// Rewrites OpenAPI 3.0's `nullable: true` into JSON Schema, everywhere under `value`.
fn to_json_schema(value: &mut Value) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(to_json_schema),
        Value::Object(map) => {
            map.values_mut().for_each(to_json_schema);
            if map.remove("nullable") != Some(Value::Bool(true)) {
                return;
            }
            match map.get("type").cloned() {
                Some(Value::String(kind)) => {
                    map.insert("type".into(), json!([kind, "null"]));
                    if let Some(Value::Array(options)) = map.get_mut("enum") {
                        options.push(Value::Null);
                    }
                }
                // `$ref`, `oneOf`...: null or the schema as it is.
                _ => {
                    let schema = Value::Object(std::mem::take(map));
                    map.insert("anyOf".into(), json!([schema, { "type": "null" }]));
                }
            }
        }
        _ => {}
    }
}
