//! `ZonePlan`: one zone compiled for answering — a hash table of every name (empty
//! non-terminals included) keyed by the name's lower-cased wire form relative to the apex,
//! each node pointing at its pre-rendered RRsets in one byte arena.
//!
//! Lookup follows RFC 1034 §4.3.2 and RFC 4592: an exact match answers; a name at or below a
//! delegation is a referral; otherwise the closest encloser is the longest existing ancestor,
//! and `*.<closest encloser>` answers for the name if it exists, else NXDOMAIN. Because
//! empty non-terminals are nodes, a wildcard never matches a name that exists.
//!
//! A GSLB record's name is a node like any other; its entry (`SetRole::Gslb`) points into the
//! plan's `GslbTable` instead of the arena, and its RRs are chosen per query.
//!
//! Invariant: lookups never allocate; a node and an RRset entry are 16 octets each, so a
//! million single-record names cost about 64 MiB (measured by `examples/plan_scale.rs`).

use gslb_model::{RecordType, Zone};

use crate::plan::gslb::GslbName;
use crate::plan::index::NameIndex;
use crate::plan::render;
use crate::wire::QueryName;

/// `Node::cut` for a node that is not at or below a delegation.
pub(crate) const NO_CUT: u32 = u32::MAX;

/// What a pre-rendered block of RRs is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum SetRole {
    /// The RRset itself, owned by the question-name placeholder.
    Answer,
    /// A/AAAA of the in-zone targets of the node's NS/MX/SRV set of the same type, owners
    /// written in full: glue for a referral, additional data for an answer.
    Additional,
    /// A GSLB record of this type: `start` is its index in the plan's `GslbTable`, `count`
    /// and `len` are 0; its RRs are chosen per query (`plan::gslb`).
    Gslb,
}

/// One name of the zone.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Node {
    /// Where the key (relative wire form) starts in `ZonePlan::keys`.
    key_start: u32,
    /// Key length in octets (≤ 254).
    key_len: u8,
    /// Number of RRset entries.
    sets_len: u8,
    /// First RRset entry in `ZonePlan::sets`.
    sets_start: u32,
    /// The topmost delegation at or above this node, or `NO_CUT`.
    cut: u32,
}

/// One pre-rendered RRset (or the additional records that go with one).
#[derive(Debug, Clone, Copy)]
pub(crate) struct SetEntry {
    /// TYPE code.
    pub(crate) rtype: u16,
    /// Whether this is the RRset or its additional records.
    pub(crate) role: SetRole,
    /// Number of RRs.
    pub(crate) count: u16,
    /// Start in `ZonePlan::data`.
    pub(crate) start: u32,
    /// Length in octets.
    pub(crate) len: u32,
}

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

/// One zone, compiled.
#[derive(Clone)]
pub struct ZonePlan {
    /// The apex in lower-cased wire form.
    apex: Box<[u8]>,
    /// Number of labels of the apex.
    apex_labels: usize,
    /// Keys of all nodes, back to back.
    keys: Vec<u8>,
    /// All nodes; node 0 is the apex.
    nodes: Vec<Node>,
    /// Key → node.
    index: NameIndex,
    /// RRset entries, grouped by node, sorted by type within a node.
    sets: Vec<SetEntry>,
    /// Rendered RRs.
    data: Vec<u8>,
    /// The SOA rendered with the negative TTL (RFC 2308 §5), for NXDOMAIN/NODATA.
    negative_soa: SetEntry,
}

impl std::fmt::Debug for ZonePlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZonePlan")
            .field("apex", &QueryName::from_wire(&self.apex))
            .field("nodes", &self.nodes.len())
            .field("rrsets", &self.sets.len())
            .field("data_bytes", &self.data.len())
            .finish()
    }
}

fn key_of<'a>(keys: &'a [u8], nodes: &[Node], node: u32) -> &'a [u8] {
    let node = &nodes[node as usize];
    &keys[node.key_start as usize..node.key_start as usize + node.key_len as usize]
}

impl ZonePlan {
    /// Compiles `zone`. Tolerates unvalidated input: sets outside the zone, SOA sets and
    /// RDATA of the wrong type are skipped, duplicate (name, type) sets keep the first.
    pub fn compile(zone: &Zone) -> ZonePlan {
        ZonePlan::compile_with(zone, &[])
    }

