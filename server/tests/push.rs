//! Web Push end to end, on SQLite and PostgreSQL, against a push service this test runs: a
//! browser's subscription is kept, customer messages become one batched push per person as
//! their settings say, the request is VAPID-signed (RFC 8292) for the endpoint's origin, and the
//! body decrypts (RFC 8291) with the subscription's keys; a subscription the service calls gone
//! is forgotten.

#[macro_use]
mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use common::*;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use serde_json::{Value, json};
use switchboard_server::http::AppState;
use switchboard_server::webpush::VapidKeys;

app_test!(customer_messages_reach_agents_as_batched_signed_encrypted_pushes);

/// What the push service received: headers and body of each request.
type Received = Arc<Mutex<Vec<(HeaderMap, Vec<u8>)>>>;

/// A push service on a free port: `/live/…` takes pushes (201), `/gone/…` says 410.
async fn push_service() -> (String, Received) {
    let received: Received = Arc::default();
    let kept = received.clone();
    let app = axum::Router::new().route(
        "/{kind}/{id}",
        axum::routing::post(
            move |axum::extract::Path((kind, _id)): axum::extract::Path<(String, String)>,
                  headers: HeaderMap,
                  body: axum::body::Bytes| {
                let kept = kept.clone();
                async move {
                    kept.lock().unwrap().push((headers, body.to_vec()));
                    if kind == "gone" { StatusCode::GONE } else { StatusCode::CREATED }
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), received)
}

async fn wait_for(received: &Received, n: usize) -> Vec<(HeaderMap, Vec<u8>)> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let got = received.lock().unwrap().clone();
        if got.len() >= n || tokio::time::Instant::now() > deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn customer_messages_reach_agents_as_batched_signed_encrypted_pushes(app: AppState, _raw: Raw) {
    let keys = Arc::new(VapidKeys::generate());
    app.messages.set_push_keys(keys.clone());
    // Mentions are also told at once (serve relays them to the person's own topic).
    let mentions =
        Arc::new(std::sync::Mutex::new(Vec::<(switchboard::UserId, switchboard::MessageId)>::new()));
    let told = mentions.clone();
    let relay = switchboard_server::services::notify::MentionRelay(Arc::new(move |user, message| {
        told.lock().unwrap().push((user, message.id));
    }));
    let config = switchboard_server::services::notify::PushConfig {
        relay: Some(relay),
        window: Duration::from_millis(700),
        allow_private: true,
        subject: "mailto:ops@example.com".into(),
    };
    let messages = Arc::new(tokio::sync::Mutex::new(app.realtime.bus().watch_messages()));
    let dispatcher = tokio::spawn(switchboard_server::services::notify::dispatch(
        app.store.clone(),
        keys.clone(),
        config,
        messages,
    ));
    let (service, received) = push_service().await;

    let alice = login(&app, "alice@example.com", "demo-password").await;
    let bob = login(&app, "bob@example.com", "demo-password").await;
    let (status, public) = call(&app, &bob, "GET", "/api/v1/push/public-key", None).await;
    assert_eq!((status.as_u16(), public["public_key"].as_str()), (200, Some(keys.public_key().as_str())));

    // Bob's browser subscribes (the keys a browser would make).
    let browser = p256::SecretKey::from_slice(&rand::random::<[u8; 32]>()).unwrap();
    let p256dh = B64.encode(browser.public_key().to_encoded_point(false).as_bytes());
    let auth: [u8; 16] = rand::random();
    let endpoint = format!("{service}/live/bob-laptop");
    let sub = json!({"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": B64.encode(auth)}});
    assert_eq!(call(&app, &bob, "POST", "/api/v1/me/push-subscriptions", Some(sub.clone())).await.0, 204);
    for bad in [
        json!({"endpoint": "ftp://x/y", "keys": {"p256dh": p256dh, "auth": B64.encode(auth)}}),
        json!({"endpoint": endpoint, "keys": {"p256dh": "bm90IGEga2V5", "auth": B64.encode(auth)}}),
        json!({"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": "c2hvcnQ"}}),
    ] {
        let (status, refused) = call(&app, &bob, "POST", "/api/v1/me/push-subscriptions", Some(bad)).await;
        assert_eq!(status, 422, "{refused}");
    }

    // Three messages from Maria in a conversation nobody has: one push for Bob.
    let created = create_channel(&app, &alice, json!({"provider": "mock", "name": "Mock"})).await;
    let id: switchboard::ChannelId = created["id"].as_str().unwrap().parse().unwrap();
    let ws = app.store.workspace_by_name("Acme Support").await.unwrap().unwrap().id;
    let channel = app.store.channel(ws, id).await.unwrap().unwrap();
    let mut conversation = None;
    for text in ["Hello?", "Is anyone there?", "My parcel is late"] {
        conversation = Some(contact_writes(&app, &channel, "+15550123", "Maria", text).await.conversation.id);
    }
    let conversation = conversation.unwrap();
    let got = wait_for(&received, 1).await;
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(received.lock().unwrap().len(), 1, "batched into one push");
    let (headers, body) = &got[0];
    assert_eq!(headers["content-encoding"], "aes128gcm");
    assert_eq!(headers["ttl"], "86400");
    let plain = switchboard_server::webpush::decrypt(body, &browser, &auth)
        .expect("decrypts with the subscription's keys");
    let payload: Value = serde_json::from_slice(&plain).unwrap();
    assert_eq!(payload["title"], "3 new messages from Maria");
    assert_eq!(payload["body"], "My parcel is late");
    assert_eq!(payload["url"], format!("/inbox?c={conversation}"));
    assert_eq!(payload["count"], 3);
    // VAPID: signed by the key it names, for the push service's origin.
    let authorization = headers["authorization"].to_str().unwrap();
    let (token, key) = authorization.strip_prefix("vapid t=").unwrap().split_once(", k=").unwrap();
    assert_eq!(key, keys.public_key());
    let (signed, signature) = token.rsplit_once('.').unwrap();
    use p256::ecdsa::signature::Verifier;
    let verifying = p256::ecdsa::VerifyingKey::from_sec1_bytes(&B64.decode(key).unwrap()).unwrap();
    let signature = p256::ecdsa::Signature::from_slice(&B64.decode(signature).unwrap()).unwrap();
    verifying.verify(signed.as_bytes(), &signature).expect("a valid ES256 signature");
    let claims: Value =
        serde_json::from_slice(&B64.decode(signed.split_once('.').unwrap().1).unwrap()).unwrap();
    assert_eq!(claims["aud"], service);
    assert_eq!(claims["sub"], "mailto:ops@example.com");

    // Settings decide: without `unassigned`, nothing; assigned to Bob, a push again.
    let (status, _) =
        call(&app, &bob, "PUT", "/api/v1/me/notification-settings", Some(json!({"unassigned": false}))).await;
    assert_eq!(status, 200);
    contact_writes(&app, &channel, "+15550123", "Maria", "Hello again").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(received.lock().unwrap().len(), 1, "nothing Bob's settings exclude");
    let bob_id = app.accounts.authenticate(&bob).await.unwrap().user.id;
    let assign = json!({"user_id": bob_id});
    assert_eq!(
        call(&app, &alice, "PUT", &format!("/api/v1/conversations/{conversation}/assignee"), Some(assign))
            .await
            .0,
        200
    );
    contact_writes(&app, &channel, "+15550123", "Maria", "Thanks Bob").await;
    let got = wait_for(&received, 2).await;
    let plain = switchboard_server::webpush::decrypt(&got[1].1, &browser, &auth).unwrap();
    assert_eq!(serde_json::from_slice::<Value>(&plain).unwrap()["title"], "New message from Maria");
    // Quiet hours all day long: nothing.
    let quiet = json!({"quiet_hours": {"start_minute": 0, "end_minute": 1439, "utc_offset_minutes": 0}});
    let (status, saved) = call(&app, &bob, "PUT", "/api/v1/me/notification-settings", Some(quiet)).await;
    assert_eq!(
        (status.as_u16(), &saved["unassigned"]),
        (200, &json!(true)),
        "absent fields take their defaults"
    );
    let bad = json!({"quiet_hours": {"start_minute": 2000, "end_minute": 0, "utc_offset_minutes": 0}});
    assert_eq!(call(&app, &bob, "PUT", "/api/v1/me/notification-settings", Some(bad)).await.0, 422);
    let minute =
        chrono::Timelike::minute(&chrono::Utc::now()) + chrono::Timelike::hour(&chrono::Utc::now()) * 60;
    if minute < 1439 {
        contact_writes(&app, &channel, "+15550123", "Maria", "At night").await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(received.lock().unwrap().len(), 2, "quiet hours hold pushes");
    }
    assert_eq!(call(&app, &bob, "PUT", "/api/v1/me/notification-settings", Some(json!({}))).await.0, 200);

    // A note that mentions Bob is relayed to him at once; a plain note, or customer messages,
    // are not mentions.
    assert!(mentions.lock().unwrap().is_empty(), "no mention so far");
    let uri = format!("/api/v1/conversations/{conversation}/messages");
    let (status, plain_note) =
        call(&app, &alice, "POST", &uri, Some(json!({"text": "checking", "note": true}))).await;
    assert_eq!(status, 201, "{plain_note}");
    let (status, note) =
        call(&app, &alice, "POST", &uri, Some(json!({"text": "@bob can you take this?", "note": true})))
            .await;
    assert_eq!(status, 201, "{note}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while mentions.lock().unwrap().is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let note_id: switchboard::MessageId = note["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(*mentions.lock().unwrap(), [(bob_id, note_id)]);

    // A subscription the push service calls gone is forgotten.
    assert_eq!(
        call(&app, &bob, "DELETE", "/api/v1/me/push-subscriptions", Some(json!({"endpoint": endpoint})))
            .await
            .0,
        204
    );
    assert_eq!(
        call(&app, &bob, "DELETE", "/api/v1/me/push-subscriptions", Some(json!({"endpoint": endpoint})))
            .await
            .0,
        404
    );
    let gone = format!("{service}/gone/old-phone");
    let sub = json!({"endpoint": gone, "keys": {"p256dh": p256dh, "auth": B64.encode(auth)}});
    assert_eq!(call(&app, &bob, "POST", "/api/v1/me/push-subscriptions", Some(sub)).await.0, 204);
    contact_writes(&app, &channel, "+15550123", "Maria", "Still there?").await;
    wait_for(&received, 3).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !app.store.push_subscriptions(bob_id).await.unwrap().is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "a gone subscription is forgotten");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    dispatcher.abort();
}
