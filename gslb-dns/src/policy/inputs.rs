//! `PolicyInputs`: the world a policy is evaluated against — regions and endpoints as indexed
//! arrays, their health with vote counts, leases and overrides, and latency measurements.
//!
//! Built once per `State` version by the plan compiler (and by `/v1/resolve`), never per
//! query. Health is filled in by whoever derives it (the store's quorum rule); what is not
//! reported is `Unknown`, which each record reads through its `unknown_as`.
//!
//! Mapping from the model: `from_model` takes `Region` → `RegionInput` (location, declared
//! capacity), `Endpoint` → `EndpointInput` (target, weight, admin) and `Override` →
//! `OverrideInput` on its target; `apply_health` copies a derived `HealthView` in (status and
//! votes per endpoint and region, `kube-local` capacity, the region lease, and the RTT from
//! the answering node's vantage); `from_state` does both from a `State`.

use std::collections::BTreeMap;

use gslb_model::ip::Cidr;
pub use gslb_model::model::health::{HealthStatus, Votes};
use gslb_model::model::{
    AdminState, Endpoint, EndpointTarget, HealthView, Override, OverrideAction, OverrideTarget,
    Region, State,
};

use crate::client::table::PrefixTable;

/// Health of one endpoint or region as the store derived it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HealthInput {
    /// The verdict.
    pub status: HealthStatus,
    /// The votes behind it.
    pub votes: Votes,
    /// Leader time (unix millis) of the last change, if known.
    pub since: Option<u64>,
}

/// An operator's override as it applies at evaluation time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverrideInput {
    /// The override's id.
    pub id: String,
    /// What it does.
    pub action: OverrideAction,
    /// Why, for explanations.
    pub reason: String,
    /// Leader time (unix millis) it stops; evaluation ignores it from then on, so a DNS node
    /// cut off from the control plane still lets it lapse.
    pub expires_at: Option<u64>,
}

impl OverrideInput {
    /// Whether it is in force at `now_ms`.
    pub fn is_active(&self, now_ms: u64) -> bool {
        self.expires_at.is_none_or(|expiry| now_ms < expiry)
    }
}

/// One region.
#[derive(Debug, Clone, PartialEq)]
pub struct RegionInput {
    /// Region id.
    pub id: String,
    /// Latitude in degrees, for proximity.
    pub lat: f64,
    /// Longitude in degrees, for proximity.
    pub lon: f64,
    /// Capacity the operator declared, if any.
    pub declared_capacity: Option<u32>,
    /// Healthy capacity reported by checks (`kube-local`: nodes with local endpoints), if any;
    /// wins over `declared_capacity`.
    pub reported_capacity: Option<u32>,
    /// Deep-check health (replication quorum, min healthy endpoints).
    pub health: HealthInput,
    /// Leader time (unix millis) the region's health lease runs out; `None` when it never got
    /// one. Guarded records serve the region only before it.
    pub lease_expires_at: Option<u64>,
    /// The override on the region, if any (expired ones are ignored at evaluation).
    pub admin_override: Option<OverrideInput>,
    /// RTT in microseconds measured by the probers of the answering node's vantage.
    pub vantage_rtt_us: Option<u32>,
}

/// One endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointInput {
    /// Endpoint id.
    pub id: String,
    /// Index of its region in `PolicyInputs::regions`.
    pub region: usize,
    /// What an answer carries.
    pub target: EndpointTarget,
    /// Weight among the endpoints of one leaf; 0 is a standby.
    pub weight: u32,
    /// The operator's admin state.
    pub admin: AdminState,
    /// Endpoint health.
    pub health: HealthInput,
    /// The override on the endpoint, if any.
    pub admin_override: Option<OverrideInput>,
}

/// Client network → RTT in microseconds per region index, as loaded from a latency table.
pub type LatencyTable = PrefixTable<Vec<(usize, u32)>>;

/// Everything evaluation reads besides the record and the client.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PolicyInputs {
    /// Regions, indexed by position.
    pub regions: Vec<RegionInput>,
    /// Endpoints, indexed by position; answers name endpoints by this index.
    pub endpoints: Vec<EndpointInput>,
    /// Client network latency, when an operator loaded one.
    pub latency_table: Option<LatencyTable>,
    /// Region id → index.
    region_index: BTreeMap<String, usize>,
    /// Endpoint id → index.
    endpoint_index: BTreeMap<String, usize>,
}

