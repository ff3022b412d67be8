//! Writes and their tracking on the wire: `WriteResult` (what every write answers),
//! `ChangeStatusDto` (`GET /v1/changes/{version}`, held with `ChangeWaitQuery`), the atomic `BatchRequest` of `ChangeDto`s
//! (`POST /v1/changes`), and `AuditEntryDto`.

use std::collections::BTreeMap;

use gslb_model::model::{AuditEntry, ChangeStatus, DomainName, FieldErrors, State};
use gslb_model::Command;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::dto::check::CheckDto;
use crate::dto::endpoint::EndpointDto;
use crate::dto::gslb_record::GslbRecordDto;
use crate::dto::network::{parse_cidr, NetworkDto};
use crate::dto::record::{RecordSetDto, RecordTypeDto};
use crate::dto::region::RegionDto;
use crate::dto::zone::{parse_apex, ZoneDto};

/// What every successful write answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WriteResult {
    /// The state version that contains the write; poll `GET /v1/changes/{version}` until
    /// `INSYNC` to know every DNS node serves it.
    pub version: u64,
    /// False when the state already was as asked (an idempotent repeat).
    pub changed: bool,
}

/// Whether a change has reached every DNS node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SyncStatus {
    /// Some DNS nodes have not applied it yet.
    Pending,
    /// Every DNS node has applied it.
    Insync,
}

/// Where the change that produced `version` stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChangeStatusDto {
    /// The version asked about.
    pub version: u64,
    /// `PENDING` or `INSYNC`.
    pub status: SyncStatus,
    /// Ids of the DNS nodes still behind (empty when in sync).
    pub waiting: Vec<u64>,
}

impl ChangeStatusDto {
    /// The DTO of the model's status.
    pub fn from_model(version: u64, status: &ChangeStatus) -> ChangeStatusDto {
        match status {
            ChangeStatus::Pending { waiting } => ChangeStatusDto {
                version,
                status: SyncStatus::Pending,
                waiting: waiting.clone(),
            },
            ChangeStatus::Insync => ChangeStatusDto {
                version,
                status: SyncStatus::Insync,
                waiting: Vec::new(),
            },
        }
    }
}

/// The longest `GET /v1/changes/{version}?wait_ms=` holds its answer, milliseconds.
pub const MAX_CHANGE_WAIT_MS: u64 = 10_000;

/// `?wait_ms=` of `GET /v1/changes/{version}`: a long poll instead of polling.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangeWaitQuery {
    /// Hold the answer until the change is `INSYNC`, or this many milliseconds passed
    /// (0-10000, default 0: answer at once). A version this node has not applied yet is
    /// answered 404 at once, as without a wait.
    #[param(minimum = 0, maximum = 10000)]
    pub wait_ms: Option<u64>,
}

/// Several changes applied as one Raft entry: all or nothing, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// The changes; later ones see earlier ones (a zone put first can receive records).
    #[schema(min_items = 1)]
    pub changes: Vec<ChangeDto>,
}

/// One change inside a batch, tagged by `op`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum ChangeDto {
    /// Create or replace a zone.
    PutZone {
        /// The zone.
        zone: ZoneDto,
    },
    /// Delete a zone and its records.
    DeleteZone {
        /// The apex.
        zone: String,
    },
    /// Create or replace one record set of a zone.
    PutRecord {
        /// The zone's apex.
        zone: String,
        /// The set.
        record: RecordSetDto,
    },
    /// Delete one record set.
    DeleteRecord {
        /// The zone's apex.
        zone: String,
        /// Owner name (absolute or relative to the zone).
        name: String,
        /// Its type.
        #[serde(rename = "type")]
        rtype: RecordTypeDto,
    },
    /// Create or replace a region.
    PutRegion {
        /// The region.
        region: RegionDto,
    },
    /// Delete a region (refused while endpoints use it).
    DeleteRegion {
        /// Its id.
        id: String,
    },
    /// Create or replace an endpoint.
    PutEndpoint {
        /// The endpoint.
        endpoint: EndpointDto,
    },
    /// Delete an endpoint.
    DeleteEndpoint {
        /// Its id.
        id: String,
    },
    /// Create or replace a client network's location.
    PutNetwork {
        /// The entry.
        network: NetworkDto,
    },
    /// Delete a client network.
    DeleteNetwork {
        /// Its CIDR.
        cidr: String,
    },
    /// Create or replace a GSLB record of a zone.
    PutGslbRecord {
        /// The zone's apex.
        zone: String,
        /// The record (boxed: a policy tree is large).
        record: Box<GslbRecordDto>,
    },
    /// Delete a GSLB record.
    DeleteGslbRecord {
        /// The zone's apex (names may be relative to it).
        zone: String,
        /// Owner name.
        name: String,
        /// Its type.
        #[serde(rename = "type")]
        rtype: RecordTypeDto,
    },
    /// Create or replace a check.
    PutCheck {
        /// The check (boxed: it is the largest change).
        check: Box<CheckDto>,
    },
    /// Delete a check and its observations.
    DeleteCheck {
        /// Its id.
        id: String,
    },
}

