//! Zone transfers out over TCP: AXFR (RFC 5936) and IXFR (RFC 1995), the slow path beside
//! the answer path. `net::tcp` hands a request whose question is AXFR or IXFR to
//! `Responder::transfer`, which checks the zone's allow list and returns a `Transfer`: the
//! response messages, built one at a time (each up to ~64 KiB) while the connection writes
//! the previous one, so a large zone is never held twice in memory.
//!
//! - Who: the zone's `ZoneTransfer::allow` (source networks, and `key:NAME` entries that a
//!   request signed with that key matches once its TSIG verifies), or a verified key whose own
//!   transfer list names the zone. A TSIG that fails gets NOTAUTH with the RFC 8945 §5.2
//!   error; anyone else gets REFUSED. Every message answering a signed request is signed
//!   (§5.3.1), with the slow path's `ResponseSigner`.
//! - What: the zone's static records from the replicated state, plus each GSLB name (unless
//!   listed in `omit_gslb`) as the answer a client of unknown location gets at that moment,
//!   so a secondary at another provider answers sensibly if gslb becomes unreachable.
//! - IXFR: the current serial (or newer) gets one SOA; an older serial the zone's history
//!   (`State::zone_history`, written by `apply`) reaches gets the difference sequences; else,
//!   and always for zones that transfer GSLB names (their answers are not in the history),
//!   the whole zone (RFC 1995 §4 allows that).
//! - The catalog zone (`catalog`) transfers like a zone to anyone allowed to transfer at least
//!   one zone.
//!
//! Requests are parsed and error answers built with hickory-proto (a low-rate path); the
//! messages of a transfer are written straight into wire form by `writer::MessageWriter`
//! (owners compressed against the previous owner and the apex, no per-record allocation),
//! RDATA by the plan's renderer, so both paths encode records alike. A 100,000-record zone
//! is ~100,000 records to encode per transfer: building a hickory `Record` for each (owner
//! parsed from text, RDATA copied twice) made gslb twice as slow as Knot (docs/perf.md).

pub mod catalog;
mod writer;

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use gslb_model::model::zone_history::diffs_since;
use gslb_model::serial::serial_is_newer;
use gslb_model::{DomainName, RecordSet, RecordType, Soa, State, TsigKey, Zone};
use hickory_proto::op::{Message, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::NULL;
use hickory_proto::rr::{Name, RData, Record, RecordType as WireType};
use hickory_proto::serialize::binary::BinEncodable;

use crate::plan::write_rdata;
use crate::slow::tsig::{self, verify_request, ResponseSigner, Verification};
use crate::transfer::writer::MessageWriter;
use crate::wire::types;
use crate::{QueryContext, Responder, Transport};

/// Past this many octets a message is sent and the next one started.
const MESSAGE_BUDGET: usize = 60_000;
/// No message grows past this: 65535 less room for the TSIG record a signed transfer adds.
const MESSAGE_LIMIT: usize = 65_535 - 1_024;

/// True when `query` is a standard query whose one question asks AXFR or IXFR: what the TCP
/// path hands to `Responder::transfer` instead of answering.
pub fn is_transfer_request(query: &[u8]) -> bool {
    if query.len() < 12 || query[2] & 0x80 != 0 || (query[2] >> 3) & 0x0F != 0 {
        return false;
    }
    if u16::from_be_bytes([query[4], query[5]]) != 1 {
        return false;
    }
    let mut pos = 12;
    while let Some(&length) = query.get(pos) {
        if length == 0 {
            let qtype = query
                .get(pos + 1..pos + 3)
                .map(|bytes| u16::from_be_bytes([bytes[0], bytes[1]]));
            return matches!(qtype, Some(types::AXFR | types::IXFR));
        }
        if length & 0xC0 != 0 {
            return false;
        }
        pos += 1 + usize::from(length);
    }
    false
}

/// The messages answering one transfer request, produced on demand.
pub struct Transfer {
    /// The request's id, echoed in every message.
    id: u16,
    /// The question as asked (name case kept), wire form, echoed in every message.
    question: Option<Vec<u8>>,
    /// Records still to send, in order.
    parts: VecDeque<Part>,
    /// The state the transfer reads, fixed for its whole length.
    state: Arc<State>,
    /// The zone transferred (from the state, or derived: the catalog).
    zone: Option<Arc<Zone>>,
    /// The zone's apex.
    apex: DomainName,
    /// A finished error answer waiting to be sent (wire form, unsigned).
    single: Option<Vec<u8>>,
    /// Signs every message (RFC 8945 §5.3.1) when the request was signed with a verified
    /// key, with this node's fudge.
    signer: Option<(ResponseSigner, u16)>,
    /// Whether the first message went out (the question is sent in every message).
    started: bool,
}

/// One stretch of a transfer's record sequence.
enum Part {
    /// One SOA record at the apex.
    Soa(Soa),
    /// The zone's static records from this set and record on.
    ZoneSets {
        /// Index of the set.
        set: usize,
        /// Index of the record in the set.
        record: usize,
    },
    /// Records of the history's `diff`-th entry: removed or added sets from `set` on.
    DiffSets {
        /// Index into `State::zone_history[apex]`.
        diff: usize,
        /// The added sets (else the removed).
        added: bool,
        /// Index of the set.
        set: usize,
        /// Index of the record in the set.
        record: usize,
    },
    /// Records prepared before (the GSLB answers).
    Ready(VecDeque<WireRecord>),
}

/// One record prepared in wire form (a GSLB answer).
struct WireRecord {
    /// Owner.
    owner: DomainName,
    /// TYPE code.
    rtype: u16,
    /// TTL.
    ttl: u32,
    /// RDATA, uncompressed.
    rdata: Vec<u8>,
}

/// Where writing one part into a message stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Filled {
    /// The message is full: the part goes on in the next one.
    Message,
    /// The part has nothing more to send.
    Part,
}

