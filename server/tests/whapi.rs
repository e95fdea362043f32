//! The `whapi` adapter (WhatsApp on a linked device through the Whapi.Cloud gateway) end to end
//! against the local fake of the gateway (`switchboard_server::fakes::whapi`), on SQLite and
//! PostgreSQL: the two-step sign-in (token, then QR renewed once, or a pairing code), the
//! webhook registered with its secret, every message type, the phone's own messages and the
//! echoes of our sends, statuses, the history import (idempotent, not unread), the session
//! dropping back to QR, stopping and failing to sync, a 429 and a revoked token.

#[macro_use]
mod common;

#[path = "whapi/harness.rs"]
mod harness;

use std::time::Duration;

use common::*;
use harness::*;
use serde_json::json;
use switchboard_server::fakes::whapi::{self as fake_whapi, FakeWhapi, Fault, message};
use switchboard_server::http::AppState;

app_test!(
    links_in_two_steps_by_qr_renewed_once,
    links_by_pairing_code_for_a_phone,
    webhooks_need_the_channel_secret,
    every_message_type_arrives,
    the_phones_own_messages_and_echoes_of_our_sends,
    replies_quote_and_files_go_out_as_the_gateway_documents,
    statuses_move_ticks_forward,
    history_is_imported_once_read_and_in_order,
    the_session_dropping_stopping_or_failing_to_sync_shows_on_the_channel,
    rate_limits_refused_recipients_and_revoked_tokens,
    edits_deletes_reactions_and_reads_reach_the_gateway,
);

async fn links_in_two_steps_by_qr_renewed_once(app: AppState, _raw: Raw) {
    let fake = FakeWhapi::new(TOKEN);
    fake.set_qr_expire(1);
    let base = fake.serve("127.0.0.1:0").await.unwrap();
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let id = channel(&app, &base, &alice, json!({})).await;
    // Step 2 cannot come first.
    let start = format!("/api/v1/channels/{id}/auth/start");
    let (status, early) = call(&app, &alice, "POST", &start, Some(json!({"method": "qr"}))).await;
    assert_eq!(status, 422, "{early}");
    assert!(early.to_string().contains("token first"), "{early}");
    // A token the gateway refuses: said, and nothing kept.
    let (status, refused) = give_token(&app, &alice, &id, "not-the-token").await;
    assert_eq!((status, refused["status"].as_str()), (200, Some("failed")), "{refused}");
    assert!(refused["error"].as_str().unwrap().contains("refused this token"), "{refused}");
    // The right one: step 2 is next, by QR or pairing code.
    let (status, state) = give_token(&app, &alice, &id, TOKEN).await;
    assert_eq!(status, 200);
    assert_eq!(state["status"], "pending");
    assert_eq!(state["next_methods"], json!(["qr", "pairing_code"]), "{state}");
    assert_eq!(state["channel"]["status"], "pending_auth");
    assert!(!state.to_string().contains(TOKEN), "the token never comes back");
    assert_eq!(auth_state(&app, &alice, &id).await["next_methods"], json!(["qr", "pairing_code"]));
    let (status, qr) = call(&app, &alice, "POST", &start, Some(json!({"method": "qr"}))).await;
    assert_eq!(status, 200, "{qr}");
    assert_eq!(qr["prompt"]["kind"], "qr");
    assert_eq!(qr["prompt"]["value"], "2@fake-whapi-qr-1");
    assert!(qr["qr_svg"].as_str().unwrap().starts_with("<svg"));
    assert!(qr["hint"]["text"].as_str().unwrap().contains("Linked devices"));
    // Unscanned, it expires, and the page gets the gateway's next one.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let renewed = auth_state(&app, &alice, &id).await;
    assert_eq!(renewed["prompt"]["value"], "2@fake-whapi-qr-2", "{renewed}");
    assert_eq!(fake.qrs_made(), 2);
    // The phone scans it: connected, with its number and name.
    fake.link();
    let done = auth_state(&app, &alice, &id).await;
    assert_eq!(done["status"], "authenticated", "{done}");
    assert_eq!(done["channel"]["status"], "connected");
    assert_eq!(
        done["channel"]["config"]["identity"],
        json!({ "number": "+15550001111", "name": "Corner Shop" })
    );
    // Connected, the runtime registers the webhook: our URL, the secret in a header, the events.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while fake.webhook().is_none() {
        assert!(tokio::time::Instant::now() < deadline, "no webhook");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (url, headers) = fake.webhook().unwrap();
    assert_eq!(url, format!("{PUBLIC_URL}/webhooks/whapi/{id}"));
    let secret = &headers.iter().find(|(k, _)| k == "x-switchboard-secret").expect("the secret header").1;
    assert_eq!(secret.len(), 48);
    let settings = &fake.calls_to("PATCH /settings")[0];
    let events = settings["webhooks"][0]["events"].as_array().unwrap();
    for wanted in
        [json!({"type": "messages", "method": "post"}), json!({"type": "statuses", "method": "post"})]
    {
        assert!(events.contains(&wanted), "{settings}");
    }
    assert_eq!(settings["webhooks"][0]["mode"], "body");
    let channel = call(&app, &alice, "GET", &format!("/api/v1/channels/{id}"), None).await.1;
    assert!(!channel.to_string().contains(secret.as_str()), "the webhook secret is never shown");
    // Logging out ends the session on the gateway and forgets the token.
    let (status, out) = call(&app, &alice, "POST", &format!("/api/v1/channels/{id}/logout"), None).await;
    assert_eq!((status.as_u16(), out["status"].as_str()), (200, Some("disconnected")));
    assert_eq!(fake.calls_to("POST /users/logout").len(), 1);
    let (status, _) = call(&app, &alice, "POST", &start, Some(json!({"method": "qr"}))).await;
    assert_eq!(status, 422, "the token is forgotten: step 1 again");
    app.channels.runtimes().stop_all();
}

