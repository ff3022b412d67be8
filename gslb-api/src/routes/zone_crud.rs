//! The shared bodies of the resources keyed by zone, owner name and type (static record sets
//! and GSLB records): list (ordered by name then type, cursor `<name> <TYPE>`), create (409
//! when the key is taken), read with an ETag, replace (idempotent, honouring `If-Match` /
//! `If-None-Match`, the body's key must be the path's) and delete (404 when absent). Every
//! write is guarded inside `apply` (`precondition`), as in `crud` for id-keyed resources.
//!
//! Each resource's route file keeps one annotated function per route (utoipa documents
//! functions) and calls these with its `ZoneResource` type.

use axum::http::HeaderMap;
use axum::response::Response;
use gslb_model::model::{
    Actor, DomainName, Expected, FieldErrors, NameError, RecordType, ResourceRef,
    State as StoreState, Zone,
};
use gslb_model::Command;
use serde::Serialize;

use crate::dto::PageQuery;
use crate::error::ApiError;
use crate::extract::{check_preconditions, etag_of, page_limit, paginate};
use crate::routes::zones::{apex_param, zone_or_404};
use crate::routes::{precondition, with_etag_for, written};
use crate::ApiContext;

/// A resource of a zone, addressed by owner name and type.
pub(crate) trait ZoneResource: Sized {
    /// Its JSON form.
    type Dto: Serialize;
    /// `record set`, `gslb record`, for messages.
    const NOUN: &'static str;
    /// The command field store paths start with (`rrset.`).
    const STRIP: &'static str;
    /// The types it may have, for the message when the path names another.
    const TYPES: &'static str;
    /// The type `text` names, if this resource may have it.
    fn parse_type(text: &str) -> Option<RecordType>;
    /// Every one in `zone`, by name then type.
    fn in_zone<'a>(state: &'a StoreState, zone: &'a Zone) -> Vec<&'a Self>;
    /// The one with this key in `zone`.
    fn find<'a>(
        state: &'a StoreState,
        zone: &'a Zone,
        name: &DomainName,
        rtype: RecordType,
    ) -> Option<&'a Self>;
    /// Its owner name and type.
    fn key(&self) -> (&DomainName, RecordType);
    /// Its JSON form (`None` for data the API cannot show).
    fn dto(&self) -> Option<Self::Dto>;
    /// The model of `body` inside `zone`, or its faults by field path.
    fn from_body(body: &Self::Dto, zone: &Zone) -> Result<Self, FieldErrors>;
    /// The write that creates or replaces it in zone `apex`.
    fn put(self, apex: DomainName) -> Command;
    /// The write that deletes the key from zone `apex`.
    fn delete(apex: DomainName, name: DomainName, rtype: RecordType) -> Command;
    /// How a precondition names the key.
    fn resource(apex: DomainName, name: DomainName, rtype: RecordType) -> ResourceRef;
}

/// Its ETag: the digest of its JSON form.
fn etag<R: ZoneResource>(item: &R) -> Option<String> {
    item.dto().map(|dto| etag_of(&dto))
}

/// Parses `{name}` and `{type}` path segments inside zone `apex` (400 when malformed; 404
/// when the name only fails by not fitting under the zone, as no such key can exist).
fn key_params<R: ZoneResource>(
    apex: &DomainName,
    name: &str,
    rtype: &str,
) -> Result<(DomainName, RecordType), ApiError> {
    let mut fields = FieldErrors::default();
    let parsed_name = match DomainName::parse_relative_to(name, apex) {
        Ok(parsed) => Some(parsed),
        // Well formed, but too long once the zone is appended: no such key can exist.
        Err(NameError::NameTooLong(_)) => {
            return Err(ApiError::NotFound(format!(
                "no {} {name} in {apex}: with the zone the name is longer than 255 octets",
                R::NOUN
            )))
        }
        Err(error) => {
            fields.push("name", error.to_string());
            None
        }
    };
    let parsed_type = R::parse_type(rtype);
    if parsed_type.is_none() {
        fields.push("type", format!("must be {}, got {rtype:?}", R::TYPES));
    }
    match (parsed_name, parsed_type) {
        (Some(name), Some(rtype)) => Ok((name, rtype)),
        _ => Err(ApiError::BadRequest {
            message: format!("bad {} key {name}/{rtype}: {fields}", R::NOUN),
            fields,
        }),
    }
}

/// The 404 for a key.
fn absent<R: ZoneResource>(apex: &DomainName, name: &DomainName, rtype: RecordType) -> ApiError {
    ApiError::NotFound(format!("no {} {name} {rtype} in {apex}", R::NOUN))
}

