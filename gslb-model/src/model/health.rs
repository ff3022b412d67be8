//! Health: what the probers observed (`Observation`, per check and vantage), the quorum rule
//! that turns those votes into a verdict per check, endpoint and region (`derive_health` →
//! `HealthView`), and the split-brain guard's `RegionLease` (`renew_leases`).
//!
//! Everything here is pure: time is an argument (leader time in unix millis inside `apply`,
//! the local clock on a DNS node deriving a view), nothing reads a clock or does I/O.
//!
//! The rules (DESIGN "Health"):
//! - a vantage's vote on a check is *fresh* while its last report is at most
//!   `FRESH_INTERVALS` × max(check interval, `REPORT_INTERVAL_MS`) old (`ttl_ms` for
//!   `external` checks): probers write only transitions and an RTT digest every
//!   `REPORT_INTERVAL_MS`, so the digest is what keeps a steady vote fresh;
//! - a check is up ⇔ at least `quorum` (default: a majority of the fresh votes) say up; down
//!   when fresh votes exist but not enough say up; unknown when no fresh vote exists;
//! - an endpoint is down if any of its checks is down, else unknown if any is unknown or it
//!   has no checks, else up;
//! - a region is up ⇔ its deep (region) checks are up and at least `min_healthy` of its
//!   enabled endpoints are up; unknown when that cannot be decided yet;
//! - a region with `replication` checks holds a lease, renewed to `now + lease_ms` whenever a
//!   quorum confirms every one of them; nothing ever extends it otherwise, so it runs out by
//!   itself when probers, the network or replication fail.
//!
//! Invariant: nothing never reported is ever `Down` — it is `Unknown`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::check::{Check, CheckKind, CheckSubject};
use crate::model::endpoint::{AdminState, Endpoint};
use crate::model::ident::validate_id;
use crate::model::region::Region;
use crate::model::validation::FieldErrors;

/// How often a prober writes its RTT digest (every check's current state and last RTT),
/// in milliseconds. The digest doubles as the heartbeat that keeps votes fresh.
pub const REPORT_INTERVAL_MS: u64 = 10_000;

/// A vote is fresh while its last report is at most this many intervals old.
pub const FRESH_INTERVALS: u64 = 3;

/// The longest error text an observation may carry, in bytes.
pub const MAX_ERROR_LEN: usize = 256;

/// The most observations one report may carry.
pub const MAX_OBSERVATIONS_PER_REPORT: usize = 100_000;

/// How many enabled endpoints of a region must be up for the region to be up.
pub const DEFAULT_MIN_HEALTHY: u32 = 1;

/// Observations as the state stores them: check id → vantage → the latest observation.
pub type Observations = BTreeMap<String, BTreeMap<String, Observation>>;

/// What one vantage last said about one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Observation {
    /// The vantage's verdict after its rise/fall thresholds.
    pub up: bool,
    /// Leader time (unix millis) this vantage's verdict last changed.
    pub since: u64,
    /// Leader time (unix millis) of the last report carrying it; freshness is judged by it.
    pub reported_at: u64,
    /// The last measured round-trip time in microseconds, when one was measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_us: Option<u32>,
    /// Why the last attempt failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Live capacity the check found (`kube-local`: nodes with local endpoints).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u32>,
}

/// One entry of a prober's report: a transition or a digest line for one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObservationReport {
    /// The check's id.
    pub check: String,
    /// The vantage's verdict after rise/fall.
    pub up: bool,
    /// The last measured round-trip time in microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_us: Option<u32>,
    /// Why the last attempt failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Live capacity found (`kube-local`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u32>,
}

/// A region's health lease (the split-brain guard).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionLease {
    /// Leader time (unix millis) the lease runs out; guarded records stop answering the
    /// region from then on, on every DNS node, whatever the control plane does.
    pub expires_at: u64,
    /// Leader time (unix millis) of the last renewal.
    pub renewed_at: u64,
}

impl RegionLease {
    /// Whether the lease is still valid at `now` (unix millis).
    pub fn is_valid(&self, now: u64) -> bool {
        now < self.expires_at
    }

    /// Milliseconds left at `now`; 0 once expired. Answer TTLs never exceed it.
    pub fn remaining_ms(&self, now: u64) -> u64 {
        self.expires_at.saturating_sub(now)
    }
}

/// A derived verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    /// A quorum of fresh vantages says up.
    Up,
    /// Fresh vantages reported, and not enough of them say up.
    Down,
    /// No fresh report (never reported, or every vote is stale): each record decides.
    #[default]
    Unknown,
}

impl HealthStatus {
    /// The worse of two verdicts: down beats unknown beats up.
    pub fn worst(self, other: HealthStatus) -> HealthStatus {
        use HealthStatus::*;
        match (self, other) {
            (Down, _) | (_, Down) => Down,
            (Unknown, _) | (_, Unknown) => Unknown,
            _ => Up,
        }
    }
}

/// How the vantages voted on a check (for an endpoint or region: on its deciding check).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Votes {
    /// Fresh votes saying up.
    pub up: u16,
    /// Fresh votes saying down.
    pub down: u16,
    /// Expected vantages without a fresh vote (stale or never reported).
    pub stale: u16,
    /// Vantages expected to vote.
    pub total: u16,
    /// Up votes needed for `Up`.
    pub quorum: u16,
}

