//! `/v1/drills`: plan a drill without changing anything, start one, read, abort and report.
//!
//! Starting plans first (with the same `plan_drill` as `POST /v1/drills/plan`), refuses
//! what the plan blocks unless `force`, records the answers `before` and which DNS nodes
//! answer with the region right now (their convergence is measured), then writes
//! `StartDrill`. From there the leader's supervisor (`crate::drills::supervisor`) runs it.

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gslb_model::clock::unix_millis;
use gslb_model::model::{
    Drill, DrillMode, DrillPhase, DrillStatus, FieldErrors, GuardCheck, PhaseAnswers,
};
use gslb_model::Command;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::drills::plan::{answer_rows, plan_drill, ratio, region_targets, DrillPlan};
use crate::drills::report::render_markdown;
use crate::drills::supervisor::{dns_nodes, sees_region, watch_queries};
use crate::dto::overrides::DrillDto;
use crate::dto::{DrillPage, PageQuery};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{page_limit, paginate, parse_json, JsonBody};
use crate::ApiContext;

/// What to plan.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanRequest {
    /// The region to take out.
    pub region: String,
    /// `drain` (default) or `fail`.
    #[serde(default)]
    pub mode: Option<String>,
    /// The load guard: the most a survivor may carry, as a ratio of its capacity share.
    #[serde(default)]
    pub max_load: Option<f64>,
}

/// What to start.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    /// The region to take out.
    pub region: String,
    /// `drain` (default) or `fail`.
    #[serde(default)]
    pub mode: Option<String>,
    /// How long it runs, milliseconds (> 0, at most the API's maximum).
    pub duration_ms: u64,
    /// The load guard: abort when a survivor carries more than this ratio of its capacity
    /// share (e.g. 1.5).
    #[serde(default)]
    pub max_load: Option<f64>,
    /// Start even when the plan has blockers (a record left with no answer).
    #[serde(default)]
    pub force: bool,
    /// The drill id; generated from the region and the time when absent.
    #[serde(default)]
    pub id: Option<String>,
}

/// A started drill and the version that recorded it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DrillStarted {
    /// The state version of the start.
    pub version: u64,
    /// The drill.
    pub drill: DrillDto,
}

/// Why an operator aborts.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AbortRequest {
    /// Why, for the report and the audit log.
    #[serde(default)]
    pub reason: Option<String>,
}

/// `?format=markdown|json`.
#[derive(Debug, Clone, Deserialize, Serialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// `markdown` (default; `md` is read too) or `json`.
    #[param(pattern = "^(markdown|md|json)$")]
    pub format: Option<String>,
}

/// Checks mode and max-load; returns them as the model wants them.
fn parse_common(
    mode: Option<&str>,
    max_load: Option<f64>,
    errors: &mut FieldErrors,
) -> (DrillMode, Option<u32>) {
    let mode = match mode.unwrap_or("drain") {
        "drain" => DrillMode::Drain,
        "fail" => DrillMode::Fail,
        other => {
            errors.push("mode", format!("must be drain or fail, got {other:?}"));
            DrillMode::Drain
        }
    };
    let max_load = match max_load {
        None => None,
        Some(ratio) if ratio.is_finite() && ratio > 0.0 && ratio <= 100.0 => {
            Some((ratio * 100.0).round() as u32)
        }
        Some(ratio) => {
            errors.push(
                "max_load",
                format!("must be a ratio above 0 (e.g. 1.5), got {ratio}"),
            );
            None
        }
    };
    (mode, max_load)
}

fn plan_error(error: crate::drills::PlanError) -> ApiError {
    match error {
        crate::drills::PlanError::UnknownRegion(region) => {
            ApiError::field("region", format!("no region {region:?}"))
        }
        other => ApiError::Internal(other.to_string()),
    }
}

/// Plans a drill: which records change, where each client group goes, each region's load
/// before and after, warnings, and what would refuse `start` without `force`. Changes
/// nothing.
#[utoipa::path(post, path = "/v1/drills/plan", tag = "drills", request_body = PlanRequest,
    responses((status = 200, description = "the plan", body = DrillPlan)))]
pub async fn plan(
    State(context): State<ApiContext>,
    JsonBody(body): JsonBody<PlanRequest>,
) -> Result<Json<DrillPlan>, ApiError> {
    let mut errors = FieldErrors::default();
    let (mode, max_load) = parse_common(body.mode.as_deref(), body.max_load, &mut errors);
    errors
        .into_result()
        .map_err(|fields| ApiError::Invalid { fields })?;
    let state = context.node.state();
    let plan =
        plan_drill(&state, &body.region, mode, unix_millis(), max_load).map_err(plan_error)?;
    Ok(Json(plan))
}