/// How a request was answered, for the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferKind {
    /// The whole zone.
    Full,
    /// Difference sequences.
    Incremental,
    /// One SOA: the client is current.
    UpToDate,
    /// Refused, not authorized or malformed.
    Refused,
}

impl TransferKind {
    /// The metrics label.
    pub fn name(self) -> &'static str {
        match self {
            TransferKind::Full => "full",
            TransferKind::Incremental => "incremental",
            TransferKind::UpToDate => "up_to_date",
            TransferKind::Refused => "refused",
        }
    }
}

impl Transfer {
    /// A transfer that is one error message.
    fn error(
        request: Option<&Message>,
        id: u16,
        code: ResponseCode,
        state: Arc<State>,
    ) -> Transfer {
        let op = request.map_or(OpCode::Query, |request| request.metadata.op_code);
        let mut message = Message::error_msg(id, op, code);
        if let Some(request) = request {
            message.add_queries(request.queries.iter().cloned());
        }
        Transfer::raw(message.to_vec().unwrap_or_default(), id, state)
    }

    /// A transfer that is the one message `bytes` (already complete).
    fn raw(bytes: Vec<u8>, id: u16, state: Arc<State>) -> Transfer {
        Transfer {
            id,
            question: None,
            parts: VecDeque::new(),
            state,
            zone: None,
            apex: DomainName::root(),
            single: Some(bytes).filter(|bytes| !bytes.is_empty()),
            signer: None,
            started: false,
        }
    }

    /// `message` signed when the request was (RFC 8945 §5.3.1: every message of the
    /// answer, each MAC chained to the one before).
    fn signed(&mut self, mut message: Vec<u8>) -> Vec<u8> {
        if let Some((signer, fudge)) = &mut self.signer {
            signer.sign(
                &mut message,
                crate::clock::coarse_unix_millis() / 1000,
                *fudge,
            );
        }
        message
    }

    /// The next message in wire form, `None` when the transfer is complete.
    pub fn next_message(&mut self) -> Option<Vec<u8>> {
        if let Some(message) = self.single.take() {
            self.started = true;
            return Some(self.signed(message));
        }
        if self.parts.is_empty() && self.started {
            return None;
        }
        self.started = true;
        let mut writer = MessageWriter::new(self.id, self.question.as_deref(), MESSAGE_LIMIT);
        let Transfer {
            parts,
            zone,
            state,
            apex,
            ..
        } = self;
        while let Some(part) = parts.front_mut() {
            let filled = match part {
                Part::Soa(soa) => {
                    let soa = &*soa;
                    let written =
                        writer.record(apex, apex, types::SOA, soa.ttl, MESSAGE_LIMIT, |out| {
                            write_soa_rdata(out, soa)
                        });
                    if written {
                        Filled::Part
                    } else {
                        Filled::Message
                    }
                }
                Part::Ready(records) => loop {
                    let Some(record) = records.front() else {
                        break Filled::Part;
                    };
                    let written = writer.record(
                        apex,
                        &record.owner,
                        record.rtype,
                        record.ttl,
                        MESSAGE_LIMIT,
                        |out| out.extend_from_slice(&record.rdata),
                    );
                    if !written && writer.answers() > 0 {
                        break Filled::Message;
                    }
                    records.pop_front();
                    if writer.len() >= MESSAGE_BUDGET {
                        break Filled::Message;
                    }
                },
                Part::ZoneSets { set, record } => match zone.as_deref() {
                    Some(zone) => {
                        let sets = zone.rrsets.range(*set..zone.rrsets.len());
                        fill(&mut writer, apex, sets, set, record)
                    }
                    None => Filled::Part,
                },
                Part::DiffSets {
                    diff,
                    added,
                    set,
                    record,
                } => {
                    let sets = state
                        .zone_history
                        .get(apex)
                        .and_then(|history| history.get(*diff))
                        .map(|diff| if *added { &diff.added } else { &diff.removed })
                        .and_then(|sets| sets.get(*set..));
                    match sets {
                        Some(sets) => fill(&mut writer, apex, sets.iter(), set, record),
                        None => Filled::Part,
                    }
                }
            };
            if filled == Filled::Message {
                break;
            }
            parts.pop_front();
            if writer.len() >= MESSAGE_BUDGET {
                break;
            }
        }
        Some(self.signed(writer.finish()))
    }

