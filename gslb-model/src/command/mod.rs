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
//! Layout, each file depending only on those above it:
//! - `mod.rs` (this file): the `Command` enum, `StampedCommand`, `CmdResult`, `ApplyError` and
//!   the one-line `Display` written to the audit log.
//! - `collisions.rs`: static data against GSLB records (a zone or set refused where it would
//!   collide with one); reads only.
//! - `staging.rs`: staged zone imports (chunks, the commit that switches them in, expiry).
//! - `check.rs`: every check of one command against a state, with field paths; reads only.
//! - `apply.rs`: `validate` and `apply` (a batch runs on a scratch copy, so validating a batch
//!   is applying it there), `mutate` and the serial moves.
//!
//! Invariant: nothing here reads a clock, a random source, the environment or the disk.
//! Invariant: a rejected command changes nothing; a `Batch` is applied all or nothing.
//! Invariant: every `Put*` and `Delete*` is idempotent, so a client retrying a write whose
//! acknowledgement was lost (leader change) cannot apply it twice in effect.

mod apply;
mod check;
pub mod chunk_codec;
mod collisions;
#[cfg(test)]
mod history_tests;
mod staging;
#[cfg(test)]
mod test_support;

pub use apply::{apply, validate};

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ip::Cidr;
use crate::model::audit::Actor;
use crate::model::check::Check;
use crate::model::dns_update::DnsUpdate;
use crate::model::dnssec::DnssecKey;
use crate::model::drill::{Drill, DrillStatus, DrillUpdate};
use crate::model::endpoint::Endpoint;
use crate::model::gslb_record::GslbRecord;
use crate::model::health::ObservationReport;
use crate::model::member::Member;
use crate::model::name::DomainName;
use crate::model::network::Network;
use crate::model::overrides::Override;
use crate::model::precondition::{Expected, ResourceRef};
use crate::model::record::{RecordSet, RecordType};
use crate::model::region::Region;
use crate::model::rollover::{DnssecPolicy, RolloverKind, RolloverStep};
use crate::model::token::Token;
use crate::model::transfer::ZoneTransfer;
use crate::model::tsig_key::TsigKey;
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
    /// Replace the transfer settings (allow list, NOTIFY targets, GSLB names left out) of an
    /// existing zone. Not a change of the zone's content: the serial stays.
    PutZoneTransfer {
        /// The zone's apex.
        zone: DomainName,
        /// The new settings, replacing the old whole.
        transfer: ZoneTransfer,
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
    /// Start signing `zone` with its first key (generated and sealed by the leader's API).
    /// Repeating it with the key the zone already has changes nothing.
    EnableDnssec {
        /// The zone's apex.
        zone: DomainName,
        /// Its first key: the CSK, or the KSK when `zsk` is given.
        key: DnssecKey,
        /// The zone-signing key of a zone signed with KSK and ZSK apart.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        zsk: Option<DnssecKey>,
    },
    /// Set how and when a signed zone's keys roll (`model::rollover`).
    SetDnssecPolicy {
        /// The zone's apex.
        zone: DomainName,
        /// The policy.
        policy: DnssecPolicy,
    },
    /// One step of a key rollover (`model::rollover::take_step`), written by the leader's
    /// schedule or asked for by an operator.
    DnssecRolloverStep {
        /// The zone's apex.
        zone: DomainName,
        /// The step.
        step: RolloverStep,
        /// The successor (generated and sealed by the proposer) for a `publish` that starts
        /// a rollover; for a `presign`, the new CSK or KSK.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<DnssecKey>,
        /// For a `presign` whose new key set is KSK + ZSK: the new ZSK.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        zsk: Option<DnssecKey>,
        /// Which rollover the step is of (needed when a KSK and a ZSK roll at once).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kind: Option<RolloverKind>,
    },
    /// Stop signing `zone` and forget its keys (idempotent). The operator removes the DS at
    /// the parent first and waits its TTL out (see docs/operations.md).
    DisableDnssec {
        /// The zone's apex.
        zone: DomainName,
    },
    /// Add a key to a signed zone, or replace the one with the same tag (a rollover step:
    /// a new key, a state change).
    PutDnssecKey {
        /// The zone's apex.
        zone: DomainName,
        /// The key.
        key: DnssecKey,
    },
    /// Remove a key from a signed zone (idempotent); the last signing key cannot go.
    DeleteDnssecKey {
        /// The zone's apex.
        zone: DomainName,
        /// The key's tag.
        tag: u16,
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
    /// Create or replace a TSIG key (its secret in the clear: every DNS node verifies with
    /// it).
    PutTsigKey {
        /// The key.
        key: TsigKey,
    },
    /// Remove a TSIG key (idempotent).
    DeleteTsigKey {
        /// The key's name.
        name: DomainName,
    },
    /// Set the networks a zone accepts unsigned RFC 2136 updates from; an empty list
    /// accepts none (the default).
    PutUnsignedUpdateSources {
        /// The zone's apex; the zone must exist.
        zone: DomainName,
        /// The networks.
        sources: Vec<Cidr>,
    },
    /// One RFC 2136 UPDATE, applied all or nothing: authorization, prerequisites and
    /// changes are checked against the state the entry meets (`model::dns_update`).
    DnsUpdate {
        /// The decoded update.
        update: Box<DnsUpdate>,
    },
    /// Adds chunk number `chunk` of record sets to the staging area `import_id` of a zone
    /// import (the first chunk to arrive opens it). Nothing staged is served; a big zone
    /// travels as several of these, each a Raft entry of bounded size, then one
    /// `CommitStagedZone`. Each chunk is checked when staged and appended to the zone under
    /// construction (`model::staged`). Neither moves `State::last_change` nor is audited: the
    /// commit is the change.
    StageZoneRecords {
        /// Names the import; chosen by the API, unique per import.
        import_id: String,
        /// The zone the import is for; every chunk of one import names the same.
        apex: DomainName,
        /// The chunk's number in the import, from 0: the chunks, in number order, carry the
        /// zone's sets in canonical order. One may arrive before those ahead of it and waits
        /// for them (absent in entries written before chunks were numbered: 0).
        #[serde(default)]
        chunk: u64,
        /// How many chunks the whole import has, when the importer knew it as it wrote this
        /// one (it always does; absent in entries written before): a node can then tell the
        /// staging is complete before the commit and prepare for it (a DNS node compiles the
        /// staged zone ahead, `gslb_dns::prepare`). Never checked against the commit's count.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        total_chunks: Option<u64>,
        /// The record sets of this chunk, in canonical (owner, type) order; shared, so the
        /// Raft log's decoded entries and every copy of the command hold one copy of them.
        /// Written in the compact form of `chunk_codec`; the JSON array older nodes wrote
        /// still reads.
        #[serde(
            serialize_with = "chunk_codec::serialize",
            deserialize_with = "chunk_codec::deserialize"
        )]
        rrsets: std::sync::Arc<Vec<RecordSet>>,
    },
    /// Replaces (or creates) the zone `zone.apex` with `zone`'s header and every record set
    /// staged under `import_id`, and drops the staging area: readers see the old zone or the
    /// whole new one. Refused, changing nothing, unless all `chunks` chunks are in and the
    /// rules only the whole zone shows hold (the last name, the apex's NS set).
    CommitStagedZone {
        /// The staging area to switch in.
        import_id: String,
        /// How many chunks the import staged (absent in entries written before chunks were
        /// numbered: 0, which no staging area with sets matches).
        #[serde(default)]
        chunks: u64,
        /// The zone's SOA, TTLs, serial policy and transfer settings; no record sets.
        zone: Zone,
    },
    /// Drops the staging area `import_id` of an import that failed or was cut off
    /// (idempotent). Audited; does not move `State::last_change`.
    AbortStagedZone {
        /// The staging area to drop.
        import_id: String,
    },
    /// Several commands applied in order, all or nothing; later ones see earlier ones'
    /// effects.
    Batch {
        /// The commands; a batch may not contain a batch.
        commands: Vec<Command>,
    },
    /// Independent writes of several clients sharing one Raft entry (group commit, formed
    /// by the leader from writes proposed at the same moment): each is checked against the
    /// state the writes before it left and applied or rejected on its own, with its own
    /// actor in the audit log and its own serial move, exactly as if each were an entry of
    /// its own; only the version (the entry's index) is shared. `CmdResult::members` holds
    /// each one's outcome, in order. A member may not be a batch, a group, a staged-import
    /// step or a report.
    Group {
        /// The writes, in the order they were proposed.
        writes: Vec<GroupedWrite>,
    },
}

