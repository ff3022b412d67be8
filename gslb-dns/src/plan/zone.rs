//! `ZonePlan`: one zone compiled for answering, and its lookup. It is a `ZoneTable`
//! (`table.rs`) of every name, shared between plans, and optionally a patch: a small table of
//! the names changed since that base was compiled (with their ancestors and the targets their
//! additional records copy), plus the names removed since. A name is looked up in the patch
//! first, then (unless removed) in the base, so a one-record change to a million-name zone
//! compiles a few names (`incremental.rs`), not the zone.
//!
//! Lookup follows RFC 1034 §4.3.2 and RFC 4592: an exact match answers; a name at or below a
//! delegation is a referral; otherwise the closest encloser is the longest existing ancestor,
//! and `*.<closest encloser>` answers for the name if it exists, else NXDOMAIN. Because
//! empty non-terminals are nodes, a wildcard never matches a name that exists.
//!
//! Node numbers name a node of the base table, or with `PATCH` set one of the patch table.
//!
//! Invariant: lookups never allocate; a plan with a patch answers every query byte for byte
//! as a plan compiled whole from the same zone (`tests/incremental_compile.rs`).

use std::sync::Arc;

use gslb_model::{DomainName, Zone};

use crate::plan::gslb::GslbName;
use crate::plan::table::{Node, NO_CUT};
pub(crate) use crate::plan::table::{SetEntry, SetRole, ZoneTable};
use crate::wire::{types, QueryName};

/// Set in a node number for a node of the patch table.
pub(crate) const PATCH: u32 = 1 << 31;

/// What a name resolves to inside one zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// The name exists (possibly as an empty non-terminal).
    Exact(u32),
    /// The name does not exist but `*.<closest encloser>` does (RFC 4592 §3.3.1).
    Wildcard(u32),
    /// The name is at or below the delegation at node `cut`; `at_cut` when it is the cut.
    Referral {
        /// The delegation node.
        cut: u32,
        /// True when the name is the delegation point itself.
        at_cut: bool,
    },
    /// Nothing matches.
    NxDomain,
}

/// One zone, compiled: a base table and, after incremental compiles, a patch over it.
#[derive(Clone)]
pub struct ZonePlan {
    /// Every name as of the last whole compile.
    pub(crate) base: Arc<ZoneTable>,
    /// The names changed since, if any.
    pub(crate) patch: Option<Arc<Patch>>,
    /// The GSLB names the tables were compiled with: their entries index the plan's
    /// `GslbTable`, so a different list needs a whole compile.
    pub(crate) gslb: Arc<[GslbName]>,
}

/// The names of a zone that changed since its base table was compiled.
pub(crate) struct Patch {
    /// The changed names, their ancestors and the targets their NS/MX/SRV sets name, as they
    /// are now (node 0 is the apex, so the SOA is always the patch's).
    pub(crate) table: ZoneTable,
    /// Keys of names the base has that no longer exist, sorted.
    pub(crate) removed: Vec<Box<[u8]>>,
    /// Every name changed since the base was compiled, sorted: the next patch starts from it.
    pub(crate) dirty: Vec<DomainName>,
    /// Number of names of the zone, base and patch together.
    pub(crate) name_count: usize,
}

impl std::fmt::Debug for ZonePlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZonePlan")
            .field("base", &self.base)
            .field("patch", &self.patch.as_ref().map(|patch| &patch.table))
            .finish()
    }
}

impl ZonePlan {
    /// Compiles `zone` whole (see `ZoneTable::compile_with`).
    pub fn compile(zone: &Zone) -> ZonePlan {
        ZonePlan::compile_with(zone, &[])
    }

    /// Compiles `zone` whole with the GSLB records that live in it.
    pub(crate) fn compile_with(zone: &Zone, gslb: &[GslbName]) -> ZonePlan {
        ZonePlan {
            base: Arc::new(ZoneTable::compile_with(zone, gslb, &[], false)),
            patch: None,
            gslb: gslb.into(),
        }
    }

    /// The node whose relative key is `key`: the patch's, else the base's unless removed.
    pub(crate) fn find(&self, key: &[u8]) -> Option<u32> {
        if let Some(patch) = &self.patch {
            if let Some(node) = patch.table.find(key) {
                return Some(node | PATCH);
            }
            if !patch.removed.is_empty()
                && patch
                    .removed
                    .binary_search_by(|removed| (**removed).cmp(key))
                    .is_ok()
            {
                return None;
            }
        }
        self.base.find(key)
    }

    /// The table holding `node` and its number there.
    fn table(&self, node: u32) -> (&ZoneTable, u32) {
        match &self.patch {
            Some(patch) if node & PATCH != 0 => (&patch.table, node & !PATCH),
            _ => (&self.base, node),
        }
    }