/// Why inputs could not be assembled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// An endpoint names a region that is not there.
    #[error("endpoints.{endpoint}.region: unknown region {region:?}")]
    UnknownRegion {
        /// The endpoint id.
        endpoint: String,
        /// The region it names.
        region: String,
    },
    /// Two regions or two endpoints share an id.
    #[error("{kind} id {id:?} appears twice")]
    Duplicate {
        /// `region` or `endpoint`.
        kind: &'static str,
        /// The id.
        id: String,
    },
}

impl PolicyInputs {
    /// Whether evaluating against these inputs can depend on the time: only overrides
    /// (they lapse) and health leases (they run out) are read against the clock; health
    /// itself was derived when the inputs were built.
    pub fn read_the_clock(&self) -> bool {
        self.regions
            .iter()
            .any(|region| region.lease_expires_at.is_some() || region.admin_override.is_some())
            || self
                .endpoints
                .iter()
                .any(|endpoint| endpoint.admin_override.is_some())
    }

    /// Inputs from indexed regions and endpoints.
    pub fn new(
        regions: Vec<RegionInput>,
        endpoints: Vec<EndpointInput>,
    ) -> Result<PolicyInputs, InputError> {
        let mut region_index = BTreeMap::new();
        for (index, region) in regions.iter().enumerate() {
            if region_index.insert(region.id.clone(), index).is_some() {
                return Err(InputError::Duplicate {
                    kind: "region",
                    id: region.id.clone(),
                });
            }
        }
        let mut endpoint_index = BTreeMap::new();
        for (index, endpoint) in endpoints.iter().enumerate() {
            if endpoint_index.insert(endpoint.id.clone(), index).is_some() {
                return Err(InputError::Duplicate {
                    kind: "endpoint",
                    id: endpoint.id.clone(),
                });
            }
            if endpoint.region >= regions.len() {
                return Err(InputError::UnknownRegion {
                    endpoint: endpoint.id.clone(),
                    region: format!("#{}", endpoint.region),
                });
            }
        }
        Ok(PolicyInputs {
            regions,
            endpoints,
            latency_table: None,
            region_index,
            endpoint_index,
        })
    }

    /// Inputs from the model's maps (as `State` holds them), with health `Unknown`
    /// everywhere and no leases, RTTs or reported capacity yet.
    pub fn from_model(
        regions: &BTreeMap<String, Region>,
        endpoints: &BTreeMap<String, Endpoint>,
        overrides: &BTreeMap<String, Override>,
    ) -> Result<PolicyInputs, InputError> {
        // Several overrides on one target: the one that lasts longest speaks (expired ones are
        // ignored at evaluation anyway).
        let override_for = |target: OverrideTarget| {
            overrides
                .values()
                .filter(|o| o.target == target)
                .max_by_key(|o| o.expires_at.unwrap_or(u64::MAX))
                .map(|o| OverrideInput {
                    id: o.id.clone(),
                    action: o.action,
                    reason: o.reason.clone(),
                    expires_at: o.expires_at,
                })
        };
        let region_inputs: Vec<RegionInput> = regions
            .values()
            .map(|region| RegionInput {
                id: region.id.clone(),
                lat: region.location.lat_degrees(),
                lon: region.location.lon_degrees(),
                declared_capacity: region.capacity,
                reported_capacity: None,
                health: HealthInput::default(),
                lease_expires_at: None,
                admin_override: override_for(OverrideTarget::Region(region.id.clone())),
                vantage_rtt_us: None,
            })
            .collect();
        let region_position: BTreeMap<&str, usize> = regions
            .keys()
            .enumerate()
            .map(|(index, id)| (id.as_str(), index))
            .collect();
        let mut endpoint_inputs = Vec::with_capacity(endpoints.len());
        for endpoint in endpoints.values() {
            let region = *region_position
                .get(endpoint.region.as_str())
                .ok_or_else(|| InputError::UnknownRegion {
                    endpoint: endpoint.id.clone(),
                    region: endpoint.region.clone(),
                })?;
            endpoint_inputs.push(EndpointInput {
                id: endpoint.id.clone(),
                region,
                target: endpoint.target.clone(),
                weight: endpoint.weight,
                admin: endpoint.admin,
                health: HealthInput::default(),
                admin_override: override_for(OverrideTarget::Endpoint(endpoint.id.clone())),
            });
        }
        PolicyInputs::new(region_inputs, endpoint_inputs)
    }

