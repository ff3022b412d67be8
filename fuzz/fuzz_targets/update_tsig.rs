//! Fuzz target: no message makes the slow path's parsers panic — TSIG location and checks
//! (`slow::tsig::verify_request` against a key of each algorithm), UPDATE decoding
//! (`slow::update::decode_update`), and the model's evaluation of what decodes
//! (`evaluate_update` against a small zone) — and a verified request's signer can sign.

#![no_main]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use gslb_dns::slow::tsig::{verify_request, Verification};
use gslb_dns::slow::update::decode_update;
use gslb_model::model::dns_update::evaluate_update;
use gslb_model::model::tsig_key::{TsigAlgorithm, TsigKey, UpdateGrant};
use gslb_model::{DomainName, RData, RecordSet, Soa, State, Zone};
use libfuzzer_sys::fuzz_target;

fn name(text: &str) -> DomainName {
    DomainName::parse_absolute(text).expect("valid name")
}

fn state() -> &'static State {
    static STATE: OnceLock<State> = OnceLock::new();
    STATE.get_or_init(|| {
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
            rrsets: vec![RecordSet {
                name: name("example.com."),
                rtype: gslb_model::RecordType::NS,
                ttl: 300,
                rdata: vec![RData::NS(name("ns1.example.com."))],
            }].into(),
        };
        let mut state = State::default();
        state
            .zones
            .insert(zone.apex.clone(), std::sync::Arc::new(zone));
        for (index, algorithm) in TsigAlgorithm::ALL.into_iter().enumerate() {
            let key = TsigKey {
                name: name(&format!("k{index}.")),
                algorithm,
                secret: vec![7; 32],
                update: vec![UpdateGrant::parse_spec("example.com").expect("grant")],
                transfer: vec![],
            };
            state.tsig_keys.insert(key.name.clone(), key);
        }
        state
    })
}

fuzz_target!(|data: &[u8]| {
    let state = state();
    let keys: &BTreeMap<_, _> = &state.tsig_keys;
    let mut key = None;
    if let Ok(Verification::Signed(signed)) = verify_request(data, keys, 1_000_000, 300) {
        let mut reply = data[..signed.record.start].to_vec();
        signed.signer().sign(&mut reply, 1_000_000, 300);
        key = Some(signed.key.name.clone());
    }
    if let Ok(update) = decode_update(data, key, "127.0.0.1".parse().expect("ip")) {
        let _ = evaluate_update(state, &update);
    }
});
