//! Moderation over REST: flags and their queue, bans, a room's freeze and slow mode, the
//! blocklist, the record of actions, and each member's mutes. Who may is the service's
//! (`services::moderation`): owners and admins for the workspace, a room's moderators for it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use switchboard::moderation::{
    Ban, BlockedWord, CreateBan, CreateFlag, Flag, FlagInContext, FlagResolution, FlagStatus,
    ModerationAction, PutBlocklist, SlowMode,
};
use switchboard::store::RoomRules;
use switchboard::{BanId, Conversation, ConversationId, FlagId, MessageId, UserId};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::error::ApiError;
use super::extract::{AnyMember, Json, Query, path_id};
use super::openapi::ApiErrors;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(flag_message))
        .routes(routes!(list_flags, flag_user))
        .routes(routes!(resolve_flag))
        .routes(routes!(list_bans, create_ban))
        .routes(routes!(lift_ban))
        .routes(routes!(freeze_room, thaw_room))
        .routes(routes!(set_slow_mode))
        .routes(routes!(get_blocklist, put_blocklist))
        .routes(routes!(moderation_log))
        .routes(routes!(list_mutes))
        .routes(routes!(mute_user, unmute_user))
}

/// Flags a message for the moderators (anyone who reads it). 201 with the flag.
#[utoipa::path(post, path = "/messages/{id}/flag", tag = "moderation", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Message id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), request_body = CreateFlag, responses((status = 201, body = Flag), ApiErrors))]
async fn flag_message(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Path(id): Path<String>,
    Json(req): Json<CreateFlag>,
) -> Result<Response, ApiError> {
    let id: MessageId = path_id(&id, "Message")?;
    let flag = state.messages.flag(member.actor, Some(id), req).await?;
    Ok((StatusCode::CREATED, Json(flag)).into_response())
}

