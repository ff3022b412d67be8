//! `/v1/overrides`: list, create, read, replace and delete overrides (drain, force down or
//! up a region or endpoint, until an expiry).

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use gslb_store::model::Override;
use gslb_store::model::{Expected, ResourceRef};
use gslb_store::Command;

use crate::auth::Caller;
use crate::dto::overrides::OverrideDto;
use crate::dto::{OverridePage, PageQuery, WriteResult};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{check_preconditions, etag_of, page_limit, paginate, JsonBody};
use crate::routes::{precondition, with_etag_for, written};
use crate::ApiContext;

fn etag(rule: &Override) -> String {
    etag_of(&OverrideDto::from_model(rule))
}

/// Converts the body and checks that its target exists, naming `region` or `endpoint`.
fn to_model(context: &ApiContext, body: &OverrideDto) -> Result<Override, ApiError> {
    let rule = body
        .to_model("")
        .map_err(|fields| ApiError::Invalid { fields })?;
    let state = context.node.state();
    let missing = match (&body.region, &body.endpoint) {
        (Some(region), _) if !state.regions.contains_key(region) => {
            Some(("region", format!("no region {region:?}")))
        }
        (_, Some(endpoint)) if !state.endpoints.contains_key(endpoint) => {
            Some(("endpoint", format!("no endpoint {endpoint:?}")))
        }
        _ => None,
    };
    match missing {
        Some((path, message)) => Err(ApiError::field(path, message)),
        None => Ok(rule),
    }
}

/// Lists overrides by id.
#[utoipa::path(get, path = "/v1/overrides", tag = "overrides", params(PageQuery),
    responses((status = 200, description = "a page of overrides", body = OverridePage)))]
pub async fn list_overrides(
    State(context): State<ApiContext>,
    Query(query): Query<PageQuery>,
) -> Result<axum::Json<OverridePage>, ApiError> {
    let limit = page_limit(&query)?;
    let state = context.node.state();
    let (items, next) = paginate(
        state.overrides.iter(),
        query.after.as_ref(),
        limit,
        Clone::clone,
        |rule| Some(OverrideDto::from_model(rule)),
    );
    Ok(axum::Json(OverridePage { items, next }))
}

/// Creates an override; 409 when the id is taken.
#[utoipa::path(post, path = "/v1/overrides", tag = "overrides", request_body = OverrideDto,
    responses((status = 201, description = "created", body = WriteResult),
              (status = 409, description = "the id is taken", body = ErrorBody)))]
pub async fn create_override(
    State(context): State<ApiContext>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<OverrideDto>,
) -> Result<Response, ApiError> {
    let rule = to_model(&context, &body)?;
    let state = context.node.state();
    let guard = Some((
        ResourceRef::Override {
            id: rule.id.clone(),
        },
        Expected::Absent,
    ));
    if state.overrides.contains_key(&rule.id) {
        return Err(ApiError::conflict(format!(
            "override {:?} exists; use PUT /v1/overrides/{} to replace it",
            rule.id, rule.id
        )));
    }
    let tag = etag(&rule);
    let outcome = context
        .write_if(
            guard,
            Command::PutOverride { rule },
            actor,
            false,
            "override.",
        )
        .await?;
    Ok(written(true, Some(tag), outcome))
}

/// Reads an override.
#[utoipa::path(get, path = "/v1/overrides/{id}", tag = "overrides",
    params(("id" = String, Path, description = "override id")),
    responses((status = 200, description = "the override", body = OverrideDto)))]
pub async fn get_override(
    State(context): State<ApiContext>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let state = context.node.state();
    let rule = state
        .overrides
        .get(&id)
        .ok_or_else(|| ApiError::NotFound(format!("no override {id:?}")))?;
    let dto = OverrideDto::from_model(rule);
    let tag = etag_of(&dto);
    Ok(with_etag_for(&headers, dto, &tag))
}

/// Creates or replaces an override (idempotent); honours `If-Match` / `If-None-Match`.
#[utoipa::path(put, path = "/v1/overrides/{id}", tag = "overrides", request_body = OverrideDto,
    params(("id" = String, Path, description = "override id; must equal the body's")),
    responses((status = 200, description = "replaced (or unchanged)", body = WriteResult),
              (status = 201, description = "created", body = WriteResult)))]
pub async fn put_override(
    State(context): State<ApiContext>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<OverrideDto>,
) -> Result<Response, ApiError> {
    if body.id != id {
        return Err(ApiError::field(
            "id",
            format!("must equal the id in the path ({id:?}), got {:?}", body.id),
        ));
    }
    let rule = to_model(&context, &body)?;
    let state = context.node.state();
    let current = state.overrides.get(&id).map(etag);
    check_preconditions(&headers, current.as_deref())?;
    let guard = precondition(&headers, ResourceRef::Override { id: id.clone() }, &state);
    let tag = etag(&rule);
    let outcome = context
        .write_if(
            guard,
            Command::PutOverride { rule },
            actor,
            false,
            "override.",
        )
        .await?;
    Ok(written(current.is_none(), Some(tag), outcome))
}

/// Deletes an override (the region or endpoint it held returns to its health).
#[utoipa::path(delete, path = "/v1/overrides/{id}", tag = "overrides",
    params(("id" = String, Path, description = "override id")),
    responses((status = 200, description = "deleted", body = WriteResult),
              (status = 404, description = "no such override", body = ErrorBody)))]
pub async fn delete_override(
    State(context): State<ApiContext>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Caller(actor): Caller,
) -> Result<Response, ApiError> {
    let state = context.node.state();
    let current = state
        .overrides
        .get(&id)
        .map(etag)
        .ok_or_else(|| ApiError::NotFound(format!("no override {id:?}")))?;
    check_preconditions(&headers, Some(&current))?;
    let guard = precondition(&headers, ResourceRef::Override { id: id.clone() }, &state);
    let outcome = context
        .write_if(guard, Command::DeleteOverride { id }, actor, true, "")
        .await?;
    Ok(written(false, None, outcome))
}