    fn node(&self, node: u32) -> &Node {
        let (table, node) = self.table(node);
        table.node(node)
    }

    /// The topmost delegation at or above `node`, or `NO_CUT`. A patch node's cut is in the
    /// patch (its ancestors are there); a base node's cut is unchanged since the base was
    /// compiled (a change to a delegation compiles the zone whole).
    fn cut_of(&self, node: u32) -> u32 {
        match self.node(node).cut {
            NO_CUT => NO_CUT,
            cut => cut | (node & PATCH),
        }
    }

    /// The key (name below the apex, wire form) of `node`.
    #[cfg(test)]
    pub(crate) fn key(&self, node: u32) -> &[u8] {
        let (table, node) = self.table(node);
        table.key(node)
    }

    /// True when the in-zone name `key` is, or would be once it exists, a name whose data
    /// (A/AAAA, SRV, SVCB/HTTPS) other names copy as additional records.
    pub(crate) fn is_target(&self, key: &[u8]) -> bool {
        let in_patch = self
            .patch
            .as_ref()
            .is_some_and(|patch| patch.table.is_target(key));
        in_patch || self.base.is_target(key)
    }

    /// The apex in lower-cased wire form.
    pub(crate) fn apex(&self) -> &[u8] {
        self.base.apex()
    }

    /// Number of labels of the apex.
    pub(crate) fn apex_labels(&self) -> usize {
        self.base.apex_labels()
    }

    /// Number of names (empty non-terminals included).
    pub fn name_count(&self) -> usize {
        match &self.patch {
            Some(patch) => patch.name_count,
            None => self.base.name_count(),
        }
    }

    /// Approximate heap use in octets (the base counted whole, though plans share it).
    pub fn heap_bytes(&self) -> usize {
        self.base.heap_bytes()
            + self.patch.as_ref().map_or(0, |patch| {
                patch.table.heap_bytes()
                    + patch
                        .removed
                        .iter()
                        .map(|key| key.len() + 16)
                        .sum::<usize>()
            })
    }

    /// True when `name` is the apex.
    pub(crate) fn is_apex(&self, name: &QueryName) -> bool {
        name.eq_wire(self.apex())
    }

    /// True when `name` (inside the zone) is a delegation point.
    pub(crate) fn is_cut(&self, name: &QueryName) -> bool {
        matches!(self.lookup(name), Lookup::Referral { at_cut: true, .. })
    }

    /// True when `name` is the apex or below it.
    pub(crate) fn contains(&self, name: &QueryName) -> bool {
        self.base.contains(name)
    }

    /// Resolves `name`, which must be inside the zone (`contains`).
    pub(crate) fn lookup(&self, name: &QueryName) -> Lookup {
        let below_apex = name.label_count() - self.apex_labels();
        let rel_end = name.suffix_offset(below_apex);
        let wire = name.as_wire();
        if let Some(node) = self.find(&wire[..rel_end]) {
            let cut = self.cut_of(node);
            return if cut == NO_CUT {
                Lookup::Exact(node)
            } else {
                Lookup::Referral {
                    cut,
                    at_cut: cut == node,
                }
            };
        }
        for skip in 1..=below_apex {
            let encloser_key = &wire[name.suffix_offset(skip)..rel_end];
            let Some(encloser) = self.find(encloser_key) else {
                continue;
            };
            let cut = self.cut_of(encloser);
            if cut != NO_CUT {
                return Lookup::Referral { cut, at_cut: false };
            }
            let mut wildcard = [0u8; 256];
            wildcard[0] = 1;
            wildcard[1] = b'*';
            wildcard[2..2 + encloser_key.len()].copy_from_slice(encloser_key);
            return match self.find(&wildcard[..2 + encloser_key.len()]) {
                Some(node) => match self.cut_of(node) {
                    NO_CUT => Lookup::Wildcard(node),
                    cut => Lookup::Referral { cut, at_cut: false },
                },
                None => Lookup::NxDomain,
            };
        }
        // Unreachable for names inside the zone: the apex (skip = below_apex) always exists.
        Lookup::NxDomain
    }

    /// For a name that does not exist (`lookup` said `NxDomain`): its closest encloser when
    /// that holds a DNAME, with the number of the name's labels below it (RFC 6672 §3.2).
    pub(crate) fn dname_above(&self, name: &QueryName) -> Option<(u32, usize)> {
        let below_apex = name.label_count() - self.apex_labels();
        let rel_end = name.suffix_offset(below_apex);
        let wire = name.as_wire();
        for skip in 1..=below_apex {
            let Some(encloser) = self.find(&wire[name.suffix_offset(skip)..rel_end]) else {
                continue;
            };
            let has_dname =
                self.cut_of(encloser) == NO_CUT && self.set(encloser, types::DNAME).is_some();
            return has_dname.then_some((encloser, skip));
        }
        None
    }

