//! The API channel (provider `api`) round trip on SQLite and PostgreSQL: sign-in with a
//! callback URL shows the signing secret once; the integrator posts messages and statuses with
//! short-lived JWTs (a replayed `jti`, a forged, expired or too long-lived token refused with
//! their codes); agents' replies reach the callback signed, through the outbox, which waits out
//! the callback's 429 and fails a message the callback refuses.

#[macro_use]
mod common;

use std::sync::Arc;
use std::time::Duration;

use common::receiver::{Receiver, Reply, verify_signature};
use common::*;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};
use switchboard::time::ManualClock;
use switchboard::{ConversationId, MessageStatus};
use switchboard_server::http::AppState;
use switchboard_server::services::outbox::{OutboxConfig, OutboxWorker};

app_test!(
    an_api_channel_signs_in_with_its_callback_and_shows_its_secret_once,
    inbound_posts_need_fresh_signed_tokens,
    replies_reach_the_callback_signed_and_wait_out_its_429,
);

async fn call(app: &AppState, method: &str, uri: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let response = send(app, authed(method, uri, token, body)).await;
    let status = response.status().as_u16();
    let text = body_text(response).await;
    (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() })
}

/// A signed-in API channel calling back `url`: (alice's session, channel id, secret).
async fn api_channel(app: &AppState, url: &str) -> (String, String, String) {
    let alice = login(app, "alice@example.com", "demo-password").await;
    let channel = create_channel(app, &alice, json!({"provider": "api", "name": "Partner network"})).await;
    let id = channel["id"].as_str().unwrap().to_owned();
    let (status, prompt) = call(
        app,
        "POST",
        &format!("/api/v1/channels/{id}/auth/start"),
        &alice,
        Some(json!({"method": "token"})),
    )
    .await;
    assert_eq!(status, 200, "{prompt}");
    assert_eq!(prompt["prompt"]["fields"][0]["name"], "callback_url", "{prompt}");
    // The auth page reloads the state while the admin types: the prompt is still there.
    let (_, again) = call(app, "GET", &format!("/api/v1/channels/{id}/auth"), &alice, None).await;
    assert_eq!(again["prompt"], prompt["prompt"], "{again}");
    let submit = json!({"kind": "token", "fields": {"callback_url": url}});
    let (status, state) =
        call(app, "POST", &format!("/api/v1/channels/{id}/auth/submit"), &alice, Some(submit)).await;
    assert_eq!(status, 200, "{state}");
    assert_eq!(state["status"], "authenticated", "{state}");
    let secret = state["shown_once"]["value"].as_str().expect("the secret, once").to_owned();
    assert!(secret.starts_with("sbch_"));
    (alice, id, secret)
}

fn jwt(secret: &str, exp_in: i64, jti: &str) -> String {
    let claims = json!({"exp": chrono::Utc::now().timestamp() + exp_in, "jti": jti});
    jsonwebtoken::encode(&Header::default(), &claims, &EncodingKey::from_secret(secret.as_bytes())).unwrap()
}

async fn inbound(app: &AppState, channel: &str, token: &str, body: Value) -> (u16, Value) {
    call(app, "POST", &format!("/api/v1/channels/{channel}/inbound"), token, Some(body)).await
}

fn message(id: &str, text: &str) -> Value {
    json!({"messages": [{"id": id, "from": "cust-9", "name": "Carla", "text": text}]})
}

