//! The realtime gateway over a real WebSocket: the Centrifugo protocol's commands, topic
//! authorization, recovery from the event log, presence, typing; `access_ended.rs`: sockets
//! closed when access ends; `limits.rs`: slow consumers, pings, frame and connection limits,
//! origins and shutdown; `metrics.rs`: `GET /metrics` and its guard.

#[macro_use]
#[path = "../common/mod.rs"]
mod common;
mod access_ended;
mod limits;
mod media;
mod metrics;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::ws::Client;
use common::*;
use serde_json::{Value, json};
use switchboard::event::Typing;
use switchboard::{Channel, ConversationId, EventBody, Topic, UserId};
use switchboard_server::http::AppState;
use switchboard_server::realtime::{BusMessage, RealtimeConfig};

use access_ended::{
    a_password_change_closes_the_other_sessions_sockets_only,
    a_removed_member_is_disconnected_and_cannot_subscribe_again,
    revoking_one_session_closes_its_sockets_only, signing_out_closes_the_sessions_sockets_at_once,
    signing_out_everywhere_closes_every_socket,
};
use limits::rpc_sends_are_limited_per_user;
use media::attachments_travel_with_fresh_links_never_stored_in_the_log;
use metrics::metrics_count_what_the_node_does;

app_test!(
    subscribers_receive_rest_sends_in_order,
    refusals_follow_the_protocol,
    resubscribing_recovers_exactly_what_was_missed,
    history_reads_the_log,
    presence_counts_a_user_once_across_sockets,
    typing_is_relayed_to_others_and_never_stored,
    rpc_sends_are_idempotent_and_mark_read_works,
    a_removed_member_is_disconnected_and_cannot_subscribe_again,
    signing_out_closes_the_sessions_sockets_at_once,
    a_password_change_closes_the_other_sessions_sockets_only,
    revoking_one_session_closes_its_sockets_only,
    signing_out_everywhere_closes_every_socket,
    rpc_sends_are_limited_per_user,
    every_command_gets_the_protocols_answer,
    attachments_travel_with_fresh_links_never_stored_in_the_log,
    metrics_count_what_the_node_does,
);

/// Serves the app on a free loopback port.
async fn serve(app: &AppState) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router =
        switchboard_server::http::router(app.clone()).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

/// The app with other realtime settings (same store, so the same demo data; same secret, so
/// the same tokens).
fn with_realtime(app: &AppState, config: RealtimeConfig) -> AppState {
    state_with_realtime(app.store.clone(), app.realtime.bus().clone(), test_auth_config(), config)
}

/// A realtime token for a session token, from the API.
async fn realtime_token(app: &AppState, session: &str) -> String {
    let response = send(app, authed("GET", "/api/v1/realtime/token", session, None)).await;
    assert_eq!(response.status(), 200);
    let body = body_json(response).await;
    assert_eq!(body["url"], "/connection/websocket");
    assert!(body["expires_at"].as_i64().unwrap() > switchboard::time::now().timestamp());
    body["token"].as_str().unwrap().to_owned()
}

/// A Mock channel (not signed in: sends just queue) and a conversation a contact opened.
async fn conversation(app: &AppState, alice: &str, contact: &str) -> (Channel, ConversationId) {
    let created =
        create_channel(app, alice, json!({"provider": "mock", "name": format!("Mock {contact}")})).await;
    let ws = app.store.workspace_by_name("Acme Support").await.unwrap().unwrap().id;
    let channel =
        app.store.channel(ws, created["id"].as_str().unwrap().parse().unwrap()).await.unwrap().unwrap();
    let done = contact_writes(app, &channel, contact, &format!("Contact {contact}"), "hello").await;
    (channel, done.conversation.id)
}

async fn post_text(app: &AppState, token: &str, conv: ConversationId, text: &str) -> Value {
    let uri = format!("/api/v1/conversations/{conv}/messages");
    let response = send(app, authed("POST", &uri, token, Some(json!({ "text": text })))).await;
    assert_eq!(response.status(), 201);
    body_json(response).await
}

