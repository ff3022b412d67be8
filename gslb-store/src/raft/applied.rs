//! Applied-index reports, the data: the routes and bodies of the calls that carry them
//! (`REPORT_APPLIED_PATH`, `APPLIED_TABLE_PATH`, `APPLIED_WAIT_PATH`), `AppliedReports`, the
//! newest report per node that each voter keeps in memory, outside Raft, and `LeaderTable`,
//! a learner's copy of the leader's table with the versions its INSYNC waiters wait for.
//! `reports` runs the task that sends them; `NodeHandle::change_status` and
//! `NodeHandle::wait_insync` compare a write's version with them.
//!
//! The long poll (`APPLIED_WAIT_PATH`): a learner that waits for INSYNC asks the leader to
//! answer its table once the lowest version waited for is INSYNC there, or after
//! `wait_ms` (at most `MAX_APPLIED_WAIT`), instead of asking every few milliseconds. One
//! poll is in flight per learner at a time (`LeaderTable::try_poll`); every waiter there
//! wakes on each table it brings, and on its own node's reports. A learner that is the only
//! DNS node still behind asks nobody: its own report ends the wait.
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
/// Route where a learner asks the leader for its table once a version is INSYNC there (a
/// long poll, `AppliedWaitBody`).
pub const APPLIED_WAIT_PATH: &str = "/raft/applied/wait";
/// The longest a long poll on `APPLIED_WAIT_PATH` is held.
pub const MAX_APPLIED_WAIT: Duration = Duration::from_secs(1);
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
    /// While it is behind `index`: the newest version whose complete staged imports it has
    /// prepared for their commit (`NodeOptions::prepared_source`); absent once caught up,
    /// so the body is what older voters accept whenever nothing is being prepared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) prepared: Option<u64>,
}

/// The body of `APPLIED_WAIT_PATH`: answer once `version` is INSYNC as the receiver judges
/// it, or after `wait_ms` (capped at `MAX_APPLIED_WAIT`), with the receiver's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AppliedWaitBody {
    /// The version waited for.
    pub(crate) version: u64,
    /// The longest the receiver holds the call, milliseconds.
    pub(crate) wait_ms: u64,
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
    /// The version through which the node prepared complete staged imports, when behind
    /// `index` (see `AppliedReportBody::prepared`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prepared: Option<u64>,
}

impl AppliedReport {
    /// The newest version the node has both applied and prepared every complete staged
    /// import of (what a staged commit waits for, `raft::import_pacing`).
    pub fn prepared_through(&self) -> u64 {
        self.prepared
            .map_or(self.index, |prepared| prepared.min(self.index))
    }
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

    /// Records `index` (and `prepared`, see `AppliedReport`) as `node`'s newest report (the
    /// newest report wins).
    pub(crate) fn record(&self, node: NodeId, index: u64, prepared: Option<u64>) {
        let moved = {
            let mut table = self.table.lock().expect("applied reports lock");
            let report = AppliedReport {
                index,
                at_ms: unix_millis(),
                prepared,
            };
            table
                .insert(node, report)
                .map(|old| (old.index, old.prepared))
                != Some((index, prepared))
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

/// A learner's copy of the leader's report table for its INSYNC waiters: the versions they
/// wait for, the newest table a long poll brought (each new one wakes them all), and the
/// right to run the one poll in flight.
pub(crate) struct LeaderTable {
    /// Versions waited for now, with how many waiters each.
    waited: Mutex<BTreeMap<u64, usize>>,
    /// The newest table fetched from the leader.
    fetched: watch::Sender<BTreeMap<NodeId, AppliedReport>>,
    /// Held by the waiter whose poll is in flight.
    polling: tokio::sync::Mutex<()>,
    /// Polls failed in a row (the backoff before the next one grows with it).
    failures: std::sync::atomic::AtomicU32,
}

/// A waiter's registration in `LeaderTable::waited`; dropping it deregisters.
pub(crate) struct Waiting<'a> {
    table: &'a LeaderTable,
    version: u64,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let mut waited = self.table.waited.lock().expect("waited lock");
        if let Some(count) = waited.get_mut(&self.version) {
            *count -= 1;
            if *count == 0 {
                waited.remove(&self.version);
            }
        }
    }
}

impl LeaderTable {
    /// No waiters, an empty table.
    pub(crate) fn new() -> LeaderTable {
        LeaderTable {
            waited: Mutex::new(BTreeMap::new()),
            fetched: watch::channel(BTreeMap::new()).0,
            polling: tokio::sync::Mutex::new(()),
            failures: std::sync::atomic::AtomicU32::new(0),
        }
    }

    /// Registers a waiter for `version` until the returned guard drops.
    pub(crate) fn wait_for(&self, version: u64) -> Waiting<'_> {
        *self
            .waited
            .lock()
            .expect("waited lock")
            .entry(version)
            .or_insert(0) += 1;
        Waiting {
            table: self,
            version,
        }
    }

    /// The lowest version any waiter waits for.
    pub(crate) fn lowest_waited(&self) -> Option<u64> {
        self.waited
            .lock()
            .expect("waited lock")
            .keys()
            .next()
            .copied()
    }

    /// The right to run the poll (held until the guard drops), unless a poll runs already.
    pub(crate) fn try_poll(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        self.polling.try_lock().ok()
    }

    /// The newest table fetched.
    pub(crate) fn latest(&self) -> BTreeMap<NodeId, AppliedReport> {
        self.fetched.borrow().clone()
    }

    /// A receiver that changes with each table fetched.
    pub(crate) fn subscribe(&self) -> watch::Receiver<BTreeMap<NodeId, AppliedReport>> {
        self.fetched.subscribe()
    }

    /// Keeps `table`, fetched just now, and wakes every waiter.
    pub(crate) fn publish(&self, table: BTreeMap<NodeId, AppliedReport>) {
        self.failures.store(0, std::sync::atomic::Ordering::Relaxed);
        self.fetched.send_replace(table);
    }

    /// Notes a failed poll; how long to wait before the next one (50 ms, doubling up to
    /// 1 s while they keep failing: a dead leader is not asked in a tight loop).
    pub(crate) fn backoff_after_failure(&self) -> Duration {
        let failed = self
            .failures
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            .min(5);
        Duration::from_millis(50 << failed).min(Duration::from_secs(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Waiters register and deregister their versions (two for one version count twice),
    /// and failed polls back off 50 ms, doubling to 1 s, until a table arrives.
    #[test]
    fn waiters_and_backoff() {
        let table = LeaderTable::new();
        let first = table.wait_for(9);
        let second = table.wait_for(7);
        let third = table.wait_for(7);
        assert_eq!(table.lowest_waited(), Some(7));
        drop(second);
        assert_eq!(table.lowest_waited(), Some(7));
        drop(third);
        assert_eq!(table.lowest_waited(), Some(9));
        drop(first);
        assert_eq!(table.lowest_waited(), None);
        let waits: Vec<u128> = (0..7)
            .map(|_| table.backoff_after_failure().as_millis())
            .collect();
        assert_eq!(waits, [50, 100, 200, 400, 800, 1000, 1000]);
        table.publish(BTreeMap::new());
        assert_eq!(table.backoff_after_failure().as_millis(), 50);
    }
}
