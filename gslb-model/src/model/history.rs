//! The history of decisions: every derived transition (a check, endpoint or region changing
//! status, a region's lease granted or lost, an override taking or losing effect, a drill
//! step) as an `Event` with its time, cause (how each vantage voted) and effect (the GSLB
//! records whose answers it can move).
//!
//! `record_transitions` runs at the end of every successful `apply`, at the command's leader
//! time, and compares what it derives with what the previous apply derived (`Derived`, kept
//! in the state). So it is deterministic and replicated: every node holds the same history.
//! A change that only the passing of time makes (a vote going stale, a lease or override
//! running out) is stamped with the time of the first command applied after it; probers
//! report every second, so that is at most about a second late on a live cluster.
//!
//! Bounded: the newest `EVENTS_RETAINED` events are kept, oldest dropped first.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::model::check::CheckSubject;
use crate::model::drill::DrillStatus;
use crate::model::gslb_record::Target;
use crate::model::health::{is_fresh, HealthStatus, HealthView};
use crate::model::overrides::{OverrideAction, OverrideTarget};
use crate::model::state::State;

/// How many events the state keeps (a ring: the oldest go first).
pub const EVENTS_RETAINED: usize = 1000;

/// At most this many records are named per event (the rest are counted in `records_more`).
pub const RECORDS_PER_EVENT: usize = 50;

/// What kind of thing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A check's derived status (quorum of its vantages).
    Check,
    /// An endpoint's derived status.
    Endpoint,
    /// A region's derived status.
    Region,
    /// A region's health lease granted (`valid`) or lost (`expired`).
    Lease,
    /// An override took effect (`active`) or stopped (`inactive`: deleted or expired).
    Override,
    /// A drill started, recorded a step, or ended.
    Drill,
}

impl EventKind {
    /// The word used in JSON, tables and logs.
    pub fn word(self) -> &'static str {
        match self {
            EventKind::Check => "check",
            EventKind::Endpoint => "endpoint",
            EventKind::Region => "region",
            EventKind::Lease => "lease",
            EventKind::Override => "override",
            EventKind::Drill => "drill",
        }
    }
}

/// How one vantage voted on one check when the event was derived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VantageVote {
    /// The check.
    pub check: String,
    /// The vantage (a region id).
    pub vantage: String,
    /// `up`, `down`, or `stale` (its last vote is too old to count).
    pub vote: String,
    /// Its last round-trip time in microseconds, if it measured one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_us: Option<u32>,
    /// Why its last attempt failed, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One derived transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Position in the history, from 1, never reused.
    pub seq: u64,
    /// Leader time (unix millis) of the command whose apply derived it.
    pub at: u64,
    /// The state version (log index) that derived it.
    pub version: u64,
    /// What changed.
    pub kind: EventKind,
    /// Its id (check, endpoint, region, override or drill id).
    pub subject: String,
    /// The state before (`up`, `down`, `unknown`, `valid`, `expired`, `active`, ...).
    pub from: String,
    /// The state after.
    pub to: String,
    /// Why, in one line (quorum, endpoints up, override action, drill step, ...).
    pub cause: String,
    /// How each vantage voted on the checks behind it, when health decided it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub votes: Vec<VantageVote>,
    /// The GSLB records (`name TYPE`) whose answers it can change: those whose policy names
    /// the subject (or, for an endpoint, its region).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub records: Vec<String>,
    /// How many more records it affects beyond `RECORDS_PER_EVENT`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub records_more: usize,
}

/// `serde` helper.
fn is_zero(count: &usize) -> bool {
    *count == 0
}

/// What the previous apply derived, compared against on the next one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Derived {
    /// Check statuses by id.
    pub checks: BTreeMap<String, HealthStatus>,
    /// Endpoint statuses by id.
    pub endpoints: BTreeMap<String, HealthStatus>,
    /// Region statuses by id.
    pub regions: BTreeMap<String, HealthStatus>,
    /// Regions whose lease was valid.
    pub leases: BTreeMap<String, bool>,
    /// Overrides in effect, by id, as `action target`.
    pub overrides: BTreeMap<String, String>,
    /// Drills by id: status and timeline length.
    pub drills: BTreeMap<String, (DrillStatus, usize)>,
}

/// The history as the state keeps it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    /// The newest `EVENTS_RETAINED` events, oldest first.
    pub events: VecDeque<Event>,
    /// The `seq` of the last event ever recorded.
    pub last_seq: u64,
    /// What the last apply derived.
    pub derived: Derived,
}

