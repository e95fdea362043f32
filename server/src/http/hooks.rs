//! Outgoing webhooks: `/api/v1/webhook-endpoints…` (owners, admins and API keys). Inbound
//! webhooks from the networks are [`super::webhooks`]. In words: `docs/embedding.md`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use switchboard::webhook::{CreateWebhook, CreatedWebhook, WebhookDelivery, WebhookEndpoint};
use switchboard::{EventId, WebhookId};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::error::ApiError;
use super::extract::{CurrentMember, Json, Query, path_id};
use super::openapi::ApiErrors;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(delete_webhook))
        .routes(routes!(list_deliveries))
        .routes(routes!(redeliver))
}

/// Registers an endpoint: every committed event of the named types is `POST`ed to it, signed
/// with the secret in this answer (shown once). 422 for a URL that is not http(s) or points to a
/// private address (unless the operator allows those).
#[utoipa::path(post, path = "/webhook-endpoints", tag = "platform", security(("bearer" = []), ("cookie" = [])), params(("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), request_body = CreateWebhook, responses((status = 201, body = CreatedWebhook, description = "Registered; the secret is shown this once"), ApiErrors))]
async fn create_webhook(
    State(state): State<AppState>,
    member: CurrentMember,
    Json(req): Json<CreateWebhook>,
) -> Result<Response, ApiError> {
    let created = state.webhooks.create(member.actor, req).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// The workspace's endpoints, newest first (never a secret).
#[utoipa::path(get, path = "/webhook-endpoints", tag = "platform", security(("bearer" = []), ("cookie" = [])), params(("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 200, body = Vec<WebhookEndpoint>), ApiErrors))]
async fn list_webhooks(
    State(state): State<AppState>,
    member: CurrentMember,
) -> Result<Json<Vec<WebhookEndpoint>>, ApiError> {
    Ok(Json(state.webhooks.list(member.actor).await?))
}

/// Deletes an endpoint with its deliveries.
#[utoipa::path(delete, path = "/webhook-endpoints/{id}", tag = "platform", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "The endpoint's id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 204, description = "Deleted"), ApiErrors))]
async fn delete_webhook(
    State(state): State<AppState>,
    member: CurrentMember,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: WebhookId = path_id(&id, "Webhook endpoint")?;
    state.webhooks.delete(member.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct DeliveryQuery {
    /// 1–200, 50 by default.
    limit: Option<u32>,
}

/// An endpoint's recent deliveries, newest first: status (`pending`, `delivered`, `dead`),
/// attempts, the last HTTP status and error.
#[utoipa::path(get, path = "/webhook-endpoints/{id}/deliveries", tag = "platform", security(("bearer" = []), ("cookie" = [])), params(DeliveryQuery, ("id" = String, Path, description = "The endpoint's id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 200, body = Vec<WebhookDelivery>), ApiErrors))]
async fn list_deliveries(
    State(state): State<AppState>,
    member: CurrentMember,
    Path(id): Path<String>,
    Query(query): Query<DeliveryQuery>,
) -> Result<Json<Vec<WebhookDelivery>>, ApiError> {
    let id: WebhookId = path_id(&id, "Webhook endpoint")?;
    Ok(Json(state.webhooks.deliveries(member.actor, id, query.limit).await?))
}

/// Sends a delivery again now; a dead one gets another day of retries.
#[utoipa::path(post, path = "/webhook-endpoints/{id}/deliveries/{event_id}/redeliver", tag = "platform", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "The endpoint's id"), ("event_id" = String, Path, description = "The delivered event's id"), ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")), responses((status = 202, body = WebhookDelivery, description = "Queued"), ApiErrors))]
async fn redeliver(
    State(state): State<AppState>,
    member: CurrentMember,
    Path((id, event_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id: WebhookId = path_id(&id, "Webhook endpoint")?;
    let event_id: EventId = path_id(&event_id, "Delivery")?;
    let delivery = state.webhooks.redeliver(member.actor, id, event_id).await?;
    Ok((StatusCode::ACCEPTED, Json(delivery)).into_response())
}
