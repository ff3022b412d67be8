//! Applied-index reports: how far each DNS node has applied the log, kept in memory, outside
//! Raft.
//!
//! A DNS node's applied index is volatile telemetry, not replicated state: writing it as a
//! Raft entry (the old `Command::ReportApplied`) cost one log entry per DNS node per change
//! and tripled the entries the leader had to commit. Instead every reporting node posts
//! `{node, index}` to every voter over the authenticated Raft HTTP channel
//! (`REPORT_APPLIED_PATH`), and each receiver keeps the newest report per node in
//! `AppliedReports`. `NodeHandle::change_status` then compares a write's version with the
//! reports of the DNS members that `State.members` lists.
//!
//! Reporter, per target voter: at most one request in flight, the newest applied index
//! wins (versions applied while a request is in flight are coalesced into the next one), sent
//! on every newly applied version (by a DNS node; see "Latency") and as a keepalive every
//! `KEEPALIVE`, so a voter that
//! restarted (or a newly elected leader that never heard from a learner) knows every
//! reporting node within about a second. A failed post is retried at the next keepalive.
//!
//! What a node reports is its state's version, or, when its owner gives a source
//! (`NodeOptions::report_source`), the newest value of that: a DNS node reports the version
//! of the answer plan it installed, never more than it has applied. A node given a
//! `NodeOptions::prepared_source` (a DNS node: the state version through which it compiled
//! complete staged imports ahead of their commit) adds it while it is behind that index.
//!
//! The leader answers a report from a node its membership no longer lists with a
//! `ReportReply` naming itself (members get `null`): that is how a removed node learns it
//! was removed, though it no longer receives the log (`AppliedReports::removed_by`, shown on
//! its `/readyz` and logged once). A later `null` from that leader (the node was added again)
//! clears it. Only a leader answers so, because a follower's membership may lag.
//!
//! A learner keeps no reports of other nodes: it asks the leader for its table
//! (`APPLIED_TABLE_PATH`) when it must answer a change status, and while it waits for INSYNC
//! it holds one long poll (`APPLIED_WAIT_PATH`) that the leader answers once the version is
//! INSYNC there, so the wait ends one round trip after the last report, not at a poll tick.
//!
//! Latency: a DNS node's report leaves the moment a new plan is installed (the sender wakes
//! on the source's watch), unless the previous report to that voter is still in flight, in
//! which case the newest index follows as soon as it is answered. A node that serves no DNS
//! (a voter, a prober: its state does not list it as a DNS member, `gates_insync`) reports
//! at the keepalive only: INSYNC counts DNS members alone, so
//! its index gates nothing a client waits for (`/v1/cluster` shows it, a second old at
//! most), and posting it on every write made 15 of the 21 posts each write cost in the demo
//! (3 voters, 3 probers, 2 DNS nodes), the busiest work of a 100 writes/s load after the
//! fsyncs.
//!
//! Invariant: a report only ever says what its node has applied, so a change reported INSYNC
//! is applied on every DNS member that reported (reports are per-sender ordered: one request
//! in flight per sender and target, so a receiver never goes back to an older value from the
//! same sender process).

use std::collections::BTreeMap;
use std::time::Instant;

use tokio::sync::watch;

use crate::raft::applied::{
    AppliedReportBody, ReportReply, KEEPALIVE, REPORT_APPLIED_PATH, REPORT_TIMEOUT,
};
use crate::raft::node::NodeHandle;
use crate::raft::stages::Stage;
use crate::raft::NodeId;

/// What a reporter reports: the node's applied state, or versions given by its owner.
enum Applied {
    /// The version of each applied state.
    State(crate::watch::StateWatch),
    /// Versions the owner publishes (a DNS node's installed answer plans).
    Given(watch::Receiver<u64>),
}

impl Applied {
    /// The newest value, marked seen.
    fn current(&mut self) -> u64 {
        match self {
            Applied::State(state) => state.borrow_and_update().version,
            Applied::Given(versions) => *versions.borrow_and_update(),
        }
    }

    /// Waits for a newer value; `Err` once its sender is gone.
    async fn changed(&mut self) -> Result<(), watch::error::RecvError> {
        match self {
            Applied::State(state) => state.changed().await,
            Applied::Given(versions) => versions.changed().await,
        }
    }
}

/// What one report says: the applied index and, while behind it, the prepared version.
type Report = (u64, Option<u64>);

/// The report of `index` with `prepared` (the prepared version, if the node has a source of
/// it): the prepared version only while it is behind the index.
fn report_of(index: u64, prepared: Option<&mut watch::Receiver<u64>>) -> Report {
    let prepared = prepared
        .map(|prepared| *prepared.borrow_and_update())
        .filter(|&prepared| prepared < index);
    (index, prepared)
}