/// Starts a drill; 409 when the region is already in a running drill, 422 naming the field
/// for bad input or, with `force` unset, when the plan has blockers.
#[utoipa::path(post, path = "/v1/drills", tag = "drills", request_body = StartRequest,
    responses((status = 201, description = "started", body = DrillStarted),
              (status = 409, description = "the region is already in a drill", body = ErrorBody)))]
pub async fn start(
    State(context): State<ApiContext>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<StartRequest>,
) -> Result<Response, ApiError> {
    let mut errors = FieldErrors::default();
    let (mode, max_load) = parse_common(body.mode.as_deref(), body.max_load, &mut errors);
    let max_ms = u64::try_from(context.options.max_drill.as_millis()).unwrap_or(u64::MAX);
    if body.duration_ms == 0 {
        errors.push("duration_ms", "must be > 0");
    } else if body.duration_ms > max_ms {
        errors.push(
            "duration_ms",
            format!(
                "must be at most {max_ms} ({} s, the configured maximum), got {}",
                max_ms / 1000,
                body.duration_ms
            ),
        );
    }
    errors
        .into_result()
        .map_err(|fields| ApiError::Invalid { fields })?;
    let state = context.node.state();
    let now = unix_millis();
    if let Some(other) = state
        .drills
        .values()
        .find(|drill| drill.region == body.region && drill.is_active(now))
    {
        return Err(ApiError::conflict(format!(
            "region {:?} is already in drill {:?}, running until {}; abort it first",
            body.region,
            other.id,
            crate::drills::report::format_millis(other.planned_end)
        )));
    }
    let plan = plan_drill(&state, &body.region, mode, now, max_load).map_err(plan_error)?;
    if !plan.blockers.is_empty() && !body.force {
        return Err(ApiError::field(
            "force",
            format!(
                "the drill is refused: {}; set force (gslbctl: --force) to run it anyway",
                plan.blockers.join("; ")
            ),
        ));
    }
    let rows = answer_rows(&state, now).map_err(plan_error)?;
    let rows: Vec<_> = rows
        .into_iter()
        .filter(|row| plan.records.contains(&row.record))
        .collect();

    // Which DNS nodes answer with the region now, as a query from here can see it.
    let queries = watch_queries(&rows, &plan.records, &body.region);
    let targets = region_targets(&state, &body.region);
    let mut measured = std::collections::BTreeSet::new();
    let mut unmeasured = Vec::new();
    for (node, address) in dns_nodes(&state) {
        match sees_region(address, &queries, &targets).await {
            Ok(true) => {
                measured.insert(node);
            }
            Ok(false) => unmeasured.push(format!("{node} (no answer with {})", body.region)),
            Err(error) => unmeasured.push(format!("{node} ({error})")),
        }
    }

    let id = body
        .id
        .clone()
        .unwrap_or_else(|| format!("{}-{}", body.region, now / 1000));
    let mut drill = Drill {
        id: id.clone(),
        region: body.region.clone(),
        mode,
        started_at: now,
        planned_end: now.saturating_add(body.duration_ms),
        status: DrillStatus::Running,
        started_by: actor.who.clone(),
        max_load_percent: max_load,
        records: plan.records.clone(),
        survivors: plan
            .load
            .iter()
            .filter(|load| load.region != body.region && load.share_after > load.share_before)
            .map(|load| load.region.clone())
            .collect(),
        measured_nodes: measured,
        ended_at: None,
        end_reason: None,
        convergence_ms: Default::default(),
        restore_ms: Default::default(),
        answers: vec![PhaseAnswers {
            phase: DrillPhase::Before,
            at: now,
            rows,
        }],
        guards: Vec::new(),
        timeline: Vec::new(),
    };
    if let Some(limit) = max_load {
        let worst = plan
            .load
            .iter()
            .filter(|load| load.region != body.region)
            .max_by_key(|load| load.load_after_percent);
        drill.guards.push(GuardCheck {
            at: now,
            guard: "max_load".into(),
            tripped: false,
            detail: match worst {
                Some(load) => format!(
                    "planned: worst survivor {} at {} of its capacity share (limit {})",
                    load.region,
                    ratio(load.load_after_percent),
                    ratio(limit)
                ),
                None => format!("planned: no survivor takes load (limit {})", ratio(limit)),
            },
        });
    }
    if !unmeasured.is_empty() {
        drill.note(
            now,
            format!(
                "convergence not measured on dns nodes {}",
                unmeasured.join(", ")
            ),
        );
    }
    for warning in &plan.warnings {
        drill.note(now, format!("plan warning: {warning}"));
    }
    if body.force {
        for blocker in &plan.blockers {
            drill.note(now, format!("forced past: {blocker}"));
        }
    }
    let outcome = context
        .write(
            Command::StartDrill {
                drill: Box::new(drill),
            },
            actor,
            false,
            "drill.",
        )
        .await?;
    let state = context.node.state();
    let started = DrillDto::from_model(find(&state, &id)?);
    Ok((
        StatusCode::CREATED,
        Json(DrillStarted {
            version: outcome.version,
            drill: started,
        }),
    )
        .into_response())
}

