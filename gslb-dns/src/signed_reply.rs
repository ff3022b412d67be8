//! `sign_reply`: turns the unsigned reply `plan::write_answer` wrote for a DO=1 query into
//! its signed form, and `write_key_answer`, the apex DNSKEY/CDS/CDNSKEY RRsets. It sits
//! above both `plan` (whose lookups it reads) and `dnssec` (keys, signer, cache, denial),
//! which `plan` itself uses for a plan's signing table.
//!
//! Signing works on the reply already written, so every answer the plan can give (static,
//! wildcard, GSLB chosen per query, CNAME chains, referrals, negative answers) is signed the
//! same way, and the unsigned path stays exactly as it was. The reply's records are read
//! back (owners decompressed), then written again section by section:
//! - answer: each RRset, its TTL capped at `MAX_SIGNED_TTL`, followed by its RRSIGs; an
//!   RRset synthesized from a wildcard is signed with the wildcard's label count (RFC 4035
//!   §5.3.2) and the authority gets the NSEC proving its next closer name absent;
//! - negative answers (NODATA, NXDOMAIN, and a CNAME chain ending in either): the SOA and
//!   its RRSIG, then one compact-denial NSEC at the name denied and its RRSIG; the RCODE is
//!   NOERROR (RFC 9824 §3: NXDOMAIN is told by the NXNAME type in the bitmap);
//! - referrals: the NS set unsigned (the child owns it), the DS set signed if the zone has
//!   one at the cut, otherwise an NSEC at the cut proving there is none (bitmap NS, RRSIG,
//!   NSEC: an insecure delegation, RFC 4035 §3.1.4); glue unsigned;
//! - optional additional records (the A/AAAA of NS, MX, SRV targets, the SVCB/HTTPS and SRV
//!   sets `plan::answer` adds, RFC 9460 §4, RFC 3403 §4.1) are signed like answers, each
//!   RRset followed by its RRSIGs (RFC 4035 §3.1.1), and stay optional: a UDP reply too big
//!   for them drops them rather than set TC.
//!
//! Record TTLs in a signed reply equal the RRSIG's original TTL; a GSLB answer's TTL (cut to
//! its health lease) is signed as it was cut, so the lease rule holds with signatures.

use std::ops::Range;

use crate::dnssec::denial::{
    nsec_rdata, predecessor, subtree_successor, successor, NSEC, NXNAME, RRSIG,
};
use crate::dnssec::signer::{label_count, Window, ZoneSigner, DNSKEY_TTL, MAX_SIGNED_TTL};
use crate::dnssec::SignatureCache;
use crate::metrics::{DnsMetrics, DnssecEvent};
use crate::plan::{Lookup, Sections, ZonePlan};
use crate::wire::{rcode, types, QueryName, HEADER_LEN};

/// What signing one reply needs.
pub(crate) struct Signing<'a> {
    /// The zone's keys.
    pub(crate) signer: &'a ZoneSigner,
    /// Signatures already made.
    pub(crate) cache: &'a SignatureCache,
    /// The validity of signatures made now.
    pub(crate) window: Window,
    /// Where signing is counted, and the answering thread's shard.
    pub(crate) metrics: (&'a DnsMetrics, usize),
}

/// One record read back from a reply.
struct Record {
    /// Owner, lower-case uncompressed wire form.
    owner: Vec<u8>,
    /// Type.
    rtype: u16,
    /// TTL.
    ttl: u32,
    /// Where its RDATA sits in the reply.
    rdata: Range<usize>,
}

/// Writes the apex `rtype` RRset (DNSKEY, CDS or CDNSKEY) of `signer` as the answer; `None`
/// when the signer publishes no such set.
pub(crate) fn write_key_answer(
    signer: &ZoneSigner,
    rtype: u16,
    out: &mut Vec<u8>,
) -> Option<Sections> {
    let set = signer.key_set(rtype)?;
    for rdata in set {
        write_record(out, &[0xC0, 0x0C], rtype, DNSKEY_TTL, rdata);
    }
    Some(Sections {
        rcode: rcode::NOERROR,
        authoritative: true,
        answers: set.len() as u16,
        authorities: 0,
        additionals: 0,
        optional_additional_from: None,
    })
}