/// Runs the reporter of `node` until its source closes: keeps one sender task per current
/// voter (started and stopped as the membership changes), each posting this node's newest
/// applied index: its state's version, or the newest value of `source` when given, with
/// the newest value of `prepared` while that is behind it.
pub(crate) async fn run_reporter(
    node: NodeHandle,
    source: Option<watch::Receiver<u64>>,
    mut prepared: Option<watch::Receiver<u64>>,
) {
    let mut state = match source {
        Some(versions) => Applied::Given(versions),
        None => Applied::State(node.state_watch()),
    };
    let mut index = state.current();
    let first = report_of(index, prepared.as_mut());
    let (latest_tx, latest) = watch::channel(first);
    node.record_applied_report(node.id(), first.0, first.1);
    let mut senders: BTreeMap<(NodeId, String), tokio::task::JoinHandle<()>> = BTreeMap::new();
    let mut membership_check = tokio::time::interval(KEEPALIVE);
    membership_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            changed = state.changed() => {
                if changed.is_err() {
                    break;
                }
                index = state.current();
                publish(&node, &latest_tx, report_of(index, prepared.as_mut()));
            }
            changed = async { prepared.as_mut()?.changed().await.ok() }, if prepared.is_some() => {
                if changed.is_none() {
                    // Its owner stopped preparing: report the index alone from now on.
                    prepared = None;
                }
                publish(&node, &latest_tx, report_of(index, prepared.as_mut()));
            }
            _ = membership_check.tick() => {}
        }
        let voters = node.voter_addrs();
        senders.retain(|target, task| {
            let keep = voters.contains(target) && !task.is_finished();
            if !keep {
                task.abort();
            }
            keep
        });
        for target in voters {
            if let std::collections::btree_map::Entry::Vacant(slot) = senders.entry(target) {
                let (id, addr) = slot.key().clone();
                slot.insert(tokio::spawn(send_reports(
                    node.clone(),
                    id,
                    addr,
                    latest.clone(),
                )));
            }
        }
    }
    for task in senders.into_values() {
        task.abort();
    }
}

/// Records `report` as this node's own and hands it to the senders, only when it differs
/// from the last one: a DNS node's prepared version moves with every state it sees and is
/// left out of the report once it caught up, so most of its moves change nothing, and
/// posting those again to every voter doubled the reports at 100 writes/s.
fn publish(node: &NodeHandle, latest: &watch::Sender<Report>, report: Report) {
    if latest.send_if_modified(|current| std::mem::replace(current, report) != report) {
        node.record_applied_report(node.id(), report.0, report.1);
    }
}

/// Whether `node`'s reports gate INSYNC: its own state lists it as a member serving DNS,
/// the members `State::change_status_with` waits for. Asked before every wait, so a node
/// that becomes (or stops being) one changes pace within a keepalive.
fn gates_insync(node: &NodeHandle) -> bool {
    node.state()
        .members
        .get(&node.id())
        .is_some_and(|member| member.serves_dns())
}

/// Posts `latest` to one voter: on every change (one request at a time, the newest value
/// each time) and at least every `KEEPALIVE` when the node serves DNS (`gates_insync`),
/// only every `KEEPALIVE` otherwise.
async fn send_reports(
    node: NodeHandle,
    target: NodeId,
    addr: String,
    mut latest: watch::Receiver<Report>,
) {
    let me = node.id();
    loop {
        let (index, prepared) = *latest.borrow_and_update();
        let started = Instant::now();
        if target == me {
            node.record_applied_report(me, index, prepared);
        } else {
            let body = AppliedReportBody {
                node: me,
                index,
                prepared,
            };
            let sent: Result<Option<ReportReply>, _> = node
                .inner
                .client
                .post(target, &addr, REPORT_APPLIED_PATH, &body, REPORT_TIMEOUT)
                .await;
            node.inner
                .stages
                .observe(Stage::ReportPost, started.elapsed());
            if let Ok(reply) = &sent {
                node.inner.applied_reports.note_reply(me, target, *reply);
            }
            if let Err(error) = sent {
                tracing::debug!(node = me, target, "applied-index report failed: {error}");
                // Retry at the next keepalive, not in a tight loop against a dead peer.
                let left = KEEPALIVE.saturating_sub(started.elapsed());
                tokio::time::sleep(left).await;
                continue;
            }
        }
        if target != me && !gates_insync(&node) {
            tokio::time::sleep(KEEPALIVE).await;
            if latest.has_changed().is_err() {
                return;
            }
            continue;
        }
        // Wake on a newer index, or after `KEEPALIVE` to repeat the last one.
        if let Ok(Err(_)) = tokio::time::timeout(KEEPALIVE, latest.changed()).await {
            return;
        }
    }
}
