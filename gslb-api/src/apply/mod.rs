//! Server-side apply: a declarative document (zones, regions, endpoints, checks, record
//! sets, GSLB records, client networks) reconciled against the current `State` into one
//! atomic batch of changes, with the diff that explains it.
//!
//! Layout:
//! - `mod.rs` (this file): the document (`ApplyDocument`), the answer (`ApplyResult`), and
//!   `plan_apply`, the one generic reconcile every kind goes through.
//! - `kinds`: one `ResourceKind` per kind (its key, what exists now, how to put and delete
//!   it) and the dependency table (`Kind::depends_on`) the put and delete orders derive from.
//! - `schema`: the document's JSON Schema (`GET /v1/apply/schema`, `docs/apply.schema.json`).
//! - `examples`: the schema's examples, one consistent state with items of every section.
//!
//! The rules are the same for every kind: items are normalized as the server would store
//! them (so a second apply of the same file has no changes), a key declared twice is refused
//! naming both items, and with `prune` the items the document's `scope` owns but the
//! document does not declare are deleted (`prune` without a scope is refused). Puts run
//! dependencies first, deletes dependents first, all in one `Command::Batch`.

mod examples;
mod kinds;
mod schema;

use std::collections::{BTreeMap, BTreeSet};

use gslb_model::ip::Cidr;
use gslb_model::model::{DomainName, FieldErrors, State};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::dto::network::parse_cidr;
use crate::dto::zone::parse_apex;
use crate::dto::{
    ChangeDto, CheckDto, EndpointDto, GslbRecordDto, NetworkDto, RecordSetDto, RecordTypeDto,
    RegionDto, ZoneDto,
};

pub use examples::document_example;
pub use kinds::Kind;
pub use schema::{apply_json_schema, merge_flattened};

/// The declarative document `gslbctl apply -f` reads (YAML or JSON) and `POST /v1/apply`
/// takes as its JSON body.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyDocument {
    /// What `prune` may delete: only what this scope names. `prune` without a scope is
    /// refused, so a team's file cannot delete another team's zones.
    #[serde(default)]
    pub scope: Option<ApplyScope>,
    /// Whole zones (their records replace the zone's).
    #[serde(default)]
    pub zones: Vec<ZoneDto>,
    /// Regions.
    #[serde(default)]
    pub regions: Vec<RegionDto>,
    /// Endpoints.
    #[serde(default)]
    pub endpoints: Vec<EndpointDto>,
    /// Record sets of existing zones (or of zones in `zones`).
    #[serde(default)]
    pub records: Vec<ZonedRecord>,
    /// Health checks of endpoints and regions.
    #[serde(default)]
    pub checks: Vec<CheckDto>,
    /// GSLB records, each with its `zone`.
    #[serde(default)]
    pub gslb_records: Vec<ZonedGslbRecord>,
    /// Client networks (CIDR → location).
    #[serde(default)]
    pub networks: Vec<NetworkDto>,
}

/// The part of the state a document owns: what `prune` deletes when the document does not
/// declare it. Each kind is pruned only inside its part; a kind no field names is never
/// pruned.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyScope {
    /// Zones the document owns (apexes): prune deletes those not declared under `zones`
    /// (unless `records` or `gslb_records` name them) and, in each, the record sets and GSLB
    /// records the document does not declare (the apex NS set is kept).
    #[serde(default)]
    pub zones: Vec<String>,
    /// Owner prefixes of the document's regions, endpoints and checks (`team-a-`): prune
    /// deletes those whose id starts with one of them and that the document does not
    /// declare.
    #[serde(default)]
    pub id_prefixes: Vec<String>,
    /// Networks (CIDR) the document owns: prune deletes client networks inside them that it
    /// does not declare.
    #[serde(default)]
    pub networks: Vec<String>,
}

/// `ApplyScope` checked: apexes and networks parsed.
#[derive(Debug, Clone, Default)]
pub(crate) struct PruneScope {
    /// The zones owned.
    pub zones: BTreeSet<DomainName>,
    /// The owner prefixes of ids.
    pub id_prefixes: Vec<String>,
    /// The networks owned.
    pub networks: Vec<Cidr>,
}

