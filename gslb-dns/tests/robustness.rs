//! `respond` never panics: arbitrary bytes, and valid queries with bytes flipped, cut,
//! inserted or extended, over UDP and TCP. Whatever comes back is either silence or a reply
//! that echoes the ID and has QR set.

mod common;

use std::sync::OnceLock;

use common::{context, query, rtype, sample_responder, with_edns};
use gslb_dns::{Responder, Transport};
use proptest::prelude::*;

fn responder() -> &'static Responder {
    static RESPONDER: OnceLock<Responder> = OnceLock::new();
    RESPONDER.get_or_init(sample_responder)
}

fn seeds() -> &'static Vec<Vec<u8>> {
    static SEEDS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut seeds = Vec::new();
        for (name, qtype) in [
            ("www.example.com.", "A"),
            ("x.wild.example.com.", "AAAA"),
            ("chain1.example.com.", "A"),
            ("www.sub.example.com.", "A"),
            ("huge.example.com.", "TXT"),
        ] {
            let plain = query(name, rtype(qtype));
            seeds.push(plain.to_vec().unwrap());
            let subnet = Some(("192.0.2.0".parse().unwrap(), 24));
            seeds.push(with_edns(plain, 1232, true, subnet).to_vec().unwrap());
        }
        seeds
    })
}

/// Answers `packet` both ways and checks the invariants of any reply.
fn check(packet: &[u8]) {
    for transport in [Transport::Udp, Transport::Tcp] {
        let mut out = Vec::new();
        if responder().respond(packet, &context(transport), &mut out) {
            assert!(out.len() >= 12, "reply shorter than a header");
            assert_eq!(&out[..2], &packet[..2], "id not echoed");
            assert_ne!(out[2] & 0x80, 0, "qr not set");
            if transport == Transport::Udp {
                assert!(out.len() <= 1232);
            }
        } else {
            assert!(
                packet.len() < 12 || packet[2] & 0x80 != 0,
                "silent on {packet:?}"
            );
        }
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, value: u8 },
    Cut { at: usize },
    Insert { at: usize, bytes: Vec<u8> },
    Append { bytes: Vec<u8> },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, value)| Mutation::Flip { at, value }),
        any::<usize>().prop_map(|at| Mutation::Cut { at }),
        (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        proptest::collection::vec(any::<u8>(), 1..40).prop_map(|bytes| Mutation::Append { bytes }),
    ]
}

fn apply(packet: &mut Vec<u8>, mutation: &Mutation) {
    match mutation {
        Mutation::Flip { at, value } => {
            let at = at % packet.len();
            packet[at] = *value;
        }
        Mutation::Cut { at } => packet.truncate(at % (packet.len() + 1)),
        Mutation::Insert { at, bytes } => {
            let at = at % (packet.len() + 1);
            packet.splice(at..at, bytes.iter().copied());
        }
        Mutation::Append { bytes } => packet.extend_from_slice(bytes),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Arbitrary bytes never panic (RFC 1035 §4.1: anything may arrive on port 53).
    #[test]
    fn arbitrary_bytes_never_panic(packet in proptest::collection::vec(any::<u8>(), 0..600)) {
        check(&packet);
    }

    /// Arbitrary bytes behind a plausible query header never panic.
    #[test]
    fn arbitrary_bodies_never_panic(
        counts in proptest::array::uniform4(0u16..3),
        body in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let mut packet = vec![0xAB, 0xCD, 0x01, 0x00];
        for count in counts {
            packet.extend_from_slice(&count.to_be_bytes());
        }
        packet.extend_from_slice(&body);
        check(&packet);
    }

    /// Valid queries with up to four mutations never panic.
    #[test]
    fn mutated_queries_never_panic(
        seed in 0usize..10,
        mutations in proptest::collection::vec(mutation(), 1..5),
    ) {
        let mut packet = seeds()[seed % seeds().len()].clone();
        for mutation in &mutations {
            if !packet.is_empty() {
                apply(&mut packet, mutation);
            }
        }
        check(&packet);
    }
}
