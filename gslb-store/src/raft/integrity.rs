//! Storage integrity: the applied record (`applied.json` in the data directory) and the
//! start-up check that the data directory still gives back everything this node applied.
//!
//! Why: sled 0.34 recovers a damaged file by dropping what it cannot read, so a store with a
//! few overwritten pages opens without an error and holds an older log and committed pointer
//! than the node had. Without a record kept outside sled the node would start at an older
//! version and serve it as if nothing had happened.
//!
//! The record: line 1 is the JSON of the last applied `LogId`, line 2 its sha256 (hex). One
//! background task writes it after apply batches, at most once per `RECORD_INTERVAL` (only
//! the newest value, tmp + fsync + rename), and `AppliedRecorder::write_latest` writes it
//! once more at shutdown. So after a clean stop it names the last applied entry; after a
//! crash under a stream of writes it may trail it by up to `RECORD_INTERVAL` of applies, and
//! a loss confined to those goes unnoticed by the record (as the invariant below allows).
//!
//! Invariant: the record never names an index beyond what the storage had made durable: an
//! entry is applied only after it was committed, its log append flushed and the committed
//! pointer written (`save_committed`; flushed there on a voter, only written on a learner
//! with a lazy committed pointer), or after the snapshot holding it was on disk; and the
//! recorder flushes the log store (`LogFlush`) before it records an index, which makes that
//! committed pointer durable in either case. So at start, a record beyond what the
//! storage can restore means the storage lost data, never that the record ran ahead.
//! Invariant: a failed record write (full disk) never fails the apply: the record stays at an
//! older index, which can only hide a loss, never invent one.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use openraft::LogId;

use crate::raft::log_store::LogFlush;
use crate::raft::NodeId;

/// The least time from one applied record to the next while applies keep coming: a lone
/// apply is recorded at once, a stream of them about ten times a second. Each record costs a
/// flush of the log store, a file written, fsynced and renamed; after every apply batch, on
/// every node, that was three fsyncs per write per node, and at 100 writes/s it doubled a
/// small write's time to INSYNC in the demo (docs/perf.md, "Small edits in a big zone").
const RECORD_INTERVAL: std::time::Duration = std::time::Duration::from_millis(100);

/// The applied record's file name inside the data directory.
pub const APPLIED_FILE: &str = "applied.json";

/// The data directory does not hold what this node had: a file is corrupt, or the storage
/// gives back less than the node had applied (acknowledged entries lost).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {detail}")]
pub struct DamageError {
    /// The file or directory at fault.
    pub path: PathBuf,
    /// What is wrong.
    pub detail: String,
}

/// Reads the applied record of `data_dir`; `None` when there is none (a new node, or a data
/// directory written before the record existed).
pub(crate) fn read_record(data_dir: &Path) -> Result<Option<LogId<NodeId>>, DamageError> {
    let path = data_dir.join(APPLIED_FILE);
    let fail = |detail: String| DamageError {
        path: path.clone(),
        detail,
    };
    let text = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(fail(format!("cannot read: {error}"))),
    };
    let text = String::from_utf8(text)
        .map_err(|_| fail("not UTF-8 text: the file is corrupt".to_string()))?;
    let mut lines = text.lines();
    let (Some(body), Some(sha256), None) = (lines.next(), lines.next(), lines.next()) else {
        return Err(fail(
            "expected two lines (log id, sha256): the file is corrupt".to_string(),
        ));
    };
    let actual = gslb_model::backup::sha256_hex(body.as_bytes());
    if actual != sha256 {
        return Err(fail(format!(
            "checksum mismatch: the file says sha256 {sha256}, its log id line hashes to \
             {actual}: the file is corrupt"
        )));
    }
    serde_json::from_str(body)
        .map(Some)
        .map_err(|error| fail(format!("bad log id: {error}")))
}

/// Writes the applied record of `data_dir` durably (tmp + fsync + rename).
pub(crate) fn write_record(data_dir: &Path, applied: &LogId<NodeId>) -> std::io::Result<()> {
    use std::io::Write;
    let body = serde_json::to_string(applied).map_err(std::io::Error::other)?;
    let sha256 = gslb_model::backup::sha256_hex(body.as_bytes());
    let path = data_dir.join(APPLIED_FILE);
    let tmp = data_dir.join(format!("{APPLIED_FILE}.tmp"));
    {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(format!("{body}\n{sha256}\n").as_bytes())?;
        file.sync_data()?;
    }
    std::fs::rename(&tmp, &path)
}

/// What the storage can restore at start, for `check_restorable`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Restorable {
    /// The snapshot file's last log id.
    pub(crate) snapshot: Option<LogId<NodeId>>,
    /// The committed pointer kept in the log store.
    pub(crate) committed: Option<LogId<NodeId>>,
    /// The log id of every entry in the log (contiguous, checked by the log store).
    pub(crate) log: Vec<LogId<NodeId>>,
}

