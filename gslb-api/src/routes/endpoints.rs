//! `/v1/endpoints`: list, create, read, replace and delete endpoints (the region must exist).

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use gslb_store::model::Endpoint;
use gslb_store::model::{Expected, ResourceRef};
use gslb_store::Command;

use crate::auth::Caller;
use crate::dto::{EndpointDto, EndpointPage, PageQuery, WriteResult};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{check_preconditions, etag_of, page_limit, paginate, JsonBody};
use crate::routes::{precondition, with_etag_for, written};
use crate::ApiContext;

fn etag(endpoint: &Endpoint) -> String {
    etag_of(&EndpointDto::from_model(endpoint))
}

/// Lists endpoints by id.
#[utoipa::path(get, path = "/v1/endpoints", tag = "endpoints", params(PageQuery),
    responses((status = 200, description = "a page of endpoints", body = EndpointPage)))]
pub async fn list_endpoints(
    State(context): State<ApiContext>,
    Query(query): Query<PageQuery>,
) -> Result<axum::Json<EndpointPage>, ApiError> {
    let limit = page_limit(&query)?;
    let state = context.node.state();
    let (items, next) = paginate(
        state.endpoints.iter(),
        query.after.as_ref(),
        limit,
        Clone::clone,
        |endpoint| Some(EndpointDto::from_model(endpoint)),
    );
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
    let endpoint = body
        .to_model("")
        .map_err(|fields| ApiError::Invalid { fields })?;
    let state = context.node.state();
    let guard = Some((
        ResourceRef::Endpoint {
            id: endpoint.id.clone(),
        },
        Expected::Absent,
    ));
    if state.endpoints.contains_key(&endpoint.id) {
        return Err(ApiError::conflict(format!(
            "endpoint {:?} exists; use PUT /v1/endpoints/{} to replace it",
            endpoint.id, endpoint.id
        )));
    }
    let tag = etag(&endpoint);
    let outcome = context
        .write_if(
            guard,
            Command::PutEndpoint { endpoint },
            actor,
            false,
            "endpoint.",
        )
        .await?;
    Ok(written(true, Some(tag), outcome))
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
    let state = context.node.state();
    let endpoint = state
        .endpoints
        .get(&id)
        .ok_or_else(|| ApiError::NotFound(format!("no endpoint {id:?}")))?;
    let dto = EndpointDto::from_model(endpoint);
    let tag = etag_of(&dto);
    Ok(with_etag_for(&headers, dto, &tag))
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
    if body.id != id {
        return Err(ApiError::field(
            "id",
            format!("must equal the id in the path ({id:?}), got {:?}", body.id),
        ));
    }
    let endpoint = body
        .to_model("")
        .map_err(|fields| ApiError::Invalid { fields })?;
    let state = context.node.state();
    let current = state.endpoints.get(&id).map(etag);
    check_preconditions(&headers, current.as_deref())?;
    let guard = precondition(&headers, ResourceRef::Endpoint { id: id.clone() }, &state);
    let tag = etag(&endpoint);
    let outcome = context
        .write_if(
            guard,
            Command::PutEndpoint { endpoint },
            actor,
            false,
            "endpoint.",
        )
        .await?;
    Ok(written(current.is_none(), Some(tag), outcome))
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
    let state = context.node.state();
    let current = state
        .endpoints
        .get(&id)
        .map(etag)
        .ok_or_else(|| ApiError::NotFound(format!("no endpoint {id:?}")))?;
    check_preconditions(&headers, Some(&current))?;
    let guard = precondition(&headers, ResourceRef::Endpoint { id: id.clone() }, &state);
    let outcome = context
        .write_if(guard, Command::DeleteEndpoint { id }, actor, true, "")
        .await?;
    Ok(written(false, None, outcome))
}
