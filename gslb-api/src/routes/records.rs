//! `/v1/zones/{zone}/records`: the static record sets of one zone, each addressed by
//! `{name}/{type}` (name absolute, relative to the zone, or `@`). The bodies are
//! `zone_crud`'s; this file says what a record set is to them and documents the routes.

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use gslb_model::model::{
    DomainName, FieldErrors, RecordSet, RecordType, ResourceRef, State as StoreState, Zone,
};
use gslb_model::Command;

use crate::auth::Caller;
use crate::dto::{PageQuery, RecordPage, RecordSetDto, RecordTypeDto, WriteResult};
use crate::error::{ApiError, ErrorBody};
use crate::extract::JsonBody;
use crate::routes::zone_crud::{self, ZoneResource};
use crate::ApiContext;

impl ZoneResource for RecordSet {
    type Dto = RecordSetDto;
    const NOUN: &'static str = "record set";
    const STRIP: &'static str = "rrset.";
    const TYPES: &'static str = "A, AAAA, CNAME, MX, TXT, SRV, CAA, NS or PTR";

    fn parse_type(text: &str) -> Option<RecordType> {
        RecordTypeDto::parse(text).map(RecordTypeDto::to_model)
    }

    fn in_zone<'a>(_: &'a StoreState, zone: &'a Zone) -> Vec<&'a RecordSet> {
        zone.rrsets.iter().collect()
    }

    fn find<'a>(
        _: &'a StoreState,
        zone: &'a Zone,
        name: &DomainName,
        rtype: RecordType,
    ) -> Option<&'a RecordSet> {
        zone.rrset(name, rtype)
    }

    fn key(&self) -> (&DomainName, RecordType) {
        (&self.name, self.rtype)
    }

    fn dto(&self) -> Option<RecordSetDto> {
        RecordSetDto::from_model(self)
    }

    fn from_body(body: &RecordSetDto, zone: &Zone) -> Result<RecordSet, FieldErrors> {
        let mut fields = FieldErrors::default();
        match body.to_model(&zone.apex, zone.default_ttl, "", &mut fields) {
            Some(rrset) if fields.is_empty() => Ok(rrset),
            _ => Err(fields),
        }
    }

    fn put(self, apex: DomainName) -> Command {
        Command::PutRecordSet {
            zone: apex,
            rrset: self,
        }
    }

    fn delete(apex: DomainName, name: DomainName, rtype: RecordType) -> Command {
        Command::DeleteRecordSet {
            zone: apex,
            name,
            rtype,
        }
    }

    fn resource(apex: DomainName, name: DomainName, rtype: RecordType) -> ResourceRef {
        ResourceRef::RecordSet {
            zone: apex,
            name,
            rtype,
        }
    }
}

/// Lists a zone's record sets, ordered by name then type.
#[utoipa::path(get, path = "/v1/zones/{zone}/records", tag = "records",
    params(("zone" = String, Path, description = "the apex"), PageQuery),
    responses((status = 200, description = "a page of record sets", body = RecordPage)))]
pub async fn list_records(
    State(context): State<ApiContext>,
    Path(zone): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<axum::Json<RecordPage>, ApiError> {
    let (items, next) = zone_crud::list::<RecordSet>(&context, &zone, &query)?;
    Ok(axum::Json(RecordPage { items, next }))
}

/// Creates a record set; 409 when one with that name and type exists.
#[utoipa::path(post, path = "/v1/zones/{zone}/records", tag = "records",
    params(("zone" = String, Path, description = "the apex")),
    request_body = RecordSetDto,
    responses((status = 201, description = "created", body = WriteResult),
              (status = 409, description = "it exists", body = ErrorBody)))]
pub async fn create_record(
    State(context): State<ApiContext>,
    Path(zone): Path<String>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<RecordSetDto>,
) -> Result<Response, ApiError> {
    zone_crud::create::<RecordSet>(&context, &zone, actor, &body).await
}

/// Reads one record set.
#[utoipa::path(get, path = "/v1/zones/{zone}/records/{name}/{type}", tag = "records",
    params(("zone" = String, Path, description = "the apex"),
           ("name" = String, Path, description = "owner name: absolute, relative or @"),
           ("type" = String, Path, description = "record type, e.g. A")),
    responses((status = 200, description = "the record set", body = RecordSetDto)))]
pub async fn get_record(
    State(context): State<ApiContext>,
    Path((zone, name, rtype)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    zone_crud::read::<RecordSet>(&context, (&zone, &name, &rtype), &headers)
}

/// Creates or replaces one record set (idempotent); honours `If-Match` / `If-None-Match`.
#[utoipa::path(put, path = "/v1/zones/{zone}/records/{name}/{type}", tag = "records",
    params(("zone" = String, Path, description = "the apex"),
           ("name" = String, Path, description = "owner name: absolute, relative or @"),
           ("type" = String, Path, description = "record type, e.g. A")),
    request_body = RecordSetDto,
    responses((status = 200, description = "replaced (or unchanged)", body = WriteResult),
              (status = 201, description = "created", body = WriteResult)))]
pub async fn put_record(
    State(context): State<ApiContext>,
    Path((zone, name, rtype)): Path<(String, String, String)>,
    headers: HeaderMap,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<RecordSetDto>,
) -> Result<Response, ApiError> {
    zone_crud::replace::<RecordSet>(&context, (&zone, &name, &rtype), &headers, actor, &body).await
}

/// Deletes one record set.
#[utoipa::path(delete, path = "/v1/zones/{zone}/records/{name}/{type}", tag = "records",
    params(("zone" = String, Path, description = "the apex"),
           ("name" = String, Path, description = "owner name: absolute, relative or @"),
           ("type" = String, Path, description = "record type, e.g. A")),
    responses((status = 200, description = "deleted", body = WriteResult)))]
pub async fn delete_record(
    State(context): State<ApiContext>,
    Path((zone, name, rtype)): Path<(String, String, String)>,
    headers: HeaderMap,
    Caller(actor): Caller,
) -> Result<Response, ApiError> {
    zone_crud::delete::<RecordSet>(&context, (&zone, &name, &rtype), &headers, actor).await
}
