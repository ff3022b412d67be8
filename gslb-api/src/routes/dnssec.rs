//! `/v1/zones/{zone}/dnssec`: a zone's online signing. `GET` its status (keys, DNSKEY and DS
//! records in presentation format, the rollover in progress), `POST` enables it, `DELETE`
//! disables it, `POST .../rollover` takes the next rollover step.
//!
//! Keys are generated here, on the node that takes the request, and travel sealed (AES-GCM
//! under a key derived from the cluster secret) in the command, so the deterministic `apply`
//! stays free of randomness and the private key is never in the log in the clear.
//!
//! Rollovers (`crate::rollover`, steps and waits in `gslb_model::model::rollover`): each
//! `POST .../rollover` takes the next step of the zone's rollover, or starts one (`publish`
//! of a new CSK, KSK or ZSK); a step whose RFC 7583 wait has not passed is refused with the
//! time it becomes safe, unless forced; for a CSK/KSK waiting for its DS at the parent, the
//! call is the operator's word that the parent holds it (`ds_seen`). The leader's schedule
//! takes the same steps by itself once a lifetime is set.
//!
//! With `algorithm` or `split` the call starts a rollover of the whole key set instead (a
//! new algorithm, or CSK <-> KSK + ZSK: `presign` of the new keys, RFC 6781 §4.1.4); the
//! leader's schedule takes its later steps when their waits have passed, and the same call
//! again takes the next one by hand.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use gslb_dns::dnssec::{generate_key, KeyEncryptionKey};
use gslb_model::model::dnssec::{FLAGS_SECURE_ENTRY_POINT, FLAGS_ZONE_KEY};
use gslb_model::model::rollover::{partner, NextStep, Rollover, RolloverKind, RolloverStep};
use gslb_model::model::{DnssecAlgorithm, DnssecPolicy, KeyState, State as ModelState};
use gslb_model::{Command, DomainName};

use crate::auth::Caller;
use crate::dto::{DnssecEnable, DnssecRollover, DnssecStatusDto, WriteResult};
use crate::error::{ApiError, ErrorBody};
use crate::extract::JsonBody;
use crate::rollover::{
    legacy_finish, next_all, presign_command, schedule, start_kind, step_command, KeySetWanted,
};
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
    Ok(Json(DnssecStatusDto::from_state(&state, &apex)))
}

/// Starts signing a zone with one new CSK (or a KSK and a ZSK with `split`) and the
/// rollover policy given; a zone signed already keeps its keys and takes the policy given.
#[utoipa::path(post, path = "/v1/zones/{zone}/dnssec", tag = "dnssec",
    params(("zone" = String, Path, description = "the apex")),
    request_body = DnssecEnable,
    responses((status = 201, description = "signing; the DS to give the parent", body = DnssecStatusDto),
              (status = 200, description = "signed already; its policy set", body = DnssecStatusDto),
              (status = 404, description = "no such zone", body = ErrorBody),
              (status = 409, description = "signed already with the other key layout", body = ErrorBody),
              (status = 422, description = "an invalid algorithm or policy", body = ErrorBody)))]
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
    let signed = state.dnssec.get(&apex);
    let policy = match &body.policy {
        Some(request) => Some(
            request
                .merged_into(schedule(&state, &apex).policy)
                .map_err(|(field, message)| ApiError::field(&field, message))?,
        ),
        None => None,
    };
    if let Some(keys) = signed {
        if body.split != keys.is_split() {
            return Err(ApiError::conflict(format!(
                "{apex} is signed already {}: `gslbctl dnssec rollover {apex} --split` (or \
                 `--csk`) changes that without a validation gap",
                if keys.is_split() {
                    "with KSK and ZSK apart"
                } else {
                    "with one combined key"
                }
            )));
        }
        if let Some(policy) = policy {
            let command = Command::SetDnssecPolicy {
                zone: apex.clone(),
                policy,
            };
            context.write(command, actor, false, "").await?;
        }
        let state = context.node.state();
        let status = DnssecStatusDto::from_state(&state, &apex);
        return Ok((StatusCode::OK, Json(status)).into_response());
    }
    let command = enable_command(&context, &apex, algorithm, body.split, policy)?;
    context.write(command, actor, false, "").await?;
    let state = context.node.state();
    let status = DnssecStatusDto::from_state(&state, &apex);
    Ok((StatusCode::CREATED, Json(status)).into_response())
}

