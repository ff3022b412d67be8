//! Snapshots after big writes: entries that carry many record sets (a zone import) make a
//! node take a snapshot early, long before `snapshot_every` entries, so a restart loads that
//! snapshot instead of re-applying them; small writes alone do not.
//!
//! The threshold is `RaftSettings::snapshot_after_record_sets` (100,000 record sets by
//! default); here it is 40, and a `Batch` of region writes counts one per command.
//!
//! Below each snapshot the log keeps `logs_kept_after_snapshot` entries of at most
//! `logs_kept_after_snapshot_bytes` (`raft::log_trim`): a big entry goes with the snapshot
//! that holds it, so a learner joining later is sent the snapshot; small entries stay, so a
//! learner a few of them behind catches up from the log.

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

/// Settings of a learner that never takes a snapshot of its own in these tests: one it holds
/// was sent by the leader.
fn learner_settings() -> RaftSettings {
    RaftSettings {
        snapshot_after_record_sets: u64::MAX,
        ..settings()
    }
}

/// Starts node `id` in `dir` as a learner added through `leader`.
async fn join_learner(leader: &TestNode, id: u64, dir: &std::path::Path) -> TestNode {
    let learner = TestNode::start(id, dir, &learner_settings()).await;
    let addr = learner.addr.clone();
    wait_ok(WAIT, &format!("learner {id} to be added"), || {
        let addr = addr.clone();
        async move { leader.handle.add_learner(id, addr).await }
    })
    .await;
    learner
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

/// What does this test do: a single voter keeping at most 4,000 bytes of log below a
/// snapshot (and 10,000 entries) writes small entries, one entry of 50 region writes (~10 KB:
/// past the byte bound, and past `snapshot_after_record_sets`, so a snapshot follows) and
/// small ones again. Once the snapshot is taken the log is purged past the big entry although
/// far fewer than 10,000 entries are below it; a learner added afterwards is then sent the
/// snapshot (it takes none of its own here) and holds every write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_purged_past_a_big_snapshot_sends_a_joining_learner_the_snapshot() {
    init_logging();
    let root = tempfile::tempdir().unwrap();
    let voter_settings = RaftSettings {
        logs_kept_after_snapshot_bytes: 4000,
        ..settings()
    };
    let voter = single_voter(&root.path().join("node-1"), &voter_settings).await;
    for index in 0..5 {
        write(&voter.handle, put_region(&format!("small-{index}"))).await;
    }
    let big = write(&voter.handle, regions_batch("big", 50)).await;
    for index in 5..8 {
        write(&voter.handle, put_region(&format!("small-{index}"))).await;
    }
    wait_ok(WAIT, "the log purged past the big entry", || async {
        let metrics = voter.handle.metrics();
        match metrics.purged_index {
            Some(purged) if purged >= big.version => Ok(()),
            other => Err(format!(
                "purged up to {other:?}, big write at {}, snapshot at {:?}",
                big.version, metrics.snapshot_index
            )),
        }
    })
    .await;

    let learner = join_learner(&voter, 2, &root.path().join("node-2")).await;
    wait_state(&learner.handle, "every write on the new learner", |state| {
        has_regions(state, "big", 50) && has_regions(state, "small", 8)
    })
    .await;
    // Its metrics may name the installed snapshot a moment after its state shows it.
    learner
        .handle
        .wait_metrics(
            WAIT,
            "the learner to hold the voter's snapshot",
            |metrics| {
                metrics
                    .snapshot_index
                    .is_some_and(|index| index >= big.version)
            },
        )
        .await
        .unwrap();
    learner.stop().await;
    voter.stop().await;
}

/// What does this test do: a learner with the default byte bound behind it (4 MiB) stops
/// while the voter writes ten small entries and takes a snapshot past them. Restarted, the
/// learner gets those entries from the log: the voter purged nothing (ten small entries are
/// far below both bounds) and the learner holds no snapshot (it was sent none).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_learner_a_few_small_entries_behind_catches_up_from_the_log() {
    init_logging();
    let root = tempfile::tempdir().unwrap();
    let voter = single_voter(&root.path().join("node-1"), &settings()).await;
    let learner = join_learner(&voter, 2, &root.path().join("node-2")).await;
    write(&voter.handle, put_region("before")).await;
    wait_state(&learner.handle, "the first write on the learner", |state| {
        state.regions.contains_key("before")
    })
    .await;
    let stopped = learner.stop().await;

    let mut last = 0;
    for index in 0..10 {
        last = write(&voter.handle, put_region(&format!("small-{index}")))
            .await
            .version;
    }
    voter.handle.trigger_snapshot().await.unwrap();
    wait_ok(
        WAIT,
        "the voter's snapshot past the small writes",
        || async {
            match snapshot_index(&voter.handle) {
                Some(index) if index >= last => Ok(()),
                other => Err(format!("snapshot at {other:?}, last write at {last}")),
            }
        },
    )
    .await;
    assert_eq!(voter.handle.metrics().purged_index, None);

    let learner = stopped.restart().await;
    wait_state(
        &learner.handle,
        "the small writes on the restarted learner",
        |state| has_regions(state, "small", 10),
    )
    .await;
    assert_eq!(
        snapshot_index(&learner.handle),
        None,
        "the learner was sent a snapshot instead of ten small entries"
    );
    assert_eq!(voter.handle.metrics().purged_index, None);
    learner.stop().await;
    voter.stop().await;
}
