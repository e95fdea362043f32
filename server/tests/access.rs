//! One access policy, told as stories on SQLite and PostgreSQL: rooms are private to their
//! members (owners and admins read every room), contact conversations stay the whole
//! workspace's inbox, members come and go through the API (a removed member's sockets close
//! with 4000 and cannot subscribe again), server functions act in the workspace the page
//! shows, and REST and RPC tell the same refusal with the same code and words.

#[macro_use]
mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, header};
use common::ws::Client;
use common::*;
use serde_json::{Value, json};
use switchboard::{ConversationId, MemberRole, UserId, WorkspaceId};
use switchboard_server::http::AppState;
use switchboard_server::services::provision::{UserSpec, ensure_user};

app_test!(
    a_room_is_private_to_its_members_and_open_to_admins,
    members_are_added_and_removed_through_the_api,
    a_removed_member_is_disconnected_and_cannot_subscribe_again,
    a_refused_subscribe_hears_nothing_of_a_busy_room,
    server_functions_act_in_the_workspace_the_page_shows,
    rest_and_rpc_refuse_alike,
);

/// Adds an account to a workspace (created if needed) and signs it in.
async fn person(app: &AppState, email: &str, workspace: &str, role: MemberRole) -> (String, UserId) {
    let spec = UserSpec {
        email: email.into(),
        password: "demo-password".into(),
        name: None,
        workspace: workspace.into(),
        role,
    };
    let user = ensure_user(app.store.as_ref(), &spec).await.unwrap().user.id;
    (login(app, email, "demo-password").await, user)
}

struct Cast {
    alice: String,
    bob: String,
    bob_id: UserId,
    carol: String,
    carol_id: UserId,
    room: ConversationId,
    inbox: ConversationId,
}

/// Alice (owner), Bob and Carol (agents) in Acme Support. Bob opens a room with himself only;
/// a contact writes to a Mock channel (the shared inbox); Bob posts in the room.
async fn cast(app: &AppState) -> Cast {
    let alice = login(app, "alice@example.com", "demo-password").await;
    let bob = login(app, "bob@example.com", "demo-password").await;
    let bob_id = app.accounts.authenticate(&bob).await.unwrap().user.id;
    let (carol, carol_id) = person(app, "carol@example.com", "Acme Support", MemberRole::Agent).await;
    let inapp = create_channel(app, &alice, json!({"provider": "inapp", "name": "Team"})).await;
    let body = json!({"channel_id": inapp["id"], "title": "Salaries"});
    let room = send(app, authed("POST", "/api/v1/conversations", &bob, Some(body))).await;
    assert_eq!(room.status(), 201);
    let room = body_json(room).await["id"].as_str().unwrap().parse().unwrap();
    let mock = create_channel(app, &alice, json!({"provider": "mock", "name": "Support line"})).await;
    let ws = app.store.workspace_by_name("Acme Support").await.unwrap().unwrap().id;
    let mock = app.store.channel(ws, mock["id"].as_str().unwrap().parse().unwrap()).await.unwrap().unwrap();
    let inbox =
        contact_writes(app, &mock, "+15550009999", "Maria", "where is my order?").await.conversation.id;
    let posted = post(app, &bob, room, "the numbers are in").await;
    assert_eq!(posted.0, 201, "{}", posted.1);
    Cast { alice, bob, bob_id, carol, carol_id, room, inbox }
}

async fn post(app: &AppState, token: &str, conv: ConversationId, text: &str) -> (u16, Value) {
    let uri = format!("/api/v1/conversations/{conv}/messages");
    let response = send(app, authed("POST", &uri, token, Some(json!({ "text": text })))).await;
    (response.status().as_u16(), body_json(response).await)
}

async fn call(app: &AppState, method: &str, uri: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let response = send(app, authed(method, uri, token, body)).await;
    let status = response.status().as_u16();
    let text = body_text(response).await;
    (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() })
}

/// The ids of the conversations the caller lists.
async fn listed(app: &AppState, token: &str) -> Vec<String> {
    let (status, list) = call(app, "GET", "/api/v1/conversations", token, None).await;
    assert_eq!(status, 200, "{list}");
    list.as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect()
}

/// Every event `/sync` shows the caller.
async fn synced(app: &AppState, token: &str) -> Vec<Value> {
    let (status, page) = call(app, "GET", "/api/v1/sync?limit=500", token, None).await;
    assert_eq!(status, 200, "{page}");
    page["events"].as_array().unwrap().clone()
}

