//! Conversations and messages over the REST API, and inbound traffic from a connected Mock
//! runtime landing in the inbox, on SQLite and PostgreSQL; `rooms.rs`: rooms, replies, mentions
//! and stars; `limits.rs`: the per-user send limit.

#[macro_use]
#[path = "../common/mod.rs"]
mod common;
mod limits;
mod reactions;
mod rooms;

use std::time::Duration;

use axum::http::StatusCode;
use common::*;
use serde_json::{Value, json};
use switchboard::{Channel, ChannelId};
use switchboard_server::http::AppState;

use limits::sends_are_limited_per_user;
use reactions::members_react_and_subscribers_hear_it;
use rooms::{
    mentions_and_stars_are_per_member_flags, replies_name_a_message_of_the_same_conversation,
    rooms_of_members_live_in_in_app_channels,
};

app_test!(
    sync_returns_what_the_caller_may_see_in_commit_order,
    send_is_idempotent_and_history_pages,
    bad_sends_get_4xx_and_write_nothing,
    inbound_mock_traffic_lands_in_the_inbox,
    senders_edit_and_delete_their_messages,
    conversations_resolve_and_reopen,
    rooms_of_members_live_in_in_app_channels,
    replies_name_a_message_of_the_same_conversation,
    mentions_and_stars_are_per_member_flags,
    sends_are_limited_per_user,
    members_react_and_subscribers_hear_it,
);

async fn channel(app: &AppState, token: &str, config: Value) -> Channel {
    let created =
        create_channel(app, token, json!({"provider": "mock", "name": "Mock", "config": config})).await;
    let id: ChannelId = created["id"].as_str().unwrap().parse().unwrap();
    let ws = app.store.workspace_by_name("Acme Support").await.unwrap().unwrap().id;
    app.store.channel(ws, id).await.unwrap().unwrap()
}

/// Opens a conversation the way a contact does: with an inbound message.
async fn conversation(app: &AppState, ch: &Channel, contact: &str) -> String {
    conversation_message(app, ch, contact, "hello there").await
}

/// An inbound message from `contact`; answers its conversation's id.
async fn conversation_message(app: &AppState, ch: &Channel, contact: &str, text: &str) -> String {
    contact_writes(app, ch, contact, "Maria", text).await.conversation.id.to_string()
}

fn post_message(
    token: &str,
    conv: &str,
    body: Value,
    key: Option<&str>,
) -> axum::http::Request<axum::body::Body> {
    let mut req = authed("POST", &format!("/api/v1/conversations/{conv}/messages"), token, Some(body));
    if let Some(key) = key {
        req.headers_mut().insert("idempotency-key", key.parse().unwrap());
    }
    req
}

