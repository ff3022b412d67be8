//! The JSON Schema (draft 2020-12) of the apply document, for editors and CI linters: the
//! `ApplyDocument` schema of the OpenAPI document with every schema it references, under
//! `$defs`, with examples for every section (`examples`). `GET /v1/apply/schema` serves it
//! and `docs/apply.schema.json` holds a copy (`gslb-api/tests/apply.rs` keeps the two
//! equal).

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

/// Where the OpenAPI document keeps its schemas, and where a JSON Schema keeps them.
const OPENAPI_REFS: &str = "#/components/schemas/";
const JSON_SCHEMA_REFS: &str = "#/$defs/";

/// The JSON Schema of the apply document.
pub fn apply_json_schema() -> Value {
    let openapi = serde_json::to_value(crate::openapi()).unwrap_or(Value::Null);
    let mut all = openapi["components"]["schemas"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    all.values_mut().for_each(rewrite_refs);
    merge_flattened(&mut all, JSON_SCHEMA_REFS);
    let mut reachable = BTreeSet::new();
    collect_reachable("ApplyDocument", &all, &mut reachable);
    let mut defs: Map<String, Value> = all
        .into_iter()
        .filter(|(name, _)| reachable.contains(name))
        .collect();
    super::examples::add_examples(&mut defs);
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "gslb apply document",
        "description": "What `gslbctl apply -f FILE` reads (YAML or JSON) and `POST /v1/apply` \
                        takes: zones, regions, endpoints, checks, records, GSLB records and \
                        client networks.",
        "$ref": format!("{JSON_SCHEMA_REFS}ApplyDocument"),
        "$defs": defs,
    })
}

/// Inlines `#[serde(flatten)]` structs: utoipa writes `allOf: [{$ref: Inner}, {properties:
/// outer}]`, but `Inner` forbids properties it does not name (`additionalProperties:
/// false`), so no value satisfies both. Each such schema becomes `Inner`'s object with the
/// outer properties and requirements added, as serde reads it. `prefix` is where `$ref`s
/// point (`#/components/schemas/` or `#/$defs/`).
pub fn merge_flattened(schemas: &mut Map<String, Value>, prefix: &str) {
    let names: Vec<String> = schemas.keys().cloned().collect();
    for name in names {
        let Some(parts) = schemas[&name]["allOf"].as_array().cloned() else {
            continue;
        };
        let [Value::Object(first), Value::Object(outer)] = parts.as_slice() else {
            continue;
        };
        let Some(inner_name) = first
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|target| target.strip_prefix(prefix))
        else {
            continue;
        };
        let Some(Value::Object(inner)) = schemas.get(inner_name).cloned() else {
            continue;
        };
        if inner.get("additionalProperties") != Some(&Value::Bool(false)) {
            continue;
        }
        let mut merged = inner;
        for (key, list) in [("properties", false), ("required", true)] {
            let Some(extra) = outer.get(key) else {
                continue;
            };
            match (merged.entry(key).or_insert_with(|| extra.clone()), list) {
                (Value::Object(properties), false) => {
                    if let Some(extra) = extra.as_object() {
                        properties.extend(extra.clone());
                    }
                }
                (Value::Array(required), true) => {
                    for item in extra.as_array().into_iter().flatten() {
                        if !required.contains(item) {
                            required.push(item.clone());
                        }
                    }
                }
                _ => {}
            }
        }
        if let Some(description) = schemas[&name].get("description").cloned() {
            merged.insert("description".to_string(), description);
        }
        schemas.insert(name, Value::Object(merged));
    }
}

/// Points every `$ref` inside `value` at `$defs`.
fn rewrite_refs(value: &mut Value) {
    match value {
        Value::Object(members) => {
            if let Some(Value::String(target)) = members.get_mut("$ref") {
                if let Some(name) = target.strip_prefix(OPENAPI_REFS) {
                    *target = format!("{JSON_SCHEMA_REFS}{name}");
                }
            }
            members.values_mut().for_each(rewrite_refs);
        }
        Value::Array(items) => items.iter_mut().for_each(rewrite_refs),
        _ => {}
    }
}

/// `name` and every schema it references, transitively.
fn collect_reachable(name: &str, all: &Map<String, Value>, found: &mut BTreeSet<String>) {
    if !found.insert(name.to_string()) {
        return;
    }
    let mut targets = Vec::new();
    if let Some(schema) = all.get(name) {
        refs_in(schema, &mut targets);
    }
    for target in targets {
        collect_reachable(&target, all, found);
    }
}

fn refs_in(value: &Value, targets: &mut Vec<String>) {
    match value {
        Value::Object(members) => {
            if let Some(name) = members
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|target| target.strip_prefix(JSON_SCHEMA_REFS))
            {
                targets.push(name.to_string());
            }
            members.values().for_each(|member| refs_in(member, targets));
        }
        Value::Array(items) => items.iter().for_each(|item| refs_in(item, targets)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flattened_gslb_record_takes_its_zone() {
        let schema = apply_json_schema();
        let zoned = &schema["$defs"]["ZonedGslbRecord"];
        assert_eq!(zoned["additionalProperties"], false, "{zoned}");
        assert!(
            zoned["properties"]["zone"].is_object() && zoned["properties"]["policy"].is_object()
        );
        let required = zoned["required"].as_array().expect("required");
        assert!(required.contains(&Value::from("zone")), "{zoned}");
    }

    #[test]
    fn every_reference_resolves_inside_the_schema() {
        let schema = apply_json_schema();
        let defs = schema["$defs"].as_object().expect("$defs");
        assert!(defs.contains_key("ApplyDocument") && defs.contains_key("RegionDto"));
        let mut targets = Vec::new();
        refs_in(&schema, &mut targets);
        for target in targets {
            assert!(defs.contains_key(&target), "dangling $ref {target}");
        }
        assert!(!schema.to_string().contains(OPENAPI_REFS));
    }
}
