//! The agent's desk over REST, on SQLite and PostgreSQL: assignment ("assign to me" races have
//! one winner, the other is told), the list's assignment and label views, status with pending
//! and snooze (woken by its time and by the contact), labels (admins manage, agents apply, a
//! deleted label leaves every conversation), canned replies.

#[macro_use]
mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use switchboard_server::http::AppState;

app_test!(
    assign_to_me_has_one_winner_and_the_other_is_told,
    assignment_rules_and_views,
    pending_and_snooze_come_back_by_time_and_by_the_contact,
    labels_are_the_admins_and_agents_put_them_on,
    canned_replies_belong_to_every_agent,
    notes_stay_with_the_team,
    search_finds_words_where_the_caller_may_read,
);

/// `count` conversations with contacts of one Mock channel, newest last.
async fn conversations(app: &AppState, token: &str, count: usize) -> Vec<String> {
    let created = create_channel(app, token, json!({"provider": "mock", "name": "Mock"})).await;
    let id: switchboard::ChannelId = created["id"].as_str().unwrap().parse().unwrap();
    let ws = app.store.workspace_by_name("Acme Support").await.unwrap().unwrap().id;
    let channel = app.store.channel(ws, id).await.unwrap().unwrap();
    let mut ids = Vec::new();
    for n in 0..count {
        let written =
            contact_writes(app, &channel, &format!("+1555000{n:04}"), &format!("Contact {n}"), "hi").await;
        ids.push(written.conversation.id.to_string());
    }
    ids
}

async fn contact_writes_in(app: &AppState, conversation: &str, text: &str) {
    let id: switchboard::ConversationId = conversation.parse().unwrap();
    let ws = app.store.workspace_by_name("Acme Support").await.unwrap().unwrap().id;
    let c = app.store.conversation(ws, id).await.unwrap().unwrap();
    let channel = app.store.channel(ws, c.channel_id).await.unwrap().unwrap();
    // One-to-one chats are named by the contact's id on the network.
    contact_writes(app, &channel, &c.external_chat_id, &c.title, text).await;
}

async fn position(app: &AppState, token: &str) -> i64 {
    call(app, token, "GET", "/api/v1/sync?since=0&limit=500", None).await.1["next"].as_i64().unwrap()
}

