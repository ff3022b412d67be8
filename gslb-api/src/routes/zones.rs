//! `/v1/zones`: list, create, read, replace and delete zones, and `/v1/zones/{zone}/zonefile`
//! to import (RFC 1035 text, as `text/dns` or JSON `{"text": ...}`) and export a zone.
//!
//! An export ends with the zone's GSLB records as a commented block (`; gslb A www {...}`),
//! one line per record holding its JSON as `GET /v1/zones/{zone}/gslb-records` gives it (what
//! `gslbctl create gslb-records --zone ZONE -f` reads). A comment, not records: the file stays
//! a valid master file for any tool (another server loading it would otherwise serve one
//! fixed answer for a name whose answer depends on live health), and `zone import` of the
//! file ignores the block and leaves the zone's GSLB records as they are.

use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gslb_model::model::{DomainName, Zone};
use gslb_model::model::{Expected, ResourceRef};
use gslb_model::zonefile::{export_zone, parse_zone_with_warnings};
use gslb_model::Command;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::dto::zone::{parse_apex, ZoneTransferDto};
use crate::dto::{PageQuery, WriteResult, ZoneDto, ZonePage, ZoneSummary};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{
    check_preconditions, etag_of, is_json, page_limit, paginate, parse_json, JsonBody,
};
use crate::routes::{precondition, with_etag_for, written};
use crate::zone_import;
use crate::ApiContext;

/// The JSON form of a zone-file import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ZoneFileBody {
    /// The RFC 1035 master file.
    pub text: String,
}

/// Parses a `{zone}` path segment.
pub fn apex_param(text: &str) -> Result<DomainName, ApiError> {
    parse_apex(text).map_err(|message| ApiError::BadRequest {
        message: format!("zone {text:?} is not a domain name: {message}"),
        fields: {
            let mut fields = gslb_model::model::FieldErrors::default();
            fields.push("zone", message);
            fields
        },
    })
}

/// The `after` of a zone page: a `next` this API printed, so the apex in presentation form,
/// printable ASCII with escapes (no IDNA, no spaces).
fn zone_cursor(text: &str) -> Result<DomainName, ApiError> {
    if !text.bytes().all(|byte| (0x21..=0x7e).contains(&byte)) {
        return Err(ApiError::BadRequest {
            message: format!(
                "after {text:?} is not a `next` of a previous page (an apex in presentation \
                 form: printable ASCII, escapes as \\DDD)"
            ),
            fields: Default::default(),
        });
    }
    apex_param(text)
}

/// The zone at `apex`, or 404.
pub fn zone_or_404<'a>(
    state: &'a gslb_model::model::State,
    apex: &DomainName,
) -> Result<&'a Zone, ApiError> {
    state
        .zones
        .get(apex)
        .map(|zone| &**zone)
        .ok_or_else(|| ApiError::NotFound(format!("no zone {apex}")))
}

/// The ETag of a zone.
pub fn zone_etag(zone: &Zone) -> String {
    etag_of(&ZoneDto::from_model(zone))
}

/// Lists zones.
#[utoipa::path(get, path = "/v1/zones", tag = "zones", params(PageQuery),
    responses((status = 200, description = "a page of zones", body = ZonePage)))]
pub async fn list_zones(
    State(context): State<ApiContext>,
    Query(query): Query<PageQuery>,
) -> Result<axum::Json<ZonePage>, ApiError> {
    let limit = page_limit(&query)?;
    let after = query.after.as_deref().map(zone_cursor).transpose()?;
    let state = context.node.state();
    let (items, next) = paginate(
        state.zones.iter(),
        after.as_ref(),
        limit,
        ToString::to_string,
        |zone| Some(ZoneSummary::from_model(zone)),
    );
    Ok(axum::Json(ZonePage { items, next }))
}

