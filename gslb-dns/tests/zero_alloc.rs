//! Proves the answer path allocates nothing once warm: a counting global allocator wraps the
//! system one, the responder answers every kind of query once to size the reused buffer (and
//! let arc-swap set up its per-thread slot), then thousands more queries must not allocate.
//!
//! GSLB names are in the same loop: weighted, consistent, geo by CIDR with ECS, failover,
//! and a fail_closed record answering NODATA, evaluated per query by the policy engine.
//!
//! Rate limiting and DNS Cookies are on in two of the responders: one whose rate no query
//! reaches (every reply goes through the bucket table and is sent) and one limited to one
//! reply per second (its replies are dropped or slipped), and a third of the packets carry
//! a COOKIE option, so hashing, checking and writing cookies is measured too.
//!
//! This file holds a single test so no other test thread allocates while counting; the
//! counting allocator (`gslb_testkit`) counts only the measuring thread.

mod common;

use common::{context, query, rtype, sample_responder, sample_state, with_edns};
use gslb_dns::cookie::CookieSecret;
use gslb_dns::rrl::RawRrl;
use gslb_dns::{compile_plan, Responder, ResponderOptions, Transport};
use gslb_model::GslbRecord;
use gslb_testkit::{CountingAllocator, Scope};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator::new();

/// The sample state plus regions eu and us (two endpoints each, health never reported) and
/// GSLB records in `example.com.` that read unknown health as up.
fn gslb_responder(rate: u32) -> Responder {
    let mut state = sample_state(8);
    common::add_regions(&mut state, &["eu", "us"]);
    for json in [
        r#"{"name":"weighted.example.com.","type":"A","ttl":30,"max_answers":2,
            "policy":{"weighted":[{"weight":3,"node":{"region":"eu"}},
                                  {"weight":1,"node":{"region":"us"}}]}}"#,
        r#"{"name":"sticky.example.com.","type":"A","ttl":30,
            "policy":{"consistent":[{"weight":1,"node":{"region":"eu"}},
                                    {"weight":1,"node":{"region":"us"}}]}}"#,
        r#"{"name":"geo.example.com.","type":"A","ttl":30,
            "policy":{"geo":{"rules":[{"match":[{"cidr":"192.0.2.0/24"}],"node":{"region":"us"}}],
                             "default":{"failover":[{"region":"eu"},{"region":"us"}]}}}}"#,
        r#"{"name":"closed.example.com.","type":"A","ttl":30,
            "policy":{"endpoints":["us-2"]},"when_all_down":"fail_closed"}"#,
    ] {
        let mut record: GslbRecord = serde_json::from_str(json).unwrap();
        record.unknown_as = gslb_model::UnknownAs::Up;
        state.insert_gslb_record(record);
    }
    let options = ResponderOptions {
        rrl: RawRrl {
            rate,
            table_size: 4096,
            ..RawRrl::default()
        }
        .validate()
        .unwrap(),
        cookies: gslb_dns::cookie::CookieSettings {
            secret: Some(CookieSecret::from_hex("e5e973e5a6b2a43f48e7dc849e37bfcf").unwrap()),
        },
        ..ResponderOptions::default()
    };
    let responder = Responder::new(compile_plan(&state), options);
    // A replicated client-network table (`/v1/networks`) that covers the ECS subnets asked,
    // so locating through it is measured too.
    let mut networks = std::collections::BTreeMap::new();
    for (cidr, country) in [("192.0.2.0/25", "DE"), ("2001:db8::/48", "US")] {
        let network = gslb_model::model::Network {
            cidr: cidr.parse().unwrap(),
            continent: None,
            country: Some(country.to_string()),
            subdivision: None,
            asn: None,
            lat_micro: None,
            lon_micro: None,
            rtt_ms: Default::default(),
        };
        networks.insert(network.key(), network);
    }
    assert!(responder.locator().follow_networks(&networks));
    responder
}

