//! The catalog zone (RFC 9432, version 2): a zone derived from the replicated state that
//! lists every zone, so secondaries that read it (Knot, BIND, NSD 4.9+) pick up new zones
//! and drop deleted ones by themselves.
//!
//! Its serial is `State::zones_changed` (the version of the last command that added or
//! removed a zone), so every DNS node derives the same catalog with the same serial from the
//! same state. Member labels are a stable hash of the member zone's name (RFC 9432 §4.1:
//! unique, and the same for a zone as long as it is a member).

use gslb_model::{DomainName, RData, RecordSet, RecordType, Soa, State, Zone};

/// TTL of every catalog record: catalogs are not for resolvers (RFC 9432 §4).
const CATALOG_TTL: u32 = 0;

/// The catalog zone named `apex` for `state`'s zones (the catalog itself never listed).
pub fn catalog_zone(state: &State, apex: &DomainName) -> Zone {
    let invalid = DomainName::parse_absolute("invalid.").expect("a valid name");
    let child =
        |label: &str, parent: &DomainName| DomainName::parse_absolute(&format!("{label}.{parent}"));
    let zones_node = child("zones", apex).ok();
    let mut rrsets = vec![RecordSet {
        name: apex.clone(),
        rtype: RecordType::NS,
        ttl: CATALOG_TTL,
        rdata: vec![RData::NS(invalid.clone())],
    }];
    if let Ok(version) = child("version", apex) {
        rrsets.push(RecordSet {
            name: version,
            rtype: RecordType::TXT,
            ttl: CATALOG_TTL,
            rdata: vec![RData::TXT(vec![b"2".to_vec()])],
        });
    }
    if let Some(zones_node) = &zones_node {
        for member in state.zones.keys().filter(|member| *member != apex) {
            let label = format!("{:016x}", member_hash(member));
            // A member label under a catalog name too long for it is left out rather than
            // made ambiguous; names that long are not realistic catalog names.
            if let Ok(owner) = child(&label, zones_node) {
                rrsets.push(RecordSet {
                    name: owner,
                    rtype: RecordType::PTR,
                    ttl: CATALOG_TTL,
                    rdata: vec![RData::PTR(member.clone())],
                });
            }
        }
    }
    let mut zone = Zone {
        apex: apex.clone(),
        soa: Soa {
            mname: invalid.clone(),
            rname: invalid,
            serial: catalog_serial(state),
            refresh: 60,
            retry: 10,
            expire: 2_419_200,
            minimum: 0,
            ttl: CATALOG_TTL,
        },
        default_ttl: CATALOG_TTL,
        rrsets: rrsets.into(),
        serial_policy: Default::default(),
        transfer: Default::default(),
    };
    zone.normalize();
    zone
}

/// The catalog's serial: the low 32 bits of the version that last added or removed a zone
/// (1 before any did), which only grows and so is always newer in RFC 1982 terms.
pub fn catalog_serial(state: &State) -> u32 {
    (state.zones_changed as u32).max(1)
}

/// FNV-1a 64 of the member's lower-case presentation form: stable across nodes, versions
/// and restarts.
fn member_hash(member: &DomainName) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in member.to_string().bytes() {
        hash ^= u64::from(byte.to_ascii_lowercase());
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> DomainName {
        DomainName::parse_absolute(text).unwrap()
    }

    #[test]
    fn the_catalog_lists_every_zone_once_with_version_two() {
        let mut state = State::default();
        let catalog_apex = name("catalog.invalid.");
        for apex in ["a.test.", "b.test."] {
            let mut zone = catalog_zone(&State::default(), &name(apex));
            zone.apex = name(apex);
            state.zones.insert(name(apex), std::sync::Arc::new(zone));
        }
        state.zones_changed = 42;
        let catalog = catalog_zone(&state, &catalog_apex);
        assert_eq!(catalog.soa.serial, 42);
        let members: Vec<_> = catalog
            .rrsets
            .iter()
            .filter(|set| set.rtype == RecordType::PTR)
            .flat_map(|set| set.rdata.clone())
            .collect();
        assert_eq!(
            members,
            vec![RData::PTR(name("b.test.")), RData::PTR(name("a.test."))]
                .into_iter()
                .filter(|m| members.contains(m))
                .collect::<Vec<_>>()
        );
        assert_eq!(members.len(), 2);
        let version = catalog
            .rrset(&name("version.catalog.invalid."), RecordType::TXT)
            .unwrap();
        assert_eq!(version.rdata, vec![RData::TXT(vec![b"2".to_vec()])]);
        let mut errors = gslb_model::FieldErrors::default();
        catalog.validate("", &mut errors);
        assert!(errors.is_empty(), "{errors}");
        assert_eq!(
            catalog_zone(&state, &catalog_apex),
            catalog,
            "the same state gives the same catalog"
        );
    }
}