/// Creates a zone; 409 when it exists.
#[utoipa::path(post, path = "/v1/zones", tag = "zones", request_body = ZoneDto,
    responses((status = 201, description = "created", body = WriteResult),
              (status = 409, description = "the zone exists", body = ErrorBody)))]
pub async fn create_zone(
    State(context): State<ApiContext>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<ZoneDto>,
) -> Result<Response, ApiError> {
    let zone = body
        .to_model("")
        .map_err(|fields| ApiError::Invalid { fields })?;
    if context.node.state().zones.contains_key(&zone.apex) {
        return Err(ApiError::conflict(format!(
            "zone {} exists; use PUT /v1/zones/{} to replace it",
            zone.apex, zone.apex
        )));
    }
    let guard = Some((
        ResourceRef::Zone {
            apex: zone.apex.clone(),
        },
        Expected::Absent,
    ));
    put(context, actor, zone, true, guard).await
}

/// Writes a whole zone, guarded by `guard` (see `precondition`): validated off the runtime,
/// and staged through Raft in bounded pieces when it is big (`zone_import`).
async fn put(
    context: ApiContext,
    actor: gslb_model::model::Actor,
    zone: Zone,
    created: bool,
    guard: Option<(ResourceRef, Expected)>,
) -> Result<Response, ApiError> {
    let checked = zone_import::check_zone(&context, zone, "zone.").await?;
    let outcome = zone_import::write_zone(&context, actor, checked.zone, guard, "zone.").await?;
    let etag = zone_import::CheckedZone::etag(checked.etag).await?;
    Ok(written(created, Some(etag), outcome))
}

/// Reads a zone with every record set.
#[utoipa::path(get, path = "/v1/zones/{zone}", tag = "zones",
    params(("zone" = String, Path, description = "the apex, e.g. example.com.")),
    responses((status = 200, description = "the zone", body = ZoneDto)))]
pub async fn get_zone(
    State(context): State<ApiContext>,
    Path(zone): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let apex = apex_param(&zone)?;
    let state = context.node.state();
    let zone = zone_or_404(&state, &apex)?;
    let dto = ZoneDto::from_model(zone);
    let etag = etag_of(&dto);
    Ok(with_etag_for(&headers, dto, &etag))
}

/// Creates or replaces a zone (idempotent); honours `If-Match` / `If-None-Match`.
#[utoipa::path(put, path = "/v1/zones/{zone}", tag = "zones", request_body = ZoneDto,
    params(("zone" = String, Path, description = "the apex; must equal the body's")),
    responses((status = 200, description = "replaced (or unchanged)", body = WriteResult),
              (status = 201, description = "created", body = WriteResult)))]
pub async fn put_zone(
    State(context): State<ApiContext>,
    Path(zone): Path<String>,
    headers: HeaderMap,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<ZoneDto>,
) -> Result<Response, ApiError> {
    let apex = apex_param(&zone)?;
    let mut model = body
        .to_model("")
        .map_err(|fields| ApiError::Invalid { fields })?;
    if model.apex != apex {
        return Err(ApiError::field(
            "apex",
            format!(
                "must equal the zone in the path ({apex}), got {}",
                model.apex
            ),
        ));
    }
    let state = context.node.state();
    if body.transfer.is_none() {
        keep_transfer(&state, &mut model);
    }
    let current = state.zones.get(&apex).map(|zone| zone_etag(zone));
    check_preconditions(&headers, current.as_deref())?;
    let guard = precondition(&headers, ResourceRef::Zone { apex }, &state);
    put(context, actor, model, current.is_none(), guard).await
}

/// A zone written without transfer settings keeps the ones it has: they are set apart
/// (`/v1/zones/{zone}/transfer`), and a zone file cannot carry them.
fn keep_transfer(state: &gslb_model::model::State, zone: &mut Zone) {
    if let Some(existing) = state.zones.get(&zone.apex) {
        zone.transfer = existing.transfer.clone();
    }
}