/// Whether an event concerns the conversation (its topic or its payload).
fn about(event: &Value, conv: ConversationId) -> bool {
    let id = conv.to_string();
    event["topic"] == format!("conversation:{id}")
        || event["payload"]["conversation_id"] == id.as_str()
        || event["payload"]["id"] == id.as_str()
}

#[track_caller]
fn forbidden(reply: &(u16, Value), what: &str) {
    assert_eq!(reply.0, 403, "{what}: {}", reply.1);
    assert_eq!(error_code(&reply.1), "forbidden", "{what}");
}

async fn a_room_is_private_to_its_members_and_open_to_admins(app: AppState, _raw: Raw) {
    let c = cast(&app).await;
    let room = c.room;
    let message = call(&app, "GET", &format!("/api/v1/conversations/{room}/messages"), &c.bob, None).await;
    assert_eq!(message.0, 200, "the member reads it");
    let message_id = message.1[0]["id"].as_str().unwrap().to_owned();

    // Carol, an agent outside the room: refused everywhere, and never shown the data.
    let history = call(&app, "GET", &format!("/api/v1/conversations/{room}/messages"), &c.carol, None).await;
    forbidden(&history, "history");
    assert!(!history.1.to_string().contains("the numbers"), "{}", history.1);
    forbidden(&post(&app, &c.carol, room, "let me in").await, "post");
    let read = json!({ "up_to": message_id });
    forbidden(
        &call(&app, "POST", &format!("/api/v1/conversations/{room}/read"), &c.carol, Some(read)).await,
        "read",
    );
    forbidden(
        &call(&app, "GET", &format!("/api/v1/conversations/{room}/members"), &c.carol, None).await,
        "members",
    );
    let resolve = json!({ "status": "resolved" });
    forbidden(
        &call(&app, "PATCH", &format!("/api/v1/conversations/{room}"), &c.carol, Some(resolve)).await,
        "resolve",
    );
    forbidden(
        &call(&app, "PUT", &format!("/api/v1/messages/{message_id}/star"), &c.carol, None).await,
        "star",
    );
    let list = listed(&app, &c.carol).await;
    assert!(!list.contains(&room.to_string()), "the room is not in her list");
    assert!(list.contains(&c.inbox.to_string()), "the shared inbox is");
    let events = synced(&app, &c.carol).await;
    assert!(!events.iter().any(|e| about(e, room)), "nothing of the room in her sync: {events:?}");
    assert!(!events.iter().any(|e| e.to_string().contains("the numbers")));
    assert!(events.iter().any(|e| about(e, c.inbox)), "the inbox's events are");

    // Bob, its member, sees all of it; the contact conversation is his too.
    let list = listed(&app, &c.bob).await;
    assert!(list.contains(&room.to_string()) && list.contains(&c.inbox.to_string()));
    assert!(synced(&app, &c.bob).await.iter().any(|e| about(e, room) && e["type"] == "message.created"));
    assert_eq!(post(&app, &c.bob, c.inbox, "on its way").await.0, 201);

    // Alice, the owner, is no member: she reads and moderates, but does not post unasked.
    assert!(listed(&app, &c.alice).await.contains(&room.to_string()));
    let history = call(&app, "GET", &format!("/api/v1/conversations/{room}/messages"), &c.alice, None).await;
    assert_eq!(history.0, 200);
    assert_eq!(history.1[0]["text"], "the numbers are in");
    assert!(synced(&app, &c.alice).await.iter().any(|e| about(e, room) && e["type"] == "message.created"));
    forbidden(&post(&app, &c.alice, room, "hello").await, "an admin posts only as a member");
    let deleted = call(&app, "DELETE", &format!("/api/v1/messages/{message_id}"), &c.alice, None).await;
    assert_eq!(deleted.0, 200, "an admin moderates every room: {}", deleted.1);
}