/// Flags a person of the workspace (`user_id`) for the moderators. 201 with the flag.
#[utoipa::path(post, path = "/moderation/flags", tag = "moderation", security(("bearer" = []), ("cookie" = [])), params(("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), request_body = CreateFlag, responses((status = 201, body = Flag), ApiErrors))]
async fn flag_user(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Json(req): Json<CreateFlag>,
) -> Result<Response, ApiError> {
    let flag = state.messages.flag(member.actor, None, req).await?;
    Ok((StatusCode::CREATED, Json(flag)).into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct FlagQuery {
    /// `open` (the default), `dismissed`, `actioned` or `all`.
    status: Option<String>,
}

/// The moderation queue (owners and admins): flags, the newest first, each with its message
/// and the two before it.
#[utoipa::path(get, path = "/moderation/flags", tag = "moderation", security(("bearer" = []), ("cookie" = [])), params(FlagQuery, ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 200, body = Vec<FlagInContext>), ApiErrors))]
async fn list_flags(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Query(q): Query<FlagQuery>,
) -> Result<Json<Vec<FlagInContext>>, ApiError> {
    let status = match q.status.as_deref() {
        None => Some(FlagStatus::Open),
        Some("all") => None,
        Some(raw) => Some(raw.parse::<FlagStatus>().map_err(|_| {
            let mut e = ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                "status is one of open, dismissed, actioned, all",
            );
            e.field = Some("status".into());
            e
        })?),
    };
    Ok(Json(state.messages.flags(member.actor, status).await?))
}

/// Acts on an open flag (owners and admins): `{"action": "dismiss"}`, `{"action":
/// "delete_message"}` or `{"action": "ban", "shadow": false, "duration_secs": 3600}`.
#[utoipa::path(post, path = "/moderation/flags/{id}/resolve", tag = "moderation", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Flag id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), request_body = FlagResolution, responses((status = 200, body = Flag), ApiErrors))]
async fn resolve_flag(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Path(id): Path<String>,
    Json(how): Json<FlagResolution>,
) -> Result<Json<Flag>, ApiError> {
    let id: FlagId = path_id(&id, "Flag")?;
    Ok(Json(state.messages.resolve_flag(member.actor, id, how).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct BanQuery {
    /// A room: its bans and the workspace-wide ones (its moderators may ask).
    conversation_id: Option<String>,
}

/// The bans in force.
#[utoipa::path(get, path = "/moderation/bans", tag = "moderation", security(("bearer" = []), ("cookie" = [])), params(BanQuery, ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 200, body = Vec<Ban>), ApiErrors))]
async fn list_bans(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Query(q): Query<BanQuery>,
) -> Result<Json<Vec<Ban>>, ApiError> {
    let room: Option<ConversationId> =
        super::conversations::query_id(q.conversation_id.as_deref(), "conversation_id")?;
    Ok(Json(state.messages.bans(member.actor, room).await?))
}

/// Bans a person from a room (its moderators), or an app user from every room (admins);
/// `shadow`: they still post, and only they see it. 201 with the ban.
#[utoipa::path(post, path = "/moderation/bans", tag = "moderation", security(("bearer" = []), ("cookie" = [])), params(("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), request_body = CreateBan, responses((status = 201, body = Ban), ApiErrors))]
async fn create_ban(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Json(req): Json<CreateBan>,
) -> Result<Response, ApiError> {
    let ban = state.messages.ban(member.actor, req).await?;
    Ok((StatusCode::CREATED, Json(ban)).into_response())
}

/// Lifts a ban now.
#[utoipa::path(delete, path = "/moderation/bans/{id}", tag = "moderation", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Ban id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 200, body = Ban), ApiErrors))]
async fn lift_ban(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Path(id): Path<String>,
) -> Result<Json<Ban>, ApiError> {
    let id: BanId = path_id(&id, "Ban")?;
    Ok(Json(state.messages.unban(member.actor, id).await?))
}

/// Freezes a room: no new messages (403 `room_frozen`); reading goes on. Subscribers get
/// `conversation.updated` with `frozen`.
#[utoipa::path(put, path = "/conversations/{id}/freeze", tag = "moderation", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Room id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 200, body = Conversation), ApiErrors))]
async fn freeze_room(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Path(id): Path<String>,
) -> Result<Json<Conversation>, ApiError> {
    let id: ConversationId = path_id(&id, "Conversation")?;
    let rules = RoomRules { frozen: Some(true), slow_mode_secs: None };
    Ok(Json(state.messages.set_room_rules(member.actor, id, rules).await?))
}

/// Thaws a frozen room.
#[utoipa::path(delete, path = "/conversations/{id}/freeze", tag = "moderation", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Room id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 200, body = Conversation), ApiErrors))]
async fn thaw_room(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Path(id): Path<String>,
) -> Result<Json<Conversation>, ApiError> {
    let id: ConversationId = path_id(&id, "Conversation")?;
    let rules = RoomRules { frozen: Some(false), slow_mode_secs: None };
    Ok(Json(state.messages.set_room_rules(member.actor, id, rules).await?))
}

/// Sets a room's slow mode: each member (not its moderators) posts at most once per `seconds`
/// (429 `slow_mode` with the wait left); 0 turns it off.
#[utoipa::path(put, path = "/conversations/{id}/slow-mode", tag = "moderation", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Room id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), request_body = SlowMode, responses((status = 200, body = Conversation), ApiErrors))]
async fn set_slow_mode(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Path(id): Path<String>,
    Json(req): Json<SlowMode>,
) -> Result<Json<Conversation>, ApiError> {
    let id: ConversationId = path_id(&id, "Conversation")?;
    let rules = RoomRules { frozen: None, slow_mode_secs: Some(req.seconds) };
    Ok(Json(state.messages.set_room_rules(member.actor, id, rules).await?))
}

/// The workspace's blocklist (owners and admins).
#[utoipa::path(get, path = "/moderation/blocklist", tag = "moderation", security(("bearer" = []), ("cookie" = [])), params(("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 200, body = Vec<BlockedWord>), ApiErrors))]
async fn get_blocklist(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
) -> Result<Json<Vec<BlockedWord>>, ApiError> {
    Ok(Json(state.messages.blocklist(member.actor).await?))
}

/// Replaces the blocklist: words or phrases, matched whole whatever their case or accents;
/// `block` refuses the message (422 `blocked_words`), `flag` lets it through and raises a flag.
#[utoipa::path(put, path = "/moderation/blocklist", tag = "moderation", security(("bearer" = []), ("cookie" = [])), params(("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), request_body = PutBlocklist, responses((status = 200, body = Vec<BlockedWord>), ApiErrors))]
async fn put_blocklist(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Json(req): Json<PutBlocklist>,
) -> Result<Json<Vec<BlockedWord>>, ApiError> {
    Ok(Json(state.messages.set_blocklist(member.actor, req).await?))
}

/// Every moderation action (who, what, when), the newest first (owners and admins).
#[utoipa::path(get, path = "/moderation/actions", tag = "moderation", security(("bearer" = []), ("cookie" = [])), params(("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 200, body = Vec<ModerationAction>), ApiErrors))]
async fn moderation_log(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
) -> Result<Json<Vec<ModerationAction>>, ApiError> {
    Ok(Json(state.messages.moderation_log(member.actor).await?))
}

/// Whom the caller muted.
#[utoipa::path(get, path = "/mutes", tag = "moderation", security(("bearer" = []), ("cookie" = [])), params(("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 200, body = Vec<UserId>), ApiErrors))]
async fn list_mutes(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
) -> Result<Json<Vec<UserId>>, ApiError> {
    Ok(Json(state.messages.mutes(member.actor).await?))
}

/// Mutes someone for the caller: their messages stop counting as unread and show folded.
#[utoipa::path(put, path = "/mutes/{user_id}", tag = "moderation", security(("bearer" = []), ("cookie" = [])), params(("user_id" = String, Path, description = "Who to mute"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 204, description = "Muted"), ApiErrors))]
async fn mute_user(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Path(user): Path<String>,
) -> Result<StatusCode, ApiError> {
    let user: UserId = path_id(&user, "User")?;
    state.messages.mute(member.actor, user, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Unmutes someone.
#[utoipa::path(delete, path = "/mutes/{user_id}", tag = "moderation", security(("bearer" = []), ("cookie" = [])), params(("user_id" = String, Path, description = "Who to unmute"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 204, description = "Not muted"), ApiErrors))]
async fn unmute_user(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Path(user): Path<String>,
) -> Result<StatusCode, ApiError> {
    let user: UserId = path_id(&user, "User")?;
    state.messages.mute(member.actor, user, false).await?;
    Ok(StatusCode::NO_CONTENT)
}