    /// Compiles `zone` with the GSLB records that live in it: each name becomes a node
    /// carrying a `SetRole::Gslb` entry. A static set of the same name and type wins (the
    /// store refuses such a pair; this only keeps hand-built states answerable).
    pub(crate) fn compile_with(zone: &Zone, gslb: &[GslbName]) -> ZonePlan {
        let apex = zone.apex.to_wire();
        let apex_len = apex.len();
        let mut plan = ZonePlan {
            apex: apex.into_boxed_slice(),
            apex_labels: zone.apex.label_count(),
            keys: Vec::new(),
            nodes: Vec::new(),
            index: NameIndex::with_capacity(zone.rrsets.len() + 1),
            sets: Vec::new(),
            data: Vec::new(),
            negative_soa: SetEntry {
                rtype: RecordType::SOA.code(),
                role: SetRole::Answer,
                count: 1,
                start: 0,
                len: 0,
            },
        };
        plan.ensure_node(&[]);
        let mut pending: Vec<(u32, SetEntry)> = Vec::with_capacity(zone.rrsets.len() + 1);
        let mut delegations = Vec::new();
        let mut scratch = Vec::with_capacity(256);
        for set in &zone.rrsets {
            if !set.name.is_subdomain_of(&zone.apex) || set.rtype == RecordType::SOA {
                continue;
            }
            scratch.clear();
            set.name.write_wire(&mut scratch);
            let node = plan.ensure_node(&scratch[..scratch.len() - apex_len]);
            let start = plan.data.len();
            let mut count = 0u16;
            for rdata in &set.rdata {
                if rdata.record_type() == set.rtype
                    && count < u16::MAX
                    && render::write_record(&mut plan.data, set.rtype.code(), set.ttl, rdata)
                {
                    count += 1;
                }
            }
            if count == 0 {
                continue;
            }
            pending.push((
                node,
                SetEntry {
                    rtype: set.rtype.code(),
                    role: SetRole::Answer,
                    count,
                    start: start as u32,
                    len: (plan.data.len() - start) as u32,
                },
            ));
            if set.rtype == RecordType::NS && node != 0 {
                delegations.push(node);
            }
        }
        let mut dynamic: Vec<(u32, SetEntry)> = Vec::with_capacity(gslb.len());
        for record in gslb {
            if !record.name.is_subdomain_of(&zone.apex) {
                continue;
            }
            scratch.clear();
            record.name.write_wire(&mut scratch);
            let node = plan.ensure_node(&scratch[..scratch.len() - apex_len]);
            dynamic.push((
                node,
                SetEntry {
                    rtype: record.rtype.code(),
                    role: SetRole::Gslb,
                    count: 0,
                    start: record.index,
                    len: 0,
                },
            ));
        }
        let start = plan.data.len();
        render::write_soa(&mut plan.data, &zone.soa, zone.soa.ttl);
        pending.push((
            0,
            SetEntry {
                rtype: RecordType::SOA.code(),
                role: SetRole::Answer,
                count: 1,
                start: start as u32,
                len: (plan.data.len() - start) as u32,
            },
        ));
        let start = plan.data.len();
        render::write_soa(&mut plan.data, &zone.soa, zone.soa.negative_ttl());
        plan.negative_soa.start = start as u32;
        plan.negative_soa.len = (plan.data.len() - start) as u32;

        pending.sort_by_key(|(node, entry)| (*node, entry.rtype));
        pending.dedup_by_key(|(node, entry)| (*node, entry.rtype));
        if !delegations.is_empty() {
            plan.mark_cuts(delegations.iter().copied());
        }
        let added = plan.add_additionals(&mut pending);
        if added || !dynamic.is_empty() {
            // Added after the additionals, which must only see static A/AAAA.
            pending.extend(dynamic);
            pending.sort_by_key(|(node, entry)| (*node, entry.rtype, entry.role));
        }

        plan.sets.reserve_exact(pending.len());
        for (node, entry) in pending {
            let node = &mut plan.nodes[node as usize];
            if node.sets_len == 0 {
                node.sets_start = plan.sets.len() as u32;
            }
            node.sets_len = node.sets_len.saturating_add(1);
            plan.sets.push(entry);
        }
        plan.keys.shrink_to_fit();
        plan.nodes.shrink_to_fit();
        plan.data.shrink_to_fit();
        plan
    }

