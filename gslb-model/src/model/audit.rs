//! `AuditEntry` and `Actor`: who changed what, when and from where.
//!
//! The state keeps only the newest `AUDIT_RETAINED` entries so snapshots stay bounded; the full
//! history is the operator's log shipping (every apply also logs the entry).

use serde::{Deserialize, Serialize};

/// How many audit entries `State::audit` keeps.
pub const AUDIT_RETAINED: usize = 1000;

/// Who issued a command.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Actor {
    /// The principal: a token id, `node:<id>` for a node's own reports, `system` for the
    /// leader's own actions (drill expiry).
    pub who: String,
    /// Where the request came from (client address), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

impl Actor {
    /// An actor with no address.
    pub fn new(who: impl Into<String>) -> Self {
        Actor {
            who: who.into(),
            from: None,
        }
    }
}

/// One applied command, as the audit log shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditEntry {
    /// The log index (version) the command produced.
    pub version: u64,
    /// Leader time (unix millis) the command was stamped with.
    pub at: u64,
    /// Who issued it.
    pub actor: Actor,
    /// What it did, e.g. `put_region eu-west-1` or `batch(3)`.
    pub summary: String,
}
