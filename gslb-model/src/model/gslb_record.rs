//! `GslbRecord`: a name whose answer is chosen per query by a health-aware policy tree
//! (`PolicyNode`), and the write-time rules that keep such a record answerable.
//!
//! This file holds only what an operator declares and its validation. Evaluation (which
//! endpoints a given client gets now) is `gslb_dns::policy::evaluate`; health, leases and
//! overrides plug in there by region and endpoint id.
//!
//! JSON shape (externally tagged enums, so a path names the policy kind):
//!
//! ```json
//! { "name": "www.svc.example.com.", "type": "A", "ttl": 30,
//!   "policy": { "failover": [
//!       { "geo": { "rules": [ { "match": [ { "continent": "EU" } ], "node": { "region": "eu" } } ],
//!                  "default": { "weighted": [ { "weight": 3, "node": { "region": "us" } },
//!                                             { "weight": 1, "node": { "region": "ap" } } ] } } },
//!       { "endpoints": [ "backup-vip" ] } ] },
//!   "when_all_down": "fail_open", "unknown_as": "down", "split_brain_guard": true }
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::ip::Cidr;
use crate::model::endpoint::{Endpoint, EndpointTarget, MAX_WEIGHT};
use crate::model::ident::prefix;
use crate::model::name::DomainName;
use crate::model::record::{RecordType, MAX_TTL};
use crate::model::region::{Region, CONTINENTS};
use crate::model::validation::FieldErrors;
use crate::model::zone::Zone;

/// The most answers one GSLB response may carry (keeps UDP replies small and lets the
/// evaluator hold answers in a fixed array).
pub const MAX_ANSWERS: u8 = 8;

/// The deepest policy tree we accept; evaluation recurses once per level.
pub const MAX_POLICY_DEPTH: usize = 8;

/// The most nodes one policy tree may hold.
pub const MAX_POLICY_NODES: usize = 256;

/// The most children one policy node may have.
pub const MAX_CHILDREN: usize = 64;

/// The largest proximity bias, in percent (100 is neutral).
pub const MAX_BIAS_PERCENT: u32 = 10_000;

/// One GSLB record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GslbRecord {
    /// The owner name, inside one of our zones.
    pub name: DomainName,
    /// `A`, `AAAA` or `CNAME`: which endpoints can answer it.
    #[serde(rename = "type")]
    pub rtype: RecordType,
    /// TTL of answers while everything on the chosen path is healthy.
    pub ttl: u32,
    /// TTL while the record is degraded (a failover took a later child, a share spilled, or
    /// `when_all_down` answered), so clients come back quickly after recovery. `None` keeps
    /// `ttl`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failover_ttl: Option<u32>,
    /// How to choose.
    pub policy: PolicyNode,
    /// The most addresses one answer carries (1 for CNAME).
    #[serde(default = "default_max_answers")]
    pub max_answers: u8,
    /// What to answer when no subtree can yield a healthy answer.
    #[serde(default)]
    pub when_all_down: WhenAllDown,
    /// What a never-reported (`unknown`) health state means for this record.
    #[serde(default)]
    pub unknown_as: UnknownAs,
    /// When true a region is answerable only while its health lease is valid, and the TTL
    /// never exceeds the lease left (DESIGN "split-brain fencing by lease").
    #[serde(default)]
    pub split_brain_guard: bool,
    /// How much lower a `latency` child's RTT must be to take traffic from a child listed
    /// before it (absent in records written before it existed: the default).
    #[serde(default, skip_serializing_if = "LatencyMargin::is_default")]
    pub latency_margin: LatencyMargin,
}

/// The switching margin of `latency` choices: children whose RTT lies within the margin of
/// the lowest are equals, and the one listed first among them answers. Probe noise below the
/// margin therefore never moves traffic, and every DNS node with the same inputs picks the
/// same child. The margin is the larger of `percent` of the lowest RTT and `micros`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyMargin {
    /// Relative margin, percent of the lowest RTT (default 20).
    #[serde(default = "default_margin_percent")]
    pub percent: u16,
    /// Absolute margin, microseconds (default 1000: below a millisecond, RTTs are noise).
    #[serde(default = "default_margin_micros")]
    pub micros: u32,
}

fn default_margin_percent() -> u16 {
    20
}

fn default_margin_micros() -> u32 {
    1_000
}

impl Default for LatencyMargin {
    fn default() -> Self {
        LatencyMargin {
            percent: default_margin_percent(),
            micros: default_margin_micros(),
        }
    }
}

impl LatencyMargin {
    /// Whether this is the default margin (not written in states).
    pub fn is_default(&self) -> bool {
        *self == LatencyMargin::default()
    }