fn topic(conv: ConversationId) -> String {
    format!("conversation:{conv}")
}

/// Alice's conversation with `contact`, and a connected client each for alice and bob.
/// Answers alice's session token too.
async fn alice_and_bob(app: &AppState, contact: &str) -> (String, ConversationId, Client, Client) {
    let alice = login(app, "alice@example.com", "demo-password").await;
    let bob = login(app, "bob@example.com", "demo-password").await;
    let (_, conv) = conversation(app, &alice, contact).await;
    let addr = serve(app).await;
    let (a, _) = Client::connect(addr, &realtime_token(app, &alice).await).await;
    let (b, _) = Client::connect(addr, &realtime_token(app, &bob).await).await;
    (alice, conv, a, b)
}

async fn subscribe(client: &mut Client, channel: &str) -> Value {
    let reply = client.call(json!({ "subscribe": { "channel": channel } })).await;
    assert!(reply.get("error").is_none(), "subscribe to {channel} failed: {reply}");
    reply["subscribe"].clone()
}

async fn subscribers_receive_rest_sends_in_order(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let (channel, conv) = conversation(&app, &alice, "+15550001001").await;
    let addr = serve(&app).await;
    let (mut client, connected) = Client::connect(addr, &realtime_token(&app, &alice).await).await;
    assert!(connected["client"].as_str().is_some_and(|c| !c.is_empty()));
    assert_eq!(connected["pong"], true);
    assert_eq!(connected["expires"], true);
    assert!(connected["ttl"].as_i64().unwrap() > 0);
    assert_eq!(connected["data"]["workspaces"][0], json!(channel.workspace_id));

    let sub = subscribe(&mut client, &topic(conv)).await;
    assert_eq!(sub["recoverable"], true);
    let start = sub["offset"].as_i64().unwrap();
    assert!(start >= 1, "the inbound message is already in the topic: {sub}");
    assert!(sub["epoch"].as_str().is_some_and(|e| !e.is_empty()));
    subscribe(&mut client, &format!("inbox:{}", channel.workspace_id)).await;

    for i in 1..=3 {
        let sent = post_text(&app, &alice, conv, &format!("m{i}")).await;
        let publication = client.publication(&topic(conv)).await;
        assert_eq!(publication["offset"], start + i, "offsets are gapless and in order");
        let event = &publication["data"];
        assert_eq!(event["type"], "message.created");
        assert_eq!(event["payload"]["id"], sent["id"], "{event}");
        assert_eq!(event["payload"]["text"], format!("m{i}"));
        // The data is the event as published: the publication carries topic and offset.
        assert!(event["id"].as_str().is_some(), "{event}");
        let mut keys: Vec<&str> = event.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["id", "payload", "type"]);
    }
    // The inbox heard about the conversation's activity too.
    let inbox = client.publication(&format!("inbox:{}", channel.workspace_id)).await;
    assert_eq!(inbox["data"]["type"], "conversation.updated");

    // Unsubscribed: nothing more arrives from the topic.
    let reply = client.call(json!({ "unsubscribe": { "channel": topic(conv) } })).await;
    assert!(reply.get("error").is_none());
    post_text(&app, &alice, conv, "after").await;
    while let Some(push) = client.try_push(Duration::from_millis(300)).await {
        assert_ne!(push["push"]["channel"], topic(conv), "a publication after unsubscribe: {push}");
    }
}