async fn members_are_added_and_removed_through_the_api(app: AppState, _raw: Raw) {
    let c = cast(&app).await;
    let members = format!("/api/v1/conversations/{}/members", c.room);

    // Bob (member and moderator, as its creator) lets Carol in: she reads, posts and lists it.
    let (status, list) =
        call(&app, "POST", &members, &c.bob, Some(json!({"user_ids": [c.carol_id, c.carol_id]}))).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list, json!([c.bob_id, c.carol_id]));
    let again = call(&app, "POST", &members, &c.bob, Some(json!({"user_ids": [c.carol_id]}))).await;
    assert_eq!((again.0, again.1.clone()), (200, list.clone()), "adding twice changes nothing");
    assert_eq!(
        call(&app, "GET", &format!("/api/v1/conversations/{}/messages", c.room), &c.carol, None).await.0,
        200
    );
    assert_eq!(post(&app, &c.carol, c.room, "thanks").await.0, 201);
    assert!(listed(&app, &c.carol).await.contains(&c.room.to_string()));
    let carol_sync = synced(&app, &c.carol).await;
    assert!(
        carol_sync
            .iter()
            .any(|e| e["type"] == "conversation.created" && e["topic"] == format!("user:{}", c.carol_id)),
        "the room appears in her list through her own topic: {carol_sync:?}"
    );
    let bob_sync = synced(&app, &c.bob).await;
    let change = bob_sync
        .iter()
        .find(|e| e["type"] == "conversation.updated" && e["payload"]["member_ids"].is_array())
        .expect("members' lists hear of the change");
    assert_eq!(change["topic"], format!("conversation:{}", c.room));

    // Refusals, in the error shape.
    let stranger = call(&app, "POST", &members, &c.bob, Some(json!({"user_ids": [UserId::new()]}))).await;
    assert_eq!((stranger.0, error_code(&stranger.1)), (422, "validation_failed".into()));
    assert_eq!(stranger.1["error"]["field"], "user_ids");
    let empty = call(&app, "POST", &members, &c.bob, Some(json!({"user_ids": []}))).await;
    assert_eq!(empty.0, 422);
    let odd = call(&app, "POST", &members, &c.bob, Some(json!({"user_ids": "x"}))).await;
    assert_eq!((odd.0, error_code(&odd.1)), (422, "invalid_body".into()));
    let inbox = format!("/api/v1/conversations/{}/members", c.inbox);
    let not_room = call(&app, "POST", &inbox, &c.bob, Some(json!({"user_ids": [c.carol_id]}))).await;
    assert_eq!((not_room.0, error_code(&not_room.1)), (422, "not_a_room".into()));
    let unknown = format!("/api/v1/conversations/{}/members", ConversationId::new());
    let unknown = call(&app, "POST", &unknown, &c.bob, Some(json!({"user_ids": [c.carol_id]}))).await;
    assert_eq!((unknown.0, error_code(&unknown.1)), (404, "not_found".into()));
    for body in [&stranger.1, &empty.1, &not_room.1, &unknown.1] {
        let text = body.to_string();
        assert!(!text.contains("conversation_member") && !text.contains("_key"), "{text}");
    }

    // Carol, a plain member, may not remove Bob; nobody removes a non-member.
    forbidden(
        &call(&app, "DELETE", &format!("{members}/{}", c.bob_id), &c.carol, None).await,
        "remove others",
    );
    let absent = call(&app, "DELETE", &format!("{members}/{}", UserId::new()), &c.bob, None).await;
    assert_eq!((absent.0, error_code(&absent.1)), (404, "not_found".into()));
    let junk = call(&app, "DELETE", &format!("{members}/not-an-id"), &c.bob, None).await;
    assert_eq!(junk.0, 404);

    // Bob removes Carol: she is out again, and her stars and unread counts went with her.
    let removed = call(&app, "DELETE", &format!("{members}/{}", c.carol_id), &c.bob, None).await;
    assert_eq!(removed.0, 204, "{}", removed.1);
    forbidden(&post(&app, &c.carol, c.room, "still here?").await, "post after removal");
    assert!(!listed(&app, &c.carol).await.contains(&c.room.to_string()));
    // Anyone may leave; the owner may remove anyone (here: Bob, after Carol rejoins).
    call(&app, "POST", &members, &c.bob, Some(json!({"user_ids": [c.carol_id]}))).await;
    assert_eq!(call(&app, "DELETE", &format!("{members}/{}", c.carol_id), &c.carol, None).await.0, 204);
    assert_eq!(call(&app, "DELETE", &format!("{members}/{}", c.bob_id), &c.alice, None).await.0, 204);
    let (_, left) = call(&app, "GET", &members, &c.alice, None).await;
    assert_eq!(left, json!([]), "the owner still reads the empty room's members");
}

async fn realtime_token(app: &AppState, session: &str) -> String {
    let (status, body) = call(app, "GET", "/api/v1/realtime/token", session, None).await;
    assert_eq!(status, 200);
    body["token"].as_str().unwrap().to_owned()
}

