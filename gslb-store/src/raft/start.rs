//! `spawn_node`: opens a node (`node::open_node`) and starts its tasks, the campaign gate
//! (`campaign`), the applied-index reporter (`reports`), the snapshot trigger
//! (`snapshot_trigger`) and the log trim (`log_trim`).
//!
//! Apart from `node` so that the tasks, which drive a `NodeHandle`, and the node, which
//! they drive, do not import each other: this module knows all three, they know `node`.

use std::time::Duration;

use crate::raft::campaign::run_campaign_gate;
use crate::raft::log_trim::run_log_trim;
use crate::raft::node::{open_node, NodeError, NodeHandle, NodeOptions, WeakNodeHandle};
use crate::raft::reports::run_reporter;
use crate::raft::snapshot_trigger::settle_of;

/// Starts a node: opens its storage (refusing a locked directory, and a damaged one unless
/// `resync_damaged`), restores the state from the snapshot and the committed log, and starts
/// Raft, the campaign gate, the snapshot trigger, the log trim and (with `report_applied`) the reporter. The node then waits to
/// be contacted by a leader, or to be `initialize`d if it is the bootstrap node of a new
/// cluster.
pub async fn spawn_node(mut options: NodeOptions) -> Result<NodeHandle, NodeError> {
    let tick = Duration::from_millis(options.raft.heartbeat_ms.clamp(20, 200));
    let report_applied = options.report_applied;
    let report_source = options.report_source.take();
    let prepared_source = options.prepared_source.take();
    let kept_entries = options.raft.logs_kept_after_snapshot;
    let kept_bytes = options.raft.logs_kept_after_snapshot_bytes;
    let handle = open_node(options).await?;
    tokio::spawn(run_log_trim(handle.downgrade(), kept_entries, kept_bytes));
    let gate = tokio::spawn(run_campaign_gate(handle.downgrade(), tick));
    *handle.inner.campaign_gate.lock().expect("gate lock") = Some(gate);
    let requests = handle
        .inner
        .snapshot_requests
        .lock()
        .expect("snapshot requests lock")
        .take();
    if let Some(requests) = requests {
        tokio::spawn(run_snapshot_trigger(handle.downgrade(), requests));
    }
    if report_applied {
        let task = tokio::spawn(run_reporter(handle.clone(), report_source, prepared_source));
        *handle.inner.reporter.lock().expect("reporter lock") = Some(task);
    }
    Ok(handle)
}

/// Serves the state machine's requests until it is dropped (the channel closes) or the
/// node is gone: waits `settle_of` its id, then asks openraft for a snapshot (ignored by
/// openraft while one is being built).
async fn run_snapshot_trigger(node: WeakNodeHandle, mut wanted: tokio::sync::mpsc::Receiver<()>) {
    let Some(settle) = node.upgrade().map(|node| settle_of(node.id())) else {
        return;
    };
    while wanted.recv().await.is_some() {
        tokio::time::sleep(settle).await;
        let Some(node) = node.upgrade() else {
            return;
        };
        tracing::info!("taking a snapshot after big writes");
        if let Err(error) = node.trigger_snapshot().await {
            tracing::warn!("snapshot after big writes not taken: {error}");
        }
    }
}