/// The derived health of one check.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckHealth {
    /// The verdict.
    pub status: HealthStatus,
    /// The votes behind it.
    pub votes: Votes,
    /// Leader time of the latest change among the fresh votes, if any.
    pub since: Option<u64>,
    /// The median capacity the fresh up votes found (so one vantage cannot move it), if the
    /// check reports capacity.
    pub capacity: Option<u32>,
    /// Last RTT per fresh vantage, microseconds.
    pub rtt_us: BTreeMap<String, u32>,
    /// Last error per fresh vantage that reported one.
    pub errors: BTreeMap<String, String>,
}

/// The derived health of one endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointHealth {
    /// The verdict over all its checks.
    pub status: HealthStatus,
    /// The votes of the deciding check.
    pub votes: Votes,
    /// When the deciding check last changed, if known.
    pub since: Option<u64>,
    /// The lowest RTT per vantage over its checks, microseconds (latency policies).
    pub rtt_us: BTreeMap<String, u32>,
}

/// The derived health of one region.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionHealth {
    /// The verdict: deep checks and `min_healthy` endpoints together.
    pub status: HealthStatus,
    /// The verdict of the deep (region) checks alone; `Up` when it has none.
    pub deep: HealthStatus,
    /// The votes of the deciding deep check (default when none decided).
    pub votes: Votes,
    /// Enabled endpoints that are up.
    pub endpoints_up: u32,
    /// Enabled endpoints that are unknown.
    pub endpoints_unknown: u32,
    /// Enabled endpoints counted.
    pub endpoints_enabled: u32,
    /// Up endpoints needed.
    pub min_healthy: u32,
    /// Live capacity from `kube-local` checks (sum over them), if any reports it.
    pub capacity: Option<u32>,
    /// The health lease, if the region ever got one.
    pub lease: Option<RegionLease>,
    /// The lowest RTT per vantage over its endpoints (or deep checks), microseconds.
    pub rtt_us: BTreeMap<String, u32>,
}

/// Health derived from the stored observations at one instant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthView {
    /// The instant (unix millis) it was derived for.
    pub at: u64,
    /// Per check id.
    pub checks: BTreeMap<String, CheckHealth>,
    /// Per endpoint id (every endpoint, `Unknown` when nothing checks it).
    pub endpoints: BTreeMap<String, EndpointHealth>,
    /// Per region id (every region).
    pub regions: BTreeMap<String, RegionHealth>,
}

/// How long a vote on `check` stays fresh, in milliseconds.
pub fn freshness_window_ms(check: &Check) -> u64 {
    match &check.kind {
        CheckKind::External(external) => external.ttl_ms,
        _ => FRESH_INTERVALS * check.interval_ms.max(REPORT_INTERVAL_MS),
    }
}

/// Whether an observation reported at `reported_at` still counts at `now` for `check`.
pub fn is_fresh(check: &Check, reported_at: u64, now: u64) -> bool {
    now.saturating_sub(reported_at) <= freshness_window_ms(check)
}

/// Applies the quorum rule to one check's observations at `now`. `regions` are the vantages
/// expected when the check names none.
pub fn judge_check<'a>(
    check: &'a Check,
    observations: Option<&BTreeMap<String, Observation>>,
    regions: impl Iterator<Item = &'a String>,
    now: u64,
) -> CheckHealth {
    let empty = BTreeMap::new();
    let observations = observations.unwrap_or(&empty);
    let external_open = matches!(check.kind, CheckKind::External(_)) && check.vantages.is_empty();
    let expected: Vec<String> = if external_open {
        observations.keys().cloned().collect()
    } else {
        check
            .expected_vantages(regions)
            .into_iter()
            .map(str::to_string)
            .collect()
    };
    let mut health = CheckHealth::default();
    let mut capacities = Vec::new();
    for vantage in &expected {
        let fresh = observations
            .get(vantage)
            .filter(|observation| is_fresh(check, observation.reported_at, now));
        let Some(observation) = fresh else {
            health.votes.stale += 1;
            continue;
        };
        if observation.up {
            health.votes.up += 1;
            capacities.extend(observation.capacity);
        } else {
            health.votes.down += 1;
        }
        health.since = health.since.max(Some(observation.since));
        if let Some(rtt) = observation.rtt_us {
            health.rtt_us.insert(vantage.clone(), rtt);
        }
        if let Some(error) = &observation.error {
            health.errors.insert(vantage.clone(), error.clone());
        }
    }
    health.votes.total = saturate(expected.len());
    let fresh = health.votes.up + health.votes.down;
    health.votes.quorum = check.quorum.unwrap_or(fresh / 2 + 1);
    health.status = if fresh == 0 {
        HealthStatus::Unknown
    } else if health.votes.up >= health.votes.quorum {
        HealthStatus::Up
    } else {
        HealthStatus::Down
    };
    if matches!(check.kind, CheckKind::KubeLocal(_)) {
        capacities.sort_unstable();
        health.capacity = match health.status {
            // The lower median of the up votes: with three vantages one liar moves nothing.
            HealthStatus::Up => capacities.get((capacities.len().max(1) - 1) / 2).copied(),
            HealthStatus::Down => Some(0),
            HealthStatus::Unknown => None,
        };
    }
    health
}

