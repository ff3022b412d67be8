//! Overrides and drills on the wire: `OverrideDto` (an operator's decision that beats health
//! until it expires) and `DrillDto` (read-only here; the drill runner writes them).

use std::collections::BTreeMap;

use gslb_store::model::{
    Drill, DrillMode, DrillStatus, FieldErrors, Override, OverrideAction, OverrideTarget,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What an override does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OverrideActionDto {
    /// Stop sending new clients there.
    Drain,
    /// Treat as down whatever health says.
    ForceDown,
    /// Treat as up whatever health says.
    ForceUp,
}

/// One override, on a region or an endpoint (exactly one of the two).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideDto {
    /// Stable id, a slug.
    #[schema(pattern = r"^[a-z0-9][a-z0-9._-]{0,62}$")]
    pub id: String,
    /// The region it applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The endpoint it applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// What it does.
    pub action: OverrideActionDto,
    /// Why (audit log, explanations); not blank.
    pub reason: String,
    /// Unix millis it stops having effect; absent = until deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    /// The drill that created it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drill: Option<String>,
}

impl OverrideDto {
    /// Converts to the model; the target is checked here, the rest by the store.
    pub fn to_model(&self, path: &str) -> Result<Override, FieldErrors> {
        let prefix = if path.is_empty() {
            String::new()
        } else {
            format!("{path}.")
        };
        let target = match (&self.region, &self.endpoint) {
            (Some(region), None) => OverrideTarget::Region(region.clone()),
            (None, Some(endpoint)) => OverrideTarget::Endpoint(endpoint.clone()),
            _ => {
                let mut errors = FieldErrors::default();
                errors.push(
                    format!("{prefix}region"),
                    "give exactly one of region and endpoint",
                );
                return Err(errors);
            }
        };
        Ok(Override {
            id: self.id.clone(),
            target,
            action: match self.action {
                OverrideActionDto::Drain => OverrideAction::Drain,
                OverrideActionDto::ForceDown => OverrideAction::ForceDown,
                OverrideActionDto::ForceUp => OverrideAction::ForceUp,
            },
            reason: self.reason.clone(),
            expires_at: self.expires_at,
            drill: self.drill.clone(),
        })
    }

    /// The DTO of a model override.
    pub fn from_model(rule: &Override) -> OverrideDto {
        let (region, endpoint) = match &rule.target {
            OverrideTarget::Region(id) => (Some(id.clone()), None),
            OverrideTarget::Endpoint(id) => (None, Some(id.clone())),
        };
        OverrideDto {
            id: rule.id.clone(),
            region,
            endpoint,
            action: match rule.action {
                OverrideAction::Drain => OverrideActionDto::Drain,
                OverrideAction::ForceDown => OverrideActionDto::ForceDown,
                OverrideAction::ForceUp => OverrideActionDto::ForceUp,
            },
            reason: rule.reason.clone(),
            expires_at: rule.expires_at,
            drill: rule.drill.clone(),
        }
    }
}

/// A drill as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DrillDto {
    /// Drill id.
    pub id: String,
    /// The region drilled.
    pub region: String,
    /// `drain` or `fail`.
    pub mode: String,
    /// Unix millis it started.
    pub started_at: u64,
    /// Unix millis it ends by itself.
    pub planned_end: u64,
    /// `running`, `completed` or `aborted`.
    pub status: String,
    /// Per DNS node id, milliseconds until it stopped answering with the region.
    pub convergence_ms: BTreeMap<String, u64>,
}

impl DrillDto {
    /// The DTO of a model drill.
    pub fn from_model(drill: &Drill) -> DrillDto {
        DrillDto {
            id: drill.id.clone(),
            region: drill.region.clone(),
            mode: match drill.mode {
                DrillMode::Drain => "drain",
                DrillMode::Fail => "fail",
            }
            .to_string(),
            started_at: drill.started_at,
            planned_end: drill.planned_end,
            status: match drill.status {
                DrillStatus::Running => "running",
                DrillStatus::Completed => "completed",
                DrillStatus::Aborted => "aborted",
            }
            .to_string(),
            convergence_ms: drill
                .convergence_ms
                .iter()
                .map(|(node, ms)| (node.to_string(), *ms))
                .collect(),
        }
    }
}