    /// Renders, for every NS/MX/SRV set, the A/AAAA of its targets inside the zone (owners in
    /// full) as an `Additional` entry of the same node and type. For a delegation's NS these
    /// are the glue (targets at or below any cut qualify); otherwise occluded targets are
    /// left out, as they are not authoritative data. Returns true when it added entries.
    fn add_additionals(&mut self, pending: &mut Vec<(u32, SetEntry)>) -> bool {
        let n_sets = pending.len();
        let mut added = false;
        for index in 0..n_sets {
            let (owner, set) = pending[index];
            let target_offset = match set.rtype {
                2 => 0,  // NS: the name
                15 => 2, // MX: preference, exchange
                33 => 6, // SRV: priority, weight, port, target
                _ => continue,
            };
            let is_referral = set.rtype == RecordType::NS.code() && owner != 0;
            let start = self.data.len();
            let mut count = 0u16;
            // Targets already rendered: two records naming one target add its addresses once
            // (RFC 2181 §5.5: no duplicate RRs in a section).
            let mut rendered_targets: Vec<u32> = Vec::new();
            let mut pos = set.start as usize;
            let end = (set.start + set.len) as usize;
            while pos + 12 <= end {
                let rdlength = u16::from_be_bytes([self.data[pos + 10], self.data[pos + 11]]);
                let rdata = (pos + 12, pos + 12 + rdlength as usize);
                pos = rdata.1;
                let Some(target) = self
                    .data
                    .get(rdata.0 + target_offset..rdata.1)
                    .and_then(QueryName::from_wire)
                else {
                    continue;
                };
                if !self.contains(&target) {
                    continue;
                }
                let key_len = target.wire_len() - self.apex.len();
                let Some(node) = self.find(&target.as_wire()[..key_len]) else {
                    continue;
                };
                if !is_referral && self.nodes[node as usize].cut != NO_CUT {
                    continue;
                }
                if rendered_targets.contains(&node) {
                    continue;
                }
                rendered_targets.push(node);
                let first = pending[..n_sets].partition_point(|(n, _)| *n < node);
                for (_, entry) in pending[first..n_sets]
                    .iter()
                    .take_while(|(n, _)| *n == node)
                {
                    if entry.rtype == RecordType::A.code() || entry.rtype == RecordType::AAAA.code()
                    {
                        let (from, to) = (entry.start as usize, (entry.start + entry.len) as usize);
                        let block = self.data[from..to].to_vec();
                        render::write_with_owner(&mut self.data, target.as_wire(), &block);
                        count = count.saturating_add(entry.count);
                    }
                }
            }
            if count > 0 {
                added = true;
                pending.push((
                    owner,
                    SetEntry {
                        rtype: set.rtype,
                        role: SetRole::Additional,
                        count,
                        start: start as u32,
                        len: (self.data.len() - start) as u32,
                    },
                ));
            }
        }
        added
    }

    /// Records, for every node at or below a delegation, the topmost such delegation.
    fn mark_cuts(&mut self, cuts: impl Iterator<Item = u32>) {
        let mut is_cut = vec![false; self.nodes.len()];
        for cut in cuts {
            is_cut[cut as usize] = true;
        }
        for node in 0..self.nodes.len() {
            let key = key_of(&self.keys, &self.nodes, node as u32);
            // Walk the ancestors from just below the apex down to the node itself.
            let mut offsets = [0u8; 128];
            let mut n_labels = 0;
            let mut pos = 0;
            while pos < key.len() {
                offsets[n_labels] = pos as u8;
                n_labels += 1;
                pos += 1 + key[pos] as usize;
            }
            let mut cut = NO_CUT;
            for label in (0..n_labels).rev() {
                let ancestor = &key[offsets[label] as usize..];
                if let Some(found) = self.find(ancestor) {
                    if is_cut[found as usize] {
                        cut = found;
                        break;
                    }
                }
            }
            self.nodes[node].cut = cut;
        }
    }

    /// The node with `key`, creating it and its missing ancestors (empty non-terminals).
    fn ensure_node(&mut self, key: &[u8]) -> u32 {
        if let Some(node) = self.find(key) {
            return node;
        }
        if !key.is_empty() {
            let parent = &key[(1 + key[0] as usize).min(key.len())..];
            self.ensure_node(parent);
        }
        let node = self.nodes.len() as u32;
        let key_start = self.keys.len();
        self.keys.extend_from_slice(key);
        self.nodes.push(Node {
            key_start: key_start as u32,
            key_len: key.len() as u8,
            sets_len: 0,
            sets_start: 0,
            cut: NO_CUT,
        });
        let ZonePlan {
            keys, nodes, index, ..
        } = self;
        index.insert(&keys[key_start..], node, |n| key_of(keys, nodes, n));
        node
    }

