//! Channel administration: `/api/v1/channels…` (owners and admins; agents get 403).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use switchboard::channel::{CreateChannel, UpdateChannel};
use switchboard::provider::{AuthMethod, AuthSubmission};
use switchboard::{Channel, ChannelId};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::error::ApiError;
use super::extract::{CurrentMember, Json, path_id};
use super::openapi::ApiErrors;
use crate::services::channels::AuthState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_channels, create_channel))
        .routes(routes!(get_channel, update_channel, delete_channel))
        .routes(routes!(get_auth))
        .routes(routes!(start_auth))
        .routes(routes!(submit_auth))
        .routes(routes!(logout_channel))
        .routes(routes!(list_templates))
        .routes(routes!(list_providers))
}

/// The providers this server runs, with what each can do and the settings a channel of it is
/// created with (every member).
#[utoipa::path(get, path = "/providers", tag = "channels", security(("bearer" = []), ("cookie" = [])), params(("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 200, body = Vec<switchboard::provider::ProviderInfo>), ApiErrors))]
async fn list_providers(
    State(state): State<AppState>,
    _member: CurrentMember,
) -> Json<Vec<switchboard::provider::ProviderInfo>> {
    Json(state.channels.providers().infos())
}

/// The channel's approved message templates, from its network (cached for ten minutes); empty
/// for networks without templates. Every member may list them: agents pick one to write first
/// or after the reply window closed.
#[utoipa::path(get, path = "/channels/{id}/templates", tag = "channels", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Channel id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 200, body = Vec<switchboard::message::Template>), ApiErrors))]
async fn list_templates(
    State(state): State<AppState>,
    member: CurrentMember,
    Path(id): Path<String>,
) -> Result<Json<Vec<switchboard::message::Template>>, ApiError> {
    Ok(Json(state.channels.templates(member.actor, channel_id(&id)?).await?))
}

fn channel_id(raw: &str) -> Result<ChannelId, ApiError> {
    path_id(raw, "Channel")
}

/// Creates a channel (owners and admins); it starts `disconnected` (in-app: `connected`).
#[utoipa::path(post, path = "/channels", tag = "channels", security(("bearer" = []), ("cookie" = [])), params(("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), request_body = CreateChannel, responses((status = 201, body = Channel), ApiErrors))]
async fn create_channel(
    State(state): State<AppState>,
    member: CurrentMember,
    Json(req): Json<CreateChannel>,
) -> Result<Response, ApiError> {
    let channel = state.channels.create(member.actor, req).await?;
    Ok((StatusCode::CREATED, Json(channel)).into_response())
}

/// The workspace's channels, oldest first (every member; agents see no config).
#[utoipa::path(get, path = "/channels", tag = "channels", security(("bearer" = []), ("cookie" = [])), params(("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 200, body = Vec<Channel>), ApiErrors))]
async fn list_channels(
    State(state): State<AppState>,
    member: CurrentMember,
) -> Result<Json<Vec<Channel>>, ApiError> {
    Ok(Json(state.channels.list(member.actor).await?))
}

/// One channel, secrets masked (owners and admins).
#[utoipa::path(get, path = "/channels/{id}", tag = "channels", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Channel id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 200, body = Channel), ApiErrors))]
async fn get_channel(
    State(state): State<AppState>,
    member: CurrentMember,
    Path(id): Path<String>,
) -> Result<Json<Channel>, ApiError> {
    Ok(Json(state.channels.get(member.actor, channel_id(&id)?).await?))
}

/// Renames or reconfigures a channel; a masked secret sent back keeps the stored one.
#[utoipa::path(patch, path = "/channels/{id}", tag = "channels", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Channel id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), request_body = UpdateChannel, responses((status = 200, body = Channel), ApiErrors))]
async fn update_channel(
    State(state): State<AppState>,
    member: CurrentMember,
    Path(id): Path<String>,
    Json(req): Json<UpdateChannel>,
) -> Result<Json<Channel>, ApiError> {
    Ok(Json(state.channels.update(member.actor, channel_id(&id)?, req).await?))
}

/// Deletes a channel and stops its runtime.
#[utoipa::path(delete, path = "/channels/{id}", tag = "channels", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Channel id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 204, description = "Deleted"), ApiErrors))]
async fn delete_channel(
    State(state): State<AppState>,
    member: CurrentMember,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.channels.delete(member.actor, channel_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct StartAuth {
    method: AuthMethod,
    /// The account's phone number, for pairing codes.
    phone: Option<String>,
}

/// Begins signing the channel in: answers the prompt to show.
#[utoipa::path(post, path = "/channels/{id}/auth/start", tag = "channels", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Channel id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), request_body = StartAuth, responses((status = 200, body = AuthState), ApiErrors))]
async fn start_auth(
    State(state): State<AppState>,
    member: CurrentMember,
    Path(id): Path<String>,
    Json(req): Json<StartAuth>,
) -> Result<Json<AuthState>, ApiError> {
    Ok(Json(state.channels.start_auth(member.actor, channel_id(&id)?, req.method, req.phone).await?))
}

/// Answers the prompt (a token, a code).
#[utoipa::path(post, path = "/channels/{id}/auth/submit", tag = "channels", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Channel id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), request_body = AuthSubmission, responses((status = 200, body = AuthState), ApiErrors))]
async fn submit_auth(
    State(state): State<AppState>,
    member: CurrentMember,
    Path(id): Path<String>,
    Json(req): Json<AuthSubmission>,
) -> Result<Json<AuthState>, ApiError> {
    Ok(Json(state.channels.submit_auth(member.actor, channel_id(&id)?, req).await?))
}

/// Where the sign-in stands (a renewed QR, a confirmed code).
#[utoipa::path(get, path = "/channels/{id}/auth", tag = "channels", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Channel id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 200, body = AuthState), ApiErrors))]
async fn get_auth(
    State(state): State<AppState>,
    member: CurrentMember,
    Path(id): Path<String>,
) -> Result<Json<AuthState>, ApiError> {
    Ok(Json(state.channels.auth_state(member.actor, channel_id(&id)?).await?))
}

/// Signs the channel out of its network and forgets its credentials.
#[utoipa::path(post, path = "/channels/{id}/logout", tag = "channels", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Channel id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 200, body = Channel), ApiErrors))]
async fn logout_channel(
    State(state): State<AppState>,
    member: CurrentMember,
    Path(id): Path<String>,
) -> Result<Json<Channel>, ApiError> {
    Ok(Json(state.channels.logout(member.actor, channel_id(&id)?).await?))
}