async fn refusals_follow_the_protocol(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let (channel, conv) = conversation(&app, &alice, "+15550001002").await;
    let addr = serve(&app).await;

    // A forged token, and a session token where a realtime one belongs: invalid token, no retry.
    for token in ["not-a-jwt", alice.as_str()] {
        let mut client = Client::open(addr, &[]).await;
        client.send_raw(&json!({"id": 1, "connect": {"token": token}}).to_string()).await;
        let closed = client.closed().await;
        assert_eq!(closed.code, 3500, "{closed:?}");
    }
    // No connect first: bad request.
    let mut client = Client::open(addr, &[]).await;
    client.send_raw(&json!({"id": 1, "subscribe": {"channel": "x"}}).to_string()).await;
    assert_eq!(client.closed().await.code, 3501);
    // Not JSON at all: bad request.
    let mut client = Client::open(addr, &[]).await;
    client.send_raw("{nope").await;
    assert_eq!(client.closed().await.code, 3501);

    // An expired token gets the protocol's "token expired" so the SDK fetches a new one.
    let who = app.accounts.authenticate(&alice).await.unwrap();
    let (expired, _) = app.accounts.issue_realtime_token(&who, Duration::ZERO).unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mut client = Client::open(addr, &[]).await;
    let reply = client.call(json!({"connect": {"token": expired}})).await;
    assert_eq!(reply["error"]["code"], 109, "{reply}");

    // A user of another workspace may read none of Acme's topics, nor another user's.
    let spec = switchboard_server::services::provision::UserSpec {
        email: "zed@other.example".into(),
        password: "zed-password-1".into(),
        name: Some("Zed".into()),
        workspace: "Other Co".into(),
        role: switchboard::MemberRole::Owner,
    };
    switchboard_server::services::provision::ensure_user(app.store.as_ref(), &spec).await.unwrap();
    let zed = login(&app, "zed@other.example", "zed-password-1").await;
    let (mut z, _) = Client::connect(addr, &realtime_token(&app, &zed).await).await;
    let alice_id = app.accounts.authenticate(&alice).await.unwrap().user.id;
    for denied in [topic(conv), format!("inbox:{}", channel.workspace_id), format!("user:{alice_id}")] {
        let reply = z.call(json!({"subscribe": {"channel": denied}})).await;
        assert_eq!(reply["error"]["code"], 103, "{denied}: {reply}");
        let reply = z.call(json!({"history": {"channel": denied, "limit": 10}})).await;
        assert_eq!(reply["error"]["code"], 103, "{denied}: {reply}");
        let reply = z.call(json!({"presence": {"channel": denied}})).await;
        assert_eq!(reply["error"]["code"], 103, "{denied}: {reply}");
    }
    let reply = z
        .call(json!({"rpc": {"method": "send_message", "data": {"conversation_id": conv, "text": "hi"}}}))
        .await;
    assert_eq!(reply["error"]["code"], 103, "{reply}");
    let reply = z.call(json!({"subscribe": {"channel": "news:today"}})).await;
    assert_eq!(reply["error"]["code"], 102);
    z.close().await;

    // Alice: her own topics work, publishing into any is refused, unknown RPCs are unknown.
    let (mut a, _) = Client::connect(addr, &realtime_token(&app, &alice).await).await;
    subscribe(&mut a, &format!("user:{alice_id}")).await;
    // Only the canonical name: events are published under it, so another spelling of the same
    // id would be a subscription that never hears anything.
    let shouted = topic(conv).to_uppercase().replacen("CONVERSATION", "conversation", 1);
    let reply = a.call(json!({"subscribe": {"channel": shouted}})).await;
    assert_eq!(reply["error"]["code"], 102, "{reply}");
    subscribe(&mut a, &topic(conv)).await;
    let reply = a.call(json!({"subscribe": {"channel": topic(conv)}})).await;
    assert_eq!(reply["error"]["code"], 105, "already subscribed");
    let reply = a.call(json!({"publish": {"channel": topic(conv), "data": {"x": 1}}})).await;
    assert_eq!(reply["error"]["code"], 103);
    let reply = a.call(json!({"rpc": {"method": "launch_rockets", "data": {}}})).await;
    assert_eq!(reply["error"]["code"], 104);
    let reply = a
        .call(json!({"rpc": {"method": "send_message", "data": {"conversation_id": conv, "text": "   "}}}))
        .await;
    assert_eq!(reply["error"]["code"], 422, "the status REST answers: {reply}");
    // Quick-reply buttons, checked as over REST.
    let data = json!({"conversation_id": conv, "text": "Still there?", "buttons": ["Yes", "No"]});
    let reply = a.call(json!({"rpc": {"method": "send_message", "data": data}})).await;
    assert_eq!(reply["rpc"]["data"]["message"]["buttons"], json!(["Yes", "No"]), "{reply}");
    let data = json!({"conversation_id": conv, "text": "Which?", "buttons": ["Yes", "yes"]});
    let reply = a.call(json!({"rpc": {"method": "send_message", "data": data}})).await;
    assert_eq!(reply["error"]["code"], 422, "{reply}");

    // Refresh with a token of the same user extends the connection; another user's is refused.
    let reply = a.call(json!({"refresh": {"token": realtime_token(&app, &alice).await}})).await;
    assert_eq!(reply["refresh"]["expires"], true, "{reply}");
    a.send_raw(&json!({"id": 99, "refresh": {"token": realtime_token(&app, &zed).await}}).to_string()).await;
    assert_eq!(a.closed().await.code, 3500);

    // Signing out kills the realtime token with the session.
    let token = realtime_token(&app, &alice).await;
    assert_eq!(send(&app, authed("POST", "/api/v1/auth/logout", &alice, None)).await.status(), 204);
    let mut client = Client::open(addr, &[]).await;
    client.send_raw(&json!({"id": 1, "connect": {"token": token}}).to_string()).await;
    assert_eq!(client.closed().await.code, 3500);
}

