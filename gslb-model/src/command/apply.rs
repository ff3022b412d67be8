//! `validate` and the deterministic `apply`: check, then `mutate` the state, then move the
//! serial of every zone whose content changed; a batch runs on a scratch copy and replaces the
//! state only when every command in it passed.
//!
//! Invariant: the result depends only on the state, the stamped command and the log index.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::check::{check, replace_rrset};
use super::staging::{self, Staged};
use super::{only_reports, only_staging, ApplyError, CmdResult, Command, StampedCommand};
use crate::model::audit::{AuditEntry, AUDIT_RETAINED};
use crate::model::dns_update::evaluate_update;
use crate::model::drill::{DrillMode, DrillStatus};
use crate::model::health;
use crate::model::name::DomainName;
use crate::model::overrides::{Override, OverrideAction, OverrideTarget};
use crate::model::record::RecordType;
use crate::model::serial;
use crate::model::state::State;
use crate::model::validation::FieldErrors;
use crate::model::zone::{Soa, Zone};
use crate::model::zone_history::{self, SetsBefore, ZoneDiff};

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
        Command::Group { .. } => errors.push("", GROUP_NOT_WRITTEN),
        Command::StageZoneRecords {
            import_id,
            apex,
            chunk,
            rrsets,
            ..
        } => staging::check_stage_header(state, import_id, apex, *chunk, rrsets, "", &mut errors),
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
    let mut members = Vec::new();
    let changed = match &command.command {
        Command::Group { writes } => {
            members = run_group(state, writes, log_index, command.at);
            members.iter().any(|member| member == &Ok(true))
        }
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
            // A staged chunk or commit is checked where the chunks meet, and built, here.
            let staged = if errors.is_empty() {
                staging::prepare(state, single, command.at, &mut errors)
            } else {
                None
            };
            if !errors.is_empty() {
                return Err(ApplyError::Rejected(errors));
            }
            let mut serials_before = SerialsBefore::new();
            let changed = match staged {
                Some(Staged::Commit { import_id, zone }) => {
                    commit_staged_zone(state, &import_id, zone, log_index, &mut serials_before)
                }
                Some(Staged::Chunk { import_id, staged }) => {
                    staging::install_chunk(state, import_id, staged);
                    true
                }
                None => {
                    mutate_zone_content(state, single, command.at, log_index, &mut serials_before)
                }
            };
            move_serials(state, serials_before, command.at);
            changed
        }
    };
    staging::expire(state, command.at);
    state.version = log_index;
    state.last_at = state.last_at.max(command.at);
    crate::model::transitions::record_transitions(state, state.last_at, log_index);
    let staging_only = only_staging(&command.command);
    let stage_chunk = matches!(command.command, Command::StageZoneRecords { .. });
    if let Command::Group { writes } = &command.command {
        // Each write is audited as its own, with its own actor, when it was applied.
        state.last_change = log_index;
        for (write, member) in writes.iter().zip(&members) {
            if member.is_ok() {
                push_audit(state, log_index, command.at, &write.actor, &write.command);
            }
        }
    } else if !only_reports(&command.command) && !stage_chunk {
        if !matches!(command.command, Command::RecordRefusal { .. }) && !staging_only {
            state.last_change = log_index;
        }
        push_audit(
            state,
            log_index,
            command.at,
            &command.actor,
            &command.command,
        );
    }
    Ok(CmdResult {
        version: log_index,
        changed,
        members,
    })
}

/// What `validate` says of a `Command::Group`: only the leader forms one, from writes it
/// validated one by one.
const GROUP_NOT_WRITTEN: &str = "a group of writes is formed by the leader, not written";

/// Appends one audit entry, dropping the oldest beyond `AUDIT_RETAINED`.
fn push_audit(
    state: &mut State,
    log_index: u64,
    at: u64,
    actor: &crate::model::audit::Actor,
    command: &Command,
) {
    state.audit.push_back(AuditEntry {
        version: log_index,
        at,
        actor: actor.clone(),
        summary: command.to_string(),
    });
    while state.audit.len() > AUDIT_RETAINED {
        state.audit.pop_front();
    }
}

