//! Target `zone_transfer`: no request makes the zone transfer path (`is_transfer_request`,
//! then `Responder::transfer` and every message it yields) panic, against the fixture zone
//! with 500 more names, which loopback may transfer, a history of differences for IXFR and a
//! catalog zone; every message fits its TCP frame, echoes the request's ID with QR set, and
//! the transfer ends.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use gslb_dns::transfer::is_transfer_request;
use gslb_dns::{compile_plan, QueryContext, Responder, ResponderOptions, Transport};
use gslb_model::model::zone_history::ZoneDiff;

use crate::fixture::{a, example_zone, name, set, soa, state_with};
use crate::Outcome;

fn responder() -> &'static Responder {
    static RESPONDER: OnceLock<Responder> = OnceLock::new();
    RESPONDER.get_or_init(|| {
        let mut hosts = String::new();
        for n in 0..500u16 {
            writeln!(hosts, "host{n} A 192.0.2.{}", n % 250).expect("a String takes text");
        }
        let mut zone = example_zone(&hosts);
        zone.transfer.allow = vec!["127.0.0.0/8".parse().expect("a network")];
        zone.normalize();
        let apex = zone.apex.clone();
        let mut state = state_with(zone);
        state.zone_history.insert(
            apex,
            [
                ZoneDiff {
                    from: soa(1),
                    to: soa(2),
                    removed: vec![set("old.example.com.", vec![a(9)])],
                    added: vec![set("www.example.com.", vec![a(3)])],
                },
                ZoneDiff {
                    from: soa(2),
                    to: soa(3),
                    removed: vec![],
                    added: vec![set("www.example.com.", vec![a(2)])],
                },
            ]
            .into_iter()
            .collect(),
        );
        let options = ResponderOptions {
            catalog_zone: Some(name("catalog.invalid.")),
            ..ResponderOptions::default()
        };
        let responder = Responder::new(compile_plan(&state), options);
        responder.install_state(Arc::new(state));
        responder
    })
}

/// Runs the transfer `data` asks for to its end; `Accepted` when it is a transfer request.
pub fn run(data: &[u8]) -> Outcome {
    if !is_transfer_request(data) {
        return Outcome::Refused;
    }
    let context = QueryContext {
        client: SocketAddr::from(([127, 0, 0, 1], 53)),
        transport: Transport::Tcp,
    };
    let mut transfer = responder().transfer(data, &context);
    let mut messages = 0;
    while let Some(message) = transfer.next_message() {
        assert!(message.len() <= 65535 && message.len() >= 12);
        assert!(message[..2] == data[..2] && message[2] & 0x80 != 0);
        messages += 1;
        assert!(messages < 1000, "the transfer ends");
    }
    Outcome::Accepted
}