/// Where signed replies are cached, and what identifies the plan's zones and keys
/// (`AnswerPlan::content_id`).
pub(crate) struct SignedReplies<'a> {
    /// Whole signed replies: the signed records, then their encoded sections.
    pub(crate) cache: &'a SignatureCache,
    /// The plan's zones and keys.
    pub(crate) content: (u64, u64),
}

/// Octets of `reply_facts`.
const FACTS_LEN: usize = 23;

/// The start of a signed reply's cache key: whether the unsigned reply follows in the key
/// (`per_query`: an answer chosen for this client), the plan's content, the signature
/// window and the question type. The question name follows.
fn reply_facts(
    per_query: bool,
    signing: &Signing<'_>,
    replies: &SignedReplies<'_>,
    qtype: u16,
) -> [u8; FACTS_LEN] {
    let mut facts = [0u8; FACTS_LEN];
    facts[0] = u8::from(per_query);
    facts[1..9].copy_from_slice(&replies.content.0.to_be_bytes());
    facts[9..17].copy_from_slice(&replies.content.1.to_be_bytes());
    facts[17..21].copy_from_slice(&signing.window.inception.to_be_bytes());
    facts[21..23].copy_from_slice(&qtype.to_be_bytes());
    facts
}

/// The signed reply to `qname`/`qtype` when one is cached for an answer that depends on the
/// question alone (static data, a wildcard, a referral, a denial): then it is written after
/// the question in `out` (which holds header and question) and its sections returned, and
/// the unsigned answer need not even be written. Signed records refer to the question only
/// (owner pointers to offset 12), so the cached form fits any query for the same name,
/// whatever its ID or letter case.
pub(crate) fn cached_reply(
    signing: &Signing<'_>,
    replies: &SignedReplies<'_>,
    qname: &QueryName,
    qtype: u16,
    out: &mut Vec<u8>,
) -> Option<Sections> {
    let facts = reply_facts(false, signing, replies, qtype);
    let head: [&[u8]; 2] = [&facts, qname.as_wire()];
    let hash = replies.cache.hash(&head);
    let from = out.len();
    if !replies.cache.replace_tail(hash, &head, out, from) {
        return None;
    }
    let (metrics, shard) = signing.metrics;
    metrics.count_dnssec(shard, DnssecEvent::ReplyCached);
    Some(take_sections(out, from))
}

/// `sign_reply`, the signed form cached: under the question when the answer did not depend
/// on the client (`cached_reply` found none), else under the question and the unsigned
/// records, so a GSLB answer that repeats costs one hash of the key (given in pieces:
/// nothing is concatenated), one lookup and a copy of the signed records over the unsigned
/// ones, instead of reading the records back and looking up each signature.
#[allow(clippy::too_many_arguments)]
pub(crate) fn sign_reply_cached(
    signing: &Signing<'_>,
    replies: &SignedReplies<'_>,
    per_query: bool,
    zone: &ZonePlan,
    qname: &QueryName,
    qtype: u16,
    question_end: usize,
    sections: Sections,
    out: &mut Vec<u8>,
) -> Sections {
    let facts = reply_facts(per_query, signing, replies, qtype);
    let cache = replies.cache;
    let (metrics, shard) = signing.metrics;
    let (hash, key) = if per_query {
        let counts = encode_sections(&sections, question_end);
        let head: [&[u8]; 3] = [&facts, &counts, qname.as_wire()];
        let hash = cache.hash(&[head[0], head[1], head[2], &out[question_end..]]);
        if cache.replace_tail(hash, &head, out, question_end) {
            metrics.count_dnssec(shard, DnssecEvent::ReplyCached);
            return take_sections(out, question_end);
        }
        (
            hash,
            [head[0], head[1], head[2], &out[question_end..]].concat(),
        )
    } else {
        let key = [&facts[..], qname.as_wire()].concat();
        (cache.hash(&[&key]), key)
    };
    metrics.count_dnssec(shard, DnssecEvent::ReplySigned);
    let signed = sign_reply(signing, zone, qname, qtype, question_end, sections, out);
    let mut value = Vec::with_capacity(out.len() - question_end + SECTIONS_LEN);
    value.extend_from_slice(&out[question_end..]);
    value.extend_from_slice(&encode_sections(&signed, question_end));
    cache.insert(hash, &[&key], &value);
    signed
}

