//! Pacing a staged zone import by the DNS nodes, on the leader.
//!
//! Every node applies every `StageZoneRecords` chunk (decode, checks, append), and a DNS
//! learner runs behind the leader: if the leader took new chunks as soon as it applied its
//! own copy, a learner on a loaded machine would fall several chunks behind, and a small
//! write arriving meanwhile would wait behind all of them before its INSYNC. So a chunk's
//! turn (`STAGED_CHUNKS_ADMITTED` in `node`) is released only once every DNS member that
//! reports has reported the chunk's version (`wait_for_dns_nodes`): no DNS node has more
//! than the admitted chunks queued ahead of a small write.
//!
//! The commit (`CommitStagedZone`) is held the same way until every DNS member has
//! *prepared* the complete staging (compiled the staged zone ahead: `gslb_dns::prepare`, its
//! report's `prepared`), so the commit swaps in a plan built earlier instead of holding every
//! later write behind a whole-zone compile.
//!
//! Neither wait may stall an import: each is bounded (`CHUNK_SPREAD_WAIT`,
//! `PREPARE_WAIT`), after which the leader goes on as if they had answered (a chunk turn
//! then is released on the leader's own apply, as before); a DNS member whose last report is
//! older than `REPORT_STALE_MS` (reports come every second, `applied::KEEPALIVE`) is taken
//! for dead and not waited for at all, and one that never reported is not waited for either.
//!
//! Invariant: nothing here decides what is written or reported INSYNC; it only delays the
//! leader's next staged write.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gslb_model::clock::unix_millis;
use gslb_model::model::State;

use crate::raft::applied::{AppliedReport, AppliedReports};
use crate::raft::NodeId;

/// The longest a staged chunk's turn waits for the DNS nodes after the leader applied it.
pub const CHUNK_SPREAD_WAIT: Duration = Duration::from_secs(1);
/// The longest a staged commit waits for the DNS nodes to prepare the staged zone (a whole
/// compile of a million names takes ~0.4 s on a loaded 2-CPU machine).
pub const PREPARE_WAIT: Duration = Duration::from_secs(3);
/// A DNS member whose newest report is older than this (leader's clock) is not waited for.
pub const REPORT_STALE_MS: u64 = 3_000;

/// Which figure of a report a wait compares with the version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reached {
    /// The applied index (the DNS node's installed plan).
    Applied,
    /// The version through which complete staged imports were prepared.
    Prepared,
}

impl Reached {
    fn of(self, report: &AppliedReport) -> u64 {
        match self {
            Reached::Applied => report.index,
            Reached::Prepared => report.prepared_through(),
        }
    }
}

/// The DNS members of `state` still to be waited for before `version` has `reached` them:
/// those that reported within `REPORT_STALE_MS` of `now_ms` and whose report is behind.
/// Members that never reported, or went silent, are left out (not waited for).
pub fn dns_nodes_behind(
    state: &State,
    reports: &BTreeMap<NodeId, AppliedReport>,
    version: u64,
    reached: Reached,
    now_ms: u64,
) -> Vec<NodeId> {
    state
        .members
        .values()
        .filter(|member| member.serves_dns())
        .filter_map(|member| {
            let report = reports.get(&member.id)?;
            let fresh = now_ms.saturating_sub(report.at_ms) <= REPORT_STALE_MS;
            (fresh && reached.of(report) < version).then_some(member.id)
        })
        .collect()
}

/// Waits (on the leader: `reports` is its own table, `state` gives its newest state) until
/// every DNS member that reports has `reached` `version`, or `wait` passed; the members
/// still behind then (empty when none). Wakes on each report.
pub(crate) async fn wait_for_dns_nodes(
    reports: &AppliedReports,
    state: impl Fn() -> Arc<State>,
    version: u64,
    reached: Reached,
    wait: Duration,
) -> Vec<NodeId> {
    let deadline = Instant::now() + wait;
    let mut changed = reports.subscribe();
    loop {
        let behind = dns_nodes_behind(&state(), &reports.table(), version, reached, unix_millis());
        let left = deadline.saturating_duration_since(Instant::now());
        if behind.is_empty() || left.is_zero() {
            return behind;
        }
        // A member going silent changes no report: look again at least every 250 ms.
        let _ = tokio::time::timeout(left.min(Duration::from_millis(250)), changed.changed()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gslb_model::model::{Member, NodeRole, RaftRole};
    use std::collections::BTreeSet;

    fn state_with(members: &[(u64, NodeRole)]) -> State {
        let mut state = State::default();
        for (id, role) in members {
            state.members.insert(
                *id,
                Member {
                    id: *id,
                    addr: format!("127.0.0.1:{id}"),
                    dns_addr: None,
                    region: None,
                    raft_role: RaftRole::Learner,
                    roles: BTreeSet::from([*role]),
                    applied_index: 0,
                    reported_at: 0,
                },
            );
        }
        state
    }

    fn report(index: u64, at_ms: u64, prepared: Option<u64>) -> AppliedReport {
        AppliedReport {
            index,
            at_ms,
            prepared,
        }
    }

    /// Only DNS members that reported lately and are behind are waited for; the prepared
    /// figure counts only while it is behind the applied index.
    #[test]
    fn only_live_dns_members_behind_are_waited_for() {
        let state = state_with(&[
            (4, NodeRole::Dns),
            (5, NodeRole::Dns),
            (6, NodeRole::Prober),
        ]);
        let now = 100_000;
        let mut reports = BTreeMap::from([
            (4, report(10, now - 100, None)),
            (5, report(12, now - 100, Some(9))),
            (6, report(1, now, None)),
        ]);
        assert_eq!(
            dns_nodes_behind(&state, &reports, 11, Reached::Applied, now),
            vec![4]
        );
        assert_eq!(
            dns_nodes_behind(&state, &reports, 10, Reached::Applied, now),
            Vec::<u64>::new()
        );
        assert_eq!(
            dns_nodes_behind(&state, &reports, 10, Reached::Prepared, now),
            vec![5]
        );
        // Silent for longer than the staleness limit: taken for dead.
        reports.insert(4, report(10, now - REPORT_STALE_MS - 1, None));
        assert_eq!(
            dns_nodes_behind(&state, &reports, 11, Reached::Applied, now),
            Vec::<u64>::new()
        );
        // Never reported: not waited for.
        reports.remove(&5);
        assert_eq!(
            dns_nodes_behind(&state, &reports, 13, Reached::Prepared, now),
            Vec::<u64>::new()
        );
    }
}