/// The command that starts signing `apex`: its new keys, then its policy if one was given.
fn enable_command(
    context: &ApiContext,
    apex: &DomainName,
    algorithm: DnssecAlgorithm,
    split: bool,
    policy: Option<DnssecPolicy>,
) -> Result<Command, ApiError> {
    let kek = key_encryption_key(context);
    let now = gslb_model::clock::unix_millis();
    let new_key = |flags: u16| {
        generate_key(apex, algorithm, flags, KeyState::Active, &kek, now)
            .map_err(|error| ApiError::Internal(error.to_string()))
    };
    let key = new_key(FLAGS_SECURE_ENTRY_POINT)?;
    let zsk = if split {
        let mut zsk = new_key(FLAGS_ZONE_KEY)?;
        while zsk.tag == key.tag {
            zsk = new_key(FLAGS_ZONE_KEY)?;
        }
        Some(zsk)
    } else {
        None
    };
    let enable = Command::EnableDnssec {
        zone: apex.clone(),
        key,
        zsk,
    };
    Ok(match policy {
        Some(policy) => Command::Batch {
            commands: vec![
                enable,
                Command::SetDnssecPolicy {
                    zone: apex.clone(),
                    policy,
                },
            ],
        },
        None => enable,
    })
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

/// The next step of the zone's key rollover, or the start of one.
#[utoipa::path(post, path = "/v1/zones/{zone}/dnssec/rollover", tag = "dnssec",
    params(("zone" = String, Path, description = "the apex")),
    request_body = DnssecRollover,
    responses((status = 200, description = "the step taken; the status after it", body = DnssecStatusDto),
              (status = 409, description = "not signed, or the step is not safe yet", body = ErrorBody),
              (status = 422, description = "an unknown key kind, or a step that does not apply", body = ErrorBody)))]
pub async fn rollover_dnssec(
    State(context): State<ApiContext>,
    Path(zone): Path<String>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<DnssecRollover>,
) -> Result<Json<DnssecStatusDto>, ApiError> {
    let apex = apex_param(&zone)?;
    let asked = match &body.kind {
        Some(text) => Some(
            text.parse::<RolloverKind>()
                .map_err(|message| ApiError::field("kind", message))?,
        ),
        None => None,
    };
    let wanted = KeySetWanted {
        algorithm: match &body.algorithm {
            Some(text) => Some(
                text.parse::<DnssecAlgorithm>()
                    .map_err(|message| ApiError::field("algorithm", message))?,
            ),
            None => None,
        },
        split: body.split,
    };
    let new_key_set = wanted.algorithm.is_some() || wanted.split.is_some();
    if new_key_set && asked.is_some() {
        return Err(ApiError::field(
            "kind",
            "a key kind rolls one key; algorithm and split replace them all: ask for one"
                .to_string(),
        ));
    }
    let state = context.node.state();
    zone_or_404(&state, &apex)?;
    let now = gslb_model::clock::unix_millis();
    if new_key_set {
        let command = key_set_step(&context, &state, &apex, wanted, body.force, now)?;
        context.write(command, actor, false, "").await?;
        let state = context.node.state();
        return Ok(Json(DnssecStatusDto::from_state(&state, &apex)));
    }
    if let Some(finish) = legacy_finish(&state, &apex, body.force, now) {
        let command = finish.map_err(|seconds| {
            ApiError::conflict(format!(
                "{apex}: the rollover an older version started ends in {seconds}s, once \
                 caches hold the new DNSKEY set: try again later, or force it"
            ))
        })?;
        context.write(command, actor, false, "").await?;
        let state = context.node.state();
        return Ok(Json(DnssecStatusDto::from_state(&state, &apex)));
    }
    let (kind, step) = manual_step(&state, &apex, asked, body.force, now)?;
    let command = step_command(
        &state,
        &apex,
        step,
        kind,
        &key_encryption_key(&context),
        now,
    )
    .map_err(ApiError::conflict)?;
    context.write(command, actor, false, "").await?;
    let state = context.node.state();
    Ok(Json(DnssecStatusDto::from_state(&state, &apex)))
}

