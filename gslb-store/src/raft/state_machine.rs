//! `StateMachine`: openraft's state machine (storage-v2). Applies committed entries with
//! `command::apply`, publishes each new `Arc<State>` on the watch channel the DNS data plane
//! follows, and keeps the newest snapshot as a file (its metadata in memory; its bytes are
//! read back when a peer needs them, never held: a million records are ~100 MB).
//!
//! Snapshot file (`snapshot.json` in the data directory): a header line of JSON
//! `{"format":"gslb-snapshot","version":2,"body_bytes":N,"body_sha256":"…"}`, then the body:
//! one line of JSON `SnapshotMeta` (last log id, membership, id), a newline, and the state
//! as `gslb_model::snapshot_codec` encodes it (JSON with the record sets in compact binary
//! blocks) — the very bytes sent to a lagging learner. The checksum covers the body's exact
//! bytes, as a backup's does (`gslb_model::backup`). Version 1 files (the state as plain
//! JSON) still load, and so do those whose first line is the metadata itself (written
//! before the header existed, unchecked); `snapshot_codec::decode` tells the two state
//! forms apart, so a learner also installs the JSON an older leader sends. It is written to
//! a temporary file, fsynced, renamed over the old one and the directory fsynced, so a crash
//! leaves either the old snapshot or the new one.
//!
//! Invariant: the state published on the watch always has `version` = the last applied index.
//! Invariant: `install_snapshot` has the snapshot on disk before it returns (openraft may purge
//! the log below it right after).

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{
    BasicNode, Entry, EntryPayload, LogId, OptionalSend, RaftSnapshotBuilder, SnapshotMeta,
    StorageError, StorageIOError, StoredMembership,
};

use crate::heap::release_free_memory;
use crate::raft::integrity::AppliedRecorder;
use crate::raft::snapshot_trigger::{record_sets, SnapshotWanted};
use crate::raft::stages::{Stage, WriteStages};
use crate::raft::{NodeId, TypeConfig};
use crate::watch::StatePublisher;
use gslb_model::clock::unix_millis;
use gslb_model::command::{self, ApplyError, CmdResult};
use gslb_model::memory::ResidentMemory;
use gslb_model::model::state::State;
use gslb_model::snapshot_codec;

/// An apply that takes this long is logged (a staged zone's commit, a big batch).
const SLOW_APPLY: Duration = Duration::from_millis(100);

/// The snapshot file's name inside the data directory.
pub const SNAPSHOT_FILE: &str = "snapshot.json";

type Meta = SnapshotMeta<NodeId, BasicNode>;
type StorageResult<T> = Result<T, StorageError<NodeId>>;

/// Why the snapshot file could not be loaded at start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("snapshot file {path}: {detail}")]
pub struct SnapshotLoadError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub detail: String,
}

/// The newest snapshot as loaded from its file: the metadata, and the encoded `State`
/// (handed over, never kept: see `SnapshotFiles`).
#[derive(Debug)]
pub(crate) struct StoredSnapshot {
    /// Its Raft metadata.
    pub(crate) meta: Meta,
    /// The encoded `State` (`snapshot_codec`).
    pub(crate) data: Vec<u8>,
}

/// Where snapshots live: one file, and the newest one's metadata in memory. The bytes are
/// not kept in memory (for a million records they are a hundred megabytes on every node,
/// wanted only when a lagging peer needs a snapshot): they are read back from the file then.
/// Writers are serialised and an older snapshot never replaces a newer one.
#[derive(Debug, Clone)]
struct SnapshotFiles {
    /// `<data dir>/snapshot.json`.
    path: PathBuf,
    /// The newest snapshot's metadata; the lock is held across the file write and read.
    current: Arc<tokio::sync::Mutex<Option<Meta>>>,
}

/// How a snapshot file is written (`SnapshotFiles::store`).
#[derive(Debug, Clone, Copy)]
enum WritePriority {
    /// At normal priority: a snapshot installed from the leader, which this node waits on.
    Now,
    /// At a lower priority: a snapshot this node built of its own state.
    Background,
}