    /// Queues the difference sequences from `serial` to `current` (RFC 1995 §4) when the
    /// zone's history reaches back to `serial` unbroken; false (nothing queued) otherwise.
    fn push_history(&mut self, serial: u32, current: &Soa) -> bool {
        let Some(history) = self.state.zone_history.get(&self.apex) else {
            return false;
        };
        let Some(chain) = diffs_since(history, serial, current.serial) else {
            return false;
        };
        let first = history.len() - chain.len();
        let mut parts = vec![Part::Soa(current.clone())];
        for (offset, diff) in chain.iter().enumerate() {
            let index = first + offset;
            parts.push(Part::Soa(diff.from.clone()));
            parts.push(Part::DiffSets {
                diff: index,
                added: false,
                set: 0,
                record: 0,
            });
            parts.push(Part::Soa(diff.to.clone()));
            parts.push(Part::DiffSets {
                diff: index,
                added: true,
                set: 0,
                record: 0,
            });
        }
        parts.push(Part::Soa(current.clone()));
        self.parts.extend(parts);
        true
    }
}

/// Writes the records of `sets` (the first of which is set number `*set` of its part) from
/// record `*record` of the first on, until the message is full or the sets end; `set` and
/// `record` are left at the first record not written. A record too large for any message is
/// left out (logged).
fn fill<'a>(
    writer: &mut MessageWriter,
    apex: &DomainName,
    sets: impl Iterator<Item = &'a RecordSet>,
    set: &mut usize,
    record: &mut usize,
) -> Filled {
    for rrset in sets {
        while let Some(rdata) = rrset.rdata.get(*record) {
            let written = writer.record(
                apex,
                &rrset.name,
                rrset.rtype.code(),
                rrset.ttl,
                MESSAGE_LIMIT,
                |out| write_rdata(out, rdata),
            );
            if !written && writer.answers() > 0 {
                return Filled::Message;
            }
            if !written {
                tracing::warn!(zone = %apex, name = %rrset.name,
                    "a record too large for a message left out of a transfer");
            }
            *record += 1;
            if writer.len() >= MESSAGE_BUDGET {
                return Filled::Message;
            }
        }
        *set += 1;
        *record = 0;
    }
    Filled::Part
}

/// What the TCP path needs of a request to answer it as a transfer.
impl Responder {
    /// Answers the AXFR/IXFR request `query` from `context.client` (the transport's client:
    /// the PROXY source behind a trusted balancer): the zone's allow list decides, then the
    /// request's serial picks full, incremental or a single SOA. Counted in the metrics by
    /// kind. Call only for `is_transfer_request` messages.
    pub fn transfer(&self, query: &[u8], context: &QueryContext) -> Transfer {
        let (transfer, kind) = self.plan_transfer(query, context.client.ip());
        self.metrics().count_transfer(kind.name());
        transfer
    }

