//! `/v1/endpoints`: list, create, read, replace and delete endpoints (the region must exist).

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use gslb_model::model::{Endpoint, ResourceRef, State as StoreState};
use gslb_model::Command;

use crate::auth::Caller;
use crate::dto::{EndpointDto, EndpointPage, PageQuery, WriteResult};
use crate::error::{ApiError, ErrorBody};
use crate::extract::JsonBody;
use crate::routes::crud::{self, IdResource};
use crate::ApiContext;

impl IdResource for Endpoint {
    type Dto = EndpointDto;
    const NOUN: &'static str = "endpoint";
    const COLLECTION: &'static str = "/v1/endpoints";
    const STRIP: &'static str = "endpoint.";

    fn all(state: &StoreState) -> &BTreeMap<String, Self> {
        &state.endpoints
    }

    fn id(&self) -> std::borrow::Cow<'_, str> {
        self.id.as_str().into()
    }

    fn dto(&self) -> EndpointDto {
        EndpointDto::from_model(self)
    }

    fn put(self) -> Command {
        Command::PutEndpoint { endpoint: self }
    }

    fn delete(id: String) -> Command {
        Command::DeleteEndpoint { id }
    }

    fn resource(id: String) -> ResourceRef {
        ResourceRef::Endpoint { id }
    }
}

/// Lists endpoints by id.
#[utoipa::path(get, path = "/v1/endpoints", tag = "endpoints", params(PageQuery),
    responses((status = 200, description = "a page of endpoints", body = EndpointPage)))]
pub async fn list_endpoints(
    State(context): State<ApiContext>,
    Query(query): Query<PageQuery>,
) -> Result<axum::Json<EndpointPage>, ApiError> {
    let (items, next) = crud::list::<Endpoint>(&context, &query)?;
    Ok(axum::Json(EndpointPage { items, next }))
}

/// Creates an endpoint; 409 when the id is taken.
#[utoipa::path(post, path = "/v1/endpoints", tag = "endpoints", request_body = EndpointDto,
    responses((status = 201, description = "created", body = WriteResult),
              (status = 409, description = "the id is taken", body = ErrorBody)))]
pub async fn create_endpoint(
    State(context): State<ApiContext>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<EndpointDto>,
) -> Result<Response, ApiError> {
    let item = body
        .to_model("")
        .map_err(|fields| ApiError::Invalid { fields })?;
    crud::create(&context, actor, item).await
}

/// Reads an endpoint.
#[utoipa::path(get, path = "/v1/endpoints/{id}", tag = "endpoints",
    params(("id" = String, Path, description = "endpoint id")),
    responses((status = 200, description = "the endpoint", body = EndpointDto)))]
pub async fn get_endpoint(
    State(context): State<ApiContext>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    crud::read::<Endpoint>(&context, &id, &headers)
}

/// Creates or replaces an endpoint (idempotent); honours `If-Match` / `If-None-Match`.
#[utoipa::path(put, path = "/v1/endpoints/{id}", tag = "endpoints", request_body = EndpointDto,
    params(("id" = String, Path, description = "endpoint id; must equal the body's")),
    responses((status = 200, description = "replaced (or unchanged)", body = WriteResult),
              (status = 201, description = "created", body = WriteResult)))]
pub async fn put_endpoint(
    State(context): State<ApiContext>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<EndpointDto>,
) -> Result<Response, ApiError> {
    crud::same_id(&body.id, &id)?;
    let item = body
        .to_model("")
        .map_err(|fields| ApiError::Invalid { fields })?;
    crud::replace(&context, id, &headers, actor, item).await
}

/// Deletes an endpoint; 409 while an override targets it.
#[utoipa::path(delete, path = "/v1/endpoints/{id}", tag = "endpoints",
    params(("id" = String, Path, description = "endpoint id")),
    responses((status = 200, description = "deleted", body = WriteResult),
              (status = 409, description = "still in use", body = ErrorBody)))]
pub async fn delete_endpoint(
    State(context): State<ApiContext>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Caller(actor): Caller,
) -> Result<Response, ApiError> {
    crud::delete::<Endpoint>(&context, id, &headers, actor).await
}
