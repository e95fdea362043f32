//! Conversations and messages: `/api/v1/conversations…`. Contact conversations are the whole
//! workspace's; rooms are their members' (and the owners' and admins'): see `docs/access.md`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use switchboard::message::{
    AssigneeFilter, ConversationFilter, ConversationStatus, ConversationSummary, CreateRoom, EditMessage,
    MarkRead, SendMessage, UpdateConversation,
};
use switchboard::{ChannelId, ConversationId, Message, MessageId};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::error::ApiError;
use super::extract::{AnyMember, CurrentMember, Json, Query, path_id};
use super::openapi::ApiErrors;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_conversations, create_room))
        .routes(routes!(list_room_members, add_room_members))
        .routes(routes!(remove_room_member))
        .routes(routes!(update_conversation))
        .routes(routes!(list_messages, send_message))
        .routes(routes!(edit_message, delete_message))
        .routes(routes!(retry_message))
        .routes(routes!(star_message, unstar_message))
        .routes(routes!(list_starred))
        .routes(routes!(add_reaction, remove_reaction))
        .routes(routes!(mark_read))
        .routes(routes!(message_reads))
        .routes(routes!(get_sync))
}

pub(super) fn query_id<T: std::str::FromStr>(
    raw: Option<&str>,
    field: &'static str,
) -> Result<Option<T>, ApiError> {
    raw.map(|r| {
        r.parse().map_err(|_| {
            let message = switchboard::validate::ValidationError::new(field, "is not an id").to_string();
            let mut e = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", message);
            e.field = Some(field.to_owned());
            e
        })
    })
    .transpose()
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ConversationQuery {
    channel_id: Option<String>,
    /// Search by contact name.
    q: Option<String>,
    /// `true`: only conversations with unread messages.
    unread: Option<bool>,
    /// `open`, `pending`, `resolved` or `snoozed`.
    status: Option<String>,
    /// `me`, `none` (unassigned) or an agent's id.
    assignee: Option<String>,
    /// Only conversations with this label.
    label_id: Option<String>,
}

/// The workspace's conversations by last activity, with the caller's unread counts.
#[utoipa::path(get, path = "/conversations", tag = "conversations", security(("bearer" = []), ("cookie" = [])), params(ConversationQuery, ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 200, body = Vec<ConversationSummary>), ApiErrors))]
async fn list_conversations(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Query(q): Query<ConversationQuery>,
) -> Result<Json<Vec<ConversationSummary>>, ApiError> {
    let channel: Option<ChannelId> = query_id(q.channel_id.as_deref(), "channel_id")?;
    let status = q
        .status
        .as_deref()
        .map(|s| s.parse::<ConversationStatus>())
        .transpose()
        .map_err(|why| switchboard::validate::ValidationError::new("status", why))?;
    let assignee = q
        .assignee
        .as_deref()
        .map(|raw| AssigneeFilter::parse(raw, member.actor.user_id))
        .transpose()
        .map_err(|why| switchboard::validate::ValidationError::new("assignee", why))?;
    let filter = ConversationFilter {
        channel_id: channel,
        search: q.q,
        unread_only: q.unread.unwrap_or(false),
        status,
        assignee,
        label_id: query_id(q.label_id.as_deref(), "label_id")?,
        // The service sets it from the caller's role.
        rooms: Default::default(),
    };
    Ok(Json(state.messages.conversations(member.actor, filter).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct HistoryQuery {
    before: Option<String>,
    /// A page around this message (it, older ones and newer ones), instead of `before`.
    around: Option<String>,
    limit: Option<u32>,
}

/// History, newest first; page with `before` = the last id of the previous page, or open a
/// page `around` a message (a search hit, a pin).
#[utoipa::path(get, path = "/conversations/{id}/messages", tag = "conversations", security(("bearer" = []), ("cookie" = [])), params(HistoryQuery, ("id" = String, Path, description = "Conversation id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 200, body = Vec<Message>), ApiErrors))]
async fn list_messages(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Path(id): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> Result<Json<Vec<Message>>, ApiError> {
    let conversation: ConversationId = path_id(&id, "Conversation")?;
    let before: Option<MessageId> = query_id(q.before.as_deref(), "before")?;
    if let Some(around) = query_id::<MessageId>(q.around.as_deref(), "around")? {
        if before.is_some() {
            let why = "goes without `around`: a page is either before a message or around it";
            return Err(switchboard::validate::ValidationError::new("before", why).into());
        }
        let limit = q.limit.unwrap_or(50).clamp(1, 200);
        return Ok(Json(state.messages.history_around(member.actor, conversation, around, limit).await?));
    }
    Ok(Json(state.messages.history(member.actor, conversation, before, q.limit).await?))
}

/// Sends a message: 201 with the stored message, or 200 with the first one when the
/// `Idempotency-Key` (or `client_message_id`) was seen before.
#[utoipa::path(post, path = "/conversations/{id}/messages", tag = "conversations", security(("bearer" = []), ("cookie" = [])), params(("Idempotency-Key" = Option<String>, Header, description = "The same key again answers the first message"), ("X-Trace-Id" = Option<String>, Header, description = "Carried into the events"), ("id" = String, Path, description = "Conversation id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), request_body = SendMessage, responses((status = 201, body = Message, description = "Stored and queued"), (status = 200, body = Message, description = "The key was seen before: the first message"), ApiErrors))]
async fn send_message(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(req): Json<SendMessage>,
) -> Result<Response, ApiError> {
    let conversation: ConversationId = path_id(&id, "Conversation")?;
    let key = headers.get("idempotency-key").map(|v| v.to_str().unwrap_or("\u{0}"));
    let trace = headers
        .get("x-trace-id")
        .and_then(|v| v.to_str().ok())
        .filter(|t| !t.is_empty() && t.len() <= 128)
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().simple().to_string());
    let sent = state.messages.send(member.actor, conversation, req, key, Some(trace)).await?;
    let status = if sent.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(sent.message)).into_response())
}

/// Creates a room of workspace members in an in-app channel (the caller is always a member).
#[utoipa::path(post, path = "/conversations", tag = "conversations", security(("bearer" = []), ("cookie" = [])), params(("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), request_body = CreateRoom, responses((status = 201, body = switchboard::Conversation), ApiErrors))]
async fn create_room(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Json(req): Json<CreateRoom>,
) -> Result<Response, ApiError> {
    let room = state.messages.create_room(member.actor, req).await?;
    Ok((StatusCode::CREATED, Json(room)).into_response())
}

/// A room's members (empty for a conversation with a contact).
#[utoipa::path(get, path = "/conversations/{id}/members", tag = "conversations", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Conversation id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 200, body = Vec<switchboard::UserId>), ApiErrors))]
async fn list_room_members(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Path(id): Path<String>,
) -> Result<Json<Vec<switchboard::UserId>>, ApiError> {
    let conversation: ConversationId = path_id(&id, "Conversation")?;
    Ok(Json(state.messages.members(member.actor, conversation).await?))
}

/// Adds members of the workspace to a room (its members, owners and admins may); answers the
/// room's members. Users already in the room stay as they are.
#[utoipa::path(post, path = "/conversations/{id}/members", tag = "conversations", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Conversation id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), request_body = crate::services::rooms::AddRoomMembers, responses((status = 200, body = Vec<switchboard::UserId>, description = "The room's members after the change"), ApiErrors))]
async fn add_room_members(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Path(id): Path<String>,
    Json(req): Json<crate::services::rooms::AddRoomMembers>,
) -> Result<Json<Vec<switchboard::UserId>>, ApiError> {
    let conversation: ConversationId = path_id(&id, "Conversation")?;
    Ok(Json(state.accounts.add_room_members(member.actor, conversation, req).await?))
}

/// Removes a member from a room (a moderator, owner or admin may; anyone may remove
/// themselves). Their realtime connections close with code 4000 and reconnect without it.
#[utoipa::path(delete, path = "/conversations/{id}/members/{user_id}", tag = "conversations", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Conversation id"), ("user_id" = String, Path, description = "The member to remove"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 204, description = "Removed"), ApiErrors))]
async fn remove_room_member(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let conversation: ConversationId = path_id(&id, "Conversation")?;
    let user: switchboard::UserId = path_id(&user_id, "Room member")?;
    state.accounts.remove_room_member(member.actor, conversation, user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Opens, parks (`pending`), resolves or snoozes (`snoozed` with `snoozed_until`) a
/// conversation; answers it. A snoozed conversation opens again at its time, or when the
/// contact writes.
#[utoipa::path(patch, path = "/conversations/{id}", tag = "conversations", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Conversation id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), request_body = UpdateConversation, responses((status = 200, body = switchboard::Conversation), ApiErrors))]
async fn update_conversation(
    State(state): State<AppState>,
    member: CurrentMember,
    Path(id): Path<String>,
    Json(req): Json<UpdateConversation>,
) -> Result<Json<switchboard::Conversation>, ApiError> {
    let conversation: ConversationId = path_id(&id, "Conversation")?;
    Ok(Json(state.messages.set_conversation_status(member.actor, conversation, req).await?))
}

/// Changes the text of an outbound message (its sender, or an admin); answers the message.
#[utoipa::path(patch, path = "/messages/{id}", tag = "conversations", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Message id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), request_body = EditMessage, responses((status = 200, body = Message), ApiErrors))]
async fn edit_message(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Path(id): Path<String>,
    Json(req): Json<EditMessage>,
) -> Result<Json<Message>, ApiError> {
    let id: MessageId = path_id(&id, "Message")?;
    Ok(Json(state.messages.edit(member.actor, id, &req.text).await?))
}

/// Deletes an outbound message (its sender, or an admin); answers it, text emptied.
#[utoipa::path(delete, path = "/messages/{id}", tag = "conversations", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Message id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 200, body = Message), ApiErrors))]
async fn delete_message(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Path(id): Path<String>,
) -> Result<Json<Message>, ApiError> {
    let id: MessageId = path_id(&id, "Message")?;
    Ok(Json(state.messages.delete(member.actor, id).await?))
}

/// Stars a message for the caller.
#[utoipa::path(put, path = "/messages/{id}/star", tag = "conversations", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Message id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 204, description = "Starred"), ApiErrors))]
async fn star_message(
    State(state): State<AppState>,
    member: CurrentMember,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: MessageId = path_id(&id, "Message")?;
    state.messages.set_starred(member.actor, id, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Unstars a message for the caller.
#[utoipa::path(delete, path = "/messages/{id}/star", tag = "conversations", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Message id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 204, description = "Not starred"), ApiErrors))]
async fn unstar_message(
    State(state): State<AppState>,
    member: CurrentMember,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: MessageId = path_id(&id, "Message")?;
    state.messages.set_starred(member.actor, id, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Puts an emoji on a message for the caller (once per emoji; again changes nothing). Answers
/// the message with its reaction counts; subscribers get `reaction.added`.
#[utoipa::path(put, path = "/messages/{id}/reactions/{emoji}", tag = "conversations", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Message id"), ("emoji" = String, Path, description = "The emoji, percent-encoded"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 200, body = Message), ApiErrors))]
async fn add_reaction(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Path((id, emoji)): Path<(String, String)>,
) -> Result<Json<Message>, ApiError> {
    let id: MessageId = path_id(&id, "Message")?;
    Ok(Json(state.messages.react(member.actor, id, &emoji, true).await?))
}

/// Takes the caller's emoji off a message; subscribers get `reaction.removed`.
#[utoipa::path(delete, path = "/messages/{id}/reactions/{emoji}", tag = "conversations", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Message id"), ("emoji" = String, Path, description = "The emoji, percent-encoded"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 200, body = Message), ApiErrors))]
async fn remove_reaction(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Path((id, emoji)): Path<(String, String)>,
) -> Result<Json<Message>, ApiError> {
    let id: MessageId = path_id(&id, "Message")?;
    Ok(Json(state.messages.react(member.actor, id, &emoji, false).await?))
}

/// The caller's starred messages, newest first (up to 200).
#[utoipa::path(get, path = "/starred", tag = "conversations", security(("bearer" = []), ("cookie" = [])), params(("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 200, body = Vec<Message>), ApiErrors))]
async fn list_starred(
    State(state): State<AppState>,
    member: CurrentMember,
) -> Result<Json<Vec<Message>>, ApiError> {
    Ok(Json(state.messages.starred(member.actor).await?))
}

/// Who has read the message: the members of its conversation whose read position is at or
/// past it (its sender left out), oldest read first. Anyone who may read the conversation.
#[utoipa::path(get, path = "/messages/{id}/reads", tag = "conversations", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Message id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 200, body = switchboard::platform::MessageReads), ApiErrors))]
async fn message_reads(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Path(id): Path<String>,
) -> Result<Json<switchboard::platform::MessageReads>, ApiError> {
    let id: MessageId = path_id(&id, "Message")?;
    Ok(Json(state.messages.reads(member.actor, id).await?))
}

/// Re-queues a failed message; answers it as `pending`.
#[utoipa::path(post, path = "/messages/{id}/retry", tag = "conversations", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Message id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 200, body = Message), ApiErrors))]
async fn retry_message(
    State(state): State<AppState>,
    member: CurrentMember,
    Path(id): Path<String>,
) -> Result<Json<Message>, ApiError> {
    let id: MessageId = path_id(&id, "Message")?;
    Ok(Json(state.messages.retry(member.actor, id).await?))
}

/// Marks the caller's messages read up to `up_to`; answers `{unread_count}`.
#[utoipa::path(post, path = "/conversations/{id}/read", tag = "conversations", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Conversation id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), request_body = MarkRead, responses((status = 200, body = super::openapi::UnreadCount), ApiErrors))]
async fn mark_read(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Path(id): Path<String>,
    Json(req): Json<MarkRead>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let conversation: ConversationId = path_id(&id, "Conversation")?;
    let unread = state.messages.mark_read(member.actor, conversation, req.up_to).await?;
    Ok(Json(serde_json::json!({ "unread_count": unread })))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct SyncQuery {
    since: Option<i64>,
    limit: Option<u32>,
}

/// Every event the caller may see after `since`, in commit order, paginated.
#[utoipa::path(get, path = "/sync", tag = "conversations", security(("bearer" = []), ("cookie" = [])), params(SyncQuery, ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 200, body = crate::services::messages::SyncPage), ApiErrors))]
async fn get_sync(
    State(state): State<AppState>,
    member: CurrentMember,
    Query(q): Query<SyncQuery>,
) -> Result<Json<crate::services::messages::SyncPage>, ApiError> {
    Ok(Json(state.messages.sync(member.actor, q.since.unwrap_or(0), q.limit).await?))
}
