//! Requests checked against Langfuse's own API specification, vendored at
//! `tests/data/langfuse-openapi.yml` (its source and date are in `tests/data/README.md`).
//!
//! A schema of the spec's `components.schemas` becomes a JSON Schema validator, strict about
//! fields: the server ignores unknown fields, but the SDK must send none, so a field the
//! schema does not define fails the test.

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
    with_validator(name, |validator| {
        validator
            .iter_errors(body)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect()
    })
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

fn with_validator<T>(name: &str, f: impl FnOnce(&jsonschema::Validator) -> T) -> T {
    static VALIDATORS: OnceLock<Mutex<HashMap<String, &'static jsonschema::Validator>>> =
        OnceLock::new();
    let validators = VALIDATORS.get_or_init(Default::default);
    let mut validators = validators.lock().unwrap();
    let validator = *validators
        .entry(name.to_owned())
        .or_insert_with(|| Box::leak(Box::new(compile(name))));
    drop(validators);
    f(validator)
}

fn compile(name: &str) -> jsonschema::Validator {
    let mut schemas = spec()["components"]["schemas"].clone();
    assert!(
        schemas.get(name).is_some(),
        "the spec defines no schema named {name}"
    );
    to_json_schema(&mut schemas);
    schemas[name]["additionalProperties"] = json!(false);
    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": format!("#/components/schemas/{name}"),
        "components": { "schemas": schemas },
    });
    jsonschema::validator_for(&root)
        .unwrap_or_else(|e| panic!("{name} compiles as a JSON schema: {e}"))
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
