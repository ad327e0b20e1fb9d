//! The OpenAPI document is complete and speaks the original backend's wire names.
//!
//! Every route of the route table documents its request schema (when it takes a body), a
//! schema for each successful answer with content, and its error answers; every schema we
//! share with the original backend (`docs/reference/original-backend-openapi.json`, a copy of
//! the reference) uses its field names, apart from the additions listed here.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

fn ours() -> Value {
    serde_json::to_value(pos_server::openapi()).unwrap()
}

fn reference() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../docs/reference/original-backend-openapi.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Routes that take no body although their method could carry one (the original client
/// sends an empty POST to refresh a token).
const BODYLESS_WRITES: &[(&str, &str)] = &[
    ("post", "/api/v1/refresh-token"),
    // Flips the variant's `active` flag; nothing to send.
    ("patch", "/api/v1/variants/{id}/toggle-active"),
    // Undoes a soft delete; the path says which.
    ("post", "/api/v1/parties/{id}/restore"),
];

fn has_schema(content: &Value) -> bool {
    content
        .as_object()
        .is_some_and(|types| !types.is_empty() && types.values().all(|t| t.get("schema").is_some()))
}

#[test]
fn every_route_documents_its_request_answers_and_errors() {
    let document = ours();
    let paths = document["paths"].as_object().unwrap();
    assert!(paths.len() > 20, "the route table is in the document");
    let mut problems = Vec::new();
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            let route = format!("{} {path}", method.to_uppercase());
            let writes = ["post", "put", "patch"].contains(&method.as_str());
            let bodyless = BODYLESS_WRITES.contains(&(method.as_str(), path.as_str()));
            match operation.get("requestBody") {
                Some(body) if !has_schema(&body["content"]) => {
                    problems.push(format!("{route}: request body without a schema"))
                }
                None if writes && !bodyless => {
                    problems.push(format!("{route}: no request body schema"))
                }
                _ => {}
            }
            let responses = operation["responses"].as_object().unwrap();
            let successes: Vec<_> = responses.keys().filter(|c| c.starts_with('2')).collect();
            if successes.is_empty() {
                problems.push(format!("{route}: no success answer"));
            }
            for (code, answer) in responses {
                let content = answer.get("content");
                if code != "204" && !content.is_some_and(has_schema) {
                    problems.push(format!("{route}: answer {code} has no schema"));
                }
            }
            let secured = operation
                .get("security")
                .and_then(Value::as_array)
                .is_some_and(|s| !s.is_empty());
            let mut owed = vec!["500"];
            if secured {
                owed.push("401");
            }
            if path.contains('{') {
                owed.push("404");
            }
            if operation.get("requestBody").is_some() {
                owed.extend(["413", "422"]);
            }
            for code in owed {
                if !responses.contains_key(code) {
                    problems.push(format!("{route}: error answer {code} is not documented"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A schema's property names, following `$ref` and `allOf`/`oneOf`/`anyOf`.
fn properties(schema: &Value, schemas: &Value, out: &mut BTreeSet<String>) {
    if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
        let name = target.rsplit('/').next().unwrap();
        properties(&schemas[name], schemas, out);
    }
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        out.extend(props.keys().cloned());
    }
    for combinator in ["allOf", "oneOf", "anyOf"] {
        for part in schema
            .get(combinator)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            properties(part, schemas, out);
        }
    }
}

/// Fields every syncable resource carries beyond the original (see `docs/SYNC-PROTOCOL.md`).
const SYNC_FIELDS: &[&str] = &["id", "version", "created_at", "updated_at", "deleted_at"];

/// Our further documented additions, per schema.
fn additions() -> BTreeMap<&'static str, &'static [&'static str]> {
    BTreeMap::from([
        // Looked up by the terminal's scanner (`GET /products/by-barcode/{code}`).
        ("Product", &["barcode"][..]),
        // The reference takes these in the business update's body and invoice settings; we
        // answer them with the business they belong to.
        (
            "Business",
            &[
                "gratitude_message",
                "invoice_note",
                "invoice_size",
                "sale_rounding_option",
            ][..],
        ),
    ])
}

#[test]
fn shared_resources_use_the_reference_field_names() {
    let document = ours();
    let reference = reference();
    let our_schemas = &document["components"]["schemas"];
    let their_schemas = &reference["components"]["schemas"];
    let additions = additions();
    let mut compared = 0;
    let mut problems = Vec::new();
    for (name, schema) in our_schemas.as_object().unwrap() {
        // The reference names some resources `XResource`.
        let theirs = [name.clone(), format!("{name}Resource")]
            .into_iter()
            .find_map(|n| their_schemas.get(&n).map(|s| (n, s)));
        let Some((their_name, their_schema)) = theirs else {
            continue;
        };
        compared += 1;
        let mut our_fields = BTreeSet::new();
        properties(schema, our_schemas, &mut our_fields);
        let mut their_fields = BTreeSet::new();
        properties(their_schema, their_schemas, &mut their_fields);
        let allowed = additions.get(name.as_str()).copied().unwrap_or(&[]);
        for field in &our_fields {
            if !their_fields.contains(field)
                && !SYNC_FIELDS.contains(&field.as_str())
                && !allowed.contains(&field.as_str())
            {
                problems.push(format!(
                    "{name}.{field}: not a field of the reference's {their_name}"
                ));
            }
        }
    }
    assert!(
        compared >= 8,
        "the catalog resources are compared ({compared})"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The test above must be able to fail: a renamed field is caught.
#[test]
fn a_renamed_field_is_caught() {
    let reference = reference();
    let schemas = &reference["components"]["schemas"];
    let mut fields = BTreeSet::new();
    properties(&schemas["Product"], schemas, &mut fields);
    assert!(fields.contains("productSalePrice"));
    assert!(!fields.contains("product_sale_price"));
}

/// A path with each parameter's name left out: `/v1/brands/{brand}` and `/v1/brands/{id}`
/// are one route.
fn route_shape(path: &str) -> String {
    let mut shape = String::new();
    let mut in_parameter = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_parameter = true;
                shape.push_str("{}");
            }
            '}' => in_parameter = false,
            _ if in_parameter => {}
            _ => shape.push(c),
        }
    }
    shape
}

fn routes_of(document: &Value, prefix: &str) -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                routes.insert((
                    method.to_uppercase(),
                    route_shape(&format!("{prefix}{path}")),
                ));
            }
        }
    }
    routes
}

/// Every path and method of the reference document is one of our routes (its `/v1/x` is
/// our `/api/v1/x`).
#[test]
fn every_reference_route_is_served() {
    let ours = routes_of(&ours(), "");
    let theirs = routes_of(&reference(), "/api");
    assert!(theirs.len() > 100, "the reference's routes are read");
    let missing: Vec<String> = theirs
        .difference(&ours)
        .map(|(method, path)| format!("{method} {path}"))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} reference routes are not served:\n{}",
        missing.len(),
        theirs.len(),
        missing.join("\n")
    );
}

#[test]
fn route_shapes_ignore_parameter_names() {
    assert_eq!(route_shape("/v1/brands/{brand}"), "/v1/brands/{}");
    assert_eq!(route_shape("/v1/brands/{id}"), "/v1/brands/{}");
    assert_ne!(route_shape("/v1/brands/{id}"), route_shape("/v1/brands"));
}
