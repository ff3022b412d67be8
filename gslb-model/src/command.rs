//! `Command`, one arm per write, and `apply`, the one deterministic function that turns a
//! committed command into the next `State`.
//!
//! A write travels as a `StampedCommand`: the leader adds `at` (its clock, unix millis) and the
//! `Actor` before the entry enters the Raft log, so every replica applies exactly the same
//! input. `validate` runs on the leader against its current state before proposing, so users
//! get every error at once with the field at fault; `apply` checks again against the state the
//! entry actually meets (which may have changed since) and leaves the content untouched when it
//! rejects.
//!
//! Invariant: nothing here reads a clock, a random source, the environment or the disk.
//! Invariant: a rejected command changes nothing; a `Batch` is applied all or nothing.
//! Invariant: every `Put*` and `Delete*` is idempotent, so a client retrying a write whose
//! acknowledgement was lost (leader change) cannot apply it twice in effect.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::model::audit::{Actor, AuditEntry, AUDIT_RETAINED};
use crate::model::check::Check;
use crate::model::drill::{Drill, DrillMode, DrillStatus, DrillUpdate};
use crate::model::endpoint::Endpoint;
use crate::model::gslb_record::{check_against_zone, GslbRecord, Target, WhenAllDown};
use crate::model::health::{self, ObservationReport};
use crate::model::member::Member;
use crate::model::name::DomainName;
use crate::model::network::Network;
use crate::model::overrides::{Override, OverrideAction, OverrideTarget};
use crate::model::precondition::{Expected, ResourceRef};
use crate::model::record::{RecordSet, RecordType};
use crate::model::region::Region;
use crate::model::serial;
use crate::model::state::State;
use crate::model::token::Token;
use crate::model::validation::FieldErrors;
use crate::model::zone::Zone;

/// One write to the replicated state. The Raft log and snapshots store it as JSON tagged by
/// `op`; arms and fields are only ever added.
///
/// Health observations, checks and GSLB records join here as `PutCheck`, `Observe`, ... with
/// their issues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Command {
    /// Create or replace a whole zone (its record sets included).
    PutZone {
        /// The zone; record sets are sorted on apply.
        zone: Zone,
    },
    /// Remove a zone and everything in it (idempotent).
    DeleteZone {
        /// The zone's apex.
        apex: DomainName,
    },
    /// Create or replace one record set of an existing zone.
    PutRecordSet {
        /// The apex of the zone that holds it.
        zone: DomainName,
        /// The set; it replaces the set with the same name and type.
        rrset: RecordSet,
    },
    /// Remove one record set (idempotent).
    DeleteRecordSet {
        /// The apex of the zone that holds it.
        zone: DomainName,
        /// Owner name of the set.
        name: DomainName,
        /// Type of the set.
        #[serde(rename = "type")]
        rtype: RecordType,
    },
    /// Create or replace a region.
    PutRegion {
        /// The region.
        region: Region,
    },
    /// Remove a region (idempotent); refused while endpoints, overrides or drills use it.
    DeleteRegion {
        /// The region's id.
        id: String,
    },
    /// Create or replace an endpoint; its region must exist.
    PutEndpoint {
        /// The endpoint.
        endpoint: Endpoint,
    },
    /// Remove an endpoint (idempotent); refused while an override targets it.
    DeleteEndpoint {
        /// The endpoint's id.
        id: String,
    },
    /// Create or replace an API token.
    PutToken {
        /// The token, with its secret already hashed.
        token: Token,
    },
    /// Remove an API token (idempotent).
    DeleteToken {
        /// The token's id.
        id: String,
    },
    /// Register or update a node's descriptive record; a larger applied index already
    /// reported is kept.
    PutMember {
        /// The member.
        member: Member,
    },
    /// Forget a node's descriptive record (idempotent).
    DeleteMember {
        /// The node's Raft id.
        id: u64,
    },
    /// A node says it has applied up to `index`. Legacy: nodes no longer write it (they post
    /// their applied index to the voters, kept in memory: `raft::reports`); it stays so
    /// that older logs and snapshots decode and apply, and change tracking still counts the
    /// index it recorded. Does not move `State::last_change` and is not audited.
    ReportApplied {
        /// The reporting node's Raft id; must be a member.
        node: u64,
        /// Its applied index; must be below the index of this very entry.
        index: u64,
    },
    /// Create or replace an override; its target must exist.
    PutOverride {
        /// The override.
        #[serde(rename = "override")]
        rule: Override,
    },
    /// Remove an override (idempotent).
    DeleteOverride {
        /// The override's id.
        id: String,
    },
    /// Start a drill: its region must exist and not be in another running drill, its id must
    /// be new and its status `running`. A `drain` drill also writes its expiring override.
    StartDrill {
        /// The drill (boxed: with its answers it is among the largest payloads).
        drill: Box<Drill>,
    },
    /// Append what the drill supervisor observed to a drill. Like `ReportApplied` it does not
    /// move `State::last_change` and is not audited.
    RecordDrill {
        /// The drill's id; must exist.
        id: String,
        /// What to append.
        update: DrillUpdate,
    },
    /// End a running drill (at its expiry, on an abort or a tripped guard): set its status
    /// and end, remove its override. Ending an ended drill changes nothing.
    EndDrill {
        /// The drill's id; must exist.
        id: String,
        /// `completed` or `aborted`.
        status: DrillStatus,
        /// Why, for the report and the audit log.
        reason: String,
    },
    /// Create or replace a check; its subject and vantages must exist.
    PutCheck {
        /// The check (boxed: it is the largest payload and would size every command).
        check: Box<Check>,
    },
    /// Remove a check and its observations (idempotent).
    DeleteCheck {
        /// The check's id.
        id: String,
    },
    /// A prober's batch of observations from one vantage: its transitions, or its periodic
    /// digest of every check. Renews the health leases a quorum now confirms. Like
    /// `ReportApplied` it does not move `State::last_change` and is not audited.
    ReportObservations {
        /// The reporting vantage (a region id, or an external reporter's name).
        vantage: String,
        /// One entry per check, each check at most once.
        observations: Vec<ObservationReport>,
    },
    /// Create or replace the GSLB record with this name and type. Its zone must exist, its
    /// policy may name only existing regions and endpoints that can answer its type, it may
    /// not collide with static data or other GSLB records at its name, and its fallback may
    /// not close a cycle.
    PutGslbRecord {
        /// The record.
        record: GslbRecord,
    },
    /// Remove a GSLB record (idempotent).
    DeleteGslbRecord {
        /// Owner name of the record.
        name: DomainName,
        /// Its type.
        #[serde(rename = "type")]
        rtype: RecordType,
    },
    /// Create or replace the client-network entry of this CIDR.
    PutNetwork {
        /// The entry.
        network: Network,
    },
    /// Remove a client-network entry (idempotent).
    DeleteNetwork {
        /// The network's canonical CIDR text (`198.51.100.0/24`).
        cidr: String,
    },
    /// `command`, only if `resource` is still as the writer read it (`If-Match`), or still
    /// absent (`If-None-Match: *`, creates); otherwise rejected under the field path
    /// `precondition`, so no write overwrites a change it did not see.
    Guarded {
        /// The resource the writer read.
        resource: ResourceRef,
        /// What it saw.
        expected: Expected,
        /// The write.
        command: Box<Command>,
    },
    /// A request the API refused that the audit log must show (a prober reporting for a
    /// vantage its token does not name). Changes nothing else and, like a report, does not
    /// move `State::last_change`; unlike one, it is audited.
    RecordRefusal {
        /// What was refused and why, e.g. `report_observations us-east: token:p1 may report
        /// only for vantage "eu-west"`.
        reason: String,
    },
    /// Several commands applied in order, all or nothing; later ones see earlier ones'
    /// effects.
    Batch {
        /// The commands; a batch may not contain a batch.
        commands: Vec<Command>,
    },
}

/// The longest reason a `RecordRefusal` may carry, so refusals cannot bloat the audit log.
pub const MAX_REFUSAL_LEN: usize = 300;

/// A command as it enters the Raft log: stamped by the leader.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StampedCommand {
    /// The leader's clock when it proposed the command, unix millis; the only "now" `apply`
    /// knows.
    pub at: u64,
    /// Who asked, for the audit log.
    pub actor: Actor,
    /// The write.
    pub command: Command,
}

/// What applying a command produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CmdResult {
    /// The state version (log index) the command produced.
    pub version: u64,
    /// False when the command found the state already as it asked (an idempotent repeat).
    pub changed: bool,
}

/// Why a committed command was not applied. The entry still consumes its log index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ApplyError {
    /// The command does not fit the state it met; every fault is named by its field path.
    #[error("command rejected: {0}")]
    Rejected(FieldErrors),
}

/// Checks `command` against `state` without changing it, collecting every fault with its
/// field path relative to the command's payload (`rrsets[2].rdata[0]`, or
/// `commands[1].location.country` inside a batch).
pub fn validate(state: &State, command: &Command) -> Result<(), FieldErrors> {
    let mut errors = FieldErrors::default();
    match command {
        Command::Batch { commands } => {
            // Later commands must see earlier ones, so a batch is checked on a scratch copy.
            let mut scratch = state.clone();
            run_batch(&mut scratch, commands, 0, 0, &mut errors);
        }
        single => check(state, single, "", 0, &mut errors),
    }
    errors.into_result()
}

