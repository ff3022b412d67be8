//! The webhook's two HTTP servers: the provider API ExternalDNS calls (`GET /`,
//! `GET /records`, `POST /records`, `POST /adjustendpoints`) and the health server
//! (`/healthz`, `/readyz`) on its own address, as ExternalDNS's webhook contract asks.
//!
//! Every answer carries `Content-Type: application/external.dns.webhook+json;version=1` and
//! `Vary: Content-Type`. `POST /records` reads the state through the API, plans one batch
//! (`mapping::plan_changes`), writes it (`POST /v1/changes`, one Raft entry) and waits until
//! every DNS node serves it (`INSYNC`) before answering 204. Status codes follow the
//! contract: ExternalDNS retries only 5xx, so an endpoint gslb cannot represent is a 4xx
//! naming it, and only an unreachable or unavailable API (or a change not yet INSYNC) is 5xx.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::Mutex;

use super::mapping::{adjust_endpoints, list_endpoints, plan_changes, Snapshot};
use super::wire::{Changes, DomainFilter, Endpoint, MEDIA_TYPE};
use crate::client::{Client, ClientError};
use crate::dto::{BatchRequest, ZoneDto};

/// How the webhook runs.
#[derive(Debug, Clone)]
pub struct WebhookOptions {
    /// The gslb API it writes through (a token with `write` scope).
    pub client: Client,
    /// The domains it manages, answered at negotiation.
    pub filter: DomainFilter,
    /// How long `POST /records` waits for a change to be INSYNC on every DNS node.
    pub sync_timeout: Duration,
}

/// Shared by every request.
struct Webhook {
    options: WebhookOptions,
    /// One `POST /records` at a time: each plans against the state the previous one left.
    writing: Mutex<()>,
}

/// Serves the provider API on `listener` and the health endpoints on `health` until
/// `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    health: TcpListener,
    options: WebhookOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let webhook = Arc::new(Webhook {
        options,
        writing: Mutex::new(()),
    });
    let api = Router::new()
        .route("/", get(negotiate))
        .route("/records", get(records).post(apply_changes))
        .route("/adjustendpoints", axum::routing::post(adjust))
        .with_state(webhook.clone());
    let health_routes = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .with_state(webhook);
    let (stop_api, stopped_api) = tokio::sync::watch::channel(false);
    let mut stopped_health = stopped_api.clone();
    let mut stopped_api = stopped_api;
    let health_server = tokio::spawn(async move {
        axum::serve(health, health_routes)
            .with_graceful_shutdown(async move {
                let _ = stopped_health.wait_for(|stop| *stop).await;
            })
            .await
    });
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_api.send(true);
    });
    axum::serve(listener, api)
        .with_graceful_shutdown(async move {
            let _ = stopped_api.wait_for(|stop| *stop).await;
        })
        .await?;
    health_server
        .await
        .map_err(|error| std::io::Error::other(error.to_string()))?
}

/// A JSON answer in the webhook media type, with `Vary: Content-Type`.
fn webhook_json<T: serde::Serialize>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => webhook_response(status, body),
        Err(error) => webhook_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot encode the answer: {error}\n").into_bytes(),
        ),
    }
}

fn webhook_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE));
    headers.insert(header::VARY, HeaderValue::from_static("Content-Type"));
    response
}

/// An error answer: the message as text, in the webhook's headers.
fn refused(status: StatusCode, message: String) -> Response {
    tracing::warn!(status = status.as_u16(), "{message}");
    webhook_response(status, format!("{message}\n").into_bytes())
}

/// `GET /`: the domain filter, which also tells ExternalDNS the media type and version.
async fn negotiate(State(webhook): State<Arc<Webhook>>) -> Response {
    webhook_json(StatusCode::OK, &webhook.options.filter)
}

/// `GET /records`: every endpoint inside the filter.
async fn records(State(webhook): State<Arc<Webhook>>) -> Response {
    match read_snapshot(&webhook.options.client).await {
        Ok(snapshot) => webhook_json(
            StatusCode::OK,
            &list_endpoints(&snapshot, &webhook.options.filter),
        ),
        Err(error) => refused(status_of(&error), format!("reading the state: {error}")),
    }
}

