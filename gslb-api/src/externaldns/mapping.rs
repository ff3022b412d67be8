//! The pure mapping between ExternalDNS endpoints and gslb's resources, both ways: what
//! `GET /records` lists (`list_endpoints`), what `POST /records` writes (`plan_changes`, one
//! batch) and how `POST /adjustendpoints` normalizes desired endpoints (`adjust_endpoints`).
//!
//! - An endpoint without a `setIdentifier` is a static record set at its name and type.
//! - Endpoints of one name and type (A, AAAA, CNAME) with `setIdentifier`s are one GSLB
//!   record: each set identifier becomes gslb endpoints (one per target) in the region its
//!   `gslb-region` names, and the record's policy (`gslb-policy`: weighted, consistent,
//!   failover, latency, proximity, capacity) chooses among them. The set identifier and
//!   every provider-specific property are kept as labels of those endpoints, so the record
//!   reads back exactly as it was written.
//! - TXT endpoints (ExternalDNS's ownership records among them) are ordinary TXT data. A TXT
//!   endpoint with a set identifier keeps it as one more character-string at the end of its
//!   record (`"gslb-set-identifier=eu"`), the only place DNS has for it.
//!
//! Anything else is refused by name (`Refusal`), never dropped: no endpoint is half-applied.

use std::collections::{BTreeMap, BTreeSet};

use gslb_model::model::{DomainName, RData, RecordType};
use sha2::{Digest, Sha256};

use super::wire::{Changes, DomainFilter, Endpoint, ProviderSpecificProperty};
use crate::dto::gslb_record::{
    LatencyMarginDto, ProximityChoiceDto, UnknownAsDto, WeightedChoiceDto, WhenAllDownDto,
};
use crate::dto::{
    ChangeDto, EndpointDto, GslbRecordDto, PolicyNodeDto, RecordSetDto, RecordTypeDto, ZoneDto,
};
use gslb_model::zonefile::parse_rdata;

/// Label of a webhook endpoint: the GSLB record it serves (`www.example.com. A`).
pub const LABEL_RECORD: &str = "externaldns.record";
/// Label of a webhook endpoint: its ExternalDNS set identifier.
pub const LABEL_SET_IDENTIFIER: &str = "externaldns.set-identifier";
/// Prefix of the labels that keep an endpoint's provider-specific properties verbatim.
pub const LABEL_PROVIDER_SPECIFIC: &str = "externaldns.ps.";
/// The character-string that carries a TXT endpoint's set identifier.
pub const TXT_SET_IDENTIFIER: &str = "gslb-set-identifier=";

/// The static types a plain endpoint may have.
const STATIC_TYPES: [&str; 9] = ["A", "AAAA", "CNAME", "TXT", "MX", "SRV", "NS", "PTR", "CAA"];
/// The types a set-identified (policy-answered) endpoint may have, TXT aside.
const GSLB_TYPES: [&str; 3] = ["A", "AAAA", "CNAME"];

/// What the webhook reads from the API to answer and to plan.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Every zone with its record sets.
    pub zones: Vec<ZoneDto>,
    /// GSLB records by zone apex.
    pub gslb_records: BTreeMap<String, Vec<GslbRecordDto>>,
    /// Every endpoint.
    pub endpoints: Vec<EndpointDto>,
    /// The ids of every region.
    pub regions: BTreeSet<String>,
}

/// Endpoints that cannot be represented, each named with the reason; the request is
/// refused whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", problems.join("; "))]
pub struct Refusal {
    /// One line per problem: `endpoint www.example.com A [eu]: ...`.
    pub problems: Vec<String>,
}

/// An endpoint's identity: name (absolute, lowercase), type, set identifier.
type Key = (String, String, String);

/// Every endpoint the zones hold inside `filter`, as ExternalDNS lists them.
pub fn list_endpoints(snapshot: &Snapshot, filter: &DomainFilter) -> Vec<Endpoint> {
    let mut endpoints: Vec<Endpoint> = current_endpoints(snapshot).into_values().collect();
    endpoints.retain(|endpoint| filter.matches(&endpoint.dns_name));
    endpoints
}

/// Desired endpoints as this provider stores them: names lowercase without the trailing
/// dot, TXT targets quoted, on plain endpoints only the provider-specific properties that
/// are ours and on TXT none (others are not stored, so they would differ forever). Never refuses:
/// `POST /records` does, naming the endpoint.
pub fn adjust_endpoints(endpoints: Vec<Endpoint>) -> Vec<Endpoint> {
    endpoints
        .into_iter()
        .map(|mut endpoint| {
            endpoint.dns_name = endpoint.dns_name.trim_end_matches('.').to_ascii_lowercase();
            endpoint.record_type = endpoint.record_type.to_ascii_uppercase();
            if endpoint.record_type == "TXT" {
                endpoint.targets = endpoint.targets.iter().map(|t| quote_txt(t)).collect();
            } else {
                for target in &mut endpoint.targets {
                    *target = target.trim_end_matches('.').to_string();
                }
            }
            if endpoint.record_type == "TXT" {
                endpoint.provider_specific.clear();
            } else if endpoint.set_identifier.is_empty() {
                endpoint
                    .provider_specific
                    .retain(|property| gslb_setting(&property.name).is_some());
            }
            endpoint
        })
        .collect()
}