impl PruneScope {
    /// The scope `prune` may delete in, or the faults that make it unusable: absent or
    /// naming nothing is refused, since pruning would then have no bound.
    fn from_document(document: &ApplyDocument, errors: &mut FieldErrors) -> PruneScope {
        const HOW: &str = "prune deletes only what the document's scope owns: give scope.zones, \
                           scope.id_prefixes or scope.networks";
        let Some(scope) = &document.scope else {
            errors.push("scope", format!("missing; {HOW}"));
            return PruneScope::default();
        };
        if scope.zones.is_empty() && scope.id_prefixes.is_empty() && scope.networks.is_empty() {
            errors.push("scope", format!("names nothing; {HOW}"));
        }
        let mut parsed = PruneScope {
            id_prefixes: scope.id_prefixes.clone(),
            ..PruneScope::default()
        };
        for (index, prefix) in scope.id_prefixes.iter().enumerate() {
            if prefix.is_empty() {
                errors.push(
                    format!("scope.id_prefixes[{index}]"),
                    "must not be empty (it would own every id)",
                );
            }
        }
        for (index, zone) in scope.zones.iter().enumerate() {
            match parse_apex(zone) {
                Ok(apex) => {
                    parsed.zones.insert(apex);
                }
                Err(message) => errors.push(format!("scope.zones[{index}]"), message),
            }
        }
        for (index, network) in scope.networks.iter().enumerate() {
            match parse_cidr(network) {
                Ok(cidr) => parsed.networks.push(cidr),
                Err(message) => errors.push(format!("scope.networks[{index}]"), message),
            }
        }
        parsed
    }

    /// True when `id` (a region, endpoint or check) carries an owner prefix.
    pub fn owns_id(&self, id: &str) -> bool {
        self.id_prefixes
            .iter()
            .any(|prefix| !prefix.is_empty() && id.starts_with(prefix.as_str()))
    }

    /// True when the zone `apex` (as the API spells it) is owned.
    pub fn owns_zone(&self, apex: &str) -> bool {
        parse_apex(apex).is_ok_and(|apex| self.zones.contains(&apex))
    }

    /// True when the network `cidr` lies inside an owned one.
    pub fn owns_network(&self, cidr: &str) -> bool {
        parse_cidr(cidr).is_ok_and(|inner| {
            self.networks
                .iter()
                .any(|outer| inner.prefix() >= outer.prefix() && outer.contains(inner.addr()))
        })
    }
}

/// A GSLB record with its zone.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema)]
pub struct ZonedGslbRecord {
    /// The zone's apex.
    pub zone: String,
    /// The record.
    #[serde(flatten)]
    pub record: GslbRecordDto,
}

/// A record set with its zone.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ZonedRecord {
    /// The zone's apex.
    pub zone: String,
    /// Owner name (absolute, relative to the zone, or `@`).
    pub name: String,
    /// Type.
    #[serde(rename = "type")]
    pub rtype: RecordTypeDto,
    /// TTL (the zone's default when omitted).
    #[serde(default)]
    pub ttl: Option<u32>,
    /// The records.
    pub data: Vec<String>,
}

impl ZonedRecord {
    /// The record set without its zone.
    pub fn record(&self) -> RecordSetDto {
        RecordSetDto {
            name: self.name.clone(),
            rtype: self.rtype,
            ttl: self.ttl,
            data: self.data.clone(),
        }
    }
}

/// How `POST /v1/apply` runs.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ApplyQuery {
    /// Compute and answer the diff, write nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Delete what the document's `scope` owns but the document does not declare (its
    /// zones and their record sets and GSLB records, the ids with its owner prefix, the
    /// networks inside its networks); refused (422) when the document has no scope.
    #[serde(default)]
    pub prune: bool,
}

/// What an apply changed (or, dry-run, would change).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, ToSchema)]
pub struct ApplyResult {
    /// True when nothing was written.
    pub dry_run: bool,
    /// The diff per kind, kinds in put order, only kinds with a change.
    pub kinds: Vec<KindDiff>,
    /// How many changes the batch holds (0: the state already matches).
    pub n_changes: usize,
    /// The version the write produced (poll `/v1/changes/{version}`); absent on a dry run
    /// and when there was nothing to change.
    pub version: Option<u64>,
    /// Whether the write changed the state.
    pub changed: bool,
}

