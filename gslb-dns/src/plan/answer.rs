//! `write_answer`: the sections of a reply for one question inside one zone, copied from the
//! zone's pre-rendered RRsets into the caller's buffer (which already holds header and
//! question). Pure and allocation-free.
//!
//! Behaviour, with the RFCs it follows:
//! - exact match → the RRset of QTYPE, AA=1 (RFC 1034 §4.3.2 step 3a);
//! - CNAME at the name → the CNAME, then the chain is followed inside the zone for at most
//!   `MAX_CHAIN` links (RFC 1034 §4.3.2, RFC 6604 §2: the RCODE is the last link's); a target
//!   outside the zone ends the chain with the CNAMEs alone; a target at or below a delegation
//!   ends it with the child's referral (its NS in authority, glue in additional, AA kept for
//!   the authoritative CNAMEs, as NSD and Knot answer); a loop ends at the first name met
//!   again, so each link is answered once;
//! - ANY → one RRset, the first of the node in type order, as Knot does (RFC 8482 §4.2);
//! - name exists without that type, empty non-terminals included → NODATA: NOERROR, no
//!   answer, the SOA in authority with TTL min(SOA TTL, MINIMUM) (RFC 2308 §2.2, §5);
//! - name does not exist → NXDOMAIN with the same SOA (RFC 2308 §2.1);
//! - wildcard → the wildcard's data owned by the query name (RFC 4592 §3.3.1);
//! - at or below a delegation → referral: AA=0, the NS set in authority, in-zone glue in
//!   additional (RFC 1034 §4.3.2 step 3b); DS at the cut itself is answered from the parent
//!   side with authority: the DS set held at the cut, else NODATA with our SOA (RFC 4035
//!   §3.1.4.1);
//! - a name below a DNAME → the DNAME, a synthesized CNAME to the substituted name with the
//!   DNAME's TTL, then the target followed like a CNAME's; YXDOMAIN when the substituted name
//!   would exceed 255 octets (RFC 6672 §2.2, §3.2);
//!
//! - a GSLB record at the name (a `SetRole::Gslb` entry) is evaluated per query through
//!   `Dynamic`: its chosen RRs answer, a fallback CNAME is followed like a static CNAME (it
//!   stands in for the record's own type only; other types at the name stay NODATA), and
//!   nothing to answer (`fail_closed`, or `fail_open` with every endpoint taken out) is
//!   NODATA with the SOA, so resolvers retry after the negative TTL;
//! - NS, MX and SRV answers carry the A/AAAA of their in-zone targets in additional (as NSD
//!   and Knot); NAPTR by flag, "S" the replacement's SRV set and its targets' A/AAAA, "A" the
//!   replacement's A/AAAA (RFC 3403 §4.1, RFC 2915); SVCB and HTTPS in ServiceMode the
//!   TargetName's A/AAAA, the owner's own for TargetName ".", in AliasMode the TargetName's
//!   set of the same type, followed along the chain inside the zone, and its A/AAAA (RFC 9460
//!   §4). Each RRset goes in once. These are optional: a UDP reply too big for all of them
//!   keeps the whole RRsets that fit, in order, and never sets TC for them (RFC 2181 §9, RFC
//!   9460 §4.2), while referral glue is required and a referral too big for it is truncated
//!   (RFC 9471 §3).

use crate::plan::gslb::Dynamic;
use crate::plan::zone::{Lookup, SetEntry, SetRole, ZonePlan};
use crate::wire::{rcode, types, QueryName, HEADER_LEN};

/// The most CNAME links followed after the first (RFC 1034 §3.6.2 asks for loop safety).
pub(crate) const MAX_CHAIN: usize = 8;

/// What `write_answer` wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sections {
    /// RCODE (NOERROR or NXDOMAIN).
    pub(crate) rcode: u16,
    /// AA flag.
    pub(crate) authoritative: bool,
    /// ANCOUNT.
    pub(crate) answers: u16,
    /// NSCOUNT.
    pub(crate) authorities: u16,
    /// ARCOUNT (without the OPT the responder adds).
    pub(crate) additionals: u16,
    /// Where optional additional records start in the reply: a reply too big for UDP drops
    /// them before it resorts to TC (RFC 2181 §9). `None` when there are none, or when the
    /// additional records are required glue (RFC 9471 §3).
    pub(crate) optional_additional_from: Option<usize>,
}

