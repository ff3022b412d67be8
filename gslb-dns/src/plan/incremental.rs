//! Incremental compile: a zone plan brought from one version of its zone to the next by
//! compiling only the names that changed, as a patch over the shared base table
//! (`ZonePlan::patched`).
//!
//! What changed is read from the new zone's edit log (`RecordSets::names_changed_since`):
//! O(edits) for a new version of the state the plan was compiled from, so one record set
//! written in a million costs microseconds to find. Where the log cannot tell (a zone parsed
//! afresh, as a zone-file reload does, or one installed from a snapshot) the names are found
//! by one ordered walk over the old and new record sets (both sorted by name and type, as the
//! model keeps them). The patch holds every name changed since the base
//! was compiled, their ancestors (so an ancestor's data is not hidden by an empty node) and,
//! for the NS/MX/SRV sets among them, their in-zone targets (whose A/AAAA their additional
//! records copy), all compiled from the new zone by the same code as a whole zone. Names
//! that no longer exist are listed as removed.
//!
//! A whole compile is needed (`None`) when a change reaches beyond the names themselves: a
//! delegation added, removed or changed (every name below it has its cut), an A/AAAA that
//! another name's additional records copy, other GSLB names, or a patch grown past
//! `patch_limit`.

use std::collections::BTreeSet;
use std::sync::Arc;

use gslb_model::{DomainName, RData, RecordSet, RecordSets, RecordType, Zone};

use crate::plan::gslb::GslbName;
use crate::plan::zone::{Patch, ZonePlan, ZoneTable};

/// The most names changed since the base was compiled that a patch may hold: past it the zone
/// is compiled whole again, which also keeps lookups in the patch cheap.
pub(crate) fn patch_limit(base_names: usize) -> usize {
    (base_names / 64).max(1024)
}

impl ZonePlan {
    /// This plan, compiled from `old`, brought to `new` (same apex) with `gslb` its GSLB
    /// names, by compiling only the names that changed; `None` when the zone must be compiled
    /// whole (see the module doc).
    pub(crate) fn patched(&self, old: &Zone, new: &Zone, gslb: &[GslbName]) -> Option<ZonePlan> {
        if *self.gslb != *gslb || old.apex != new.apex || !new.rrsets.is_sorted() {
            return None;
        }
        let mut changed = match new.rrsets.names_changed_since(&old.rrsets) {
            // The very same sets (a staged import's, `crate::prepare`): none changed.
            _ if new.rrsets.shares_storage_with(&old.rrsets) => Vec::new(),
            Some(mut names) => {
                names.sort();
                names.dedup();
                names
            }
            None => changed_names(&old.rrsets, &new.rrsets)?,
        };
        if old.soa != new.soa {
            changed.push(new.apex.clone());
        }
        if changed.is_empty() {
            return Some(self.clone());
        }
        let apex_len = new.apex.wire_len();
        for name in &changed {
            if !name.is_subdomain_of(&new.apex) {
                return None;
            }
            let key = &name.as_wire()[..name.wire_len() - apex_len];
            let delegation = |zone: &Zone| {
                *name != zone.apex && sets_at(zone, name).any(|set| set.rtype == RecordType::NS)
            };
            if self.is_target(key) || delegation(old) || delegation(new) {
                return None;
            }
        }
        let mut dirty: Vec<DomainName> = match &self.patch {
            Some(patch) => patch.dirty.clone(),
            None => Vec::new(),
        };
        dirty.extend(changed);
        dirty.sort();
        dirty.dedup();
        if dirty.len() > patch_limit(self.base.name_count()) {
            return None;
        }

        let names = closure(new, &dirty);
        let mut rrsets: Vec<RecordSet> = Vec::new();
        let mut empty_names: Vec<Box<[u8]>> = Vec::new();
        let mut removed: Vec<Box<[u8]>> = Vec::new();
        for name in &names {
            let before = rrsets.len();
            rrsets.extend(sets_at(new, name).cloned());
            if rrsets.len() == before && !gslb.iter().any(|record| record.name == *name) {
                let key: Box<[u8]> = name.as_wire()[..name.wire_len() - apex_len].into();
                if has_descendants(new, gslb, name) {
                    empty_names.push(key);
                } else {
                    removed.push(key);
                }
            }
        }
        let partial = Zone {
            apex: new.apex.clone(),
            soa: new.soa.clone(),
            default_ttl: new.default_ttl,
            rrsets: rrsets.into(),
            serial_policy: new.serial_policy,
            transfer: Default::default(),
        };
        let in_patch: Vec<GslbName> = gslb
            .iter()
            .filter(|record| names.contains(&record.name))
            .cloned()
            .collect();
        let table = ZoneTable::compile_with(&partial, &in_patch, &empty_names, true);
        removed.sort();
        removed.dedup();
        let added = (0..table.name_count() as u32)
            .filter(|&node| self.base.find(table.key(node)).is_none())
            .count();
        let gone = removed
            .iter()
            .filter(|key| self.base.find(key).is_some())
            .count();
        Some(ZonePlan {
            base: Arc::clone(&self.base),
            patch: Some(Arc::new(Patch {
                name_count: self.base.name_count() + added - gone,
                table,
                removed,
                dirty,
            })),
            gslb: Arc::clone(&self.gslb),
        })
    }
}