impl BatchRequest {
    /// Converts every change to a command, reporting faults under `changes[i]`. Record sets
    /// without a TTL take their zone's default TTL, from an earlier `put_zone` of the batch
    /// or from `state`.
    pub fn to_commands(&self, state: &State) -> Result<Vec<Command>, FieldErrors> {
        let mut errors = FieldErrors::default();
        let mut commands = Vec::with_capacity(self.changes.len());
        let mut batch_ttls: BTreeMap<DomainName, u32> = BTreeMap::new();
        // A network put twice in one batch is a mistake in the file, not a replace.
        let mut batch_networks: BTreeMap<String, usize> = BTreeMap::new();
        if self.changes.is_empty() {
            errors.push("changes", "must hold at least one change");
        }
        for (index, change) in self.changes.iter().enumerate() {
            let path = format!("changes[{index}]");
            let zone_of = |text: &str, errors: &mut FieldErrors| match parse_apex(text) {
                Ok(apex) => Some(apex),
                Err(message) => {
                    errors.push(format!("{path}.zone"), message);
                    None
                }
            };
            let command = match change {
                ChangeDto::PutZone { zone } => match zone.to_model(&format!("{path}.zone")) {
                    Ok(zone) => {
                        batch_ttls.insert(zone.apex.clone(), zone.default_ttl);
                        Some(Command::PutZone { zone })
                    }
                    Err(found) => {
                        errors.0.extend(found.0);
                        None
                    }
                },
                ChangeDto::DeleteZone { zone } => {
                    zone_of(zone, &mut errors).map(|apex| Command::DeleteZone { apex })
                }
                ChangeDto::PutRecord { zone, record } => {
                    zone_of(zone, &mut errors).and_then(|apex| {
                        let default_ttl = batch_ttls
                            .get(&apex)
                            .copied()
                            .or_else(|| state.zones.get(&apex).map(|zone| zone.default_ttl))
                            .unwrap_or(300);
                        record
                            .to_model(&apex, default_ttl, &format!("{path}.record"), &mut errors)
                            .map(|rrset| Command::PutRecordSet { zone: apex, rrset })
                    })
                }
                ChangeDto::DeleteRecord { zone, name, rtype } => zone_of(zone, &mut errors)
                    .and_then(|apex| match DomainName::parse_relative_to(name, &apex) {
                        Ok(name) => Some(Command::DeleteRecordSet {
                            zone: apex,
                            name,
                            rtype: rtype.to_model(),
                        }),
                        Err(error) => {
                            errors.push(format!("{path}.name"), error.to_string());
                            None
                        }
                    }),
                ChangeDto::PutRegion { region } => {
                    match region.to_model(&format!("{path}.region")) {
                        Ok(region) => Some(Command::PutRegion { region }),
                        Err(found) => {
                            errors.0.extend(found.0);
                            None
                        }
                    }
                }
                ChangeDto::DeleteRegion { id } => Some(Command::DeleteRegion { id: id.clone() }),
                ChangeDto::PutEndpoint { endpoint } => {
                    match endpoint.to_model(&format!("{path}.endpoint")) {
                        Ok(endpoint) => Some(Command::PutEndpoint { endpoint }),
                        Err(found) => {
                            errors.0.extend(found.0);
                            None
                        }
                    }
                }
                ChangeDto::DeleteEndpoint { id } => {
                    Some(Command::DeleteEndpoint { id: id.clone() })
                }
                ChangeDto::PutCheck { check } => match check.to_model(&format!("{path}.check")) {
                    Ok(check) => Some(Command::PutCheck {
                        check: Box::new(check),
                    }),
                    Err(found) => {
                        errors.0.extend(found.0);
                        None
                    }
                },
                ChangeDto::PutGslbRecord { zone, record } => {
                    zone_of(zone, &mut errors).and_then(|apex| {
                        match record.to_model(&apex, &format!("{path}.record")) {
                            Ok(record) => Some(Command::PutGslbRecord { record }),
                            Err(found) => {
                                errors.0.extend(found.0);
                                None
                            }
                        }
                    })
                }
                ChangeDto::DeleteGslbRecord { zone, name, rtype } => zone_of(zone, &mut errors)
                    .and_then(|apex| match DomainName::parse_relative_to(name, &apex) {
                        Ok(name) => Some(Command::DeleteGslbRecord {
                            name,
                            rtype: rtype.to_model(),
                        }),
                        Err(error) => {
                            errors.push(format!("{path}.name"), error.to_string());
                            None
                        }
                    }),
                ChangeDto::DeleteCheck { id } => Some(Command::DeleteCheck { id: id.clone() }),
                ChangeDto::PutNetwork { network } => {
                    match network.to_model(&format!("{path}.network")) {
                        Ok(network) => {
                            let key = network.key();
                            match batch_networks.insert(key.clone(), index) {
                                Some(first) => {
                                    errors.push(
                                        format!("{path}.network.cidr"),
                                        format!(
                                            "{key} is listed twice (first at changes[{first}])"
                                        ),
                                    );
                                    None
                                }
                                None => Some(Command::PutNetwork { network }),
                            }
                        }
                        Err(found) => {
                            errors.0.extend(found.0);
                            None
                        }
                    }
                }
                ChangeDto::DeleteNetwork { cidr } => match parse_cidr(cidr) {
                    Ok(cidr) => Some(Command::DeleteNetwork {
                        cidr: cidr.to_string(),
                    }),
                    Err(message) => {
                        errors.push(format!("{path}.cidr"), message);
                        None
                    }
                },
            };
            commands.extend(command);
        }
        errors.into_result()?;
        Ok(commands)
    }
}

/// One audit entry: who changed what, when and from where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditEntryDto {
    /// The version the change produced.
    pub version: u64,
    /// When, unix millis (the leader's clock).
    pub at: u64,
    /// Who: `token:<id>`, `bootstrap`, `node:<id>` or `system`.
    pub who: String,
    /// The client address, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// What, e.g. `put_region eu-west-1` or `batch(3)`.
    pub summary: String,
}

impl AuditEntryDto {
    /// The DTO of a model entry.
    pub fn from_model(entry: &AuditEntry) -> AuditEntryDto {
        AuditEntryDto {
            version: entry.version,
            at: entry.at,
            who: entry.actor.who.clone(),
            from: entry.actor.from.clone(),
            summary: entry.summary.clone(),
        }
    }
}
