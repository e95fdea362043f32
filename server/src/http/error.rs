//! The API's one error type: a status and a stable machine-readable code, rendered as
//! `{"error":{"code":…,"message":…}}`. 5xx bodies never carry internals; the cause is logged
//! once, here, inside the request's span.

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use switchboard::auth::AuthError;
use switchboard::store::StoreError;
use switchboard::validate::ValidationError;

/// An error answered to an API client.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// The offending field, for validation errors.
    pub field: Option<String>,
    /// Seconds to wait, for 429 and 503.
    pub retry_after: Option<u64>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), field: None, retry_after: None }
    }

    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "Sign in first: the token is missing, expired or revoked.",
        )
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "There is nothing at this address.")
    }

    /// A 500 whose cause is logged but never sent.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Something went wrong on our side.")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body =
            Body { error: Inner { code: self.code, message: &self.message, field: self.field.as_deref() } };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<ValidationError> for ApiError {
    fn from(err: ValidationError) -> Self {
        crate::services::ServiceError::Invalid(err).refusal().into()
    }
}

impl From<crate::services::Refusal> for ApiError {
    fn from(r: crate::services::Refusal) -> Self {
        let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Self { status, code: r.code, message: r.message, field: r.field, retry_after: r.retry_after }
    }
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        crate::services::Refusal::from(err).into()
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        crate::services::Refusal::from(err).into()
    }
}

/// The one mapping ([`crate::services::ServiceError::refusal`]), rendered in our JSON shape.
impl From<crate::services::ServiceError> for ApiError {
    fn from(err: crate::services::ServiceError) -> Self {
        err.refusal().into()
    }
}

/// Puts every error the server emits outside our handlers in the [`ApiError`] shape: axum's
/// 405 (empty body), the 413 of a body limit (plain text from the extractor), a WebSocket
/// upgrade refusal, any other empty-bodied 4xx/5xx, and — under `/api`, `/webhooks` and
/// `/connection`, where every client expects JSON — any non-JSON error (the site's HTML 404
/// included). Pages keep their HTML error pages, and server functions (`/_fn`) their own error
/// encoding, except for 405 and 413, which they never produce themselves.
pub async fn json_errors(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let machine = ["/api/", "/webhooks/", "/connection/", "/media/"].iter().any(|p| path.starts_with(p))
        || ["/api", "/webhooks", "/connection"].contains(&path);
    let server_fn = path.starts_with("/_fn/");
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let content_type =
        response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if content_type.starts_with("application/json") {
        return response;
    }
    let empty = axum::body::HttpBody::size_hint(response.body()).exact() == Some(0);
    let always = matches!(status, StatusCode::METHOD_NOT_ALLOWED | StatusCode::PAYLOAD_TOO_LARGE);
    let rewrite = always || machine || (empty && !server_fn);
    if !rewrite {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let error = status_error(status);
    let mut rewritten = error.into_response();
    // Keep what the original said besides its body (`Allow`, `Retry-After`, …).
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_TYPE);
    parts.headers.remove(header::CONTENT_ENCODING);
    for (name, value) in &parts.headers {
        rewritten.headers_mut().insert(name.clone(), value.clone());
    }
    rewritten
}

/// The error of a bare status (no handler said more).
fn status_error(status: StatusCode) -> ApiError {
    let (code, message): (&'static str, &str) = match status {
        StatusCode::BAD_REQUEST => ("bad_request", "The request is malformed."),
        StatusCode::UNAUTHORIZED => {
            ("unauthenticated", "Sign in first: the token is missing, expired or revoked.")
        }
        StatusCode::FORBIDDEN => ("forbidden", "You may not do this."),
        StatusCode::NOT_FOUND => ("not_found", "There is nothing at this address."),
        StatusCode::METHOD_NOT_ALLOWED => {
            ("method_not_allowed", "This address does not answer this method; see `Allow`.")
        }
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "The request body is too large."),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ("unsupported_media_type", "The request body has the wrong content type.")
        }
        StatusCode::UPGRADE_REQUIRED => ("upgrade_required", "This address speaks WebSocket only."),
        StatusCode::TOO_MANY_REQUESTS => ("rate_limited", "Too many requests; try again later."),
        StatusCode::SERVICE_UNAVAILABLE => ("unavailable", "The service is unavailable; try again shortly."),
        s if s.is_server_error() => ("internal", "Something went wrong on our side."),
        _ => ("bad_request", "The request was refused."),
    };
    let message = if code == "bad_request" && status != StatusCode::BAD_REQUEST {
        status.canonical_reason().unwrap_or(message)
    } else {
        message
    };
    ApiError::new(status, code, message)
}
