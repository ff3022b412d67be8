//! Online signing at the responder, without a network: a signed zone answers DO=1 queries
//! with RRSIGs and compact denial, DO=0 queries exactly as an unsigned zone does, and a
//! zone whose key does not open on this node (another cluster secret) gets SERVFAIL for
//! DO=1 queries, an unsigned answer for DO=0 ones, and a problem to report. Signed replies
//! served from the cache follow the zone as it changes, and GSLB answers are chosen per
//! query when signed just as when not.

mod common;

use common::{add_regions, context, name, query, rtype, sample_state, set, with_edns};
use gslb_dns::dnssec::{generate_key, KeyEncryptionKey};
use gslb_dns::{compile_plan, Responder, ResponderOptions, Transport};
use gslb_model::{DnssecAlgorithm, GslbRecord, KeyState, RData, State, ZoneKeys};
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RData as HickoryRData;

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
            incoming: Vec::new(),
        },
    );
    state
}

/// The reply to `qname`/`qtype`, with DO as given.
fn ask(responder: &Responder, qname: &str, qtype: &str, dnssec_ok: bool) -> Message {
    ask_with_id(responder, qname, qtype, dnssec_ok, 0xBEEF)
}

/// The reply to `qname`/`qtype` asked with query ID `id` (a GSLB choice's entropy).
fn ask_with_id(
    responder: &Responder,
    qname: &str,
    qtype: &str,
    dnssec_ok: bool,
    id: u16,
) -> Message {
    let mut message = query(qname, rtype(qtype));
    message.metadata.id = id;
    let packet = with_edns(message, 1232, dnssec_ok, None).to_vec().unwrap();
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

/// The A addresses of the answer section, in order.
fn addresses(reply: &Message) -> Vec<String> {
    reply
        .answers
        .iter()
        .filter_map(|record| match &record.data {
            HickoryRData::A(a) => Some(a.to_string()),
            _ => None,
        })
        .collect()
}

/// The DO=1 count of `event` (`reply_cached`, `reply_signed`, `signature_made`).
fn dnssec_count(responder: &Responder, event: &str) -> u64 {
    let counted = responder.metrics().snapshot().dnssec;
    counted
        .iter()
        .find(|(name, _)| *name == event)
        .map_or(0, |(_, count)| *count)
}

#[test]
fn cached_signed_replies_follow_the_zone_and_gslb_choices() {
    let mut state = signed_state(DnssecAlgorithm::EcdsaP256Sha256);
    add_regions(&mut state, &["eu", "us"]);
    let mut record: GslbRecord = serde_json::from_str(
        r#"{"name":"gslb.example.com.","type":"A","ttl":30,"max_answers":1,
            "policy":{"weighted":[{"weight":1,"node":{"region":"eu"}},
                                  {"weight":1,"node":{"region":"us"}}]}}"#,
    )
    .unwrap();
    record.unknown_as = gslb_model::UnknownAs::Up;
    state.insert_gslb_record(record);
    let responder = Responder::new(compile_plan(&state), ResponderOptions::default())
        .with_key_encryption_key(KeyEncryptionKey::derive(SECRET));

    // A static answer: signed once, then served whole from the cache.
    let first = ask(&responder, "www.example.com.", "A", true);
    let again = ask(&responder, "www.example.com.", "A", true);
    assert_eq!(addresses(&again), ["192.0.2.1", "192.0.2.2"]);
    assert_eq!(types(&again.answers), ["A", "RRSIG"]);
    assert_eq!(first.answers, again.answers);
    assert_eq!(dnssec_count(&responder, "reply_cached"), 1);

    // The zone changes: the cached reply is not served for the new plan.
    let mut changed = state.clone();
    changed.version += 1;
    let mut zone = (*changed.zones[&name("example.com.")]).clone();
    zone.rrsets
        .retain(|set| !(set.name == name("www.example.com.") && set.rtype.code() == 1));
    zone.rrsets.push(set(
        "www.example.com.",
        300,
        vec![RData::A("192.0.2.7".parse().unwrap())],
    ));
    zone.normalize();
    changed
        .zones
        .insert(name("example.com."), std::sync::Arc::new(zone));
    responder.install_plan(std::sync::Arc::new(compile_plan(&changed)));
    let made = dnssec_count(&responder, "signature_made");
    let now = ask(&responder, "www.example.com.", "A", true);
    assert_eq!(addresses(&now), ["192.0.2.7"]);
    assert_eq!(types(&now.answers), ["A", "RRSIG"]);
    assert_eq!(dnssec_count(&responder, "signature_made"), made + 1);

    // A GSLB answer is chosen per query whether signed or not (the query ID is the
    // entropy): the same choice for the same ID, both regions over many IDs, each signed.
    let mut seen = std::collections::BTreeSet::new();
    for id in 0..64u16 {
        let plain = ask_with_id(&responder, "gslb.example.com.", "A", false, id);
        let signed = ask_with_id(&responder, "gslb.example.com.", "A", true, id);
        assert_eq!(addresses(&signed), addresses(&plain), "query ID {id}");
        assert_eq!(types(&signed.answers), ["A", "RRSIG"], "query ID {id}");
        seen.extend(addresses(&signed));
    }
    assert!(
        seen.iter().any(|address| address.starts_with("10.0."))
            && seen.iter().any(|address| address.starts_with("10.1.")),
        "{seen:?}"
    );
}

