//! Writes the history of decisions: `record_transitions` runs at the end of every
//! successful `apply`, at the command's leader time, and compares what it derives from the
//! whole state with what the previous apply derived (`history::Derived`, kept in the state),
//! appending an `Event` for each change. So it is deterministic and replicated: every node
//! holds the same history. A change that only the passing of time makes (a vote going stale,
//! a lease or override running out) is stamped with the time of the first command applied
//! after it; probers report every second, so that is at most about a second late on a live
//! cluster.
//!
//! Apart from `history` (the types the state holds) because it reads the whole `State`:
//! `state` depends on `history`, this module on both, nothing in `model` on this one.

use std::collections::BTreeMap;

use crate::model::check::CheckSubject;
use crate::model::drill::DrillStatus;
use crate::model::gslb_record::Target;
use crate::model::health::{is_fresh, HealthStatus, HealthView};
use crate::model::history::{
    Derived, Event, EventKind, VantageVote, EVENTS_RETAINED, RECORDS_PER_EVENT,
};
use crate::model::overrides::{OverrideAction, OverrideTarget};
use crate::model::state::State;

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
