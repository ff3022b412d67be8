//! `Token`: an API credential. Only a hash of the secret is replicated; the API crate hashes
//! presented secrets and compares.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::model::ident::{prefix, validate_id};
use crate::model::validation::FieldErrors;

/// One API token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Token {
    /// Stable id, a slug; shown in audit entries instead of the secret.
    pub id: String,
    /// The secret's hash as the API computes it, e.g. `sha256:<hex>`; never the secret itself.
    pub secret_hash: String,
    /// What the token may do.
    pub scopes: BTreeSet<Scope>,
    /// Leader time (unix millis) after which the token is refused; `None` never expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
}

/// A permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Read every resource.
    Read,
    /// Change zones, records, regions, endpoints, checks, overrides.
    Write,
    /// Report health observations (probers).
    Observe,
    /// Manage tokens, members and drills.
    Admin,
}

impl Token {
    /// Checks the token on its own, reporting under `path`.
    pub fn validate(&self, path: &str, errors: &mut FieldErrors) {
        let prefix = prefix(path);
        validate_id(&format!("{prefix}id"), &self.id, errors);
        let hash_ok = self
            .secret_hash
            .split_once(':')
            .is_some_and(|(algorithm, digest)| !algorithm.is_empty() && digest.len() >= 32);
        if !hash_ok {
            errors.push(
                format!("{prefix}secret_hash"),
                "must be <algorithm>:<digest> with a digest of at least 32 characters",
            );
        }
        if self.scopes.is_empty() {
            errors.push(format!("{prefix}scopes"), "must grant at least one scope");
        }
    }
}
