//! The `telegram` adapter end to end against the local fake of the Bot API
//! (`switchboard_server::fakes::telegram`), on SQLite and PostgreSQL: sign-in by token (shape,
//! `getMe`), webhook mode (the secret token), polling mode (resuming from the stored offset
//! after a restart), every message kind, groups, edits, sends, a 429, a blocked bot and a
//! revoked token.

#[macro_use]
mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use common::*;
use serde_json::{Value, json};
use switchboard_server::fakes::telegram::{FakeTelegram, Fault};
use switchboard_server::http::AppState;

app_test!(
    signs_in_by_token_and_registers_the_webhook,
    webhook_updates_need_the_secret_token,
    polling_resumes_from_the_stored_offset_after_a_restart,
    every_message_kind_groups_and_edits_arrive,
    sends_reach_the_bot_api_and_stop_at_sent,
    rate_limits_blocked_chats_and_revoked_tokens,
    inbox_edits_and_deletes_reach_telegram,
    reactions_go_both_ways,
    blocked_bots_and_upgraded_groups,
    switching_mode_sets_or_deletes_the_webhook,
);

const TOKEN: &str = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";
const HTTPS_URL: &str = "https://switchboard.test";

/// The app, its Telegram adapter reached at an HTTPS public URL (so `auto` means webhook).
fn with_https_telegram(app: AppState) -> AppState {
    let secret = switchboard_server::secret::SecretKey::from_hex(&"ab".repeat(32)).unwrap();
    let providers = app
        .channels
        .providers()
        .clone()
        .with(Arc::new(switchboard_server::providers::telegram::Telegram::new(HTTPS_URL)));
    let channels = switchboard_server::services::ChannelService::new(
        app.store.clone(),
        &secret,
        providers,
        fast_runtimes(),
    );
    channels.runtimes().set_media(app.media.clone());
    AppState { channels: Arc::new(channels), ..app }
}

struct Tg {
    app: AppState,
    fake: FakeTelegram,
    alice: String,
    channel_id: String,
    _outbox: tokio::task::JoinHandle<()>,
}

impl Drop for Tg {
    fn drop(&mut self) {
        self._outbox.abort();
        self.app.channels.runtimes().stop_all();
    }
}

async fn submit(app: &AppState, alice: &str, channel_id: &str, token: &str) -> (u16, Value) {
    let start = authed(
        "POST",
        &format!("/api/v1/channels/{channel_id}/auth/start"),
        alice,
        Some(json!({"method": "token"})),
    );
    assert_eq!(send(app, start).await.status(), 200);
    let answer = json!({ "kind": "token", "value": token });
    let done =
        send(app, authed("POST", &format!("/api/v1/channels/{channel_id}/auth/submit"), alice, Some(answer)))
            .await;
    (done.status().as_u16(), body_json(done).await)
}

async fn connected(app: AppState, mode: &str) -> Tg {
    let app = with_https_telegram(app);
    let fake = FakeTelegram::new(TOKEN);
    let base = fake.serve("127.0.0.1:0").await.unwrap();
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let config = json!({ "api_base_url": base, "mode": mode, "poll_timeout_secs": 1 });
    let created =
        create_channel(&app, &alice, json!({ "provider": "telegram", "name": "Shop bot", "config": config }))
            .await;
    let channel_id = created["id"].as_str().unwrap().to_owned();
    let (status, state) = submit(&app, &alice, &channel_id, TOKEN).await;
    assert_eq!((status, state["status"].as_str()), (200, Some("authenticated")), "{state}");
    let outbox = spawn_outbox(&app);
    let tg = Tg { app, fake, alice, channel_id, _outbox: outbox };
    tg.wait_channel("connected").await;
    tg
}

fn private(id: i64, extra: Value) -> Value {
    let mut m = json!({ "message_id": id, "date": chrono::Utc::now().timestamp(),
        "from": { "id": 111, "is_bot": false, "first_name": "Ana", "last_name": "Lima" },
        "chat": { "id": 111, "type": "private", "first_name": "Ana", "last_name": "Lima" } });
    m.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    json!({ "message": m })
}

impl Tg {
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

