//! The bodies of gslb's fuzz targets, one module per target, each a `run(data) -> Outcome`
//! that must never panic on any input and asserts the target's property on what it accepts.
//!
//! `fuzz/fuzz_targets/*.rs` (cargo-fuzz, nightly, libFuzzer; outside the workspace) are
//! one-line `fuzz_target!` wrappers around these functions; `tests/seeds.rs` runs every
//! target over seeds and bounded mutations of them on stable, so the workspace's test suite
//! fails when a change breaks a target's build or its property. `tests/tidy.rs` (root)
//! checks that every parser we own is reached by a target listed here.
//!
//! - `dns_packet`: any packet through `Responder::respond`, UDP and TCP.
//! - `zone_transfer`: any AXFR/IXFR request through `Responder::transfer`.
//! - `update_tsig`: the slow path's TSIG checks, UPDATE decoding and the model's evaluation.
//! - `zone_file`: the master-file reader, with export round trip.
//! - `rdata`: the RDATA presentation format of every type, with print round trip.
//! - `backup`: the backup file reader.
//! - `snapshot`: the bytes of a Raft snapshot of the state (compact, or older plain JSON).
//! - `staged_chunk`: the compact form of a staged zone-import chunk's record sets.
//! - `text_fields`: the small text parsers of user input (durations, CIDRs, names, grants,
//!   NOTIFY targets, JSON conditions).
//!
//! `fixture` holds the zone-building helpers the DNS targets share.

pub mod backup;
pub mod dns_packet;
pub mod fixture;
pub mod rdata;
pub mod snapshot;
pub mod staged_chunk;
pub mod text_fields;
pub mod update_tsig;
pub mod zone_file;
pub mod zone_transfer;

/// How far one input got: the seed test uses it to show its seeds reach past the first
/// check, so a target whose property is never exercised does not pass quietly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The input was refused (unparseable, not this target's kind of message).
    Refused,
    /// The input was accepted and the target's property checked on the result.
    Accepted,
}

impl Outcome {
    /// `Accepted` when `accepted`, else `Refused`.
    pub fn from_accepted(accepted: bool) -> Outcome {
        if accepted {
            Outcome::Accepted
        } else {
            Outcome::Refused
        }
    }
}

/// The input of a target whose first byte picks what reads the rest: `selector`, then `text`.
pub(crate) fn selected(selector: usize, text: &str) -> Vec<u8> {
    let mut data = vec![u8::try_from(selector).expect("fewer than 256 choices")];
    data.extend_from_slice(text.as_bytes());
    data
}

/// The selector byte and the text of such an input; `None` when empty or not UTF-8.
pub(crate) fn split_selected(data: &[u8]) -> Option<(u8, &str)> {
    let (&selector, rest) = data.split_first()?;
    Some((selector, std::str::from_utf8(rest).ok()?))
}

/// A target's body: any bytes in, how far they got out.
pub type Body = fn(&[u8]) -> Outcome;

/// Every target, by name, with its body: the names are the `fuzz/fuzz_targets/*.rs` files
/// and `[[bin]]` entries of `fuzz/Cargo.toml` (checked by `tests/seeds.rs`).
pub const TARGETS: [(&str, Body); 9] = [
    ("backup", backup::run),
    ("dns_packet", dns_packet::run),
    ("rdata", rdata::run),
    ("snapshot", snapshot::run),
    ("staged_chunk", staged_chunk::run),
    ("text_fields", text_fields::run),
    ("update_tsig", update_tsig::run),
    ("zone_file", zone_file::run),
    ("zone_transfer", zone_transfer::run),
];
