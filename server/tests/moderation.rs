//! Moderation over REST, on SQLite and PostgreSQL: bans (and shadow bans, and bans that end),
//! frozen rooms and slow mode, the blocklist with the queue acting on its flags, mutes, and
//! the record of every action.

#[macro_use]
mod common;

use std::time::Duration;

use axum::http::StatusCode;
use common::*;
use serde_json::{Value, json};
use switchboard_server::http::AppState;

app_test!(
    bans_refuse_and_shadow_bans_hide,
    frozen_rooms_and_slow_mode,
    the_blocklist_blocks_or_flags_and_the_queue_acts,
    mutes_silence_someone_for_oneself,
);

struct Room {
    alice: String,
    bob: String,
    alice_id: String,
    bob_id: String,
    id: String,
}

async fn room(app: &AppState) -> Room {
    let alice = login(app, "alice@example.com", "demo-password").await;
    let bob = login(app, "bob@example.com", "demo-password").await;
    let alice_id = app.accounts.authenticate(&alice).await.unwrap().user.id.to_string();
    let bob_id = app.accounts.authenticate(&bob).await.unwrap().user.id.to_string();
    let inapp = create_channel(app, &alice, json!({"provider": "inapp", "name": "Web chat"})).await;
    let created = send(
        app,
        authed(
            "POST",
            "/api/v1/conversations",
            &alice,
            Some(
                json!({"channel_id": inapp["id"], "title": "Town square", "member_ids": [alice_id, bob_id]}),
            ),
        ),
    )
    .await;
    let id = body_json(created).await["id"].as_str().unwrap().to_owned();
    Room { alice, bob, alice_id, bob_id, id }
}

async fn say(app: &AppState, token: &str, conv: &str, text: &str) -> (StatusCode, Value) {
    call(app, token, "POST", &format!("/api/v1/conversations/{conv}/messages"), Some(json!({"text": text})))
        .await
}

async fn texts(app: &AppState, token: &str, conv: &str) -> Vec<String> {
    let history = call(app, token, "GET", &format!("/api/v1/conversations/{conv}/messages"), None).await.1;
    history.as_array().unwrap().iter().rev().map(|m| m["text"].as_str().unwrap().to_owned()).collect()
}

async fn unread(app: &AppState, token: &str, conv: &str) -> Value {
    let list = call(app, token, "GET", "/api/v1/conversations", None).await.1;
    list.as_array().unwrap().iter().find(|c| c["id"] == conv).expect("listed")["unread_count"].clone()
}

