//! `plan_drill`: what taking a region out would do, computed without changing anything, by
//! the very evaluator DNS answers with (`gslb_dns::policy::evaluate`).
//!
//! Clients are grouped the way the records themselves tell them apart: one group per geo rule
//! condition any record uses (`continent EU`, `country DE`, `198.51.100.0/24`, `asn 64500`),
//! one per network of the latency table (a `/v1/networks` entry with `rtt_ms`), one per region (`near eu-west`: a client at the region's location, for proximity and
//! geo defaults), and `unlocated` (what a node without GeoIP sees). Each record is evaluated
//! for each group `SAMPLES` times with fixed entropy, before and after the region is taken out
//! (a `drain` override for `drain`, `force_down` for `fail`), giving shares of answers per
//! region.
//!
//! Load: with no traffic figures, every (record, group) pair weighs the same. A region's
//! *load* is its share of answers divided by its share of the capacity of the regions that
//! answer before the drill (reported `kube-local` capacity, else declared, else assumed equal):
//! 100 % means it carries exactly its capacity's share; a survivor at 180 % carries 1.8 times
//! its share. `--max-load 1.5` is a guard at 150 %.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

use gslb_dns::client::{ClientFacts, ClientOrigin, Code};
use gslb_dns::policy::hash::mix64;
use gslb_dns::policy::{evaluate, CompiledRecord, Outcome, PolicyInputs};
use gslb_model::model::gslb_record::GeoMatch;
use gslb_model::model::{
    AnswerRow, CheckKind, CheckSubject, DrillMode, EndpointTarget, GslbRecord, HealthStatus,
    HealthView, Override, OverrideAction, OverrideTarget, PolicyNode, State,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Evaluations per (record, client group): enough to see a 5 % weighted share.
pub const SAMPLES: u64 = 64;

/// The address every located group is evaluated with (TEST-NET-1): consistent choices then
/// depend on the group only.
const SAMPLE_ADDRESS: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));

/// What a drill would do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DrillPlan {
    /// The region taken out.
    pub region: String,
    /// `drain` or `fail`.
    pub mode: String,
    /// The GSLB records whose answers change (`name TYPE`).
    pub records: Vec<String>,
    /// Where each client group goes, per changed record, before and after.
    pub clients: Vec<ClientMove>,
    /// Every region's share of answers and load, before and after.
    pub load: Vec<RegionLoad>,
    /// What an operator should know (a fallback answered, capacity assumed, ...).
    pub warnings: Vec<String>,
    /// What refuses `drill start` unless forced (a record left with no answer, the load
    /// guard tripping at once).
    pub blockers: Vec<String>,
}

/// Where one client group goes for one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ClientMove {
    /// The record, `name TYPE`.
    pub record: String,
    /// The client group.
    pub clients: String,
    /// Share of answers per region, thousandths, before.
    pub before: BTreeMap<String, u32>,
    /// The same after the region is out.
    pub after: BTreeMap<String, u32>,
    /// How the record stands after (`healthy`, `degraded`, `all_down_closed`, ...).
    pub outcome_after: String,
}

/// One region's share of answers and load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RegionLoad {
    /// The region.
    pub region: String,
    /// The capacity used, in the region's units.
    pub capacity: u32,
    /// `reported` (kube-local), `declared`, or `assumed` (equal to the others' mean).
    pub capacity_source: String,
    /// Share of all answers before, thousandths.
    pub share_before: u32,
    /// Share of all answers after, thousandths.
    pub share_after: u32,
    /// Share of answers over share of capacity before, percent.
    pub load_before_percent: u32,
    /// The same after.
    pub load_after_percent: u32,
}

/// A client group and the facts it is evaluated with.
#[derive(Debug, Clone)]
pub struct ClientGroup {
    /// `continent EU`, `near us-east`, `198.51.100.0/24`, `unlocated`.
    pub label: String,
    /// The facts.
    pub facts: ClientFacts,
    /// The ECS subnet a DNS query can carry to be placed in this group without GeoIP, if
    /// any (CIDR groups, and `unlocated` which needs no option).
    pub ecs: Option<(IpAddr, u8)>,
}