/// One client's write inside a `Command::Group`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupedWrite {
    /// Who asked, for the audit log.
    pub actor: Actor,
    /// The write.
    pub command: Command,
}

impl GroupedWrite {
    /// Whether `command` may share an entry with others: a plain write of one client, not
    /// a batch or group (atomic with itself only), not a whole zone or a staged-import step
    /// (large: an entry of its own) and not a report or refusal (not a client's change).
    pub fn may_group(command: &Command) -> bool {
        !matches!(
            command,
            Command::Batch { .. }
                | Command::Group { .. }
                | Command::RecordRefusal { .. }
                | Command::PutZone { .. }
        ) && !only_staging(command)
            && !only_reports(command)
            && !matches!(command, Command::CommitStagedZone { .. })
            && !matches!(
                command,
                Command::Guarded { command, .. } if !GroupedWrite::may_group(command)
            )
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
    /// For a `Command::Group`, each write's outcome in order: whether it changed anything,
    /// or why it was rejected (every fault by field path). Empty for any other command.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<Result<bool, FieldErrors>>,
}

/// Why a committed command was not applied. The entry still consumes its log index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ApplyError {
    /// The command does not fit the state it met; every fault is named by its field path.
    #[error("command rejected: {0}")]
    Rejected(FieldErrors),
}