/// The `conversation.updated` payloads since `since`.
async fn updates_since(app: &AppState, token: &str, since: i64) -> Vec<Value> {
    let sync = call(app, token, "GET", &format!("/api/v1/sync?since={since}&limit=500"), None).await.1;
    sync["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "conversation.updated")
        .map(|e| e["payload"].clone())
        .collect()
}

async fn list(app: &AppState, token: &str, query: &str) -> Vec<String> {
    let (status, body) = call(app, token, "GET", &format!("/api/v1/conversations?{query}"), None).await;
    assert_eq!(status, 200, "{query}: {body}");
    let mut ids: Vec<String> =
        body.as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect();
    ids.sort();
    ids
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

async fn user_id(app: &AppState, token: &str) -> String {
    app.accounts.authenticate(token).await.unwrap().user.id.to_string()
}

async fn assign_to_me_has_one_winner_and_the_other_is_told(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let bob = login(&app, "bob@example.com", "demo-password").await;
    let (alice_id, bob_id) = (user_id(&app, &alice).await, user_id(&app, &bob).await);
    let ids = conversations(&app, &alice, 6).await;
    let since = position(&app, &alice).await;
    let mut winners = Vec::new();
    for id in &ids {
        let uri = format!("/api/v1/conversations/{id}/claim");
        let (a, b) =
            tokio::join!(call(&app, &alice, "POST", &uri, None), call(&app, &bob, "POST", &uri, None));
        let (won, lost, winner) = match (a.0.as_u16(), b.0.as_u16()) {
            (200, 409) => (a.1, b.1, &alice_id),
            (409, 200) => (b.1, a.1, &bob_id),
            other => panic!("one of two claims wins, the other is refused: {other:?} {} {}", a.1, b.1),
        };
        assert_eq!(won["assignee_id"], winner.as_str());
        assert_eq!(error_code(&lost), "already_assigned");
        assert!(lost["error"]["message"].as_str().unwrap().contains("Someone else"), "{lost}");
        winners.push(winner.clone());
        // The winner claiming again changes nothing.
        let token = if winner == &alice_id { &alice } else { &bob };
        let (status, again) = call(&app, token, "POST", &uri, None).await;
        assert_eq!((status.as_u16(), again["assignee_id"].as_str()), (200, Some(winner.as_str())));
    }
    // One event per conversation: the winner's, nothing for the loser nor the repeat.
    let assigned: Vec<(String, String, String)> = updates_since(&app, &alice, since)
        .await
        .into_iter()
        .filter(|u| u.get("assigned_at").is_some())
        .map(|u| {
            let field = |k: &str| u[k].as_str().unwrap().to_owned();
            (field("conversation_id"), field("assignee_id"), field("assigned_by"))
        })
        .collect();
    let expected: Vec<(String, String, String)> =
        ids.iter().zip(&winners).map(|(c, w)| (c.clone(), w.clone(), w.clone())).collect();
    assert_eq!(assigned, expected);
    for (id, winner) in ids.iter().zip(&winners) {
        let c = call(&app, &alice, "GET", "/api/v1/conversations", None).await.1;
        let row = c.as_array().unwrap().iter().find(|c| c["id"] == id.as_str()).unwrap().clone();
        assert_eq!(row["assignee_id"], winner.as_str());
    }
}

async fn assignment_rules_and_views(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let bob = login(&app, "bob@example.com", "demo-password").await;
    let (alice_id, bob_id) = (user_id(&app, &alice).await, user_id(&app, &bob).await);
    let ids = conversations(&app, &alice, 3).await;
    let (mine, bobs, nobodys) = (&ids[0], &ids[1], &ids[2]);
    let assign =
        |id: &String, user: Value| (format!("/api/v1/conversations/{id}/assignee"), json!({"user_id": user}));

    let (uri, body) = assign(mine, json!(alice_id));
    assert_eq!(call(&app, &bob, "PUT", &uri, Some(body)).await.0, 200, "any agent assigns anyone");
    let (uri, body) = assign(bobs, json!(bob_id));
    assert_eq!(call(&app, &alice, "PUT", &uri, Some(body)).await.0, 200);

    // Assigned to someone else: "assign to me" is refused, an explicit assignment is not.
    let (status, refused) =
        call(&app, &bob, "POST", &format!("/api/v1/conversations/{mine}/claim"), None).await;
    assert_eq!((status.as_u16(), error_code(&refused).as_str()), (409, "already_assigned"));

    assert_eq!(list(&app, &alice, "assignee=me").await, vec![mine.clone()]);
    assert_eq!(list(&app, &bob, "assignee=me").await, vec![bobs.clone()]);
    assert_eq!(list(&app, &bob, &format!("assignee={alice_id}")).await, vec![mine.clone()]);
    let unassigned = list(&app, &alice, "assignee=none").await;
    assert!(unassigned.contains(nobodys) && !unassigned.contains(mine) && !unassigned.contains(bobs));

    // Handing over, then unassigning.
    let (uri, body) = assign(mine, json!(bob_id));
    let (status, moved) = call(&app, &alice, "PUT", &uri, Some(body)).await;
    assert_eq!((status.as_u16(), moved["assignee_id"].as_str()), (200, Some(bob_id.as_str())));
    assert_eq!(list(&app, &bob, "assignee=me").await, sorted(vec![mine.clone(), bobs.clone()]));
    let (status, freed) =
        call(&app, &bob, "DELETE", &format!("/api/v1/conversations/{mine}/assignee"), None).await;
    assert_eq!((status.as_u16(), &freed["assignee_id"]), (200, &Value::Null));
    assert!(list(&app, &alice, "assignee=none").await.contains(mine));

    // Refusals: not a person of the workspace, a malformed view, a room.
    let (uri, body) = assign(mine, json!(switchboard::UserId::new()));
    let (status, refused) = call(&app, &alice, "PUT", &uri, Some(body)).await;
    assert_eq!((status.as_u16(), refused["error"]["field"].as_str()), (422, Some("user_id")), "{refused}");
    let (status, refused) = call(&app, &alice, "GET", "/api/v1/conversations?assignee=everyone", None).await;
    assert_eq!((status.as_u16(), refused["error"]["field"].as_str()), (422, Some("assignee")));
    let inapp = create_channel(&app, &alice, json!({"provider": "inapp", "name": "Web chat"})).await;
    let room = call(
        &app,
        &alice,
        "POST",
        "/api/v1/conversations",
        Some(json!({"channel_id": inapp["id"], "title": "Team", "member_ids": [alice_id, bob_id]})),
    )
    .await
    .1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, refused) =
        call(&app, &alice, "POST", &format!("/api/v1/conversations/{room}/claim"), None).await;
    assert_eq!((status.as_u16(), error_code(&refused).as_str()), (422, "assignment_in_room"));
    // A member leaving the workspace leaves their conversations unassigned (the column's rule).
    let (_, member_list) = call(&app, &alice, "GET", "/api/v1/members", None).await;
    assert!(member_list.to_string().contains(&bob_id));
}

async fn pending_and_snooze_come_back_by_time_and_by_the_contact(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let ids = conversations(&app, &alice, 3).await;
    let patch = |id: &String| format!("/api/v1/conversations/{id}");
    let now = chrono::Utc::now();

    // Refusals first: every one is 422 on `snoozed_until` and changes nothing.
    for body in [
        json!({"status": "snoozed"}),
        json!({"status": "snoozed", "snoozed_until": now - chrono::Duration::minutes(1)}),
        json!({"status": "snoozed", "snoozed_until": now + chrono::Duration::days(400)}),
        json!({"status": "resolved", "snoozed_until": now + chrono::Duration::hours(1)}),
    ] {
        let (status, refused) = call(&app, &alice, "PATCH", &patch(&ids[0]), Some(body.clone())).await;
        assert_eq!(
            (status.as_u16(), refused["error"]["field"].as_str()),
            (422, Some("snoozed_until")),
            "{body}"
        );
    }
    let (status, refused) =
        call(&app, &alice, "PATCH", &patch(&ids[0]), Some(json!({"status": "later"}))).await;
    assert_eq!(status, 422, "{refused}");

    // Pending is a view of its own.
    let (status, parked) =
        call(&app, &alice, "PATCH", &patch(&ids[0]), Some(json!({"status": "pending"}))).await;
    assert_eq!((status.as_u16(), parked["status"].as_str()), (200, Some("pending")));
    assert_eq!(list(&app, &alice, "status=pending").await, vec![ids[0].clone()]);

    // A snooze ends by its time: the server's own loop opens it, and says so.
    let waker = tokio::spawn(switchboard_server::services::desk::wake_snoozed(app.store.clone()));
    let since = position(&app, &alice).await;
    let soon = chrono::Utc::now() + chrono::Duration::milliseconds(1500);
    let body = json!({"status": "snoozed", "snoozed_until": soon});
    let (status, snoozed) = call(&app, &alice, "PATCH", &patch(&ids[1]), Some(body)).await;
    assert_eq!((status.as_u16(), snoozed["status"].as_str()), (200, Some("snoozed")), "{snoozed}");
    assert!(snoozed["snoozed_until"].is_string());
    assert_eq!(list(&app, &alice, "status=snoozed").await, vec![ids[1].clone()]);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if list(&app, &alice, "status=open").await.contains(&ids[1]) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the snooze never ended");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    waker.abort();
    assert!(chrono::Utc::now() >= soon, "not before its time");
    let statuses: Vec<(String, Value)> = updates_since(&app, &alice, since)
        .await
        .into_iter()
        .filter(|u| u["conversation_id"] == ids[1].as_str())
        .map(|u| (u["status"].as_str().unwrap().to_owned(), u["snoozed_until"].clone()))
        .collect();
    assert_eq!(statuses.len(), 2, "{statuses:?}");
    assert_eq!(statuses[0].0, "snoozed");
    assert!(statuses[0].1.is_string());
    assert_eq!(statuses[1], ("open".to_owned(), Value::Null));

    // …or when the contact writes, long before its time.
    let later = chrono::Utc::now() + chrono::Duration::days(3);
    let body = json!({"status": "snoozed", "snoozed_until": later});
    assert_eq!(call(&app, &alice, "PATCH", &patch(&ids[2]), Some(body)).await.0, 200);
    contact_writes_in(&app, &ids[2], "are you there?").await;
    let open = call(&app, &alice, "GET", "/api/v1/conversations?status=open", None).await.1;
    let row = open.as_array().unwrap().iter().find(|c| c["id"] == ids[2].as_str()).cloned();
    let row = row.expect("open again");
    assert!(row.get("snoozed_until").is_none_or(Value::is_null), "{row}");
    // The parked one too.
    contact_writes_in(&app, &ids[0], "any news?").await;
    assert!(list(&app, &alice, "status=pending").await.is_empty());
}

async fn labels_are_the_admins_and_agents_put_them_on(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let bob = login(&app, "bob@example.com", "demo-password").await;
    let ids = conversations(&app, &alice, 2).await;

    let (status, vip) =
        call(&app, &alice, "POST", "/api/v1/labels", Some(json!({"name": " VIP ", "color": "#AA0000"})))
            .await;
    assert_eq!(status, 201, "{vip}");
    assert_eq!((vip["name"].as_str(), vip["color"].as_str()), (Some("VIP"), Some("#aa0000")));
    let (status, billing) =
        call(&app, &alice, "POST", "/api/v1/labels", Some(json!({"name": "billing"}))).await;
    assert_eq!(status, 201);
    assert!(billing["color"].as_str().unwrap().starts_with('#'), "a colour is picked");
    let (status, taken) = call(&app, &alice, "POST", "/api/v1/labels", Some(json!({"name": "vip"}))).await;
    assert_eq!((status.as_u16(), taken["error"]["field"].as_str()), (409, Some("name")), "{taken}");
    let (status, refused) = call(&app, &bob, "POST", "/api/v1/labels", Some(json!({"name": "mine"}))).await;
    assert_eq!((status.as_u16(), error_code(&refused).as_str()), (403, "forbidden"));
    let (status, refused) =
        call(&app, &alice, "POST", "/api/v1/labels", Some(json!({"name": "x", "color": "red"}))).await;
    assert_eq!((status.as_u16(), refused["error"]["field"].as_str()), (422, Some("color")));
    let names: Vec<Value> = call(&app, &bob, "GET", "/api/v1/labels", None)
        .await
        .1
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].clone())
        .collect();
    assert_eq!(names, [json!("billing"), json!("VIP")], "by name, whatever the case");

    // An agent puts them on; the set is kept in the order they were added; events say so.
    let (vip_id, billing_id) = (vip["id"].as_str().unwrap(), billing["id"].as_str().unwrap());
    let since = position(&app, &alice).await;
    let uri = format!("/api/v1/conversations/{}/labels", ids[0]);
    let (status, labelled) =
        call(&app, &bob, "PUT", &uri, Some(json!({"label_ids": [vip_id, billing_id, vip_id]}))).await;
    assert_eq!(status, 200, "{labelled}");
    assert_eq!(labelled["label_ids"], json!([vip_id, billing_id]));
    let (status, again) =
        call(&app, &bob, "PUT", &uri, Some(json!({"label_ids": [vip_id, billing_id]}))).await;
    assert_eq!((status.as_u16(), &again["label_ids"]), (200, &json!([vip_id, billing_id])));
    let other = format!("/api/v1/conversations/{}/labels", ids[1]);
    assert_eq!(call(&app, &bob, "PUT", &other, Some(json!({"label_ids": [billing_id]}))).await.0, 200);
    assert_eq!(list(&app, &alice, &format!("label_id={vip_id}")).await, vec![ids[0].clone()]);
    assert_eq!(list(&app, &alice, &format!("label_id={billing_id}")).await, sorted(ids.clone()));
    let unknown = json!({"label_ids": [switchboard::LabelId::new()]});
    let (status, refused) = call(&app, &bob, "PUT", &uri, Some(unknown)).await;
    assert_eq!((status.as_u16(), refused["error"]["field"].as_str()), (422, Some("label_ids")));
    let too_many: Vec<String> = (0..21).map(|_| switchboard::LabelId::new().to_string()).collect();
    let (status, _) = call(&app, &bob, "PUT", &uri, Some(json!({"label_ids": too_many}))).await;
    assert_eq!(status, 422);

    // Renamed, then deleted: it leaves every conversation, each with its event.
    let (status, renamed) = call(
        &app,
        &alice,
        "PATCH",
        &format!("/api/v1/labels/{billing_id}"),
        Some(json!({"name": "Billing", "color": "#00aa00"})),
    )
    .await;
    assert_eq!((status.as_u16(), renamed["name"].as_str()), (200, Some("Billing")));
    assert_eq!(call(&app, &alice, "DELETE", &format!("/api/v1/labels/{billing_id}"), None).await.0, 204);
    assert_eq!(call(&app, &alice, "DELETE", &format!("/api/v1/labels/{billing_id}"), None).await.0, 404);
    let all = call(&app, &alice, "GET", "/api/v1/conversations", None).await.1;
    let labels_of =
        |id: &str| all.as_array().unwrap().iter().find(|c| c["id"] == id).unwrap()["label_ids"].clone();
    assert_eq!(labels_of(&ids[0]), json!([vip_id]));
    assert_eq!(labels_of(&ids[1]), json!([]));
    let changes: Vec<(String, Value)> = updates_since(&app, &alice, since)
        .await
        .into_iter()
        .filter(|u| u.get("label_ids").is_some())
        .map(|u| (u["conversation_id"].as_str().unwrap().to_owned(), u["label_ids"].clone()))
        .collect();
    assert_eq!(
        changes,
        [
            (ids[0].clone(), json!([vip_id, billing_id])),
            (ids[1].clone(), json!([billing_id])),
            (ids[0].clone(), json!([vip_id])),
            (ids[1].clone(), json!([])),
        ]
    );
}