/// Lists the drills.
#[utoipa::path(get, path = "/v1/drills", tag = "drills", params(PageQuery),
    responses((status = 200, description = "a page of drills", body = DrillPage)))]
pub async fn list_drills(
    State(context): State<ApiContext>,
    Query(query): Query<PageQuery>,
) -> Result<Json<DrillPage>, ApiError> {
    let limit = page_limit(&query)?;
    let state = context.node.state();
    let (items, next) = paginate(
        state.drills.iter(),
        query.after.as_ref(),
        limit,
        Clone::clone,
        |drill| Some(DrillDto::from_model(drill)),
    );
    Ok(Json(DrillPage { items, next }))
}

/// Reads a drill: status, convergence, answers, guards, timeline.
#[utoipa::path(get, path = "/v1/drills/{id}", tag = "drills",
    params(("id" = String, Path, description = "drill id")),
    responses((status = 200, description = "the drill", body = DrillDto)))]
pub async fn get_drill(
    State(context): State<ApiContext>,
    Path(id): Path<String>,
) -> Result<Json<DrillDto>, ApiError> {
    let state = context.node.state();
    let drill = find(&state, &id)?;
    Ok(Json(DrillDto::from_model(drill)))
}

/// Aborts a running drill: its override goes, its probes stop failing, and the supervisor
/// measures the way back. 409 when it is not running.
#[utoipa::path(post, path = "/v1/drills/{id}/abort", tag = "drills", request_body = AbortRequest,
    params(("id" = String, Path, description = "drill id")),
    responses((status = 200, description = "aborted", body = DrillDto),
              (status = 409, description = "the drill is not running", body = ErrorBody)))]
pub async fn abort(
    State(context): State<ApiContext>,
    Path(id): Path<String>,
    Caller(actor): Caller,
    body: axum::body::Bytes,
) -> Result<Json<DrillDto>, ApiError> {
    let body: AbortRequest = if body.iter().all(u8::is_ascii_whitespace) {
        AbortRequest::default()
    } else {
        parse_json(&body)?
    };
    let state = context.node.state();
    let drill = find(&state, &id)?;
    if drill.status != DrillStatus::Running {
        return Err(ApiError::conflict(format!(
            "drill {id:?} is not running (it is {})",
            crate::drills::report::status_word(drill.status)
        )));
    }
    let reason = match body.reason {
        Some(reason) if !reason.trim().is_empty() => {
            format!("aborted by {}: {}", actor.who, reason.trim())
        }
        _ => format!("aborted by {}", actor.who),
    };
    let command = Command::EndDrill {
        id: id.clone(),
        status: DrillStatus::Aborted,
        reason,
    };
    context.write(command, actor, false, "").await?;
    let state = context.node.state();
    let drill = find(&state, &id)?;
    Ok(Json(DrillDto::from_model(drill)))
}

/// The drill's report: Markdown (default) or the drill as JSON.
#[utoipa::path(get, path = "/v1/drills/{id}/report", tag = "drills",
    params(("id" = String, Path, description = "drill id"), ReportQuery),
    responses((status = 200, description = "the report", body = String, content_type = "text/markdown")))]
pub async fn report(
    State(context): State<ApiContext>,
    Path(id): Path<String>,
    Query(query): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    let state = context.node.state();
    let drill = find(&state, &id)?;
    match query.format.as_deref().unwrap_or("markdown") {
        "markdown" | "md" => {
            let nodes: Vec<u64> = dns_nodes(&state).into_iter().map(|(id, _)| id).collect();
            Ok((
                [(header::CONTENT_TYPE, "text/markdown; charset=utf-8")],
                render_markdown(drill, &nodes),
            )
                .into_response())
        }
        "json" => Ok(Json(DrillDto::from_model(drill)).into_response()),
        other => {
            let mut fields = FieldErrors::default();
            fields.push("format", format!("must be markdown or json, got {other:?}"));
            Err(ApiError::BadRequest {
                message: format!("bad query parameter: {fields}"),
                fields,
            })
        }
    }
}

/// The drill `id`, or 404.
fn find<'s>(state: &'s gslb_model::model::State, id: &str) -> Result<&'s Drill, ApiError> {
    state
        .drills
        .get(id)
        .ok_or_else(|| ApiError::NotFound(format!("no drill {id:?}")))
}