/// The diff of one kind.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema)]
pub struct KindDiff {
    /// The kind, as the diff names it (`region`, `gslb record`, ...).
    pub kind: String,
    /// Keys of the items created.
    pub creates: Vec<String>,
    /// Items replaced, with the fields that differ.
    pub updates: Vec<Update>,
    /// Keys of the items deleted (`prune`).
    pub deletes: Vec<String>,
}

/// One replaced item.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema)]
pub struct Update {
    /// Its key.
    pub key: String,
    /// Each leaf field that differs, by path (`location.lat`, `data[0]`).
    pub fields: Vec<FieldChange>,
}

/// One field of an update; `before` absent for an added field, `after` for a removed one.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema)]
pub struct FieldChange {
    /// The field's path inside the item.
    pub path: String,
    /// The current value, as JSON text.
    pub before: Option<String>,
    /// The declared value, as JSON text.
    pub after: Option<String>,
}

impl ApplyResult {
    /// The diff as the lines `gslbctl apply` prints: `+ kind key`, `~ kind key` with
    /// `    path: old -> new`, `- kind key`.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for kind in &self.kinds {
            for key in &kind.creates {
                lines.push(format!("+ {} {key}", kind.kind));
            }
            for update in &kind.updates {
                lines.push(format!("~ {} {}", kind.kind, update.key));
                for field in &update.fields {
                    lines.push(match (&field.before, &field.after) {
                        (Some(old), Some(new)) => format!("    {}: {old} -> {new}", field.path),
                        (Some(old), None) => format!("    - {}: {old}", field.path),
                        (None, new) => {
                            format!("    + {}: {}", field.path, new.as_deref().unwrap_or(""))
                        }
                    });
                }
            }
            for key in &kind.deletes {
                lines.push(format!("- {} {key}", kind.kind));
            }
        }
        lines
    }
}

/// The batch an apply writes and the diff that explains it.
#[derive(Debug, Clone, PartialEq)]
pub struct ApplyPlan {
    /// The diff per kind (what `ApplyResult::kinds` answers).
    pub kinds: Vec<KindDiff>,
    /// The changes, puts in dependency order then deletes in reverse dependency order.
    pub changes: Vec<ChangeDto>,
    /// For each change, the document item it came from (`endpoints[2]`), or the deleted
    /// item's key; how a fault the store finds in `changes[i]` is named in the document's terms.
    pub origins: Vec<String>,
}

/// One declared item, normalized: its key, where it sits in the document, its DTO.
pub(crate) struct Declared<D> {
    /// The key the diff names it by (unique per kind).
    pub key: String,
    /// Its place in the document (`regions[0]`).
    pub path: String,
    /// The item as the server would store it.
    pub dto: D,
}

/// Reconciles `document` against `state`: the diff and the batch. Every fault is reported
/// at once, named by the document item (`endpoints[1].weight`, `networks[2]`).
pub fn plan_apply(
    document: &ApplyDocument,
    state: &State,
    prune: bool,
) -> Result<ApplyPlan, FieldErrors> {
    let mut errors = FieldErrors::default();
    let scope = if prune {
        PruneScope::from_document(document, &mut errors)
    } else {
        PruneScope::default()
    };
    let mut puts: Vec<(ChangeDto, String)> = Vec::new();
    let mut deletes_by_kind: BTreeMap<Kind, Vec<(ChangeDto, String)>> = BTreeMap::new();
    let mut diffs: BTreeMap<Kind, KindDiff> = BTreeMap::new();
    for kind in Kind::put_order() {
        let reconciled = kind.reconcile(document, state, prune, &scope, &mut errors);
        puts.extend(reconciled.puts);
        deletes_by_kind.insert(kind, reconciled.deletes);
        diffs.insert(kind, reconciled.diff);
    }
    errors.into_result()?;
    let mut changes = Vec::new();
    let mut origins = Vec::new();
    for (change, origin) in puts {
        changes.push(change);
        origins.push(origin);
    }
    for kind in Kind::delete_order() {
        for (change, origin) in deletes_by_kind.remove(&kind).unwrap_or_default() {
            changes.push(change);
            origins.push(origin);
        }
    }
    let kinds = Kind::put_order()
        .into_iter()
        .filter_map(|kind| diffs.remove(&kind))
        .filter(|diff| {
            !(diff.creates.is_empty() && diff.updates.is_empty() && diff.deletes.is_empty())
        })
        .collect();
    Ok(ApplyPlan {
        kinds,
        changes,
        origins,
    })
}

