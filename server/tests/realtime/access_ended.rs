//! Sockets closed the moment access ends: room removal, sign-out, password change, revoked
//! sessions.

use std::net::SocketAddr;
use std::time::Duration;

use common::ws::{Client, Closed};
use serde_json::json;
use switchboard::ConversationId;
use switchboard_server::http::AppState;

use crate::*;

pub async fn a_removed_member_is_disconnected_and_cannot_subscribe_again(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let bob = login(&app, "bob@example.com", "demo-password").await;
    let me = body_json(send(&app, authed("GET", "/api/v1/me", &bob, None)).await).await;
    let ws = me["workspaces"][0]["workspace"]["id"].as_str().unwrap().to_owned();
    let bob_id = me["user"]["id"].as_str().unwrap().to_owned();
    let addr = serve(&app).await;
    let token = realtime_token(&app, &bob).await;
    let (mut client, _) = Client::connect(addr, &token).await;
    subscribe(&mut client, &format!("inbox:{ws}")).await;
    // Alice's own connection stays.
    let (mut other, _) = Client::connect(addr, &realtime_token(&app, &alice).await).await;
    subscribe(&mut other, &format!("inbox:{ws}")).await;

    // A socket subscribed to nothing is closed too.
    let (mut idle, _) = Client::connect(addr, &token).await;

    let response = send(&app, authed("DELETE", &format!("/api/v1/members/{bob_id}"), &alice, None)).await;
    assert_eq!(response.status(), 204);
    let closed = client.closed().await;
    assert_eq!(closed, Closed { code: 4503, reason: "removed from workspace".into() });
    assert_eq!(idle.closed().await.code, 4503);

    // Reconnecting works (the account is still there); the workspace's topics are refused.
    let (mut again, _) = Client::connect(addr, &realtime_token(&app, &bob).await).await;
    let reply = again.call(json!({ "subscribe": { "channel": format!("inbox:{ws}") } })).await;
    assert_eq!(reply["error"]["code"], 103, "{reply}");
    // Alice was not touched.
    let ping = other.call(json!({ "presence_stats": { "channel": format!("inbox:{ws}") } })).await;
    assert!(ping.get("error").is_none(), "{ping}");
}

/// Alice's session (another sign-in each call): its token, its id, and a socket connected with a
/// realtime token minted from it and one with its cookie.
pub async fn alice_session(app: &AppState, addr: SocketAddr) -> (String, String, Client, Client) {
    let session = login(app, "alice@example.com", "demo-password").await;
    let sessions = body_json(send(app, authed("GET", "/api/v1/me/sessions", &session, None)).await).await;
    let id = sessions.as_array().unwrap().iter().find(|s| s["current"] == true).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (by_token, _) = Client::connect(addr, &realtime_token(app, &session).await).await;
    let cookie = format!("sb_session={session}");
    let mut by_cookie = Client::open(addr, &[("cookie", &cookie), ("origin", PUBLIC_URL)]).await;
    let reply = by_cookie.call(json!({"connect": {}})).await;
    assert!(reply.get("error").is_none(), "{reply}");
    (session, id, by_token, by_cookie)
}

/// The socket still answers commands.
pub async fn answers(client: &mut Client) {
    let reply = client
        .call(json!({"rpc": {"method": "typing", "data": {"conversation_id": ConversationId::new()}}}))
        .await;
    assert_eq!(reply["error"]["code"], 103, "an RPC is authorized and answered: {reply}");
}

/// The socket was closed with `code` and its RPCs no longer reach anything.
pub async fn closed_with(client: &mut Client, code: u16, reason: &str) {
    assert_eq!(client.closed().await, Closed { code, reason: reason.into() });
}

