//! `ApiError`: every way a request can fail, and the one JSON body every error answers with:
//! `{"code": "...", "message": "...", "fields": [{"path": "...", "message": "..."}]}`.
//!
//! Field paths use the shape of the request body (`location.lat`, `changes[2].endpoint.weight`),
//! messages are lowercase and name the value at fault; `body_path` rewrites the store's paths
//! into those.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gslb_model::model::FieldErrors;
use gslb_store::raft::WriteError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// A stable machine-readable code: `bad_request`, `invalid`, `unauthorized`, `forbidden`,
    /// `not_found`, `conflict`, `precondition_failed`, `payload_too_large`, `timeout`,
    /// `unavailable`, `not_implemented`, `method_not_allowed`, `unsupported_media_type`.
    pub code: String,
    /// What went wrong, for people.
    pub message: String,
    /// Every field at fault; empty when the error is not about a field.
    #[serde(default)]
    pub fields: Vec<FieldErrorBody>,
}

/// One field at fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldErrorBody {
    /// Where, as a path into the request body (`location.lat`, `data[1]`).
    pub path: String,
    /// What is wrong, naming the value.
    pub message: String,
}

/// Why a request failed; each variant maps to one status code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// The body is not parseable at all (broken JSON, wrong media type content).
    #[error("{message}")]
    BadRequest {
        /// What is wrong.
        message: String,
        /// Fields at fault, when known.
        fields: FieldErrors,
    },
    /// The body parsed but does not describe a valid change (400 family: 422).
    #[error("invalid request: {fields}")]
    Invalid {
        /// Every field at fault.
        fields: FieldErrors,
    },
    /// No credentials, or unknown ones.
    #[error("{0}")]
    Unauthorized(String),
    /// Valid credentials without the scope the route needs.
    #[error("{0}")]
    Forbidden(String),
    /// The resource does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with the current state (exists already, still in use).
    #[error("{message}")]
    Conflict {
        /// What conflicts.
        message: String,
        /// Fields at fault, when known.
        fields: FieldErrors,
    },
    /// An `If-Match` / `If-None-Match` precondition does not hold.
    #[error("{0}")]
    PreconditionFailed(String),
    /// The body's media type is not one the route reads.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The body is larger than the configured limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The request is over a configured limit: 413 whose one field is the limit's config key
    /// (`control.limits.max_request_bytes`, `control.limits.max_zone_records`) and whose
    /// message gives the limit and the size seen.
    #[error("{message}")]
    OverLimit {
        /// The config key of the limit.
        limit: String,
        /// The limit and the size seen, e.g. `request body of 27000000 bytes is over ...`.
        message: String,
    },
    /// No leader, or the outcome of a write is unknown: retry (writes are idempotent).
    #[error("{0}")]
    Unavailable(String),
    /// The request took longer than the configured request timeout (a slow client, or a
    /// write that did not commit in time; writes are idempotent, retry).
    #[error("{0}")]
    Timeout(String),
    /// Too many failed authentications from this source; retry after `retry_after` seconds
    /// (sent as `Retry-After`).
    #[error("{message}")]
    TooManyRequests {
        /// What was throttled.
        message: String,
        /// Seconds until the source may try again.
        retry_after: u64,
    },
    /// The route exists but its engine is not wired yet.
    #[error("{0}")]
    NotImplemented(String),
    /// Something that should not happen; the message says what.
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    /// A 422 with one field error.
    pub fn field(path: impl Into<String>, message: impl Into<String>) -> ApiError {
        let mut fields = FieldErrors::default();
        fields.push(path, message);
        ApiError::Invalid { fields }
    }

    /// A 400 without fields.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::BadRequest {
            message: message.into(),
            fields: FieldErrors::default(),
        }
    }

    /// A 409 without fields.
    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::Conflict {
            message: message.into(),
            fields: FieldErrors::default(),
        }
    }

    /// The status code this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge(_) | ApiError::OverLimit { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The JSON body.
    pub fn body(&self) -> ErrorBody {
        let (message, fields) = match self {
            ApiError::BadRequest { message, fields } | ApiError::Conflict { message, fields } => {
                (message.clone(), fields)
            }
            ApiError::Invalid { fields } => (format!("invalid request: {fields}"), fields),
            ApiError::OverLimit { limit, message } => {
                let mut fields = FieldErrors::default();
                fields.push(limit.clone(), message.clone());
                return ErrorBody {
                    code: code_for(self.status()).to_string(),
                    message: message.clone(),
                    fields: fields
                        .0
                        .into_iter()
                        .map(|error| FieldErrorBody {
                            path: error.path,
                            message: error.message,
                        })
                        .collect(),
                };
            }
            other => (other.to_string(), &FieldErrors::default() as &FieldErrors),
        };
        ErrorBody {
            code: code_for(self.status()).to_string(),
            message,
            fields: fields
                .0
                .iter()
                .map(|error| FieldErrorBody {
                    path: error.path.clone(),
                    message: error.message.clone(),
                })
                .collect(),
        }
    }

    /// Maps a failed write of a command. `delete` marks commands that remove something:
    /// their validation failures are references still in use, hence conflicts. `rename`
    /// rewrites the store's field paths into the request body's.
    pub fn from_write(error: WriteError, delete: bool, rename: impl Fn(&str) -> String) -> Self {
        let renamed = |errors: FieldErrors| {
            FieldErrors(
                errors
                    .0
                    .into_iter()
                    .map(|mut error| {
                        error.path = rename(&error.path);
                        error.message = error.message.replace("rrsets[", "records[");
                        error
                    })
                    .collect(),
            )
        };
        let failed_precondition = match &error {
            WriteError::Invalid { errors } | WriteError::Rejected { errors, .. } => errors
                .0
                .iter()
                .find(|error| error.path == "precondition")
                .map(|error| error.message.clone()),
            _ => None,
        };
        if let Some(message) = failed_precondition {
            // A create that met an existing resource is a conflict; a conditional write that
            // met a change is a failed precondition.
            return if message.ends_with("exists already") {
                ApiError::conflict(message)
            } else {
                ApiError::PreconditionFailed(message)
            };
        }
        match error {
            WriteError::Invalid { errors } if delete => ApiError::Conflict {
                message: format!("cannot delete: {errors}"),
                fields: renamed(errors),
            },
            WriteError::Invalid { errors } => ApiError::Invalid {
                fields: renamed(errors),
            },
            WriteError::Rejected { version, errors } => ApiError::Conflict {
                message: format!(
                    "the change met a newer state at version {version} and was rejected: {errors}"
                ),
                fields: renamed(errors),
            },
            other @ (WriteError::NoLeader
            | WriteError::NoQuorum { .. }
            | WriteError::NotLeader { .. }
            | WriteError::Storage { .. }
            | WriteError::Unavailable { .. }) => ApiError::Unavailable(other.to_string()),
        }
    }
}

