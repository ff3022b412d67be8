//! What `apply -f` reads: one or more YAML documents (`---`) or concatenated JSON values,
//! each either an apply document (`regions:`, `zones:`, ...) or exactly what a
//! `gslbctl get KIND -o yaml|json` printed (one item or a list of one kind), merged into the
//! one `ApplyDocument` the server reconciles.
//!
//! Every merged item remembers where it came from in the user's file (`document 2 item 3
//! (endpoint web-eu)`), so a fault the server names by its place in the merged document
//! (`endpoints[4].weight`) is reported by its place in the file instead.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use gslb_api::apply::{ApplyDocument, ZonedGslbRecord, ZonedRecord};
use gslb_api::dto::{
    CheckDto, EndpointDto, GslbRecordDto, NetworkDto, RecordSetDto, RegionDto, ZoneDto,
};
use serde_json::{Map, Value};

use crate::ctl::{from_value, parse_documents};

/// The merged document and where each of its items sits in the user's file.
#[derive(Debug)]
pub(crate) struct ApplyInput {
    /// What is sent to `POST /v1/apply`.
    pub(crate) document: ApplyDocument,
    /// Per section, each merged item's place in the file, by its index in the section.
    places: BTreeMap<String, Vec<String>>,
}

impl ApplyInput {
    /// Parses `text` (the contents of `file`); `zone` is the zone of record sets and GSLB
    /// records listed without one (what `get records --zone Z` prints).
    pub(crate) fn parse(text: &str, file: &Path, zone: Option<&str>) -> Result<ApplyInput> {
        let documents = parse_documents(text, file)?;
        let several = documents.len() > 1;
        let mut input = ApplyInput {
            document: ApplyDocument::default(),
            places: BTreeMap::new(),
        };
        for (index, value) in documents.into_iter().enumerate() {
            let document_name = if several {
                format!("document {}", index + 1)
            } else {
                String::new()
            };
            input
                .add_document(value, &document_name, zone)
                .with_context(|| format!("{} is not valid", file.display()))?;
        }
        Ok(input)
    }

    /// Renames a path the server reported (`endpoints[4].weight`) to the item's place in
    /// the user's file (`document 2 item 1 (endpoint web-eu): weight`); other paths are
    /// kept.
    pub(crate) fn place_of(&self, path: &str) -> String {
        let Some((section, rest)) = path.split_once('[') else {
            return path.to_string();
        };
        let Some((index, after)) = rest.split_once(']') else {
            return path.to_string();
        };
        let place = index
            .parse::<usize>()
            .ok()
            .and_then(|index| self.places.get(section)?.get(index));
        match place {
            Some(place) if after.is_empty() => place.clone(),
            // `regions[0]` as written: the rest of the path reads on (`regions[0].location`).
            Some(place) if place.ends_with(']') => format!("{place}{after}"),
            Some(place) => format!("{place}: {}", after.trim_start_matches('.')),
            None => path.to_string(),
        }
    }

    /// Adds one document: an apply document, one item, or a list of items of one kind.
    fn add_document(
        &mut self,
        value: Value,
        document_name: &str,
        zone: Option<&str>,
    ) -> Result<()> {
        match value {
            Value::Null => Ok(()),
            Value::Array(items) => {
                for (index, item) in items.into_iter().enumerate() {
                    let place = join(document_name, &format!("item {}", index + 1));
                    self.add_item(item, &place, zone)?;
                }
                Ok(())
            }
            Value::Object(map) if is_apply_document(&map) => {
                let parsed = from_value(Value::Object(map));
                let document: ApplyDocument = if document_name.is_empty() {
                    parsed?
                } else {
                    parsed.with_context(|| document_name.to_string())?
                };
                self.add_apply_document(document, document_name)
            }
            item @ Value::Object(_) => {
                let place = join(document_name, "item 1");
                self.add_item(item, &place, zone)
            }
            other => bail!(
                "{}: expected an apply document or what `gslbctl get` prints, got {}",
                or_whole_file(document_name),
                kind_of_value(&other)
            ),
        }
    }

