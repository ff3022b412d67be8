//! Tokens on the wire: what a token may do (`ScopeDto`), how one is created
//! (`TokenCreate`, the secret shown once in `TokenCreated`) and listed (`TokenDto`, never
//! the hash).

use gslb_model::model::{Scope, Token};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::dto::time::{timestamp_ms, TimestampMs};

/// A permission. `admin` implies every other; `write` implies `read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScopeDto {
    /// Read every resource.
    Read,
    /// Change zones, records, regions, endpoints (and read).
    Write,
    /// Report health observations (probers).
    #[serde(alias = "observe")]
    Prober,
    /// Manage tokens and cluster membership (and everything else).
    Admin,
}

impl ScopeDto {
    /// The model's scope.
    pub fn to_model(self) -> Scope {
        match self {
            ScopeDto::Read => Scope::Read,
            ScopeDto::Write => Scope::Write,
            ScopeDto::Prober => Scope::Observe,
            ScopeDto::Admin => Scope::Admin,
        }
    }

    /// The DTO of a model scope.
    pub fn from_model(scope: Scope) -> ScopeDto {
        match scope {
            Scope::Read => ScopeDto::Read,
            Scope::Write => ScopeDto::Write,
            Scope::Observe => ScopeDto::Prober,
            Scope::Admin => ScopeDto::Admin,
        }
    }
}

/// A token as listed: never its secret nor its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TokenDto {
    /// Stable id, a slug; audit entries name it.
    pub id: String,
    /// What it may do.
    pub scopes: Vec<ScopeDto>,
    /// Unix millis after which it is refused; absent = never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    /// The one vantage a `prober` token may report observations for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vantage: Option<String>,
}

/// A request to create a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenCreate {
    /// Stable id, a slug; must be new.
    #[schema(pattern = r"^[a-z0-9][a-z0-9._-]{0,62}$")]
    pub id: String,
    /// What it may do; at least one.
    #[schema(min_items = 1)]
    pub scopes: Vec<ScopeDto>,
    /// When it starts being refused: unix millis, or an RFC 3339 time
    /// (`2026-12-24T18:00:00Z`); absent = never.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "timestamp_ms"
    )]
    #[schema(value_type = Option<TimestampMs>)]
    pub expires_at: Option<u64>,
    /// The one vantage (region id or external reporter) a `prober` token may report
    /// observations for; a `prober` token without one cannot report. Only with `prober`.
    #[schema(pattern = r"^[a-z0-9][a-z0-9._-]{0,62}$")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vantage: Option<String>,
    /// The secret to use; a random one is made when absent (the normal way). A chosen one
    /// must be at least 16 characters without blanks, with at least 8 different characters
    /// and not a run like `abcdefgh...`.
    #[schema(min_length = 16, pattern = r"^\S+$")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// A created token, with its secret: shown once, only its hash is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TokenCreated {
    /// The token.
    pub token: TokenDto,
    /// The secret to present as `Authorization: Bearer <secret>`.
    pub secret: String,
    /// The state version that holds it.
    pub version: u64,
}

impl TokenDto {
    /// The DTO of a model token.
    pub fn from_model(token: &Token) -> TokenDto {
        TokenDto {
            id: token.id.clone(),
            scopes: token
                .scopes
                .iter()
                .copied()
                .map(ScopeDto::from_model)
                .collect(),
            expires_at: token.expires_at,
            vantage: token.vantage.clone(),
        }
    }
}
