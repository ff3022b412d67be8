//! Target `dns_packet`: no packet makes `Responder::respond` panic, over UDP or TCP, against
//! the fixture zone (every kind of name the answer path treats apart); a reply always echoes
//! the ID with QR set and fits the UDP limit.

use std::net::SocketAddr;
use std::sync::OnceLock;

use gslb_dns::{compile_plan, QueryContext, Responder, ResponderOptions, Transport};

use crate::fixture::{example_zone, state_with};
use crate::Outcome;

fn responder() -> &'static Responder {
    static RESPONDER: OnceLock<Responder> = OnceLock::new();
    RESPONDER.get_or_init(|| {
        let options = ResponderOptions {
            id_server: Some("fuzz".into()),
            ..ResponderOptions::default()
        };
        Responder::new(compile_plan(&state_with(example_zone(""))), options)
    })
}

/// Answers `data` over UDP and over TCP; `Accepted` when either transport answered.
pub fn run(data: &[u8]) -> Outcome {
    let mut out = Vec::new();
    let mut answered = false;
    for transport in [Transport::Udp, Transport::Tcp] {
        let context = QueryContext {
            client: SocketAddr::from(([198, 51, 100, 7], 53)),
            transport,
        };
        if responder().respond(data, &context, &mut out) {
            assert!(
                out.len() >= 12 && out[..2] == data[..2] && out[2] & 0x80 != 0,
                "a reply echoes the ID with QR set"
            );
            assert!(
                transport == Transport::Tcp || out.len() <= 1232,
                "a UDP reply fits 1232 bytes, got {}",
                out.len()
            );
            answered = true;
        }
    }
    Outcome::from_accepted(answered)
}