impl SnapshotFiles {
    /// Writes `data` (the encoded `State`) as the snapshot `meta` unless a newer one is
    /// already stored, and gives `data` back. `WritePriority::Background` checksums and
    /// writes at a lower priority (a snapshot this node built, which nothing waits on).
    async fn store(
        &self,
        meta: &Meta,
        data: Vec<u8>,
        priority: WritePriority,
    ) -> StorageResult<Vec<u8>> {
        let mut current = self.current.lock().await;
        if let Some(existing) = current.as_ref() {
            if existing.last_log_id > meta.last_log_id {
                return Ok(data);
            }
        }
        let path = self.path.clone();
        let signature = meta.signature();
        let meta_json = serde_json::to_vec(meta)
            .map_err(|error| StorageIOError::write_snapshot(Some(signature.clone()), &error))?;
        let data = tokio::task::spawn_blocking(move || {
            let written = move || {
                write_atomically(&path, &meta_json, &data)
                    .map(|()| data)
                    .map_err(|error| name_no_space(&path, error))
            };
            match priority {
                WritePriority::Background => {
                    gslb_model::background::at_low_priority("snapshot-write", written)
                }
                WritePriority::Now => written(),
            }
        })
        .await
        .map_err(|error| {
            StorageIOError::write_snapshot(Some(signature.clone()), &std::io::Error::other(error))
        })?
        .map_err(|error| StorageIOError::write_snapshot(Some(signature), &error))?;
        *current = Some(meta.clone());
        Ok(data)
    }

    /// The newest snapshot, its bytes read back from the file (checked as at start) on a
    /// blocking thread.
    async fn read_current(&self) -> StorageResult<Option<Snapshot<TypeConfig>>> {
        let current = self.current.lock().await;
        let Some(meta) = current.clone() else {
            return Ok(None);
        };
        let path = self.path.clone();
        let signature = meta.signature();
        let loaded = tokio::task::spawn_blocking(move || read_snapshot_file(&path))
            .await
            .map_err(|error| {
                StorageIOError::read_snapshot(
                    Some(signature.clone()),
                    &std::io::Error::other(error),
                )
            })?
            .map_err(|error| {
                StorageIOError::read_snapshot(
                    Some(signature.clone()),
                    &std::io::Error::other(error),
                )
            })?;
        match loaded {
            Some(stored) if stored.meta.snapshot_id == meta.snapshot_id => Ok(Some(Snapshot {
                meta,
                snapshot: Box::new(Cursor::new(stored.data)),
            })),
            _ => Err(StorageIOError::read_snapshot(
                Some(signature),
                &std::io::Error::other(format!(
                    "{} no longer holds snapshot {}",
                    self.path.display(),
                    meta.snapshot_id
                )),
            )
            .into()),
        }
    }
}

/// Says `no space left on DIR` for a full file system, so the reason a node stops names the
/// place to free; other errors pass unchanged.
fn name_no_space(path: &Path, error: std::io::Error) -> std::io::Error {
    let full = matches!(error.raw_os_error(), Some(28 | 122))
        || error.kind() == std::io::ErrorKind::StorageFull;
    if !full {
        return error;
    }
    let dir = path.parent().unwrap_or(path);
    std::io::Error::new(
        std::io::ErrorKind::StorageFull,
        format!(
            "no space left on {} (writing {})",
            dir.display(),
            path.display()
        ),
    )
}

