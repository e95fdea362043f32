//! The Leptos side of the router: server-rendered pages, server functions (with the engine's
//! ports in their context), the site's files ([`super::site`]), and the sign-in gate for the
//! app's pages.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, generate_route_list};
use switchboard::auth::Accounts;
use switchboard::desk::{Desk, DeskError};
use switchboard::message::{ConversationSummary, SendMessage};
use switchboard::{ConversationId, Message, MessageId, WorkspaceId};
use tower_http::limit::RequestBodyLimitLayer;

use super::{AppState, SITE_BODY_LIMIT};

/// Pages that need a signed-in user (prefix match).
const PRIVATE_PAGES: [&str; 8] =
    ["/inbox", "/admin", "/moderation", "/channels", "/account", "/contacts", "/flows", "/bot-sessions"];

pub fn router(state: &AppState) -> Router<AppState> {
    let routes = generate_route_list(app::App);
    let accounts: Arc<dyn Accounts> = state.accounts.clone();
    let desk: Arc<dyn Desk> = Arc::new(WebDesk(state.clone()));
    let context = move || {
        provide_context(accounts.clone());
        provide_context(desk.clone());
    };
    let (options, site) = (state.leptos.clone(), state.site.clone());
    let shell = move || app::shell(options.clone(), site.bundle());
    // Paths no route claims: a file of the site, else the app renders its 404 page.
    let site = state.site.clone();
    let (not_found_context, not_found_shell) = (context.clone(), shell.clone());
    let fallback = move |req: Request| {
        let site = site.clone();
        let render =
            leptos_axum::render_app_async_with_context(not_found_context.clone(), not_found_shell.clone());
        async move {
            let (parts, body) = req.into_parts();
            match site.respond(&parts.method, &parts.uri, &parts.headers).await {
                Some(file) => file,
                None => render(Request::from_parts(parts, body)).await,
            }
        }
    };
    Router::new()
        .leptos_routes_with_context(state, routes, context, shell)
        .fallback(fallback)
        .layer(axum::middleware::from_fn_with_state(state.clone(), gate))
        .layer(RequestBodyLimitLayer::new(SITE_BODY_LIMIT))
}

/// The desk the server functions use: the same services and access rules as the REST API,
/// acting as the session's user in the workspace the page shows (each call names it, like the
/// API's `X-Workspace-Id`).
struct WebDesk(AppState);

impl WebDesk {
    async fn actor(&self, token: &str, workspace: WorkspaceId) -> Result<crate::services::Actor, DeskError> {
        let who = crate::access::caller(&self.0.accounts, token).await.map_err(refusal)?;
        crate::access::actor(self.0.store.as_ref(), who.user.id, Some(workspace)).await.map_err(refusal)
    }
}

/// The one mapping, as the pages read it.
fn refusal(e: crate::services::ServiceError) -> DeskError {
    let r = e.refusal();
    DeskError { status: r.status, code: r.code.to_owned(), message: r.message }
}

#[async_trait::async_trait]
impl Desk for WebDesk {
    async fn conversations(
        &self,
        token: &str,
        workspace: WorkspaceId,
    ) -> Result<Vec<ConversationSummary>, DeskError> {
        let actor = self.actor(token, workspace).await?;
        self.0.messages.conversations(actor, Default::default()).await.map_err(refusal)
    }

    async fn history(
        &self,
        token: &str,
        workspace: WorkspaceId,
        conversation: ConversationId,
        before: Option<MessageId>,
        limit: u32,
    ) -> Result<Vec<Message>, DeskError> {
        let actor = self.actor(token, workspace).await?;
        self.0.messages.history(actor, conversation, before, Some(limit)).await.map_err(refusal)
    }

    async fn send(
        &self,
        token: &str,
        workspace: WorkspaceId,
        conversation: ConversationId,
        req: SendMessage,
    ) -> Result<Message, DeskError> {
        let actor = self.actor(token, workspace).await?;
        let trace = Some(uuid::Uuid::now_v7().to_string());
        let sent = self.0.messages.send(actor, conversation, req, None, trace).await.map_err(refusal)?;
        Ok(sent.message)
    }
}

/// Sends signed-out visitors of private pages to sign-in, signed-in visitors of the sign-in
/// page to the inbox, and `/` to whichever of the two fits, before any HTML is rendered.
async fn gate(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::GET {
        return next.run(req).await;
    }
    let path = req.uri().path();
    let private = PRIVATE_PAGES.iter().any(|p| path == *p || path.starts_with(&format!("{p}/")));
    let login = path == "/login";
    let root = path == "/";
    if !private && !login && !root {
        return real_redirect(next.run(req).await);
    }
    let signed_in = match super::extract::cookie_token(req.headers()) {
        Some(token) => crate::access::caller(&state.accounts, &token).await.is_ok(),
        None => false,
    };
    if (private || root) && !signed_in {
        return Redirect::to("/login").into_response();
    }
    if (login || root) && signed_in {
        return Redirect::to("/inbox").into_response();
    }
    real_redirect(next.run(req).await)
}

/// A page that redirected while rendering (Leptos' `<Redirect>` sets `Location` but may leave
/// the status at 200 once streaming started) becomes a real `302 Found` with no body, so a
/// visitor never sees a blank page first and a client without JavaScript follows it too.
/// A rendered page is revalidated on every visit and kept by no shared cache: it holds the
/// user's data and names the current bundle (the hashed files are the ones cached for good).
fn real_redirect(mut response: Response) -> Response {
    use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
    let html = response.headers().get(CONTENT_TYPE).is_some_and(|t| t.as_bytes().starts_with(b"text/html"));
    if html && !response.headers().contains_key(CACHE_CONTROL) {
        response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    }
    if !response.status().is_success() || !response.headers().contains_key(axum::http::header::LOCATION) {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    parts.status = axum::http::StatusCode::FOUND;
    parts.headers.remove(axum::http::header::CONTENT_TYPE);
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::empty())
}
