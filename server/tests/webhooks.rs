//! Inbound webhooks: verified, parsed, idempotent, and without side effects when refused.
//! On SQLite and PostgreSQL.

#[macro_use]
mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use switchboard_server::http::AppState;

app_test!(
    signed_webhooks_are_ingested_once,
    refused_webhooks_change_nothing,
    network_edits_and_revokes_change_the_message_once,
    chat_and_channel_status_events_are_routed,
    contact_presence_is_recorded_and_published_once,
);

const SECRET: &str = "whsec_test_secret";

fn sign(body: &str, secret: &str) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn hook(path: &str, body: &str, signature: Option<String>) -> Request<Body> {
    let mut req = Request::post(path).header("content-type", "application/json");
    if let Some(sig) = signature {
        req = req.header("x-mock-signature", sig);
    }
    req.body(Body::from(body.to_owned())).unwrap()
}

/// Posts a correctly signed Mock webhook; answers how many events it applied.
async fn post(app: &AppState, path: &str, body: Value) -> Value {
    let body = body.to_string();
    body_json(send(app, hook(path, &body, Some(sign(&body, SECRET)))).await).await["applied"].clone()
}

async fn setup(app: &AppState, config: Value) -> (String, String) {
    let alice = login(app, "alice@example.com", "demo-password").await;
    let created =
        create_channel(app, &alice, json!({"provider": "mock", "name": "Hooked", "config": config})).await;
    (alice, created["id"].as_str().unwrap().to_owned())
}

async fn message_count(app: &AppState, token: &str) -> usize {
    let list = body_json(send(app, authed("GET", "/api/v1/conversations", token, None)).await).await;
    let mut n = 0;
    for conv in list.as_array().unwrap() {
        let id = conv["id"].as_str().unwrap();
        let messages = body_json(
            send(app, authed("GET", &format!("/api/v1/conversations/{id}/messages"), token, None)).await,
        )
        .await;
        n += messages.as_array().unwrap().len();
    }
    n
}

async fn signed_webhooks_are_ingested_once(app: AppState, _raw: Raw) {
    let (alice, id) = setup(&app, json!({"webhook_secret": SECRET})).await;
    let path = format!("/webhooks/mock/{id}");
    let body = json!({"events": [
        {"type": "message", "id": "wamid.1", "from": "+4915100000", "name": "Lena Novak", "text": "Is my order on the way?"},
        {"type": "status", "id": "unknown-outbound", "status": "delivered"}
    ]})
    .to_string();
    let response = send(&app, hook(&path, &body, Some(sign(&body, SECRET)))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body_json(response).await["applied"], 1, "the message; the receipt names no message of ours");

    let list = body_json(send(&app, authed("GET", "/api/v1/conversations", &alice, None)).await).await;
    assert_eq!(list[0]["title"], "Lena Novak");
    assert_eq!(list[0]["last_message_preview"], "Is my order on the way?");

    // Delivered again, and twice at once: nothing new.
    let again = send(&app, hook(&path, &body, Some(sign(&body, SECRET)))).await;
    assert_eq!(body_json(again).await["applied"], 0);
    let (a, b) = tokio::join!(
        send(&app, hook(&path, &body, Some(sign(&body, SECRET)))),
        send(&app, hook(&path, &body, Some(sign(&body, SECRET))))
    );
    assert_eq!((a.status(), b.status()), (StatusCode::OK, StatusCode::OK));
    assert_eq!(message_count(&app, &alice).await, 1);

    // Redelivered with changed text (edited on the network), twice at once: updated once.
    let edited = json!({"events": [
        {"type": "message", "id": "wamid.1", "from": "+4915100000", "name": "Lena Novak", "text": "Is my order on its way?"}
    ]})
    .to_string();
    let (a, b) = tokio::join!(
        send(&app, hook(&path, &edited, Some(sign(&edited, SECRET)))),
        send(&app, hook(&path, &edited, Some(sign(&edited, SECRET))))
    );
    let applied =
        body_json(a).await["applied"].as_u64().unwrap() + body_json(b).await["applied"].as_u64().unwrap();
    assert_eq!(applied, 1, "one of the two applied the edit");
    assert_eq!(post(&app, &path, serde_json::from_str(&edited).unwrap()).await, 0, "then nothing changes");
    assert_eq!(message_count(&app, &alice).await, 1, "no second message");
    let list = body_json(send(&app, authed("GET", "/api/v1/conversations", &alice, None)).await).await;
    let conv = list[0]["id"].as_str().unwrap();
    let messages = body_json(
        send(&app, authed("GET", &format!("/api/v1/conversations/{conv}/messages"), &alice, None)).await,
    )
    .await;
    assert_eq!(messages[0]["text"], "Is my order on its way?");
    let topic = switchboard::Topic::Conversation(conv.parse().unwrap());
    let kinds: Vec<_> =
        app.store.events_after(topic, 0, 100).await.unwrap().into_iter().map(|e| e.kind().as_str()).collect();
    assert_eq!(kinds, ["message.created", "message.updated"]);
}

