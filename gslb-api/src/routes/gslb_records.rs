//! `/v1/zones/{zone}/gslb-records`: the names of a zone answered by policy, each addressed by
//! `{name}/{type}` (name absolute, relative to the zone, or `@`).

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use gslb_store::model::{DomainName, FieldErrors, GslbRecord, RecordType};
use gslb_store::model::{Expected, ResourceRef};
use gslb_store::Command;

use crate::auth::Caller;
use crate::dto::gslb_record::GslbRecordDto;
use crate::dto::{GslbRecordPage, PageQuery, RecordTypeDto, WriteResult};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{check_preconditions, etag_of, page_limit, paginate, JsonBody};
use crate::routes::zones::{apex_param, zone_or_404};
use crate::routes::{precondition, with_etag_for, written};
use crate::ApiContext;

fn record_etag(record: &GslbRecord) -> Option<String> {
    GslbRecordDto::from_model(record).map(|dto| etag_of(&dto))
}

/// Parses `{name}` and `{type}` inside zone `apex`.
fn key_params(
    apex: &DomainName,
    name: &str,
    rtype: &str,
) -> Result<(DomainName, RecordType), ApiError> {
    let mut fields = FieldErrors::default();
    let parsed_name = DomainName::parse_relative_to(name, apex)
        .map_err(|error| fields.push("name", error.to_string()))
        .ok();
    let parsed_type = RecordTypeDto::parse(rtype)
        .map(RecordTypeDto::to_model)
        .filter(|t| matches!(t, RecordType::A | RecordType::AAAA | RecordType::CNAME));
    if parsed_type.is_none() {
        fields.push("type", format!("must be A, AAAA or CNAME, got {rtype:?}"));
    }
    match (parsed_name, parsed_type) {
        (Some(name), Some(rtype)) => Ok((name, rtype)),
        _ => Err(ApiError::BadRequest {
            message: format!("bad gslb record key {name}/{rtype}: {fields}"),
            fields,
        }),
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
    let apex = apex_param(&zone)?;
    let limit = page_limit(&query)?;
    let after = match query.after.as_deref() {
        Some(text) => {
            let (name, rtype) = text.rsplit_once(' ').unwrap_or((text, ""));
            Some(key_params(&apex, name, rtype)?)
        }
        None => None,
    };
    let state = context.node.state();
    zone_or_404(&state, &apex)?;
    let keyed: Vec<((DomainName, RecordType), &GslbRecord)> = state
        .gslb_records_in_zone(&apex)
        .map(|record| ((record.name.clone(), record.rtype), record))
        .collect();
    let (items, next) = paginate(
        keyed.iter().map(|(key, record)| (key, *record)),
        after.as_ref(),
        limit,
        |(name, rtype)| format!("{name} {rtype}"),
        GslbRecordDto::from_model,
    );
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
    let apex = apex_param(&zone)?;
    let state = context.node.state();
    zone_or_404(&state, &apex)?;
    let record = body
        .to_model(&apex, "")
        .map_err(|fields| ApiError::Invalid { fields })?;
    if state.gslb_record(&record.name, record.rtype).is_some() {
        return Err(ApiError::conflict(format!(
            "gslb record {} {} exists; use PUT to replace it",
            record.name, record.rtype
        )));
    }
    let guard = Some((
        ResourceRef::GslbRecord {
            name: record.name.clone(),
            rtype: record.rtype,
        },
        Expected::Absent,
    ));
    let etag = record_etag(&record);
    let outcome = context
        .write_if(
            guard,
            Command::PutGslbRecord { record },
            actor,
            false,
            "record.",
        )
        .await?;
    Ok(written(true, etag, outcome))
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
    let apex = apex_param(&zone)?;
    let (name, rtype) = key_params(&apex, &name, &rtype)?;
    let state = context.node.state();
    zone_or_404(&state, &apex)?;
    let dto = state
        .gslb_record(&name, rtype)
        .and_then(GslbRecordDto::from_model)
        .ok_or_else(|| ApiError::NotFound(format!("no gslb record {name} {rtype}")))?;
    let etag = etag_of(&dto);
    Ok(with_etag_for(&headers, dto, &etag))
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
    let apex = apex_param(&zone)?;
    let (name, rtype) = key_params(&apex, &name, &rtype)?;
    let state = context.node.state();
    zone_or_404(&state, &apex)?;
    let record = body
        .to_model(&apex, "")
        .map_err(|fields| ApiError::Invalid { fields })?;
    let mut fields = FieldErrors::default();
    if record.name != name {
        fields.push(
            "name",
            format!(
                "must equal the name in the path ({name}), got {}",
                record.name
            ),
        );
    }
    if record.rtype != rtype {
        fields.push(
            "type",
            format!(
                "must equal the type in the path ({rtype}), got {}",
                record.rtype
            ),
        );
    }
    fields
        .into_result()
        .map_err(|fields| ApiError::Invalid { fields })?;
    let current = state.gslb_record(&name, rtype).and_then(record_etag);
    check_preconditions(&headers, current.as_deref())?;
    let resource = ResourceRef::GslbRecord {
        name: name.clone(),
        rtype,
    };
    let guard = precondition(&headers, resource, &state);
    let etag = record_etag(&record);
    let outcome = context
        .write_if(
            guard,
            Command::PutGslbRecord { record },
            actor,
            false,
            "record.",
        )
        .await?;
    Ok(written(current.is_none(), etag, outcome))
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
    let apex = apex_param(&zone)?;
    let (name, rtype) = key_params(&apex, &name, &rtype)?;
    let state = context.node.state();
    zone_or_404(&state, &apex)?;
    let current = state
        .gslb_record(&name, rtype)
        .and_then(record_etag)
        .ok_or_else(|| ApiError::NotFound(format!("no gslb record {name} {rtype}")))?;
    check_preconditions(&headers, Some(&current))?;
    let resource = ResourceRef::GslbRecord {
        name: name.clone(),
        rtype,
    };
    let guard = precondition(&headers, resource, &state);
    let outcome = context
        .write_if(
            guard,
            Command::DeleteGslbRecord { name, rtype },
            actor,
            true,
            "",
        )
        .await?;
    Ok(written(false, None, outcome))
}
