//! `Zone` and `Soa`: one authoritative zone with its static record sets, and the rules that
//! make a zone servable (RFC 1034 §4.2.1, RFC 1912, RFC 2181).

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write;

use serde::{Deserialize, Serialize};

use crate::model::name::DomainName;
use crate::model::record::{RData, RecordSet, RecordType, MAX_TTL};
use crate::model::serial::SerialPolicy;
use crate::model::transfer::ZoneTransfer;
use crate::model::validation::FieldErrors;
use crate::model::zone_sets::RecordSets;
use crate::model::zone_walk::ZoneWalk;

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
    /// (name, type) and unique per (name, type) once validated. A persistent vector that
    /// notes which names each write edited (`RecordSets`): writing one set of a big zone
    /// copies O(log n), and a DNS node compiles only the names edited.
    pub rrsets: RecordSets,
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
        self.rrset(&self.apex, RecordType::NS)
            .into_iter()
            .flat_map(|set| set.rdata.iter())
            .filter_map(|rdata| match rdata {
                RData::NS(name) => Some(name),
                _ => None,
            })
    }

    /// The record set at `name` of `rtype`, if any (a binary search in a normalized zone).
    pub fn rrset(&self, name: &DomainName, rtype: RecordType) -> Option<&RecordSet> {
        let index = self.rrsets.position(name, rtype)?;
        self.rrsets.get(index)
    }

    /// A zone with this one's apex, SOA and settings but no record sets: the frame of a
    /// partial zone validated in place of the whole.
    pub fn empty_like(&self) -> Zone {
        Zone {
            serial_policy: self.serial_policy,
            transfer: self.transfer.clone(),
            apex: self.apex.clone(),
            soa: self.soa.clone(),
            default_ttl: self.default_ttl,
            rrsets: RecordSets::new(),
        }
    }

    /// The sets a set owned by `name` can conflict with: those at `name`, at the names
    /// above it (a delegation cut, the apex) and at the names below it (what a new cut would
    /// occlude). In a normalized zone they are found by binary search (the names below one
    /// sort right after it), O(labels · log n + found); otherwise by a scan.
    pub fn related_sets(&self, name: &DomainName) -> Vec<&RecordSet> {
        let sets = &self.rrsets;
        if !sets.is_sorted() {
            return sets
                .iter()
                .filter(|set| name.is_subdomain_of(&set.name) || set.name.is_subdomain_of(name))
                .collect();
        }
        let mut ancestors: Vec<DomainName> = Vec::new();
        let mut above = name.parent();
        while let Some(ancestor) = above.filter(|ancestor| ancestor.is_subdomain_of(&self.apex)) {
            above = ancestor.parent();
            ancestors.push(ancestor);
        }
        let mut related: Vec<&RecordSet> = Vec::new();
        for ancestor in ancestors.iter().rev() {
            if let Some(range) = sets.positions_of_name(ancestor) {
                related.extend(sets.range(range));
            }
        }
        let start = sets.partition_point(|set| set.name < *name);
        related.extend(
            sets.range(start..sets.len())
                .take_while(|set| set.name.is_subdomain_of(name)),
        );
        related
    }

    /// Sorts the record sets into canonical order; call before `validate` or storing.
    pub fn normalize(&mut self) {
        self.rrsets.normalize();
    }

    /// Checks everything that would make the zone unservable or ambiguous, reporting every
    /// problem with its path below `path` (e.g. `zones[0]`).
    pub fn validate(&self, path: &str, errors: &mut FieldErrors) {
        let prefix = if path.is_empty() {
            String::new()
        } else {
            format!("{path}.")
        };
        self.validate_header(&prefix, errors);
        // The sets by position with O(1) access (the persistent vector's is O(log n)).
        let rrsets: Vec<&RecordSet> = self.rrsets.iter().collect();
        // The sets in (name, type) order, equal keys in index order (a stable sort; a linear
        // pass for a normalized zone): duplicates and the types of a name are neighbours, so
        // no map per set or per name is built, which keeps a million-set zone cheap.
        let mut order: Vec<u32> = (0..rrsets.len() as u32).collect();
        if !self.rrsets.is_sorted() {
            order.sort_by(|&a, &b| {
                let (a, b) = (rrsets[a as usize], rrsets[b as usize]);
                (&a.name, a.rtype).cmp(&(&b.name, b.rtype))
            });
        }
        let same_key = |a: u32, b: u32| {
            let (a, b) = (rrsets[a as usize], rrsets[b as usize]);
            a.name == b.name && a.rtype == b.rtype
        };
        // A repeated (name, type) names the one before it, as in index order.
        let mut previous_of: BTreeMap<u32, u32> = BTreeMap::new();
        for pair in order.windows(2) {
            if same_key(pair[0], pair[1]) {
                previous_of.insert(pair[1], pair[0]);
            }
        }
        let mut set_path = String::new();
        for (index, set) in rrsets.iter().enumerate() {
            set_path.clear();
            let _ = write!(set_path, "{prefix}rrsets[{index}]");
            if let Some(first) = previous_of.get(&(index as u32)) {
                errors.push(
                    set_path.clone(),
                    format!(
                        "duplicate record set {} {} (also rrsets[{first}])",
                        set.name, set.rtype
                    ),
                );
            }
            check_record_set(&self.apex, set, &set_path, errors);
        }
        let path_of = |index: u64| format!("{prefix}rrsets[{index}]");
        let mut walk = ZoneWalk::default();
        for &index in &order {
            let set = rrsets[index as usize];
            walk.push(
                &self.apex,
                u64::from(index),
                &set.name,
                set.rtype,
                &path_of,
                errors,
            );
        }
        walk.finish(&self.apex, &path_of, &format!("{prefix}rrsets"), errors);
    }

    /// The checks of the zone apart from its record sets (apex, SOA and default TTLs,
    /// transfer settings), each reported under `prefix` (empty, or a path ending in `.`).
    pub fn validate_header(&self, prefix: &str, errors: &mut FieldErrors) {
        self.transfer
            .validate(&self.apex, &format!("{prefix}transfer."), errors);
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
    }
}

/// The checks of one record set on its own, reported under `set_path`: owned inside `apex`,
/// not SOA, TTL in range, at least one record, one record for CNAME/DNAME, every record of
/// the set's type, valid and not repeated. What crosses sets is `ZoneWalk`'s.
pub fn check_record_set(
    apex: &DomainName,
    set: &RecordSet,
    set_path: &str,
    errors: &mut FieldErrors,
) {
    if !set.name.is_subdomain_of(apex) {
        errors.push(
            format!("{set_path}.name"),
            format!("{} is outside zone {apex}", set.name),
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
    let mut distinct: HashSet<&RData> = HashSet::new();
    // A record's path is written out only for a fault: a million valid records cost no text.
    let rdata_path = |rindex: usize| format!("{set_path}.rdata[{rindex}]");
    let mut faults = FieldErrors::default();
    for (rindex, rdata) in set.rdata.iter().enumerate() {
        if rdata.record_type() != set.rtype {
            errors.push(
                rdata_path(rindex),
                format!("{} data in a {} set", rdata.record_type(), set.rtype),
            );
        }
        rdata.validate("", &mut faults);
        if !faults.is_empty() {
            faults = FieldErrors::default();
            rdata.validate(&rdata_path(rindex), errors);
        }
        let repeated = if set.rdata.len() <= 8 {
            set.rdata[..rindex].contains(rdata)
        } else {
            !distinct.insert(rdata)
        };
        if repeated {
            errors.push(rdata_path(rindex), "duplicate record in the set");
        }
    }
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
            rrsets: rrsets.into(),
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