/// One page of the zone's resources.
pub(crate) fn list<R: ZoneResource>(
    context: &ApiContext,
    zone: &str,
    query: &PageQuery,
) -> Result<(Vec<R::Dto>, Option<String>), ApiError> {
    let apex = apex_param(zone)?;
    let limit = page_limit(query)?;
    let state = context.node.state();
    let zone = zone_or_404(&state, &apex)?;
    let after = query
        .after
        .as_deref()
        .map(|text| {
            let (name, rtype) = text.rsplit_once(' ').unwrap_or((text, ""));
            key_params::<R>(&apex, name, rtype)
        })
        .transpose()?;
    let keyed: Vec<((DomainName, RecordType), &R)> = R::in_zone(&state, zone)
        .into_iter()
        .map(|item| {
            let (name, rtype) = item.key();
            ((name.clone(), rtype), item)
        })
        .collect();
    Ok(paginate(
        keyed.iter().map(|(key, item)| (key, *item)),
        after.as_ref(),
        limit,
        |(name, rtype)| format!("{name} {rtype}"),
        R::dto,
    ))
}

/// Creates the resource of `body` in `zone`; 409 when its key is taken (also when another
/// create wins the race: the write expects the key absent).
pub(crate) async fn create<R: ZoneResource>(
    context: &ApiContext,
    zone: &str,
    actor: Actor,
    body: &R::Dto,
) -> Result<Response, ApiError> {
    let apex = apex_param(zone)?;
    let state = context.node.state();
    let zone = zone_or_404(&state, &apex)?;
    let item = R::from_body(body, zone).map_err(|fields| ApiError::Invalid { fields })?;
    let (name, rtype) = (item.key().0.clone(), item.key().1);
    if R::find(&state, zone, &name, rtype).is_some() {
        return Err(ApiError::conflict(format!(
            "{} {name} {rtype} exists; use PUT to replace it",
            R::NOUN
        )));
    }
    let guard = Some((R::resource(apex.clone(), name, rtype), Expected::Absent));
    let tag = etag(&item);
    let outcome = context
        .write_if(guard, item.put(apex), actor, false, R::STRIP)
        .await?;
    Ok(written(true, tag, outcome))
}

/// Reads one with its ETag (304 for a matching `If-None-Match`).
pub(crate) fn read<R: ZoneResource>(
    context: &ApiContext,
    (zone, name, rtype): (&str, &str, &str),
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let apex = apex_param(zone)?;
    let state = context.node.state();
    let zone = zone_or_404(&state, &apex)?;
    let (name, rtype) = key_params::<R>(&apex, name, rtype)?;
    let dto = R::find(&state, zone, &name, rtype)
        .and_then(R::dto)
        .ok_or_else(|| absent::<R>(&apex, &name, rtype))?;
    let tag = etag_of(&dto);
    Ok(with_etag_for(headers, dto, &tag))
}

/// Creates or replaces the key of the path with `body` (201 when created), honouring the
/// preconditions of `headers` against the state the write is then guarded by.
pub(crate) async fn replace<R: ZoneResource>(
    context: &ApiContext,
    (zone, name, rtype): (&str, &str, &str),
    headers: &HeaderMap,
    actor: Actor,
    body: &R::Dto,
) -> Result<Response, ApiError> {
    let apex = apex_param(zone)?;
    let state = context.node.state();
    let zone = zone_or_404(&state, &apex)?;
    let (name, rtype) = key_params::<R>(&apex, name, rtype)?;
    let item = R::from_body(body, zone).map_err(|fields| ApiError::Invalid { fields })?;
    let mut fields = FieldErrors::default();
    let (body_name, body_type) = item.key();
    if body_name != &name {
        fields.push(
            "name",
            format!("must equal the name in the path ({name}), got {body_name}"),
        );
    }
    if body_type != rtype {
        fields.push(
            "type",
            format!("must equal the type in the path ({rtype}), got {body_type}"),
        );
    }
    fields
        .into_result()
        .map_err(|fields| ApiError::Invalid { fields })?;
    let current = R::find(&state, zone, &name, rtype).and_then(etag);
    check_preconditions(headers, current.as_deref())?;
    let guard = precondition(headers, R::resource(apex.clone(), name, rtype), &state);
    let tag = etag(&item);
    let outcome = context
        .write_if(guard, item.put(apex), actor, false, R::STRIP)
        .await?;
    Ok(written(current.is_none(), tag, outcome))
}

/// Deletes the key of the path; 404 when absent.
pub(crate) async fn delete<R: ZoneResource>(
    context: &ApiContext,
    (zone, name, rtype): (&str, &str, &str),
    headers: &HeaderMap,
    actor: Actor,
) -> Result<Response, ApiError> {
    let apex = apex_param(zone)?;
    let state = context.node.state();
    let zone = zone_or_404(&state, &apex)?;
    let (name, rtype) = key_params::<R>(&apex, name, rtype)?;
    let current = R::find(&state, zone, &name, rtype)
        .and_then(etag)
        .ok_or_else(|| absent::<R>(&apex, &name, rtype))?;
    check_preconditions(headers, Some(&current))?;
    let guard = precondition(
        headers,
        R::resource(apex.clone(), name.clone(), rtype),
        &state,
    );
    let outcome = context
        .write_if(guard, R::delete(apex, name, rtype), actor, true, "")
        .await?;
    Ok(written(false, None, outcome))
}
