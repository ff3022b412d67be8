//! Micro benchmark of `Responder::respond` (no criterion: a timed loop per query kind).
//!
//! Run: `cargo bench -p gslb-dns --bench respond`. Prints nanoseconds per query for a
//! positive answer, NXDOMAIN, NODATA, a wildcard, a CNAME chain, a referral, and a positive
//! answer with EDNS + ECS, and a GSLB name (a weighted record over two regions, evaluated by
//! the policy engine and counted in the metrics per query), on one thread. Then the same
//! zone signed (a CSK, ECDSA P-256): DO=1 answers of each kind with a warm signature cache,
//! the same with DO=0 for the ratio, and the cold cost of a first signature (each query a
//! name not signed before).

use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Instant;

use gslb_dns::{compile_plan, QueryContext, Responder, ResponderOptions, Transport};
use gslb_model::{DomainName, RData, RecordSet, Soa, State, Zone};

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

fn responder() -> Responder {
    Responder::new(compile_plan(&state()), ResponderOptions::default())
}

/// The bench state with `example.com.` signed, and the responder that can open its key.
fn signed_responder() -> Responder {
    use gslb_dns::dnssec::{generate_key, KeyEncryptionKey};
    let secret = b"bench-cluster-secret-0123";
    let mut state = state();
    let apex = name("example.com.");
    let kek = KeyEncryptionKey::derive(secret);
    let key = generate_key(
        &apex,
        gslb_model::DnssecAlgorithm::EcdsaP256Sha256,
        257,
        gslb_model::KeyState::Active,
        &kek,
        1,
    )
    .expect("a key");
    state.dnssec.insert(
        apex,
        gslb_model::ZoneKeys {
            keys: vec![key],
            enabled_at: 1,
            last_rollover_at: None,
            incoming: Vec::new(),
        },
    );
    Responder::new(compile_plan(&state), ResponderOptions::default())
        .with_key_encryption_key(KeyEncryptionKey::derive(secret))
}

fn state() -> State {
    let a = |last: u8| RData::A(Ipv4Addr::new(192, 0, 2, last));
    let mut rrsets = vec![
        set("example.com.", vec![RData::NS(name("ns1.example.com."))]),
        set("www.example.com.", vec![a(1), a(2)]),
        set(
            "alias.example.com.",
            vec![RData::CNAME(name("www.example.com."))],
        ),
        set("*.wild.example.com.", vec![a(4)]),
        set(
            "sub.example.com.",
            vec![RData::NS(name("ns.sub.example.com."))],
        ),
        set("ns.sub.example.com.", vec![a(5)]),
    ];
    for index in 0..10_000 {
        rrsets.push(set(&format!("host{index}.example.com."), vec![a(9)]));
    }
    let zone = Zone {
        serial_policy: Default::default(),
        transfer: Default::default(),
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
        rrsets: rrsets.into(),
    };
    let mut state = State::default();
    state
        .zones
        .insert(zone.apex.clone(), std::sync::Arc::new(zone));
    add_gslb(&mut state);
    state
}

/// Regions eu and us with two endpoints each and `gslb.example.com.` A, weighted 3:1 over
/// them, reading unknown health as up.
fn add_gslb(state: &mut State) {
    for (index, id) in ["eu", "us"].into_iter().enumerate() {
        let region = serde_json::json!({"id": id, "location": {"lat_micro": 0, "lon_micro": 0,
            "country": "DE", "continent": "EU"}});
        state
            .regions
            .insert(id.to_string(), serde_json::from_value(region).unwrap());
        for n in 1..=2 {
            let endpoint = serde_json::json!({"id": format!("{id}-{n}"), "region": id,
                "target": {"kind": "address", "value": format!("10.{index}.0.{n}")}, "weight": 1,
                "admin": "enabled"});
            state.endpoints.insert(
                format!("{id}-{n}"),
                serde_json::from_value(endpoint).unwrap(),
            );
        }
    }
    let mut record: gslb_model::GslbRecord = serde_json::from_value(serde_json::json!({
        "name": "gslb.example.com.", "type": "A", "ttl": 30, "max_answers": 2,
        "policy": {"weighted": [{"weight": 3, "node": {"region": "eu"}},
                                {"weight": 1, "node": {"region": "us"}}]}}))
    .unwrap();
    record.unknown_as = gslb_model::UnknownAs::Up;
    state.insert_gslb_record(record);
}

/// `qname`/`qtype` with an OPT (payload 1232) with the DO bit set or clear.
fn edns_packet(qname: &[u8], qtype: u16, dnssec_ok: bool) -> Vec<u8> {
    let mut packet = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1];
    packet.extend_from_slice(qname);
    packet.extend_from_slice(&qtype.to_be_bytes());
    packet.extend_from_slice(&[0, 1]);
    let flags = if dnssec_ok { 0x80 } else { 0 };
    packet.extend_from_slice(&[0, 0, 41, 0x04, 0xD0, 0, 0, flags, 0, 0, 0]);
    packet
}