    /// The node whose relative key is `key`.
    pub(crate) fn find(&self, key: &[u8]) -> Option<u32> {
        self.index
            .find(key, |node| key_of(&self.keys, &self.nodes, node))
    }

    /// The apex in lower-cased wire form.
    pub(crate) fn apex(&self) -> &[u8] {
        &self.apex
    }

    /// Number of labels of the apex.
    pub(crate) fn apex_labels(&self) -> usize {
        self.apex_labels
    }

    /// Number of names (empty non-terminals included).
    pub fn name_count(&self) -> usize {
        self.nodes.len()
    }

    /// Approximate heap use in octets.
    pub fn heap_bytes(&self) -> usize {
        self.keys.capacity()
            + self.nodes.capacity() * std::mem::size_of::<Node>()
            + self.index.heap_bytes()
            + self.sets.capacity() * std::mem::size_of::<SetEntry>()
            + self.data.capacity()
    }

    /// True when `name` is the apex.
    pub(crate) fn is_apex(&self, name: &QueryName) -> bool {
        name.eq_wire(&self.apex)
    }

    /// True when `name` (inside the zone) is a delegation point.
    pub(crate) fn is_cut(&self, name: &QueryName) -> bool {
        matches!(self.lookup(name), Lookup::Referral { at_cut: true, .. })
    }

    /// True when `name` is the apex or below it.
    pub(crate) fn contains(&self, name: &QueryName) -> bool {
        name.label_count() >= self.apex_labels
            && name.suffix(name.label_count() - self.apex_labels) == &*self.apex
    }

    /// Resolves `name`, which must be inside the zone (`contains`).
    pub(crate) fn lookup(&self, name: &QueryName) -> Lookup {
        let below_apex = name.label_count() - self.apex_labels;
        let rel_end = name.suffix_offset(below_apex);
        let wire = name.as_wire();
        if let Some(node) = self.find(&wire[..rel_end]) {
            let cut = self.nodes[node as usize].cut;
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
            let cut = self.nodes[encloser as usize].cut;
            if cut != NO_CUT {
                return Lookup::Referral { cut, at_cut: false };
            }
            let mut wildcard = [0u8; 256];
            wildcard[0] = 1;
            wildcard[1] = b'*';
            wildcard[2..2 + encloser_key.len()].copy_from_slice(encloser_key);
            return match self.find(&wildcard[..2 + encloser_key.len()]) {
                Some(node) => match self.nodes[node as usize].cut {
                    NO_CUT => Lookup::Wildcard(node),
                    cut => Lookup::Referral { cut, at_cut: false },
                },
                None => Lookup::NxDomain,
            };
        }
        // Unreachable for names inside the zone: the apex (skip = below_apex) always exists.
        Lookup::NxDomain
    }

    /// The entries of `node`, RRsets and additional blocks, by type.
    fn entries(&self, node: u32) -> &[SetEntry] {
        let node = &self.nodes[node as usize];
        &self.sets[node.sets_start as usize..node.sets_start as usize + node.sets_len as usize]
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
        self.nodes[node as usize].key_len as usize
    }

    /// The rendered bytes of an RRset entry (empty for a GSLB entry).
    pub(crate) fn bytes(&self, entry: &SetEntry) -> &[u8] {
        if entry.role == SetRole::Gslb {
            return &[];
        }
        &self.data[entry.start as usize..(entry.start + entry.len) as usize]
    }

    /// The SOA for negative answers.
    pub(crate) fn negative_soa(&self) -> &SetEntry {
        &self.negative_soa
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gslb_model::{DomainName, RData, RecordSet, Soa};

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
            ],
        };
        ZonePlan::compile(&zone)
    }

    /// Looks `text` up and names the outcome: `exact <name>`, `wildcard <name>`,
    /// `referral <cut>` (`at-cut` when the name is the cut), or `nxdomain`.
    fn check(zone: &ZonePlan, text: &str, expected: &str) {
        let wire = name(text).to_wire();
        let query = QueryName::from_wire(&wire).unwrap();
        let describe = |node: u32| {
            let key = key_of(&zone.keys, &zone.nodes, node);
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
                ],
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
            rrsets: Vec::new(),
        }
    }
}