/// Applies a committed command at `log_index`. Deterministic: the result depends only on
/// `state`, `command` and `log_index`. On error `state` is left exactly as it was; on success
/// `state.version` is `log_index`.
pub fn apply(
    state: &mut State,
    command: &StampedCommand,
    log_index: u64,
) -> Result<CmdResult, ApplyError> {
    let mut errors = FieldErrors::default();
    let changed = match &command.command {
        Command::Batch { commands } => {
            let mut scratch = state.clone();
            let changed = run_batch(&mut scratch, commands, log_index, command.at, &mut errors);
            if !errors.is_empty() {
                return Err(ApplyError::Rejected(errors));
            }
            *state = scratch;
            changed
        }
        single => {
            check(state, single, "", log_index, &mut errors);
            if !errors.is_empty() {
                return Err(ApplyError::Rejected(errors));
            }
            let mut serials_before = SerialsBefore::new();
            let changed = mutate_zone_content(state, single, command.at, &mut serials_before);
            move_serials(state, serials_before, command.at);
            changed
        }
    };
    state.version = log_index;
    state.last_at = state.last_at.max(command.at);
    if !only_reports(&command.command) {
        if !matches!(command.command, Command::RecordRefusal { .. }) {
            state.last_change = log_index;
        }
        state.audit.push_back(AuditEntry {
            version: log_index,
            at: command.at,
            actor: command.actor.clone(),
            summary: command.command.to_string(),
        });
        while state.audit.len() > AUDIT_RETAINED {
            state.audit.pop_front();
        }
    }
    Ok(CmdResult {
        version: log_index,
        changed,
    })
}

/// Runs a batch's commands on `state` one after another; reports faults under
/// `commands[i]`. Returns whether any command changed something.
fn run_batch(
    state: &mut State,
    commands: &[Command],
    log_index: u64,
    at: u64,
    errors: &mut FieldErrors,
) -> bool {
    let mut changed = false;
    let mut serials_before = SerialsBefore::new();
    if commands.is_empty() {
        errors.push("commands", "a batch needs at least one command");
    }
    for (index, command) in commands.iter().enumerate() {
        let path = format!("commands[{index}]");
        if matches!(command, Command::Batch { .. }) {
            errors.push(path, "a batch cannot contain a batch");
            continue;
        }
        let before = errors.0.len();
        check(state, command, &path, log_index, errors);
        if errors.0.len() == before {
            // Mutating after a failure elsewhere is harmless: the scratch copy is dropped.
            changed |= mutate_zone_content(state, command, at, &mut serials_before);
        }
    }
    move_serials(state, serials_before, at);
    changed
}

/// The serial each zone whose content a command changed had before its first change (`None`
/// for a zone the command created).
type SerialsBefore = BTreeMap<DomainName, Option<u32>>;

/// `mutate`, noting in `serials_before` the zone whose content it changed, if any.
fn mutate_zone_content(
    state: &mut State,
    command: &Command,
    at: u64,
    serials_before: &mut SerialsBefore,
) -> bool {
    let touched = zone_content_of(state, command);
    let serial = touched
        .as_ref()
        .map(|apex| state.zones.get(apex).map(|zone| zone.soa.serial));
    let changed = mutate(state, command, at);
    if let (true, Some(apex), Some(serial)) = (changed, touched, serial) {
        serials_before.entry(apex).or_insert(serial);
    }
    changed
}

/// The zone whose served content `command` writes: its record sets, its SOA, or a GSLB
/// record inside it. Deleting a whole zone writes none (there is no serial left to move).
fn zone_content_of(state: &State, command: &Command) -> Option<DomainName> {
    match command {
        Command::PutZone { zone } => Some(zone.apex.clone()),
        Command::PutRecordSet { zone, .. } | Command::DeleteRecordSet { zone, .. } => {
            Some(zone.clone())
        }
        Command::PutGslbRecord { record } => {
            state.zone_for(&record.name).map(|zone| zone.apex.clone())
        }
        Command::DeleteGslbRecord { name, .. } => {
            state.zone_for(name).map(|zone| zone.apex.clone())
        }
        Command::Guarded { command, .. } => zone_content_of(state, command),
        _ => None,
    }
}

/// Moves the serial of every zone a committed command changed, once per command whatever
/// the number of changes in it: a serial written explicitly is kept when it moves forward
/// (RFC 1982), otherwise the zone's policy takes the next one after the serial before. A
/// zone the command created keeps the serial it was given.
fn move_serials(state: &mut State, serials_before: SerialsBefore, at: u64) {
    for (apex, before) in serials_before {
        let (Some(zone), Some(before)) = (state.zones.get_mut(&apex), before) else {
            continue;
        };
        zone.soa.serial =
            serial::serial_after_explicit(before, zone.soa.serial, zone.serial_policy, at);
    }
}

/// True when the command only carries applied-index reports.
fn only_reports(command: &Command) -> bool {
    match command {
        Command::ReportApplied { .. }
        | Command::ReportObservations { .. }
        | Command::RecordDrill { .. } => true,
        Command::Batch { commands } => commands.iter().all(only_reports),
        Command::Guarded { command, .. } => only_reports(command),
        _ => false,
    }
}

/// Joins a command's path and a field: `commands[1]` + `id` → `commands[1].id`.
fn field_path(path: &str, field: &str) -> String {
    match (path.is_empty(), field.is_empty()) {
        (true, _) => field.to_string(),
        (false, true) => path.to_string(),
        (false, false) => format!("{path}.{field}"),
    }
}

