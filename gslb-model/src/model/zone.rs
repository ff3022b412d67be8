//! `Zone` and `Soa`: one authoritative zone with its static record sets, and the rules that
//! make a zone servable (RFC 1034 §4.2.1, RFC 1912, RFC 2181).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::model::name::DomainName;
use crate::model::record::{RData, RecordSet, RecordType, MAX_TTL};
use crate::model::serial::SerialPolicy;
use crate::model::transfer::ZoneTransfer;
use crate::model::validation::FieldErrors;

/// The start-of-authority data of a zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Soa {
    /// Primary name server (MNAME).
    pub mname: DomainName,
    /// Mailbox of the person responsible, in name form (RNAME).
    pub rname: DomainName,
    /// Zone serial; secondaries compare it with RFC 1982 arithmetic.
    pub serial: u32,
    /// Seconds between secondaries' refresh attempts.
    pub refresh: u32,
    /// Seconds between retries of a failed refresh.
    pub retry: u32,
    /// Seconds after which a secondary stops answering without a refresh.
    pub expire: u32,
    /// The negative-caching TTL (RFC 2308 §4): NXDOMAIN/NODATA answers carry
    /// `min(ttl, minimum)`.
    pub minimum: u32,
    /// TTL of the SOA record itself.
    pub ttl: u32,
}

impl Soa {
    /// TTL for negative answers (RFC 2308 §5): the smaller of the SOA's TTL and MINIMUM.
    pub fn negative_ttl(&self) -> u32 {
        self.ttl.min(self.minimum)
    }
}

/// One zone we are authoritative for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Zone {
    /// The zone's origin, e.g. `svc.example.com.`.
    pub apex: DomainName,
    /// The SOA record of the apex.
    pub soa: Soa,
    /// TTL given to records created without one.
    pub default_ttl: u32,
    /// Static record sets, the apex NS set (required) and glue included; sorted by
    /// (name, type) and unique per (name, type) once validated.
    pub rrsets: Vec<RecordSet>,
    /// How `apply` moves the SOA serial on each committed change to the zone's content
    /// (absent in states written before serials moved: `increment`).
    #[serde(default, skip_serializing_if = "is_default_policy")]
    pub serial_policy: SerialPolicy,
    /// Who may transfer the zone and which secondaries are notified (absent: nobody).
    #[serde(default, skip_serializing_if = "ZoneTransfer::is_empty")]
    pub transfer: ZoneTransfer,
}

fn is_default_policy(policy: &SerialPolicy) -> bool {
    *policy == SerialPolicy::default()
}

impl Zone {
    /// The apex NS names (the zone's own name servers).
    pub fn apex_ns(&self) -> impl Iterator<Item = &DomainName> {
        self.rrsets
            .iter()
            .filter(|set| set.name == self.apex && set.rtype == RecordType::NS)
            .flat_map(|set| set.rdata.iter())
            .filter_map(|rdata| match rdata {
                RData::NS(name) => Some(name),
                _ => None,
            })
    }

    /// The record set at `name` of `rtype`, if any.
    pub fn rrset(&self, name: &DomainName, rtype: RecordType) -> Option<&RecordSet> {
        self.rrsets
            .iter()
            .find(|set| &set.name == name && set.rtype == rtype)
    }

    /// Sorts the record sets into canonical order; call before `validate` or storing.
    pub fn normalize(&mut self) {
        self.rrsets
            .sort_by(|a, b| (&a.name, a.rtype).cmp(&(&b.name, b.rtype)));
    }

