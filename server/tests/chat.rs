//! The chat features over REST, on SQLite and PostgreSQL: pins (who may, the limit, events,
//! a deleted message's pin going with it); threads (replies beside the conversation, counted on
//! their first message, not unread, "also sent to the conversation").

#[macro_use]
mod common;

use axum::http::StatusCode;
use common::*;
use serde_json::{Value, json};
use switchboard_server::http::AppState;

app_test!(
    members_pin_and_unpin_and_everyone_who_reads_sees_it,
    pins_are_bounded_and_only_for_posters,
    threads_live_beside_the_conversation,
    threads_are_one_level_deep_and_only_in_rooms,
);

async fn mock_conversation(app: &AppState, token: &str, contact: &str) -> (String, Vec<Value>) {
    let created = create_channel(app, token, json!({"provider": "mock", "name": "Mock"})).await;
    let id: switchboard::ChannelId = created["id"].as_str().unwrap().parse().unwrap();
    let ws = app.store.workspace_by_name("Acme Support").await.unwrap().unwrap().id;
    let ch = app.store.channel(ws, id).await.unwrap().unwrap();
    let mut messages = Vec::new();
    let mut conversation = String::new();
    for n in 0..3 {
        let written = contact_writes(app, &ch, contact, "Maria", &format!("question {n}")).await;
        conversation = written.conversation.id.to_string();
        messages.push(serde_json::to_value(&written.message).unwrap());
    }
    (conversation, messages)
}

async fn call(app: &AppState, token: &str, method: &str, uri: &str) -> (StatusCode, Value) {
    let response = send(app, authed(method, uri, token, None)).await;
    let status = response.status();
    let text = body_text(response).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn events_since(app: &AppState, token: &str, since: i64, prefix: &str) -> Vec<Value> {
    let sync = call(app, token, "GET", &format!("/api/v1/sync?since={since}&limit=500")).await.1;
    sync["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"].as_str().unwrap().starts_with(prefix))
        .cloned()
        .collect()
}

async fn position(app: &AppState, token: &str) -> i64 {
    call(app, token, "GET", "/api/v1/sync?since=0&limit=500").await.1["next"].as_i64().unwrap()
}