/// What reconciling one kind produced.
pub(crate) struct Reconciled {
    /// Puts with the document path of their item.
    pub puts: Vec<(ChangeDto, String)>,
    /// Deletes with the key of their item.
    pub deletes: Vec<(ChangeDto, String)>,
    /// The kind's diff.
    pub diff: KindDiff,
}

/// The generic reconcile of one kind: duplicate keys refused, each declared item created,
/// replaced or left alone, and with `prune` each current item not declared deleted.
/// `current` holds each existing item in scope with the change that deletes it (`None`:
/// `prune` keeps it).
pub(crate) fn reconcile<D: Serialize + PartialEq>(
    noun: &str,
    declared: Vec<Declared<D>>,
    current: BTreeMap<String, (D, Option<ChangeDto>)>,
    prune: bool,
    put: impl Fn(D) -> ChangeDto,
    errors: &mut FieldErrors,
) -> Reconciled {
    let mut diff = KindDiff {
        kind: noun.to_string(),
        creates: Vec::new(),
        updates: Vec::new(),
        deletes: Vec::new(),
    };
    let mut puts = Vec::new();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for item in declared {
        if let Some(first) = seen.get(&item.key) {
            errors.push(
                item.path.clone(),
                format!("{noun} {} is listed twice (first at {first})", item.key),
            );
            continue;
        }
        seen.insert(item.key.clone(), item.path.clone());
        match current.get(&item.key) {
            None => diff.creates.push(item.key.clone()),
            Some((existing, _)) if *existing == item.dto => continue,
            Some((existing, _)) => diff.updates.push(Update {
                key: item.key.clone(),
                fields: field_changes(existing, &item.dto),
            }),
        }
        puts.push((put(item.dto), item.path));
    }
    let mut deletes = Vec::new();
    if prune {
        for (key, (_, delete)) in current {
            if seen.contains_key(&key) {
                continue;
            }
            if let Some(delete) = delete {
                diff.deletes.push(key.clone());
                deletes.push((delete, format!("{noun} {key}")));
            }
        }
    }
    Reconciled {
        puts,
        deletes,
        diff,
    }
}

/// The leaf fields that differ between `before` and `after`, by path.
fn field_changes<T: Serialize>(before: &T, after: &T) -> Vec<FieldChange> {
    let before = flatten(&serde_json::to_value(before).unwrap_or(Value::Null));
    let after = flatten(&serde_json::to_value(after).unwrap_or(Value::Null));
    let paths: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    paths
        .into_iter()
        .filter(|path| before.get(*path) != after.get(*path))
        .map(|path| FieldChange {
            path: path.clone(),
            before: before.get(path).cloned(),
            after: after.get(path).cloned(),
        })
        .collect()
}

/// Leaf values of a JSON document by path (`location.lat`, `records[2].data[0]`).
fn flatten(value: &Value) -> BTreeMap<String, String> {
    fn walk(value: &Value, path: String, out: &mut BTreeMap<String, String>) {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    let next = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    walk(child, next, out);
                }
            }
            Value::Array(items) => {
                for (index, child) in items.iter().enumerate() {
                    walk(child, format!("{path}[{index}]"), out);
                }
            }
            leaf => {
                out.insert(path, leaf.to_string());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(value, String::new(), &mut out);
    out
}

/// Renames a store fault in `changes[i].<payload>...` to the document item it came from
/// (`origins[i]`), so `changes[0].endpoint.weight` reads `endpoints[3].weight`.
pub fn document_path(path: &str, origins: &[String]) -> String {
    let Some(rest) = path.strip_prefix("changes[") else {
        return path.to_string();
    };
    let Some((index, rest)) = rest.split_once(']') else {
        return path.to_string();
    };
    let Some(origin) = index.parse::<usize>().ok().and_then(|i| origins.get(i)) else {
        return path.to_string();
    };
    // Drop the change's payload field (`.endpoint`, `.record`, `.zone`, ...).
    let inner = rest.strip_prefix('.').unwrap_or(rest);
    let after_payload = match inner.find(['.', '[']) {
        Some(at) => &inner[at..],
        None => "",
    };
    format!("{origin}{after_payload}")
}
