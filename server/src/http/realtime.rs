//! `GET /api/v1/realtime/token`: a short-lived token for `/connection/websocket`; and what
//! that endpoint's connections get of the app's state (a [`Gateway`], not all of it).

use axum::extract::{FromRef, State};
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::error::ApiError;
use super::extract::{CurrentUser, Json};
use super::openapi::ApiErrors;

use crate::realtime::connection::Gateway;

impl FromRef<AppState> for Gateway {
    fn from_ref(state: &AppState) -> Self {
        Gateway::new(
            state.realtime.clone(),
            state.accounts.clone(),
            state.messages.clone(),
            state.store.clone(),
        )
    }
}

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

/// A token for `connect` on `/connection/websocket` (Centrifugo protocol v2, JSON), for a
/// signed-in person. An app's users connect with their user token itself.
#[utoipa::path(get, path = "/realtime/token", tag = "realtime", security(("bearer" = []), ("cookie" = [])), responses((status = 200, body = TokenResponse), ApiErrors))]
async fn get_token(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
) -> Result<Json<TokenResponse>, ApiError> {
    if who.via != crate::services::accounts::Via::Session {
        // An app user's token is itself the connection token; keys do not connect.
        return Err(ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "session_required",
            "Realtime tokens are for signed-in people; an app's client connects with its user token.",
        ));
    }
    let (token, expires_at) = state.accounts.issue_realtime_token(&who, state.realtime.config.token_ttl)?;
    Ok(Json(TokenResponse { token, expires_at, url: "/connection/websocket" }))
}
