//! Outgoing webhooks against a receiver on a real socket, on SQLite and PostgreSQL: deliveries
//! are signed (verified here as a receiver would), carry the event's id, are retried after a
//! 500 and end on the dead-letter list after their retry window, from where they are sent
//! again; a restart loses and doubles nothing; the SSRF guard refuses private targets when the
//! operator has not allowed them.

#[macro_use]
mod common;

use std::sync::Arc;
use std::time::Duration;

use common::receiver::{Receiver, Reply, verify_signature};
use common::*;
use serde_json::{Value, json};
use switchboard::Store;
use switchboard_server::http::AppState;
use switchboard_server::realtime::Bus;
use switchboard_server::secret::SecretKey;
use switchboard_server::services::webhooks::{WebhookConfig, WebhookService};

app_test!(
    deliveries_are_signed_filtered_and_retried_after_a_500,
    a_delivery_that_keeps_failing_is_dead_until_sent_again,
    private_targets_are_refused_unless_allowed,
);

/// Runs delivery rounds until `done` holds (or fails after five seconds).
async fn deliver_until(service: &WebhookService, what: &str, done: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        service.deliver_due().await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn call(app: &AppState, method: &str, uri: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let response = send(app, authed(method, uri, token, body)).await;
    let status = response.status().as_u16();
    let text = body_text(response).await;
    (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() })
}

/// Registers an endpoint for `events`: (id, secret).
async fn endpoint(app: &AppState, token: &str, url: &str, events: Value) -> (String, String) {
    let (status, created) =
        call(app, "POST", "/api/v1/webhook-endpoints", token, Some(json!({"url": url, "events": events})))
            .await;
    assert_eq!(status, 201, "{created}");
    (created["id"].as_str().unwrap().to_owned(), created["secret"].as_str().unwrap().to_owned())
}

/// A room of Alice's on a new in-app channel; `post` sends into it.
async fn room(app: &AppState, alice: &str) -> String {
    let inapp = create_channel(app, alice, json!({"provider": "inapp", "name": "Hooks"})).await;
    let body = json!({"channel_id": inapp["id"], "title": "Hooked"});
    let (status, room) = call(app, "POST", "/api/v1/conversations", alice, Some(body)).await;
    assert_eq!(status, 201, "{room}");
    room["id"].as_str().unwrap().to_owned()
}

async fn post(app: &AppState, token: &str, room: &str, text: &str) -> String {
    let uri = format!("/api/v1/conversations/{room}/messages");
    let (status, sent) = call(app, "POST", &uri, token, Some(json!({ "text": text }))).await;
    assert_eq!(status, 201, "{sent}");
    sent["id"].as_str().unwrap().to_owned()
}

