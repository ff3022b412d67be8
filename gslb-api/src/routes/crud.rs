//! The shared bodies of the id-keyed resources (regions, endpoints, checks, overrides,
//! networks):
//! list, create (409 when the id is taken), read with an ETag, replace (idempotent, honouring
//! `If-Match` / `If-None-Match`) and delete (404 when absent). Every write is guarded inside
//! `apply` (`precondition`), so creates and conditional writes cannot race each other.
//!
//! Each resource's route file keeps one annotated function per route (utoipa documents
//! functions), its own body → model conversion and checks, and calls these.

use std::collections::BTreeMap;

use axum::http::HeaderMap;
use axum::response::Response;
use gslb_model::model::{Actor, Expected, ResourceRef, State as StoreState};
use gslb_model::Command;
use serde::Serialize;

use crate::dto::PageQuery;
use crate::error::ApiError;
use crate::extract::{check_preconditions, etag_of, page_limit, paginate};
use crate::routes::{precondition, with_etag_for, written};
use crate::ApiContext;

/// A resource of the state kept in a map by id.
pub(crate) trait IdResource: Sized {
    /// Its JSON form.
    type Dto: Serialize;
    /// `region`, `endpoint`, ... for messages.
    const NOUN: &'static str;
    /// `/v1/regions`, for the "use PUT" hint.
    const COLLECTION: &'static str;
    /// The command field store paths start with (`region.`).
    const STRIP: &'static str;
    /// Every one of them in the state, by id.
    fn all(state: &StoreState) -> &BTreeMap<String, Self>;
    /// Its id (the map key; computed for resources keyed by a canonical form, e.g. a CIDR).
    fn id(&self) -> std::borrow::Cow<'_, str>;
    /// Its JSON form.
    fn dto(&self) -> Self::Dto;
    /// The write that creates or replaces it.
    fn put(self) -> Command;
    /// The write that deletes `id`.
    fn delete(id: String) -> Command;
    /// How a precondition names it.
    fn resource(id: String) -> ResourceRef;
}

/// Its ETag: the digest of its JSON form.
fn etag<R: IdResource>(item: &R) -> String {
    etag_of(&item.dto())
}

/// One page of the resources, by id.
pub(crate) fn list<R: IdResource>(
    context: &ApiContext,
    query: &PageQuery,
) -> Result<(Vec<R::Dto>, Option<String>), ApiError> {
    let limit = page_limit(query)?;
    let state = context.node.state();
    Ok(paginate(
        R::all(&state).iter(),
        query.after.as_ref(),
        limit,
        Clone::clone,
        |item| Some(item.dto()),
    ))
}

/// Refuses a body whose id is not the path's.
pub(crate) fn same_id(body_id: &str, path_id: &str) -> Result<(), ApiError> {
    if body_id == path_id {
        return Ok(());
    }
    Err(ApiError::field(
        "id",
        format!("must equal the id in the path ({path_id:?}), got {body_id:?}"),
    ))
}

/// Creates `item` as `actor`; 409 when its id is taken (also when another create wins the
/// race: the write expects the id absent).
pub(crate) async fn create<R: IdResource>(
    context: &ApiContext,
    actor: Actor,
    item: R,
) -> Result<Response, ApiError> {
    let id = item.id().to_string();
    if R::all(&context.node.state()).contains_key(&id) {
        return Err(ApiError::conflict(format!(
            "{} {id:?} exists; use PUT {}/{id} to replace it",
            R::NOUN,
            R::COLLECTION
        )));
    }
    let guard = Some((R::resource(id), Expected::Absent));
    let tag = etag(&item);
    let outcome = context
        .write_if(guard, item.put(), actor, false, R::STRIP)
        .await?;
    Ok(written(true, Some(tag), outcome))
}

/// Reads `id` with its ETag (304 for a matching `If-None-Match`).
pub(crate) fn read<R: IdResource>(
    context: &ApiContext,
    id: &str,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let state = context.node.state();
    let item = R::all(&state)
        .get(id)
        .ok_or_else(|| ApiError::NotFound(format!("no {} {id:?}", R::NOUN)))?;
    let dto = item.dto();
    let tag = etag_of(&dto);
    Ok(with_etag_for(headers, dto, &tag))
}

/// Creates or replaces `id` with `item` (201 when created), honouring the preconditions of
/// `headers` against the state the write is then guarded by.
pub(crate) async fn replace<R: IdResource>(
    context: &ApiContext,
    id: String,
    headers: &HeaderMap,
    actor: Actor,
    item: R,
) -> Result<Response, ApiError> {
    let state = context.node.state();
    let current = R::all(&state).get(&id).map(etag);
    check_preconditions(headers, current.as_deref())?;
    let guard = precondition(headers, R::resource(id), &state);
    let tag = etag(&item);
    let outcome = context
        .write_if(guard, item.put(), actor, false, R::STRIP)
        .await?;
    Ok(written(current.is_none(), Some(tag), outcome))
}

/// Deletes `id`; 404 when absent, 409 (from the store) while something still uses it.
pub(crate) async fn delete<R: IdResource>(
    context: &ApiContext,
    id: String,
    headers: &HeaderMap,
    actor: Actor,
) -> Result<Response, ApiError> {
    let state = context.node.state();
    let current = R::all(&state)
        .get(&id)
        .map(etag)
        .ok_or_else(|| ApiError::NotFound(format!("no {} {id:?}", R::NOUN)))?;
    check_preconditions(headers, Some(&current))?;
    let guard = precondition(headers, R::resource(id.clone()), &state);
    let outcome = context
        .write_if(guard, R::delete(id), actor, true, "")
        .await?;
    Ok(written(false, None, outcome))
}
