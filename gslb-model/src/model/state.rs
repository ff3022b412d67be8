//! `State`: the whole replicated state as one immutable value, and `StateWatch`, the channel
//! through which every consumer (the DNS plan compiler above all) follows new versions.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::ip::Cidr;
use crate::model::audit::AuditEntry;
use crate::model::check::Check;
use crate::model::dnssec::ZoneKeys;
use crate::model::drill::Drill;
use crate::model::endpoint::Endpoint;
use crate::model::gslb_record::GslbRecord;
use crate::model::health::{derive_health, HealthView, Observations, RegionLease};
use crate::model::history::History;
use crate::model::member::Member;
use crate::model::name::DomainName;
use crate::model::network::Network;
use crate::model::overrides::Override;
use crate::model::record::RecordType;
use crate::model::region::Region;
use crate::model::rollover::DnssecSchedule;
use crate::model::staged::StagedImport;
use crate::model::token::Token;
use crate::model::tsig_key::TsigKey;
use crate::model::zone::Zone;
use crate::model::zone_history::ZoneDiff;

/// Everything the control plane has committed, as of one version.
///
/// Consumers get it as `Arc<State>` and never mutate it; a change produces a new `State`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// The Raft applied index this state reflects (0 before anything was applied).
    pub version: u64,
    /// Zones by apex. Each zone is shared (`Arc`) so that copying the state for the next
    /// version (`apply` on a state the DNS nodes still read) copies pointers, not records;
    /// a write to one zone copies that zone only.
    pub zones: BTreeMap<DomainName, Arc<Zone>>,
    // Fields below were added with the control plane and later; `serde(default)` keeps older
    // snapshots readable.
    /// The version of the last command that changed anything but members' applied reports;
    /// nodes report their applied index only when this moves, so reports do not feed
    /// themselves.
    #[serde(default)]
    pub last_change: u64,
    /// Leader time (unix millis) of the last applied command; the "now" that expiry decisions
    /// inside `apply` may use.
    #[serde(default)]
    pub last_at: u64,
    /// Regions by id.
    #[serde(default)]
    pub regions: BTreeMap<String, Region>,
    /// Endpoints by id.
    #[serde(default)]
    pub endpoints: BTreeMap<String, Endpoint>,
    /// Nodes by Raft id.
    #[serde(default)]
    pub members: BTreeMap<u64, Member>,
    /// API tokens by id.
    #[serde(default)]
    pub tokens: BTreeMap<String, Token>,
    /// Overrides by id.
    #[serde(default)]
    pub overrides: BTreeMap<String, Override>,
    /// Drills by id.
    #[serde(default)]
    pub drills: BTreeMap<String, Drill>,
    /// The newest `AUDIT_RETAINED` audit entries, oldest first. A persistent vector: the
    /// copy of the state every apply makes (readers still hold the previous one) shares it
    /// instead of copying a thousand entries (the same JSON array as a plain list).
    #[serde(default)]
    pub audit: imbl::Vector<AuditEntry>,
    /// Checks by id.
    #[serde(default)]
    pub checks: BTreeMap<String, Check>,
    /// The latest observation per check id and vantage; `derive_health` turns it into
    /// verdicts.
    #[serde(default)]
    pub health: Observations,
    /// Health leases by region id (the split-brain guard), renewed by observations.
    #[serde(default)]
    pub leases: BTreeMap<String, RegionLease>,
    /// GSLB records by owner name, then type (A, AAAA or CNAME). Each sits in the zone
    /// `zone_for(name)` finds; `PutGslbRecord` keeps them consistent with the static data.
    #[serde(default)]
    pub gslb_records: BTreeMap<DomainName, BTreeMap<RecordType, GslbRecord>>,
    /// The client-network table (CIDR → location) by the network's canonical text
    /// (`Network::key`); DNS nodes and `/v1/resolve` locate clients by it.
    #[serde(default)]
    pub networks: BTreeMap<String, Network>,
    /// Per zone, the differences of its last committed changes, oldest first, bounded
    /// (`zone_history::record_diff`): what IXFR answers from. Persistent vectors, shared by
    /// each apply's copy of the state (like `audit`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub zone_history: BTreeMap<DomainName, imbl::Vector<ZoneDiff>>,
    /// The version of the last command that added or removed a zone (0: none since this
    /// field exists); the catalog zone's serial.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub zones_changed: u64,
    /// TSIG keys by name (secrets included: every DNS node verifies and signs with them).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tsig_keys: BTreeMap<DomainName, TsigKey>,
    /// Per zone, the networks it accepts unsigned RFC 2136 updates from (absent: none).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unsigned_update_sources: BTreeMap<DomainName, Vec<Cidr>>,
    /// Zone imports in progress by import id (`StageZoneRecords` … `CommitStagedZone`);
    /// nothing here is served.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub staged_imports: BTreeMap<String, StagedImport>,
    /// The history of derived transitions (`history::record_transitions`), bounded.
    #[serde(default)]
    pub history: History,
    /// The keys of every signed zone, by apex (private keys sealed, see `model::dnssec`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dnssec: BTreeMap<DomainName, ZoneKeys>,
    /// The rollover policy and progress of signed zones, by apex (absent: the default
    /// policy, no rollover in progress; see `model::rollover`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dnssec_schedules: BTreeMap<DomainName, DnssecSchedule>,
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