    /// Checks everything that would make the zone unservable or ambiguous, reporting every
    /// problem with its path below `path` (e.g. `zones[0]`).
    pub fn validate(&self, path: &str, errors: &mut FieldErrors) {
        let prefix = if path.is_empty() {
            String::new()
        } else {
            format!("{path}.")
        };
        self.transfer
            .validate(self, &format!("{prefix}transfer."), errors);
        if self.apex.is_root() {
            errors.push(format!("{prefix}apex"), "the root zone cannot be served");
        }
        for (field, value) in [
            ("soa.ttl", self.soa.ttl),
            ("soa.minimum", self.soa.minimum),
            ("default_ttl", self.default_ttl),
        ] {
            if value > MAX_TTL {
                errors.push(
                    format!("{prefix}{field}"),
                    format!("must be ≤ {MAX_TTL}, got {value}"),
                );
            }
        }
        let mut seen: BTreeMap<(&DomainName, RecordType), usize> = BTreeMap::new();
        let mut types_at: BTreeMap<&DomainName, BTreeSet<RecordType>> = BTreeMap::new();
        let mut delegations: BTreeSet<&DomainName> = BTreeSet::new();
        for (index, set) in self.rrsets.iter().enumerate() {
            let set_path = format!("{prefix}rrsets[{index}]");
            if !set.name.is_subdomain_of(&self.apex) {
                errors.push(
                    format!("{set_path}.name"),
                    format!("{} is outside zone {}", set.name, self.apex),
                );
            }
            if set.rtype == RecordType::SOA {
                errors.push(
                    format!("{set_path}.type"),
                    "SOA is held by the zone's soa field, not as a record set",
                );
            }
            if set.ttl > MAX_TTL {
                errors.push(
                    format!("{set_path}.ttl"),
                    format!("must be ≤ {MAX_TTL}, got {}", set.ttl),
                );
            }
            if set.rdata.is_empty() {
                errors.push(format!("{set_path}.rdata"), "must hold at least one record");
            }
            if let Some(first) = seen.insert((&set.name, set.rtype), index) {
                errors.push(
                    set_path.clone(),
                    format!(
                        "duplicate record set {} {} (also rrsets[{first}])",
                        set.name, set.rtype
                    ),
                );
            }
            types_at.entry(&set.name).or_default().insert(set.rtype);
            if set.rtype == RecordType::NS && set.name != self.apex {
                delegations.insert(&set.name);
            }
            if matches!(set.rtype, RecordType::CNAME | RecordType::DNAME) && set.rdata.len() > 1 {
                errors.push(
                    format!("{set_path}.rdata"),
                    format!(
                        "a {} set holds exactly one record, got {}",
                        set.rtype,
                        set.rdata.len()
                    ),
                );
            }
            let mut distinct = BTreeSet::new();
            for (rindex, rdata) in set.rdata.iter().enumerate() {
                let rdata_path = format!("{set_path}.rdata[{rindex}]");
                if rdata.record_type() != set.rtype {
                    errors.push(
                        rdata_path.clone(),
                        format!("{} data in a {} set", rdata.record_type(), set.rtype),
                    );
                }
                rdata.validate(&rdata_path, errors);
                if !distinct.insert(format!("{rdata:?}")) {
                    errors.push(rdata_path, "duplicate record in the set");
                }
            }
        }
        // Cross-set errors point at the set to blame: the CNAME for CNAME conflicts, else the
        // first set at the owner name, so a zone-file reader can map them to a line.
        let set_path_of = |name: &DomainName, preferred: Option<RecordType>| -> String {
            let index = preferred
                .and_then(|rtype| seen.get(&(name, rtype)).copied())
                .or_else(|| {
                    seen.iter()
                        .find(|((owner, _), _)| *owner == name)
                        .map(|(_, index)| *index)
                });
            match index {
                Some(index) => format!("{prefix}rrsets[{index}]"),
                None => format!("{prefix}rrsets"),
            }
        };
        for (name, types) in &types_at {
            if types.contains(&RecordType::CNAME) && types.len() > 1 {
                errors.push(
                    set_path_of(name, Some(RecordType::CNAME)),
                    format!("{name} has a CNAME and other data ({})", join_types(types)),
                );
            }
            if *name == &self.apex && types.contains(&RecordType::CNAME) {
                errors.push(
                    set_path_of(name, Some(RecordType::CNAME)),
                    format!("the apex {name} cannot be a CNAME"),
                );
            }
        }
        if !types_at
            .get(&self.apex)
            .is_some_and(|types| types.contains(&RecordType::NS))
        {
            errors.push(
                format!("{prefix}rrsets"),
                format!("the apex {} needs an NS record set", self.apex),
            );
        }
        // A DNAME redirects its whole subtree: nothing may live below it (RFC 6672 §2.3).
        let dnames: Vec<&DomainName> = types_at
            .iter()
            .filter(|(_, types)| types.contains(&RecordType::DNAME))
            .map(|(name, _)| *name)
            .collect();
        for name in types_at.keys() {
            if let Some(owner) = dnames
                .iter()
                .find(|owner| name.is_subdomain_of(owner) && name != *owner)
            {
                errors.push(
                    set_path_of(name, None),
                    format!(
                        "{name} lies below the DNAME at {owner}; a DNAME's subtree holds no \
                         data (RFC 6672 §2.3)"
                    ),
                );
            }
        }
        // Below a delegation only glue (A/AAAA) is allowed; anything else would be occluded.
        for (name, types) in &types_at {
            // A DS at the apex is the parent's copy some zone files carry; served as data,
            // as NSD and Knot do.
            if types.contains(&RecordType::DS) && !delegations.contains(name) && *name != &self.apex
            {
                errors.push(
                    set_path_of(name, Some(RecordType::DS)),
                    format!(
                        "{name} DS: a DS belongs at a delegation (beside an NS set below the \
                         apex) or the apex, held by the parent (RFC 4035 §2.4)"
                    ),
                );
            }
            let cut = delegations
                .iter()
                .find(|cut| name.is_subdomain_of(cut) && *name != **cut);
            if let Some(cut) = cut {
                if types
                    .iter()
                    .any(|t| !matches!(t, RecordType::A | RecordType::AAAA))
                {
                    errors.push(
                        set_path_of(name, None),
                        format!("{name} lies below the delegation {cut}; only glue (A/AAAA) may be there"),
                    );
                }
            }
            if delegations.contains(name)
                && types.iter().any(|t| {
                    !matches!(
                        t,
                        RecordType::NS | RecordType::DS | RecordType::A | RecordType::AAAA
                    )
                })
            {
                errors.push(
                    set_path_of(name, None),
                    format!(
                        "{name} is a delegation; only NS, DS and glue may be there ({})",
                        join_types(types)
                    ),
                );
            }
        }
    }
}