/// The batch a change set becomes, with where each change came from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlannedBatch {
    /// The changes, in the order the batch applies them.
    pub changes: Vec<ChangeDto>,
    /// For each change, the endpoints it came from (`endpoint www.example.com A`), so a
    /// fault the API finds in `changes[i]` is named in ExternalDNS's terms.
    pub origins: Vec<String>,
}

impl PlannedBatch {
    /// A fault path of the batch (`changes[3].record.data[0]`) in ExternalDNS's terms
    /// (`endpoint www.example.com A: record.data[0]`).
    pub fn describe_path(&self, path: &str) -> String {
        let parsed = path.strip_prefix("changes[").and_then(|rest| {
            let (index, rest) = rest.split_once(']')?;
            Some((index.parse::<usize>().ok()?, rest.trim_start_matches('.')))
        });
        match parsed.and_then(|(index, rest)| Some((self.origins.get(index)?, rest))) {
            Some((origin, "")) => origin.clone(),
            Some((origin, rest)) => format!("{origin}: {rest}"),
            None => path.to_string(),
        }
    }
}

/// The one batch that turns the current state into the state `changes` ask for, or every
/// endpoint that cannot be represented.
pub fn plan_changes(
    snapshot: &Snapshot,
    filter: &DomainFilter,
    changes: &Changes,
) -> Result<PlannedBatch, Refusal> {
    let mut problems = Vec::new();
    let list = |list: &Option<Vec<Endpoint>>| list.clone().unwrap_or_default();
    let (create, update_old, update_new, delete) = (
        list(&changes.create),
        list(&changes.update_old),
        list(&changes.update_new),
        list(&changes.delete),
    );
    let mut desired = current_endpoints(snapshot);
    let mut affected: BTreeSet<(String, String)> = BTreeSet::new();
    for endpoint in update_old.iter().chain(&delete) {
        let key = key_of(endpoint);
        if !filter.matches(&key.0) {
            problems.push(format!(
                "{}: outside the webhook's domain filter",
                describe(endpoint)
            ));
            continue;
        }
        affected.insert((key.0.clone(), key.1.clone()));
        desired.remove(&key);
    }
    for endpoint in create.iter().chain(&update_new) {
        let key = key_of(endpoint);
        if !filter.matches(&key.0) {
            problems.push(format!(
                "{}: outside the webhook's domain filter",
                describe(endpoint)
            ));
            continue;
        }
        if endpoint.targets.is_empty() {
            problems.push(format!("{}: has no targets", describe(endpoint)));
            continue;
        }
        affected.insert((key.0.clone(), key.1.clone()));
        desired.insert(key, endpoint.clone());
    }
    let mut removals = Vec::new();
    let mut endpoint_puts = Vec::new();
    let mut record_puts = Vec::new();
    let mut endpoint_deletes = Vec::new();
    for (name, rtype) in &affected {
        let Some(zone) = zone_of(snapshot, name) else {
            problems.push(format!(
                "endpoint {} {rtype}: no gslb zone holds this name",
                name.trim_end_matches('.')
            ));
            continue;
        };
        let group: Vec<&Endpoint> = desired
            .range((name.clone(), rtype.clone(), String::new())..)
            .take_while(|((n, t, _), _)| n == name && t == rtype)
            .map(|(_, endpoint)| endpoint)
            .collect();
        let planned = plan_group(snapshot, zone, name, rtype, &group);
        let origin = format!("endpoint {} {rtype}", name.trim_end_matches('.'));
        let with_origin = |list: Vec<ChangeDto>| {
            list.into_iter()
                .map(|change| (change, origin.clone()))
                .collect::<Vec<_>>()
        };
        match planned {
            Ok(plan) => {
                removals.extend(with_origin(plan.removals));
                endpoint_puts.extend(with_origin(plan.endpoint_puts));
                record_puts.extend(with_origin(plan.record_puts));
                endpoint_deletes.extend(with_origin(plan.endpoint_deletes));
            }
            Err(found) => problems.extend(found),
        }
    }
    if !problems.is_empty() {
        return Err(Refusal { problems });
    }
    let (changes, origins) = removals
        .into_iter()
        .chain(endpoint_puts)
        .chain(record_puts)
        .chain(endpoint_deletes)
        .unzip();
    Ok(PlannedBatch { changes, origins })
}

/// The changes of one name and type, in the four groups the batch orders.
#[derive(Default)]
struct GroupPlan {
    /// Record sets and GSLB records that go away (or give way to the other kind).
    removals: Vec<ChangeDto>,
    /// Endpoints of set-identified endpoints.
    endpoint_puts: Vec<ChangeDto>,
    /// The record set or GSLB record.
    record_puts: Vec<ChangeDto>,
    /// Webhook endpoints no longer used.
    endpoint_deletes: Vec<ChangeDto>,
}