/// Appends an RRset, rewriting each owner to the pointer `owner` when it is not the
/// question name.
fn copy_set(out: &mut Vec<u8>, block: &[u8], owner: usize) {
    let start = out.len();
    out.extend_from_slice(block);
    if owner == HEADER_LEN {
        return;
    }
    let pointer = (0xC000 | owner as u16).to_be_bytes();
    let mut pos = start;
    while pos + 12 <= out.len() {
        out[pos..pos + 2].copy_from_slice(&pointer);
        let rdlength = u16::from_be_bytes([out[pos + 10], out[pos + 11]]) as usize;
        pos += 12 + rdlength;
    }
}

/// Appends additional records, pointing those owned by the question-name placeholder (the
/// answered node's own addresses) at `owner`; the others carry their owner in full.
fn copy_additional(out: &mut Vec<u8>, block: &[u8], owner: usize) {
    let start = out.len();
    out.extend_from_slice(block);
    if owner == HEADER_LEN {
        return;
    }
    let pointer = (0xC000 | owner as u16).to_be_bytes();
    let mut pos = start;
    while let Some(name_end) = skip_name(out, pos) {
        if name_end + 10 > out.len() {
            return;
        }
        if out[pos..name_end] == [0xC0, HEADER_LEN as u8] {
            out[pos..name_end].copy_from_slice(&pointer);
        }
        let rdlength = u16::from_be_bytes([out[name_end + 8], out[name_end + 9]]) as usize;
        pos = name_end + 10 + rdlength;
    }
}

/// The offset just past the (possibly compressed) owner name at `pos`, or `None` when the
/// message ends first.
fn skip_name(message: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        let len = *message.get(pos)?;
        match len {
            0 => return Some(pos + 1),
            _ if len & 0xC0 == 0xC0 => return (pos + 2 <= message.len()).then_some(pos + 2),
            _ => pos += 1 + usize::from(len),
        }
    }
}

/// The optional additional records of the reply in `out` (from `from` on, `count` records)
/// that fit in `limit` octets: whole RRsets (with the RRSIGs that follow them) in order.
/// Returns where the kept records end and how many they are.
pub(crate) fn additionals_that_fit(
    out: &[u8],
    from: usize,
    count: u16,
    limit: usize,
) -> (usize, u16) {
    let (mut kept_end, mut kept) = (from, 0);
    let mut pos = from;
    let mut current: Option<(&[u8], u16)> = None;
    for record in 0..count {
        let Some(name_end) = skip_name(out, pos).filter(|end| end + 10 <= out.len()) else {
            return (kept_end, kept);
        };
        let rtype = u16::from_be_bytes([out[name_end], out[name_end + 1]]);
        let rdlength = u16::from_be_bytes([out[name_end + 8], out[name_end + 9]]) as usize;
        let owner = &out[pos..name_end];
        // A record starts a new RRset unless it shares owner and type with the one before,
        // or is an RRSIG (which covers it).
        let same_set = current.is_some_and(|(previous_owner, previous_type)| {
            previous_owner == owner && (previous_type == rtype || rtype == types::RRSIG)
        });
        if !same_set {
            if pos > limit {
                break;
            }
            (kept_end, kept) = (pos, record);
            current = Some((owner, rtype));
        }
        pos = name_end + 10 + rdlength;
    }
    if pos <= limit {
        (kept_end, kept) = (pos, count);
    }
    (kept_end, kept)
}

