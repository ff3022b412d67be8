//! `ParsedQuery`: one DNS query read in place — header, the single question, and the OPT
//! pseudo-record with its client-subnet option — without allocating.
//!
//! The parser is strict where RFC 1035 and RFC 6891 allow a server to be: exactly one
//! question, no compression in the question, no reserved label types, one OPT with the root
//! owner, option lengths that add up, and no octets after the last record. Anything else
//! becomes a `QueryError` that says whether (and with which question) to answer FORMERR or
//! to stay silent.

use crate::wire::name::{NameParseError, QueryName};

/// Length of the fixed DNS header (RFC 1035 §4.1.1).
pub const HEADER_LEN: usize = 12;
/// TYPE of the OPT pseudo-record (RFC 6891 §6.1.1).
pub const TYPE_OPT: u16 = 41;
/// TYPE of TSIG (RFC 8945 §4.2).
pub const TYPE_TSIG: u16 = 250;
/// EDNS option code of Client Subnet (RFC 7871 §6).
pub const OPTION_CLIENT_SUBNET: u16 = 8;
/// EDNS option code of COOKIE (RFC 7873 §4).
pub const OPTION_COOKIE: u16 = 10;

/// The header bits of a query that a reply copies or reacts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueryHeader {
    /// Transaction ID, echoed.
    pub id: u16,
    /// OPCODE (0 = QUERY).
    pub opcode: u8,
    /// Recursion desired, copied into the reply (RFC 1035 §4.1.1).
    pub recursion_desired: bool,
    /// Checking disabled, copied into the reply (RFC 4035 §3.1.6).
    pub checking_disabled: bool,
}

impl QueryHeader {
    /// Reads the header of `packet`, which must hold at least `HEADER_LEN` octets.
    fn read(packet: &[u8]) -> QueryHeader {
        QueryHeader {
            id: u16::from_be_bytes([packet[0], packet[1]]),
            opcode: (packet[2] >> 3) & 0x0F,
            recursion_desired: packet[2] & 0x01 != 0,
            checking_disabled: packet[3] & 0x10 != 0,
        }
    }
}

/// An EDNS Client Subnet option as the client sent it (RFC 7871 §6), already validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientSubnet {
    /// Address family: 1 = IPv4, 2 = IPv6.
    pub family: u16,
    /// SOURCE PREFIX-LENGTH.
    pub source_prefix: u8,
    /// The address octets as sent (exactly ceil(source_prefix / 8) of them).
    address: [u8; 16],
    /// Octets used in `address`.
    address_len: u8,
}

impl ClientSubnet {
    /// The address octets exactly as the client sent them.
    pub fn address_bytes(&self) -> &[u8] {
        &self.address[..self.address_len as usize]
    }

    /// The client address, zero-filled to its family's full length.
    pub fn addr(&self) -> std::net::IpAddr {
        if self.family == 1 {
            let mut octets = [0u8; 4];
            octets.copy_from_slice(&self.address[..4]);
            std::net::IpAddr::from(octets)
        } else {
            std::net::IpAddr::from(self.address)
        }
    }

    /// Parses and validates the option data (RFC 7871 §6, §7.1.1).
    fn parse(data: &[u8]) -> Result<ClientSubnet, &'static str> {
        if data.len() < 4 {
            return Err("client subnet option shorter than 4 octets");
        }
        let family = u16::from_be_bytes([data[0], data[1]]);
        let source_prefix = data[2];
        let scope_prefix = data[3];
        let max_prefix = match family {
            1 => 32,
            2 => 128,
            _ => return Err("client subnet family is neither 1 nor 2"),
        };
        if source_prefix > max_prefix {
            return Err("client subnet source prefix longer than the address");
        }
        if scope_prefix != 0 {
            return Err("client subnet scope prefix is not 0 in a query");
        }
        let address = &data[4..];
        let needed = (source_prefix as usize).div_ceil(8);
        if address.len() != needed {
            return Err("client subnet address length does not match the source prefix");
        }
        if let Some(&last) = address.last() {
            let used_bits = source_prefix as usize - (needed - 1) * 8;
            let mask = 0xFFu8.checked_shr(used_bits as u32).unwrap_or(0);
            if last & mask != 0 {
                return Err("client subnet address has bits set beyond the source prefix");
            }
        }
        let mut subnet = ClientSubnet {
            family,
            source_prefix,
            address: [0; 16],
            address_len: address.len() as u8,
        };
        subnet.address[..address.len()].copy_from_slice(address);
        Ok(subnet)
    }
}

