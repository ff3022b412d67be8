//! Damaged data directories: random bytes written at many seeded offsets into a stopped
//! node's files. Every outcome must be "refused with a clear error" or "answering every
//! acknowledged write" (a learner after re-syncing from the leader), never "started with
//! lost writes".
//!
//! Rounds per test: `GSLB_STORE_DAMAGE_ROUNDS` (default 12); a failing round prints its seed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use gslb_model::model::State;
use gslb_store::raft::{raft_router, spawn_node, NodeError, NodeHandle, RaftSettings};
use gslb_testkit::cluster::*;

/// Writes acknowledged before the node under test is stopped.
const WRITES: u64 = 150;

/// What does this test do: a single voter acknowledges 150 writes (snapshots and purges
/// happen along the way) and stops. Then, round after round, a pristine copy of its data
/// directory gets up to 4 KiB of random bytes written into one of its files at a seeded
/// offset, and the voter is started on it: it either refuses with an error that names the
/// damaged file and points at `gslb restore` / `gslb recover`, or its restored state (before
/// any leader exists) holds every acknowledged write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_voter_refuses_or_has_every_write() {
    init_logging();
    let root = tempfile::tempdir().unwrap();
    let settings = damage_settings();
    let nodes = start_cluster(root.path(), 1, 0, &settings).await;
    let voter = nodes.into_iter().next().unwrap();
    tracing::info!("phase: acknowledged writes");
    for index in 0..WRITES {
        write(&voter.handle, put_region(&format!("r-{index}"))).await;
    }
    let stopped = voter.stop().await;
    let pristine = root.path().join("pristine");
    copy_dir(&stopped.dir, &pristine);

    let mut outcomes = Outcomes::default();
    for round in 0..rounds() {
        let seed = 0x5eed_0000 + round;
        replace_dir(&stopped.dir, &pristine);
        let damage = corrupt(&stopped.dir, seed);
        tracing::info!(seed, %damage, "phase: start the voter on damaged storage");
        let options = options(1, &stopped.dir, "127.0.0.1:1", &settings);
        match spawn_unlocked(options).await {
            Err(error) => {
                let text = error.to_string();
                assert!(
                    text.contains("gslb restore") && text.contains("gslb recover"),
                    "seed {seed:#x} ({damage}): the error does not point at restore/recover: {text}"
                );
                assert!(
                    names_a_file_in(&text, &stopped.dir),
                    "seed {seed:#x} ({damage}): the error names no file: {text}"
                );
                outcomes.refused += 1;
            }
            Ok(node) => {
                let missing = missing_writes(&node.state());
                assert!(
                    missing.is_empty(),
                    "seed {seed:#x} ({damage}): started at version {} without acknowledged \
                     writes {missing:?}",
                    node.state().version
                );
                outcomes.intact += 1;
                node.shutdown().await;
            }
        }
    }
    eprintln!("voter: {outcomes:?}");
    assert!(
        outcomes.refused > 0,
        "no round damaged anything: the test would not notice a broken check"
    );
}

/// What does this test do: a voter and a learner; the learner applies 150 acknowledged
/// writes and stops. Round after round, a pristine copy of the learner's data directory is
/// damaged at a seeded offset and the learner restarted with `resync_damaged` while the
/// voter keeps leading: it either starts from intact storage holding every write, or moves
/// the damaged data aside and, once caught up with the leader, holds every write. A refusal
/// is allowed only with an error naming a file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_learner_resyncs_every_write() {
    init_logging();
    let root = tempfile::tempdir().unwrap();
    let settings = damage_settings();
    let mut nodes = start_cluster(root.path(), 1, 1, &settings).await;
    let learner = nodes.pop().unwrap();
    let voter = nodes.pop().unwrap();
    tracing::info!("phase: acknowledged writes");
    let mut last = 0;
    for index in 0..WRITES {
        last = write(&voter.handle, put_region(&format!("r-{index}")))
            .await
            .version;
    }
    learner
        .handle
        .wait_for_version(last, WAIT)
        .await
        .expect("the learner applied every write");
    let stopped = learner.stop().await;
    let pristine = root.path().join("pristine");
    copy_dir(&stopped.dir, &pristine);

    let mut outcomes = Outcomes::default();
    for round in 0..rounds() {
        let seed = 0x1ea2_0000 + round;
        replace_dir(&stopped.dir, &pristine);
        let damage = corrupt(&stopped.dir, seed);
        tracing::info!(seed, %damage, "phase: restart the learner on damaged storage");
        let mut options = options(stopped.id, &stopped.dir, &stopped.addr, &settings);
        options.resync_damaged = true;
        let node = match spawn_unlocked(options).await {
            Ok(node) => node,
            Err(error) => {
                let text = error.to_string();
                assert!(
                    names_a_file_in(&text, &stopped.dir),
                    "seed {seed:#x} ({damage}): the error names no file: {text}"
                );
                outcomes.refused += 1;
                continue;
            }
        };
        if node.resynced() {
            let server = serve(&node, &stopped.addr).await;
            // What the binary does before it answers: catch up with the leader.
            node.catch_up(WAIT)
                .await
                .unwrap_or_else(|error| panic!("seed {seed:#x}: no re-sync: {error}"));
            let missing = missing_writes(&node.state());
            assert!(
                missing.is_empty(),
                "seed {seed:#x} ({damage}): re-synced to version {} without {missing:?}",
                node.state().version
            );
            outcomes.resynced += 1;
            node.shutdown().await;
            server.abort();
        } else {
            // Intact: the restored state, before any leader contact, holds everything.
            let missing = missing_writes(&node.state());
            assert!(
                missing.is_empty(),
                "seed {seed:#x} ({damage}): started at version {} without {missing:?}",
                node.state().version
            );
            outcomes.intact += 1;
            node.shutdown().await;
        }
    }
    eprintln!("learner: {outcomes:?}");
    assert!(
        outcomes.resynced > 0,
        "no round needed a re-sync: the test would not notice a broken check"
    );
    voter.stop().await;
}

