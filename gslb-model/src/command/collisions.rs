//! Static data against GSLB records: a zone or record set refused where it would collide
//! with a GSLB record (the same name and type, a CNAME beside other data, a delegation
//! hiding GSLB names). `check` runs them for `PutZone` and record-set writes, `staging` for
//! the zone a staged import commits.

use super::field_path;
use crate::model::gslb_record::{check_against_zone, GslbRecord};
use crate::model::name::DomainName;
use crate::model::record::{RecordSet, RecordType};
use crate::model::state::State;
use crate::model::validation::FieldErrors;
use crate::model::zone::Zone;

/// Refuses a zone whose static data would collide with a GSLB record that lives (or would
/// live, once the zone exists) in it.
pub(super) fn check_zone_against_gslb(
    state: &State,
    zone: &Zone,
    path: &str,
    errors: &mut FieldErrors,
) {
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
pub(super) fn check_rrset_against_gslb(
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