    /// The highest RTT that still counts as equal to `lowest`.
    pub fn equal_up_to(&self, lowest: u32) -> u32 {
        let relative = u64::from(lowest) * u64::from(self.percent) / 100;
        let margin = relative.max(u64::from(self.micros));
        (u64::from(lowest) + margin).min(u64::from(u32::MAX)) as u32
    }
}

/// The default for `max_answers`.
fn default_max_answers() -> u8 {
    1
}

/// What a record answers when nothing is available.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum WhenAllDown {
    /// Answer every endpoint the tree names (minus those an operator took out and, for a
    /// guarded record, those without a valid lease): what most products do.
    #[default]
    FailOpen,
    /// Answer nothing (NODATA): for services that must never reach a dead or split region.
    FailClosed,
    /// Answer with a CNAME to another name (typically another GSLB record or a static
    /// maintenance page).
    Fallback(DomainName),
}

/// How a record reads a health state nobody has reported yet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownAs {
    /// Unknown counts as healthy (serve new endpoints before their first check).
    Up,
    /// Unknown counts as down (serve only what was seen healthy).
    #[default]
    Down,
}

/// One node of a policy tree. Every node is health-aware: it is *available* when it can
/// yield at least one healthy answer for the client at hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum PolicyNode {
    /// Leaf: these endpoints (those healthy, up to `max_answers`).
    Endpoints(Vec<String>),
    /// Leaf: every endpoint of this region that can answer the record's type.
    Region(String),
    /// The first available child, in order.
    Failover(Vec<PolicyNode>),
    /// A random child by weight; an unavailable child's share spills over the others by
    /// spare capacity. The answer does not depend on the client (ECS scope 0).
    Weighted(Vec<WeightedChoice>),
    /// Like `weighted`, but sticky per client subnet (/24 for IPv4, /56 for IPv6) by
    /// rendezvous hashing: losing a child moves only that child's clients.
    Consistent(Vec<WeightedChoice>),
    /// By where the client is.
    Geo(GeoPolicy),
    /// The child with the lowest round-trip time: from a client-network latency table when
    /// one is loaded and covers the client, else as measured by the probers of the answering
    /// node's vantage.
    Latency(Vec<PolicyNode>),
    /// The child whose region is nearest to the client (great-circle), scaled by a bias.
    Proximity(Vec<ProximityChoice>),
    /// A random child with shares proportional to its healthy capacity.
    Capacity(Vec<PolicyNode>),
}

/// One child of a `weighted` or `consistent` node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeightedChoice {
    /// Relative share, 1..=1_000_000.
    pub weight: u32,
    /// The subtree that gets the share.
    pub node: PolicyNode,
}

/// The body of a `geo` node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeoPolicy {
    /// Tried in order; the first rule with a matching condition decides.
    pub rules: Vec<GeoRule>,
    /// For clients no rule matches (unknown locations included), and when the matched
    /// branch is unavailable.
    pub default: Box<PolicyNode>,
}

/// One rule of a `geo` node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeoRule {
    /// Any of these conditions selects the rule.
    #[serde(rename = "match")]
    pub matches: Vec<GeoMatch>,
    /// The subtree for matching clients.
    pub node: PolicyNode,
}

/// One condition on the client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum GeoMatch {
    /// Continent code (`EU`).
    Continent(String),
    /// ISO 3166-1 alpha-2 country code (`DE`).
    Country(String),
    /// ISO 3166-2 subdivision code (`DE-BY`).
    Subdivision(String),
    /// The client address is inside this network.
    Cidr(Cidr),
    /// The client's autonomous system number.
    Asn(u32),
}

/// One child of a `proximity` node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProximityChoice {
    /// The subtree; its distance is that of its nearest available region.
    pub node: PolicyNode,
    /// Distance multiplier in percent: 100 is neutral, 50 makes it look twice as near.
    #[serde(default = "default_bias_percent")]
    pub bias_percent: u32,
}

/// The default proximity bias: neutral.
fn default_bias_percent() -> u32 {
    100
}

