//! The per-user send limit.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use serde_json::json;
use switchboard_server::http::AppState;

use crate::*;

/// The app with this send limit per user (a refill slow enough that none comes back during
/// the test, unless the test waits for it).
pub fn with_send_limit(app: AppState, quota: switchboard_server::services::ratelimit::Quota) -> AppState {
    let messages = switchboard_server::services::MessageService::with_send_limit(app.store.clone(), quota);
    AppState { messages: Arc::new(messages), ..app }
}

pub async fn history_len(app: &AppState, token: &str, conv: &str) -> usize {
    let uri = format!("/api/v1/conversations/{conv}/messages?limit=200");
    body_json(send(app, authed("GET", &uri, token, None)).await).await.as_array().unwrap().len()
}

pub async fn sends_are_limited_per_user(app: AppState, _raw: Raw) {
    use switchboard_server::services::ratelimit::Quota;
    // The default burst (30), with no refill within the test.
    let app = with_send_limit(app, Quota::new(30, Duration::from_secs(3600)));
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let bob = login(&app, "bob@example.com", "demo-password").await;
    let ch = channel(&app, &alice, json!({})).await;
    let conv = conversation(&app, &ch, "+15550009001").await;
    for i in 0..30 {
        let response = send(&app, post_message(&alice, &conv, json!({"text": format!("m{i}")}), None)).await;
        assert_eq!(response.status(), StatusCode::CREATED, "send {i}");
    }
    let stored = history_len(&app, &alice, &conv).await;
    assert_eq!(stored, 31, "the contact's message and alice's 30");

    // The 31st: 429 in the error shape, with Retry-After, and nothing stored.
    let response =
        send(&app, post_message(&alice, &conv, json!({"text": "one too many"}), Some("k-31"))).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry >= 1, "Retry-After {retry}");
    let body = body_json(response).await;
    assert_eq!(error_code(&body), "rate_limited", "{body}");
    assert_eq!(history_len(&app, &alice, &conv).await, stored, "a refused send stores nothing");

    // Another user of the same workspace, in the same conversation, is not affected.
    let response = send(&app, post_message(&bob, &conv, json!({"text": "bob is fine"}), None)).await;
    assert_eq!(response.status(), StatusCode::CREATED);
}

/// The bucket refills at its rate: after a refusal, waiting `Retry-After`'s worth lets a
/// send through again.
#[tokio::test]
async fn the_send_limit_refills() {
    use switchboard_server::services::ratelimit::Quota;
    let (app, _dir) = demo_app().await;
    // 1 a second, bursts of 3.
    let app = with_send_limit(app, Quota::per_second(1, 3));
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let ch = channel(&app, &alice, json!({})).await;
    let conv = conversation(&app, &ch, "+15550009002").await;
    for i in 0..3 {
        let response = send(&app, post_message(&alice, &conv, json!({"text": format!("m{i}")}), None)).await;
        assert_eq!(response.status(), StatusCode::CREATED, "send {i}");
    }
    let response = send(&app, post_message(&alice, &conv, json!({"text": "too soon"}), None)).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "1");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let response = send(&app, post_message(&alice, &conv, json!({"text": "later"}), None)).await;
    assert_eq!(response.status(), StatusCode::CREATED, "a token came back");
    let response = send(&app, post_message(&alice, &conv, json!({"text": "too soon again"}), None)).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS, "only one");
}
