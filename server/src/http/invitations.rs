//! Invitations: `/api/v1/invitations…` for the workspace's admins and for the holder of a link,
//! `/api/v1/me/invitations…` and `/api/v1/me/default-workspace` for the signed-in person.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use switchboard::auth::Accounts;
use switchboard::invitation::{
    AcceptInvitation, Invitation, InvitationPreview, ReceivedInvitation, SetDefaultWorkspace,
};
use switchboard::{InvitationId, Me, Membership};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::error::ApiError;
use super::extract::{CurrentMember, CurrentUser, Json, path_id};
use super::openapi::ApiErrors;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_invitations))
        .routes(routes!(revoke_invitation))
        .routes(routes!(preview_invitation))
        .routes(routes!(accept_by_link))
        .routes(routes!(my_invitations))
        .routes(routes!(accept_invitation))
        .routes(routes!(decline_invitation))
        .routes(routes!(put_default_workspace))
}

fn invitation_id(raw: &str) -> Result<InvitationId, ApiError> {
    path_id(raw, "Invitation")
}

/// The workspace's pending invitations (expired ones too, with their `expires_at`), oldest
/// first. Owners and admins.
#[utoipa::path(get, path = "/invitations", tag = "invitations", security(("bearer" = []), ("cookie" = [])), params(("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 200, body = Vec<Invitation>), ApiErrors))]
async fn list_invitations(
    State(state): State<AppState>,
    member: CurrentMember,
) -> Result<Json<Vec<Invitation>>, ApiError> {
    Ok(Json(state.accounts.workspace_invitations(member.actor).await?))
}

/// Revokes a pending invitation: its link stops working at once. Owners and admins; only owners
/// revoke an invitation to become an owner.
#[utoipa::path(delete, path = "/invitations/{id}", tag = "invitations", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "The invitation's id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 204, description = "Revoked"), ApiErrors))]
async fn revoke_invitation(
    State(state): State<AppState>,
    member: CurrentMember,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.accounts.revoke_invitation(member.actor, invitation_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What an invitation link offers: the workspace, the address and the role. Public: the token is
/// the credential. 404 for an unknown token, 410 `invitation_gone` once accepted, declined,
/// revoked or expired.
#[utoipa::path(get, path = "/invitations/by-token/{token}", tag = "invitations", security(()), params(("token" = String, Path, description = "The secret from the invitation link")), responses((status = 200, body = InvitationPreview), (status = 410, body = super::openapi::ErrorBody, description = "Accepted, declined, revoked or expired"), ApiErrors))]
async fn preview_invitation(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Json<InvitationPreview>, ApiError> {
    Ok(Json(state.accounts.preview_invitation(&token).await?))
}

/// Accepts by link, for a person without an account: creates it with the invitation's email and
/// this name and password, makes them a member and signs them in (the sign-in answer, and the
/// session cookie). 409 `account_exists` when the address has an account: sign in and accept from
/// `/me/invitations`. 410 `invitation_gone` when no longer open.
#[utoipa::path(post, path = "/invitations/by-token/{token}/accept", tag = "invitations", security(()), params(("token" = String, Path, description = "The secret from the invitation link")), request_body = AcceptInvitation, responses((status = 200, body = switchboard::auth::LoginOutcome, description = "Account created, member, signed in; also sets the session cookie"), (status = 410, body = super::openapi::ErrorBody, description = "Accepted, declined, revoked or expired"), ApiErrors))]
async fn accept_by_link(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Json(req): Json<AcceptInvitation>,
) -> Result<Response, ApiError> {
    let outcome = state.accounts.accept_by_link(&token, &req.name, &req.password).await?;
    let cookie = state.accounts.session_cookie(&outcome);
    let mut response = Json(outcome).into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).map_err(ApiError::internal)?);
    Ok(response)
}

/// Open invitations addressed to the signed-in user's email, oldest first.
#[utoipa::path(get, path = "/me/invitations", tag = "invitations", security(("bearer" = []), ("cookie" = [])), responses((status = 200, body = Vec<ReceivedInvitation>), ApiErrors))]
async fn my_invitations(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
) -> Result<Json<Vec<ReceivedInvitation>>, ApiError> {
    Ok(Json(state.accounts.my_invitations(&who.user).await?))
}

/// Accepts one of the user's invitations: they are a member from now on. The workspace becomes
/// their default only if they had none, so their API clients keep acting where they did. 404
/// unless addressed to the user; 410 `invitation_gone` when no longer open.
#[utoipa::path(post, path = "/me/invitations/{id}/accept", tag = "invitations", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "The invitation's id")), responses((status = 200, body = Membership), (status = 410, body = super::openapi::ErrorBody, description = "Accepted, declined, revoked or expired"), ApiErrors))]
async fn accept_invitation(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Membership>, ApiError> {
    Ok(Json(state.accounts.accept_my_invitation(&who.user, invitation_id(&id)?).await?))
}

/// Declines one of the user's invitations. 404 unless addressed to the user; 410
/// `invitation_gone` when no longer open.
#[utoipa::path(post, path = "/me/invitations/{id}/decline", tag = "invitations", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "The invitation's id")), responses((status = 204, description = "Declined"), (status = 410, body = super::openapi::ErrorBody, description = "Accepted, declined, revoked or expired"), ApiErrors))]
async fn decline_invitation(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.accounts.decline_my_invitation(&who.user, invitation_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets the workspace calls without `X-Workspace-Id` act in (and the web UI opens). 403 unless
/// the user is a member of it. Answers `GET /me`.
#[utoipa::path(put, path = "/me/default-workspace", tag = "auth", security(("bearer" = []), ("cookie" = [])), request_body = SetDefaultWorkspace, responses((status = 200, body = Me), ApiErrors))]
async fn put_default_workspace(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Json(req): Json<SetDefaultWorkspace>,
) -> Result<Json<Me>, ApiError> {
    Ok(Json(state.accounts.set_default_workspace(who.user, req.workspace_id).await?))
}