impl PolicyNode {
    /// The kind as written in JSON (`failover`, `geo`, ...), for paths and explanations.
    pub fn kind(&self) -> &'static str {
        match self {
            PolicyNode::Endpoints(_) => "endpoints",
            PolicyNode::Region(_) => "region",
            PolicyNode::Failover(_) => "failover",
            PolicyNode::Weighted(_) => "weighted",
            PolicyNode::Consistent(_) => "consistent",
            PolicyNode::Geo(_) => "geo",
            PolicyNode::Latency(_) => "latency",
            PolicyNode::Proximity(_) => "proximity",
            PolicyNode::Capacity(_) => "capacity",
        }
    }

    /// Calls `visit` on every endpoint id and region id the tree names, depth first.
    pub fn for_each_target(&self, visit: &mut impl FnMut(Target<'_>)) {
        match self {
            PolicyNode::Endpoints(ids) => ids.iter().for_each(|id| visit(Target::Endpoint(id))),
            PolicyNode::Region(id) => visit(Target::Region(id)),
            PolicyNode::Failover(children)
            | PolicyNode::Latency(children)
            | PolicyNode::Capacity(children) => children
                .iter()
                .for_each(|child| child.for_each_target(visit)),
            PolicyNode::Weighted(choices) | PolicyNode::Consistent(choices) => choices
                .iter()
                .for_each(|choice| choice.node.for_each_target(visit)),
            PolicyNode::Geo(geo) => {
                geo.rules
                    .iter()
                    .for_each(|rule| rule.node.for_each_target(visit));
                geo.default.for_each_target(visit);
            }
            PolicyNode::Proximity(choices) => choices
                .iter()
                .for_each(|choice| choice.node.for_each_target(visit)),
        }
    }

    /// Checks the tree against the known regions and endpoints, reporting under `path`.
    /// `rtype` is the record's type, which every named endpoint must be able to answer.
    pub fn validate(
        &self,
        path: &str,
        rtype: RecordType,
        regions: &BTreeMap<String, Region>,
        endpoints: &BTreeMap<String, Endpoint>,
        errors: &mut FieldErrors,
    ) {
        let mut n_nodes = 0;
        self.validate_at(path, 1, &mut n_nodes, rtype, regions, endpoints, errors);
        if n_nodes > MAX_POLICY_NODES {
            errors.push(
                path,
                format!("must have at most {MAX_POLICY_NODES} nodes, got {n_nodes}"),
            );
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn validate_at(
        &self,
        path: &str,
        depth: usize,
        n_nodes: &mut usize,
        rtype: RecordType,
        regions: &BTreeMap<String, Region>,
        endpoints: &BTreeMap<String, Endpoint>,
        errors: &mut FieldErrors,
    ) {
        *n_nodes += 1;
        if depth > MAX_POLICY_DEPTH {
            errors.push(
                path,
                format!("policy trees are at most {MAX_POLICY_DEPTH} levels deep, got deeper"),
            );
            return;
        }
        let kind = self.kind();
        let here = format!("{}{kind}", prefix(path));
        let n_children = match self {
            PolicyNode::Failover(children)
            | PolicyNode::Latency(children)
            | PolicyNode::Capacity(children) => children.len(),
            PolicyNode::Weighted(choices) | PolicyNode::Consistent(choices) => choices.len(),
            PolicyNode::Proximity(choices) => choices.len(),
            PolicyNode::Geo(_) | PolicyNode::Endpoints(_) | PolicyNode::Region(_) => 0,
        };
        if n_children > MAX_CHILDREN {
            errors.push(
                &here,
                format!("must have at most {MAX_CHILDREN} children, got {n_children}"),
            );
        }
        let mut child = |node: &PolicyNode, child_path: String, errors: &mut FieldErrors| {
            node.validate_at(
                &child_path,
                depth + 1,
                n_nodes,
                rtype,
                regions,
                endpoints,
                errors,
            )
        };
        match self {
            PolicyNode::Endpoints(ids) => {
                if ids.is_empty() {
                    errors.push(&here, "must name at least one endpoint, got none");
                }
                let mut seen = BTreeSet::new();
                for (index, id) in ids.iter().enumerate() {
                    let at = format!("{here}[{index}]");
                    if !seen.insert(id) {
                        errors.push(&at, format!("endpoint {id:?} is named twice"));
                    }
                    match endpoints.get(id) {
                        None => errors.push(&at, format!("unknown endpoint {id:?}")),
                        Some(endpoint) => {
                            if !answers_type(&endpoint.target, rtype) {
                                errors.push(
                                    &at,
                                    format!(
                                        "endpoint {id:?} cannot answer {rtype} (its target is {})",
                                        describe_target(&endpoint.target)
                                    ),
                                );
                            }
                        }
                    }
                }
            }
            PolicyNode::Region(id) => {
                if !regions.contains_key(id) {
                    errors.push(&here, format!("unknown region {id:?}"));
                }
                // A region whose endpoints all have the other address family (or are names
                // for an address record) would leave this leaf empty forever. A region with
                // no endpoints yet is accepted: they may come in a later write.
                let in_region: Vec<&Endpoint> = endpoints
                    .values()
                    .filter(|endpoint| &endpoint.region == id)
                    .collect();
                if !in_region.is_empty()
                    && !in_region
                        .iter()
                        .any(|endpoint| answers_type(&endpoint.target, rtype))
                {
                    let listed: Vec<String> = in_region
                        .iter()
                        .map(|endpoint| {
                            format!("{} ({})", endpoint.id, describe_target(&endpoint.target))
                        })
                        .collect();
                    errors.push(
                        &here,
                        format!(
                            "no endpoint of region {id:?} can answer {rtype}: {}",
                            listed.join(", ")
                        ),
                    );
                }
            }
            PolicyNode::Failover(children)
            | PolicyNode::Latency(children)
            | PolicyNode::Capacity(children) => {
                if children.is_empty() {
                    errors.push(&here, "must have at least one child, got none");
                }
                for (index, node) in children.iter().enumerate() {
                    child(node, format!("{here}[{index}]"), errors);
                }
            }
            PolicyNode::Weighted(choices) | PolicyNode::Consistent(choices) => {
                if choices.is_empty() {
                    errors.push(&here, "must have at least one child, got none");
                }
                for (index, choice) in choices.iter().enumerate() {
                    let at = format!("{here}[{index}]");
                    if choice.weight == 0 {
                        errors.push(format!("{at}.weight"), "must be > 0, got 0");
                    } else if choice.weight > MAX_WEIGHT {
                        errors.push(
                            format!("{at}.weight"),
                            format!("must be ≤ {MAX_WEIGHT}, got {}", choice.weight),
                        );
                    }
                    child(&choice.node, format!("{at}.node"), errors);
                }
            }
            PolicyNode::Geo(geo) => {
                for (rule_index, rule) in geo.rules.iter().enumerate() {
                    let at = format!("{here}.rules[{rule_index}]");
                    if rule.matches.is_empty() {
                        errors.push(format!("{at}.match"), "must hold at least one condition");
                    }
                    for (match_index, condition) in rule.matches.iter().enumerate() {
                        condition.validate(&format!("{at}.match[{match_index}]"), errors);
                    }
                    child(&rule.node, format!("{at}.node"), errors);
                }
                child(&geo.default, format!("{here}.default"), errors);
            }
            PolicyNode::Proximity(choices) => {
                if choices.is_empty() {
                    errors.push(&here, "must have at least one child, got none");
                }
                for (index, choice) in choices.iter().enumerate() {
                    let at = format!("{here}[{index}]");
                    if choice.bias_percent == 0 || choice.bias_percent > MAX_BIAS_PERCENT {
                        errors.push(
                            format!("{at}.bias_percent"),
                            format!(
                                "must be within 1..={MAX_BIAS_PERCENT}, got {}",
                                choice.bias_percent
                            ),
                        );
                    }
                    child(&choice.node, format!("{at}.node"), errors);
                }
            }
        }
    }
}

/// A region or endpoint a policy tree names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// An endpoint id.
    Endpoint(&'a str),
    /// A region id.
    Region(&'a str),
}

impl GeoMatch {
    /// Checks codes and networks, reporting under `path` (e.g. `...rules[0].match[1]`).
    pub fn validate(&self, path: &str, errors: &mut FieldErrors) {
        match self {
            GeoMatch::Continent(code) => {
                if !CONTINENTS.contains(&code.as_str()) {
                    errors.push(
                        format!("{path}.continent"),
                        format!("must be one of {}, got {code:?}", CONTINENTS.join(", ")),
                    );
                }
            }
            GeoMatch::Country(code) => {
                if !is_country_code(code) {
                    errors.push(
                        format!("{path}.country"),
                        format!("must be an ISO 3166-1 alpha-2 code in upper case, got {code:?}"),
                    );
                }
            }
            GeoMatch::Subdivision(code) => {
                let well_formed = code.split_once('-').is_some_and(|(country, sub)| {
                    is_country_code(country)
                        && (1..=3).contains(&sub.len())
                        && sub
                            .bytes()
                            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
                });
                if !well_formed {
                    errors.push(
                        format!("{path}.subdivision"),
                        format!("must be an ISO 3166-2 code like \"DE-BY\", got {code:?}"),
                    );
                }
            }
            GeoMatch::Cidr(_) => {}
            GeoMatch::Asn(asn) => {
                if *asn == 0 {
                    errors.push(format!("{path}.asn"), "must be > 0, got 0");
                }
            }
        }
    }
}

/// Two upper-case ASCII letters.
fn is_country_code(code: &str) -> bool {
    code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase())
}

/// Whether an endpoint with `target` can answer a record of `rtype`.
pub fn answers_type(target: &EndpointTarget, rtype: RecordType) -> bool {
    matches!(
        (target, rtype),
        (EndpointTarget::Address(IpAddr::V4(_)), RecordType::A)
            | (EndpointTarget::Address(IpAddr::V6(_)), RecordType::AAAA)
            | (EndpointTarget::Cname(_), RecordType::CNAME)
    )
}

/// A short description of a target for error messages.
fn describe_target(target: &EndpointTarget) -> String {
    match target {
        EndpointTarget::Address(IpAddr::V4(address)) => format!("the IPv4 address {address}"),
        EndpointTarget::Address(IpAddr::V6(address)) => format!("the IPv6 address {address}"),
        EndpointTarget::Cname(name) => format!("the name {name}"),
    }
}

impl GslbRecord {
    /// Checks the record on its own and against the known regions and endpoints, reporting
    /// every fault under `path` (e.g. `records[2]`). Fallback cycles across records are
    /// `check_fallback_cycles`; clashes with static data are `check_against_zone`.
    pub fn validate(
        &self,
        path: &str,
        regions: &BTreeMap<String, Region>,
        endpoints: &BTreeMap<String, Endpoint>,
        errors: &mut FieldErrors,
    ) {
        let prefix = prefix(path);
        if self.name.is_root() {
            errors.push(format!("{prefix}name"), "cannot be the root");
        }
        if !matches!(
            self.rtype,
            RecordType::A | RecordType::AAAA | RecordType::CNAME
        ) {
            errors.push(
                format!("{prefix}type"),
                format!("must be A, AAAA or CNAME, got {}", self.rtype),
            );
        }
        if self.ttl > MAX_TTL {
            errors.push(
                format!("{prefix}ttl"),
                format!("must be ≤ {MAX_TTL}, got {}", self.ttl),
            );
        }
        if let Some(failover_ttl) = self.failover_ttl {
            if failover_ttl > self.ttl {
                errors.push(
                    format!("{prefix}failover_ttl"),
                    format!(
                        "must be ≤ ttl ({}) since it lowers it, got {failover_ttl}",
                        self.ttl
                    ),
                );
            }
        }
        if self.latency_margin.percent > 1_000 {
            errors.push(
                format!("{prefix}latency_margin.percent"),
                format!("must be ≤ 1000, got {}", self.latency_margin.percent),
            );
        }
        if self.latency_margin.micros > 10_000_000 {
            errors.push(
                format!("{prefix}latency_margin.micros"),
                format!(
                    "must be ≤ 10000000 (10 s), got {}",
                    self.latency_margin.micros
                ),
            );
        }
        if self.max_answers == 0 || self.max_answers > MAX_ANSWERS {
            errors.push(
                format!("{prefix}max_answers"),
                format!("must be within 1..={MAX_ANSWERS}, got {}", self.max_answers),
            );
        } else if self.rtype == RecordType::CNAME && self.max_answers != 1 {
            errors.push(
                format!("{prefix}max_answers"),
                format!(
                    "must be 1 for a CNAME record (a name has one CNAME), got {}",
                    self.max_answers
                ),
            );
        }
        if let WhenAllDown::Fallback(target) = &self.when_all_down {
            if *target == self.name {
                errors.push(
                    format!("{prefix}when_all_down.fallback"),
                    format!("cannot be the record's own name {target}"),
                );
            }
        }
        self.policy.validate(
            &format!("{prefix}policy"),
            self.rtype,
            regions,
            endpoints,
            errors,
        );
    }
}

/// Reports every record whose chain of `when_all_down.fallback` targets loops back to a
/// name already on it. `records` yields each record with the path to report it under; a
/// target that names no GSLB record ends the chain (it is static data or lies elsewhere).
pub fn check_fallback_cycles<'a>(
    records: impl IntoIterator<Item = (String, &'a GslbRecord)>,
    errors: &mut FieldErrors,
) {
    let records: Vec<(String, &GslbRecord)> = records.into_iter().collect();
    let mut fallback_of: BTreeMap<&DomainName, &DomainName> = BTreeMap::new();
    for (_, record) in &records {
        if let WhenAllDown::Fallback(target) = &record.when_all_down {
            fallback_of.insert(&record.name, target);
        }
    }
    for (path, record) in &records {
        let WhenAllDown::Fallback(_) = &record.when_all_down else {
            continue;
        };
        let mut chain: Vec<&DomainName> = vec![&record.name];
        let mut current = &record.name;
        while let Some(next) = fallback_of.get(current) {
            if chain.contains(next) {
                if *next == &record.name {
                    chain.push(next);
                    let shown: Vec<String> = chain.iter().map(|name| name.to_string()).collect();
                    errors.push(
                        format!("{}when_all_down.fallback", prefix(path)),
                        format!("fallback targets form a cycle: {}", shown.join(" → ")),
                    );
                }
                break;
            }
            chain.push(next);
            current = next;
        }
    }
}

/// Reports GSLB records that clash with a zone's static data or with each other at the same
/// name: a CNAME (static or GSLB) beside any other data (RFC 1034 §3.6.2), a static set of
/// the same type as a GSLB record, a CNAME at the apex, or a record outside the zone.
/// `records` yields each GSLB record of `zone` with the path to report it under.
pub fn check_against_zone<'a>(
    zone: &Zone,
    records: impl IntoIterator<Item = (String, &'a GslbRecord)>,
    errors: &mut FieldErrors,
) {
    let records: Vec<(String, &GslbRecord)> = records.into_iter().collect();
    for (index, (path, record)) in records.iter().enumerate() {
        let name_path = format!("{}name", prefix(path));
        if !record.name.is_subdomain_of(&zone.apex) {
            errors.push(
                &name_path,
                format!("{} is outside zone {}", record.name, zone.apex),
            );
            continue;
        }
        // A binary search in a sorted zone: a staged import's commit meets a million sets.
        let static_types: BTreeSet<RecordType> = zone
            .rrsets
            .sets_of_name(&record.name)
            .map(|set| set.rtype)
            .collect();
        if record.rtype == RecordType::CNAME && record.name == zone.apex {
            errors.push(
                &name_path,
                format!("a CNAME cannot sit at the zone apex {}", zone.apex),
            );
        }
        if record.rtype == RecordType::CNAME && !static_types.is_empty() {
            errors.push(
                &name_path,
                format!(
                    "a CNAME GSLB record cannot sit beside other data at {} (static {})",
                    record.name,
                    join_types(&static_types)
                ),
            );
        } else if static_types.contains(&RecordType::CNAME) {
            errors.push(
                &name_path,
                format!(
                    "{} holds a static CNAME, so no other data may sit beside it",
                    record.name
                ),
            );
        } else if static_types.contains(&record.rtype) {
            errors.push(
                &name_path,
                format!(
                    "{} already has a static {} set; a name has one {} answer",
                    record.name, record.rtype, record.rtype
                ),
            );
        }
        for (other_path, other) in records.iter().skip(index + 1) {
            if other.name != record.name {
                continue;
            }
            if other.rtype == record.rtype {
                errors.push(
                    format!("{}name", prefix(other_path)),
                    format!(
                        "{} already has a GSLB {} record at {path}",
                        record.name, record.rtype
                    ),
                );
            } else if other.rtype == RecordType::CNAME || record.rtype == RecordType::CNAME {
                errors.push(
                    format!("{}name", prefix(other_path)),
                    format!(
                        "a CNAME cannot sit beside other data at {} (GSLB {} at {path})",
                        record.name, record.rtype
                    ),
                );
            }
        }
    }
}

/// `A, AAAA` for error messages.
fn join_types(types: &BTreeSet<RecordType>) -> String {
    types
        .iter()
        .map(|rtype| rtype.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::endpoint::AdminState;
    use crate::model::region::Location;

    fn region(id: &str) -> (String, Region) {
        (
            id.to_string(),
            Region {
                id: id.to_string(),
                location: Location {
                    lat_micro: 0,
                    lon_micro: 0,
                    country: "DE".into(),
                    continent: "EU".into(),
                },
                capacity: None,
                min_healthy: None,
            },
        )
    }

    fn endpoint(id: &str, region: &str, target: &str) -> (String, Endpoint) {
        let target = match target.parse::<IpAddr>() {
            Ok(address) => EndpointTarget::Address(address),
            Err(_) => EndpointTarget::Cname(DomainName::parse_absolute(target).unwrap()),
        };
        (
            id.to_string(),
            Endpoint {
                id: id.to_string(),
                region: region.to_string(),
                target,
                weight: 1,
                admin: AdminState::Enabled,
                labels: BTreeMap::new(),
            },
        )
    }

    fn world() -> (BTreeMap<String, Region>, BTreeMap<String, Endpoint>) {
        (
            [region("eu"), region("us")].into_iter().collect(),
            [
                endpoint("eu-vip", "eu", "192.0.2.1"),
                endpoint("us-vip", "us", "198.51.100.1"),
                endpoint("us-v6", "us", "2001:db8::1"),
            ]
            .into_iter()
            .collect(),
        )
    }

    fn record(json: &str) -> GslbRecord {
        serde_json::from_str(json).unwrap_or_else(|error| panic!("{json}: {error}"))
    }

    /// Validates `json` as `records[0]` and compares the rendered errors.
    fn check(json: &str, expected: &[&str]) {
        let (regions, endpoints) = world();
        let mut errors = FieldErrors::default();
        record(json).validate("records[0]", &regions, &endpoints, &mut errors);
        let got: Vec<String> = errors.0.iter().map(|error| error.to_string()).collect();
        assert_eq!(got, expected, "{json}");
    }

    #[test]
    fn a_full_record_round_trips_and_validates() {
        let json = r#"{"name":"www.svc.example.com.","type":"A","ttl":30,"failover_ttl":5,
            "policy":{"failover":[
              {"geo":{"rules":[{"match":[{"continent":"EU"},{"cidr":"192.0.2.0/24"}],
                                "node":{"region":"eu"}}],
                      "default":{"consistent":[{"weight":3,"node":{"region":"us"}},
                                               {"weight":1,"node":{"region":"eu"}}]}}},
              {"proximity":[{"node":{"region":"eu"},"bias_percent":50},{"node":{"region":"us"}}]},
              {"latency":[{"region":"eu"},{"capacity":[{"region":"us"}]}]},
              {"endpoints":["eu-vip"]}]},
            "max_answers":2,"when_all_down":{"fallback":"sorry.svc.example.com."},
            "unknown_as":"up","split_brain_guard":true}"#;
        let parsed = record(json);
        let again: GslbRecord =
            serde_json::from_str(&serde_json::to_string(&parsed).unwrap()).unwrap();
        assert_eq!(parsed, again);
        check(json, &[]);
        let minimal =
            record(r#"{"name":"a.example.","type":"A","ttl":1,"policy":{"region":"eu"}}"#);
        assert_eq!(minimal.when_all_down, WhenAllDown::FailOpen);
        assert_eq!(minimal.unknown_as, UnknownAs::Down);
        assert_eq!(minimal.max_answers, 1);
    }

    #[test]
    fn unknown_fields_are_rejected() {
        for json in [
            r#"{"name":"a.example.","type":"A","ttl":1,"policy":{"region":"eu"},"spare":1}"#,
            r#"{"name":"a.example.","type":"A","ttl":1,"policy":{"weighted":[{"weight":1,"node":{"region":"eu"},"x":1}]}}"#,
            r#"{"name":"a.example.","type":"A","ttl":1,"policy":{"nearest":["eu"]}}"#,
            r#"{"name":"a.example.","type":"A","ttl":1,"policy":{"geo":{"rules":[{"match":[{"city":"Berlin"}],"node":{"region":"eu"}}],"default":{"region":"us"}}}}"#,
            r#"{"name":"a.example.","type":"A","ttl":1,"policy":{"geo":{"rules":[{"match":[{"cidr":"192.0.2.1/24"}],"node":{"region":"eu"}}],"default":{"region":"us"}}}}"#,
        ] {
            assert!(serde_json::from_str::<GslbRecord>(json).is_err(), "{json}");
        }
    }

    #[test]
    fn faults_are_named_by_field_path() {
        check(
            r#"{"name":"a.example.","type":"A","ttl":30,"policy":{"weighted":[
                {"weight":2,"node":{"region":"eu"}},{"weight":0,"node":{"region":"us"}}]}}"#,
            &["records[0].policy.weighted[1].weight: must be > 0, got 0"],
        );
        check(
            r#"{"name":"a.example.","type":"A","ttl":30,"policy":{"geo":{"rules":[
                {"match":[{"country":"de"}],"node":{"region":"mars"}}],"default":{"endpoints":["nope","us-v6"]}}}}"#,
            &[
                "records[0].policy.geo.rules[0].match[0].country: must be an ISO 3166-1 alpha-2 code in upper case, got \"de\"",
                "records[0].policy.geo.rules[0].node.region: unknown region \"mars\"",
                "records[0].policy.geo.default.endpoints[0]: unknown endpoint \"nope\"",
                "records[0].policy.geo.default.endpoints[1]: endpoint \"us-v6\" cannot answer A (its target is the IPv6 address 2001:db8::1)",
            ],
        );
        check(
            r#"{"name":"a.example.","type":"MX","ttl":30,"failover_ttl":60,"max_answers":9,
                "policy":{"failover":[]},"when_all_down":{"fallback":"a.example."}}"#,
            &[
                "records[0].type: must be A, AAAA or CNAME, got MX",
                "records[0].failover_ttl: must be ≤ ttl (30) since it lowers it, got 60",
                "records[0].max_answers: must be within 1..=8, got 9",
                "records[0].when_all_down.fallback: cannot be the record's own name a.example.",
                "records[0].policy.failover: must have at least one child, got none",
            ],
        );
        check(
            r#"{"name":"a.example.","type":"CNAME","ttl":30,"max_answers":2,"policy":{"proximity":[{"node":{"region":"eu"},"bias_percent":0}]}}"#,
            &[
                "records[0].max_answers: must be 1 for a CNAME record (a name has one CNAME), got 2",
                "records[0].policy.proximity[0].bias_percent: must be within 1..=10000, got 0",
                "records[0].policy.proximity[0].node.region: no endpoint of region \"eu\" can answer CNAME: eu-vip (the IPv4 address 192.0.2.1)",
            ],
        );
    }

    /// An AAAA record over a region whose endpoints are all IPv4 would answer NODATA forever;
    /// it is refused naming the region's endpoints. A region with an endpoint of the record's
    /// family passes, and so does one without endpoints yet.
    #[test]
    fn a_region_without_an_endpoint_of_the_record_family_is_named() {
        check(
            r#"{"name":"a.example.","type":"AAAA","ttl":30,"policy":{"failover":[{"region":"eu"},{"region":"us"}]}}"#,
            &["records[0].policy.failover[0].region: no endpoint of region \"eu\" can answer AAAA: eu-vip (the IPv4 address 192.0.2.1)"],
        );
        let (mut regions, endpoints) = world();
        regions.extend([region("empty")]);
        let mut errors = FieldErrors::default();
        record(r#"{"name":"a.example.","type":"AAAA","ttl":30,"policy":{"region":"empty"}}"#)
            .validate("records[0]", &regions, &endpoints, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
    }

    #[test]
    fn deep_trees_are_refused() {
        let mut node = PolicyNode::Region("eu".into());
        for _ in 0..MAX_POLICY_DEPTH {
            node = PolicyNode::Failover(vec![node]);
        }
        let (regions, endpoints) = world();
        let mut errors = FieldErrors::default();
        node.validate("policy", RecordType::A, &regions, &endpoints, &mut errors);
        assert_eq!(errors.0.len(), 1, "{errors}");
        assert!(errors.0[0].message.contains("levels deep"), "{errors}");
    }

    #[test]
    fn wide_nodes_are_refused() {
        let node = PolicyNode::Failover(vec![PolicyNode::Region("eu".into()); 65]);
        let (regions, endpoints) = world();
        let mut errors = FieldErrors::default();
        node.validate("policy", RecordType::A, &regions, &endpoints, &mut errors);
        assert_eq!(
            errors.to_string(),
            "policy.failover: must have at most 64 children, got 65"
        );
    }

    #[test]
    fn fallback_cycles_are_found() {
        let a = record(
            r#"{"name":"a.example.","type":"A","ttl":1,"policy":{"region":"eu"},"when_all_down":{"fallback":"b.example."}}"#,
        );
        let b = record(
            r#"{"name":"b.example.","type":"A","ttl":1,"policy":{"region":"eu"},"when_all_down":{"fallback":"a.example."}}"#,
        );
        let c = record(
            r#"{"name":"c.example.","type":"A","ttl":1,"policy":{"region":"eu"},"when_all_down":{"fallback":"a.example."}}"#,
        );
        let mut errors = FieldErrors::default();
        check_fallback_cycles(
            [
                ("records[0]".to_string(), &a),
                ("records[1]".to_string(), &b),
                ("records[2]".to_string(), &c),
            ],
            &mut errors,
        );
        let got: Vec<String> = errors.0.iter().map(|error| error.to_string()).collect();
        assert_eq!(
            got,
            [
                "records[0].when_all_down.fallback: fallback targets form a cycle: a.example. → b.example. → a.example.",
                "records[1].when_all_down.fallback: fallback targets form a cycle: b.example. → a.example. → b.example.",
            ]
        );
    }

    #[test]
    fn cname_beside_other_data_is_named() {
        let zone: Zone = serde_json::from_value(serde_json::json!({
            "apex": "example.",
            "soa": {"mname": "ns.example.", "rname": "h.example.", "serial": 1, "refresh": 1,
                    "retry": 1, "expire": 1, "minimum": 1, "ttl": 1},
            "default_ttl": 60,
            "rrsets": [
                {"name": "www.example.", "type": "TXT", "ttl": 60, "rdata": [{"TXT": [[120]]}]}
            ]
        }))
        .unwrap();
        let www =
            record(r#"{"name":"www.example.","type":"CNAME","ttl":1,"policy":{"region":"eu"}}"#);
        let api_a =
            record(r#"{"name":"api.example.","type":"A","ttl":1,"policy":{"region":"eu"}}"#);
        let api_c =
            record(r#"{"name":"api.example.","type":"CNAME","ttl":1,"policy":{"region":"eu"}}"#);
        let outside =
            record(r#"{"name":"www.other.","type":"A","ttl":1,"policy":{"region":"eu"}}"#);
        let mut errors = FieldErrors::default();
        check_against_zone(
            &zone,
            [
                ("records[0]".to_string(), &www),
                ("records[1]".to_string(), &api_a),
                ("records[2]".to_string(), &api_c),
                ("records[3]".to_string(), &outside),
            ],
            &mut errors,
        );
        let got: Vec<String> = errors.0.iter().map(|error| error.to_string()).collect();
        assert_eq!(
            got,
            [
                "records[0].name: a CNAME GSLB record cannot sit beside other data at www.example. (static TXT)",
                "records[2].name: a CNAME cannot sit beside other data at api.example. (GSLB A at records[1])",
                "records[3].name: www.other. is outside zone example.",
            ]
        );
    }
}
