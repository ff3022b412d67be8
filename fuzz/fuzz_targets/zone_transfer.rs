//! Fuzz target: no request makes the zone transfer path (`is_transfer_request`, then
//! `Responder::transfer` and every message it yields) panic, against a zone that loopback may
//! transfer, with a history of differences for IXFR and a catalog zone; every message fits
//! its TCP frame, echoes the request's ID with QR set, and the transfer ends.

#![no_main]

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, OnceLock};

use gslb_dns::transfer::is_transfer_request;
use gslb_dns::{compile_plan, QueryContext, Responder, ResponderOptions, Transport};
use gslb_model::model::transfer::ZoneDiff;
use gslb_model::{DomainName, RData, RecordSet, Soa, State, Zone, ZoneTransfer};
use libfuzzer_sys::fuzz_target;

fn name(text: &str) -> DomainName {
    DomainName::parse_absolute(text).expect("valid name")
}

fn set(owner: &str, rdata: Vec<RData>) -> RecordSet {
    RecordSet {
        name: name(owner),
        rtype: rdata[0].record_type(),
        ttl: 300,
        rdata,
    }
}

fn soa(serial: u32) -> Soa {
    Soa {
        mname: name("ns1.example.com."),
        rname: name("hostmaster.example.com."),
        serial,
        refresh: 3600,
        retry: 600,
        expire: 86400,
        minimum: 300,
        ttl: 3600,
    }
}

fn responder() -> &'static Responder {
    static RESPONDER: OnceLock<Responder> = OnceLock::new();
    RESPONDER.get_or_init(|| {
        let a = |last: u8| RData::A(Ipv4Addr::new(192, 0, 2, last));
        let mut rrsets = vec![
            set("example.com.", vec![RData::NS(name("ns1.example.com."))]),
            set("ns1.example.com.", vec![a(1)]),
            set("www.example.com.", vec![a(2), a(3)]),
            set(
                "a.b.c.example.com.",
                vec![RData::TXT(vec![vec![b'x'; 200]; 4])],
            ),
        ];
        for n in 0..500u16 {
            rrsets.push(set(
                &format!("host{n}.example.com."),
                vec![a((n % 250) as u8)],
            ));
        }
        let mut zone = Zone {
            apex: name("example.com."),
            soa: soa(3),
            default_ttl: 300,
            serial_policy: Default::default(),
            transfer: ZoneTransfer {
                allow: vec!["127.0.0.0/8".parse().expect("a network")],
                ..Default::default()
            },
            rrsets: rrsets.into(),
        };
        zone.normalize();
        let mut state = State::default();
        state.zone_history.insert(
            zone.apex.clone(),
            VecDeque::from([
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
            ]),
        );
        state
            .zones
            .insert(zone.apex.clone(), std::sync::Arc::new(zone));
        let options = ResponderOptions {
            catalog_zone: Some(name("catalog.invalid.")),
            ..ResponderOptions::default()
        };
        let responder = Responder::new(compile_plan(&state), options);
        responder.install_state(Arc::new(state));
        responder
    })
}

fuzz_target!(|data: &[u8]| {
    if !is_transfer_request(data) {
        return;
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
});
