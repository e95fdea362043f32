//! Workspace members: `/api/v1/members…`. Every member may list; owners and admins invite
//! (`POST`), change and remove.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use switchboard::UserId;
use switchboard::account::{UpdateMember, WorkspaceMember};
use switchboard::invitation::{InvitationSent, InviteMember};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::error::ApiError;
use super::extract::{CurrentMember, Json, path_id};
use super::openapi::ApiErrors;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_members, invite_member))
        .routes(routes!(update_member, remove_member))
}

fn user_id(raw: &str) -> Result<UserId, ApiError> {
    path_id(raw, "Member")
}

/// The members of the workspace, ordered by email.
#[utoipa::path(get, path = "/members", tag = "members", security(("bearer" = []), ("cookie" = [])), params(("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 200, body = Vec<WorkspaceMember>), ApiErrors))]
async fn list_members(
    State(state): State<AppState>,
    member: CurrentMember,
) -> Result<Json<Vec<WorkspaceMember>>, ApiError> {
    Ok(Json(state.accounts.list_members(member.actor).await?))
}

/// Invites a person by email: answers 202 with the invitation and its link, the same for every
/// address whether or not it has an account (never a name). The person becomes a member when they
/// accept. Re-inviting a pending address refreshes it (new link, new expiry). 409
/// `already_member` for a member of this workspace. Owners and admins; only owners invite owners.
#[utoipa::path(post, path = "/members", tag = "members", security(("bearer" = []), ("cookie" = [])), params(("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), request_body = InviteMember, responses((status = 202, body = InvitationSent, description = "Invited: pass the link on to the person"), ApiErrors))]
async fn invite_member(
    State(state): State<AppState>,
    member: CurrentMember,
    Json(req): Json<InviteMember>,
) -> Result<Response, ApiError> {
    let sent = state.accounts.invite(member.actor, req).await?;
    Ok((StatusCode::ACCEPTED, Json(sent)).into_response())
}

/// Changes a member's role. Owners and admins; only owners make or unmake owners, and the last
/// owner stays one (409).
#[utoipa::path(patch, path = "/members/{user_id}", tag = "members", security(("bearer" = []), ("cookie" = [])), params(("user_id" = String, Path, description = "The member's user id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), request_body = UpdateMember, responses((status = 200, body = WorkspaceMember), ApiErrors))]
async fn update_member(
    State(state): State<AppState>,
    member: CurrentMember,
    Path(id): Path<String>,
    Json(req): Json<UpdateMember>,
) -> Result<Json<WorkspaceMember>, ApiError> {
    Ok(Json(state.accounts.update_member(member.actor, user_id(&id)?, req).await?))
}

/// Removes a member from the workspace (their account stays). Owners and admins; only owners
/// remove owners, and never the last one (409).
#[utoipa::path(delete, path = "/members/{user_id}", tag = "members", security(("bearer" = []), ("cookie" = [])), params(("user_id" = String, Path, description = "The member's user id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 204, description = "Removed"), ApiErrors))]
async fn remove_member(
    State(state): State<AppState>,
    member: CurrentMember,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.accounts.remove_member(member.actor, user_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