/// The sections encoded at the end of `out` by a cached value written after the question
/// ending at `question_end`, removed from it.
fn take_sections(out: &mut Vec<u8>, question_end: usize) -> Sections {
    let at = out.len() - SECTIONS_LEN;
    let sections = decode_sections(&out[at..], question_end);
    out.truncate(at);
    sections
}

/// Octets of `encode_sections`.
const SECTIONS_LEN: usize = 11;

/// `encode_sections` for a reply without optional additional records.
const NO_OPTIONAL: u16 = u16::MAX;

/// RCODE, AA, the three counts of `sections` and where optional additional records start,
/// counted from `question_end`.
fn encode_sections(sections: &Sections, question_end: usize) -> [u8; SECTIONS_LEN] {
    let optional = sections
        .optional_additional_from
        .and_then(|from| u16::try_from(from - question_end).ok())
        .unwrap_or(NO_OPTIONAL);
    let mut bytes = [0u8; SECTIONS_LEN];
    bytes[0..2].copy_from_slice(&sections.rcode.to_be_bytes());
    bytes[2] = u8::from(sections.authoritative);
    bytes[3..5].copy_from_slice(&sections.answers.to_be_bytes());
    bytes[5..7].copy_from_slice(&sections.authorities.to_be_bytes());
    bytes[7..9].copy_from_slice(&sections.additionals.to_be_bytes());
    bytes[9..11].copy_from_slice(&optional.to_be_bytes());
    bytes
}

/// The inverse of `encode_sections`.
fn decode_sections(bytes: &[u8], question_end: usize) -> Sections {
    let read = |at: usize| u16::from_be_bytes([bytes[at], bytes[at + 1]]);
    Sections {
        rcode: read(0),
        authoritative: bytes[2] != 0,
        answers: read(3),
        authorities: read(5),
        additionals: read(7),
        optional_additional_from: match read(9) {
            NO_OPTIONAL => None,
            offset => Some(question_end + usize::from(offset)),
        },
    }
}

