//! `Kv`: the one module that names sled. Ordered byte keys in named spaces, atomic batches per
//! space, and an explicit, durable `flush`.
//!
//! Everything above (the Raft log store) speaks only this small surface, so the engine can be
//! swapped (redb, fjall, RocksDB) by rewriting this file alone.
//!
//! Invariant: no sled type appears in a public signature.
//! Invariant: opening never panics: a locked directory, an unreadable one and a corrupt one
//! each come back as a `KvError` that names the path.
//! Invariant: a write is durable only after `flush` returned `Ok`; callers that acknowledge
//! (vote, log append) flush first.
//! Invariant: once a write or flush has failed, `Kv::fault` says so for good (the engine may
//! have lost buffered writes): the node stops acknowledging and must be restarted.

use std::ops::Bound;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// Cache a voter gives the engine by default: the replicated state itself lives in memory
/// as `State`, so the engine only caches log tails and metadata.
pub const DEFAULT_CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// Cache a learner (a DNS node, a prober) gives the engine by default: it serves no log reads
/// to peers, and every page it caches is resident memory beside its answer plan (a zone
/// import's log pages filled the 64 MiB of a voter's cache).
pub const LEARNER_CACHE_BYTES: u64 = 8 * 1024 * 1024;

/// The smallest cache a config may ask for.
pub const MIN_CACHE_BYTES: u64 = 1024 * 1024;

/// The file beside the engine's files that says "this store was initialised".
const MARKER_FILE: &str = "GSLB_KV";
/// The space holding the marker key.
const MARKER_SPACE: &str = "__gslb_kv";
/// The marker key.
const MARKER_KEY: &[u8] = b"marker";
/// The marker value (also the marker file's content): names the layout version.
const MARKER_VALUE: &[u8] = b"gslb-kv/1\n";

/// Why the engine failed; every variant names the data directory.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KvError {
    /// Another process (or another opener in this one) holds the directory.
    #[error("data dir {path}: already in use by another gslb process or node ({detail})")]
    Locked {
        /// The data directory.
        path: PathBuf,
        /// The engine's own words.
        detail: String,
    },
    /// The files are damaged; the node must be resynchronised (delete the directory and let
    /// it rejoin as a learner: it is a replica).
    #[error("data dir {path}: corrupt storage, refusing to start ({detail}); move the directory away and let the node resync from the cluster")]
    Corrupt {
        /// The data directory.
        path: PathBuf,
        /// What was found.
        detail: String,
    },
    /// The file system is full: nothing more can be persisted until space is freed.
    #[error("no space left on {path} ({operation} failed)")]
    NoSpace {
        /// The data directory.
        path: PathBuf,
        /// What we were doing (`flush`, `write`, ...).
        operation: &'static str,
    },
    /// Any other I/O failure.
    #[error("data dir {path}: {operation} failed: {detail}")]
    Io {
        /// The data directory.
        path: PathBuf,
        /// What we were doing (`open`, `flush`, `write`, `read`, ...).
        operation: &'static str,
        /// The engine's own words.
        detail: String,
    },
}

/// Opening options.
#[derive(Debug, Clone)]
pub struct KvOptions {
    /// Page cache size in bytes.
    pub cache_bytes: u64,
}

impl Default for KvOptions {
    fn default() -> Self {
        KvOptions {
            cache_bytes: DEFAULT_CACHE_BYTES,
        }
    }
}

/// An open store. Cheap to clone; all clones share one engine.
#[derive(Clone)]
pub struct Kv {
    /// The engine.
    db: sled::Db,
    /// The directory, for error messages.
    path: PathBuf,
    /// The first write or flush failure, shared by every clone and space.
    fault: Fault,
}

/// The first failure of a write or flush, once there was one.
type Fault = Arc<OnceLock<KvError>>;

/// One named key space (ordered by key bytes). Cheap to clone.
#[derive(Clone)]
pub struct Space {
    /// The engine's tree.
    tree: sled::Tree,
    /// The directory, for error messages.
    path: PathBuf,
    /// The store's fault slot (see `Kv::fault`).
    fault: Fault,
}

/// One stored pair: key bytes, value bytes.
pub type KeyValue = (Vec<u8>, Vec<u8>);

/// One change in a batch: `Some(value)` puts, `None` removes.
pub type BatchOp = (Vec<u8>, Option<Vec<u8>>);

impl std::fmt::Debug for Kv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kv").field("path", &self.path).finish()
    }
}

impl std::fmt::Debug for Space {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Space").field("path", &self.path).finish()
    }
}