impl Restorable {
    /// The highest index a start can re-apply: the snapshot, then the log up to `committed`.
    pub(crate) fn index(&self) -> u64 {
        let snapshot = self.snapshot.map_or(0, |log_id| log_id.index);
        let committed = self.committed.map_or(0, |log_id| log_id.index);
        let replayable = self
            .log
            .iter()
            .map(|log_id| log_id.index)
            .filter(|index| *index <= committed)
            .max()
            .unwrap_or(0);
        // Entries above the snapshot replay only if nothing is missing in between.
        let first = self.log.first().map_or(u64::MAX, |log_id| log_id.index);
        if first <= snapshot + 1 {
            snapshot.max(replayable)
        } else {
            snapshot
        }
    }

    /// The log id the storage holds at `index`, when it holds that entry or the snapshot ends
    /// there.
    fn log_id_at(&self, index: u64) -> Option<LogId<NodeId>> {
        self.log
            .iter()
            .find(|log_id| log_id.index == index)
            .copied()
            .or(self.snapshot.filter(|log_id| log_id.index == index))
    }
}

/// Checks that the storage gives back at least what the applied record says this node had
/// applied, with the same log id there. `kv_dir` is named in the error (the storage that
/// lost it).
pub(crate) fn check_restorable(
    kv_dir: &Path,
    recorded: Option<LogId<NodeId>>,
    restorable: &Restorable,
) -> Result<(), DamageError> {
    let Some(recorded) = recorded else {
        return Ok(());
    };
    let reachable = restorable.index();
    if reachable < recorded.index {
        return Err(DamageError {
            path: kv_dir.to_path_buf(),
            detail: format!(
                "{APPLIED_FILE} says this node applied up to index {} (term {}), but the \
                 storage gives back only up to index {reachable} (snapshot {}, committed {}, \
                 log {}): acknowledged entries were lost",
                recorded.index,
                recorded.leader_id.term,
                show_index(restorable.snapshot),
                show_index(restorable.committed),
                show_range(&restorable.log),
            ),
        });
    }
    match restorable.log_id_at(recorded.index) {
        Some(found) if found != recorded => Err(DamageError {
            path: kv_dir.to_path_buf(),
            detail: format!(
                "entry {} is from term {} of leader {}, but {APPLIED_FILE} says this node \
                 applied it from term {} of leader {}: the storage does not hold what was \
                 applied",
                recorded.index,
                found.leader_id.term,
                found.leader_id.node_id,
                recorded.leader_id.term,
                recorded.leader_id.node_id,
            ),
        }),
        _ => Ok(()),
    }
}

fn show_index(log_id: Option<LogId<NodeId>>) -> String {
    log_id.map_or("none".to_string(), |log_id| log_id.index.to_string())
}

fn show_range(log: &[LogId<NodeId>]) -> String {
    match (log.first(), log.last()) {
        (Some(first), Some(last)) => format!("{}..={}", first.index, last.index),
        _ => "empty".to_string(),
    }
}

/// Keeps the applied record up to date from the apply path without blocking it.
pub(crate) struct AppliedRecorder {
    /// The data directory holding the record.
    data_dir: PathBuf,
    /// The newest applied log id (set on every apply batch).
    latest: tokio::sync::watch::Sender<Option<LogId<NodeId>>>,
    /// The log id last written, or `None`; held across a write so writes never interleave.
    written: tokio::sync::Mutex<Option<LogId<NodeId>>>,
    /// Makes the log store durable (the committed pointer included) before each record.
    durable: LogFlush,
}

impl AppliedRecorder {
    /// A recorder for `data_dir` whose record already says `written`. Its writer task holds
    /// it weakly and ends once the recorder is dropped.
    /// `durable` flushes the node's log store before each record is written.
    pub(crate) fn spawn(
        data_dir: &Path,
        written: Option<LogId<NodeId>>,
        durable: LogFlush,
    ) -> Arc<AppliedRecorder> {
        let (latest, mut changes) = tokio::sync::watch::channel(written);
        let recorder = Arc::new(AppliedRecorder {
            data_dir: data_dir.to_path_buf(),
            latest,
            written: tokio::sync::Mutex::new(written),
            durable,
        });
        let weak = Arc::downgrade(&recorder);
        tokio::spawn(async move {
            while changes.changed().await.is_ok() {
                let started = tokio::time::Instant::now();
                {
                    let Some(recorder) = weak.upgrade() else {
                        return;
                    };
                    recorder.write_latest().await;
                }
                // Applies meanwhile are coalesced into the next record.
                tokio::time::sleep_until(started + RECORD_INTERVAL).await;
            }
        });
        recorder
    }

    /// Notes that everything up to `applied` is applied.
    pub(crate) fn note(&self, applied: Option<LogId<NodeId>>) {
        self.latest.send_if_modified(|latest| {
            let newer = applied > *latest;
            if newer {
                *latest = applied;
            }
            newer
        });
    }

