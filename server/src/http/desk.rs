//! The agent's desk over REST: a conversation's assignee ("assign to me" too) and labels, the
//! workspace's labels and canned replies. Status and snooze are `PATCH /conversations/{id}`
//! (`conversations.rs`); who may is the service's (`services::desk`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use switchboard::desk::{Assign, AutoAssign, CannedReply, CannedReplyInput, Label, LabelInput, SetLabels};
use switchboard::{CannedReplyId, Conversation, ConversationId, LabelId};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::error::ApiError;
use super::extract::{AnyMember, Json, path_id};
use super::openapi::ApiErrors;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(assign, unassign))
        .routes(routes!(claim))
        .routes(routes!(set_labels))
        .routes(routes!(list_labels, create_label))
        .routes(routes!(update_label, delete_label))
        .routes(routes!(list_canned_replies, create_canned_reply))
        .routes(routes!(update_canned_reply, delete_canned_reply))
        .routes(routes!(search_messages))
        .routes(routes!(get_auto_assign, put_auto_assign))
}

/// Whether the channel assigns its conversations by itself.
#[utoipa::path(get, path = "/channels/{id}/auto-assign", tag = "desk", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Channel id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 200, body = AutoAssign), ApiErrors))]
async fn get_auto_assign(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Path(id): Path<String>,
) -> Result<Json<AutoAssign>, ApiError> {
    let id: switchboard::ChannelId = path_id(&id, "Channel")?;
    Ok(Json(AutoAssign { enabled: state.messages.auto_assign_enabled(member.actor, id).await? }))
}