fn plan_group(
    snapshot: &Snapshot,
    zone: &ZoneDto,
    name: &str,
    rtype: &str,
    group: &[&Endpoint],
) -> Result<GroupPlan, Vec<String>> {
    let mut plan = GroupPlan::default();
    let apex = zone.apex.clone();
    let origin = DomainName::parse_absolute(&apex).map_err(|error| vec![error.to_string()])?;
    let has_static = zone
        .records
        .iter()
        .any(|set| absolute(&set.name, &apex) == name && set.rtype.to_string() == rtype);
    let current_gslb = snapshot.gslb_records.get(&apex).and_then(|records| {
        records.iter().find(|record| {
            absolute(&record.name, &apex) == name && record.rtype.to_string() == rtype
        })
    });
    let record_key = format!("{name} {rtype}");
    let owned_endpoints: Vec<&EndpointDto> = snapshot
        .endpoints
        .iter()
        .filter(|endpoint| endpoint.labels.get(LABEL_RECORD) == Some(&record_key))
        .collect();
    let Some(rtype_dto) = RecordTypeDto::parse(rtype) else {
        return Err(vec![format!(
            "endpoint {} {rtype}: gslb does not serve this record type",
            name.trim_end_matches('.')
        )]);
    };
    let delete_static = || ChangeDto::DeleteRecord {
        zone: apex.clone(),
        name: name.to_string(),
        rtype: rtype_dto,
    };
    let delete_gslb = || ChangeDto::DeleteGslbRecord {
        zone: apex.clone(),
        name: name.to_string(),
        rtype: rtype_dto,
    };
    let mut problems = Vec::new();
    let (plain, sets): (Vec<&Endpoint>, Vec<&Endpoint>) = group
        .iter()
        .partition(|endpoint| endpoint.set_identifier.is_empty());
    let mut new_endpoint_ids = BTreeSet::new();
    if group.is_empty() {
        if has_static {
            plan.removals.push(delete_static());
        }
        if current_gslb.is_some() {
            plan.removals.push(delete_gslb());
        }
    } else if rtype == "TXT" {
        let mut data = Vec::new();
        let mut ttl = None;
        // ExternalDNS's TXT registry copies the owned record's set identifier and
        // provider-specific settings onto its TXT records: the settings are not the TXT's.
        for endpoint in group {
            ttl = ttl.or(configured_ttl(endpoint));
            for target in &endpoint.targets {
                match txt_data(target, &endpoint.set_identifier, &origin) {
                    Ok(datum) if !data.contains(&datum) => data.push(datum),
                    Ok(_) => {}
                    Err(error) => problems.push(format!("{}: {error}", describe(endpoint))),
                }
            }
        }
        plan.record_puts.push(ChangeDto::PutRecord {
            zone: apex.clone(),
            record: RecordSetDto {
                name: name.to_string(),
                rtype: rtype_dto,
                ttl,
                data,
            },
        });
    } else if !plain.is_empty() && !sets.is_empty() {
        problems.push(format!(
            "endpoint {} {rtype}: endpoints with and without a setIdentifier cannot share a \
             name and type (set identifiers {:?})",
            name.trim_end_matches('.'),
            sets.iter()
                .map(|e| e.set_identifier.as_str())
                .collect::<Vec<_>>()
        ));
    } else if let [endpoint] = plain.as_slice() {
        if !STATIC_TYPES.contains(&rtype) {
            problems.push(format!(
                "{}: gslb does not serve {rtype} records",
                describe(endpoint)
            ));
        }
        if let Some(problem) = refuse_gslb_settings(endpoint) {
            problems.push(problem);
        }
        let mut data = Vec::new();
        for target in &endpoint.targets {
            let text = static_data(rtype, target);
            match RecordType::from_mnemonic(rtype).map(|t| parse_rdata(t, &text, &origin)) {
                Some(Ok(_)) => data.push(text),
                Some(Err(error)) => problems.push(format!(
                    "{}: target {target:?}: {error}",
                    describe(endpoint)
                )),
                None => {}
            }
        }
        if current_gslb.is_some() {
            plan.removals.push(delete_gslb());
        }
        plan.record_puts.push(ChangeDto::PutRecord {
            zone: apex.clone(),
            record: RecordSetDto {
                name: name.to_string(),
                rtype: rtype_dto,
                ttl: configured_ttl(endpoint),
                data,
            },
        });
    } else {
        match gslb_record(snapshot, zone, name, rtype, rtype_dto, &sets) {
            Ok((endpoints, record)) => {
                if has_static {
                    plan.removals.push(delete_static());
                }
                for endpoint in endpoints {
                    new_endpoint_ids.insert(endpoint.id.clone());
                    plan.endpoint_puts.push(ChangeDto::PutEndpoint { endpoint });
                }
                plan.record_puts.push(ChangeDto::PutGslbRecord {
                    zone: apex.clone(),
                    record: Box::new(record),
                });
            }
            Err(found) => problems.extend(found),
        }
    }
    for endpoint in owned_endpoints {
        if !new_endpoint_ids.contains(&endpoint.id) {
            plan.endpoint_deletes.push(ChangeDto::DeleteEndpoint {
                id: endpoint.id.clone(),
            });
        }
    }
    if problems.is_empty() {
        Ok(plan)
    } else {
        Err(problems)
    }
}