async fn members_pin_and_unpin_and_everyone_who_reads_sees_it(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let bob = login(&app, "bob@example.com", "demo-password").await;
    let alice_id = app.accounts.authenticate(&alice).await.unwrap().user.id.to_string();
    let (conv, messages) = mock_conversation(&app, &alice, "+15550000071").await;
    let since = position(&app, &bob).await;
    let (first, second) = (messages[0]["id"].as_str().unwrap(), messages[1]["id"].as_str().unwrap());

    assert_eq!(call(&app, &alice, "PUT", &format!("/api/v1/messages/{first}/pin")).await.0, 204);
    assert_eq!(
        call(&app, &alice, "PUT", &format!("/api/v1/messages/{first}/pin")).await.0,
        204,
        "again: no change"
    );
    assert_eq!(call(&app, &bob, "PUT", &format!("/api/v1/messages/{second}/pin")).await.0, 204);
    let (status, pins) = call(&app, &bob, "GET", &format!("/api/v1/conversations/{conv}/pins")).await;
    assert_eq!(status, 200, "{pins}");
    let pinned: Vec<&str> =
        pins.as_array().unwrap().iter().map(|p| p["message"]["id"].as_str().unwrap()).collect();
    assert_eq!(pinned, [second, first], "the newest pin first");
    assert_eq!(pins[1]["pinned_by"], alice_id.as_str());
    assert_eq!(pins[1]["message"]["text"], "question 0");

    assert_eq!(call(&app, &bob, "DELETE", &format!("/api/v1/messages/{first}/pin")).await.0, 204);
    assert_eq!(call(&app, &bob, "DELETE", &format!("/api/v1/messages/{first}/pin")).await.0, 204);
    let pins = call(&app, &alice, "GET", &format!("/api/v1/conversations/{conv}/pins")).await.1;
    assert_eq!(pins.as_array().unwrap().len(), 1);

    // A deleted message's pin goes with it, and subscribers hear so (nobody unpinned it).
    let reply = send(
        &app,
        authed(
            "POST",
            &format!("/api/v1/conversations/{conv}/messages"),
            &alice,
            Some(json!({"text": "Pinned answer"})),
        ),
    )
    .await;
    let reply = body_json(reply).await["id"].as_str().unwrap().to_owned();
    assert_eq!(call(&app, &alice, "PUT", &format!("/api/v1/messages/{reply}/pin")).await.0, 204);
    assert_eq!(call(&app, &alice, "DELETE", &format!("/api/v1/messages/{reply}")).await.0, 200);
    let pins = call(&app, &alice, "GET", &format!("/api/v1/conversations/{conv}/pins")).await.1;
    assert_eq!(pins.as_array().unwrap().len(), 1, "{pins}");
    let (status, refused) = call(&app, &alice, "PUT", &format!("/api/v1/messages/{reply}/pin")).await;
    assert_eq!(status, 409, "{refused}");

    let events = events_since(&app, &bob, since, "message.").await;
    let pin_events: Vec<(&str, &str, &Value)> = events
        .iter()
        .filter(|e| e["type"].as_str().unwrap().contains("pinned"))
        .map(|e| {
            (
                e["type"].as_str().unwrap(),
                e["payload"]["message_id"].as_str().unwrap(),
                &e["payload"]["user_id"],
            )
        })
        .collect();
    let bob_id = app.accounts.authenticate(&bob).await.unwrap().user.id.to_string();
    assert_eq!(
        pin_events,
        [
            ("message.pinned", first, &json!(alice_id)),
            ("message.pinned", second, &json!(bob_id)),
            ("message.unpinned", first, &json!(bob_id)),
            ("message.pinned", reply.as_str(), &json!(alice_id)),
            ("message.unpinned", reply.as_str(), &Value::Null),
        ]
    );
    let unknown = switchboard::MessageId::new();
    assert_eq!(call(&app, &alice, "PUT", &format!("/api/v1/messages/{unknown}/pin")).await.0, 404);
    assert_eq!(
        call(&app, &alice, "PUT", "/api/v1/messages/not-an-id/pin").await.0,
        404,
        "an id that is none names nothing"
    );
}

async fn pins_are_bounded_and_only_for_posters(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let bob = login(&app, "bob@example.com", "demo-password").await;
    let created = create_channel(&app, &alice, json!({"provider": "mock", "name": "Mock"})).await;
    let id: switchboard::ChannelId = created["id"].as_str().unwrap().parse().unwrap();
    let ws = app.store.workspace_by_name("Acme Support").await.unwrap().unwrap().id;
    let ch = app.store.channel(ws, id).await.unwrap().unwrap();
    let mut ids = Vec::new();
    for n in 0..=switchboard::message::MAX_PINS {
        ids.push(contact_writes(&app, &ch, "+15550000072", "Maria", &format!("note {n}")).await.message.id);
    }
    for id in &ids[..switchboard::message::MAX_PINS] {
        assert_eq!(call(&app, &bob, "PUT", &format!("/api/v1/messages/{id}/pin")).await.0, 204);
    }
    let (status, refused) =
        call(&app, &bob, "PUT", &format!("/api/v1/messages/{}/pin", ids[switchboard::message::MAX_PINS]))
            .await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["code"], "too_many_pins");

    // A room's pins are its members': an agent outside it can neither pin nor see them.
    let inapp = create_channel(&app, &alice, json!({"provider": "inapp", "name": "Web chat"})).await;
    let alice_id = app.accounts.authenticate(&alice).await.unwrap().user.id;
    let room = send(
        &app,
        authed(
            "POST",
            "/api/v1/conversations",
            &alice,
            Some(json!({"channel_id": inapp["id"], "title": "Owners", "member_ids": [alice_id]})),
        ),
    )
    .await;
    let room = body_json(room).await["id"].as_str().unwrap().to_owned();
    let said = send(
        &app,
        authed(
            "POST",
            &format!("/api/v1/conversations/{room}/messages"),
            &alice,
            Some(json!({"text": "private"})),
        ),
    )
    .await;
    let said = body_json(said).await["id"].as_str().unwrap().to_owned();
    let (status, _) = call(&app, &bob, "PUT", &format!("/api/v1/messages/{said}/pin")).await;
    assert!(status == 403 || status == 404, "{status}");
    let (status, _) = call(&app, &bob, "GET", &format!("/api/v1/conversations/{room}/pins")).await;
    assert!(status == 403 || status == 404, "{status}");
    assert_eq!(call(&app, &alice, "PUT", &format!("/api/v1/messages/{said}/pin")).await.0, 204);
}

