//! The bytes of a Raft snapshot of `State`: what a node writes to its snapshot file, sends
//! to a lagging learner and parses at start. Record sets, nearly all of a big state, go in
//! the compact binary form of staged import chunks (`command::chunk_codec`, about a third of
//! their JSON and far quicker to write and read); everything else stays JSON, so fields
//! added to `State` need nothing here.
//!
//! Layout (integers big-endian):
//!
//! ```text
//! "GSLBSNAP"                       8 octets, the magic (JSON never starts so)
//! u32 version                      CODEC_VERSION; a newer one is refused
//! u64 length, the skeleton         the JSON of State, every zone's and staged import's
//!                                  record sets left empty
//! u32 zones, each:                 in the skeleton's order (zones by apex)
//!     u8 length, apex wire         without the root label; must match the skeleton's
//!     u64 length, sets body        `chunk_codec` body of the zone's record sets
//! u32 staged imports, each:        in the skeleton's order (by import id)
//!     u32 length, import id        UTF-8; must match the skeleton's
//!     u64 length, sets body        the staged sets, as for a zone
//! ```
//!
//! `decode` also reads the JSON of `State` alone: the snapshots every node wrote before this
//! format (their files, and the bytes an older leader sends).
//!
//! Invariant: exact. `decode(encode(s)) == s` and both serialize to the same JSON.
//! Invariant: any bytes decode to a `State` or an error, never a panic; lengths are checked
//! against what is left before anything is allocated by them.

use std::sync::Arc;

use crate::command::chunk_codec::{decode_sets_into, encode_sets_into};
use crate::model::name::DomainName;
use crate::model::state::State;
use crate::model::zone_sets::RecordSets;

/// The first octets of a compact snapshot.
pub const MAGIC: &[u8; 8] = b"GSLBSNAP";

/// The version this build writes and the newest it reads.
pub const CODEC_VERSION: u32 = 1;

/// Why snapshot bytes are not a `State`: what is wrong, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SnapshotCodecError(String);

impl SnapshotCodecError {
    fn new(detail: impl Into<String>) -> SnapshotCodecError {
        SnapshotCodecError(detail.into())
    }
}

/// True when `bytes` start with the compact form's magic (else they are, or should be, the
/// JSON of `State`).
pub fn is_compact(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

/// The compact bytes of `state` (see the module doc).
pub fn encode(state: &State) -> Result<Vec<u8>, SnapshotCodecError> {
    let skeleton = serde_json::to_vec(&skeleton_of(state))
        .map_err(|error| SnapshotCodecError::new(format!("encoding the state: {error}")))?;
    let sets: usize = state
        .zones
        .values()
        .map(|zone| zone.rrsets.len())
        .sum::<usize>()
        + state
            .staged_imports
            .values()
            .map(|staged| staged.sets.len())
            .sum::<usize>();
    let mut out = Vec::with_capacity(64 + skeleton.len() + sets * 24);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&CODEC_VERSION.to_be_bytes());
    out.extend_from_slice(&(skeleton.len() as u64).to_be_bytes());
    out.extend_from_slice(&skeleton);
    drop(skeleton);
    out.extend_from_slice(&count_u32(state.zones.len())?.to_be_bytes());
    for (apex, zone) in &state.zones {
        let wire = apex
            .wire_prefix_below(&DomainName::root())
            .unwrap_or_default();
        out.push(wire.len() as u8);
        out.extend_from_slice(wire);
        put_sets(&mut out, &zone.rrsets)
            .map_err(|error| SnapshotCodecError::new(format!("zone {apex}: {error}")))?;
    }
    out.extend_from_slice(&count_u32(state.staged_imports.len())?.to_be_bytes());
    for (id, staged) in &state.staged_imports {
        out.extend_from_slice(&count_u32(id.len())?.to_be_bytes());
        out.extend_from_slice(id.as_bytes());
        put_sets(&mut out, &staged.sets)
            .map_err(|error| SnapshotCodecError::new(format!("staged import {id}: {error}")))?;
    }
    Ok(out)
}

/// The `State` of snapshot bytes: the compact form, or the JSON of `State` older snapshots
/// are.
pub fn decode(bytes: &[u8]) -> Result<State, SnapshotCodecError> {
    if !is_compact(bytes) {
        return serde_json::from_slice(bytes)
            .map_err(|error| SnapshotCodecError::new(format!("bad state JSON: {error}")));
    }
    let mut reader = Reader {
        bytes,
        at: MAGIC.len(),
    };
    let version = reader.u32()?;
    if version > CODEC_VERSION {
        return Err(SnapshotCodecError::new(format!(
            "snapshot encoding version {version} is newer than this build reads \
             ({CODEC_VERSION})"
        )));
    }
    let skeleton_len = reader.u64()?;
    let mut state: State = serde_json::from_slice(reader.take(skeleton_len)?)
        .map_err(|error| SnapshotCodecError::new(format!("bad state skeleton: {error}")))?;
    let zones = reader.u32()? as usize;
    if zones != state.zones.len() {
        return Err(SnapshotCodecError::new(format!(
            "{zones} zone blocks for {} zones",
            state.zones.len()
        )));
    }
    for (apex, zone) in state.zones.iter_mut() {
        let len = usize::from(reader.u8()?);
        let wire = reader.take(len as u64)?;
        if apex.wire_prefix_below(&DomainName::root()) != Some(wire) {
            return Err(SnapshotCodecError::new(format!(
                "the zone block after {apex}'s place names another zone"
            )));
        }
        let sets = reader.sets().map_err(|error| {
            SnapshotCodecError::new(format!("record sets of zone {apex}: {error}"))
        })?;
        fill(
            &mut Arc::make_mut(zone).rrsets,
            sets,
            &format!("zone {apex}"),
        )?;
    }
    let staged = reader.u32()? as usize;
    if staged != state.staged_imports.len() {
        return Err(SnapshotCodecError::new(format!(
            "{staged} staged import blocks for {} staged imports",
            state.staged_imports.len()
        )));
    }
    for (id, import) in state.staged_imports.iter_mut() {
        let len = reader.u32()?;
        if reader.take(u64::from(len))? != id.as_bytes() {
            return Err(SnapshotCodecError::new(format!(
                "the staged import block in {id}'s place names another import"
            )));
        }
        let sets = reader.sets().map_err(|error| {
            SnapshotCodecError::new(format!("record sets of staged import {id}: {error}"))
        })?;
        fill(&mut import.sets, sets, &format!("staged import {id}"))?;
    }
    if reader.at != bytes.len() {
        return Err(SnapshotCodecError::new(format!(
            "{} octets after the last block",
            bytes.len() - reader.at
        )));
    }
    Ok(state)
}

