//! The harness of the `whapi` tests: a channel linked at the fake gateway, and the calls the
//! tests make on it.

use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use serde_json::{Value, json};
use switchboard_server::fakes::whapi::{self as fake_whapi, FakeWhapi, message};
use switchboard_server::http::AppState;

use crate::common::*;

pub const TOKEN: &str = "fake-whapi-channel-token-0001";
pub const CUSTOMER: &str = "15557654321@s.whatsapp.net";

pub struct Wa {
    pub app: AppState,
    pub fake: FakeWhapi,
    pub alice: String,
    pub channel_id: String,
    pub _outbox: tokio::task::JoinHandle<()>,
}

impl Drop for Wa {
    fn drop(&mut self) {
        self._outbox.abort();
        self.app.channels.runtimes().stop_all();
    }
}

/// A `whapi` channel at the fake, before any sign-in.
pub async fn channel(app: &AppState, fake_base: &str, alice: &str, extra: Value) -> String {
    let mut config = json!({ "api_base_url": fake_base, "health_interval_secs": 1 });
    config.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    let created =
        create_channel(app, alice, json!({ "provider": "whapi", "name": "Shop phone", "config": config }))
            .await;
    created["id"].as_str().unwrap().to_owned()
}

/// Step 1: the token.
pub async fn give_token(app: &AppState, alice: &str, id: &str, token: &str) -> (u16, Value) {
    let (status, _) = call(
        app,
        alice,
        "POST",
        &format!("/api/v1/channels/{id}/auth/start"),
        Some(json!({"method": "token"})),
    )
    .await;
    assert_eq!(status, 200);
    let answer = json!({ "kind": "token", "value": token });
    let (status, body) =
        call(app, alice, "POST", &format!("/api/v1/channels/{id}/auth/submit"), Some(answer)).await;
    (status.as_u16(), body)
}

pub async fn auth_state(app: &AppState, alice: &str, id: &str) -> Value {
    call(app, alice, "GET", &format!("/api/v1/channels/{id}/auth"), None).await.1
}

/// A channel linked through both steps (the history, if the fake has any, imports).
pub async fn linked(app: AppState) -> Wa {
    let fake = FakeWhapi::new(TOKEN);
    let base = fake.serve("127.0.0.1:0").await.unwrap();
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let channel_id = channel(&app, &base, &alice, json!({})).await;
    let (status, state) = give_token(&app, &alice, &channel_id, TOKEN).await;
    assert_eq!((status, state["status"].as_str()), (200, Some("pending")), "{state}");
    let path = format!("/api/v1/channels/{channel_id}/auth/start");
    let (status, _) = call(&app, &alice, "POST", &path, Some(json!({"method": "qr"}))).await;
    assert_eq!(status, 200);
    fake.link();
    assert_eq!(auth_state(&app, &alice, &channel_id).await["status"], "authenticated");
    let outbox = spawn_outbox(&app);
    let wa = Wa { app, fake, alice, channel_id, _outbox: outbox };
    wa.wait_channel(|c| c["status"] == "connected").await;
    wa.wait_webhook().await;
    wa
}

impl Wa {
    pub async fn channel(&self) -> Value {
        call(&self.app, &self.alice, "GET", &format!("/api/v1/channels/{}", self.channel_id), None).await.1
    }

    pub async fn wait_channel(&self, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let channel = self.channel().await;
            if done(&channel) {
                return channel;
            }
            assert!(tokio::time::Instant::now() < deadline, "channel never got there: {channel}");
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    }

    pub async fn wait_webhook(&self) -> (String, Vec<(String, String)>) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(hook) = self.fake.webhook() {
                return hook;
            }
            assert!(tokio::time::Instant::now() < deadline, "no webhook registered");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Delivers a payload as the gateway does (to the registered path, with its headers),
    /// in process; `headers` replaces the registered ones when given.
    pub async fn deliver_with(&self, payload: &Value, headers: Option<Vec<(String, String)>>) -> u16 {
        let (url, registered) = self.wait_webhook().await;
        let path =
            url.split_once("://").map(|(_, rest)| &rest[rest.find('/').unwrap()..]).unwrap().to_owned();
        let mut request =
            Request::builder().method("POST").uri(path).header("content-type", "application/json");
        for (name, value) in headers.unwrap_or(registered) {
            request = request.header(name, value);
        }
        send(&self.app, request.body(Body::from(payload.to_string())).unwrap()).await.status().as_u16()
    }

