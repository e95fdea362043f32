//! The chat features on top of messages: pins (`/api/v1/messages/{id}/pin`,
//! `/api/v1/conversations/{id}/pins`) and threads (`/api/v1/messages/{id}/thread`; a reply is
//! sent with `parent_id`). Who may is the access rules' (`docs/access.md`): whoever
//! may post in a conversation pins in it; whoever reads it sees its pins.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use switchboard::message::Pin;
use switchboard::{ConversationId, MessageId};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::error::ApiError;
use super::extract::{AnyMember, Json, Query, path_id};
use super::openapi::ApiErrors;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(pin_message, unpin_message))
        .routes(routes!(list_pins))
        .routes(routes!(list_thread))
}

/// Pins a message in its conversation (again: no change); subscribers get `message.pinned`.
/// At most 50 pins per conversation (422 `too_many_pins`); a deleted message cannot be pinned
/// (409).
#[utoipa::path(put, path = "/messages/{id}/pin", tag = "conversations", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Message id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 204, description = "Pinned"), ApiErrors))]
async fn pin_message(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: MessageId = path_id(&id, "Message")?;
    state.messages.pin(member.actor, id, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Unpins a message (again: no change); subscribers get `message.unpinned`.
#[utoipa::path(delete, path = "/messages/{id}/pin", tag = "conversations", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Message id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 204, description = "Not pinned"), ApiErrors))]
async fn unpin_message(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: MessageId = path_id(&id, "Message")?;
    state.messages.pin(member.actor, id, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A conversation's pinned messages, the newest pin first.
#[utoipa::path(get, path = "/conversations/{id}/pins", tag = "conversations", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Conversation id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 200, body = Vec<Pin>), ApiErrors))]
async fn list_pins(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Path(id): Path<String>,
) -> Result<Json<Vec<Pin>>, ApiError> {
    let id: ConversationId = path_id(&id, "Conversation")?;
    Ok(Json(state.messages.pins(member.actor, id).await?))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ThreadQuery {
    /// The last reply of the previous page.
    after: Option<String>,
    /// 1 to 200 (default 50).
    limit: Option<u32>,
}

/// A thread's replies, oldest first; page with `after` = the last id of the previous page. The
/// first message itself carries `thread: {reply_count, last_reply_at, participants}`.
#[utoipa::path(get, path = "/messages/{id}/thread", tag = "conversations", security(("bearer" = []), ("cookie" = [])), params(ThreadQuery, ("id" = String, Path, description = "The thread's first message"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 200, body = Vec<switchboard::Message>), ApiErrors))]
async fn list_thread(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Path(id): Path<String>,
    Query(q): Query<ThreadQuery>,
) -> Result<Json<Vec<switchboard::Message>>, ApiError> {
    let id: MessageId = path_id(&id, "Message")?;
    let after: Option<MessageId> = super::conversations::query_id(q.after.as_deref(), "after")?;
    Ok(Json(state.messages.thread(member.actor, id, after, q.limit).await?))
}