async fn an_api_channel_signs_in_with_its_callback_and_shows_its_secret_once(app: AppState, _raw: Raw) {
    let (_receiver, url) = Receiver::default().start().await;
    let (alice, id, secret) = api_channel(&app, &url).await;
    let (status, state) = call(&app, "GET", &format!("/api/v1/channels/{id}/auth"), &alice, None).await;
    assert_eq!(status, 200);
    assert!(state["shown_once"].is_null(), "never again: {state}");
    let (_, channel) = call(&app, "GET", &format!("/api/v1/channels/{id}"), &alice, None).await;
    assert_eq!(channel["status"], "connected");
    assert!(!channel.to_string().contains(&secret), "the secret is write-only: {channel}");
    // A callback that is not http(s) is refused in words.
    let other = create_channel(&app, &alice, json!({"provider": "api", "name": "Other"})).await;
    let other = other["id"].as_str().unwrap();
    call(
        &app,
        "POST",
        &format!("/api/v1/channels/{other}/auth/start"),
        &alice,
        Some(json!({"method": "token"})),
    )
    .await;
    let submit = json!({"kind": "token", "fields": {"callback_url": "ftp://example.com/x"}});
    let (status, refused) =
        call(&app, "POST", &format!("/api/v1/channels/{other}/auth/submit"), &alice, Some(submit)).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["field"], "callback_url");
}

async fn inbound_posts_need_fresh_signed_tokens(app: AppState, _raw: Raw) {
    let (_receiver, url) = Receiver::default().start().await;
    let (alice, channel, secret) = api_channel(&app, &url).await;

    let token = jwt(&secret, 60, "post-1");
    let (status, applied) = inbound(&app, &channel, &token, message("m1", "hello from the partner")).await;
    assert_eq!(status, 200, "{applied}");
    assert!(applied["applied"].as_u64().unwrap() >= 1);
    let (_, list) = call(&app, "GET", "/api/v1/conversations", &alice, None).await;
    let conversation = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["channel_id"] == channel.as_str())
        .expect("the partner's conversation is in the inbox");
    assert_eq!(conversation["title"], "Carla");
    assert_eq!(conversation["last_message_preview"], "hello from the partner");

    // The same token again, however its body: refused, nothing recorded.
    let (status, replay) = inbound(&app, &channel, &token, message("m2", "replayed")).await;
    assert_eq!((status, error_code(&replay).as_str()), (401, "token_replayed"));
    for (token, code) in [
        (jwt(&secret, 600, "long"), "token_lifetime"),
        (jwt(&secret, -5, "old"), "token_expired"),
        (jwt("sbch_not-the-secret", 60, "forged"), "invalid_token"),
        ("not-a-jwt".to_owned(), "invalid_token"),
    ] {
        let (status, body) = inbound(&app, &channel, &token, message("m3", "refused")).await;
        assert_eq!((status, error_code(&body).as_str()), (401, code), "{body}");
    }
    let claims = json!({"exp": chrono::Utc::now().timestamp() + 60});
    let no_jti =
        jsonwebtoken::encode(&Header::default(), &claims, &EncodingKey::from_secret(secret.as_bytes()))
            .unwrap();
    assert_eq!(inbound(&app, &channel, &no_jti, message("m3", "refused")).await.0, 401);
    // Malformed bodies are refused; unknown channels are not found.
    let (status, bad) = inbound(&app, &channel, &jwt(&secret, 60, "bad-body"), json!({"mesages": []})).await;
    assert!(status == 400 || status == 422, "{bad}");
    let unknown = format!("/api/v1/channels/{}/inbound", uuid::Uuid::now_v7());
    assert_eq!(call(&app, "POST", &unknown, &jwt(&secret, 60, "x"), Some(message("m4", "x"))).await.0, 404);
    let conversation: ConversationId = conversation["id"].as_str().unwrap().parse().unwrap();
    let ws = app.store.workspace_by_name("Acme Support").await.unwrap().unwrap().id;
    let texts: Vec<String> =
        app.store.messages(ws, conversation, None, 50).await.unwrap().into_iter().map(|m| m.text).collect();
    assert_eq!(texts, ["hello from the partner"], "refused posts recorded nothing");
}

fn fast() -> OutboxConfig {
    OutboxConfig {
        poll: Duration::from_millis(10),
        lease: Duration::from_secs(5),
        backoff_base: Duration::from_millis(10),
        backoff_cap: Duration::from_millis(40),
        batch: 32,
    }
}

