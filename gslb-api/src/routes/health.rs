//! `/v1/health` (read): health derived now from the replicated observations, per region,
//! endpoint and check; `/v1/observations` (prober scope): a prober's batch, one Raft entry.
//!
//! A prober speaks for one vantage: an `observe` token may report only for the vantage it
//! names (`Token::vantage`), so one stolen or misconfigured prober credential cannot outvote
//! the others. A refusal is a 403 naming both vantages and an audit entry
//! (`Command::RecordRefusal`, at most one per token a minute). Admin tokens (operators,
//! tests) may report for any vantage.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::response::Response;
use axum::Extension;
use axum::Json;
use gslb_model::command::MAX_REFUSAL_LEN;
use gslb_model::model::{Actor, CheckSubject, Scope};
use gslb_model::Command;

use crate::auth::{Caller, Principal};
use crate::dto::health::{HealthDto, ObservationBatch};
use crate::dto::WriteResult;
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::routes::written;
use crate::ApiContext;

/// Health of every region, endpoint and check, derived at this node's health clock (`at`):
/// the wall clock, or its last leader contact while it is cut off, as its DNS answers.
#[utoipa::path(get, path = "/v1/health", tag = "health",
    responses((status = 200, description = "the derived health", body = HealthDto)))]
pub async fn get_health(State(context): State<ApiContext>) -> Json<HealthDto> {
    let state = context.node.state();
    let now = context.health_now();
    Json(HealthDto::from_model(&state.health_view(now)).with_overrides(&state.overrides, now))
}

/// Records a prober's observations (transitions and RTT digests) from one vantage.
#[utoipa::path(post, path = "/v1/observations", tag = "health", request_body = ObservationBatch,
    responses((status = 200, description = "recorded", body = WriteResult),
              (status = 403, description = "the token may not report for this vantage", body = crate::error::ErrorBody)))]
pub async fn post_observations(
    State(context): State<ApiContext>,
    Extension(principal): Extension<Principal>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<ObservationBatch>,
) -> Result<Response, ApiError> {
    if let Err(reason) = may_report(&principal, &body.vantage) {
        audit_refusal(&context, actor, &body.vantage, &reason).await;
        return Err(ApiError::Forbidden(reason));
    }
    let command = Command::ReportObservations {
        vantage: body.vantage.clone(),
        observations: body.observations.iter().map(|o| o.to_model()).collect(),
    };
    let outcome = context.write(command, actor, false, "").await?;
    let state = context.node.state();
    for observation in &body.observations {
        let region = state
            .checks
            .get(&observation.check)
            .and_then(|check| match &check.subject {
                CheckSubject::Endpoint(id) => state
                    .endpoints
                    .get(id)
                    .map(|endpoint| endpoint.region.as_str()),
                CheckSubject::Region(id) => Some(id.as_str()),
            });
        context
            .metrics
            .observe_report(&body.vantage, region, observation.up, observation.rtt_us);
    }
    Ok(written(false, None, outcome))
}

/// How often one token's vantage refusals reach the audit log.
const REFUSAL_AUDIT_EVERY: Duration = Duration::from_secs(60);

/// The most tokens whose last audited refusal is remembered.
const MAX_REFUSING_TOKENS: usize = 4096;

/// When each principal's last vantage refusal was audited, so a misconfigured prober
/// retrying every second adds one audit entry a minute, not sixty.
#[derive(Debug, Default)]
pub struct VantageRefusals(Mutex<HashMap<String, Instant>>);

impl VantageRefusals {
    /// Whether a refusal of `who` at `now` is to be audited.
    fn due(&self, who: &str, now: Instant) -> bool {
        let mut last = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if last.len() >= MAX_REFUSING_TOKENS {
            last.retain(|_, at| now.duration_since(*at) < REFUSAL_AUDIT_EVERY);
        }
        match last.get(who) {
            Some(at) if now.duration_since(*at) < REFUSAL_AUDIT_EVERY => false,
            _ => {
                last.insert(who.to_string(), now);
                true
            }
        }
    }
}

/// Whether `principal` may report observations as `vantage`: an admin for any, an
/// `observe` token only for the vantage it names. The error names both.
pub fn may_report(principal: &Principal, vantage: &str) -> Result<(), String> {
    if principal.allows(Scope::Admin) {
        return Ok(());
    }
    match &principal.vantage {
        Some(own) if own == vantage => Ok(()),
        Some(own) => Err(format!(
            "{} may report only for vantage {own:?}, not {vantage:?}",
            principal.who
        )),
        None => Err(format!(
            "{} names no vantage, so it cannot report for {vantage:?}; create a token with \
             --vantage {vantage} for that prober",
            principal.who
        )),
    }
}

/// Writes the refusal to the audit log (rate-limited per principal). A failed write is only
/// logged: the 403 stands either way.
async fn audit_refusal(context: &ApiContext, actor: Actor, vantage: &str, reason: &str) {
    if !context.vantage_refusals.due(&actor.who, Instant::now()) {
        return;
    }
    tracing::warn!(who = %actor.who, from = ?actor.from, "observations refused: {reason}");
    let reason: String = format!("report_observations {vantage}: {reason}")
        .chars()
        .take(MAX_REFUSAL_LEN)
        .collect();
    let command = Command::RecordRefusal { reason };
    if let Err(error) = context.write(command, actor, false, "").await {
        tracing::warn!("cannot audit a refused observation report: {error}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(scopes: &[Scope], vantage: Option<&str>) -> Principal {
        Principal {
            who: "token:p1".to_string(),
            scopes: scopes.to_vec(),
            vantage: vantage.map(str::to_string),
        }
    }

    #[test]
    fn an_observe_token_reports_only_for_its_own_vantage() {
        let prober = principal(&[Scope::Observe], Some("eu-west"));
        assert_eq!(may_report(&prober, "eu-west"), Ok(()));
        let error = may_report(&prober, "us-east").unwrap_err();
        assert!(
            error.contains("\"eu-west\"") && error.contains("\"us-east\""),
            "{error}"
        );
        let anonymous = principal(&[Scope::Observe], None);
        assert!(may_report(&anonymous, "eu-west")
            .unwrap_err()
            .contains("names no vantage"));
        assert_eq!(may_report(&principal(&[Scope::Admin], None), "x"), Ok(()));
        assert!(may_report(&principal(&[Scope::Write], None), "x").is_err());
    }

    #[test]
    fn refusals_are_audited_once_a_minute_per_token() {
        let refusals = VantageRefusals::default();
        let now = Instant::now();
        assert!(refusals.due("token:p1", now));
        assert!(!refusals.due("token:p1", now + Duration::from_secs(59)));
        assert!(refusals.due("token:p2", now));
        assert!(refusals.due("token:p1", now + Duration::from_secs(60)));
    }
}
