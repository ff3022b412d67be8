//! Snapshots after big writes: entries that carry many record sets (a zone import) make a
//! node take a snapshot early, long before `snapshot_every` entries, so a restart loads that
//! snapshot instead of re-applying them; small writes alone do not.
//!
//! The threshold is `RaftSettings::snapshot_after_record_sets` (100,000 record sets by
//! default); here it is 40, and a `Batch` of region writes counts one per command.

use gslb_model::{Command, State};
use gslb_store::raft::{NodeHandle, RaftSettings};
use gslb_testkit::cluster::*;

/// A write of `n` regions in one entry, named `{prefix}-0` ...
fn regions_batch(prefix: &str, n: usize) -> Command {
    Command::Batch {
        commands: (0..n)
            .map(|index| put_region(&format!("{prefix}-{index}")))
            .collect(),
    }
}

fn settings() -> RaftSettings {
    RaftSettings {
        snapshot_every: 5000,
        replication_lag_threshold: 5000,
        snapshot_after_record_sets: 40,
        ..fast_settings()
    }
}

fn snapshot_index(node: &NodeHandle) -> Option<u64> {
    node.metrics().snapshot_index
}

fn has_regions(state: &State, prefix: &str, n: usize) -> bool {
    (0..n).all(|index| state.regions.contains_key(&format!("{prefix}-{index}")))
}

/// What does this test do: a single voter writes 10 small entries (no snapshot: far below
/// both thresholds), then one entry carrying 50 region writes (past the 40 record sets of
/// `snapshot_after_record_sets`): a snapshot at or after that entry follows within the wait,
/// with `snapshot_every` at 5000. Restarted, the node loads it and holds every write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_big_write_is_followed_by_a_snapshot_that_a_restart_loads() {
    init_logging();
    let root = tempfile::tempdir().unwrap();
    let node = single_voter(&root.path().join("node-1"), &settings()).await;

    for index in 0..10 {
        write(&node.handle, put_region(&format!("small-{index}"))).await;
    }
    // The trigger waits a second after the write that asks; give it three.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(
        snapshot_index(&node.handle),
        None,
        "small writes alone took a snapshot"
    );

    let big = write(&node.handle, regions_batch("big", 50)).await;
    wait_ok(WAIT, "a snapshot after the big write", || async {
        match snapshot_index(&node.handle) {
            Some(index) if index >= big.version => Ok(()),
            other => Err(format!(
                "snapshot at {other:?}, big write at {}",
                big.version
            )),
        }
    })
    .await;
    assert!(node.dir.join("snapshot.json").exists());

    let stopped = node.stop().await;
    let node = stopped.restart().await;
    let restored = node.handle.state();
    assert!(restored.version >= big.version, "{}", restored.version);
    assert!(has_regions(&restored, "big", 50));
    assert!(has_regions(&restored, "small", 10));
    node.stop().await;
}
