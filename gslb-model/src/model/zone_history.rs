//! The bounded per-zone history of differences IXFR answers from (`ZoneDiff`,
//! `record_diff`, `diffs_since`), kept in the `State` so it survives restarts and is the
//! same on every node.
//!
//! The history is written by `apply` (one `ZoneDiff` per committed command that moved a
//! zone's serial) from the record sets the command touched, read before and after
//! (`sets_at`, `diff_sets`); it holds static records only. GSLB names are answered at
//! transfer time, so a zone that transfers GSLB names is always sent in full (RFC 1995 §4
//! lets a server answer IXFR with AXFR).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::name::DomainName;
use crate::model::record::{RecordSet, RecordType};
use crate::model::zone::{Soa, Zone};

/// Most differences kept per zone; an IXFR from an older serial gets the whole zone.
pub const HISTORY_DIFFS: usize = 100;
/// Most records (removed plus added) kept in one zone's history, so a zone rewritten whole
/// again and again does not grow the state without bound.
pub const HISTORY_RECORDS: usize = 100_000;

/// What one committed change did to a zone's static records: the IXFR difference sequence
/// from `from.serial` to `to.serial` (RFC 1995 §4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneDiff {
    /// The SOA before the change.
    pub from: Soa,
    /// The SOA after the change.
    pub to: Soa,
    /// Records the change removed, grouped in record sets of the removed data only.
    pub removed: Vec<RecordSet>,
    /// Records the change added, grouped likewise.
    pub added: Vec<RecordSet>,
}

impl ZoneDiff {
    /// Records removed plus added.
    pub fn record_count(&self) -> usize {
        self.removed
            .iter()
            .chain(&self.added)
            .map(|set| set.rdata.len())
            .sum()
    }
}

/// The record sets a command touched, as they were before its first change: (owner, type)
/// → the set then, `None` where there was none.
pub type SetsBefore = BTreeMap<(DomainName, RecordType), Option<RecordSet>>;

/// The sets at `keys` in `zone` as they are now (`None` where there is none, or no zone):
/// what `diff_sets` later compares with.
pub fn sets_at(zone: Option<&Zone>, keys: Vec<(DomainName, RecordType)>) -> SetsBefore {
    let lookup = SetLookup::new(zone, keys.len());
    keys.into_iter()
        .map(|key| {
            let set = lookup.get(&key.0, key.1).cloned();
            (key, set)
        })
        .collect()
}

/// Finds a zone's sets by owner and type: by a scan for a few, through an index for many
/// (a whole zone rewritten touches every set), so a large zone costs O(n log n), not O(n²).
struct SetLookup<'a> {
    zone: Option<&'a Zone>,
    index: Option<BTreeMap<(&'a DomainName, RecordType), &'a RecordSet>>,
}

impl<'a> SetLookup<'a> {
    fn new(zone: Option<&'a Zone>, lookups: usize) -> SetLookup<'a> {
        let index = zone.filter(|_| lookups > 16).map(|zone| {
            zone.rrsets
                .iter()
                .map(|set| ((&set.name, set.rtype), set))
                .collect()
        });
        SetLookup { zone, index }
    }

    fn get(&self, name: &DomainName, rtype: RecordType) -> Option<&'a RecordSet> {
        match &self.index {
            Some(index) => index.get(&(name, rtype)).copied(),
            None => self.zone.and_then(|zone| zone.rrset(name, rtype)),
        }
    }
}

/// The difference between the sets `before` and the zone's sets now: a record whose TTL
/// changed is removed and added again, as secondaries store TTLs per record.
pub fn diff_sets(zone: &Zone, before: &SetsBefore) -> (Vec<RecordSet>, Vec<RecordSet>) {
    let lookup = SetLookup::new(Some(zone), before.len());
    let (mut removed, mut added) = (Vec::new(), Vec::new());
    for ((name, rtype), old) in before {
        let new = lookup.get(name, *rtype);
        let leaving = minus(old.as_ref(), new);
        let arriving = minus(new, old.as_ref());
        removed.extend(leaving);
        added.extend(arriving);
    }
    (removed, added)
}

/// The records of `a` not in `b` (a TTL change counts as different), as one set or none.
fn minus(a: Option<&RecordSet>, b: Option<&RecordSet>) -> Option<RecordSet> {
    let a = a?;
    let rdata: Vec<_> = match b {
        Some(b) if b.ttl == a.ttl => a
            .rdata
            .iter()
            .filter(|rdata| !b.rdata.contains(rdata))
            .cloned()
            .collect(),
        _ => a.rdata.clone(),
    };
    (!rdata.is_empty()).then(|| RecordSet {
        name: a.name.clone(),
        rtype: a.rtype,
        ttl: a.ttl,
        rdata,
    })
}

