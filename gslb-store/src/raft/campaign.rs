//! The campaign gate: a voter campaigns only after a majority of the voters agree that no
//! leader is alive (Raft's pre-vote, thesis §9.6, done beside openraft 0.9, which has none).
//!
//! Without it a voter cut off from the others (a partition, or no file descriptors left)
//! times out and starts elections it cannot win, raising its term each time; when it comes
//! back, that higher term reaches the healthy leader (in a vote request or an append reply)
//! and deposes it. With the gate, openraft's election timer is off (`elect(false)`) on every
//! voter, and a task turns it on only while this node has not heard from a leader for an
//! election timeout *and* a majority of the voters (itself included) say the same when asked
//! over `/raft/prevote`. A cut-off voter cannot reach a majority, so it never campaigns and
//! its term stays where the cluster's is.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::raft::node::{NodeHandle, WeakNodeHandle};
use crate::raft::NodeId;

/// The route a voter asks its peers on before it campaigns.
pub(crate) const PREVOTE_PATH: &str = "/raft/prevote";

/// A peer's answer to "may I campaign?".
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct PrevoteReply {
    /// The peer leads, or heard from a leader within the minimum election timeout.
    pub(crate) leader_alive: bool,
}

/// Runs the gate of `node` until every handle of it is gone or it stops: turns openraft's
/// elections off at once, then every `tick` decides whether this node may campaign.
pub(crate) async fn run_campaign_gate(node: WeakNodeHandle, tick: Duration) {
    let mut enabled = match node.upgrade() {
        Some(node) => {
            node.raft().runtime_config().elect(false);
            false
        }
        None => return,
    };
    loop {
        tokio::time::sleep(tick).await;
        let Some(node) = node.upgrade() else {
            return;
        };
        if node.is_stopping() {
            return;
        }
        let wanted = may_campaign(&node).await;
        if wanted != enabled {
            node.raft().runtime_config().elect(wanted);
            enabled = wanted;
            if wanted {
                tracing::info!(
                    node = node.id(),
                    "no leader alive by a majority of the voters: elections allowed"
                );
            } else {
                tracing::debug!(node = node.id(), "a leader is alive: elections off");
            }
        }
    }
}

/// Whether `node` may campaign now: it is a voter, no leader is alive as far as it knows, and
/// a majority of the voters (counting itself) agree.
async fn may_campaign(node: &NodeHandle) -> bool {
    if node.leader_alive() {
        return false;
    }
    let voters = node.voter_addrs();
    if !voters.iter().any(|(id, _)| *id == node.id()) {
        return false;
    }
    let needed = voters.len() / 2 + 1;
    let timeout = node.election_min() / 2;
    let mut asks = tokio::task::JoinSet::new();
    for (id, addr) in voters.into_iter().filter(|(id, _)| *id != node.id()) {
        let node = node.clone();
        asks.spawn(async move { ask_prevote(&node, id, &addr, timeout).await });
    }
    let mut agreeing = 1;
    while let Some(answer) = asks.join_next().await {
        if let Ok(Some(PrevoteReply {
            leader_alive: false,
        })) = answer
        {
            agreeing += 1;
        }
    }
    agreeing >= needed
}

/// Asks voter `id` at `addr` whether it sees a live leader; `None` when it cannot be asked
/// within `timeout` (which counts as not agreeing to an election).
async fn ask_prevote(
    node: &NodeHandle,
    id: NodeId,
    addr: &str,
    timeout: Duration,
) -> Option<PrevoteReply> {
    node.inner
        .client
        .post(id, addr, PREVOTE_PATH, &(), timeout)
        .await
        .ok()
}