/// The command an operator's `rollover` with `algorithm`/`split` writes for `apex`: the
/// `presign` of the new key set when no rollover is in progress; the next step of a
/// key-set rollover toward that set; a refusal during any other rollover.
fn key_set_step(
    context: &ApiContext,
    state: &ModelState,
    apex: &DomainName,
    wanted: KeySetWanted,
    force: bool,
    now: u64,
) -> Result<Command, ApiError> {
    let Some(keys) = state.dnssec.get(apex) else {
        return Err(ApiError::conflict(format!("{apex} is not signed")));
    };
    let kek = key_encryption_key(context);
    match schedule(state, apex).rollover {
        None => presign_command(state, apex, wanted, &kek, now).map_err(ApiError::conflict),
        Some(rollover) if wanted.matches(keys, &rollover) => {
            let (kind, step) = manual_step(state, apex, None, force, now)?;
            step_command(state, apex, step, kind, &kek, now).map_err(ApiError::conflict)
        }
        Some(rollover) => Err(ApiError::conflict(format!(
            "{apex}: a {} rollover is in progress (at {}): let it finish first",
            rollover.kind.name(),
            rollover.last_step.name()
        ))),
    }
}

/// The step an operator's `rollover` takes on `apex` at `now`: the start of a rollover
/// when none is in progress (or, `asked` for, of a split zone's KSK or ZSK beside the
/// other's); `ds_seen` (the operator's word) for a successor waiting for the parent;
/// otherwise the next step of a rollover in progress (of the kind `asked`, if any; one
/// whose wait has passed first), if its wait has passed or `force`.
fn manual_step(
    state: &ModelState,
    apex: &DomainName,
    asked: Option<RolloverKind>,
    force: bool,
    now: u64,
) -> Result<(RolloverKind, RolloverStep), ApiError> {
    let Some(steps) = next_all(state, apex) else {
        return Err(ApiError::conflict(format!("{apex} is not signed")));
    };
    let schedule = schedule(state, apex);
    let running: Vec<&Rollover> = [&schedule.rollover, &schedule.beside]
        .into_iter()
        .flatten()
        .collect();
    let Some(first) = running.first() else {
        return Ok((start_kind(state, apex, asked), RolloverStep::Publish));
    };
    if let Some(kind) = asked.filter(|kind| !running.iter().any(|r| r.kind == *kind)) {
        if running.len() == 1 && partner(first.kind) == Some(kind) {
            return Ok((kind, RolloverStep::Publish));
        }
        return Err(ApiError::conflict(format!(
            "{apex}: a {} rollover is in progress (at {}): a {} rollover cannot start \
             beside it",
            first.kind.name(),
            first.last_step.name(),
            kind.name()
        )));
    }
    let of_running = |kind: RolloverKind| {
        running.iter().any(|rollover| rollover.kind == kind) && asked.is_none_or(|a| a == kind)
    };
    let candidates: Vec<NextStep> = steps
        .into_iter()
        .filter(|next| match next {
            NextStep::At { kind, .. } | NextStep::AwaitingParent { kind, .. } => of_running(*kind),
            NextStep::OnDemand => false,
        })
        .collect();
    let ready = |next: &&NextStep| match next {
        NextStep::AwaitingParent { .. } => true,
        NextStep::At { at, .. } => *at <= now || force,
        NextStep::OnDemand => false,
    };
    match candidates.iter().find(ready).or(candidates.first()) {
        Some(NextStep::AwaitingParent { kind, .. }) => Ok((*kind, RolloverStep::DsSeen)),
        Some(NextStep::At { kind, step, at }) if *at <= now || force => Ok((*kind, *step)),
        Some(NextStep::At { kind, step, at }) => Err(ApiError::conflict(format!(
            "{apex}: the {} rollover's next step ({}) is safe in {}s, once caches hold \
             no older data (RFC 7583 waits): try again later, or force it",
            kind.name(),
            step.name(),
            at.saturating_sub(now).div_ceil(1000)
        ))),
        _ => Err(ApiError::Internal(format!(
            "{apex}: rollover {first:?} has no next step"
        ))),
    }
}

/// This node's key-encryption key (from the cluster secret, as every node derives it).
fn key_encryption_key(context: &ApiContext) -> KeyEncryptionKey {
    KeyEncryptionKey::derive(context.node.cluster_secret().key_material())
}
