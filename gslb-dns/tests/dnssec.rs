//! Online signing at the responder, without a network: a signed zone answers DO=1 queries
//! with RRSIGs and compact denial, DO=0 queries exactly as an unsigned zone does, and a
//! zone whose key does not open on this node (another cluster secret) gets SERVFAIL for
//! DO=1 queries, an unsigned answer for DO=0 ones, and a problem to report.

mod common;

use common::{context, name, query, rtype, sample_state, with_edns};
use gslb_dns::dnssec::{generate_key, KeyEncryptionKey};
use gslb_dns::{compile_plan, Responder, ResponderOptions, Transport};
use gslb_model::{DnssecAlgorithm, KeyState, State, ZoneKeys};
use hickory_proto::op::{Message, ResponseCode};

const SECRET: &[u8] = b"the-cluster-secret-0123";

/// `sample_state` with `example.com.` signed by a key sealed under `SECRET`.
fn signed_state(algorithm: DnssecAlgorithm) -> State {
    let mut state = sample_state(1);
    let apex = name("example.com.");
    let kek = KeyEncryptionKey::derive(SECRET);
    let key = generate_key(&apex, algorithm, 257, KeyState::Active, &kek, 1).unwrap();
    state.dnssec.insert(
        apex,
        ZoneKeys {
            keys: vec![key],
            enabled_at: 1,
            last_rollover_at: None,
        },
    );
    state
}

/// The reply to `qname`/`qtype`, with DO as given.
fn ask(responder: &Responder, qname: &str, qtype: &str, dnssec_ok: bool) -> Message {
    let packet = with_edns(query(qname, rtype(qtype)), 1232, dnssec_ok, None)
        .to_vec()
        .unwrap();
    let mut out = Vec::new();
    assert!(responder.respond(&packet, &context(Transport::Tcp), &mut out));
    Message::from_vec(&out).expect("reply parses")
}

/// The RRset types of a section, in order (one entry per run of a type).
fn types(records: &[hickory_proto::rr::Record]) -> Vec<String> {
    let mut types: Vec<String> = records
        .iter()
        .map(|record| record.record_type().to_string())
        .collect();
    types.dedup();
    types
}

#[test]
fn signed_zones_sign_do_queries_only() {
    for algorithm in [DnssecAlgorithm::EcdsaP256Sha256, DnssecAlgorithm::Ed25519] {
        let responder = Responder::new(
            compile_plan(&signed_state(algorithm)),
            ResponderOptions::default(),
        )
        .with_key_encryption_key(KeyEncryptionKey::derive(SECRET));
        assert!(responder.dnssec_problems().is_empty());
        let signed = ask(&responder, "www.example.com.", "A", true);
        assert_eq!(types(&signed.answers), ["A", "RRSIG"], "{signed}");
        let unsigned = ask(&responder, "www.example.com.", "A", false);
        assert_eq!(types(&unsigned.answers), ["A"], "{unsigned}");

        let nxdomain = ask(&responder, "nope.example.com.", "A", true);
        assert_eq!(nxdomain.metadata.response_code, ResponseCode::NoError);
        assert_eq!(
            types(&nxdomain.authorities),
            ["SOA", "RRSIG", "NSEC", "RRSIG"]
        );
        let plain = ask(&responder, "nope.example.com.", "A", false);
        assert_eq!(plain.metadata.response_code, ResponseCode::NXDomain);

        let keys = ask(&responder, "example.com.", "DNSKEY", false);
        assert_eq!(types(&keys.answers), ["DNSKEY"]);
        let cds = ask(&responder, "example.com.", "CDS", true);
        assert_eq!(types(&cds.answers), ["CDS", "RRSIG"]);

        // The second signed answer to www comes whole from the reply cache.
        let again = ask(&responder, "WWW.example.com.", "A", true);
        assert_eq!(types(&again.answers), ["A", "RRSIG"]);
        let counted = responder.metrics().snapshot().dnssec;
        let count = |event: &str| counted.iter().find(|(name, _)| *name == event).unwrap().1;
        assert_eq!(count("reply_cached"), 1, "{counted:?}");
        assert_eq!(count("reply_signed"), 3, "{counted:?}");
        assert_eq!(count("signature_made"), 4, "A, SOA, NSEC, CDS: {counted:?}");
    }
}

#[test]
fn a_key_that_does_not_open_means_servfail_for_validators() {
    let responder = Responder::new(
        compile_plan(&signed_state(DnssecAlgorithm::EcdsaP256Sha256)),
        ResponderOptions::default(),
    )
    .with_key_encryption_key(KeyEncryptionKey::derive(b"another-secret-of-the-node"));
    let problems = responder.dnssec_problems();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("cannot be decrypted"), "{problems:?}");
    let validating = ask(&responder, "www.example.com.", "A", true);
    assert_eq!(validating.metadata.response_code, ResponseCode::ServFail);
    let plain = ask(&responder, "www.example.com.", "A", false);
    assert_eq!(plain.metadata.response_code, ResponseCode::NoError);
    assert_eq!(types(&plain.answers), ["A"]);
}
