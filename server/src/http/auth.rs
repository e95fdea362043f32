//! Sign-in endpoints: `POST /api/v1/auth/login`, `POST /api/v1/auth/logout`, `GET /api/v1/me`,
//! and the caller's own account: password change and sessions (list, revoke one, sign out
//! everywhere). Whatever ends a session also closes its realtime sockets at once.

use axum::extract::{Extension, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use switchboard::auth::{Accounts, ClientAddr};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::error::ApiError;
use super::extract::{CurrentUser, Json, path_id};
use super::openapi::ApiErrors;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(post_login))
        .routes(routes!(post_logout))
        .routes(routes!(get_me))
        .routes(routes!(post_password))
        .routes(routes!(list_sessions, delete_sessions))
        .routes(routes!(delete_session))
}

/// A 204 that also clears the session cookie (the caller's own session ended).
fn signed_out(state: &AppState) -> Result<Response, ApiError> {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let cookie = state.accounts.clear_session_cookie();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).map_err(ApiError::internal)?);
    Ok(response)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    email: String,
    password: String,
}

/// Signs in: answers `{token, expires_in, user, workspaces}` and sets the session cookie.
#[utoipa::path(post, path = "/auth/login", tag = "auth", security(()), request_body = LoginRequest, responses((status = 200, body = switchboard::auth::LoginOutcome, description = "Signed in; also sets the session cookie"), ApiErrors))]
async fn post_login(
    State(state): State<AppState>,
    Extension(client): Extension<ClientAddr>,
    Json(body): Json<LoginRequest>,
) -> Result<Response, ApiError> {
    let outcome = state.accounts.login(&body.email, &body.password, &client.0).await?;
    let cookie = state.accounts.session_cookie(&outcome);
    let mut response = Json(outcome).into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).map_err(ApiError::internal)?);
    Ok(response)
}

/// Signs out: revokes the session (token and cookie alike) and clears the cookie.
#[utoipa::path(post, path = "/auth/logout", tag = "auth", security(("bearer" = []), ("cookie" = [])), responses((status = 204, description = "Signed out; the cookie is cleared"), ApiErrors))]
async fn post_logout(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
) -> Result<Response, ApiError> {
    state.accounts.revoke(who.session_id).await?;
    signed_out(&state)
}

/// The signed-in user and their workspaces.
#[utoipa::path(get, path = "/me", tag = "auth", security(("bearer" = []), ("cookie" = [])), responses((status = 200, body = switchboard::account::Me), ApiErrors))]
async fn get_me(State(state): State<AppState>, CurrentUser(who): CurrentUser) -> Result<Response, ApiError> {
    Ok(Json(state.accounts.me_of(who.user).await?).into_response())
}

/// Changes the caller's password. Every other session of theirs is signed out (and its
/// realtime sockets closed); this one stays. A wrong `current_password` is 422 on that field
/// and counts against the sign-in limit.
#[utoipa::path(post, path = "/me/password", tag = "auth", security(("bearer" = []), ("cookie" = [])), request_body = switchboard::account::ChangePassword, responses((status = 204, description = "Changed; the other sessions are signed out"), ApiErrors))]
async fn post_password(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Json(req): Json<switchboard::account::ChangePassword>,
) -> Result<StatusCode, ApiError> {
    state.accounts.change_password(&who, req).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's active sessions, newest first; `current` marks the one this request used.
#[utoipa::path(get, path = "/me/sessions", tag = "auth", security(("bearer" = []), ("cookie" = [])), responses((status = 200, body = Vec<switchboard::account::SessionInfo>), ApiErrors))]
async fn list_sessions(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
) -> Result<Json<Vec<switchboard::account::SessionInfo>>, ApiError> {
    Ok(Json(state.accounts.sessions(&who).await?))
}

/// Signs out everywhere: revokes every session of the caller, this one included, closes all
/// their realtime sockets and clears the cookie.
#[utoipa::path(delete, path = "/me/sessions", tag = "auth", security(("bearer" = []), ("cookie" = [])), responses((status = 204, description = "Every session signed out; the cookie is cleared"), ApiErrors))]
async fn delete_sessions(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
) -> Result<Response, ApiError> {
    state.accounts.sign_out_everywhere(who.user.id).await?;
    signed_out(&state)
}

/// Revokes one of the caller's sessions and closes its realtime sockets (someone else's, or
/// one already ended, is 404). Revoking the current one also clears the cookie.
#[utoipa::path(delete, path = "/me/sessions/{id}", tag = "auth", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "The session's id")), responses((status = 204, description = "Revoked"), ApiErrors))]
async fn delete_session(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: switchboard::SessionId = path_id(&id, "Session")?;
    if !state.accounts.revoke_own_session(&who, id).await? {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", "Session not found."));
    }
    if id == who.session_id { signed_out(&state) } else { Ok(StatusCode::NO_CONTENT.into_response()) }
}