async fn refused_webhooks_change_nothing(app: AppState, _raw: Raw) {
    let (alice, id) = setup(&app, json!({"webhook_secret": SECRET})).await;
    let (_, closed) = setup(&app, json!({})).await;
    let body = json!({"events": [{"type": "message", "id": "m1", "from": "+1", "text": "hi"}]}).to_string();
    let cases = [
        (format!("/webhooks/mock/{id}"), Some(sign(&body, "wrong-secret")), StatusCode::UNAUTHORIZED),
        (format!("/webhooks/mock/{id}"), None, StatusCode::UNAUTHORIZED),
        (format!("/webhooks/mock/{id}"), Some("sha256=zz".to_owned()), StatusCode::UNAUTHORIZED),
        (format!("/webhooks/mock/{closed}"), Some(sign(&body, SECRET)), StatusCode::UNAUTHORIZED),
        (format!("/webhooks/telegram/{id}"), Some(sign(&body, SECRET)), StatusCode::NOT_FOUND),
        (
            format!("/webhooks/mock/{}", switchboard::ChannelId::new()),
            Some(sign(&body, SECRET)),
            StatusCode::NOT_FOUND,
        ),
        ("/webhooks/mock/not-an-id".to_owned(), Some(sign(&body, SECRET)), StatusCode::NOT_FOUND),
    ];
    for (path, sig, status) in cases {
        let response = send(&app, hook(&path, &body, sig)).await;
        assert_eq!(response.status(), status, "{path}");
        error_code(&body_json(response).await);
    }
    for bad in ["{not json", r#"{"events":[{"type":"poke"}]}"#] {
        let response = send(&app, hook(&format!("/webhooks/mock/{id}"), bad, Some(sign(bad, SECRET)))).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(error_code(&body_json(response).await), "invalid_body");
    }
    assert_eq!(message_count(&app, &alice).await, 0, "no refused request wrote anything");
}

async fn network_edits_and_revokes_change_the_message_once(app: AppState, _raw: Raw) {
    let (alice, id) = setup(&app, json!({"webhook_secret": SECRET})).await;
    let path = format!("/webhooks/mock/{id}");
    let said = json!({"events": [{"type": "message", "id": "wamid.7", "from": "+4915100007", "text": "Order 17 please"}]});
    assert_eq!(post(&app, &path, said).await, 1);
    let list = body_json(send(&app, authed("GET", "/api/v1/conversations", &alice, None)).await).await;
    let conv = list[0]["id"].as_str().unwrap().to_owned();
    let history = |app: AppState| {
        let conv = conv.clone();
        let alice = alice.clone();
        async move {
            let uri = format!("/api/v1/conversations/{conv}/messages");
            body_json(send(&app, authed("GET", &uri, &alice, None)).await).await[0].clone()
        }
    };

    // The contact corrects the message: once; the same edit again changes nothing.
    let edit = json!({"events": [{"type": "edit", "id": "wamid.7", "text": "Order 71 please"}]});
    assert_eq!(post(&app, &path, edit.clone()).await, 1);
    assert_eq!(post(&app, &path, edit).await, 0);
    let message = history(app.clone()).await;
    assert_eq!(message["text"], "Order 71 please");
    assert!(message["edited_at"].is_string());
    // An edit or revoke of a message we never saw changes nothing.
    let unknown = json!({"events": [{"type": "edit", "id": "wamid.nope", "text": "x"}, {"type": "revoke", "id": "wamid.nope"}]});
    assert_eq!(post(&app, &path, unknown).await, 0);

    // Then deletes it for everyone: once.
    let revoke = json!({"events": [{"type": "revoke", "id": "wamid.7"}]});
    assert_eq!(post(&app, &path, revoke.clone()).await, 1);
    assert_eq!(post(&app, &path, revoke).await, 0);
    let message = history(app.clone()).await;
    assert_eq!(message["text"], "");
    assert!(message["deleted_at"].is_string());
    let late_edit = json!({"events": [{"type": "edit", "id": "wamid.7", "text": "back again"}]});
    assert_eq!(post(&app, &path, late_edit).await, 0, "an edit does not bring a deleted message back");

    let topic = switchboard::Topic::Conversation(conv.parse().unwrap());
    let kinds: Vec<&str> =
        app.store.events_after(topic, 0, 100).await.unwrap().into_iter().map(|e| e.kind().as_str()).collect();
    assert_eq!(kinds, ["message.created", "message.updated", "message.deleted"]);
}