/// A COOKIE option as the client sent it (RFC 7873 §4), its length already checked: an
/// 8-octet client cookie and, when the client has one, an 8 to 32-octet server cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookieOption {
    /// The client cookie.
    pub client: [u8; 8],
    /// The server cookie octets (the first `server_len`).
    server: [u8; 32],
    /// Octets used in `server`; 0 when the client sent only its own cookie.
    server_len: u8,
}

impl CookieOption {
    /// The server cookie the client returned (empty when it sent none).
    pub fn server(&self) -> &[u8] {
        &self.server[..self.server_len as usize]
    }

    /// Reads the option data; lengths RFC 7873 §5.2.2 calls malformed are an error.
    fn parse(data: &[u8]) -> Result<CookieOption, &'static str> {
        if data.len() < 8 {
            return Err("cookie option shorter than a client cookie");
        }
        if data.len() > 40 {
            return Err("cookie option longer than 40 octets");
        }
        if (9..16).contains(&data.len()) {
            return Err("server cookie shorter than 8 octets");
        }
        let mut cookie = CookieOption {
            client: [0; 8],
            server: [0; 32],
            server_len: (data.len() - 8) as u8,
        };
        cookie.client.copy_from_slice(&data[..8]);
        cookie.server[..data.len() - 8].copy_from_slice(&data[8..]);
        Ok(cookie)
    }
}

/// What the OPT record of a query said (RFC 6891 §6.1.2–6.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EdnsRequest {
    /// The requestor's UDP payload size (the OPT CLASS field).
    pub udp_payload: u16,
    /// EDNS version; only 0 is supported (else BADVERS).
    pub version: u8,
    /// The DO bit (RFC 3225), copied into the reply.
    pub dnssec_ok: bool,
    /// The client subnet option, if one was sent.
    pub client_subnet: Option<ClientSubnet>,
    /// The first COOKIE option, if one was sent (RFC 7873 §5.2: later ones are ignored).
    pub cookie: Option<CookieOption>,
}

/// One query read in place from a packet.
#[derive(Debug, Clone, Default)]
pub struct ParsedQuery {
    /// The header bits a reply needs.
    pub header: QueryHeader,
    /// The question name, lower-cased for lookup.
    pub name: QueryName,
    /// QTYPE and QCLASS, stored together (`qtype()`, `qclass()`): the answer path reads
    /// both as one word, and a word written as two halves cannot be forwarded to that read
    /// from the store buffer (a stall of a dozen cycles on every query).
    type_class: u32,
    /// Offset just past the question; `packet[HEADER_LEN..question_end]` is echoed verbatim,
    /// keeping the client's 0x20 case.
    pub question_end: usize,
    /// The OPT record, if the query had one.
    pub edns: Option<EdnsRequest>,
    /// True when the message holds a TSIG record in any section: the message is the slow
    /// path's (RFC 8945), not answered here; the slow path answers FORMERR unless it is the
    /// last record of the additional section (§5.1).
    pub signed: bool,
}

