//! `POST /v1/apply`: server-side apply of a declarative document (what `gslbctl apply -f`
//! sends). The reconcile is `crate::apply::plan_apply` over this node's state; the batch is
//! written as one Raft entry, exactly as `POST /v1/changes` writes one. `GET
//! /v1/apply/schema` serves the document's JSON Schema.

use axum::extract::{Query, State};
use axum::Json;
use gslb_model::Command;

use crate::apply::{
    apply_json_schema, document_path, plan_apply, ApplyDocument, ApplyQuery, ApplyResult,
};
use crate::auth::Caller;
use crate::dto::BatchRequest;
use crate::error::{body_path, ApiError};
use crate::extract::JsonBody;
use crate::ApiContext;

/// The JSON Schema (draft 2020-12) of the apply document, for editors and linters (the same
/// as `docs/apply.schema.json`).
#[utoipa::path(get, path = "/v1/apply/schema", tag = "changes",
    responses((status = 200, description = "the JSON Schema of the apply document",
               body = Object)))]
pub async fn get_apply_schema() -> Json<serde_json::Value> {
    Json(apply_json_schema())
}

/// Reconciles the state with a declarative document: creates and replaces what it declares
/// and, with `prune`, deletes what its scope holds that it does not declare, all as one
/// atomic change. Answers the diff per kind and, unless `dry_run`, the version written (poll
/// `/v1/changes/{version}` for INSYNC). Faults name the document item
/// (`endpoints[1].weight`); a key declared twice is refused for every kind.
#[utoipa::path(post, path = "/v1/apply", tag = "changes", params(ApplyQuery),
    request_body = ApplyDocument,
    responses((status = 200, description = "the diff, and the version when written",
               body = ApplyResult)))]
pub async fn post_apply(
    State(context): State<ApiContext>,
    Query(query): Query<ApplyQuery>,
    Caller(actor): Caller,
    JsonBody(document): JsonBody<ApplyDocument>,
) -> Result<Json<ApplyResult>, ApiError> {
    let state = context.node.state();
    let plan = plan_apply(&document, &state, query.prune)
        .map_err(|fields| ApiError::Invalid { fields })?;
    let mut result = ApplyResult {
        dry_run: query.dry_run,
        n_changes: plan.changes.len(),
        kinds: plan.kinds,
        version: None,
        changed: false,
    };
    if query.dry_run || plan.changes.is_empty() {
        return Ok(Json(result));
    }
    let origins = plan.origins;
    let rename = |path: &str| document_path(path, &origins);
    let batch = BatchRequest {
        changes: plan.changes,
    };
    let commands = batch
        .to_commands(&state)
        .map_err(|fields| ApiError::Invalid {
            fields: rename_fields(fields, &rename),
        })?;
    let outcome = context
        .write_named(Command::Batch { commands }, actor, false, |path| {
            rename(&body_path(path, ""))
        })
        .await?;
    result.version = Some(outcome.version);
    result.changed = outcome.changed;
    Ok(Json(result))
}

/// `fields` with every path renamed by `rename`.
fn rename_fields(
    fields: gslb_model::model::FieldErrors,
    rename: &impl Fn(&str) -> String,
) -> gslb_model::model::FieldErrors {
    gslb_model::model::FieldErrors(
        fields
            .0
            .into_iter()
            .map(|mut field| {
                field.path = rename(&field.path);
                field
            })
            .collect(),
    )
}
