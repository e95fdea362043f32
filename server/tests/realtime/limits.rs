//! Limits and the edges of a connection: origins, oversized frames, send rates, the connection
//! cap and shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::ws::{Client, Closed};
use serde_json::{Value, json};
use switchboard_server::http::AppState;
use switchboard_server::realtime::RealtimeConfig;

use crate::access_ended::{answers, closed_with};
use crate::*;

#[tokio::test]
async fn cookie_connects_are_refused_from_foreign_origins_and_token_connects_are_not() {
    let (app, _dir) = demo_app().await;
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let addr = serve(&app).await;
    let cookie = format!("sb_session={alice}");

    // A page elsewhere would act as Alice with her cookie: refused, and told not to retry.
    let mut foreign = Client::open(addr, &[("cookie", &cookie), ("origin", "https://evil.example")]).await;
    foreign.send_raw(&json!({"id": 1, "connect": {}}).to_string()).await;
    assert_eq!(foreign.closed().await, Closed { code: 4506, reason: "origin not allowed".into() });

    // Our own pages (the public URL, however its origin is spelled) connect.
    for origin in [PUBLIC_URL, "HTTP://switchboard.test:80"] {
        let mut ours = Client::open(addr, &[("cookie", &cookie), ("origin", origin)]).await;
        let reply = ours.call(json!({"connect": {}})).await;
        assert_eq!(reply["connect"]["data"]["name"], "Alice Martin", "{origin}: {reply}");
    }

    // Tokens are what SDKs on other sites use: any origin, cookie or not.
    let token = realtime_token(&app, &alice).await;
    let mut sdk = Client::open(addr, &[("cookie", &cookie), ("origin", "https://evil.example")]).await;
    let reply = sdk.call(json!({"connect": {"token": token}})).await;
    assert!(reply.get("error").is_none(), "{reply}");
    answers(&mut sdk).await;
}

#[tokio::test]
async fn an_oversized_frame_is_closed_with_1009() {
    let (app, _dir) = demo_app().await;
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let addr = serve(&app).await;
    let big =
        format!("{{\"id\":1,\"rpc\":{{\"method\":\"typing\",\"data\":\"{}\"}}}}", "x".repeat(70 * 1024));

    // Connected…
    let (mut client, _) = Client::connect(addr, &realtime_token(&app, &alice).await).await;
    client.send_raw(&big).await;
    assert_eq!(client.closed().await, Closed { code: 1009, reason: "message too big".into() });
    // …and before the connect.
    let mut early = Client::open(addr, &[]).await;
    early.send_raw(&big).await;
    assert_eq!(early.closed().await, Closed { code: 1009, reason: "message too big".into() });
}

pub async fn rpc_sends_are_limited_per_user(app: AppState, _raw: Raw) {
    use switchboard_server::services::ratelimit::Quota;
    // The default burst (30), with no refill within the test.
    let quota = Quota::new(30, Duration::from_secs(3600));
    let messages = switchboard_server::services::MessageService::with_send_limit(app.store.clone(), quota);
    let app = AppState { messages: Arc::new(messages), ..app };
    let (alice, conv, mut a, mut b) = alice_and_bob(&app, "+15550001020").await;
    let send = |text: String| json!({"rpc": {"method": "send_message", "data": {"conversation_id": conv, "text": text}}});
    for i in 0..30 {
        let reply = a.call(send(format!("m{i}"))).await;
        assert_eq!(reply["rpc"]["data"]["created"], true, "send {i}: {reply}");
    }
    let reply = a.call(send("one too many".into())).await;
    assert_eq!(reply["error"]["code"], 429, "{reply}");
    assert_eq!(reply["error"]["temporary"], true, "the SDK may retry later: {reply}");
    // Every door counts against the same limit: REST refuses alice too.
    let uri = format!("/api/v1/conversations/{conv}/messages");
    let response = send_req(&app, authed("POST", &uri, &alice, Some(json!({"text": "rest"})))).await;
    assert_eq!(response.status(), 429);
    let history =
        body_json(send_req(&app, authed("GET", &format!("{uri}?limit=200"), &alice, None)).await).await;
    assert_eq!(history.as_array().unwrap().len(), 31, "the contact's message and alice's 30, nothing more");
    // Bob is not affected.
    let reply = b.call(send("bob is fine".into())).await;
    assert_eq!(reply["rpc"]["data"]["created"], true, "{reply}");
}