    async fn wait_channel(&self, status: &str) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let channel = self.channel().await;
            if channel["status"] == status {
                return channel;
            }
            assert!(tokio::time::Instant::now() < deadline, "channel never {status}: {channel}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn conversations(&self) -> Vec<Value> {
        let uri = format!("/api/v1/conversations?channel_id={}", self.channel_id);
        body_json(send(&self.app, authed("GET", &uri, &self.alice, None)).await)
            .await
            .as_array()
            .unwrap()
            .clone()
    }

    /// Every message of the channel, oldest first.
    async fn messages(&self) -> Vec<Value> {
        let mut all = Vec::new();
        for c in self.conversations().await {
            let uri = format!("/api/v1/conversations/{}/messages", c["id"].as_str().unwrap());
            all.extend(
                body_json(send(&self.app, authed("GET", &uri, &self.alice, None)).await)
                    .await
                    .as_array()
                    .unwrap()
                    .clone(),
            );
        }
        all.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
        all
    }

    async fn wait_messages(&self, n: usize) -> Vec<Value> {
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

    async fn wait_status(&self, id: &str, status: &str) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let found = self.messages().await.into_iter().find(|m| m["id"] == id).expect("the message");
            if found["status"] == status {
                return found;
            }
            assert!(tokio::time::Instant::now() < deadline, "message stuck at {found}");
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    }

    async fn reply(&self, conversation: &str, body: Value) -> Value {
        let uri = format!("/api/v1/conversations/{conversation}/messages");
        let sent = send(&self.app, authed("POST", &uri, &self.alice, Some(body))).await;
        assert_eq!(sent.status(), 201);
        body_json(sent).await
    }

    async fn wait_calls(&self, method: &str, n: usize) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let calls = self.fake.calls_of(method);
            if calls.len() >= n {
                return calls;
            }
            assert!(tokio::time::Instant::now() < deadline, "{} of {n} {method} calls", calls.len());
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    }

    fn webhook(&self, update: &Value, secret: Option<&str>) -> Request<Body> {
        let mut request = Request::builder()
            .method("POST")
            .uri(format!("/webhooks/telegram/{}", self.channel_id))
            .header("content-type", "application/json");
        if let Some(secret) = secret {
            request = request.header("x-telegram-bot-api-secret-token", secret);
        }
        request.body(Body::from(update.to_string())).unwrap()
    }
}