/// A room of Alice and Bob in an in-app channel.
async fn room(app: &AppState, alice: &str, bob: &str) -> String {
    let inapp = create_channel(app, alice, json!({"provider": "inapp", "name": "Web chat"})).await;
    let alice_id = app.accounts.authenticate(alice).await.unwrap().user.id;
    let bob_id = app.accounts.authenticate(bob).await.unwrap().user.id;
    let room = send(
        app,
        authed(
            "POST",
            "/api/v1/conversations",
            alice,
            Some(json!({"channel_id": inapp["id"], "title": "Launch", "member_ids": [alice_id, bob_id]})),
        ),
    )
    .await;
    assert_eq!(room.status(), 201);
    body_json(room).await["id"].as_str().unwrap().to_owned()
}

async fn say(app: &AppState, token: &str, conv: &str, body: Value) -> (StatusCode, Value) {
    let response =
        send(app, authed("POST", &format!("/api/v1/conversations/{conv}/messages"), token, Some(body))).await;
    let status = response.status();
    (status, body_json(response).await)
}

async fn unread(app: &AppState, token: &str, conv: &str) -> (Value, Value) {
    let list = call(app, token, "GET", "/api/v1/conversations").await.1;
    let it = list.as_array().unwrap().iter().find(|c| c["id"] == conv).expect("listed").clone();
    (it["unread_count"].clone(), it["last_message_preview"].clone())
}

async fn threads_live_beside_the_conversation(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let bob = login(&app, "bob@example.com", "demo-password").await;
    let alice_id = app.accounts.authenticate(&alice).await.unwrap().user.id.to_string();
    let bob_id = app.accounts.authenticate(&bob).await.unwrap().user.id.to_string();
    let room = room(&app, &alice, &bob).await;
    let (_, parent) = say(&app, &alice, &room, json!({"text": "Launch on Monday?"})).await;
    let parent = parent["id"].as_str().unwrap().to_owned();
    let since = position(&app, &bob).await;

    // Bob answers in the thread: beside the conversation, not in it.
    let (status, reply) = say(&app, &bob, &room, json!({"text": "Yes", "parent_id": parent})).await;
    assert_eq!(status, 201, "{reply}");
    assert_eq!(reply["parent_id"], parent.as_str());
    assert!(reply.get("show_in_conversation").is_none());
    let history = call(&app, &alice, "GET", &format!("/api/v1/conversations/{room}/messages")).await.1;
    let texts: Vec<&str> = history.as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["Launch on Monday?"], "a thread's reply stays in its thread");
    assert_eq!(history[0]["thread"]["reply_count"], 1);
    assert_eq!(history[0]["thread"]["participants"], json!([bob_id]));
    assert_eq!(
        unread(&app, &alice, &room).await,
        (json!(0), json!("Launch on Monday?")),
        "no preview, not unread"
    );

    // Alice answers in the thread and sends it to the conversation too.
    let (_, both) = say(
        &app,
        &alice,
        &room,
        json!({"text": "Then Monday", "parent_id": parent, "show_in_conversation": true}),
    )
    .await;
    assert_eq!(both["show_in_conversation"], true);
    assert_eq!(unread(&app, &bob, &room).await, (json!(1), json!("Then Monday")));
    let (_, quiet) = say(&app, &alice, &room, json!({"text": "only here", "parent_id": parent})).await;
    assert_eq!(unread(&app, &bob, &room).await.0, json!(1), "thread-only replies are not unread");

    let (status, thread) = call(&app, &bob, "GET", &format!("/api/v1/messages/{parent}/thread")).await;
    assert_eq!(status, 200, "{thread}");
    let texts: Vec<&str> = thread.as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["Yes", "Then Monday", "only here"], "oldest first");
    let page = call(
        &app,
        &bob,
        "GET",
        &format!("/api/v1/messages/{parent}/thread?limit=1&after={}", reply["id"].as_str().unwrap()),
    )
    .await
    .1;
    assert_eq!(page[0]["text"], "Then Monday");
    let history = call(&app, &bob, "GET", &format!("/api/v1/conversations/{room}/messages")).await.1;
    let first = history.as_array().unwrap().iter().find(|m| m["id"] == parent.as_str()).unwrap();
    assert_eq!(first["thread"]["reply_count"], 3);
    assert_eq!(
        first["thread"]["participants"],
        json!([alice_id, bob_id]),
        "the latest replier first, once each"
    );
    assert!(first["thread"]["last_reply_at"].is_string());

    // Subscribers hear each reply (with its parent) and the first message's new count.
    let events = events_since(&app, &bob, since, "message.").await;
    let seen: Vec<(&str, Value)> = events
        .iter()
        .map(|e| {
            let p = &e["payload"];
            let what = if e["type"] == "message.updated" {
                p["thread"]["reply_count"].clone()
            } else {
                p["parent_id"].clone()
            };
            (e["type"].as_str().unwrap(), what)
        })
        .collect();
    let p = json!(parent);
    assert_eq!(
        seen,
        [
            ("message.created", p.clone()),
            ("message.updated", json!(1)),
            ("message.created", p.clone()),
            ("message.updated", json!(2)),
            ("message.created", p.clone()),
            ("message.updated", json!(3)),
        ]
    );
    assert_eq!(events[4]["payload"]["id"], quiet["id"]);
}