/// The commands each get the answer the protocol gives them, in order on one socket; the
/// reply to an ignored `send` is none at all.
async fn every_command_gets_the_protocols_answer(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let (_, conv) = conversation(&app, &alice, "+15550001010").await;
    let addr = serve(&app).await;
    let (mut a, connected) = Client::connect(addr, &realtime_token(&app, &alice).await).await;
    assert_eq!(connected["pong"], true);
    assert_eq!(connected["expires"], true);
    assert!(connected["ttl"].as_i64().unwrap() > 0, "{connected}");
    assert_eq!(connected["data"]["name"], "Alice Martin");

    let reply = a.call(json!({"ping": {}})).await;
    assert_eq!(reply["ping"], json!({}), "{reply}");
    // Leaving a topic one is not on is fine.
    let reply = a.call(json!({"unsubscribe": {"channel": topic(conv)}})).await;
    assert_eq!(reply["unsubscribe"], json!({}), "{reply}");
    let reply = a.call(json!({"sub_refresh": {"channel": topic(conv), "token": "t"}})).await;
    assert_eq!(reply["error"], json!({"code": 108, "message": "not available"}));
    // An id and no request this server knows.
    let reply = a.call(json!({"frobnicate": {}})).await;
    assert_eq!(reply["error"], json!({"code": 104, "message": "method not found"}));
    // RPC arguments are checked before anything runs.
    let reply = a.call(json!({"rpc": {"method": "typing", "data": {"conversation": conv}}})).await;
    assert_eq!(reply["error"]["code"], 400, "{reply}");
    assert!(reply["error"]["message"].as_str().unwrap().starts_with("invalid data"), "{reply}");
    let reply = a.call(json!({"rpc": {"method": "mark_read"}})).await;
    assert_eq!(reply["error"]["code"], 400, "no data at all: {reply}");
    // `send` is not answered; the next command's reply is the next thing on the socket.
    a.send_raw(&json!({"send": {"data": {"x": 1}}}).to_string()).await;
    let reply = a.call(json!({"ping": {}})).await;
    assert!(reply.get("ping").is_some(), "{reply}");
    // A request without an id (other than `send` and the pong) breaks the protocol.
    a.send_raw(&json!({"ping": {}}).to_string()).await;
    assert_eq!(a.closed().await.code, 3501);
}