/// Writes the answer, authority and additional sections for `name`/`qtype` in `zone` into
/// `out`, which holds the header and the echoed question (the question name at offset 12).
/// GSLB records met on the way are evaluated through `dynamic`.
pub(crate) fn write_answer(
    zone: &ZonePlan,
    name: &QueryName,
    qtype: u16,
    dynamic: &mut Dynamic<'_>,
    out: &mut Vec<u8>,
) -> Sections {
    let apex_pointer = HEADER_LEN + name.suffix_offset(name.label_count() - zone.apex_labels());
    let mut sections = Sections {
        rcode: rcode::NOERROR,
        authoritative: true,
        answers: 0,
        authorities: 0,
        additionals: 0,
        optional_additional_from: None,
    };
    let negative = |out: &mut Vec<u8>, sections: &mut Sections, rcode: u16| {
        copy_set(out, zone.bytes(zone.negative_soa()), apex_pointer);
        sections.rcode = rcode;
        sections.authorities = 1;
    };

    let mut owner = HEADER_LEN;
    let node = match zone.lookup(name) {
        Lookup::Exact(node) | Lookup::Wildcard(node) => node,
        Lookup::NxDomain => match zone.dname_above(name) {
            Some((dname_node, skip)) => {
                match write_dname(zone, name, qtype, dname_node, skip, out, &mut sections) {
                    Some((next, target_offset)) => {
                        owner = target_offset;
                        next
                    }
                    None => return sections,
                }
            }
            _ => {
                negative(out, &mut sections, rcode::NXDOMAIN);
                return sections;
            }
        },
        Lookup::Referral { cut, at_cut: true } if qtype == types::DS => {
            // The parent answers DS at a cut with authority (RFC 4035 §3.1.4.1).
            match zone.set(cut, types::DS) {
                Some(ds) => {
                    copy_set(out, zone.bytes(ds), HEADER_LEN);
                    sections.answers = ds.count;
                }
                None => negative(out, &mut sections, rcode::NOERROR),
            }
            return sections;
        }
        Lookup::Referral { cut, .. } => {
            sections.authoritative = false;
            write_referral(zone, name, HEADER_LEN, cut, out, &mut sections);
            return sections;
        }
    };

    let mut node = node;
    // The nodes whose CNAME was answered, so a loop stops at the first name met again.
    let mut visited = [u32::MAX; MAX_CHAIN + 1];
    for link in 0..=MAX_CHAIN {
        if visited[..link].contains(&node) {
            return sections;
        }
        visited[link] = node;
        let (entry, via_cname) = match pick(zone, node, qtype) {
            Some(entry) => (entry, false),
            None => match zone
                .set(node, types::CNAME)
                .filter(|_| qtype != types::CNAME)
            {
                Some(cname) => (cname, true),
                None => {
                    negative(out, &mut sections, rcode::NOERROR);
                    return sections;
                }
            },
        };
        let set_start = out.len();
        if entry.role == SetRole::Gslb {
            let Some(written) = dynamic.write(entry.start, owner, out) else {
                negative(out, &mut sections, rcode::NOERROR);
                return sections;
            };
            sections.answers += written.count;
            // A CNAME (the record's own, or a fallback) is followed unless it was asked for.
            if written.rtype != types::CNAME || qtype == types::CNAME || qtype == types::ANY {
                return sections;
            }
        } else if !via_cname {
            copy_set(out, zone.bytes(entry), owner);
            sections.answers += entry.count;
            if let Some(additional) = zone.additional(node, entry.rtype) {
                sections.optional_additional_from = Some(out.len());
                copy_additional(out, zone.bytes(additional), owner);
                sections.additionals = additional.count;
            }
            return sections;
        } else {
            let block = zone.bytes(entry);
            let first_record = &block[..(12 + u16::from_be_bytes([block[10], block[11]]) as usize)];
            copy_set(out, first_record, owner);
            sections.answers += 1;
        }
        // Follow the CNAME just written at `set_start`: its target starts 12 octets in.
        let target_offset = set_start + 12;
        let rdlength = u16::from_be_bytes([out[set_start + 10], out[set_start + 11]]) as usize;
        let Some(target) = QueryName::from_wire(&out[target_offset..target_offset + rdlength])
        else {
            return sections;
        };
        if target_offset > 0x3FFF || !zone.contains(&target) {
            return sections;
        }
        match zone.lookup(&target) {
            Lookup::Exact(next) | Lookup::Wildcard(next) => {
                node = next;
                owner = target_offset;
            }
            Lookup::NxDomain => {
                negative(out, &mut sections, rcode::NXDOMAIN);
                return sections;
            }
            Lookup::Referral { cut, .. } => {
                write_referral(zone, &target, target_offset, cut, out, &mut sections);
                return sections;
            }
        }
    }
    sections
}