async fn canned_replies_belong_to_every_agent(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let bob = login(&app, "bob@example.com", "demo-password").await;
    let body = json!({"short_code": "/Thanks", "text": "Thank you {{contact.first_name}}! — {{agent.name}}"});
    let (status, thanks) = call(&app, &bob, "POST", "/api/v1/canned-replies", Some(body)).await;
    assert_eq!(status, 201, "{thanks}");
    assert_eq!(thanks["short_code"], "thanks");
    let (status, taken) = call(
        &app,
        &alice,
        "POST",
        "/api/v1/canned-replies",
        Some(json!({"short_code": "THANKS", "text": "x"})),
    )
    .await;
    assert_eq!((status.as_u16(), taken["error"]["field"].as_str()), (409, Some("short_code")));
    for (body, field) in [
        (json!({"short_code": "two words", "text": "x"}), "short_code"),
        (json!({"short_code": "empty", "text": "  "}), "text"),
        (json!({"short_code": "long", "text": "x".repeat(5000)}), "text"),
    ] {
        let (status, refused) = call(&app, &alice, "POST", "/api/v1/canned-replies", Some(body)).await;
        assert_eq!((status.as_u16(), refused["error"]["field"].as_str()), (422, Some(field)), "{refused}");
    }
    let (status, _) = call(
        &app,
        &alice,
        "POST",
        "/api/v1/canned-replies",
        Some(json!({"short_code": "hours", "text": "We answer 9–17."})),
    )
    .await;
    assert_eq!(status, 201);
    let codes: Vec<Value> = call(&app, &alice, "GET", "/api/v1/canned-replies", None)
        .await
        .1
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["short_code"].clone())
        .collect();
    assert_eq!(codes, [json!("hours"), json!("thanks")]);
    let id = thanks["id"].as_str().unwrap();
    let (status, edited) = call(
        &app,
        &alice,
        "PATCH",
        &format!("/api/v1/canned-replies/{id}"),
        Some(json!({"short_code": "ty", "text": "Thanks!"})),
    )
    .await;
    assert_eq!(
        (status.as_u16(), edited["short_code"].as_str(), edited["text"].as_str()),
        (200, Some("ty"), Some("Thanks!"))
    );
    assert_eq!(call(&app, &bob, "DELETE", &format!("/api/v1/canned-replies/{id}"), None).await.0, 204);
    assert_eq!(call(&app, &bob, "DELETE", &format!("/api/v1/canned-replies/{id}"), None).await.0, 404);
    let other = switchboard::CannedReplyId::new();
    let (status, _) = call(
        &app,
        &bob,
        "PATCH",
        &format!("/api/v1/canned-replies/{other}"),
        Some(json!({"short_code": "a", "text": "b"})),
    )
    .await;
    assert_eq!(status, 404);
}