/// tmp + fsync + rename + fsync(dir). The body (metadata line, newline, state) is hashed
/// and written in its parts, never joined into one copy.
pub(crate) fn write_atomically(path: &Path, meta_json: &[u8], data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("json.tmp");
    let header = SnapshotHeader {
        format: SNAPSHOT_FORMAT.to_string(),
        version: SNAPSHOT_VERSION,
        body_bytes: (meta_json.len() + 1 + data.len()) as u64,
        body_sha256: gslb_model::backup::sha256_hex_of_parts(&[meta_json, b"\n", data]),
    };
    let header = serde_json::to_vec(&header).map_err(std::io::Error::other)?;
    {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(&header)?;
        file.write_all(b"\n")?;
        file.write_all(meta_json)?;
        file.write_all(b"\n")?;
        file.write_all(data)?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// The `format` of a snapshot file's header line.
const SNAPSHOT_FORMAT: &str = "gslb-snapshot";
/// The header version this build writes and the newest it reads: 2 since the state is
/// `snapshot_codec`'s compact form (so a build that knows only version 1, the state as
/// plain JSON, refuses the file saying it is newer instead of failing to parse it).
const SNAPSHOT_VERSION: u32 = 2;

/// The first line of a snapshot file: what follows, and its checksum.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct SnapshotHeader {
    /// Always `gslb-snapshot`.
    format: String,
    /// `SNAPSHOT_VERSION`; a newer one is refused.
    version: u32,
    /// Length of the body (everything after the header line).
    body_bytes: u64,
    /// sha256 of the body, lower-case hex.
    body_sha256: String,
}

/// The body of a snapshot file (metadata line, newline, state) after checking the header's
/// length and checksum; a file without a header (written before it existed) is all body.
fn verified_body(bytes: &[u8]) -> Result<&[u8], String> {
    let first_line_end = bytes
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(bytes.len());
    let first_line = &bytes[..first_line_end];
    let header: SnapshotHeader = match serde_json::from_slice::<serde_json::Value>(first_line) {
        Ok(value) if value.get("format").is_some() => {
            serde_json::from_value(value).map_err(|error| format!("bad header line: {error}"))?
        }
        // The metadata line of a snapshot written before headers existed.
        Ok(value) if value.get("last_log_id").is_some() => return Ok(bytes),
        Ok(_) => return Err("the first line is neither a snapshot header nor metadata".into()),
        Err(error) => return Err(format!("bad header line: {error}: the file is corrupt")),
    };
    if header.format != SNAPSHOT_FORMAT {
        return Err(format!(
            "format: expected {SNAPSHOT_FORMAT:?}, got {:?}",
            header.format
        ));
    }
    if header.version > SNAPSHOT_VERSION {
        return Err(format!(
            "version: {} is newer than this build reads ({SNAPSHOT_VERSION})",
            header.version
        ));
    }
    let body = bytes.get(first_line_end + 1..).unwrap_or_default();
    if body.len() as u64 != header.body_bytes {
        return Err(format!(
            "length mismatch: header says {} body bytes, found {}: the file is corrupt or \
             truncated",
            header.body_bytes,
            body.len()
        ));
    }
    let actual = gslb_model::backup::sha256_hex(body);
    if actual != header.body_sha256 {
        return Err(format!(
            "checksum mismatch: header says sha256 {}, body hashes to {actual}: the file is \
             corrupt",
            header.body_sha256
        ));
    }
    Ok(body)
}

/// Reads a snapshot file, if there is one: its metadata and the encoded `State`, checked
/// against the header's length and checksum.
fn read_snapshot_file(path: &Path) -> Result<Option<StoredSnapshot>, String> {
    let mut bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(format!("cannot read: {error}")),
    };
    let body_start = bytes.len() - verified_body(&bytes)?.len();
    let body = &bytes[body_start..];
    let split = body
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(|| "no newline after the metadata line".to_string())?;
    let meta: Meta =
        serde_json::from_slice(&body[..split]).map_err(|error| format!("bad metadata: {error}"))?;
    // The encoded state, moved to the front of the buffer it was read into (no second copy).
    bytes.drain(..body_start + split + 1);
    Ok(Some(StoredSnapshot { meta, data: bytes }))
}

/// Reads a snapshot file, if there is one, and parses its state (`version` = the
/// snapshot's last index).
pub(crate) fn load_snapshot(
    path: &Path,
) -> Result<Option<(StoredSnapshot, State)>, SnapshotLoadError> {
    let fail = |detail: String| SnapshotLoadError {
        path: path.to_path_buf(),
        detail,
    };
    let Some(stored) = read_snapshot_file(path).map_err(fail)? else {
        return Ok(None);
    };
    let mut state = snapshot_codec::decode(&stored.data)
        .map_err(|error| fail(format!("bad state: {error}")))?;
    state.version = stored.meta.last_log_id.map_or(0, |log_id| log_id.index);
    Ok(Some((stored, state)))
}

