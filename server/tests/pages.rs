//! The server-rendered pages and the sign-in server functions, driven through the router.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;

fn page(uri: &str, token: Option<&str>) -> Request<Body> {
    let mut req = Request::get(uri);
    if let Some(token) = token {
        req = req.header(header::COOKIE, format!("sb_session={token}"));
    }
    req.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn sign_in_page_renders_the_form() {
    let (app, _dir) = demo_app().await;
    let response = send(&app, page("/login", None)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = body_text(response).await;
    assert!(html.contains("<h1>Sign in</h1>"), "{html}");
    assert!(html.contains(r#"name="email""#) && html.contains(r#"name="password""#));
    assert!(html.contains("/pkg/switchboard.js"), "the page loads the hydration bundle");
}

#[tokio::test]
async fn signed_out_visits_to_the_inbox_redirect_to_sign_in() {
    let (app, _dir) = demo_app().await;
    for token in [None, Some("forged.token.value")] {
        let response = send(&app, page("/inbox", token)).await;
        assert!(response.status().is_redirection(), "{}", response.status());
        assert_eq!(response.headers()[header::LOCATION], "/login");
    }
}

#[tokio::test]
async fn the_inbox_shows_the_user_and_the_three_panes() {
    let (app, _dir) = demo_app().await;
    let token = login(&app, "alice@example.com", "demo-password").await;
    let response = send(&app, page("/inbox", Some(&token))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = body_text(response).await;
    for needle in
        ["Alice Martin", "Acme Support", "Sign out", "Channels", "Conversations", "Select a conversation"]
    {
        assert!(html.contains(needle), "inbox lacks {needle:?}");
    }
    // Signed in, the sign-in page sends you on to the inbox.
    let response = send(&app, page("/login", Some(&token))).await;
    assert_eq!(response.headers()[header::LOCATION], "/inbox");
}

#[tokio::test]
async fn unknown_pages_get_a_404_page() {
    let (app, _dir) = demo_app().await;
    let response = send(&app, page("/no/such/page", None)).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

fn form_post(uri: &str, body: &str, cookie: Option<&str>) -> Request<Body> {
    let mut req = Request::post(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .header("x-forwarded-for", "10.1.1.1");
    if let Some(token) = cookie {
        req = req.header(header::COOKIE, format!("sb_session={token}"));
    }
    req.body(Body::from(body.to_owned())).unwrap()
}

#[tokio::test]
async fn the_login_server_function_sets_the_cookie_and_logout_clears_it() {
    let (app, _dir) = demo_app().await;
    let response =
        send(&app, form_post("/_fn/login", "email=alice%40example.com&password=demo-password", None)).await;
    assert!(response.status().is_success() || response.status().is_redirection(), "{}", response.status());
    let cookie = response.headers()[header::SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
    let token = cookie.trim_start_matches("sb_session=").split(';').next().unwrap().to_owned();
    assert_eq!(send(&app, get("/api/v1/me", Some(&token))).await.status(), StatusCode::OK);

    let response = send(&app, form_post("/_fn/logout", "", Some(&token))).await;
    let cleared = response.headers()[header::SET_COOKIE].to_str().unwrap();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert_eq!(send(&app, get("/api/v1/me", Some(&token))).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_login_server_function_refuses_a_wrong_password_in_words() {
    let (app, _dir) = demo_app().await;
    let response =
        send(&app, form_post("/_fn/login", "email=alice%40example.com&password=wrong", None)).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "a refusal is a 4xx, never a 500");
    assert!(response.headers().get(header::SET_COOKIE).is_none());
    let text = body_text(response).await;
    assert!(text.contains("Invalid email or password."), "{text}");

    let response = send(&app, form_post("/_fn/login", "email=nope&password=x", None)).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body_text(response).await.contains("Email: is not an email address."));
}
