//! Target `update_tsig`: no message makes the slow path's parsers panic — TSIG location and
//! checks (`slow::tsig::verify_request` against a key of each algorithm), UPDATE decoding
//! (`slow::update::decode_update`), and the model's evaluation of what decodes
//! (`evaluate_update` against the fixture zone) — and a verified request's signer can sign.

use std::sync::OnceLock;

use gslb_dns::slow::tsig::{verify_request, Verification};
use gslb_dns::slow::update::decode_update;
use gslb_model::model::dns_update::evaluate_update;
use gslb_model::model::tsig_key::{TsigAlgorithm, TsigKey, UpdateGrant};
use gslb_model::State;

use crate::fixture::{example_zone, name, state_with};
use crate::Outcome;

/// The time the target verifies at (unix seconds); a seed signs within `FUDGE` of it.
pub const NOW: u64 = 1_000_000;
/// The fudge the target verifies with, seconds.
pub const FUDGE: u16 = 300;
/// Every key's secret: `k<index>.` for the index of its algorithm in `TsigAlgorithm::ALL`,
/// each allowed to update `example.com.`.
pub const SECRET: [u8; 32] = [7; 32];

fn state() -> &'static State {
    static STATE: OnceLock<State> = OnceLock::new();
    STATE.get_or_init(|| {
        let mut state = state_with(example_zone(""));
        for (index, algorithm) in TsigAlgorithm::ALL.into_iter().enumerate() {
            let key = TsigKey {
                name: name(&format!("k{index}.")),
                algorithm,
                secret: SECRET.to_vec(),
                update: vec![UpdateGrant::parse_spec("example.com").expect("grant")],
                transfer: vec![],
            };
            state.tsig_keys.insert(key.name.clone(), key);
        }
        state
    })
}

/// Verifies, decodes and evaluates `data`; `Accepted` when it decodes as an UPDATE.
pub fn run(data: &[u8]) -> Outcome {
    let state = state();
    let mut key = None;
    if let Ok(Verification::Signed(signed)) = verify_request(data, &state.tsig_keys, NOW, FUDGE) {
        let mut reply = data[..signed.record.start].to_vec();
        signed.signer().sign(&mut reply, NOW, FUDGE);
        key = Some(signed.key.name.clone());
    }
    match decode_update(data, key, "127.0.0.1".parse().expect("ip")) {
        Ok(update) => {
            let _ = evaluate_update(state, &update);
            Outcome::Accepted
        }
        Err(_) => Outcome::Refused,
    }
}