/// Rewrites a store field path into the request body's terms: drops `strip` (the command's
/// payload field, e.g. `region.`), and renames `commands[i]` → `changes[i]`, `rrsets` →
/// `records`, `rdata` → `data`, `rrset` → `record`.
pub fn body_path(path: &str, strip: &str) -> String {
    let path = if strip.is_empty() {
        path
    } else if path == strip.trim_end_matches('.') {
        ""
    } else {
        path.strip_prefix(strip).unwrap_or(path)
    };
    let renamed = path
        .replace("commands[", "changes[")
        .replace("rrsets[", "records[")
        .replace(".rdata", ".data")
        .replace("rrset.", "record.");
    let renamed = renamed
        .strip_prefix("rdata")
        .map_or(renamed.clone(), |rest| format!("data{rest}"));
    if renamed.ends_with(".rrset") || renamed == "rrset" {
        format!("{}record", renamed.trim_end_matches("rrset"))
    } else {
        renamed
    }
}

/// Marks a 413 response that already names its limit, so the body-limit middleware leaves
/// it as it is.
#[derive(Debug, Clone, Copy)]
pub struct LimitNamed;

/// The `code` for a status.
pub fn code_for(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::CONFLICT => "conflict",
        StatusCode::PRECONDITION_FAILED => "precondition_failed",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        StatusCode::TOO_MANY_REQUESTS => "too_many_requests",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        StatusCode::NOT_IMPLEMENTED => "not_implemented",
        status if status.is_server_error() => "internal",
        _ => "error",
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let retry_after = match &self {
            ApiError::TooManyRequests { retry_after, .. } => Some(*retry_after),
            _ => None,
        };
        if status.is_server_error() {
            tracing::warn!(%status, "api error: {self}");
        }
        let named_limit = matches!(self, ApiError::OverLimit { .. });
        let mut response = (status, axum::Json(self.body())).into_response();
        if named_limit {
            response.extensions_mut().insert(LimitNamed);
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"gslb\""),
            );
        }
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::body_path;

    #[test]
    fn store_paths_become_body_paths() {
        assert_eq!(
            body_path("zone.rrsets[2].rdata[0]", "zone."),
            "records[2].data[0]"
        );
        assert_eq!(body_path("rrset.rdata[0].tag", "rrset."), "data[0].tag");
        assert_eq!(body_path("rrset", "rrset."), "");
        assert_eq!(body_path("zone.rrsets[1]", "rrset."), "zone.records[1]");
        assert_eq!(body_path("endpoint.weight", "endpoint."), "weight");
        assert_eq!(
            body_path("commands[1].rrset.rdata[0]", ""),
            "changes[1].record.data[0]"
        );
        assert_eq!(body_path("commands[0].zone", ""), "changes[0].zone");
    }
}
