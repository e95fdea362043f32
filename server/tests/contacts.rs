//! Contacts over REST, on SQLite and PostgreSQL: the contacts page's list and search, edits (a
//! name the team set survives the network's), merging two identities of one person (every
//! conversation kept, the merged identity's next message still in its chat), and writing first.

#[macro_use]
mod common;

use common::*;
use serde_json::{Value, json};
use switchboard_server::http::AppState;

app_test!(
    contacts_are_listed_searched_and_edited,
    merging_keeps_every_conversation,
    agents_write_first_where_the_network_allows,
);

async fn mock_channel(app: &AppState, token: &str, name: &str) -> switchboard::Channel {
    let created = create_channel(app, token, json!({"provider": "mock", "name": name})).await;
    let id: switchboard::ChannelId = created["id"].as_str().unwrap().parse().unwrap();
    let ws = app.store.workspace_by_name("Acme Support").await.unwrap().unwrap().id;
    app.store.channel(ws, id).await.unwrap().unwrap()
}

fn names(list: &Value) -> Vec<String> {
    list.as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_owned()).collect()
}

async fn contacts_are_listed_searched_and_edited(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let bob = login(&app, "bob@example.com", "demo-password").await;
    let shop = mock_channel(&app, &alice, "Shop").await;
    let support = mock_channel(&app, &alice, "Support").await;
    contact_writes(&app, &shop, "+15550001", "Maria Lopez", "hi").await;
    contact_writes(&app, &shop, "+15550002", "bruno", "hello").await;
    let chen = contact_writes(&app, &support, "chen_w", "Chen Wei", "hey").await;

    let (status, all) = call(&app, &bob, "GET", "/api/v1/contacts", None).await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(names(&all), ["bruno", "Chen Wei", "Maria Lopez"], "by name, whatever the case");
    let maria = all[2].clone();
    assert_eq!(maria["identities"][0]["external_id"], "+15550001");
    assert_eq!(maria["identities"][0]["channel_id"], shop.id.to_string());
    assert_eq!(maria["conversation_count"], 1);
    assert!(maria["last_seen_at"].is_string());
    assert_eq!(names(&call(&app, &bob, "GET", "/api/v1/contacts?q=LOPEZ", None).await.1), ["Maria Lopez"]);
    assert_eq!(names(&call(&app, &bob, "GET", "/api/v1/contacts?q=0002", None).await.1), ["bruno"]);
    let on_support =
        call(&app, &bob, "GET", &format!("/api/v1/contacts?channel_id={}", support.id), None).await.1;
    assert_eq!(names(&on_support), ["Chen Wei"]);
    assert_eq!(
        names(&call(&app, &bob, "GET", "/api/v1/contacts?limit=1&offset=1", None).await.1),
        ["Chen Wei"]
    );
    assert_eq!(call(&app, &bob, "GET", "/api/v1/contacts?limit=0", None).await.0, 422);

    // Edits: the name renames the chat (live), notes and attributes are kept.
    let id = chen.conversation.contact_id.unwrap();
    let since =
        call(&app, &bob, "GET", "/api/v1/sync?since=0&limit=500", None).await.1["next"].as_i64().unwrap();
    let change = json!({"name": "Chen Wei (ACME)", "notes": "Prefers email", "attributes": {"plan": "gold", "seats": 12}});
    let (status, edited) = call(&app, &bob, "PATCH", &format!("/api/v1/contacts/{id}"), Some(change)).await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(
        (edited["name"].as_str(), edited["notes"].as_str()),
        (Some("Chen Wei (ACME)"), Some("Prefers email"))
    );
    assert_eq!(edited["attributes"], json!({"plan": "gold", "seats": 12}));
    let sync = call(&app, &bob, "GET", &format!("/api/v1/sync?since={since}&limit=500"), None).await.1;
    let renamed: Vec<&Value> = sync["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["payload"]["title"] == "Chen Wei (ACME)")
        .collect();
    assert_eq!(renamed.len(), 1, "{sync}");
    // The network's next message does not undo the team's name.
    contact_writes(&app, &support, "chen_w", "chen", "again").await;
    let (_, details) = call(&app, &bob, "GET", &format!("/api/v1/contacts/{id}"), None).await;
    assert_eq!(details["name"], "Chen Wei (ACME)");
    assert_eq!(details["conversations"][0]["title"], "Chen Wei (ACME)");
    for bad in [json!({"name": " "}), json!({"attributes": {"a": {"b": 1}}}), json!({"nickname": "x"})] {
        let (status, refused) =
            call(&app, &bob, "PATCH", &format!("/api/v1/contacts/{id}"), Some(bad.clone())).await;
        assert_eq!(status, 422, "{bad}: {refused}");
    }
    let nobody = switchboard::ContactId::new();
    assert_eq!(call(&app, &bob, "GET", &format!("/api/v1/contacts/{nobody}"), None).await.0, 404);
}

async fn merging_keeps_every_conversation(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let shop = mock_channel(&app, &alice, "Shop").await;
    let support = mock_channel(&app, &alice, "Support").await;
    let a = contact_writes(&app, &shop, "+15550001", "Maria", "order?").await;
    let b = contact_writes(&app, &support, "maria_l", "Maria L.", "hello").await;
    let (keep, gone) = (a.conversation.contact_id.unwrap(), b.conversation.contact_id.unwrap());
    let patch = |id: switchboard::ContactId, body: Value| {
        let (app, alice) = (app.clone(), alice.clone());
        async move { call(&app, &alice, "PATCH", &format!("/api/v1/contacts/{id}"), Some(body)).await.0 }
    };
    assert_eq!(patch(keep, json!({"notes": "VIP", "attributes": {"plan": "gold"}})).await, 200);
    assert_eq!(
        patch(gone, json!({"notes": "Asked about returns", "attributes": {"plan": "free", "city": "Lima"}}))
            .await,
        200
    );

    let uri = format!("/api/v1/contacts/{keep}/merge");
    let (status, merged) = call(&app, &alice, "POST", &uri, Some(json!({"contact_id": gone}))).await;
    assert_eq!(status, 200, "{merged}");
    let identities: Vec<&str> =
        merged["identities"].as_array().unwrap().iter().map(|i| i["external_id"].as_str().unwrap()).collect();
    assert_eq!(identities, ["+15550001", "maria_l"]);
    assert_eq!(merged["conversation_count"], 2);
    assert_eq!(merged["conversations"].as_array().unwrap().len(), 2);
    assert_eq!(merged["notes"], "VIP\n\nAsked about returns");
    assert_eq!(merged["attributes"], json!({"plan": "gold", "city": "Lima"}), "the kept one's win");
    // One contact in the list; the merged one answers as the one kept.
    let list = call(&app, &alice, "GET", "/api/v1/contacts", None).await.1;
    assert_eq!(names(&list), ["Maria"]);
    assert_eq!(names(&call(&app, &alice, "GET", "/api/v1/contacts?q=maria_l", None).await.1), ["Maria"]);
    let (_, via_gone) = call(&app, &alice, "GET", &format!("/api/v1/contacts/{gone}"), None).await;
    assert_eq!(via_gone["id"], keep.to_string());
    // Their next message still lands in its chat, which now belongs to the one kept.
    let next = contact_writes(&app, &support, "maria_l", "Maria L.", "any news?").await;
    assert_eq!(next.conversation.id, b.conversation.id);
    assert_eq!(next.conversation.contact_id, Some(keep));
    // Refusals: itself, one already merged, a stranger.
    let (status, refused) = call(&app, &alice, "POST", &uri, Some(json!({"contact_id": keep}))).await;
    assert_eq!((status.as_u16(), error_code(&refused).as_str()), (422, "cannot_merge"));
    let (status, _) = call(&app, &alice, "POST", &uri, Some(json!({"contact_id": gone}))).await;
    assert_eq!(status, 422);
    let stranger = json!({"contact_id": switchboard::ContactId::new()});
    assert_eq!(call(&app, &alice, "POST", &uri, Some(stranger)).await.0, 404);
}

async fn agents_write_first_where_the_network_allows(app: AppState, raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let bob = login(&app, "bob@example.com", "demo-password").await;
    let shop = mock_channel(&app, &alice, "Shop").await;
    let since =
        call(&app, &alice, "GET", "/api/v1/sync?since=0&limit=500", None).await.1["next"].as_i64().unwrap();
    let body = json!({"channel_id": shop.id, "to": " +1 555 0100 ", "name": "Dana", "text": "Your order shipped", "client_message_id": "s-1"});
    let (status, started) = call(&app, &bob, "POST", "/api/v1/conversations/start", Some(body.clone())).await;
    assert_eq!(status, 201, "{started}");
    assert_eq!(started["conversation"]["title"], "Dana");
    assert_eq!(started["conversation"]["external_chat_id"], "+1 555 0100", "the Mock's ids are text");
    assert_eq!(started["message"]["text"], "Your order shipped");
    let message: switchboard::MessageId = started["message"]["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(raw.outbox_rows(message).await, 1, "it goes out like any reply");
    // A retry answers the same conversation and message.
    let (status, again) = call(&app, &bob, "POST", "/api/v1/conversations/start", Some(body)).await;
    assert_eq!((status.as_u16(), &again["message"]["id"]), (201, &started["message"]["id"]));
    assert_eq!(again["conversation"]["id"], started["conversation"]["id"]);
    // Everyone's inbox heard of the new conversation.
    let sync = call(&app, &alice, "GET", &format!("/api/v1/sync?since={since}&limit=500"), None).await.1;
    let created =
        sync["events"].as_array().unwrap().iter().filter(|e| e["type"] == "conversation.created").count();
    assert_eq!(created, 1, "{sync}");
    let contacts = call(&app, &bob, "GET", "/api/v1/contacts?q=dana", None).await.1;
    assert_eq!(contacts[0]["conversation_count"], 1);

    // Where the network does not allow it, or the input is wrong: 4xx, nothing made.
    let inapp = create_channel(&app, &alice, json!({"provider": "inapp", "name": "Web chat"})).await;
    let body = json!({"channel_id": inapp["id"], "to": "someone", "text": "hi"});
    let (status, refused) = call(&app, &bob, "POST", "/api/v1/conversations/start", Some(body)).await;
    assert_eq!((status.as_u16(), error_code(&refused).as_str()), (422, "cannot_start_conversation"));
    let (status, refused) = call(
        &app,
        &bob,
        "POST",
        "/api/v1/conversations/start",
        Some(json!({"channel_id": shop.id, "to": " ", "text": "hi"})),
    )
    .await;
    assert_eq!((status.as_u16(), refused["error"]["field"].as_str()), (422, Some("to")));
    let (status, refused) = call(
        &app,
        &bob,
        "POST",
        "/api/v1/conversations/start",
        Some(json!({"channel_id": shop.id, "to": "x", "text": ""})),
    )
    .await;
    assert_eq!((status.as_u16(), refused["error"]["field"].as_str()), (422, Some("text")), "{refused}");
    let other = json!({"channel_id": switchboard::ChannelId::new(), "to": "x", "text": "hi"});
    assert_eq!(call(&app, &bob, "POST", "/api/v1/conversations/start", Some(other)).await.0, 404);
    assert_eq!(
        names(&call(&app, &bob, "GET", "/api/v1/contacts", None).await.1),
        ["Dana"],
        "nothing else was made"
    );
}