/// Turns the automatic assignment on or off (owners and admins): each unassigned open
/// conversation that gets a customer's message goes to the next agent online, round-robin.
#[utoipa::path(put, path = "/channels/{id}/auto-assign", tag = "desk", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Channel id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), request_body = AutoAssign, responses((status = 200, body = AutoAssign), ApiErrors))]
async fn put_auto_assign(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Path(id): Path<String>,
    Json(req): Json<AutoAssign>,
) -> Result<Json<AutoAssign>, ApiError> {
    let id: switchboard::ChannelId = path_id(&id, "Channel")?;
    state.messages.set_auto_assign(member.actor, id, req.enabled).await?;
    Ok(Json(req))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct SearchQuery {
    /// The words to find (the last one as a prefix).
    q: String,
    /// Hits older than this message (the last id of the previous page).
    before: Option<String>,
    /// 1–50 (20).
    limit: Option<u32>,
}

/// Searches message text in every conversation the caller may read, the newest hit first, each
/// with its conversation's title and a snippet whose `hit` pieces are the matched words.
#[utoipa::path(get, path = "/search/messages", tag = "desk", security(("bearer" = []), ("cookie" = [])), params(SearchQuery, ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 200, body = Vec<switchboard::search::SearchHit>), ApiErrors))]
async fn search_messages(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    super::extract::Query(q): super::extract::Query<SearchQuery>,
) -> Result<Json<Vec<switchboard::search::SearchHit>>, ApiError> {
    let before = super::conversations::query_id(q.before.as_deref(), "before")?;
    Ok(Json(state.messages.search(member.actor, &q.q, before, q.limit).await?))
}

/// Assigns a conversation with a contact to one of the workspace's agents, admins or owners;
/// answers it. Everyone's inbox hears `conversation.updated` with the assignee.
#[utoipa::path(put, path = "/conversations/{id}/assignee", tag = "desk", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Conversation id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), request_body = Assign, responses((status = 200, body = Conversation), ApiErrors))]
async fn assign(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Path(id): Path<String>,
    Json(req): Json<Assign>,
) -> Result<Json<Conversation>, ApiError> {
    let id: ConversationId = path_id(&id, "Conversation")?;
    Ok(Json(state.messages.assign(member.actor, id, req).await?))
}

/// Unassigns a conversation; answers it.
#[utoipa::path(delete, path = "/conversations/{id}/assignee", tag = "desk", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Conversation id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 200, body = Conversation), ApiErrors))]
async fn unassign(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Path(id): Path<String>,
) -> Result<Json<Conversation>, ApiError> {
    let id: ConversationId = path_id(&id, "Conversation")?;
    Ok(Json(state.messages.assign(member.actor, id, Assign { user_id: None }).await?))
}

/// "Assign to me": takes a conversation nobody has (or the caller already has). When someone
/// else has it, 409 `already_assigned` and nothing changes: of two agents at once, one wins.
#[utoipa::path(post, path = "/conversations/{id}/claim", tag = "desk", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Conversation id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 200, body = Conversation), ApiErrors))]
async fn claim(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Path(id): Path<String>,
) -> Result<Json<Conversation>, ApiError> {
    let id: ConversationId = path_id(&id, "Conversation")?;
    Ok(Json(state.messages.claim(member.actor, id).await?))
}

/// Sets a conversation's labels (the whole set, at most 20); answers the conversation.
#[utoipa::path(put, path = "/conversations/{id}/labels", tag = "desk", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Conversation id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), request_body = SetLabels, responses((status = 200, body = Conversation), ApiErrors))]
async fn set_labels(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Path(id): Path<String>,
    Json(req): Json<SetLabels>,
) -> Result<Json<Conversation>, ApiError> {
    let id: ConversationId = path_id(&id, "Conversation")?;
    Ok(Json(state.messages.set_labels(member.actor, id, &req.label_ids).await?))
}

/// The workspace's labels, by name.
#[utoipa::path(get, path = "/labels", tag = "desk", security(("bearer" = []), ("cookie" = [])), params(("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 200, body = Vec<Label>), ApiErrors))]
async fn list_labels(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
) -> Result<Json<Vec<Label>>, ApiError> {
    Ok(Json(state.messages.labels(member.actor).await?))
}

/// Adds a label (owners and admins); 201 with it. Names are unique whatever their case.
#[utoipa::path(post, path = "/labels", tag = "desk", security(("bearer" = []), ("cookie" = [])), params(("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), request_body = LabelInput, responses((status = 201, body = Label), ApiErrors))]
async fn create_label(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Json(req): Json<LabelInput>,
) -> Result<Response, ApiError> {
    let label = state.messages.create_label(member.actor, req).await?;
    Ok((StatusCode::CREATED, Json(label)).into_response())
}

/// Renames or recolours a label (owners and admins).
#[utoipa::path(patch, path = "/labels/{id}", tag = "desk", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Label id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), request_body = LabelInput, responses((status = 200, body = Label), ApiErrors))]
async fn update_label(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Path(id): Path<String>,
    Json(req): Json<LabelInput>,
) -> Result<Json<Label>, ApiError> {
    let id: LabelId = path_id(&id, "Label")?;
    Ok(Json(state.messages.update_label(member.actor, id, req).await?))
}

/// Deletes a label and takes it off every conversation (owners and admins).
#[utoipa::path(delete, path = "/labels/{id}", tag = "desk", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Label id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 204, description = "Deleted"), ApiErrors))]
async fn delete_label(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: LabelId = path_id(&id, "Label")?;
    state.messages.delete_label(member.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The workspace's canned replies, by short code.
#[utoipa::path(get, path = "/canned-replies", tag = "desk", security(("bearer" = []), ("cookie" = [])), params(("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 200, body = Vec<CannedReply>), ApiErrors))]
async fn list_canned_replies(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
) -> Result<Json<Vec<CannedReply>>, ApiError> {
    Ok(Json(state.messages.canned_replies(member.actor).await?))
}

/// Adds a canned reply (any agent); 201 with it. Variables: `{{contact.name}}`,
/// `{{contact.first_name}}`, `{{agent.name}}`, `{{agent.first_name}}`.
#[utoipa::path(post, path = "/canned-replies", tag = "desk", security(("bearer" = []), ("cookie" = [])), params(("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), request_body = CannedReplyInput, responses((status = 201, body = CannedReply), ApiErrors))]
async fn create_canned_reply(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Json(req): Json<CannedReplyInput>,
) -> Result<Response, ApiError> {
    let reply = state.messages.create_canned_reply(member.actor, req).await?;
    Ok((StatusCode::CREATED, Json(reply)).into_response())
}

/// Changes a canned reply (any agent).
#[utoipa::path(patch, path = "/canned-replies/{id}", tag = "desk", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Canned reply id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), request_body = CannedReplyInput, responses((status = 200, body = CannedReply), ApiErrors))]
async fn update_canned_reply(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Path(id): Path<String>,
    Json(req): Json<CannedReplyInput>,
) -> Result<Json<CannedReply>, ApiError> {
    let id: CannedReplyId = path_id(&id, "Canned reply")?;
    Ok(Json(state.messages.update_canned_reply(member.actor, id, req).await?))
}

/// Deletes a canned reply (any agent).
#[utoipa::path(delete, path = "/canned-replies/{id}", tag = "desk", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Canned reply id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 204, description = "Deleted"), ApiErrors))]
async fn delete_canned_reply(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: CannedReplyId = path_id(&id, "Canned reply")?;
    state.messages.delete_canned_reply(member.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