/// Derives the health of every check, endpoint and region from the stored observations at
/// `now` (unix millis). Pure: the same inputs give the same view on every node.
pub fn derive_health(
    observations: &Observations,
    checks: &BTreeMap<String, Check>,
    regions: &BTreeMap<String, Region>,
    endpoints: &BTreeMap<String, Endpoint>,
    leases: &BTreeMap<String, RegionLease>,
    now: u64,
) -> HealthView {
    let mut view = HealthView {
        at: now,
        ..HealthView::default()
    };
    // Check ids per subject, so the walk below is linear in checks + endpoints + regions.
    let mut by_subject: BTreeMap<&CheckSubject, Vec<&str>> = BTreeMap::new();
    for (id, check) in checks {
        let health = judge_check(check, observations.get(id), regions.keys(), now);
        view.checks.insert(id.clone(), health);
        by_subject.entry(&check.subject).or_default().push(id);
    }
    let checks_of = |subject: &CheckSubject| -> Vec<&str> {
        by_subject.get(subject).cloned().unwrap_or_default()
    };
    for id in endpoints.keys() {
        let subject = CheckSubject::Endpoint(id.clone());
        let mine = checks_of(&subject)
            .into_iter()
            .map(|check_id| &view.checks[check_id]);
        let mut health = EndpointHealth::default();
        let mut decided: Option<&CheckHealth> = None;
        for check in mine {
            for (vantage, rtt) in &check.rtt_us {
                let entry = health.rtt_us.entry(vantage.clone()).or_insert(*rtt);
                *entry = (*entry).min(*rtt);
            }
            decided = Some(match decided {
                None => check,
                Some(previous) if rank(check.status) > rank(previous.status) => check,
                Some(previous) => previous,
            });
        }
        if let Some(check) = decided {
            health.status = check.status;
            health.votes = check.votes;
            health.since = check.since;
        }
        view.endpoints.insert(id.clone(), health);
    }
    for (id, region) in regions {
        let subject = CheckSubject::Region(id.clone());
        let mut health = RegionHealth {
            deep: HealthStatus::Up,
            min_healthy: region.min_healthy.unwrap_or(DEFAULT_MIN_HEALTHY),
            lease: leases.get(id).copied(),
            ..RegionHealth::default()
        };
        let mut deep_checks = 0;
        let mut decided: Option<&CheckHealth> = None;
        for check_id in checks_of(&subject) {
            deep_checks += 1;
            let judged = &view.checks[check_id];
            health.deep = health.deep.worst(judged.status);
            if let Some(capacity) = judged.capacity {
                health.capacity = Some(health.capacity.unwrap_or(0).saturating_add(capacity));
            }
            decided = Some(match decided {
                None => judged,
                Some(previous) if rank(judged.status) > rank(previous.status) => judged,
                Some(previous) => previous,
            });
        }
        if let Some(check) = decided {
            health.votes = check.votes;
        }
        let mut endpoint_rtt: BTreeMap<String, u32> = BTreeMap::new();
        for endpoint in endpoints.values().filter(|endpoint| &endpoint.region == id) {
            if endpoint.admin != AdminState::Enabled {
                continue;
            }
            health.endpoints_enabled += 1;
            let derived = &view.endpoints[&endpoint.id];
            match derived.status {
                HealthStatus::Up => health.endpoints_up += 1,
                HealthStatus::Unknown => health.endpoints_unknown += 1,
                HealthStatus::Down => {}
            }
            for (vantage, rtt) in &derived.rtt_us {
                let entry = endpoint_rtt.entry(vantage.clone()).or_insert(*rtt);
                *entry = (*entry).min(*rtt);
            }
        }
        health.rtt_us = if endpoint_rtt.is_empty() {
            decided
                .map(|check| check.rtt_us.clone())
                .unwrap_or_default()
        } else {
            endpoint_rtt
        };
        let by_endpoints =
            if health.endpoints_enabled == 0 || health.endpoints_up >= health.min_healthy {
                HealthStatus::Up
            } else if health.endpoints_up + health.endpoints_unknown >= health.min_healthy {
                HealthStatus::Unknown
            } else {
                HealthStatus::Down
            };
        health.status = if deep_checks == 0 && health.endpoints_enabled == 0 {
            HealthStatus::Unknown
        } else {
            health.deep.worst(by_endpoints)
        };
        view.regions.insert(id.clone(), health);
    }
    view
}

/// How bad a verdict is, for choosing the deciding check.
fn rank(status: HealthStatus) -> u8 {
    match status {
        HealthStatus::Up => 0,
        HealthStatus::Unknown => 1,
        HealthStatus::Down => 2,
    }
}

/// `usize` → `u16`, saturating.
fn saturate(count: usize) -> u16 {
    u16::try_from(count).unwrap_or(u16::MAX)
}

/// The lease a region should hold after observations at `now`: renewed to `now + lease_ms`
/// (the shortest `lease_ms` of its replication checks) when a quorum of fresh vantages
/// confirms every replication check of the region, otherwise `current` unchanged. A region
/// without replication checks never gets a lease.
pub fn decide_lease<'a>(
    region: &str,
    observations: &Observations,
    checks: &'a BTreeMap<String, Check>,
    regions: impl Iterator<Item = &'a String> + Clone,
    current: Option<RegionLease>,
    now: u64,
) -> Option<RegionLease> {
    let mut lease_ms: Option<u64> = None;
    for check in checks.values() {
        let CheckKind::Replication(replication) = &check.kind else {
            continue;
        };
        if check.subject != CheckSubject::Region(region.to_string()) {
            continue;
        }
        let judged = judge_check(check, observations.get(&check.id), regions.clone(), now);
        if judged.status != HealthStatus::Up {
            return current;
        }
        lease_ms = Some(lease_ms.map_or(replication.lease_ms, |ms| ms.min(replication.lease_ms)));
    }
    let Some(lease_ms) = lease_ms else {
        return current;
    };
    let expires_at = now.saturating_add(lease_ms);
    match current {
        Some(lease) if lease.expires_at >= expires_at => Some(lease),
        _ => Some(RegionLease {
            expires_at,
            renewed_at: now,
        }),
    }
}