    /// Inputs for a DNS node at `vantage` (its region id, for prober RTTs) from a state and
    /// the health derived from it (`gslb_model::model::derive_health`), with the replicated
    /// networks' `rtt_ms` as the client-network latency table.
    pub fn from_state(
        state: &State,
        health: &HealthView,
        vantage: Option<&str>,
    ) -> Result<PolicyInputs, InputError> {
        let mut inputs =
            PolicyInputs::from_model(&state.regions, &state.endpoints, &state.overrides)?;
        inputs.apply_health(health, vantage);
        inputs.set_latency_from_networks(&state.networks);
        Ok(inputs)
    }

    /// Copies a derived health view in: verdicts with votes for every endpoint and region,
    /// reported capacity, leases, and the RTT measured from `vantage`. Ids the view does not
    /// know stay `Unknown`.
    pub fn apply_health(&mut self, view: &HealthView, vantage: Option<&str>) {
        for region in &mut self.regions {
            let Some(health) = view.regions.get(&region.id) else {
                continue;
            };
            region.health = HealthInput {
                status: health.status,
                votes: health.votes,
                since: None,
            };
            region.reported_capacity = health.capacity;
            region.lease_expires_at = health.lease.map(|lease| lease.expires_at);
            region.vantage_rtt_us = vantage.and_then(|v| health.rtt_us.get(v).copied());
        }
        for endpoint in &mut self.endpoints {
            if let Some(health) = view.endpoints.get(&endpoint.id) {
                endpoint.health = HealthInput {
                    status: health.status,
                    votes: health.votes,
                    since: health.since,
                };
            }
        }
    }

    /// Index of a region by id.
    pub fn region_index(&self, id: &str) -> Option<usize> {
        self.region_index.get(id).copied()
    }

    /// Index of an endpoint by id.
    pub fn endpoint_index(&self, id: &str) -> Option<usize> {
        self.endpoint_index.get(id).copied()
    }

    /// The region with this id, to set health, lease, capacity or RTT.
    pub fn region_mut(&mut self, id: &str) -> Option<&mut RegionInput> {
        let index = self.region_index(id)?;
        self.regions.get_mut(index)
    }

    /// The endpoint with this id, to set health.
    pub fn endpoint_mut(&mut self, id: &str) -> Option<&mut EndpointInput> {
        let index = self.endpoint_index(id)?;
        self.endpoints.get_mut(index)
    }

    /// Loads the client-network latency table from the replicated networks' `rtt_ms`
    /// (none when no entry has RTTs).
    pub fn set_latency_from_networks(
        &mut self,
        networks: &std::collections::BTreeMap<String, gslb_model::model::Network>,
    ) {
        let measured: Vec<_> = networks
            .values()
            .filter(|network| !network.rtt_ms.is_empty())
            .map(|network| {
                let rtts = network
                    .rtt_ms
                    .iter()
                    .map(|(region, ms)| (region.clone(), ms.saturating_mul(1000)))
                    .collect();
                (network.cidr, rtts)
            })
            .collect();
        if !measured.is_empty() {
            self.set_latency_table(measured);
        }
    }

    /// Loads a client-network latency table given as (network, [(region id, RTT µs)]);
    /// unknown region ids are skipped.
    pub fn set_latency_table(
        &mut self,
        rows: impl IntoIterator<Item = (Cidr, Vec<(String, u32)>)>,
    ) {
        let table = PrefixTable::new(rows.into_iter().map(|(cidr, rtts)| {
            let rtts = rtts
                .into_iter()
                .filter_map(|(region, rtt)| Some((self.region_index(&region)?, rtt)))
                .collect();
            (cidr, rtts)
        }));
        self.latency_table = Some(table);
    }
}
