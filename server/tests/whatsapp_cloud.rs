//! The `whatsapp_cloud` adapter end to end against the local fake of Meta's Graph API
//! (`switchboard_server::fakes::whatsapp_cloud`), on SQLite and PostgreSQL: sign-in by token,
//! the webhook handshake, signed webhooks of every documented message type, statuses (one that
//! races the send's answer included), the 24-hour window and templates, a 429 storm, a token
//! revoked mid-traffic, read receipts, and quick-reply buttons (reply buttons, lists, a flow's
//! choice answered by a press).

#[macro_use]
mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use common::*;
use serde_json::{Value, json};
use switchboard_server::fakes::whatsapp_cloud::{self as fake, FakeWhatsApp, Fault, RaceReceipt};
use switchboard_server::http::AppState;

app_test!(
    connects_by_token_and_refuses_a_bad_one,
    the_webhook_handshake_echoes_the_challenge_for_the_right_token,
    only_signed_webhooks_are_stored_and_once,
    every_documented_message_type_arrives,
    sends_follow_the_documented_requests_and_statuses_move_ticks,
    a_status_that_races_the_sends_answer_is_kept,
    outside_the_window_only_templates_go_out,
    a_429_storm_pauses_the_channel_and_loses_nothing,
    a_revoked_token_fails_the_channel_and_messages_wait,
    reading_a_conversation_sends_one_read_receipt,
    an_agents_reaction_reaches_the_customer,
    quick_replies_are_reply_buttons_or_a_list_and_a_press_answers_a_flow,
);

const APP_SECRET: &str = "0123456789abcdef0123456789abcdef";
const CUSTOMER: &str = "16505551234";

/// A signed-in `whatsapp_cloud` channel against a fresh fake, with the outbox running.
struct Wa {
    app: AppState,
    fake: FakeWhatsApp,
    addr: std::net::SocketAddr,
    alice: String,
    channel_id: String,
    _outbox: tokio::task::JoinHandle<()>,
}

impl Drop for Wa {
    fn drop(&mut self) {
        self._outbox.abort();
    }
}

async fn start_fake() -> (FakeWhatsApp, String) {
    let fake = FakeWhatsApp::default();
    let base = fake.serve("127.0.0.1:0").await.unwrap();
    (fake, base)
}

async fn create(app: &AppState, alice: &str, base: &str) -> String {
    let body = json!({ "provider": "whatsapp_cloud", "name": "Shop WhatsApp", "config": {
        "phone_number_id": "106540352242922", "waba_id": "102290129340398", "api_base_url": base,
        "rate_limit_retry_secs": 1 } });
    create_channel(app, alice, body).await["id"].as_str().unwrap().to_owned()
}

async fn auth(app: &AppState, alice: &str, channel_id: &str, access_token: &str) -> Value {
    let start = send(
        app,
        authed(
            "POST",
            &format!("/api/v1/channels/{channel_id}/auth/start"),
            alice,
            Some(json!({"method": "token"})),
        ),
    )
    .await;
    assert_eq!(start.status(), 200);
    let started = body_json(start).await;
    let names: Vec<&str> =
        started["prompt"]["fields"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["access_token", "app_secret"]);
    assert!(started["prompt"]["fields"].as_array().unwrap().iter().all(|f| f["masked"] == true));
    let answer =
        json!({ "kind": "token", "fields": { "access_token": access_token, "app_secret": APP_SECRET } });
    let done =
        send(app, authed("POST", &format!("/api/v1/channels/{channel_id}/auth/submit"), alice, Some(answer)))
            .await;
    assert_eq!(done.status(), 200);
    body_json(done).await
}

async fn connected(app: AppState) -> Wa {
    let (fake, base) = start_fake().await;
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let channel_id = create(&app, &alice, &base).await;
    let state = auth(&app, &alice, &channel_id, "fake-access-token").await;
    assert_eq!(state["status"], "authenticated", "{state}");
    let addr = serve_app(&app).await;
    let outbox = spawn_outbox(&app);
    Wa { app, fake, addr, alice, channel_id, _outbox: outbox }
}

fn webhook(channel_id: &str, payload: &Value, signature: Option<String>) -> Request<Body> {
    let body = serde_json::to_vec(payload).unwrap();
    let mut request = Request::builder()
        .method("POST")
        .uri(format!("/webhooks/whatsapp_cloud/{channel_id}"))
        .header("content-type", "application/json");
    if let Some(signature) = signature {
        request = request.header("x-hub-signature-256", signature);
    }
    request.body(Body::from(body)).unwrap()
}