/// `up`, `down` or `unknown`.
pub fn status_word(status: HealthStatus) -> &'static str {
    match status {
        HealthStatus::Up => "up",
        HealthStatus::Down => "down",
        HealthStatus::Unknown => "unknown",
    }
}

/// Derives everything at `at` and appends an event for each change since the previous
/// apply, then trims the ring. Returns how many events it added. Deterministic: depends only
/// on `state`, `at` and `version`.
pub fn record_transitions(state: &mut State, at: u64, version: u64) -> usize {
    let view = state.health_view(at);
    let now = derive(state, &view, at);
    let before = std::mem::take(&mut state.history.derived);
    let mut found = Vec::new();
    health_changes(state, &view, &before, &now, &mut found);
    lease_changes(state, &before, &now, &mut found);
    override_changes(state, &before, &now, &mut found);
    drill_changes(state, &before, &now, &mut found);
    let added = found.len();
    for mut event in found {
        state.history.last_seq += 1;
        event.seq = state.history.last_seq;
        event.at = at;
        event.version = version;
        state.history.events.push_back(event);
    }
    while state.history.events.len() > EVENTS_RETAINED {
        state.history.events.pop_front();
    }
    state.history.derived = now;
    added
}

/// Milliseconds as `12.3s`.
fn seconds(millis: u64) -> String {
    format!("{}.{}s", millis / 1000, (millis % 1000) / 100)
}

/// What `state` derives at `at`.
fn derive(state: &State, view: &HealthView, at: u64) -> Derived {
    Derived {
        checks: view
            .checks
            .iter()
            .map(|(id, health)| (id.clone(), health.status))
            .collect(),
        endpoints: view
            .endpoints
            .iter()
            .map(|(id, health)| (id.clone(), health.status))
            .collect(),
        regions: view
            .regions
            .iter()
            .map(|(id, health)| (id.clone(), health.status))
            .collect(),
        leases: state
            .leases
            .iter()
            .map(|(id, lease)| (id.clone(), lease.is_valid(at)))
            .collect(),
        overrides: state
            .overrides
            .values()
            .filter(|rule| rule.is_active(at))
            .map(|rule| {
                (
                    rule.id.clone(),
                    describe_override(rule.action, &rule.target),
                )
            })
            .collect(),
        drills: state
            .drills
            .values()
            .map(|drill| (drill.id.clone(), (drill.status, drill.timeline.len())))
            .collect(),
    }
}

/// `drain region eu-west`.
fn describe_override(action: OverrideAction, target: &OverrideTarget) -> String {
    let action = match action {
        OverrideAction::Drain => "drain",
        OverrideAction::ForceDown => "force_down",
        OverrideAction::ForceUp => "force_up",
    };
    match target {
        OverrideTarget::Region(id) => format!("{action} region {id}"),
        OverrideTarget::Endpoint(id) => format!("{action} endpoint {id}"),
    }
}

/// A new event with the fields `record_transitions` fills left empty.
fn event(kind: EventKind, subject: &str, from: &str, to: &str, cause: String) -> Event {
    Event {
        seq: 0,
        at: 0,
        version: 0,
        kind,
        subject: subject.to_string(),
        from: from.to_string(),
        to: to.to_string(),
        cause,
        votes: Vec::new(),
        records: Vec::new(),
        records_more: 0,
    }
}

