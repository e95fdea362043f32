//! HTTP: the REST API under `/api/v1`, the probes, and the Leptos pages and server functions.
//! [`router`] builds the whole app from an [`AppState`], so tests drive it without a socket.

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef, MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use leptos::config::LeptosOptions;
use switchboard::Store;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::services::{AccountService, ChannelService, MessageService};

pub mod auth;
pub mod bots;
pub mod channels;
pub mod chat;
pub mod contacts;
pub mod conversations;
pub mod desk;
pub mod error;
pub mod extract;
pub mod files;
pub mod health;
pub mod hooks;
pub mod inbound;
pub mod invitations;
pub mod media;
pub mod members;
pub mod mock;
pub mod moderation;
pub mod notify;
pub mod openapi;
pub mod platform;
pub mod realtime;
pub mod site;
pub mod web;
pub mod webhooks;

pub use error::ApiError;

/// Largest JSON body the API accepts.
pub const API_BODY_LIMIT: usize = 64 * 1024;
/// Largest body a page form or server function may send.
pub const SITE_BODY_LIMIT: usize = 256 * 1024;

/// HTTP-level settings.
#[derive(Clone, Debug, Default)]
pub struct HttpConfig {
    /// Trust `X-Forwarded-For` for the client address.
    pub trust_proxy: bool,
    /// The bearer token `GET /metrics` asks for; without one it answers loopback only.
    pub metrics_token: Option<String>,
}

/// Everything a handler may need; cheap to clone.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub accounts: Arc<AccountService>,
    pub channels: Arc<ChannelService>,
    pub messages: Arc<MessageService>,
    /// Uploads, media links and the bytes behind them.
    pub media: Arc<crate::media::MediaService>,
    /// The simulated network, for its pairing pages.
    pub mock: Arc<crate::providers::mock::MockNetwork>,
    pub leptos: LeptosOptions,
    /// The built site: embedded in a release binary, else read from disk.
    pub site: Arc<site::Site>,
    pub http: Arc<HttpConfig>,
    /// The realtime gateway (hub, broker, settings).
    pub realtime: Arc<crate::realtime::Realtime>,
    /// Outgoing webhooks: endpoints and their deliveries.
    pub webhooks: Arc<crate::services::webhooks::WebhookService>,
    /// Chatbot flows and their sessions.
    pub bots: Arc<crate::services::bots::BotService>,
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    let (api, document) = api_router().split_for_parts();
    openapi::publish(&document);
    let api = api
        .fallback(|| async { ApiError::not_found() })
        .layer(DefaultBodyLimit::max(API_BODY_LIMIT))
        .layer(axum::middleware::from_fn(extract::rate_headers));

    Router::new()
        .nest("/api/v1", api)
        .merge(health::router())
        .merge(mock::router())
        .merge(webhooks::router())
        .merge(files::router())
        .route("/connection/websocket", axum::routing::get(crate::realtime::connection::endpoint))
        .route("/metrics", axum::routing::get(crate::metrics::get_metrics))
        .merge(web::router(&state))
        .layer(axum::middleware::from_fn(error::json_errors))
        .layer(axum::middleware::from_fn_with_state(state.clone(), extract::client_addr))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            // The matched route, never the raw URI: query strings can carry tokens.
            let route = req.extensions().get::<MatchedPath>().map_or("-", |p| p.as_str()).to_owned();
            tracing::info_span!(
                "request",
                method = %req.method(),
                route,
                user_id = tracing::field::Empty,
                workspace_id = tracing::field::Empty
            )
        }))
        .layer(security_header("x-content-type-options", "nosniff"))
        .layer(security_header("x-frame-options", "DENY"))
        .layer(security_header("referrer-policy", "same-origin"))
        .layer(CatchPanicLayer::custom(|_| panic_response()))
        // Outermost, so the status counted is the one sent (a caught panic's 500 included).
        .layer(axum::middleware::from_fn(crate::metrics::count_requests))
        .with_state(state)
}

/// Every `/api/v1` route, each with its OpenAPI entry.
pub fn api_router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa::OpenApi;
    utoipa_axum::router::OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(auth::router())
        .merge(channels::router())
        .merge(conversations::router())
        .merge(chat::router())
        .merge(moderation::router())
        .merge(desk::router())
        .merge(bots::router())
        .merge(contacts::router())
        .merge(notify::router())
        .merge(members::router())
        .merge(invitations::router())
        .merge(media::router())
        .merge(platform::router())
        .merge(hooks::router())
        .merge(inbound::router())
        .merge(realtime::router())
        .routes(utoipa_axum::routes!(openapi::get_openapi))
}

fn security_header(name: &'static str, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(HeaderName::from_static(name), HeaderValue::from_static(value))
}

fn panic_response() -> Response {
    tracing::error!("a request handler panicked");
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Something went wrong on our side.")
        .into_response()
}
