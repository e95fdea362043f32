//! `GET /api/v1/realtime/token`: a short-lived token for `/connection/websocket`.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Serialize;

use super::AppState;
use super::error::ApiError;
use super::extract::{CurrentUser, Json};

pub fn router() -> Router<AppState> {
    Router::new().route("/realtime/token", get(get_token))
}

#[derive(Serialize)]
struct TokenResponse {
    /// Pass as `token` in the protocol's `connect` (and `refresh`).
    token: String,
    /// Unix seconds.
    expires_at: i64,
    /// Path of the WebSocket endpoint.
    url: &'static str,
}

async fn get_token(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
) -> Result<Json<TokenResponse>, ApiError> {
    let (token, expires_at) = state.accounts.issue_realtime_token(&who, state.realtime.config.token_ttl)?;
    Ok(Json(TokenResponse { token, expires_at, url: "/connection/websocket" }))
}
