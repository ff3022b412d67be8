//! `/v1/tokens` (admin): create tokens (the secret is shown once; only its hash is
//! replicated), list and read them without secrets, and delete them.

use std::collections::BTreeSet;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use gslb_model::model::ident::validate_id;
use gslb_model::model::token::check_secret_strength;
use gslb_model::model::{Expected, ResourceRef};
use gslb_model::model::{FieldErrors, Token};
use gslb_model::Command;

use crate::auth::{generate_secret, hash_secret, Caller};
use crate::dto::{
    PageQuery, ScopeDto, TokenCreate, TokenCreated, TokenDto, TokenPage, WriteResult,
};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{check_preconditions, etag_of, page_limit, paginate, JsonBody};
use crate::routes::{precondition, with_etag_for, written};
use crate::ApiContext;

/// The shortest secret a caller may choose.
pub use gslb_model::model::token::MIN_SECRET_LEN;

/// Lists tokens (never their secrets).
#[utoipa::path(get, path = "/v1/tokens", tag = "tokens", params(PageQuery),
    responses((status = 200, description = "a page of tokens", body = TokenPage)))]
pub async fn list_tokens(
    State(context): State<ApiContext>,
    Query(query): Query<PageQuery>,
) -> Result<Json<TokenPage>, ApiError> {
    let limit = page_limit(&query)?;
    let state = context.node.state();
    let (items, next) = paginate(
        state.tokens.iter(),
        query.after.as_ref(),
        limit,
        Clone::clone,
        |token| Some(TokenDto::from_model(token)),
    );
    Ok(Json(TokenPage { items, next }))
}

/// Creates a token and returns its secret, once; 409 when the id is taken.
#[utoipa::path(post, path = "/v1/tokens", tag = "tokens", request_body = TokenCreate,
    responses((status = 201, description = "created; keep the secret", body = TokenCreated),
              (status = 409, description = "the id is taken", body = ErrorBody)))]
pub async fn create_token(
    State(context): State<ApiContext>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<TokenCreate>,
) -> Result<Response, ApiError> {
    let mut fields = FieldErrors::default();
    if let Some(secret) = &body.secret {
        if let Err(problem) = check_secret_strength(secret) {
            fields.push("secret", problem);
        }
    }
    let observes = body.scopes.contains(&ScopeDto::Prober);
    match &body.vantage {
        Some(vantage) if !observes => fields.push(
            "vantage",
            format!("only a prober token names a vantage, got {vantage:?}"),
        ),
        Some(vantage) => validate_id("vantage", vantage, &mut fields),
        None => {}
    }
    fields
        .into_result()
        .map_err(|fields| ApiError::Invalid { fields })?;
    let guard = Some((
        ResourceRef::Token {
            id: body.id.clone(),
        },
        Expected::Absent,
    ));
    if context.node.state().tokens.contains_key(&body.id) {
        return Err(ApiError::conflict(format!(
            "token {:?} exists; delete it first to rotate",
            body.id
        )));
    }
    let secret = match body.secret {
        Some(secret) => secret,
        None => generate_secret()?,
    };
    let token = Token {
        id: body.id,
        secret_hash: hash_secret(&secret),
        scopes: body
            .scopes
            .iter()
            .map(|scope| scope.to_model())
            .collect::<BTreeSet<_>>(),
        expires_at: body.expires_at,
        vantage: body.vantage,
    };
    let dto = TokenDto::from_model(&token);
    let outcome = context
        .write_if(guard, Command::PutToken { token }, actor, false, "token.")
        .await?;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(TokenCreated {
            token: dto,
            secret,
            version: outcome.version,
        }),
    )
        .into_response())
}

/// Reads a token (never its secret).
#[utoipa::path(get, path = "/v1/tokens/{id}", tag = "tokens",
    params(("id" = String, Path, description = "token id")),
    responses((status = 200, description = "the token", body = TokenDto)))]
pub async fn get_token(
    State(context): State<ApiContext>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let state = context.node.state();
    let token = state
        .tokens
        .get(&id)
        .ok_or_else(|| ApiError::NotFound(format!("no token {id:?}")))?;
    let dto = TokenDto::from_model(token);
    let tag = etag_of(&dto);
    Ok(with_etag_for(&headers, dto, &tag))
}

/// Deletes (revokes) a token.
#[utoipa::path(delete, path = "/v1/tokens/{id}", tag = "tokens",
    params(("id" = String, Path, description = "token id")),
    responses((status = 200, description = "deleted", body = WriteResult)))]
pub async fn delete_token(
    State(context): State<ApiContext>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Caller(actor): Caller,
) -> Result<Response, ApiError> {
    let state = context.node.state();
    let current = state
        .tokens
        .get(&id)
        .map(|token| etag_of(&TokenDto::from_model(token)))
        .ok_or_else(|| ApiError::NotFound(format!("no token {id:?}")))?;
    check_preconditions(&headers, Some(&current))?;
    let guard = precondition(&headers, ResourceRef::Token { id: id.clone() }, &state);
    let outcome = context
        .write_if(guard, Command::DeleteToken { id }, actor, true, "")
        .await?;
    Ok(written(false, None, outcome))
}