async fn a_removed_member_is_disconnected_and_cannot_subscribe_again(app: AppState, _raw: Raw) {
    let c = cast(&app).await;
    let topic = format!("conversation:{}", c.room);
    let addr = serve_app(&app).await;

    // Outside the room, Carol's socket cannot subscribe, read its history or its presence.
    let (mut carol, _) = Client::connect(addr, &realtime_token(&app, &c.carol).await).await;
    for command in [
        json!({"subscribe": {"channel": topic}}),
        json!({"history": {"channel": topic, "limit": 10}}),
        json!({"presence": {"channel": topic}}),
    ] {
        let reply = carol.call(command.clone()).await;
        assert_eq!(reply["error"]["code"], 103, "{command}: {reply}");
        assert!(!reply.to_string().contains("the numbers"));
    }
    let inbox = carol.call(json!({"subscribe": {"channel": format!("conversation:{}", c.inbox)}})).await;
    assert!(inbox.get("error").is_none(), "the shared inbox is hers: {inbox}");

    // Let in, she subscribes; Bob follows the room too.
    let members = format!("/api/v1/conversations/{}/members", c.room);
    assert_eq!(call(&app, "POST", &members, &c.bob, Some(json!({"user_ids": [c.carol_id]}))).await.0, 200);
    let reply = carol.call(json!({"subscribe": {"channel": topic}})).await;
    assert!(reply.get("error").is_none(), "{reply}");
    let (mut bob, _) = Client::connect(addr, &realtime_token(&app, &c.bob).await).await;
    assert!(bob.call(json!({"subscribe": {"channel": topic}})).await.get("error").is_none());

    // Removed: her socket closes with "rooms changed", and she cannot come back to the room.
    assert_eq!(call(&app, "DELETE", &format!("{members}/{}", c.carol_id), &c.bob, None).await.0, 204);
    let closed = carol.closed().await;
    assert_eq!((closed.code, closed.reason.as_str()), (4000, "rooms changed"));
    let update = bob.publication(&topic).await;
    assert_eq!(update["data"]["type"], "conversation.updated");
    assert_eq!(update["data"]["payload"]["member_ids"], json!([c.bob_id]));
    let (mut carol, _) = Client::connect(addr, &realtime_token(&app, &c.carol).await).await;
    let reply = carol.call(json!({"subscribe": {"channel": topic}})).await;
    assert_eq!(reply["error"]["code"], 103, "{reply}");
    let data = json!({"conversation_id": c.room, "text": "hello?"});
    let reply = carol.call(json!({"rpc": {"method": "send_message", "data": data}})).await;
    assert_eq!(reply["error"]["code"], 403, "{reply}");
    let reply = carol.call(json!({"rpc": {"method": "typing", "data": {"conversation_id": c.room}}})).await;
    assert_eq!(reply["error"]["code"], 403, "{reply}");
    // Bob was not touched.
    assert!(bob.call(json!({"presence_stats": {"channel": topic}})).await.get("error").is_none());
}

/// A subscribe listens for the topic's publications before its access check (read with the
/// topic's position, in one read): while it is decided, what is published waits in the
/// writer, and a refusal drops it. Carol, outside the room, asks again and again while Bob
/// posts: every answer is a refusal, and nothing of the room reaches her socket.
async fn a_refused_subscribe_hears_nothing_of_a_busy_room(app: AppState, _raw: Raw) {
    let c = cast(&app).await;
    let topic = format!("conversation:{}", c.room);
    let addr = serve_app(&app).await;
    let (mut carol, _) = Client::connect(addr, &realtime_token(&app, &c.carol).await).await;
    let (mut bob, _) = Client::connect(addr, &realtime_token(&app, &c.bob).await).await;
    assert!(bob.call(json!({"subscribe": {"channel": topic}})).await.get("error").is_none());

    let posting = tokio::spawn({
        let (app, bob) = (app.clone(), c.bob.clone());
        async move {
            for i in 0..25 {
                assert_eq!(post(&app, &bob, c.room, &format!("secret {i}")).await.0, 201);
            }
        }
    });
    let mut refused = 0;
    while refused < 5 || !posting.is_finished() {
        let reply = carol.call(json!({"subscribe": {"channel": topic}})).await;
        assert_eq!(reply["error"]["code"], 103, "{reply}");
        refused += 1;
    }
    posting.await.unwrap();
    // Bob heard all 25 (within the per-user send burst); Carol, nothing at all.
    let mut heard = 0;
    while heard < 25 {
        heard += usize::from(bob.publication(&topic).await["data"]["type"] == "message.created");
    }
    let stray = carol.try_push(Duration::from_millis(300)).await;
    assert!(stray.is_none(), "a refused subscriber got {stray:?}");
    assert_eq!(app.realtime.hub.local_subscribers(&topic), 1, "only Bob listens");
}