/// Applies a group's writes one after another, each checked against the state the ones
/// before it left and applied (with its own serial move) or rejected on its own, as if each
/// were an entry of its own. Returns each one's outcome.
fn run_group(
    state: &mut State,
    writes: &[super::GroupedWrite],
    log_index: u64,
    at: u64,
) -> Vec<Result<bool, FieldErrors>> {
    writes
        .iter()
        .map(|write| {
            let mut errors = FieldErrors::default();
            if !super::GroupedWrite::may_group(&write.command) {
                errors.push("", "this write cannot share an entry with others");
                return Err(errors);
            }
            check(state, &write.command, "", log_index, &mut errors);
            if !errors.is_empty() {
                return Err(errors);
            }
            let mut serials_before = SerialsBefore::new();
            let changed =
                mutate_zone_content(state, &write.command, at, log_index, &mut serials_before);
            move_serials(state, serials_before, at);
            Ok(changed)
        })
        .collect()
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
        if matches!(
            command,
            Command::StageZoneRecords { .. }
                | Command::CommitStagedZone { .. }
                | Command::AbortStagedZone { .. }
        ) {
            errors.push(path, "a staged zone import cannot be part of a batch");
            continue;
        }
        let before = errors.0.len();
        check(state, command, &path, log_index, errors);
        if errors.0.len() == before {
            // Mutating after a failure elsewhere is harmless: the scratch copy is dropped.
            changed |= mutate_zone_content(state, command, at, log_index, &mut serials_before);
        }
    }
    move_serials(state, serials_before, at);
    changed
}

/// Per zone whose content a command changed: its SOA before the first change (`None` for a
/// zone the command created) and the record sets touched, as they were before.
type SerialsBefore = BTreeMap<DomainName, ZoneBefore>;

/// One zone's content before a command changed it.
struct ZoneBefore {
    /// The SOA then; `None` when the command created the zone.
    soa: Option<Soa>,
    /// The record sets the command touched, as they were then.
    sets: SetsBefore,
    /// Whether the command replaced the zone whole (a staged import): no difference is kept.
    whole: bool,
}

/// `mutate`, noting in `serials_before` the zone whose content it changed, if any, with the
/// record sets it touched as they were (the IXFR history's difference), and in
/// `State::zones_changed` a zone added or removed.
fn mutate_zone_content(
    state: &mut State,
    command: &Command,
    at: u64,
    log_index: u64,
    serials_before: &mut SerialsBefore,
) -> bool {
    let touched = zone_content_of(state, command);
    let before = touched.as_ref().map(|apex| {
        let zone = state.zones.get(apex).map(|zone| &**zone);
        let sets = zone_history::sets_at(zone, touched_sets(state, command));
        (zone.map(|zone| zone.soa.clone()), sets)
    });
    let zones_before = state.zones.len();
    let changed = mutate(state, command, at);
    if state.zones.len() != zones_before {
        state.zones_changed = log_index;
        state
            .zone_history
            .retain(|apex, _| state.zones.contains_key(apex));
    }
    if let (true, Some(apex), Some((soa, sets))) = (changed, touched, before) {
        let entry = serials_before.entry(apex).or_insert_with(|| ZoneBefore {
            soa,
            sets: SetsBefore::new(),
            whole: false,
        });
        for (key, set) in sets {
            entry.sets.entry(key).or_insert(set);
        }
    }
    changed
}

/// Installs a staged import's prepared zone (`staging::commit`), noting it in
/// `serials_before` as replaced whole and in `State::zones_changed` when it is new.
fn commit_staged_zone(
    state: &mut State,
    import_id: &str,
    zone: Zone,
    log_index: u64,
    serials_before: &mut SerialsBefore,
) -> bool {
    let apex = zone.apex.clone();
    let soa = state.zones.get(&apex).map(|old| old.soa.clone());
    let created = soa.is_none();
    let (changed, _) = staging::commit(state, import_id, zone);
    if changed {
        if created {
            state.zones_changed = log_index;
        }
        serials_before.insert(
            apex,
            ZoneBefore {
                soa,
                sets: SetsBefore::new(),
                whole: true,
            },
        );
    }
    changed
}

/// The (owner, type) keys of the static record sets `command` writes: one for a record set
/// write, every set of the old and the new zone for a whole zone.
fn touched_sets(state: &State, command: &Command) -> Vec<(DomainName, RecordType)> {
    match command {
        Command::PutZone { zone } => {
            let old = state.zones.get(&zone.apex);
            old.into_iter()
                .flat_map(|old| old.rrsets.iter())
                .chain(zone.rrsets.iter())
                .map(|set| (set.name.clone(), set.rtype))
                .collect()
        }
        Command::PutRecordSet { rrset, .. } => vec![(rrset.name.clone(), rrset.rtype)],
        Command::DeleteRecordSet { name, rtype, .. } => vec![(name.clone(), *rtype)],
        Command::Guarded { command, .. } => touched_sets(state, command),
        _ => Vec::new(),
    }
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
        Command::DnsUpdate { update } => Some(update.zone.clone()),
        // The DNSKEY RRset is zone content: secondaries and caches see a new serial.
        Command::EnableDnssec { zone, .. }
        | Command::DisableDnssec { zone }
        | Command::PutDnssecKey { zone, .. }
        | Command::DeleteDnssecKey { zone, .. }
        | Command::DnssecRolloverStep { zone, .. } => Some(zone.clone()),
        _ => None,
    }
}