fn join_types(types: &BTreeSet<RecordType>) -> String {
    types
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> DomainName {
        DomainName::parse_absolute(text).unwrap()
    }

    fn zone(rrsets: Vec<RecordSet>) -> Zone {
        Zone {
            serial_policy: Default::default(),
            transfer: Default::default(),
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
            rrsets,
        }
    }

    fn set(owner: &str, rdata: Vec<RData>) -> RecordSet {
        RecordSet {
            name: name(owner),
            rtype: rdata[0].record_type(),
            ttl: 300,
            rdata,
        }
    }

    fn errors_of(zone: &Zone) -> Vec<String> {
        let mut errors = FieldErrors::default();
        zone.validate("", &mut errors);
        errors.0.into_iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn a_minimal_zone_is_valid() {
        let zone = zone(vec![set(
            "example.com.",
            vec![RData::NS(name("ns1.example.com."))],
        )]);
        assert_eq!(errors_of(&zone), Vec::<String>::new());
    }

    #[test]
    fn cname_beside_other_data_is_named() {
        let zone = zone(vec![
            set("example.com.", vec![RData::NS(name("ns1.example.com."))]),
            set(
                "www.example.com.",
                vec![RData::CNAME(name("x.example.net."))],
            ),
            set(
                "www.example.com.",
                vec![RData::A("192.0.2.1".parse().unwrap())],
            ),
        ]);
        let errors = errors_of(&zone);
        assert!(
            errors
                .iter()
                .any(|e| e.contains("www.example.com. has a CNAME and other data")),
            "{errors:?}"
        );
    }

    #[test]
    fn missing_apex_ns_and_outside_names_are_reported_together() {
        let zone = zone(vec![set(
            "www.example.org.",
            vec![RData::A("192.0.2.1".parse().unwrap())],
        )]);
        let errors = errors_of(&zone);
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("rrsets[0].name: www.example.org. is outside")),
            "{errors:?}"
        );
        assert!(
            errors.iter().any(|e| e.contains("needs an NS record set")),
            "{errors:?}"
        );
    }

    #[test]
    fn data_below_a_delegation_is_refused() {
        let zone = zone(vec![
            set("example.com.", vec![RData::NS(name("ns1.example.com."))]),
            set(
                "sub.example.com.",
                vec![RData::NS(name("ns.sub.example.com."))],
            ),
            set(
                "ns.sub.example.com.",
                vec![RData::A("192.0.2.1".parse().unwrap())],
            ),
            set("x.sub.example.com.", vec![RData::TXT(vec![b"hi".to_vec()])]),
        ]);
        let errors = errors_of(&zone);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("x.sub.example.com. lies below the delegation"));
    }
}