/// Why no plan could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The region does not exist.
    #[error("no region {0:?}")]
    UnknownRegion(String),
    /// The state's regions and endpoints do not form policy inputs (never after validation).
    #[error("the state does not compile: {0}")]
    Inputs(String),
}

/// Plans taking `region` out in `mode` at `now_ms`, with the `max_load_percent` guard.
pub fn plan_drill(
    state: &State,
    region: &str,
    mode: DrillMode,
    now_ms: u64,
    max_load_percent: Option<u32>,
) -> Result<DrillPlan, PlanError> {
    if !state.regions.contains_key(region) {
        return Err(PlanError::UnknownRegion(region.to_string()));
    }
    let view = state.health_view(now_ms);
    let before = inputs(state, &view, None)?;
    let out = Override {
        id: "drill-plan".into(),
        target: OverrideTarget::Region(region.to_string()),
        action: match mode {
            DrillMode::Drain => OverrideAction::Drain,
            DrillMode::Fail => OverrideAction::ForceDown,
        },
        reason: "drill plan".into(),
        expires_at: None,
        drill: None,
    };
    let after = inputs(state, &view, Some(out))?;
    let groups = client_groups(state);
    let rows_before = answer_rows_with(state, &before, &groups, now_ms);
    let rows_after = answer_rows_with(state, &after, &groups, now_ms);

    let mut plan = DrillPlan {
        region: region.to_string(),
        mode: match mode {
            DrillMode::Drain => "drain".into(),
            DrillMode::Fail => "fail".into(),
        },
        records: Vec::new(),
        clients: Vec::new(),
        load: Vec::new(),
        warnings: Vec::new(),
        blockers: Vec::new(),
    };
    let mut changed = BTreeSet::new();
    for (old, new) in rows_before.iter().zip(&rows_after) {
        if old.regions == new.regions && old.outcome == new.outcome {
            continue;
        }
        changed.insert(old.record.clone());
        plan.clients.push(ClientMove {
            record: old.record.clone(),
            clients: old.clients.clone(),
            before: old.regions.clone(),
            after: new.regions.clone(),
            outcome_after: new.outcome.clone(),
        });
        let guarded = record_by_label(state, &new.record).is_some_and(|r| r.split_brain_guard);
        match new.outcome.as_str() {
            "all_down_closed" => plan.blockers.push(format!(
                "{} would answer nothing (NODATA, fail_closed{}) for clients {}",
                new.record,
                if guarded { ", split_brain_guard" } else { "" },
                new.clients
            )),
            "all_down_open" if new.regions.is_empty() => plan.blockers.push(format!(
                "{} would answer nothing for clients {}",
                new.record, new.clients
            )),
            "all_down_open" => plan.warnings.push(format!(
                "{} falls open for clients {}: it answers every endpoint, {region}'s included",
                new.record, new.clients
            )),
            "fallback" => plan.warnings.push(format!(
                "{} answers its fallback CNAME for clients {}",
                new.record, new.clients
            )),
            _ => {}
        }
    }
    if mode == DrillMode::Fail && !probed(state, region) {
        plan.blockers.push(format!(
            "fail mode needs checks that probers run on {region} (its endpoints or the \
             region); it has none, so nothing would fail: use --mode drain"
        ));
    }
    plan.records = changed.into_iter().collect();
    if plan.records.is_empty() {
        plan.warnings.push(format!(
            "no GSLB record answers with {region} now, so the drill changes no answer"
        ));
    }
    let (load, assumed) = region_loads(state, &before, &rows_before, &rows_after, None);
    if assumed {
        plan.warnings.push(
            "some regions report and declare no capacity; they are assumed to have the \
             mean capacity of the others (equal when none has any)"
                .into(),
        );
    }
    for entry in &load {
        if entry.region == region {
            continue;
        }
        let status = view
            .regions
            .get(&entry.region)
            .map(|health| health.status)
            .unwrap_or_default();
        if entry.share_before > 0 && status == HealthStatus::Down {
            plan.warnings
                .push(format!("survivor {} is down now", entry.region));
        }
        if let Some(limit) = max_load_percent {
            if entry.load_after_percent > limit {
                plan.blockers.push(format!(
                    "survivor {} would carry {} of its capacity share, over --max-load {}: \
                     the guard would abort the drill at once",
                    entry.region,
                    ratio(entry.load_after_percent),
                    ratio(limit)
                ));
            }
        } else if entry.load_after_percent > 100 && entry.share_after > entry.share_before {
            plan.warnings.push(format!(
                "survivor {} would carry {} of its capacity share",
                entry.region,
                ratio(entry.load_after_percent)
            ));
        }
    }
    plan.load = load;
    Ok(plan)
}

