//! Asking a parent's servers for a zone's DS RRset, to see when the parent has taken a new
//! key's DS (the `ds_seen` step of a CSK/KSK rollover; the parent agents of RFC 7344 §4.1
//! and BIND's `parental-agents`). One UDP query per server, bounded by a timeout; the reply
//! is parsed by hickory-proto and its DS RDATA compared byte for byte with the key's DS in
//! either digest type.

use std::net::SocketAddr;
use std::time::Duration;

use gslb_dns::dnssec::keys::ds_rdata;
use gslb_dns::dnssec::DigestType;
use gslb_model::model::DnssecKey;
use gslb_model::DomainName;
use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::RecordType;
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};
use tokio::net::UdpSocket;

/// How long one parent server may take to answer.
const TIMEOUT: Duration = Duration::from_secs(2);

/// True when every server in `agents` answers `zone`'s DS RRset with a DS of `key`;
/// `Err` says which server could not be asked.
pub async fn every_agent_holds(
    agents: &[String],
    zone: &DomainName,
    key: &DnssecKey,
) -> Result<bool, String> {
    let wanted = [DigestType::Sha256, DigestType::Sha384].map(|digest| ds_rdata(zone, key, digest));
    for agent in agents {
        let server: SocketAddr = agent
            .parse()
            .map_err(|_| format!("parent agent {agent:?} is not ADDR:PORT"))?;
        let held = ds_set(server, zone).await?;
        if !held.iter().any(|rdata| wanted.contains(rdata)) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The DS RDATAs `server` answers for `zone`.
async fn ds_set(server: SocketAddr, zone: &DomainName) -> Result<Vec<Vec<u8>>, String> {
    let id: u16 = rand_id();
    let mut query = Vec::with_capacity(32 + zone.to_wire().len());
    query.extend_from_slice(&id.to_be_bytes());
    // No recursion asked: the parent's own data.
    query.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    query.extend_from_slice(&zone.to_wire());
    query.extend_from_slice(&u16::from(RecordType::DS).to_be_bytes());
    query.extend_from_slice(&1u16.to_be_bytes());
    let exchange = async {
        let bind: SocketAddr = if server.is_ipv4() {
            SocketAddr::from(([0, 0, 0, 0], 0))
        } else {
            SocketAddr::from(([0u16; 8], 0))
        };
        let socket = UdpSocket::bind(bind)
            .await
            .map_err(|error| format!("bind: {error}"))?;
        socket
            .connect(server)
            .await
            .map_err(|error| format!("parent agent {server}: {error}"))?;
        socket
            .send(&query)
            .await
            .map_err(|error| format!("parent agent {server}: {error}"))?;
        let mut buffer = vec![0u8; 4096];
        loop {
            let length = socket
                .recv(&mut buffer)
                .await
                .map_err(|error| format!("parent agent {server}: {error}"))?;
            let Ok(reply) = Message::from_vec(&buffer[..length]) else {
                continue;
            };
            if reply.metadata.id != id || reply.metadata.message_type != MessageType::Response {
                continue;
            }
            if reply.metadata.response_code != ResponseCode::NoError {
                return Err(format!(
                    "parent agent {server} answered {:?} for {zone} DS",
                    reply.metadata.response_code
                ));
            }
            let mut set = Vec::new();
            for record in reply
                .answers
                .iter()
                .filter(|record| record.record_type() == RecordType::DS)
            {
                let mut rdata = Vec::new();
                let mut encoder = BinEncoder::new(&mut rdata);
                record
                    .data
                    .emit(&mut encoder)
                    .map_err(|error| format!("parent agent {server}: DS: {error}"))?;
                set.push(rdata);
            }
            return Ok(set);
        }
    };
    tokio::time::timeout(TIMEOUT, exchange)
        .await
        .map_err(|_| format!("parent agent {server}: no reply within {TIMEOUT:?}"))?
}

/// A query id from the operating system's randomness.
fn rand_id() -> u16 {
    let mut bytes = [0u8; 2];
    // A predictable id only weakens spoofing resistance of this one check.
    let _ = getrandom::fill(&mut bytes);
    u16::from_be_bytes(bytes)
}