/// Renews the lease of every region whose replication checks a quorum confirms at `now`;
/// returns whether any lease moved. Leases of regions that no longer exist are dropped.
pub fn renew_leases(
    observations: &Observations,
    checks: &BTreeMap<String, Check>,
    regions: &BTreeMap<String, Region>,
    leases: &mut BTreeMap<String, RegionLease>,
    now: u64,
) -> bool {
    let before = leases.len();
    leases.retain(|region, _| regions.contains_key(region));
    let mut changed = leases.len() != before;
    for region in regions.keys() {
        let current = leases.get(region).copied();
        let next = decide_lease(region, observations, checks, regions.keys(), current, now);
        if next != current {
            if let Some(lease) = next {
                leases.insert(region.clone(), lease);
                changed = true;
            }
        }
    }
    changed
}

/// Records a vantage's report at leader time `at`: each entry replaces the vantage's
/// observation of its check, keeping `since` when the verdict did not change. Returns
/// whether anything changed (a report always refreshes `reported_at`, so it is true unless
/// the report is empty).
pub fn record_observations(
    observations: &mut Observations,
    vantage: &str,
    reports: &[ObservationReport],
    at: u64,
) -> bool {
    let mut changed = false;
    for report in reports {
        let per_vantage = observations.entry(report.check.clone()).or_default();
        let previous = per_vantage.get(vantage);
        let since = match previous {
            Some(previous) if previous.up == report.up => previous.since,
            _ => at,
        };
        let rtt_us = match (previous.and_then(|previous| previous.rtt_us), report.rtt_us) {
            (Some(smoothed), Some(sample)) => Some(smooth_rtt(smoothed, sample)),
            (_, sample) => sample,
        };
        let next = Observation {
            up: report.up,
            since,
            reported_at: at,
            rtt_us,
            error: report.error.clone(),
            capacity: report.capacity,
        };
        if per_vantage.get(vantage) != Some(&next) {
            per_vantage.insert(vantage.to_string(), next);
            changed = true;
        }
    }
    changed
}

/// The RTT kept after a new `sample`: an exponentially weighted moving average that gives
/// the sample a quarter of the weight (as TCP's SRTT gives 1/8), in integers so every node
/// computes the same value. One noisy probe moves the kept RTT by a quarter of its noise, so
/// latency choices (which also need a margin to switch, see `LatencyMargin`) do not flap.
pub fn smooth_rtt(smoothed: u32, sample: u32) -> u32 {
    let smoothed = u64::from(smoothed);
    let sample = u64::from(sample);
    ((smoothed * 3 + sample + 2) / 4) as u32
}