impl Kv {
    /// Opens (creating if needed) the store in `path`.
    ///
    /// Fails with `Locked` when another opener holds it (sled takes an exclusive `flock` on
    /// its `db` file, which also excludes a second opener inside the same process), and with
    /// `Corrupt` when the files cannot be recovered — including when the engine panics while
    /// reading them.
    pub fn open(path: &Path, options: &KvOptions) -> Result<Kv, KvError> {
        std::fs::create_dir_all(path).map_err(|error| KvError::Io {
            path: path.to_path_buf(),
            operation: "create directory",
            detail: error.to_string(),
        })?;
        let config = sled::Config::new()
            .path(path)
            .cache_capacity(options.cache_bytes)
            .mode(sled::Mode::LowSpace)
            // Durability comes from our explicit flushes; the background flusher only bounds
            // how much unacknowledged data sits in memory.
            .flush_every_ms(Some(1000));
        // sled's background flusher thread keeps the file lock for a moment after the last
        // handle in this process is dropped, so a reopen right after a close (a node restarted
        // in-process) can see the lock still held. Retry a lock error briefly before calling
        // the directory taken; a second process still gets the error, just not at once.
        let deadline = std::time::Instant::now() + LOCK_RETRY_FOR;
        let opened = loop {
            let attempt = catch_unwind(AssertUnwindSafe(|| config.open()));
            let lock_held = matches!(
                &attempt,
                Ok(Err(sled::Error::Io(io))) if io.to_string().contains("could not acquire lock")
            );
            if !lock_held || std::time::Instant::now() >= deadline {
                break attempt;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        match opened {
            Ok(Ok(db)) => {
                let kv = Kv {
                    db,
                    path: path.to_path_buf(),
                    fault: Fault::default(),
                };
                kv.check_marker()?;
                Ok(kv)
            }
            Ok(Err(error)) => Err(classify(path, "open", error)),
            Err(panic) => Err(KvError::Corrupt {
                path: path.to_path_buf(),
                detail: format!(
                    "the storage engine panicked while opening: {}",
                    panic_text(&panic)
                ),
            }),
        }
    }

    /// Detects a store that sled silently reopened as empty. sled 0.34 recovers a damaged log
    /// by dropping what it cannot read — a `db` file overwritten with junk opens as an empty
    /// database — which for a Raft voter would mean forgetting its vote. So the first open
    /// writes a marker key and then a marker file beside the engine's files; a later open that
    /// finds the file but not the key refuses to start.
    fn check_marker(&self) -> Result<(), KvError> {
        let marker_file = self.path.join(MARKER_FILE);
        let space = self.space(MARKER_SPACE)?;
        let has_key = space.get(MARKER_KEY)?.is_some();
        let has_file = marker_file.exists();
        match (has_file, has_key) {
            (true, true) => Ok(()),
            (true, false) => Err(KvError::Corrupt {
                path: self.path.clone(),
                detail: format!(
                    "{MARKER_FILE} says the store was initialised but its marker key is gone \
                     (the engine dropped unreadable data)"
                ),
            }),
            (false, _) => {
                space.put(MARKER_KEY, MARKER_VALUE)?;
                self.db
                    .flush()
                    .map_err(|error| classify(&self.path, "flush", error))?;
                let io_error = |error: std::io::Error| KvError::Io {
                    path: self.path.clone(),
                    operation: "write marker file",
                    detail: error.to_string(),
                };
                let file = std::fs::File::create(&marker_file).map_err(io_error)?;
                std::io::Write::write_all(&mut &file, MARKER_VALUE).map_err(io_error)?;
                file.sync_all().map_err(io_error)?;
                std::fs::File::open(&self.path)
                    .and_then(|dir| dir.sync_all())
                    .map_err(io_error)?;
                Ok(())
            }
        }
    }

    /// The directory this store lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The named key space, created on first use.
    pub fn space(&self, name: &str) -> Result<Space, KvError> {
        let tree = self
            .db
            .open_tree(name)
            .map_err(|error| classify(&self.path, "open key space", error))?;
        Ok(Space {
            tree,
            path: self.path.clone(),
            fault: self.fault.clone(),
        })
    }

    /// The first write or flush failure of this store, if there was one: from then on
    /// nothing written may be acknowledged.
    pub fn fault(&self) -> Option<KvError> {
        self.fault.get().cloned()
    }

    /// Whether the file system of the store has room again: writes and syncs `bytes` bytes
    /// into a probe file beside the store, then removes it.
    pub fn has_room_for(&self, bytes: usize) -> bool {
        let probe = self.path.join("space-probe.tmp");
        let written = std::fs::File::create(&probe).and_then(|mut file| {
            std::io::Write::write_all(&mut file, &vec![0u8; bytes])?;
            file.sync_all()
        });
        let _ = std::fs::remove_file(&probe);
        written.is_ok()
    }

    /// Makes every write done so far durable (all spaces share one log). Runs the blocking
    /// fsync on the blocking pool; callers keep to one writer task (sled's own async flush can
    /// hang under concurrent callers).
    pub async fn flush(&self) -> Result<(), KvError> {
        let db = self.db.clone();
        let path = self.path.clone();
        let result = match tokio::task::spawn_blocking(move || db.flush()).await {
            Ok(Ok(_)) => return Ok(()),
            Ok(Err(error)) => classify(&path, "flush", error),
            Err(join) => KvError::Io {
                path,
                operation: "flush",
                detail: format!("flush task failed: {join}"),
            },
        };
        Err(record_fault(&self.fault, result))
    }

    /// Bytes the store occupies on disk (a metric: alert on growth).
    pub fn size_on_disk(&self) -> Result<u64, KvError> {
        self.db
            .size_on_disk()
            .map_err(|error| classify(&self.path, "measure size", error))
    }
}

impl Space {
    /// The value at `key`.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, KvError> {
        self.tree
            .get(key)
            .map(|value| value.map(|value| value.to_vec()))
            .map_err(|error| classify(&self.path, "read", error))
    }

    /// Puts one value (not durable until `Kv::flush`).
    pub fn put(&self, key: &[u8], value: &[u8]) -> Result<(), KvError> {
        self.tree
            .insert(key, value)
            .map(|_| ())
            .map_err(|error| record_fault(&self.fault, classify(&self.path, "write", error)))
    }

    /// Applies puts and removes atomically (not durable until `Kv::flush`).
    pub fn batch(&self, ops: Vec<BatchOp>) -> Result<(), KvError> {
        let mut batch = sled::Batch::default();
        for (key, value) in ops {
            match value {
                Some(value) => batch.insert(key, value),
                None => batch.remove(key),
            }
        }
        self.tree
            .apply_batch(batch)
            .map_err(|error| record_fault(&self.fault, classify(&self.path, "write", error)))
    }

    /// Key-value pairs with keys in `(start, end)`, in key order.
    pub fn range(
        &self,
        start: Bound<Vec<u8>>,
        end: Bound<Vec<u8>>,
    ) -> Result<Vec<KeyValue>, KvError> {
        self.tree
            .range((start, end))
            .map(|item| {
                item.map(|(key, value)| (key.to_vec(), value.to_vec()))
                    .map_err(|error| classify(&self.path, "read", error))
            })
            .collect()
    }

    /// Calls `visit` with every pair in key order, one at a time (no copy of the whole
    /// space: a log of big entries is read with one value in memory); stops at the first
    /// error `visit` returns.
    pub fn scan<E>(
        &self,
        mut visit: impl FnMut(&[u8], &[u8]) -> Result<(), E>,
    ) -> Result<Result<(), E>, KvError> {
        for item in self.tree.iter() {
            let (key, value) = item.map_err(|error| classify(&self.path, "read", error))?;
            if let Err(error) = visit(&key, &value) {
                return Ok(Err(error));
            }
        }
        Ok(Ok(()))
    }

    /// Like `range`, but stops before the pair that would take the values read past
    /// `budget` bytes; the first pair is read whatever its size.
    pub fn range_within(
        &self,
        start: Bound<Vec<u8>>,
        end: Bound<Vec<u8>>,
        budget: usize,
    ) -> Result<Vec<KeyValue>, KvError> {
        let mut pairs = Vec::new();
        let mut used = 0usize;
        for item in self.tree.range((start, end)) {
            let (key, value) = item.map_err(|error| classify(&self.path, "read", error))?;
            used = used.saturating_add(value.len());
            if used > budget && !pairs.is_empty() {
                break;
            }
            pairs.push((key.to_vec(), value.to_vec()));
        }
        Ok(pairs)
    }

    /// Calls `visit` with the key and value length of every pair with a key up to `end`,
    /// greatest key first, until it returns false (weighs entries without copying them).
    pub fn sizes_newest_first(
        &self,
        end: Bound<Vec<u8>>,
        mut visit: impl FnMut(&[u8], usize) -> bool,
    ) -> Result<(), KvError> {
        for item in self.tree.range((Bound::Unbounded, end)).rev() {
            let (key, value) = item.map_err(|error| classify(&self.path, "read", error))?;
            if !visit(&key, value.len()) {
                break;
            }
        }
        Ok(())
    }

    /// The pair with the greatest key.
    pub fn last(&self) -> Result<Option<KeyValue>, KvError> {
        self.tree
            .last()
            .map(|item| item.map(|(key, value)| (key.to_vec(), value.to_vec())))
            .map_err(|error| classify(&self.path, "read", error))
    }

    /// Removes every key in `(start, end)` atomically; returns how many were removed (not
    /// durable until `Kv::flush`).
    pub fn remove_range(
        &self,
        start: Bound<Vec<u8>>,
        end: Bound<Vec<u8>>,
    ) -> Result<usize, KvError> {
        let mut batch = sled::Batch::default();
        let mut removed = 0;
        for item in self.tree.range((start, end)).keys() {
            let key = item.map_err(|error| classify(&self.path, "read", error))?;
            batch.remove(key);
            removed += 1;
        }
        self.tree
            .apply_batch(batch)
            .map_err(|error| record_fault(&self.fault, classify(&self.path, "write", error)))?;
        Ok(removed)
    }
}

/// How long `Kv::open` retries a directory whose lock is held.
const LOCK_RETRY_FOR: std::time::Duration = std::time::Duration::from_secs(2);

/// Keeps the first failure in `fault` and returns `error`.
fn record_fault(fault: &Fault, error: KvError) -> KvError {
    if fault.set(error.clone()).is_ok() {
        tracing::error!("storage failed, nothing more is acknowledged: {error}");
    }
    error
}

/// Maps an engine error to ours, telling a held lock, a full disk and corruption apart from
/// other I/O.
fn classify(path: &Path, operation: &'static str, error: sled::Error) -> KvError {
    let path = path.to_path_buf();
    match error {
        sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => {
            KvError::Locked {
                path,
                detail: io.to_string(),
            }
        }
        sled::Error::Io(io) if is_no_space(&io) => KvError::NoSpace { path, operation },
        sled::Error::Corruption { at, .. } => KvError::Corrupt {
            path,
            detail: format!("checksum or framing error at {at:?}"),
        },
        sled::Error::Unsupported(detail) | sled::Error::ReportableBug(detail) => {
            KvError::Corrupt { path, detail }
        }
        other => KvError::Io {
            path,
            operation,
            detail: other.to_string(),
        },
    }
}

/// True for ENOSPC (and EDQUOT, a full quota), however the engine wrapped it.
fn is_no_space(error: &std::io::Error) -> bool {
    matches!(error.raw_os_error(), Some(28 | 122))
        || error.kind() == std::io::ErrorKind::StorageFull
        || error.kind() == std::io::ErrorKind::QuotaExceeded
        || error.to_string().contains("No space left on device")
}

/// The message of a caught panic.
fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(text) = panic.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text.clone()
    } else {
        "unknown panic".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn writes_survive_reopen_after_flush() {
        let dir = tempfile::tempdir().unwrap();
        {
            let kv = Kv::open(dir.path(), &KvOptions::default()).unwrap();
            let logs = kv.space("logs").unwrap();
            logs.batch(vec![
                (1u64.to_be_bytes().to_vec(), Some(b"one".to_vec())),
                (2u64.to_be_bytes().to_vec(), Some(b"two".to_vec())),
                (3u64.to_be_bytes().to_vec(), Some(b"three".to_vec())),
            ])
            .unwrap();
            let removed = logs
                .remove_range(
                    Bound::Unbounded,
                    Bound::Included(1u64.to_be_bytes().to_vec()),
                )
                .unwrap();
            assert_eq!(removed, 1);
            kv.flush().await.unwrap();
        }
        let kv = Kv::open(dir.path(), &KvOptions::default()).unwrap();
        let logs = kv.space("logs").unwrap();
        let all = logs.range(Bound::Unbounded, Bound::Unbounded).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(logs.last().unwrap().unwrap().1, b"three".to_vec());
        assert!(kv.size_on_disk().unwrap() > 0);
    }

    #[test]
    fn a_second_opener_gets_a_lock_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let _first = Kv::open(dir.path(), &KvOptions::default()).unwrap();
        let error = Kv::open(dir.path(), &KvOptions::default()).unwrap_err();
        assert!(matches!(error, KvError::Locked { .. }), "{error:?}");
        assert!(
            error
                .to_string()
                .contains(&dir.path().display().to_string()),
            "{error}"
        );
    }

    #[test]
    fn a_corrupt_directory_is_an_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        {
            let kv = Kv::open(dir.path(), &KvOptions::default()).unwrap();
            let space = kv.space("meta").unwrap();
            for index in 0u64..2000 {
                space.put(&index.to_be_bytes(), &[7u8; 100]).unwrap();
            }
            kv.db.flush().unwrap();
        }
        let db_file = dir.path().join("db");
        let length = std::fs::metadata(&db_file).unwrap().len() as usize;
        std::fs::write(&db_file, vec![0xA5u8; length]).unwrap();
        std::fs::write(dir.path().join("conf"), b"garbage\n").unwrap();
        let opened = Kv::open(dir.path(), &KvOptions::default());
        let error = opened.unwrap_err();
        assert!(matches!(error, KvError::Corrupt { .. }), "{error:?}");
        assert!(
            error
                .to_string()
                .contains(&dir.path().display().to_string()),
            "{error}"
        );
    }
}
