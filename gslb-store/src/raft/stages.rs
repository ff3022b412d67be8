//! `WriteStages`: where a write's milliseconds go on this node, one latency histogram per
//! step of the write path, from a client's request to INSYNC.
//!
//! Each step is timed where it happens (`Stage` names them and says where), on whichever
//! node runs it: a learner times its forward to the leader, the leader its group wait and
//! commit, every node its log fsyncs and applies. `/metrics` exports the histograms as
//! `gslb_write_stage_seconds{stage="…"}`; `benches/stages.py` reads them from every node
//! before and after a benchmark and prints p50/p99 per step (docs/perf.md).
//!
//! Recording is a few relaxed atomic adds (`gslb_model::latency::LatencyHistogram`: no
//! lock, no allocation), cheap enough for every write.

use std::time::Duration;

use gslb_model::latency::{LatencyHistogram, LatencySnapshot};

/// One step of the write path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// A follower or learner: one batch forwarded to the leader, sent → answered.
    Forward,
    /// The leader: a validated write queued → its group proposed.
    GroupWait,
    /// The leader: a group proposed → committed and applied on the leader (its log fsync,
    /// the followers' fsyncs, the committed pointer, the apply).
    Commit,
    /// Every node: one fsync of the Raft log (shared by every append waiting for it).
    LogFlush,
    /// Every node: the committed pointer saved inside the Raft core, before entries apply.
    CommittedSave,
    /// Every node: one batch of committed entries applied to the state.
    Apply,
    /// Every node: an entry's leader stamp → applied here (the hosts' clocks, millisecond
    /// stamps: on one machine, the leader's propose to this node's apply).
    ProposedToApplied,
    /// A follower or learner: a forwarded write answered → this node's state has it.
    ReadYourWrite,
    /// A reporting node: one applied-index report posted to a voter, sent → answered.
    ReportPost,
    /// A learner: one ask of the leader's report table (a long poll), sent → answered.
    InsyncFetch,
    /// The node a client waits on: `wait_insync` called → INSYNC seen.
    InsyncWait,
}

impl Stage {
    /// Every stage, in the order of the write path.
    pub const ALL: [Stage; 11] = [
        Stage::Forward,
        Stage::GroupWait,
        Stage::Commit,
        Stage::LogFlush,
        Stage::CommittedSave,
        Stage::Apply,
        Stage::ProposedToApplied,
        Stage::ReadYourWrite,
        Stage::ReportPost,
        Stage::InsyncFetch,
        Stage::InsyncWait,
    ];

    /// The label value on `/metrics`.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Forward => "forward",
            Stage::GroupWait => "group_wait",
            Stage::Commit => "commit",
            Stage::LogFlush => "log_flush",
            Stage::CommittedSave => "committed_save",
            Stage::Apply => "apply",
            Stage::ProposedToApplied => "proposed_to_applied",
            Stage::ReadYourWrite => "read_your_write",
            Stage::ReportPost => "report_post",
            Stage::InsyncFetch => "insync_fetch",
            Stage::InsyncWait => "insync_wait",
        }
    }
}

/// One stage's histogram as a scrape reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageSnapshot {
    /// The stage.
    pub stage: Stage,
    /// Its histogram.
    pub latency: LatencySnapshot,
}

/// The histograms of every stage on one node.
#[derive(Debug, Default)]
pub struct WriteStages {
    stages: [LatencyHistogram; Stage::ALL.len()],
}

impl WriteStages {
    /// Records that `stage` took `took` once.
    pub fn observe(&self, stage: Stage, took: Duration) {
        self.stages[stage as usize].observe(took);
    }

    /// Every stage's histogram, in `Stage::ALL` order (stages never observed included).
    pub fn snapshot(&self) -> Vec<StageSnapshot> {
        Stage::ALL
            .iter()
            .map(|&stage| StageSnapshot {
                stage,
                latency: self.stages[stage as usize].snapshot(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each stage keeps its own histogram, every stage is in the snapshot in order, and the
    /// label names are distinct.
    #[test]
    fn stages_keep_their_own_histograms() {
        let stages = WriteStages::default();
        stages.observe(Stage::Commit, Duration::from_millis(3));
        stages.observe(Stage::Commit, Duration::from_millis(4));
        stages.observe(Stage::Apply, Duration::from_micros(10));
        let snapshot = stages.snapshot();
        assert_eq!(snapshot.len(), Stage::ALL.len());
        for (taken, stage) in snapshot.iter().zip(Stage::ALL) {
            assert_eq!(taken.stage, stage);
            let expected = match stage {
                Stage::Commit => 2,
                Stage::Apply => 1,
                _ => 0,
            };
            assert_eq!(taken.latency.count, expected, "{}", stage.name());
        }
        let names: std::collections::BTreeSet<_> = Stage::ALL.iter().map(|s| s.name()).collect();
        assert_eq!(names.len(), Stage::ALL.len());
    }
}