/// Status changes of checks, endpoints and regions. An id seen for the first time counts as
/// coming from `unknown`, so a new check that nobody voted on yet records nothing.
fn health_changes(
    state: &State,
    view: &HealthView,
    before: &Derived,
    now: &Derived,
    found: &mut Vec<Event>,
) {
    let changed = |previous: &BTreeMap<String, HealthStatus>, id: &String, status: HealthStatus| {
        let was = previous.get(id).copied().unwrap_or(HealthStatus::Unknown);
        (was != status).then_some(was)
    };
    for (id, &status) in &now.checks {
        let Some(was) = changed(&before.checks, id, status) else {
            continue;
        };
        let votes = &view.checks[id].votes;
        let mut change = event(
            EventKind::Check,
            id,
            status_word(was),
            status_word(status),
            format!(
                "{} up, {} down, {} stale of {} vantages (quorum {})",
                votes.up, votes.down, votes.stale, votes.total, votes.quorum
            ),
        );
        change.votes = votes_on(state, [id.as_str()], view.at);
        if let Some(check) = state.checks.get(id) {
            let (kind, subject) = match &check.subject {
                CheckSubject::Endpoint(endpoint) => (EventKind::Endpoint, endpoint),
                CheckSubject::Region(region) => (EventKind::Region, region),
            };
            set_records(&mut change, affected(state, kind, subject));
        }
        found.push(change);
    }
    for (id, &status) in &now.endpoints {
        let Some(was) = changed(&before.endpoints, id, status) else {
            continue;
        };
        let votes = view.endpoints[id].votes;
        let mut change = event(
            EventKind::Endpoint,
            id,
            status_word(was),
            status_word(status),
            format!(
                "deciding check: {} up, {} down, {} stale of {} vantages (quorum {})",
                votes.up, votes.down, votes.stale, votes.total, votes.quorum
            ),
        );
        change.votes = votes_on(
            state,
            checks_of(state, &CheckSubject::Endpoint(id.clone())),
            view.at,
        );
        set_records(&mut change, affected(state, EventKind::Endpoint, id));
        found.push(change);
    }
    for (id, &status) in &now.regions {
        let Some(was) = changed(&before.regions, id, status) else {
            continue;
        };
        let health = &view.regions[id];
        let mut change = event(
            EventKind::Region,
            id,
            status_word(was),
            status_word(status),
            format!(
                "deep checks {}; endpoints up {} of {} enabled ({} unknown, {} needed)",
                status_word(health.deep),
                health.endpoints_up,
                health.endpoints_enabled,
                health.endpoints_unknown,
                health.min_healthy
            ),
        );
        let mut checks = checks_of(state, &CheckSubject::Region(id.clone()));
        for endpoint in state
            .endpoints
            .values()
            .filter(|endpoint| &endpoint.region == id)
        {
            checks.extend(checks_of(
                state,
                &CheckSubject::Endpoint(endpoint.id.clone()),
            ));
        }
        change.votes = votes_on(state, checks, view.at);
        set_records(&mut change, affected(state, EventKind::Region, id));
        found.push(change);
    }
}

/// Leases granted or lost.
fn lease_changes(state: &State, before: &Derived, now: &Derived, found: &mut Vec<Event>) {
    let word = |valid: bool| if valid { "valid" } else { "expired" };
    for (region, &valid) in &now.leases {
        let was = before.leases.get(region).copied().unwrap_or(false);
        if was == valid {
            continue;
        }
        let lease = &state.leases[region];
        let at = state.last_at;
        let cause = if valid {
            format!(
                "a quorum of vantages confirmed its replication checks; valid for {}",
                seconds(lease.expires_at.saturating_sub(at))
            )
        } else {
            format!(
                "not renewed for {}; ran out {} ago",
                seconds(at.saturating_sub(lease.renewed_at)),
                seconds(at.saturating_sub(lease.expires_at))
            )
        };
        let mut change = event(EventKind::Lease, region, word(was), word(valid), cause);
        change.votes = votes_on(
            state,
            checks_of(state, &CheckSubject::Region(region.clone())),
            state.last_at,
        );
        set_records(&mut change, affected(state, EventKind::Region, region));
        found.push(change);
    }
}

/// Overrides that took or lost effect (set, deleted, expired).
fn override_changes(state: &State, before: &Derived, now: &Derived, found: &mut Vec<Event>) {
    for (id, what) in &now.overrides {
        if before.overrides.get(id) == Some(what) {
            continue;
        }
        let rule = &state.overrides[id];
        let expiry = rule.expires_at.map_or_else(
            || "no expiry".to_string(),
            |end| format!("expires in {}", seconds(end.saturating_sub(state.last_at))),
        );
        let mut change = event(
            EventKind::Override,
            id,
            "inactive",
            "active",
            format!("{what}: {} ({expiry})", rule.reason),
        );
        set_records(&mut change, override_records(state, &rule.target));
        found.push(change);
    }
    for (id, what) in &before.overrides {
        if now.overrides.contains_key(id) {
            continue;
        }
        let cause = match state.overrides.get(id) {
            Some(rule) if rule.expires_at.is_some() => format!("{what}: expired"),
            Some(_) => format!("{what}: ended"),
            None => format!("{what}: deleted"),
        };
        let mut change = event(EventKind::Override, id, "active", "inactive", cause);
        if let Some(target) = parse_target(what) {
            set_records(&mut change, override_records(state, &target));
        }
        found.push(change);
    }
}

/// The target back from `describe_override`'s text.
fn parse_target(what: &str) -> Option<OverrideTarget> {
    let mut words = what.split(' ').skip(1);
    let kind = words.next()?;
    let id = words.next()?.to_string();
    match kind {
        "region" => Some(OverrideTarget::Region(id)),
        "endpoint" => Some(OverrideTarget::Endpoint(id)),
        _ => None,
    }
}

