//! Request plumbing shared by the routes: `JsonBody` (JSON bodies whose errors name the field
//! path), ETags and `If-Match` / `If-None-Match` preconditions, and pagination.
//!
//! Bad input is bounded before parsing: the body size by `DefaultBodyLimit` (413 before a
//! byte is parsed), nesting depth by serde_json's recursion limit (128), so no body can
//! exhaust memory or stack.

use std::ops::Bound;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use gslb_model::model::FieldErrors;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::dto::page::{PageQuery, DEFAULT_LIMIT, MAX_LIMIT};
use crate::error::ApiError;
use crate::strict_json::Strict;

/// A JSON body; syntax errors answer 400, type and field errors 422 naming the path
/// (`location.lat: invalid type: string "x", expected f64`).
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

/// Reads the raw body, mapping a too-large body to 413.
pub async fn read_body<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(request, state)
        .await
        .map_err(|rejection: BytesRejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge(format!(
                    "request body too large: {}",
                    rejection.body_text()
                ))
            } else {
                ApiError::bad_request(format!(
                    "cannot read the request body: {}",
                    rejection.body_text()
                ))
            }
        })
}

/// True when the request says its body is JSON (or says nothing).
pub fn is_json(headers: &HeaderMap) -> bool {
    match headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    {
        None => true,
        Some(value) => {
            let essence = value.split(';').next().unwrap_or_default().trim();
            essence.eq_ignore_ascii_case("application/json") || essence.ends_with("+json")
        }
    }
}

/// Parses JSON into `T`, naming the path of the first fault; an object must be an object
/// (`strict_json`), not an array of its fields.
///
/// A whole number written as a float (`2.0`) is the same JSON Schema integer as `2`, so an
/// integer field takes it: when the strict parse fails on data, the body is read again with
/// such numbers made integers, and the first fault is reported if that fails too.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let parsed: Result<T, _> = serde_path_to_error::deserialize(Strict(&mut deserializer));
    let value = match parsed {
        Ok(value) => value,
        Err(error) => {
            if error.inner().classify() == serde_json::error::Category::Data {
                if let Some(value) = parse_with_whole_floats(bytes) {
                    return Ok(value);
                }
            }
            let path = error.path().to_string();
            let inner = error.into_inner();
            let message = strip_position(&inner.to_string());
            return Err(match inner.classify() {
                serde_json::error::Category::Data => {
                    let path = if path == "." { String::new() } else { path };
                    let mut fields = FieldErrors::default();
                    fields.push(path, message);
                    ApiError::Invalid { fields }
                }
                _ => ApiError::bad_request(format!("body is not valid JSON: {inner}")),
            });
        }
    };
    deserializer
        .end()
        .map_err(|error| ApiError::bad_request(format!("body is not valid JSON: {error}")))?;
    Ok(value)
}

/// `bytes` as `T` after rewriting every whole-number float (`2.0`, `1e3`) as an integer;
/// `None` when the body still does not fit or held no such number.
fn parse_with_whole_floats<T: DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    let mut value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    if !integralize(&mut value) {
        return None;
    }
    T::deserialize(Strict(value)).ok()
}

/// Rewrites whole-number floats inside `value` as integers (within the i64/u64 range that
/// a float spells exactly); true when it changed any.
fn integralize(value: &mut serde_json::Value) -> bool {
    /// 2^53: beyond it a float no longer names one integer.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    match value {
        serde_json::Value::Number(number) if number.is_f64() => {
            let float = number.as_f64().unwrap_or(f64::NAN);
            if float.fract() != 0.0 || !float.is_finite() || float.abs() > EXACT {
                return false;
            }
            *number = if float < 0.0 {
                serde_json::Number::from(float as i64)
            } else {
                serde_json::Number::from(float as u64)
            };
            true
        }
        serde_json::Value::Array(items) => items
            .iter_mut()
            .fold(false, |changed, item| integralize(item) | changed),
        serde_json::Value::Object(members) => members
            .values_mut()
            .fold(false, |changed, item| integralize(item) | changed),
        _ => false,
    }
}

/// serde_json appends " at line L column C" to data errors; the path says more.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(index) => message[..index].to_string(),
        None => message.to_string(),
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(request.headers()) {
            return Err(ApiError::UnsupportedMediaType(
                "expected Content-Type: application/json".to_string(),
            ));
        }
        let bytes = read_body(request, state).await?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// The strong ETag of a resource: a hash of its JSON representation, quoted.
pub fn etag_of<T: Serialize>(value: &T) -> String {
    let json = serde_json::to_vec(value).unwrap_or_default();
    let digest = Sha256::digest(&json);
    format!("\"{}\"", &hex::encode(digest)[..24])
}

/// The `ETag` header value for `etag`.
pub fn etag_header(etag: &str) -> HeaderValue {
    HeaderValue::from_str(etag).unwrap_or_else(|_| HeaderValue::from_static("\"\""))
}