    pub async fn deliver(&self, payload: &Value) {
        assert_eq!(self.deliver_with(payload, None).await, 200);
    }

    pub async fn customer_sends(&self, id: &str, content: Value) {
        let m = message(id, CUSTOMER, false, chrono::Utc::now().timestamp(), content);
        let mut m = m;
        m["from_name"] = json!("Ana Lima");
        self.deliver(&fake_whapi::messages_payload(vec![m])).await;
    }

    pub async fn conversations(&self) -> Vec<Value> {
        let uri = format!("/api/v1/conversations?channel_id={}", self.channel_id);
        call(&self.app, &self.alice, "GET", &uri, None).await.1.as_array().unwrap().clone()
    }

    pub async fn messages_of(&self, conversation: &str) -> Vec<Value> {
        let uri = format!("/api/v1/conversations/{conversation}/messages");
        let mut all = call(&self.app, &self.alice, "GET", &uri, None).await.1.as_array().unwrap().clone();
        all.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
        all
    }

    /// Every message of the channel, oldest first.
    pub async fn messages(&self) -> Vec<Value> {
        let mut all = Vec::new();
        for c in self.conversations().await {
            all.extend(self.messages_of(c["id"].as_str().unwrap()).await);
        }
        all.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
        all
    }

    pub async fn wait_messages(&self, n: usize) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let messages = self.messages().await;
            if messages.len() >= n {
                return messages;
            }
            assert!(tokio::time::Instant::now() < deadline, "{} of {n} messages", messages.len());
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    }

    pub async fn wait_message(&self, id: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let found = self.messages().await.into_iter().find(|m| m["id"] == id).expect("the message");
            if done(&found) {
                return found;
            }
            assert!(tokio::time::Instant::now() < deadline, "message stuck at {found}");
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    }

    pub async fn reply(&self, conversation: &str, body: Value) -> Value {
        let uri = format!("/api/v1/conversations/{conversation}/messages");
        let (status, sent) = call(&self.app, &self.alice, "POST", &uri, Some(body)).await;
        assert_eq!(status, 201, "{sent}");
        sent
    }

    pub async fn wait_calls(&self, route: &str, n: usize) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let calls = self.fake.calls_to(route);
            if calls.len() >= n {
                return calls;
            }
            assert!(tokio::time::Instant::now() < deadline, "{} of {n} {route} calls", calls.len());
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    }

    /// The customer's conversation, after they wrote once.
    pub async fn customer_conversation(&self) -> String {
        self.customer_sends("inbound-first", json!({ "type": "text", "text": { "body": "hi" } })).await;
        let messages = self.wait_messages(1).await;
        messages[0]["conversation_id"].as_str().unwrap().to_owned()
    }
}

pub fn history_chats(fake: &FakeWhapi) {
    let now = chrono::Utc::now().timestamp();
    let text = |body: &str| json!({ "type": "text", "text": { "body": body } });
    fake.put_chat(
        json!({ "id": CUSTOMER, "type": "contact", "name": "Ana Lima", "timestamp": now - 100 }),
        vec![
            message("h-a1", CUSTOMER, false, now - 300, text("Is the shop open?")),
            message("h-a2", CUSTOMER, true, now - 200, text("Until 7 pm")),
            message("h-a3", CUSTOMER, false, now - 100, text("Thanks!")),
        ],
    );
    fake.put_chat(
        json!({ "id": "15551239999@s.whatsapp.net", "type": "contact", "name": "Bruno", "timestamp": now - 50 }),
        vec![message("h-b1", "15551239999@s.whatsapp.net", false, now - 50, text("Order #12?"))],
    );
    fake.put_chat(json!({ "id": "status@broadcast", "type": "broadcast" }), Vec::new());
}

pub async fn linked_with_history(app: AppState) -> Wa {
    let fake = FakeWhapi::new(TOKEN);
    history_chats(&fake);
    let base = fake.serve("127.0.0.1:0").await.unwrap();
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let channel_id = channel(&app, &base, &alice, json!({})).await;
    give_token(&app, &alice, &channel_id, TOKEN).await;
    fake.link();
    assert_eq!(auth_state(&app, &alice, &channel_id).await["status"], "authenticated");
    let outbox = spawn_outbox(&app);
    Wa { app, fake, alice, channel_id, _outbox: outbox }
}
