//! Health on the wire: probers' reports (`ObservationBatch`) and the derived view
//! (`HealthDto`: per region, endpoint and check, with the votes behind each verdict).

use std::collections::BTreeMap;

use gslb_model::model::health::{
    CheckHealth, EndpointHealth, HealthStatus, HealthView, ObservationReport, RegionHealth, Votes,
};
use gslb_model::model::overrides::{Override, OverrideAction, OverrideTarget};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::dto::overrides::OverrideDto;

/// `POST /v1/observations`: one prober's batch from one vantage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObservationBatch {
    /// The reporting vantage (its region id, or an external reporter's name).
    pub vantage: String,
    /// One entry per check, each check at most once.
    #[schema(min_items = 1)]
    pub observations: Vec<ObservationDto>,
}

/// What the vantage says about one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObservationDto {
    /// The check's id.
    pub check: String,
    /// The verdict after the prober's rise/fall thresholds.
    pub up: bool,
    /// The last round-trip time, microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_us: Option<u32>,
    /// Why the last attempt failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Live capacity found (`kube-local`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u32>,
}

impl ObservationDto {
    /// The model's report line.
    pub fn to_model(&self) -> ObservationReport {
        ObservationReport {
            check: self.check.clone(),
            up: self.up,
            rtt_us: self.rtt_us,
            error: self.error.clone(),
            capacity: self.capacity,
        }
    }

    /// The DTO of a model report line.
    pub fn from_model(report: &ObservationReport) -> ObservationDto {
        ObservationDto {
            check: report.check.clone(),
            up: report.up,
            rtt_us: report.rtt_us,
            error: report.error.clone(),
            capacity: report.capacity,
        }
    }
}

/// A derived verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatusDto {
    /// A quorum of fresh vantages says up.
    Up,
    /// Fresh vantages reported and not enough say up.
    Down,
    /// No fresh report: never reported or every vote stale.
    Unknown,
    /// An override drains it: no new clients whatever health says (`health` keeps the
    /// verdict of the checks).
    Drained,
}

impl StatusDto {
    /// The word for metrics labels: `up`, `down`, `unknown` or `drained`.
    pub fn word(self) -> &'static str {
        match self {
            StatusDto::Up => "up",
            StatusDto::Down => "down",
            StatusDto::Unknown => "unknown",
            StatusDto::Drained => "drained",
        }
    }

    /// Every status, for metrics that set one series per status.
    pub const ALL: [StatusDto; 4] = [
        StatusDto::Up,
        StatusDto::Down,
        StatusDto::Unknown,
        StatusDto::Drained,
    ];
}

/// What answers see for `target` with health verdict `derived`: the overrides in force at
/// `now` (leader time, unix millis) win over health, a drain showing as `drained`,
/// `force_down` as down and `force_up` as up; with the overrides that decided it.
pub fn effective_status<'a>(
    overrides: impl IntoIterator<Item = &'a Override>,
    target: &OverrideTarget,
    derived: StatusDto,
    now: u64,
) -> (StatusDto, Vec<&'a Override>) {
    let active: Vec<&Override> = overrides
        .into_iter()
        .filter(|rule| &rule.target == target && rule.is_active(now))
        .collect();
    let has = |action| active.iter().any(|rule| rule.action == action);
    let status = if has(OverrideAction::Drain) {
        StatusDto::Drained
    } else if has(OverrideAction::ForceDown) {
        StatusDto::Down
    } else if has(OverrideAction::ForceUp) {
        StatusDto::Up
    } else {
        derived
    };
    (status, active)
}

impl StatusDto {
    /// The DTO of a model status.
    pub fn from_model(status: HealthStatus) -> StatusDto {
        match status {
            HealthStatus::Up => StatusDto::Up,
            HealthStatus::Down => StatusDto::Down,
            HealthStatus::Unknown => StatusDto::Unknown,
        }
    }
}

/// The votes behind a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VotesDto {
    /// Fresh up votes.
    pub up: u16,
    /// Fresh down votes.
    pub down: u16,
    /// Expected vantages without a fresh vote.
    pub stale: u16,
    /// Vantages expected to vote.
    pub total: u16,
    /// Up votes needed.
    pub quorum: u16,
}

impl VotesDto {
    fn from_model(votes: &Votes) -> VotesDto {
        VotesDto {
            up: votes.up,
            down: votes.down,
            stale: votes.stale,
            total: votes.total,
            quorum: votes.quorum,
        }
    }
}

/// Health of everything, derived at one instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HealthDto {
    /// The instant (unix millis) it was derived for.
    pub at: u64,
    /// Per region.
    pub regions: Vec<RegionHealthDto>,
    /// Per endpoint.
    pub endpoints: Vec<EndpointHealthDto>,
    /// Per check.
    pub checks: Vec<CheckHealthDto>,
}