/// Checks a report against the state's `checks` and `regions`: the vantage is a slug allowed
/// to run each check, every check exists and appears once, errors are short. Reports under
/// `path`.
pub fn validate_report(
    checks: &BTreeMap<String, Check>,
    regions: &BTreeMap<String, Region>,
    vantage: &str,
    reports: &[ObservationReport],
    path: &str,
    errors: &mut FieldErrors,
) {
    let prefix = crate::model::ident::prefix(path);
    validate_id(&format!("{prefix}vantage"), vantage, errors);
    if reports.len() > MAX_OBSERVATIONS_PER_REPORT {
        errors.push(
            format!("{prefix}observations"),
            format!(
                "must hold at most {MAX_OBSERVATIONS_PER_REPORT} entries, got {}",
                reports.len()
            ),
        );
    }
    let mut seen = std::collections::BTreeSet::new();
    for (index, report) in reports.iter().enumerate() {
        let entry = format!("{prefix}observations[{index}]");
        let Some(check) = checks.get(&report.check) else {
            errors.push(
                format!("{entry}.check"),
                format!("no check {:?}", report.check),
            );
            continue;
        };
        if !seen.insert(report.check.as_str()) {
            errors.push(
                format!("{entry}.check"),
                format!("check {:?} appears twice in one report", report.check),
            );
        }
        let external = matches!(check.kind, CheckKind::External(_));
        let allowed = if check.vantages.is_empty() {
            external || regions.contains_key(vantage)
        } else {
            check.vantages.contains(vantage)
        };
        if !allowed {
            errors.push(
                format!("{entry}.check"),
                format!("vantage {vantage:?} does not run check {:?}", report.check),
            );
        }
        if let Some(error) = &report.error {
            if error.len() > MAX_ERROR_LEN {
                errors.push(
                    format!("{entry}.error"),
                    format!("must be at most {MAX_ERROR_LEN} bytes, got {}", error.len()),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::check::{CheckSubject, TcpCheck};
    use crate::model::endpoint::EndpointTarget;
    use crate::model::region::Location;
    use crate::model::state::State;

    pub(crate) fn region(id: &str) -> Region {
        Region {
            id: id.to_string(),
            location: Location {
                lat_micro: 0,
                lon_micro: 0,
                country: "DE".to_string(),
                continent: "EU".to_string(),
            },
            capacity: None,
            min_healthy: None,
        }
    }

    fn world() -> (BTreeMap<String, Region>, BTreeMap<String, Endpoint>) {
        let regions = ["eu", "us", "ap"]
            .into_iter()
            .map(|id| (id.to_string(), region(id)))
            .collect();
        let endpoint = Endpoint {
            id: "web".to_string(),
            region: "eu".to_string(),
            target: EndpointTarget::Address("192.0.2.1".parse().unwrap()),
            weight: 1,
            admin: AdminState::Enabled,
            labels: Default::default(),
        };
        (regions, [("web".to_string(), endpoint)].into())
    }

    fn tcp_check() -> Check {
        Check {
            id: "web-tcp".to_string(),
            subject: CheckSubject::Endpoint("web".to_string()),
            kind: CheckKind::Tcp(TcpCheck {
                port: 80,
                send: None,
                expect: None,
            }),
            target: None,
            interval_ms: 1_000,
            timeout_ms: 500,
            rise: 1,
            fall: 1,
            vantages: Default::default(),
            quorum: None,
        }
    }

    /// Votes `(vantage, up, reported_at)` on the tcp check; derives the endpoint at `now`.
    fn endpoint_status(votes: &[(&str, bool, u64)], now: u64) -> EndpointHealth {
        let (regions, endpoints) = world();
        let check = tcp_check();
        let mut observations = Observations::new();
        for (vantage, up, at) in votes {
            let report = ObservationReport {
                check: check.id.clone(),
                up: *up,
                rtt_us: Some(100),
                error: None,
                capacity: None,
            };
            record_observations(&mut observations, vantage, &[report], *at);
        }
        let checks = [(check.id.clone(), check)].into();
        derive_health(
            &observations,
            &checks,
            &regions,
            &endpoints,
            &BTreeMap::new(),
            now,
        )
        .endpoints["web"]
            .clone()
    }

    #[test]
    fn never_reported_is_unknown_not_down() {
        let health = endpoint_status(&[], 1_000);
        assert_eq!(health.status, HealthStatus::Unknown);
        assert_eq!(health.votes.stale, 3);
    }

    #[test]
    fn a_majority_of_fresh_votes_decides() {
        let now = 100_000;
        let up = endpoint_status(
            &[("eu", true, now), ("us", true, now), ("ap", false, now)],
            now,
        );
        assert_eq!(up.status, HealthStatus::Up);
        assert_eq!(
            up.votes,
            Votes {
                up: 2,
                down: 1,
                stale: 0,
                total: 3,
                quorum: 2
            }
        );
        let down = endpoint_status(
            &[("eu", false, now), ("us", false, now), ("ap", true, now)],
            now,
        );
        assert_eq!(down.status, HealthStatus::Down);
    }

    #[test]
    fn stale_votes_do_not_count() {
        // The window is 3 × max(1 s, 10 s digest) = 30 s.
        let now = 100_000;
        let stale = now - 30_001;
        let health = endpoint_status(
            &[
                ("eu", false, stale),
                ("us", false, stale),
                ("ap", true, now),
            ],
            now,
        );
        assert_eq!(health.status, HealthStatus::Up);
        assert_eq!(health.votes.stale, 2);
        let all_stale = endpoint_status(&[("eu", true, stale)], now);
        assert_eq!(all_stale.status, HealthStatus::Unknown);
    }

    #[test]
    fn since_is_kept_while_the_verdict_holds() {
        let mut observations = Observations::new();
        let report = |up| ObservationReport {
            check: "c".to_string(),
            up,
            rtt_us: None,
            error: None,
            capacity: None,
        };
        record_observations(&mut observations, "eu", &[report(true)], 10);
        record_observations(&mut observations, "eu", &[report(true)], 20);
        assert_eq!(observations["c"]["eu"].since, 10);
        assert_eq!(observations["c"]["eu"].reported_at, 20);
        record_observations(&mut observations, "eu", &[report(false)], 30);
        assert_eq!(observations["c"]["eu"].since, 30);
    }

    /// Each vantage's RTT is kept as a moving average: one sample moves it by a quarter of
    /// the difference, a report without an RTT keeps it, and the first sample is taken whole.
    #[test]
    fn rtts_are_smoothed_per_vantage() {
        let mut observations = Observations::new();
        let report = |rtt_us| ObservationReport {
            check: "c".to_string(),
            up: true,
            rtt_us,
            error: None,
            capacity: None,
        };
        record_observations(&mut observations, "eu", &[report(Some(10_000))], 10);
        assert_eq!(observations["c"]["eu"].rtt_us, Some(10_000));
        record_observations(&mut observations, "eu", &[report(Some(20_000))], 20);
        assert_eq!(observations["c"]["eu"].rtt_us, Some(12_500));
        record_observations(&mut observations, "us", &[report(Some(1_000))], 20);
        assert_eq!(observations["c"]["us"].rtt_us, Some(1_000), "per vantage");
        record_observations(&mut observations, "eu", &[report(None)], 30);
        assert_eq!(
            observations["c"]["eu"].rtt_us, None,
            "no sample: none reported"
        );
        assert_eq!(smooth_rtt(u32::MAX, u32::MAX), u32::MAX, "no overflow");
        assert_eq!(smooth_rtt(100, 100), 100, "a steady RTT stays put");
    }

    #[test]
    fn a_lease_expires_by_itself() {
        let lease = RegionLease {
            expires_at: 40_000,
            renewed_at: 10_000,
        };
        assert!(lease.is_valid(39_999));
        assert!(!lease.is_valid(40_000));
        assert_eq!(lease.remaining_ms(35_000), 5_000);
        assert_eq!(lease.remaining_ms(50_000), 0);
    }

    fn stamped(command: crate::command::Command, at: u64) -> crate::command::StampedCommand {
        crate::command::StampedCommand {
            at,
            actor: crate::model::audit::Actor::new("prober"),
            command,
        }
    }

    fn replication_check() -> Check {
        serde_json::from_value(serde_json::json!({
            "id": "eu-repl", "subject": {"kind": "region", "id": "eu"},
            "target": "192.0.2.9", "interval_ms": 1000, "timeout_ms": 500,
            "kind": {"type": "replication", "port": 8080,
                     "conditions": ["/replication/in_quorum == true"], "lease_ms": 30000}
        }))
        .unwrap()
    }

    fn report(check: &str, up: bool) -> ObservationReport {
        ObservationReport {
            check: check.to_string(),
            up,
            rtt_us: Some(1_000),
            error: (!up).then(|| "in_quorum is false".to_string()),
            capacity: None,
        }
    }

    /// Through `apply`: a quorum confirming replication renews the lease, a minority cannot,
    /// and without renewals the lease runs out by itself; reports are not audited.
    #[test]
    fn leases_follow_a_quorum_through_apply() {
        use crate::command::{apply, Command};
        let (regions, endpoints) = world();
        let mut state = State::default();
        let mut index = 0;
        let mut run = |state: &mut State, command: Command, at: u64| {
            index += 1;
            apply(state, &stamped(command, at), index)
        };
        for region in regions.into_values() {
            run(&mut state, Command::PutRegion { region }, 1).unwrap();
        }
        for endpoint in endpoints.into_values() {
            run(&mut state, Command::PutEndpoint { endpoint }, 1).unwrap();
        }
        let check = replication_check();
        run(
            &mut state,
            Command::PutCheck {
                check: Box::new(check),
            },
            1,
        )
        .unwrap();
        let audited = state.audit.len();
        let observe = |vantage: &str, up| Command::ReportObservations {
            vantage: vantage.to_string(),
            observations: vec![report("eu-repl", up)],
        };
        run(&mut state, observe("eu", true), 10_000).unwrap();
        // One vote of one fresh vantage is a majority of the fresh: it renews.
        assert_eq!(state.leases["eu"].expires_at, 40_000);
        run(&mut state, observe("us", true), 11_000).unwrap();
        assert_eq!(state.leases["eu"].expires_at, 41_000);
        // Two of three now say replication lost quorum: no renewal.
        run(&mut state, observe("us", false), 20_000).unwrap();
        run(&mut state, observe("ap", false), 21_000).unwrap();
        assert_eq!(state.leases["eu"].expires_at, 41_000);
        assert!(state.leases["eu"].is_valid(40_999));
        assert!(!state.leases["eu"].is_valid(41_000));
        let view = state.health_view(21_000);
        assert_eq!(view.regions["eu"].deep, HealthStatus::Down);
        assert_eq!(view.regions["eu"].status, HealthStatus::Down);
        assert_eq!(view.checks["eu-repl"].votes.down, 2);
        assert_eq!(state.audit.len(), audited, "reports are not audited");

        let rejected = run(
            &mut state,
            Command::ReportObservations {
                vantage: "eu".to_string(),
                observations: vec![report("nope", true)],
            },
            22_000,
        );
        assert_eq!(
            rejected.unwrap_err().to_string(),
            "command rejected: observations[0].check: no check \"nope\""
        );
        let deleted = run(
            &mut state,
            Command::DeleteCheck {
                id: "eu-repl".to_string(),
            },
            23_000,
        );
        assert!(deleted.unwrap().changed);
        assert!(state.health.is_empty());
    }

    /// Records `(check, vantage, up, capacity)` votes at `at`.
    fn votes(
        observations: &mut Observations,
        entries: &[(&str, &str, bool, Option<u32>)],
        at: u64,
    ) {
        for (check, vantage, up, capacity) in entries {
            let entry = ObservationReport {
                check: check.to_string(),
                up: *up,
                rtt_us: None,
                error: None,
                capacity: *capacity,
            };
            record_observations(observations, vantage, &[entry], at);
        }
    }

    fn kube_check() -> Check {
        serde_json::from_value(serde_json::json!({
            "id": "eu-kube", "subject": {"kind": "region", "id": "eu"},
            "kind": {"type": "kube-local", "nodes": ["192.0.2.1", "192.0.2.2"], "port": 31000},
            "interval_ms": 1000, "timeout_ms": 500
        }))
        .unwrap()
    }

    /// A region is up only when its deep checks pass and an endpoint is up; unknown while
    /// either is unknown; capacity is the median of the up votes, so one vantage cannot
    /// inflate it.
    #[test]
    fn region_health_combines_deep_checks_endpoints_and_capacity() {
        let (regions, endpoints) = world();
        let checks: BTreeMap<String, Check> = [tcp_check(), kube_check()]
            .into_iter()
            .map(|check| (check.id.clone(), check))
            .collect();
        let derive = |observations: &Observations| {
            derive_health(
                observations,
                &checks,
                &regions,
                &endpoints,
                &BTreeMap::new(),
                1_000,
            )
        };
        let mut observations = Observations::new();
        let view = derive(&observations);
        assert_eq!(view.regions["eu"].status, HealthStatus::Unknown);
        assert_eq!(
            view.regions["us"].status,
            HealthStatus::Unknown,
            "nothing to judge"
        );

        votes(
            &mut observations,
            &[
                ("eu-kube", "eu", true, Some(4)),
                ("eu-kube", "us", true, Some(5)),
                ("eu-kube", "ap", true, Some(500)),
            ],
            1_000,
        );
        let view = derive(&observations);
        assert_eq!(view.regions["eu"].deep, HealthStatus::Up);
        assert_eq!(
            view.regions["eu"].capacity,
            Some(5),
            "the median, not the liar's 500"
        );
        assert_eq!(
            view.regions["eu"].status,
            HealthStatus::Unknown,
            "its endpoint never reported"
        );

        votes(
            &mut observations,
            &[("web-tcp", "eu", true, None), ("web-tcp", "us", true, None)],
            1_000,
        );
        assert_eq!(derive(&observations).regions["eu"].status, HealthStatus::Up);

        votes(
            &mut observations,
            &[
                ("eu-kube", "eu", false, Some(0)),
                ("eu-kube", "us", false, Some(0)),
            ],
            1_000,
        );
        let view = derive(&observations);
        assert_eq!(view.regions["eu"].status, HealthStatus::Down);
        assert_eq!(view.regions["eu"].capacity, Some(0));
    }

    /// A region's `min_healthy` sets how many enabled endpoints must be up: with 2 of 3 it
    /// is down while only one is up, and up from two.
    #[test]
    fn min_healthy_counts_up_endpoints() {
        let (mut regions, mut endpoints) = world();
        regions.get_mut("eu").unwrap().min_healthy = Some(2);
        let mut checks = BTreeMap::new();
        for id in ["web", "web-2", "web-3"] {
            let mut endpoint = endpoints["web"].clone();
            endpoint.id = id.to_string();
            endpoints.insert(id.to_string(), endpoint);
            let mut check = tcp_check();
            check.id = format!("{id}-tcp");
            check.subject = CheckSubject::Endpoint(id.to_string());
            checks.insert(check.id.clone(), check);
        }
        let derive = |up: &[&str]| {
            let mut observations = Observations::new();
            for id in ["web", "web-2", "web-3"] {
                for vantage in ["eu", "us", "ap"] {
                    let report = ObservationReport {
                        check: format!("{id}-tcp"),
                        up: up.contains(&id),
                        rtt_us: None,
                        error: None,
                        capacity: None,
                    };
                    record_observations(&mut observations, vantage, &[report], 1_000);
                }
            }
            let view = derive_health(
                &observations,
                &checks,
                &regions,
                &endpoints,
                &BTreeMap::new(),
                1_000,
            );
            (view.regions["eu"].status, view.regions["eu"].min_healthy)
        };
        assert_eq!(derive(&["web"]), (HealthStatus::Down, 2));
        assert_eq!(derive(&["web", "web-3"]), (HealthStatus::Up, 2));
        let mut bad = region("eu");
        bad.min_healthy = Some(0);
        let mut errors = FieldErrors::default();
        bad.validate("", &mut errors);
        assert!(errors.0[0]
            .to_string()
            .starts_with("min_healthy: must be at least 1"));
    }

    /// Pushed observations count for their TTL, from any reporter when the check names none.
    #[test]
    fn external_observations_lapse_after_their_ttl() {
        let (regions, endpoints) = world();
        let check: Check = serde_json::from_value(serde_json::json!({
            "id": "web-ext", "subject": {"kind": "endpoint", "id": "web"},
            "kind": {"type": "external", "ttl_ms": 5000},
            "interval_ms": 1000, "timeout_ms": 500
        }))
        .unwrap();
        let checks: BTreeMap<String, Check> = [(check.id.clone(), check)].into();
        let mut observations = Observations::new();
        votes(
            &mut observations,
            &[("web-ext", "ci-pipeline", true, None)],
            10_000,
        );
        let at = |now| {
            derive_health(
                &observations,
                &checks,
                &regions,
                &endpoints,
                &BTreeMap::new(),
                now,
            )
            .endpoints["web"]
                .status
        };
        assert_eq!(at(15_000), HealthStatus::Up);
        assert_eq!(at(15_001), HealthStatus::Unknown);
    }

    /// Checks, observations and leases survive the snapshot format (JSON) unchanged, and a
    /// snapshot written before they existed still loads.
    #[test]
    fn health_state_round_trips_through_json() {
        use crate::command::{apply, Command};
        let (regions, endpoints) = world();
        let mut state = State::default();
        let mut index = 0;
        let mut run = |state: &mut State, command: Command, at: u64| {
            index += 1;
            apply(state, &stamped(command, at), index).unwrap();
        };
        for region in regions.into_values() {
            run(&mut state, Command::PutRegion { region }, 1);
        }
        for endpoint in endpoints.into_values() {
            run(&mut state, Command::PutEndpoint { endpoint }, 1);
        }
        for check in [replication_check(), kube_check(), tcp_check()] {
            run(
                &mut state,
                Command::PutCheck {
                    check: Box::new(check),
                },
                1,
            );
        }
        let mut failing = report("web-tcp", false);
        failing.error = Some("connect to 192.0.2.1:80: connection refused".to_string());
        let observations = vec![report("eu-repl", true), failing];
        run(
            &mut state,
            Command::ReportObservations {
                vantage: "eu".to_string(),
                observations,
            },
            5_000,
        );
        assert_eq!(state.leases.len(), 1);
        let json = serde_json::to_string(&state).unwrap();
        let back: State = serde_json::from_str(&json).unwrap();
        assert_eq!(back, state);
        let old: State = serde_json::from_str(r#"{"version": 3, "zones": {}}"#).unwrap();
        assert!(old.checks.is_empty() && old.health.is_empty() && old.leases.is_empty());
    }

    /// How long deriving the view takes for 1,000 endpoints × 3 vantages (printed; the DNS
    /// nodes derive it once per state version).
    #[test]
    fn derive_health_scales_linearly() {
        let (regions, _) = world();
        let mut endpoints = BTreeMap::new();
        let mut checks = BTreeMap::new();
        let mut observations = Observations::new();
        for index in 0..1_000 {
            let (_, mut template) = world();
            let mut endpoint = template.remove("web").unwrap();
            endpoint.id = format!("web-{index}");
            let mut check = tcp_check();
            check.id = format!("web-{index}-tcp");
            check.subject = CheckSubject::Endpoint(endpoint.id.clone());
            for vantage in ["eu", "us", "ap"] {
                votes(
                    &mut observations,
                    &[(check.id.as_str(), vantage, true, None)],
                    1_000,
                );
            }
            endpoints.insert(endpoint.id.clone(), endpoint);
            checks.insert(check.id.clone(), check);
        }
        // Measures the test itself, outside the pure code under test.
        #[allow(clippy::disallowed_methods)]
        let started = std::time::Instant::now();
        let view = derive_health(
            &observations,
            &checks,
            &regions,
            &endpoints,
            &BTreeMap::new(),
            2_000,
        );
        let took = started.elapsed();
        println!("derive_health, 1000 endpoints x 3 vantages: {took:?}");
        assert_eq!(view.regions["eu"].endpoints_up, 1_000);
        assert!(took < std::time::Duration::from_secs(2), "{took:?}");
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        const VANTAGES: [&str; 3] = ["eu", "us", "ap"];

        /// Derives the tcp check's endpoint status from `(vantage index, up, age ms)` votes.
        fn status(votes: &[(usize, bool, u64)], now: u64) -> EndpointHealth {
            let votes: Vec<(&str, bool, u64)> = votes
                .iter()
                .map(|(vantage, up, age)| (VANTAGES[*vantage], *up, now - age))
                .collect();
            endpoint_status(&votes, now)
        }

        proptest! {
            /// With three fresh vantages, one lying vantage cannot flip an endpoint in
            /// either direction.
            #[test]
            fn one_liar_cannot_flip(truth: bool, liar in 0usize..3,
                                    ages in proptest::array::uniform3(0u64..=30_000)) {
                let now = 1_000_000;
                let votes: Vec<(usize, bool, u64)> = (0..3)
                    .map(|vantage| (vantage, if vantage == liar { !truth } else { truth }, ages[vantage]))
                    .collect();
                let expected = if truth { HealthStatus::Up } else { HealthStatus::Down };
                prop_assert_eq!(status(&votes, now).status, expected);
            }

            /// Stale votes, whatever they say, change nothing: the verdict equals the one
            /// from the fresh votes alone.
            #[test]
            fn stale_votes_never_count(
                votes in proptest::collection::vec((0usize..3, any::<bool>(), any::<bool>()), 0..6),
            ) {
                let now = 1_000_000;
                let mut latest: BTreeMap<usize, (bool, bool)> = BTreeMap::new();
                for (vantage, up, stale) in &votes {
                    latest.insert(*vantage, (*up, *stale));
                }
                let all: Vec<(usize, bool, u64)> = latest
                    .iter()
                    .map(|(vantage, (up, stale))| (*vantage, *up, if *stale { 30_001 } else { 0 }))
                    .collect();
                let fresh_only: Vec<(usize, bool, u64)> =
                    all.iter().copied().filter(|(_, _, age)| *age == 0).collect();
                let with_stale = status(&all, now);
                prop_assert_eq!(with_stale.status, status(&fresh_only, now).status);
                prop_assert_eq!(with_stale.votes.stale as usize, 3 - fresh_only.len());
            }

            /// Without a fresh vote nothing is ever down: it is unknown.
            #[test]
            fn unknown_never_becomes_down_silently(
                stale in proptest::collection::vec((0usize..3, any::<bool>(), 30_001u64..1_000_000), 0..4),
            ) {
                prop_assert_eq!(status(&stale, 1_000_000).status, HealthStatus::Unknown);
            }

            /// Validation before proposal and apply agree on reports from any vantage about
            /// any check id, and a rejected report changes nothing.
            #[test]
            fn validate_agrees_with_apply_for_reports(
                vantage in proptest::sample::select(vec!["eu", "us", "mars", "Bad id"]),
                entries in proptest::collection::vec(
                    (proptest::sample::select(vec!["eu-repl", "web-tcp", "nope"]), any::<bool>()),
                    0..4,
                ),
            ) {
                use crate::command::{apply, validate, Command};
                let (regions, endpoints) = world();
                let mut state = State {
                    regions,
                    endpoints,
                    ..State::default()
                };
                for check in [replication_check(), tcp_check()] {
                    state.checks.insert(check.id.clone(), check);
                }
                let command = Command::ReportObservations {
                    vantage: vantage.to_string(),
                    observations: entries.iter().map(|(check, up)| report(check, *up)).collect(),
                };
                let valid = validate(&state, &command).is_ok();
                let before = state.clone();
                let applied = apply(&mut state, &stamped(command, 1_000), 1);
                prop_assert_eq!(valid, applied.is_ok());
                if !valid {
                    prop_assert_eq!(state, before);
                }
            }

            /// A lease granted at `renewed` runs out at `renewed + lease_ms` unless a fresh
            /// quorum renews it; later derivations without fresh votes never extend it.
            #[test]
            fn a_lease_runs_out_without_a_quorum(renewed in 0u64..1_000_000, later in 0u64..200_000) {
                let (regions, _) = world();
                let check = replication_check();
                let checks: BTreeMap<String, Check> = [(check.id.clone(), check)].into();
                let mut observations = Observations::new();
                for vantage in VANTAGES {
                    record_observations(&mut observations, vantage, &[report("eu-repl", true)], renewed);
                }
                let mut leases = BTreeMap::new();
                prop_assert!(renew_leases(&observations, &checks, &regions, &mut leases, renewed));
                let lease = leases["eu"];
                prop_assert_eq!(lease.expires_at, renewed + 30_000);
                // Time passes with no new reports: renewals only happen while votes are fresh
                // (30 s), never past the first lease.
                let now = renewed + later;
                renew_leases(&observations, &checks, &regions, &mut leases, now);
                let fresh = later <= 30_000;
                let expected_expiry = if fresh { now + 30_000 } else { renewed + 30_000 };
                prop_assert_eq!(leases["eu"].expires_at, expected_expiry);
                prop_assert!(!leases["eu"].is_valid(expected_expiry));
            }
        }
    }
}