/// Reads a zone's transfer settings.
#[utoipa::path(get, path = "/v1/zones/{zone}/transfer", tag = "zones",
    params(("zone" = String, Path, description = "the apex")),
    responses((status = 200, description = "the settings", body = ZoneTransferDto)))]
pub async fn get_transfer(
    State(context): State<ApiContext>,
    Path(zone): Path<String>,
) -> Result<Response, ApiError> {
    let apex = apex_param(&zone)?;
    let state = context.node.state();
    let zone = zone_or_404(&state, &apex)?;
    Ok(Json(ZoneTransferDto::from_model(&zone.transfer)).into_response())
}

/// Replaces a zone's transfer settings whole: who may AXFR/IXFR it, which secondaries get
/// NOTIFY, which GSLB names transfers leave out. Does not move the serial.
#[utoipa::path(put, path = "/v1/zones/{zone}/transfer", tag = "zones",
    request_body = ZoneTransferDto,
    params(("zone" = String, Path, description = "the apex")),
    responses((status = 200, description = "replaced (or unchanged)", body = WriteResult)))]
pub async fn put_transfer(
    State(context): State<ApiContext>,
    Path(zone): Path<String>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<ZoneTransferDto>,
) -> Result<Response, ApiError> {
    let apex = apex_param(&zone)?;
    zone_or_404(&context.node.state(), &apex)?;
    let transfer = body
        .to_model(&apex, "")
        .map_err(|fields| ApiError::Invalid { fields })?;
    let outcome = context
        .write_if(
            None,
            Command::PutZoneTransfer {
                zone: apex,
                transfer,
            },
            actor,
            false,
            "transfer.",
        )
        .await?;
    Ok(written(false, None, outcome))
}

/// Deletes a zone and its records (idempotent: 404 only when it never existed here).
#[utoipa::path(delete, path = "/v1/zones/{zone}", tag = "zones",
    params(("zone" = String, Path, description = "the apex")),
    responses((status = 200, description = "deleted", body = WriteResult)))]
pub async fn delete_zone(
    State(context): State<ApiContext>,
    Path(zone): Path<String>,
    headers: HeaderMap,
    Caller(actor): Caller,
) -> Result<Response, ApiError> {
    let apex = apex_param(&zone)?;
    let state = context.node.state();
    let current = zone_or_404(&state, &apex).map(zone_etag)?;
    check_preconditions(&headers, Some(&current))?;
    let resource = ResourceRef::Zone { apex: apex.clone() };
    let guard = precondition(&headers, resource, &state);
    let outcome = context
        .write_if(guard, Command::DeleteZone { apex }, actor, true, "")
        .await?;
    Ok(written(false, None, outcome))
}

/// Exports a zone as an RFC 1035 master file (`text/dns`).
#[utoipa::path(get, path = "/v1/zones/{zone}/zonefile", tag = "zones",
    params(("zone" = String, Path, description = "the apex")),
    responses((status = 200, description = "the master file", body = String, content_type = "text/dns")))]
pub async fn get_zonefile(
    State(context): State<ApiContext>,
    Path(zone): Path<String>,
) -> Result<Response, ApiError> {
    let apex = apex_param(&zone)?;
    let state = context.node.state();
    let zone = zone_or_404(&state, &apex)?;
    let mut text = export_zone(zone);
    text.push_str(&gslb_block(&state, &apex));
    let mut response = text.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/dns"));
    Ok(response)
}