/// Answers a name below the DNAME at `dname_node` (`skip` labels of `name` lie below it,
/// RFC 6672 §3.2): the DNAME, then a CNAME from the question name to the substituted name
/// with the DNAME's TTL. A substituted name longer than 255 octets is YXDOMAIN with the DNAME
/// alone (§2.2). A CNAME question ends with the synthesized CNAME. Returns the node to go on with and where the CNAME target stands in `out`
/// when the target lies inside the zone and exists; otherwise the sections are complete
/// (a referral or NXDOMAIN for a target below a cut or missing).
fn write_dname(
    zone: &ZonePlan,
    name: &QueryName,
    qtype: u16,
    dname_node: u32,
    skip: usize,
    out: &mut Vec<u8>,
    sections: &mut Sections,
) -> Option<(u32, usize)> {
    let dname = zone.set(dname_node, types::DNAME)?;
    let block = zone.bytes(dname);
    let rdlength = u16::from_be_bytes([block[10], block[11]]) as usize;
    let first_record = &block[..12 + rdlength];
    copy_set(out, first_record, HEADER_LEN + name.suffix_offset(skip));
    sections.answers += 1;
    let prefix = &name.as_wire()[..name.suffix_offset(skip)];
    let target = &first_record[12..];
    if prefix.len() + target.len() > 255 {
        sections.rcode = rcode::YXDOMAIN;
        return None;
    }
    out.extend_from_slice(&[0xC0, 0x0C]);
    out.extend_from_slice(&types::CNAME.to_be_bytes());
    out.extend_from_slice(&types::CLASS_IN.to_be_bytes());
    out.extend_from_slice(&first_record[6..10]);
    out.extend_from_slice(&((prefix.len() + target.len()) as u16).to_be_bytes());
    let target_offset = out.len();
    out.extend_from_slice(prefix);
    out.extend_from_slice(target);
    sections.answers += 1;
    if qtype == types::CNAME {
        // The synthesized CNAME is the answer; it is not followed (as NSD and Knot).
        return None;
    }
    let substituted = QueryName::from_wire(&out[target_offset..])?;
    if target_offset > 0x3FFF || !zone.contains(&substituted) {
        return None;
    }
    match zone.lookup(&substituted) {
        Lookup::Exact(next) | Lookup::Wildcard(next) => Some((next, target_offset)),
        Lookup::NxDomain => {
            let apex_pointer = target_offset
                + substituted.suffix_offset(substituted.label_count() - zone.apex_labels());
            copy_set(out, zone.bytes(zone.negative_soa()), apex_pointer);
            sections.rcode = rcode::NXDOMAIN;
            sections.authorities = 1;
            None
        }
        Lookup::Referral { cut, .. } => {
            write_referral(zone, &substituted, target_offset, cut, out, sections);
            None
        }
    }
}

/// The RRset answering `qtype` at `node`: the set of that type, or for ANY the node's first.
fn pick(zone: &ZonePlan, node: u32, qtype: u16) -> Option<&SetEntry> {
    if qtype == types::ANY {
        zone.sets(node).next()
    } else {
        zone.set(node, qtype)
    }
}

/// NS of the delegation in authority (owner = the cut, a suffix of `name`, which stands
/// uncompressed at `name_offset` in `out`: the question, or a CNAME target), glue in
/// additional. The caller sets AA.
fn write_referral(
    zone: &ZonePlan,
    name: &QueryName,
    name_offset: usize,
    cut: u32,
    out: &mut Vec<u8>,
    sections: &mut Sections,
) {
    let below_apex = name.label_count() - zone.apex_labels();
    let rel_len = name.suffix_offset(below_apex);
    let cut_pointer = name_offset + rel_len - zone.key_len(cut);
    if cut_pointer > 0x3FFF {
        return;
    }
    if let Some(ns) = zone.set(cut, types::NS) {
        copy_set(out, zone.bytes(ns), cut_pointer);
        sections.authorities = ns.count;
    }
    if let Some(glue) = zone.additional(cut, types::NS) {
        out.extend_from_slice(zone.bytes(glue));
        sections.additionals = glue.count;
    }
}