async fn signs_in_by_token_and_registers_the_webhook(app: AppState, _raw: Raw) {
    let app = with_https_telegram(app);
    let fake = FakeTelegram::new(TOKEN);
    let base = fake.serve("127.0.0.1:0").await.unwrap();
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let created = create_channel(
        &app,
        &alice,
        json!({ "provider": "telegram", "name": "Bot", "config": { "api_base_url": base } }),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    // The documented shape first, then Telegram itself.
    let (status, refused) = submit(&app, &alice, &id, "not-a-token").await;
    assert_eq!(status, 422, "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("@BotFather"), "{refused}");
    assert!(fake.calls_of("getMe").is_empty(), "a malformed token is never sent");
    let (status, unknown) = submit(&app, &alice, &id, "987654321:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDxxx").await;
    assert_eq!((status, unknown["status"].as_str()), (200, Some("failed")));
    assert!(unknown["error"].as_str().unwrap().contains("does not know this token"), "{unknown}");

    let (_, state) = submit(&app, &alice, &id, TOKEN).await;
    assert_eq!(state["status"], "authenticated");
    assert_eq!(
        state["channel"]["config"]["identity"],
        json!({ "number": "@switchboard_shop_bot", "name": "Shop Bot" })
    );
    assert!(!state.to_string().contains(TOKEN), "the token never comes back");
    // `auto` with an HTTPS public URL: a webhook with a secret token.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let (url, secret) = loop {
        if let Some(hook) = fake.webhook() {
            break hook;
        }
        assert!(tokio::time::Instant::now() < deadline, "no setWebhook");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(url, format!("{HTTPS_URL}/webhooks/telegram/{id}"));
    assert_eq!(secret.len(), 32);
    assert_eq!(
        fake.calls_of("setWebhook")[0]["allowed_updates"],
        json!(["message", "edited_message", "my_chat_member", "message_reaction"])
    );
    // Logging out deletes the webhook and forgets the token.
    let out = send(&app, authed("POST", &format!("/api/v1/channels/{id}/logout"), &alice, None)).await;
    assert_eq!(out.status(), 200);
    assert!(fake.webhook().is_none());
    let ws = app.store.workspace_by_name("Acme Support").await.unwrap().unwrap().id;
    assert_eq!(app.channels.credentials(ws, id.parse().unwrap()).await.unwrap(), None);
    app.channels.runtimes().stop_all();
}

async fn webhook_updates_need_the_secret_token(app: AppState, _raw: Raw) {
    let tg = connected(app, "webhook").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let secret = loop {
        if let Some((_, secret)) = tg.fake.webhook() {
            break secret;
        }
        assert!(tokio::time::Instant::now() < deadline, "no webhook set");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let mut update = private(10, json!({ "text": "hello bot" }));
    update["update_id"] = json!(1);
    assert_eq!(send(&tg.app, tg.webhook(&update, None)).await.status(), 401);
    assert_eq!(
        send(&tg.app, tg.webhook(&update, Some("0123456789abcdef0123456789abcdef"))).await.status(),
        401
    );
    assert!(tg.conversations().await.is_empty(), "nothing stored");
    assert_eq!(send(&tg.app, tg.webhook(&update, Some(&secret))).await.status(), 200);
    assert_eq!(
        send(&tg.app, tg.webhook(&update, Some(&secret))).await.status(),
        200,
        "a redelivery is acknowledged"
    );
    let messages = tg.messages().await;
    assert_eq!(messages.len(), 1);
    assert_eq!(
        (messages[0]["text"].as_str(), messages[0]["external_id"].as_str()),
        (Some("hello bot"), Some("111:10"))
    );
    assert_eq!(tg.conversations().await[0]["title"], "Ana Lima");
}

async fn polling_resumes_from_the_stored_offset_after_a_restart(app: AppState, _raw: Raw) {
    let tg = connected(app, "polling").await;
    assert!(tg.fake.webhook().is_none(), "polling deletes any webhook");
    tg.fake.push_update(private(1, json!({ "text": "one" })));
    let last = tg.fake.push_update(private(2, json!({ "text": "two" })));
    tg.wait_messages(2).await;
    let next = last["update_id"].as_i64().unwrap() + 1;
    // The server stops (every runtime with it) and starts again.
    tg.wait_calls("getUpdates", 2).await;
    tg.app.channels.runtimes().stop_all();
    let before = tg.fake.calls_of("getUpdates").len();
    tg.fake.push_update(private(3, json!({ "text": "three" })));
    assert_eq!(tg.app.channels.start_runtimes().await.unwrap(), 1);
    let texts: Vec<Value> = tg.wait_messages(3).await.iter().map(|m| m["text"].clone()).collect();
    assert_eq!(texts, [json!("one"), json!("two"), json!("three")], "nothing lost, nothing repeated");
    let resumed = &tg.fake.calls_of("getUpdates")[before];
    assert_eq!(
        resumed["offset"], next,
        "the first read after the restart starts after the last update recorded"
    );
}

async fn every_message_kind_groups_and_edits_arrive(app: AppState, _raw: Raw) {
    let tg = connected(app, "polling").await;
    let photo = tg.fake.put_file(switchboard_server::providers::mock::media::photo(), "photos/file_1.png");
    let pdf = tg.fake.put_file(switchboard_server::providers::mock::media::pdf(), "documents/file_2.pdf");
    let voice =
        tg.fake.put_file(switchboard_server::providers::mock::media::voice_note(1), "voice/file_3.wav");
    tg.fake.push_update(private(1, json!({ "text": "first" })));
    tg.fake.push_update(private(2, json!({ "photo": [{ "file_id": "thumb", "width": 90, "height": 90 }, { "file_id": photo, "width": 640, "height": 480 }], "caption": "the part" })));
    tg.fake.push_update(private(
        3,
        json!({ "document": { "file_id": pdf, "file_name": "invoice.pdf", "mime_type": "application/pdf" } }),
    ));
    tg.fake.push_update(private(
        4,
        json!({ "voice": { "file_id": voice, "duration": 1, "mime_type": "audio/ogg" } }),
    ));
    tg.fake.push_update(private(5, json!({ "location": { "latitude": 52.52, "longitude": 13.405 } })));
    tg.fake.push_update(private(6, json!({ "contact": { "phone_number": "+4930123456", "first_name": "Max", "last_name": "Mustermann" } })));
    tg.fake.push_update(private(7, json!({ "text": "about that", "reply_to_message": { "message_id": 1, "date": 1, "chat": { "id": 111, "type": "private" }, "text": "first" } })));
    tg.fake.push_update(private(8, json!({ "dice": { "emoji": "🎲", "value": 6 } })));
    tg.fake.push_update(json!({ "edited_message": { "message_id": 1, "date": 1, "edit_date": 2, "chat": { "id": 111, "type": "private" }, "text": "first, edited" } }));
    for (id, who) in [(20, "Bo"), (21, "Cy")] {
        tg.fake.push_update(json!({ "message": { "message_id": id, "date": 1, "text": format!("hi from {who}"),
            "from": { "id": id, "first_name": who }, "chat": { "id": -100777, "type": "supergroup", "title": "Wholesale buyers" } } }));
    }
    let messages = tg.wait_messages(10).await;
    let by_ext = |id: &str| {
        messages.iter().find(|m| m["external_id"] == id).unwrap_or_else(|| panic!("{id} missing")).clone()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while tg.messages().await.iter().find(|m| m["external_id"] == "111:1").unwrap()["text"] != "first, edited"
    {
        assert!(tokio::time::Instant::now() < deadline, "the edit never arrived");
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let kind = |m: &Value| m["attachments"][0]["kind"].as_str().unwrap_or_default().to_owned();
    assert_eq!(
        (kind(&by_ext("111:2")).as_str(), by_ext("111:2")["text"].as_str()),
        ("image", Some("the part"))
    );
    assert_eq!(by_ext("111:2")["attachments"][0]["state"], "ready", "the largest size, downloaded");
    assert_eq!(by_ext("111:3")["attachments"][0]["file_name"], "invoice.pdf");
    assert_eq!(kind(&by_ext("111:4")), "voice");
    assert_eq!(kind(&by_ext("111:5")), "location");
    assert_eq!(
        by_ext("111:6")["attachments"][0]["contact"],
        json!({ "name": "Max Mustermann", "phones": ["+4930123456"] })
    );
    assert_eq!(by_ext("111:7")["reply_to"], by_ext("111:1")["id"]);
    assert_eq!(by_ext("111:8")["text"], "Unsupported message type");
    // A group is one conversation; each message names its sender.
    let group: Vec<Value> = messages
        .iter()
        .filter(|m| m["external_id"].as_str().unwrap().starts_with("-100777:"))
        .cloned()
        .collect();
    assert_eq!(group.len(), 2);
    assert_eq!(group[0]["conversation_id"], group[1]["conversation_id"]);
    assert_eq!(
        (group[0]["sender_name"].as_str(), group[1]["sender_name"].as_str()),
        (Some("Bo"), Some("Cy"))
    );
    let titles: Vec<String> =
        tg.conversations().await.iter().map(|c| c["title"].as_str().unwrap().to_owned()).collect();
    assert!(
        titles.contains(&"Wholesale buyers".to_owned()) && titles.contains(&"Ana Lima".to_owned()),
        "{titles:?}"
    );
}

async fn sends_reach_the_bot_api_and_stop_at_sent(app: AppState, _raw: Raw) {
    let tg = connected(app, "polling").await;
    tg.fake.push_update(private(5, json!({ "text": "Do you ship to Lisbon?" })));
    let question = tg.wait_messages(1).await.remove(0);
    let conversation = question["conversation_id"].as_str().unwrap().to_owned();
    let sent =
        tg.reply(&conversation, json!({ "text": "Yes, in two days.", "reply_to": question["id"] })).await;
    let call = tg.wait_calls("sendMessage", 1).await.remove(0);
    assert_eq!(
        call,
        json!({ "chat_id": "111", "text": "Yes, in two days.", "reply_parameters": { "message_id": 5, "allow_sending_without_reply": true } })
    );
    let stored = tg.wait_status(sent["id"].as_str().unwrap(), "sent").await;
    assert!(stored["external_id"].as_str().unwrap().starts_with("111:"));
    // Bots get no receipts: the capabilities say so, and the message stays at `sent`.
    let providers = body_json(send(&tg.app, authed("GET", "/api/v1/providers", &tg.alice, None)).await).await;
    let telegram = providers.as_array().unwrap().iter().find(|p| p["kind"] == "telegram").unwrap().clone();
    assert_eq!(telegram["capabilities"]["delivery_receipts"], false);

    let upload = Request::builder()
        .method("POST")
        .uri("/api/v1/uploads?filename=label.png")
        .header("authorization", format!("Bearer {}", tg.alice))
        .header("content-type", "application/octet-stream")
        .body(Body::from(switchboard_server::providers::mock::media::photo()))
        .unwrap();
    let upload = body_json(send(&tg.app, upload).await).await;
    let media =
        tg.reply(&conversation, json!({ "text": "Your **label**", "attachments": [upload["id"]] })).await;
    tg.wait_status(media["id"].as_str().unwrap(), "sent").await;
    let photo = tg.wait_calls("sendPhoto", 1).await.remove(0);
    assert_eq!(photo["chat_id"], "111");
    assert_eq!(photo["caption"], "Your label", "markdown becomes entities, never marks");
    let entities: Value = serde_json::from_str(photo["caption_entities"].as_str().unwrap()).unwrap();
    assert_eq!(entities, json!([{ "type": "bold", "offset": 5, "length": 5 }]));
    // A formatted text: plain text and its entities, no parse_mode to escape for.
    tg.reply(&conversation, json!({ "text": "**Ready** at [the shop](https://shop.example) 🎉 `A-1`" }))
        .await;
    let call = tg.wait_calls("sendMessage", 2).await.remove(1);
    assert_eq!(call["text"], "Ready at the shop 🎉 A-1");
    assert_eq!(
        call["entities"],
        json!([{ "type": "bold", "offset": 0, "length": 5 },
               { "type": "text_link", "offset": 9, "length": 8, "url": "https://shop.example" },
               { "type": "code", "offset": 21, "length": 3 }])
    );
    assert!(call.get("parse_mode").is_none());
    assert_eq!(photo["photo"]["file_name"], "label.png");
    // Quick-reply buttons: a reply keyboard that folds away after a press (few short labels
    // share a row, others get one each); the press comes back as the contact's text.
    let asked = tg.reply(&conversation, json!({ "text": "Which one?", "buttons": ["Red", "Blue"] })).await;
    assert_eq!(asked["buttons"], json!(["Red", "Blue"]));
    let call = tg.wait_calls("sendMessage", 3).await.remove(2);
    assert_eq!(
        call["reply_markup"],
        json!({ "keyboard": [[{ "text": "Red" }, { "text": "Blue" }]], "one_time_keyboard": true, "resize_keyboard": true })
    );
    tg.wait_status(asked["id"].as_str().unwrap(), "sent").await;
    let labels = ["Next-day delivery", "Pick up in the shop"];
    tg.reply(&conversation, json!({ "text": "How?", "buttons": labels })).await;
    let call = tg.wait_calls("sendMessage", 4).await.remove(3);
    assert_eq!(call["reply_markup"]["keyboard"], json!([[{ "text": labels[0] }], [{ "text": labels[1] }]]));
}

async fn rate_limits_blocked_chats_and_revoked_tokens(app: AppState, _raw: Raw) {
    let tg = connected(app, "polling").await;
    tg.fake.push_update(private(9, json!({ "text": "hi" })));
    let conversation = tg.wait_messages(1).await[0]["conversation_id"].as_str().unwrap().to_owned();
    // A 429 pauses the channel for what Telegram says, then the message goes.
    tg.fake.fail_next(Fault::TooManyRequests { retry_after: 1 });
    let limited = tg.reply(&conversation, json!({ "text": "one" })).await;
    let degraded = tg.wait_channel("degraded").await;
    assert!(degraded["last_error"].as_str().unwrap().contains("1 s"), "{degraded}");
    tg.wait_status(limited["id"].as_str().unwrap(), "sent").await;
    // A blocked bot: the message fails in Telegram's words.
    tg.fake.fail_next(Fault::Blocked);
    let blocked = tg.reply(&conversation, json!({ "text": "two" })).await;
    let failed = tg.wait_status(blocked["id"].as_str().unwrap(), "failed").await;
    assert_eq!(failed["error"], "Telegram refused: bot was blocked by the user");
    // A revoked token: the channel fails and asks for a new sign-in; the message waits.
    tg.fake.revoke_tokens();
    let waiting = tg.reply(&conversation, json!({ "text": "three" })).await;
    let channel = tg.wait_channel("failed").await;
    assert!(
        channel["last_error"].as_str().unwrap().contains("the bot token was revoked: sign in again"),
        "{channel}"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let held = tg.messages().await.into_iter().find(|m| m["id"] == waiting["id"]).unwrap();
    assert_eq!(held["status"], "pending");
}

async fn reactions_go_both_ways(app: AppState, _raw: Raw) {
    let tg = connected(app, "polling").await;
    tg.fake.push_update(private(40, json!({ "text": "Looks great" })));
    let message = tg.wait_messages(1).await.remove(0);
    let id = message["id"].as_str().unwrap().to_owned();
    // The customer's reaction lands on the message as the contact's.
    let reacted = |emoji: Value| {
        json!({ "message_reaction": { "chat": { "id": 111, "type": "private" }, "message_id": 40,
                "user": { "id": 111, "is_bot": false, "first_name": "Ana" }, "date": chrono::Utc::now().timestamp(),
                "old_reaction": [], "new_reaction": emoji } })
    };
    tg.fake.push_update(reacted(json!([{ "type": "emoji", "emoji": "👍" }])));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let now = tg.messages().await.into_iter().find(|m| m["id"] == id.as_str()).unwrap();
        if now["reactions"][0]["emoji"] == "👍" {
            assert_eq!(now["reactions"][0]["by_contact"], true);
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no reaction: {now}");
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    tg.fake.push_update(reacted(json!([])));
    loop {
        let now = tg.messages().await.into_iter().find(|m| m["id"] == id.as_str()).unwrap();
        if now.get("reactions").is_none_or(|r| r.as_array().is_some_and(Vec::is_empty)) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the reaction stayed: {now}");
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    // An agent's reaction reaches the customer; taking it back clears it there.
    let path = format!("/api/v1/messages/{id}/reactions/%E2%9D%A4");
    assert_eq!(send(&tg.app, authed("PUT", &path, &tg.alice, None)).await.status(), 200);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while tg.fake.calls_of("setMessageReaction").is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "no setMessageReaction");
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    assert_eq!(
        tg.fake.calls_of("setMessageReaction")[0],
        json!({ "chat_id": "111", "message_id": 40, "reaction": [{ "type": "emoji", "emoji": "❤" }] })
    );
    assert_eq!(send(&tg.app, authed("DELETE", &path, &tg.alice, None)).await.status(), 200);
    while tg.fake.calls_of("setMessageReaction").len() < 2 {
        assert!(tokio::time::Instant::now() < deadline, "no second setMessageReaction");
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    assert_eq!(tg.fake.calls_of("setMessageReaction")[1]["reaction"], json!([]));
}

async fn inbox_edits_and_deletes_reach_telegram(app: AppState, _raw: Raw) {
    let tg = connected(app, "polling").await;
    tg.fake.push_update(private(30, json!({ "text": "hello" })));
    let conversation = tg.wait_messages(1).await[0]["conversation_id"].as_str().unwrap().to_owned();
    let sent = tg.reply(&conversation, json!({ "text": "Helo!" })).await;
    let id = sent["id"].as_str().unwrap().to_owned();
    let external = tg.wait_status(&id, "sent").await["external_id"].as_str().unwrap().to_owned();
    let telegram_id: i64 = external.rsplit_once(':').unwrap().1.parse().unwrap();
    let edit =
        authed("PATCH", &format!("/api/v1/messages/{id}"), &tg.alice, Some(json!({ "text": "Hello!" })));
    let edited = send(&tg.app, edit).await;
    assert_eq!(edited.status(), 200);
    assert_eq!(body_json(edited).await["text"], "Hello!");
    assert_eq!(
        tg.fake.calls_of("editMessageText"),
        [json!({ "chat_id": "111", "message_id": telegram_id, "text": "Hello!" })]
    );
    // Telegram refuses an edit of an old message: said in its words, nothing changes here.
    tg.fake.fail_next(Fault::BadRequest("Bad Request: message can't be edited".into()));
    let refused = send(
        &tg.app,
        authed("PATCH", &format!("/api/v1/messages/{id}"), &tg.alice, Some(json!({ "text": "Hi!" }))),
    )
    .await;
    assert_eq!(refused.status(), 422);
    assert!(
        body_json(refused).await["error"]["message"].as_str().unwrap().contains("message can't be edited")
    );
    assert_eq!(tg.messages().await.into_iter().find(|m| m["id"] == id.as_str()).unwrap()["text"], "Hello!");
    let deleted = send(&tg.app, authed("DELETE", &format!("/api/v1/messages/{id}"), &tg.alice, None)).await;
    assert_eq!(deleted.status(), 200);
    assert_eq!(tg.fake.calls_of("deleteMessage"), [json!({ "chat_id": "111", "message_id": telegram_id })]);
}

async fn blocked_bots_and_upgraded_groups(app: AppState, _raw: Raw) {
    let tg = connected(app, "polling").await;
    tg.fake.push_update(private(40, json!({ "text": "bye" })));
    tg.fake.push_update(json!({ "message": { "message_id": 1, "date": 1, "text": "group hello",
        "from": { "id": 5, "first_name": "Di" }, "chat": { "id": -4242, "type": "group", "title": "Old group" } } }));
    tg.wait_messages(2).await;
    // The user blocks the bot: the conversation says so.
    tg.fake.push_update(json!({ "my_chat_member": { "chat": { "id": 111, "type": "private", "first_name": "Ana" },
        "from": { "id": 111, "first_name": "Ana" }, "date": 2,
        "old_chat_member": { "user": { "id": 123456789, "is_bot": true, "first_name": "Shop Bot" }, "status": "member" },
        "new_chat_member": { "user": { "id": 123456789, "is_bot": true, "first_name": "Shop Bot" }, "status": "kicked", "until_date": 0 } } }));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let list = tg.conversations().await;
        let ana = list.iter().find(|c| c["external_chat_id"] == "111").unwrap();
        if ana["contact_blocked"].is_string() {
            assert!(ana["contact_blocked"].as_str().unwrap().contains("blocked the bot"));
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never marked blocked: {ana}");
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    // The group becomes a supergroup: the conversation follows the new chat id, and the next
    // message lands in it.
    tg.fake.push_update(json!({ "message": { "message_id": 2, "date": 3, "migrate_to_chat_id": -1004242,
        "from": { "id": 5, "first_name": "Di" }, "chat": { "id": -4242, "type": "group", "title": "Old group" } } }));
    tg.fake.push_update(json!({ "message": { "message_id": 1, "date": 4, "text": "still here",
        "from": { "id": 5, "first_name": "Di" }, "chat": { "id": -1004242, "type": "supergroup", "title": "Old group" } } }));
    let messages = tg.wait_messages(3).await;
    let group: Vec<&Value> =
        messages.iter().filter(|m| m["text"] == "group hello" || m["text"] == "still here").collect();
    assert_eq!(group.len(), 2);
    assert_eq!(
        group[0]["conversation_id"], group[1]["conversation_id"],
        "one conversation across the upgrade"
    );
    assert_eq!(tg.conversations().await.len(), 2);
}

async fn switching_mode_sets_or_deletes_the_webhook(app: AppState, _raw: Raw) {
    let tg = connected(app, "polling").await;
    tg.wait_calls("getUpdates", 1).await;
    assert!(tg.fake.webhook().is_none());
    let base = tg.channel().await["config"]["api_base_url"].as_str().unwrap().to_owned();
    let patch = |base: &str, mode: &str| {
        let config = json!({ "config": { "api_base_url": base, "mode": mode, "poll_timeout_secs": 1 } });
        authed("PATCH", &format!("/api/v1/channels/{}", tg.channel_id), &tg.alice, Some(config))
    };
    assert_eq!(send(&tg.app, patch(&base, "webhook")).await.status(), 200);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while tg.fake.webhook().is_none() {
        assert!(tokio::time::Instant::now() < deadline, "switching to webhook never set it");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(send(&tg.app, patch(&base, "polling")).await.status(), 200);
    while tg.fake.webhook().is_some() {
        assert!(tokio::time::Instant::now() < deadline, "switching to polling never deleted it");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // And updates arrive by polling again.
    tg.fake.push_update(private(50, json!({ "text": "polled again" })));
    assert_eq!(tg.wait_messages(1).await[0]["text"], "polled again");
}
