//! `/v1/zones/{zone}/records`: the static record sets of one zone, each addressed by
//! `{name}/{type}` (name absolute, relative to the zone, or `@`).

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use gslb_store::model::{DomainName, FieldErrors, RecordSet, RecordType};
use gslb_store::model::{Expected, ResourceRef};
use gslb_store::Command;

use crate::auth::Caller;
use crate::dto::{PageQuery, RecordPage, RecordSetDto, RecordTypeDto, WriteResult};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{check_preconditions, etag_of, page_limit, paginate, JsonBody};
use crate::routes::zones::{apex_param, zone_or_404};
use crate::routes::{precondition, with_etag_for, written};
use crate::ApiContext;

/// The ETag of a record set.
fn set_etag(set: &RecordSet) -> Option<String> {
    RecordSetDto::from_model(set).map(|dto| etag_of(&dto))
}

/// Parses `{name}` and `{type}` path segments inside zone `apex`.
fn key_params(
    apex: &DomainName,
    name: &str,
    rtype: &str,
) -> Result<(DomainName, RecordType), ApiError> {
    let mut fields = FieldErrors::default();
    let parsed_name = DomainName::parse_relative_to(name, apex)
        .map_err(|error| fields.push("name", error.to_string()))
        .ok();
    let parsed_type = RecordTypeDto::parse(rtype);
    if parsed_type.is_none() {
        fields.push(
            "type",
            format!("must be A, AAAA, CNAME, MX, TXT, SRV, CAA, NS or PTR, got {rtype:?}"),
        );
    }
    match (parsed_name, parsed_type) {
        (Some(name), Some(rtype)) => Ok((name, rtype.to_model())),
        _ => Err(ApiError::BadRequest {
            message: format!("bad record key {name}/{rtype}: {fields}"),
            fields,
        }),
    }
}

/// Parses a record-list cursor: `<name> <TYPE>`.
fn cursor(apex: &DomainName, text: &str) -> Result<(DomainName, RecordType), ApiError> {
    let (name, rtype) = text.rsplit_once(' ').unwrap_or((text, ""));
    key_params(apex, name, rtype)
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
    let apex = apex_param(&zone)?;
    let limit = page_limit(&query)?;
    let after = query
        .after
        .as_deref()
        .map(|text| cursor(&apex, text))
        .transpose()?;
    let state = context.node.state();
    let zone = zone_or_404(&state, &apex)?;
    let keyed: Vec<((DomainName, RecordType), &RecordSet)> = zone
        .rrsets
        .iter()
        .map(|set| ((set.name.clone(), set.rtype), set))
        .collect();
    let (items, next) = paginate(
        keyed.iter().map(|(key, set)| (key, *set)),
        after.as_ref(),
        limit,
        |(name, rtype)| format!("{name} {rtype}"),
        RecordSetDto::from_model,
    );
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
    let apex = apex_param(&zone)?;
    let state = context.node.state();
    let zone = zone_or_404(&state, &apex)?;
    let mut fields = FieldErrors::default();
    let Some(rrset) = body.to_model(&apex, zone.default_ttl, "", &mut fields) else {
        return Err(ApiError::Invalid { fields });
    };
    if zone.rrset(&rrset.name, rrset.rtype).is_some() {
        return Err(ApiError::conflict(format!(
            "record set {} {} exists; use PUT to replace it",
            rrset.name, rrset.rtype
        )));
    }
    let guard = Some((
        ResourceRef::RecordSet {
            zone: apex.clone(),
            name: rrset.name.clone(),
            rtype: rrset.rtype,
        },
        Expected::Absent,
    ));
    let etag = set_etag(&rrset);
    let outcome = context
        .write_if(
            guard,
            Command::PutRecordSet { zone: apex, rrset },
            actor,
            false,
            "rrset.",
        )
        .await?;
    Ok(written(true, etag, outcome))
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
    let apex = apex_param(&zone)?;
    let (name, rtype) = key_params(&apex, &name, &rtype)?;
    let state = context.node.state();
    let zone = zone_or_404(&state, &apex)?;
    let set = zone
        .rrset(&name, rtype)
        .and_then(RecordSetDto::from_model)
        .ok_or_else(|| ApiError::NotFound(format!("no record set {name} {rtype} in {apex}")))?;
    let etag = etag_of(&set);
    Ok(with_etag_for(&headers, set, &etag))
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
    let apex = apex_param(&zone)?;
    let (name, rtype) = key_params(&apex, &name, &rtype)?;
    let state = context.node.state();
    let zone = zone_or_404(&state, &apex)?;
    let mut fields = FieldErrors::default();
    let rrset = body.to_model(&apex, zone.default_ttl, "", &mut fields);
    if let Some(rrset) = &rrset {
        if rrset.name != name {
            fields.push(
                "name",
                format!(
                    "must equal the name in the path ({name}), got {}",
                    rrset.name
                ),
            );
        }
        if rrset.rtype != rtype {
            fields.push(
                "type",
                format!(
                    "must equal the type in the path ({rtype}), got {}",
                    rrset.rtype
                ),
            );
        }
    }
    let Some(rrset) = rrset.filter(|_| fields.is_empty()) else {
        return Err(ApiError::Invalid { fields });
    };
    let current = zone.rrset(&name, rtype).and_then(set_etag);
    check_preconditions(&headers, current.as_deref())?;
    let resource = ResourceRef::RecordSet {
        zone: apex.clone(),
        name: name.clone(),
        rtype,
    };
    let guard = precondition(&headers, resource, &state);
    let etag = set_etag(&rrset);
    let outcome = context
        .write_if(
            guard,
            Command::PutRecordSet { zone: apex, rrset },
            actor,
            false,
            "rrset.",
        )
        .await?;
    Ok(written(current.is_none(), etag, outcome))
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
    let apex = apex_param(&zone)?;
    let (name, rtype) = key_params(&apex, &name, &rtype)?;
    let state = context.node.state();
    let zone = zone_or_404(&state, &apex)?;
    let current = zone
        .rrset(&name, rtype)
        .and_then(set_etag)
        .ok_or_else(|| ApiError::NotFound(format!("no record set {name} {rtype} in {apex}")))?;
    check_preconditions(&headers, Some(&current))?;
    let resource = ResourceRef::RecordSet {
        zone: apex.clone(),
        name: name.clone(),
        rtype,
    };
    let guard = precondition(&headers, resource, &state);
    let outcome = context
        .write_if(
            guard,
            Command::DeleteRecordSet {
                zone: apex,
                name,
                rtype,
            },
            actor,
            true,
            "",
        )
        .await?;
    Ok(written(false, None, outcome))
}
