//! RFC 8945 §5.1 with crafted packets against a real `gslb serve`: "If a TSIG record is
//! present in any other position [than the last record of the additional section], the
//! server MUST return FORMERR". A query, an UPDATE and an AXFR each carry a TSIG record in
//! the answer section, the authority section, before another additional record, or twice;
//! every one is answered FORMERR with its ID, over UDP and TCP, and the server keeps
//! answering. The same TSIG record in its right place is read as a signature (an unknown
//! key: NOTAUTH), which shows the position alone made the difference.

mod common;

use std::time::Duration;

use common::codes::{A, FORMERR, IN};
use common::{
    framed, query_packet, read_framed, reply_header, send_all, tcp_connect, udp_exchange, Server,
};

/// How long a reply may take on a loaded machine.
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);
/// TYPE AXFR.
const AXFR: u16 = 252;
/// OPCODE UPDATE in the header's flags word.
const UPDATE_FLAGS: u16 = 5 << 11;
/// RCODE NOTAUTH (RFC 8945 §5.2: an unknown key).
const NOTAUTH: u8 = 9;

/// A well-formed TSIG record (key `unknown-key.`, hmac-sha256, a zero MAC of full length)
/// for a message with `id`; only its position is wrong in the messages below.
fn tsig_record(id: u16) -> Vec<u8> {
    let mut record = b"\x0bunknown-key\x00\x00\xfa\x00\xff\x00\x00\x00\x00".to_vec();
    let mut rdata = b"\x0bhmac-sha256\x00".to_vec();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    rdata.extend_from_slice(&now.to_be_bytes()[2..]);
    rdata.extend_from_slice(&300u16.to_be_bytes());
    rdata.extend_from_slice(&32u16.to_be_bytes());
    rdata.extend_from_slice(&[0; 32]);
    rdata.extend_from_slice(&id.to_be_bytes());
    rdata.extend_from_slice(&[0, 0, 0, 0]);
    record.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    record.extend_from_slice(&rdata);
    record
}

/// An EDNS OPT record (payload 1232, no options).
const OPT: &[u8] = b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00";

/// Where a crafted message puts its TSIG record.
#[derive(Debug, Clone, Copy)]
enum Position {
    /// The answer section (a query's; an UPDATE's prerequisites).
    Answer,
    /// The authority section (an UPDATE's updates).
    Authority,
    /// First of the additional section, an OPT after it.
    BeforeOpt,
    /// Two TSIG records: the first is not last.
    Twice,
    /// The last additional record: the right place.
    Last,
}

/// `message` (a header and one question, nothing else) with the TSIG record at `position`.
fn with_tsig(mut message: Vec<u8>, position: Position) -> Vec<u8> {
    let id = u16::from_be_bytes([message[0], message[1]]);
    let tsig = tsig_record(id);
    let (counts, tail): ([u16; 3], Vec<u8>) = match position {
        Position::Answer => ([1, 0, 0], tsig),
        Position::Authority => ([0, 1, 0], tsig),
        Position::BeforeOpt => ([0, 0, 2], [tsig.as_slice(), OPT].concat()),
        Position::Twice => ([0, 0, 2], [tsig.as_slice(), tsig.as_slice()].concat()),
        Position::Last => ([0, 0, 1], tsig),
    };
    for (index, count) in counts.iter().enumerate() {
        message[6 + 2 * index..8 + 2 * index].copy_from_slice(&count.to_be_bytes());
    }
    message.extend_from_slice(&tail);
    message
}

/// The reply to `message` over TCP.
fn tcp_exchange(server: &Server, message: &[u8]) -> Vec<u8> {
    let mut stream = tcp_connect(server.address);
    send_all(&mut stream, &framed(message));
    read_framed(&mut stream).expect("a reply over tcp")
}

/// Every misplaced TSIG record gets FORMERR with the message's ID, over UDP and TCP, for a
/// query, an UPDATE and an AXFR; in its place the same record is a signature (NOTAUTH for
/// an unknown key); the server answers normally afterwards.
#[test]
fn rfc8945_5_1_a_tsig_record_not_last_is_formerr() {
    let server = Server::start();
    let misplaced = [
        Position::Answer,
        Position::Authority,
        Position::BeforeOpt,
        Position::Twice,
    ];
    let mut id = 0x4000;
    for position in misplaced.into_iter().chain([Position::Last]) {
        let expected = match position {
            Position::Last => NOTAUTH,
            _ => FORMERR,
        };
        let messages = [
            ("query", query_packet(id, 0, "www.example.test", A, IN)),
            (
                "update",
                query_packet(id + 1, UPDATE_FLAGS, "example.test", 6, IN),
            ),
        ];
        for (what, message) in messages {
            let message = with_tsig(message, position);
            let sent_id = u16::from_be_bytes([message[0], message[1]]);
            let reply = udp_exchange(server.address, &message, REPLY_TIMEOUT)
                .unwrap_or_else(|| panic!("no udp reply to a {what} with tsig {position:?}"));
            let header = reply_header(&reply);
            assert_eq!(
                (header.id, header.rcode),
                (sent_id, expected),
                "udp {what}, tsig {position:?}"
            );
            let header = reply_header(&tcp_exchange(&server, &message));
            assert_eq!(
                (header.id, header.rcode),
                (sent_id, expected),
                "tcp {what}, tsig {position:?}"
            );
        }
        let axfr = with_tsig(query_packet(id + 2, 0, "example.test", AXFR, IN), position);
        let header = reply_header(&tcp_exchange(&server, &axfr));
        assert_eq!(
            (header.id, header.rcode),
            (id + 2, expected),
            "axfr, tsig {position:?}"
        );
        id += 3;
    }
    let reply = server.dig(&["www.example.test", "A"]);
    assert_eq!(reply.status(), "NOERROR", "{}", reply.text);
}