impl Wa {
    /// Delivers a payload signed as Meta does; the answer's status.
    async fn deliver(&self, payload: &Value) -> u16 {
        let body = serde_json::to_vec(payload).unwrap();
        let signature = fake::signature(APP_SECRET, &body);
        send(&self.app, webhook(&self.channel_id, payload, Some(signature))).await.status().as_u16()
    }

    /// The customer writes `message` (its `type` and content), `id` being WhatsApp's id.
    async fn customer_sends(&self, id: &str, mut message: Value) {
        message["id"] = json!(id);
        let payload = fake::message_payload(&self.fake.phone_number_id, CUSTOMER, "Sheena Nelson", message);
        assert_eq!(self.deliver(&payload).await, 200);
    }

    async fn conversation(&self) -> Option<Value> {
        let list = send(
            &self.app,
            authed(
                "GET",
                &format!("/api/v1/conversations?channel_id={}", self.channel_id),
                &self.alice,
                None,
            ),
        )
        .await;
        body_json(list).await.as_array().unwrap().first().cloned()
    }

    async fn conversation_id(&self) -> String {
        self.conversation().await.expect("a conversation")["id"].as_str().unwrap().to_owned()
    }

    async fn messages(&self) -> Vec<Value> {
        let id = self.conversation_id().await;
        let page = send(
            &self.app,
            authed("GET", &format!("/api/v1/conversations/{id}/messages"), &self.alice, None),
        )
        .await;
        let mut messages = body_json(page).await.as_array().unwrap().clone();
        messages.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
        messages
    }

    async fn reply(&self, body: Value) -> axum::response::Response<Body> {
        let id = self.conversation_id().await;
        send(
            &self.app,
            authed("POST", &format!("/api/v1/conversations/{id}/messages"), &self.alice, Some(body)),
        )
        .await
    }

    /// Waits until the message `id` is in `status`.
    async fn wait_status(&self, id: &str, status: &str) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let found = self.messages().await.into_iter().find(|m| m["id"] == id).expect("the message");
            if found["status"] == status {
                return found;
            }
            assert!(tokio::time::Instant::now() < deadline, "message stuck at {found}");
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    }

    async fn wait_sent_count(&self, n: usize) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let sent = self.fake.sent();
            if sent.len() >= n {
                return sent;
            }
            assert!(tokio::time::Instant::now() < deadline, "the fake got {} of {n} sends", sent.len());
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    }

    async fn channel(&self) -> Value {
        body_json(
            send(
                &self.app,
                authed("GET", &format!("/api/v1/channels/{}", self.channel_id), &self.alice, None),
            )
            .await,
        )
        .await
    }
}

fn text(body: &str) -> Value {
    json!({ "type": "text", "text": { "body": body } })
}

async fn connects_by_token_and_refuses_a_bad_one(app: AppState, _raw: Raw) {
    let (fake, base) = start_fake().await;
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let channel_id = create(&app, &alice, &base).await;
    let refused = auth(&app, &alice, &channel_id, "expired-token").await;
    assert_eq!(refused["status"], "failed");
    assert!(refused["error"].as_str().unwrap().contains("access token"), "{refused}");

    let state = auth(&app, &alice, &channel_id, "fake-access-token").await;
    assert_eq!(state["status"], "authenticated");
    assert_eq!(state["channel"]["status"], "connected");
    // The number's own endpoint was asked, with the token.
    assert!(fake.requests().iter().any(|r| r.path == "/106540352242922"));
    let channel =
        body_json(send(&app, authed("GET", &format!("/api/v1/channels/{channel_id}"), &alice, None)).await)
            .await;
    assert_eq!(channel["config"]["identity"]["number"], "+1 555-078-3881");
    assert_eq!(channel["config"]["identity"]["name"], "Switchboard Test Shop");
    let hook = &channel["webhook"];
    assert_eq!(hook["url"], format!("{PUBLIC_URL}/webhooks/whatsapp_cloud/{channel_id}"));
    assert_eq!(hook["verify_token"].as_str().unwrap().len(), 32);
    // The secrets never come back, to anyone.
    let everything = format!("{state}{channel}");
    assert!(!everything.contains("fake-access-token") && !everything.contains(APP_SECRET));
    // Agents see neither the config nor the webhook.
    let bob = login(&app, "bob@example.com", "demo-password").await;
    let list = body_json(send(&app, authed("GET", "/api/v1/channels", &bob, None)).await).await;
    let seen = list.as_array().unwrap().iter().find(|c| c["id"] == channel_id.as_str()).unwrap().clone();
    assert!(seen.get("webhook").is_none() && seen["config"] == json!({}), "{seen}");
}