/// Nanoseconds per query for `rounds` answers to `query`, after a warm-up.
fn time(responder: &Responder, query: &[u8], context: &QueryContext, rounds: u32) -> (f64, usize) {
    let mut out = Vec::with_capacity(1232);
    for _ in 0..1_000 {
        responder.respond(black_box(query), context, &mut out);
    }
    let started = Instant::now();
    for _ in 0..rounds {
        black_box(responder.respond(black_box(query), context, &mut out));
    }
    (
        started.elapsed().as_nanos() as f64 / f64::from(rounds),
        out.len(),
    )
}

fn packet(qname: &[u8], qtype: u16, edns_ecs: bool) -> Vec<u8> {
    let arcount = u8::from(edns_ecs);
    let mut packet = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, arcount];
    packet.extend_from_slice(qname);
    packet.extend_from_slice(&qtype.to_be_bytes());
    packet.extend_from_slice(&[0, 1]);
    if edns_ecs {
        packet.extend_from_slice(&[0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 11]);
        packet.extend_from_slice(&[0, 8, 0, 7, 0, 1, 24, 0, 192, 0, 2]);
    }
    packet
}

fn main() {
    let responder = responder();
    let context = QueryContext {
        client: SocketAddr::from(([127, 0, 0, 1], 5353)),
        transport: Transport::Udp,
    };
    let cases: [(&str, Vec<u8>); 8] = [
        (
            "positive",
            packet(b"\x03WwW\x07example\x03com\x00", 1, false),
        ),
        (
            "nxdomain",
            packet(b"\x07nothere\x07example\x03com\x00", 1, false),
        ),
        (
            "nodata",
            packet(b"\x03www\x07example\x03com\x00", 15, false),
        ),
        (
            "wildcard",
            packet(b"\x01x\x04wild\x07example\x03com\x00", 1, false),
        ),
        (
            "cname",
            packet(b"\x05alias\x07example\x03com\x00", 1, false),
        ),
        (
            "referral",
            packet(b"\x03www\x03sub\x07example\x03com\x00", 1, false),
        ),
        (
            "positive+ecs",
            packet(b"\x03www\x07example\x03com\x00", 1, true),
        ),
        ("gslb", packet(b"\x04gslb\x07example\x03com\x00", 1, false)),
    ];
    let mut out = Vec::with_capacity(512);
    let rounds = 1_000_000;
    for (label, query) in &cases {
        for _ in 0..10_000 {
            responder.respond(black_box(query), &context, &mut out);
        }
        let started = Instant::now();
        for _ in 0..rounds {
            black_box(responder.respond(black_box(query), &context, &mut out));
        }
        let nanos = started.elapsed().as_nanos() as f64 / rounds as f64;
        println!("{label:>14}: {nanos:6.0} ns/query ({} octets)", out.len());
    }

    println!("signed zone, EDNS, DO=0 vs DO=1 (warm signature cache):");
    let signed = signed_responder();
    let signed_cases: [(&str, &[u8], u16); 6] = [
        ("positive", b"\x03www\x07example\x03com\x00", 1),
        ("nxdomain", b"\x07nothere\x07example\x03com\x00", 1),
        ("nodata", b"\x03www\x07example\x03com\x00", 15),
        ("wildcard", b"\x01x\x04wild\x07example\x03com\x00", 1),
        ("referral", b"\x03www\x03sub\x07example\x03com\x00", 1),
        ("gslb", b"\x04gslb\x07example\x03com\x00", 1),
    ];
    for (label, qname, qtype) in signed_cases {
        let (plain, _) = time(
            &signed,
            &edns_packet(qname, qtype, false),
            &context,
            200_000,
        );
        let (dnssec, octets) = time(&signed, &edns_packet(qname, qtype, true), &context, 200_000);
        println!(
            "{label:>14}: DO=0 {plain:6.0} ns, DO=1 {dnssec:6.0} ns ({octets} octets), \
             DO=1 at {:.2}x the queries per CPU-second of DO=0",
            plain / dnssec
        );
    }
    let cold_names = 5_000;
    let mut out = Vec::with_capacity(1232);
    let started = Instant::now();
    for index in 0..cold_names {
        let label = format!("host{index}");
        let mut qname = vec![label.len() as u8];
        qname.extend_from_slice(label.as_bytes());
        qname.extend_from_slice(b"\x07example\x03com\x00");
        black_box(signed.respond(&edns_packet(&qname, 1, true), &context, &mut out));
    }
    let cold = started.elapsed().as_nanos() as f64 / f64::from(cold_names);
    println!("  cold (first signature of an RRset): {cold:6.0} ns/answer");
}