/// The endpoints and the GSLB record of set-identified endpoints of one name and type.
fn gslb_record(
    snapshot: &Snapshot,
    zone: &ZoneDto,
    name: &str,
    rtype: &str,
    rtype_dto: RecordTypeDto,
    sets: &[&Endpoint],
) -> Result<(Vec<EndpointDto>, GslbRecordDto), Vec<String>> {
    let mut problems = Vec::new();
    if !GSLB_TYPES.contains(&rtype) {
        problems.push(format!(
            "endpoint {} {rtype}: a setIdentifier needs type A, AAAA or CNAME (GSLB records)",
            name.trim_end_matches('.')
        ));
        return Err(problems);
    }
    let policy_of =
        |endpoint: &Endpoint| setting(endpoint, "policy").unwrap_or_else(|| "weighted".to_string());
    let policy = policy_of(sets[0]);
    let mut endpoints = Vec::new();
    let mut children: Vec<(u32, u32, u32, PolicyNodeDto)> = Vec::new();
    let mut ttl = None;
    let mut max_targets = 1;
    let mut when_all_down = WhenAllDownDto::FailOpen;
    let mut unknown_as = UnknownAsDto::Down;
    for endpoint in sets {
        let label = describe(endpoint);
        match (ttl, configured_ttl(endpoint)) {
            (Some(first), Some(this)) if first != this => problems.push(format!(
                "{label}: recordTTL {this} differs from {first} of another set identifier; \
                 one GSLB record has one TTL"
            )),
            (None, this) => ttl = this,
            _ => {}
        }
        for property in &endpoint.provider_specific {
            if let Some(setting) = gslb_setting(&property.name) {
                if !KNOWN_SETTINGS.contains(&setting) {
                    problems.push(format!(
                        "{label}: unknown provider-specific setting {:?} (known: {})",
                        property.name,
                        KNOWN_SETTINGS.join(", ")
                    ));
                }
            }
        }
        if policy_of(endpoint) != policy {
            problems.push(format!(
                "{label}: gslb-policy {:?} differs from {:?} of set identifier {:?}; one record \
                 has one policy",
                policy_of(endpoint),
                policy,
                sets[0].set_identifier
            ));
        }
        let region = match setting(endpoint, "region") {
            Some(region) if snapshot.regions.contains(&region) => region,
            Some(region) => {
                problems.push(format!("{label}: gslb-region {region:?} does not exist"));
                continue;
            }
            None => {
                problems.push(format!(
                    "{label}: a setIdentifier needs the provider-specific gslb-region \
                     (annotation external-dns.alpha.kubernetes.io/webhook-gslb-region)"
                ));
                continue;
            }
        };
        let number =
            |key: &str, default: u32, problems: &mut Vec<String>| match setting(endpoint, key) {
                None => default,
                Some(text) => text.parse().unwrap_or_else(|_| {
                    problems.push(format!(
                        "{label}: gslb-{key} must be a whole number, got {text:?}"
                    ));
                    default
                }),
            };
        let weight = number("weight", 1, &mut problems);
        let priority = number("priority", 0, &mut problems);
        let bias = number("bias", 100, &mut problems);
        match setting(endpoint, "when-all-down").as_deref() {
            None | Some("fail_open") => {}
            Some("fail_closed") => when_all_down = WhenAllDownDto::FailClosed,
            Some(other) => problems.push(format!(
                "{label}: gslb-when-all-down must be fail_open or fail_closed, got {other:?}"
            )),
        }
        match setting(endpoint, "unknown-as").as_deref() {
            None | Some("down") => {}
            Some("up") => unknown_as = UnknownAsDto::Up,
            Some(other) => problems.push(format!(
                "{label}: gslb-unknown-as must be up or down, got {other:?}"
            )),
        }
        max_targets = max_targets.max(endpoint.targets.len());
        let base = endpoint_base_id(name, rtype, &endpoint.set_identifier);
        let mut ids = Vec::new();
        for (index, target) in endpoint.targets.iter().enumerate() {
            let id = format!("{base}-{index}");
            let (address, cname) = if rtype == "CNAME" {
                (None, Some(format!("{}.", target.trim_end_matches('.'))))
            } else {
                let wants_v4 = rtype == "A";
                match target.parse::<std::net::IpAddr>() {
                    Ok(ip) if ip.is_ipv4() == wants_v4 => (Some(target.clone()), None),
                    _ => {
                        problems.push(format!(
                            "{label}: target {target:?} is not an {} address",
                            if wants_v4 { "IPv4" } else { "IPv6" }
                        ));
                        continue;
                    }
                }
            };
            let mut labels = BTreeMap::from([
                (LABEL_RECORD.to_string(), format!("{name} {rtype}")),
                (
                    LABEL_SET_IDENTIFIER.to_string(),
                    endpoint.set_identifier.clone(),
                ),
            ]);
            for property in &endpoint.provider_specific {
                labels.insert(
                    format!("{LABEL_PROVIDER_SPECIFIC}{}", property.name),
                    property.value.clone(),
                );
            }
            ids.push(id.clone());
            endpoints.push(EndpointDto {
                id,
                region: region.clone(),
                address,
                cname,
                weight,
                enabled: true,
                labels,
            });
        }
        children.push((priority, weight, bias, PolicyNodeDto::Endpoints(ids)));
    }
    let policy = match policy.as_str() {
        "weighted" | "consistent" => {
            let choices = children
                .into_iter()
                .map(|(_, weight, _, node)| WeightedChoiceDto { weight, node })
                .collect();
            if policy == "weighted" {
                PolicyNodeDto::Weighted(choices)
            } else {
                PolicyNodeDto::Consistent(choices)
            }
        }
        "failover" => {
            // Stable: ties keep the set identifiers' order.
            children.sort_by_key(|(priority, ..)| *priority);
            PolicyNodeDto::Failover(children.into_iter().map(|(.., node)| node).collect())
        }
        "latency" => PolicyNodeDto::Latency(children.into_iter().map(|(.., node)| node).collect()),
        "capacity" => {
            PolicyNodeDto::Capacity(children.into_iter().map(|(.., node)| node).collect())
        }
        "proximity" => PolicyNodeDto::Proximity(
            children
                .into_iter()
                .map(|(_, _, bias_percent, node)| ProximityChoiceDto { node, bias_percent })
                .collect(),
        ),
        other => {
            problems.push(format!(
                "endpoint {} {rtype}: gslb-policy {other:?} is not one of weighted, consistent, \
                 failover, latency, proximity, capacity",
                name.trim_end_matches('.')
            ));
            PolicyNodeDto::Endpoints(Vec::new())
        }
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    let record = GslbRecordDto {
        name: name.to_string(),
        rtype: rtype_dto,
        ttl: ttl.unwrap_or(zone.default_ttl),
        failover_ttl: None,
        policy,
        max_answers: u8::try_from(max_targets).unwrap_or(u8::MAX),
        when_all_down,
        unknown_as,
        split_brain_guard: false,
        latency_margin: LatencyMarginDto::default(),
    };
    Ok((endpoints, record))
}

/// The `gslb-*` settings an endpoint may carry.
const KNOWN_SETTINGS: [&str; 7] = [
    "region",
    "weight",
    "policy",
    "priority",
    "bias",
    "when-all-down",
    "unknown-as",
];

/// `region` for `webhook/gslb-region` (what the annotation
/// `external-dns.alpha.kubernetes.io/webhook-gslb-region` becomes) or `webhook-gslb-region`.
fn gslb_setting(name: &str) -> Option<&str> {
    name.strip_prefix("webhook/gslb-")
        .or_else(|| name.strip_prefix("webhook-gslb-"))
}

/// The value of setting `key` (`region`) on `endpoint`.
fn setting(endpoint: &Endpoint, key: &str) -> Option<String> {
    endpoint
        .provider_specific
        .iter()
        .find(|property| gslb_setting(&property.name) == Some(key))
        .map(|property| property.value.trim().to_string())
}

/// A plain endpoint carrying `gslb-*` settings: they need a set identifier on A, AAAA or
/// CNAME.
fn refuse_gslb_settings(endpoint: &Endpoint) -> Option<String> {
    let names: Vec<&str> = endpoint
        .provider_specific
        .iter()
        .filter(|property| gslb_setting(&property.name).is_some())
        .map(|property| property.name.as_str())
        .collect();
    (!names.is_empty()).then(|| {
        format!(
            "{}: {names:?} apply only to A, AAAA or CNAME endpoints with a setIdentifier",
            describe(endpoint)
        )
    })
}

/// Every endpoint the state holds, by key (unfiltered).
fn current_endpoints(snapshot: &Snapshot) -> BTreeMap<Key, Endpoint> {
    let mut out = BTreeMap::new();
    let by_id: BTreeMap<&str, &EndpointDto> = snapshot
        .endpoints
        .iter()
        .map(|endpoint| (endpoint.id.as_str(), endpoint))
        .collect();
    for zone in &snapshot.zones {
        let apex = &zone.apex;
        for set in &zone.records {
            let name = absolute(&set.name, apex);
            let rtype = set.rtype.to_string();
            if rtype == "SOA" || (rtype == "NS" && name == *apex) {
                continue;
            }
            if !STATIC_TYPES.contains(&rtype.as_str()) {
                continue;
            }
            let ttl = i64::from(set.ttl.unwrap_or(zone.default_ttl));
            if rtype == "TXT" {
                let origin = DomainName::parse_absolute(apex).ok();
                for datum in &set.data {
                    let (set_identifier, target) = match &origin {
                        Some(origin) => txt_target(datum, origin),
                        None => (String::new(), datum.clone()),
                    };
                    let key = (name.clone(), rtype.clone(), set_identifier.clone());
                    let endpoint = out.entry(key).or_insert_with(|| Endpoint {
                        dns_name: bare(&name),
                        record_type: rtype.clone(),
                        set_identifier,
                        record_ttl: ttl,
                        ..Endpoint::default()
                    });
                    endpoint.targets.push(target);
                }
                continue;
            }
            let targets = set
                .data
                .iter()
                .map(|datum| bare_data(&rtype, datum))
                .collect();
            out.insert(
                (name.clone(), rtype.clone(), String::new()),
                Endpoint {
                    dns_name: bare(&name),
                    targets,
                    record_type: rtype,
                    record_ttl: ttl,
                    ..Endpoint::default()
                },
            );
        }
        for record in snapshot.gslb_records.get(apex).into_iter().flatten() {
            let name = absolute(&record.name, apex);
            let rtype = record.rtype.to_string();
            let mut leaves = Vec::new();
            leaf_endpoints(&record.policy, snapshot, &mut leaves);
            for id in leaves {
                let Some(endpoint) = by_id.get(id.as_str()) else {
                    continue;
                };
                let set_identifier = endpoint
                    .labels
                    .get(LABEL_SET_IDENTIFIER)
                    .cloned()
                    .unwrap_or_else(|| endpoint.id.clone());
                let provider_specific: Vec<ProviderSpecificProperty> =
                    if endpoint.labels.contains_key(LABEL_SET_IDENTIFIER) {
                        endpoint
                            .labels
                            .iter()
                            .filter_map(|(key, value)| {
                                key.strip_prefix(LABEL_PROVIDER_SPECIFIC).map(|name| {
                                    ProviderSpecificProperty {
                                        name: name.to_string(),
                                        value: value.clone(),
                                    }
                                })
                            })
                            .collect()
                    } else {
                        vec![ProviderSpecificProperty {
                            name: "webhook/gslb-region".to_string(),
                            value: endpoint.region.clone(),
                        }]
                    };
                let target = match (&endpoint.address, &endpoint.cname) {
                    (Some(address), _) => address.clone(),
                    (None, Some(cname)) => bare(cname),
                    (None, None) => continue,
                };
                let key = (name.clone(), rtype.clone(), set_identifier.clone());
                let listed = out.entry(key).or_insert_with(|| Endpoint {
                    dns_name: bare(&name),
                    record_type: rtype.clone(),
                    set_identifier,
                    record_ttl: i64::from(record.ttl),
                    provider_specific,
                    ..Endpoint::default()
                });
                if !listed.targets.contains(&target) {
                    listed.targets.push(target);
                }
            }
        }
    }
    out
}

/// The endpoint ids a policy tree answers from, in tree order (a region: its endpoints).
fn leaf_endpoints(node: &PolicyNodeDto, snapshot: &Snapshot, out: &mut Vec<String>) {
    let mut push = |id: &String| {
        if !out.contains(id) {
            out.push(id.clone());
        }
    };
    match node {
        PolicyNodeDto::Endpoints(ids) => ids.iter().for_each(push),
        PolicyNodeDto::Region(region) => snapshot
            .endpoints
            .iter()
            .filter(|endpoint| &endpoint.region == region)
            .for_each(|endpoint| push(&endpoint.id)),
        PolicyNodeDto::Failover(nodes)
        | PolicyNodeDto::Latency(nodes)
        | PolicyNodeDto::Capacity(nodes) => {
            for child in nodes {
                leaf_endpoints(child, snapshot, out);
            }
        }
        PolicyNodeDto::Weighted(choices) | PolicyNodeDto::Consistent(choices) => {
            for choice in choices {
                leaf_endpoints(&choice.node, snapshot, out);
            }
        }
        PolicyNodeDto::Proximity(choices) => {
            for choice in choices {
                leaf_endpoints(&choice.node, snapshot, out);
            }
        }
        PolicyNodeDto::Geo(geo) => {
            for rule in &geo.rules {
                leaf_endpoints(&rule.node, snapshot, out);
            }
            leaf_endpoints(&geo.default, snapshot, out);
        }
    }
}

/// The zone holding `name` (the longest apex it is inside).
fn zone_of<'s>(snapshot: &'s Snapshot, name: &str) -> Option<&'s ZoneDto> {
    snapshot
        .zones
        .iter()
        .filter(|zone| {
            let apex = zone.apex.to_ascii_lowercase();
            name == apex || name.ends_with(&format!(".{apex}"))
        })
        .max_by_key(|zone| zone.apex.len())
}