/// Whether probers run any check on `region` or its endpoints (external checks are pushed,
/// not probed, so a fail drill cannot fail them).
fn probed(state: &State, region: &str) -> bool {
    state.checks.values().any(|check| {
        !matches!(check.kind, CheckKind::External(_))
            && match &check.subject {
                CheckSubject::Region(id) => id == region,
                CheckSubject::Endpoint(id) => state
                    .endpoints
                    .get(id)
                    .is_some_and(|endpoint| endpoint.region == region),
            }
    })
}

/// A percentage as a ratio: 150 → `1.50×`.
pub fn ratio(percent: u32) -> String {
    format!("{}.{:02}×", percent / 100, percent % 100)
}

/// The answer rows of every GSLB record for every client group, from `state` as it is at
/// `now_ms`; what the drill supervisor records for the before, during and after phases.
pub fn answer_rows(state: &State, now_ms: u64) -> Result<Vec<AnswerRow>, PlanError> {
    let view = state.health_view(now_ms);
    let inputs = inputs(state, &view, None)?;
    Ok(answer_rows_with(
        state,
        &inputs,
        &client_groups(state),
        now_ms,
    ))
}

/// Every region's share and load under `state` now, the way `plan_drill` computes them
/// for "after" of a drill of `drilled`: capacity shares are over the regions answering now
/// plus `drilled`, as the plan's were over the regions answering before the drill. The
/// drill supervisor's `max_load` guard reads it.
pub fn current_loads(
    state: &State,
    now_ms: u64,
    drilled: &str,
) -> Result<Vec<RegionLoad>, PlanError> {
    let view = state.health_view(now_ms);
    let inputs = inputs(state, &view, None)?;
    let rows = answer_rows_with(state, &inputs, &client_groups(state), now_ms);
    Ok(region_loads(state, &inputs, &rows, &rows, Some(drilled)).0)
}

/// Policy inputs for `state` with `extra` overriding (the simulated drill), if any.
fn inputs(
    state: &State,
    view: &HealthView,
    extra: Option<Override>,
) -> Result<PolicyInputs, PlanError> {
    let mut overrides = state.overrides.clone();
    if let Some(extra) = extra {
        // The simulated override wins over any the operator has on the same region.
        overrides.retain(|_, rule| rule.target != extra.target);
        overrides.insert(extra.id.clone(), extra);
    }
    let mut inputs = PolicyInputs::from_model(&state.regions, &state.endpoints, &overrides)
        .map_err(|error| PlanError::Inputs(error.to_string()))?;
    inputs.apply_health(view, None);
    inputs.set_latency_from_networks(&state.networks);
    Ok(inputs)
}

