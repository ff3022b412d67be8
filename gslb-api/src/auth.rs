//! Bearer-token authentication and scope checks.
//!
//! A presented secret is hashed (`sha256:<hex>`) and compared in constant time with every
//! token hash in the replicated state, and with the bootstrap token from the node's config
//! (never stored). The scope a request needs follows from its method and path alone
//! (`required_scope`), so a new route cannot forget its check.
//!
//! Failed authentications are throttled per source (`throttle::AuthThrottle`: 429 with
//! `Retry-After`) and logged as rate-limited summaries (`RefusalLog`), never one line each.
//!
//! Invariant: no secret is stored, logged or compared with `==`.

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use gslb_model::clock::unix_millis;
use gslb_model::model::{Actor, Scope, State as StoreState};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::ApiContext;

/// The prefix of every hash this crate writes.
pub const HASH_PREFIX: &str = "sha256:";

/// The stored form of a secret: `sha256:<64 hex digits>`.
pub fn hash_secret(secret: &str) -> String {
    format!(
        "{HASH_PREFIX}{}",
        hex::encode(Sha256::digest(secret.as_bytes()))
    )
}

/// A fresh random secret (`gslb_` + 48 hex digits, 192 bits).
pub fn generate_secret() -> Result<String, ApiError> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes)
        .map_err(|error| ApiError::Internal(format!("no randomness for a secret: {error}")))?;
    Ok(format!("gslb_{}", hex::encode(bytes)))
}

/// Who is calling, as the auth middleware established it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// `token:<id>` or `bootstrap`.
    pub who: String,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// The one vantage it may report observations for (an `observe` token's), if any.
    pub vantage: Option<String>,
}

impl Principal {
    /// Whether the principal may do what `needed` allows (`admin` ⊇ all, `write` ⊇ `read`).
    pub fn allows(&self, needed: Scope) -> bool {
        self.scopes.iter().any(|scope| match scope {
            Scope::Admin => true,
            Scope::Write => matches!(needed, Scope::Write | Scope::Read),
            other => *other == needed,
        })
    }
}

/// The scope a request needs: tokens, cluster changes and backups need `admin`,
/// observations `prober`, other writes `write`, reads `read` (token lists `admin`; a backup
/// holds every token hash, so reading one is `admin` too).
pub fn required_scope(method: &Method, path: &str) -> Scope {
    if path.starts_with("/v1/cluster/snapshot") {
        return Scope::Admin;
    }
    let admin_area = path.starts_with("/v1/tokens")
        || path.starts_with("/v1/tsig-keys")
        || path.starts_with("/v1/cluster/");
    let reads = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if path.starts_with("/v1/observations") && !reads {
        Scope::Observe
    } else if path.starts_with("/v1/tokens")
        || path.starts_with("/v1/tsig-keys")
        || (admin_area && !reads)
    {
        Scope::Admin
    } else if reads {
        Scope::Read
    } else {
        Scope::Write
    }
}

/// Finds the principal for a presented secret, in constant time per candidate.
pub fn authenticate(
    secret: &str,
    bootstrap_hash: Option<&str>,
    state: &StoreState,
    now_millis: u64,
) -> Option<Principal> {
    let presented = hash_secret(secret);
    let mut found = None;
    if let Some(bootstrap) = bootstrap_hash {
        if bool::from(presented.as_bytes().ct_eq(bootstrap.as_bytes())) {
            found = Some(Principal {
                who: "bootstrap".to_string(),
                scopes: vec![Scope::Admin],
                vantage: None,
            });
        }
    }
    // Every token is compared, matched or not, so timing says nothing about which matched.
    for token in state.tokens.values() {
        let matches = bool::from(presented.as_bytes().ct_eq(token.secret_hash.as_bytes()));
        let live = token.expires_at.is_none_or(|expiry| now_millis < expiry);
        if matches && live && found.is_none() {
            found = Some(Principal {
                who: format!("token:{}", token.id),
                scopes: token.scopes.iter().copied().collect(),
                vantage: token.vantage.clone(),
            });
        }
    }
    found
}