/// An endpoint's key: absolute lowercase name, uppercase type, set identifier.
fn key_of(endpoint: &Endpoint) -> Key {
    (
        format!(
            "{}.",
            endpoint.dns_name.trim_end_matches('.').to_ascii_lowercase()
        ),
        endpoint.record_type.to_ascii_uppercase(),
        endpoint.set_identifier.clone(),
    )
}

/// `endpoint www.example.com A [eu]`, how problems name an endpoint.
fn describe(endpoint: &Endpoint) -> String {
    let set = if endpoint.set_identifier.is_empty() {
        String::new()
    } else {
        format!(" [{}]", endpoint.set_identifier)
    };
    format!(
        "endpoint {} {}{set}",
        endpoint.dns_name.trim_end_matches('.'),
        endpoint.record_type
    )
}

fn configured_ttl(endpoint: &Endpoint) -> Option<u32> {
    (endpoint.record_ttl > 0).then(|| u32::try_from(endpoint.record_ttl).unwrap_or(u32::MAX))
}

/// A record name as the API lists it (absolute, relative or `@`), made absolute, lowercase.
fn absolute(name: &str, apex: &str) -> String {
    let name = name.to_ascii_lowercase();
    let apex = apex.to_ascii_lowercase();
    if name == "@" {
        apex
    } else if name.ends_with('.') {
        name
    } else {
        format!("{name}.{apex}")
    }
}

