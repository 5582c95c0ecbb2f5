//! openapi.yaml and the route table stay in step, and its examples are real.

use std::collections::BTreeSet;

use serde_json::Value;
use truckpass::error::ErrorCode;
use truckpass::startup::ROUTES;

use crate::helpers::{CONTRACT, escape_pointer};

#[test]
fn every_route_is_described_and_every_description_is_a_route() {
    let mut served: Vec<(String, String)> = ROUTES
        .iter()
        .map(|(method, path)| (method.to_string(), path.to_string()))
        .collect();
    served.sort();
    let described = CONTRACT.operations();
    let undocumented: Vec<_> = served.iter().filter(|op| !described.contains(op)).collect();
    let phantom: Vec<_> = described.iter().filter(|op| !served.contains(op)).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from openapi.yaml: {undocumented:?}"
    );
    assert!(
        phantom.is_empty(),
        "openapi.yaml describes routes that do not exist: {phantom:?}"
    );
}

#[test]
fn the_document_is_openapi_3_1_with_unique_operation_ids() {
    assert_eq!(CONTRACT.document["openapi"], "3.1.0");
    let mut ids: Vec<String> = Vec::new();
    for (method, path) in CONTRACT.operations() {
        let operation = &CONTRACT.document["paths"][&path][&method];
        let id = operation["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
        assert!(!ids.contains(&id.to_owned()), "duplicate operationId {id}");
        ids.push(id.to_owned());
        assert!(
            operation["responses"]
                .as_object()
                .is_some_and(|r| !r.is_empty()),
            "{method} {path} has no responses"
        );
    }
}

/// Walks the document and validates every `example` against the schema it sits in
/// (or, for media types, the schema next to it).
fn collect_examples(value: &Value, pointer: &str, found: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            if map.contains_key("example") {
                if map.contains_key("schema") {
                    found.push((format!("{pointer}/schema"), format!("{pointer}/example")));
                } else if map.contains_key("type")
                    || map.contains_key("properties")
                    || map.contains_key("$ref")
                {
                    found.push((pointer.to_owned(), format!("{pointer}/example")));
                }
            }
            for (key, child) in map {
                if key == "example" || key == "examples" {
                    continue;
                }
                collect_examples(child, &format!("{pointer}/{}", escape_pointer(key)), found);
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                collect_examples(child, &format!("{pointer}/{index}"), found);
            }
        }
        _ => {}
    }
}

#[test]
fn every_example_matches_its_schema() {
    let mut found = Vec::new();
    collect_examples(&CONTRACT.document, "", &mut found);
    assert!(
        found.len() >= 10,
        "expected examples in openapi.yaml, found {}",
        found.len()
    );
    let mut failures = Vec::new();
    for (schema, example) in &found {
        let instance = CONTRACT.document.pointer(example).unwrap();
        if let Err(error) = CONTRACT.validate(schema, instance) {
            failures.push(format!("{example}: {error}"));
        }
    }
    assert!(
        failures.is_empty(),
        "examples that do not match their schema:\n{}",
        failures.join("\n")
    );
}

#[test]
fn the_error_codes_are_the_ones_the_document_lists() {
    let listed: BTreeSet<&str> =
        CONTRACT.document["components"]["schemas"]["Problem"]["properties"]["code"]["enum"]
            .as_array()
            .expect("Problem.code lists its values")
            .iter()
            .map(|code| code.as_str().expect("a code is a string"))
            .collect();
    let known: BTreeSet<&str> = ErrorCode::ALL.iter().map(|code| code.as_str()).collect();
    assert_eq!(listed, known);
}