    /// Appends every section of `document`, each item named `section[i]` as written.
    fn add_apply_document(&mut self, document: ApplyDocument, document_name: &str) -> Result<()> {
        let ApplyDocument {
            scope,
            zones,
            regions,
            endpoints,
            records,
            checks,
            gslb_records,
            networks,
        } = document;
        if let Some(scope) = scope {
            if self.document.scope.is_some() {
                bail!(
                    "{}: a second scope; a file has one scope (in any one document)",
                    or_whole_file(document_name)
                );
            }
            self.document.scope = Some(scope);
        }
        let place =
            |section: &str, index: usize| join(document_name, &format!("{section}[{index}]"));
        for (index, item) in zones.into_iter().enumerate() {
            self.push_place("zones", place("zones", index));
            self.document.zones.push(item);
        }
        for (index, item) in regions.into_iter().enumerate() {
            self.push_place("regions", place("regions", index));
            self.document.regions.push(item);
        }
        for (index, item) in endpoints.into_iter().enumerate() {
            self.push_place("endpoints", place("endpoints", index));
            self.document.endpoints.push(item);
        }
        for (index, item) in records.into_iter().enumerate() {
            self.push_place("records", place("records", index));
            self.document.records.push(item);
        }
        for (index, item) in checks.into_iter().enumerate() {
            self.push_place("checks", place("checks", index));
            self.document.checks.push(item);
        }
        for (index, item) in gslb_records.into_iter().enumerate() {
            self.push_place("gslb_records", place("gslb_records", index));
            self.document.gslb_records.push(item);
        }
        for (index, item) in networks.into_iter().enumerate() {
            self.push_place("networks", place("networks", index));
            self.document.networks.push(item);
        }
        Ok(())
    }

    /// Adds one item `get` printed, its kind told by the fields only that kind has.
    fn add_item(&mut self, item: Value, place: &str, zone: Option<&str>) -> Result<()> {
        let Value::Object(map) = &item else {
            bail!("{place}: expected an object, got {}", kind_of_value(&item));
        };
        let has = |key: &str| map.contains_key(key);
        let named = |noun: &str, key: &str| match map.get(key).and_then(Value::as_str) {
            Some(name) => format!("{place} ({noun} {name})"),
            None => format!("{place} ({noun})"),
        };
        if has("apex") {
            if has("record_sets") && !has("soa") {
                bail!(
                    "{place}: this is a zone summary (`gslbctl get zones`); \
                     `gslbctl get zone APEX -o yaml` prints a whole zone that apply reads"
                );
            }
            let zone_item: ZoneDto =
                from_value(item.clone()).with_context(|| named("zone", "apex"))?;
            self.push_place("zones", named("zone", "apex"));
            self.document.zones.push(zone_item);
        } else if has("cidr") {
            let network: NetworkDto =
                from_value(item.clone()).with_context(|| named("network", "cidr"))?;
            self.push_place("networks", named("network", "cidr"));
            self.document.networks.push(network);
        } else if has("policy") {
            let here = named("gslb record", "name");
            let (item_zone, item) = take_zone(item, zone, &here)?;
            let record: GslbRecordDto = from_value(item).with_context(|| here.clone())?;
            self.push_place("gslb_records", here);
            self.document.gslb_records.push(ZonedGslbRecord {
                zone: item_zone,
                record,
            });
        } else if has("data") {
            let here = named("record", "name");
            let (item_zone, item) = take_zone(item, zone, &here)?;
            let set: RecordSetDto = from_value(item).with_context(|| here.clone())?;
            self.push_place("records", here);
            self.document.records.push(ZonedRecord {
                zone: item_zone,
                name: set.name,
                rtype: set.rtype,
                ttl: set.ttl,
                data: set.data,
            });
        } else if has("kind") {
            let check: CheckDto = from_value(item.clone()).with_context(|| named("check", "id"))?;
            self.push_place("checks", named("check", "id"));
            self.document.checks.push(check);
        } else if has("location") {
            let region: RegionDto =
                from_value(item.clone()).with_context(|| named("region", "id"))?;
            self.push_place("regions", named("region", "id"));
            self.document.regions.push(region);
        } else if has("action") {
            bail!(
                "{place}: overrides are not part of an apply file; \
                 use `gslbctl create overrides -f FILE`"
            );
        } else if has("region") {
            let endpoint: EndpointDto =
                from_value(item.clone()).with_context(|| named("endpoint", "id"))?;
            self.push_place("endpoints", named("endpoint", "id"));
            self.document.endpoints.push(endpoint);
        } else {
            let keys: Vec<&str> = map.keys().map(String::as_str).collect();
            bail!(
                "{place}: not an item apply knows (fields {}): expected a zone (apex), region \
                 (location), endpoint (region), check (kind), record set (data), GSLB record \
                 (policy) or network (cidr)",
                keys.join(", ")
            );
        }
        Ok(())
    }

