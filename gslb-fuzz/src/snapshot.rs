//! Target `snapshot`: no bytes make `snapshot_codec::decode` (what a node parses from its
//! snapshot file at start and from a snapshot a leader sends it) panic, and a state it
//! accepts, compact or plain JSON, encodes again to bytes that decode to the same state.

use gslb_model::snapshot_codec::{decode, encode};

use crate::Outcome;

/// Decodes `data` as snapshot bytes; `Accepted` when it decodes (and round-tripped).
pub fn run(data: &[u8]) -> Outcome {
    let Ok(state) = decode(data) else {
        return Outcome::Refused;
    };
    let written = encode(&state).expect("a decoded state encodes");
    let again = decode(&written).expect("a written snapshot decodes");
    assert_eq!(again, state, "the state does not round-trip");
    Outcome::Accepted
}