async fn deliveries_are_signed_filtered_and_retried_after_a_500(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let (receiver, url) = Receiver::default().start().await;
    receiver.script.lock().unwrap().push_back(Reply::status(500));
    let (id, secret) = endpoint(&app, &alice, &url, json!(["message.created"])).await;
    assert!(secret.starts_with("whsec_"));
    let (status, listed) = call(&app, "GET", "/api/v1/webhook-endpoints", &alice, None).await;
    assert_eq!(status, 200);
    assert_eq!(listed[0]["events"], json!(["message.created"]));
    assert!(!listed.to_string().contains(&secret), "never listed with its secret");

    let room = room(&app, &alice).await;
    let message = post(&app, &alice, &room, "hello hooks").await;
    // Two attempts: the 500, then the 200.
    deliver_until(&app.webhooks, "the retry", || receiver.count() >= 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.webhooks.deliver_due().await.unwrap();
    assert_eq!(receiver.count(), 2, "delivered once more after the 500, then never again");
    let seen = receiver.seen.lock().unwrap().clone();
    let bodies = receiver.bodies();
    for ((headers, body), json) in seen.iter().zip(&bodies) {
        verify_signature(headers, body, &secret);
        assert_eq!(headers["switchboard-id"].to_str().unwrap(), json["id"].as_str().unwrap());
        assert_eq!(json["type"], "message.created", "only the named type: {json}");
        assert_eq!(json["payload"]["id"], message.as_str());
        assert_eq!(json["payload"]["text"], "hello hooks");
    }
    assert_eq!(seen[0].0["switchboard-id"], seen[1].0["switchboard-id"], "the same id on every attempt");

    let uri = format!("/api/v1/webhook-endpoints/{id}/deliveries");
    let (status, deliveries) = call(&app, "GET", &uri, &alice, None).await;
    assert_eq!(status, 200);
    let delivery = &deliveries[0];
    assert_eq!(
        (delivery["status"].as_str(), delivery["attempts"].as_u64()),
        (Some("delivered"), Some(2)),
        "{deliveries}"
    );
    assert_eq!(delivery["last_status"], 200);
    assert_eq!(deliveries.as_array().unwrap().len(), 1, "one event of the named type");

    // Agents do not see endpoints; deleting one stops its deliveries.
    let bob = login(&app, "bob@example.com", "demo-password").await;
    assert_eq!(call(&app, "GET", "/api/v1/webhook-endpoints", &bob, None).await.0, 403);
    assert_eq!(call(&app, "DELETE", &format!("/api/v1/webhook-endpoints/{id}"), &alice, None).await.0, 204);
    post(&app, &alice, &room, "nobody hears this").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    app.webhooks.deliver_due().await.unwrap();
    assert_eq!(receiver.count(), 2);
    assert_eq!(call(&app, "GET", &uri, &alice, None).await.0, 404);
}

/// A service on the app's store with its own settings (the app's secret key, so the same
/// endpoint secrets).
fn service(app: &AppState, config: WebhookConfig) -> WebhookService {
    let secret = SecretKey::from_hex(&"ab".repeat(32)).unwrap();
    WebhookService::new(app.store.clone(), app.media.clone(), &secret, config)
}

async fn a_delivery_that_keeps_failing_is_dead_until_sent_again(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let (receiver, url) = Receiver::default().start().await;
    *receiver.always.lock().unwrap() = Some(Reply::status(503));
    // One type only: with `*` the room's other events had deliveries of their own, still being
    // retried when this one was given up, and the count below saw them.
    let (id, secret) = endpoint(&app, &alice, &url, json!(["message.created"])).await;
    let short =
        service(&app, WebhookConfig { retry_for: Duration::from_millis(400), ..test_webhook_config() });
    let room = room(&app, &alice).await;
    post(&app, &alice, &room, "doomed").await;
    let uri = format!("/api/v1/webhook-endpoints/{id}/deliveries");
    let dead = || async {
        let (_, list) = call(&app, "GET", &uri, &alice, None).await;
        list.as_array().unwrap().iter().find(|d| d["event_type"] == "message.created").cloned()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let delivery = loop {
        short.deliver_due().await.unwrap();
        if let Some(d) = dead().await.filter(|d| d["status"] == "dead") {
            break d;
        }
        assert!(tokio::time::Instant::now() < deadline, "never given up");
        tokio::time::sleep(Duration::from_millis(30)).await;
    };
    assert!(delivery["attempts"].as_u64().unwrap() >= 2, "retried before giving up: {delivery}");
    assert_eq!(delivery["last_status"], 503);
    assert!(delivery["next_attempt_at"].is_null());
    let attempts = receiver.count();
    short.deliver_due().await.unwrap();
    assert_eq!(receiver.count(), attempts, "a dead delivery is not attempted");

    // Sent again once the endpoint is fixed.
    *receiver.always.lock().unwrap() = None;
    let event = delivery["event_id"].as_str().unwrap();
    let (status, again) = call(&app, "POST", &format!("{uri}/{event}/redeliver"), &alice, None).await;
    assert_eq!(status, 202, "{again}");
    assert_eq!(again["status"], "pending");
    deliver_until(&short, "the redelivery", || {
        receiver.bodies().last().is_some_and(|b| b["id"] == event)
            && receiver.seen.lock().unwrap().len() > attempts
    })
    .await;
    let last = receiver.seen.lock().unwrap().last().cloned().unwrap();
    verify_signature(&last.0, &last.1, &secret);
    let (_, list) = call(&app, "GET", &uri, &alice, None).await;
    let done = list.as_array().unwrap().iter().find(|d| d["event_id"] == event).unwrap();
    assert_eq!(done["status"], "delivered");
    let missing = format!("{uri}/{}/redeliver", uuid::Uuid::now_v7());
    assert_eq!(call(&app, "POST", &missing, &alice, None).await.0, 404);
}

async fn private_targets_are_refused_unless_allowed(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    // Registered while private targets are allowed (the test app's setting)…
    let (receiver, url) = Receiver::default().start().await;
    let (id, _) = endpoint(&app, &alice, &url, json!(["message.created"])).await;
    let room = room(&app, &alice).await;
    post(&app, &alice, &room, "to loopback").await;
    // …a node that does not allow them refuses the delivery outright: dead, nothing sent.
    let guarded = service(&app, WebhookConfig { allow_private: false, ..test_webhook_config() });
    guarded.deliver_due().await.unwrap();
    assert_eq!(receiver.count(), 0);
    let (_, list) =
        call(&app, "GET", &format!("/api/v1/webhook-endpoints/{id}/deliveries"), &alice, None).await;
    assert_eq!(list[0]["status"], "dead", "{list}");
    assert!(list[0]["last_error"].as_str().unwrap().contains("private"), "{list}");

    // And such a node refuses to register them, as it refuses what is not http(s).
    let guarded = Arc::new(guarded);
    let app = AppState { webhooks: guarded, ..app };
    for target in [
        "http://127.0.0.1:9/x",
        "http://10.1.2.3/x",
        "http://localhost/x",
        "http://[::1]/x",
        "http://169.254.169.254/",
    ] {
        let reply = call(
            &app,
            "POST",
            "/api/v1/webhook-endpoints",
            &alice,
            Some(json!({"url": target, "events": ["*"]})),
        )
        .await;
        assert_eq!(reply.0, 422, "{target}: {}", reply.1);
        assert_eq!(reply.1["error"]["field"], "url", "{target}");
    }
    for (body, field) in [
        (json!({"url": "ftp://example.com/", "events": ["*"]}), "url"),
        (json!({"url": "https://example.com/", "events": []}), "events"),
        (json!({"url": "https://example.com/", "events": ["typing"]}), "events"),
    ] {
        let reply = call(&app, "POST", "/api/v1/webhook-endpoints", &alice, Some(body)).await;
        assert_eq!((reply.0, reply.1["error"]["field"].as_str()), (422, Some(field)), "{}", reply.1);
    }
}

/// Events written before a crash (one of them mid-attempt) are delivered by the next start,
/// each exactly once.
async fn resumes_after_a_restart(
    first: Arc<dyn Store>,
    bus: Arc<Bus>,
    reopen: impl AsyncFnOnce() -> Arc<dyn Store>,
) {
    let app = demo_state(first, bus).await;
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let (receiver, url) = Receiver::default().start().await;
    let (_, secret) = endpoint(&app, &alice, &url, json!(["message.created"])).await;
    let room = room(&app, &alice).await;
    let mut sent = Vec::new();
    for text in ["one", "two", "three"] {
        sent.push(post(&app, &alice, &room, text).await);
    }
    // A node claims one delivery and dies before attempting it: its lease runs out.
    let now = switchboard::time::now();
    let claimed =
        app.store.claim_deliveries(now, now + chrono::TimeDelta::milliseconds(300), 1).await.unwrap();
    assert_eq!(claimed.len(), 1);
    drop(app);

    let store = reopen().await;
    let app = state_with(store, Bus::new(), test_auth_config());
    deliver_until(&app.webhooks, "every event", || receiver.count() >= 3).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    app.webhooks.deliver_due().await.unwrap();
    let mut delivered: Vec<String> =
        receiver.bodies().iter().map(|b| b["payload"]["id"].as_str().unwrap().to_owned()).collect();
    delivered.sort();
    sent.sort();
    assert_eq!(delivered, sent, "each event once: nothing lost, nothing doubled");
    for (headers, body) in receiver.seen.lock().unwrap().iter() {
        verify_signature(headers, body, &secret);
    }
}

#[tokio::test]
async fn deliveries_resume_after_a_restart_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("hooks.db").display());
    let open = |url: String| async move {
        let options = switchboard_server::store::StoreOptions::new(url);
        let store = switchboard_server::store::SqliteStore::connect(&options).await.unwrap();
        store.migrate().await.unwrap();
        Arc::new(store) as Arc<dyn Store>
    };
    let first = open(url.clone()).await;
    resumes_after_a_restart(first, Bus::new(), async || open(url).await).await;
}

#[tokio::test]
async fn deliveries_resume_after_a_restart_on_postgres() {
    let url = postgres_url().await;
    let first: Arc<dyn Store> = Arc::new(postgres_at(&url, Bus::new()).await);
    resumes_after_a_restart(first, Bus::new(), async || {
        Arc::new(postgres_at(&url, Bus::new()).await) as Arc<dyn Store>
    })
    .await;
}