/// The owner names whose record sets differ between `old` and `new`, in order, by one walk
/// over both; `None` when either is not in canonical (name, type) order (every stored zone
/// is: `Zone::normalize` on each write, the zone-file parser's sort), which `RecordSets`
/// knows without a pass.
fn changed_names(old: &RecordSets, new: &RecordSets) -> Option<Vec<DomainName>> {
    if !old.is_sorted() || !new.is_sorted() {
        return None;
    }
    let mut changed: Vec<DomainName> = Vec::new();
    let (mut old, mut new) = (old.iter().peekable(), new.iter().peekable());
    loop {
        match (old.peek(), new.peek()) {
            (None, None) => break,
            (Some(a), Some(b)) if a.name == b.name && a.rtype == b.rtype => {
                if a != b {
                    changed.push(a.name.clone());
                }
                old.next();
                new.next();
            }
            (Some(a), Some(b)) => {
                if (&a.name, a.rtype) < (&b.name, b.rtype) {
                    changed.push(a.name.clone());
                    old.next();
                } else {
                    changed.push(b.name.clone());
                    new.next();
                }
            }
            (Some(a), None) => {
                changed.push(a.name.clone());
                old.next();
            }
            (None, Some(b)) => {
                changed.push(b.name.clone());
                new.next();
            }
        }
    }
    changed.dedup();
    Some(changed)
}

/// The record sets of `zone` at `name` (by binary search: the zone's sets are sorted by name
/// and type).
fn sets_at<'z>(zone: &'z Zone, name: &'z DomainName) -> impl Iterator<Item = &'z RecordSet> + 'z {
    zone.rrsets.sets_of_name(name)
}

/// True when some record set or GSLB name of the zone lies strictly below `name`: then
/// `name` stays as an empty non-terminal. Descendants sort right after a name's own sets.
fn has_descendants(zone: &Zone, gslb: &[GslbName], name: &DomainName) -> bool {
    let after = zone.rrsets.partition_point(|set| set.name <= *name);
    let below = |other: &DomainName| other != name && other.is_subdomain_of(name);
    zone.rrsets.get(after).is_some_and(|set| below(&set.name))
        || gslb.iter().any(|record| below(&record.name))
}

/// `dirty`, each name's ancestors up to the apex, and (repeated until nothing is added) the
/// in-zone targets of their NS/MX/SRV/NAPTR/SVCB/HTTPS sets with those targets' ancestors.
fn closure(zone: &Zone, dirty: &[DomainName]) -> BTreeSet<DomainName> {
    let mut names: BTreeSet<DomainName> = BTreeSet::new();
    let mut pending: Vec<DomainName> = dirty.to_vec();
    while let Some(name) = pending.pop() {
        let mut current = Some(name);
        while let Some(name) = current {
            if !name.is_subdomain_of(&zone.apex) || names.contains(&name) {
                break;
            }
            for set in sets_at(zone, &name) {
                for rdata in &set.rdata {
                    let target = match rdata {
                        RData::NS(target) => target,
                        other => match other.additional_target() {
                            Some(target) => target,
                            None => continue,
                        },
                    };
                    if target.is_subdomain_of(&zone.apex) && !names.contains(target) {
                        pending.push(target.clone());
                    }
                }
            }
            current = name.parent();
            names.insert(name);
        }
    }
    names
}
