//! `Drill`: a planned, self-ending failure exercise on a region, and what it measured.
//!
//! The drill runner (API crate) writes the drill and its override, then records per-DNS-node
//! convergence; the leader ends it at `planned_end` (issue "drills").

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::ident::{prefix, validate_id};
use crate::model::validation::FieldErrors;

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
    /// Per DNS node id, milliseconds from start until it stopped answering with the region.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub convergence_ms: BTreeMap<u64, u64>,
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
    }
}