/// Every check for one non-batch command against `state`. `log_index` is 0 when validating
/// before proposal (its own index is unknown then).
fn check(state: &State, command: &Command, path: &str, log_index: u64, errors: &mut FieldErrors) {
    match command {
        Command::PutZone { zone } => {
            zone.validate(&field_path(path, "zone"), errors);
            check_zone_against_gslb(state, zone, &field_path(path, "zone"), errors);
        }
        Command::DeleteZone { .. } => {}
        Command::PutRecordSet { zone, rrset } => {
            let Some(existing) = state.zones.get(zone) else {
                errors.push(field_path(path, "zone"), format!("no zone {zone}"));
                return;
            };
            if rrset_fits_valid_zone(existing, rrset) {
                check_rrset_against_gslb(
                    state,
                    zone,
                    rrset,
                    &field_path(path, "rrset.name"),
                    errors,
                );
                return;
            }
            let mut next = existing.clone();
            replace_rrset(&mut next, rrset.clone());
            let rrset_index = next
                .rrsets
                .iter()
                .position(|set| set.name == rrset.name && set.rtype == rrset.rtype)
                .expect("the set was just inserted");
            // Report the zone's verdict in the command's terms: faults of the new set under
            // `rrset`, faults of the zone as a whole under `zone`.
            let mut zone_errors = FieldErrors::default();
            next.validate("", &mut zone_errors);
            let own = format!("rrsets[{rrset_index}]");
            for error in zone_errors.0 {
                let field = match error.path.strip_prefix(&own) {
                    Some(rest) => format!("rrset{rest}"),
                    None => format!("zone.{}", error.path),
                };
                errors.push(field_path(path, &field), error.message);
            }
            check_rrset_against_gslb(state, zone, rrset, &field_path(path, "rrset.name"), errors);
        }
        Command::DeleteRecordSet { zone, name, rtype } => {
            // Deleting cannot create a conflict; it can only remove what makes a zone servable.
            if state.zones.contains_key(zone) && name == zone && *rtype == RecordType::NS {
                errors.push(
                    field_path(path, "name"),
                    format!(
                        "the apex NS set of {zone} cannot be deleted (delete the zone instead)"
                    ),
                );
            }
        }
        Command::PutRegion { region } => region.validate(&field_path(path, "region"), errors),
        Command::DeleteRegion { id } => {
            let endpoints: Vec<&str> = state
                .endpoints
                .values()
                .filter(|endpoint| &endpoint.region == id)
                .map(|endpoint| endpoint.id.as_str())
                .collect();
            if !endpoints.is_empty() {
                errors.push(
                    field_path(path, "id"),
                    format!("region {id:?} is still used by endpoints {endpoints:?}"),
                );
            }
            let target = OverrideTarget::Region(id.clone());
            check_unreferenced_by_overrides(state, &target, &field_path(path, "id"), errors);
            let drills: Vec<&str> = state
                .drills
                .values()
                .filter(|drill| &drill.region == id && drill.status == DrillStatus::Running)
                .map(|drill| drill.id.as_str())
                .collect();
            if !drills.is_empty() {
                errors.push(
                    field_path(path, "id"),
                    format!("region {id:?} is in running drills {drills:?}"),
                );
            }
            check_unreferenced_by_gslb(state, Target::Region(id), &field_path(path, "id"), errors);
        }
        Command::PutEndpoint { endpoint } => {
            endpoint.validate(&field_path(path, "endpoint"), errors);
            if !state.regions.contains_key(&endpoint.region) {
                errors.push(
                    field_path(path, "endpoint.region"),
                    format!("no region {:?}", endpoint.region),
                );
            }
        }
        Command::DeleteEndpoint { id } => {
            let target = OverrideTarget::Endpoint(id.clone());
            check_unreferenced_by_overrides(state, &target, &field_path(path, "id"), errors);
            check_unreferenced_by_gslb(
                state,
                Target::Endpoint(id),
                &field_path(path, "id"),
                errors,
            );
        }
        Command::PutToken { token } => token.validate(&field_path(path, "token"), errors),
        Command::DeleteToken { .. } | Command::DeleteMember { .. } => {}
        Command::PutMember { member } => member.validate(&field_path(path, "member"), errors),
        Command::ReportApplied { node, index } => {
            if !state.members.contains_key(node) {
                errors.push(field_path(path, "node"), format!("no member {node}"));
            }
            if log_index != 0 && *index >= log_index {
                errors.push(
                    field_path(path, "index"),
                    format!("must be below this entry's index {log_index}, got {index}"),
                );
            }
        }
        Command::PutOverride { rule } => {
            rule.validate(&field_path(path, "override"), errors);
            let missing = match &rule.target {
                OverrideTarget::Region(id) => {
                    (!state.regions.contains_key(id)).then_some(("region", id))
                }
                OverrideTarget::Endpoint(id) => {
                    (!state.endpoints.contains_key(id)).then_some(("endpoint", id))
                }
            };
            if let Some((kind, id)) = missing {
                errors.push(
                    field_path(path, "override.target.id"),
                    format!("no {kind} {id:?}"),
                );
            }
        }
        Command::DeleteOverride { .. } => {}
        Command::StartDrill { drill } => check_start_drill(state, drill, path, errors),
        Command::RecordDrill { id, .. } => {
            if !state.drills.contains_key(id) {
                errors.push(field_path(path, "id"), format!("no drill {id:?}"));
            }
        }
        Command::EndDrill { id, status, reason } => {
            if !state.drills.contains_key(id) {
                errors.push(field_path(path, "id"), format!("no drill {id:?}"));
            }
            if *status == DrillStatus::Running {
                errors.push(
                    field_path(path, "status"),
                    "must be completed or aborted, got running",
                );
            }
            if reason.trim().is_empty() {
                errors.push(field_path(path, "reason"), "must say why");
            }
        }
        Command::PutCheck { check } => check.validate(&field_path(path, "check"), state, errors),
        Command::DeleteCheck { .. } => {}
        Command::ReportObservations {
            vantage,
            observations,
        } => health::validate_report(state, vantage, observations, path, errors),
        Command::PutGslbRecord { record } => {
            check_gslb_record(state, record, &field_path(path, "record"), errors)
        }
        Command::RecordRefusal { reason } => {
            let length = reason.chars().count();
            if reason.trim().is_empty() || length > MAX_REFUSAL_LEN {
                errors.push(
                    field_path(path, "reason"),
                    format!("must say why in 1 to {MAX_REFUSAL_LEN} characters, got {length}"),
                );
            }
        }
        Command::DeleteGslbRecord { .. } => {}
        Command::PutNetwork { network } => {
            let path = field_path(path, "network");
            network.validate(&path, errors);
            for region in network.rtt_ms.keys() {
                if !state.regions.contains_key(region) {
                    errors.push(
                        format!("{path}.rtt_ms.{region}"),
                        format!("no region {region:?}"),
                    );
                }
            }
        }
        Command::DeleteNetwork { cidr } => match cidr.parse::<crate::ip::Cidr>() {
            Ok(parsed) if parsed.to_string() == *cidr => {}
            Ok(parsed) => errors.push(
                field_path(path, "cidr"),
                format!("write the network as {parsed}, got {cidr:?}"),
            ),
            Err(error) => errors.push(field_path(path, "cidr"), error.to_string()),
        },
        Command::Guarded {
            resource,
            expected,
            command,
        } => {
            if matches!(
                command.as_ref(),
                Command::Batch { .. } | Command::Guarded { .. }
            ) {
                errors.push(path, "a guard holds one plain command");
                return;
            }
            let current = resource.current(state);
            let holds = match expected {
                Expected::Absent => current.is_none(),
                Expected::Digest(digest) => current.as_deref() == Some(digest.as_str()),
            };
            if !holds {
                let found = if current.is_some() {
                    "it changed since it was read"
                } else {
                    "it no longer exists"
                };
                let message = match expected {
                    Expected::Absent => format!("{resource} exists already"),
                    Expected::Digest(_) => format!("{resource}: {found}; re-read and retry"),
                };
                errors.push(field_path(path, "precondition"), message);
                return;
            }
            check(state, command, path, log_index, errors);
        }
        Command::Batch { .. } => errors.push(path, "a batch cannot contain a batch"),
    }
}

/// Every check of a drill about to start: its fields, its region, its id and override id
/// unused, and no running drill on the same region that would overlap it.
fn check_start_drill(state: &State, drill: &Drill, path: &str, errors: &mut FieldErrors) {
    let own = field_path(path, "drill");
    drill.validate(&own, errors);
    if drill.status != DrillStatus::Running {
        errors.push(
            field_path(&own, "status"),
            format!("a drill starts running, got {:?}", drill.status),
        );
    }
    if !state.regions.contains_key(&drill.region) {
        errors.push(
            field_path(&own, "region"),
            format!("no region {:?}", drill.region),
        );
    }
    if state.drills.contains_key(&drill.id) {
        errors.push(
            field_path(&own, "id"),
            format!("drill {:?} exists; a drill id is used once", drill.id),
        );
    }
    if drill.mode == DrillMode::Drain && state.overrides.contains_key(&drill.override_id()) {
        errors.push(
            field_path(&own, "id"),
            format!("override {:?} exists", drill.override_id()),
        );
    }
    if let Some(other) = state.drills.values().find(|other| {
        other.region == drill.region
            && other.status == DrillStatus::Running
            && other.planned_end > drill.started_at
    }) {
        errors.push(
            field_path(&own, "region"),
            format!(
                "region {:?} is already in drill {:?} (running until {})",
                drill.region, other.id, other.planned_end
            ),
        );
    }
}

/// Every check of a GSLB record about to be put: its own fields, its zone, collisions with
/// static data and other GSLB records at its name, and fallback cycles over all records.
fn check_gslb_record(state: &State, record: &GslbRecord, path: &str, errors: &mut FieldErrors) {
    record.validate(path, &state.regions, &state.endpoints, errors);
    let name_path = field_path(path, "name");
    let Some(zone) = state.zone_for(&record.name) else {
        errors.push(
            name_path,
            format!("no zone holds {} (create its zone first)", record.name),
        );
        return;
    };
    check_against_zone(zone, [(path.to_string(), record)], errors);
    if let Some(cut) = zone.rrsets.iter().find(|set| {
        set.rtype == RecordType::NS
            && set.name != zone.apex
            && record.name.is_subdomain_of(&set.name)
    }) {
        errors.push(
            &name_path,
            format!(
                "{} is at or below the delegation {}, so it would never be answered",
                record.name, cut.name
            ),
        );
    }
    if let Some(others) = state.gslb_records.get(&record.name) {
        for other in others.values().filter(|other| other.rtype != record.rtype) {
            if other.rtype == RecordType::CNAME || record.rtype == RecordType::CNAME {
                errors.push(
                    &name_path,
                    format!(
                        "a CNAME cannot sit beside other data at {} (GSLB {} record)",
                        record.name, other.rtype
                    ),
                );
            }
        }
    }
    check_own_fallback_cycle(state, record, path, errors);
}

/// Refuses a record whose fallback chain leads back to itself. Walks the chain by lookups
/// (O(chain length)), so putting N records costs O(N), not O(N²): only a record with a
/// fallback can close a cycle, and only through its own chain.
fn check_own_fallback_cycle(
    state: &State,
    record: &GslbRecord,
    path: &str,
    errors: &mut FieldErrors,
) {
    let WhenAllDown::Fallback(first) = &record.when_all_down else {
        return;
    };
    let mut chain: Vec<&DomainName> = vec![&record.name];
    let mut next = first;
    loop {
        if next == &record.name {
            chain.push(next);
            let shown: Vec<String> = chain.iter().map(|name| name.to_string()).collect();
            errors.push(
                format!(
                    "{}when_all_down.fallback",
                    crate::model::ident::prefix(path)
                ),
                format!("fallback targets form a cycle: {}", shown.join(" → ")),
            );
            return;
        }
        if chain.contains(&next) {
            return; // a cycle that does not pass through this record
        }
        chain.push(next);
        let following = state.gslb_records.get(next).and_then(|by_type| {
            by_type
                .values()
                .filter(|other| !(other.name == record.name && other.rtype == record.rtype))
                .find_map(|other| match &other.when_all_down {
                    WhenAllDown::Fallback(target) => Some(target),
                    _ => None,
                })
        });
        match following {
            Some(target) => next = target,
            None => return,
        }
    }
}

/// Refuses a zone whose static data would collide with a GSLB record that lives (or would
/// live, once the zone exists) in it.
fn check_zone_against_gslb(state: &State, zone: &Zone, path: &str, errors: &mut FieldErrors) {
    let records: Vec<(String, &GslbRecord)> = state
        .all_gslb_records()
        .filter(|record| record.name.is_subdomain_of(&zone.apex))
        .filter(|record| {
            state
                .zone_for(&record.name)
                .is_none_or(|current| current.apex.label_count() <= zone.apex.label_count())
        })
        .map(|record| (String::new(), record))
        .collect();
    let mut conflicts = FieldErrors::default();
    for (_, record) in &records {
        check_against_zone(zone, [(String::new(), *record)], &mut conflicts);
    }
    for error in conflicts.0 {
        errors.push(
            field_path(path, "rrsets"),
            format!("collides with a gslb record: {}", error.message),
        );
    }
}