fn bare(name: &str) -> String {
    name.trim_end_matches('.').to_string()
}

/// `edns-<12 hex of sha256(name type set)>`: a stable slug for any name and set identifier.
fn endpoint_base_id(name: &str, rtype: &str, set_identifier: &str) -> String {
    let digest = Sha256::digest(format!("{name} {rtype} {set_identifier}").as_bytes());
    format!("edns-{}", &hex::encode(digest)[..12])
}

/// ExternalDNS's target as gslb presentation data: names absolute (ExternalDNS writes them
/// without the trailing dot, which gslb would read as relative to the zone).
fn static_data(rtype: &str, target: &str) -> String {
    match rtype {
        "CNAME" | "NS" | "PTR" => format!("{}.", target.trim_end_matches('.')),
        "MX" | "SRV" => match target.rsplit_once(' ') {
            Some((head, name)) => format!("{head} {}.", name.trim_end_matches('.')),
            None => target.to_string(),
        },
        _ => target.to_string(),
    }
}

/// gslb presentation data as ExternalDNS's target: without trailing dots on names.
fn bare_data(rtype: &str, datum: &str) -> String {
    match rtype {
        "CNAME" | "NS" | "PTR" | "MX" | "SRV" => datum.trim_end_matches('.').to_string(),
        _ => datum.to_string(),
    }
}

/// A TXT target in quotes (`"text"`), as gslb presents TXT data; already quoted targets
/// are kept.
fn quote_txt(target: &str) -> String {
    if target.len() >= 2 && target.starts_with('"') && target.ends_with('"') {
        target.to_string()
    } else {
        let escaped = target.replace('\\', "\\\\").replace('"', "\\\"");
        format!("\"{escaped}\"")
    }
}