async fn send_is_idempotent_and_history_pages(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let ch = channel(&app, &alice, json!({})).await;
    let conv = conversation(&app, &ch, "+15550000001").await;

    let first = send(&app, post_message(&alice, &conv, json!({"text": "  Hi Maria  "}), Some("key-1"))).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first = body_json(first).await;
    assert_eq!(
        (first["text"].as_str(), first["status"].as_str(), first["direction"].as_str()),
        (Some("Hi Maria"), Some("pending"), Some("outbound"))
    );
    let again = send(&app, post_message(&alice, &conv, json!({"text": "Hi Maria"}), Some("key-1"))).await;
    assert_eq!(again.status(), StatusCode::OK, "the same key answers 200 with the first message");
    assert_eq!(body_json(again).await, first);
    let by_body =
        send(&app, post_message(&alice, &conv, json!({"text": "x", "client_message_id": "key-1"}), None))
            .await;
    assert_eq!(by_body.status(), StatusCode::OK, "client_message_id is the same key");

    let bob = login(&app, "bob@example.com", "demo-password").await;
    for n in 0..5 {
        let r = send(&app, post_message(&bob, &conv, json!({"text": format!("agent {n}")}), None)).await;
        assert_eq!(r.status(), StatusCode::CREATED, "agents answer conversations");
    }

    let page = body_json(
        send(&app, authed("GET", &format!("/api/v1/conversations/{conv}/messages?limit=4"), &alice, None))
            .await,
    )
    .await;
    let texts: Vec<_> =
        page.as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap().to_owned()).collect();
    assert_eq!(texts, ["agent 4", "agent 3", "agent 2", "agent 1"]);
    let last = page[3]["id"].as_str().unwrap();
    let rest = body_json(
        send(
            &app,
            authed("GET", &format!("/api/v1/conversations/{conv}/messages?before={last}"), &alice, None),
        )
        .await,
    )
    .await;
    let texts: Vec<_> = rest.as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["agent 0", "Hi Maria", "hello there"]);

    let list = body_json(send(&app, authed("GET", "/api/v1/conversations", &bob, None)).await).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["last_message_preview"], "agent 4");
    assert_eq!(list[0]["title"], "Maria");
    assert_eq!(list[0]["unread_count"], 0, "bob's replies moved his position past the inbound message");
    let alice_list = body_json(send(&app, authed("GET", "/api/v1/conversations", &alice, None)).await).await;
    assert_eq!(alice_list[0]["unread_count"], 0, "a teammate's replies are not unread");
    let newest = page[0]["id"].as_str().unwrap();
    let read = send(
        &app,
        authed("POST", &format!("/api/v1/conversations/{conv}/read"), &alice, Some(json!({"up_to": newest}))),
    )
    .await;
    assert_eq!(read.status(), StatusCode::OK);
    assert_eq!(body_json(read).await["unread_count"], 0);
    let found = body_json(send(&app, authed("GET", "/api/v1/conversations?q=mar", &alice, None)).await).await;
    assert_eq!(found.as_array().unwrap().len(), 1, "search by contact name");
    let none = body_json(send(&app, authed("GET", "/api/v1/conversations?q=zzz", &alice, None)).await).await;
    assert_eq!(none, json!([]));
    let unread =
        body_json(send(&app, authed("GET", "/api/v1/conversations?unread=true", &alice, None)).await).await;
    assert_eq!(unread, json!([]), "alice has read everything");
    let long = "q".repeat(101);
    let too_long = send(&app, authed("GET", &format!("/api/v1/conversations?q={long}"), &alice, None)).await;
    assert_eq!(too_long.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let bad = send(
        &app,
        authed("POST", &format!("/api/v1/conversations/{conv}/read"), &alice, Some(json!({"up_to": "x"}))),
    )
    .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let filtered = body_json(
        send(
            &app,
            authed("GET", &format!("/api/v1/conversations?channel_id={}", ChannelId::new()), &bob, None),
        )
        .await,
    )
    .await;
    assert_eq!(filtered, json!([]));
}

