//! `ZoneTable`: one zone (or, for an incremental compile, the names of one zone that changed)
//! compiled for answering — a hash table of every name (empty non-terminals included) keyed
//! by the name's lower-cased wire form relative to the apex, each node pointing at its
//! pre-rendered RRsets in one byte arena. `ZonePlan` (`zone.rs`) looks names up in one table,
//! or in a patch table over a shared base table.
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
use crate::wire::{types, QueryName};

/// The most AliasMode links (SVCB/HTTPS) and NAPTR → SRV steps followed for one RRset's
/// additional records (RFC 9460 §4.1 asks for a chain length limit).
const MAX_ADDITIONAL_DEPTH: usize = 8;

/// What one record of an NS, MX, SRV, NAPTR, SVCB or HTTPS set asks of the additional
/// section; offsets are of the name in the RDATA (names uncompressed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wanted {
    /// The A/AAAA of the name at the offset: NS, MX, SRV targets, a NAPTR replacement with
    /// flag "A" (RFC 3403 §4.1), a ServiceMode TargetName (RFC 9460 §4.1 step 3).
    Addresses(usize),
    /// The owner's own A/AAAA: ServiceMode with TargetName "." (RFC 9460 §2.5.2).
    OwnerAddresses,
    /// The RRset of this type at the name at the offset, with what its records ask in turn:
    /// a NAPTR replacement with flag "S" (its SRV, RFC 3403 §4.1).
    Set(u16, usize),
    /// The RRset of this type at the name at the offset, what its records ask in turn, then
    /// the name's A/AAAA: an AliasMode TargetName (RFC 9460 §4.1 step 2).
    SetAndAddresses(u16, usize),
}

/// What the record `rdata` of type `rtype` asks of the additional section; `None` for
/// nothing (other types, NAPTR flags other than "S"/"A", AliasMode to ".", RDATA that ends
/// early).
fn wanted(rtype: u16, rdata: &[u8]) -> Option<Wanted> {
    Some(match rtype {
        types::NS => Wanted::Addresses(0),
        types::MX => Wanted::Addresses(2),
        types::SRV => Wanted::Addresses(6),
        types::NAPTR => {
            // Order, preference, then flags, services, regexp (character-strings), then the
            // replacement.
            let flags_len = usize::from(*rdata.get(4)?);
            let flags = rdata.get(5..5 + flags_len)?;
            let mut offset = 4;
            for _ in 0..3 {
                offset += 1 + usize::from(*rdata.get(offset)?);
            }
            if flags.iter().any(|flag| flag.eq_ignore_ascii_case(&b's')) {
                Wanted::Set(types::SRV, offset)
            } else if flags.iter().any(|flag| flag.eq_ignore_ascii_case(&b'a')) {
                Wanted::Addresses(offset)
            } else {
                return None;
            }
        }
        types::SVCB | types::HTTPS => {
            let alias_mode = rdata.get(..2)? == [0, 0];
            match (alias_mode, *rdata.get(2)? == 0) {
                // AliasMode to "": the service does not exist (RFC 9460 §2.5.1).
                (true, true) => return None,
                (true, false) => Wanted::SetAndAddresses(rtype, 2),
                (false, true) => Wanted::OwnerAddresses,
                (false, false) => Wanted::Addresses(2),
            }
        }
        _ => return None,
    })
}

/// The additional records being gathered for one RRset.
struct AdditionalBlock {
    /// The node of the RRset.
    owner: u32,
    /// True for a delegation's NS: glue, where targets at or below a cut qualify.
    glue: bool,
    /// (node, type) of every RRset written so far, and of the answered set itself: each goes
    /// in once (RFC 2181 §5.5), however many records ask for it.
    written: Vec<(u32, u16)>,
    /// Number of records written.
    count: u16,
}

/// `Node::cut` for a node that is not at or below a delegation.
pub(crate) const NO_CUT: u32 = u32::MAX;

/// `Node::flags`: some other name's additional records copy this name's data (its A/AAAA,
/// SRV or SVCB/HTTPS set: see `add_additionals`), so changing it is not a change of this
/// name alone.
pub(crate) const TARGET: u8 = 1;

/// What a pre-rendered block of RRs is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum SetRole {
    /// The RRset itself, owned by the question-name placeholder.
    Answer,
    /// What the node's NS/MX/SRV/NAPTR/SVCB/HTTPS set of the same type asks of the
    /// additional section (`add_additionals`): glue for a referral, additional data for an
    /// answer.
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
    /// `TARGET` or nothing.
    pub(crate) flags: u8,
    /// First RRset entry in `ZoneTable::sets`.
    sets_start: u32,
    /// The topmost delegation at or above this node (a node of the same table), or `NO_CUT`.
    pub(crate) cut: u32,
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
    /// Start in the `data` of its table.
    pub(crate) start: u32,
    /// Length in octets.
    pub(crate) len: u32,
    /// True when the bytes are in a patch table's arena rather than the base table's.
    pub(crate) patched: bool,
}

