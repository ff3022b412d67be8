//! `Override`: an operator's (or a drill's) decision about a region or endpoint that wins over
//! health until it expires. (The file is not called `override.rs`: that is a Rust keyword.)

use serde::{Deserialize, Serialize};

use crate::model::ident::{prefix, validate_id};
use crate::model::validation::FieldErrors;

/// One override.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Override {
    /// Stable id, a slug.
    pub id: String,
    /// What it applies to; must exist.
    pub target: OverrideTarget,
    /// What it does.
    pub action: OverrideAction,
    /// Why, for the audit log and `/v1/resolve` explanations.
    pub reason: String,
    /// Leader time (unix millis) it stops having effect; `None` lasts until deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    /// The drill that created it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drill: Option<String>,
}

/// What an override applies to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum OverrideTarget {
    /// A region by id.
    Region(String),
    /// An endpoint by id.
    Endpoint(String),
}

/// The effect of an override.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OverrideAction {
    /// Stop sending new clients there; as if down, but reported as drained.
    Drain,
    /// Treat as down whatever health says.
    ForceDown,
    /// Treat as up whatever health says.
    ForceUp,
}

impl Override {
    /// Checks the override on its own, reporting under `path`.
    pub fn validate(&self, path: &str, errors: &mut FieldErrors) {
        let prefix = prefix(path);
        validate_id(&format!("{prefix}id"), &self.id, errors);
        match &self.target {
            OverrideTarget::Region(id) | OverrideTarget::Endpoint(id) => {
                validate_id(&format!("{prefix}target.id"), id, errors)
            }
        }
        if self.reason.trim().is_empty() {
            errors.push(format!("{prefix}reason"), "must say why");
        }
        if let Some(drill) = &self.drill {
            validate_id(&format!("{prefix}drill"), drill, errors);
        }
    }

    /// Whether the override is in force at leader time `now` (unix millis).
    pub fn is_active(&self, now: u64) -> bool {
        self.expires_at.is_none_or(|expiry| now < expiry)
    }
}