    /// Number of labels of a node's name (the apex's included, the root's not).
    pub(crate) fn node_labels(&self, node: u32) -> usize {
        let (table, node) = self.table(node);
        let key = table.key(node);
        let mut labels = 0;
        let mut pos = 0;
        while pos < key.len() && key[pos] != 0 {
            pos += 1 + key[pos] as usize;
            labels += 1;
        }
        self.apex_labels() + labels
    }

    /// The entries of `node`, RRsets and additional blocks, by type.
    fn entries(&self, node: u32) -> &[SetEntry] {
        let (table, node) = self.table(node);
        table.entries(node)
    }

    /// The RRsets of `node`, by type: static sets and GSLB entries (a static set sorts
    /// before a GSLB entry of the same type, so it wins).
    pub(crate) fn sets(&self, node: u32) -> impl Iterator<Item = &SetEntry> {
        self.entries(node)
            .iter()
            .filter(|entry| entry.role != SetRole::Additional)
    }

    /// The RRset of `rtype` at `node`.
    pub(crate) fn set(&self, node: u32, rtype: u16) -> Option<&SetEntry> {
        self.sets(node).find(|entry| entry.rtype == rtype)
    }

    /// The additional records (A/AAAA of in-zone targets) for the `rtype` set at `node`.
    pub(crate) fn additional(&self, node: u32, rtype: u16) -> Option<&SetEntry> {
        self.entries(node)
            .iter()
            .find(|entry| entry.rtype == rtype && entry.role == SetRole::Additional)
    }

    /// Length of a node's key, i.e. of its name below the apex in wire form.
    pub(crate) fn key_len(&self, node: u32) -> usize {
        let (table, node) = self.table(node);
        table.key_len(node)
    }

    /// The rendered bytes of an RRset entry (empty for a GSLB entry).
    pub(crate) fn bytes(&self, entry: &SetEntry) -> &[u8] {
        if entry.role == SetRole::Gslb {
            return &[];
        }
        let data = match &self.patch {
            Some(patch) if entry.patched => patch.table.data(),
            _ => self.base.data(),
        };
        &data[entry.start as usize..(entry.start + entry.len) as usize]
    }

