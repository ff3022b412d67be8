//! Applied-index reports, the data: the routes and bodies of the calls that carry them
//! (`REPORT_APPLIED_PATH`, `APPLIED_TABLE_PATH`) and `AppliedReports`, the newest report per
//! node that each voter keeps in memory, outside Raft. `reports` runs the task that sends
//! them; `NodeHandle::change_status` compares a write's version with them.
//!
//! A leaf beside `node` (which holds the table) and `reports` (which fills it from the
//! reporter): neither imports the other for these types.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::raft::NodeId;
use gslb_model::clock::unix_millis;

/// Route where a node reports its applied index to a voter.
pub const REPORT_APPLIED_PATH: &str = "/raft/applied";
/// Route where a node asks a voter for every applied-index report it holds.
pub const APPLIED_TABLE_PATH: &str = "/raft/applied/table";
/// How often a reporter repeats its applied index when nothing changes.
pub const KEEPALIVE: Duration = Duration::from_secs(1);
/// Time limit of one report or table request.
pub(crate) const REPORT_TIMEOUT: Duration = Duration::from_secs(2);

/// The body of `REPORT_APPLIED_PATH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AppliedReportBody {
    /// The reporting node.
    pub(crate) node: NodeId,
    /// The newest index it has applied (its published state's version).
    pub(crate) index: u64,
}

/// The leader's answer to a report from a node it does not list as a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ReportReply {
    /// The leader that no longer lists the reporting node.
    pub(crate) removed_by: NodeId,
}

/// One node's newest report, as the receiver holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedReport {
    /// The index the node said it has applied.
    pub index: u64,
    /// When the receiver got it (unix millis, the receiver's clock).
    pub at_ms: u64,
}

/// The reports a node received, newest per reporting node, and a watch that ticks on each.
pub(crate) struct AppliedReports {
    /// Newest report per node.
    table: Mutex<BTreeMap<NodeId, AppliedReport>>,
    /// Bumped on every report that changed an index, so waiters need not poll.
    changed: watch::Sender<u64>,
    /// The leader that answered this node's own report with "not a member", if one did.
    removed_by: Mutex<Option<NodeId>>,
}

impl AppliedReports {
    /// An empty table.
    pub(crate) fn new() -> AppliedReports {
        AppliedReports {
            table: Mutex::new(BTreeMap::new()),
            changed: watch::channel(0).0,
            removed_by: Mutex::new(None),
        }
    }

    /// The leader that says this node is no longer a member, if one does.
    pub(crate) fn removed_by(&self) -> Option<NodeId> {
        *self.removed_by.lock().expect("removed lock")
    }

    /// Notes what `target` answered to this node's (`me`) report, logging when it changes
    /// whether this node is removed.
    pub(crate) fn note_reply(&self, me: NodeId, target: NodeId, reply: Option<ReportReply>) {
        let mut removed = self.removed_by.lock().expect("removed lock");
        match (reply, *removed) {
            (Some(reply), None) => {
                tracing::error!(
                    node = me,
                    leader = reply.removed_by,
                    "removed from the cluster: leader {} no longer lists node {me} as a member; \
                     this node receives no more changes and answers from its last state \
                     until it is stopped or added again",
                    reply.removed_by
                );
                *removed = Some(reply.removed_by);
            }
            (None, Some(leader)) if leader == target => {
                tracing::info!(node = me, leader, "a member of the cluster again");
                *removed = None;
            }
            _ => {}
        }
    }

    /// Records `index` as `node`'s newest applied index (the newest report wins).
    pub(crate) fn record(&self, node: NodeId, index: u64) {
        let moved = {
            let mut table = self.table.lock().expect("applied reports lock");
            let report = AppliedReport {
                index,
                at_ms: unix_millis(),
            };
            table.insert(node, report).map(|old| old.index) != Some(index)
        };
        if moved {
            self.changed
                .send_modify(|tick| *tick = tick.wrapping_add(1));
        }
    }

    /// A copy of the table.
    pub(crate) fn table(&self) -> BTreeMap<NodeId, AppliedReport> {
        self.table.lock().expect("applied reports lock").clone()
    }

    /// A receiver that changes whenever a report moves an index.
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }
}