impl State {
    /// The health of everything at `now` (unix millis), by `health::derive_health`.
    pub fn health_view(&self, now: u64) -> HealthView {
        derive_health(
            &self.health,
            &self.checks,
            &self.regions,
            &self.endpoints,
            &self.leases,
            now,
        )
    }

    /// The zone that holds `name` (the one with the longest matching apex), if any.
    pub fn zone_for(&self, name: &DomainName) -> Option<&Zone> {
        let mut candidate = Some(name.clone());
        while let Some(current) = candidate {
            if let Some(zone) = self.zones.get(&current) {
                return Some(zone);
            }
            candidate = current.parent();
        }
        None
    }

    /// Every GSLB record, in name then type order.
    pub fn all_gslb_records(&self) -> impl Iterator<Item = &GslbRecord> {
        self.gslb_records
            .values()
            .flat_map(|by_type| by_type.values())
    }

    /// The GSLB record of `name` and `rtype`, if any.
    pub fn gslb_record(&self, name: &DomainName, rtype: RecordType) -> Option<&GslbRecord> {
        self.gslb_records.get(name)?.get(&rtype)
    }

    /// Puts `record` under its name and type, replacing what was there (states built by
    /// hand in tests and benches; writes go through `Command::PutGslbRecord`).
    pub fn insert_gslb_record(&mut self, record: GslbRecord) {
        self.gslb_records
            .entry(record.name.clone())
            .or_default()
            .insert(record.rtype, record);
    }

    /// The GSLB records whose zone (the longest matching apex) is `apex`.
    pub fn gslb_records_in_zone<'a>(
        &'a self,
        apex: &'a DomainName,
    ) -> impl Iterator<Item = &'a GslbRecord> + 'a {
        self.all_gslb_records().filter(move |record| {
            self.zone_for(&record.name)
                .is_some_and(|zone| &zone.apex == apex)
        })
    }
}

/// Whether a write has reached every DNS node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE", tag = "status")]
pub enum ChangeStatus {
    /// Some DNS nodes have not reported applying it yet.
    Pending {
        /// Ids of the DNS members still behind.
        waiting: Vec<u64>,
    },
    /// Every DNS member reported an applied index at or past it.
    Insync,
}

impl State {
    /// Where the write that produced `version` stands, judged only from the applied indexes
    /// recorded in the members (`ReportApplied` entries of older logs; nodes no longer write
    /// them). `change_status_with` adds the in-memory reports that nodes send now.
    pub fn change_status(&self, version: u64) -> ChangeStatus {
        self.change_status_with(version, &BTreeMap::new())
    }

    /// Where the write that produced `version` stands across the DNS members, each judged by
    /// the higher of its recorded `applied_index` and its entry in `reported` (node id →
    /// applied index). With no DNS members a change is trivially in sync.
    pub fn change_status_with(&self, version: u64, reported: &BTreeMap<u64, u64>) -> ChangeStatus {
        let waiting: Vec<u64> = self
            .members
            .values()
            .filter(|member| member.serves_dns())
            .filter(|member| {
                let applied = reported.get(&member.id).copied().unwrap_or(0);
                member.applied_index.max(applied) < version
            })
            .map(|member| member.id)
            .collect();
        if waiting.is_empty() {
            ChangeStatus::Insync
        } else {
            ChangeStatus::Pending { waiting }
        }
    }
}