async fn replies_reach_the_callback_signed_and_wait_out_its_429(app: AppState, _raw: Raw) {
    let (receiver, url) = Receiver::default().start().await;
    let (alice, channel, secret) = api_channel(&app, &url).await;
    inbound(&app, &channel, &jwt(&secret, 60, "in-1"), message("m1", "can you help?")).await;
    let (_, list) = call(&app, "GET", "/api/v1/conversations", &alice, None).await;
    let conversation = list.as_array().unwrap().iter().find(|c| c["channel_id"] == channel.as_str()).unwrap()
        ["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ws = app.store.workspace_by_name("Acme Support").await.unwrap().unwrap().id;
    let conv: ConversationId = conversation.parse().unwrap();
    let status_of = |text: &'static str| {
        let store = app.store.clone();
        async move {
            let messages = store.messages(ws, conv, None, 50).await.unwrap();
            messages.into_iter().find(|m| m.text == text).unwrap()
        }
    };

    // The callback first says "too many", then takes the message and names its own id.
    receiver.script.lock().unwrap().push_back(Reply {
        status: 429,
        body: String::new(),
        retry_after: Some(30),
    });
    receiver.script.lock().unwrap().push_back(Reply {
        status: 200,
        body: json!({"id": "partner-77"}).to_string(),
        retry_after: None,
    });
    let uri = format!("/api/v1/conversations/{conversation}/messages");
    assert_eq!(
        call(&app, "POST", &uri, &alice, Some(json!({"text": "yes, gladly", "buttons": ["Thanks", "More"]})))
            .await
            .0,
        201
    );
    let clock = Arc::new(ManualClock::new(switchboard::time::now()));
    let worker = OutboxWorker::new(app.store.clone(), app.channels.providers().clone(), fast())
        .with_channels(app.channels.clone())
        .with_clock(clock.clone());
    worker.tick().await.unwrap();
    assert_eq!(receiver.count(), 1, "the 429");
    assert_eq!(status_of("yes, gladly").await.status, MessageStatus::Pending);
    clock.advance(Duration::from_secs(29));
    worker.tick().await.unwrap();
    assert_eq!(receiver.count(), 1, "the channel waits out Retry-After");
    clock.advance(Duration::from_secs(1));
    for _ in 0..3 {
        worker.tick().await.unwrap();
    }
    assert_eq!(receiver.count(), 2);
    let sent = status_of("yes, gladly").await;
    assert_eq!((sent.status, sent.external_id.as_deref()), (MessageStatus::Sent, Some("partner-77")));
    let (headers, body) = receiver.seen.lock().unwrap()[1].clone();
    verify_signature(&headers, &body, &secret);
    let posted: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!((posted["to"].as_str(), posted["text"].as_str()), (Some("cust-9"), Some("yes, gladly")));
    assert_eq!(posted["buttons"], json!(["Thanks", "More"]), "quick replies for the partner to render");
    assert_eq!(
        headers["switchboard-id"].to_str().unwrap(),
        posted["id"].as_str().unwrap(),
        "stable across retries"
    );

    // The partner reports delivery by the id it answered.
    let statuses = json!({"statuses": [{"id": "partner-77", "status": "delivered"}]});
    assert_eq!(inbound(&app, &channel, &jwt(&secret, 60, "in-2"), statuses).await.0, 200);
    assert_eq!(status_of("yes, gladly").await.status, MessageStatus::Delivered);

    // A message the callback refuses (a 4xx) fails at once, in words.
    *receiver.always.lock().unwrap() = Some(Reply::status(400));
    assert_eq!(call(&app, "POST", &uri, &alice, Some(json!({"text": "refused one"}))).await.0, 201);
    for _ in 0..3 {
        worker.tick().await.unwrap();
    }
    let failed = status_of("refused one").await;
    assert_eq!(failed.status, MessageStatus::Failed);
    assert!(failed.error.as_deref().unwrap_or_default().contains("400"), "{:?}", failed.error);
}
