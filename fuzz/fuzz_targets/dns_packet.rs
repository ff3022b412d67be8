//! Fuzz target: no packet makes `Responder::respond` panic, over UDP or TCP, against a small
//! fixed plan with every kind of name (positive, CNAME chain, wildcard, delegation with glue,
//! empty non-terminal); a reply always echoes the ID with QR set and fits the UDP limit.

#![no_main]

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::OnceLock;

use gslb_dns::{compile_plan, QueryContext, Responder, ResponderOptions, Transport};
use gslb_model::{DomainName, RData, RecordSet, Soa, State, Zone};
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

fn responder() -> &'static Responder {
    static RESPONDER: OnceLock<Responder> = OnceLock::new();
    RESPONDER.get_or_init(|| {
        let a = |last: u8| RData::A(Ipv4Addr::new(192, 0, 2, last));
        let zone = Zone {
            apex: name("example.com."),
            soa: Soa {
                mname: name("ns1.example.com."),
                rname: name("hostmaster.example.com."),
                serial: 1,
                refresh: 3600,
                retry: 600,
                expire: 86400,
                minimum: 300,
                ttl: 3600,
            },
            default_ttl: 300,
            serial_policy: Default::default(),
            transfer: Default::default(),
            rrsets: vec![
                set("example.com.", vec![RData::NS(name("ns1.example.com."))]),
                set("ns1.example.com.", vec![a(1)]),
                set("www.example.com.", vec![a(2), a(3)]),
                set(
                    "alias.example.com.",
                    vec![RData::CNAME(name("www.example.com."))],
                ),
                set(
                    "loop.example.com.",
                    vec![RData::CNAME(name("loop.example.com."))],
                ),
                set("*.wild.example.com.", vec![a(4)]),
                set(
                    "a.b.c.example.com.",
                    vec![RData::TXT(vec![vec![b'x'; 200]; 4])],
                ),
                set(
                    "sub.example.com.",
                    vec![RData::NS(name("ns.sub.example.com."))],
                ),
                set("ns.sub.example.com.", vec![a(5)]),
            ].into(),
        };
        let mut state = State::default();
        state
            .zones
            .insert(zone.apex.clone(), std::sync::Arc::new(zone));
        let options = ResponderOptions {
            id_server: Some("fuzz".into()),
            ..ResponderOptions::default()
        };
        Responder::new(compile_plan(&state), options)
    })
}

fuzz_target!(|data: &[u8]| {
    let mut out = Vec::new();
    for transport in [Transport::Udp, Transport::Tcp] {
        let context = QueryContext {
            client: SocketAddr::from(([198, 51, 100, 7], 53)),
            transport,
        };
        if responder().respond(data, &context, &mut out) {
            assert!(out.len() >= 12 && out[..2] == data[..2] && out[2] & 0x80 != 0);
            assert!(transport == Transport::Tcp || out.len() <= 1232);
        }
    }
});