async fn the_webhook_handshake_echoes_the_challenge_for_the_right_token(app: AppState, _raw: Raw) {
    let wa = connected(app).await;
    let token = wa.channel().await["webhook"]["verify_token"].as_str().unwrap().to_owned();
    let check = |token: &str| {
        get(
            &format!(
                "/webhooks/whatsapp_cloud/{}?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444",
                wa.channel_id
            ),
            None,
        )
    };
    let ok = send(&wa.app, check(&token)).await;
    assert_eq!(ok.status(), 200);
    assert!(ok.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    assert_eq!(body_text(ok).await, "1158201444");
    assert_eq!(send(&wa.app, check("meatyhamhock")).await.status(), 403);
    assert_eq!(send(&wa.app, check("")).await.status(), 403);
}

async fn only_signed_webhooks_are_stored_and_once(app: AppState, _raw: Raw) {
    let wa = connected(app).await;
    let mut message = text("Hello, is anyone there?");
    message["id"] = json!("wamid.unsigned");
    let payload = fake::message_payload(&wa.fake.phone_number_id, CUSTOMER, "Sheena Nelson", message);
    let unsigned = send(&wa.app, webhook(&wa.channel_id, &payload, None)).await;
    assert_eq!(unsigned.status(), 401);
    let forged = fake::signature("not-the-secret", &serde_json::to_vec(&payload).unwrap());
    assert_eq!(send(&wa.app, webhook(&wa.channel_id, &payload, Some(forged))).await.status(), 401);
    assert!(wa.conversation().await.is_none(), "nothing stored for refused webhooks");

    assert_eq!(wa.deliver(&payload).await, 200);
    assert_eq!(wa.deliver(&payload).await, 200, "a redelivery is acknowledged");
    let messages = wa.messages().await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["text"], "Hello, is anyone there?");
    assert_eq!(wa.conversation().await.unwrap()["title"], "Sheena Nelson");
}

