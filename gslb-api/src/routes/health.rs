//! `/v1/health` (read): health derived now from the replicated observations, per region,
//! endpoint and check; `/v1/observations` (prober scope): a prober's batch, one Raft entry.

use axum::extract::State;
use axum::response::Response;
use axum::Json;
use gslb_model::model::CheckSubject;
use gslb_model::Command;

use crate::auth::Caller;
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
    Json(HealthDto::from_model(
        &state.health_view(context.health_now()),
    ))
}

/// Records a prober's observations (transitions and RTT digests) from one vantage.
#[utoipa::path(post, path = "/v1/observations", tag = "health", request_body = ObservationBatch,
    responses((status = 200, description = "recorded", body = WriteResult)))]
pub async fn post_observations(
    State(context): State<ApiContext>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<ObservationBatch>,
) -> Result<Response, ApiError> {
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
