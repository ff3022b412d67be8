//! `/v1/overrides`: list, create, read, replace and delete overrides (drain, force down or
//! up a region or endpoint, until an expiry).

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use gslb_model::model::{Override, ResourceRef, State as StoreState};
use gslb_model::Command;

use crate::auth::Caller;
use crate::dto::overrides::OverrideDto;
use crate::dto::{OverridePage, PageQuery, WriteResult};
use crate::error::{ApiError, ErrorBody};
use crate::extract::JsonBody;
use crate::routes::crud::{self, IdResource};
use crate::ApiContext;

impl IdResource for Override {
    type Dto = OverrideDto;
    const NOUN: &'static str = "override";
    const COLLECTION: &'static str = "/v1/overrides";
    const STRIP: &'static str = "override.";

    fn all(state: &StoreState) -> &BTreeMap<String, Self> {
        &state.overrides
    }

    fn id(&self) -> std::borrow::Cow<'_, str> {
        self.id.as_str().into()
    }

    fn dto(&self) -> OverrideDto {
        OverrideDto::from_model(self)
    }

    fn put(self) -> Command {
        Command::PutOverride { rule: self }
    }

    fn delete(id: String) -> Command {
        Command::DeleteOverride { id }
    }

    fn resource(id: String) -> ResourceRef {
        ResourceRef::Override { id }
    }
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
    let (items, next) = crud::list::<Override>(&context, &query)?;
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
    let item = to_model(&context, &body)?;
    crud::create(&context, actor, item).await
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
    crud::read::<Override>(&context, &id, &headers)
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
    crud::same_id(&body.id, &id)?;
    let item = to_model(&context, &body)?;
    crud::replace(&context, id, &headers, actor, item).await
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
    crud::delete::<Override>(&context, id, &headers, actor).await
}