/// Why a packet is not a query we answer normally.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// Shorter than a header: there is not even an ID to answer.
    #[error("packet of {0} octets is shorter than a dns header")]
    TooShort(usize),
    /// QR=1: a response is never answered (it could start a loop).
    #[error("packet is a response (qr=1)")]
    Response,
    /// An opcode other than QUERY.
    #[error("opcode {opcode} is not implemented")]
    NotImplemented {
        /// The header, for the reply.
        header: QueryHeader,
        /// OPCODE as sent.
        opcode: u8,
        /// Where the question ends when it could be read (to echo it).
        question_end: Option<usize>,
        /// The OPT, when the whole packet was well formed and had one.
        edns: Option<EdnsRequest>,
    },
    /// Anything malformed: answered FORMERR with the ID (and the question when it parsed).
    #[error("malformed query: {reason}")]
    Malformed {
        /// The header, for the reply.
        header: QueryHeader,
        /// What is wrong.
        reason: &'static str,
        /// Where the question ends when it could be read (to echo it).
        question_end: Option<usize>,
    },
}

impl From<NameParseError> for &'static str {
    fn from(error: NameParseError) -> &'static str {
        match error {
            NameParseError::Truncated => "name runs past the end of the packet",
            NameParseError::Pointer => "compression pointer in the question name",
            NameParseError::ReservedLabelType => "reserved label type",
            NameParseError::TooLong => "name longer than 255 octets",
        }
    }
}

fn read_u16(packet: &[u8], pos: usize) -> Option<u16> {
    Some(u16::from_be_bytes([
        *packet.get(pos)?,
        *packet.get(pos + 1)?,
    ]))
}

/// Skips a possibly compressed name; pointers end the name, so no loop is possible.
fn skip_name(packet: &[u8], mut pos: usize) -> Result<usize, &'static str> {
    let mut total = 0usize;
    loop {
        let len = *packet
            .get(pos)
            .ok_or("name runs past the end of the packet")? as usize;
        match len & 0xC0 {
            0x00 if len == 0 => return Ok(pos + 1),
            0x00 => {
                total += len + 1;
                if total + 1 > 255 {
                    return Err("name longer than 255 octets");
                }
                pos += 1 + len;
            }
            0xC0 => {
                if pos + 2 > packet.len() {
                    return Err("name runs past the end of the packet");
                }
                return Ok(pos + 2);
            }
            _ => return Err("reserved label type"),
        }
    }
}

impl ParsedQuery {
    /// QTYPE.
    pub fn qtype(&self) -> u16 {
        self.type_class as u16
    }

    /// QCLASS.
    pub fn qclass(&self) -> u16 {
        (self.type_class >> 16) as u16
    }

    /// Reads `packet`. Never panics, whatever the bytes.
    pub fn parse(packet: &[u8]) -> Result<ParsedQuery, QueryError> {
        let mut parsed = ParsedQuery::default();
        parsed.parse_into(packet)?;
        Ok(parsed)
    }

    /// `parse` into an existing value, which is overwritten (the answer path keeps one on
    /// its stack). On error its contents are unspecified.
    pub fn parse_into(&mut self, packet: &[u8]) -> Result<(), QueryError> {
        if packet.len() < HEADER_LEN {
            return Err(QueryError::TooShort(packet.len()));
        }
        if packet[2] & 0x80 != 0 {
            return Err(QueryError::Response);
        }
        let header = QueryHeader::read(packet);
        let qdcount = u16::from_be_bytes([packet[4], packet[5]]);
        let counts = [
            u16::from_be_bytes([packet[6], packet[7]]),
            u16::from_be_bytes([packet[8], packet[9]]),
            u16::from_be_bytes([packet[10], packet[11]]),
        ];
        let malformed = |reason: &'static str, question_end: Option<usize>| QueryError::Malformed {
            header,
            reason,
            question_end,
        };