/// The client groups the records tell apart, in a stable order: geo conditions, networks of
/// the latency table, regions, `unlocated`.
pub fn client_groups(state: &State) -> Vec<ClientGroup> {
    let mut conditions: BTreeSet<String> = BTreeSet::new();
    let mut groups = Vec::new();
    for record in state.all_gslb_records() {
        walk_geo(&record.policy, &mut |condition| {
            let label = geo_label(condition);
            if conditions.insert(label.clone()) {
                groups.push(geo_group(label, condition));
            }
        });
    }
    // Networks of the latency table: `latency` records may send each elsewhere.
    for network in state.networks.values() {
        let label = network.cidr.to_string();
        if !network.rtt_ms.is_empty() && conditions.insert(label.clone()) {
            groups.push(geo_group(label, &GeoMatch::Cidr(network.cidr)));
        }
    }
    for region in state.regions.values() {
        let mut facts = ClientFacts::bare(SAMPLE_ADDRESS, 24, ClientOrigin::Ecs);
        facts.geo.continent = Code::new(&region.location.continent);
        facts.geo.country = Code::new(&region.location.country);
        facts.geo.lat_lon = Some((region.location.lat_degrees(), region.location.lon_degrees()));
        groups.push(ClientGroup {
            label: format!("near {}", region.id),
            facts,
            ecs: None,
        });
    }
    groups.push(ClientGroup {
        label: "unlocated".into(),
        facts: ClientFacts::bare(SAMPLE_ADDRESS, 24, ClientOrigin::Ecs),
        ecs: None,
    });
    groups
}

/// Calls `visit` on every geo condition in the tree.
fn walk_geo(node: &PolicyNode, visit: &mut impl FnMut(&GeoMatch)) {
    match node {
        PolicyNode::Endpoints(_) | PolicyNode::Region(_) => {}
        PolicyNode::Failover(children)
        | PolicyNode::Latency(children)
        | PolicyNode::Capacity(children) => {
            children.iter().for_each(|child| walk_geo(child, visit))
        }
        PolicyNode::Weighted(choices) | PolicyNode::Consistent(choices) => choices
            .iter()
            .for_each(|choice| walk_geo(&choice.node, visit)),
        PolicyNode::Proximity(choices) => choices
            .iter()
            .for_each(|choice| walk_geo(&choice.node, visit)),
        PolicyNode::Geo(geo) => {
            for rule in &geo.rules {
                rule.matches.iter().for_each(&mut *visit);
                walk_geo(&rule.node, visit);
            }
            walk_geo(&geo.default, visit);
        }
    }
}

fn geo_label(condition: &GeoMatch) -> String {
    match condition {
        GeoMatch::Continent(code) => format!("continent {code}"),
        GeoMatch::Country(code) => format!("country {code}"),
        GeoMatch::Subdivision(code) => format!("subdivision {code}"),
        GeoMatch::Cidr(cidr) => cidr.to_string(),
        GeoMatch::Asn(asn) => format!("asn {asn}"),
    }
}

fn geo_group(label: String, condition: &GeoMatch) -> ClientGroup {
    let mut facts = ClientFacts::bare(SAMPLE_ADDRESS, 24, ClientOrigin::Ecs);
    let mut ecs = None;
    match condition {
        GeoMatch::Continent(code) => facts.geo.continent = Code::new(code),
        GeoMatch::Country(code) => facts.geo.country = Code::new(code),
        GeoMatch::Subdivision(code) => {
            facts.geo.subdivision = Code::new(code);
            facts.geo.country = code.split('-').next().and_then(Code::new);
        }
        GeoMatch::Asn(asn) => facts.geo.asn = Some(*asn),
        GeoMatch::Cidr(cidr) => {
            facts = ClientFacts::bare(cidr.addr(), cidr.prefix(), ClientOrigin::Ecs);
            ecs = Some((cidr.addr(), cidr.prefix()));
        }
    }
    ClientGroup { label, facts, ecs }
}

/// `name TYPE` of a record.
pub fn record_label(record: &GslbRecord) -> String {
    format!("{} {}", record.name, record.rtype)
}

fn record_by_label<'s>(state: &'s State, label: &str) -> Option<&'s GslbRecord> {
    state
        .all_gslb_records()
        .find(|record| record_label(record) == label)
}