/// Moves the serial of every zone a committed command changed, once per command whatever
/// the number of changes in it: a serial written explicitly is kept when it moves forward
/// (RFC 1982), otherwise the zone's policy takes the next one after the serial before. A
/// zone the command created keeps the serial it was given. Each move is recorded in the
/// zone's IXFR history with the static records that changed.
fn move_serials(state: &mut State, serials_before: SerialsBefore, at: u64) {
    for (apex, before) in serials_before {
        let (Some(zone), Some(soa_before)) = (state.zones.get_mut(&apex), before.soa) else {
            continue;
        };
        let zone = Arc::make_mut(zone);
        zone.soa.serial = serial::serial_after_explicit(
            soa_before.serial,
            zone.soa.serial,
            zone.serial_policy,
            at,
        );
        if before.whole {
            // A staged import replaced the zone whole: no difference is kept for it, so an
            // IXFR from any older serial falls back to a full transfer.
            state.zone_history.remove(&apex);
            continue;
        }
        let (removed, added) = zone_history::diff_sets(zone, &before.sets);
        let diff = ZoneDiff {
            from: soa_before,
            to: zone.soa.clone(),
            removed,
            added,
        };
        zone_history::record_diff(state.zone_history.entry(apex).or_default(), diff);
    }
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
            put(&mut state.zones, zone.apex.clone(), Arc::new(zone))
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
            let signed = state.dnssec.remove(apex).is_some();
            state.dnssec_schedules.remove(apex);
            state.zones.remove(apex).is_some() || !doomed.is_empty() || signed
        }
        Command::PutZoneTransfer { zone, transfer } => match state.zones.get_mut(zone) {
            Some(existing) if existing.transfer != *transfer => {
                Arc::make_mut(existing).transfer = transfer.clone();
                true
            }
            _ => false,
        },
        Command::PutRecordSet { zone, rrset } => {
            let Some(existing) = state.zones.get_mut(zone) else {
                return false;
            };
            if existing.rrset(&rrset.name, rrset.rtype) == Some(rrset) {
                return false;
            }
            replace_rrset(Arc::make_mut(existing), rrset.clone());
            true
        }
        Command::DeleteRecordSet { zone, name, rtype } => {
            let Some(existing) = state.zones.get_mut(zone) else {
                return false;
            };
            if existing.rrset(name, *rtype).is_none() {
                return false;
            }
            // Copies the zone's top level only: its record sets share every chunk but the
            // one written (`RecordSets`).
            Arc::make_mut(existing).rrsets.take(name, *rtype).is_some()
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
        Command::PutTsigKey { key } => put(&mut state.tsig_keys, key.name.clone(), key.clone()),
        Command::DeleteTsigKey { name } => state.tsig_keys.remove(name).is_some(),
        Command::PutUnsignedUpdateSources { zone, sources } => {
            if sources.is_empty() {
                state.unsigned_update_sources.remove(zone).is_some()
            } else {
                put(
                    &mut state.unsigned_update_sources,
                    zone.clone(),
                    sources.clone(),
                )
            }
        }
        Command::DnsUpdate { update } => match evaluate_update(state, update) {
            Ok(zone) => put(&mut state.zones, zone.apex.clone(), Arc::new(zone)),
            Err(_) => false,
        },
        // `apply` stages a chunk and installs a commit through `staging::prepare`; a batch
        // refuses both, so none reaches here.
        Command::StageZoneRecords { .. } | Command::CommitStagedZone { .. } => false,
        Command::AbortStagedZone { import_id } => state.staged_imports.remove(import_id).is_some(),
        Command::EnableDnssec { zone, key, zsk } => {
            let keys = crate::model::dnssec::ZoneKeys {
                keys: std::iter::once(key).chain(zsk).cloned().collect(),
                enabled_at: at,
                last_rollover_at: None,
                incoming: Vec::new(),
            };
            match state.dnssec.get(zone) {
                Some(existing) if existing.keys == keys.keys => false,
                _ => {
                    state.dnssec.insert(zone.clone(), keys);
                    true
                }
            }
        }
        Command::DisableDnssec { zone } => {
            state.dnssec_schedules.remove(zone);
            state.dnssec.remove(zone).is_some()
        }
        Command::SetDnssecPolicy { zone, policy } => {
            if !state.dnssec.contains_key(zone) {
                return false;
            }
            let schedule = state.dnssec_schedules.entry(zone.clone()).or_default();
            let changed = schedule.policy != *policy;
            schedule.policy = policy.clone();
            changed
        }
        Command::DnssecRolloverStep {
            zone,
            step,
            key,
            zsk,
            kind,
        } => {
            let Some(keys) = state.dnssec.get_mut(zone) else {
                return false;
            };
            let schedule = state.dnssec_schedules.entry(zone.clone()).or_default();
            let new_keys: Vec<_> = key.iter().chain(zsk).cloned().collect();
            // `check` ran the same step on copies: it cannot fail here.
            crate::model::rollover::take_step(keys, schedule, *step, &new_keys, *kind, at).is_ok()
        }
        Command::PutDnssecKey { zone, key } => {
            let Some(keys) = state.dnssec.get_mut(zone) else {
                return false;
            };
            match keys.keys.iter_mut().find(|other| other.tag == key.tag) {
                Some(existing) if existing == key => return false,
                Some(existing) => *existing = key.clone(),
                None => keys.keys.push(key.clone()),
            }
            keys.last_rollover_at = Some(at);
            true
        }
        Command::DeleteDnssecKey { zone, tag } => {
            let Some(keys) = state.dnssec.get_mut(zone) else {
                return false;
            };
            let before = keys.keys.len();
            keys.keys.retain(|key| key.tag != *tag);
            let changed = keys.keys.len() != before;
            if changed {
                keys.last_rollover_at = Some(at);
            }
            changed
        }
        Command::Guarded { command, .. } => mutate(state, command, at),
        Command::Batch { .. } => unreachable!("batches are unrolled by run_batch"),
        Command::Group { .. } => unreachable!("groups are unrolled by run_group"),
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

#[cfg(test)]
mod tests {
    use super::*;

    use crate::command::test_support::*;
    use crate::model::drill::DrillUpdate;
    use crate::model::member::Member;
    use crate::model::network::Network;
    use crate::model::region::Region;

    use crate::model::member::{NodeRole, RaftRole};

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

    /// A group applies each write on its own against the state the ones before it left:
    /// one that does not fit is rejected alone, the others land, each audited with its own
    /// actor, each record write moving the zone's serial once, all at one version.
    #[test]
    fn a_group_applies_each_write_on_its_own() {
        use crate::command::GroupedWrite;
        use crate::model::audit::Actor;
        use crate::model::record::{RData, RecordSet};
        let record = |owner: &str, address: [u8; 4]| Command::PutRecordSet {
            zone: name("example.com."),
            rrset: RecordSet {
                name: name(owner),
                rtype: RecordType::A,
                ttl: 60,
                rdata: vec![RData::A(address.into())],
            },
        };
        let write = |who: &str, command: Command| GroupedWrite {
            actor: Actor::new(who),
            command,
        };
        let mut state = State::default();
        apply(
            &mut state,
            &stamped(Command::PutZone { zone: zone() }, 1),
            1,
        )
        .unwrap();
        let group = Command::Group {
            writes: vec![
                write("alice", record("a.example.com.", [192, 0, 2, 1])),
                write("bob", record("b.other.test.", [192, 0, 2, 2])),
                write(
                    "carol",
                    Command::PutRegion {
                        region: region("eu-1"),
                    },
                ),
                write(
                    "dave",
                    Command::PutEndpoint {
                        endpoint: endpoint("web-1", "eu-1"),
                    },
                ),
                write("erin", record("a.example.com.", [192, 0, 2, 1])),
                write("frank", Command::Batch { commands: vec![] }),
            ],
        };
        assert!(
            validate(&state, &group).is_err(),
            "only the leader forms groups"
        );
        let result = apply(&mut state, &stamped(group, 7), 2).unwrap();
        assert_eq!(result.version, 2);
        assert!(result.changed);
        let outcomes: Vec<Option<bool>> = result
            .members
            .iter()
            .map(|member| member.as_ref().ok().copied())
            .collect();
        assert_eq!(
            outcomes,
            vec![Some(true), None, Some(true), Some(true), Some(false), None],
            "{:?}",
            result.members
        );
        assert!(result.members[1]
            .as_ref()
            .unwrap_err()
            .to_string()
            .contains("zone"));
        assert_eq!(state.version, 2);
        assert_eq!(state.endpoints.len(), 1, "dave saw carol's region");
        let served = &state.zones[&name("example.com.")];
        assert_eq!(
            served.soa.serial, 2,
            "one serial move for the one write that changed it"
        );
        let audited: Vec<(&str, u64)> = state
            .audit
            .iter()
            .map(|entry| (entry.actor.who.as_str(), entry.version))
            .collect();
        assert_eq!(
            &audited[1..],
            &[("alice", 2), ("carol", 2), ("dave", 2), ("erin", 2)]
        );
        // The same writes as entries of their own leave the same content.
        let mut one_by_one = State::default();
        apply(
            &mut one_by_one,
            &stamped(Command::PutZone { zone: zone() }, 1),
            1,
        )
        .unwrap();
        for (index, command) in [
            record("a.example.com.", [192, 0, 2, 1]),
            Command::PutRegion {
                region: region("eu-1"),
            },
            Command::PutEndpoint {
                endpoint: endpoint("web-1", "eu-1"),
            },
        ]
        .into_iter()
        .enumerate()
        {
            apply(&mut one_by_one, &stamped(command, 7), index as u64 + 2).unwrap();
        }
        assert_eq!(one_by_one.zones, state.zones);
        assert_eq!(one_by_one.endpoints, state.endpoints);
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

#[cfg(test)]
mod dnssec_tests {
    use crate::command::test_support::*;
    use crate::command::{ApplyError, CmdResult, Command};
    use crate::model::dnssec::{DnssecAlgorithm, DnssecKey, KeyState};
    use crate::model::state::State;

    fn key(tag: u16, state: KeyState) -> DnssecKey {
        DnssecKey {
            tag,
            algorithm: DnssecAlgorithm::EcdsaP256Sha256,
            flags: 257,
            state,
            public_key: format!("{tag:04x}").repeat(32),
            sealed_private_key: "00".repeat(60),
            created_at: 1,
        }
    }

    fn apex() -> crate::model::DomainName {
        name("example.com.")
    }

    /// `run` from where every test here starts, `example.com.` created (result 0) and signed
    /// with key 1 (result 1), then `then` (results 2...).
    fn run_on_signed_zone(then: Vec<Command>) -> (State, Vec<Result<CmdResult, ApplyError>>) {
        let signed = vec![
            Command::PutZone { zone: zone() },
            Command::EnableDnssec {
                zone: apex(),
                key: key(1, KeyState::Active),
                zsk: None,
            },
        ];
        run([signed, then].concat())
    }

    #[test]
    fn keys_follow_enable_rollover_and_disable() {
        let (state, results) = run_on_signed_zone(vec![
            // A repeat of the same enable changes nothing.
            Command::EnableDnssec {
                zone: apex(),
                key: key(1, KeyState::Active),
                zsk: None,
            },
            Command::PutDnssecKey {
                zone: apex(),
                key: key(2, KeyState::Active),
            },
            Command::DeleteDnssecKey {
                zone: apex(),
                tag: 1,
            },
        ]);
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        assert!(!results[2].as_ref().unwrap().changed);
        let keys = &state.dnssec[&apex()];
        assert_eq!(keys.keys.iter().map(|key| key.tag).collect::<Vec<_>>(), [2]);
        assert_eq!(keys.last_rollover_at, Some(5000));
        // Signing changes the zone's content: its serial moved.
        assert!(state.zones[&apex()].soa.serial > 1);

        let (state, _) = run_on_signed_zone(vec![Command::DisableDnssec { zone: apex() }]);
        assert!(state.dnssec.is_empty());
    }

    #[test]
    fn a_zone_never_loses_its_last_signing_key() {
        let (state, results) = run_on_signed_zone(vec![
            Command::DeleteDnssecKey {
                zone: apex(),
                tag: 1,
            },
            Command::PutDnssecKey {
                zone: apex(),
                key: key(1, KeyState::Retired),
            },
            Command::EnableDnssec {
                zone: apex(),
                key: key(3, KeyState::Active),
                zsk: None,
            },
            Command::EnableDnssec {
                zone: name("other.com."),
                key: key(4, KeyState::Active),
                zsk: None,
            },
        ]);
        assert_eq!(
            messages(&results[2]),
            ["tag: example.com. would have no signing key"]
        );
        assert_eq!(
            messages(&results[3]),
            ["key.state: example.com. would have no signing key"]
        );
        assert_eq!(
            messages(&results[4]),
            ["zone: example.com. is signed already (roll its keys over instead)"]
        );
        assert_eq!(messages(&results[5]), ["zone: no zone other.com."]);
        assert_eq!(state.dnssec[&apex()].keys, [key(1, KeyState::Active)]);
    }

    #[test]
    fn deleting_a_zone_forgets_its_keys() {
        let (state, _) = run_on_signed_zone(vec![Command::DeleteZone { apex: apex() }]);
        assert!(state.dnssec.is_empty());
    }
}
