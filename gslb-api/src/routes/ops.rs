//! Operations routes: `/healthz` (the process answers), `/readyz` (the node has state and,
//! on a DNS node, answers DNS; reports staleness), `/metrics` (Prometheus) and `/openapi.json`
//! (no token).

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::dto::cluster::{is_stale, role_name};
use crate::dto::ReadyDto;
use crate::ApiContext;

/// Liveness: 200 while the process serves HTTP. Needs no token.
#[utoipa::path(get, path = "/healthz", tag = "operations", security(()),
    responses((status = 200, description = "alive", body = String, content_type = "text/plain")))]
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness: 200 once the node has applied state and, on a DNS node, its DNS listeners
/// answer from a caught-up plan (it keeps answering when stale: `stale` says so); 503
/// before, on a DNS node again from SIGTERM on, and with `reason` once the node cannot
/// persist or replicate any more (full disk, Raft core stopped) or the leader said it was
/// removed from the cluster (`removed from the cluster: ...`). Needs no token.
#[utoipa::path(get, path = "/readyz", tag = "operations", security(()),
    responses((status = 200, description = "ready", body = ReadyDto),
              (status = 503, description = "no state yet, stopping, or failed (`reason`)",
               body = ReadyDto)))]
pub async fn readyz(State(context): State<ApiContext>) -> Response {
    let metrics = context.node.metrics();
    let version = context.node.state().version;
    let dns_serving = context
        .options
        .dns_serving
        .as_ref()
        .map(|serving| serving.load(Ordering::Acquire));
    let reason = context.node.fault().or_else(|| context.node.removed());
    // A DNS node signs with keys it opens itself: one it cannot open means SERVFAIL for
    // validating resolvers, so the node says it is not ready (and why).
    let dnssec_problems = match dns_serving {
        Some(_) => gslb_dns::dnssec::key_problems(
            &context.node.state(),
            context.node.cluster_secret().key_material(),
        ),
        None => Vec::new(),
    };
    let ready = metrics.applied_index > 0
        && dns_serving.unwrap_or(true)
        && reason.is_none()
        && dnssec_problems.is_empty();
    let body = ReadyDto {
        ready,
        dns_serving,
        stale: is_stale(&metrics, context.stale_after_ms()),
        applied_index: metrics.applied_index,
        version,
        role: role_name(metrics.state).to_string(),
        millis_since_leader_contact: metrics.millis_since_leader_contact,
        reason,
        dnssec_problems,
    };
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

/// Prometheus metrics (OpenMetrics text). Needs a read token unless configured open.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "metrics", body = String,
               content_type = "application/openmetrics-text")))]
pub async fn metrics(State(context): State<ApiContext>) -> Response {
    let node = context.node.metrics();
    let state = context.node.state();
    let text = context.metrics.render(
        &node,
        context.node.storage_bytes(),
        &state,
        (context.health_now(), gslb_model::clock::unix_millis()),
        context.stale_after_ms(),
    );
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}

/// The OpenAPI 3.1 document of every route, generated from the code. Needs no token, so
/// tools can discover the API before they have one.
#[utoipa::path(get, path = "/openapi.json", tag = "operations", security(()),
    responses((status = 200, description = "the OpenAPI document", body = Object)))]
pub async fn openapi(State(context): State<ApiContext>) -> Response {
    let mut response = context
        .openapi_json
        .get()
        .cloned()
        .unwrap_or_default()
        .into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