/// The registry forgets closed connections (they deregister as they end).
pub async fn registry_settles(app: &AppState, live: usize) {
    let user = app
        .store
        .user_by_email(&switchboard::validate::Email::parse("alice@example.com").unwrap())
        .await
        .unwrap()
        .unwrap();
    let target = switchboard_server::realtime::hub::Target::User { user: user.id, keep: None };
    for _ in 0..100 {
        if app.realtime.hub.count(&target) == live {
            app.realtime.hub.check_invariants();
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{} live connections, expected {live}", app.realtime.hub.count(&target));
}

pub async fn signing_out_closes_the_sessions_sockets_at_once(app: AppState, _raw: Raw) {
    let addr = serve(&app).await;
    let (laptop, _, mut token_socket, mut cookie_socket) = alice_session(&app, addr).await;
    let (_phone, _, mut phone_socket, _phone_by_cookie) = alice_session(&app, addr).await;
    let stale = realtime_token(&app, &laptop).await;
    answers(&mut token_socket).await;

    let response = send(&app, authed("POST", "/api/v1/auth/logout", &laptop, None)).await;
    assert_eq!(response.status(), 204);
    // At once, not when the 15-minute token expires: the SDK is told not to reconnect.
    closed_with(&mut token_socket, 4500, "signed out").await;
    closed_with(&mut cookie_socket, 4500, "signed out").await;
    // A token minted before the sign-out no longer connects either.
    let mut again = Client::open(addr, &[]).await;
    again.send_raw(&json!({"id": 1, "connect": {"token": stale}}).to_string()).await;
    assert_eq!(again.closed().await.code, 3500);
    // The other session is untouched.
    answers(&mut phone_socket).await;
    registry_settles(&app, 2).await;
}

pub async fn a_password_change_closes_the_other_sessions_sockets_only(app: AppState, _raw: Raw) {
    let addr = serve(&app).await;
    let (laptop, _, mut mine, mut mine_by_cookie) = alice_session(&app, addr).await;
    let (phone, _, mut other, mut other_by_cookie) = alice_session(&app, addr).await;

    let change = |current: &str, new: &str| json!({"current_password": current, "new_password": new});
    let wrong =
        send(&app, authed("POST", "/api/v1/me/password", &laptop, Some(change("nope", "a new passphrase"))))
            .await;
    assert_eq!(wrong.status(), 422);
    assert_eq!(body_json(wrong).await["error"]["field"], "current_password");
    let weak =
        send(&app, authed("POST", "/api/v1/me/password", &laptop, Some(change("demo-password", "short"))))
            .await;
    assert_eq!(weak.status(), 422);
    assert_eq!(body_json(weak).await["error"]["field"], "new_password");
    answers(&mut other).await;

    let done = send(
        &app,
        authed("POST", "/api/v1/me/password", &laptop, Some(change("demo-password", "a new passphrase"))),
    )
    .await;
    assert_eq!(done.status(), 204);
    closed_with(&mut other, 4502, "password changed").await;
    closed_with(&mut other_by_cookie, 4502, "password changed").await;
    answers(&mut mine).await;
    answers(&mut mine_by_cookie).await;
    assert_eq!(send(&app, get("/api/v1/me", Some(&phone))).await.status(), 401);
    assert_eq!(send(&app, get("/api/v1/me", Some(&laptop))).await.status(), 200);
    login(&app, "alice@example.com", "a new passphrase").await;
    let old = json!({"email": "alice@example.com", "password": "demo-password"}).to_string();
    assert_eq!(send(&app, post_json("/api/v1/auth/login", "10.0.0.2", &old)).await.status(), 401);
    registry_settles(&app, 2).await;
}

pub async fn revoking_one_session_closes_its_sockets_only(app: AppState, _raw: Raw) {
    let addr = serve(&app).await;
    let (laptop, laptop_id, mut mine, _) = alice_session(&app, addr).await;
    let (phone, phone_id, mut other, mut other_by_cookie) = alice_session(&app, addr).await;
    let listed = body_json(send(&app, authed("GET", "/api/v1/me/sessions", &laptop, None)).await).await;
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(listed[0]["id"], phone_id, "newest first");
    assert_eq!((listed[0]["current"].clone(), listed[1]["current"].clone()), (json!(false), json!(true)));
    assert!(listed[0]["created_at"].is_string() && listed[0]["expires_at"].is_string());

    // Someone else's session is not yours to revoke, nor to know about.
    let bob = login(&app, "bob@example.com", "demo-password").await;
    let response =
        send(&app, authed("DELETE", &format!("/api/v1/me/sessions/{laptop_id}"), &bob, None)).await;
    assert_eq!(response.status(), 404);
    assert_eq!(error_code(&body_json(response).await), "not_found");
    answers(&mut mine).await;

    let response =
        send(&app, authed("DELETE", &format!("/api/v1/me/sessions/{phone_id}"), &laptop, None)).await;
    assert_eq!(response.status(), 204);
    assert!(response.headers().get("set-cookie").is_none(), "the caller's own cookie stays");
    closed_with(&mut other, 4501, "session revoked").await;
    closed_with(&mut other_by_cookie, 4501, "session revoked").await;
    answers(&mut mine).await;
    assert_eq!(send(&app, get("/api/v1/me", Some(&phone))).await.status(), 401);
    let again = send(&app, authed("DELETE", &format!("/api/v1/me/sessions/{phone_id}"), &laptop, None)).await;
    assert_eq!(again.status(), 404, "already revoked");
    registry_settles(&app, 1).await;
}

pub async fn signing_out_everywhere_closes_every_socket(app: AppState, _raw: Raw) {
    let addr = serve(&app).await;
    let (laptop, _, mut a, mut b) = alice_session(&app, addr).await;
    let (phone, _, mut c, mut d) = alice_session(&app, addr).await;
    let bob = login(&app, "bob@example.com", "demo-password").await;
    let (mut bobs, _) = Client::connect(addr, &realtime_token(&app, &bob).await).await;

    let response = send(&app, authed("DELETE", "/api/v1/me/sessions", &laptop, None)).await;
    assert_eq!(response.status(), 204);
    assert!(response.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    for socket in [&mut a, &mut b, &mut c, &mut d] {
        closed_with(socket, 4500, "signed out").await;
    }
    for token in [&laptop, &phone] {
        assert_eq!(send(&app, get("/api/v1/me", Some(token))).await.status(), 401);
    }
    answers(&mut bobs).await;
    registry_settles(&app, 0).await;
}