/// One row per (record, group), records in name/type order.
fn answer_rows_with(
    state: &State,
    inputs: &PolicyInputs,
    groups: &[ClientGroup],
    now_ms: u64,
) -> Vec<AnswerRow> {
    let mut rows = Vec::new();
    for record in state.all_gslb_records() {
        let Ok(compiled) = CompiledRecord::compile(record, inputs) else {
            continue;
        };
        for group in groups {
            let mut counts: BTreeMap<String, f64> = BTreeMap::new();
            let mut outcome = Outcome::Healthy;
            for sample in 0..SAMPLES {
                let decision = evaluate(&compiled, inputs, &group.facts, now_ms, mix64(sample));
                outcome = worse(outcome, decision.outcome);
                let answered = decision.answers.len();
                for endpoint in decision.answers.iter() {
                    let region = &inputs.regions[inputs.endpoints[endpoint].region].id;
                    *counts.entry(region.clone()).or_default() += 1.0 / answered as f64;
                }
            }
            let total: f64 = counts.values().sum();
            let regions = counts
                .into_iter()
                .map(|(region, count)| (region, (count / total * 1000.0).round() as u32))
                .collect();
            rows.push(AnswerRow {
                record: record_label(record),
                clients: group.label.clone(),
                regions,
                outcome: outcome_word(outcome).into(),
            });
        }
    }
    rows
}

/// The more alarming of two outcomes (over samples of one group).
fn worse(a: Outcome, b: Outcome) -> Outcome {
    let rank = |outcome: Outcome| match outcome {
        Outcome::Healthy => 0,
        Outcome::Degraded => 1,
        Outcome::Fallback => 2,
        Outcome::AllDownOpen => 3,
        Outcome::AllDownClosed => 4,
    };
    if rank(b) > rank(a) {
        b
    } else {
        a
    }
}

/// The snake-case word of an outcome.
pub fn outcome_word(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Healthy => "healthy",
        Outcome::Degraded => "degraded",
        Outcome::AllDownOpen => "all_down_open",
        Outcome::AllDownClosed => "all_down_closed",
        Outcome::Fallback => "fallback",
    }
}

/// Shares and loads per region, and whether any capacity had to be assumed. Capacity
/// shares are over the regions answering `before`, plus `also_serving` (the drilled region,
/// when `before` is already the state during the drill).
fn region_loads(
    state: &State,
    inputs: &PolicyInputs,
    before: &[AnswerRow],
    after: &[AnswerRow],
    also_serving: Option<&str>,
) -> (Vec<RegionLoad>, bool) {
    let shares = |rows: &[AnswerRow]| -> BTreeMap<String, f64> {
        let mut sums: BTreeMap<String, f64> = BTreeMap::new();
        let answering = rows.iter().filter(|row| !row.regions.is_empty()).count();
        for row in rows {
            for (region, share) in &row.regions {
                *sums.entry(region.clone()).or_default() += f64::from(*share) / 1000.0;
            }
        }
        if answering > 0 {
            for value in sums.values_mut() {
                *value /= answering as f64;
            }
        }
        sums
    };
    let share_before = shares(before);
    let share_after = shares(after);
    let known: Vec<(String, u32, &str)> = inputs
        .regions
        .iter()
        .filter_map(|region| {
            region
                .reported_capacity
                .map(|capacity| (capacity, "reported"))
                .or(region
                    .declared_capacity
                    .map(|capacity| (capacity, "declared")))
                .map(|(capacity, source)| (region.id.clone(), capacity, source))
        })
        .collect();
    let mean = if known.is_empty() {
        1
    } else {
        (known
            .iter()
            .map(|(_, capacity, _)| u64::from(*capacity))
            .sum::<u64>()
            / known.len() as u64)
            .max(1) as u32
    };
    let mut assumed = false;
    let capacity = |id: &str| -> (u32, &'static str) {
        known
            .iter()
            .find(|(region, _, _)| region == id)
            .map(|(_, capacity, source)| {
                (
                    *capacity,
                    if *source == "reported" {
                        "reported"
                    } else {
                        "declared"
                    },
                )
            })
            .unwrap_or((mean, "assumed"))
    };
    let serving: f64 = state
        .regions
        .keys()
        .filter(|id| {
            share_before.get(*id).is_some_and(|share| *share > 0.0)
                || also_serving == Some(id.as_str())
        })
        .map(|id| f64::from(capacity(id).0))
        .sum();
    let mut loads = Vec::new();
    for id in state.regions.keys() {
        let (cap, source) = capacity(id);
        let before = share_before.get(id).copied().unwrap_or(0.0);
        let after = share_after.get(id).copied().unwrap_or(0.0);
        if before == 0.0 && after == 0.0 {
            continue;
        }
        assumed |= source == "assumed";
        let cap_share = if serving > 0.0 {
            f64::from(cap) / serving
        } else {
            1.0
        };
        loads.push(RegionLoad {
            region: id.clone(),
            capacity: cap,
            capacity_source: source.into(),
            share_before: (before * 1000.0).round() as u32,
            share_after: (after * 1000.0).round() as u32,
            load_before_percent: (before / cap_share * 100.0).round() as u32,
            load_after_percent: (after / cap_share * 100.0).round() as u32,
        });
    }
    (loads, assumed)
}

