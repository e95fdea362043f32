//! Extractors: who is calling, from where, and a `Json` whose rejections use our error shape.

use std::net::SocketAddr;

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, FromRef, FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::sync::Arc;
use switchboard::auth::{ClientAddr, token_from_cookie_header};

use super::AppState;
use super::error::ApiError;
use crate::services::accounts::{AccountService, Authenticated};

/// `axum::Json`, but a malformed, mistyped or oversized body answers in our error shape.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    axum::Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    let status = rejection.status();
    let code = match &rejection {
        JsonRejection::JsonDataError(_) => "invalid_body",
        JsonRejection::JsonSyntaxError(_) => "invalid_json",
        JsonRejection::MissingJsonContentType(_) => "unsupported_media_type",
        _ if status == StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        _ => "bad_request",
    };
    let message = match code {
        "payload_too_large" => "The request body is too large.".to_owned(),
        "unsupported_media_type" => "Send the body as JSON with `Content-Type: application/json`.".to_owned(),
        _ => rejection.body_text(),
    };
    ApiError::new(status, code, message)
}

/// The bearer token (`Authorization: Bearer …`) or else the session cookie.
pub fn request_token(parts: &Parts) -> Option<String> {
    let bearer = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|auth| auth.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    if let Some(token) = bearer {
        return Some(token.to_owned());
    }
    cookie_token(&parts.headers)
}

/// The session cookie's token, if the request carries one.
pub fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|h| token_from_cookie_header(h).map(str::to_owned))
}

/// The signed-in caller; rejects with 401 in our error shape.
#[derive(Clone, Debug)]
pub struct CurrentUser(pub Authenticated);

impl<S> FromRequestParts<S> for CurrentUser
where
    Arc<AccountService>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let token = request_token(parts).ok_or_else(ApiError::unauthenticated)?;
        let accounts = Arc::<AccountService>::from_ref(state);
        let who = crate::access::caller(&accounts, &token).await?;
        tracing::Span::current().record("user_id", tracing::field::display(who.user.id));
        if let Some(outcome) = accounts.count_request(&who) {
            let state = outcome.unwrap_or_else(|refused| refused);
            if let Some(slot) = parts.extensions.get::<RateSlot>() {
                *slot.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(state);
            }
            if let Some(wait) = state.retry_after {
                return Err(crate::services::ServiceError::RateLimited(wait).into());
            }
        }
        if who.read_only() && !matches!(parts.method, Method::GET | Method::HEAD) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                "This API key may only read: use a key with the `server` scope.",
            ));
        }
        Ok(CurrentUser(who))
    }
}

/// Where [`CurrentUser`] leaves an API key's or app user's request quota, for
/// [`rate_headers`] to tell in the response.
#[derive(Clone, Default)]
pub struct RateSlot(Arc<std::sync::Mutex<Option<crate::services::platform::RateState>>>);

/// Middleware of the API: answers keys and app users with the standard `RateLimit-Limit`,
/// `RateLimit-Remaining` and `RateLimit-Reset` headers (seconds), on refusals too (which also
/// carry `Retry-After`).
pub async fn rate_headers(mut req: Request, next: Next) -> Response {
    let slot = RateSlot::default();
    req.extensions_mut().insert(slot.clone());
    let mut response = next.run(req).await;
    let state = *slot.0.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(state) = state {
        let headers = response.headers_mut();
        let reset = state.reset.as_secs_f64().ceil() as u64;
        for (name, value) in [
            ("ratelimit-limit", u64::from(state.limit)),
            ("ratelimit-remaining", u64::from(state.remaining)),
            ("ratelimit-reset", reset),
        ] {
            headers.insert(name, axum::http::HeaderValue::from(value));
        }
    }
    response
}

/// Middleware: decides the client's address once and stores it as [`ClientAddr`].
pub async fn client_addr(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let forwarded = state
        .http
        .trust_proxy
        .then(|| req.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok()))
        .flatten()
        .and_then(|v| v.split(',').next())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty());
    let peer =
        req.extensions().get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip().to_string());
    let addr = forwarded.or(peer).unwrap_or_else(|| "unknown".to_owned());
    req.extensions_mut().insert(ClientAddr(addr));
    next.run(req).await
}

/// The header naming the workspace a call acts in. Optional: without it a call acts in the
/// user's default workspace (or their only one).
pub const WORKSPACE_HEADER: &str = "x-workspace-id";

/// The signed-in caller as one of the workspace's staff (an agent, admin or owner, or an API
/// key acting as an admin), in the workspace the request acts in: the one named by
/// `X-Workspace-Id`, else the caller's default workspace, else their only one (the rule is
/// [`crate::access::acting_membership`]). 400 when nothing decides, 403 for non-members and
/// for the app's users (they reach only the routes that take [`AnyMember`]).
#[derive(Clone, Debug)]
pub struct CurrentMember {
    pub who: Authenticated,
    pub actor: crate::services::Actor,
}

impl FromRequestParts<AppState> for CurrentMember {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let AnyMember(member) = AnyMember::from_request_parts(parts, state).await?;
        if !member.actor.role.is_staff() {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "staff_only",
                "This endpoint is for the workspace's staff and API keys; app users reach their rooms only.",
            ));
        }
        Ok(member)
    }
}

/// Like [`CurrentMember`], but also one of the app's users (with a user token): for the routes
/// a chat client needs (their rooms, history, send, read, reactions). What they may do in each
/// conversation is the access rules' to decide.
#[derive(Clone, Debug)]
pub struct AnyMember(pub CurrentMember);

impl FromRequestParts<AppState> for AnyMember {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let CurrentUser(who) = CurrentUser::from_request_parts(parts, state).await?;
        let named = match parts.headers.get(WORKSPACE_HEADER) {
            Some(value) => Some(
                value
                    .to_str()
                    .ok()
                    .and_then(|v| v.trim().parse::<switchboard::WorkspaceId>().ok())
                    .ok_or_else(|| {
                        ApiError::new(
                            StatusCode::BAD_REQUEST,
                            "invalid_workspace",
                            "X-Workspace-Id must be a workspace id.",
                        )
                    })?,
            ),
            None => None,
        };
        let actor = crate::access::actor(state.store.as_ref(), who.user.id, named).await?;
        tracing::Span::current().record("workspace_id", tracing::field::display(actor.workspace_id));
        Ok(AnyMember(CurrentMember { who, actor }))
    }
}

/// `axum::extract::Query`, but a malformed query string answers in our error shape.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<S, T> FromRequestParts<S> for Query<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Query(value)),
            Err(rejection) => {
                Err(ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", rejection.body_text()))
            }
        }
    }
}

/// Parses an id from the path; anything unparsable is simply not found (`what` names it).
pub fn path_id<T: std::str::FromStr>(raw: &str, what: &'static str) -> Result<T, ApiError> {
    raw.parse().map_err(|_| ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found.")))
}