async fn bans_refuse_and_shadow_bans_hide(app: AppState, _raw: Raw) {
    let r = room(&app).await;
    assert_eq!(say(&app, &r.bob, &r.id, "hello all").await.0, 201);

    // A ban from the room: Bob reads, but cannot post.
    let (status, ban) = call(
        &app,
        &r.alice,
        "POST",
        "/api/v1/moderation/bans",
        Some(json!({"user_id": r.bob_id, "conversation_id": r.id, "reason": "spam"})),
    )
    .await;
    assert_eq!(status, 201, "{ban}");
    let (status, refused) = say(&app, &r.bob, &r.id, "let me in").await;
    assert_eq!((status.as_u16(), refused["error"]["code"].as_str()), (403, Some("banned")), "{refused}");
    assert_eq!(texts(&app, &r.bob, &r.id).await, ["hello all"], "reading goes on; nothing refused is stored");
    let bans =
        call(&app, &r.alice, "GET", &format!("/api/v1/moderation/bans?conversation_id={}", r.id), None)
            .await
            .1;
    assert_eq!(bans.as_array().unwrap().len(), 1);
    let (status, _) = call(
        &app,
        &r.alice,
        "DELETE",
        &format!("/api/v1/moderation/bans/{}", ban["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(say(&app, &r.bob, &r.id, "back again").await.0, 201);

    // A shadow ban: Bob's messages are answered as usual, and only Bob ever sees them.
    let shadow = json!({"user_id": r.bob_id, "conversation_id": r.id, "shadow": true});
    assert_eq!(call(&app, &r.alice, "POST", "/api/v1/moderation/bans", Some(shadow)).await.0, 201);
    let since =
        call(&app, &r.alice, "GET", "/api/v1/sync?since=0&limit=500", None).await.1["next"].as_i64().unwrap();
    let bob_since =
        call(&app, &r.bob, "GET", "/api/v1/sync?since=0&limit=500", None).await.1["next"].as_i64().unwrap();
    let unread_before = unread(&app, &r.alice, &r.id).await;
    let (status, hidden) = say(&app, &r.bob, &r.id, "nobody hears me").await;
    assert_eq!(status, 201, "{hidden}");
    assert_eq!(texts(&app, &r.bob, &r.id).await, ["hello all", "back again", "nobody hears me"]);
    assert_eq!(texts(&app, &r.alice, &r.id).await, ["hello all", "back again"]);
    assert_eq!(unread(&app, &r.alice, &r.id).await, unread_before, "not unread for anyone else");
    let theirs = call(&app, &r.alice, "GET", &format!("/api/v1/sync?since={since}&limit=500"), None).await.1;
    assert!(
        !theirs.to_string().contains(hidden["id"].as_str().unwrap()),
        "no event reaches others: {theirs}"
    );
    let own = call(&app, &r.bob, "GET", &format!("/api/v1/sync?since={bob_since}&limit=500"), None).await.1;
    let created: Vec<&Value> =
        own["events"].as_array().unwrap().iter().filter(|e| e["type"] == "message.created").collect();
    assert_eq!(created.len(), 1, "{own}");
    assert_eq!(created[0]["topic"], format!("user:{}", r.bob_id));

    // Who may ban whom.
    let (status, _) = call(
        &app,
        &r.bob,
        "POST",
        "/api/v1/moderation/bans",
        Some(json!({"user_id": r.alice_id, "conversation_id": r.id})),
    )
    .await;
    assert_eq!(status, 403, "a member who is no moderator");
    let (status, staff) =
        call(&app, &r.alice, "POST", "/api/v1/moderation/bans", Some(json!({"user_id": r.bob_id}))).await;
    assert_eq!(status, 422, "a workspace-wide ban is for app users: {staff}");
    let (status, _) = call(
        &app,
        &r.alice,
        "POST",
        "/api/v1/moderation/bans",
        Some(json!({"user_id": r.alice_id, "conversation_id": r.id})),
    )
    .await;
    assert_eq!(status, 422, "not oneself");
    let (status, _) = call(
        &app,
        &r.alice,
        "POST",
        "/api/v1/moderation/bans",
        Some(json!({"user_id": r.bob_id, "conversation_id": r.id, "duration_secs": 0})),
    )
    .await;
    assert_eq!(status, 422);

    // A ban with an end ends.
    let all = call(&app, &r.alice, "GET", "/api/v1/moderation/bans", None).await.1;
    for ban in all.as_array().unwrap() {
        call(
            &app,
            &r.alice,
            "DELETE",
            &format!("/api/v1/moderation/bans/{}", ban["id"].as_str().unwrap()),
            None,
        )
        .await;
    }
    let brief = json!({"user_id": r.bob_id, "conversation_id": r.id, "duration_secs": 1});
    assert_eq!(call(&app, &r.alice, "POST", "/api/v1/moderation/bans", Some(brief)).await.0, 201);
    assert_eq!(say(&app, &r.bob, &r.id, "now?").await.0, 403);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(say(&app, &r.bob, &r.id, "now!").await.0, 201);
}

async fn frozen_rooms_and_slow_mode(app: AppState, _raw: Raw) {
    let r = room(&app).await;
    let since =
        call(&app, &r.bob, "GET", "/api/v1/sync?since=0&limit=500", None).await.1["next"].as_i64().unwrap();
    let (status, frozen) =
        call(&app, &r.alice, "PUT", &format!("/api/v1/conversations/{}/freeze", r.id), None).await;
    assert_eq!((status.as_u16(), frozen["frozen"].as_bool()), (200, Some(true)), "{frozen}");
    for who in [&r.bob, &r.alice] {
        let (status, refused) = say(&app, who, &r.id, "anyone?").await;
        assert_eq!((status.as_u16(), refused["error"]["code"].as_str()), (403, Some("room_frozen")));
    }
    assert_eq!(
        call(&app, &r.bob, "GET", &format!("/api/v1/conversations/{}/messages", r.id), None).await.0,
        200
    );
    let events = call(&app, &r.bob, "GET", &format!("/api/v1/sync?since={since}&limit=500"), None).await.1;
    let rules: Vec<&Value> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["payload"].get("frozen").is_some())
        .collect();
    assert_eq!(rules[0]["type"], "conversation.updated");
    assert_eq!(rules[0]["payload"]["frozen"], true);
    assert_eq!(
        call(&app, &r.bob, "DELETE", &format!("/api/v1/conversations/{}/freeze", r.id), None).await.0,
        403,
        "Bob moderates nothing"
    );
    let (_, thawed) =
        call(&app, &r.alice, "DELETE", &format!("/api/v1/conversations/{}/freeze", r.id), None).await;
    assert!(thawed.get("frozen").is_none(), "{thawed}");

    // Slow mode: once per 30 s for members; moderators are not slowed.
    let slow = format!("/api/v1/conversations/{}/slow-mode", r.id);
    let (status, slowed) = call(&app, &r.alice, "PUT", &slow, Some(json!({"seconds": 30}))).await;
    assert_eq!((status.as_u16(), slowed["slow_mode_secs"].as_u64()), (200, Some(30)));
    assert_eq!(say(&app, &r.bob, &r.id, "first").await.0, 201);
    let response = send(
        &app,
        authed(
            "POST",
            &format!("/api/v1/conversations/{}/messages", r.id),
            &r.bob,
            Some(json!({"text": "second"})),
        ),
    )
    .await;
    assert_eq!(response.status(), 429);
    let wait: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((29..=30).contains(&wait), "{wait}");
    let refused = body_json(response).await;
    assert_eq!(refused["error"]["code"], "slow_mode");
    assert!(refused["error"]["message"].as_str().unwrap().contains("seconds"), "{refused}");
    assert_eq!(say(&app, &r.alice, &r.id, "mod 1").await.0, 201);
    assert_eq!(say(&app, &r.alice, &r.id, "mod 2").await.0, 201);
    assert_eq!(texts(&app, &r.bob, &r.id).await, ["first", "mod 1", "mod 2"]);
    assert_eq!(call(&app, &r.alice, "PUT", &slow, Some(json!({"seconds": 0}))).await.0, 200);
    assert_eq!(say(&app, &r.bob, &r.id, "free again").await.0, 201);
    assert_eq!(call(&app, &r.alice, "PUT", &slow, Some(json!({"seconds": 86_401}))).await.0, 422);

    // Contact conversations are no rooms.
    let mock = create_channel(&app, &r.alice, json!({"provider": "mock", "name": "Mock"})).await;
    let ws = app.store.workspace_by_name("Acme Support").await.unwrap().unwrap().id;
    let ch = app.store.channel(ws, mock["id"].as_str().unwrap().parse().unwrap()).await.unwrap().unwrap();
    let conv = contact_writes(&app, &ch, "+15550000090", "Maria", "hi").await.conversation.id;
    let (status, refused) =
        call(&app, &r.alice, "PUT", &format!("/api/v1/conversations/{conv}/freeze"), None).await;
    assert_eq!((status.as_u16(), refused["error"]["code"].as_str()), (422, Some("not_a_room")));
}

async fn the_blocklist_blocks_or_flags_and_the_queue_acts(app: AppState, _raw: Raw) {
    let r = room(&app).await;
    let words =
        json!({"words": [{"word": "Crème Brûlée", "action": "block"}, {"word": "refund", "action": "flag"}]});
    let (status, list) = call(&app, &r.alice, "PUT", "/api/v1/moderation/blocklist", Some(words)).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list[0]["word"], "creme brulee", "folded: lower case, no accents");
    assert_eq!(call(&app, &r.bob, "GET", "/api/v1/moderation/blocklist", None).await.0, 403);

    let (status, refused) = say(&app, &r.bob, &r.id, "I want CREME BRÛLÉE now").await;
    assert_eq!((status.as_u16(), refused["error"]["code"].as_str()), (422, Some("blocked_words")));
    assert_eq!(say(&app, &r.bob, &r.id, "cremebrulee is one word").await.0, 201, "whole words only");
    let (status, flagged) = say(&app, &r.bob, &r.id, "give me a Refund!").await;
    assert_eq!(status, 201, "flagged words go through");
    let (_, rude) = say(&app, &r.alice, &r.id, "read the manual").await;
    let (status, flag) = call(
        &app,
        &r.bob,
        "POST",
        &format!("/api/v1/messages/{}/flag", rude["id"].as_str().unwrap()),
        Some(json!({"reason": "rude"})),
    )
    .await;
    assert_eq!(status, 201, "{flag}");
    assert_eq!(flag["target_user_id"], r.alice_id.as_str());
    let (status, _) = call(
        &app,
        &r.bob,
        "POST",
        &format!("/api/v1/messages/{}/flag", rude["id"].as_str().unwrap()),
        Some(json!({"reason": " "})),
    )
    .await;
    assert_eq!(status, 422, "a reason is needed");

    // The queue: the newest first, each with its message in context.
    assert_eq!(call(&app, &r.bob, "GET", "/api/v1/moderation/flags", None).await.0, 403);
    let queue = call(&app, &r.alice, "GET", "/api/v1/moderation/flags", None).await.1;
    let queue = queue.as_array().unwrap().clone();
    assert_eq!(queue.len(), 2);
    assert_eq!(queue[0]["flag"]["reason"], "rude");
    assert_eq!(queue[1]["flag"]["reason"], "blocklist: refund");
    assert!(queue[1]["flag"]["flagged_by"].is_null());
    let context: Vec<&str> =
        queue[1]["context"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(context, ["cremebrulee is one word", "give me a Refund!"]);
    assert_eq!(queue[1]["flag"]["message_id"], flagged["id"]);

    // Acting on them: delete the flagged message, dismiss the other, ban on a third.
    let resolve = |id: &Value| format!("/api/v1/moderation/flags/{}/resolve", id.as_str().unwrap());
    let (status, done) = call(
        &app,
        &r.alice,
        "POST",
        &resolve(&queue[1]["flag"]["id"]),
        Some(json!({"action": "delete_message"})),
    )
    .await;
    assert_eq!((status.as_u16(), done["status"].as_str()), (200, Some("actioned")), "{done}");
    assert!(!texts(&app, &r.bob, &r.id).await.contains(&"give me a Refund!".to_owned()));
    assert_eq!(
        call(&app, &r.alice, "POST", &resolve(&queue[1]["flag"]["id"]), Some(json!({"action": "dismiss"})))
            .await
            .0,
        409
    );
    let (_, dismissed) =
        call(&app, &r.alice, "POST", &resolve(&queue[0]["flag"]["id"]), Some(json!({"action": "dismiss"})))
            .await;
    assert_eq!(dismissed["status"], "dismissed");
    say(&app, &r.bob, &r.id, "refund me again").await;
    let queue = call(&app, &r.alice, "GET", "/api/v1/moderation/flags", None).await.1;
    assert_eq!(queue.as_array().unwrap().len(), 1, "only open ones by default");
    let (status, _) = call(
        &app,
        &r.alice,
        "POST",
        &resolve(&queue[0]["flag"]["id"]),
        Some(json!({"action": "ban", "duration_secs": 600})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(say(&app, &r.bob, &r.id, "hello?").await.0, 403, "banned from the flag's room");
    let all = call(&app, &r.alice, "GET", "/api/v1/moderation/flags?status=all", None).await.1;
    assert_eq!(all.as_array().unwrap().len(), 3);
    assert_eq!(call(&app, &r.alice, "GET", "/api/v1/moderation/flags?status=maybe", None).await.0, 422);

    // Every action is on record: who, what, when.
    let log = call(&app, &r.alice, "GET", "/api/v1/moderation/actions", None).await.1;
    let actions: Vec<&str> =
        log.as_array().unwrap().iter().rev().map(|a| a["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["blocklist", "flag", "flag", "delete_message", "dismiss", "flag", "ban", "ban"]);
    assert_eq!(log[0]["actor_id"], r.alice_id.as_str());
    assert!(log[0]["created_at"].is_string());
    assert_eq!(call(&app, &r.bob, "GET", "/api/v1/moderation/actions", None).await.0, 403);
}

async fn mutes_silence_someone_for_oneself(app: AppState, _raw: Raw) {
    let r = room(&app).await;
    assert_eq!(call(&app, &r.bob, "PUT", &format!("/api/v1/mutes/{}", r.alice_id), None).await.0, 204);
    assert_eq!(call(&app, &r.bob, "GET", "/api/v1/mutes", None).await.1, json!([r.alice_id]));
    say(&app, &r.alice, &r.id, "muted words").await;
    assert_eq!(unread(&app, &r.bob, &r.id).await, 0, "a muted member's messages are not unread");
    assert_eq!(texts(&app, &r.bob, &r.id).await, ["muted words"], "still there to read");
    assert_eq!(call(&app, &r.bob, "DELETE", &format!("/api/v1/mutes/{}", r.alice_id), None).await.0, 204);
    say(&app, &r.alice, &r.id, "heard again").await;
    assert_eq!(unread(&app, &r.bob, &r.id).await, 2);
    assert_eq!(call(&app, &r.bob, "PUT", &format!("/api/v1/mutes/{}", r.bob_id), None).await.0, 422);
    assert_eq!(
        call(&app, &r.bob, "PUT", &format!("/api/v1/mutes/{}", switchboard::UserId::new()), None).await.0,
        404
    );
}
