//! The Leptos side of the router: server-rendered pages, server functions (with the engine's
//! ports in their context), static files, and the sign-in gate for the app's pages.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, generate_route_list};
use switchboard::auth::Accounts;
use tower_http::limit::RequestBodyLimitLayer;

use super::{AppState, SITE_BODY_LIMIT};

/// Pages that need a signed-in user (prefix match).
const PRIVATE_PAGES: [&str; 1] = ["/inbox"];

pub fn router(state: &AppState) -> Router<AppState> {
    let routes = generate_route_list(app::App);
    let accounts: Arc<dyn Accounts> = state.accounts.clone();
    let options = state.leptos.clone();
    Router::new()
        .leptos_routes_with_context(
            state,
            routes,
            move || provide_context(accounts.clone()),
            move || app::shell(options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(app::shell))
        .layer(axum::middleware::from_fn_with_state(state.clone(), gate))
        .layer(RequestBodyLimitLayer::new(SITE_BODY_LIMIT))
}

/// Sends signed-out visitors of private pages to sign-in, and signed-in visitors of the
/// sign-in page to the inbox, before any HTML is rendered.
async fn gate(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::GET {
        return next.run(req).await;
    }
    let path = req.uri().path();
    let private = PRIVATE_PAGES.iter().any(|p| path == *p || path.starts_with(&format!("{p}/")));
    let login = path == "/login";
    if !private && !login {
        return next.run(req).await;
    }
    let signed_in = match super::extract::cookie_token(req.headers()) {
        Some(token) => state.accounts.authenticate(&token).await.is_ok(),
        None => false,
    };
    match (private, signed_in) {
        (true, false) => Redirect::to("/login").into_response(),
        (false, true) => Redirect::to("/inbox").into_response(),
        _ => next.run(req).await,
    }
}