async fn notes_stay_with_the_team(app: AppState, raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let bob = login(&app, "bob@example.com", "demo-password").await;
    let ids = conversations(&app, &alice, 1).await;
    let conv = &ids[0];
    let before = call(&app, &alice, "GET", "/api/v1/conversations", None).await.1;
    let preview = |list: &Value| {
        list.as_array().unwrap().iter().find(|c| c["id"] == conv.as_str()).unwrap()["last_message_preview"]
            .clone()
    };
    let since = position(&app, &alice).await;
    let uri = format!("/api/v1/conversations/{conv}/messages");
    let body =
        json!({"text": "Refund approved, @bob please follow up", "note": true, "client_message_id": "n-1"});
    let (status, note) = call(&app, &alice, "POST", &uri, Some(body.clone())).await;
    assert_eq!(status, 201, "{note}");
    assert_eq!((note["note"].as_bool(), note["status"].as_str()), (Some(true), Some("sent")));
    let id: switchboard::MessageId = note["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(raw.outbox_rows(id).await, 0, "a note is never queued for the network");
    let (status, again) = call(&app, &alice, "POST", &uri, Some(body)).await;
    assert_eq!((status.as_u16(), &again["id"]), (200, &note["id"]), "idempotent like any send");

    // In the history, for the team; the list's preview stays the customer's.
    let history = call(&app, &bob, "GET", &format!("{uri}?limit=5"), None).await.1;
    assert_eq!(history[0]["id"], note["id"]);
    assert_eq!(history[0]["note"], true);
    let after = call(&app, &bob, "GET", "/api/v1/conversations", None).await.1;
    assert_eq!(preview(&after), preview(&before));
    let row = after.as_array().unwrap().iter().find(|c| c["id"] == conv.as_str()).unwrap().clone();
    assert_eq!(row["unread_mentions"], 1, "the mention reaches Bob: {row}");

    // Its events: `message.created` on the conversation's topic only, no list move.
    let sync = call(&app, &alice, "GET", &format!("/api/v1/sync?since={since}&limit=500"), None).await.1;
    let kinds: Vec<(String, String)> = sync["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["type"].as_str().unwrap().to_owned(), e["topic"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(kinds, [("message.created".to_owned(), format!("conversation:{conv}"))]);

    // A reply to the contact still goes out; a note in a room or as a template does not exist.
    let (status, reply) = call(&app, &alice, "POST", &uri, Some(json!({"text": "Done!"}))).await;
    assert_eq!((status.as_u16(), reply["note"].as_bool()), (201, None));
    let reply_id: switchboard::MessageId = reply["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(raw.outbox_rows(reply_id).await, 1);
    let template = json!({"note": true, "template": {"name": "hello", "language": "en", "parameters": []}});
    let (status, refused) = call(&app, &alice, "POST", &uri, Some(template)).await;
    assert_eq!((status.as_u16(), refused["error"]["field"].as_str()), (422, Some("note")), "{refused}");
    let inapp = create_channel(&app, &alice, json!({"provider": "inapp", "name": "Web chat"})).await;
    let alice_id = user_id(&app, &alice).await;
    let room = call(
        &app,
        &alice,
        "POST",
        "/api/v1/conversations",
        Some(json!({"channel_id": inapp["id"], "title": "Team", "member_ids": [alice_id]})),
    )
    .await
    .1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, refused) = call(
        &app,
        &alice,
        "POST",
        &format!("/api/v1/conversations/{room}/messages"),
        Some(json!({"text": "psst", "note": true})),
    )
    .await;
    assert_eq!((status.as_u16(), refused["error"]["field"].as_str()), (422, Some("note")), "{refused}");
}

async fn search_finds_words_where_the_caller_may_read(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let bob = login(&app, "bob@example.com", "demo-password").await;
    let alice_id = user_id(&app, &alice).await;
    let ids = conversations(&app, &alice, 1).await;
    let conv = &ids[0];
    contact_writes_in(&app, conv, "My order 5521 never arrived, I want a refund").await;
    for n in 0..30 {
        contact_writes_in(&app, conv, &format!("filler {n}")).await;
    }
    let uri = format!("/api/v1/conversations/{conv}/messages");
    let sent =
        call(&app, &alice, "POST", &uri, Some(json!({"text": "The refund for order 5521 is on its way"})))
            .await
            .1;
    let gone = call(&app, &alice, "POST", &uri, Some(json!({"text": "refund typo"}))).await.1;
    assert_eq!(
        call(&app, &alice, "DELETE", &format!("/api/v1/messages/{}", gone["id"].as_str().unwrap()), None)
            .await
            .0,
        200
    );
    // A room only Alice is in.
    let inapp = create_channel(&app, &alice, json!({"provider": "inapp", "name": "Web chat"})).await;
    let room = call(
        &app,
        &alice,
        "POST",
        "/api/v1/conversations",
        Some(json!({"channel_id": inapp["id"], "title": "Owners", "member_ids": [alice_id]})),
    )
    .await
    .1;
    let room = room["id"].as_str().unwrap();
    let secret = json!({"text": "the refund policy changes in May"});
    assert_eq!(
        call(&app, &alice, "POST", &format!("/api/v1/conversations/{room}/messages"), Some(secret)).await.0,
        201
    );

    let search = |token: String, q: &'static str| {
        let app = app.clone();
        async move {
            let (status, body) =
                call(&app, &token, "GET", &format!("/api/v1/search/messages?q={q}"), None).await;
            assert_eq!(status, 200, "{q}: {body}");
            body.as_array().unwrap().clone()
        }
    };
    let texts = |hits: &[Value]| {
        hits.iter().map(|h| h["message"]["text"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
    };
    // Newest first; the deleted one is gone; Bob (an agent) does not read Alice's room.
    let hits = search(bob.clone(), "refund").await;
    assert_eq!(
        texts(&hits),
        ["The refund for order 5521 is on its way", "My order 5521 never arrived, I want a refund"]
    );
    assert_eq!(hits[0]["conversation_title"], "Contact 0");
    let marked: Vec<(String, bool)> = hits[0]["snippet"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["text"].as_str().unwrap().to_owned(), p["hit"].as_bool().unwrap_or(false)))
        .collect();
    assert!(marked.contains(&("refund".to_owned(), true)), "{marked:?}");
    assert!(
        marked.iter().filter(|(_, hit)| *hit).all(|(t, _)| t.eq_ignore_ascii_case("refund")),
        "{marked:?}"
    );
    assert_eq!(search(alice.clone(), "refund").await.len(), 3, "the owner reads every room");
    // Every word must be there; the last one is a prefix; case and punctuation do not matter.
    assert_eq!(texts(&search(bob.clone(), "ORDER,%20refu").await).len(), 2);
    assert_eq!(
        texts(&search(bob.clone(), "arrived%20refund").await),
        ["My order 5521 never arrived, I want a refund"]
    );
    assert!(search(bob.clone(), "refund%20pizza").await.is_empty());
    // Syntax is only ever words.
    assert_eq!(search(bob.clone(), "%22refund%22%20OR%20x*").await.len(), 0);
    // Paging.
    let (status, page) = call(&app, &bob, "GET", "/api/v1/search/messages?q=refund&limit=1", None).await;
    assert_eq!((status.as_u16(), page.as_array().unwrap().len()), (200, 1));
    let next = format!(
        "/api/v1/search/messages?q=refund&limit=1&before={}",
        page[0]["message"]["id"].as_str().unwrap()
    );
    assert_eq!(
        texts(call(&app, &bob, "GET", &next, None).await.1.as_array().unwrap()),
        ["My order 5521 never arrived, I want a refund"]
    );
    for bad in ["q=", "q=%21%21", "q=a&limit=0", "q=a&limit=51"] {
        let (status, refused) =
            call(&app, &bob, "GET", &format!("/api/v1/search/messages?{bad}"), None).await;
        assert_eq!(status, 422, "{bad}: {refused}");
    }
    // An edit is found by its new words.
    let sent_id = sent["id"].as_str().unwrap();
    let edit = json!({"text": "The reimbursement for order 5521 is on its way"});
    assert_eq!(call(&app, &alice, "PATCH", &format!("/api/v1/messages/{sent_id}"), Some(edit)).await.0, 200);
    assert_eq!(search(bob.clone(), "reimbursement").await.len(), 1);
    assert_eq!(search(bob.clone(), "refund").await.len(), 1);

    // A hit opens its conversation around it: older and newer messages, newest first.
    let hit = search(bob.clone(), "arrived").await;
    let target = hit[0]["message"]["id"].as_str().unwrap();
    let (status, page) = call(&app, &bob, "GET", &format!("{uri}?around={target}&limit=10"), None).await;
    assert_eq!(status, 200, "{page}");
    let page = page.as_array().unwrap();
    let texts_of =
        |page: &[Value]| page.iter().map(|m| m["text"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    assert_eq!(
        texts_of(page),
        [
            "filler 3",
            "filler 2",
            "filler 1",
            "filler 0",
            "My order 5521 never arrived, I want a refund",
            "hi"
        ],
        "the target, half a page from it on, and what is older (one message)"
    );
    assert_eq!(page[4]["id"], target);
    let middle = search(bob.clone(), "filler%2015").await;
    let middle = middle[0]["message"]["id"].as_str().unwrap();
    let page = call(&app, &bob, "GET", &format!("{uri}?around={middle}&limit=10"), None).await.1;
    let page: Vec<&str> = page.as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(page.len(), 10);
    assert_eq!((page[0], page[4], page[9]), ("filler 19", "filler 15", "filler 10"));
    let other = switchboard::MessageId::new();
    assert_eq!(call(&app, &bob, "GET", &format!("{uri}?around={other}"), None).await.0, 404);
    assert_eq!(call(&app, &bob, "GET", &format!("{uri}?around={middle}&before={middle}"), None).await.0, 422);
}