/// The middleware: 401 without a known token, 403 without the route's scope; otherwise the
/// `Principal` is put into the request's extensions for handlers and the audit log.
pub async fn require_token(
    State(context): State<ApiContext>,
    mut request: Request,
    next: Next,
) -> Response {
    let source = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip());
    if let Some(source) = source {
        if let Err(wait) = context.auth_throttle.check(source, Instant::now()) {
            return ApiError::TooManyRequests {
                message: format!(
                    "too many failed authentications from {source}; retry in {}s",
                    wait.as_secs()
                ),
                retry_after: wait.as_secs(),
            }
            .into_response();
        }
    }
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
        })
        .map(str::trim);
    let Some(secret) = presented.filter(|secret| !secret.is_empty()) else {
        return ApiError::Unauthorized(
            "missing bearer token: send Authorization: Bearer <token>".to_string(),
        )
        .into_response();
    };
    let state = context.node.state();
    let Some(principal) = authenticate(
        secret,
        context.bootstrap_hash.as_deref(),
        &state,
        unix_millis(),
    ) else {
        let now = Instant::now();
        if let Some(source) = source {
            context.auth_throttle.fail(source, now);
        }
        let reason = format!("{} {}", request.method(), request.uri().path());
        context.auth_refusals.record(source, &reason, now);
        return ApiError::Unauthorized("unknown or expired token".to_string()).into_response();
    };
    let needed = required_scope(request.method(), request.uri().path());
    if !principal.allows(needed) {
        let needed = crate::dto::ScopeDto::from_model(needed);
        return ApiError::Forbidden(format!(
            "{} lacks scope {:?} needed for {} {}",
            principal.who,
            format!("{needed:?}").to_lowercase(),
            request.method(),
            request.uri().path()
        ))
        .into_response();
    }
    request.extensions_mut().insert(principal);
    next.run(request).await
}

/// The caller of a handler, as an audit `Actor`: the principal and the client address.
#[derive(Debug, Clone)]
pub struct Caller(pub Actor);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let principal = parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or_else(|| ApiError::Unauthorized("no authenticated caller".to_string()))?;
        let from = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(address)| address.to_string());
        Ok(Caller(Actor {
            who: principal.who,
            from,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gslb_model::model::Token;

    #[test]
    fn scopes_follow_method_and_path() {
        assert_eq!(required_scope(&Method::GET, "/v1/zones"), Scope::Read);
        assert_eq!(required_scope(&Method::PUT, "/v1/zones/x"), Scope::Write);
        assert_eq!(required_scope(&Method::GET, "/v1/tokens"), Scope::Admin);
        assert_eq!(required_scope(&Method::GET, "/v1/tsig-keys"), Scope::Admin);
        assert_eq!(
            required_scope(&Method::DELETE, "/v1/tsig-keys/acme-key"),
            Scope::Admin
        );
        assert_eq!(required_scope(&Method::GET, "/v1/cluster"), Scope::Read);
        assert_eq!(
            required_scope(&Method::POST, "/v1/observations"),
            Scope::Observe
        );
        assert_eq!(
            required_scope(&Method::POST, "/v1/cluster/learners"),
            Scope::Admin
        );
        assert_eq!(
            required_scope(&Method::GET, "/v1/cluster/snapshot"),
            Scope::Admin
        );
    }

    #[test]
    fn tokens_match_by_hash_and_expire() {
        let mut state = StoreState::default();
        state.tokens.insert(
            "ci".to_string(),
            Token {
                id: "ci".to_string(),
                secret_hash: hash_secret("s3cret-s3cret-s3cret"),
                scopes: [Scope::Write].into(),
                expires_at: Some(1000),
                vantage: None,
            },
        );
        let found = authenticate("s3cret-s3cret-s3cret", None, &state, 999).unwrap();
        assert_eq!(found.who, "token:ci");
        assert!(found.allows(Scope::Read) && !found.allows(Scope::Admin));
        assert!(authenticate("s3cret-s3cret-s3cret", None, &state, 1000).is_none());
        assert!(authenticate("other", None, &state, 0).is_none());
        let boot = hash_secret("boot");
        assert_eq!(
            authenticate("boot", Some(&boot), &state, 0).unwrap().who,
            "bootstrap"
        );
    }
}
