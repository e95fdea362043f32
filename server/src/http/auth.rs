//! Sign-in endpoints: `POST /api/v1/auth/login`, `POST /api/v1/auth/logout`, `GET /api/v1/me`.

use axum::extract::{Extension, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use switchboard::auth::{Accounts, ClientAddr};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::error::ApiError;
use super::extract::{CurrentUser, Json};
use super::openapi::ApiErrors;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(post_login)).routes(routes!(post_logout)).routes(routes!(get_me))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    email: String,
    password: String,
}

/// Signs in: answers `{token, expires_in, user, workspaces}` and sets the session cookie.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = LoginRequest, responses((status = 200, body = switchboard::auth::LoginOutcome, description = "Signed in; also sets the session cookie"), ApiErrors))]
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
    let mut response = StatusCode::NO_CONTENT.into_response();
    let cookie = state.accounts.clear_session_cookie();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).map_err(ApiError::internal)?);
    Ok(response)
}

/// The signed-in user and their workspaces.
#[utoipa::path(get, path = "/me", tag = "auth", security(("bearer" = []), ("cookie" = [])), responses((status = 200, body = switchboard::account::Me), ApiErrors))]
async fn get_me(State(state): State<AppState>, CurrentUser(who): CurrentUser) -> Result<Response, ApiError> {
    Ok(Json(state.accounts.me_of(who.user).await?).into_response())
}