/// The state machine of one node.
pub struct StateMachine {
    /// The current state; shared with the watch channel, copied on write.
    state: Arc<State>,
    /// The last entry applied (or the snapshot's last entry).
    last_applied: Option<LogId<NodeId>>,
    /// The newest membership applied.
    membership: StoredMembership<NodeId, BasicNode>,
    /// Where every new state is published.
    publisher: StatePublisher,
    /// The snapshot store.
    snapshots: SnapshotFiles,
    /// Counter for unique snapshot ids within this process.
    snapshot_seq: u64,
    /// Snapshot builders alive (they outlive the state machine when Raft stops mid-build).
    builders: BuildersInFlight,
    /// Keeps `applied.json` (see `raft::integrity`) following `last_applied`.
    recorder: Arc<AppliedRecorder>,
    /// The snapshot read at open, for openraft's first `get_current_snapshot` (its start-up
    /// look at the snapshot's metadata), so that one costs no second read of the file; later
    /// requests read the file.
    opened: Option<StoredSnapshot>,
    /// Record sets carried by the entries applied since the last snapshot.
    record_sets_since_snapshot: usize,
    /// Asks for a snapshot once those are `snapshot_after_record_sets`
    /// (`raft::snapshot_trigger`).
    snapshot_wanted: SnapshotWanted,
    /// `RaftSettings::snapshot_after_record_sets`.
    snapshot_after_record_sets: usize,
    /// The node's write-path timings: each apply batch, each entry's stamp → applied.
    stages: Arc<WriteStages>,
}

/// Counts snapshot builders that may still write the snapshot file, so a stopping node can
/// wait for them before its directory is reused.
#[derive(Debug, Clone, Default)]
pub struct BuildersInFlight(Arc<AtomicUsize>);

impl BuildersInFlight {
    /// Waits until no builder is alive, up to `timeout`; returns whether that happened.
    pub async fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.0.load(Ordering::SeqCst) > 0 {
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }
}

impl StateMachine {
    /// Opens the state machine of `data_dir`: loads the snapshot file if any and publishes
    /// its state. openraft then re-applies the log up to the saved committed index.
    pub(crate) fn open(
        data_dir: &Path,
        publisher: StatePublisher,
        recorder: Arc<AppliedRecorder>,
        snapshot_wanted: SnapshotWanted,
        snapshot_after_record_sets: u64,
        stages: Arc<WriteStages>,
    ) -> Result<StateMachine, SnapshotLoadError> {
        let path = data_dir.join(SNAPSHOT_FILE);
        let started = Instant::now();
        let loaded = load_snapshot(&path)?;
        let (current, opened, state, last_applied, membership) = match loaded {
            Some((snapshot, state)) => {
                tracing::info!(
                    index = state.version,
                    bytes = snapshot.data.len(),
                    took_ms = started.elapsed().as_millis() as u64,
                    memory = %ResidentMemory::read(),
                    "start: loaded snapshot"
                );
                let last_applied = snapshot.meta.last_log_id;
                let membership = snapshot.meta.last_membership.clone();
                (
                    Some(snapshot.meta.clone()),
                    Some(snapshot),
                    state,
                    last_applied,
                    membership,
                )
            }
            None => (
                None,
                None,
                State::default(),
                None,
                StoredMembership::default(),
            ),
        };
        let state = Arc::new(state);
        publisher.send_replace(state.clone());
        Ok(StateMachine {
            state,
            last_applied,
            membership,
            publisher,
            snapshots: SnapshotFiles {
                path,
                current: Arc::new(tokio::sync::Mutex::new(current)),
            },
            opened,
            record_sets_since_snapshot: 0,
            snapshot_wanted,
            snapshot_after_record_sets: usize::try_from(snapshot_after_record_sets)
                .unwrap_or(usize::MAX),
            snapshot_seq: 0,
            builders: BuildersInFlight::default(),
            recorder,
            stages,
        })
    }

    /// The last log id of the snapshot loaded at open (`None` without one).
    pub(crate) fn snapshot_log_id(&self) -> Option<LogId<NodeId>> {
        self.last_applied
    }

    /// The counter of live snapshot builders, for shutdown.
    pub fn builders(&self) -> BuildersInFlight {
        self.builders.clone()
    }
}

