//! Notifications over REST: the caller's settings and push subscriptions, and the server's
//! Web Push public key.

use axum::extract::State;
use axum::http::StatusCode;
use switchboard::notify::{NotificationSettings, PushPublicKey, PushSubscription};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::error::ApiError;
use super::extract::{CurrentMember, Json};
use super::openapi::ApiErrors;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(push_public_key))
        .routes(routes!(get_settings, put_settings))
        .routes(routes!(subscribe, unsubscribe))
}

/// The key a browser subscribes with (`applicationServerKey`); 503 when push is not set up.
#[utoipa::path(get, path = "/push/public-key", tag = "notifications", security(("bearer" = []), ("cookie" = [])), responses((status = 200, body = PushPublicKey), ApiErrors))]
async fn push_public_key(
    State(state): State<AppState>,
    _member: CurrentMember,
) -> Result<Json<PushPublicKey>, ApiError> {
    Ok(Json(state.messages.push_public_key()?))
}

/// What the caller is notified of, and their quiet hours.
#[utoipa::path(get, path = "/me/notification-settings", tag = "notifications", security(("bearer" = []), ("cookie" = [])), responses((status = 200, body = NotificationSettings), ApiErrors))]
async fn get_settings(
    State(state): State<AppState>,
    member: CurrentMember,
) -> Result<Json<NotificationSettings>, ApiError> {
    Ok(Json(state.messages.notification_settings(member.actor).await?))
}

/// Replaces the caller's notification settings (absent fields take their defaults).
#[utoipa::path(put, path = "/me/notification-settings", tag = "notifications", security(("bearer" = []), ("cookie" = [])), request_body = NotificationSettings, responses((status = 200, body = NotificationSettings), ApiErrors))]
async fn put_settings(
    State(state): State<AppState>,
    member: CurrentMember,
    Json(req): Json<NotificationSettings>,
) -> Result<Json<NotificationSettings>, ApiError> {
    Ok(Json(state.messages.put_notification_settings(member.actor, req).await?))
}

/// Keeps a browser's push subscription (`PushSubscription.toJSON()`) for the caller; 204.
#[utoipa::path(post, path = "/me/push-subscriptions", tag = "notifications", security(("bearer" = []), ("cookie" = [])), request_body = PushSubscription, responses((status = 204, description = "Kept"), ApiErrors))]
async fn subscribe(
    State(state): State<AppState>,
    member: CurrentMember,
    Json(req): Json<PushSubscription>,
) -> Result<StatusCode, ApiError> {
    state.messages.subscribe_push(member.actor, req, state.webhooks.allows_private()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
struct Endpoint {
    endpoint: String,
}

/// Forgets one of the caller's push subscriptions (by its endpoint); 204.
#[utoipa::path(delete, path = "/me/push-subscriptions", tag = "notifications", security(("bearer" = []), ("cookie" = [])), request_body = Endpoint, responses((status = 204, description = "Forgotten"), ApiErrors))]
async fn unsubscribe(
    State(state): State<AppState>,
    member: CurrentMember,
    Json(req): Json<Endpoint>,
) -> Result<StatusCode, ApiError> {
    state.messages.unsubscribe_push(member.actor, &req.endpoint).await?;
    Ok(StatusCode::NO_CONTENT)
}
