//! The `tcp` check: connect; optionally send bytes and wait for the reply to contain the
//! expected text (reading at most `MAX_BODY_BYTES`).

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use gslb_model::model::check::TcpCheck;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{Attempt, MAX_BODY_BYTES};

/// Runs one attempt (the caller bounds it in time).
pub(super) async fn run(address: IpAddr, params: &TcpCheck) -> Attempt {
    let peer = SocketAddr::new(address, params.port);
    let started = Instant::now();
    let mut stream = match TcpStream::connect(peer).await {
        Ok(stream) => stream,
        Err(error) => return Attempt::fail(format!("connect to {peer}: {error}"), None),
    };
    let rtt = started.elapsed();
    if let Some(send) = &params.send {
        if let Err(error) = stream.write_all(send.as_bytes()).await {
            return Attempt::fail(format!("send to {peer}: {error}"), Some(rtt));
        }
    }
    let Some(expect) = &params.expect else {
        return Attempt::pass(rtt);
    };
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        if contains(&received, expect.as_bytes()) {
            return Attempt::pass(rtt);
        }
        if received.len() >= MAX_BODY_BYTES {
            return Attempt::fail(
                format!("{expect:?} not in the first {MAX_BODY_BYTES} bytes from {peer}"),
                Some(rtt),
            );
        }
        match stream.read(&mut buffer).await {
            Ok(0) => {
                return Attempt::fail(
                    format!(
                        "{peer} closed after {} bytes without {expect:?}",
                        received.len()
                    ),
                    Some(rtt),
                )
            }
            Ok(n) => {
                let room = MAX_BODY_BYTES - received.len();
                received.extend_from_slice(&buffer[..n.min(room)]);
            }
            Err(error) => return Attempt::fail(format!("read from {peer}: {error}"), Some(rtt)),
        }
    }
}

/// Whether `haystack` contains `needle`.
pub(super) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || haystack
            .windows(needle.len())
            .any(|window| window == needle)
}