/// Builds a snapshot of the state as of one applied index, off the apply path.
pub struct SnapshotBuilder {
    /// The state to serialise.
    state: Arc<State>,
    /// Its last applied entry.
    last_applied: Option<LogId<NodeId>>,
    /// Its membership.
    membership: StoredMembership<NodeId, BasicNode>,
    /// Where to store it.
    snapshots: SnapshotFiles,
    /// Unique suffix of the snapshot id.
    seq: u64,
    /// Decremented when this builder is dropped.
    builders: BuildersInFlight,
}

impl Drop for SnapshotBuilder {
    fn drop(&mut self) {
        self.builders.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> StorageResult<Snapshot<TypeConfig>> {
        // Serialising a big state takes a while: off the runtime, so the Raft core keeps
        // sending heartbeats meanwhile, and at a low priority, since nothing waits on it:
        // after a zone import every node builds one at about the same time, and at normal
        // priority those builds took the cores from the small writes that follow (appends
        // timed out past the heartbeat interval and the writes of the next seconds waited
        // hundreds of milliseconds for INSYNC).
        let state = self.state.clone();
        let started = Instant::now();
        let data = tokio::task::spawn_blocking(move || {
            gslb_model::background::at_low_priority("snapshot-build", move || {
                snapshot_codec::encode(&state)
            })
        })
        .await
        .map_err(|error| StorageIOError::read_state_machine(&std::io::Error::other(error)))?
        .map_err(|error| StorageIOError::read_state_machine(&std::io::Error::other(error)))?;
        let snapshot_id = match self.last_applied {
            Some(log_id) => format!("{}-{}-{}", log_id.leader_id, log_id.index, self.seq),
            None => format!("--{}", self.seq),
        };
        let meta = Meta {
            last_log_id: self.last_applied,
            last_membership: self.membership.clone(),
            snapshot_id,
        };
        let data = self
            .snapshots
            .store(&meta, data, WritePriority::Background)
            .await?;
        // Serialising a million record sets leaves much free memory in malloc's arenas:
        // `raft::log_trim` gives it back once the log below this snapshot is purged (one
        // trim for both; each costs the other nodes' writes a few milliseconds of CPU).
        tracing::info!(
            index = self.last_applied.map_or(0, |log_id| log_id.index),
            bytes = data.len(),
            took_ms = started.elapsed().as_millis() as u64,
            memory = %ResidentMemory::read(),
            "snapshot built"
        );
        // openraft keeps only the metadata of a snapshot it had built (0.9: the state
        // machine worker answers the core with `snapshot.meta`); the bytes go with it and
        // are freed, the file holds them.
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(
        &mut self,
    ) -> StorageResult<(Option<LogId<NodeId>>, StoredMembership<NodeId, BasicNode>)> {
        Ok((self.last_applied, self.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> StorageResult<Vec<Result<CmdResult, ApplyError>>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let entries: Vec<Entry<TypeConfig>> = entries.into_iter().collect();
        // Applying runs on a blocking thread: a zone commit validates and installs up to a
        // million record sets, which must not hold a runtime worker that the Raft core (it
        // sends the heartbeats) and the API share. The state is moved out so that
        // `Arc::make_mut` copies it only when a reader still holds the previous version,
        // and then only the top-level maps (zones are shared `Arc`s).
        let state = std::mem::take(&mut self.state);
        let membership = self.membership.clone();
        let started = Instant::now();
        let n_entries = entries.len();
        let stamps: Vec<u64> = entries
            .iter()
            .filter_map(|entry| match &entry.payload {
                EntryPayload::Normal(stamped) => Some(stamped.at),
                _ => None,
            })
            .collect();
        let applied =
            tokio::task::spawn_blocking(move || apply_entries(state, membership, entries))
                .await
                .map_err(|error| {
                    StorageIOError::apply(
                        self.last_applied.unwrap_or_default(),
                        &std::io::Error::other(error),
                    )
                })?;
        let took = started.elapsed();
        self.stages.observe(Stage::Apply, took);
        let now = unix_millis();
        for at in stamps {
            let lag = Duration::from_millis(now.saturating_sub(at));
            self.stages.observe(Stage::ProposedToApplied, lag);
        }
        if took >= SLOW_APPLY {
            tracing::info!(
                entries = n_entries,
                last = applied.last_applied.map_or(0, |log_id| log_id.index),
                took_ms = took.as_millis() as u64,
                "slow apply"
            );
        }
        self.state = applied.state;
        self.membership = applied.membership;
        if applied.last_applied.is_some() {
            self.last_applied = applied.last_applied;
        }
        self.publisher.send_replace(self.state.clone());
        self.recorder.note(self.last_applied);
        self.record_sets_since_snapshot += applied.record_sets;
        if self.record_sets_since_snapshot >= self.snapshot_after_record_sets
            && self.state.staged_imports.is_empty()
        {
            // Asked once: the snapshot, taken after this, covers everything applied so far.
            self.record_sets_since_snapshot = 0;
            self.snapshot_wanted.ask();
        }
        Ok(applied.results)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.snapshot_seq += 1;
        self.record_sets_since_snapshot = 0;
        self.builders.0.fetch_add(1, Ordering::SeqCst);
        SnapshotBuilder {
            builders: self.builders.clone(),
            state: self.state.clone(),
            last_applied: self.last_applied,
            membership: self.membership.clone(),
            snapshots: self.snapshots.clone(),
            seq: self.snapshot_seq,
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> StorageResult<Box<Cursor<Vec<u8>>>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &Meta,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> StorageResult<()> {
        let data = snapshot.into_inner();
        let started = Instant::now();
        // Parsing a big snapshot is seconds of CPU: off the runtime.
        let (data, parsed) = tokio::task::spawn_blocking(move || {
            let parsed = snapshot_codec::decode(&data);
            (data, parsed)
        })
        .await
        .map_err(|error| {
            StorageIOError::read_snapshot(Some(meta.signature()), &std::io::Error::other(error))
        })?;
        let mut state = parsed.map_err(|error| {
            StorageIOError::read_snapshot(Some(meta.signature()), &std::io::Error::other(error))
        })?;
        state.version = meta.last_log_id.map_or(0, |log_id| log_id.index);
        let data = self.snapshots.store(meta, data, WritePriority::Now).await?;
        let data_len = data.len();
        drop(data);
        tracing::info!(
            index = state.version,
            bytes = data_len,
            took_ms = started.elapsed().as_millis() as u64,
            memory = %ResidentMemory::read(),
            "snapshot installed"
        );
        self.state = Arc::new(state);
        self.last_applied = meta.last_log_id;
        self.membership = meta.last_membership.clone();
        self.record_sets_since_snapshot = 0;
        self.publisher.send_replace(self.state.clone());
        self.recorder.note(self.last_applied);
        // The snapshot's bytes and the parse's garbage: give them back.
        let _ = tokio::task::spawn_blocking(release_free_memory).await;
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> StorageResult<Option<Snapshot<TypeConfig>>> {
        if let Some(opened) = self.opened.take() {
            let newest = self.snapshots.current.lock().await.clone();
            if newest.is_some_and(|meta| meta.snapshot_id == opened.meta.snapshot_id) {
                return Ok(Some(Snapshot {
                    meta: opened.meta,
                    snapshot: Box::new(Cursor::new(opened.data)),
                }));
            }
        }
        self.snapshots.read_current().await
    }
}

/// What `apply_entries` produced for one batch of entries.
struct Applied {
    /// The state after the last entry.
    state: Arc<State>,
    /// The newest membership.
    membership: StoredMembership<NodeId, BasicNode>,
    /// The last entry applied (`None` for an empty batch).
    last_applied: Option<LogId<NodeId>>,
    /// One result per entry.
    results: Vec<Result<CmdResult, ApplyError>>,
    /// Record sets the entries carried (`snapshot_trigger::record_sets`).
    record_sets: usize,
}

/// Applies `entries` in order to `state` (copied on write): `command::apply` for normal
/// entries; every entry, applied or rejected, consumes its index (version = applied index).
fn apply_entries(
    mut state: Arc<State>,
    mut membership: StoredMembership<NodeId, BasicNode>,
    entries: Vec<Entry<TypeConfig>>,
) -> Applied {
    let mut results = Vec::with_capacity(entries.len());
    let mut last_applied = None;
    let mut carried = 0;
    let writable = Arc::make_mut(&mut state);
    for entry in entries {
        let index = entry.log_id.index;
        let result = match entry.payload {
            EntryPayload::Blank => Ok(CmdResult {
                version: index,
                changed: false,
                members: Vec::new(),
            }),
            EntryPayload::Normal(ref stamped) => {
                carried += record_sets(&stamped.command);
                let result = command::apply(writable, stamped, index);
                match &result {
                    Ok(_) => tracing::debug!(index, command = %stamped.command, "applied"),
                    Err(error) => tracing::info!(
                        index,
                        command = %stamped.command,
                        who = %stamped.actor.who,
                        "rejected at apply: {error}"
                    ),
                }
                result
            }
            EntryPayload::Membership(ref changed) => {
                membership = StoredMembership::new(Some(entry.log_id), changed.clone());
                Ok(CmdResult {
                    version: index,
                    changed: true,
                    members: Vec::new(),
                })
            }
        };
        writable.version = index;
        last_applied = Some(entry.log_id);
        results.push(result);
    }
    Applied {
        state,
        membership,
        last_applied,
        results,
        record_sets: carried,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openraft::CommittedLeaderId;

    /// A snapshot file's path, metadata line and state: one region named `eu-west`, at
    /// index 7.
    fn sample_files(dir: &Path) -> (PathBuf, Vec<u8>, State) {
        let mut state = State::default();
        let command = gslb_model::command::StampedCommand {
            at: 1,
            actor: gslb_model::model::audit::Actor::new("test"),
            command: gslb_model::Command::PutRegion {
                region: gslb_model::model::Region {
                    id: "eu-west".to_string(),
                    location: gslb_model::model::Location {
                        lat_micro: 50_110_000,
                        lon_micro: 8_680_000,
                        country: "DE".to_string(),
                        continent: "EU".to_string(),
                    },
                    capacity: Some(4),
                    min_healthy: None,
                },
            },
        };
        command::apply(&mut state, &command, 7).unwrap();
        let meta = Meta {
            last_log_id: Some(LogId::new(CommittedLeaderId::new(2, 1), 7)),
            last_membership: StoredMembership::default(),
            snapshot_id: "2-7-1".to_string(),
        };
        let meta_json = serde_json::to_vec(&meta).unwrap();
        (dir.join(SNAPSHOT_FILE), meta_json, state)
    }

    #[test]
    fn a_written_snapshot_loads_with_its_state() {
        let dir = tempfile::tempdir().unwrap();
        let (path, meta_json, written) = sample_files(dir.path());
        let data = snapshot_codec::encode(&written).unwrap();
        write_atomically(&path, &meta_json, &data).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            bytes.starts_with(b"{\"format\":\"gslb-snapshot\",\"version\":2,"),
            "{}",
            String::from_utf8_lossy(&bytes)
        );
        let (snapshot, state) = load_snapshot(&path).unwrap().unwrap();
        assert_eq!(state.version, 7);
        assert!(state.regions.contains_key("eu-west"));
        assert!(snapshot_codec::is_compact(&snapshot.data));
        assert_eq!(snapshot.data.as_slice(), data.as_slice());
    }

    /// A file as the previous build wrote it (header version 1, the state as plain JSON)
    /// loads to the same state as the compact one.
    #[test]
    fn a_version_1_snapshot_of_plain_json_still_loads() {
        let dir = tempfile::tempdir().unwrap();
        let (path, meta_json, written) = sample_files(dir.path());
        let data = serde_json::to_vec(&written).unwrap();
        let body = [meta_json.as_slice(), b"\n", data.as_slice()].concat();
        let header = format!(
            "{{\"format\":\"gslb-snapshot\",\"version\":1,\"body_bytes\":{},\"body_sha256\":\"{}\"}}\n",
            body.len(),
            gslb_model::backup::sha256_hex(&body)
        );
        std::fs::write(&path, [header.as_bytes(), body.as_slice()].concat()).unwrap();
        let (snapshot, state) = load_snapshot(&path).unwrap().unwrap();
        assert_eq!(snapshot.data, data);
        let mut expected = written;
        expected.version = 7;
        assert_eq!(state, expected);
    }

    /// A learner installs a snapshot a leader sent in either form (compact, or the plain
    /// JSON an older leader sends), publishes its state, and opens again from the file it
    /// kept.
    #[tokio::test]
    async fn a_sent_snapshot_of_either_form_installs_and_reopens() {
        use crate::kv::{Kv, KvOptions};
        use crate::raft::log_store::LogStore;
        for compact in [true, false] {
            let dir = tempfile::tempdir().unwrap();
            let (_, meta_json, written) = sample_files(dir.path());
            let meta: Meta = serde_json::from_slice(&meta_json).unwrap();
            let data = if compact {
                snapshot_codec::encode(&written).unwrap()
            } else {
                serde_json::to_vec(&written).unwrap()
            };
            // Each open its own log store (the first one's may still hold its lock): only
            // the snapshot file matters here.
            let open = |kv: &str| {
                let log_store =
                    LogStore::open(Kv::open(&dir.path().join(kv), &KvOptions::default()).unwrap())
                        .unwrap();
                let recorder = AppliedRecorder::spawn(dir.path(), None, log_store.flush_handle());
                let (publisher, watch) = crate::watch::state_channel(State::default());
                let (wanted, _requests) = SnapshotWanted::channel();
                let machine = StateMachine::open(
                    dir.path(),
                    publisher,
                    recorder,
                    wanted,
                    100_000,
                    Arc::new(WriteStages::default()),
                )
                .unwrap();
                (machine, watch, log_store)
            };
            let (mut machine, watch, log_store) = open("kv-1");
            machine
                .install_snapshot(&meta, Box::new(Cursor::new(data)))
                .await
                .unwrap();
            let mut expected = written.clone();
            expected.version = 7;
            assert_eq!(*watch.borrow().clone(), expected, "compact: {compact}");
            drop((machine, log_store));
            let (_machine, watch, _log_store) = open("kv-2");
            assert_eq!(*watch.borrow().clone(), expected, "compact: {compact}");
        }
    }

    /// A file written before the header existed (metadata line first, plain JSON) still
    /// loads.
    #[test]
    fn a_snapshot_without_a_header_still_loads() {
        let dir = tempfile::tempdir().unwrap();
        let (path, meta_json, written) = sample_files(dir.path());
        let data = serde_json::to_vec(&written).unwrap();
        let mut old = meta_json.clone();
        old.push(b'\n');
        old.extend_from_slice(&data);
        std::fs::write(&path, old).unwrap();
        let (_, state) = load_snapshot(&path).unwrap().unwrap();
        assert!(state.regions.contains_key("eu-west"));
    }

    /// An edit that keeps the JSON valid (the "edited address") is caught by the
    /// checksum, and so is any single changed byte; each error names the file.
    #[test]
    fn a_changed_byte_anywhere_is_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let (path, meta_json, written) = sample_files(dir.path());
        let data = snapshot_codec::encode(&written).unwrap();
        write_atomically(&path, &meta_json, &data).unwrap();
        let good = std::fs::read(&path).unwrap();
        let at = good
            .windows(4)
            .position(|window| window == b"\"DE\"")
            .expect("the region's country in the skeleton");
        let mut edited = good.clone();
        edited[at + 1..at + 3].copy_from_slice(b"FR");
        std::fs::write(&path, &edited).unwrap();
        let error = load_snapshot(&path).unwrap_err().to_string();
        assert!(error.contains("checksum mismatch"), "{error}");
        assert!(error.contains(&path.display().to_string()), "{error}");
        for offset in (0..good.len()).step_by(7) {
            let mut bad = good.clone();
            bad[offset] ^= 0x20;
            std::fs::write(&path, &bad).unwrap();
            let result = load_snapshot(&path);
            assert!(result.is_err(), "a flipped bit at {offset} was accepted");
        }
        std::fs::write(&path, &good[..good.len() - 3]).unwrap();
        let error = load_snapshot(&path).unwrap_err().to_string();
        assert!(error.contains("length mismatch"), "{error}");
    }
}