/// The fast path answers positive, NXDOMAIN, NODATA, wildcard, CNAME, referral, refused,
/// CHAOS, truncated and malformed queries, and GSLB names, with and without EDNS and ECS,
/// allocating nothing.
#[test]
fn the_answer_path_does_not_allocate_once_warm() {
    let responder = sample_responder();
    let gslb = gslb_responder(1_000_000);
    let limited = gslb_responder(1);
    let mut packets: Vec<Vec<u8>> = Vec::new();
    for (name, qtype) in [
        ("www.example.com.", "A"),
        ("WWW.Example.COM.", "AAAA"),
        ("nothere.example.com.", "A"),
        ("www.example.com.", "MX"),
        ("b.c.example.com.", "A"),
        ("x.wild.example.com.", "A"),
        ("chain1.example.com.", "A"),
        ("www.sub.example.com.", "A"),
        ("www.example.net.", "A"),
        ("www.child.example.com.", "A"),
        ("big.example.com.", "TXT"),
        ("example.com.", "ANY"),
        ("example.com.", "MX"),
        ("mxmany.example.com.", "MX"),
        ("weighted.example.com.", "A"),
        ("sticky.example.com.", "A"),
        ("geo.example.com.", "A"),
        ("closed.example.com.", "A"),
        ("weighted.example.com.", "AAAA"),
    ] {
        let plain = query(name, rtype(qtype));
        packets.push(plain.to_vec().unwrap());
        packets.push(with_edns(plain.clone(), 1232, true, None).to_vec().unwrap());
        let subnet = Some(("192.0.2.0".parse().unwrap(), 24));
        packets.push(
            with_edns(plain.clone(), 4096, false, subnet)
                .to_vec()
                .unwrap(),
        );
        let subnet6 = Some(("2001:db8::".parse().unwrap(), 56));
        packets.push(
            with_edns(plain.clone(), 512, false, subnet6)
                .to_vec()
                .unwrap(),
        );
        let edns = with_edns(plain, 1232, false, None).to_vec().unwrap();
        packets.push(with_cookie(edns.clone(), &[7; 8]));
        packets.push(with_cookie(edns, &[7; 24]));
    }
    let mut chaos = query("version.bind.", rtype("TXT"));
    chaos.queries[0].set_query_class(hickory_proto::rr::DNSClass::CH);
    packets.push(chaos.to_vec().unwrap());
    let mut malformed = packets[0].clone();
    malformed.push(0);
    packets.push(malformed);

    let udp = context(Transport::Udp);
    let tcp = context(Transport::Tcp);
    let mut out = Vec::new();
    for packet in &packets {
        assert!(responder.respond(packet, &udp, &mut out));
        assert!(responder.respond(packet, &tcp, &mut out));
        assert!(gslb.respond(packet, &udp, &mut out));
        assert!(gslb.respond(packet, &tcp, &mut out));
        limited.respond(packet, &udp, &mut out);
    }
    // The GSLB names really are answered by policy (weighted: two eu, or one us address).
    let weighted = query("weighted.example.com.", rtype("A")).to_vec().unwrap();
    assert!(gslb.respond(&weighted, &udp, &mut out));
    let ancount = u16::from_be_bytes([out[6], out[7]]);
    assert!(
        (1..=2).contains(&ancount),
        "weighted answered {ancount} records"
    );

    // `count` first checks that the allocator sees a probe allocation, so a zero means
    // something.
    let (answered, allocations) = GLOBAL.count(Scope::ThisThread, || {
        let mut answered = 0usize;
        for _ in 0..500 {
            for packet in &packets {
                answered += usize::from(responder.respond(packet, &udp, &mut out));
                answered += usize::from(responder.respond(packet, &tcp, &mut out));
                answered += usize::from(gslb.respond(packet, &udp, &mut out));
                answered += usize::from(gslb.respond(packet, &tcp, &mut out));
                limited.respond(packet, &udp, &mut out);
            }
        }
        answered
    });
    assert_eq!(answered, 500 * packets.len() * 4);
    assert_eq!(
        allocations, 0,
        "{allocations} allocations over {answered} queries"
    );
    // And the counters were written on that path: every reply, every GSLB evaluation.
    let snapshot = gslb.metrics().snapshot();
    let replies: u64 = snapshot.replies.iter().map(|(_, _, count)| count).sum();
    assert_eq!(replies, 501 * packets.len() as u64 * 2 + 1);
    let weighted = snapshot.record("weighted.example.com.", "A").unwrap();
    assert!(weighted.decision("normal") >= 501 * 4 * 2, "{weighted:?}");
    // RRL looked at every UDP reply, and the limited responder dropped and slipped some.
    assert_eq!(snapshot.rrl_total("pass"), 501 * packets.len() as u64 + 1);
    assert!(snapshot.cookie("client_only") > 0 && snapshot.cookie("invalid") > 0);
    let limited = limited.metrics().snapshot();
    assert!(limited.rrl_total("drop") > 0 && limited.rrl_total("slip") > 0);
}

/// `packet` (whose last record is an OPT without options) with a COOKIE option added.
fn with_cookie(mut packet: Vec<u8>, cookie: &[u8]) -> Vec<u8> {
    let at = packet.len() - 2;
    assert_eq!(packet[at..], [0, 0], "the OPT must be last and empty");
    packet[at..].copy_from_slice(&(4 + cookie.len() as u16).to_be_bytes());
    packet.extend_from_slice(&[0, 10]);
    packet.extend_from_slice(&(cookie.len() as u16).to_be_bytes());
    packet.extend_from_slice(cookie);
    packet
}