async fn resubscribing_recovers_exactly_what_was_missed(app: AppState, _raw: Raw) {
    let app = with_realtime(&app, RealtimeConfig { recovery_limit: 5, ..Default::default() });
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let (_, conv) = conversation(&app, &alice, "+15550001003").await;
    let addr = serve(&app).await;
    let token = realtime_token(&app, &alice).await;

    let (mut client, _) = Client::connect(addr, &token).await;
    let sub = subscribe(&mut client, &topic(conv)).await;
    let (epoch, seen) = (sub["epoch"].as_str().unwrap().to_owned(), sub["offset"].as_i64().unwrap());
    client.close().await;

    let mut missed = Vec::new();
    for i in 0..3 {
        missed.push(post_text(&app, &alice, conv, &format!("while away {i}")).await["id"].clone());
    }
    let (mut client, _) = Client::connect(addr, &token).await;
    let reply = client
        .call(json!({"subscribe": {"channel": topic(conv), "recover": true, "offset": seen, "epoch": epoch}}))
        .await;
    let sub = &reply["subscribe"];
    assert_eq!(sub["recovered"], true, "{reply}");
    assert_eq!(sub["was_recovering"], true);
    let pubs = sub["publications"].as_array().unwrap();
    let ids: Vec<&Value> = pubs.iter().map(|p| &p["data"]["payload"]["id"]).collect();
    assert_eq!(ids, missed.iter().collect::<Vec<_>>(), "the three, in order");
    let offsets: Vec<i64> = pubs.iter().map(|p| p["offset"].as_i64().unwrap()).collect();
    assert_eq!(offsets, vec![seen + 1, seen + 2, seen + 3]);
    assert_eq!(sub["offset"], seen + 3);
    // Live publications carry on from there, with no duplicate of a recovered one.
    post_text(&app, &alice, conv, "live").await;
    assert_eq!(client.publication(&topic(conv)).await["offset"], seen + 4);
    client.close().await;

    // A wrong epoch, or further behind than the bound (5): told to refetch.
    let (mut client, _) = Client::connect(addr, &token).await;
    let reply = client
        .call(
            json!({"subscribe": {"channel": topic(conv), "recover": true, "offset": seen, "epoch": "other"}}),
        )
        .await;
    assert_eq!(reply["subscribe"].get("recovered"), Some(&json!(false)), "{reply}");
    assert!(reply["subscribe"]["publications"].as_array().unwrap().is_empty());
    let reply = client.call(json!({"unsubscribe": {"channel": topic(conv)}})).await;
    assert!(reply.get("error").is_none());
    for i in 0..3 {
        post_text(&app, &alice, conv, &format!("more {i}")).await;
    }
    let reply = client
        .call(json!({"subscribe": {"channel": topic(conv), "recover": true, "offset": seen, "epoch": epoch}}))
        .await;
    assert_eq!(reply["subscribe"]["recovered"], false, "7 behind with a bound of 5: {reply}");
    assert_eq!(reply["subscribe"]["offset"], seen + 7);
}