async fn every_documented_message_type_arrives(app: AppState, _raw: Raw) {
    let wa = connected(app).await;
    let photo = wa.fake.put_media(switchboard_server::providers::mock::media::photo(), "image/png");
    let voice = wa.fake.put_media(switchboard_server::providers::mock::media::voice_note(2), "audio/wav");
    let pdf = wa.fake.put_media(switchboard_server::providers::mock::media::pdf(), "application/pdf");
    wa.customer_sends("wamid.1", text("first")).await;
    wa.customer_sends("wamid.2", json!({ "type": "image", "image": { "caption": "The broken part", "mime_type": "image/png", "sha256": "x", "id": photo } })).await;
    wa.customer_sends("wamid.3", json!({ "type": "audio", "audio": { "mime_type": "audio/ogg; codecs=opus", "sha256": "x", "id": voice, "voice": true } })).await;
    wa.customer_sends("wamid.4", json!({ "type": "document", "document": { "caption": "Invoice", "filename": "invoice.pdf", "mime_type": "application/pdf", "sha256": "x", "id": pdf } })).await;
    wa.customer_sends(
        "wamid.5",
        json!({ "type": "video", "video": { "mime_type": "video/mp4", "sha256": "x", "id": "404404" } }),
    )
    .await;
    wa.customer_sends("wamid.6", json!({ "type": "sticker", "sticker": { "mime_type": "image/webp", "sha256": "x", "id": photo, "animated": false } })).await;
    wa.customer_sends("wamid.7", json!({ "type": "location", "location": { "latitude": 37.483307, "longitude": -122.148981, "name": "Philz Coffee", "address": "1 Hacker Way" } })).await;
    wa.customer_sends("wamid.8", json!({ "type": "contacts", "contacts": [{ "name": { "formatted_name": "Barbara Johnson", "first_name": "Barbara" }, "phones": [{ "phone": "+1 (650) 555-1234", "type": "MOBILE" }] }] })).await;
    wa.customer_sends("wamid.9", json!({ "type": "interactive", "interactive": { "type": "button_reply", "button_reply": { "id": "yes", "title": "Yes, please" } } })).await;
    wa.customer_sends("wamid.10", json!({ "type": "interactive", "interactive": { "type": "list_reply", "list_reply": { "id": "red", "title": "Red", "description": "The red one" } } })).await;
    wa.customer_sends(
        "wamid.11",
        json!({ "type": "button", "button": { "payload": "STOP", "text": "Stop promotions" } }),
    )
    .await;
    wa.customer_sends("wamid.12", json!({ "type": "text", "text": { "body": "About that one" }, "context": { "from": CUSTOMER, "id": "wamid.1" } })).await;
    wa.customer_sends(
        "wamid.13",
        json!({ "type": "unsupported", "errors": [{ "code": 131051, "title": "Message type unknown" }] }),
    )
    .await;
    wa.customer_sends(
        "wamid.14",
        json!({ "type": "reaction", "reaction": { "message_id": "wamid.1", "emoji": "\u{1F44D}" } }),
    )
    .await;

    let messages = wa.messages().await;
    let by_ext =
        |id: &str| messages.iter().find(|m| m["external_id"] == id).unwrap_or_else(|| panic!("{id} missing"));
    let kind = |m: &Value| m["attachments"][0]["kind"].as_str().unwrap_or_default().to_owned();
    assert_eq!(by_ext("wamid.1")["text"], "first");
    assert_eq!(
        (kind(by_ext("wamid.2")).as_str(), by_ext("wamid.2")["text"].as_str()),
        ("image", Some("The broken part"))
    );
    assert_eq!(by_ext("wamid.2")["attachments"][0]["state"], "ready");
    assert_eq!(kind(by_ext("wamid.3")), "voice");
    assert_eq!(by_ext("wamid.4")["attachments"][0]["file_name"], "invoice.pdf");
    // A file WhatsApp no longer has arrives marked unavailable, never dropped.
    assert_eq!(
        (kind(by_ext("wamid.5")).as_str(), by_ext("wamid.5")["attachments"][0]["state"].as_str()),
        ("video", Some("unavailable"))
    );
    assert_eq!(kind(by_ext("wamid.6")), "sticker");
    assert_eq!(by_ext("wamid.7")["attachments"][0]["location"]["name"], "Philz Coffee, 1 Hacker Way");
    assert_eq!(by_ext("wamid.8")["attachments"][0]["contact"]["name"], "Barbara Johnson");
    assert_eq!(by_ext("wamid.9")["text"], "Yes, please");
    assert_eq!(by_ext("wamid.10")["text"], "Red\nThe red one");
    assert_eq!(by_ext("wamid.11")["text"], "Stop promotions");
    assert_eq!(by_ext("wamid.12")["reply_to"], by_ext("wamid.1")["id"]);
    assert_eq!(by_ext("wamid.13")["text"], "Unsupported message type");
    // A reaction is not a message of its own: it is on the message it names.
    assert!(messages.iter().all(|m| m["external_id"] != "wamid.14"));
    assert_eq!(
        by_ext("wamid.1")["reactions"],
        json!([{ "emoji": "\u{1F44D}", "count": 1, "user_ids": [], "by_contact": true }])
    );
    assert_eq!(messages.len(), 13);
    // The customer's next reaction replaces theirs; an empty one takes it back.
    wa.customer_sends(
        "wamid.15",
        json!({ "type": "reaction", "reaction": { "message_id": "wamid.1", "emoji": "\u{2764}\u{FE0F}" } }),
    )
    .await;
    let first = wa.messages().await.into_iter().find(|m| m["external_id"] == "wamid.1").unwrap();
    assert_eq!(
        first["reactions"],
        json!([{ "emoji": "\u{2764}\u{FE0F}", "count": 1, "user_ids": [], "by_contact": true }])
    );
    wa.customer_sends(
        "wamid.16",
        json!({ "type": "reaction", "reaction": { "message_id": "wamid.1", "emoji": "" } }),
    )
    .await;
    let first = wa.messages().await.into_iter().find(|m| m["external_id"] == "wamid.1").unwrap();
    assert!(first.get("reactions").is_none(), "{first}");
    // The window is measured from the customer's own timestamps.
    assert!(wa.conversation().await.unwrap()["last_inbound_at"].is_string());
}

