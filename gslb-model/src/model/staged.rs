//! `StagedImport`: a zone import on its way through the Raft log, built up chunk by chunk
//! apart from the served zones until one small `CommitStagedZone` moves it in.
//!
//! A big zone cannot travel as one Raft entry without stalling the leader (one multi-megabyte
//! entry to serialise, write, send and apply while heartbeats wait), so the API sends it as
//! numbered `StageZoneRecords` entries of bounded size, then commits. Each chunk is checked
//! when it is staged (every set on its own, canonical order within and across chunks, and the
//! rules that cross sets through a `ZoneWalk` resumed from the chunk before) and appended to
//! `sets`, the zone's record sets under construction. The commit therefore only finishes the
//! walk (the last owner name, the apex's NS set) and moves `sets` into the zone: O(1) in the
//! zone's size. Readers and DNS see the old zone until the commit and the whole new one
//! after it; a staging area nobody commits or aborts runs out `STAGED_IMPORT_TTL_MS` after
//! its last chunk (leader time, so every replica drops it at the same entry).
//!
//! Chunks may reach the log out of order (the API keeps several in flight): one that arrives
//! ahead of its turn waits in `waiting` (at most `MAX_CHUNKS_AHEAD` ahead) until the chunks
//! before it are in.
//!
//! Invariant: `sets` are strictly ascending by (owner, type) and every one of them has passed
//! the per-set checks and the walk; `walk` has seen exactly `sets`, in order. Copying a
//! `State` that holds a staging area copies pointers (`RecordSets` is a persistent vector;
//! waiting chunks are shared `Arc`s), never the staged record sets.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::model::name::DomainName;
use crate::model::record::RecordSet;
use crate::model::zone_sets::RecordSets;
use crate::model::zone_walk::ZoneWalk;

/// How long a staging area lives after its last chunk, in milliseconds of leader time.
pub const STAGED_IMPORT_TTL_MS: u64 = 5 * 60 * 1000;

/// The most staging areas that may exist at once: a client that opens imports and never
/// finishes them cannot grow the state without bound.
pub const MAX_STAGED_IMPORTS: usize = 16;

/// How far ahead of the next expected chunk a chunk may arrive and wait for its turn; the
/// API keeps a few chunks in flight, far fewer than this.
pub const MAX_CHUNKS_AHEAD: u64 = 64;

/// One import in progress. States written before chunks were numbered carried `chunks`
/// instead of the fields below: such an import reads back empty, and its commit is refused
/// (its chunk count does not match), so it changes nothing and expires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StagedImport {
    /// The zone the import will replace or create.
    pub apex: DomainName,
    /// Leader time of the first chunk, unix millis.
    pub started_at: u64,
    /// Leader time after which the staging area is dropped, unix millis; every chunk moves it
    /// to `STAGED_IMPORT_TTL_MS` after itself.
    pub expires_at: u64,
    /// The number of the next chunk to append to `sets` (chunks are numbered from 0).
    #[serde(default)]
    pub next_chunk: u64,
    /// The record sets of chunks `0..next_chunk`, checked and in canonical order.
    #[serde(default)]
    pub sets: RecordSets,
    /// The cross-set walk over `sets`, to be resumed by the next chunk.
    #[serde(default)]
    pub walk: ZoneWalk,
    /// Chunks that arrived ahead of their turn (checked on their own), by number.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub waiting: BTreeMap<u64, Arc<Vec<RecordSet>>>,
    /// Records (RDATA entries) in `sets`.
    #[serde(default)]
    pub n_records: u64,
    /// How many chunks the import has, as its chunks say (`StageZoneRecords::total_chunks`;
    /// `None` from importers that did not say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_chunks: Option<u64>,
}

impl StagedImport {
    /// An empty staging area for `apex`, opened at leader time `at`.
    pub fn new(apex: DomainName, at: u64) -> StagedImport {
        StagedImport {
            apex,
            started_at: at,
            expires_at: at.saturating_add(STAGED_IMPORT_TTL_MS),
            next_chunk: 0,
            sets: RecordSets::new(),
            walk: ZoneWalk::default(),
            waiting: BTreeMap::new(),
            n_records: 0,
            total_chunks: None,
        }
    }

    /// True when every chunk of the import is in, in order, and none waits: what the commit
    /// will switch in is `sets` (known only when the chunks said how many there are).
    pub fn is_complete(&self) -> bool {
        self.total_chunks == Some(self.next_chunk) && self.waiting.is_empty()
    }

    /// Record sets appended so far (waiting chunks not counted).
    pub fn n_rrsets(&self) -> usize {
        self.sets.len()
    }
}
