//! Target `backup`: no file makes `backup::decode` (what `gslb restore` and
//! `POST /v1/restore`-style readers trust after its checks) panic, and a backup it accepts
//! writes again, with the same header facts, to a file that decodes to the same state.

use gslb_model::backup::{decode, encode, BackupInfo};

use crate::Outcome;

/// Decodes `data` as a backup file; `Accepted` when it decodes (and round-tripped).
pub fn run(data: &[u8]) -> Outcome {
    let Ok(backup) = decode(data) else {
        return Outcome::Refused;
    };
    let info = BackupInfo {
        cluster_id: backup.header.cluster_id.clone(),
        created_at_ms: backup.header.created_at_ms,
        node: backup.header.node,
        linearizable: backup.header.linearizable,
    };
    let written = encode(&info, &backup.state).expect("a decoded state encodes");
    let again = decode(&written).expect("a written backup decodes");
    assert_eq!(again.state, backup.state, "the state does not round-trip");
    Outcome::Accepted
}
