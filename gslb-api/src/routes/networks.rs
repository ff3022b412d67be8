//! `/v1/networks`: list, create, read, replace and delete entries of the replicated
//! client-network table (CIDR → continent, country, subdivision, ASN, coordinates), which DNS
//! nodes and `/v1/resolve` locate clients by before their GeoIP database.
//!
//! The id is the network's canonical CIDR text with the `/` percent-encoded:
//! `/v1/networks/198.51.100.0%2F24`, `/v1/networks/2001%3Adb8%3A%3A%2F32`. A path that
//! parses as a CIDR is read in canonical form (`2001:DB8::/32` is `2001:db8::/32`).

use std::borrow::Cow;
use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use gslb_model::model::{Network, ResourceRef, State as StoreState};
use gslb_model::Command;

use crate::auth::Caller;
use crate::dto::network::parse_cidr;
use crate::dto::{NetworkDto, NetworkPage, PageQuery, WriteResult};
use crate::error::{ApiError, ErrorBody};
use crate::extract::JsonBody;
use crate::routes::crud::{self, IdResource};
use crate::ApiContext;

impl IdResource for Network {
    type Dto = NetworkDto;
    const NOUN: &'static str = "network";
    const COLLECTION: &'static str = "/v1/networks";
    const STRIP: &'static str = "network.";

    fn all(state: &StoreState) -> &BTreeMap<String, Self> {
        &state.networks
    }

    fn id(&self) -> Cow<'_, str> {
        Cow::Owned(self.key())
    }

    fn dto(&self) -> NetworkDto {
        NetworkDto::from_model(self)
    }

    fn put(self) -> Command {
        Command::PutNetwork { network: self }
    }

    fn delete(id: String) -> Command {
        Command::DeleteNetwork { cidr: id }
    }

    fn resource(id: String) -> ResourceRef {
        ResourceRef::Network { cidr: id }
    }
}

/// The canonical form of a path's CIDR; text that is no CIDR stays as given (and is found
/// nowhere).
fn canonical(id: &str) -> String {
    parse_cidr(id).map_or_else(|_| id.to_string(), |cidr| cidr.to_string())
}

/// Lists client networks by their CIDR text.
#[utoipa::path(get, path = "/v1/networks", tag = "networks", params(PageQuery),
    responses((status = 200, description = "a page of client networks", body = NetworkPage)))]
pub async fn list_networks(
    State(context): State<ApiContext>,
    Query(query): Query<PageQuery>,
) -> Result<axum::Json<NetworkPage>, ApiError> {
    let (items, next) = crud::list::<Network>(&context, &query)?;
    Ok(axum::Json(NetworkPage { items, next }))
}

/// Creates a client network; 409 when the CIDR is in the table already.
#[utoipa::path(post, path = "/v1/networks", tag = "networks", request_body = NetworkDto,
    responses((status = 201, description = "created", body = WriteResult),
              (status = 409, description = "the network exists", body = ErrorBody)))]
pub async fn create_network(
    State(context): State<ApiContext>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<NetworkDto>,
) -> Result<Response, ApiError> {
    let item = body
        .to_model("")
        .map_err(|fields| ApiError::Invalid { fields })?;
    crud::create(&context, actor, item).await
}

/// Reads a client network.
#[utoipa::path(get, path = "/v1/networks/{cidr}", tag = "networks",
    params(("cidr" = String, Path, description = "the network, `/` percent-encoded \
                                                  (`198.51.100.0%2F24`)")),
    responses((status = 200, description = "the network", body = NetworkDto)))]
pub async fn get_network(
    State(context): State<ApiContext>,
    Path(cidr): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    crud::read::<Network>(&context, &canonical(&cidr), &headers)
}

/// Creates or replaces a client network (idempotent); honours `If-Match` / `If-None-Match`.
#[utoipa::path(put, path = "/v1/networks/{cidr}", tag = "networks", request_body = NetworkDto,
    params(("cidr" = String, Path, description = "the network, `/` percent-encoded; must \
                                                  equal the body's")),
    responses((status = 200, description = "replaced (or unchanged)", body = WriteResult),
              (status = 201, description = "created", body = WriteResult)))]
pub async fn put_network(
    State(context): State<ApiContext>,
    Path(cidr): Path<String>,
    headers: HeaderMap,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<NetworkDto>,
) -> Result<Response, ApiError> {
    let item = body
        .to_model("")
        .map_err(|fields| ApiError::Invalid { fields })?;
    let id = canonical(&cidr);
    if item.key() != id {
        return Err(ApiError::field(
            "cidr",
            format!(
                "must equal the network in the path ({cidr:?}), got {:?}",
                body.cidr
            ),
        ));
    }
    crud::replace(&context, id, &headers, actor, item).await
}

/// Deletes a client network; clients inside it fall back to the nodes' config table and
/// GeoIP database.
#[utoipa::path(delete, path = "/v1/networks/{cidr}", tag = "networks",
    params(("cidr" = String, Path, description = "the network, `/` percent-encoded")),
    responses((status = 200, description = "deleted", body = WriteResult)))]
pub async fn delete_network(
    State(context): State<ApiContext>,
    Path(cidr): Path<String>,
    headers: HeaderMap,
    Caller(actor): Caller,
) -> Result<Response, ApiError> {
    crud::delete::<Network>(&context, canonical(&cidr), &headers, actor).await
}
