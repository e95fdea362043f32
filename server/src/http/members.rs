//! Workspace members: `/api/v1/members…`. Every member may list; owners and admins change.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use switchboard::UserId;
use switchboard::account::{AddMember, UpdateMember, WorkspaceMember};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::error::ApiError;
use super::extract::{CurrentMember, Json, path_id};
use super::openapi::ApiErrors;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_members, add_member))
        .routes(routes!(update_member, remove_member))
}

fn user_id(raw: &str) -> Result<UserId, ApiError> {
    path_id(raw, "Member")
}

/// The members of the workspace, ordered by email.
#[utoipa::path(get, path = "/members", tag = "members", security(("bearer" = []), ("cookie" = [])), params(("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; optional for users with one")), responses((status = 200, body = Vec<WorkspaceMember>), ApiErrors))]
async fn list_members(
    State(state): State<AppState>,
    member: CurrentMember,
) -> Result<Json<Vec<WorkspaceMember>>, ApiError> {
    Ok(Json(state.accounts.list_members(member.actor).await?))
}

/// Adds a person by email, creating their account (with `name` and `password`) when they have
/// none. Owners and admins; only owners add owners.
#[utoipa::path(post, path = "/members", tag = "members", security(("bearer" = []), ("cookie" = [])), params(("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; optional for users with one")), request_body = AddMember, responses((status = 201, body = WorkspaceMember), ApiErrors))]
async fn add_member(
    State(state): State<AppState>,
    member: CurrentMember,
    Json(req): Json<AddMember>,
) -> Result<Response, ApiError> {
    let added = state.accounts.add_member(member.actor, req).await?;
    Ok((StatusCode::CREATED, Json(added)).into_response())
}

/// Changes a member's role. Owners and admins; only owners make or unmake owners, and the last
/// owner stays one (409).
#[utoipa::path(patch, path = "/members/{user_id}", tag = "members", security(("bearer" = []), ("cookie" = [])), params(("user_id" = String, Path, description = "The member's user id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; optional for users with one")), request_body = UpdateMember, responses((status = 200, body = WorkspaceMember), ApiErrors))]
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
#[utoipa::path(delete, path = "/members/{user_id}", tag = "members", security(("bearer" = []), ("cookie" = [])), params(("user_id" = String, Path, description = "The member's user id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; optional for users with one")), responses((status = 204, description = "Removed"), ApiErrors))]
async fn remove_member(
    State(state): State<AppState>,
    member: CurrentMember,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.accounts.remove_member(member.actor, user_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
