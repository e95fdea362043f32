//! The server-rendered pages and the sign-in server functions, driven through the router.

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use switchboard_server::http::AppState;
use switchboard_server::http::site::{Asset, Embedded, EmbeddedBundle, Site};

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
    // Built without a site at hand (tests run in server/), the plain names are used.
    assert!(html.contains(r#"import("/pkg/switchboard.js")"#), "the page loads the hydration bundle: {html}");
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
async fn the_root_and_the_account_page_redirect_with_a_real_3xx_before_any_html() {
    let (app, _dir) = demo_app().await;
    for uri in ["/", "/account"] {
        let response = send(&app, page(uri, None)).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{uri}");
        assert_eq!(response.headers()[header::LOCATION], "/login", "{uri}");
        assert!(body_text(response).await.is_empty(), "{uri}: a redirect carries no page");
    }
    let token = login(&app, "alice@example.com", "demo-password").await;
    let response = send(&app, page("/", Some(&token))).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[header::LOCATION], "/inbox");
    assert_eq!(send(&app, page("/account", Some(&token))).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_inbox_shows_the_user_and_the_three_panes() {
    let (app, _dir) = demo_app().await;
    let token = login(&app, "alice@example.com", "demo-password").await;
    let channel =
        create_channel(&app, &token, serde_json::json!({"provider": "inapp", "name": "Team"})).await;
    let room = serde_json::json!({"channel_id": channel["id"], "title": "Weekly sync"});
    let created = send(&app, authed("POST", "/api/v1/conversations", &token, Some(room))).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let response = send(&app, page("/inbox", Some(&token))).await;
    assert_eq!(response.status(), StatusCode::OK);
    // Revalidated every visit, never kept by a shared cache (the hashed bundle is cached instead).
    assert_eq!(response.headers()[header::CACHE_CONTROL], "private, no-cache");
    let html = body_text(response).await;
    for needle in
        ["Alice Martin", "Acme Support", "Sign out", "Channels", "Conversations", "Select a conversation"]
    {
        assert!(html.contains(needle), "inbox lacks {needle:?}");
    }
    // The list is in the HTML, links and all (usable before the app hydrates).
    assert!(html.contains(r#"data-testid="conversation-item""#) && html.contains("Weekly sync"), "{html}");
    assert!(html.contains(r#"href="/inbox?c="#), "{html}");
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
    assert!(body_text(response).await.contains("Email is not an email address."));
}

#[tokio::test]
async fn admin_and_channel_pages_need_a_signed_in_user() {
    let (app, _dir) = demo_app().await;
    for uri in ["/admin", "/moderation", "/contacts", "/channels/01a20167-b7b6-7577-a2ec-b484df91de4e/auth"] {
        let response = send(&app, page(uri, None)).await;
        assert!(response.status().is_redirection(), "{uri}: {}", response.status());
        assert_eq!(response.headers()[header::LOCATION], "/login");
    }
    let token = login(&app, "alice@example.com", "demo-password").await;
    let response = send(&app, page("/admin", Some(&token))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = body_text(response).await;
    assert!(html.contains("Alice Martin"), "{html}");
}

#[tokio::test]
async fn the_inbox_server_functions_list_load_and_send_as_the_signed_in_user() {
    let (app, _dir) = demo_app().await;
    // Every call names the workspace the page shows.
    let ws = app.store.workspace_by_name("Acme Support").await.unwrap().unwrap().id;
    let in_ws = format!("workspace={ws}");
    // Signed out: refused in words with 401, nothing listed.
    let response = send(&app, form_post("/_fn/conversations", &in_ws, None)).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(body_text(response).await.contains("You are not signed in."));

    let token = login(&app, "alice@example.com", "demo-password").await;
    let channel = serde_json::json!({"provider": "inapp", "name": "Team"});
    let channel =
        body_json(send(&app, authed("POST", "/api/v1/channels", &token, Some(channel))).await).await;
    let room = serde_json::json!({"channel_id": channel["id"], "title": "Standup"});
    let room = body_json(send(&app, authed("POST", "/api/v1/conversations", &token, Some(room))).await).await;
    let response = send(&app, form_post("/_fn/conversations", &in_ws, Some(&token))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let list = body_json(response).await;
    let list = list.as_array().expect("a list");
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["title"], "Standup");
    let id = room["id"].as_str().unwrap().to_owned();
    assert!(list[0]["unread_count"].is_u64());

    // Send twice with one client id: one message.
    let body = format!("{in_ws}&conversation={id}&send[text]=Hello+there&send[client_message_id]=web-1");
    let first = body_json(send(&app, form_post("/_fn/send", &body, Some(&token))).await).await;
    assert_eq!(first["text"], "Hello there");
    assert_eq!(first["client_message_id"], "web-1");
    let again = body_json(send(&app, form_post("/_fn/send", &body, Some(&token))).await).await;
    assert_eq!(again["id"], first["id"]);

    // History, newest first, pages by `before`.
    let body = format!("{in_ws}&conversation={id}&limit=1");
    let page1 = body_json(send(&app, form_post("/_fn/history", &body, Some(&token))).await).await;
    assert_eq!(page1.as_array().unwrap().len(), 1);
    assert_eq!(page1[0]["id"], first["id"]);
    let before = page1[0]["id"].as_str().unwrap();
    let body = format!("{in_ws}&conversation={id}&before={before}&limit=10");
    let second = format!("{in_ws}&conversation={id}&send[text]=Second&send[client_message_id]=web-3");
    let second = body_json(send(&app, form_post("/_fn/send", &second, Some(&token))).await).await;
    let page2 = body_json(send(&app, form_post("/_fn/history", &body, Some(&token))).await).await;
    assert_eq!(page2.as_array().unwrap().len(), 0, "nothing is older than the first: {page2}");
    let body = format!("{in_ws}&conversation={id}&before={}&limit=10", second["id"].as_str().unwrap());
    let page2 = body_json(send(&app, form_post("/_fn/history", &body, Some(&token))).await).await;
    assert_eq!(page2.as_array().unwrap().len(), 1, "{page2}");
    assert_eq!(page2[0]["id"], first["id"]);

    // Bad input: an empty text is refused with a 4xx in words, and nothing is stored.
    let body = format!("{in_ws}&conversation={id}&send[text]=+&send[client_message_id]=web-2");
    let response = send(&app, form_post("/_fn/send", &body, Some(&token))).await;
    assert!(response.status().is_client_error(), "{}", response.status());
    let body = format!("{in_ws}&conversation={id}&limit=10");
    let all = body_json(send(&app, form_post("/_fn/history", &body, Some(&token))).await).await;
    assert_eq!(all.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn the_account_page_lists_sessions_and_its_server_functions_end_them() {
    let (app, _dir) = demo_app().await;
    let response = send(&app, page("/account", None)).await;
    assert_eq!(response.headers()[header::LOCATION], "/login");

    let laptop = login(&app, "alice@example.com", "demo-password").await;
    let phone = login(&app, "alice@example.com", "demo-password").await;
    let response = send(&app, page("/account", Some(&laptop))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = body_text(response).await;
    for needle in [
        "Your account",
        "Sessions",
        "This session",
        "Revoke",
        r#"name="current_password""#,
        "Sign out everywhere",
    ] {
        assert!(html.contains(needle), "the account page lacks {needle:?}");
    }

    let sessions = body_json(send(&app, get("/api/v1/me/sessions", Some(&phone))).await).await;
    let phone_id = sessions.as_array().unwrap().iter().find(|s| s["current"] == true).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let response =
        send(&app, form_post("/_fn/revoke_session", &format!("id={phone_id}"), Some(&laptop))).await;
    assert!(response.status().is_success(), "{}", response.status());
    assert_eq!(send(&app, get("/api/v1/me", Some(&phone))).await.status(), StatusCode::UNAUTHORIZED);

    let body = "current_password=demo-password&new_password=another+passphrase";
    let response = send(&app, form_post("/_fn/change_password", body, Some(&laptop))).await;
    assert!(response.status().is_success(), "{}", response.status());
    login(&app, "alice@example.com", "another passphrase").await;

    let response = send(&app, form_post("/_fn/sign_out_everywhere", "", Some(&laptop))).await;
    assert!(response.headers()[header::SET_COOKIE].to_str().unwrap().contains("Max-Age=0"));
    assert_eq!(send(&app, get("/api/v1/me", Some(&laptop))).await.status(), StatusCode::UNAUTHORIZED);
}

/// A release build's site, as server/build.rs would embed it.
static RELEASE_SITE: Embedded = Embedded {
    assets: &[
        Asset {
            path: "/pkg/switchboard.AAAAAAAAAAAAAAAAAAAAAA.wasm",
            content_type: "application/wasm",
            immutable: true,
            tag: "00000000000000aa",
            identity: b"\0asm\x01\0\0\0",
            br: Some(b"br"),
            gzip: None,
        },
        Asset {
            path: "/favicon.svg",
            content_type: "image/svg+xml",
            immutable: false,
            tag: "00000000000000bb",
            identity: b"<svg/>",
            br: None,
            gzip: None,
        },
    ],
    bundle: EmbeddedBundle {
        js: "/pkg/switchboard.JJJJJJJJJJJJJJJJJJJJJJ.js",
        wasm: "/pkg/switchboard.AAAAAAAAAAAAAAAAAAAAAA.wasm",
        css: "/pkg/switchboard.CCCCCCCCCCCCCCCCCCCCCC.css",
    },
};

#[tokio::test]
async fn an_embedded_site_is_what_the_pages_load_and_what_the_server_serves() {
    let (app, _dir) = demo_app().await;
    let app = AppState { site: Arc::new(Site::embedded(&RELEASE_SITE)), ..app };

    let html = body_text(send(&app, page("/login", None)).await).await;
    assert!(
        html.contains(
            r#"<link rel="stylesheet" id="leptos" href="/pkg/switchboard.CCCCCCCCCCCCCCCCCCCCCC.css">"#
        ),
        "{html}"
    );
    assert!(
        html.contains(r#"<link rel="modulepreload" href="/pkg/switchboard.JJJJJJJJJJJJJJJJJJJJJJ.js">"#),
        "{html}"
    );
    assert!(
        html.contains(r#"import("/pkg/switchboard.JJJJJJJJJJJJJJJJJJJJJJ.js").then(m => m.default({module_or_path: "/pkg/switchboard.AAAAAAAAAAAAAAAAAAAAAA.wasm"})"#),
        "{html}"
    );
    assert!(!html.contains("/pkg/switchboard.js"), "no unhashed name is left: {html}");

    let request = Request::get(RELEASE_SITE.bundle.wasm)
        .header(header::ACCEPT_ENCODING, "br")
        .body(Body::empty())
        .unwrap();
    let response = send(&app, request).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_ENCODING], "br");
    assert_eq!(response.headers()[header::CACHE_CONTROL], "public, max-age=31536000, immutable");
    // The server's own headers still apply to files.
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert_eq!(body_text(response).await, "br");

    let response = send(&app, page("/favicon.svg", None)).await;
    let etag = response.headers()[header::ETAG].clone();
    let request =
        Request::get("/favicon.svg").header(header::IF_NONE_MATCH, etag).body(Body::empty()).unwrap();
    assert_eq!(send(&app, request).await.status(), StatusCode::NOT_MODIFIED);

    // A file the build does not have (an old bundle, a typo) falls through to the app's 404 page.
    for path in ["/pkg/switchboard.js", "/pkg/switchboard.ZZZZZZZZZZZZZZZZZZZZZZ.wasm", "/no/such/page"] {
        let response = send(&app, page(path, None)).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(body_text(response).await.contains("Page not found"), "{path}");
    }
}