    /// The SOA for negative answers.
    pub(crate) fn negative_soa(&self) -> &SetEntry {
        match &self.patch {
            Some(patch) => patch.table.negative_soa(),
            None => self.base.negative_soa(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gslb_model::{RData, RecordSet, RecordType, Soa};

    fn name(text: &str) -> DomainName {
        DomainName::parse_absolute(text).unwrap()
    }

    fn sample() -> ZonePlan {
        let set = |owner: &str, rdata: RData| RecordSet {
            name: name(owner),
            rtype: rdata.record_type(),
            ttl: 60,
            rdata: vec![rdata],
        };
        let a = RData::A("192.0.2.1".parse().unwrap());
        let zone = Zone {
            serial_policy: Default::default(),
            transfer: Default::default(),
            apex: name("example.com."),
            soa: Soa {
                mname: name("ns.example.com."),
                rname: name("h.example.com."),
                serial: 1,
                refresh: 1,
                retry: 1,
                expire: 1,
                minimum: 30,
                ttl: 60,
            },
            default_ttl: 60,
            rrsets: vec![
                set("example.com.", RData::NS(name("ns.example.com."))),
                set("a.b.example.com.", a.clone()),
                set("*.w.example.com.", a.clone()),
                set("h.w.example.com.", a.clone()),
                set("d.example.com.", RData::NS(name("ns.d.example.com."))),
                set("ns.d.example.com.", a.clone()),
                set("outside.example.net.", a),
            ]
            .into(),
        };
        ZonePlan::compile(&zone)
    }

    /// Looks `text` up and names the outcome: `exact <name>`, `wildcard <name>`,
    /// `referral <cut>` (`at-cut` when the name is the cut), or `nxdomain`.
    fn check(zone: &ZonePlan, text: &str, expected: &str) {
        let wire = name(text).to_wire();
        let query = QueryName::from_wire(&wire).unwrap();
        let describe = |node: u32| {
            let key = zone.key(node);
            let mut wire = key.to_vec();
            wire.extend_from_slice(zone.apex());
            format!("{:?}", QueryName::from_wire(&wire).unwrap())
        };
        let got = match zone.lookup(&query) {
            Lookup::Exact(node) => format!("exact {}", describe(node)),
            Lookup::Wildcard(node) => format!("wildcard {}", describe(node)),
            Lookup::Referral { cut, at_cut } => {
                format!(
                    "referral {}{}",
                    describe(cut),
                    if at_cut { " at-cut" } else { "" }
                )
            }
            Lookup::NxDomain => "nxdomain".to_string(),
        };
        assert_eq!(got, expected, "lookup of {text}");
    }

    #[test]
    fn lookup_follows_rfc1034_section_4_3_2_and_rfc4592() {
        let zone = sample();
        check(&zone, "example.com.", "exact QueryName(example.com.)");
        check(
            &zone,
            "a.b.example.com.",
            "exact QueryName(a.b.example.com.)",
        );
        check(&zone, "b.example.com.", "exact QueryName(b.example.com.)");
        check(&zone, "x.b.example.com.", "nxdomain");
        check(
            &zone,
            "x.w.example.com.",
            "wildcard QueryName(*.w.example.com.)",
        );
        check(
            &zone,
            "y.x.w.example.com.",
            "wildcard QueryName(*.w.example.com.)",
        );
        check(
            &zone,
            "h.w.example.com.",
            "exact QueryName(h.w.example.com.)",
        );
        check(&zone, "w.example.com.", "exact QueryName(w.example.com.)");
        check(
            &zone,
            "d.example.com.",
            "referral QueryName(d.example.com.) at-cut",
        );
        check(
            &zone,
            "ns.d.example.com.",
            "referral QueryName(d.example.com.)",
        );
        check(
            &zone,
            "deep.x.d.example.com.",
            "referral QueryName(d.example.com.)",
        );
        check(&zone, "zz.example.com.", "nxdomain");
    }

    #[test]
    fn entries_stay_small() {
        assert_eq!(std::mem::size_of::<Node>(), 16);
        assert_eq!(std::mem::size_of::<SetEntry>(), 16);
    }

    #[test]
    fn compile_skips_names_outside_the_zone_and_adds_glue() {
        let zone = sample();
        // apex, a.b, b, *.w, w, h.w, d, ns.d
        assert_eq!(zone.name_count(), 8);
        let cut = zone.find(b"\x01d").unwrap();
        let glue = zone.additional(cut, RecordType::NS.code()).unwrap();
        assert_eq!(glue.count, 1);
        assert!(zone
            .bytes(glue)
            .starts_with(b"\x02ns\x01d\x07example\x03com\x00\x00\x01"));
        assert_eq!(zone.bytes(zone.negative_soa())[6..10], 30u32.to_be_bytes());
    }

    /// A GSLB name becomes a node (with its empty non-terminals), its entry is an RRset of
    /// role `Gslb`, and a static set of the same type at the same name wins.
    #[test]
    fn gslb_names_are_nodes_with_dynamic_entries() {
        let gslb = |owner: &str, rtype: RecordType, index: u32| GslbName {
            name: name(owner),
            rtype,
            index,
        };
        let zone = {
            let set = |owner: &str, rdata: RData| RecordSet {
                name: name(owner),
                rtype: rdata.record_type(),
                ttl: 60,
                rdata: vec![rdata],
            };
            Zone {
                rrsets: vec![
                    set("example.com.", RData::NS(name("ns.example.com."))),
                    set("both.example.com.", RData::A("192.0.2.1".parse().unwrap())),
                ]
                .into(),
                ..sample_zone_model()
            }
        };
        let plan = ZonePlan::compile_with(
            &zone,
            &[
                gslb("www.deep.example.com.", RecordType::A, 0),
                gslb("www.deep.example.com.", RecordType::AAAA, 1),
                gslb("both.example.com.", RecordType::A, 2),
                gslb("www.example.net.", RecordType::A, 3),
            ],
        );
        // apex, both, deep (empty non-terminal), www.deep
        assert_eq!(plan.name_count(), 4);
        let www = plan.find(b"\x03www\x04deep").unwrap();
        let a = plan.set(www, RecordType::A.code()).unwrap();
        assert_eq!((a.role, a.start), (SetRole::Gslb, 0));
        assert_eq!(plan.set(www, RecordType::AAAA.code()).unwrap().start, 1);
        assert!(plan.bytes(a).is_empty());
        let both = plan.find(b"\x04both").unwrap();
        assert_eq!(
            plan.set(both, RecordType::A.code()).unwrap().role,
            SetRole::Answer
        );
    }

    fn sample_zone_model() -> Zone {
        Zone {
            serial_policy: Default::default(),
            transfer: Default::default(),
            apex: name("example.com."),
            soa: Soa {
                mname: name("ns.example.com."),
                rname: name("h.example.com."),
                serial: 1,
                refresh: 1,
                retry: 1,
                expire: 1,
                minimum: 30,
                ttl: 60,
            },
            default_ttl: 60,
            rrsets: Vec::new().into(),
        }
    }
}