/// How the rounds ended.
#[derive(Debug, Default)]
struct Outcomes {
    /// Started from storage that still held every write.
    intact: u32,
    /// Refused to start, naming the file.
    refused: u32,
    /// Moved the damage aside and caught up with the leader.
    resynced: u32,
}

/// Snapshots every 40 entries, so the damage can hit the snapshot file, the log above it, or
/// the engine's metadata.
fn damage_settings() -> RaftSettings {
    RaftSettings {
        snapshot_every: 40,
        logs_kept_after_snapshot: 10,
        replication_lag_threshold: 40,
        ..fast_settings()
    }
}

fn rounds() -> u64 {
    std::env::var("GSLB_STORE_DAMAGE_ROUNDS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(12)
}

/// The acknowledged regions `state` lacks.
fn missing_writes(state: &State) -> Vec<String> {
    (0..WRITES)
        .map(|index| format!("r-{index}"))
        .filter(|id| !state.regions.contains_key(id))
        .collect()
}

/// True when `text` names `dir` or a path inside it.
fn names_a_file_in(text: &str, dir: &Path) -> bool {
    text.contains(&dir.display().to_string())
}

/// Starts a node, retrying only while a previous incarnation still holds the directory lock.
async fn spawn_unlocked(options: gslb_store::raft::NodeOptions) -> Result<NodeHandle, NodeError> {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        match spawn_node(options.clone()).await {
            Err(error)
                if error.to_string().contains("already in use")
                    && std::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            other => return other,
        }
    }
}

/// Serves `node`'s Raft routes on `addr` (where the leader knows it).
async fn serve(node: &NodeHandle, addr: &str) -> tokio::task::JoinHandle<()> {
    let listener = wait_ok(WAIT, &format!("port {addr} to be free"), || {
        tokio::net::TcpListener::bind(addr.to_string())
    })
    .await;
    let app = raft_router(node.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    })
}

/// A small deterministic generator (xorshift64*), so every round is reproducible by seed.
struct Seeded(u64);

impl Seeded {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }
}

/// Writes 1 to 4096 random bytes at a random offset of one non-empty file below `dir`;
/// returns what it did.
fn corrupt(dir: &Path, seed: u64) -> String {
    let mut random = Seeded(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut files = Vec::new();
    list_files(dir, &mut files);
    files.retain(|path| std::fs::metadata(path).is_ok_and(|meta| meta.len() > 0));
    files.sort();
    let path = files[random.below(files.len() as u64) as usize].clone();
    let mut bytes = std::fs::read(&path).unwrap();
    let offset = random.below(bytes.len() as u64) as usize;
    let count = (1 + random.below(4096) as usize).min(bytes.len() - offset);
    for byte in &mut bytes[offset..offset + count] {
        *byte = random.next() as u8;
    }
    std::fs::write(&path, &bytes).unwrap();
    let name = path
        .strip_prefix(dir)
        .unwrap_or(&path)
        .display()
        .to_string();
    format!("{count} random bytes at offset {offset} of {name}")
}

fn list_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            list_files(&path, files);
        } else {
            files.push(path);
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn replace_dir(dir: &Path, pristine: &Path) {
    if dir.exists() {
        std::fs::remove_dir_all(dir).unwrap();
    }
    copy_dir(pristine, dir);
}