async fn sends_follow_the_documented_requests_and_statuses_move_ticks(app: AppState, _raw: Raw) {
    let wa = connected(app).await;
    wa.customer_sends("wamid.in", text("Where is my order?")).await;
    let question = wa.messages().await[0]["id"].as_str().unwrap().to_owned();
    let sent = body_json(wa.reply(json!({ "text": "On its way!", "reply_to": question })).await).await;
    let id = sent["id"].as_str().unwrap().to_owned();
    let request = wa.wait_sent_count(1).await.remove(0);
    assert_eq!(
        request,
        json!({ "messaging_product": "whatsapp", "recipient_type": "individual", "to": CUSTOMER, "type": "text",
                "text": { "preview_url": false, "body": "On its way!" }, "context": { "message_id": "wamid.in" } })
    );
    let out = wa.wait_status(&id, "sent").await;
    let wamid = out["external_id"].as_str().unwrap().to_owned();
    for status in ["delivered", "read"] {
        let payload = fake::status_payload(&wa.fake.phone_number_id, "15550783881", &wamid, status, CUSTOMER);
        assert_eq!(wa.deliver(&payload).await, 200);
        wa.wait_status(&id, status).await;
    }
    // A late "delivered" does not move the ticks back.
    let late = fake::status_payload(&wa.fake.phone_number_id, "15550783881", &wamid, "delivered", CUSTOMER);
    assert_eq!(wa.deliver(&late).await, 200);
    assert_eq!(wa.wait_status(&id, "read").await["status"], "read");

    // A failure reported later marks the message failed, in WhatsApp's words.
    let second = body_json(wa.reply(json!({ "text": "Anything **else** ~~today~~?" })).await).await;
    let formatted = wa.wait_sent_count(2).await.remove(1);
    assert_eq!(formatted["text"]["body"], "Anything *else* ~today~?", "markdown in WhatsApp's marks");
    let second_id = second["id"].as_str().unwrap().to_owned();
    let out = wa.wait_status(&second_id, "sent").await;
    let failed = fake::status_payload(
        &wa.fake.phone_number_id,
        "15550783881",
        out["external_id"].as_str().unwrap(),
        "failed",
        CUSTOMER,
    );
    assert_eq!(wa.deliver(&failed).await, 200);
    let failed = wa.wait_status(&second_id, "failed").await;
    assert_eq!(failed["error"], "Message undeliverable: Message Undeliverable.");

    // Media goes up first, then out by id, the text as its caption.
    let upload = Request::builder()
        .method("POST")
        .uri("/api/v1/uploads?filename=photo.png")
        .header("authorization", format!("Bearer {}", wa.alice))
        .header("content-type", "application/octet-stream")
        .body(Body::from(switchboard_server::providers::mock::media::photo()))
        .unwrap();
    let upload = body_json(send(&wa.app, upload).await).await;
    let media =
        body_json(wa.reply(json!({ "text": "Here it is", "attachments": [upload["id"]] })).await).await;
    wa.wait_status(media["id"].as_str().unwrap(), "sent").await;
    let uploaded = wa.fake.requests().into_iter().find(|r| r.path.ends_with("/media")).expect("an upload");
    assert_eq!(uploaded.body["type"], "image/png");
    let image = wa.fake.sent().into_iter().find(|b| b["type"] == "image").expect("an image send");
    assert_eq!(image["image"]["caption"], "Here it is");
    assert!(image["image"]["id"].is_string());
}

async fn a_status_that_races_the_sends_answer_is_kept(app: AppState, _raw: Raw) {
    let wa = connected(app).await;
    wa.customer_sends("wamid.q", text("Hi")).await;
    wa.fake.race_next_send(RaceReceipt {
        webhook_url: format!("http://{}/webhooks/whatsapp_cloud/{}", wa.addr, wa.channel_id),
        app_secret: APP_SECRET.into(),
        status: "delivered".into(),
    });
    let sent = body_json(wa.reply(json!({ "text": "Hello!" })).await).await;
    // The receipt arrived before the send's answer named the message: kept, then applied.
    wa.wait_status(sent["id"].as_str().unwrap(), "delivered").await;
}

