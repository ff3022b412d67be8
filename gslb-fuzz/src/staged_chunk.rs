//! Target `staged_chunk`: no bytes, read as the compact body of a staged zone-import chunk
//! (`gslb_model::command::chunk_codec`, what a Raft entry or a forwarded write from a peer
//! carries), make reading the `StageZoneRecords` command panic; a chunk that reads writes
//! again and reads back as the same command.

use gslb_model::model::base64_text;
use gslb_model::Command;

use crate::Outcome;

/// The JSON of a `StageZoneRecords` command whose chunk body is `body`.
pub fn command_json(body: &[u8]) -> String {
    format!(
        "{{\"op\":\"stage_zone_records\",\"import_id\":\"imp-fuzz\",\"apex\":\"fuzz.example.\",\
         \"chunk\":0,\"rrsets\":\"v1:{}\"}}",
        base64_text::encode(body)
    )
}

/// Reads `data` as a chunk's body; `Accepted` when it reads (and round-tripped).
pub fn run(data: &[u8]) -> Outcome {
    let Ok(command) = serde_json::from_str::<Command>(&command_json(data)) else {
        return Outcome::Refused;
    };
    let written = serde_json::to_string(&command).expect("a command that reads writes");
    let again: Command = serde_json::from_str(&written).expect("a written chunk reads");
    assert_eq!(again, command, "the chunk does not round-trip");
    Outcome::Accepted
}
