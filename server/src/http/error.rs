//! The API's one error type: a status and a stable machine-readable code, rendered as
//! `{"error":{"code":…,"message":…}}`. 5xx bodies never carry internals; the cause is logged
//! once, here, inside the request's span.

use axum::http::{HeaderValue, StatusCode, header};
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
        let mut e = Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", err.to_string());
        e.field = Some(err.field);
        e
    }
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::InvalidCredentials => {
                Self::new(StatusCode::UNAUTHORIZED, "invalid_credentials", "Invalid email or password.")
            }
            AuthError::RateLimited { retry_after_secs } => {
                let mut e = Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    format!("Too many sign-in attempts. Try again in {retry_after_secs} seconds."),
                );
                e.retry_after = Some(retry_after_secs);
                e
            }
            AuthError::Invalid(v) => v.into(),
            AuthError::Unauthenticated => Self::unauthenticated(),
            AuthError::Internal => {
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Something went wrong on our side.")
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => Self::not_found(),
            StoreError::Conflict { constraint } => Self::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("This would duplicate an existing record ({constraint})."),
            ),
            StoreError::Unavailable(cause) => {
                tracing::error!(error = %cause, "database unavailable");
                let mut e = Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "The database is unavailable; try again shortly.",
                );
                e.retry_after = Some(5);
                e
            }
            other => Self::internal(other),
        }
    }
}

impl From<crate::services::ServiceError> for ApiError {
    fn from(err: crate::services::ServiceError) -> Self {
        use crate::services::ServiceError;
        match err {
            ServiceError::Invalid(v) => v.into(),
            ServiceError::Unprocessable(code, message) => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
            }
            ServiceError::Forbidden(message) => Self::new(StatusCode::FORBIDDEN, "forbidden", message),
            ServiceError::Conflict(message) => Self::new(StatusCode::CONFLICT, "conflict", message),
            ServiceError::Unavailable(message) => {
                let mut e = Self::new(StatusCode::SERVICE_UNAVAILABLE, "provider_unavailable", message);
                e.retry_after = Some(5);
                e
            }
            ServiceError::NotFound(what) => {
                let mut what = what.to_owned();
                if let Some(first) = what.get_mut(0..1) {
                    first.make_ascii_uppercase();
                }
                Self::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found."))
            }
            ServiceError::Refused(status, code, message) => {
                Self::new(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST), code, message)
            }
            ServiceError::Store(e) => e.into(),
            ServiceError::Internal(cause) => Self::internal(cause),
        }
    }
}