    fn plan_transfer(&self, query: &[u8], source: IpAddr) -> (Transfer, TransferKind) {
        let state = self.state();
        let id = query
            .get(..2)
            .map_or(0, |bytes| u16::from_be_bytes([bytes[0], bytes[1]]));
        let Ok(request) = Message::from_vec(query) else {
            let error = Transfer::error(None, id, ResponseCode::FormErr, state);
            return (error, TransferKind::Refused);
        };
        let now = crate::clock::coarse_unix_millis() / 1000;
        let fudge = self
            .slow_path()
            .map_or(tsig::DEFAULT_FUDGE, |slow| slow.tsig_fudge());
        let signed = match verify_request(query, &state.tsig_keys, now, fudge) {
            Ok(Verification::Unsigned) => None,
            Ok(Verification::Signed(signed)) => Some(signed),
            Ok(Verification::Failed(failure)) => {
                tracing::info!(%source, key = %failure.record.key_name, error = ?failure.error,
                    "transfer refused: tsig check failed");
                let mut reply = Message::error_msg(id, OpCode::Query, ResponseCode::NotAuth);
                reply.add_queries(request.queries.iter().cloned());
                let mut bytes = reply.to_vec().unwrap_or_default();
                tsig::error_response(&failure, &mut bytes, now, fudge);
                return (Transfer::raw(bytes, id, state), TransferKind::Refused);
            }
            Err(error) => {
                tracing::debug!(%source, "transfer request: {error}");
                let error = Transfer::error(Some(&request), id, ResponseCode::FormErr, state);
                return (error, TransferKind::Refused);
            }
        };
        let key = signed.as_ref().map(|signed| &signed.key);
        let signer = signed.as_ref().map(|signed| (signed.signer(), fudge));
        let (question, apex, derived) = match self.authorize(&request, &state, source, key) {
            Ok(granted) => granted,
            Err(code) => {
                let mut error = Transfer::error(Some(&request), id, code, state);
                error.signer = signer;
                return (error, TransferKind::Refused);
            }
        };
        // A signed zone's signatures are made per answer and never stored: a secondary would
        // serve it unsigned under the parent's DS, bogus to every validator.
        if self.plan().is_signed(&apex) {
            tracing::info!(%source, zone = %apex, "transfer refused: the zone is signed online");
            let mut error = Transfer::error(Some(&request), id, ResponseCode::Refused, state);
            error.signer = signer;
            return (error, TransferKind::Refused);
        }
        let is_derived = derived.is_some();
        let zone: Arc<Zone> = match derived {
            Some(derived) => Arc::new(derived),
            None => Arc::clone(state.zones.get(&apex).expect("authorize found the zone")),
        };
        let current = zone.soa.clone();
        let gslb = if is_derived {
            VecDeque::new()
        } else {
            self.gslb_records_for_transfer(&state, &zone)
        };
        let mut transfer = Transfer {
            id,
            question: question.to_bytes().ok(),
            parts: VecDeque::new(),
            state: state.clone(),
            zone: Some(zone),
            apex,
            single: None,
            signer,
            started: false,
        };
        let client_serial = (question.query_type == WireType::IXFR)
            .then(|| request_serial(&request))
            .flatten();
        // Only static records are in the history; GSLB answers and the catalog are not.
        let history_applies = gslb.is_empty() && !is_derived;
        let kind = match client_serial {
            Some(serial) if !serial_is_newer(current.serial, serial) => {
                transfer.parts.push_back(Part::Soa(current));
                TransferKind::UpToDate
            }
            Some(serial) if history_applies && transfer.push_history(serial, &current) => {
                TransferKind::Incremental
            }
            // AXFR; IXFR from before the history, of a zone with GSLB names, or without the
            // SOA RFC 1995 §3 asks for: the whole zone.
            _ => {
                transfer.parts.push_back(Part::Soa(current.clone()));
                transfer
                    .parts
                    .push_back(Part::ZoneSets { set: 0, record: 0 });
                transfer.parts.push_back(Part::Ready(gslb));
                transfer.parts.push_back(Part::Soa(current));
                TransferKind::Full
            }
        };
        (transfer, kind)
    }

    /// Who may have what: the question, the zone's apex and, for the catalog, the zone
    /// derived for it; or the RCODE of the refusal. A request signed with a verified `key`
    /// may transfer a zone whose allow list names `key:NAME` or that the key's own transfer
    /// list names (`gslbctl tsig create --transfer ZONE`): the same grant written on either
    /// side.
    #[allow(clippy::type_complexity)]
    fn authorize(
        &self,
        request: &Message,
        state: &State,
        source: IpAddr,
        key: Option<&TsigKey>,
    ) -> Result<(Query, DomainName, Option<Zone>), ResponseCode> {
        let question = request
            .queries
            .first()
            .cloned()
            .ok_or(ResponseCode::FormErr)?;
        let apex = DomainName::parse_absolute(&question.name.to_ascii().to_ascii_lowercase())
            .map_err(|_| ResponseCode::Refused)?;
        let key_name = key.map(|key| key.name.to_string());
        let key_name = key_name.as_deref().map(|name| name.trim_end_matches('.'));
        let may = |zone: &Zone| {
            zone.transfer.allows(source, key_name)
                || key.is_some_and(|key| key.transfer.contains(&zone.apex))
        };
        let is_catalog =
            self.options().catalog_zone.as_ref() == Some(&apex) && !state.zones.contains_key(&apex);
        let (derived, allowed) = if is_catalog {
            let allowed = state.zones.values().any(|zone| may(zone));
            (Some(catalog::catalog_zone(state, &apex)), allowed)
        } else {
            let zone = state.zones.get(&apex).ok_or(ResponseCode::NotAuth)?;
            (None, may(zone))
        };
        if !allowed {
            tracing::info!(zone = %apex, %source, key = key_name.unwrap_or("-"),
                "transfer refused: not allowed");
            return Err(ResponseCode::Refused);
        }
        Ok((question, apex, derived))
    }