pub async fn send_req(
    app: &AppState,
    request: axum::http::Request<axum::body::Body>,
) -> axum::http::Response<axum::body::Body> {
    common::send(app, request).await
}

/// Opens a WebSocket and answers the HTTP refusal of its upgrade (panics if it is accepted).
pub async fn refused_upgrade(addr: SocketAddr) -> (u16, Option<String>, Value) {
    match tokio_tungstenite::connect_async(format!("ws://{addr}/connection/websocket")).await {
        Ok(_) => panic!("the upgrade was accepted"),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let retry = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
            let body = response.body().clone().unwrap_or_default();
            let json = serde_json::from_slice(&body).unwrap_or_else(|e| panic!("not JSON ({e}): {body:?}"));
            (response.status().as_u16(), retry, json)
        }
        Err(e) => panic!("not an HTTP refusal: {e}"),
    }
}

/// Waits until the node counts `open` WebSocket connections.
pub async fn open_settles(app: &AppState, open: usize) {
    for _ in 0..250 {
        if app.realtime.open_connections() == open {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{} open connections, expected {open}", app.realtime.open_connections());
}

#[tokio::test]
async fn past_the_connection_cap_upgrades_are_refused_with_503() {
    let (app, _dir) = demo_app().await;
    let app = with_realtime(&app, RealtimeConfig { max_connections: 2, ..test_realtime_config() });
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let addr = serve(&app).await;
    let token = realtime_token(&app, &alice).await;
    let (first, _) = Client::connect(addr, &token).await;
    // A socket that has not sent `connect` yet holds a place too.
    let mut second = Client::open(addr, &[]).await;
    let (status, retry, body) = refused_upgrade(addr).await;
    assert_eq!(status, 503);
    assert_eq!(retry.as_deref(), Some("5"));
    assert_eq!(error_code(&body), "too_many_connections", "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("limit of 2"), "{body}");
    assert_eq!(app.realtime.open_connections(), 2, "a refusal holds no place");

    // A place comes back when a connection ends.
    first.close().await;
    open_settles(&app, 1).await;
    let (mut third, _) = Client::connect(addr, &token).await;
    answers(&mut third).await;
    let reply = second.call(json!({"connect": {"token": token}})).await;
    assert!(reply.get("error").is_none(), "{reply}");
    drop((second, third));
    open_settles(&app, 0).await;
}

#[tokio::test]
async fn shutdown_tells_every_client_to_reconnect_elsewhere() {
    let (app, _dir) = demo_app().await;
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let bob = login(&app, "bob@example.com", "demo-password").await;
    let addr = serve(&app).await;
    let (mut a, _) = Client::connect(addr, &realtime_token(&app, &alice).await).await;
    let (mut b, _) = Client::connect(addr, &realtime_token(&app, &bob).await).await;
    // One still in its handshake.
    let mut early = Client::open(addr, &[]).await;
    open_settles(&app, 3).await;

    assert_eq!(app.realtime.shutdown(), 2, "the connected clients were told");
    for client in [&mut a, &mut b, &mut early] {
        closed_with(client, 3001, "shutdown").await;
    }
    tokio::time::timeout(Duration::from_secs(5), app.realtime.closed()).await.expect("every connection ends");
    assert_eq!(app.realtime.hub.live(), 0);
    // No new connection while the node shuts down.
    let (status, retry, body) = refused_upgrade(addr).await;
    assert_eq!((status, retry.as_deref()), (503, Some("5")));
    assert_eq!(error_code(&body), "unavailable", "{body}");
}
