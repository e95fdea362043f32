//! Conversations and messages: `/api/v1/conversations…`, for every member of the workspace.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use switchboard::message::{ConversationFilter, ConversationSummary, MarkRead, SendMessage};
use switchboard::{ChannelId, ConversationId, Message, MessageId};

use super::AppState;
use super::error::ApiError;
use super::extract::{CurrentMember, Json, Query, path_id};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/conversations", get(list_conversations))
        .route("/conversations/{id}/messages", get(list_messages).post(send_message))
        .route("/messages/{id}/retry", post(retry_message))
        .route("/conversations/{id}/read", post(mark_read))
        .route("/sync", get(get_sync))
}

fn query_id<T: std::str::FromStr>(raw: Option<&str>, field: &'static str) -> Result<Option<T>, ApiError> {
    raw.map(|r| {
        r.parse().map_err(|_| {
            let mut e = ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                format!("{field}: is not an id"),
            );
            e.field = Some(field.to_owned());
            e
        })
    })
    .transpose()
}

#[derive(Deserialize)]
struct ConversationQuery {
    channel_id: Option<String>,
    /// Search by contact name.
    q: Option<String>,
    /// `true`: only conversations with unread messages.
    unread: Option<bool>,
}

async fn list_conversations(
    State(state): State<AppState>,
    member: CurrentMember,
    Query(q): Query<ConversationQuery>,
) -> Result<Json<Vec<ConversationSummary>>, ApiError> {
    let channel: Option<ChannelId> = query_id(q.channel_id.as_deref(), "channel_id")?;
    let filter =
        ConversationFilter { channel_id: channel, search: q.q, unread_only: q.unread.unwrap_or(false) };
    Ok(Json(state.messages.conversations(member.actor, filter).await?))
}

#[derive(Deserialize)]
struct HistoryQuery {
    before: Option<String>,
    limit: Option<u32>,
}

/// History, newest first; page with `before` = the last id of the previous page.
async fn list_messages(
    State(state): State<AppState>,
    member: CurrentMember,
    Path(id): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> Result<Json<Vec<Message>>, ApiError> {
    let conversation: ConversationId = path_id(&id, "Conversation")?;
    let before: Option<MessageId> = query_id(q.before.as_deref(), "before")?;
    Ok(Json(state.messages.history(member.actor, conversation, before, q.limit).await?))
}

/// Sends a message: 201 with the stored message, or 200 with the first one when the
/// `Idempotency-Key` (or `client_message_id`) was seen before.
async fn send_message(
    State(state): State<AppState>,
    member: CurrentMember,
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

/// Re-queues a failed message; answers it as `pending`.
async fn retry_message(
    State(state): State<AppState>,
    member: CurrentMember,
    Path(id): Path<String>,
) -> Result<Json<Message>, ApiError> {
    let id: MessageId = path_id(&id, "Message")?;
    Ok(Json(state.messages.retry(member.actor, id).await?))
}

/// Marks the caller's messages read up to `up_to`; answers `{unread_count}`.
async fn mark_read(
    State(state): State<AppState>,
    member: CurrentMember,
    Path(id): Path<String>,
    Json(req): Json<MarkRead>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let conversation: ConversationId = path_id(&id, "Conversation")?;
    let unread = state.messages.mark_read(member.actor, conversation, req.up_to).await?;
    Ok(Json(serde_json::json!({ "unread_count": unread })))
}

#[derive(Deserialize)]
struct SyncQuery {
    since: Option<i64>,
    limit: Option<u32>,
}

/// Every event the caller may see after `since`, in commit order, paginated.
async fn get_sync(
    State(state): State<AppState>,
    member: CurrentMember,
    Query(q): Query<SyncQuery>,
) -> Result<Json<crate::services::messages::SyncPage>, ApiError> {
    Ok(Json(state.messages.sync(member.actor, q.since.unwrap_or(0), q.limit).await?))
}
