//! Automatic assignment, on SQLite and PostgreSQL: a channel that assigns by itself gives each
//! unassigned conversation a customer writes in to the next agent online, round-robin, and
//! nobody when it is off; who is online is what the bus says (as another node would); a
//! conversation a chatbot flow starts on is left to the bot, even when the assigner hears the
//! message first.

#[macro_use]
mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use switchboard_server::http::AppState;

app_test!(round_robin_among_the_agents_online, a_conversation_a_flow_starts_is_left_to_the_bot);

async fn user_id(app: &AppState, token: &str) -> String {
    app.accounts.authenticate(token).await.unwrap().user.id.to_string()
}

async fn round_robin_among_the_agents_online(app: AppState, _raw: Raw) {
    use switchboard_server::realtime::BusMessage;
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let bob = login(&app, "bob@example.com", "demo-password").await;
    let (alice_id, bob_id) = (user_id(&app, &alice).await, user_id(&app, &bob).await);
    let created = create_channel(&app, &alice, json!({"provider": "mock", "name": "Mock"})).await;
    let id: switchboard::ChannelId = created["id"].as_str().unwrap().parse().unwrap();
    let ws = app.store.workspace_by_name("Acme Support").await.unwrap().unwrap().id;
    let channel = app.store.channel(ws, id).await.unwrap().unwrap();
    let inbound = app.realtime.bus().watch_messages();
    let inbound = std::sync::Arc::new(tokio::sync::Mutex::new(inbound));
    let assigner = tokio::spawn(switchboard_server::services::desk::auto_assign(
        app.store.clone(),
        app.realtime.hub.clone(),
        inbound,
    ));
    let online = |user: &String, on: bool| {
        let (user, workspaces, client) = (user.parse().unwrap(), vec![ws], format!("client-{user}"));
        app.realtime.hub.apply(&if on {
            BusMessage::Online { workspaces, user, client }
        } else {
            BusMessage::Offline { workspaces, user, client }
        });
    };
    online(&alice_id, true);
    online(&bob_id, true);
    let uri = format!("/api/v1/channels/{id}/auto-assign");
    assert_eq!(call(&app, &bob, "GET", &uri, None).await.1, json!({"enabled": false}));
    let (status, refused) = call(&app, &bob, "PUT", &uri, Some(json!({"enabled": true}))).await;
    assert_eq!((status.as_u16(), error_code(&refused).as_str()), (403, "forbidden"));

    // Off: nobody is assigned.
    let first = contact_writes(&app, &channel, "+15550100", "Off", "hi").await.conversation.id;
    let assignee = |id: switchboard::ConversationId| {
        let app = app.clone();
        async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
            loop {
                let c = app.store.conversation(ws, id).await.unwrap().unwrap();
                if c.assignee_id.is_some() || tokio::time::Instant::now() > deadline {
                    return c.assignee_id.map(|a| a.to_string());
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.store.conversation(ws, first).await.unwrap().unwrap().assignee_id, None);

    // On: new conversations go round the two agents online, fairly.
    assert_eq!(call(&app, &alice, "PUT", &uri, Some(json!({"enabled": true}))).await.0, 200);
    assert_eq!(call(&app, &bob, "GET", &uri, None).await.1, json!({"enabled": true}));
    let mut got = Vec::new();
    for n in 0..4 {
        let c = contact_writes(&app, &channel, &format!("+1555020{n}"), "Customer", "hello")
            .await
            .conversation
            .id;
        got.push(assignee(c).await.expect("assigned"));
    }
    assert_ne!(got[0], got[1], "{got:?}");
    assert_eq!((&got[0], &got[1]), (&got[2], &got[3]), "round and round: {got:?}");
    // A second message of an assigned conversation changes nothing; one nobody has gets assigned.
    let again = contact_writes(&app, &channel, "+15550200", "Customer", "still there?").await.conversation.id;
    assert_eq!(assignee(again).await.as_ref(), Some(&got[0]));
    // Bob goes offline: Alice gets the rest.
    online(&bob_id, false);
    for n in 0..2 {
        let c =
            contact_writes(&app, &channel, &format!("+1555030{n}"), "Later", "hello").await.conversation.id;
        assert_eq!(assignee(c).await.as_ref(), Some(&alice_id));
    }
    // The event says it was the automatic assignment: nobody did it.
    let sync = call(&app, &alice, "GET", "/api/v1/sync?since=0&limit=500", None).await.1;
    let by: Vec<&Value> = sync["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["payload"].get("assigned_at").is_some())
        .map(|e| &e["payload"]["assigned_by"])
        .collect();
    assert_eq!(by.len(), 6);
    assert!(by.iter().all(|b| b.is_null()));
    assigner.abort();
}

async fn a_conversation_a_flow_starts_is_left_to_the_bot(app: AppState, _raw: Raw) {
    use switchboard_server::realtime::BusMessage;
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let alice_id = user_id(&app, &alice).await;
    let created = create_channel(&app, &alice, json!({"provider": "mock", "name": "Mock"})).await;
    let id: switchboard::ChannelId = created["id"].as_str().unwrap().parse().unwrap();
    let ws = app.store.workspace_by_name("Acme Support").await.unwrap().unwrap().id;
    let channel = app.store.channel(ws, id).await.unwrap().unwrap();
    let uri = format!("/api/v1/channels/{id}/auto-assign");
    assert_eq!(call(&app, &alice, "PUT", &uri, Some(json!({"enabled": true}))).await.0, 200);
    app.realtime.hub.apply(&BusMessage::Online {
        workspaces: vec![ws],
        user: alice_id.parse().unwrap(),
        client: "client-a".into(),
    });
    let flow = json!({
        "name": "Greeter",
        "triggers": {"new_conversation_on": [id]},
        "graph": {"start": "hi", "nodes": [{"id": "hi", "action": {"type": "send", "text": "Hi!", "next": null}}]},
    });
    let (status, created) = call(&app, &alice, "POST", "/api/v1/flows", Some(flow)).await;
    assert_eq!(status, 201, "{created}");
    let publish = format!("/api/v1/flows/{}/publish", created["id"].as_str().unwrap());
    assert_eq!(call(&app, &alice, "POST", &publish, None).await.0, 200);
    // Only the assigner listens (no bot runner): the worst order of the two.
    let inbound = std::sync::Arc::new(tokio::sync::Mutex::new(app.realtime.bus().watch_messages()));
    let assigner = tokio::spawn(switchboard_server::services::desk::auto_assign(
        app.store.clone(),
        app.realtime.hub.clone(),
        inbound,
    ));
    let new = contact_writes(&app, &channel, "+15550900", "New", "hello").await.conversation.id;
    // A later message of it that starts nothing (no keyword, the conversation no longer new) is
    // the assigner's: it shows the assigner was listening all along.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(app.store.conversation(ws, new).await.unwrap().unwrap().assignee_id, None, "the bot's");
    contact_writes(&app, &channel, "+15550900", "New", "anyone?").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while app.store.conversation(ws, new).await.unwrap().unwrap().assignee_id.is_none() {
        assert!(tokio::time::Instant::now() < deadline, "never assigned");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assigner.abort();
}