/// The zone's GSLB records as master-file comments (empty when it has none): a header
/// saying what the block is, then `; gslb TYPE OWNER JSON` per record.
pub fn gslb_block(state: &gslb_model::model::State, apex: &DomainName) -> String {
    let lines: Vec<String> = state
        .gslb_records_in_zone(apex)
        .filter_map(|record| {
            let dto = crate::dto::GslbRecordDto::from_model(record)?;
            let json = serde_json::to_string(&dto).ok()?;
            Some(format!(
                "; gslb {} {} {json}\n",
                record.rtype,
                record.name.relative_to(apex)
            ))
        })
        .collect();
    if lines.is_empty() {
        return String::new();
    }
    format!(
        "\n; GSLB records: answered from live health by the policy engine, not static data.\n\
         ; zone import ignores these comments and keeps the zone's GSLB records; each JSON is\n\
         ; what `gslbctl create gslb-records --zone {apex} -f FILE` reads.\n{}",
        lines.concat()
    )
}

/// Imports an RFC 1035 master file as the whole zone (created or replaced; all or nothing).
/// The body is the file as `text/dns` (or `text/plain`), or JSON `{"text": "..."}`. Problems
/// are 422 with `fields[].path` = `line <n>`.
#[utoipa::path(put, path = "/v1/zones/{zone}/zonefile", tag = "zones",
    params(("zone" = String, Path, description = "the apex; relative names complete to it")),
    request_body(content(
        (String = "text/dns"),
        (ZoneFileBody = "application/json"),
    )),
    responses((status = 200, description = "replaced (or unchanged)", body = WriteResult),
              (status = 201, description = "created", body = WriteResult)))]
pub async fn put_zonefile(
    State(context): State<ApiContext>,
    Path(zone): Path<String>,
    Caller(actor): Caller,
    request: Request,
) -> Result<Response, ApiError> {
    let apex = apex_param(&zone)?;
    let headers = request.headers().clone();
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("text/dns")
        .to_ascii_lowercase();
    let text_body = content_type.starts_with("text/");
    if !text_body && !is_json(&headers) {
        return Err(ApiError::UnsupportedMediaType(format!(
            "expected text/dns or application/json, got {content_type}"
        )));
    }
    let bytes = zone_import::read_body_within(
        request.into_body(),
        context.options.max_request_bytes,
        context.options.request_timeout,
    )
    .await?;
    let started = std::time::Instant::now();
    let origin = apex.clone();
    // Parsing a big file is seconds of CPU: off the runtime the Raft core shares.
    let (model, warnings) = tokio::task::spawn_blocking(move || -> Result<_, ApiError> {
        let text = if text_body {
            String::from_utf8(bytes)
                .map_err(|_| ApiError::bad_request("the zone file is not UTF-8"))?
        } else {
            parse_json::<ZoneFileBody>(&bytes)?.text
        };
        parse_zone_with_warnings(&text, &origin.to_string(), Some(&origin), None).map_err(|error| {
            let mut fields = gslb_model::model::FieldErrors::default();
            for problem in &error.problems {
                fields.push(format!("line {}", problem.line), problem.message.clone());
            }
            ApiError::Invalid { fields }
        })
    })
    .await
    .map_err(|error| ApiError::Internal(format!("zone file parse failed: {error}")))??;
    tracing::info!(
        zone = %apex,
        rrsets = model.rrsets.len(),
        took_ms = started.elapsed().as_millis() as u64,
        "import: zone file parsed"
    );
    let state = context.node.state();
    let mut model = model;
    keep_transfer(&state, &mut model);
    let current = state.zones.get(&apex).map(|zone| zone_etag(zone));
    check_preconditions(&headers, current.as_deref())?;
    let guard = precondition(&headers, ResourceRef::Zone { apex }, &state);
    let mut response = put(context, actor, model, current.is_none(), guard).await?;
    // Identical records were merged (as BIND, NSD and Knot do): one `Warning` header each,
    // `299 gslb "line N: ..."` (RFC 7234 §5.5's form for a persistent warning).
    for warning in warnings {
        let text = format!("line {}: {}", warning.line, warning.message).replace('"', "'");
        if let Ok(value) = header::HeaderValue::from_str(&format!("299 gslb \"{text}\"")) {
            response.headers_mut().append(header::WARNING, value);
        }
    }
    Ok(response)
}
