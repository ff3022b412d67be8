//! `/v1/regions`: list, create, read, replace and delete regions.

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use gslb_store::model::Region;
use gslb_store::model::{Expected, ResourceRef};
use gslb_store::Command;

use crate::auth::Caller;
use crate::dto::{PageQuery, RegionDto, RegionPage, WriteResult};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{check_preconditions, etag_of, page_limit, paginate, JsonBody};
use crate::routes::{precondition, with_etag_for, written};
use crate::ApiContext;

fn etag(region: &Region) -> String {
    etag_of(&RegionDto::from_model(region))
}

/// Lists regions by id.
#[utoipa::path(get, path = "/v1/regions", tag = "regions", params(PageQuery),
    responses((status = 200, description = "a page of regions", body = RegionPage)))]
pub async fn list_regions(
    State(context): State<ApiContext>,
    Query(query): Query<PageQuery>,
) -> Result<axum::Json<RegionPage>, ApiError> {
    let limit = page_limit(&query)?;
    let state = context.node.state();
    let (items, next) = paginate(
        state.regions.iter(),
        query.after.as_ref(),
        limit,
        Clone::clone,
        |region| Some(RegionDto::from_model(region)),
    );
    Ok(axum::Json(RegionPage { items, next }))
}

/// Creates a region; 409 when the id is taken.
#[utoipa::path(post, path = "/v1/regions", tag = "regions", request_body = RegionDto,
    responses((status = 201, description = "created", body = WriteResult),
              (status = 409, description = "the id is taken", body = ErrorBody)))]
pub async fn create_region(
    State(context): State<ApiContext>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<RegionDto>,
) -> Result<Response, ApiError> {
    let region = body
        .to_model("")
        .map_err(|fields| ApiError::Invalid { fields })?;
    let state = context.node.state();
    let guard = Some((
        ResourceRef::Region {
            id: region.id.clone(),
        },
        Expected::Absent,
    ));
    if state.regions.contains_key(&region.id) {
        return Err(ApiError::conflict(format!(
            "region {:?} exists; use PUT /v1/regions/{} to replace it",
            region.id, region.id
        )));
    }
    let tag = etag(&region);
    let outcome = context
        .write_if(
            guard,
            Command::PutRegion { region },
            actor,
            false,
            "region.",
        )
        .await?;
    Ok(written(true, Some(tag), outcome))
}

/// Reads a region.
#[utoipa::path(get, path = "/v1/regions/{id}", tag = "regions",
    params(("id" = String, Path, description = "region id")),
    responses((status = 200, description = "the region", body = RegionDto)))]
pub async fn get_region(
    State(context): State<ApiContext>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let state = context.node.state();
    let region = state
        .regions
        .get(&id)
        .ok_or_else(|| ApiError::NotFound(format!("no region {id:?}")))?;
    let dto = RegionDto::from_model(region);
    let tag = etag_of(&dto);
    Ok(with_etag_for(&headers, dto, &tag))
}

/// Creates or replaces a region (idempotent); honours `If-Match` / `If-None-Match`.
#[utoipa::path(put, path = "/v1/regions/{id}", tag = "regions", request_body = RegionDto,
    params(("id" = String, Path, description = "region id; must equal the body's")),
    responses((status = 200, description = "replaced (or unchanged)", body = WriteResult),
              (status = 201, description = "created", body = WriteResult)))]
pub async fn put_region(
    State(context): State<ApiContext>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<RegionDto>,
) -> Result<Response, ApiError> {
    if body.id != id {
        return Err(ApiError::field(
            "id",
            format!("must equal the id in the path ({id:?}), got {:?}", body.id),
        ));
    }
    let region = body
        .to_model("")
        .map_err(|fields| ApiError::Invalid { fields })?;
    let state = context.node.state();
    let current = state.regions.get(&id).map(etag);
    check_preconditions(&headers, current.as_deref())?;
    let guard = precondition(&headers, ResourceRef::Region { id: id.clone() }, &state);
    let tag = etag(&region);
    let outcome = context
        .write_if(
            guard,
            Command::PutRegion { region },
            actor,
            false,
            "region.",
        )
        .await?;
    Ok(written(current.is_none(), Some(tag), outcome))
}

/// Deletes a region; 409 while endpoints, overrides or drills use it.
#[utoipa::path(delete, path = "/v1/regions/{id}", tag = "regions",
    params(("id" = String, Path, description = "region id")),
    responses((status = 200, description = "deleted", body = WriteResult),
              (status = 409, description = "still in use", body = ErrorBody)))]
pub async fn delete_region(
    State(context): State<ApiContext>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Caller(actor): Caller,
) -> Result<Response, ApiError> {
    let state = context.node.state();
    let current = state
        .regions
        .get(&id)
        .map(etag)
        .ok_or_else(|| ApiError::NotFound(format!("no region {id:?}")))?;
    check_preconditions(&headers, Some(&current))?;
    let guard = precondition(&headers, ResourceRef::Region { id: id.clone() }, &state);
    let outcome = context
        .write_if(guard, Command::DeleteRegion { id }, actor, true, "")
        .await?;
    Ok(written(false, None, outcome))
}