/// `state` with every zone's and staged import's record sets empty (they travel in blocks);
/// the zones are copied (sharing their sets' storage), not the sets.
fn skeleton_of(state: &State) -> State {
    let mut skeleton = state.clone();
    for zone in skeleton.zones.values_mut() {
        Arc::make_mut(zone).rrsets = RecordSets::new();
    }
    for staged in skeleton.staged_imports.values_mut() {
        staged.sets = RecordSets::new();
    }
    skeleton
}

/// Appends `sets` as a `u64` length and a `chunk_codec` body.
fn put_sets(out: &mut Vec<u8>, sets: &RecordSets) -> Result<(), String> {
    let length_at = out.len();
    out.extend_from_slice(&0u64.to_be_bytes());
    encode_sets_into(out, sets)?;
    let body_len = (out.len() - length_at - 8) as u64;
    out[length_at..length_at + 8].copy_from_slice(&body_len.to_be_bytes());
    Ok(())
}

/// Puts the decoded `sets` where the skeleton left them empty (a skeleton that carries
/// sets of its own is not one this codec wrote).
fn fill(slot: &mut RecordSets, sets: RecordSets, what: &str) -> Result<(), SnapshotCodecError> {
    if !slot.is_empty() {
        return Err(SnapshotCodecError::new(format!(
            "the skeleton carries record sets of {what}"
        )));
    }
    *slot = sets;
    Ok(())
}

fn count_u32(count: usize) -> Result<u32, SnapshotCodecError> {
    u32::try_from(count)
        .map_err(|_| SnapshotCodecError::new(format!("{count} does not fit a u32 count")))
}

/// A cursor over snapshot bytes.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, len: u64) -> Result<&'a [u8], SnapshotCodecError> {
        let end = usize::try_from(len)
            .ok()
            .and_then(|len| self.at.checked_add(len))
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| {
                SnapshotCodecError::new(format!(
                    "the snapshot ends early: {len} octets wanted at offset {} of {}",
                    self.at,
                    self.bytes.len()
                ))
            })?;
        let taken = &self.bytes[self.at..end];
        self.at = end;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], SnapshotCodecError> {
        let mut array = [0u8; N];
        array.copy_from_slice(self.take(N as u64)?);
        Ok(array)
    }

    fn u8(&mut self) -> Result<u8, SnapshotCodecError> {
        Ok(self.array::<1>()?[0])
    }

    fn u32(&mut self) -> Result<u32, SnapshotCodecError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, SnapshotCodecError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// A `u64` length and the record sets of the `chunk_codec` body it measures.
    fn sets(&mut self) -> Result<RecordSets, SnapshotCodecError> {
        let len = self.u64()?;
        let body = self.take(len)?;
        let mut sets = imbl::Vector::new();
        decode_sets_into(body, |set| sets.push_back(set)).map_err(SnapshotCodecError::new)?;
        Ok(RecordSets::from(sets))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A state with one small zone (the full coverage is in `tests/snapshot_codec.rs`).
    fn small() -> State {
        let zone = crate::zonefile::parse_zone(
            "$ORIGIN example.com.\n@ 60 SOA ns1 hm 1 2 3 4 5\n@ 60 NS ns1\nns1 60 A 192.0.2.1\n",
            "example.zone",
            None,
            None,
        )
        .unwrap();
        let mut state = State::default();
        state.zones.insert(zone.apex.clone(), Arc::new(zone));
        state
    }

    #[test]
    fn a_state_reads_back_from_either_form() {
        let state = small();
        let compact = encode(&state).unwrap();
        assert!(is_compact(&compact));
        assert_eq!(decode(&compact).unwrap(), state);
        let json = serde_json::to_vec(&state).unwrap();
        assert_eq!(decode(&json).unwrap(), state);
    }

    #[test]
    fn every_cut_and_a_newer_version_are_errors() {
        let compact = encode(&small()).unwrap();
        for cut in 0..compact.len() {
            assert!(decode(&compact[..cut]).is_err(), "cut at {cut}");
        }
        let mut newer = compact.clone();
        newer[8..12].copy_from_slice(&(CODEC_VERSION + 1).to_be_bytes());
        let error = decode(&newer).unwrap_err().to_string();
        assert!(error.contains("newer"), "{error}");
        let mut longer = compact;
        longer.push(0);
        assert!(decode(&longer).is_err());
    }
}
