//! `/v1/zones/{zone}/gslb-records`: the names of a zone answered by policy, each addressed by
//! `{name}/{type}` (name absolute, relative to the zone, or `@`). The bodies are
//! `zone_crud`'s; this file says what a GSLB record is to them and documents the routes.

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use gslb_model::model::{
    DomainName, FieldErrors, GslbRecord, RecordType, ResourceRef, State as StoreState, Zone,
};
use gslb_model::Command;

use crate::auth::Caller;
use crate::dto::gslb_record::GslbRecordDto;
use crate::dto::{GslbRecordPage, PageQuery, RecordTypeDto, WriteResult};
use crate::error::{ApiError, ErrorBody};
use crate::extract::JsonBody;
use crate::routes::zone_crud::{self, ZoneResource};
use crate::ApiContext;

impl ZoneResource for GslbRecord {
    type Dto = GslbRecordDto;
    const NOUN: &'static str = "gslb record";
    const STRIP: &'static str = "record.";
    const TYPES: &'static str = "A, AAAA or CNAME";

    fn parse_type(text: &str) -> Option<RecordType> {
        RecordTypeDto::parse(text)
            .map(RecordTypeDto::to_model)
            .filter(|t| matches!(t, RecordType::A | RecordType::AAAA | RecordType::CNAME))
    }

    fn in_zone<'a>(state: &'a StoreState, zone: &'a Zone) -> Vec<&'a GslbRecord> {
        state.gslb_records_in_zone(&zone.apex).collect()
    }

    fn find<'a>(
        state: &'a StoreState,
        _: &'a Zone,
        name: &DomainName,
        rtype: RecordType,
    ) -> Option<&'a GslbRecord> {
        state.gslb_record(name, rtype)
    }

    fn key(&self) -> (&DomainName, RecordType) {
        (&self.name, self.rtype)
    }

    fn dto(&self) -> Option<GslbRecordDto> {
        GslbRecordDto::from_model(self)
    }

    fn from_body(body: &GslbRecordDto, zone: &Zone) -> Result<GslbRecord, FieldErrors> {
        body.to_model(&zone.apex, "")
    }

    fn put(self, _: DomainName) -> Command {
        Command::PutGslbRecord { record: self }
    }

    fn delete(_: DomainName, name: DomainName, rtype: RecordType) -> Command {
        Command::DeleteGslbRecord { name, rtype }
    }

    fn resource(_: DomainName, name: DomainName, rtype: RecordType) -> ResourceRef {
        ResourceRef::GslbRecord { name, rtype }
    }
}

/// Lists a zone's GSLB records, by name then type.
#[utoipa::path(get, path = "/v1/zones/{zone}/gslb-records", tag = "gslb-records",
    params(("zone" = String, Path, description = "the apex"), PageQuery),
    responses((status = 200, description = "a page of GSLB records", body = GslbRecordPage)))]
pub async fn list_gslb_records(
    State(context): State<ApiContext>,
    Path(zone): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<axum::Json<GslbRecordPage>, ApiError> {
    let (items, next) = zone_crud::list::<GslbRecord>(&context, &zone, &query)?;
    Ok(axum::Json(GslbRecordPage { items, next }))
}

/// Creates a GSLB record; 409 when one with that name and type exists.
#[utoipa::path(post, path = "/v1/zones/{zone}/gslb-records", tag = "gslb-records",
    params(("zone" = String, Path, description = "the apex")),
    request_body = GslbRecordDto,
    responses((status = 201, description = "created", body = WriteResult),
              (status = 409, description = "it exists", body = ErrorBody)))]
pub async fn create_gslb_record(
    State(context): State<ApiContext>,
    Path(zone): Path<String>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<GslbRecordDto>,
) -> Result<Response, ApiError> {
    zone_crud::create::<GslbRecord>(&context, &zone, actor, &body).await
}

/// Reads one GSLB record.
#[utoipa::path(get, path = "/v1/zones/{zone}/gslb-records/{name}/{type}", tag = "gslb-records",
    params(("zone" = String, Path, description = "the apex"),
           ("name" = String, Path, description = "owner name: absolute, relative or @"),
           ("type" = String, Path, description = "A, AAAA or CNAME")),
    responses((status = 200, description = "the record", body = GslbRecordDto)))]
pub async fn get_gslb_record(
    State(context): State<ApiContext>,
    Path((zone, name, rtype)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    zone_crud::read::<GslbRecord>(&context, (&zone, &name, &rtype), &headers)
}

/// Creates or replaces one GSLB record (idempotent); honours `If-Match` / `If-None-Match`.
#[utoipa::path(put, path = "/v1/zones/{zone}/gslb-records/{name}/{type}", tag = "gslb-records",
    params(("zone" = String, Path, description = "the apex"),
           ("name" = String, Path, description = "owner name: absolute, relative or @"),
           ("type" = String, Path, description = "A, AAAA or CNAME")),
    request_body = GslbRecordDto,
    responses((status = 200, description = "replaced (or unchanged)", body = WriteResult),
              (status = 201, description = "created", body = WriteResult)))]
pub async fn put_gslb_record(
    State(context): State<ApiContext>,
    Path((zone, name, rtype)): Path<(String, String, String)>,
    headers: HeaderMap,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<GslbRecordDto>,
) -> Result<Response, ApiError> {
    zone_crud::replace::<GslbRecord>(&context, (&zone, &name, &rtype), &headers, actor, &body).await
}

/// Deletes one GSLB record.
#[utoipa::path(delete, path = "/v1/zones/{zone}/gslb-records/{name}/{type}", tag = "gslb-records",
    params(("zone" = String, Path, description = "the apex"),
           ("name" = String, Path, description = "owner name: absolute, relative or @"),
           ("type" = String, Path, description = "A, AAAA or CNAME")),
    responses((status = 200, description = "deleted", body = WriteResult)))]
pub async fn delete_gslb_record(
    State(context): State<ApiContext>,
    Path((zone, name, rtype)): Path<(String, String, String)>,
    headers: HeaderMap,
    Caller(actor): Caller,
) -> Result<Response, ApiError> {
    zone_crud::delete::<GslbRecord>(&context, (&zone, &name, &rtype), &headers, actor).await
}
