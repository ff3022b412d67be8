//! `/v1/checks`: list, create, read, replace and delete health checks of endpoints (and
//! deep checks of regions).

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use gslb_model::model::{Check, ResourceRef, State as StoreState};
use gslb_model::Command;

use crate::auth::Caller;
use crate::dto::check::CheckDto;
use crate::dto::{CheckPage, PageQuery, WriteResult};
use crate::error::{ApiError, ErrorBody};
use crate::extract::JsonBody;
use crate::routes::crud::{self, IdResource};
use crate::ApiContext;

impl IdResource for Check {
    type Dto = CheckDto;
    const NOUN: &'static str = "check";
    const COLLECTION: &'static str = "/v1/checks";
    const STRIP: &'static str = "check.";

    fn all(state: &StoreState) -> &BTreeMap<String, Self> {
        &state.checks
    }

    fn id(&self) -> std::borrow::Cow<'_, str> {
        self.id.as_str().into()
    }

    fn dto(&self) -> CheckDto {
        CheckDto::from_model(self)
    }

    fn put(self) -> Command {
        Command::PutCheck {
            check: Box::new(self),
        }
    }

    fn delete(id: String) -> Command {
        Command::DeleteCheck { id }
    }

    fn resource(id: String) -> ResourceRef {
        ResourceRef::Check { id }
    }
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
    let (items, next) = crud::list::<Check>(&context, &query)?;
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
    let item = to_model(&context.node.state(), &body)?;
    crud::create(&context, actor, item).await
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
    crud::read::<Check>(&context, &id, &headers)
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
    crud::same_id(&body.id, &id)?;
    let item = to_model(&context.node.state(), &body)?;
    crud::replace(&context, id, &headers, actor, item).await
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
    crud::delete::<Check>(&context, id, &headers, actor).await
}
