//! Errors as `application/problem+json` (RFC 9457): the one place where the gateway's errors
//! ([`EntryError`], [`ServiceError`]) become HTTP statuses.
//!
//! What the caller sees names the problem class and, for rule violations in the caller's own
//! request, which rule; it never says which internal check (proof, policy, signature) failed
//! or carries any field value.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::entry::error::EntryError;
use crate::service::error::ServiceError;

/// A problem response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the problem type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// Human-readable explanation (never a field value or an internal check).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Problem {
    fn new(status: StatusCode, slug: &str, title: &str, detail: Option<String>) -> Self {
        Self {
            kind: format!("https://veil.dev/problems/{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail,
        }
    }

    /// 400: malformed request (bad JSON, unknown field, wrong type).
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "malformed-request",
            "Malformed request",
            Some(detail.into()),
        )
    }

    /// 401: no usable identity.
    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "Client certificate required",
            None,
        )
    }

    /// 403: the identity may not do this.
    pub fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "Not allowed", None)
    }

    /// 403 with a reason.
    pub fn forbidden_because(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Not allowed",
            Some(detail.into()),
        )
    }

    /// 404: nothing to show.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found", None)
    }

    /// 404 with a reason (e.g. the entry exists but is not of the kind asked for).
    pub fn not_found_because(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not found",
            Some(detail.into()),
        )
    }

    /// 405: the resource exists but not with this method.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "Method not allowed",
            None,
        )
    }

    /// 408: the client stopped sending its request body for `idle`, or did not send all of
    /// it within `total`.
    pub fn body_timeout(idle: std::time::Duration, total: std::time::Duration) -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "request-timeout",
            "The request body stopped arriving",
            Some(format!(
                "the request body paused for {} s or took over {} s; nothing was written",
                idle.as_secs(),
                total.as_secs()
            )),
        )
    }

    /// 409: a request with the same Idempotency-Key is still being processed
    /// (draft-ietf-httpapi-idempotency-key-header §2.6); retry once it completes.
    pub fn in_progress() -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "in-progress",
            "A request with this Idempotency-Key is still being processed",
            Some("retry the same request with the same key in a moment".into()),
        )
    }

    /// 415: the body's encoding or charset is not one the gateway reads.
    pub fn unsupported_media_type(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            Some(detail.into()),
        )
    }

    /// 409: the Idempotency-Key was first used with another request body.
    pub fn key_reused() -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "idempotency-key-reused",
            "Conflict",
            Some("Idempotency-Key already used with another body".into()),
        )
    }

    /// 409: conflict (idempotency key reused with another body, duplicate business id).
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "conflict",
            "Conflict",
            Some(detail.into()),
        )
    }

    /// 413: body too large.
    pub fn too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            "Request body too large",
            None,
        )
    }

    /// 422: the entry breaks a consortium rule.
    pub fn invalid_entry(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-entry",
            "Invalid entry",
            Some(detail.into()),
        )
    }

    /// 422 without detail: the ledger refused the entry (the reason stays internal).
    pub fn refused() -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-entry",
            "Invalid entry",
            None,
        )
    }

    /// 429: the caller asked more than its limit allows; nothing was done.
    pub fn rate_limited(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            "Too many requests",
            Some(detail.into()),
        )
    }

    /// 503: the ledger is unavailable or busy; retry.
    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Ledger unavailable, retry later",
            None,
        )
    }

    /// 503: not ready (the node does not answer, has no peers, or halted).
    pub fn not_ready() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not-ready",
            "Not ready",
            Some("the node does not answer, has no peers, or has halted".into()),
        )
    }

    /// 409: this gateway's node has not reached the `min_height` the caller asked for (a
    /// precondition of the request, not a fault of the server; retry later).
    pub fn behind(min_height: u64, height: u64) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "behind",
            "The ledger here has not reached the requested height yet",
            Some(format!(
                "this gateway's node is at height {height}, the request asked for min_height \
                 {min_height}; retry later"
            )),
        )
    }

    /// 504: the request as a whole took longer than the gateway allows
    /// ([`crate::api::server::REQUEST_TIMEOUT`]); for a write, it may still complete.
    pub fn request_timeout(write: bool) -> Self {
        Self::new(
            StatusCode::GATEWAY_TIMEOUT,
            "timeout",
            "The request did not complete in time",
            Some(if write {
                "the write may still be finalized: retry it with the same Idempotency-Key".into()
            } else {
                "the ledger did not answer in time; retry".into()
            }),
        )
    }

    /// 504: not finalized in time; retry with the same Idempotency-Key.
    pub fn timeout() -> Self {
        Self::new(
            StatusCode::GATEWAY_TIMEOUT,
            "timeout",
            "Not finalized in time; retry with the same Idempotency-Key",
            None,
        )
    }

    /// 500: a bug or a local failure; details are in the gateway's logs.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            None,
        )
    }

    /// The HTTP status.
    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

/// The problem type's slug (the last segment of its `type` URI), attached to a problem
/// response for the refusals metric.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProblemSlug(pub String);

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status_code();
        // Problems a client is meant to retry say when (RFC 9110 §10.2.3).
        let retry = matches!(
            self.kind.rsplit('/').next(),
            Some("in-progress" | "behind" | "unavailable")
        );
        let slug = ProblemSlug(self.kind.rsplit('/').next().unwrap_or_default().to_owned());
        let mut response = (status, Json(self)).into_response();
        response.extensions_mut().insert(slug);
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if retry {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

impl From<EntryError> for Problem {
    fn from(error: EntryError) -> Self {
        match error {
            EntryError::Malformed(detail) => Self::bad_request(detail),
            EntryError::Invalid(detail) => Self::invalid_entry(detail),
            EntryError::Unavailable => Self::unavailable(),
            EntryError::Internal => Self::internal(),
        }
    }
}

impl From<ServiceError> for Problem {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::Entry(error) => error.into(),
            ServiceError::Forbidden => Self::forbidden(),
            ServiceError::NotFound(None) => Self::not_found(),
            ServiceError::NotFound(Some(detail)) => Self::not_found_because(detail),
            ServiceError::Conflict(detail) | ServiceError::Superseded(detail) => {
                Self::conflict(detail)
            }
            ServiceError::Refused => Self::refused(),
            ServiceError::Unavailable => Self::unavailable(),
            ServiceError::Timeout => Self::timeout(),
            ServiceError::InProgress => Self::in_progress(),
            ServiceError::KeyReused => Self::key_reused(),
            ServiceError::Behind { min_height, height } => Self::behind(min_height, height),
            ServiceError::RateLimited(detail) => Self::rate_limited(detail),
            ServiceError::Internal => Self::internal(),
        }
    }
}
