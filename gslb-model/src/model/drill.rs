//! `Drill`: a planned, self-ending failure exercise on a region, and everything it measured.
//!
//! `StartDrill` records a drill (and, in `drain` mode, its expiring override); the leader's
//! drill supervisor (API crate) then appends what it observes with `RecordDrill` — per DNS
//! node convergence out and back, the answers per client group before, during and after,
//! guard results, a timeline — and ends it with `EndDrill` at `planned_end`, on an abort or
//! when a guard trips. Everything lives in the replicated state, so a new leader carries on
//! where the old one stopped and the report survives restarts.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::model::ident::{prefix, validate_id};
use crate::model::validation::FieldErrors;

/// Most timeline entries a drill keeps (the oldest are dropped first, never the start).
pub const TIMELINE_RETAINED: usize = 200;

/// One drill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Drill {
    /// Stable id, a slug.
    pub id: String,
    /// The region drilled.
    pub region: String,
    /// How the failure is simulated.
    pub mode: DrillMode,
    /// Leader time (unix millis) it started.
    pub started_at: u64,
    /// Leader time (unix millis) it ends by itself.
    pub planned_end: u64,
    /// Where it stands.
    pub status: DrillStatus,
    /// Who started it (a token id).
    #[serde(default)]
    pub started_by: String,
    /// The `--max-load` guard in percent of a survivor's capacity share (150 = 1.5×), if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_load_percent: Option<u32>,
    /// The GSLB records (`name TYPE`) the plan said would change; what the supervisor
    /// queries every DNS node for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub records: Vec<String>,
    /// The regions the plan said take the drilled region's clients; the `survivors_healthy`
    /// guard aborts the drill when one of them turns down.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub survivors: BTreeSet<String>,
    /// DNS nodes (Raft ids) that answered with the region just before the drill, as the
    /// node that started it saw them; their convergence out and back is measured.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub measured_nodes: BTreeSet<u64>,
    /// Leader time (unix millis) it ended, once it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<u64>,
    /// Why it ended (`expired`, `aborted by …`, the guard that tripped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_reason: Option<String>,
    /// Per DNS node id, milliseconds from start until it stopped answering with the region.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub convergence_ms: BTreeMap<u64, u64>,
    /// Per DNS node id, milliseconds from the end until it answered with the region again.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub restore_ms: BTreeMap<u64, u64>,
    /// Answers per client group and record, before, during and after.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub answers: Vec<PhaseAnswers>,
    /// Every guard evaluation that passed at start or tripped later.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub guards: Vec<GuardCheck>,
    /// What happened, oldest first (at most `TIMELINE_RETAINED`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timeline: Vec<DrillEvent>,
}

/// How a drill takes a region out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DrillMode {
    /// An expiring `drain` override.
    Drain,
    /// Probers report the region failed, exercising the health path.
    Fail,
}

/// Where a drill stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DrillStatus {
    /// In progress.
    Running,
    /// Ended at its planned end.
    Completed,
    /// Stopped early by an operator or a guard.
    Aborted,
}

/// A moment of a drill that answers are recorded for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DrillPhase {
    /// At start, before anything changed.
    Before,
    /// Once every DNS node stopped answering with the region.
    During,
    /// Once every DNS node answered with it again (or at the end, when that never came).
    After,
}

/// Which way a DNS node converged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Stopped answering with the region.
    Out,
    /// Answers with it again.
    Back,
}

/// The answers of one phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseAnswers {
    /// Which phase.
    pub phase: DrillPhase,
    /// Leader time (unix millis) they were computed.
    pub at: u64,
    /// One row per record and client group.
    pub rows: Vec<AnswerRow>,
}

/// Where one group of clients goes for one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerRow {
    /// The record, `name TYPE`.
    pub record: String,
    /// The client group (`continent EU`, `near us-east`, `198.51.100.0/24`, `unlocated`).
    pub clients: String,
    /// Share of answers per region id, in thousandths (sums to 1000 unless nothing answers).
    pub regions: BTreeMap<String, u32>,
    /// How the record stood (`healthy`, `degraded`, `all_down_open`, `all_down_closed`,
    /// `fallback`).
    pub outcome: String,
}

/// One guard evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardCheck {
    /// Leader time (unix millis).
    pub at: u64,
    /// Which guard (`survivors_healthy`, `max_load`).
    pub guard: String,
    /// Whether it tripped (and so aborted the drill).
    pub tripped: bool,
    /// What it found.
    pub detail: String,
}

/// One timeline entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrillEvent {
    /// Leader time (unix millis).
    pub at: u64,
    /// What happened, one line.
    pub text: String,
}

/// What the supervisor appends to a drill (`RecordDrill`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum DrillUpdate {
    /// A DNS node converged; the first report per node and direction wins.
    Converged {
        /// The node's Raft id.
        node: u64,
        /// Which way.
        direction: Direction,
        /// Milliseconds from the start (out) or the end (back).
        after_ms: u64,
    },
    /// The answers of a phase (replaces an earlier record of the same phase).
    Answers {
        /// The answers.
        answers: PhaseAnswers,
    },
    /// A guard evaluation.
    Guard {
        /// The result.
        check: GuardCheck,
    },
    /// A timeline note.
    Event {
        /// The entry.
        event: DrillEvent,
    },
}

