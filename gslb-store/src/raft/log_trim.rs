//! Log kept below a snapshot, weighed as well as counted: openraft keeps
//! `logs_kept_after_snapshot` entries (10,000 by default) below each snapshot, so a
//! learner a little behind catches up from the log. Counted, not weighed, that kept a whole
//! zone import (some 490 entries of 64 KiB of record sets for a million records) in the log
//! after the snapshot that holds it: a learner joining later was sent those entries instead of
//! the snapshot and replayed every chunk, a restarted node read them all at start, and every
//! node kept the newest of them decoded (`RecentEntries`, tens of megabytes for a big import).
//!
//! `run_log_trim`, a task of every node, follows the node's metrics. Each time a new snapshot
//! is in place (built here or installed from the leader) it:
//! - forgets the decoded copies of the entries the snapshot covers (they are applied; a
//!   leader replicating one to a peer that lags reads it from sled);
//! - walks the log down from the snapshot's index, keeping entries while they stay within
//!   `logs_kept_after_snapshot` entries and `logs_kept_after_snapshot_bytes` bytes of JSON
//!   (`purge_point`), and asks openraft to purge the rest (`trigger().purge_log`, which
//!   waits for replication still reading them). Small writes, a few hundred bytes an entry,
//!   stay bounded by the count as before; an import's chunks by the bytes;
//! - once the purge is carried out (or `PURGE_WAIT` passed), returns the memory the dropped
//!   entries and log pages held to the system (`heap`).

use std::ops::Bound;

use crate::heap;
use crate::kv::{Kv, KvError};
use crate::raft::log_store::LOG_SPACE;
use crate::raft::node::WeakNodeHandle;

/// How long the trim waits for openraft to carry out a purge before it gives the freed
/// memory back anyway (a leader delays a purge while replication still reads those entries).
const PURGE_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// The highest log index to purge so that the entries kept at or below `snapshot_index`
/// (newest first) are at most `max_entries` and carry at most `max_bytes` of JSON; `None`
/// when everything there fits. The first entry that does not fit and all below it go.
pub(crate) fn purge_point(
    kv: &Kv,
    snapshot_index: u64,
    max_entries: u64,
    max_bytes: u64,
) -> Result<Option<u64>, KvError> {
    let log = kv.space(LOG_SPACE)?;
    let mut kept_entries = 0u64;
    let mut kept_bytes = 0u64;
    let mut purge_upto = None;
    log.sizes_newest_first(
        Bound::Included(snapshot_index.to_be_bytes().to_vec()),
        |key, bytes| {
            let Ok(index) = <[u8; 8]>::try_from(key).map(u64::from_be_bytes) else {
                return true;
            };
            kept_entries += 1;
            kept_bytes = kept_bytes.saturating_add(bytes as u64);
            if kept_entries > max_entries || kept_bytes > max_bytes {
                purge_upto = Some(index);
                return false;
            }
            true
        },
    )?;
    Ok(purge_upto)
}

/// Serves one node until it is gone: on each new snapshot, drops the decoded entries it
/// covers and purges the log below it past the count and byte bounds (see the module doc).
pub(crate) async fn run_log_trim(node: WeakNodeHandle, max_entries: u64, max_bytes: u64) {
    let mut metrics = {
        let Some(node) = node.upgrade() else {
            return;
        };
        node.inner.raft.metrics()
    };
    let mut trimmed_at = None;
    loop {
        let snapshot = metrics.borrow_and_update().snapshot;
        if let Some(snapshot) = snapshot.filter(|snapshot| Some(snapshot.index) != trimmed_at) {
            let Some(node) = node.upgrade() else {
                return;
            };
            trimmed_at = Some(snapshot.index);
            node.inner.recent_entries.purge_upto(snapshot.index);
            let kv = node.inner.kv.clone();
            let weighed = tokio::task::spawn_blocking(move || {
                purge_point(&kv, snapshot.index, max_entries, max_bytes)
            })
            .await;
            let mut purging = None;
            match weighed {
                Ok(Ok(Some(upto))) => {
                    tracing::info!(
                        snapshot = snapshot.index,
                        upto,
                        "purging the log below the snapshot past {max_entries} entries or \
                         {max_bytes} bytes"
                    );
                    match node.inner.raft.trigger().purge_log(upto).await {
                        Ok(()) => purging = Some(upto),
                        Err(error) => tracing::warn!("log purge not started: {error}"),
                    }
                }
                Ok(Ok(None)) => {}
                Ok(Err(error)) => tracing::warn!("log below the snapshot not weighed: {error}"),
                Err(error) => tracing::warn!("log weighing task failed: {error}"),
            }
            // Not held while waiting: the node's storage is released once every handle is.
            drop(node);
            if let Some(upto) = purging {
                let purged = tokio::time::timeout(PURGE_WAIT, async {
                    while metrics
                        .borrow_and_update()
                        .purged
                        .is_none_or(|purged| purged.index < upto)
                    {
                        if metrics.changed().await.is_err() {
                            return;
                        }
                    }
                })
                .await;
                if purged.is_err() {
                    tracing::info!(upto, "log purge still pending after {PURGE_WAIT:?}");
                }
            }
            // The decoded entries dropped and the purged log's pages were allocated among
            // longer-lived data: give them back (a big import's are tens of megabytes).
            let _ = tokio::task::spawn_blocking(heap::release_free_memory).await;
            continue;
        }
        if metrics.changed().await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::KvOptions;

    fn log_of(sizes: &[(u64, usize)]) -> (tempfile::TempDir, Kv) {
        let dir = tempfile::tempdir().unwrap();
        let kv = Kv::open(dir.path(), &KvOptions::default()).unwrap();
        let log = kv.space(LOG_SPACE).unwrap();
        for (index, size) in sizes {
            log.put(&index.to_be_bytes(), &vec![b'x'; *size]).unwrap();
        }
        (dir, kv)
    }

    #[test]
    fn big_entries_below_a_snapshot_are_purged_by_their_bytes() {
        // 1..=3 small writes, 4..=8 import chunks of 1000 bytes, 9..=10 small again; the
        // snapshot is at 10 and 12 is above it.
        let mut sizes: Vec<(u64, usize)> = (1..=3).map(|index| (index, 100)).collect();
        sizes.extend((4..=8).map(|index| (index, 1000)));
        sizes.extend([(9, 100), (10, 100), (12, 5000)]);
        let (_dir, kv) = log_of(&sizes);
        // 2,500 bytes keep 10, 9 and two chunks (8, 7): 6 and below go.
        assert_eq!(purge_point(&kv, 10, 100, 2500).unwrap(), Some(6));
        // The count still bounds small entries: 3 kept (10, 9, 8).
        assert_eq!(purge_point(&kv, 10, 3, u64::MAX).unwrap(), Some(7));
        // Everything fits: nothing to purge.
        assert_eq!(purge_point(&kv, 10, 100, 1_000_000).unwrap(), None);
        // Entries above the snapshot are never weighed nor purged.
        assert_eq!(purge_point(&kv, 3, 100, 250).unwrap(), Some(1));
    }

    #[test]
    fn an_empty_log_has_nothing_to_purge() {
        let (_dir, kv) = log_of(&[]);
        assert_eq!(purge_point(&kv, 10, 1, 1).unwrap(), None);
    }
}
