//! Snapshots after big writes: openraft takes one every `snapshot_every` entries, which
//! counts entries, not what they carry. A million-record zone import is some 700 entries of
//! up to 128 KiB of record sets each, far below 5,000, so without this the whole import
//! stayed in the log tail a restarted node re-applies before it answers (tens of seconds),
//! and a new learner replays it too.
//!
//! The state machine counts the record sets the entries it applies carry (`record_sets`),
//! and once `RaftSettings::snapshot_after_record_sets` (100,000 by default: about half a
//! second of log replay on this project's 2-vCPU machine) have been applied since the last
//! snapshot and no
//! import is still being staged (a snapshot in the middle of one would be taken again at
//! its end), it asks this task for one (`SnapshotWanted`). The task waits `SETTLE` first, so
//! the writes' own work (DNS nodes compile the new zone, INSYNC) is not slowed by a big
//! serialisation, then triggers it. The snapshot is built off the runtime
//! (`state_machine::SnapshotBuilder`), like every other one.

use std::time::Duration;

use gslb_model::Command;
use tokio::sync::mpsc;

use crate::raft::node::WeakNodeHandle;

/// How long after the big write the snapshot is taken.
const SETTLE: Duration = Duration::from_secs(1);

/// The state machine's side: asks for a snapshot; asking again before it was taken is one
/// request.
#[derive(Debug, Clone)]
pub(crate) struct SnapshotWanted(mpsc::Sender<()>);

impl SnapshotWanted {
    /// A request channel and the receiver `run_snapshot_trigger` serves.
    pub(crate) fn channel() -> (SnapshotWanted, mpsc::Receiver<()>) {
        let (sender, receiver) = mpsc::channel(1);
        (SnapshotWanted(sender), receiver)
    }

    /// Asks for a snapshot (a request already waiting covers this one).
    pub(crate) fn ask(&self) {
        let _ = self.0.try_send(());
    }
}

/// The record sets `command` carries: what makes its entry slow to re-apply.
pub(crate) fn record_sets(command: &Command) -> usize {
    match command {
        Command::PutZone { zone } => zone.rrsets.len(),
        Command::StageZoneRecords { rrsets, .. } => rrsets.len(),
        Command::Batch { commands } => commands.iter().map(record_sets).sum(),
        _ => 1,
    }
}

/// Serves the state machine's requests until it is dropped (the channel closes) or the
/// node is gone: waits `SETTLE`, then asks openraft for a snapshot (ignored by openraft
/// while one is being built).
pub(crate) async fn run_snapshot_trigger(node: WeakNodeHandle, mut wanted: mpsc::Receiver<()>) {
    while wanted.recv().await.is_some() {
        tokio::time::sleep(SETTLE).await;
        let Some(node) = node.upgrade() else {
            return;
        };
        tracing::info!("taking a snapshot after big writes");
        if let Err(error) = node.trigger_snapshot().await {
            tracing::warn!("snapshot after big writes not taken: {error}");
        }
    }
}
