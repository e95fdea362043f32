//! Rooms of members, replies, mentions and stars.

use serde_json::json;
use switchboard_server::http::AppState;

use crate::*;

pub async fn rooms_of_members_live_in_in_app_channels(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let bob = login(&app, "bob@example.com", "demo-password").await;
    let created = create_channel(&app, &alice, json!({"provider": "inapp", "name": "Web chat"})).await;
    assert_eq!(created["status"], "connected", "nothing to sign in to");
    let channel_id = created["id"].as_str().unwrap().to_owned();
    let start = send(
        &app,
        authed(
            "POST",
            &format!("/api/v1/channels/{channel_id}/auth/start"),
            &alice,
            Some(json!({"method": "token"})),
        ),
    )
    .await;
    assert_eq!(start.status(), 422);
    let bad_config = send(
        &app,
        authed(
            "POST",
            "/api/v1/channels",
            &alice,
            Some(json!({"provider": "inapp", "name": "X", "config": {"a": 1}})),
        ),
    )
    .await;
    assert_eq!(bad_config.status(), 422);

    let bob_id = app.accounts.authenticate(&bob).await.unwrap().user.id;
    let alice_id = app.accounts.authenticate(&alice).await.unwrap().user.id;
    let room = send(
        &app,
        authed(
            "POST",
            "/api/v1/conversations",
            &bob,
            Some(json!({"channel_id": channel_id, "title": "Launch plan", "member_ids": [alice_id, bob_id]})),
        ),
    )
    .await;
    assert_eq!(room.status(), 201, "any member may open a room");
    let room = body_json(room).await;
    assert_eq!(room["title"], "Launch plan");
    assert!(room["contact_id"].is_null());
    let room_id = room["id"].as_str().unwrap().to_owned();
    let members = body_json(
        send(&app, authed("GET", &format!("/api/v1/conversations/{room_id}/members"), &alice, None)).await,
    )
    .await;
    let mut members: Vec<String> = serde_json::from_value(members).unwrap();
    members.sort();
    let mut expected = vec![bob_id.to_string(), alice_id.to_string()];
    expected.sort();
    assert_eq!(members, expected, "both, once");

    // Refusals: not an in-app channel, a stranger as member, an empty title, an unknown channel.
    let mock = channel(&app, &alice, json!({})).await;
    let r = send(
        &app,
        authed(
            "POST",
            "/api/v1/conversations",
            &alice,
            Some(json!({"channel_id": mock.id, "title": "Nope"})),
        ),
    )
    .await;
    assert_eq!(r.status(), 422);
    let r = send(&app, authed("POST", "/api/v1/conversations", &alice, Some(json!({"channel_id": channel_id, "title": "Nope", "member_ids": [switchboard::UserId::new()]})))).await;
    assert_eq!(r.status(), 422);
    assert_eq!(error_code(&body_json(r).await), "validation_failed");
    let r = send(
        &app,
        authed(
            "POST",
            "/api/v1/conversations",
            &alice,
            Some(json!({"channel_id": channel_id, "title": "  "})),
        ),
    )
    .await;
    assert_eq!(r.status(), 422);
    let r = send(
        &app,
        authed(
            "POST",
            "/api/v1/conversations",
            &alice,
            Some(json!({"channel_id": switchboard::ChannelId::new(), "title": "Nope"})),
        ),
    )
    .await;
    assert_eq!(r.status(), 404);

    // A message in the room: unread for the other member only, and sent once stored.
    let sent = send(&app, post_message(&alice, &room_id, json!({"text": "Kickoff at 10"}), None)).await;
    assert_eq!(sent.status(), 201);
    let sent = body_json(sent).await;
    let unread = |token: String| {
        let app = app.clone();
        let room_id = room_id.clone();
        async move {
            let list =
                body_json(send(&app, authed("GET", "/api/v1/conversations", &token, None)).await).await;
            list.as_array().unwrap().iter().find(|c| c["id"] == room_id.as_str()).unwrap()["unread_count"]
                .clone()
        }
    };
    assert_eq!(unread(bob.clone()).await, 1);
    assert_eq!(unread(alice.clone()).await, 0);
    let worker = switchboard_server::services::outbox::OutboxWorker::new(
        app.store.clone(),
        app.channels.providers().clone(),
        Default::default(),
    );
    assert_eq!(sent["status"], "sent");
    assert_eq!(worker.tick().await.unwrap(), 0, "nothing to queue for Switchboard's own network");
    let ws = app.store.workspace_by_name("Acme Support").await.unwrap().unwrap().id;
    let stored = app.store.message(ws, sent["id"].as_str().unwrap().parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(stored.status, switchboard::MessageStatus::Sent);
}

pub async fn replies_name_a_message_of_the_same_conversation(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let ch = channel(&app, &alice, json!({})).await;
    let conv = conversation(&app, &ch, "+15550002003").await;
    let other = conversation(&app, &ch, "+15550002004").await;
    let first =
        body_json(send(&app, post_message(&alice, &conv, json!({"text": "first"}), None)).await).await;
    let reply =
        send(&app, post_message(&alice, &conv, json!({"text": "answer", "reply_to": first["id"]}), None))
            .await;
    assert_eq!(reply.status(), 201);
    assert_eq!(body_json(reply).await["reply_to"], first["id"]);
    // A message of another conversation, or none at all: 422, nothing written.
    let before = body_json(
        send(&app, authed("GET", &format!("/api/v1/conversations/{other}/messages"), &alice, None)).await,
    )
    .await;
    let wrong =
        send(&app, post_message(&alice, &other, json!({"text": "x", "reply_to": first["id"]}), None)).await;
    assert_eq!(wrong.status(), 422);
    assert_eq!(body_json(wrong).await["error"]["field"], "reply_to");
    let none = send(
        &app,
        post_message(&alice, &conv, json!({"text": "x", "reply_to": switchboard::MessageId::new()}), None),
    )
    .await;
    assert_eq!(none.status(), 422);
    let after = body_json(
        send(&app, authed("GET", &format!("/api/v1/conversations/{other}/messages"), &alice, None)).await,
    )
    .await;
    assert_eq!(before, after);
}

pub async fn mentions_and_stars_are_per_member_flags(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let bob = login(&app, "bob@example.com", "demo-password").await;
    let ch = channel(&app, &alice, json!({})).await;
    let conv = conversation(&app, &ch, "+15550002005").await;
    let summary = |token: String| {
        let app = app.clone();
        let conv = conv.clone();
        async move {
            let list =
                body_json(send(&app, authed("GET", "/api/v1/conversations", &token, None)).await).await;
            list.as_array().unwrap().iter().find(|c| c["id"] == conv.as_str()).unwrap().clone()
        }
    };
    send(&app, post_message(&alice, &conv, json!({"text": "@bob can you take this one?"}), None)).await;
    send(&app, post_message(&alice, &conv, json!({"text": "@bobby is not bob"}), None)).await;
    let bobs = summary(bob.clone()).await;
    assert_eq!(bobs["unread_mentions"], 1, "{bobs}");
    assert_eq!(bobs["unread_count"], 1, "only the contact's message; alice's replies are not unread");
    assert_eq!(summary(alice.clone()).await["unread_mentions"], 0);
    // Reading clears the unread mention.
    let history = body_json(
        send(&app, authed("GET", &format!("/api/v1/conversations/{conv}/messages"), &bob, None)).await,
    )
    .await;
    let newest = history[0]["id"].as_str().unwrap().to_owned();
    let read = send(
        &app,
        authed("POST", &format!("/api/v1/conversations/{conv}/read"), &bob, Some(json!({"up_to": newest}))),
    )
    .await;
    assert_eq!(read.status(), 200);
    assert_eq!(summary(bob.clone()).await["unread_mentions"], 0);

    // Stars are bob's own.
    let star = format!("/api/v1/messages/{newest}/star");
    assert_eq!(send(&app, authed("PUT", &star, &bob, None)).await.status(), 204);
    assert_eq!(send(&app, authed("PUT", &star, &bob, None)).await.status(), 204, "again: no change");
    let starred = body_json(send(&app, authed("GET", "/api/v1/starred", &bob, None)).await).await;
    assert_eq!(starred.as_array().unwrap().len(), 1);
    assert_eq!(starred[0]["id"], newest.as_str());
    let alices = body_json(send(&app, authed("GET", "/api/v1/starred", &alice, None)).await).await;
    assert!(alices.as_array().unwrap().is_empty());
    assert_eq!(send(&app, authed("DELETE", &star, &bob, None)).await.status(), 204);
    let starred = body_json(send(&app, authed("GET", "/api/v1/starred", &bob, None)).await).await;
    assert!(starred.as_array().unwrap().is_empty());
    let missing = format!("/api/v1/messages/{}/star", switchboard::MessageId::new());
    assert_eq!(send(&app, authed("PUT", &missing, &bob, None)).await.status(), 404);
}
