//! `GET /api/v1/realtime/token`: a short-lived token for `/connection/websocket`.

use axum::extract::State;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::error::ApiError;
use super::extract::{CurrentUser, Json};
use super::openapi::ApiErrors;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_token))
}

#[derive(Serialize, utoipa::ToSchema)]
struct TokenResponse {
    /// Pass as `token` in the protocol's `connect` (and `refresh`).
    token: String,
    /// Unix seconds.
    expires_at: i64,
    /// Path of the WebSocket endpoint.
    url: &'static str,
}

/// A token for `connect` on `/connection/websocket` (Centrifugo protocol v2, JSON).
#[utoipa::path(get, path = "/realtime/token", tag = "realtime", security(("bearer" = []), ("cookie" = [])), responses((status = 200, body = TokenResponse), ApiErrors))]
async fn get_token(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
) -> Result<Json<TokenResponse>, ApiError> {
    let (token, expires_at) = state.accounts.issue_realtime_token(&who, state.realtime.config.token_ttl)?;
    Ok(Json(TokenResponse { token, expires_at, url: "/connection/websocket" }))
}