/// Refuses a static set that would sit where a GSLB record answers: the same name and type,
/// or a CNAME beside other data (either way round).
fn check_rrset_against_gslb(
    state: &State,
    apex: &DomainName,
    rrset: &RecordSet,
    path: &str,
    errors: &mut FieldErrors,
) {
    if rrset.rtype == RecordType::NS && &rrset.name != apex {
        let hidden: Vec<String> = state
            .all_gslb_records()
            .filter(|record| record.name.is_subdomain_of(&rrset.name))
            .filter(|record| {
                // A record in a zone of its own below the cut is what the delegation is for.
                state
                    .zone_for(&record.name)
                    .is_some_and(|zone| &zone.apex == apex)
            })
            .map(|record| format!("{} {}", record.name, record.rtype))
            .collect();
        if !hidden.is_empty() {
            errors.push(
                path,
                format!(
                    "a delegation at {} would hide gslb records {hidden:?}",
                    rrset.name
                ),
            );
        }
    }
    let Some(records) = state.gslb_records.get(&rrset.name) else {
        return;
    };
    if state
        .zone_for(&rrset.name)
        .is_none_or(|zone| &zone.apex != apex)
    {
        return;
    }
    let name = &rrset.name;
    if records.contains_key(&rrset.rtype) {
        errors.push(
            path,
            format!(
                "{name} already has a GSLB {} record; a name has one {} answer",
                rrset.rtype, rrset.rtype
            ),
        );
    } else if rrset.rtype == RecordType::CNAME {
        let types: Vec<String> = records.keys().map(|rtype| rtype.to_string()).collect();
        errors.push(
            path,
            format!(
                "a CNAME cannot sit beside other data at {name} (GSLB {})",
                types.join(", ")
            ),
        );
    } else if records.contains_key(&RecordType::CNAME) {
        errors.push(
            path,
            format!("{name} holds a GSLB CNAME record, so no other data may sit beside it"),
        );
    }
}

/// Refuses deleting a region or endpoint that a GSLB record's policy still names.
fn check_unreferenced_by_gslb(
    state: &State,
    target: Target<'_>,
    path: &str,
    errors: &mut FieldErrors,
) {
    let users: Vec<String> = state
        .all_gslb_records()
        .filter(|record| {
            let mut named = false;
            record
                .policy
                .for_each_target(&mut |seen| named |= seen == target);
            named
        })
        .map(|record| format!("{} {}", record.name, record.rtype))
        .collect();
    if !users.is_empty() {
        let (kind, id) = match target {
            Target::Region(id) => ("region", id),
            Target::Endpoint(id) => ("endpoint", id),
        };
        errors.push(
            path,
            format!("{kind} {id:?} is still used by gslb records {users:?}"),
        );
    }
}

fn check_unreferenced_by_overrides(
    state: &State,
    target: &OverrideTarget,
    path: &str,
    errors: &mut FieldErrors,
) {
    let overrides: Vec<&str> = state
        .overrides
        .values()
        .filter(|rule| &rule.target == target)
        .map(|rule| rule.id.as_str())
        .collect();
    if !overrides.is_empty() {
        errors.push(path, format!("still targeted by overrides {overrides:?}"));
    }
}

/// Replaces (or inserts) the set with `rrset`'s name and type, keeping canonical order.
/// The fast path of checking `PutRecordSet` (a whole-zone `validate` costs O(zone) per write,
/// which made every small write to a large zone slow on every replica): true when the zone,
/// which is valid as stored, stays valid with `rrset` put in. Only the sets the new one can
/// conflict with are validated: those at its owner name, at names above it (a delegation cut
/// or the apex) and at names below it (what a new cut would occlude). False means "not
/// shown valid" — the caller then validates the whole zone, for exact error paths.
fn rrset_fits_valid_zone(zone: &Zone, rrset: &RecordSet) -> bool {
    if rrset.name == zone.apex {
        return false;
    }
    let mut local = Zone {
        serial_policy: Default::default(),
        apex: zone.apex.clone(),
        soa: zone.soa.clone(),
        default_ttl: zone.default_ttl,
        rrsets: zone
            .rrsets
            .iter()
            .filter(|set| {
                rrset.name.is_subdomain_of(&set.name) || set.name.is_subdomain_of(&rrset.name)
            })
            .cloned()
            .collect(),
    };
    replace_rrset(&mut local, rrset.clone());
    let mut local_errors = FieldErrors::default();
    local.validate("", &mut local_errors);
    local_errors.is_empty()
}

fn replace_rrset(zone: &mut Zone, rrset: RecordSet) {
    zone.rrsets
        .retain(|set| !(set.name == rrset.name && set.rtype == rrset.rtype));
    zone.rrsets.push(rrset);
    zone.normalize();
}

/// Performs a checked, non-batch command. Returns whether anything changed.
fn mutate(state: &mut State, command: &Command, at: u64) -> bool {
    fn put<K: Ord, V: PartialEq>(
        map: &mut std::collections::BTreeMap<K, V>,
        key: K,
        value: V,
    ) -> bool {
        if map.get(&key) == Some(&value) {
            return false;
        }
        map.insert(key, value);
        true
    }
    match command {
        Command::PutZone { zone } => {
            let mut zone = zone.clone();
            zone.normalize();
            put(&mut state.zones, zone.apex.clone(), zone)
        }
        Command::DeleteZone { apex } => {
            // The zone's GSLB records go with it ("everything in it").
            let doomed: Vec<(DomainName, RecordType)> = state
                .gslb_records_in_zone(apex)
                .map(|record| (record.name.clone(), record.rtype))
                .collect();
            for (name, rtype) in &doomed {
                remove_gslb_record(state, name, *rtype);
            }
            state.zones.remove(apex).is_some() || !doomed.is_empty()
        }
        Command::PutRecordSet { zone, rrset } => {
            let Some(existing) = state.zones.get_mut(zone) else {
                return false;
            };
            if existing.rrset(&rrset.name, rrset.rtype) == Some(rrset) {
                return false;
            }
            replace_rrset(existing, rrset.clone());
            true
        }
        Command::DeleteRecordSet { zone, name, rtype } => {
            let Some(existing) = state.zones.get_mut(zone) else {
                return false;
            };
            let before = existing.rrsets.len();
            existing
                .rrsets
                .retain(|set| !(&set.name == name && set.rtype == *rtype));
            existing.rrsets.len() != before
        }
        Command::PutRegion { region } => put(&mut state.regions, region.id.clone(), region.clone()),
        Command::DeleteRegion { id } => state.regions.remove(id).is_some(),
        Command::PutEndpoint { endpoint } => {
            put(&mut state.endpoints, endpoint.id.clone(), endpoint.clone())
        }
        Command::DeleteEndpoint { id } => state.endpoints.remove(id).is_some(),
        Command::PutToken { token } => put(&mut state.tokens, token.id.clone(), token.clone()),
        Command::DeleteToken { id } => state.tokens.remove(id).is_some(),
        Command::PutMember { member } => {
            let mut member = member.clone();
            if let Some(existing) = state.members.get(&member.id) {
                if existing.applied_index > member.applied_index {
                    member.applied_index = existing.applied_index;
                    member.reported_at = existing.reported_at;
                }
            }
            put(&mut state.members, member.id, member)
        }
        Command::DeleteMember { id } => state.members.remove(id).is_some(),
        Command::ReportApplied { node, index } => match state.members.get_mut(node) {
            Some(member) if member.applied_index < *index => {
                member.applied_index = *index;
                member.reported_at = at;
                true
            }
            _ => false,
        },
        Command::PutOverride { rule } => put(&mut state.overrides, rule.id.clone(), rule.clone()),
        Command::DeleteOverride { id } => state.overrides.remove(id).is_some(),
        Command::StartDrill { drill } => {
            let mut drill = drill.as_ref().clone();
            let length = drill.planned_end - drill.started_at;
            let started = format!(
                "{} drill of {} started by {} for {}.{:03} s",
                match drill.mode {
                    DrillMode::Drain => "drain",
                    DrillMode::Fail => "fail",
                },
                drill.region,
                drill.started_by,
                length / 1000,
                length % 1000
            );
            drill.note(drill.started_at, started);
            if drill.mode == DrillMode::Drain {
                let rule = Override {
                    id: drill.override_id(),
                    target: OverrideTarget::Region(drill.region.clone()),
                    action: OverrideAction::Drain,
                    reason: format!("drill {}", drill.id),
                    expires_at: Some(drill.planned_end),
                    drill: Some(drill.id.clone()),
                };
                state.overrides.insert(rule.id.clone(), rule);
            }
            state.drills.insert(drill.id.clone(), drill);
            true
        }
        Command::RecordDrill { id, update } => state
            .drills
            .get_mut(id)
            .is_some_and(|drill| drill.record(update)),
        Command::EndDrill { id, status, reason } => {
            let Some(drill) = state.drills.get_mut(id) else {
                return false;
            };
            if drill.status != DrillStatus::Running {
                return false;
            }
            drill.status = *status;
            drill.ended_at = Some(at);
            drill.end_reason = Some(reason.clone());
            let word = match status {
                DrillStatus::Aborted => "aborted",
                _ => "completed",
            };
            drill.note(at, format!("{word}: {reason}"));
            state
                .overrides
                .retain(|_, rule| rule.drill.as_deref() != Some(id.as_str()));
            true
        }
        Command::PutCheck { check } => {
            put(&mut state.checks, check.id.clone(), check.as_ref().clone())
        }
        Command::DeleteCheck { id } => {
            let removed = state.checks.remove(id).is_some();
            state.health.remove(id).is_some() || removed
        }
        Command::ReportObservations {
            vantage,
            observations,
        } => {
            let recorded =
                health::record_observations(&mut state.health, vantage, observations, at);
            let renewed = health::renew_leases(
                &state.health,
                &state.checks,
                &state.regions,
                &mut state.leases,
                at,
            );
            recorded || renewed
        }
        Command::PutGslbRecord { record } => {
            let by_type = state.gslb_records.entry(record.name.clone()).or_default();
            put(by_type, record.rtype, record.clone())
        }
        Command::DeleteGslbRecord { name, rtype } => remove_gslb_record(state, name, *rtype),
        Command::PutNetwork { network } => put(&mut state.networks, network.key(), network.clone()),
        Command::DeleteNetwork { cidr } => state.networks.remove(cidr).is_some(),
        Command::RecordRefusal { .. } => false,
        Command::Guarded { command, .. } => mutate(state, command, at),
        Command::Batch { .. } => unreachable!("batches are unrolled by run_batch"),
    }
}

