//! `/v1/tsig-keys` (admin): create TSIG keys (the secret is returned once, with a BIND
//! `key` block), list and read them without secrets, and delete them.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gslb_model::model::name::DomainName;
use gslb_model::model::tsig_key::{
    decode_base64, encode_base64, parse_key_name, TsigAlgorithm, TsigKey, UpdateGrant,
};
use gslb_model::model::FieldErrors;
use gslb_model::Command;

use crate::auth::Caller;
use crate::dto::{PageQuery, TsigKeyCreate, TsigKeyCreated, TsigKeyDto, TsigKeyPage, WriteResult};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{page_limit, paginate, JsonBody};
use crate::routes::written;
use crate::ApiContext;

/// Lists TSIG keys (never their secrets).
#[utoipa::path(get, path = "/v1/tsig-keys", tag = "tsig-keys", params(PageQuery),
    responses((status = 200, description = "a page of keys", body = TsigKeyPage)))]
pub async fn list_tsig_keys(
    State(context): State<ApiContext>,
    Query(query): Query<PageQuery>,
) -> Result<Json<TsigKeyPage>, ApiError> {
    let limit = page_limit(&query)?;
    let state = context.node.state();
    let by_name: Vec<(String, &TsigKey)> = state
        .tsig_keys
        .values()
        .map(|key| (key.display_name(), key))
        .collect();
    let (items, next) = paginate(
        by_name.iter().map(|(name, key)| (name, *key)),
        query.after.as_ref(),
        limit,
        Clone::clone,
        |key| Some(TsigKeyDto::from_model(key)),
    );
    Ok(Json(TsigKeyPage { items, next }))
}

/// Creates a key and returns its secret, once; 409 when the name is taken.
#[utoipa::path(post, path = "/v1/tsig-keys", tag = "tsig-keys", request_body = TsigKeyCreate,
    responses((status = 201, description = "created; keep the secret", body = TsigKeyCreated),
              (status = 409, description = "the name is taken", body = ErrorBody)))]
pub async fn create_tsig_key(
    State(context): State<ApiContext>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<TsigKeyCreate>,
) -> Result<Response, ApiError> {
    let mut fields = FieldErrors::default();
    let name = parse_key_name(&body.name)
        .map_err(|message| fields.push("name", message))
        .ok();
    let algorithm = TsigAlgorithm::from_name(&body.algorithm);
    if algorithm.is_none() {
        fields.push(
            "algorithm",
            format!(
                "must be one of hmac-md5, hmac-sha1, hmac-sha224, hmac-sha256, hmac-sha384, \
                 hmac-sha512, got {:?}",
                body.algorithm
            ),
        );
    }
    let mut update = Vec::new();
    for (index, spec) in body.update.iter().enumerate() {
        match UpdateGrant::parse_spec(spec) {
            Ok(grant) => update.push(grant),
            Err(message) => fields.push(format!("update[{index}]"), message),
        }
    }
    let mut transfer = Vec::new();
    for (index, zone) in body.transfer.iter().enumerate() {
        let absolute = if zone.ends_with('.') {
            zone.clone()
        } else {
            format!("{zone}.")
        };
        match DomainName::parse_absolute(&absolute) {
            Ok(zone) => transfer.push(zone),
            Err(error) => fields.push(format!("transfer[{index}]"), error.to_string()),
        }
    }
    let secret = match (&body.secret, algorithm) {
        (Some(text), _) => decode_base64(text)
            .map_err(|message| fields.push("secret", message))
            .ok(),
        (None, Some(algorithm)) => {
            let mut octets = vec![0u8; algorithm.mac_len()];
            getrandom::fill(&mut octets).map_err(|error| {
                ApiError::Internal(format!("no randomness for a secret: {error}"))
            })?;
            Some(octets)
        }
        (None, None) => None,
    };
    let (Some(name), Some(algorithm), Some(secret), true) =
        (name, algorithm, secret, fields.is_empty())
    else {
        return Err(ApiError::Invalid { fields });
    };
    if context.node.state().tsig_keys.contains_key(&name) {
        return Err(ApiError::conflict(format!(
            "tsig key {:?} exists; delete it first to rotate",
            body.name
        )));
    }
    let key = TsigKey {
        name,
        algorithm,
        secret,
        update,
        transfer,
    };
    let created = TsigKeyCreated {
        name: key.display_name(),
        algorithm: key.algorithm.to_string(),
        secret: encode_base64(&key.secret),
        bind: key.bind_block(),
        version: 0,
    };
    let outcome = context
        .write(Command::PutTsigKey { key }, actor, false, "key.")
        .await?;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(TsigKeyCreated {
            version: outcome.version,
            ..created
        }),
    )
        .into_response())
}

/// Reads a key (never its secret).
#[utoipa::path(get, path = "/v1/tsig-keys/{name}", tag = "tsig-keys",
    params(("name" = String, Path, description = "key name")),
    responses((status = 200, description = "the key", body = TsigKeyDto)))]
pub async fn get_tsig_key(
    State(context): State<ApiContext>,
    Path(name): Path<String>,
) -> Result<Json<TsigKeyDto>, ApiError> {
    let key_name = parse_key_name(&name).map_err(ApiError::NotFound)?;
    let state = context.node.state();
    let key = state
        .tsig_keys
        .get(&key_name)
        .ok_or_else(|| ApiError::NotFound(format!("no tsig key {name:?}")))?;
    Ok(Json(TsigKeyDto::from_model(key)))
}

/// Deletes a key: requests signed with it get BADKEY from then on.
#[utoipa::path(delete, path = "/v1/tsig-keys/{name}", tag = "tsig-keys",
    params(("name" = String, Path, description = "key name")),
    responses((status = 200, description = "deleted", body = WriteResult)))]
pub async fn delete_tsig_key(
    State(context): State<ApiContext>,
    Path(name): Path<String>,
    Caller(actor): Caller,
) -> Result<Response, ApiError> {
    let key_name = parse_key_name(&name).map_err(ApiError::NotFound)?;
    if !context.node.state().tsig_keys.contains_key(&key_name) {
        return Err(ApiError::NotFound(format!("no tsig key {name:?}")));
    }
    let outcome = context
        .write(Command::DeleteTsigKey { name: key_name }, actor, true, "")
        .await?;
    Ok(written(false, None, outcome))
}
