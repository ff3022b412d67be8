//! The `dns` check: one UDP query for the check's name and type, sent to the endpoint; the
//! reply must carry our id and question, and NOERROR with an answer (or, with
//! `expect_answer: false`, NOERROR or NXDOMAIN).

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::Instant;

use gslb_model::model::check::DnsCheck;
use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RecordType};
use tokio::net::UdpSocket;

use super::Attempt;

/// Runs one attempt (the caller bounds it in time).
pub(super) async fn run(address: IpAddr, params: &DnsCheck) -> Attempt {
    let peer = SocketAddr::new(address, params.port);
    let name = match Name::from_ascii(params.name.to_string()) {
        Ok(name) => name,
        Err(error) => return Attempt::fail(format!("query name {}: {error}", params.name), None),
    };
    let Ok(qtype) = RecordType::from_str(&params.qtype.as_str()) else {
        return Attempt::fail(
            format!("query type {} is not supported", params.qtype),
            None,
        );
    };
    let id = query_id(peer);
    let mut message = Message::new(id, MessageType::Query, OpCode::Query);
    message.add_query(Query::query(name.clone(), qtype));
    let packet = match message.to_vec() {
        Ok(packet) => packet,
        Err(error) => return Attempt::fail(format!("encode query: {error}"), None),
    };
    let bind: SocketAddr = if peer.is_ipv4() {
        "0.0.0.0:0".parse().expect("literal")
    } else {
        "[::]:0".parse().expect("literal")
    };
    let socket = match UdpSocket::bind(bind).await {
        Ok(socket) => socket,
        Err(error) => return Attempt::fail(format!("bind a udp socket: {error}"), None),
    };
    if let Err(error) = socket.connect(peer).await {
        return Attempt::fail(format!("udp connect to {peer}: {error}"), None);
    }
    let started = Instant::now();
    if let Err(error) = socket.send(&packet).await {
        return Attempt::fail(format!("send query to {peer}: {error}"), None);
    }
    let mut buffer = [0u8; 4096];
    loop {
        let length = match socket.recv(&mut buffer).await {
            Ok(length) => length,
            Err(error) => return Attempt::fail(format!("receive from {peer}: {error}"), None),
        };
        let rtt = started.elapsed();
        let Ok(reply) = Message::from_vec(&buffer[..length]) else {
            return Attempt::fail(
                format!("{peer} sent {length} bytes that are not a dns message"),
                Some(rtt),
            );
        };
        // A stray datagram with another id is not our answer: keep waiting (the attempt's
        // timeout bounds this).
        if reply.metadata.id != id || reply.metadata.message_type != MessageType::Response {
            continue;
        }
        if reply
            .queries
            .first()
            .map(|query| (query.name(), query.query_type()))
            != Some((&name, qtype))
        {
            return Attempt::fail(format!("{peer} answered another question"), Some(rtt));
        }
        let code = reply.metadata.response_code;
        let answered = !reply.answers.is_empty();
        return match (code, params.expect_answer) {
            (ResponseCode::NoError, true) if answered => Attempt::pass(rtt),
            (ResponseCode::NoError, true) => Attempt::fail(
                format!(
                    "{peer} returned no answer for {} {}",
                    params.name, params.qtype
                ),
                Some(rtt),
            ),
            (ResponseCode::NoError | ResponseCode::NXDomain, false) => Attempt::pass(rtt),
            (code, _) => Attempt::fail(
                format!(
                    "{peer} answered rcode {code:?} for {} {}",
                    params.name, params.qtype
                ),
                Some(rtt),
            ),
        };
    }
}

/// A query id that differs between attempts (clock nanos mixed with the peer).
fn query_id(peer: SocketAddr) -> u16 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.subsec_nanos())
        .unwrap_or(0);
    let mixed = u64::from(nanos) ^ (u64::from(peer.port()) << 17) ^ 0x9e37_79b9;
    (mixed.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 48) as u16
}
