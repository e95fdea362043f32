//! `POST /api/v1/channels/{id}/inbound`: an API channel's integrator posts its network's
//! messages and statuses, with a short-lived JWT signed with the channel's secret as the bearer
//! token (see [`crate::providers::api`]). The body then takes the one inbound path every
//! network's traffic takes.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde_json::json;
use switchboard::provider::ProviderError;
use switchboard::{ChannelId, ProviderKind};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::error::ApiError;
use super::extract::Json;
use super::openapi::ApiErrors;
use crate::providers::api::verify_inbound;
use crate::services::inbound::InboundRouter;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(post_inbound))
}

/// What an inbound post applied.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct Applied {
    /// How many of its messages and statuses changed something (a retried post changes nothing).
    applied: u32,
}

/// An API channel's inbound traffic: `{"messages": [{id, from, name?, text, sent_at?, reply_to?}],
/// "statuses": [{id, status, error?}]}` (at most 100 items, 64 KiB). The bearer token is a JWT
/// signed (HS256) with the channel's secret, `exp` at most 300 s ahead and a `jti` used once:
/// 401 `invalid_token`, `token_expired`, `token_lifetime` or `token_replayed` otherwise.
#[utoipa::path(post, path = "/channels/{id}/inbound", tag = "channels", security(("bearer" = [])), params(("id" = String, Path, description = "The API channel's id")), request_body(content = Object, description = "Messages and statuses from the integrator's network"), responses((status = 200, body = Applied), ApiErrors))]
async fn post_inbound(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, "not_found", "No such API channel.");
    let id: ChannelId = id.parse().map_err(|_| not_found())?;
    let channel = state
        .store
        .channel_for_webhook(id)
        .await?
        .filter(|c| c.provider == ProviderKind::Api)
        .ok_or_else(not_found)?;
    let credentials = state.channels.credentials(channel.workspace_id, channel.id).await.ok().flatten();
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let token = verify_inbound(credentials.as_ref(), bearer).map_err(|refusal| {
        tracing::warn!(channel_id = %channel.id, code = refusal.code(), "inbound post refused");
        ApiError::new(StatusCode::UNAUTHORIZED, refusal.code(), refusal.message())
    })?;
    let fresh = state
        .store
        .claim_inbound_token(channel.id, &token.jti, token.expires_at, switchboard::time::now())
        .await?;
    if !fresh {
        tracing::warn!(channel_id = %channel.id, "inbound post refused: token replayed");
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "token_replayed",
            "This token was used already: sign a new one (a new jti) for each post.",
        ));
    }
    let adapter = state.channels.providers().get(ProviderKind::Api).cloned().ok_or_else(not_found)?;
    let events = adapter.parse_webhook(&channel, &body).map_err(|e| match e {
        ProviderError::Invalid(v) => {
            let mut error =
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", v.to_string());
            error.field = Some(v.field);
            error
        }
        other => ApiError::new(StatusCode::BAD_REQUEST, "invalid_body", other.to_string()),
    })?;
    let mut inbound = InboundRouter::new(state.store.as_ref(), &channel);
    let mut applied = 0u32;
    for event in events {
        if InboundRouter::route(&mut inbound, event).await.map_err(ApiError::from)? {
            applied += 1;
        }
    }
    Ok(Json(json!({ "applied": applied })))
}