async fn history_reads_the_log(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let (_, conv) = conversation(&app, &alice, "+15550001004").await;
    for i in 0..4 {
        post_text(&app, &alice, conv, &format!("h{i}")).await;
    }
    let addr = serve(&app).await;
    let (mut client, _) = Client::connect(addr, &realtime_token(&app, &alice).await).await;
    let reply = client.call(json!({"history": {"channel": topic(conv), "limit": 100}})).await;
    let history = &reply["history"];
    let top = history["offset"].as_i64().unwrap();
    let offsets: Vec<i64> =
        history["publications"].as_array().unwrap().iter().map(|p| p["offset"].as_i64().unwrap()).collect();
    assert_eq!(offsets, (1..=top).collect::<Vec<_>>(), "{reply}");
    let epoch = history["epoch"].clone();

    let reply = client
        .call(
            json!({"history": {"channel": topic(conv), "limit": 2, "since": {"offset": 1, "epoch": epoch}}}),
        )
        .await;
    let offsets: Vec<i64> = reply["history"]["publications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["offset"].as_i64().unwrap())
        .collect();
    assert_eq!(offsets, vec![2, 3]);
    let reply = client.call(json!({"history": {"channel": topic(conv), "limit": 2, "reverse": true}})).await;
    let offsets: Vec<i64> = reply["history"]["publications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["offset"].as_i64().unwrap())
        .collect();
    assert_eq!(offsets, vec![top, top - 1]);
    let reply = client
        .call(json!({"history": {"channel": topic(conv), "limit": 2, "since": {"offset": 1, "epoch": "stale"}}}))
        .await;
    assert_eq!(reply["error"]["code"], 112);
}

async fn presence_counts_a_user_once_across_sockets(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let bob = login(&app, "bob@example.com", "demo-password").await;
    let (channel, conv) = conversation(&app, &alice, "+15550001005").await;
    let inbox = format!("inbox:{}", channel.workspace_id);
    let addr = serve(&app).await;
    let (mut b, _) = Client::connect(addr, &realtime_token(&app, &bob).await).await;
    subscribe(&mut b, &inbox).await;
    let reply = b.call(json!({"subscribe": {"channel": topic(conv), "join_leave": true}})).await;
    assert!(reply.get("error").is_none(), "{reply}");

    let token = realtime_token(&app, &alice).await;
    let alice_id = app.accounts.authenticate(&alice).await.unwrap().user.id.to_string();
    let (mut a1, c1) = Client::connect(addr, &token).await;
    let online = b.publication(&inbox).await;
    assert_eq!(online["data"], json!({"type": "presence.online", "payload": {"user_id": alice_id}}));
    assert!(online.get("offset").is_none(), "presence is not in the log");
    let (mut a2, _) = Client::connect(addr, &token).await;
    subscribe(&mut a1, &topic(conv)).await;
    subscribe(&mut a2, &topic(conv)).await;

    // Bob sees each of alice's sockets join the conversation, and no second "online".
    let mut joins = 0;
    while joins < 2 {
        let push = b.push().await;
        assert_ne!(push["push"]["pub"]["data"]["type"], "presence.online", "{push}");
        if push["push"]["join"].is_object() {
            assert_eq!(push["push"]["join"]["info"]["user"], alice_id);
            joins += 1;
        }
    }
    let reply = b.call(json!({"presence_stats": {"channel": topic(conv)}})).await;
    assert_eq!(reply["presence_stats"], json!({"num_clients": 3, "num_users": 2}));
    let reply = b.call(json!({"presence_stats": {"channel": inbox}})).await;
    assert_eq!(
        reply["presence_stats"],
        json!({"num_clients": 3, "num_users": 2}),
        "connections of the workspace"
    );
    let reply = b.call(json!({"presence": {"channel": topic(conv)}})).await;
    let presence = reply["presence"]["presence"].as_object().unwrap();
    assert_eq!(presence.len(), 3);
    assert_eq!(presence[c1["client"].as_str().unwrap()]["conn_info"]["name"], "Alice Martin");

    // a1 did not ask for join/leave: it heard nothing of a2 (nor of bob's earlier join).
    while let Some(push) = a1.try_push(Duration::from_millis(200)).await {
        assert!(push["push"]["join"].is_null(), "join pushed without join_leave: {push}");
    }

    // Closing one of two sockets: a leave, but she is still online.
    a1.close().await;
    let leave = loop {
        let push = b.push().await;
        if push["push"]["leave"].is_object() {
            break push;
        }
    };
    assert_eq!(leave["push"]["leave"]["info"]["client"], c1["client"]);
    assert!(app.realtime.hub.is_online(channel.workspace_id, alice_id.parse().unwrap()));
    // The last one: offline.
    a2.close().await;
    loop {
        let push = b.push().await;
        if push["push"]["pub"]["data"]["type"] == "presence.offline" {
            assert_eq!(push["push"]["pub"]["data"]["payload"]["user_id"], alice_id);
            break;
        }
    }
    let reply = b.call(json!({"presence_stats": {"channel": topic(conv)}})).await;
    assert_eq!(reply["presence_stats"], json!({"num_clients": 1, "num_users": 1}));
}

async fn typing_is_relayed_to_others_and_never_stored(app: AppState, _raw: Raw) {
    let (_, conv, mut a, mut b) = alice_and_bob(&app, "+15550001006").await;
    subscribe(&mut a, &topic(conv)).await;
    subscribe(&mut b, &topic(conv)).await;
    let before = app.store.topic_position(Topic::Conversation(conv)).await.unwrap();

    let reply = a.call(json!({"rpc": {"method": "typing", "data": {"conversation_id": conv}}})).await;
    assert!(reply["rpc"]["data"]["expires_in_ms"].as_u64().unwrap() > 0, "{reply}");
    let typing = b.publication(&topic(conv)).await;
    assert_eq!(typing["data"]["type"], "typing");
    assert_eq!(typing["data"]["payload"]["name"], "Alice Martin");
    assert!(typing.get("offset").is_none());
    // Not echoed to the typist.
    while let Some(push) = a.try_push(Duration::from_millis(300)).await {
        assert!(push["push"].get("pub").is_none(), "echoed: {push}");
    }
    assert_eq!(
        app.store.topic_position(Topic::Conversation(conv)).await.unwrap(),
        before,
        "typing is not stored"
    );
}

async fn rpc_sends_are_idempotent_and_mark_read_works(app: AppState, _raw: Raw) {
    let (alice, conv, mut a, mut b) = alice_and_bob(&app, "+15550001007").await;
    let bob = login(&app, "bob@example.com", "demo-password").await;
    subscribe(&mut b, &topic(conv)).await;
    let data = json!({"conversation_id": conv, "text": "over the socket", "client_message_id": "rt-1"});
    let first = a.call(json!({"rpc": {"method": "send_message", "data": data}})).await;
    assert_eq!(first["rpc"]["data"]["created"], true, "{first}");
    let again = a.call(json!({"rpc": {"method": "send_message", "data": data}})).await;
    assert_eq!(again["rpc"]["data"]["created"], false);
    let id = first["rpc"]["data"]["message"]["id"].clone();
    assert_eq!(again["rpc"]["data"]["message"]["id"], id, "the same key is the same message");
    let publication = b.publication(&topic(conv)).await;
    assert_eq!(publication["data"]["payload"]["id"], id);
    // Exactly one message was written.
    let uri = format!("/api/v1/conversations/{conv}/messages");
    let history = body_json(send(&app, authed("GET", &uri, &alice, None)).await).await;
    let copies = history.as_array().unwrap().iter().filter(|m| m["client_message_id"] == "rt-1").count();
    assert_eq!(copies, 1);

    // Bob reads up to it over the socket; his user topic says so.
    let bob_id = app.accounts.authenticate(&bob).await.unwrap().user.id;
    subscribe(&mut b, &format!("user:{bob_id}")).await;
    let reply =
        b.call(json!({"rpc": {"method": "mark_read", "data": {"conversation_id": conv, "up_to": id}}})).await;
    assert_eq!(reply["rpc"]["data"]["unread_count"], 0, "{reply}");
    let read = b.publication(&format!("user:{bob_id}")).await;
    assert_eq!(read["data"]["type"], "read.updated");
}

#[tokio::test]
async fn a_slow_consumer_is_disconnected_to_recover() {
    let (app, _dir) = demo_app().await;
    let app = with_realtime(&app, RealtimeConfig { queue_capacity: 16, ..Default::default() });
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let (_, conv) = conversation(&app, &alice, "+15550001008").await;
    let addr = serve(&app).await;
    let (mut client, _) = Client::connect(addr, &realtime_token(&app, &alice).await).await;
    subscribe(&mut client, &topic(conv)).await;
    let slow_before = switchboard_server::metrics::metrics().slow_disconnects.get();
    // The client reads nothing while far more is published than its socket and queue hold.
    let filler = "x".repeat(16 * 1024);
    for _ in 0..4000 {
        app.realtime.publish(BusMessage::Ephemeral {
            topic: topic(conv),
            body: EventBody::Typing(Typing {
                conversation_id: conv,
                user_id: UserId::new(),
                name: filler.clone(),
                expires_in_ms: 1,
            }),
            except: None,
        });
    }
    let closed = client.closed().await;
    assert_eq!(closed.code, 3008, "{closed:?}");
    assert_eq!(closed.reason, "slow");
    assert!(
        switchboard_server::metrics::metrics().slow_disconnects.get() > slow_before,
        "the slow consumer is counted for /metrics"
    );
}

#[tokio::test]
async fn a_client_that_stops_answering_pings_is_closed() {
    let (app, _dir) = demo_app().await;
    let app =
        with_realtime(&app, RealtimeConfig { ping_interval: Duration::from_secs(1), ..Default::default() });
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let addr = serve(&app).await;
    let token = realtime_token(&app, &alice).await;
    let (mut silent, connected) = Client::connect(addr, &token).await;
    assert_eq!(connected["ping"], 1);
    silent.answer_pings = false;
    let (mut polite, _) = Client::connect(addr, &token).await;
    // The polite one keeps reading (which answers the pings) while the silent one is dropped.
    let keep_reading = async {
        let until = tokio::time::Instant::now() + Duration::from_millis(3500);
        while tokio::time::Instant::now() < until {
            assert!(polite.try_push(Duration::from_millis(100)).await.is_none());
        }
    };
    let (closed, ()) = tokio::join!(silent.closed(), keep_reading);
    assert_eq!(closed.code, 3012, "{closed:?}");
    let reply = polite.call(json!({"presence_stats": {"channel": "news:none"}})).await;
    assert_eq!(reply["error"]["code"], 102, "still answering: {reply}");
}

#[tokio::test]
async fn the_session_cookie_connects_a_browser() {
    let (app, _dir) = demo_app().await;
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let addr = serve(&app).await;
    let cookie = format!("sb_session={alice}");
    let mut client = Client::open(addr, &[("cookie", &cookie)]).await;
    let reply = client.call(json!({"connect": {}})).await;
    assert_eq!(reply["connect"]["expires"], false, "{reply}");
    assert_eq!(reply["connect"]["data"]["name"], "Alice Martin");
    let mut anonymous = Client::open(addr, &[]).await;
    anonymous.send_raw(&json!({"id": 1, "connect": {}}).to_string()).await;
    assert_eq!(anonymous.closed().await.code, 3500);
}

/// A commit whose publish never arrived leaves a gap; the next publication reveals it and the
/// connection reads the missing one from the log, so the client still sees every offset in order.
#[tokio::test]
async fn a_lost_publish_is_filled_from_the_log() {
    /// Hands events on to the bus, except while deaf.
    struct Deafening {
        bus: Arc<switchboard_server::realtime::Bus>,
        deaf: std::sync::atomic::AtomicBool,
    }
    impl switchboard::store::Broker for Deafening {
        fn publish(&self, events: &[switchboard::Event]) {
            if !self.deaf.load(std::sync::atomic::Ordering::SeqCst) {
                self.bus.publish(events);
            }
        }
    }
    let bus = switchboard_server::realtime::Bus::new();
    let broker = Arc::new(Deafening { bus: bus.clone(), deaf: Default::default() });
    let (store, _dir) = common::sqlite_with(broker.clone()).await;
    let app = common::demo_state(Arc::new(store), bus).await;
    let app =
        with_realtime(&app, RealtimeConfig { gap_wait: Duration::from_millis(50), ..Default::default() });
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let (_, conv) = conversation(&app, &alice, "+15550001009").await;
    let addr = serve(&app).await;
    let (mut client, _) = Client::connect(addr, &realtime_token(&app, &alice).await).await;
    let start = subscribe(&mut client, &topic(conv)).await["offset"].as_i64().unwrap();

    broker.deaf.store(true, std::sync::atomic::Ordering::SeqCst);
    let lost = post_text(&app, &alice, conv, "published into the void").await;
    broker.deaf.store(false, std::sync::atomic::Ordering::SeqCst);
    let heard = post_text(&app, &alice, conv, "published").await;

    let first = client.publication(&topic(conv)).await;
    assert_eq!(first["offset"], start + 1);
    assert_eq!(first["data"]["payload"]["id"], lost["id"]);
    let second = client.publication(&topic(conv)).await;
    assert_eq!(second["offset"], start + 2);
    assert_eq!(second["data"]["payload"]["id"], heard["id"]);
}