impl Drill {
    /// Checks the drill on its own, reporting under `path`.
    pub fn validate(&self, path: &str, errors: &mut FieldErrors) {
        let prefix = prefix(path);
        validate_id(&format!("{prefix}id"), &self.id, errors);
        validate_id(&format!("{prefix}region"), &self.region, errors);
        if self.planned_end <= self.started_at {
            errors.push(
                format!("{prefix}planned_end"),
                format!(
                    "must be after started_at ({}), got {}",
                    self.started_at, self.planned_end
                ),
            );
        }
        if self.max_load_percent == Some(0) {
            errors.push(
                format!("{prefix}max_load_percent"),
                "must be > 0 when given (omit it for no load guard)",
            );
        }
    }

    /// Whether the drill still acts at leader time `now` (running and not past its end).
    pub fn is_active(&self, now: u64) -> bool {
        self.status == DrillStatus::Running && now < self.planned_end
    }

    /// The id of the override a `drain` drill writes.
    pub fn override_id(&self) -> String {
        format!("drill-{}", self.id)
    }

    /// Appends a timeline entry, dropping the oldest but the first when full.
    pub fn note(&mut self, at: u64, text: impl Into<String>) {
        self.timeline.push(DrillEvent {
            at,
            text: text.into(),
        });
        if self.timeline.len() > TIMELINE_RETAINED {
            self.timeline.remove(1);
        }
    }

    /// Applies one update; returns whether anything changed.
    pub fn record(&mut self, update: &DrillUpdate) -> bool {
        match update {
            DrillUpdate::Converged {
                node,
                direction,
                after_ms,
            } => {
                let (map, word) = match direction {
                    Direction::Out => (&mut self.convergence_ms, "stopped answering with"),
                    Direction::Back => (&mut self.restore_ms, "answers again with"),
                };
                if map.contains_key(node) {
                    return false;
                }
                map.insert(*node, *after_ms);
                let base = match direction {
                    Direction::Out => self.started_at,
                    Direction::Back => self.ended_at.unwrap_or(self.planned_end),
                };
                let text = format!("dns node {node} {word} {} after {after_ms} ms", self.region);
                self.note(base + after_ms, text);
                true
            }
            DrillUpdate::Answers { answers } => {
                if self.answers.iter().any(|existing| existing == answers) {
                    return false;
                }
                self.answers
                    .retain(|existing| existing.phase != answers.phase);
                self.answers.push(answers.clone());
                self.answers.sort_by_key(|existing| existing.phase);
                true
            }
            DrillUpdate::Guard { check } => {
                self.guards.push(check.clone());
                let verdict = if check.tripped { "TRIPPED" } else { "ok" };
                let text = format!("guard {} {verdict}: {}", check.guard, check.detail);
                self.note(check.at, text);
                true
            }
            DrillUpdate::Event { event } => {
                self.note(event.at, event.text.clone());
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drill() -> Drill {
        Drill {
            id: "d1".into(),
            region: "eu".into(),
            mode: DrillMode::Drain,
            started_at: 1_000,
            planned_end: 61_000,
            status: DrillStatus::Running,
            started_by: "ops".into(),
            max_load_percent: None,
            records: vec!["www.example. A".into()],
            survivors: BTreeSet::new(),
            measured_nodes: BTreeSet::new(),
            ended_at: None,
            end_reason: None,
            convergence_ms: BTreeMap::new(),
            restore_ms: BTreeMap::new(),
            answers: Vec::new(),
            guards: Vec::new(),
            timeline: Vec::new(),
        }
    }

    /// The first convergence report per node and direction wins; later ones change nothing.
    #[test]
    fn first_convergence_report_wins() {
        let mut drill = drill();
        let out = |after_ms| DrillUpdate::Converged {
            node: 4,
            direction: Direction::Out,
            after_ms,
        };
        assert!(drill.record(&out(120)));
        assert!(!drill.record(&out(300)));
        assert_eq!(drill.convergence_ms[&4], 120);
        assert_eq!(drill.timeline.len(), 1);
        assert_eq!(drill.timeline[0].at, 1_120);
    }

    /// The timeline is bounded and keeps its first entry.
    #[test]
    fn timeline_is_bounded_and_keeps_the_start() {
        let mut drill = drill();
        for index in 0..(TIMELINE_RETAINED as u64 + 50) {
            drill.note(index, format!("event {index}"));
        }
        assert_eq!(drill.timeline.len(), TIMELINE_RETAINED);
        assert_eq!(drill.timeline[0].text, "event 0");
        assert_eq!(drill.timeline[1].text, "event 51");
    }

    /// A drill is active only while running and before its planned end.
    #[test]
    fn activity_follows_status_and_end() {
        let mut drill = drill();
        assert!(drill.is_active(60_999));
        assert!(!drill.is_active(61_000));
        drill.status = DrillStatus::Aborted;
        assert!(!drill.is_active(2_000));
    }
}