async fn chat_and_channel_status_events_are_routed(app: AppState, _raw: Raw) {
    let (alice, id) = setup(&app, json!({"webhook_secret": SECRET})).await;
    let path = format!("/webhooks/mock/{id}");
    let said = json!({"events": [{"type": "message", "id": "wamid.9", "from": "+4915100009", "name": "Ada", "text": "hi"}]});
    assert_eq!(post(&app, &path, said).await, 1);
    // The chat is renamed on the network: once.
    let rename = json!({"events": [{"type": "chat", "id": "+4915100009", "title": "Ada Lovelace"}]});
    assert_eq!(post(&app, &path, rename.clone()).await, 1);
    assert_eq!(post(&app, &path, rename).await, 0);
    let list = body_json(send(&app, authed("GET", "/api/v1/conversations", &alice, None)).await).await;
    assert_eq!(list[0]["title"], "Ada Lovelace");
    let unknown = json!({"events": [{"type": "chat", "id": "+000", "title": "Nobody"}]});
    assert_eq!(post(&app, &path, unknown).await, 0);

    // The network reports the account failed: the channel shows it, once.
    let failed = json!({"events": [{"type": "channel_status", "status": "failed", "error": "logged out on the phone"}]});
    assert_eq!(post(&app, &path, failed.clone()).await, 1);
    assert_eq!(post(&app, &path, failed).await, 0);
    let channel =
        body_json(send(&app, authed("GET", &format!("/api/v1/channels/{id}"), &alice, None)).await).await;
    assert_eq!(channel["status"], "failed");
    assert_eq!(channel["last_error"], "logged out on the phone");
    let bad = json!({"events": [{"type": "channel_status", "status": "exploded"}]}).to_string();
    let response = send(&app, hook(&path, &bad, Some(sign(&bad, SECRET)))).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

async fn contact_presence_is_recorded_and_published_once(app: AppState, _raw: Raw) {
    let (alice, id) = setup(&app, json!({"webhook_secret": SECRET})).await;
    let path = format!("/webhooks/mock/{id}");
    // Presence of a contact we never heard from changes nothing.
    let stranger = json!({"events": [{"type": "presence", "id": "+4915100007", "online": true}]});
    assert_eq!(post(&app, &path, stranger).await, 0);
    let said = json!({"events": [{"type": "message", "id": "wamid.7", "from": "+4915100007", "name": "Ada", "text": "hi"}]});
    assert_eq!(post(&app, &path, said).await, 1);
    let list = body_json(send(&app, authed("GET", "/api/v1/conversations", &alice, None)).await).await;
    assert_eq!(list[0]["contact_online"], Value::Null, "unknown until the network says");

    let online = json!({"events": [{"type": "presence", "id": "+4915100007", "online": true}]});
    assert_eq!(post(&app, &path, online.clone()).await, 1);
    assert_eq!(post(&app, &path, online).await, 0, "no change, no event");
    let list = body_json(send(&app, authed("GET", "/api/v1/conversations", &alice, None)).await).await;
    assert_eq!(list[0]["contact_online"], true);
    let offline = json!({"events": [{"type": "presence", "id": "+4915100007", "online": false}]});
    assert_eq!(post(&app, &path, offline).await, 1);
    let list = body_json(send(&app, authed("GET", "/api/v1/conversations", &alice, None)).await).await;
    assert_eq!(list[0]["contact_online"], false);

    // Each change is an event on the inbox topic, naming the contact of the conversation.
    let sync = body_json(send(&app, authed("GET", "/api/v1/sync?since=0", &alice, None)).await).await;
    let presence: Vec<&Value> =
        sync["events"].as_array().unwrap().iter().filter(|e| e["type"] == "contact.presence").collect();
    assert_eq!(presence.len(), 2, "{sync}");
    assert_eq!(presence[0]["payload"]["contact_id"], list[0]["contact_id"]);
    assert_eq!(presence[0]["payload"]["online"], true);
    assert_eq!(presence[1]["payload"]["online"], false);
}
