//! Disk stays bounded under a long stream of writes: snapshots are taken every
//! `snapshot_every` entries and the log below them is purged. Writes that arrive together
//! share an entry (group commit), so progress is counted in acknowledged writes.
//!
//! The default run writes 20,000 commands (about a minute on two shared cores); set
//! `GSLB_STORE_SOAK_WRITES=100000` for the full soak.

use std::sync::Arc;

use gslb_model::model::Actor;
use gslb_store::raft::RaftSettings;
use gslb_testkit::cluster::*;

/// What does this test do: a single voter takes a long stream of writes (bounded key space,
/// 16 writers in parallel); the Raft log never holds much more than one snapshot interval,
/// and the storage directory stops growing once the first few snapshots are taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_writes_keep_disk_bounded() {
    init_logging();
    let total: u64 = std::env::var("GSLB_STORE_SOAK_WRITES")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(20_000);
    let settings = RaftSettings {
        // Small enough that even 16 writes per entry (one per writer) make four snapshots.
        snapshot_every: 250,
        logs_kept_after_snapshot: 125,
        replication_lag_threshold: 1000,
        ..fast_settings()
    };
    let root = tempfile::tempdir().unwrap();
    let nodes = start_cluster(root.path(), 1, 0, &settings).await;
    let node = nodes[0].handle.clone();

    const WRITERS: u64 = 16;
    let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
    // Writes acknowledged; with group commit several share a log entry, so progress is
    // counted in writes and the log in entries.
    let done = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut peak_log_len = 0u64;
    let mut sizes = Vec::new();
    let mut checkpoint = total / 10;
    let mut writers = Vec::new();
    for _ in 0..WRITERS {
        let node = node.clone();
        let next = next.clone();
        let done = done.clone();
        writers.push(tokio::spawn(async move {
            loop {
                let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if index >= total {
                    return;
                }
                // A bounded key space: the state stays small, only the log would grow.
                let id = format!("r-{}", index % 200);
                let mut region = region(&id);
                region.capacity = Some((index % 1000 + 1) as u32);
                node.write(
                    gslb_model::Command::PutRegion { region },
                    Actor::new("soak"),
                )
                .await
                .unwrap();
                done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }));
    }
    while writers.iter().any(|writer| !writer.is_finished()) {
        let deadline = std::time::Instant::now() + WAIT;
        while done.load(std::sync::atomic::Ordering::Relaxed) < checkpoint.min(total) {
            assert!(
                std::time::Instant::now() < deadline,
                "no progress for {WAIT:?}: {} writes acknowledged; {:?}",
                done.load(std::sync::atomic::Ordering::Relaxed),
                node.metrics()
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let metrics = node.metrics();
        let log_len = metrics.last_log_index - metrics.purged_index.unwrap_or(0);
        peak_log_len = peak_log_len.max(log_len);
        let dir_bytes = dir_size(root.path());
        let storage_bytes = node.storage_bytes();
        sizes.push((metrics.applied_index, storage_bytes, dir_bytes));
        tracing::info!(
            applied = metrics.applied_index,
            log_len,
            bytes = storage_bytes,
            dir_bytes,
            "phase: checkpoint"
        );
        if checkpoint >= total {
            break;
        }
        checkpoint += total / 10;
    }
    for writer in writers {
        writer.await.unwrap();
    }
    let metrics = node.metrics();
    eprintln!(
        "(applied index, engine bytes, directory bytes): {sizes:?}; peak log length {peak_log_len}"
    );
    assert_eq!(done.load(std::sync::atomic::Ordering::Relaxed), total);
    // Enough entries for several snapshots and purges, or the bound proves nothing.
    assert!(
        metrics.applied_index >= 4 * 250,
        "only {} log entries for {total} writes: too few snapshots to judge the bound",
        metrics.applied_index
    );
    // A snapshot every 250 entries, 125 kept below it, plus what arrives while a snapshot is
    // being built.
    assert!(peak_log_len < 4 * 250, "log grew to {peak_log_len} entries");
    let (_, _, last_dir_bytes) = *sizes.last().unwrap();
    assert!(
        last_dir_bytes < 64 * 1024 * 1024,
        "the data directory grew to {last_dir_bytes} bytes after {total} writes"
    );
    // Bounded, not merely small: the second half of the run adds no more than a couple of
    // sled segments' worth over the first half.
    let (_, _, middle_dir_bytes) = sizes[sizes.len() / 2];
    assert!(
        last_dir_bytes <= middle_dir_bytes + 8 * 1024 * 1024,
        "the data directory kept growing: {middle_dir_bytes} -> {last_dir_bytes} bytes"
    );
    for node in nodes {
        node.stop().await;
    }
}

/// Bytes of every file below `dir`.
fn dir_size(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        match entry.metadata() {
            Ok(metadata) if metadata.is_dir() => total += dir_size(&path),
            Ok(metadata) => total += metadata.len(),
            Err(_) => {}
        }
    }
    total
}