/// Removes one GSLB record, dropping its name's entry when it was the last; returns whether
/// it existed.
fn remove_gslb_record(state: &mut State, name: &DomainName, rtype: RecordType) -> bool {
    let Some(by_type) = state.gslb_records.get_mut(name) else {
        return false;
    };
    let removed = by_type.remove(&rtype).is_some();
    if by_type.is_empty() {
        state.gslb_records.remove(name);
    }
    removed
}

impl fmt::Display for Command {
    /// A one-line summary for audit entries and logs: the operation and its key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::PutZone { zone } => write!(f, "put_zone {}", zone.apex),
            Command::DeleteZone { apex } => write!(f, "delete_zone {apex}"),
            Command::PutRecordSet { zone, rrset } => {
                write!(f, "put_record_set {} {} in {zone}", rrset.name, rrset.rtype)
            }
            Command::DeleteRecordSet { zone, name, rtype } => {
                write!(f, "delete_record_set {name} {rtype} in {zone}")
            }
            Command::PutRegion { region } => write!(f, "put_region {}", region.id),
            Command::DeleteRegion { id } => write!(f, "delete_region {id}"),
            Command::PutEndpoint { endpoint } => write!(f, "put_endpoint {}", endpoint.id),
            Command::DeleteEndpoint { id } => write!(f, "delete_endpoint {id}"),
            Command::PutToken { token } => write!(f, "put_token {}", token.id),
            Command::DeleteToken { id } => write!(f, "delete_token {id}"),
            Command::PutMember { member } => write!(f, "put_member {}", member.id),
            Command::DeleteMember { id } => write!(f, "delete_member {id}"),
            Command::ReportApplied { node, index } => write!(f, "report_applied {node}@{index}"),
            Command::PutOverride { rule } => write!(f, "put_override {}", rule.id),
            Command::DeleteOverride { id } => write!(f, "delete_override {id}"),
            Command::StartDrill { drill } => {
                write!(
                    f,
                    "start_drill {} of {} ({:?})",
                    drill.id, drill.region, drill.mode
                )
            }
            Command::RecordDrill { id, .. } => write!(f, "record_drill {id}"),
            Command::EndDrill { id, status, reason } => {
                write!(f, "end_drill {id} ({status:?}): {reason}")
            }
            Command::PutCheck { check } => write!(f, "put_check {}", check.id),
            Command::DeleteCheck { id } => write!(f, "delete_check {id}"),
            Command::ReportObservations {
                vantage,
                observations,
            } => write!(f, "report_observations {vantage} ({})", observations.len()),
            Command::PutGslbRecord { record } => {
                write!(f, "put_gslb_record {} {}", record.name, record.rtype)
            }
            Command::DeleteGslbRecord { name, rtype } => {
                write!(f, "delete_gslb_record {name} {rtype}")
            }
            Command::PutNetwork { network } => write!(f, "put_network {}", network.cidr),
            Command::DeleteNetwork { cidr } => write!(f, "delete_network {cidr}"),
            Command::RecordRefusal { reason } => write!(f, "refused {reason}"),
            // A create reads as what it did; a conditional change says it was conditional.
            Command::Guarded {
                command,
                expected: Expected::Absent,
                ..
            } => write!(f, "{command}"),
            Command::Guarded { command, .. } => write!(f, "{command} (if unchanged)"),
            Command::Batch { commands } => {
                // A batch of one change and reports (a drill's end with its guard results)
                // reads as that change in the audit log.
                let mut changes = commands.iter().filter(|command| !only_reports(command));
                match (changes.next(), changes.next()) {
                    (Some(change), None) if commands.len() > 1 => {
                        write!(f, "{change} (+{} reports)", commands.len() - 1)
                    }
                    _ => write!(f, "batch({})", commands.len()),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::endpoint::{AdminState, EndpointTarget};
    use crate::model::gslb_record::{PolicyNode, WhenAllDown};
    use crate::model::member::{NodeRole, RaftRole};
    use crate::model::record::RData;
    use crate::model::region::Location;
    use crate::model::zone::Soa;

    fn name(text: &str) -> DomainName {
        DomainName::parse_absolute(text).unwrap()
    }

    fn region(id: &str) -> Region {
        Region {
            id: id.to_string(),
            location: Location {
                lat_micro: 52_520_000,
                lon_micro: 13_405_000,
                country: "DE".to_string(),
                continent: "EU".to_string(),
            },
            capacity: None,
            min_healthy: None,
        }
    }

    fn endpoint(id: &str, region: &str) -> Endpoint {
        Endpoint {
            id: id.to_string(),
            region: region.to_string(),
            target: EndpointTarget::Address("192.0.2.10".parse().unwrap()),
            weight: 10,
            admin: AdminState::Enabled,
            labels: Default::default(),
        }
    }

    fn zone() -> Zone {
        Zone {
            serial_policy: Default::default(),
            apex: name("example.com."),
            soa: Soa {
                mname: name("ns1.example.com."),
                rname: name("hostmaster.example.com."),
                serial: 1,
                refresh: 3600,
                retry: 600,
                expire: 86400,
                minimum: 300,
                ttl: 3600,
            },
            default_ttl: 300,
            rrsets: vec![RecordSet {
                name: name("example.com."),
                rtype: RecordType::NS,
                ttl: 300,
                rdata: vec![RData::NS(name("ns1.example.com."))],
            }],
        }
    }

    fn stamped(command: Command, at: u64) -> StampedCommand {
        StampedCommand {
            at,
            actor: Actor::new("alice"),
            command,
        }
    }

    /// Applies `commands` in order from an empty state at indexes 1, 2, ...
    fn run(commands: Vec<Command>) -> (State, Vec<Result<CmdResult, ApplyError>>) {
        let mut state = State::default();
        let results = commands
            .into_iter()
            .enumerate()
            .map(|(index, command)| {
                let index = index as u64 + 1;
                let result = apply(&mut state, &stamped(command, 1000 * index), index);
                state.version = index;
                result
            })
            .collect();
        (state, results)
    }

    fn messages(result: &Result<CmdResult, ApplyError>) -> Vec<String> {
        match result {
            Err(ApplyError::Rejected(errors)) => errors.0.iter().map(|e| e.to_string()).collect(),
            Ok(_) => Vec::new(),
        }
    }

    #[test]
    fn a_refusal_is_audited_but_changes_nothing() {
        let (state, results) = run(vec![
            Command::PutRegion {
                region: region("eu-1"),
            },
            Command::RecordRefusal {
                reason: "report_observations us-1: token:p1 may report only for eu-1".into(),
            },
            Command::RecordRefusal { reason: " ".into() },
        ]);
        assert!(results[1].is_ok());
        assert_eq!(
            state.last_change, 1,
            "a refusal does not recompile anything"
        );
        assert_eq!(state.audit.len(), 2);
        assert!(state.audit[1]
            .summary
            .starts_with("refused report_observations us-1"));
        assert!(
            messages(&results[2])[0].contains("reason"),
            "{:?}",
            results[2]
        );
    }

    #[test]
    fn apply_is_deterministic_and_audited() {
        let commands = vec![
            Command::PutRegion {
                region: region("eu-1"),
            },
            Command::PutEndpoint {
                endpoint: endpoint("web-1", "eu-1"),
            },
            Command::PutZone { zone: zone() },
        ];
        let (first, results) = run(commands.clone());
        let (second, _) = run(commands);
        assert_eq!(first, second);
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        assert_eq!(first.version, 3);
        assert_eq!(first.last_change, 3);
        assert_eq!(first.last_at, 3000);
        assert_eq!(first.audit.len(), 3);
        assert_eq!(first.audit[1].summary, "put_endpoint web-1");
        assert_eq!(first.audit[1].actor.who, "alice");
    }

    #[test]
    fn a_repeated_put_is_idempotent() {
        let (state, results) = run(vec![
            Command::PutRegion {
                region: region("eu-1"),
            },
            Command::PutRegion {
                region: region("eu-1"),
            },
        ]);
        assert_eq!(state.regions.len(), 1);
        assert!(results[0].as_ref().unwrap().changed);
        assert!(!results[1].as_ref().unwrap().changed);
    }

    #[test]
    fn references_are_checked_and_named() {
        let (state, results) = run(vec![
            Command::PutEndpoint {
                endpoint: endpoint("web-1", "nowhere"),
            },
            Command::PutRegion {
                region: region("eu-1"),
            },
            Command::PutEndpoint {
                endpoint: endpoint("web-1", "eu-1"),
            },
            Command::DeleteRegion {
                id: "eu-1".to_string(),
            },
        ]);
        assert_eq!(
            messages(&results[0]),
            ["endpoint.region: no region \"nowhere\""]
        );
        assert_eq!(
            messages(&results[3]),
            ["id: region \"eu-1\" is still used by endpoints [\"web-1\"]"]
        );
        assert!(state.regions.contains_key("eu-1"));
    }

    #[test]
    fn a_batch_is_all_or_nothing_and_names_the_failing_command() {
        let batch = Command::Batch {
            commands: vec![
                Command::PutRegion {
                    region: region("eu-1"),
                },
                Command::PutEndpoint {
                    endpoint: endpoint("web-1", "eu-1"),
                },
                Command::PutEndpoint {
                    endpoint: endpoint("web-2", "us-1"),
                },
            ],
        };
        let before = State::default();
        assert_eq!(
            validate(&before, &batch).unwrap_err().to_string(),
            "commands[2].endpoint.region: no region \"us-1\""
        );
        let mut state = before.clone();
        let result = apply(&mut state, &stamped(batch, 5), 1);
        assert!(result.is_err());
        assert_eq!(state, before, "a rejected batch changes nothing");

        let good = Command::Batch {
            commands: vec![
                Command::PutRegion {
                    region: region("eu-1"),
                },
                Command::PutEndpoint {
                    endpoint: endpoint("web-1", "eu-1"),
                },
            ],
        };
        apply(&mut state, &stamped(good, 5), 1).unwrap();
        assert_eq!(state.endpoints.len(), 1);
        assert_eq!(state.audit.back().unwrap().summary, "batch(2)");
    }

    /// The incremental `PutRecordSet` check (`rrset_fits_valid_zone`) accepts exactly what
    /// a whole-zone validation accepts, for sets that conflict at their own name, below a cut,
    /// or by becoming a cut above existing data.
    #[test]
    fn the_incremental_record_set_check_agrees_with_the_whole_zone() {
        let set = |owner: &str, rtype: RecordType, rdata: RData| RecordSet {
            name: name(owner),
            rtype,
            ttl: 300,
            rdata: vec![rdata],
        };
        let a = |owner: &str| set(owner, RecordType::A, RData::A("192.0.2.1".parse().unwrap()));
        let mut base = zone();
        replace_rrset(&mut base, a("www.example.com."));
        replace_rrset(
            &mut base,
            set(
                "deep.app.example.com.",
                RecordType::TXT,
                RData::TXT(vec![b"x".to_vec()]),
            ),
        );
        replace_rrset(
            &mut base,
            set(
                "sub.example.com.",
                RecordType::NS,
                RData::NS(name("ns.sub.example.com.")),
            ),
        );
        replace_rrset(&mut base, a("ns.sub.example.com."));
        let mut errors = FieldErrors::default();
        base.validate("", &mut errors);
        assert!(errors.is_empty(), "{errors}");
        let cases = [
            (a("new.example.com."), true),
            (a("glue.sub.example.com."), true),
            (
                set(
                    "www.example.com.",
                    RecordType::CNAME,
                    RData::CNAME(name("x.example.net.")),
                ),
                false,
            ),
            (
                set(
                    "mx.sub.example.com.",
                    RecordType::TXT,
                    RData::TXT(vec![b"x".to_vec()]),
                ),
                false,
            ),
            (
                set(
                    "app.example.com.",
                    RecordType::NS,
                    RData::NS(name("ns.example.net.")),
                ),
                false,
            ),
            (
                set(
                    "sub.example.com.",
                    RecordType::TXT,
                    RData::TXT(vec![b"x".to_vec()]),
                ),
                false,
            ),
        ];
        for (rrset, valid) in cases {
            let mut whole = base.clone();
            replace_rrset(&mut whole, rrset.clone());
            let mut errors = FieldErrors::default();
            whole.validate("", &mut errors);
            assert_eq!(
                errors.is_empty(),
                valid,
                "{} {}: {errors}",
                rrset.name,
                rrset.rtype
            );
            assert_eq!(
                rrset_fits_valid_zone(&base, &rrset),
                valid,
                "{} {}",
                rrset.name,
                rrset.rtype
            );
        }
    }

    #[test]
    fn record_set_errors_are_named_by_path() {
        let mut bad = RecordSet {
            name: name("www.example.com."),
            rtype: RecordType::CAA,
            ttl: 300,
            rdata: vec![RData::CAA {
                flags: 0,
                tag: "is sue".to_string(),
                value: b"ca.example.net".to_vec(),
            }],
        };
        let (state, _) = run(vec![Command::PutZone { zone: zone() }]);
        let error = validate(
            &state,
            &Command::PutRecordSet {
                zone: name("example.com."),
                rrset: bad.clone(),
            },
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.starts_with("rrset.rdata[0].tag: must be 1-255 ASCII letters"),
            "{error}"
        );
        bad.name = name("www.example.org.");
        let error = validate(
            &state,
            &Command::PutRecordSet {
                zone: name("example.net."),
                rrset: bad,
            },
        )
        .unwrap_err()
        .to_string();
        assert_eq!(error, "zone: no zone example.net.");
        let mut broken_zone = zone();
        broken_zone.rrsets[0].rdata.clear();
        let error = validate(&state, &Command::PutZone { zone: broken_zone })
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("zone.rrsets[0].rdata: must hold at least one record"),
            "{error}"
        );
    }

    #[test]
    fn reports_do_not_move_last_change_and_track_sync() {
        let member = Member {
            id: 4,
            addr: "127.0.0.1:9004".to_string(),
            dns_addr: None,
            region: None,
            raft_role: RaftRole::Learner,
            roles: [NodeRole::Dns].into(),
            applied_index: 0,
            reported_at: 0,
        };
        let (state, results) = run(vec![
            Command::PutMember { member },
            Command::PutRegion {
                region: region("eu-1"),
            },
            Command::ReportApplied { node: 4, index: 2 },
            Command::ReportApplied { node: 4, index: 9 },
            Command::ReportApplied { node: 5, index: 1 },
        ]);
        assert_eq!(state.last_change, 2);
        assert_eq!(state.audit.len(), 2, "reports are not audited");
        assert_eq!(state.change_status(2), crate::model::ChangeStatus::Insync);
        assert_eq!(
            state.change_status(3),
            crate::model::ChangeStatus::Pending { waiting: vec![4] }
        );
        assert_eq!(
            messages(&results[3]),
            ["index: must be below this entry's index 4, got 9"]
        );
        assert_eq!(messages(&results[4]), ["node: no member 5"]);
    }

    #[test]
    fn commands_round_trip_as_tagged_json() {
        let command = Command::PutOverride {
            rule: Override {
                id: "drain-eu".to_string(),
                target: OverrideTarget::Region("eu-1".to_string()),
                action: crate::model::overrides::OverrideAction::Drain,
                reason: "maintenance".to_string(),
                expires_at: Some(10),
                drill: None,
            },
        };
        let json = serde_json::to_string(&command).unwrap();
        assert!(
            json.starts_with("{\"op\":\"put_override\",\"override\":{"),
            "{json}"
        );
        let back: Command = serde_json::from_str(&json).unwrap();
        assert_eq!(back, command);
    }

    fn gslb(owner: &str, rtype: RecordType, policy: PolicyNode) -> GslbRecord {
        GslbRecord {
            latency_margin: Default::default(),
            name: name(owner),
            rtype,
            ttl: 30,
            failover_ttl: None,
            policy,
            max_answers: 1,
            when_all_down: WhenAllDown::FailOpen,
            unknown_as: crate::model::UnknownAs::Down,
            split_brain_guard: false,
        }
    }

    fn put_gslb(record: GslbRecord) -> Command {
        Command::PutGslbRecord { record }
    }

    /// Region `eu-1`, endpoint `web-1` in it, zone `example.com.`.
    fn gslb_base() -> Vec<Command> {
        vec![
            Command::PutRegion {
                region: region("eu-1"),
            },
            Command::PutEndpoint {
                endpoint: endpoint("web-1", "eu-1"),
            },
            Command::PutZone { zone: zone() },
        ]
    }

    /// What does this test do: puts GSLB records and checks each refusal names the field —
    /// a name without a zone, an unknown endpoint, a static set of the same type, a CNAME
    /// beside a GSLB record — and that a valid put and delete round-trip.
    #[test]
    fn gslb_records_are_checked_against_zones_and_each_other() {
        let www = || {
            gslb(
                "www.example.com.",
                RecordType::A,
                PolicyNode::Region("eu-1".into()),
            )
        };
        let mut commands = gslb_base();
        commands.extend([
            put_gslb(gslb(
                "www.example.org.",
                RecordType::A,
                PolicyNode::Region("eu-1".into()),
            )),
            put_gslb(gslb(
                "www.example.com.",
                RecordType::A,
                PolicyNode::Endpoints(vec!["nope".into()]),
            )),
            put_gslb(www()),
            put_gslb(www()),
            Command::PutRecordSet {
                zone: name("example.com."),
                rrset: RecordSet {
                    name: name("www.example.com."),
                    rtype: RecordType::A,
                    ttl: 60,
                    rdata: vec![RData::A("192.0.2.1".parse().unwrap())],
                },
            },
            Command::PutRecordSet {
                zone: name("example.com."),
                rrset: RecordSet {
                    name: name("www.example.com."),
                    rtype: RecordType::CNAME,
                    ttl: 60,
                    rdata: vec![RData::CNAME(name("other.example.net."))],
                },
            },
            put_gslb(gslb(
                "www.example.com.",
                RecordType::CNAME,
                PolicyNode::Region("eu-1".into()),
            )),
        ]);
        let (state, results) = run(commands);
        assert_eq!(
            messages(&results[3]),
            ["record.name: no zone holds www.example.org. (create its zone first)"]
        );
        assert_eq!(messages(&results[4]).len(), 1, "{:?}", results[4]);
        assert!(
            messages(&results[4])[0].starts_with("record.policy.endpoints[0]"),
            "{:?}",
            results[4]
        );
        assert!(results[5].as_ref().unwrap().changed);
        assert!(!results[6].as_ref().unwrap().changed, "idempotent");
        assert_eq!(
            messages(&results[7]),
            ["rrset.name: www.example.com. already has a GSLB A record; a name has one A answer"]
        );
        assert_eq!(
            messages(&results[8]),
            ["rrset.name: a CNAME cannot sit beside other data at www.example.com. (GSLB A)"]
        );
        let cname = messages(&results[9]);
        assert!(
            cname.iter().any(|m| m
                == "record.name: a CNAME cannot sit beside other data at www.example.com. \
                    (GSLB A record)"),
            "{cname:?}"
        );
        assert!(state
            .gslb_record(&name("www.example.com."), RecordType::A)
            .is_some());
        assert_eq!(
            state.audit.back().unwrap().summary,
            "put_gslb_record www.example.com. A"
        );

        let (state, results) = run({
            let mut commands = gslb_base();
            commands.push(put_gslb(www()));
            commands.push(Command::DeleteGslbRecord {
                name: name("www.example.com."),
                rtype: RecordType::A,
            });
            commands.push(Command::DeleteGslbRecord {
                name: name("www.example.com."),
                rtype: RecordType::A,
            });
            commands
        });
        assert!(results[4].as_ref().unwrap().changed);
        assert!(!results[5].as_ref().unwrap().changed);
        assert!(state.gslb_records.is_empty());
    }

    /// What does this test do: a region or endpoint a GSLB record names cannot be deleted
    /// (the error names the record), a fallback cycle is refused, and deleting a zone takes
    /// its GSLB records with it.
    #[test]
    fn gslb_references_fallback_cycles_and_zone_deletion() {
        let mut a = gslb(
            "a.example.com.",
            RecordType::A,
            PolicyNode::Endpoints(vec!["web-1".into()]),
        );
        a.when_all_down = WhenAllDown::Fallback(name("b.example.com."));
        let mut b = gslb(
            "b.example.com.",
            RecordType::A,
            PolicyNode::Region("eu-1".into()),
        );
        b.when_all_down = WhenAllDown::Fallback(name("a.example.com."));
        let mut commands = gslb_base();
        commands.extend([
            put_gslb(a),
            put_gslb(b),
            Command::DeleteEndpoint { id: "web-1".into() },
            Command::DeleteRegion { id: "eu-1".into() },
            Command::DeleteZone {
                apex: name("example.com."),
            },
        ]);
        let (state, results) = run(commands);
        assert!(results[3].is_ok(), "{:?}", results[3]);
        assert_eq!(
            messages(&results[4]),
            [
                "record.when_all_down.fallback: fallback targets form a cycle: \
              b.example.com. → a.example.com. → b.example.com."
            ]
        );
        assert_eq!(
            messages(&results[5]),
            ["id: endpoint \"web-1\" is still used by gslb records [\"a.example.com. A\"]"]
        );
        assert!(messages(&results[6])
            .contains(&"id: region \"eu-1\" is still used by endpoints [\"web-1\"]".to_string()));
        assert!(results[7].as_ref().unwrap().changed);
        assert!(
            state.gslb_records.is_empty(),
            "the zone took its records along"
        );
    }

    /// What does this test do: a GSLB record below a delegation is refused, and so is a
    /// delegation above an existing GSLB record.
    #[test]
    fn delegations_and_gslb_records_exclude_each_other() {
        let delegation = |owner: &str| Command::PutRecordSet {
            zone: name("example.com."),
            rrset: RecordSet {
                name: name(owner),
                rtype: RecordType::NS,
                ttl: 60,
                rdata: vec![RData::NS(name("ns.elsewhere.net."))],
            },
        };
        let mut commands = gslb_base();
        commands.extend([
            delegation("sub.example.com."),
            put_gslb(gslb(
                "www.sub.example.com.",
                RecordType::A,
                PolicyNode::Region("eu-1".into()),
            )),
            put_gslb(gslb(
                "www.other.example.com.",
                RecordType::A,
                PolicyNode::Region("eu-1".into()),
            )),
            delegation("other.example.com."),
        ]);
        let (_, results) = run(commands);
        assert!(results[3].is_ok(), "{:?}", results[3]);
        assert_eq!(
            messages(&results[4]),
            [
                "record.name: www.sub.example.com. is at or below the delegation \
              sub.example.com., so it would never be answered"
            ]
        );
        assert!(results[5].is_ok(), "{:?}", results[5]);
        assert_eq!(
            messages(&results[6]),
            [
                "rrset.name: a delegation at other.example.com. would hide gslb records \
              [\"www.other.example.com. A\"]"
            ]
        );
    }

    #[test]
    fn a_zone_put_cannot_hide_a_gslb_record() {
        let mut commands = gslb_base();
        commands.push(put_gslb(gslb(
            "www.example.com.",
            RecordType::A,
            PolicyNode::Region("eu-1".into()),
        )));
        let mut clashing = zone();
        clashing.rrsets.push(RecordSet {
            name: name("www.example.com."),
            rtype: RecordType::CNAME,
            ttl: 60,
            rdata: vec![RData::CNAME(name("elsewhere.example.net."))],
        });
        commands.push(Command::PutZone { zone: clashing });
        let (_, results) = run(commands);
        assert_eq!(
            messages(&results[4]),
            [
                "zone.rrsets: collides with a gslb record: www.example.com. holds a static CNAME, \
              so no other data may sit beside it"
            ]
        );
    }

    fn drill(id: &str, region: &str, mode: DrillMode, started_at: u64) -> Drill {
        Drill {
            id: id.to_string(),
            region: region.to_string(),
            mode,
            started_at,
            planned_end: started_at + 60_000,
            status: DrillStatus::Running,
            started_by: "alice".to_string(),
            max_load_percent: None,
            records: Vec::new(),
            survivors: Default::default(),
            measured_nodes: Default::default(),
            ended_at: None,
            end_reason: None,
            convergence_ms: Default::default(),
            restore_ms: Default::default(),
            answers: Vec::new(),
            guards: Vec::new(),
            timeline: Vec::new(),
        }
    }

    /// A drain drill writes its expiring override; ending it removes the override, records
    /// the end and lets another drill of the region start; the drill is audited but its
    /// progress reports are not.
    #[test]
    fn a_drain_drill_writes_and_removes_its_override() {
        let (state, results) = run(vec![
            Command::PutRegion {
                region: region("eu"),
            },
            Command::StartDrill {
                drill: Box::new(drill("d1", "eu", DrillMode::Drain, 2_000)),
            },
            Command::RecordDrill {
                id: "d1".into(),
                update: DrillUpdate::Converged {
                    node: 4,
                    direction: crate::model::drill::Direction::Out,
                    after_ms: 250,
                },
            },
        ]);
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        let rule = &state.overrides["drill-d1"];
        assert_eq!(rule.action, OverrideAction::Drain);
        assert_eq!(rule.expires_at, Some(62_000));
        assert_eq!(rule.drill.as_deref(), Some("d1"));
        assert_eq!(state.drills["d1"].convergence_ms[&4], 250);
        assert_eq!(
            state.last_change, 2,
            "progress reports do not move last_change"
        );
        let summaries: Vec<&str> = state.audit.iter().map(|e| e.summary.as_str()).collect();
        assert_eq!(summaries, ["put_region eu", "start_drill d1 of eu (Drain)"]);

        let mut state = state;
        let end = Command::EndDrill {
            id: "d1".into(),
            status: DrillStatus::Aborted,
            reason: "aborted by alice".into(),
        };
        let ended = apply(&mut state, &stamped(end.clone(), 9_000), 4).unwrap();
        assert!(ended.changed);
        assert!(state.overrides.is_empty());
        let drill = &state.drills["d1"];
        assert_eq!(drill.status, DrillStatus::Aborted);
        assert_eq!(drill.ended_at, Some(9_000));
        assert_eq!(drill.end_reason.as_deref(), Some("aborted by alice"));
        let again = apply(&mut state, &stamped(end, 10_000), 5).unwrap();
        assert!(!again.changed, "ending an ended drill changes nothing");
        let next = Command::StartDrill {
            drill: Box::new(drill_for_next()),
        };
        apply(&mut state, &stamped(next, 11_000), 6).unwrap();
        assert!(state.drills["d2"].is_active(11_000));
    }

    fn drill_for_next() -> Drill {
        drill("d2", "eu", DrillMode::Fail, 11_000)
    }

    /// Bad drills are refused naming the field: unknown region, overlapping drill on the
    /// same region, reused id, an end that is not after the start, a running "end".
    #[test]
    fn bad_drills_are_refused_with_their_field() {
        let mut backwards = drill("d3", "eu", DrillMode::Drain, 5_000);
        backwards.planned_end = 5_000;
        let (_, results) = run(vec![
            Command::PutRegion {
                region: region("eu"),
            },
            Command::StartDrill {
                drill: Box::new(drill("d1", "eu", DrillMode::Drain, 2_000)),
            },
            Command::StartDrill {
                drill: Box::new(drill("d2", "eu", DrillMode::Fail, 3_000)),
            },
            Command::StartDrill {
                drill: Box::new(drill("d1", "us", DrillMode::Fail, 3_000)),
            },
            Command::StartDrill {
                drill: Box::new(backwards),
            },
            Command::EndDrill {
                id: "d1".into(),
                status: DrillStatus::Running,
                reason: " ".into(),
            },
            Command::RecordDrill {
                id: "nope".into(),
                update: DrillUpdate::Event {
                    event: crate::model::drill::DrillEvent {
                        at: 1,
                        text: "x".into(),
                    },
                },
            },
            Command::DeleteRegion { id: "eu".into() },
        ]);
        assert!(results[1].is_ok());
        assert!(messages(&results[2])
            .iter()
            .any(|m| m.starts_with("drill.region: region \"eu\" is already in drill \"d1\"")));
        let third = messages(&results[3]);
        assert!(
            third
                .iter()
                .any(|m| m.starts_with("drill.region: no region")),
            "{third:?}"
        );
        assert!(third
            .iter()
            .any(|m| m.starts_with("drill.id: drill \"d1\" exists")));
        assert!(messages(&results[4])
            .iter()
            .any(|m| m.starts_with("drill.planned_end: must be after")));
        let end = messages(&results[5]);
        assert!(end
            .iter()
            .any(|m| m.starts_with("status: must be completed")));
        assert!(end.iter().any(|m| m.starts_with("reason: must say why")));
        assert!(messages(&results[6])[0].starts_with("id: no drill"));
        assert!(messages(&results[7])
            .iter()
            .any(|m| m.contains("is in running drills [\"d1\"]")));
    }

    /// A guarded write applies only while its resource is as the writer saw it: a change in
    /// between, or a create racing another create, is rejected under `precondition`.
    #[test]
    fn guarded_writes_see_every_change_in_between() {
        use crate::model::precondition::{digest_of, Expected, ResourceRef};
        let region_ref = ResourceRef::Region { id: "eu".into() };
        let mut moved = region("eu");
        moved.capacity = Some(3);
        let guarded = |expected: Expected, region: Region| Command::Guarded {
            resource: ResourceRef::Region { id: "eu".into() },
            expected,
            command: Box::new(Command::PutRegion { region }),
        };
        let (state, results) = run(vec![
            guarded(Expected::Absent, region("eu")),
            guarded(Expected::Absent, region("eu")),
            guarded(Expected::Digest(digest_of(&region("eu"))), moved.clone()),
            guarded(Expected::Digest(digest_of(&region("eu"))), region("eu")),
        ]);
        assert!(results[0].is_ok(), "{results:?}");
        assert_eq!(
            messages(&results[1]),
            ["precondition: region eu exists already"]
        );
        assert!(results[2].is_ok(), "{results:?}");
        assert_eq!(
            messages(&results[3]),
            ["precondition: region eu: it changed since it was read; re-read and retry"]
        );
        assert_eq!(state.regions["eu"], moved);
        assert_eq!(region_ref.current(&state), Some(digest_of(&moved)));
        let summaries: Vec<&str> = state.audit.iter().map(|e| e.summary.as_str()).collect();
        assert_eq!(summaries, ["put_region eu", "put_region eu (if unchanged)"]);
    }

    fn network(cidr: &str, country: &str) -> Network {
        Network {
            cidr: cidr.parse().unwrap(),
            continent: Some("EU".into()),
            country: Some(country.into()),
            subdivision: None,
            asn: None,
            lat_micro: None,
            lon_micro: None,
            rtt_ms: Default::default(),
        }
    }

    /// Client networks are put, replaced idempotently, kept in a snapshot's JSON and deleted;
    /// a bad entry is refused with its field, also inside a batch, and changes nothing.
    #[test]
    fn networks_are_put_validated_and_deleted() {
        let mut bad = network("198.51.100.0/24", "DE");
        bad.continent = Some("XX".into());
        bad.lat_micro = Some(95_000_000);
        bad.lon_micro = Some(0);
        let (state, results) = run(vec![
            Command::PutNetwork {
                network: network("198.51.100.0/24", "DE"),
            },
            Command::PutNetwork {
                network: network("198.51.100.0/24", "DE"),
            },
            Command::PutNetwork {
                network: network("2001:db8::/32", "FR"),
            },
            Command::Batch {
                commands: vec![
                    Command::PutNetwork {
                        network: network("203.0.113.0/24", "NL"),
                    },
                    Command::PutNetwork { network: bad },
                ],
            },
            Command::DeleteNetwork {
                cidr: "198.51.100.1/24".into(),
            },
            Command::DeleteNetwork {
                cidr: "2001:DB8::/32".into(),
            },
            Command::DeleteNetwork {
                cidr: "2001:db8::/32".into(),
            },
        ]);
        assert!(results[0].as_ref().unwrap().changed);
        assert!(
            !results[1].as_ref().unwrap().changed,
            "a repeat changes nothing"
        );
        assert!(results[2].as_ref().unwrap().changed);
        assert_eq!(
            messages(&results[3]),
            [
                "commands[1].network.continent: must be one of AF, AN, AS, EU, NA, OC, SA, got \"XX\"",
                "commands[1].network.lat_micro: must be within ±90 degrees, got 95000000",
            ]
        );
        assert_eq!(
            messages(&results[4]),
            ["cidr: cidr \"198.51.100.1/24\" has host bits set (network is 198.51.100.0/24)"]
        );
        assert_eq!(
            messages(&results[5]),
            ["cidr: write the network as 2001:db8::/32, got \"2001:DB8::/32\""]
        );
        assert!(results[6].as_ref().unwrap().changed);
        let keys: Vec<&str> = state.networks.keys().map(String::as_str).collect();
        assert_eq!(keys, ["198.51.100.0/24"], "the batch changed nothing");
        let json = serde_json::to_string(&state).unwrap();
        let back: State = serde_json::from_str(&json).unwrap();
        assert_eq!(back.networks, state.networks, "snapshots carry the table");
        let summaries: Vec<&str> = state.audit.iter().map(|e| e.summary.as_str()).collect();
        assert_eq!(
            summaries,
            [
                "put_network 198.51.100.0/24",
                "put_network 198.51.100.0/24",
                "put_network 2001:db8::/32",
                "delete_network 2001:db8::/32"
            ]
        );
    }

    /// A guarded network write sees a change in between, like every resource.
    #[test]
    fn guarded_network_writes_see_every_change() {
        use crate::model::precondition::{digest_of, Expected, ResourceRef};
        let resource = ResourceRef::Network {
            cidr: "198.51.100.0/24".into(),
        };
        let guarded = |expected: Expected, network: Network| Command::Guarded {
            resource: resource.clone(),
            expected,
            command: Box::new(Command::PutNetwork { network }),
        };
        let first = network("198.51.100.0/24", "DE");
        let (state, results) = run(vec![
            guarded(Expected::Absent, first.clone()),
            guarded(Expected::Absent, first.clone()),
            guarded(
                Expected::Digest(digest_of(&first)),
                network("198.51.100.0/24", "FR"),
            ),
            guarded(Expected::Digest(digest_of(&first)), first.clone()),
        ]);
        assert!(results[0].is_ok() && results[2].is_ok(), "{results:?}");
        assert_eq!(
            messages(&results[1]),
            ["precondition: network 198.51.100.0/24 exists already"]
        );
        assert_eq!(
            messages(&results[3]),
            ["precondition: network 198.51.100.0/24: it changed since it was read; re-read and retry"]
        );
        assert_eq!(
            state.networks["198.51.100.0/24"].country.as_deref(),
            Some("FR")
        );
    }
}