/// A TXT target (and its set identifier) as one TXT record's presentation data.
fn txt_data(target: &str, set_identifier: &str, origin: &DomainName) -> Result<String, String> {
    let quoted = quote_txt(target);
    let RData::TXT(mut strings) = parse_rdata(RecordType::TXT, &quoted, origin)? else {
        return Err(format!("target {target:?} is not TXT data"));
    };
    if !set_identifier.is_empty() {
        strings.push(format!("{TXT_SET_IDENTIFIER}{set_identifier}").into_bytes());
    }
    Ok(RData::TXT(strings).to_string())
}

/// One TXT record's data as a target and the set identifier it carries (empty for none).
fn txt_target(datum: &str, origin: &DomainName) -> (String, String) {
    let Ok(RData::TXT(mut strings)) = parse_rdata(RecordType::TXT, datum, origin) else {
        return (String::new(), datum.to_string());
    };
    let set_identifier = match strings.last() {
        Some(last) if strings.len() > 1 && last.starts_with(TXT_SET_IDENTIFIER.as_bytes()) => {
            let set = String::from_utf8_lossy(&last[TXT_SET_IDENTIFIER.len()..]).into_owned();
            strings.pop();
            set
        }
        _ => String::new(),
    };
    (set_identifier, RData::TXT(strings).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dto::SoaDto;

    fn zone() -> ZoneDto {
        serde_json::from_value(serde_json::json!({
            "apex": "example.com.",
            "soa": {"mname": "ns1.example.com.", "rname": "hostmaster.example.com.",
                    "serial": 1, "refresh": 3600, "retry": 600, "expire": 86400,
                    "minimum": 60},
            "default_ttl": 300,
            "records": [
                {"name": "example.com.", "type": "NS", "ttl": 3600, "data": ["ns1.example.com."]},
                {"name": "static.example.com.", "type": "A", "ttl": 60, "data": ["192.0.2.7"]}
            ]
        }))
        .unwrap()
    }

    fn snapshot() -> Snapshot {
        let _: Option<SoaDto> = None;
        Snapshot {
            zones: vec![zone()],
            gslb_records: BTreeMap::new(),
            endpoints: Vec::new(),
            regions: ["eu".to_string(), "us".to_string()].into(),
        }
    }

    fn endpoint(json: serde_json::Value) -> Endpoint {
        serde_json::from_value(json).unwrap()
    }

    /// Applies planned changes to the snapshot the way the API would, for round trips.
    fn apply(snapshot: &mut Snapshot, changes: &[ChangeDto]) {
        for change in changes {
            match change {
                ChangeDto::PutRecord { record, .. } => {
                    let zone = &mut snapshot.zones[0];
                    zone.records
                        .retain(|set| !(set.name == record.name && set.rtype == record.rtype));
                    zone.records.push(record.clone());
                }
                ChangeDto::DeleteRecord { name, rtype, .. } => snapshot.zones[0]
                    .records
                    .retain(|set| !(&set.name == name && set.rtype == *rtype)),
                ChangeDto::PutEndpoint { endpoint } => {
                    snapshot.endpoints.retain(|e| e.id != endpoint.id);
                    snapshot.endpoints.push(endpoint.clone());
                }
                ChangeDto::DeleteEndpoint { id } => snapshot.endpoints.retain(|e| &e.id != id),
                ChangeDto::PutGslbRecord { zone, record } => {
                    let list = snapshot.gslb_records.entry(zone.clone()).or_default();
                    list.retain(|r| !(r.name == record.name && r.rtype == record.rtype));
                    list.push((**record).clone());
                }
                ChangeDto::DeleteGslbRecord { zone, name, rtype } => {
                    if let Some(list) = snapshot.gslb_records.get_mut(zone) {
                        list.retain(|r| !(&r.name == name && r.rtype == *rtype));
                    }
                }
                other => panic!("unexpected change {other:?}"),
            }
        }
    }

    /// Created endpoints (plain, set-identified, ownership TXT with and without a set
    /// identifier) list back exactly as ExternalDNS asked for them after adjustment.
    #[test]
    fn created_endpoints_read_back_unchanged() {
        let filter = DomainFilter::default();
        let mut state = snapshot();
        let desired = adjust_endpoints(vec![
            endpoint(
                serde_json::json!({"dnsName": "app.example.com", "targets": ["192.0.2.1"],
                "recordType": "A", "recordTTL": 30}),
            ),
            endpoint(serde_json::json!({"dnsName": "alias.example.com",
                "targets": ["app.example.com"], "recordType": "CNAME"})),
            endpoint(
                serde_json::json!({"dnsName": "www.example.com", "targets": ["192.0.2.10"],
                "recordType": "A", "setIdentifier": "eu", "recordTTL": 60,
                "providerSpecific": [{"name": "webhook/gslb-region", "value": "eu"},
                                     {"name": "webhook/gslb-weight", "value": "3"}]}),
            ),
            endpoint(serde_json::json!({"dnsName": "www.example.com",
                "targets": ["192.0.2.20", "192.0.2.21"], "recordType": "A",
                "setIdentifier": "us", "recordTTL": 60,
                "providerSpecific": [{"name": "webhook/gslb-region", "value": "us"},
                                     {"name": "webhook/gslb-weight", "value": "1"}]})),
            endpoint(serde_json::json!({"dnsName": "a-www.example.com",
                "targets": ["\"heritage=external-dns,external-dns/owner=default\""],
                "recordType": "TXT", "setIdentifier": "eu"})),
            endpoint(serde_json::json!({"dnsName": "a-app.example.com",
                "targets": ["heritage=external-dns,external-dns/owner=default"],
                "recordType": "TXT"})),
        ]);
        let changes = Changes {
            create: Some(desired.clone()),
            ..Changes::default()
        };
        let batch = plan_changes(&state, &filter, &changes).unwrap();
        assert_eq!(
            batch.describe_path("changes[0].record.data[0]"),
            format!("{}: record.data[0]", batch.origins[0])
        );
        apply(&mut state, &batch.changes);
        let listed = list_endpoints(&state, &filter);
        for wanted in &desired {
            let found = listed
                .iter()
                .find(|e| key_of(e) == key_of(wanted))
                .unwrap_or_else(|| panic!("{wanted:?} not listed in {listed:#?}"));
            let mut found = found.clone();
            if wanted.record_ttl == 0 {
                found.record_ttl = 0;
            }
            assert_eq!(&found, wanted);
        }
        let www = &state.gslb_records["example.com."][0];
        match &www.policy {
            PolicyNodeDto::Weighted(choices) => {
                assert_eq!(choices.len(), 2);
                assert_eq!(choices[0].weight, 3);
            }
            other => panic!("expected weighted, got {other:?}"),
        }
        assert_eq!(www.max_answers, 2);
        // Deleting one set identifier rewrites the record and removes its endpoints.
        let delete = Changes {
            delete: Some(vec![desired[3].clone()]),
            ..Changes::default()
        };
        let batch = plan_changes(&state, &filter, &delete).unwrap();
        apply(&mut state, &batch.changes);
        assert_eq!(state.endpoints.len(), 1, "{:?}", state.endpoints);
        // The TXT registry copies the record's settings onto its TXT: accepted, not stored.
        let registry_txt = Changes {
            create: Some(vec![endpoint(
                serde_json::json!({"dnsName": "a-www.example.com",
                "targets": ["\"heritage=external-dns,external-dns/owner=other\""],
                "recordType": "TXT", "setIdentifier": "us",
                "providerSpecific": [{"name": "webhook/gslb-region", "value": "us"}]}),
            )]),
            ..Changes::default()
        };
        let batch = plan_changes(&state, &filter, &registry_txt).unwrap();
        apply(&mut state, &batch.changes);
        let listed = list_endpoints(&state, &filter);
        let key = (
            "a-www.example.com.".to_string(),
            "TXT".to_string(),
            "us".to_string(),
        );
        let txt = listed.iter().find(|e| key_of(e) == key).unwrap();
        assert!(txt.provider_specific.is_empty(), "{txt:?}");
    }

    /// Unrepresentable endpoints are refused whole, each named with its reason.
    #[test]
    fn unrepresentable_endpoints_are_named() {
        let filter = DomainFilter {
            include: vec!["example.com".into()],
            ..DomainFilter::default()
        };
        let changes = Changes {
            create: Some(vec![
                endpoint(
                    serde_json::json!({"dnsName": "www.example.com", "targets": ["192.0.2.1"],
                    "recordType": "A", "setIdentifier": "mars",
                    "providerSpecific": [{"name": "webhook/gslb-region", "value": "mars"}]}),
                ),
                endpoint(
                    serde_json::json!({"dnsName": "x.example.com", "targets": ["a"],
                    "recordType": "NAPTR"}),
                ),
                endpoint(
                    serde_json::json!({"dnsName": "y.example.org", "targets": ["192.0.2.1"],
                    "recordType": "A"}),
                ),
                endpoint(
                    serde_json::json!({"dnsName": "z.example.com", "targets": ["192.0.2.1"],
                    "recordType": "A", "setIdentifier": "eu"}),
                ),
                endpoint(
                    serde_json::json!({"dnsName": "p.example.com", "targets": ["192.0.2.1"],
                    "recordType": "A",
                    "providerSpecific": [{"name": "webhook-gslb-weight", "value": "2"}]}),
                ),
                endpoint(serde_json::json!({"dnsName": "t.example.com",
                    "targets": ["192.0.2.1"], "recordType": "A", "setIdentifier": "eu",
                    "recordTTL": 30,
                    "providerSpecific": [{"name": "webhook-gslb-region", "value": "eu"}]})),
                endpoint(serde_json::json!({"dnsName": "t.example.com",
                    "targets": ["192.0.2.2"], "recordType": "A", "setIdentifier": "us",
                    "recordTTL": 60,
                    "providerSpecific": [{"name": "webhook-gslb-region", "value": "us"}]})),
            ]),
            ..Changes::default()
        };
        let refusal = plan_changes(&snapshot(), &filter, &changes).unwrap_err();
        let text = refusal.to_string();
        for needle in [
            "www.example.com A [mars]: gslb-region \"mars\" does not exist",
            "x.example.com NAPTR",
            "y.example.org A: outside the webhook's domain filter",
            "z.example.com A [eu]: a setIdentifier needs the provider-specific gslb-region",
            "p.example.com A: [\"webhook-gslb-weight\"] apply only to",
            "t.example.com A [us]: recordTTL 60 differs from 30",
        ] {
            assert!(text.contains(needle), "{needle:?} missing from {text}");
        }
    }
}
