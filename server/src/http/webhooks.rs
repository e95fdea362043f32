//! Inbound webhooks: `POST /webhooks/{provider}/{channel_id}`. The provider verifies the request
//! (signature or secret) and parses it into canonical events, which take the one inbound path.
//! Unknown channels and unverifiable requests get 404/401 with no side effect; malformed bodies 400.

use axum::Router;
use axum::body::Bytes;
use axum::extract::Query;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use serde_json::json;
use switchboard::provider::ProviderError;
use switchboard::{ChannelId, ProviderKind};

use super::AppState;
use super::error::ApiError;
use super::extract::Json;
use crate::services::inbound::InboundRouter;

/// Largest webhook body accepted.
pub const WEBHOOK_BODY_LIMIT: usize = 256 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/webhooks/{provider}/{channel_id}", post(post_webhook).get(verify_subscription))
        .layer(axum::extract::DefaultBodyLimit::max(WEBHOOK_BODY_LIMIT))
}

async fn post_webhook(
    State(state): State<AppState>,
    Path((provider, channel_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, "not_found", "No such webhook.");
    let kind: ProviderKind = provider.parse().map_err(|_| not_found())?;
    let id: ChannelId = channel_id.parse().map_err(|_| not_found())?;
    let channel =
        state.store.channel_for_webhook(id).await?.filter(|c| c.provider == kind).ok_or_else(not_found)?;
    let adapter = state.channels.providers().get(kind).cloned().ok_or_else(not_found)?;
    let credentials = state.channels.credentials(channel.workspace_id, channel.id).await.ok().flatten();

    let pairs: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_owned(), v.to_owned())))
        .collect();
    if let Err(e) = adapter.verify_webhook(&channel, credentials.as_ref(), &pairs, &body) {
        tracing::warn!(channel_id = %channel.id, error = %e, "webhook refused");
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "The webhook could not be verified.",
        ));
    }
    let events = adapter.parse_webhook(&channel, &body).map_err(|e| match e {
        ProviderError::Invalid(v) => ApiError::new(StatusCode::BAD_REQUEST, "invalid_body", v.to_string()),
        other => ApiError::new(StatusCode::BAD_REQUEST, "invalid_body", other.to_string()),
    })?;
    let fetch = state.channels.runtimes().media_fetch(adapter.clone(), credentials);
    let mut router = InboundRouter::new(state.store.as_ref(), &channel).with_media(fetch);
    let mut changed = 0;
    for event in events {
        if router.route(event).await.map_err(ApiError::from)? {
            changed += 1;
        }
    }
    Ok(Json(json!({ "applied": changed })))
}

/// The subscription check of networks that verify a callback URL before delivering to it
/// (Meta's: `hub.mode=subscribe`, `hub.verify_token`, `hub.challenge`): the challenge echoed as
/// plain text when the token is the channel's, 403 otherwise.
async fn verify_subscription(
    State(state): State<AppState>,
    Path((provider, channel_id)): Path<(String, String)>,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Result<axum::response::Response, ApiError> {
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, "not_found", "No such webhook.");
    let kind: ProviderKind = provider.parse().map_err(|_| not_found())?;
    let id: ChannelId = channel_id.parse().map_err(|_| not_found())?;
    let adapter = state.channels.providers().get(kind).cloned().ok_or_else(not_found)?;
    let channel =
        state.store.channel_for_webhook(id).await?.filter(|c| c.provider == kind).ok_or_else(not_found)?;
    if !adapter.webhook_handshake() {
        return Err(not_found());
    }
    let expected = state.channels.webhook_verify_token(channel.id);
    let given = query.get("hub.verify_token").map(String::as_str).unwrap_or_default();
    let mode_ok = query.get("hub.mode").map(String::as_str) == Some("subscribe");
    let challenge = query.get("hub.challenge").filter(|c| !c.is_empty() && c.len() <= 256);
    match challenge {
        Some(challenge)
            if mode_ok && crate::crypto::constant_time_eq(given.as_bytes(), expected.as_bytes()) =>
        {
            tracing::info!(channel_id = %channel.id, "webhook subscription verified");
            Ok(([(axum::http::header::CONTENT_TYPE, "text/plain; charset=utf-8")], challenge.clone())
                .into_response())
        }
        _ => {
            tracing::warn!(channel_id = %channel.id, "webhook subscription check refused");
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "The verify token does not match this channel.",
            ))
        }
    }
}
