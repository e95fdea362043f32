//! Sign-in over the REST API, driven through the whole router without a socket.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use serde_json::json;

const ALICE: &str = r#"{"email":"alice@example.com","password":"demo-password"}"#;

#[tokio::test]
async fn login_returns_a_token_a_cookie_and_the_workspaces() {
    let (app, _dir) = demo_app().await;
    let response = send(&app, post_json("/api/v1/auth/login", "10.0.0.1", ALICE)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response.headers()[header::SET_COOKIE].to_str().unwrap().to_owned();
    let body = body_json(response).await;
    let token = body["token"].as_str().unwrap();
    assert!(cookie.starts_with(&format!("sb_session={token};")), "{cookie}");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=3600"] {
        assert!(cookie.contains(attr), "cookie lacks {attr}: {cookie}");
    }
    assert!(!cookie.contains("Secure"), "not configured for HTTPS");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["user"]["email"], "alice@example.com");
    assert_eq!(body["user"]["name"], "Alice Martin");
    assert!(body["user"].get("password_hash").is_none(), "never leak the hash: {body}");
    assert_eq!(body["workspaces"][0]["workspace"]["name"], "Acme Support");
    assert_eq!(body["workspaces"][0]["role"], "owner");
}

#[tokio::test]
async fn emails_are_matched_case_insensitively() {
    let (app, _dir) = demo_app().await;
    let body = r#"{"email":"  ALICE@example.com ","password":"demo-password"}"#;
    assert_eq!(send(&app, post_json("/api/v1/auth/login", "10.0.0.1", body)).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_401() {
    let (app, _dir) = demo_app().await;
    let wrong = send(
        &app,
        post_json("/api/v1/auth/login", "10.0.0.1", r#"{"email":"alice@example.com","password":"nope"}"#),
    )
    .await;
    let unknown = send(
        &app,
        post_json("/api/v1/auth/login", "10.0.0.2", r#"{"email":"mallory@example.com","password":"nope"}"#),
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.headers().get(header::SET_COOKIE).is_none());
    let (wrong, unknown) = (body_json(wrong).await, body_json(unknown).await);
    assert_eq!(error_code(&wrong), "invalid_credentials");
    assert_eq!(wrong, unknown, "the two failures must be indistinguishable");
}

#[tokio::test]
async fn me_accepts_the_bearer_token_and_the_cookie() {
    let (app, _dir) = demo_app().await;
    let token = login(&app, "bob@example.com", "demo-password").await;

    let by_bearer = send(&app, get("/api/v1/me", Some(&token))).await;
    assert_eq!(by_bearer.status(), StatusCode::OK);
    let me = body_json(by_bearer).await;
    assert_eq!(me["user"]["email"], "bob@example.com");
    assert_eq!(me["workspaces"][0]["role"], "agent");

    let by_cookie = Request::get("/api/v1/me")
        .header(header::COOKIE, format!("theme=dark; sb_session={token}"))
        .body(Body::empty())
        .unwrap();
    let by_cookie = send(&app, by_cookie).await;
    assert_eq!(by_cookie.status(), StatusCode::OK);
    assert_eq!(body_json(by_cookie).await, me);
}

#[tokio::test]
async fn missing_forged_and_revoked_tokens_get_401() {
    let (app, _dir) = demo_app().await;
    let response = send(&app, get("/api/v1/me", None)).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&body_json(response).await), "unauthenticated");

    let token = login(&app, "alice@example.com", "demo-password").await;
    // Flip one character of the signature.
    let mut forged = token.clone().into_bytes();
    let last = forged.len() - 2;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    assert_eq!(send(&app, get("/api/v1/me", Some(&forged))).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(send(&app, get("/api/v1/me", Some("not-a-jwt"))).await.status(), StatusCode::UNAUTHORIZED);

    // A token signed by another server's key is refused too.
    let (other, _dir2) = {
        let (store, dir) = sqlite().await;
        let store: std::sync::Arc<dyn switchboard::Store> = std::sync::Arc::new(store);
        switchboard_server::services::provision::seed_demo(store.as_ref()).await.unwrap();
        let secret = switchboard_server::secret::SecretKey::from_hex(&"cd".repeat(32)).unwrap();
        let mut state =
            state_with(store.clone(), switchboard_server::realtime::Bus::new(), test_auth_config());
        state.accounts = std::sync::Arc::new(switchboard_server::services::AccountService::new(
            store,
            state.realtime.clone(),
            &secret,
            test_auth_config(),
        ));
        (state, dir)
    };
    let foreign = login(&other, "alice@example.com", "demo-password").await;
    assert_eq!(send(&app, get("/api/v1/me", Some(&foreign))).await.status(), StatusCode::UNAUTHORIZED);

    // Sign-out revokes the token at once.
    let logout = Request::post("/api/v1/auth/logout")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let logout = send(&app, logout).await;
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    let cleared = logout.headers()[header::SET_COOKIE].to_str().unwrap();
    assert!(cleared.starts_with("sb_session=;") && cleared.contains("Max-Age=0"), "{cleared}");
    assert_eq!(send(&app, get("/api/v1/me", Some(&token))).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bad_bodies_get_4xx_in_the_error_shape() {
    let (app, _dir) = demo_app().await;
    let cases: [(Request<Body>, StatusCode, &str); 6] = [
        (post_json("/api/v1/auth/login", "10.0.0.1", "{not json"), StatusCode::BAD_REQUEST, "invalid_json"),
        (
            post_json("/api/v1/auth/login", "10.0.0.1", r#"{"email":"a@b.c"}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            post_json("/api/v1/auth/login", "10.0.0.1", r#"{"email":1,"password":2}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            post_json("/api/v1/auth/login", "10.0.0.1", r#"{"email":"not-an-email","password":"x"}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            Request::post("/api/v1/auth/login")
                .header(header::CONTENT_TYPE, "text/plain")
                .body(Body::from(ALICE))
                .unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            post_json(
                "/api/v1/auth/login",
                "10.0.0.1",
                &format!(r#"{{"email":"a@b.c","password":"{}"}}"#, "x".repeat(100_000)),
            ),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ];
    for (request, status, code) in cases {
        let response = send(&app, request).await;
        assert_eq!(response.status(), status, "expected {code}");
        assert_eq!(error_code(&body_json(response).await), code);
    }
    // A password longer than the bound is refused before any hashing.
    let long = json!({"email": "alice@example.com", "password": "x".repeat(2000)}).to_string();
    let response = send(&app, post_json("/api/v1/auth/login", "10.0.0.1", &long)).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body_json(response).await["error"]["field"], "password");
}

#[tokio::test]
async fn sign_in_is_rate_limited_per_client_with_retry_after() {
    let (store, _dir) = sqlite().await;
    let store: std::sync::Arc<dyn switchboard::Store> = std::sync::Arc::new(store);
    switchboard_server::services::provision::seed_demo(store.as_ref()).await.unwrap();
    let mut auth = test_auth_config();
    auth.per_client =
        switchboard_server::services::ratelimit::Quota::new(3, std::time::Duration::from_secs(60));
    let app = state_with(store, switchboard_server::realtime::Bus::new(), auth);
    let bad = r#"{"email":"alice@example.com","password":"wrong"}"#;
    for _ in 0..3 {
        assert_eq!(
            send(&app, post_json("/api/v1/auth/login", "192.0.2.7", bad)).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    // Even the right password is refused now, from this address only.
    let limited = send(&app, post_json("/api/v1/auth/login", "192.0.2.7", ALICE)).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = limited.headers()[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=20).contains(&retry), "Retry-After {retry}");
    assert_eq!(error_code(&body_json(limited).await), "rate_limited");
    assert_eq!(
        send(&app, post_json("/api/v1/auth/login", "192.0.2.8", ALICE)).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn failed_sign_ins_are_rate_limited_per_email_across_clients() {
    let (app, _dir) = demo_app().await; // 5 failures per email
    let bad = r#"{"email":"bob@example.com","password":"wrong"}"#;
    for i in 0..5 {
        let client = format!("198.51.100.{i}");
        assert_eq!(
            send(&app, post_json("/api/v1/auth/login", &client, bad)).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let bob = r#"{"email":"bob@example.com","password":"demo-password"}"#;
    let limited = send(&app, post_json("/api/v1/auth/login", "198.51.100.99", bob)).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers().contains_key(header::RETRY_AFTER));
    // Other accounts are unaffected.
    assert_eq!(
        send(&app, post_json("/api/v1/auth/login", "198.51.100.99", ALICE)).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn unknown_api_routes_get_a_json_404() {
    let (app, _dir) = demo_app().await;
    let response = send(&app, get("/api/v1/nothing-here", None)).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(&body_json(response).await), "not_found");
}

#[tokio::test]
async fn probes_report_health_and_readiness() {
    let (app, _dir) = demo_app().await;
    let health = send(&app, get("/healthz", None)).await;
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(body_json(health).await["status"], "ok");
    let ready = send(&app, get("/readyz", None)).await;
    assert_eq!(ready.status(), StatusCode::OK);
    assert_eq!(body_json(ready).await, json!({"status": "ready", "database": "sqlite"}));

    let (unmigrated, _dir2) = sqlite_unmigrated().await;
    let app = state_with(
        std::sync::Arc::new(unmigrated),
        switchboard_server::realtime::Bus::new(),
        test_auth_config(),
    );
    let ready = send(&app, get("/readyz", None)).await;
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(error_code(&body_json(ready).await), "not_ready");
}

#[tokio::test]
async fn responses_carry_security_headers() {
    let (app, _dir) = demo_app().await;
    let response = send(&app, get("/healthz", None)).await;
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert_eq!(response.headers()["x-frame-options"], "DENY");
}
