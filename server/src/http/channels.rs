//! Channel administration: `/api/v1/channels…` (owners and admins; agents get 403).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use switchboard::channel::{CreateChannel, UpdateChannel};
use switchboard::provider::{AuthMethod, AuthSubmission};
use switchboard::{Channel, ChannelId};

use super::AppState;
use super::error::ApiError;
use super::extract::{CurrentMember, Json, path_id};
use crate::services::channels::AuthState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/channels", get(list_channels).post(create_channel))
        .route("/channels/{id}", get(get_channel).patch(update_channel).delete(delete_channel))
        .route("/channels/{id}/auth", get(get_auth))
        .route("/channels/{id}/auth/start", post(start_auth))
        .route("/channels/{id}/auth/submit", post(submit_auth))
        .route("/channels/{id}/logout", post(logout_channel))
}

fn channel_id(raw: &str) -> Result<ChannelId, ApiError> {
    path_id(raw, "Channel")
}

async fn create_channel(
    State(state): State<AppState>,
    member: CurrentMember,
    Json(req): Json<CreateChannel>,
) -> Result<Response, ApiError> {
    let channel = state.channels.create(member.actor, req).await?;
    Ok((StatusCode::CREATED, Json(channel)).into_response())
}

async fn list_channels(
    State(state): State<AppState>,
    member: CurrentMember,
) -> Result<Json<Vec<Channel>>, ApiError> {
    Ok(Json(state.channels.list(member.actor).await?))
}

async fn get_channel(
    State(state): State<AppState>,
    member: CurrentMember,
    Path(id): Path<String>,
) -> Result<Json<Channel>, ApiError> {
    Ok(Json(state.channels.get(member.actor, channel_id(&id)?).await?))
}

async fn update_channel(
    State(state): State<AppState>,
    member: CurrentMember,
    Path(id): Path<String>,
    Json(req): Json<UpdateChannel>,
) -> Result<Json<Channel>, ApiError> {
    Ok(Json(state.channels.update(member.actor, channel_id(&id)?, req).await?))
}

async fn delete_channel(
    State(state): State<AppState>,
    member: CurrentMember,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.channels.delete(member.actor, channel_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StartAuth {
    method: AuthMethod,
    /// The account's phone number, for pairing codes.
    phone: Option<String>,
}

/// Begins signing the channel in: answers the prompt to show.
async fn start_auth(
    State(state): State<AppState>,
    member: CurrentMember,
    Path(id): Path<String>,
    Json(req): Json<StartAuth>,
) -> Result<Json<AuthState>, ApiError> {
    Ok(Json(state.channels.start_auth(member.actor, channel_id(&id)?, req.method, req.phone).await?))
}

/// Answers the prompt (a token, a code).
async fn submit_auth(
    State(state): State<AppState>,
    member: CurrentMember,
    Path(id): Path<String>,
    Json(req): Json<AuthSubmission>,
) -> Result<Json<AuthState>, ApiError> {
    Ok(Json(state.channels.submit_auth(member.actor, channel_id(&id)?, req).await?))
}

/// Where the sign-in stands (a renewed QR, a confirmed code).
async fn get_auth(
    State(state): State<AppState>,
    member: CurrentMember,
    Path(id): Path<String>,
) -> Result<Json<AuthState>, ApiError> {
    Ok(Json(state.channels.auth_state(member.actor, channel_id(&id)?).await?))
}

/// Signs the channel out of its network and forgets its credentials.
async fn logout_channel(
    State(state): State<AppState>,
    member: CurrentMember,
    Path(id): Path<String>,
) -> Result<Json<Channel>, ApiError> {
    Ok(Json(state.channels.logout(member.actor, channel_id(&id)?).await?))
}