/// Additional records in a signed reply carry their RRSIGs (RFC 4035 §3.1.1), the same
/// whether signed now or served from the reply cache; over UDP they stay optional: a reply
/// too big for all of them keeps the whole signed RRsets that fit and never sets TC.
#[test]
fn signed_additional_rrsets_carry_their_rrsigs() {
    let responder = Responder::new(
        compile_plan(&signed_state(DnssecAlgorithm::EcdsaP256Sha256)),
        ResponderOptions::default(),
    )
    .with_key_encryption_key(KeyEncryptionKey::derive(SECRET));
    for _ in 0..2 {
        let reply = ask(&responder, "example.com.", "NS", true);
        assert_eq!(types(&reply.answers), ["NS", "RRSIG"], "{reply}");
        assert_eq!(
            types(&reply.additionals),
            ["A", "RRSIG", "A", "RRSIG"],
            "{reply}"
        );
        let owners: Vec<String> = reply
            .additionals
            .iter()
            .map(|record| record.name.to_string())
            .collect();
        assert_eq!(
            owners,
            [
                "ns1.example.com.",
                "ns1.example.com.",
                "ns2.example.com.",
                "ns2.example.com."
            ]
        );
    }
    let unsigned = ask(&responder, "example.com.", "NS", false);
    assert_eq!(types(&unsigned.additionals), ["A"], "{unsigned}");

    let packet = with_edns(query("mxmany.example.com.", rtype("MX")), 1232, true, None)
        .to_vec()
        .unwrap();
    for _ in 0..2 {
        let mut out = Vec::new();
        assert!(responder.respond(&packet, &context(Transport::Udp), &mut out));
        let reply = Message::from_vec(&out).expect("reply parses");
        assert!(!reply.metadata.truncation, "{reply}");
        assert!(out.len() <= 1232, "{}", out.len());
        assert_eq!(types(&reply.answers), ["MX", "RRSIG"], "{reply}");
        let kept = &reply.additionals;
        // Whole sets: four A records and one RRSIG each, some but not all ten.
        assert!(
            !kept.is_empty() && kept.len() < 50 && kept.len().is_multiple_of(5),
            "{reply}"
        );
        for (index, chunk) in kept.chunks(5).enumerate() {
            assert_eq!(types(chunk), ["A", "RRSIG"], "{reply}");
            assert!(chunk
                .iter()
                .all(|record| record.name.to_string() == format!("mx{index}.example.com.")));
        }
    }
}
