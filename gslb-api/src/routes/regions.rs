//! `/v1/regions`: list, create, read, replace and delete regions.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use gslb_model::model::{Region, ResourceRef, State as StoreState};
use gslb_model::Command;

use crate::auth::Caller;
use crate::dto::{PageQuery, RegionDto, RegionPage, WriteResult};
use crate::error::{ApiError, ErrorBody};
use crate::extract::JsonBody;
use crate::routes::crud::{self, IdResource};
use crate::ApiContext;

impl IdResource for Region {
    type Dto = RegionDto;
    const NOUN: &'static str = "region";
    const COLLECTION: &'static str = "/v1/regions";
    const STRIP: &'static str = "region.";

    fn all(state: &StoreState) -> &BTreeMap<String, Self> {
        &state.regions
    }

    fn id(&self) -> std::borrow::Cow<'_, str> {
        self.id.as_str().into()
    }

    fn dto(&self) -> RegionDto {
        RegionDto::from_model(self)
    }

    fn put(self) -> Command {
        Command::PutRegion { region: self }
    }

    fn delete(id: String) -> Command {
        Command::DeleteRegion { id }
    }

    fn resource(id: String) -> ResourceRef {
        ResourceRef::Region { id }
    }
}

/// Lists regions by id.
#[utoipa::path(get, path = "/v1/regions", tag = "regions", params(PageQuery),
    responses((status = 200, description = "a page of regions", body = RegionPage)))]
pub async fn list_regions(
    State(context): State<ApiContext>,
    Query(query): Query<PageQuery>,
) -> Result<axum::Json<RegionPage>, ApiError> {
    let (items, next) = crud::list::<Region>(&context, &query)?;
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
    let item = body
        .to_model("")
        .map_err(|fields| ApiError::Invalid { fields })?;
    crud::create(&context, actor, item).await
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
    crud::read::<Region>(&context, &id, &headers)
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
    crud::same_id(&body.id, &id)?;
    let item = body
        .to_model("")
        .map_err(|fields| ApiError::Invalid { fields })?;
    crud::replace(&context, id, &headers, actor, item).await
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
    crud::delete::<Region>(&context, id, &headers, actor).await
}
