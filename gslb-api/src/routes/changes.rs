//! `/v1/changes`: where a write stands (`GET /v1/changes/{version}`: `PENDING` until every
//! DNS node applied it, then `INSYNC`; with `?wait_ms=N` held until `INSYNC` or N ms, so a
//! client waits for it without polling), the atomic multi-resource change (`POST /v1/changes`,
//! one Raft entry), and `/v1/audit`.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::Json;
use gslb_model::Command;

use crate::auth::Caller;
use crate::dto::change::{ChangeWaitQuery, MAX_CHANGE_WAIT_MS};
use crate::dto::{AuditEntryDto, AuditPage, BatchRequest, ChangeStatusDto, PageQuery, WriteResult};
use crate::error::ApiError;
use crate::extract::{number_text, page_limit, paginate, JsonBody};
use crate::routes::written;
use crate::ApiContext;

/// Where the change that produced `version` stands across DNS nodes, judged from their
/// applied-index reports (on a learner, the leader's table). With `wait_ms`, the answer is
/// held until the change is INSYNC (woken by the reports, not polled) or the wait is over.
#[utoipa::path(get, path = "/v1/changes/{version}", tag = "changes",
    params(("version" = u64, Path, description = "the version a write returned"),
           ChangeWaitQuery),
    responses((status = 200, description = "PENDING or INSYNC", body = ChangeStatusDto)))]
pub async fn get_change(
    State(context): State<ApiContext>,
    Path(version): Path<String>,
    Query(wait): Query<ChangeWaitQuery>,
) -> Result<Json<ChangeStatusDto>, ApiError> {
    let version = number_text("version", &version)?;
    let wait_ms = wait.wait_ms.unwrap_or(0);
    if wait_ms > MAX_CHANGE_WAIT_MS {
        let mut fields = gslb_model::model::FieldErrors::default();
        fields.push(
            "wait_ms",
            format!("must be 0-{MAX_CHANGE_WAIT_MS}, got {wait_ms}"),
        );
        return Err(ApiError::BadRequest {
            message: format!("wait_ms must be 0-{MAX_CHANGE_WAIT_MS}, got {wait_ms}"),
            fields,
        });
    }
    // A version not applied here yet is answered (404) at once, as without a wait.
    let wait = std::time::Duration::from_millis(wait_ms);
    if wait_ms > 0 && version <= context.node.state().version {
        context
            .node
            .wait_insync(version, wait.min(context.options.request_timeout / 2))
            .await;
    }
    let status = context
        .node
        .change_status(version)
        .await
        .map_err(|error| ApiError::NotFound(error.to_string()))?;
    Ok(Json(ChangeStatusDto::from_model(version, &status)))
}

/// Applies several changes atomically, in order, as one Raft entry: all or nothing. Faults
/// are named `changes[i].<field>`.
#[utoipa::path(post, path = "/v1/changes", tag = "changes", request_body = BatchRequest,
    responses((status = 200, description = "applied", body = WriteResult)))]
pub async fn post_changes(
    State(context): State<ApiContext>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<BatchRequest>,
) -> Result<Response, ApiError> {
    let state = context.node.state();
    let commands = body
        .to_commands(&state)
        .map_err(|fields| ApiError::Invalid { fields })?;
    let outcome = context
        .write(Command::Batch { commands }, actor, false, "")
        .await?;
    Ok(written(false, None, outcome))
}

/// The audit log (the newest entries the state retains), oldest first; `after` is a version.
#[utoipa::path(get, path = "/v1/audit", tag = "audit", params(PageQuery),
    responses((status = 200, description = "a page of audit entries", body = AuditPage)))]
pub async fn list_audit(
    State(context): State<ApiContext>,
    Query(query): Query<PageQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    let limit = page_limit(&query)?;
    let after = query
        .after
        .as_deref()
        .map(|text| number_text("after", text))
        .transpose()?;
    let state = context.node.state();
    let keyed: Vec<(u64, &gslb_model::model::AuditEntry)> = state
        .audit
        .iter()
        .map(|entry| (entry.version, entry))
        .collect();
    let (items, next) = paginate(
        keyed.iter().map(|(version, entry)| (version, *entry)),
        after.as_ref(),
        limit,
        ToString::to_string,
        |entry| Some(AuditEntryDto::from_model(entry)),
    );
    Ok(Json(AuditPage { items, next }))
}