async fn bad_sends_get_4xx_and_write_nothing(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let ch = channel(&app, &alice, json!({})).await;
    let conv = conversation(&app, &ch, "+15550000002").await;
    let cases = [
        (json!({"text": "   "}), None, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
        (json!({"text": "x".repeat(4097)}), None, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
        (json!({"txt": "typo"}), None, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
        (
            json!({"text": "x", "client_message_id": "a"}),
            Some("b"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (json!({"text": "x"}), Some(""), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
    ];
    for (body, key, status, code) in cases {
        let response = send(&app, post_message(&alice, &conv, body.clone(), key)).await;
        assert_eq!(response.status(), status, "{body}");
        assert_eq!(error_code(&body_json(response).await), code, "{body}");
    }
    let unknown = send(
        &app,
        post_message(&alice, &switchboard::ConversationId::new().to_string(), json!({"text": "x"}), None),
    )
    .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        send(&app, post_message(&alice, "nope", json!({"text": "x"}), None)).await.status(),
        StatusCode::NOT_FOUND
    );
    for query in ["limit=0", "limit=201", "before=not-an-id"] {
        let r = send(
            &app,
            authed("GET", &format!("/api/v1/conversations/{conv}/messages?{query}"), &alice, None),
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{query}");
    }
    let history = body_json(
        send(&app, authed("GET", &format!("/api/v1/conversations/{conv}/messages"), &alice, None)).await,
    )
    .await;
    assert_eq!(history.as_array().unwrap().len(), 1, "nothing but the inbound message was written");
    assert_eq!(
        send(&app, authed("GET", &format!("/api/v1/conversations/{conv}/messages"), "bad", None))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

async fn inbound_mock_traffic_lands_in_the_inbox(app: AppState, _raw: Raw) {
    use switchboard::provider::{OutboundMessage, Provider};
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let ch =
        channel(&app, &alice, json!({"reply_after_ms": 30, "reply_text": "echo: {text}", "contacts": 2}))
            .await;
    let id = ch.id.to_string();
    sign_in_by_token(&app, &alice, &id).await;
    for _ in 0..500 {
        if app.mock.is_connected(ch.id) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The contact writes back on the network; the runtime records it through the inbound path.
    let out = OutboundMessage {
        idempotency_key: "k".into(),
        contact_id: "+15550000002".into(),
        text: "hi".into(),
        media: Vec::new(),
        reply_to: None,
        template: None,
        buttons: Vec::new(),
    };
    app.mock.send(&ch, None, out).await.unwrap();
    for _ in 0..500 {
        let list = body_json(send(&app, authed("GET", "/api/v1/conversations", &alice, None)).await).await;
        if let Some(conv) = list.as_array().unwrap().first() {
            assert_eq!(conv["title"], "Tom Becker", "the contact's name from the network");
            assert_eq!(conv["last_message_preview"], "echo: hi");
            let conv_id = conv["id"].as_str().unwrap();
            let messages = body_json(
                send(&app, authed("GET", &format!("/api/v1/conversations/{conv_id}/messages"), &alice, None))
                    .await,
            )
            .await;
            assert_eq!(messages[0]["direction"], "inbound");
            assert_eq!(messages[0]["external_id"], "mock-k-reply");
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the contact's answer never reached the inbox");
}

async fn sync_returns_what_the_caller_may_see_in_commit_order(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let bob = login(&app, "bob@example.com", "demo-password").await;
    let ch = channel(&app, &alice, json!({})).await;
    let conv = conversation(&app, &ch, "+15550000003").await;
    // Alice reads the contact's message (her position moves: `read.updated`), then answers
    // (her own messages move it silently).
    let history = body_json(
        send(&app, authed("GET", &format!("/api/v1/conversations/{conv}/messages"), &alice, None)).await,
    )
    .await;
    let first = history[0]["id"].as_str().unwrap().to_owned();
    send(
        &app,
        authed("POST", &format!("/api/v1/conversations/{conv}/read"), &alice, Some(json!({"up_to": first}))),
    )
    .await;
    let mut last = String::new();
    for n in 0..3 {
        let sent =
            body_json(send(&app, post_message(&alice, &conv, json!({"text": format!("s{n}")}), None)).await)
                .await;
        last = sent["id"].as_str().unwrap().to_owned();
    }

    let pull = |token: String| {
        let app = app.clone();
        async move {
            let mut since = 0;
            let mut all = Vec::new();
            loop {
                let page = body_json(
                    send(&app, authed("GET", &format!("/api/v1/sync?since={since}&limit=2"), &token, None))
                        .await,
                )
                .await;
                let events = page["events"].as_array().unwrap().clone();
                assert!(events.len() <= 2);
                all.extend(events);
                since = page["next"].as_i64().unwrap();
                if !page["has_more"].as_bool().unwrap() {
                    return (all, since);
                }
            }
        }
    };
    let (bobs, bob_next) = pull(bob.clone()).await;
    let kinds: Vec<_> = bobs.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds[..3], ["conversation.created", "message.created", "conversation.updated"]);
    assert_eq!(kinds.iter().filter(|k| **k == "message.created").count(), 4);
    // Each message's `conversation.updated` names it, its direction and its sender, so a client
    // counts unread only what others sent.
    let updates: Vec<&Value> = bobs.iter().filter(|e| e["type"] == "conversation.updated").collect();
    let created: Vec<&Value> = bobs.iter().filter(|e| e["type"] == "message.created").collect();
    assert_eq!(updates.len(), created.len());
    for (update, message) in updates.iter().zip(&created) {
        let (update, message) = (&update["payload"], &message["payload"]);
        assert_eq!(update["message_id"], message["id"], "{update}");
        assert_eq!(update["direction"], message["direction"]);
        assert_eq!(update["sender_user_id"], message["sender_user_id"]);
        assert_eq!(update["conversation_id"], message["conversation_id"]);
    }
    let inbound = &updates[0]["payload"];
    assert_eq!((&inbound["direction"], &inbound["sender_user_id"]), (&json!("inbound"), &Value::Null));
    let alice_id = {
        let email = switchboard::validate::Email::parse("alice@example.com").unwrap();
        app.store.user_by_email(&email).await.unwrap().unwrap().id
    };
    let sent = &updates.last().unwrap()["payload"];
    assert_eq!(sent["message_id"], json!(last));
    assert_eq!((&sent["direction"], &sent["sender_user_id"]), (&json!("outbound"), &json!(alice_id)));
    assert!(!kinds.contains(&"read.updated"), "alice's read state is hers alone");
    let (alices, alice_next) = pull(alice.clone()).await;
    assert_eq!(alices.iter().filter(|e| e["type"] == "read.updated").count(), 1);
    assert_eq!(alices.len(), bobs.len() + 1);
    assert_eq!(alice_next, bob_next, "one log for the workspace: both end at its last event");
    let empty =
        body_json(send(&app, authed("GET", &format!("/api/v1/sync?since={alice_next}"), &alice, None)).await)
            .await;
    assert_eq!((empty["events"].as_array().unwrap().len(), empty["has_more"].as_bool()), (0, Some(false)));
    for bad in ["limit=0", "limit=501", "since=-1", "since=abc"] {
        let r = send(&app, authed("GET", &format!("/api/v1/sync?{bad}"), &alice, None)).await;
        assert!(r.status().is_client_error(), "{bad}: {}", r.status());
        error_code(&body_json(r).await);
    }
    let r = send(&app, authed("GET", "/api/v1/conversations?unread=maybe", &alice, None)).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&body_json(r).await), "invalid_query");
}

async fn senders_edit_and_delete_their_messages(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let bob = login(&app, "bob@example.com", "demo-password").await;
    let ch = channel(&app, &alice, json!({})).await;
    let conv = conversation(&app, &ch, "+15550002001").await;
    let sent = send(&app, post_message(&bob, &conv, json!({"text": "Helo"}), None)).await;
    assert_eq!(sent.status(), 201);
    let id = body_json(sent).await["id"].as_str().unwrap().to_owned();
    let uri = format!("/api/v1/messages/{id}");

    let edited = send(&app, authed("PATCH", &uri, &bob, Some(json!({"text": " Hello "})))).await;
    assert_eq!(edited.status(), 200);
    let edited = body_json(edited).await;
    assert_eq!(edited["text"], "Hello");
    assert!(edited["edited_at"].is_string());
    // Bad edits: empty text, unknown fields, unknown ids: 4xx and nothing changes.
    let empty = send(&app, authed("PATCH", &uri, &bob, Some(json!({"text": "  "})))).await;
    assert_eq!(empty.status(), 422);
    let extra = send(&app, authed("PATCH", &uri, &bob, Some(json!({"text": "x", "pin": true})))).await;
    assert_eq!(extra.status(), 422);
    let missing = format!("/api/v1/messages/{}", switchboard::MessageId::new());
    assert_eq!(send(&app, authed("PATCH", &missing, &bob, Some(json!({"text": "x"})))).await.status(), 404);
    assert_eq!(send(&app, authed("DELETE", "/api/v1/messages/nope", &bob, None)).await.status(), 404);

    // Bob is an agent: he cannot change the contact's message; alice (owner) may change bob's.
    let list = body_json(
        send(&app, authed("GET", &format!("/api/v1/conversations/{conv}/messages"), &bob, None)).await,
    )
    .await;
    let inbound = list.as_array().unwrap().iter().find(|m| m["direction"] == "inbound").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let forbidden =
        send(&app, authed("PATCH", &format!("/api/v1/messages/{inbound}"), &bob, Some(json!({"text": "x"}))))
            .await;
    assert_eq!(forbidden.status(), 403);
    let by_owner = send(&app, authed("PATCH", &uri, &alice, Some(json!({"text": "Hello!"})))).await;
    assert_eq!(by_owner.status(), 200);

    let deleted = send(&app, authed("DELETE", &uri, &bob, None)).await;
    assert_eq!(deleted.status(), 200);
    let deleted = body_json(deleted).await;
    assert_eq!(deleted["text"], "");
    assert!(deleted["deleted_at"].is_string());
    assert_eq!(
        send(&app, authed("DELETE", &uri, &bob, None)).await.status(),
        200,
        "deleting again is a no-op"
    );
    let late = send(&app, authed("PATCH", &uri, &bob, Some(json!({"text": "again"})))).await;
    assert_eq!(late.status(), 409);

    let topic = switchboard::Topic::Conversation(conv.parse().unwrap());
    let events = app.store.events_after(topic, 0, 100).await.unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind().as_str()).collect();
    assert_eq!(
        kinds,
        ["message.created", "message.created", "message.updated", "message.updated", "message.deleted"]
    );
    assert_eq!(events[2].body.payload()["text"], "Hello");
    assert_eq!(events[4].body.payload()["message_id"], json!(id));
}

async fn conversations_resolve_and_reopen(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let ch = channel(&app, &alice, json!({})).await;
    let conv = conversation(&app, &ch, "+15550002002").await;
    let list = |q: &'static str| {
        let app = app.clone();
        let alice = alice.clone();
        async move {
            let body = body_json(
                send(&app, authed("GET", &format!("/api/v1/conversations{q}"), &alice, None)).await,
            )
            .await;
            body.as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
        }
    };
    assert_eq!(list("?status=open").await, vec![conv.clone()]);
    assert!(list("?status=resolved").await.is_empty());

    let uri = format!("/api/v1/conversations/{conv}");
    let resolved = send(&app, authed("PATCH", &uri, &alice, Some(json!({"status": "resolved"})))).await;
    assert_eq!(resolved.status(), 200);
    assert_eq!(body_json(resolved).await["status"], "resolved");
    assert_eq!(list("?status=resolved").await, vec![conv.clone()]);
    assert!(list("?status=open").await.is_empty());
    assert_eq!(list("").await, vec![conv.clone()], "no filter: every status");
    let bad = send(&app, authed("PATCH", &uri, &alice, Some(json!({"status": "snoozed"})))).await;
    assert_eq!(bad.status(), 422);
    let bad = send(&app, authed("GET", "/api/v1/conversations?status=later", &alice, None)).await;
    assert_eq!(bad.status(), 422);
    let missing = format!("/api/v1/conversations/{}", switchboard::ConversationId::new());
    assert_eq!(
        send(&app, authed("PATCH", &missing, &alice, Some(json!({"status": "open"})))).await.status(),
        404
    );

    // The contact writes again: open again, and the inbox hears of each change.
    conversation_message(&app, &ch, "+15550002002", "one more thing").await;
    assert_eq!(list("?status=open").await, vec![conv.clone()]);
    let inbox = switchboard::Topic::Inbox(ch.workspace_id);
    let statuses: Vec<Value> = app
        .store
        .events_after(inbox, 0, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind().as_str() == "conversation.updated")
        .map(|e| e.body.payload()["status"].clone())
        .collect();
    assert_eq!(statuses.last(), Some(&json!("open")));
    assert!(statuses.contains(&json!("resolved")));
}