/// Rewrites the unsigned reply in `out` (header, question up to `question_end`, then the
/// records `sections` counts) into its signed form; returns the new counts and RCODE. A
/// reply that does not read back (it always does: we wrote it) is left as it was.
pub(crate) fn sign_reply(
    signing: &Signing<'_>,
    zone: &ZonePlan,
    qname: &QueryName,
    qtype: u16,
    question_end: usize,
    sections: Sections,
    out: &mut Vec<u8>,
) -> Sections {
    let total = usize::from(sections.answers)
        + usize::from(sections.authorities)
        + usize::from(sections.additionals);
    let Some(records) = read_records(out, question_end, total) else {
        return sections;
    };
    let (answers, rest) = records.split_at(usize::from(sections.answers));
    let (authority, additional) = rest.split_at(usize::from(sections.authorities));
    let negative = authority.iter().any(|record| record.rtype == types::SOA);
    let referral = !negative && authority.iter().any(|record| record.rtype == types::NS);
    let negative_ttl = negative_ttl(zone);

    let mut reply = Vec::with_capacity(out.len() * 2 + 512);
    reply.extend_from_slice(&out[..question_end]);
    let mut writer = Writer {
        signing,
        qname: qname.as_wire(),
        reply: &mut reply,
    };
    let packet: &[u8] = out;
    let mut signed = Sections {
        rcode: sections.rcode,
        authoritative: sections.authoritative,
        answers: 0,
        authorities: 0,
        additionals: 0,
        optional_additional_from: None,
    };

    let mut next_closer = None;
    for group in rrsets(answers) {
        let owner = &group[0].owner;
        let labels = match wildcard_encloser_labels(zone, owner) {
            Some(labels) => {
                next_closer = Some(next_closer_name(owner, labels));
                labels
            }
            None => label_count(owner),
        };
        signed.answers += writer.signed_set(packet, group, labels as u8);
    }

    if negative {
        for group in rrsets(authority) {
            if group[0].rtype == types::SOA {
                signed.authorities +=
                    writer.signed_set(packet, group, label_count(&group[0].owner) as u8);
            }
        }
        let denied = match answers.last() {
            Some(last) if last.rtype == types::CNAME => packet[last.rdata.clone()].to_vec(),
            _ => qname.as_wire().to_vec(),
        };
        let mut bitmap = denied_types(zone, signing.signer, &denied, qtype);
        let nsec = nsec_rdata(&successor(&denied), &mut bitmap);
        signed.authorities += writer.signed_synthetic(&denied, NSEC, negative_ttl, nsec);
        signed.rcode = rcode::NOERROR;
    } else if referral {
        for record in authority {
            writer.unsigned(packet, record);
            signed.authorities += 1;
        }
        let cut = authority[0].owner.clone();
        signed.authorities += writer.delegation_proof(zone, &cut, negative_ttl);
        for record in additional {
            writer.unsigned(packet, record);
            signed.additionals += 1;
        }
    } else if let Some(next_closer) = next_closer {
        if let (Some(before), Some(after)) =
            (predecessor(&next_closer), subtree_successor(&next_closer))
        {
            let nsec = nsec_rdata(&after, &mut vec![RRSIG, NSEC]);
            signed.authorities += writer.signed_synthetic(&before, NSEC, negative_ttl, nsec);
        }
    }
    if !negative && !referral && !additional.is_empty() {
        signed.optional_additional_from = Some(writer.reply.len());
        for group in rrsets(additional) {
            let owner = &group[0].owner;
            let labels =
                wildcard_encloser_labels(zone, owner).unwrap_or_else(|| label_count(owner));
            signed.additionals += writer.signed_set(packet, group, labels as u8);
        }
    }
    *out = reply;
    signed
}

/// Writes records and their signatures into the new reply.
struct Writer<'a> {
    /// Keys, cache, window.
    signing: &'a Signing<'a>,
    /// The question name (wire form): owners equal to it are written as a pointer.
    qname: &'a [u8],
    /// The reply being written.
    reply: &'a mut Vec<u8>,
}

impl Writer<'_> {
    /// Writes an RRset read from the unsigned reply, TTL capped, and its RRSIGs; returns
    /// the records written.
    /// `packet` holds the records' RDATA (the unsigned reply, or a zone's rendered set).
    fn signed_set(&mut self, packet: &[u8], group: &[Record], labels: u8) -> u16 {
        let ttl = group
            .iter()
            .map(|record| record.ttl)
            .min()
            .unwrap_or(0)
            .min(MAX_SIGNED_TTL);
        let owner = &group[0].owner;
        let rtype = group[0].rtype;
        let mut rdatas: Vec<&[u8]> = group
            .iter()
            .map(|record| &packet[record.rdata.clone()])
            .collect();
        for rdata in &rdatas {
            write_record(
                self.reply,
                &owner_form(owner, self.qname),
                rtype,
                ttl,
                rdata,
            );
        }
        let written = rdatas.len() as u16;
        written + self.signatures(owner, labels, rtype, ttl, &mut rdatas)
    }

    /// Writes one record we made (an NSEC) and its RRSIGs; returns the records written.
    fn signed_synthetic(&mut self, owner: &[u8], rtype: u16, ttl: u32, rdata: Vec<u8>) -> u16 {
        write_record(
            self.reply,
            &owner_form(owner, self.qname),
            rtype,
            ttl,
            &rdata,
        );
        1 + self.signatures(
            owner,
            label_count(owner) as u8,
            rtype,
            ttl,
            &mut vec![&rdata[..]],
        )
    }

    /// Writes the RRSIGs of one RRset; returns how many.
    fn signatures(
        &mut self,
        owner: &[u8],
        labels: u8,
        rtype: u16,
        ttl: u32,
        rdatas: &mut Vec<&[u8]>,
    ) -> u16 {
        let mut rrsigs = Vec::new();
        self.signing.signer.sign_rrset(
            self.signing.cache,
            self.signing.metrics,
            owner,
            labels,
            rtype,
            ttl,
            rdatas,
            self.signing.window,
            &mut rrsigs,
        );
        for rrsig in &rrsigs {
            write_record(
                self.reply,
                &owner_form(owner, self.qname),
                RRSIG,
                ttl,
                rrsig,
            );
        }
        rrsigs.len() as u16
    }

    /// Copies a record unchanged but for its owner, written in full (NS at a cut, glue).
    fn unsigned(&mut self, packet: &[u8], record: &Record) {
        let rdata = &packet[record.rdata.clone()];
        write_record(
            self.reply,
            &owner_form(&record.owner, self.qname),
            record.rtype,
            record.ttl,
            rdata,
        );
    }

    /// The signed DS set at `cut` when the zone has one, else an NSEC at the cut listing
    /// NS, RRSIG and NSEC only (no DS: the child is unsigned as far as we vouch).
    fn delegation_proof(&mut self, zone: &ZonePlan, cut: &[u8], ttl: u32) -> u16 {
        if let Some(ds) = cut_set(zone, cut, types::DS) {
            let records = read_rendered(ds, cut);
            if !records.is_empty() {
                return self.signed_set(ds, &records, label_count(cut) as u8);
            }
        }
        let nsec = nsec_rdata(&successor(cut), &mut vec![types::NS, RRSIG, NSEC]);
        self.signed_synthetic(cut, NSEC, ttl, nsec)
    }
}

