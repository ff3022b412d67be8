//! `StagedImport`: the record sets of a zone import on their way through the Raft log, kept
//! apart from the served zones until one small `CommitStagedZone` switches them in.
//!
//! A big zone cannot travel as one Raft entry without stalling the leader (one multi-megabyte
//! entry to serialise, write, send and apply while heartbeats wait), so the API sends it as
//! several `StageZoneRecords` entries of bounded size, then commits. Readers and DNS see the
//! old zone until the commit and the whole new one after it; a staging area nobody commits or
//! aborts runs out `STAGED_IMPORT_TTL_MS` after its last chunk (leader time, so every replica
//! drops it at the same entry).
//!
//! Invariant: the chunks are shared (`Arc`), so copying a `State` that holds a staging area
//! copies pointers, never the staged record sets.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::model::name::DomainName;
use crate::model::record::RecordSet;

/// How long a staging area lives after its last chunk, in milliseconds of leader time.
pub const STAGED_IMPORT_TTL_MS: u64 = 5 * 60 * 1000;

/// The most staging areas that may exist at once: a client that opens imports and never
/// finishes them cannot grow the state without bound.
pub const MAX_STAGED_IMPORTS: usize = 16;

/// One import in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StagedImport {
    /// The zone the import will replace or create.
    pub apex: DomainName,
    /// Leader time of the first chunk, unix millis.
    pub started_at: u64,
    /// Leader time after which the staging area is dropped, unix millis; every chunk moves it
    /// to `STAGED_IMPORT_TTL_MS` after itself.
    pub expires_at: u64,
    /// The chunks in the order they were committed.
    pub chunks: Vec<Arc<Vec<RecordSet>>>,
}

impl StagedImport {
    /// Record sets staged so far.
    pub fn n_rrsets(&self) -> usize {
        self.chunks.iter().map(|chunk| chunk.len()).sum()
    }

    /// Records (RDATA entries) staged so far.
    pub fn n_records(&self) -> usize {
        self.chunks
            .iter()
            .flat_map(|chunk| chunk.iter())
            .map(|set| set.rdata.len())
            .sum()
    }

    /// Every staged record set, in chunk order.
    pub fn rrsets(&self) -> impl Iterator<Item = &RecordSet> {
        self.chunks.iter().flat_map(|chunk| chunk.iter())
    }
}
