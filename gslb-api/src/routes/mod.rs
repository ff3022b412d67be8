//! The REST routes, one file per resource, and the helpers every write shares.
//!
//! A write: parse the body (`JsonBody`) → convert the DTO to the model → check
//! preconditions against the current resource's ETag → `NodeHandle::write` (validated on the
//! leader, forwarded from other nodes, one Raft entry) → wait until this node serves the new
//! version (read-your-writes) → answer `WriteResult` with the new ETag.

pub mod apply;
pub mod changes;
pub mod checks;
pub mod cluster;
pub(crate) mod crud;
pub mod dnssec;
pub mod drills;
pub mod endpoints;
pub mod events;
pub mod gslb_records;
pub mod health;
pub mod networks;
pub mod ops;
pub mod overrides;
pub mod records;
pub mod regions;
pub mod resolve;
pub mod tokens;
pub mod tsig_keys;
pub mod update_sources;
pub(crate) mod zone_crud;
pub mod zones;

use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gslb_model::model::{Actor, Expected, ResourceRef, State as StoreState};
use gslb_model::Command;
use gslb_store::raft::WriteOutcome;

use crate::dto::WriteResult;
use crate::error::{body_path, ApiError};
use crate::extract::etag_header;
use crate::ApiContext;

/// The header carrying the state version a write produced.
pub const VERSION_HEADER: &str = "x-gslb-version";

/// The precondition of a conditional request (`If-Match`, `If-None-Match`): `resource` as
/// `state` shows it, the state the ETag check just passed on. `apply` refuses the write if the
/// resource changed in between, whichever node the other write went through.
pub fn precondition(
    headers: &HeaderMap,
    resource: ResourceRef,
    state: &StoreState,
) -> Option<(ResourceRef, Expected)> {
    let conditional =
        headers.contains_key(header::IF_MATCH) || headers.contains_key(header::IF_NONE_MATCH);
    conditional.then(|| {
        let expected = resource.expected_in(state);
        (resource, expected)
    })
}

impl ApiContext {
    /// `write`, guarded by `guard` when there is one (see `precondition`; creates pass
    /// `Expected::Absent`, so two racing creates cannot both succeed).
    pub async fn write_if(
        &self,
        guard: Option<(ResourceRef, Expected)>,
        command: Command,
        actor: Actor,
        delete: bool,
        strip: &str,
    ) -> Result<WriteOutcome, ApiError> {
        let command = match guard {
            Some((resource, expected)) => Command::Guarded {
                resource,
                expected,
                command: Box::new(command),
            },
            None => command,
        };
        self.write(command, actor, delete, strip).await
    }

    /// Writes `command` for `actor` and waits until this node serves the result.
    pub async fn write(
        &self,
        command: Command,
        actor: Actor,
        delete: bool,
        strip: &str,
    ) -> Result<WriteOutcome, ApiError> {
        self.write_named(command, actor, delete, |path| body_path(path, strip))
            .await
    }

    /// `write`, naming faults with `rename(store path)` (server-side apply names the
    /// document's items).
    pub async fn write_named(
        &self,
        command: Command,
        actor: Actor,
        delete: bool,
        rename: impl Fn(&str) -> String,
    ) -> Result<WriteOutcome, ApiError> {
        let outcome = self
            .node
            .write(command, actor)
            .await
            .map_err(|error| ApiError::from_write(error, delete, rename))?;
        if self
            .node
            .wait_for_version(outcome.version, self.options.write_wait)
            .await
            .is_none()
        {
            tracing::warn!(
                version = outcome.version,
                "write committed but this node did not apply it within {:?}",
                self.options.write_wait
            );
        }
        Ok(outcome)
    }
}

/// The response to a successful write: `201` when it created the resource, else `200`, with
/// the new ETag (when the resource still exists) and the version header.
pub fn written(created: bool, etag: Option<String>, outcome: WriteOutcome) -> Response {
    let status = if created && outcome.changed {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut response = (
        status,
        Json(WriteResult {
            version: outcome.version,
            changed: outcome.changed,
        }),
    )
        .into_response();
    if let Some(etag) = etag {
        response
            .headers_mut()
            .insert(header::ETAG, etag_header(&etag));
    }
    if let Ok(value) = HeaderValue::from_str(&outcome.version.to_string()) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(VERSION_HEADER), value);
    }
    response
}

/// A JSON resource with its ETag, or `304 Not Modified` when the request's
/// `If-None-Match` already names that ETag.
pub fn with_etag_for<T: serde::Serialize>(
    headers: &axum::http::HeaderMap,
    value: T,
    etag: &str,
) -> Response {
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|wanted| {
            wanted
                .split(',')
                .map(str::trim)
                .any(|candidate| candidate == etag || candidate == "*")
        });
    if unchanged {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        response
            .headers_mut()
            .insert(header::ETAG, etag_header(etag));
        return response;
    }
    with_etag(value, etag)
}

/// A JSON resource with its ETag.
pub fn with_etag<T: serde::Serialize>(value: T, etag: &str) -> Response {
    let mut response = Json(value).into_response();
    response
        .headers_mut()
        .insert(header::ETAG, etag_header(etag));
    response
}
