//! `/v1/checks`: list, create, read, replace and delete health checks of endpoints (and
//! deep checks of regions).

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use gslb_store::model::Check;
use gslb_store::model::State as StoreState;
use gslb_store::model::{Expected, ResourceRef};
use gslb_store::Command;

use crate::auth::Caller;
use crate::dto::check::CheckDto;
use crate::dto::{CheckPage, PageQuery, WriteResult};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{check_preconditions, etag_of, page_limit, paginate, JsonBody};
use crate::routes::{precondition, with_etag_for, written};
use crate::ApiContext;

fn etag(check: &Check) -> String {
    etag_of(&CheckDto::from_model(check))
}

/// Converts the body and checks that its subject exists, naming `endpoint` or `region`.
fn to_model(state: &StoreState, body: &CheckDto) -> Result<Check, ApiError> {
    let check = body
        .to_model("")
        .map_err(|fields| ApiError::Invalid { fields })?;
    let missing = match (&body.endpoint, &body.region) {
        (Some(endpoint), _) if !state.endpoints.contains_key(endpoint) => {
            Some(("endpoint", format!("no endpoint {endpoint:?}")))
        }
        (_, Some(region)) if !state.regions.contains_key(region) => {
            Some(("region", format!("no region {region:?}")))
        }
        _ => None,
    };
    match missing {
        Some((path, message)) => Err(ApiError::field(path, message)),
        None => Ok(check),
    }
}

/// Lists checks by id.
#[utoipa::path(get, path = "/v1/checks", tag = "checks", params(PageQuery),
    responses((status = 200, description = "a page of checks", body = CheckPage)))]
pub async fn list_checks(
    State(context): State<ApiContext>,
    Query(query): Query<PageQuery>,
) -> Result<axum::Json<CheckPage>, ApiError> {
    let limit = page_limit(&query)?;
    let state = context.node.state();
    let (items, next) = paginate(
        state.checks.iter(),
        query.after.as_ref(),
        limit,
        Clone::clone,
        |check| Some(CheckDto::from_model(check)),
    );
    Ok(axum::Json(CheckPage { items, next }))
}

/// Creates a check; 409 when the id is taken.
#[utoipa::path(post, path = "/v1/checks", tag = "checks", request_body = CheckDto,
    responses((status = 201, description = "created", body = WriteResult),
              (status = 409, description = "the id is taken", body = ErrorBody)))]
pub async fn create_check(
    State(context): State<ApiContext>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<CheckDto>,
) -> Result<Response, ApiError> {
    let state = context.node.state();
    let check = to_model(&state, &body)?;
    let guard = Some((
        ResourceRef::Check {
            id: check.id.clone(),
        },
        Expected::Absent,
    ));
    if state.checks.contains_key(&check.id) {
        return Err(ApiError::conflict(format!(
            "check {:?} exists; use PUT /v1/checks/{} to replace it",
            check.id, check.id
        )));
    }
    let tag = etag(&check);
    let outcome = context
        .write_if(
            guard,
            Command::PutCheck {
                check: Box::new(check),
            },
            actor,
            false,
            "check.",
        )
        .await?;
    Ok(written(true, Some(tag), outcome))
}

/// Reads a check.
#[utoipa::path(get, path = "/v1/checks/{id}", tag = "checks",
    params(("id" = String, Path, description = "check id")),
    responses((status = 200, description = "the check", body = CheckDto)))]
pub async fn get_check(
    State(context): State<ApiContext>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let state = context.node.state();
    let check = state
        .checks
        .get(&id)
        .ok_or_else(|| ApiError::NotFound(format!("no check {id:?}")))?;
    let dto = CheckDto::from_model(check);
    let tag = etag_of(&dto);
    Ok(with_etag_for(&headers, dto, &tag))
}

/// Creates or replaces a check (idempotent); honours `If-Match` / `If-None-Match`.
#[utoipa::path(put, path = "/v1/checks/{id}", tag = "checks", request_body = CheckDto,
    params(("id" = String, Path, description = "check id; must equal the body's")),
    responses((status = 200, description = "replaced (or unchanged)", body = WriteResult),
              (status = 201, description = "created", body = WriteResult)))]
pub async fn put_check(
    State(context): State<ApiContext>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<CheckDto>,
) -> Result<Response, ApiError> {
    if body.id != id {
        return Err(ApiError::field(
            "id",
            format!("must equal the id in the path ({id:?}), got {:?}", body.id),
        ));
    }
    let state = context.node.state();
    let check = to_model(&state, &body)?;
    let current = state.checks.get(&id).map(etag);
    check_preconditions(&headers, current.as_deref())?;
    let guard = precondition(&headers, ResourceRef::Check { id: id.clone() }, &state);
    let tag = etag(&check);
    let outcome = context
        .write_if(
            guard,
            Command::PutCheck {
                check: Box::new(check),
            },
            actor,
            false,
            "check.",
        )
        .await?;
    Ok(written(current.is_none(), Some(tag), outcome))
}

/// Deletes a check and its observations.
#[utoipa::path(delete, path = "/v1/checks/{id}", tag = "checks",
    params(("id" = String, Path, description = "check id")),
    responses((status = 200, description = "deleted", body = WriteResult),
              (status = 404, description = "no such check", body = ErrorBody)))]
pub async fn delete_check(
    State(context): State<ApiContext>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Caller(actor): Caller,
) -> Result<Response, ApiError> {
    let state = context.node.state();
    let current = state
        .checks
        .get(&id)
        .map(etag)
        .ok_or_else(|| ApiError::NotFound(format!("no check {id:?}")))?;
    check_preconditions(&headers, Some(&current))?;
    let guard = precondition(&headers, ResourceRef::Check { id: id.clone() }, &state);
    let outcome = context
        .write_if(guard, Command::DeleteCheck { id }, actor, true, "")
        .await?;
    Ok(written(false, None, outcome))
}