/// Checks `If-Match` and `If-None-Match` against the resource's current ETag (`None` when it
/// does not exist): `If-Match: *` needs it to exist, `If-Match: "x"` needs that exact ETag,
/// `If-None-Match: *` needs it absent. Failing any is 412 and nothing is written.
pub fn check_preconditions(headers: &HeaderMap, current: Option<&str>) -> Result<(), ApiError> {
    if let Some(value) = headers.get(header::IF_MATCH) {
        let wanted = value.to_str().unwrap_or_default();
        let ok = match current {
            None => false,
            Some(current) => wanted.split(',').map(str::trim).any(|candidate| {
                candidate == "*"
                    || candidate == current
                    || candidate.strip_prefix("W/") == Some(current)
            }),
        };
        if !ok {
            return Err(ApiError::PreconditionFailed(match current {
                Some(current) => format!(
                    "if-match {wanted} does not match the current etag {current}; re-read and retry"
                ),
                None => format!("if-match {wanted} given but the resource does not exist"),
            }));
        }
    }
    if let Some(value) = headers.get(header::IF_NONE_MATCH) {
        let wanted = value.to_str().unwrap_or_default().trim();
        let clash = match current {
            None => false,
            Some(current) => {
                wanted == "*" || wanted.split(',').map(str::trim).any(|c| c == current)
            }
        };
        if clash {
            return Err(ApiError::PreconditionFailed(format!(
                "if-none-match {wanted}: the resource exists"
            )));
        }
    }
    Ok(())
}

/// A number the API takes as text (a path segment, a cursor): 1 to 19 decimal digits, as
/// the OpenAPI document says (every such number fits a `u64`, and the API never prints a
/// longer run of leading zeros); 400 naming `field` otherwise.
pub fn number_text(field: &str, text: &str) -> Result<u64, ApiError> {
    let digits = (1..=19).contains(&text.len()) && text.bytes().all(|byte| byte.is_ascii_digit());
    text.parse::<u64>()
        .ok()
        .filter(|_| digits)
        .ok_or_else(|| ApiError::BadRequest {
            message: format!("{field} must be a number of 1 to 19 digits, got {text:?}"),
            fields: Default::default(),
        })
}

/// The page size of a query, 1..=1000.
pub fn page_limit(query: &PageQuery) -> Result<usize, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        let mut fields = FieldErrors::default();
        fields.push("limit", format!("must be 1-{MAX_LIMIT}, got {limit}"));
        return Err(ApiError::BadRequest {
            message: format!("limit must be 1-{MAX_LIMIT}, got {limit}"),
            fields,
        });
    }
    Ok(limit)
}

/// One page of `items` (sorted by key) after `after`; returns the items and the `next` key
/// when more follow. `render_key` turns a key into its `after` text.
pub fn paginate<'a, K: Ord + 'a, V: 'a, T>(
    map: impl Iterator<Item = (&'a K, &'a V)>,
    after: Option<&K>,
    limit: usize,
    render_key: impl Fn(&K) -> String,
    convert: impl Fn(&V) -> Option<T>,
) -> (Vec<T>, Option<String>) {
    let lower = after.map_or(Bound::Unbounded, Bound::Excluded);
    let mut items = Vec::new();
    let mut last_key = None;
    let mut more = false;
    for (key, value) in map {
        let past = match lower {
            Bound::Unbounded => true,
            Bound::Excluded(after) => key > after,
            Bound::Included(after) => key >= after,
        };
        if !past {
            continue;
        }
        if items.len() == limit {
            more = true;
            break;
        }
        if let Some(item) = convert(value) {
            items.push(item);
            last_key = Some(key);
        }
    }
    let next = if more { last_key.map(render_key) } else { None };
    (items, next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        weight: u32,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Outer {
        items: Vec<Inner>,
    }

    fn error_of(json: &str) -> (StatusCode, String) {
        let error = parse_json::<Outer>(json.as_bytes()).unwrap_err();
        (
            error.status(),
            error
                .body()
                .fields
                .first()
                .map(|f| f.path.clone())
                .unwrap_or_default(),
        )
    }

    #[test]
    fn faults_name_their_path() {
        assert_eq!(
            error_of(r#"{"items":[{"weight":1},{"weight":"x"}]}"#),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                "items[1].weight".to_string()
            )
        );
        assert_eq!(
            error_of(r#"{"items":[{"weight":1,"color":2}]}"#).0,
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(error_of(r#"{"items":[{"#).0, StatusCode::BAD_REQUEST);
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let error = parse_json::<serde_json::Value>(deep.as_bytes()).unwrap_err();
        assert_eq!(
            error.status(),
            StatusCode::BAD_REQUEST,
            "deep nesting is refused"
        );
    }

    #[test]
    fn preconditions() {
        let mut headers = HeaderMap::new();
        headers.insert(header::IF_MATCH, HeaderValue::from_static("\"a\""));
        assert!(check_preconditions(&headers, Some("\"a\"")).is_ok());
        assert!(check_preconditions(&headers, Some("\"b\"")).is_err());
        assert!(check_preconditions(&headers, None).is_err());
        let mut headers = HeaderMap::new();
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(check_preconditions(&headers, None).is_ok());
        assert!(check_preconditions(&headers, Some("\"b\"")).is_err());
    }

    #[test]
    fn pages_follow_keys() {
        let map: std::collections::BTreeMap<u32, u32> = (1..=5).map(|k| (k, k * 10)).collect();
        let (items, next) = paginate(map.iter(), None, 2, |k| k.to_string(), |v| Some(*v));
        assert_eq!((items, next.as_deref()), (vec![10, 20], Some("2")));
        let (items, next) = paginate(map.iter(), Some(&4), 2, |k| k.to_string(), |v| Some(*v));
        assert_eq!((items, next), (vec![50], None));
    }
}