/// The rendered RRset of `rtype` at the delegation node `cut`, if the zone has one.
fn cut_set<'z>(zone: &'z ZonePlan, cut: &[u8], rtype: u16) -> Option<&'z [u8]> {
    let name = QueryName::from_wire(cut)?;
    match zone.lookup(&name) {
        Lookup::Referral { cut, at_cut: true } => zone.set(cut, rtype).map(|set| zone.bytes(set)),
        _ => None,
    }
}

/// The types at `denied` for the NSEC of a negative answer to `qtype`: what the name has
/// (the signer's apex sets included), without `qtype`, with RRSIG and NSEC; a name that
/// does not exist has RRSIG, NSEC and NXNAME only.
fn denied_types(zone: &ZonePlan, signer: &ZoneSigner, denied: &[u8], qtype: u16) -> Vec<u16> {
    let nonexistent = vec![RRSIG, NSEC, NXNAME];
    let Some(name) = QueryName::from_wire(denied).filter(|name| zone.contains(name)) else {
        return nonexistent;
    };
    let mut present: Vec<u16> = match zone.lookup(&name) {
        Lookup::Exact(node) | Lookup::Wildcard(node) => {
            let mut present: Vec<u16> = zone.sets(node).map(|set| set.rtype).collect();
            if zone.is_apex(&name) {
                present.extend(signer.apex_types());
            }
            present
        }
        Lookup::Referral { cut, at_cut: true } => zone
            .sets(cut)
            .map(|set| set.rtype)
            .filter(|rtype| *rtype == types::NS || *rtype == types::DS)
            .collect(),
        Lookup::Referral { .. } | Lookup::NxDomain => return nonexistent,
    };
    present.retain(|rtype| *rtype != qtype);
    present.extend([RRSIG, NSEC]);
    present
}

/// The labels of the closest encloser when `owner` was answered from a wildcard of `zone`.
fn wildcard_encloser_labels(zone: &ZonePlan, owner: &[u8]) -> Option<usize> {
    let name = QueryName::from_wire(owner).filter(|name| zone.contains(name))?;
    match zone.lookup(&name) {
        Lookup::Wildcard(node) => Some(zone.node_labels(node) - 1),
        _ => None,
    }
}

