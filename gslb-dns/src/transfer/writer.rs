//! `MessageWriter`: one message of a zone transfer written straight into its wire form, with
//! no per-record allocation: header, the question as asked, then answer records whose owner
//! names are compressed (RFC 1035 §4.1.4) against the owner before and the zone's apex.
//!
//! Compression here is what a transfer's records need, not a general name table: an owner
//! equal to the previous record's becomes a pointer to it (a set's records, a node's sets),
//! and an owner below the apex is its labels below the apex then a pointer to where the apex
//! was first written in this message. Names inside RDATA stay as the plan's renderer writes
//! them (uncompressed), so both paths encode records alike.

use gslb_model::DomainName;

/// Pointers reach offsets below this (14 bits).
const POINTER_LIMIT: usize = 0x3FFF;

/// One transfer message being written.
pub(crate) struct MessageWriter {
    /// The message so far.
    out: Vec<u8>,
    /// Answer records written.
    answers: u16,
    /// Where the apex stands in full in this message, once written (a pointer target).
    apex_at: Option<u16>,
    /// Where the previous record's owner starts (a pointer target), when it can be pointed at.
    previous_at: Option<u16>,
    /// The previous record's owner, wire form (a buffer reused from record to record).
    previous_owner: Vec<u8>,
}

impl MessageWriter {
    /// Starts a response with `id`, AA set, NOERROR, and `question` (wire form: name, type,
    /// class) when given; `capacity` octets are reserved.
    pub(crate) fn new(id: u16, question: Option<&[u8]>, capacity: usize) -> MessageWriter {
        let mut out = Vec::with_capacity(capacity);
        out.extend_from_slice(&id.to_be_bytes());
        // QR, opcode QUERY, AA; RCODE NOERROR.
        out.extend_from_slice(&[0x84, 0x00]);
        out.extend_from_slice(&u16::from(question.is_some()).to_be_bytes());
        out.extend_from_slice(&[0; 6]);
        if let Some(question) = question {
            out.extend_from_slice(question);
        }
        MessageWriter {
            out,
            answers: 0,
            apex_at: None,
            previous_at: None,
            previous_owner: Vec::with_capacity(256),
        }
    }

    /// Octets written so far.
    pub(crate) fn len(&self) -> usize {
        self.out.len()
    }

    /// Answer records written so far.
    pub(crate) fn answers(&self) -> u16 {
        self.answers
    }

    /// Appends one record `owner type IN ttl` whose RDATA `write_rdata` appends; returns
    /// false (the message as it was) when the message would pass `limit` octets or the RDATA
    /// 65535.
    pub(crate) fn record(
        &mut self,
        apex: &DomainName,
        owner: &DomainName,
        rtype: u16,
        ttl: u32,
        limit: usize,
        write_rdata: impl FnOnce(&mut Vec<u8>),
    ) -> bool {
        let start = self.out.len();
        let apex_at = self.apex_at;
        self.write_owner(apex, owner);
        self.out.extend_from_slice(&rtype.to_be_bytes());
        self.out.extend_from_slice(&1u16.to_be_bytes());
        self.out.extend_from_slice(&ttl.to_be_bytes());
        self.out.extend_from_slice(&[0, 0]);
        let rdata_start = self.out.len();
        write_rdata(&mut self.out);
        let rdlength = self.out.len() - rdata_start;
        if rdlength > usize::from(u16::MAX) || self.out.len() > limit {
            self.out.truncate(start);
            self.apex_at = apex_at;
            self.previous_at = None;
            return false;
        }
        self.out[rdata_start - 2..rdata_start].copy_from_slice(&(rdlength as u16).to_be_bytes());
        self.answers += 1;
        true
    }

    /// Writes `owner`, compressed against the previous owner and the apex when it can be.
    fn write_owner(&mut self, apex: &DomainName, owner: &DomainName) {
        let wire = owner.as_wire();
        let start = self.out.len();
        if let Some(at) = self.previous_at {
            if self.previous_owner.eq_ignore_ascii_case(wire) {
                self.out.extend_from_slice(&(0xC000 | at).to_be_bytes());
                return;
            }
        }
        let prefix = below(wire, apex.as_wire());
        match (prefix, self.apex_at) {
            (Some(prefix), Some(apex_at)) => {
                self.out.extend_from_slice(&wire[..prefix]);
                self.out
                    .extend_from_slice(&(0xC000 | apex_at).to_be_bytes());
            }
            _ => {
                self.out.extend_from_slice(wire);
                if let Some(prefix) = prefix.filter(|prefix| start + prefix <= POINTER_LIMIT) {
                    self.apex_at = Some((start + prefix) as u16);
                }
            }
        }
        // A name written as labels then a pointer is a pointer target like any other.
        self.previous_at = (start <= POINTER_LIMIT).then_some(start as u16);
        self.previous_owner.clear();
        self.previous_owner.extend_from_slice(wire);
    }

    /// The finished message: ANCOUNT set.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.out[6..8].copy_from_slice(&self.answers.to_be_bytes());
        self.out
    }
}

/// The length of the labels of `name` below `apex` when `name` is `apex` or below it (both
/// uncompressed wire form), compared without regard to case.
fn below(name: &[u8], apex: &[u8]) -> Option<usize> {
    if name.len() < apex.len() {
        return None;
    }
    let mut pos = 0;
    while name.len() - pos > apex.len() {
        pos += 1 + usize::from(name[pos]);
    }
    (name.len() - pos == apex.len() && name[pos..].eq_ignore_ascii_case(apex)).then_some(pos)
}