/// The addresses and CNAME targets of the endpoints in `region`, as DNS answers show them
/// (CNAME targets without the trailing dot, lower case).
pub fn region_targets(state: &State, region: &str) -> BTreeSet<String> {
    state
        .endpoints
        .values()
        .filter(|endpoint| endpoint.region == region)
        .map(|endpoint| match &endpoint.target {
            EndpointTarget::Address(address) => address.to_string(),
            EndpointTarget::Cname(name) => name.to_string().trim_end_matches('.').to_lowercase(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Three regions with capacity 4, 2, 2 and a consistent-weighted record across all, a
    /// failover record us → ap, and a fail_closed record on eu only. (A guarded record would
    /// answer nothing here already: no lease was ever granted.)
    fn state() -> State {
        let region = |id: &str, country: &str, continent: &str, capacity: u32| {
            json!({"id": id, "location": {"lat_micro": 0, "lon_micro": 0, "country": country,
                   "continent": continent}, "capacity": capacity})
        };
        let endpoint = |id: &str, region: &str, address: &str| {
            json!({"id": id, "region": region, "weight": 1, "admin": "enabled",
                   "target": {"kind": "address", "value": address}})
        };
        let record = |name: &str, policy: serde_json::Value, extra: serde_json::Value| {
            let mut record = json!({"name": name, "type": "A", "ttl": 30, "policy": policy,
                                    "max_answers": 1, "when_all_down": "fail_open",
                                    "unknown_as": "up", "split_brain_guard": false});
            record
                .as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            (name.to_string(), json!({"A": record}))
        };
        let records: serde_json::Map<String, serde_json::Value> = [
            record(
                "www.example.",
                json!({"geo": {"rules": [{"match": [{"continent": "EU"}],
                                          "node": {"region": "eu"}}],
                               "default": {"weighted": [
                                   {"weight": 2, "node": {"region": "eu"}},
                                   {"weight": 1, "node": {"region": "us"}},
                                   {"weight": 1, "node": {"region": "ap"}}]}}}),
                json!({}),
            ),
            record(
                "db.example.",
                json!({"region": "eu"}),
                json!({"when_all_down": "fail_closed"}),
            ),
            record(
                "api.example.",
                json!({"failover": [{"region": "us"}, {"region": "ap"}]}),
                json!({}),
            ),
        ]
        .into_iter()
        .collect();
        serde_json::from_value(json!({
            "version": 1, "zones": {},
            "regions": {"eu": region("eu", "DE", "EU", 4), "us": region("us", "US", "NA", 2),
                        "ap": region("ap", "SG", "AS", 2)},
            "endpoints": {"eu-1": endpoint("eu-1", "eu", "192.0.2.10"),
                          "us-1": endpoint("us-1", "us", "192.0.2.20"),
                          "ap-1": endpoint("ap-1", "ap", "192.0.2.30")},
            "gslb_records": records,
        }))
        .expect("a valid state")
    }

    /// Draining eu moves www's eu clients to us and ap, leaves api alone, and refuses to
    /// leave the fail_closed db record with nothing; loads follow capacity shares.
    #[test]
    fn draining_a_region_shows_moves_blockers_and_load() {
        let plan = plan_drill(&state(), "eu", DrillMode::Drain, 1_000, None).unwrap();
        assert_eq!(plan.records, ["db.example. A", "www.example. A"]);
        let eu_clients = plan
            .clients
            .iter()
            .find(|row| row.record == "www.example. A" && row.clients == "continent EU")
            .expect("the EU clients of www move");
        assert_eq!(
            eu_clients.before,
            BTreeMap::from([("eu".to_string(), 1000)])
        );
        assert!(!eu_clients.after.contains_key("eu"), "{eu_clients:?}");
        assert_eq!(eu_clients.after.values().sum::<u32>(), 1000);
        assert!(
            plan.blockers
                .iter()
                .any(|b| b.starts_with("db.example. A would answer nothing")),
            "{:?}",
            plan.blockers
        );
        let eu = plan.load.iter().find(|load| load.region == "eu").unwrap();
        assert_eq!(eu.share_after, 0);
        assert_eq!(eu.capacity_source, "declared");
        let us = plan.load.iter().find(|load| load.region == "us").unwrap();
        assert!(us.load_after_percent > us.load_before_percent, "{us:?}");
    }

    /// A latency record's clients in a network of the latency table form their own group:
    /// draining their nearest region (us, 10 ms) sends them to the next nearest (ap), not
    /// to the first child as an unmeasured client would go.
    #[test]
    fn latency_table_networks_are_client_groups() {
        let mut state = state();
        let near = json!({"name": "near.example.", "type": "A", "ttl": 30,
                          "policy": {"latency": [{"region": "eu"}, {"region": "us"},
                                                 {"region": "ap"}]},
                          "max_answers": 1, "when_all_down": "fail_open",
                          "unknown_as": "up", "split_brain_guard": false});
        state.insert_gslb_record(serde_json::from_value(near).unwrap());
        let network: gslb_model::model::Network = serde_json::from_value(json!({
            "cidr": "198.51.100.0/24", "rtt_ms": {"eu": 90, "us": 10, "ap": 40}
        }))
        .unwrap();
        state.networks.insert(network.key(), network);
        let plan = plan_drill(&state, "us", DrillMode::Drain, 1_000, None).unwrap();
        let row = |clients: &str| {
            plan.clients
                .iter()
                .find(|row| row.record == "near.example. A" && row.clients == clients)
                .unwrap_or_else(|| panic!("no {clients} row in {:#?}", plan.clients))
        };
        let measured = row("198.51.100.0/24");
        assert_eq!(measured.before, BTreeMap::from([("us".to_string(), 1000)]));
        assert_eq!(measured.after, BTreeMap::from([("ap".to_string(), 1000)]));
    }

    /// The max-load guard blocks a drill that would overload a survivor at once; a region
    /// no record answers with changes nothing and says so.
    #[test]
    fn max_load_blocks_and_idle_regions_warn() {
        let plan = plan_drill(&state(), "eu", DrillMode::Fail, 1_000, Some(101)).unwrap();
        assert!(
            plan.blockers
                .iter()
                .any(|b| b.starts_with("fail mode needs checks")),
            "{:?}",
            plan.blockers
        );
        assert!(
            plan.blockers
                .iter()
                .any(|b| b.contains("over --max-load 1.01×")),
            "{:?}",
            plan.blockers
        );
        let mut idle = state();
        idle.regions.insert("sa".into(), {
            let mut region = idle.regions["eu"].clone();
            region.id = "sa".into();
            region
        });
        let plan = plan_drill(&idle, "sa", DrillMode::Drain, 1_000, None).unwrap();
        assert!(plan.records.is_empty());
        assert!(plan.warnings[0].starts_with("no GSLB record answers with sa"));
        assert_eq!(
            plan_drill(&idle, "nope", DrillMode::Drain, 1_000, None),
            Err(PlanError::UnknownRegion("nope".into()))
        );
    }

    /// The plan changes nothing: the state is the same after planning.
    #[test]
    fn planning_changes_nothing() {
        let state = state();
        let copy = state.clone();
        let _ = plan_drill(&state, "us", DrillMode::Drain, 1_000, Some(150)).unwrap();
        assert_eq!(state, copy);
    }
}
