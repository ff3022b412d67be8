//! `/v1/zones/{zone}/dnssec`: a zone's online signing. `GET` its status (keys, DNSKEY and DS
//! records in presentation format, the rollover in progress), `POST` enables it, `DELETE`
//! disables it, `POST .../rollover` takes the next rollover step.
//!
//! Keys are generated here, on the node that takes the request, and travel sealed (AES-GCM
//! under a key derived from the cluster secret) in the command, so the deterministic `apply`
//! stays free of randomness and the private key is never in the log in the clear.
//!
//! Rollover (CSK, double-signature with double DS, RFC 6781 §4.1.2 and RFC 7583 §3.3.2):
//! step one adds a second active key: both sign, both DNSKEYs and both CDS/CDNSKEY are
//! published, so a parent that reads CDS (RFC 7344) or its operator can add the new DS;
//! step two, once the parent holds the new DS and at least the DNSKEY TTL has passed (so
//! every cache holds the DNSKEY set with both keys), removes every older key. Validation
//! holds throughout: each answer is signed by a key that every cached DNSKEY set and every
//! DS at the parent vouch for.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use gslb_dns::dnssec::{generate_key, KeyEncryptionKey, DNSKEY_TTL};
use gslb_model::model::dnssec::FLAGS_SECURE_ENTRY_POINT;
use gslb_model::model::{DnssecAlgorithm, KeyState};
use gslb_model::Command;

use crate::auth::Caller;
use crate::dto::{DnssecEnable, DnssecRollover, DnssecStatusDto, WriteResult};
use crate::error::{ApiError, ErrorBody};
use crate::extract::JsonBody;
use crate::routes::zones::{apex_param, zone_or_404};
use crate::ApiContext;

/// A zone's signing status (never a private key).
#[utoipa::path(get, path = "/v1/zones/{zone}/dnssec", tag = "dnssec",
    params(("zone" = String, Path, description = "the apex, e.g. example.com.")),
    responses((status = 200, description = "the zone's signing status", body = DnssecStatusDto),
              (status = 404, description = "no such zone", body = ErrorBody)))]
pub async fn get_dnssec(
    State(context): State<ApiContext>,
    Path(zone): Path<String>,
) -> Result<Json<DnssecStatusDto>, ApiError> {
    let apex = apex_param(&zone)?;
    let state = context.node.state();
    zone_or_404(&state, &apex)?;
    Ok(Json(DnssecStatusDto::from_model(
        &apex,
        state.dnssec.get(&apex),
        state.version,
    )))
}

/// Starts signing a zone with one new CSK; a zone signed already is answered as it is.
#[utoipa::path(post, path = "/v1/zones/{zone}/dnssec", tag = "dnssec",
    params(("zone" = String, Path, description = "the apex")),
    request_body = DnssecEnable,
    responses((status = 201, description = "signing; the DS to give the parent", body = DnssecStatusDto),
              (status = 200, description = "signed already", body = DnssecStatusDto),
              (status = 404, description = "no such zone", body = ErrorBody)))]
pub async fn enable_dnssec(
    State(context): State<ApiContext>,
    Path(zone): Path<String>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<DnssecEnable>,
) -> Result<Response, ApiError> {
    let apex = apex_param(&zone)?;
    let algorithm = match &body.algorithm {
        Some(text) => text
            .parse::<DnssecAlgorithm>()
            .map_err(|message| ApiError::field("algorithm", message))?,
        None => DnssecAlgorithm::EcdsaP256Sha256,
    };
    let state = context.node.state();
    zone_or_404(&state, &apex)?;
    if let Some(keys) = state.dnssec.get(&apex) {
        return Ok((
            StatusCode::OK,
            Json(DnssecStatusDto::from_model(
                &apex,
                Some(keys),
                state.version,
            )),
        )
            .into_response());
    }
    let key = generate_key(
        &apex,
        algorithm,
        FLAGS_SECURE_ENTRY_POINT,
        KeyState::Active,
        &key_encryption_key(&context),
        gslb_model::clock::unix_millis(),
    )
    .map_err(|error| ApiError::Internal(error.to_string()))?;
    let command = Command::EnableDnssec {
        zone: apex.clone(),
        key,
    };
    context.write(command, actor, false, "").await?;
    let state = context.node.state();
    let status = DnssecStatusDto::from_model(&apex, state.dnssec.get(&apex), state.version);
    Ok((StatusCode::CREATED, Json(status)).into_response())
}