/// One region's health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RegionHealthDto {
    /// Region id.
    pub id: String,
    /// The verdict of the checks, when an override in force replaced it in `status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<StatusDto>,
    /// The overrides in force on it (drains, forced states, drills' overrides), with
    /// their reason and expiry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<OverrideDto>,
    /// The verdict.
    pub status: StatusDto,
    /// The verdict of its deep checks alone.
    pub deep: StatusDto,
    /// Votes of the deciding deep check.
    pub votes: VotesDto,
    /// Enabled endpoints up.
    pub endpoints_up: u32,
    /// Enabled endpoints counted.
    pub endpoints_enabled: u32,
    /// Up endpoints needed.
    pub min_healthy: u32,
    /// Live capacity from `kube-local` checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u32>,
    /// Unix millis its health lease runs out, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_expires_at: Option<u64>,
}

/// One endpoint's health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EndpointHealthDto {
    /// Endpoint id.
    pub id: String,
    /// The verdict of the checks, when an override in force replaced it in `status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<StatusDto>,
    /// The overrides in force on it (drains, forced states, drills' overrides), with
    /// their reason and expiry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<OverrideDto>,
    /// The verdict over its checks.
    pub status: StatusDto,
    /// Votes of the deciding check.
    pub votes: VotesDto,
    /// Since when (unix millis), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<u64>,
    /// Lowest RTT per vantage, microseconds.
    pub rtt_us: BTreeMap<String, u32>,
}

/// One check's health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CheckHealthDto {
    /// Check id.
    pub id: String,
    /// The verdict.
    pub status: StatusDto,
    /// The votes.
    pub votes: VotesDto,
    /// Since when (unix millis), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<u64>,
    /// Last RTT per fresh vantage, microseconds.
    pub rtt_us: BTreeMap<String, u32>,
    /// Last error per fresh vantage.
    pub errors: BTreeMap<String, String>,
}

impl HealthDto {
    /// The DTO of a derived view.
    pub fn from_model(view: &HealthView) -> HealthDto {
        HealthDto {
            at: view.at,
            regions: view
                .regions
                .iter()
                .map(|(id, region): (&String, &RegionHealth)| RegionHealthDto {
                    id: id.clone(),
                    health: None,
                    overrides: Vec::new(),
                    status: StatusDto::from_model(region.status),
                    deep: StatusDto::from_model(region.deep),
                    votes: VotesDto::from_model(&region.votes),
                    endpoints_up: region.endpoints_up,
                    endpoints_enabled: region.endpoints_enabled,
                    min_healthy: region.min_healthy,
                    capacity: region.capacity,
                    lease_expires_at: region.lease.map(|lease| lease.expires_at),
                })
                .collect(),
            endpoints: view
                .endpoints
                .iter()
                .map(
                    |(id, endpoint): (&String, &EndpointHealth)| EndpointHealthDto {
                        id: id.clone(),
                        health: None,
                        overrides: Vec::new(),
                        status: StatusDto::from_model(endpoint.status),
                        votes: VotesDto::from_model(&endpoint.votes),
                        since: endpoint.since,
                        rtt_us: endpoint.rtt_us.clone(),
                    },
                )
                .collect(),
            checks: view
                .checks
                .iter()
                .map(|(id, check): (&String, &CheckHealth)| CheckHealthDto {
                    id: id.clone(),
                    status: StatusDto::from_model(check.status),
                    votes: VotesDto::from_model(&check.votes),
                    since: check.since,
                    rtt_us: check.rtt_us.clone(),
                    errors: check.errors.clone(),
                })
                .collect(),
        }
    }

    /// This view with the overrides in force at `now` applied: a drained region or
    /// endpoint shows `drained` (its checks' verdict kept in `health`), and each lists the
    /// overrides on it.
    pub fn with_overrides(mut self, overrides: &BTreeMap<String, Override>, now: u64) -> HealthDto {
        let apply = |target: OverrideTarget,
                     status: &mut StatusDto,
                     health: &mut Option<StatusDto>,
                     listed: &mut Vec<OverrideDto>| {
            let (effective, active) = effective_status(overrides.values(), &target, *status, now);
            if effective != *status {
                *health = Some(*status);
                *status = effective;
            }
            *listed = active.into_iter().map(OverrideDto::from_model).collect();
        };
        for region in &mut self.regions {
            let target = OverrideTarget::Region(region.id.clone());
            apply(
                target,
                &mut region.status,
                &mut region.health,
                &mut region.overrides,
            );
        }
        for endpoint in &mut self.endpoints {
            let target = OverrideTarget::Endpoint(endpoint.id.clone());
            apply(
                target,
                &mut endpoint.status,
                &mut endpoint.health,
                &mut endpoint.overrides,
            );
        }
        self
    }
}