    /// Writes the newest applied log id unless it is written already, after flushing the log
    /// store (so the committed pointer that let it apply is durable first). A failure is
    /// logged and leaves the older record in place (see the module's invariants).
    pub(crate) async fn write_latest(&self) {
        let mut written = self.written.lock().await;
        let latest = *self.latest.borrow();
        let Some(applied) = latest.filter(|_| latest > *written) else {
            return;
        };
        if let Err(error) = self.durable.flush().await {
            tracing::warn!(
                index = applied.index,
                "the log store did not flush ({error}); keeping the older applied record"
            );
            return;
        }
        let data_dir = self.data_dir.clone();
        let result = tokio::task::spawn_blocking(move || write_record(&data_dir, &applied)).await;
        match result {
            Ok(Ok(())) => *written = latest,
            Ok(Err(error)) => tracing::warn!(
                path = %self.data_dir.join(APPLIED_FILE).display(),
                index = applied.index,
                "cannot write the applied record, keeping the older one: {error}"
            ),
            Err(error) => tracing::warn!("applied record writer failed: {error}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openraft::CommittedLeaderId;

    fn log_id(term: u64, index: u64) -> LogId<NodeId> {
        LogId::new(CommittedLeaderId::new(term, 1), index)
    }

    #[test]
    fn the_record_round_trips_and_a_changed_byte_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_record(dir.path()).unwrap(), None);
        write_record(dir.path(), &log_id(3, 689)).unwrap();
        assert_eq!(read_record(dir.path()).unwrap(), Some(log_id(3, 689)));
        let good = std::fs::read(dir.path().join(APPLIED_FILE)).unwrap();
        for offset in 0..good.len() {
            let mut bad = good.clone();
            bad[offset] = bad[offset].wrapping_add(1);
            std::fs::write(dir.path().join(APPLIED_FILE), &bad).unwrap();
            let error = read_record(dir.path()).unwrap_err();
            assert!(error.to_string().contains(APPLIED_FILE), "{error}");
        }
    }

    /// Waits up to 10 s for the record in `dir` to say `expected`.
    async fn record_reaches(dir: &Path, expected: LogId<NodeId>) -> bool {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        while tokio::time::Instant::now() < deadline {
            if read_record(dir).ok().flatten() == Some(expected) {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        false
    }

    /// A lone apply is recorded; a burst of applies closer together than `RECORD_INTERVAL`
    /// is coalesced, and the record still ends at the newest of them, never an older one.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_recorder_keeps_up_with_a_lone_apply_and_the_end_of_a_burst() {
        use crate::kv::{Kv, KvOptions};
        use crate::raft::log_store::LogStore;
        let dir = tempfile::tempdir().unwrap();
        let kv = Kv::open(&dir.path().join("kv"), &KvOptions::default()).unwrap();
        let store = LogStore::open(kv).unwrap();
        let recorder = AppliedRecorder::spawn(dir.path(), None, store.flush_handle());
        recorder.note(Some(log_id(1, 5)));
        assert!(record_reaches(dir.path(), log_id(1, 5)).await);
        for index in 6..=60 {
            recorder.note(Some(log_id(1, index)));
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        assert!(record_reaches(dir.path(), log_id(1, 60)).await);
        // An older index noted late never moves the record back.
        recorder.note(Some(log_id(1, 30)));
        tokio::time::sleep(RECORD_INTERVAL * 2).await;
        assert_eq!(read_record(dir.path()).unwrap(), Some(log_id(1, 60)));
    }

    /// Each case: (snapshot, committed, log indexes, record) → whether the start is allowed.
    #[test]
    fn a_storage_behind_its_record_is_damaged() {
        let check = |snapshot: Option<u64>, committed: Option<u64>, log: &[u64], record| {
            let restorable = Restorable {
                snapshot: snapshot.map(|index| log_id(3, index)),
                committed: committed.map(|index| log_id(3, index)),
                log: log.iter().map(|index| log_id(3, *index)).collect(),
            };
            check_restorable(Path::new("/d/kv"), record, &restorable)
        };
        // No record: an old data dir or a new node.
        assert!(check(None, None, &[], None).is_ok());
        // Log and committed reach the record.
        assert!(check(None, Some(689), &[1, 2, 689], Some(log_id(3, 689))).is_ok());
        assert!(check(Some(600), Some(689), &[601, 689], Some(log_id(3, 689))).is_ok());
        // The snapshot alone reaches it.
        assert!(check(Some(700), Some(650), &[], Some(log_id(3, 689))).is_ok());
        // The case: the store came back at 673, the node had applied 689.
        let error = check(Some(600), Some(673), &[601, 673], Some(log_id(3, 689)))
            .unwrap_err()
            .to_string();
        assert!(error.contains("/d/kv") && error.contains("689"), "{error}");
        assert!(error.contains("up to index 673"), "{error}");
        // Entries present but the committed pointer regressed.
        assert!(check(None, Some(10), &[1, 689], Some(log_id(3, 689))).is_err());
        // A hole between the snapshot and the log.
        assert!(check(Some(100), Some(689), &[200, 689], Some(log_id(3, 689))).is_err());
        // The entry at the record's index is from another term.
        let restorable = Restorable {
            snapshot: None,
            committed: Some(log_id(4, 689)),
            log: vec![log_id(3, 688), log_id(4, 689)],
        };
        assert!(check_restorable(Path::new("/d"), Some(log_id(3, 689)), &restorable).is_err());
    }
}