/// Stops signing a zone and forgets its keys. Remove the DS at the parent first and wait
/// its TTL out, or validating resolvers will find the zone bogus.
#[utoipa::path(delete, path = "/v1/zones/{zone}/dnssec", tag = "dnssec",
    params(("zone" = String, Path, description = "the apex")),
    responses((status = 200, description = "unsigned", body = WriteResult),
              (status = 404, description = "no such zone", body = ErrorBody)))]
pub async fn disable_dnssec(
    State(context): State<ApiContext>,
    Path(zone): Path<String>,
    Caller(actor): Caller,
) -> Result<Json<WriteResult>, ApiError> {
    let apex = apex_param(&zone)?;
    zone_or_404(&context.node.state(), &apex)?;
    let outcome = context
        .write(Command::DisableDnssec { zone: apex }, actor, true, "")
        .await?;
    Ok(Json(WriteResult {
        version: outcome.version,
        changed: outcome.changed,
    }))
}

/// The next step of a CSK rollover: add a second key (both sign; publish its DS at the
/// parent), or, when two are there, remove the older ones.
#[utoipa::path(post, path = "/v1/zones/{zone}/dnssec/rollover", tag = "dnssec",
    params(("zone" = String, Path, description = "the apex")),
    request_body = DnssecRollover,
    responses((status = 200, description = "the step taken; the status after it", body = DnssecStatusDto),
              (status = 409, description = "not signed, or too early to finish", body = ErrorBody)))]
pub async fn rollover_dnssec(
    State(context): State<ApiContext>,
    Path(zone): Path<String>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<DnssecRollover>,
) -> Result<Json<DnssecStatusDto>, ApiError> {
    let apex = apex_param(&zone)?;
    let force = body.force;
    let state = context.node.state();
    zone_or_404(&state, &apex)?;
    let Some(keys) = state.dnssec.get(&apex) else {
        return Err(ApiError::conflict(format!("{apex} is not signed")));
    };
    let now = gslb_model::clock::unix_millis();
    let command = match keys.keys.as_slice() {
        [only] => Command::PutDnssecKey {
            zone: apex.clone(),
            key: generate_key(
                &apex,
                only.algorithm,
                FLAGS_SECURE_ENTRY_POINT,
                KeyState::Active,
                &key_encryption_key(&context),
                now,
            )
            .map_err(|error| ApiError::Internal(error.to_string()))?,
        },
        [.., newest] => {
            let started = keys.last_rollover_at.unwrap_or(keys.enabled_at);
            let ready_at = started + u64::from(DNSKEY_TTL) * 1000;
            if now < ready_at && !force {
                return Err(ApiError::conflict(format!(
                    "{apex}: the rollover started {}s ago; caches may hold the old DNSKEY set \
                     for {DNSKEY_TTL}s (and the parent must hold the DS of key {}): try again \
                     later, or force it",
                    now.saturating_sub(started) / 1000,
                    newest.tag
                )));
            }
            Command::Batch {
                commands: keys.keys[..keys.keys.len() - 1]
                    .iter()
                    .map(|key| Command::DeleteDnssecKey {
                        zone: apex.clone(),
                        tag: key.tag,
                    })
                    .collect(),
            }
        }
        [] => return Err(ApiError::conflict(format!("{apex} has no keys"))),
    };
    context.write(command, actor, false, "").await?;
    let state = context.node.state();
    Ok(Json(DnssecStatusDto::from_model(
        &apex,
        state.dnssec.get(&apex),
        state.version,
    )))
}

/// This node's key-encryption key (from the cluster secret, as every node derives it).
fn key_encryption_key(context: &ApiContext) -> KeyEncryptionKey {
    KeyEncryptionKey::derive(context.node.cluster_secret().key_material())
}