/// `POST /adjustendpoints`: the desired endpoints as this provider stores them.
async fn adjust(body: Bytes) -> Response {
    match serde_json::from_slice::<Vec<Endpoint>>(&body) {
        Ok(endpoints) => webhook_json(StatusCode::OK, &adjust_endpoints(endpoints)),
        Err(error) => refused(
            StatusCode::BAD_REQUEST,
            format!("body is not a list of endpoints: {error}"),
        ),
    }
}

/// `POST /records`: plan, write as one batch, wait for INSYNC, answer 204.
async fn apply_changes(State(webhook): State<Arc<Webhook>>, body: Bytes) -> Response {
    let changes: Changes = match serde_json::from_slice(&body) {
        Ok(changes) => changes,
        Err(error) => {
            return refused(
                StatusCode::BAD_REQUEST,
                format!("body is not a change set: {error}"),
            )
        }
    };
    if changes.is_empty() {
        return webhook_response(StatusCode::NO_CONTENT, Vec::new());
    }
    let _writing = webhook.writing.lock().await;
    let client = &webhook.options.client;
    let snapshot = match read_snapshot(client).await {
        Ok(snapshot) => snapshot,
        Err(error) => return refused(status_of(&error), format!("reading the state: {error}")),
    };
    let batch = match plan_changes(&snapshot, &webhook.options.filter, &changes) {
        Ok(batch) => batch,
        Err(refusal) => {
            return refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("refused, nothing written: {refusal}"),
            )
        }
    };
    if batch.changes.is_empty() {
        return webhook_response(StatusCode::NO_CONTENT, Vec::new());
    }
    let n_changes = batch.changes.len();
    let request = BatchRequest {
        changes: batch.changes.clone(),
    };
    let written = match client.batch(&request).await {
        Ok(written) => written,
        Err(ClientError::Api { status, body }) if (400..500).contains(&status) => {
            let faults: Vec<String> = body
                .fields
                .iter()
                .map(|field| format!("{}: {}", batch.describe_path(&field.path), field.message))
                .collect();
            let detail = if faults.is_empty() {
                body.message.clone()
            } else {
                faults.join("; ")
            };
            return refused(
                StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
                format!("refused by the gslb API, nothing written: {detail}"),
            );
        }
        Err(error) => return refused(status_of(&error), format!("writing the changes: {error}")),
    };
    match client
        .wait_insync(written.version, webhook.options.sync_timeout)
        .await
    {
        Ok(took) => {
            tracing::info!(
                version = written.version,
                n_changes,
                "applied ExternalDNS changes, INSYNC after {:.2}s",
                took.as_secs_f64()
            );
            webhook_response(StatusCode::NO_CONTENT, Vec::new())
        }
        Err(error) => refused(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("written at version {}, but {error}", written.version),
        ),
    }
}

/// `GET /readyz` on the health address: ready while the API answers.
async fn ready(State(webhook): State<Arc<Webhook>>) -> Response {
    match webhook.options.client.list_zones().await {
        Ok(_) => (StatusCode::OK, "ready\n").into_response(),
        Err(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("gslb API unavailable: {error}\n"),
        )
            .into_response(),
    }
}

/// What ExternalDNS should do with a failed call: retry (5xx) only when the API could not
/// be reached or was unavailable; its refusals stay refusals.
fn status_of(error: &ClientError) -> StatusCode {
    match error.status() {
        Some(status) if (400..500).contains(&status) => {
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST)
        }
        Some(_) => StatusCode::SERVICE_UNAVAILABLE,
        None => StatusCode::BAD_GATEWAY,
    }
}

/// Everything the mapping needs, read through the API.
async fn read_snapshot(client: &Client) -> Result<Snapshot, ClientError> {
    let mut zones: Vec<ZoneDto> = Vec::new();
    let mut gslb_records = BTreeMap::new();
    for summary in client.list_zones().await? {
        let zone = client.get_zone(&summary.apex).await?;
        gslb_records.insert(
            zone.apex.clone(),
            client.list_gslb_records(&summary.apex).await?,
        );
        zones.push(zone);
    }
    let endpoints = client.list_endpoints().await?;
    let regions = client
        .list_regions()
        .await?
        .into_iter()
        .map(|region| region.id)
        .collect();
    Ok(Snapshot {
        zones,
        gslb_records,
        endpoints,
        regions,
    })
}