/// The name one label longer than the closest encloser (of `encloser_labels` labels) on
/// the way to `owner` (RFC 5155's "next closer name", used by RFC 4035 §5.3.4 too).
fn next_closer_name(owner: &[u8], encloser_labels: usize) -> Vec<u8> {
    let mut pos = 0;
    for _ in 0..label_count(owner).saturating_sub(encloser_labels + 1) {
        pos += 1 + owner[pos] as usize;
    }
    owner[pos..].to_vec()
}

/// The TTL of denial records: the negative SOA's (min of SOA TTL and MINIMUM, RFC 9077).
fn negative_ttl(zone: &ZonePlan) -> u32 {
    let soa = zone.bytes(zone.negative_soa());
    soa.get(6..10).map_or(0, |ttl| {
        u32::from_be_bytes([ttl[0], ttl[1], ttl[2], ttl[3]])
    })
}

/// Consecutive records of one owner and type.
fn rrsets(records: &[Record]) -> impl Iterator<Item = &[Record]> {
    records.chunk_by(|left, right| left.owner == right.owner && left.rtype == right.rtype)
}

/// The question-name pointer when `owner` is the question name, else the name in full.
fn owner_form(owner: &[u8], qname: &[u8]) -> Vec<u8> {
    if owner == qname {
        vec![0xC0, HEADER_LEN as u8]
    } else {
        owner.to_vec()
    }
}

/// Appends one record of class IN.
fn write_record(out: &mut Vec<u8>, owner: &[u8], rtype: u16, ttl: u32, rdata: &[u8]) {
    out.extend_from_slice(owner);
    out.extend_from_slice(&rtype.to_be_bytes());
    out.extend_from_slice(&types::CLASS_IN.to_be_bytes());
    out.extend_from_slice(&ttl.to_be_bytes());
    out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    out.extend_from_slice(rdata);
}

/// Reads an RRset as the plan renders it (each owner the two-octet question placeholder),
/// owned by `owner`.
fn read_rendered(block: &[u8], owner: &[u8]) -> Vec<Record> {
    let mut records = Vec::new();
    let mut pos = 0;
    while let Some(fixed) = block.get(pos + 2..pos + 12) {
        let rdlength = u16::from_be_bytes([fixed[8], fixed[9]]) as usize;
        let start = pos + 12;
        if start + rdlength > block.len() {
            break;
        }
        records.push(Record {
            owner: owner.to_vec(),
            rtype: u16::from_be_bytes([fixed[0], fixed[1]]),
            ttl: u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]),
            rdata: start..start + rdlength,
        });
        pos = start + rdlength;
    }
    records
}

/// Reads `count` records from `packet` at `pos`; owners decompressed and lower-cased.
/// `None` on a malformed record.
fn read_records(packet: &[u8], mut pos: usize, count: usize) -> Option<Vec<Record>> {
    let mut records = Vec::new();
    while records.len() < count && pos < packet.len() {
        let (owner, after) = read_name(packet, pos)?;
        let fixed = packet.get(after..after + 10)?;
        let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
        let ttl = u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]);
        let rdlength = u16::from_be_bytes([fixed[8], fixed[9]]) as usize;
        let start = after + 10;
        if start + rdlength > packet.len() {
            return None;
        }
        records.push(Record {
            owner,
            rtype,
            ttl,
            rdata: start..start + rdlength,
        });
        pos = start + rdlength;
    }
    (records.len() == count).then_some(records)
}

/// Reads a possibly compressed name at `pos`: its lower-case wire form and the position
/// after it.
fn read_name(packet: &[u8], mut pos: usize) -> Option<(Vec<u8>, usize)> {
    let mut name = Vec::new();
    let mut end = None;
    for _ in 0..128 {
        let len = *packet.get(pos)? as usize;
        if len & 0xC0 == 0xC0 {
            let target = ((len & 0x3F) << 8) | *packet.get(pos + 1)? as usize;
            end.get_or_insert(pos + 2);
            pos = target;
            continue;
        }
        name.push(len as u8);
        if len == 0 {
            return Some((name, end.unwrap_or(pos + 1)));
        }
        let label = packet.get(pos + 1..pos + 1 + len)?;
        name.extend(label.iter().map(u8::to_ascii_lowercase));
        pos += 1 + len;
    }
    None
}
