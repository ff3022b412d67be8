//! One DNS query to a DNS node, as a drill asks it: `name TYPE` over UDP, with an optional
//! EDNS Client Subnet so the node places the query in a client group, and what the answer
//! held (addresses and CNAME targets, lower case, no trailing dot).
//!
//! The query is a handful of bytes built here; the reply is parsed by hickory-proto and
//! checked against our id and question. Bounded: one socket, one datagram, a timeout.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::RData;
use tokio::net::UdpSocket;

/// Why a query got no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// The name or type cannot be asked.
    #[error("cannot ask {0}")]
    Question(String),
    /// Socket trouble or no reply in time.
    #[error("{0}")]
    Transport(String),
    /// A reply that is not an answer to our question.
    #[error("{0}")]
    Reply(String),
}

/// Asks `server` for `name` (absolute, `www.example.`) of type `qtype` (`A`, `AAAA` or
/// `CNAME`), with `ecs` as the client subnet if given; returns the answer's targets.
pub async fn ask(
    server: SocketAddr,
    name: &str,
    qtype: &str,
    ecs: Option<(IpAddr, u8)>,
    timeout: Duration,
) -> Result<Vec<String>, QueryError> {
    let code: u16 = match qtype {
        "A" => 1,
        "CNAME" => 5,
        "AAAA" => 28,
        other => return Err(QueryError::Question(format!("type {other}"))),
    };
    let id = query_id();
    let packet = encode_query(id, name, code, ecs)?;
    let bind: SocketAddr = if server.is_ipv4() {
        SocketAddr::from(([0, 0, 0, 0], 0))
    } else {
        SocketAddr::from(([0u16; 8], 0))
    };
    let exchange = async {
        let socket = UdpSocket::bind(bind)
            .await
            .map_err(|error| QueryError::Transport(format!("bind: {error}")))?;
        socket
            .connect(server)
            .await
            .map_err(|error| QueryError::Transport(format!("connect {server}: {error}")))?;
        socket
            .send(&packet)
            .await
            .map_err(|error| QueryError::Transport(format!("send to {server}: {error}")))?;
        let mut buffer = vec![0u8; 4096];
        loop {
            let length = socket
                .recv(&mut buffer)
                .await
                .map_err(|error| QueryError::Transport(format!("from {server}: {error}")))?;
            let Ok(reply) = Message::from_vec(&buffer[..length]) else {
                return Err(QueryError::Reply(format!(
                    "{server} sent a malformed reply"
                )));
            };
            if reply.metadata.id != id || reply.metadata.message_type != MessageType::Response {
                continue;
            }
            return answers(&reply, server);
        }
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| QueryError::Transport(format!("no reply from {server} within {timeout:?}")))?
}

/// The targets in a reply, or why it is not an answer.
fn answers(reply: &Message, server: SocketAddr) -> Result<Vec<String>, QueryError> {
    if reply.metadata.response_code != ResponseCode::NoError {
        return Err(QueryError::Reply(format!(
            "{server} answered {:?}",
            reply.metadata.response_code
        )));
    }
    Ok(reply
        .answers
        .iter()
        .filter_map(|record| match &record.data {
            RData::A(address) => Some(address.0.to_string()),
            RData::AAAA(address) => Some(address.0.to_string()),
            RData::CNAME(target) => Some(
                target
                    .0
                    .to_ascii()
                    .trim_end_matches('.')
                    .to_ascii_lowercase(),
            ),
            _ => None,
        })
        .collect())
}

/// A query: header, one question, and an OPT record carrying the ECS option if any.
fn encode_query(
    id: u16,
    name: &str,
    qtype: u16,
    ecs: Option<(IpAddr, u8)>,
) -> Result<Vec<u8>, QueryError> {
    let mut packet = Vec::with_capacity(64);
    packet.extend_from_slice(&id.to_be_bytes());
    packet.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
    for label in name.trim_end_matches('.').split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(QueryError::Question(format!("name {name:?}")));
        }
        packet.push(label.len() as u8);
        packet.extend_from_slice(label.as_bytes());
    }
    packet.push(0);
    packet.extend_from_slice(&qtype.to_be_bytes());
    packet.extend_from_slice(&1u16.to_be_bytes());
    // OPT: root owner, type 41, UDP size 1232, no extended flags.
    packet.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0]);
    match ecs {
        None => packet.extend_from_slice(&[0, 0]),
        Some((address, prefix)) => {
            let (family, bytes): (u16, Vec<u8>) = match address {
                IpAddr::V4(v4) => (1, v4.octets().to_vec()),
                IpAddr::V6(v6) => (2, v6.octets().to_vec()),
            };
            let prefix = prefix.min(bytes.len() as u8 * 8);
            let kept = usize::from(prefix).div_ceil(8);
            let option_length = 4 + kept as u16;
            packet.extend_from_slice(&(4 + option_length).to_be_bytes());
            packet.extend_from_slice(&8u16.to_be_bytes());
            packet.extend_from_slice(&option_length.to_be_bytes());
            packet.extend_from_slice(&family.to_be_bytes());
            packet.push(prefix);
            packet.push(0);
            let mut address = bytes[..kept].to_vec();
            if prefix % 8 != 0 {
                if let Some(last) = address.last_mut() {
                    *last &= 0xffu8 << (8 - prefix % 8);
                }
            }
            packet.extend_from_slice(&address);
        }
    }
    Ok(packet)
}

/// A query id that differs between queries.
fn query_id() -> u16 {
    let mut bytes = [0u8; 2];
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.subsec_nanos());
        return (nanos ^ (nanos >> 16)) as u16;
    }
    u16::from_be_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The query parses as one question with an OPT record whose ECS option carries the
    /// masked subnet.
    #[test]
    fn the_query_carries_the_question_and_a_masked_subnet() {
        let packet = encode_query(
            7,
            "www.example.",
            1,
            Some(("198.51.100.77".parse().unwrap(), 20)),
        )
        .unwrap();
        let message = Message::from_vec(&packet).expect("a valid message");
        assert_eq!(message.metadata.id, 7);
        assert_eq!(message.queries.len(), 1);
        assert_eq!(message.queries[0].name().to_ascii(), "www.example.");
        let tail = &packet[packet.len() - 7..];
        // family 1, source /20, scope 0, 198.51.96 (the /20 of .100.77)
        assert_eq!(tail, [0, 1, 20, 0, 198, 51, 96]);
        assert!(encode_query(1, "bad..name.", 1, None).is_err());
    }
}