fn form_post(uri: &str, body: &str, cookie: &str) -> Request<Body> {
    Request::post(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .header(header::COOKIE, format!("sb_session={cookie}"))
        .body(Body::from(body.to_owned()))
        .unwrap()
}

async fn server_fn(app: &AppState, uri: &str, body: String, token: &str) -> (u16, String) {
    let response = send(app, form_post(uri, &body, token)).await;
    (response.status().as_u16(), body_text(response).await)
}

async fn server_functions_act_in_the_workspace_the_page_shows(app: AppState, _raw: Raw) {
    let acme: WorkspaceId = app.store.workspace_by_name("Acme Support").await.unwrap().unwrap().id;
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let inapp = create_channel(&app, &alice, json!({"provider": "inapp", "name": "Acme chat"})).await;
    let body = json!({"channel_id": inapp["id"], "title": "Acme room", "member_ids": []});
    let (_, acme_room) = call(&app, "POST", "/api/v1/conversations", &alice, Some(body)).await;
    // Olga owns Globex; Bob works in both workspaces (Acme is his default).
    let (olga, _) = person(&app, "olga@example.com", "Globex", MemberRole::Owner).await;
    let bob = login(&app, "bob@example.com", "demo-password").await;
    let bob_id = app.accounts.authenticate(&bob).await.unwrap().user.id;
    person(&app, "bob@example.com", "Globex", MemberRole::Agent).await;
    let globex = app.store.workspace_by_name("Globex").await.unwrap().unwrap().id;
    let inapp = create_channel(&app, &olga, json!({"provider": "inapp", "name": "Globex chat"})).await;
    let body = json!({"channel_id": inapp["id"], "title": "Globex room", "member_ids": [bob_id]});
    let (status, room) = call(&app, "POST", "/api/v1/conversations", &olga, Some(body)).await;
    assert_eq!(status, 201, "{room}");
    let room = room["id"].as_str().unwrap().to_owned();

    // The page shows Globex: the list, history and sends are Globex's.
    let (status, list) = server_fn(&app, "/_fn/conversations", format!("workspace={globex}"), &bob).await;
    assert_eq!(status, 200, "{list}");
    assert!(list.contains("Globex room") && !list.contains("Acme room"), "{list}");
    let send_body =
        format!("workspace={globex}&conversation={room}&send[text]=hi+Olga&send[client_message_id]=g-1");
    let (status, sent) = server_fn(&app, "/_fn/send", send_body, &bob).await;
    assert_eq!(status, 200, "{sent}");
    let (status, history) =
        server_fn(&app, "/_fn/history", format!("workspace={globex}&conversation={room}&limit=5"), &bob)
            .await;
    assert_eq!(status, 200);
    assert!(history.contains("hi Olga"), "{history}");

    // The page shows Acme: Globex's room is not there, and its id answers as not found.
    let (status, list) = server_fn(&app, "/_fn/conversations", format!("workspace={acme}"), &bob).await;
    assert_eq!(status, 200);
    assert!(!list.contains("Globex room"), "{list}");
    let (status, _) =
        server_fn(&app, "/_fn/history", format!("workspace={acme}&conversation={room}&limit=5"), &bob).await;
    assert_eq!(status, 404);
    // A workspace the caller is not in is refused, whatever the page says.
    let (status, _) = server_fn(&app, "/_fn/conversations", format!("workspace={globex}"), &alice).await;
    assert_eq!(status, 403);
    let acme_room = acme_room["id"].as_str().unwrap();
    let (status, _) =
        server_fn(&app, "/_fn/history", format!("workspace={acme}&conversation={acme_room}&limit=5"), &bob)
            .await;
    assert_eq!(status, 403, "an Acme room Bob is not in stays private on the pages too");
}

async fn rest_and_rpc_refuse_alike(app: AppState, _raw: Raw) {
    let c = cast(&app).await;
    let addr = serve_app(&app).await;
    let (mut carol, _) = Client::connect(addr, &realtime_token(&app, &c.carol).await).await;
    let rpc = |data: Value| json!({"rpc": {"method": "send_message", "data": data}});

    // Posting into a room she is not in.
    let rest = post(&app, &c.carol, c.room, "hi").await;
    let socket = carol.call(rpc(json!({"conversation_id": c.room, "text": "hi"}))).await;
    assert_eq!(rest.0, 403);
    assert_eq!(socket["error"]["code"], json!(rest.0), "{socket}");
    assert_eq!(socket["error"]["message"], rest.1["error"]["message"]);

    // An empty text, where she may post.
    let rest = post(&app, &c.carol, c.inbox, "   ").await;
    let socket = carol.call(rpc(json!({"conversation_id": c.inbox, "text": "   "}))).await;
    assert_eq!((rest.0, error_code(&rest.1)), (422, "validation_failed".into()));
    assert_eq!(socket["error"]["code"], json!(rest.0), "{socket}");
    assert_eq!(socket["error"]["message"], rest.1["error"]["message"]);
}