/// Appends `diff` to a zone's history and drops the oldest differences beyond
/// `HISTORY_DIFFS` or `HISTORY_RECORDS` (a single difference larger than that is not kept
/// at all: the history restarts after it, and older serials get the whole zone).
pub fn record_diff(history: &mut imbl::Vector<ZoneDiff>, diff: ZoneDiff) {
    if diff.record_count() > HISTORY_RECORDS {
        history.clear();
        return;
    }
    history.push_back(diff);
    let mut total: usize = history.iter().map(ZoneDiff::record_count).sum();
    while history.len() > HISTORY_DIFFS || total > HISTORY_RECORDS {
        let Some(oldest) = history.pop_front() else {
            break;
        };
        total -= oldest.record_count();
    }
}

/// The differences that lead from `serial` to the zone's current serial, oldest first, or
/// `None` when the history does not reach back to `serial` unbroken.
pub fn diffs_since(
    history: &imbl::Vector<ZoneDiff>,
    serial: u32,
    current: u32,
) -> Option<Vec<&ZoneDiff>> {
    let start = history.iter().position(|diff| diff.from.serial == serial)?;
    let chain: Vec<&ZoneDiff> = history.iter().skip(start).collect();
    let unbroken = chain
        .windows(2)
        .all(|pair| pair[0].to.serial == pair[1].from.serial);
    (unbroken && chain.last()?.to.serial == current).then_some(chain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::record::RData;

    fn name(text: &str) -> DomainName {
        DomainName::parse_absolute(text).unwrap()
    }

    fn soa(serial: u32) -> Soa {
        Soa {
            mname: name("ns1.example.com."),
            rname: name("hostmaster.example.com."),
            serial,
            refresh: 3600,
            retry: 600,
            expire: 86400,
            minimum: 300,
            ttl: 3600,
        }
    }

    fn a_set(owner: &str, ttl: u32, addresses: &[&str]) -> RecordSet {
        RecordSet {
            name: name(owner),
            rtype: RecordType::A,
            ttl,
            rdata: addresses
                .iter()
                .map(|a| RData::A(a.parse().unwrap()))
                .collect(),
        }
    }

    fn zone_with(rrsets: Vec<RecordSet>) -> Zone {
        Zone {
            apex: name("example.com."),
            soa: soa(1),
            default_ttl: 300,
            rrsets: rrsets.into(),
            serial_policy: Default::default(),
            transfer: Default::default(),
        }
    }

    #[test]
    fn a_diff_names_removed_and_added_records_and_ttl_changes() {
        let zone = zone_with(vec![
            a_set("www.example.com.", 300, &["192.0.2.1", "192.0.2.3"]),
            a_set("new.example.com.", 300, &["192.0.2.9"]),
            a_set("ttl.example.com.", 60, &["192.0.2.5"]),
        ]);
        let mut before = SetsBefore::new();
        before.insert(
            (name("www.example.com."), RecordType::A),
            Some(a_set("www.example.com.", 300, &["192.0.2.1", "192.0.2.2"])),
        );
        before.insert((name("new.example.com."), RecordType::A), None);
        before.insert(
            (name("gone.example.com."), RecordType::A),
            Some(a_set("gone.example.com.", 300, &["192.0.2.7"])),
        );
        before.insert(
            (name("ttl.example.com."), RecordType::A),
            Some(a_set("ttl.example.com.", 300, &["192.0.2.5"])),
        );
        let (removed, added) = diff_sets(&zone, &before);
        assert_eq!(
            removed,
            vec![
                a_set("gone.example.com.", 300, &["192.0.2.7"]),
                a_set("ttl.example.com.", 300, &["192.0.2.5"]),
                a_set("www.example.com.", 300, &["192.0.2.2"]),
            ]
        );
        assert_eq!(
            added,
            vec![
                a_set("new.example.com.", 300, &["192.0.2.9"]),
                a_set("ttl.example.com.", 60, &["192.0.2.5"]),
                a_set("www.example.com.", 300, &["192.0.2.3"]),
            ]
        );
    }

    #[test]
    fn the_history_is_bounded_and_answers_only_unbroken_chains() {
        let mut history = imbl::Vector::new();
        for serial in 1..=(HISTORY_DIFFS as u32 + 5) {
            record_diff(
                &mut history,
                ZoneDiff {
                    from: soa(serial),
                    to: soa(serial + 1),
                    removed: vec![],
                    added: vec![a_set("x.example.com.", 300, &["192.0.2.1"])],
                },
            );
        }
        assert_eq!(history.len(), HISTORY_DIFFS);
        let current = HISTORY_DIFFS as u32 + 6;
        assert!(diffs_since(&history, 1, current).is_none(), "too old");
        let chain = diffs_since(&history, current - 3, current).unwrap();
        assert_eq!(chain.len(), 3);
        assert!(diffs_since(&history, current - 3, current + 1).is_none());

        let huge = ZoneDiff {
            from: soa(1),
            to: soa(2),
            removed: vec![],
            added: vec![a_set("x.example.com.", 300, &["192.0.2.1"]); HISTORY_RECORDS + 1],
        };
        record_diff(&mut history, huge);
        assert!(
            history.is_empty(),
            "a diff beyond the bound restarts the history"
        );
    }
}