async fn threads_are_one_level_deep_and_only_in_rooms(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let bob = login(&app, "bob@example.com", "demo-password").await;
    let room_a = room(&app, &alice, &bob).await;
    let room_b = room(&app, &alice, &bob).await;
    let (_, parent) = say(&app, &alice, &room_a, json!({"text": "Start"})).await;
    let (_, reply) = say(&app, &bob, &room_a, json!({"text": "In it", "parent_id": parent["id"]})).await;
    let (status, refused) =
        say(&app, &alice, &room_a, json!({"text": "deeper", "parent_id": reply["id"]})).await;
    assert_eq!((status.as_u16(), refused["error"]["field"].as_str()), (422, Some("parent_id")), "{refused}");
    let (status, refused) =
        say(&app, &alice, &room_b, json!({"text": "elsewhere", "parent_id": parent["id"]})).await;
    assert_eq!(status, 422, "{refused}");
    let (status, _) =
        say(&app, &alice, &room_a, json!({"text": "ghost", "parent_id": switchboard::MessageId::new()}))
            .await;
    assert_eq!(status, 422);
    let (conv, messages) = mock_conversation(&app, &alice, "+15550000073").await;
    let (status, refused) =
        say(&app, &alice, &conv, json!({"text": "thread?", "parent_id": messages[0]["id"]})).await;
    assert_eq!(status, 422);
    assert!(refused["error"]["message"].as_str().unwrap().contains("rooms"), "{refused}");
    let history = call(&app, &alice, "GET", &format!("/api/v1/conversations/{room_a}/messages")).await.1;
    assert_eq!(history.as_array().unwrap().len(), 1, "nothing refused was stored");
    assert_eq!(history[0]["thread"]["reply_count"], 1);
    let parent_id = parent["id"].as_str().unwrap();
    for bad in ["limit=0", "limit=201", "after=nope"] {
        let (status, _) =
            call(&app, &alice, "GET", &format!("/api/v1/messages/{parent_id}/thread?{bad}")).await;
        assert_eq!(status, 422, "{bad}");
    }
    // Deleting the first message keeps its thread readable; a new reply cannot start there.
    assert_eq!(call(&app, &alice, "DELETE", &format!("/api/v1/messages/{parent_id}")).await.0, 200);
    let (status, _) = say(&app, &bob, &room_a, json!({"text": "late", "parent_id": parent_id})).await;
    assert_eq!(status, 422);
    let thread = call(&app, &bob, "GET", &format!("/api/v1/messages/{parent_id}/thread")).await.1;
    assert_eq!(thread.as_array().unwrap().len(), 1);
}