async fn outside_the_window_only_templates_go_out(app: AppState, _raw: Raw) {
    let wa = connected(app).await;
    let old = (chrono::Utc::now() - chrono::Duration::hours(25)).timestamp().to_string();
    wa.customer_sends(
        "wamid.old",
        json!({ "type": "text", "text": { "body": "Yesterday's question" }, "timestamp": old }),
    )
    .await;
    let refused = wa.reply(json!({ "text": "Sorry for the wait" })).await;
    assert_eq!(refused.status(), 422);
    let refused = body_json(refused).await;
    assert_eq!(error_code(&refused), "reply_window_closed");
    assert!(refused["error"]["message"].as_str().unwrap().contains("template"), "{refused}");
    assert!(wa.fake.sent().is_empty(), "no call was made");
    assert_eq!(wa.messages().await.len(), 1, "nothing was stored");

    let templates = send(
        &wa.app,
        authed("GET", &format!("/api/v1/channels/{}/templates", wa.channel_id), &wa.alice, None),
    )
    .await;
    assert_eq!(templates.status(), 200);
    let templates = body_json(templates).await;
    let names: Vec<&str> =
        templates.as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["hello_world", "order_update"], "approved ones only");
    assert_eq!(templates[1]["parameters"], 2);

    let wrong = wa
        .reply(json!({ "template": { "name": "order_update", "language": "en_US", "parameters": ["Ana"] } }))
        .await;
    assert_eq!(wrong.status(), 422);
    let unknown = wa.reply(json!({ "template": { "name": "nope", "language": "en_US" } })).await;
    assert_eq!(unknown.status(), 422);
    let sent = wa
        .reply(json!({ "template": { "name": "order_update", "language": "en_US", "parameters": ["Ana", "#42"] } }))
        .await;
    assert_eq!(sent.status(), 201);
    let sent = body_json(sent).await;
    assert_eq!(sent["text"], "Hi Ana, your order #42 has shipped.");
    assert_eq!(sent["template"]["name"], "order_update");
    let request = wa.wait_sent_count(1).await.remove(0);
    assert_eq!(
        request["template"],
        json!({ "name": "order_update", "language": { "code": "en_US" },
                "components": [{ "type": "body", "parameters": [{ "type": "text", "text": "Ana" }, { "type": "text", "text": "#42" }] }] })
    );
    // The customer writes again: the window opens, free text goes out.
    wa.customer_sends("wamid.new", text("Thanks!")).await;
    assert_eq!(wa.reply(json!({ "text": "You're welcome" })).await.status(), 201);
}