    /// The records of every GSLB name of `zone` not left out of transfers: the answer a
    /// client of unknown location gets now, asked of this very responder.
    fn gslb_records_for_transfer(&self, state: &State, zone: &Zone) -> VecDeque<WireRecord> {
        let mut records = VecDeque::new();
        let unlocated = QueryContext {
            client: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
            transport: Transport::Tcp,
        };
        let mut reply = Vec::with_capacity(512);
        for record in state.gslb_records_in_zone(&zone.apex) {
            if zone.transfer.omit_gslb.contains(&record.name) {
                continue;
            }
            let Ok(name) = Name::from_ascii(record.name.to_string()) else {
                continue;
            };
            let wire_type = WireType::from(record.rtype.code());
            let mut query = Message::query();
            query.metadata.recursion_desired = false;
            query.add_query(Query::query(name.clone(), wire_type));
            let Ok(bytes) = query.to_vec() else {
                continue;
            };
            reply.clear();
            if !self.respond(&bytes, &unlocated, &mut reply) {
                continue;
            }
            let Ok(answer) = Message::from_vec(&reply) else {
                continue;
            };
            records.extend(
                answer
                    .answers
                    .into_iter()
                    .filter(|answer| answer.record_type() == wire_type && answer.name == name)
                    .filter_map(|answer| {
                        Some(WireRecord {
                            owner: record.name.clone(),
                            rtype: record.rtype.code(),
                            ttl: answer.ttl,
                            rdata: answer.data.to_bytes().ok()?,
                        })
                    }),
            );
        }
        records
    }
}

/// The serial of the SOA in an IXFR request's authority section (the secondary's).
fn request_serial(request: &Message) -> Option<u32> {
    request
        .authorities
        .iter()
        .find_map(|record| match &record.data {
            RData::SOA(soa) => Some(soa.serial),
            _ => None,
        })
}

/// Opaque RDATA (an empty one is legal: RFC 3597 `\# 0`).
fn null_of(bytes: Vec<u8>) -> NULL {
    if bytes.is_empty() {
        NULL::new()
    } else {
        NULL::with(bytes)
    }
}

/// The SOA record of the zone at `apex`.
pub(crate) fn soa_record(apex: &DomainName, soa: &Soa) -> Record {
    let mut bytes = Vec::with_capacity(64);
    write_soa_rdata(&mut bytes, soa);
    let owner = Name::from_ascii(apex.to_string()).unwrap_or_else(|_| Name::root());
    Record::from_rdata(
        owner,
        soa.ttl,
        RData::Unknown {
            code: WireType::from(RecordType::SOA.code()),
            rdata: null_of(bytes),
        },
    )
}

/// The RDATA of `soa`.
fn write_soa_rdata(out: &mut Vec<u8>, soa: &Soa) {
    soa.mname.write_wire(out);
    soa.rname.write_wire(out);
    for value in [soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum] {
        out.extend_from_slice(&value.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(name: &str, qtype: WireType) -> Vec<u8> {
        let mut message = Message::query();
        message.add_query(Query::query(Name::from_ascii(name).unwrap(), qtype));
        message.to_vec().unwrap()
    }

    #[test]
    fn only_transfer_questions_are_taken_off_the_answer_path() {
        assert!(is_transfer_request(&request(
            "example.com.",
            WireType::AXFR
        )));
        assert!(is_transfer_request(&request(
            "example.com.",
            WireType::IXFR
        )));
        assert!(!is_transfer_request(&request(
            "example.com.",
            WireType::SOA
        )));
        assert!(!is_transfer_request(&[0; 11]));
        let mut response = request("example.com.", WireType::AXFR);
        response[2] |= 0x80;
        assert!(
            !is_transfer_request(&response),
            "a response is not a request"
        );
    }
}