/// One zone's names, compiled.
#[derive(Clone)]
pub(crate) struct ZoneTable {
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
    /// Keys of in-zone names additional records would copy from but that are not names here
    /// (they would gain additional records if they came to exist), sorted.
    missing_targets: Vec<Box<[u8]>>,
}

impl std::fmt::Debug for ZoneTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZoneTable")
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

impl ZoneTable {
    /// Compiles `zone` with the GSLB records that live in it: each name becomes a node
    /// carrying a `SetRole::Gslb` entry. A static set of the same name and type wins (the
    /// store refuses such a pair; this only keeps hand-built states answerable).
    /// Tolerates unvalidated input: sets outside the zone, SOA sets and RDATA of the wrong
    /// type are skipped, duplicate (name, type) sets keep the first. `empty_names` (keys
    /// relative to the apex) become nodes even without data (empty non-terminals whose
    /// descendants are not in `zone`, for a patch table); `patched` marks every entry as
    /// living in a patch table's arena.
    pub(crate) fn compile_with(
        zone: &Zone,
        gslb: &[GslbName],
        empty_names: &[Box<[u8]>],
        patched: bool,
    ) -> ZoneTable {
        let apex = zone.apex.to_wire();
        let apex_len = apex.len();
        let mut plan = ZoneTable {
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
                patched,
            },
            missing_targets: Vec::new(),
        };
        plan.ensure_node(&[]);
        for key in empty_names {
            plan.ensure_node(key);
        }
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
                    patched,
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
                    patched,
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
                patched,
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
        let added = plan.add_additionals(&mut pending, patched);
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
        plan.missing_targets.sort();
        plan.missing_targets.dedup();
        plan
    }

    /// Renders, for every NS/MX/SRV/NAPTR/SVCB/HTTPS set, the records its in-zone names ask
    /// for (`wanted`) as an `Additional` entry of the same node and type: the A/AAAA of NS,
    /// MX and SRV targets; for NAPTR by flag, "S" the replacement's SRV and their targets'
    /// A/AAAA, "A" the replacement's A/AAAA (RFC 3403 §4.1); for SVCB/HTTPS in ServiceMode the
    /// TargetName's A/AAAA (the owner's for "."), in AliasMode the TargetName's RRset of the
    /// same type, followed on for at most `MAX_ADDITIONAL_DEPTH` links, then its A/AAAA
    /// (RFC 9460 §4). Records owned by the set's own node are written with the question-name
    /// placeholder owner (`answer.rs` points them at the answer's owner, which a wildcard or a
    /// CNAME chain makes differ from the node's name). For a delegation's NS these are the
    /// glue (targets at or below any cut qualify); otherwise occluded targets are left out, as
    /// they are not authoritative data. Returns true when it added entries.
    fn add_additionals(&mut self, pending: &mut Vec<(u32, SetEntry)>, patched: bool) -> bool {
        let n_sets = pending.len();
        let mut added = false;
        for index in 0..n_sets {
            let (owner, set) = pending[index];
            if !matches!(
                set.rtype,
                types::NS | types::MX | types::SRV | types::NAPTR | types::SVCB | types::HTTPS
            ) {
                continue;
            }
            let start = self.data.len();
            let mut block = AdditionalBlock {
                owner,
                glue: set.rtype == types::NS && owner != 0,
                written: vec![(owner, set.rtype)],
                count: 0,
            };
            self.add_wanted_by(&pending[..n_sets], &mut block, owner, set, 0);
            if block.count > 0 {
                added = true;
                pending.push((
                    owner,
                    SetEntry {
                        rtype: set.rtype,
                        role: SetRole::Additional,
                        count: block.count,
                        start: start as u32,
                        len: (self.data.len() - start) as u32,
                        patched,
                    },
                ));
            }
        }
        added
    }

    /// Writes into `block` what each record of `set` (at `node`, `depth` links from the
    /// answered set) asks for. `sets` are the zone's RRsets, sorted by node and type.
    fn add_wanted_by(
        &mut self,
        sets: &[(u32, SetEntry)],
        block: &mut AdditionalBlock,
        node: u32,
        set: SetEntry,
        depth: usize,
    ) {
        let mut pos = set.start as usize;
        let end = (set.start + set.len) as usize;
        while pos + 12 <= end {
            let rdlength = u16::from_be_bytes([self.data[pos + 10], self.data[pos + 11]]);
            let rdata = (pos + 12, pos + 12 + rdlength as usize);
            pos = rdata.1;
            let Some(wanted) = wanted(set.rtype, &self.data[rdata.0..rdata.1]) else {
                continue;
            };
            let (target, offset) = match wanted {
                Wanted::OwnerAddresses => {
                    self.add_addresses(sets, block, node);
                    continue;
                }
                Wanted::Addresses(offset) => (None, offset),
                Wanted::Set(rtype, offset) | Wanted::SetAndAddresses(rtype, offset) => {
                    (Some(rtype), offset)
                }
            };
            let Some(target_node) = self.target_node(block, rdata.0 + offset, rdata.1) else {
                continue;
            };
            if let Some(rtype) = target {
                if depth < MAX_ADDITIONAL_DEPTH {
                    if let Some(target_set) = self.add_set(sets, block, target_node, rtype) {
                        self.add_wanted_by(sets, block, target_node, target_set, depth + 1);
                    }
                }
            }
            if !matches!(wanted, Wanted::Set(..)) {
                self.add_addresses(sets, block, target_node);
            }
        }
    }

    /// The node of the in-zone name at `at` in `data` (ending by `end`) that additional
    /// records may come from, marked `TARGET`; `None` for a name outside the zone, missing
    /// (remembered in `missing_targets`) or, but for glue, occluded.
    fn target_node(&mut self, block: &AdditionalBlock, at: usize, end: usize) -> Option<u32> {
        let (target, _) = QueryName::parse(&self.data[..end], at).ok()?;
        if !self.contains(&target) {
            return None;
        }
        let key_len = target.wire_len() - self.apex.len();
        let Some(node) = self.find(&target.as_wire()[..key_len]) else {
            self.missing_targets
                .push(target.as_wire()[..key_len].into());
            return None;
        };
        if node != block.owner {
            self.nodes[node as usize].flags |= TARGET;
        }
        (block.glue || self.nodes[node as usize].cut == NO_CUT).then_some(node)
    }

    /// Writes the A and AAAA sets of `node` into `block`, each unless written already.
    fn add_addresses(&mut self, sets: &[(u32, SetEntry)], block: &mut AdditionalBlock, node: u32) {
        for rtype in [types::A, types::AAAA] {
            self.add_set(sets, block, node, rtype);
        }
    }

    /// Writes the `rtype` RRset of `node` into `block` unless it has it already; returns the
    /// set when written. Owners are the node's name in full, or the question-name placeholder
    /// for the block's own node (but in glue, which is copied as is).
    fn add_set(
        &mut self,
        sets: &[(u32, SetEntry)],
        block: &mut AdditionalBlock,
        node: u32,
        rtype: u16,
    ) -> Option<SetEntry> {
        if block.written.contains(&(node, rtype)) {
            return None;
        }
        let first = sets.partition_point(|(n, entry)| (*n, entry.rtype) < (node, rtype));
        let (_, entry) = *sets
            .get(first)
            .filter(|(n, entry)| (*n, entry.rtype) == (node, rtype))?;
        block.written.push((node, rtype));
        let (from, to) = (entry.start as usize, (entry.start + entry.len) as usize);
        let records = self.data[from..to].to_vec();
        if node == block.owner && !block.glue {
            self.data.extend_from_slice(&records);
        } else {
            let mut owner = self.key(node).to_vec();
            owner.extend_from_slice(&self.apex);
            render::write_with_owner(&mut self.data, &owner, &records);
        }
        block.count = block.count.saturating_add(entry.count);
        Some(entry)
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
            flags: 0,
            sets_start: 0,
            cut: NO_CUT,
        });
        let ZoneTable {
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
    pub(crate) fn name_count(&self) -> usize {
        self.nodes.len()
    }

    /// Approximate heap use in octets.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.keys.capacity()
            + self.nodes.capacity() * std::mem::size_of::<Node>()
            + self.index.heap_bytes()
            + self.sets.capacity() * std::mem::size_of::<SetEntry>()
            + self.data.capacity()
    }

    /// True when `name` is the apex or below it.
    pub(crate) fn contains(&self, name: &QueryName) -> bool {
        name.label_count() >= self.apex_labels
            && name.suffix(name.label_count() - self.apex_labels) == &*self.apex
    }

    /// Node `node`.
    pub(crate) fn node(&self, node: u32) -> &Node {
        &self.nodes[node as usize]
    }

    /// The key (name below the apex, wire form) of `node`.
    pub(crate) fn key(&self, node: u32) -> &[u8] {
        key_of(&self.keys, &self.nodes, node)
    }

    /// The entries of `node`, RRsets and additional blocks, by type.
    pub(crate) fn entries(&self, node: u32) -> &[SetEntry] {
        let node = &self.nodes[node as usize];
        &self.sets[node.sets_start as usize..node.sets_start as usize + node.sets_len as usize]
    }

    /// Length of a node's key, i.e. of its name below the apex in wire form.
    pub(crate) fn key_len(&self, node: u32) -> usize {
        self.nodes[node as usize].key_len as usize
    }

    /// The rendered RRs.
    pub(crate) fn data(&self) -> &[u8] {
        &self.data
    }

    /// The SOA for negative answers.
    pub(crate) fn negative_soa(&self) -> &SetEntry {
        &self.negative_soa
    }

    /// True when `key` is (or would be, once it exists) a name whose data other names'
    /// additional records copy.
    pub(crate) fn is_target(&self, key: &[u8]) -> bool {
        self.find(key)
            .is_some_and(|node| self.nodes[node as usize].flags & TARGET != 0)
            || self
                .missing_targets
                .binary_search_by(|missing| (**missing).cmp(key))
                .is_ok()
    }
}
