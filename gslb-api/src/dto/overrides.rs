//! Overrides and drills on the wire: `OverrideDto` (an operator's decision that beats health
//! until it expires) and `DrillDto` (read-only here; the drill runner writes them).

use std::collections::BTreeMap;

use gslb_model::model::{Drill, FieldErrors, Override, OverrideAction, OverrideTarget};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::dto::time::{timestamp_ms, TimestampMs};

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
    /// When it stops having effect: unix millis, or an RFC 3339 time
    /// (`2026-12-24T18:00:00Z`); absent = until deleted.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "timestamp_ms"
    )]
    #[schema(value_type = Option<TimestampMs>)]
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

/// A drill as recorded: what it is, where it stands, and everything it measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
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
    /// Who started it.
    pub started_by: String,
    /// The load guard as a ratio of a survivor's capacity share (1.5), if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_load: Option<f64>,
    /// The GSLB records the plan said would change (`name TYPE`).
    pub records: Vec<String>,
    /// The regions that take the drilled region's clients; the drill aborts when one of
    /// them turns down.
    pub survivors: Vec<String>,
    /// DNS nodes whose convergence is measured (they answered with the region before).
    pub measured_nodes: Vec<u64>,
    /// Unix millis it ended, once it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<u64>,
    /// Why it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_reason: Option<String>,
    /// Per DNS node id, milliseconds from the start until it stopped answering with the
    /// region.
    pub convergence_ms: BTreeMap<String, u64>,
    /// Per DNS node id, milliseconds from the end until it answered with it again.
    pub restore_ms: BTreeMap<String, u64>,
    /// Answers per client group and record: `[{phase, at, rows: [{record, clients,
    /// regions: {id: thousandths}, outcome}]}]`.
    #[schema(value_type = Vec<Object>)]
    pub answers: Vec<serde_json::Value>,
    /// Guard evaluations: `[{at, guard, tripped, detail}]`.
    #[schema(value_type = Vec<Object>)]
    pub guards: Vec<serde_json::Value>,
    /// What happened: `[{at, text}]`, oldest first.
    #[schema(value_type = Vec<Object>)]
    pub timeline: Vec<serde_json::Value>,
}

impl DrillDto {
    /// The DTO of a model drill.
    pub fn from_model(drill: &Drill) -> DrillDto {
        let by_node = |map: &BTreeMap<u64, u64>| {
            map.iter()
                .map(|(node, ms)| (node.to_string(), *ms))
                .collect::<BTreeMap<String, u64>>()
        };
        DrillDto {
            id: drill.id.clone(),
            region: drill.region.clone(),
            mode: crate::drills::report::mode_word(drill.mode).to_string(),
            started_at: drill.started_at,
            planned_end: drill.planned_end,
            status: crate::drills::report::status_word(drill.status).to_string(),
            started_by: drill.started_by.clone(),
            max_load: drill
                .max_load_percent
                .map(|percent| f64::from(percent) / 100.0),
            records: drill.records.clone(),
            survivors: drill.survivors.iter().cloned().collect(),
            measured_nodes: drill.measured_nodes.iter().copied().collect(),
            ended_at: drill.ended_at,
            end_reason: drill.end_reason.clone(),
            convergence_ms: by_node(&drill.convergence_ms),
            restore_ms: by_node(&drill.restore_ms),
            answers: drill.answers.iter().map(to_value).collect(),
            guards: drill.guards.iter().map(to_value).collect(),
            timeline: drill.timeline.iter().map(to_value).collect(),
        }
    }
}

fn to_value(item: &impl Serialize) -> serde_json::Value {
    serde_json::to_value(item).unwrap_or(serde_json::Value::Null)
}