/// True when the command touches only a staging area (`State::staged_imports`), which
/// nothing serves: it does not move `State::last_change`, so DNS nodes recompile nothing.
fn only_staging(command: &Command) -> bool {
    match command {
        Command::StageZoneRecords { .. } | Command::AbortStagedZone { .. } => true,
        Command::Guarded { command, .. } => only_staging(command),
        _ => false,
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

impl fmt::Display for Command {
    /// A one-line summary for audit entries and logs: the operation and its key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::PutZone { zone } => write!(f, "put_zone {}", zone.apex),
            Command::DeleteZone { apex } => write!(f, "delete_zone {apex}"),
            Command::PutZoneTransfer { zone, .. } => write!(f, "put_zone_transfer {zone}"),
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
            Command::PutTsigKey { key } => write!(f, "put_tsig_key {}", key.name),
            Command::DeleteTsigKey { name } => write!(f, "delete_tsig_key {name}"),
            Command::PutUnsignedUpdateSources { zone, sources } => {
                write!(f, "put_unsigned_update_sources {zone} ({})", sources.len())
            }
            Command::DnsUpdate { update } => {
                let by = match &update.key {
                    Some(key) => format!("key {key}"),
                    None => format!("unsigned from {}", update.client),
                };
                write!(
                    f,
                    "dns_update {} by {by}: {} prerequisites, {} changes",
                    update.zone,
                    update.prerequisites.len(),
                    update.changes.len()
                )
            }
            Command::StageZoneRecords {
                import_id,
                apex,
                chunk,
                rrsets,
                ..
            } => write!(
                f,
                "stage_zone_records {apex} ({} record sets, import {import_id} chunk {chunk})",
                rrsets.len()
            ),
            Command::CommitStagedZone {
                import_id,
                chunks,
                zone,
            } => write!(
                f,
                "commit_staged_zone {} (import {import_id}, {chunks} chunks)",
                zone.apex
            ),
            Command::AbortStagedZone { import_id } => {
                write!(f, "abort_staged_zone (import {import_id})")
            }
            Command::EnableDnssec { zone, key, zsk } => match zsk {
                Some(zsk) => write!(f, "enable_dnssec {zone} (ksk {}, zsk {})", key.tag, zsk.tag),
                None => write!(f, "enable_dnssec {zone} (key {})", key.tag),
            },
            Command::SetDnssecPolicy { zone, .. } => write!(f, "set_dnssec_policy {zone}"),
            Command::DnssecRolloverStep {
                zone,
                step,
                key,
                zsk,
                ..
            } => match (key, zsk) {
                (Some(key), Some(zsk)) => write!(
                    f,
                    "dnssec_rollover {zone} {} (ksk {} {}, zsk {})",
                    step.name(),
                    key.tag,
                    key.algorithm.name(),
                    zsk.tag
                ),
                (Some(key), None) => write!(
                    f,
                    "dnssec_rollover {zone} {} (key {} {})",
                    step.name(),
                    key.tag,
                    key.algorithm.name()
                ),
                _ => write!(f, "dnssec_rollover {zone} {}", step.name()),
            },
            Command::DisableDnssec { zone } => write!(f, "disable_dnssec {zone}"),
            Command::PutDnssecKey { zone, key } => {
                write!(f, "put_dnssec_key {zone} {} {:?}", key.tag, key.state)
            }
            Command::DeleteDnssecKey { zone, tag } => write!(f, "delete_dnssec_key {zone} {tag}"),
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
            Command::Group { writes } => write!(f, "group({})", writes.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::model::overrides::OverrideTarget;

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
}