/// The records an override on `target` can move.
fn override_records(state: &State, target: &OverrideTarget) -> Vec<String> {
    match target {
        OverrideTarget::Region(id) => affected(state, EventKind::Region, id),
        OverrideTarget::Endpoint(id) => affected(state, EventKind::Endpoint, id),
    }
}

/// Drills started, stepped (a new timeline line) or ended.
fn drill_changes(state: &State, before: &Derived, now: &Derived, found: &mut Vec<Event>) {
    let word = |status: DrillStatus| match status {
        DrillStatus::Running => "running",
        DrillStatus::Completed => "completed",
        DrillStatus::Aborted => "aborted",
    };
    for (id, &(status, steps)) in &now.drills {
        let drill = &state.drills[id];
        let (was, seen) = match before.drills.get(id) {
            Some(&(was, seen)) => (word(was), seen),
            None => ("none", 0),
        };
        for step in drill.timeline.iter().skip(seen.min(steps)) {
            let mut change = event(EventKind::Drill, id, was, word(status), step.text.clone());
            set_records(&mut change, drill.records.clone());
            found.push(change);
        }
        if was != word(status) && steps <= seen {
            let cause = drill
                .end_reason
                .clone()
                .unwrap_or_else(|| format!("{:?} drill of region {}", drill.mode, drill.region));
            let mut change = event(EventKind::Drill, id, was, word(status), cause);
            set_records(&mut change, drill.records.clone());
            found.push(change);
        }
    }
}

/// The ids of the checks on `subject`.
fn checks_of<'a>(state: &'a State, subject: &CheckSubject) -> Vec<&'a str> {
    state
        .checks
        .values()
        .filter(|check| &check.subject == subject)
        .map(|check| check.id.as_str())
        .collect()
}

/// Every expected vantage's vote on each of `checks` at `now`.
fn votes_on<'a>(
    state: &State,
    checks: impl IntoIterator<Item = &'a str>,
    now: u64,
) -> Vec<VantageVote> {
    let mut votes = Vec::new();
    for id in checks {
        let Some(check) = state.checks.get(id) else {
            continue;
        };
        let observed = state.health.get(id);
        for vantage in state.regions.keys() {
            let seen = observed.and_then(|by_vantage| by_vantage.get(vantage));
            let vote = match seen {
                Some(seen) if is_fresh(check, seen.reported_at, now) => {
                    if seen.up {
                        "up"
                    } else {
                        "down"
                    }
                }
                Some(_) => "stale",
                None => continue,
            };
            votes.push(VantageVote {
                check: id.to_string(),
                vantage: vantage.clone(),
                vote: vote.to_string(),
                rtt_us: seen.and_then(|seen| seen.rtt_us),
                error: seen.and_then(|seen| seen.error.clone()),
            });
        }
    }
    votes
}

/// The GSLB records (`name TYPE`) whose policy names the region `subject` (kind `Region`:
/// the region or one of its endpoints) or the endpoint `subject` (kind `Endpoint`: it, or
/// its region).
fn affected(state: &State, kind: EventKind, subject: &str) -> Vec<String> {
    let region_of_endpoint = |endpoint: &str| {
        state
            .endpoints
            .get(endpoint)
            .map(|endpoint| endpoint.region.as_str())
    };
    let mut records = Vec::new();
    for record in state.all_gslb_records() {
        let mut hit = false;
        record.policy.for_each_target(&mut |target| {
            hit |= match (kind, target) {
                (EventKind::Region, Target::Region(id)) => id == subject,
                (EventKind::Region, Target::Endpoint(id)) => {
                    region_of_endpoint(id) == Some(subject)
                }
                (EventKind::Endpoint, Target::Endpoint(id)) => id == subject,
                (EventKind::Endpoint, Target::Region(id)) => {
                    region_of_endpoint(subject) == Some(id)
                }
                _ => false,
            };
        });
        if hit {
            records.push(format!("{} {}", record.name, record.rtype));
        }
    }
    records
}

/// Sets `records`, keeping at most `RECORDS_PER_EVENT`.
fn set_records(change: &mut Event, mut records: Vec<String>) {
    if records.len() > RECORDS_PER_EVENT {
        change.records_more = records.len() - RECORDS_PER_EVENT;
        records.truncate(RECORDS_PER_EVENT);
    }
    change.records = records;
}
