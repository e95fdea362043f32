//! The OpenAPI 3 document of `/api/v1`, generated from the handlers themselves: every API
//! route is registered through `utoipa_axum`'s router together with its annotation, so a route
//! cannot exist without its entry. Served at `GET /api/v1/openapi.json`.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The error shape every API error has.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable (`validation_failed`, `not_found`, `rate_limited`, …).
    pub code: String,
    /// For people.
    pub message: String,
    /// The offending field, for validation errors.
    pub field: Option<String>,
}

/// `{unread_count}`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct UnreadCount {
    /// Unread messages left: exact up to 99; 100 means "99+" (more than 99).
    #[schema(maximum = 100)]
    pub unread_count: u32,
}

/// The errors any API call may answer, all in the [`ErrorBody`] shape.
#[derive(utoipa::IntoResponses)]
pub enum ApiErrors {
    /// Malformed JSON or a malformed id.
    #[response(status = 400)]
    BadRequest(ErrorBody),
    /// Missing, expired or revoked token (or wrong credentials at sign-in).
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// Signed in, but not allowed.
    #[response(status = 403)]
    Forbidden(ErrorBody),
    /// Nothing with that id in the caller's workspace.
    #[response(status = 404)]
    NotFound(ErrorBody),
    /// In conflict with the current state.
    #[response(status = 409)]
    Conflict(ErrorBody),
    /// Well-formed but invalid (`field` names what).
    #[response(status = 422)]
    Invalid(ErrorBody),
    /// Too many requests; see `Retry-After`.
    #[response(status = 429)]
    TooMany(ErrorBody),
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Switchboard API", description = "The REST API of Switchboard, a self-hosted multi-channel inbox. Realtime: `GET /connection/websocket` speaks the Centrifugo client protocol v2 (JSON); get its token from `/realtime/token`."),
    servers((url = "/api/v1")),
    modifiers(&Security),
    components(schemas(ErrorBody, ErrorDetail)),
    tags(
        (name = "auth", description = "Sign in and out"),
        (name = "channels", description = "Connected networks (owners and admins)"),
        (name = "conversations", description = "Conversations, messages, read state and sync"),
        (name = "members", description = "Who belongs to the workspace, and their roles"),
        (name = "invitations", description = "Joining a workspace: invitations sent, received, accepted by account or by link"),
        (name = "realtime", description = "Tokens for the WebSocket endpoint"),
        (name = "contacts", description = "The people behind the channels: search, details, notes and attributes, merging, writing first"),
        (name = "notifications", description = "What each person is told of, quiet hours, and Web Push subscriptions"),
        (name = "desk", description = "The agent's desk: assignment, status and snooze, labels, canned replies"),
        (name = "bots", description = "Chatbot flows (drafts, validation, versions), bot sessions, business hours"),
        (name = "moderation", description = "Flags and their queue, bans (shadow too), frozen rooms, slow mode, the blocklist, mutes"),
        (name = "platform", description = "For developers: API keys, the app's users, and the user tokens keys mint for them"),
        (name = "meta", description = "This document"),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build(),
            ),
        );
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(switchboard::auth::SESSION_COOKIE))),
        );
    }
}

static DOCUMENT: OnceLock<String> = OnceLock::new();

/// Keeps the finished document for [`get_openapi`] (the same for every router built).
pub fn publish(document: &utoipa::openapi::OpenApi) {
    let _ = DOCUMENT.set(document.to_json().unwrap_or_else(|_| "{}".to_owned()));
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "meta", security(()), responses((status = 200, description = "The OpenAPI 3 document", content_type = "application/json")))]
pub async fn get_openapi() -> impl IntoResponse {
    let body = DOCUMENT.get().cloned().unwrap_or_else(|| "{}".to_owned());
    ([(header::CONTENT_TYPE, "application/json")], body)
}