async fn a_429_storm_pauses_the_channel_and_loses_nothing(app: AppState, _raw: Raw) {
    let wa = connected(app).await;
    wa.customer_sends("wamid.s", text("Tell me everything")).await;
    for _ in 0..3 {
        wa.fake.fail_next(Fault::RateLimited { retry_after_secs: 1 });
    }
    let mut ids = Vec::new();
    for n in 0..5 {
        let sent = body_json(wa.reply(json!({ "text": format!("part {n}") })).await).await;
        ids.push(sent["id"].as_str().unwrap().to_owned());
    }
    // The channel pauses (degraded, with when it resumes) ...
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let channel = wa.channel().await;
        if channel["status"] == "degraded" {
            assert!(channel["last_error"].as_str().unwrap().contains("rate limited"), "{channel}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never degraded: {channel}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // ... and resumes: every part sent once, in order.
    for id in &ids {
        wa.wait_status(id, "sent").await;
    }
    let bodies: Vec<String> =
        wa.fake.sent().iter().map(|b| b["text"]["body"].as_str().unwrap().to_owned()).collect();
    let accepted: Vec<String> = bodies.iter().skip(3).cloned().collect();
    assert_eq!(accepted, (0..5).map(|n| format!("part {n}")).collect::<Vec<_>>(), "all of {bodies:?}");
    assert_eq!(wa.channel().await["status"], "connected");
}

async fn a_revoked_token_fails_the_channel_and_messages_wait(app: AppState, _raw: Raw) {
    let wa = connected(app).await;
    wa.customer_sends("wamid.t", text("Hello")).await;
    let first = body_json(wa.reply(json!({ "text": "one" })).await).await;
    wa.wait_status(first["id"].as_str().unwrap(), "sent").await;
    wa.fake.revoke_tokens();
    let waiting = body_json(wa.reply(json!({ "text": "two" })).await).await;
    let waiting_id = waiting["id"].as_str().unwrap().to_owned();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let channel = wa.channel().await;
        if channel["status"] == "failed" {
            assert_eq!(channel["last_error"], "the access token is invalid or expired: sign in again");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "channel never failed: {channel}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let held = wa.messages().await.into_iter().find(|m| m["id"] == waiting_id.as_str()).unwrap();
    assert_eq!(held["status"], "pending", "queued, not burned through its retries: {held}");
    // A new token signs the channel in again, and the message goes out.
    wa.fake.accept_token("new-access-token");
    let state = auth(&wa.app, &wa.alice, &wa.channel_id, "new-access-token").await;
    assert_eq!(state["status"], "authenticated", "{state}");
    wa.wait_status(&waiting_id, "sent").await;
    let bodies: Vec<Value> = wa.fake.sent().iter().map(|b| b["text"]["body"].clone()).collect();
    assert_eq!(bodies, [json!("one"), json!("two")]);
}

async fn reading_a_conversation_sends_one_read_receipt(app: AppState, _raw: Raw) {
    let wa = connected(app).await;
    wa.customer_sends("wamid.r1", text("one")).await;
    wa.customer_sends("wamid.r2", text("two")).await;
    let conversation = wa.conversation_id().await;
    let newest = wa.messages().await.last().unwrap()["id"].as_str().unwrap().to_owned();
    let bob = login(&wa.app, "bob@example.com", "demo-password").await;
    for reader in [&wa.alice, &wa.alice, &bob] {
        let read = authed(
            "POST",
            &format!("/api/v1/conversations/{conversation}/read"),
            reader,
            Some(json!({ "up_to": newest })),
        );
        assert_eq!(send(&wa.app, read).await.status(), 200);
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while wa.fake.reads().is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "no read receipt");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(wa.fake.reads(), ["wamid.r2"], "the newest message, once, whoever reads it");
}

async fn an_agents_reaction_reaches_the_customer(app: AppState, _raw: Raw) {
    let wa = connected(app).await;
    wa.customer_sends("wamid.x1", text("Got it, thanks")).await;
    let message = wa.messages().await[0]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/messages/{message}/reactions/%F0%9F%91%8D");
    let reacted = send(&wa.app, authed("PUT", &path, &wa.alice, None)).await;
    assert_eq!(reacted.status(), 200);
    let sent = wa.wait_sent_count(1).await;
    assert_eq!(
        sent[0],
        json!({ "messaging_product": "whatsapp", "recipient_type": "individual", "to": CUSTOMER, "type": "reaction",
                "reaction": { "message_id": "wamid.x1", "emoji": "\u{1F44D}" } })
    );
    // A teammate's reaction stays the account's when Alice takes hers back.
    let bob = login(&wa.app, "bob@example.com", "demo-password").await;
    let heart = format!("/api/v1/messages/{message}/reactions/%E2%9D%A4");
    assert_eq!(send(&wa.app, authed("PUT", &heart, &bob, None)).await.status(), 200);
    wa.wait_sent_count(2).await;
    assert_eq!(send(&wa.app, authed("DELETE", &path, &wa.alice, None)).await.status(), 200);
    let sent = wa.wait_sent_count(3).await;
    assert_eq!(
        sent[2]["reaction"],
        json!({ "message_id": "wamid.x1", "emoji": "\u{2764}" }),
        "the team's remaining one"
    );
    assert_eq!(send(&wa.app, authed("DELETE", &heart, &bob, None)).await.status(), 200);
    let sent = wa.wait_sent_count(4).await;
    assert_eq!(
        sent[3]["reaction"],
        json!({ "message_id": "wamid.x1", "emoji": "" }),
        "none left: taken back"
    );
}

async fn quick_replies_are_reply_buttons_or_a_list_and_a_press_answers_a_flow(app: AppState, _raw: Raw) {
    let wa = connected(app).await;
    wa.customer_sends("wamid.in", text("Can I change my order?")).await;
    // Up to three short labels: reply buttons, ids in order.
    let sent =
        body_json(wa.reply(json!({ "text": "What would you like?", "buttons": ["Change", "Cancel"] })).await)
            .await;
    assert_eq!(sent["buttons"], json!(["Change", "Cancel"]), "{sent}");
    let request = wa.wait_sent_count(1).await.remove(0);
    assert_eq!(
        request,
        json!({ "messaging_product": "whatsapp", "recipient_type": "individual", "to": CUSTOMER, "type": "interactive",
                "interactive": { "type": "button", "body": { "text": "What would you like?" }, "action": { "buttons": [
                    { "type": "reply", "reply": { "id": "choice-1", "title": "Change" } },
                    { "type": "reply", "reply": { "id": "choice-2", "title": "Cancel" } } ] } } })
    );
    wa.wait_status(sent["id"].as_str().unwrap(), "sent").await;
    // More than three, or longer than a reply button's twenty characters: a list of rows.
    let labels = ["Small", "Medium", "Large", "Extra large", "A size of twenty-two"];
    let listed = body_json(wa.reply(json!({ "text": "Which size?", "buttons": labels })).await).await;
    let request = wa.wait_sent_count(2).await.remove(1);
    assert_eq!(request["interactive"]["type"], "list", "{request}");
    assert_eq!(request["interactive"]["action"]["button"], "Choose");
    let rows = request["interactive"]["action"]["sections"][0]["rows"].as_array().unwrap();
    assert_eq!(rows.iter().map(|r| r["title"].clone()).collect::<Value>(), json!(labels));
    wa.wait_status(listed["id"].as_str().unwrap(), "sent").await;
    // Past a list row's 24 characters: numbered lines of plain text, and no buttons kept.
    let long = json!({ "text": "Pick a plan", "buttons": ["Basic", "The professional plan, yearly"] });
    let long = body_json(wa.reply(long).await).await;
    assert_eq!(long["text"], "Pick a plan\n\n1. Basic\n2. The professional plan, yearly", "{long}");
    assert!(long.get("buttons").is_none(), "{long}");
    let request = wa.wait_sent_count(3).await.remove(2);
    assert_eq!(request["type"], "text");
    // Buttons are checked before anything is stored.
    for (body, why) in [
        (json!({ "text": "x", "buttons": (0..11).map(|i| i.to_string()).collect::<Vec<_>>() }), "too many"),
        (json!({ "text": "x", "buttons": ["Yes", "YES"] }), "alike"),
        (json!({ "text": "x", "buttons": [""] }), "empty"),
        (json!({ "text": "x", "buttons": ["Yes"], "note": true }), "on a note"),
    ] {
        let response = wa.reply(body).await;
        assert_eq!(response.status(), 422, "{why}");
        assert_eq!(body_json(response).await["error"]["field"], "buttons", "{why}");
    }

    // A flow's choice goes out as buttons; the customer's press picks the branch.
    let flow = json!({
        "name": "Menu",
        "graph": {"start": "menu", "nodes": [
            {"id": "menu", "action": {"type": "choice", "text": "Sales or support?", "variable": "topic",
                "choices": [{"label": "Sales", "next": "bye"}, {"label": "Support", "next": "bye"}]}},
            {"id": "bye", "action": {"type": "send", "text": "Noted: {{topic}}", "next": null}},
        ]},
    });
    let (status, created) = call(&wa.app, &wa.alice, "POST", "/api/v1/flows", Some(flow)).await;
    assert_eq!(status, 201, "{created}");
    let flow_id = created["id"].as_str().unwrap().to_owned();
    let (status, _) =
        call(&wa.app, &wa.alice, "POST", &format!("/api/v1/flows/{flow_id}/publish"), None).await;
    assert_eq!(status, 200);
    let messages = std::sync::Arc::new(tokio::sync::Mutex::new(wa.app.realtime.bus().watch_messages()));
    let runner = tokio::spawn(wa.app.bots.clone().listen(messages));
    let conversation = wa.conversation_id().await;
    let start = json!({ "flow_id": flow_id });
    let (status, session) =
        call(&wa.app, &wa.alice, "POST", &format!("/api/v1/conversations/{conversation}/bot"), Some(start))
            .await;
    assert_eq!(status, 201, "{session}");
    let request = wa.wait_sent_count(4).await.remove(3);
    assert_eq!(request["interactive"]["type"], "button", "{request}");
    assert_eq!(request["interactive"]["action"]["buttons"][1]["reply"]["title"], "Support");
    wa.customer_sends(
        "wamid.press",
        json!({ "type": "interactive", "interactive": { "type": "button_reply", "button_reply": { "id": "choice-2", "title": "Support" } } }),
    )
    .await;
    let bye = wa.wait_sent_count(5).await.remove(4);
    assert_eq!(bye["text"]["body"], "Noted: Support", "{bye}");
    let uri = format!("/api/v1/bot-sessions/{}", session["id"].as_str().unwrap());
    let (_, done) = call(&wa.app, &wa.alice, "GET", &uri, None).await;
    assert_eq!(done["variables"]["topic"], "Support", "{done}");
    runner.abort();
}
