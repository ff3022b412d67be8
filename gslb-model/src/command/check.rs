//! Every check of one command against the state it would meet, each fault named by its field
//! path (`rrsets[2].rdata[0]`, `commands[1].location.country` inside a batch).
//!
//! Invariant: reads the state, never changes it; `apply.rs` runs these before every mutation.

use super::collisions::{check_rrset_against_gslb, check_zone_against_gslb};
use super::{field_path, staging, Command, MAX_REFUSAL_LEN};
use crate::model::dns_update::{evaluate_update, validate_unsigned_sources};
use crate::model::drill::{Drill, DrillMode, DrillStatus};
use crate::model::gslb_record::{check_against_zone, GslbRecord, Target, WhenAllDown};
use crate::model::health;
use crate::model::name::DomainName;
use crate::model::overrides::OverrideTarget;
use crate::model::precondition::Expected;
use crate::model::record::{RecordSet, RecordType};
use crate::model::state::State;
use crate::model::validation::FieldErrors;
use crate::model::zone::Zone;

/// Every check for one non-batch command against `state`. `log_index` is 0 when validating
/// before proposal (its own index is unknown then).
pub(super) fn check(
    state: &State,
    command: &Command,
    path: &str,
    log_index: u64,
    errors: &mut FieldErrors,
) {
    match command {
        Command::PutZone { zone } => {
            zone.validate(&field_path(path, "zone"), errors);
            check_zone_against_gslb(state, zone, &field_path(path, "zone"), errors);
        }
        Command::DeleteZone { .. } => {}
        Command::PutZoneTransfer { zone, transfer } => {
            let Some(existing) = state.zones.get(zone) else {
                errors.push(field_path(path, "zone"), format!("no zone {zone}"));
                return;
            };
            transfer.validate(
                &existing.apex,
                &format!("{}.", field_path(path, "transfer")),
                errors,
            );
            let known = |name: &str| {
                DomainName::parse_absolute(&format!("{name}."))
                    .is_ok_and(|name| state.tsig_keys.contains_key(&name))
            };
            if let Some(key) = transfer.notify_key.as_deref().filter(|key| !known(key)) {
                errors.push(
                    format!("{}.notify_key", field_path(path, "transfer")),
                    format!("no tsig key {key}"),
                );
            }
        }
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
            let mut next = Zone::clone(existing);
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
        Command::PutCheck { check } => check.validate(
            &field_path(path, "check"),
            &state.regions,
            &state.endpoints,
            errors,
        ),
        Command::DeleteCheck { .. } => {}
        Command::ReportObservations {
            vantage,
            observations,
        } => health::validate_report(
            &state.checks,
            &state.regions,
            vantage,
            observations,
            path,
            errors,
        ),
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
        Command::StageZoneRecords {
            import_id,
            apex,
            chunk,
            rrsets,
            ..
        } => staging::check_stage(state, import_id, apex, *chunk, rrsets, path, errors),
        Command::CommitStagedZone {
            import_id, zone, ..
        } => staging::check_commit(state, import_id, zone, path, errors),
        Command::AbortStagedZone { import_id } => {
            staging::check_import_id(import_id, &field_path(path, "import_id"), errors)
        }
        Command::EnableDnssec { zone, key, zsk } => {
            if !state.zones.contains_key(zone) {
                errors.push(field_path(path, "zone"), format!("no zone {zone}"));
            }
            key.validate(&field_path(path, "key"), errors);
            if let Some(zsk) = zsk {
                zsk.validate(&field_path(path, "zsk"), errors);
                if zsk.is_entry_point() || !key.is_entry_point() || !zsk.signs() {
                    errors.push(
                        field_path(path, "zsk"),
                        "a split zone starts with an active KSK (257) and an active ZSK (256)"
                            .to_string(),
                    );
                }
            }
            if !key.signs() {
                errors.push(
                    field_path(path, "key.state"),
                    "the first key must be active".to_string(),
                );
            }
            if let Some(existing) = state.dnssec.get(zone) {
                let same = existing.keys.first() == Some(key)
                    && existing.keys.get(1) == zsk.as_ref()
                    && existing.keys.len() == 1 + usize::from(zsk.is_some());
                if !same {
                    errors.push(
                        field_path(path, "zone"),
                        format!("{zone} is signed already (roll its keys over instead)"),
                    );
                }
            }
        }
        Command::DisableDnssec { .. } => {}
        Command::SetDnssecPolicy { zone, policy } => {
            if !state.dnssec.contains_key(zone) {
                errors.push(field_path(path, "zone"), format!("{zone} is not signed"));
            }
            policy.validate(&field_path(path, "policy"), errors);
        }
        Command::DnssecRolloverStep {
            zone,
            step,
            key,
            zsk,
            kind,
        } => {
            if let Some(key) = key {
                key.validate(&field_path(path, "key"), errors);
            }
            if let Some(zsk) = zsk {
                zsk.validate(&field_path(path, "zsk"), errors);
            }
            let new_keys: Vec<_> = key.iter().chain(zsk).cloned().collect();
            match state.dnssec.get(zone) {
                None => errors.push(field_path(path, "zone"), format!("{zone} is not signed")),
                Some(keys) => {
                    let mut keys = keys.clone();
                    let mut schedule = state
                        .dnssec_schedules
                        .get(zone)
                        .cloned()
                        .unwrap_or_default();
                    if let Err(message) = crate::model::rollover::take_step(
                        &mut keys,
                        &mut schedule,
                        *step,
                        &new_keys,
                        *kind,
                        0,
                    ) {
                        errors.push(field_path(path, "step"), message);
                    }
                }
            }
        }
        Command::PutDnssecKey { zone, key } => {
            key.validate(&field_path(path, "key"), errors);
            match state.dnssec.get(zone) {
                None => errors.push(field_path(path, "zone"), format!("{zone} is not signed")),
                Some(keys) => {
                    let others_sign = keys.signing().any(|other| other.tag != key.tag);
                    if !key.signs() && !others_sign {
                        errors.push(
                            field_path(path, "key.state"),
                            format!("{zone} would have no signing key"),
                        );
                    }
                    let clash = keys
                        .keys
                        .iter()
                        .any(|other| other.tag == key.tag && other.public_key != key.public_key);
                    if clash {
                        errors.push(
                            field_path(path, "key.tag"),
                            format!("{zone} has another key with tag {}", key.tag),
                        );
                    }
                }
            }
        }
        Command::DeleteDnssecKey { zone, tag } => {
            if let Some(keys) = state.dnssec.get(zone) {
                if keys.key(*tag).is_some() && !keys.signing().any(|other| other.tag != *tag) {
                    errors.push(
                        field_path(path, "tag"),
                        format!("{zone} would have no signing key"),
                    );
                }
            }
        }
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
                Command::Batch { .. } | Command::Group { .. } | Command::Guarded { .. }
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
        Command::PutTsigKey { key } => key.validate(&field_path(path, "key"), errors),
        Command::DeleteTsigKey { .. } => {}
        Command::PutUnsignedUpdateSources { zone, sources } => {
            if !state.zones.contains_key(zone) {
                errors.push(field_path(path, "zone"), format!("no zone {zone}"));
            }
            validate_unsigned_sources(&field_path(path, "sources"), sources, errors);
        }
        Command::DnsUpdate { update } => {
            if let Err(refusal) = evaluate_update(state, update) {
                refusal.push_to(path, errors);
            }
        }
        Command::Batch { .. } => errors.push(path, "a batch cannot contain a batch"),
        Command::Group { .. } => errors.push(path, "a group cannot be part of another write"),
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
        rrsets: zone
            .related_sets(&rrset.name)
            .into_iter()
            .cloned()
            .collect(),
        ..zone.empty_like()
    };
    replace_rrset(&mut local, rrset.clone());
    let mut local_errors = FieldErrors::default();
    local.validate("", &mut local_errors);
    local_errors.is_empty()
}

/// Replaces (or inserts) the set with `rrset`'s name and type, keeping canonical order.
pub(super) fn replace_rrset(zone: &mut Zone, rrset: RecordSet) {
    zone.rrsets.put(rrset);
    zone.normalize();
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::command::test_support::*;
    use crate::command::validate;
    use crate::model::drill::DrillUpdate;

    use crate::model::gslb_record::{PolicyNode, WhenAllDown};

    use crate::model::record::RData;

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
        broken_zone.rrsets.get_mut(0).unwrap().rdata.clear();
        let error = validate(&state, &Command::PutZone { zone: broken_zone })
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("zone.rrsets[0].rdata: must hold at least one record"),
            "{error}"
        );
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
}
