//! Contacts over REST: the contacts page (list and search, details, edit, merge) and writing
//! first to someone (`POST /conversations/start`). For the workspace's staff.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use switchboard::ContactId;
use switchboard::contact::{
    ContactCard, ContactDetails, MergeContacts, StartConversation, Started, UpdateContact,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::conversations::query_id;
use super::error::ApiError;
use super::extract::{AnyMember, Json, Query, path_id};
use super::openapi::ApiErrors;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_contacts))
        .routes(routes!(get_contact, update_contact))
        .routes(routes!(merge_contacts))
        .routes(routes!(start_conversation))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ContactQuery {
    /// A name, phone number or username (theirs or a merged identity's).
    q: Option<String>,
    /// Only contacts with an identity on this channel.
    channel_id: Option<String>,
    /// How many to skip (paging by name).
    offset: Option<u32>,
    /// 1–200 (50).
    limit: Option<u32>,
}

/// The workspace's contacts by name, each with their identities on every channel, when they
/// last wrote and how many conversations they have.
#[utoipa::path(get, path = "/contacts", tag = "contacts", security(("bearer" = []), ("cookie" = [])), params(ContactQuery, ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 200, body = Vec<ContactCard>), ApiErrors))]
async fn list_contacts(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Query(q): Query<ContactQuery>,
) -> Result<Json<Vec<ContactCard>>, ApiError> {
    let channel = query_id(q.channel_id.as_deref(), "channel_id")?;
    let found = state
        .messages
        .contacts(member.actor, q.q.as_deref(), channel, q.offset.unwrap_or(0), q.limit)
        .await?;
    Ok(Json(found))
}

/// A contact with their conversations, most recent first (a merged contact answers as the one
/// it was merged into).
#[utoipa::path(get, path = "/contacts/{id}", tag = "contacts", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Contact id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 200, body = ContactDetails), ApiErrors))]
async fn get_contact(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Path(id): Path<String>,
) -> Result<Json<ContactDetails>, ApiError> {
    let id: ContactId = path_id(&id, "Contact")?;
    Ok(Json(state.messages.contact(member.actor, id).await?))
}

/// Changes a contact's name (the network no longer renames them), notes or custom attributes.
#[utoipa::path(patch, path = "/contacts/{id}", tag = "contacts", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Contact id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), request_body = UpdateContact, responses((status = 200, body = ContactCard), ApiErrors))]
async fn update_contact(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Path(id): Path<String>,
    Json(req): Json<UpdateContact>,
) -> Result<Json<ContactCard>, ApiError> {
    let id: ContactId = path_id(&id, "Contact")?;
    Ok(Json(state.messages.update_contact(member.actor, id, req).await?))
}

/// Merges another contact into this one: the same person. Their identities and conversations
/// come here (nothing is lost); their next message still finds its chat.
#[utoipa::path(post, path = "/contacts/{id}/merge", tag = "contacts", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "The contact kept"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), request_body = MergeContacts, responses((status = 200, body = ContactDetails), ApiErrors))]
async fn merge_contacts(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Path(id): Path<String>,
    Json(req): Json<MergeContacts>,
) -> Result<Json<ContactDetails>, ApiError> {
    let keep: ContactId = path_id(&id, "Contact")?;
    Ok(Json(state.messages.merge_contacts(member.actor, keep, req.contact_id).await?))
}

/// Writes first to someone on a channel that allows it (Mock, WhatsApp with a template, a
/// linked WhatsApp, an API channel): 201 with the conversation (found or made) and the message.
#[utoipa::path(post, path = "/conversations/start", tag = "contacts", security(("bearer" = []), ("cookie" = [])), params(("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), request_body = StartConversation, responses((status = 201, body = Started), ApiErrors))]
async fn start_conversation(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Json(req): Json<StartConversation>,
) -> Result<Response, ApiError> {
    let started = state.messages.start_conversation(member.actor, req).await?;
    Ok((StatusCode::CREATED, Json(started)).into_response())
}
