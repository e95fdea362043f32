//! The developer platform: `/api/v1/api-keys…` (owners and admins, signed in as themselves)
//! and `/api/v1/users…` (the app's users: owners, admins and API keys; tokens with a `server`
//! key only). In words: `docs/embedding.md`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use switchboard::ApiKeyId;
use switchboard::platform::{
    ApiKey, AppUser, AppUserPage, CreateApiKey, CreatedApiKey, MintToken, MintedToken, PutAppUser,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::error::ApiError;
use super::extract::{AnyMember, CurrentMember, Json, Query, path_id};
use super::openapi::ApiErrors;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_api_keys, create_api_key))
        .routes(routes!(revoke_api_key))
        .routes(routes!(list_app_users))
        .routes(routes!(get_app_user, put_app_user, delete_app_user))
        .routes(routes!(deactivate_app_user))
        .routes(routes!(reactivate_app_user))
        .routes(routes!(mint_user_token))
        .routes(routes!(list_rooms))
}

/// Creates an API key. The answer is the only one that ever carries the secret: store it now.
/// Owners and admins, signed in as themselves.
#[utoipa::path(post, path = "/api-keys", tag = "platform", security(("bearer" = []), ("cookie" = [])), params(("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), request_body = CreateApiKey, responses((status = 201, body = CreatedApiKey, description = "Created; the secret is shown this once"), ApiErrors))]
async fn create_api_key(
    State(state): State<AppState>,
    member: CurrentMember,
    Json(req): Json<CreateApiKey>,
) -> Result<Response, ApiError> {
    let created = state.accounts.create_api_key(&member.who, member.actor, req).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// The workspace's API keys, revoked ones too, newest first (never a secret).
#[utoipa::path(get, path = "/api-keys", tag = "platform", security(("bearer" = []), ("cookie" = [])), params(("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 200, body = Vec<ApiKey>), ApiErrors))]
async fn list_api_keys(
    State(state): State<AppState>,
    member: CurrentMember,
) -> Result<Json<Vec<ApiKey>>, ApiError> {
    Ok(Json(state.accounts.api_keys(&member.who, member.actor).await?))
}

/// Revokes an API key: its calls and every user token it signed are refused from now on
/// (401 `key_revoked`), and their realtime connections close (code 4504).
#[utoipa::path(delete, path = "/api-keys/{id}", tag = "platform", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "The key's id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 200, body = ApiKey, description = "Revoked"), ApiErrors))]
async fn revoke_api_key(
    State(state): State<AppState>,
    member: CurrentMember,
    Path(id): Path<String>,
) -> Result<Json<ApiKey>, ApiError> {
    let id: ApiKeyId = path_id(&id, "API key")?;
    Ok(Json(state.accounts.revoke_api_key(&member.who, member.actor, id).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct UserPageQuery {
    /// The `next` of the previous page.
    after: Option<String>,
    /// 1–200, 50 by default.
    limit: Option<u32>,
}

/// The app's users, by external id, a page at a time.
#[utoipa::path(get, path = "/users", tag = "platform", security(("bearer" = []), ("cookie" = [])), params(UserPageQuery, ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 200, body = AppUserPage), ApiErrors))]
async fn list_app_users(
    State(state): State<AppState>,
    member: CurrentMember,
    Query(page): Query<UserPageQuery>,
) -> Result<Json<AppUserPage>, ApiError> {
    Ok(Json(state.accounts.app_users(member.actor, page.after.as_deref(), page.limit).await?))
}

/// One of the app's users.
#[utoipa::path(get, path = "/users/{external_id}", tag = "platform", security(("bearer" = []), ("cookie" = [])), params(("external_id" = String, Path, description = "The app's id for the user"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 200, body = AppUser), ApiErrors))]
async fn get_app_user(
    State(state): State<AppState>,
    member: CurrentMember,
    Path(external_id): Path<String>,
) -> Result<Json<AppUser>, ApiError> {
    Ok(Json(state.accounts.app_user(member.actor, &external_id).await?))
}

/// Creates the user (201) or replaces their name, image and custom data (200).
#[utoipa::path(put, path = "/users/{external_id}", tag = "platform", security(("bearer" = []), ("cookie" = [])), params(("external_id" = String, Path, description = "The app's id for the user"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), request_body = PutAppUser, responses((status = 200, body = AppUser, description = "Updated"), (status = 201, body = AppUser, description = "Created"), ApiErrors))]
async fn put_app_user(
    State(state): State<AppState>,
    member: CurrentMember,
    Path(external_id): Path<String>,
    Json(req): Json<PutAppUser>,
) -> Result<Response, ApiError> {
    let (user, created) = state.accounts.put_app_user(member.actor, &external_id, req).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(user)).into_response())
}

/// Deletes the user: the external id is free again, they leave their rooms, their tokens stop
/// working, and their messages stay, from "Deleted user".
#[utoipa::path(delete, path = "/users/{external_id}", tag = "platform", security(("bearer" = []), ("cookie" = [])), params(("external_id" = String, Path, description = "The app's id for the user"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 204, description = "Deleted"), ApiErrors))]
async fn delete_app_user(
    State(state): State<AppState>,
    member: CurrentMember,
    Path(external_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.accounts.delete_app_user(member.actor, &external_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deactivates the user: their tokens are refused (401 `user_deactivated`) and their realtime
/// connections close (code 4505) until they are reactivated.
#[utoipa::path(post, path = "/users/{external_id}/deactivate", tag = "platform", security(("bearer" = []), ("cookie" = [])), params(("external_id" = String, Path, description = "The app's id for the user"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 200, body = AppUser), ApiErrors))]
async fn deactivate_app_user(
    State(state): State<AppState>,
    member: CurrentMember,
    Path(external_id): Path<String>,
) -> Result<Json<AppUser>, ApiError> {
    Ok(Json(state.accounts.set_app_user_active(member.actor, &external_id, false).await?))
}

/// Reactivates a deactivated user: tokens that have not expired work again.
#[utoipa::path(post, path = "/users/{external_id}/reactivate", tag = "platform", security(("bearer" = []), ("cookie" = [])), params(("external_id" = String, Path, description = "The app's id for the user"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 200, body = AppUser), ApiErrors))]
async fn reactivate_app_user(
    State(state): State<AppState>,
    member: CurrentMember,
    Path(external_id): Path<String>,
) -> Result<Json<AppUser>, ApiError> {
    Ok(Json(state.accounts.set_app_user_active(member.actor, &external_id, true).await?))
}

/// Mints a token for the user, signed with the calling key's secret (a `server` key only:
/// 403 `server_key_required` otherwise). The same token can be minted offline: HS256 over
/// `{"sub": external_id, "iss": key_id, "exp": …}` with the key's secret.
#[utoipa::path(post, path = "/users/{external_id}/token", tag = "platform", security(("bearer" = [])), params(("external_id" = String, Path, description = "The app's id for the user"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), request_body = MintToken, responses((status = 200, body = MintedToken), ApiErrors))]
async fn mint_user_token(
    State(state): State<AppState>,
    member: CurrentMember,
    Path(external_id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<MintedToken>, ApiError> {
    // The body is optional: none (or `{}`) mints a token for an hour.
    let req: MintToken = if body.iter().all(u8::is_ascii_whitespace) {
        MintToken::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", e.to_string()))?
    };
    Ok(Json(state.accounts.mint_user_token(&member.who, member.actor, &external_id, req).await?))
}

/// Rooms the caller may read (every room for owners, admins and keys; for others the rooms they
/// belong to and livestreams), newest first. Filters: `member` (an app user's external id) or
/// `member_id` (a user id), `type` (`messaging`, `team`, `livestream`), and any number of
/// `custom.<key>=<value>` (string values of the room's custom data). `sort`: `last_message`
/// (default) or `created`. Pages: `limit` (1–100, 30 by default) and `after` (the last room's
/// id of the previous page).
#[utoipa::path(get, path = "/rooms", tag = "platform", security(("bearer" = []), ("cookie" = [])), params(
    ("member" = Option<String>, Query, description = "Only rooms this app user (external id) belongs to"),
    ("member_id" = Option<String>, Query, description = "Only rooms this user (id) belongs to"),
    ("type" = Option<String>, Query, description = "messaging, team or livestream"),
    ("custom.{key}" = Option<String>, Query, description = "Only rooms whose custom data has this string value at this key (any number)"),
    ("sort" = Option<String>, Query, description = "last_message (default) or created"),
    ("limit" = Option<u32>, Query, description = "1–100, 30 by default"),
    ("after" = Option<String>, Query, description = "The id of the previous page's last room"),
    ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")
), responses((status = 200, body = Vec<switchboard::Conversation>), ApiErrors))]
async fn list_rooms(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Json<Vec<switchboard::Conversation>>, ApiError> {
    let invalid = |field: &str, why: &str| {
        ApiError::from(crate::services::ServiceError::from(switchboard::validate::ValidationError::new(
            field, why,
        )))
    };
    let mut filter = crate::services::messages::RoomFilter::default();
    for (key, value) in params {
        match key.as_str() {
            "member" => filter.member = Some(value),
            "member_id" => {
                filter.member_id = Some(value.parse().map_err(|_| invalid("member_id", "is not an id"))?)
            }
            "type" => filter.room_type = Some(value.parse().map_err(|e: String| invalid("type", &e))?),
            "sort" => {
                filter.sort = match value.as_str() {
                    "last_message" => switchboard::store::RoomSort::LastMessage,
                    "created" => switchboard::store::RoomSort::Created,
                    _ => return Err(invalid("sort", "must be last_message or created")),
                }
            }
            "limit" => filter.limit = Some(value.parse().map_err(|_| invalid("limit", "must be 1 to 100"))?),
            "after" => filter.after = Some(value.parse().map_err(|_| invalid("after", "is not a room id"))?),
            other => match other.strip_prefix("custom.") {
                Some(field) => filter.custom.push((field.to_owned(), value)),
                None => return Err(invalid(other, "is not a filter of rooms")),
            },
        }
    }
    Ok(Json(state.messages.rooms(member.actor, filter).await?))
}
