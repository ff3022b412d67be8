//! `/v1/zones/{zone}/unsigned-update-sources`: the networks a zone accepts unsigned RFC 2136
//! updates from (GET; PUT replaces the list, an empty list refuses every unsigned update,
//! the default). Signed updates are governed by the TSIG keys' grants instead.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::Json;
use gslb_model::ip::Cidr;
use gslb_model::Command;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::dto::WriteResult;
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::routes::written;
use crate::routes::zones::apex_param;
use crate::ApiContext;

/// The networks a zone accepts unsigned updates from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSourcesDto {
    /// CIDRs (`10.0.0.0/8`, `2001:db8::/32`); a bare address is one host.
    pub sources: Vec<String>,
}

/// The networks the zone accepts unsigned updates from (empty: none).
#[utoipa::path(get, path = "/v1/zones/{zone}/unsigned-update-sources", tag = "zones",
    params(("zone" = String, Path, description = "the apex")),
    responses((status = 200, description = "the networks", body = UpdateSourcesDto)))]
pub async fn get_update_sources(
    State(context): State<ApiContext>,
    Path(zone): Path<String>,
) -> Result<Json<UpdateSourcesDto>, ApiError> {
    let apex = apex_param(&zone)?;
    let state = context.node.state();
    if !state.zones.contains_key(&apex) {
        return Err(ApiError::NotFound(format!("no zone {apex}")));
    }
    let sources = state
        .unsigned_update_sources
        .get(&apex)
        .map(|sources| sources.iter().map(ToString::to_string).collect())
        .unwrap_or_default();
    Ok(Json(UpdateSourcesDto { sources }))
}

/// Replaces the networks the zone accepts unsigned updates from.
#[utoipa::path(put, path = "/v1/zones/{zone}/unsigned-update-sources", tag = "zones",
    request_body = UpdateSourcesDto,
    params(("zone" = String, Path, description = "the apex")),
    responses((status = 200, description = "written", body = WriteResult)))]
pub async fn put_update_sources(
    State(context): State<ApiContext>,
    Path(zone): Path<String>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<UpdateSourcesDto>,
) -> Result<Response, ApiError> {
    let apex = apex_param(&zone)?;
    let mut sources = Vec::new();
    for (index, text) in body.sources.iter().enumerate() {
        match Cidr::parse_host_or_network(text) {
            Ok(cidr) => sources.push(cidr),
            Err(error) => {
                return Err(ApiError::field(
                    format!("sources[{index}]"),
                    error.to_string(),
                ))
            }
        }
    }
    let command = Command::PutUnsignedUpdateSources {
        zone: apex,
        sources,
    };
    let outcome = context.write(command, actor, false, "").await?;
    Ok(written(false, None, outcome))
}