        let question = if qdcount == 1 {
            Some(self.parse_question(packet))
        } else {
            None
        };
        if header.opcode != 0 {
            // Read the OPT too when the rest is well formed, so NOTIMP can carry one.
            let (question_end, edns) = match question {
                Some(Ok(end)) => {
                    let edns = Self::parse_sections(packet, end, counts);
                    (Some(end), edns.ok().and_then(|(edns, _)| edns))
                }
                _ => (None, None),
            };
            return Err(QueryError::NotImplemented {
                header,
                opcode: header.opcode,
                question_end,
                edns,
            });
        }
        let question_end = match question {
            None if qdcount == 0 => return Err(malformed("no question", None)),
            None => return Err(malformed("more than one question", None)),
            Some(Err(reason)) => return Err(malformed(reason, None)),
            Some(Ok(end)) => end,
        };
        let in_question = |reason: &'static str| malformed(reason, Some(question_end));
        if self.qtype() == TYPE_OPT {
            return Err(in_question("qtype opt is a meta-type"));
        }
        let (edns, signed) =
            Self::parse_sections(packet, question_end, counts).map_err(in_question)?;
        self.edns = edns;
        self.signed = signed;
        self.header = header;
        self.question_end = question_end;
        Ok(())
    }

    /// Skips the answer and authority sections and reads the additional section from `pos`,
    /// returning the OPT if there is exactly one, and whether a TSIG record is anywhere (the
    /// slow path checks that it is the last record); the packet must end with the last
    /// record. Queries rarely carry answer or authority records: reading their types costs
    /// the common query nothing.
    /// Inlined: returned through memory, the `Result` was stored in pieces and read back
    /// whole, a failed store-to-load forward that cost more than reading the OPT.
    #[inline(always)]
    fn parse_sections(
        packet: &[u8],
        mut pos: usize,
        [ancount, nscount, arcount]: [u16; 3],
    ) -> Result<(Option<EdnsRequest>, bool), &'static str> {
        let mut signed = false;
        for _ in 0..(ancount as usize + nscount as usize) {
            let name_end = skip_name(packet, pos)?;
            signed |= read_u16(packet, name_end) == Some(TYPE_TSIG);
            pos = Self::skip_record(packet, pos)?;
        }
        let mut edns = None;
        for _ in 0..arcount {
            let record_start = pos;
            let name_end = skip_name(packet, pos)?;
            let rtype = read_u16(packet, name_end).ok_or("truncated record")?;
            let end = Self::skip_record(packet, pos)?;
            if rtype == TYPE_OPT {
                if edns.is_some() {
                    return Err("more than one opt record");
                }
                if name_end != record_start + 1 {
                    return Err("opt owner is not the root");
                }
                edns = Some(Self::parse_opt(&packet[name_end..end])?);
            }
            signed |= rtype == TYPE_TSIG;
            pos = end;
        }
        if pos != packet.len() {
            return Err("octets after the last record");
        }
        Ok((edns, signed))
    }

    /// Reads the question into `self`; returns the offset after it.
    fn parse_question(&mut self, packet: &[u8]) -> Result<usize, &'static str> {
        let pos = self.name.parse_into(packet, HEADER_LEN)?;
        let qtype = read_u16(packet, pos).ok_or("truncated question")?;
        let qclass = read_u16(packet, pos + 2).ok_or("truncated question")?;
        self.type_class = u32::from(qtype) | u32::from(qclass) << 16;
        Ok(pos + 4)
    }

    /// Skips one resource record and returns the offset after it.
    fn skip_record(packet: &[u8], pos: usize) -> Result<usize, &'static str> {
        let pos = skip_name(packet, pos)?;
        let rdlength = read_u16(packet, pos + 8).ok_or("truncated record")? as usize;
        let end = pos + 10 + rdlength;
        if end > packet.len() {
            return Err("record data runs past the end of the packet");
        }
        Ok(end)
    }

    /// Reads an OPT record from its TYPE field on (`fixed` = type..rdata).
    fn parse_opt(fixed: &[u8]) -> Result<EdnsRequest, &'static str> {
        let udp_payload = u16::from_be_bytes([fixed[2], fixed[3]]);
        let version = fixed[5];
        let dnssec_ok = fixed[6] & 0x80 != 0;
        let mut options = &fixed[10..];
        let mut client_subnet = None;
        let mut cookie = None;
        while !options.is_empty() {
            if options.len() < 4 {
                return Err("truncated edns option");
            }
            let code = u16::from_be_bytes([options[0], options[1]]);
            let len = u16::from_be_bytes([options[2], options[3]]) as usize;
            let data = options
                .get(4..4 + len)
                .ok_or("edns option runs past the opt record")?;
            if code == OPTION_CLIENT_SUBNET {
                if client_subnet.is_some() {
                    return Err("more than one client subnet option");
                }
                client_subnet = Some(ClientSubnet::parse(data)?);
            } else if code == OPTION_COOKIE && cookie.is_none() {
                cookie = Some(CookieOption::parse(data)?);
            }
            options = &options[4 + len..];
        }
        Ok(EdnsRequest {
            udp_payload,
            version,
            dnssec_ok,
            client_subnet,
            cookie,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(question: &[u8], additional: &[u8], arcount: u16) -> Vec<u8> {
        let mut packet = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0];
        packet.extend_from_slice(&arcount.to_be_bytes());
        packet.extend_from_slice(question);
        packet.extend_from_slice(additional);
        packet
    }

    const QUESTION: &[u8] = b"\x03WWW\x07example\x03com\x00\x00\x01\x00\x01";

    fn opt(options: &[u8]) -> Vec<u8> {
        let mut record = vec![0, 0, 41, 0x04, 0xD0, 0, 0, 0x80, 0];
        record.extend_from_slice(&(options.len() as u16).to_be_bytes());
        record.extend_from_slice(options);
        record
    }

    fn ecs(family: u16, source: u8, scope: u8, address: &[u8]) -> Vec<u8> {
        let mut option = vec![0, 8];
        option.extend_from_slice(&(4 + address.len() as u16).to_be_bytes());
        option.extend_from_slice(&family.to_be_bytes());
        option.extend_from_slice(&[source, scope]);
        option.extend_from_slice(address);
        option
    }

    fn check(packet: &[u8], expected_error: Option<&str>) -> Option<ParsedQuery> {
        match (ParsedQuery::parse(packet), expected_error) {
            (Ok(parsed), None) => Some(parsed),
            (Err(error), Some(expected)) => {
                assert_eq!(error.to_string(), expected);
                None
            }
            (got, expected) => panic!("got {got:?}, expected error {expected:?}"),
        }
    }

    #[test]
    fn reads_question_and_edns_rfc6891_section_6_1() {
        let packet = query(QUESTION, &opt(&ecs(1, 24, 0, &[192, 0, 2])), 1);
        let parsed = check(&packet, None).unwrap();
        assert_eq!(parsed.header.id, 0x1234);
        assert!(parsed.header.recursion_desired);
        assert_eq!(parsed.name.as_wire(), b"\x03www\x07example\x03com\x00");
        assert_eq!((parsed.qtype(), parsed.qclass()), (1, 1));
        assert_eq!(parsed.question_end, 12 + QUESTION.len());
        let edns = parsed.edns.unwrap();
        assert_eq!(
            (edns.udp_payload, edns.version, edns.dnssec_ok),
            (1232, 0, true)
        );
        let subnet = edns.client_subnet.unwrap();
        assert_eq!(subnet.address_bytes(), &[192, 0, 2]);
        assert_eq!(
            subnet.addr(),
            "192.0.2.0".parse::<std::net::IpAddr>().unwrap()
        );
    }

    #[test]
    fn rejects_bad_client_subnets_rfc7871_section_7_1_1() {
        for (option, reason) in [
            (ecs(3, 0, 0, &[]), "client subnet family is neither 1 nor 2"),
            (
                ecs(1, 33, 0, &[1, 2, 3, 4, 5]),
                "client subnet source prefix longer than the address",
            ),
            (
                ecs(2, 129, 0, &[0; 17]),
                "client subnet source prefix longer than the address",
            ),
            (
                ecs(1, 24, 8, &[192, 0, 2]),
                "client subnet scope prefix is not 0 in a query",
            ),
            (
                ecs(1, 24, 0, &[192, 0, 2, 0]),
                "client subnet address length does not match the source prefix",
            ),
            (
                ecs(1, 23, 0, &[192, 0, 3]),
                "client subnet address has bits set beyond the source prefix",
            ),
        ] {
            let packet = query(QUESTION, &opt(&option), 1);
            check(&packet, Some(&format!("malformed query: {reason}")));
        }
        let packet = query(QUESTION, &opt(&ecs(2, 0, 0, &[])), 1);
        check(&packet, None);
    }

    /// A TSIG record anywhere marks the query `signed`, so the slow path sees it and answers
    /// FORMERR when it is not the last additional record (RFC 8945 §5.1).
    #[test]
    fn a_tsig_record_in_any_section_marks_the_query_signed_rfc8945_section_5_1() {
        // Owner `k.`, TYPE 250, CLASS ANY, TTL 0, a 2-octet RDATA (only skipped here).
        let tsig = b"\x01k\x00\x00\xFA\x00\xFF\x00\x00\x00\x00\x00\x02\x00\x00";
        let mut in_answer = query(QUESTION, tsig, 0);
        in_answer[7] = 1;
        let mut in_authority = query(QUESTION, tsig, 0);
        in_authority[9] = 1;
        let mut first_of_two = tsig.to_vec();
        first_of_two.extend_from_slice(&opt(&[]));
        let before_opt = query(QUESTION, &first_of_two, 2);
        let last = query(QUESTION, tsig, 1);
        for packet in [&in_answer, &in_authority, &before_opt, &last] {
            assert!(check(packet, None).unwrap().signed);
        }
        assert!(!check(&query(QUESTION, &opt(&[]), 1), None).unwrap().signed);
    }

    #[test]
    fn two_opt_records_are_formerr_rfc6891_section_6_1_1() {
        let mut additional = opt(&[]);
        additional.extend_from_slice(&opt(&[]));
        let packet = query(QUESTION, &additional, 2);
        check(&packet, Some("malformed query: more than one opt record"));
    }

    #[test]
    fn rejects_malformed_packets() {
        check(
            &[0; 11],
            Some("packet of 11 octets is shorter than a dns header"),
        );
        let mut response = query(QUESTION, &[], 0);
        response[2] |= 0x80;
        check(&response, Some("packet is a response (qr=1)"));
        let mut trailing = query(QUESTION, &[], 0);
        trailing.push(0);
        check(
            &trailing,
            Some("malformed query: octets after the last record"),
        );
        let mut two = query(QUESTION, &[], 0);
        two[5] = 2;
        check(&two, Some("malformed query: more than one question"));
        let truncated = query(&QUESTION[..10], &[], 0);
        check(
            &truncated,
            Some("malformed query: name runs past the end of the packet"),
        );
        let looped = query(b"\xc0\x0c\x00\x01\x00\x01", &[], 0);
        check(
            &looped,
            Some("malformed query: compression pointer in the question name"),
        );
        let mut bad_opt = vec![1, b'x'];
        bad_opt.extend_from_slice(&opt(&[]));
        let packet = query(QUESTION, &bad_opt, 1);
        check(&packet, Some("malformed query: opt owner is not the root"));
        let packet = query(QUESTION, &opt(&[0, 9, 0, 9, 1]), 1);
        check(
            &packet,
            Some("malformed query: edns option runs past the opt record"),
        );
    }

    #[test]
    fn unknown_options_are_skipped_rfc6891_section_6_1_2() {
        let packet = query(QUESTION, &opt(&[0xFD, 0xE9, 0, 2, 1, 2]), 1);
        let parsed = check(&packet, None).unwrap();
        assert_eq!(parsed.edns.unwrap().client_subnet, None);
    }
}
