//! Examples for the apply schema: for each section of the document, items as an operator
//! writes them (published as the JSON Schema `examples` of the section's item), and the
//! whole document they make together (the `examples` of `ApplyDocument`). The examples
//! are one consistent state: the document applies to an empty node as it stands
//! (`gslb-api/tests/apply.rs`), and every section has at least one example (the test
//! below), so a kind added to the document without an example fails.

use serde_json::{json, Value};

/// The example items of each section, by section name.
pub fn section_examples() -> Vec<(&'static str, Vec<Value>)> {
    vec![
        (
            "scope",
            vec![
                json!({"zones": ["example.com."], "id_prefixes": ["web-", "eu-", "us-"],
                        "networks": ["198.51.100.0/24"]}),
            ],
        ),
        (
            "zones",
            vec![json!({
                "apex": "example.com.",
                "soa": {"mname": "ns1.example.com.", "rname": "hostmaster.example.com."},
                "default_ttl": 300,
                "records": [
                    {"name": "@", "type": "NS", "data": ["ns1.example.com."]},
                    {"name": "ns1", "type": "A", "data": ["192.0.2.53"]},
                    {"name": "@", "type": "MX", "data": ["10 mail.example.com."]}
                ]
            })],
        ),
        (
            "regions",
            vec![
                json!({"id": "eu-west", "location": {"lat": 50.11, "lon": 8.68, "country": "DE",
                                                     "continent": "EU"}, "capacity": 10}),
                json!({"id": "us-east", "location": {"lat": 39.04, "lon": -77.49, "country": "US",
                                                     "continent": "NA"}}),
            ],
        ),
        (
            "endpoints",
            vec![
                json!({"id": "web-eu", "region": "eu-west", "address": "192.0.2.10", "weight": 10}),
                json!({"id": "web-us", "region": "us-east", "address": "192.0.2.20",
                       "labels": {"team": "web"}}),
            ],
        ),
        (
            "records",
            vec![
                json!({"zone": "example.com.", "name": "mail", "type": "A", "ttl": 3600,
                        "data": ["192.0.2.25"]}),
            ],
        ),
        (
            "checks",
            vec![
                json!({"id": "web-eu-https", "endpoint": "web-eu", "interval_ms": "30s",
                       "timeout_ms": "5s",
                       "kind": {"type": "https", "path": "/healthz", "host": "www.example.com"}}),
                json!({"id": "web-us-tcp", "endpoint": "web-us",
                       "kind": {"type": "tcp", "port": 443}}),
            ],
        ),
        (
            "gslb_records",
            vec![
                json!({"zone": "example.com.", "name": "www", "type": "A", "ttl": 30,
                       "policy": {"geo": {
                           "rules": [{"match": [{"continent": "EU"}],
                                      "node": {"failover": [{"region": "eu-west"},
                                                            {"region": "us-east"}]}}],
                           "default": {"failover": [{"region": "us-east"},
                                                    {"region": "eu-west"}]}}}}),
                json!({"zone": "example.com.", "name": "api", "type": "A", "ttl": 60,
                       "policy": {"weighted": [{"weight": 3, "node": {"endpoints": ["web-eu"]}},
                                               {"weight": 1, "node": {"endpoints": ["web-us"]}}]},
                       "when_all_down": "fail_closed"}),
            ],
        ),
        (
            "networks",
            vec![
                json!({"cidr": "198.51.100.0/24", "country": "DE", "continent": "EU",
                        "rtt_ms": {"eu-west": 8, "us-east": 95}}),
            ],
        ),
    ]
}

/// The whole document the section examples make.
pub fn document_example() -> Value {
    let mut document = serde_json::Map::new();
    for (section, items) in section_examples() {
        let value = if section == "scope" {
            items.into_iter().next().unwrap_or(Value::Null)
        } else {
            Value::Array(items)
        };
        document.insert(section.to_string(), value);
    }
    Value::Object(document)
}

/// Adds the examples to the schema's `$defs`: each section's item schema (followed through
/// its `$ref`) gets its section's items, `ApplyDocument` the whole document.
pub fn add_examples(defs: &mut serde_json::Map<String, Value>) {
    let document = defs.get("ApplyDocument").cloned().unwrap_or(Value::Null);
    for (section, items) in section_examples() {
        let property = &document["properties"][section];
        let Some(target) = item_def(property) else {
            continue;
        };
        if let Some(Value::Object(schema)) = defs.get_mut(&target) {
            schema.insert("examples".to_string(), Value::Array(items));
        }
    }
    if let Some(Value::Object(schema)) = defs.get_mut("ApplyDocument") {
        schema.insert("examples".to_string(), json!([document_example()]));
    }
}

/// The `$defs` name a section's items (or its one value) refer to.
pub fn item_def(property: &Value) -> Option<String> {
    let reference = property["items"]["$ref"]
        .as_str()
        .or_else(|| property["$ref"].as_str())
        .or_else(|| {
            property["oneOf"]
                .as_array()?
                .iter()
                .find_map(|choice| choice["$ref"].as_str())
        })?;
    reference.rsplit('/').next().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::{apply_json_schema, ApplyDocument};

    /// Every section of the document has examples in the published schema, and together
    /// they read as an `ApplyDocument`.
    #[test]
    fn every_section_has_examples_that_read_as_a_document() {
        let schema = apply_json_schema();
        let defs = &schema["$defs"];
        let sections = defs["ApplyDocument"]["properties"]
            .as_object()
            .expect("the sections");
        for (section, property) in sections {
            let target = item_def(property)
                .unwrap_or_else(|| panic!("section {section} refers to no item schema"));
            let examples = defs[&target]["examples"].as_array();
            assert!(
                examples.is_some_and(|examples| !examples.is_empty()),
                "section {section} ({target}) has no examples"
            );
        }
        let document: ApplyDocument =
            serde_json::from_value(document_example()).expect("the examples read as a document");
        assert!(document.scope.is_some() && !document.gslb_records.is_empty());
        assert_eq!(defs["ApplyDocument"]["examples"][0], document_example());
    }
}