async fn links_by_pairing_code_for_a_phone(app: AppState, _raw: Raw) {
    let fake = FakeWhapi::new(TOKEN);
    let base = fake.serve("127.0.0.1:0").await.unwrap();
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let id = channel(&app, &base, &alice, json!({})).await;
    give_token(&app, &alice, &id, TOKEN).await;
    let start = format!("/api/v1/channels/{id}/auth/start");
    let (status, missing) = call(&app, &alice, "POST", &start, Some(json!({"method": "pairing_code"}))).await;
    assert_eq!(status, 422, "{missing}");
    let (status, code) = call(
        &app,
        &alice,
        "POST",
        &start,
        Some(json!({"method": "pairing_code", "phone": "+1 555 000 1111"})),
    )
    .await;
    assert_eq!(status, 200, "{code}");
    assert_eq!(
        code["prompt"],
        json!({ "kind": "pairing_code", "code": "ABCD-1234", "expires_at": code["prompt"]["expires_at"] })
    );
    assert_eq!(fake.calls_to("GET /users/login/15550001111").len(), 1, "the digits, no + or spaces");
    assert_eq!(auth_state(&app, &alice, &id).await["prompt"]["code"], "ABCD-1234");
    // The phone types the code; no one watches the page: the server follows the gateway.
    fake.link();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let channel = call(&app, &alice, "GET", &format!("/api/v1/channels/{id}"), None).await.1;
        if channel["status"] == "connected" {
            assert_eq!(channel["config"]["identity"]["number"], "+15550001111");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never connected: {channel}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.channels.runtimes().stop_all();
}

async fn webhooks_need_the_channel_secret(app: AppState, _raw: Raw) {
    let wa = linked(app).await;
    let payload = fake_whapi::messages_payload(vec![message(
        "spoofed",
        CUSTOMER,
        false,
        1_712_995_245,
        json!({ "type": "text", "text": { "body": "pay here" } }),
    )]);
    let wrong = vec![("x-switchboard-secret".to_owned(), "0".repeat(48))];
    assert_eq!(wa.deliver_with(&payload, Some(wrong)).await, 401);
    assert_eq!(wa.deliver_with(&payload, Some(Vec::new())).await, 401);
    assert!(wa.messages().await.is_empty(), "nothing stored");
    wa.deliver(&payload).await;
    assert_eq!(wa.messages().await.len(), 1);
    // A redelivery is acknowledged and changes nothing.
    wa.deliver(&payload).await;
    assert_eq!(wa.messages().await.len(), 1);
    // An event Switchboard does not record is acknowledged too.
    wa.deliver(&json!({ "chats": [{ "id": CUSTOMER, "type": "contact" }], "event": { "type": "chats", "event": "post" } }))
        .await;
}

async fn every_message_type_arrives(app: AppState, _raw: Raw) {
    let wa = linked(app).await;
    wa.fake.put_media("jpg-aaaa-1111", "image/jpeg", b"\xFF\xD8\xFF\xE0fake-jpeg".to_vec());
    let types = [
        ("m-text", json!({ "type": "text", "text": { "body": "Hello world" } })),
        (
            "m-image",
            json!({ "type": "image", "image": { "id": "jpg-aaaa-1111", "mime_type": "image/jpeg", "caption": "the shelf" } }),
        ),
        (
            "m-video",
            json!({ "type": "video", "video": { "id": "mp4-bbbb-2222", "mime_type": "video/mp4", "seconds": 3 } }),
        ),
        (
            "m-audio",
            json!({ "type": "audio", "audio": { "id": "ogg-cccc-3333", "mime_type": "audio/ogg", "seconds": 5 } }),
        ),
        (
            "m-voice",
            json!({ "type": "voice", "voice": { "id": "ogg-dddd-4444", "mime_type": "audio/ogg; codecs=opus", "seconds": 2 } }),
        ),
        (
            "m-doc",
            json!({ "type": "document", "document": { "id": "pdf-eeee-5555", "mime_type": "application/pdf", "file_name": "invoice.pdf" } }),
        ),
        (
            "m-sticker",
            json!({ "type": "sticker", "sticker": { "id": "webp-ffff-6666", "mime_type": "image/webp" } }),
        ),
        (
            "m-place",
            json!({ "type": "location", "location": { "latitude": 38.72, "longitude": -9.14, "name": "Shop", "address": "Rua A 1" } }),
        ),
        (
            "m-card",
            json!({ "type": "contact", "contact": { "name": "Rui", "vcard": "BEGIN:VCARD\nVERSION:3.0\nFN:Rui\nTEL;type=CELL:+351911111111\nEND:VCARD" } }),
        ),
        (
            "m-link",
            json!({ "type": "link_preview", "link_preview": { "body": "see https://example.com", "url": "https://example.com", "title": "Example" } }),
        ),
        (
            "m-reply",
            json!({ "type": "text", "text": { "body": "this one" }, "context": { "quoted_id": "m-text", "quoted_author": "15557654321" } }),
        ),
        ("m-odd", json!({ "type": "hsm", "hsm": {} })),
    ];
    for (id, content) in &types {
        wa.customer_sends(id, content.clone()).await;
    }
    let messages = wa.wait_messages(types.len()).await;
    let by =
        |id: &str| messages.iter().find(|m| m["external_id"] == id).unwrap_or_else(|| panic!("{id}")).clone();
    assert_eq!(by("m-text")["text"], "Hello world");
    assert_eq!(by("m-text")["direction"], "inbound");
    let image = by("m-image");
    assert_eq!(image["text"], "the shelf");
    assert_eq!(image["attachments"][0]["kind"], "image");
    assert_eq!(image["attachments"][0]["state"], "ready", "fetched from GET /media/{{id}}");
    assert_eq!(by("m-video")["attachments"][0]["kind"], "video");
    assert_eq!(by("m-audio")["attachments"][0]["kind"], "audio");
    assert_eq!(by("m-voice")["attachments"][0]["kind"], "voice");
    assert_eq!(by("m-voice")["attachments"][0]["duration_ms"], 2000);
    assert_eq!(by("m-doc")["attachments"][0]["file_name"], "invoice.pdf");
    assert_eq!(by("m-doc")["attachments"][0]["state"], "unavailable", "the fake has no such file");
    assert_eq!(by("m-sticker")["attachments"][0]["kind"], "sticker");
    assert_eq!(
        by("m-place")["attachments"][0]["location"],
        json!({ "latitude": 38.72, "longitude": -9.14, "name": "Shop, Rua A 1" })
    );
    assert_eq!(
        by("m-card")["attachments"][0]["contact"],
        json!({ "name": "Rui", "phones": ["+351911111111"] })
    );
    assert_eq!(by("m-link")["text"], "see https://example.com");
    assert_eq!(by("m-reply")["reply_to"], by("m-text")["id"]);
    assert_eq!(by("m-odd")["text"], "Unsupported message type");
    // The contact is named as they call themselves.
    assert_eq!(wa.conversations().await[0]["title"], "Ana Lima");
    // A reaction lands on the message it names; an empty one takes it back.
    let react = |emoji: &str| {
        let mut m = message(
            "m-react",
            CUSTOMER,
            false,
            1_712_995_300,
            json!({ "type": "action",
            "action": { "target": "m-text", "type": "reaction", "emoji": emoji } }),
        );
        m["from_name"] = json!("Ana Lima");
        fake_whapi::messages_payload(vec![m])
    };
    wa.deliver(&react("👍")).await;
    let text_id = by("m-text")["id"].as_str().unwrap().to_owned();
    let reacted = wa.wait_message(&text_id, |m| m.get("reactions").is_some()).await;
    assert_eq!(reacted["reactions"][0]["emoji"], "👍");
    wa.deliver(&react("")).await;
    wa.wait_message(&text_id, |m| m.get("reactions").is_none()).await;
    // A group: the conversation is the group's, each message names its writer.
    let mut group = message(
        "g-1",
        "120363000000000001@g.us",
        false,
        1_712_995_400,
        json!({ "type": "text", "text": { "body": "morning all" } }),
    );
    group["from"] = json!("15551112222");
    group["from_name"] = json!("Bea");
    group["chat_name"] = json!("Suppliers");
    wa.deliver(&fake_whapi::messages_payload(vec![group])).await;
    let messages = wa.wait_messages(types.len() + 1).await;
    let g = messages.iter().find(|m| m["external_id"] == "g-1").unwrap();
    assert_eq!(g["sender_name"], "Bea");
    assert!(wa.conversations().await.iter().any(|c| c["title"] == "Suppliers"));
}

async fn the_phones_own_messages_and_echoes_of_our_sends(app: AppState, _raw: Raw) {
    let wa = linked(app).await;
    let conversation = wa.customer_conversation().await;
    // The owner answers from the phone: an outbound message here, not unread, not ours.
    let phone = message(
        "from-phone-1",
        CUSTOMER,
        true,
        chrono::Utc::now().timestamp(),
        json!({ "type": "text", "text": { "body": "Typed on the phone" } }),
    );
    wa.deliver(&fake_whapi::messages_payload(vec![phone])).await;
    let messages = wa.wait_messages(2).await;
    let typed = messages.iter().find(|m| m["external_id"] == "from-phone-1").unwrap();
    assert_eq!(typed["direction"], "outbound");
    assert_eq!(typed["status"], "sent");
    assert!(typed["sender_user_id"].is_null(), "{typed}");
    let listed = wa.conversations().await;
    assert_eq!(listed[0]["last_message_preview"], "Typed on the phone");
    assert_eq!(listed[0]["title"], "Ana Lima", "the owner's name never renames the contact");
    // An agent answers here: the gateway gets it, and its echo (`from_me`, our id) adds nothing.
    let sent = wa.reply(&conversation, json!({ "text": "Sent from the inbox" })).await;
    let id = sent["id"].as_str().unwrap().to_owned();
    let external =
        wa.wait_message(&id, |m| m["status"] == "sent").await["external_id"].as_str().unwrap().to_owned();
    let calls = wa.wait_calls("POST /messages/text", 1).await;
    assert_eq!(calls[0], json!({ "to": CUSTOMER, "body": "Sent from the inbox" }));
    let mut echo = message(
        &external,
        CUSTOMER,
        true,
        chrono::Utc::now().timestamp(),
        json!({ "type": "text", "text": { "body": "Sent from the inbox" } }),
    );
    echo["source"] = json!("api");
    wa.deliver(&fake_whapi::messages_payload(vec![echo])).await;
    let messages = wa.messages().await;
    assert_eq!(messages.len(), 3, "no copy of our own send: {messages:?}");
}

async fn replies_quote_and_files_go_out_as_the_gateway_documents(app: AppState, _raw: Raw) {
    let wa = linked(app).await;
    let conversation = wa.customer_conversation().await;
    let asked = wa.messages().await.into_iter().find(|m| m["external_id"] == "inbound-first").unwrap();
    // A reply names the customer's message by the gateway's id.
    wa.reply(&conversation, json!({ "text": "Answering this", "reply_to": asked["id"] })).await;
    let texts = wa.wait_calls("POST /messages/text", 1).await;
    assert_eq!(texts[0], json!({ "to": CUSTOMER, "body": "Answering this", "quoted": "inbound-first" }));
    // A photo goes out inline (a data URI), the text as its caption, still quoting.
    let upload = axum::http::Request::builder()
        .method("POST")
        .uri("/api/v1/uploads?filename=photo.png")
        .header("authorization", format!("Bearer {}", wa.alice))
        .header("content-type", "application/octet-stream")
        .body(axum::body::Body::from(switchboard_server::providers::mock::media::photo()))
        .unwrap();
    let upload = body_json(send(&wa.app, upload).await).await;
    let sent = wa
        .reply(
            &conversation,
            json!({ "text": "Here it is", "attachments": [upload["id"]], "reply_to": asked["id"] }),
        )
        .await;
    wa.wait_message(sent["id"].as_str().unwrap(), |m| m["status"] == "sent").await;
    let images = wa.wait_calls("POST /messages/image", 1).await;
    assert_eq!(images[0]["to"], CUSTOMER);
    assert_eq!(images[0]["caption"], "Here it is");
    assert_eq!(images[0]["quoted"], "inbound-first");
    assert_eq!(images[0]["mime_type"], "image/png");
    assert!(images[0]["media"].as_str().unwrap().starts_with("data:image/png"), "{}", images[0]);
    assert_eq!(wa.fake.calls_to("POST /messages/text").len(), 1, "the caption is not sent twice");
}

async fn statuses_move_ticks_forward(app: AppState, _raw: Raw) {
    let wa = linked(app).await;
    let conversation = wa.customer_conversation().await;
    let sent = wa.reply(&conversation, json!({ "text": "Your order shipped" })).await;
    let id = sent["id"].as_str().unwrap().to_owned();
    let external =
        wa.wait_message(&id, |m| m["status"] == "sent").await["external_id"].as_str().unwrap().to_owned();
    wa.deliver(&fake_whapi::status_payload(&external, "delivered", CUSTOMER)).await;
    wa.wait_message(&id, |m| m["status"] == "delivered").await;
    wa.deliver(&fake_whapi::status_payload(&external, "read", CUSTOMER)).await;
    wa.wait_message(&id, |m| m["status"] == "read").await;
    // A late "delivered" never moves it back.
    wa.deliver(&fake_whapi::status_payload(&external, "delivered", CUSTOMER)).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(wa.wait_message(&id, |_| true).await["status"], "read");
    // Failed, in the network's words.
    let other = wa.reply(&conversation, json!({ "text": "second" })).await;
    let other_id = other["id"].as_str().unwrap().to_owned();
    let other_ext = wa.wait_message(&other_id, |m| m["status"] == "sent").await["external_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut failed = fake_whapi::status_payload(&other_ext, "failed", CUSTOMER);
    failed["statuses"][0]["errors"] = json!([{ "code": 470, "message": "Recipient not on WhatsApp" }]);
    wa.deliver(&failed).await;
    let failed = wa.wait_message(&other_id, |m| m["status"] == "failed").await;
    assert_eq!(failed["error"], "Recipient not on WhatsApp");
}

async fn history_is_imported_once_read_and_in_order(app: AppState, _raw: Raw) {
    let wa = linked_with_history(app).await;
    let channel = wa.wait_channel(|c| c["history_import"]["state"] == "done").await;
    assert_eq!(channel["history_import"]["chats_done"], 2, "{channel}");
    assert_eq!(channel["history_import"]["chats_total"], 2, "broadcasts are not chats");
    assert_eq!(channel["history_import"]["messages_added"], 4);
    let conversations = wa.conversations().await;
    assert_eq!(conversations.len(), 2);
    for c in &conversations {
        assert_eq!(c["unread_count"], 0, "history is not news: {c}");
    }
    assert_eq!(conversations[0]["title"], "Bruno", "the latest chat first");
    let ana = conversations.iter().find(|c| c["title"] == "Ana Lima").unwrap();
    assert_eq!(ana["last_message_preview"], "Thanks!");
    let thread = wa.messages_of(ana["id"].as_str().unwrap()).await;
    let order: Vec<_> = thread.iter().map(|m| m["external_id"].as_str().unwrap()).collect();
    assert_eq!(order, ["h-a1", "h-a2", "h-a3"], "in the order they were sent");
    assert_eq!(thread[1]["direction"], "outbound");
    // Older messages load on demand from the gateway, before a given time.
    let id: switchboard::ChannelId = wa.channel_id.parse().unwrap();
    let stored = wa.app.store.channel_for_webhook(id).await.unwrap().unwrap();
    let credentials = wa.app.channels.credentials(stored.workspace_id, id).await.unwrap();
    let adapter = wa.app.channels.providers().get(switchboard::ProviderKind::Whapi).unwrap().clone();
    let before = chrono::Utc::now() - chrono::Duration::seconds(150);
    let older =
        adapter.load_history(&stored, credentials.as_ref(), CUSTOMER, Some(before), 10).await.unwrap();
    let ids: Vec<_> = older.iter().map(|m| m.external_id.as_str()).collect();
    assert_eq!(ids, ["h-a2", "h-a1"], "newest first, only before the time asked");
    assert_eq!(older[0].direction, switchboard::provider::Direction::Outbound);
    // A message after the import is news again.
    wa.customer_sends("live-1", json!({ "type": "text", "text": { "body": "One more thing" } })).await;
    let ana = wa.conversations().await.into_iter().find(|c| c["title"] == "Ana Lima").unwrap();
    assert_eq!(ana["unread_count"], 1);
    // Unlinked and linked again: the import runs again and adds nothing.
    wa.fake.set_state("QR");
    wa.wait_channel(|c| c["status"] == "pending_auth").await;
    wa.fake.link();
    wa.wait_channel(|c| {
        c["status"] == "connected"
            && c["history_import"]["messages_added"] == 0
            && c["history_import"]["state"] == "done"
    })
    .await;
    assert_eq!(wa.messages().await.len(), 5, "nothing twice");
    assert!(wa.fake.calls_to("GET /chats").len() >= 2, "it did run again");
}

/// [`linked`], with chats on the phone before it links.
async fn the_session_dropping_stopping_or_failing_to_sync_shows_on_the_channel(app: AppState, _raw: Raw) {
    let wa = linked(app).await;
    let conversation = wa.customer_conversation().await;
    wa.fake.set_state("QR");
    let dropped = wa.wait_channel(|c| c["status"] == "pending_auth").await;
    assert_eq!(dropped["last_error"], "The phone was unlinked from the gateway: link it again.");
    // An answer written meanwhile waits for the phone (the gateway refuses it unlinked).
    let waiting = wa.reply(&conversation, json!({ "text": "sent once relinked" })).await;
    let waiting_id = waiting["id"].as_str().unwrap().to_owned();
    wa.wait_calls("GET /health", 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(wa.wait_message(&waiting_id, |_| true).await["status"], "pending");
    // The admin relinks on the auth page: a QR, the phone scans it, connected again.
    let start = format!("/api/v1/channels/{}/auth/start", wa.channel_id);
    let (status, qr) = call(&wa.app, &wa.alice, "POST", &start, Some(json!({"method": "qr"}))).await;
    assert_eq!((status.as_u16(), qr["prompt"]["kind"].as_str()), (200, Some("qr")), "{qr}");
    wa.fake.link();
    assert_eq!(auth_state(&wa.app, &wa.alice, &wa.channel_id).await["status"], "authenticated");
    let back = wa.wait_channel(|c| c["status"] == "connected").await;
    assert!(back["last_error"].is_null());
    wa.wait_message(&waiting_id, |m| m["status"] == "sent").await;
    wa.fake.set_state("SYNC_ERROR");
    let degraded = wa.wait_channel(|c| c["status"] == "degraded").await;
    assert!(degraded["last_error"].as_str().unwrap().contains("Sending works, history does not"));
    wa.fake.set_state("STOP");
    let stopped = wa.wait_channel(|c| c["status"] == "failed").await;
    assert!(stopped["last_error"].as_str().unwrap().contains("stopped this channel"), "{stopped}");
    wa.fake.set_state("AUTH");
    wa.wait_channel(|c| c["status"] == "connected").await;
    // The gateway also pushes its health by webhook.
    wa.deliver(&json!({ "health": { "status": { "code": 3, "text": "QR" } }, "event": { "type": "channel", "event": "post" } }))
        .await;
    let pushed = wa.wait_channel(|c| c["status"] == "pending_auth").await;
    assert_eq!(pushed["last_error"], "The phone was unlinked from the gateway: link it again.");
}

async fn rate_limits_refused_recipients_and_revoked_tokens(app: AppState, raw: Raw) {
    let wa = linked(app).await;
    let conversation = wa.customer_conversation().await;
    // 429 with Retry-After: the channel waits, then the message goes.
    wa.fake.fail_next(Fault::TooManyRequests { retry_after: 1 });
    let first = wa.reply(&conversation, json!({ "text": "after the limit" })).await;
    let first_id = first["id"].as_str().unwrap().to_owned();
    wa.wait_channel(|c| c["status"] == "degraded").await;
    wa.wait_message(&first_id, |m| m["status"] == "sent").await;
    // A 5xx is retried.
    wa.fake.fail_next(Fault::ServerError);
    let second = wa.reply(&conversation, json!({ "text": "after a 500" })).await;
    let second_id = second["id"].as_str().unwrap().to_owned();
    wa.wait_message(&second_id, |m| m["status"] == "sent").await;
    // A refused recipient is final, in the gateway's words.
    wa.fake.fail_next(Fault::InvalidRecipient);
    let third = wa.reply(&conversation, json!({ "text": "to nobody" })).await;
    let third_id = third["id"].as_str().unwrap().to_owned();
    let failed = wa.wait_message(&third_id, |m| m["status"] == "failed").await;
    assert!(failed["error"].as_str().unwrap().contains("Recipient is not a WhatsApp user"), "{failed}");
    // A revoked token fails the channel ("sign in again") and the next message waits unspent.
    wa.fake.revoke_tokens();
    let fourth = wa.reply(&conversation, json!({ "text": "while revoked" })).await;
    let fourth_id = fourth["id"].as_str().unwrap().to_owned();
    let failed = wa.wait_channel(|c| c["status"] == "failed").await;
    assert!(failed["last_error"].as_str().unwrap().contains("sign in again"), "{failed}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let waiting = wa.wait_message(&fourth_id, |_| true).await;
    assert_eq!(waiting["status"], "pending");
    let message_id: switchboard::MessageId = fourth_id.parse().unwrap();
    assert_eq!(raw.outbox_attempts(message_id).await, 0, "its attempts are not spent");
}

async fn edits_deletes_reactions_and_reads_reach_the_gateway(app: AppState, _raw: Raw) {
    let wa = linked(app).await;
    let conversation = wa.customer_conversation().await;
    let inbound = wa.messages().await[0]["id"].as_str().unwrap().to_owned();
    let sent = wa.reply(&conversation, json!({ "text": "Helo!" })).await;
    let id = sent["id"].as_str().unwrap().to_owned();
    let external =
        wa.wait_message(&id, |m| m["status"] == "sent").await["external_id"].as_str().unwrap().to_owned();
    let (status, edited) = call(
        &wa.app,
        &wa.alice,
        "PATCH",
        &format!("/api/v1/messages/{id}"),
        Some(json!({ "text": "Hello!" })),
    )
    .await;
    assert_eq!((status.as_u16(), edited["text"].as_str()), (200, Some("Hello!")));
    let calls = wa.wait_calls("POST /messages/text", 2).await;
    assert_eq!(calls[1], json!({ "to": CUSTOMER, "body": "Hello!", "edit": external }));
    let (status, _) = call(&wa.app, &wa.alice, "DELETE", &format!("/api/v1/messages/{id}"), None).await;
    assert_eq!(status, 200);
    wa.wait_calls(&format!("DELETE /messages/{external}"), 1).await;
    // A reaction on the customer's message, then taken back.
    let path = format!("/api/v1/messages/{inbound}/reactions/%F0%9F%91%8D");
    assert_eq!(send(&wa.app, authed("PUT", &path, &wa.alice, None)).await.status(), 200);
    let put = wa.wait_calls("PUT /messages/inbound-first/reaction", 1).await;
    assert_eq!(put[0], json!({ "emoji": "👍" }));
    assert_eq!(send(&wa.app, authed("DELETE", &path, &wa.alice, None)).await.status(), 200);
    wa.wait_calls("DELETE /messages/inbound-first/reaction", 1).await;
    // Reading the conversation marks the customer's message read on the phone.
    let read = Some(json!({ "up_to": inbound }));
    let (status, _) =
        call(&wa.app, &wa.alice, "POST", &format!("/api/v1/conversations/{conversation}/read"), read).await;
    assert_eq!(status, 200);
    wa.wait_calls("PUT /messages/inbound-first", 1).await;
}