    fn push_place(&mut self, section: &str, place: String) {
        self.places
            .entry(section.to_string())
            .or_default()
            .push(place);
    }
}

/// Record sets and GSLB records name their zone in an apply document but not in what `get
/// records --zone Z` prints: the item's own `zone`, else `--zone`.
fn take_zone(mut item: Value, zone: Option<&str>, place: &str) -> Result<(String, Value)> {
    let own = item
        .as_object_mut()
        .and_then(|map| map.remove("zone"))
        .map(|value| {
            value
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| anyhow!("{place}: zone must be a string"))
        })
        .transpose()?;
    match own.or_else(|| zone.map(str::to_string)) {
        Some(zone) => Ok((zone, item)),
        None => bail!("{place}: names no zone; pass --zone ZONE"),
    }
}

/// True when every key of `map` is an apply document section (an empty map is one too);
/// the sections are the fields `ApplyDocument` serializes.
fn is_apply_document(map: &Map<String, Value>) -> bool {
    let sections = serde_json::to_value(ApplyDocument::default()).unwrap_or_default();
    map.keys().all(|key| sections.get(key.as_str()).is_some())
}

/// `document 2 item 3`, or `item 3` when the file has one document.
fn join(document_name: &str, item: &str) -> String {
    if document_name.is_empty() {
        item.to_string()
    } else {
        format!("{document_name} {item}")
    }
}

/// The document's name for messages: `document 2`, or `the file` when there is one.
fn or_whole_file(document_name: &str) -> String {
    if document_name.is_empty() {
        "the file".to_string()
    } else {
        document_name.to_string()
    }
}

fn kind_of_value(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, zone: Option<&str>) -> Result<ApplyInput> {
        ApplyInput::parse(text, Path::new("f.yaml"), zone)
    }

    /// Several documents of either shape merge, and each item keeps its place.
    #[test]
    fn documents_of_both_shapes_merge_with_their_places() {
        let text =
            "regions:\n  - id: eu-1\n    location: {lat: 1, lon: 2, country: DE, continent: EU}\n\
                    ---\n- id: web-eu\n  region: eu-1\n  address: 192.0.2.1\n\
                    - id: web-eu2\n  region: eu-1\n  address: 192.0.2.2\n\
                    ---\n- name: www.example.test.\n  type: A\n  data: [192.0.2.9]\n";
        let input = parse(text, Some("example.test.")).unwrap();
        assert_eq!(input.document.regions.len(), 1);
        assert_eq!(input.document.endpoints.len(), 2);
        assert_eq!(input.document.records[0].zone, "example.test.");
        assert_eq!(
            input.place_of("regions[0].location.lat"),
            "document 1 regions[0].location.lat"
        );
        assert_eq!(
            input.place_of("endpoints[1].weight"),
            "document 2 item 2 (endpoint web-eu2): weight"
        );
        assert_eq!(
            input.place_of("records[0]"),
            "document 3 item 1 (record www.example.test.)"
        );
        assert_eq!(input.place_of("changes[0]"), "changes[0]");
    }

    /// A record set without a zone needs `--zone`; a zone summary and an override are
    /// refused with what to do instead.
    #[test]
    fn items_apply_cannot_take_say_why() {
        let error = parse("- {name: www, type: A, data: [192.0.2.1]}\n", None).unwrap_err();
        assert!(format!("{error:#}").contains("pass --zone"), "{error:#}");
        let error = parse("- {apex: a.test., serial: 1, record_sets: 3}\n", None).unwrap_err();
        assert!(format!("{error:#}").contains("get zone APEX"), "{error:#}");
        let error = parse("- {id: o, action: drain, region: eu}\n", None).unwrap_err();
        assert!(
            format!("{error:#}").contains("create overrides"),
            "{error:#}"
        );
        let error = parse(
            "- id: r\n  location: {lat: x, lon: 1, country: DE, continent: EU}\n",
            None,
        )
        .unwrap_err();
        assert!(format!("{error:#}").contains("location.lat"), "{error:#}");
    }
}
