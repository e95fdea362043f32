//! The developer platform, told as stories on SQLite and PostgreSQL: API keys are created by
//! admins, shown once, used as bearer secrets (a `read` key only reads) and revoked at once;
//! the app's users are upserted, paged, deactivated and deleted (their messages stay); user
//! tokens minted by the server or offline with the key's secret reach the user's rooms, over
//! REST and the realtime gateway, and nothing else; expired, forged and revoked-key tokens are
//! refused with their own codes.

#[macro_use]
mod common;

use common::ws::Client;
use common::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use switchboard_server::http::AppState;

app_test!(
    api_keys_are_created_shown_once_scoped_and_revoked,
    app_users_are_upserted_paged_deactivated_and_deleted,
    user_tokens_reach_their_rooms_and_nothing_else,
    user_tokens_are_refused_with_their_own_codes,
    a_user_token_connects_the_realtime_gateway_until_its_key_is_revoked,
    who_read_a_message_follows_the_members_read_positions,
    rooms_for_apps_have_types_filters_and_pages,
);

async fn call(app: &AppState, method: &str, uri: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let response = send(app, authed(method, uri, token, body)).await;
    let status = response.status().as_u16();
    let text = body_text(response).await;
    (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() })
}

#[track_caller]
fn refused(reply: &(u16, Value), status: u16, code: &str) {
    assert_eq!(reply.0, status, "{}", reply.1);
    assert_eq!(error_code(&reply.1), code, "{}", reply.1);
}

/// A new key of Alice's workspace: (id, secret).
async fn key(app: &AppState, alice: &str, scope: &str) -> (String, String) {
    let (status, created) = call(
        app,
        "POST",
        "/api/v1/api-keys",
        alice,
        Some(json!({"name": format!("{scope} key"), "scope": scope})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    (created["id"].as_str().unwrap().to_owned(), created["secret"].as_str().unwrap().to_owned())
}

async fn put_user(app: &AppState, key: &str, id: &str, name: &str) -> Value {
    let (status, user) =
        call(app, "PUT", &format!("/api/v1/users/{id}"), key, Some(json!({"name": name}))).await;
    assert!(status == 200 || status == 201, "{user}");
    user
}

/// A token for `sub`, signed offline with `secret` the way an app's backend would.
fn offline_token(secret: &str, key_id: &str, sub: &str, exp_in: i64) -> String {
    let exp = chrono::Utc::now().timestamp() + exp_in;
    let claims = json!({"sub": sub, "iss": key_id, "exp": exp});
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

async fn api_keys_are_created_shown_once_scoped_and_revoked(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let bob = login(&app, "bob@example.com", "demo-password").await;
    let (id, secret) = key(&app, &alice, "server").await;
    assert!(secret.starts_with("sb_sk_"), "{secret}");

    // Listed without its secret; agents may neither list nor create.
    let (status, keys) = call(&app, "GET", "/api/v1/api-keys", &alice, None).await;
    assert_eq!(status, 200);
    assert_eq!(keys[0]["id"], id.as_str());
    assert_eq!(keys[0]["scope"], "server");
    assert!(!keys.to_string().contains(&secret) && keys[0].get("secret").is_none());
    refused(
        &call(&app, "POST", "/api/v1/api-keys", &bob, Some(json!({"name": "mine"}))).await,
        403,
        "forbidden",
    );
    refused(&call(&app, "GET", "/api/v1/api-keys", &bob, None).await, 403, "forbidden");
    refused(
        &call(&app, "POST", "/api/v1/api-keys", &alice, Some(json!({"name": " "}))).await,
        422,
        "validation_failed",
    );

    // The secret authenticates as the workspace: it manages users and reads the staff's API,
    // is never one of the listed members, and makes no keys itself.
    assert_eq!(call(&app, "GET", "/api/v1/conversations", &secret, None).await.0, 200);
    put_user(&app, &secret, "u1", "Uma").await;
    let (status, members) = call(&app, "GET", "/api/v1/members", &secret, None).await;
    assert_eq!(status, 200);
    let emails: Vec<&str> =
        members.as_array().unwrap().iter().map(|m| m["email"].as_str().unwrap()).collect();
    assert_eq!(emails, ["alice@example.com", "bob@example.com"], "neither keys nor app users are staff");
    refused(
        &call(&app, "POST", "/api/v1/api-keys", &secret, Some(json!({"name": "x"}))).await,
        403,
        "forbidden",
    );
    let (_, keys) = call(&app, "GET", "/api/v1/api-keys", &alice, None).await;
    assert!(keys[0]["last_used_at"].is_string(), "a use is recorded: {keys}");

    // A read key reads and nothing else.
    let (_, read) = key(&app, &alice, "read").await;
    assert_eq!(call(&app, "GET", "/api/v1/users/u1", &read, None).await.0, 200);
    refused(
        &call(&app, "PUT", "/api/v1/users/u2", &read, Some(json!({"name": "Ned"}))).await,
        403,
        "insufficient_scope",
    );
    refused(&call(&app, "POST", "/api/v1/users/u1/token", &read, None).await, 403, "insufficient_scope");

    // A key's account never signs in; a made-up secret is refused in words.
    let key_user = keys[0]["user_id"].as_str().unwrap();
    let body = json!({"email": format!("{key_user}@key.switchboard.invalid"), "password": "!"}).to_string();
    let response = send(&app, post_json("/api/v1/auth/login", "10.0.0.9", &body)).await;
    assert_eq!(response.status(), 401);
    refused(
        &call(&app, "GET", "/api/v1/users", &format!("sb_sk_{}", "A".repeat(43)), None).await,
        401,
        "invalid_token",
    );

    // Revoked: refused at once, and it stays listed as revoked.
    let (status, revoked) = call(&app, "DELETE", &format!("/api/v1/api-keys/{id}"), &alice, None).await;
    assert_eq!(status, 200);
    assert!(revoked["revoked_at"].is_string());
    refused(&call(&app, "GET", "/api/v1/users", &secret, None).await, 401, "key_revoked");
    refused(&call(&app, "DELETE", &format!("/api/v1/api-keys/{id}"), &alice, None).await, 404, "not_found");
}

async fn app_users_are_upserted_paged_deactivated_and_deleted(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let bob = login(&app, "bob@example.com", "demo-password").await;
    let (key_id, secret) = key(&app, &alice, "server").await;

    // Created (201), then replaced (200) with the same ids.
    let body = json!({"name": "Uma", "image_url": "https://img.example/u.png", "custom": {"plan": "pro"}});
    let (status, created) = call(&app, "PUT", "/api/v1/users/u1", &secret, Some(body)).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!((created["role"].as_str(), created["custom"]["plan"].as_str()), (Some("user"), Some("pro")));
    let (status, updated) =
        call(&app, "PUT", "/api/v1/users/u1", &secret, Some(json!({"name": "Uma B."}))).await;
    assert_eq!(status, 200);
    assert_eq!(
        (updated["user_id"].clone(), updated["name"].as_str()),
        (created["user_id"].clone(), Some("Uma B."))
    );
    assert_eq!(updated["custom"], json!({}));
    for (id, body, field) in [
        ("with space", json!({"name": "X"}), "external_id"),
        ("u9", json!({"name": ""}), "name"),
        ("u9", json!({"name": "X", "custom": [1]}), "custom"),
        ("u9", json!({"name": "X", "image_url": "ftp://x"}), "image_url"),
    ] {
        let uri = format!("/api/v1/users/{}", id.replace(' ', "%20"));
        let reply = call(&app, "PUT", &uri, &secret, Some(body)).await;
        refused(&reply, 422, "validation_failed");
        assert_eq!(reply.1["error"]["field"], field);
    }
    // Agents do not manage the app's users; admins do, as keys do.
    refused(&call(&app, "PUT", "/api/v1/users/u2", &bob, Some(json!({"name": "B"}))).await, 403, "forbidden");
    assert_eq!(call(&app, "GET", "/api/v1/users/u1", &alice, None).await.0, 200);

    // Pages by external id.
    for id in ["u2", "u3", "u4"] {
        put_user(&app, &secret, id, id).await;
    }
    let (_, first) = call(&app, "GET", "/api/v1/users?limit=3", &secret, None).await;
    let ids = |page: &Value| -> Vec<String> {
        page["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["external_id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(&first), ["u1", "u2", "u3"]);
    assert_eq!(first["next"], "u3");
    let (_, second) = call(&app, "GET", "/api/v1/users?limit=3&after=u3", &secret, None).await;
    assert_eq!((ids(&second), second["next"].clone()), (vec!["u4".to_owned()], Value::Null));

    // Deactivated: their tokens are refused until they are reactivated.
    let (_, minted) = call(&app, "POST", "/api/v1/users/u1/token", &secret, None).await;
    let token = minted["token"].as_str().unwrap().to_owned();
    assert_eq!(call(&app, "GET", "/api/v1/conversations", &token, None).await.0, 200);
    let (status, off) = call(&app, "POST", "/api/v1/users/u1/deactivate", &secret, None).await;
    assert_eq!(status, 200);
    assert!(off["deactivated_at"].is_string());
    refused(&call(&app, "GET", "/api/v1/conversations", &token, None).await, 401, "user_deactivated");
    refused(&call(&app, "POST", "/api/v1/users/u1/token", &secret, None).await, 409, "user_deactivated");
    assert_eq!(call(&app, "POST", "/api/v1/users/u1/reactivate", &secret, None).await.0, 200);
    assert_eq!(call(&app, "GET", "/api/v1/conversations", &token, None).await.0, 200);

    // Deleted: gone, the id free again, the token dead, the messages kept from "Deleted user".
    let room = room_with(&app, &alice, &secret, &[&updated]).await;
    let uri = format!("/api/v1/conversations/{room}/messages");
    assert_eq!(call(&app, "POST", &uri, &token, Some(json!({"text": "bye all"}))).await.0, 201);
    assert_eq!(call(&app, "DELETE", "/api/v1/users/u1", &secret, None).await.0, 204);
    refused(&call(&app, "GET", "/api/v1/users/u1", &secret, None).await, 404, "not_found");
    refused(&call(&app, "GET", "/api/v1/conversations", &token, None).await, 401, "invalid_token");
    let (_, history) = call(&app, "GET", &uri, &secret, None).await;
    let kept =
        history.as_array().unwrap().iter().find(|m| m["text"] == "bye all").expect("the message stays");
    assert_eq!(kept["sender_user_id"], updated["user_id"]);
    let (_, members) =
        call(&app, "GET", &format!("/api/v1/conversations/{room}/members"), &secret, None).await;
    assert!(
        !members.to_string().contains(updated["user_id"].as_str().unwrap()),
        "they left the room: {members}"
    );
    let (status, again) =
        call(&app, "PUT", "/api/v1/users/u1", &secret, Some(json!({"name": "New Uma"}))).await;
    assert_eq!(status, 201);
    assert_ne!(again["user_id"], updated["user_id"], "a new user under the freed id");
    let _ = key_id;
}

/// A room on a new in-app channel, made by the key, with these app users as members.
async fn room_with(app: &AppState, alice: &str, key: &str, users: &[&Value]) -> String {
    let inapp = create_channel(app, alice, json!({"provider": "inapp", "name": "App chat"})).await;
    let member_ids: Vec<&Value> = users.iter().map(|u| &u["user_id"]).collect();
    let body = json!({"channel_id": inapp["id"], "title": "Support room", "member_ids": member_ids});
    let (status, room) = call(app, "POST", "/api/v1/conversations", key, Some(body)).await;
    assert_eq!(status, 201, "{room}");
    room["id"].as_str().unwrap().to_owned()
}

async fn user_tokens_reach_their_rooms_and_nothing_else(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let (key_id, secret) = key(&app, &alice, "server").await;
    let uma = put_user(&app, &secret, "uma", "Uma").await;
    let ned = put_user(&app, &secret, "ned", "Ned").await;
    let room = room_with(&app, &alice, &secret, &[&uma]).await;
    let other = room_with(&app, &alice, &secret, &[&ned]).await;
    // The shared inbox has a contact conversation too.
    let mock = create_channel(&app, &alice, json!({"provider": "mock", "name": "Support line"})).await;
    let ws = app.store.workspace_by_name("Acme Support").await.unwrap().unwrap().id;
    let mock = app.store.channel(ws, mock["id"].as_str().unwrap().parse().unwrap()).await.unwrap().unwrap();
    let inbox = contact_writes(&app, &mock, "+15550001111", "Maria", "hello").await.conversation.id;

    // Minted by the server, or offline with the secret: the same user, the same rooms.
    let (status, minted) =
        call(&app, "POST", "/api/v1/users/uma/token", &secret, Some(json!({"expires_in": 600}))).await;
    assert_eq!(status, 200, "{minted}");
    let now = chrono::Utc::now().timestamp();
    assert!((now + 590..=now + 610).contains(&minted["expires_at"].as_i64().unwrap()));
    let online = minted["token"].as_str().unwrap().to_owned();
    let offline = offline_token(&secret, &key_id, "uma", 600);
    for token in [&online, &offline] {
        let (status, me) = call(&app, "GET", "/api/v1/me", token, None).await;
        assert_eq!(status, 200);
        assert_eq!(me["user"]["id"], uma["user_id"]);
        assert_eq!(me["workspaces"][0]["role"], "user", "{me}");
        let (status, list) = call(&app, "GET", "/api/v1/conversations", token, None).await;
        assert_eq!(status, 200);
        let ids: Vec<&str> = list.as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
        assert_eq!(ids, [room.as_str()], "only her room, never the inbox or another's room");
    }

    // In her room she posts, reads history and marks read.
    let messages = format!("/api/v1/conversations/{room}/messages");
    let (status, sent) =
        call(&app, "POST", &messages, &offline, Some(json!({"text": "hi from the app"}))).await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["sender_user_id"], uma["user_id"]);
    let (status, history) = call(&app, "GET", &messages, &online, None).await;
    assert_eq!(status, 200);
    assert!(history.to_string().contains("hi from the app"));
    let read = json!({"up_to": sent["id"]});
    assert_eq!(
        call(&app, "POST", &format!("/api/v1/conversations/{room}/read"), &online, Some(read)).await.0,
        200
    );

    // Elsewhere: another's room and the inbox are closed; the staff's API is closed.
    for conv in [other.clone(), inbox.to_string()] {
        let reply = call(&app, "GET", &format!("/api/v1/conversations/{conv}/messages"), &online, None).await;
        assert_eq!(reply.0, 403, "{conv}: {}", reply.1);
        let reply = call(
            &app,
            "POST",
            &format!("/api/v1/conversations/{conv}/messages"),
            &online,
            Some(json!({"text": "x"})),
        )
        .await;
        assert_eq!(reply.0, 403, "{}", reply.1);
    }
    for uri in ["/api/v1/members", "/api/v1/channels", "/api/v1/sync", "/api/v1/users", "/api/v1/api-keys"] {
        refused(&call(&app, "GET", uri, &online, None).await, 403, "staff_only");
    }
    refused(&call(&app, "GET", "/api/v1/realtime/token", &online, None).await, 403, "session_required");
    // Nor may a user token, a person or a read key mint tokens.
    refused(&call(&app, "POST", "/api/v1/users/ned/token", &alice, None).await, 403, "server_key_required");
    refused(&call(&app, "POST", "/api/v1/users/nobody/token", &secret, None).await, 404, "not_found");
    refused(
        &call(&app, "POST", "/api/v1/users/uma/token", &secret, Some(json!({"expires_in": 5}))).await,
        422,
        "validation_failed",
    );
}

async fn user_tokens_are_refused_with_their_own_codes(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let (key_id, secret) = key(&app, &alice, "server").await;
    put_user(&app, &secret, "uma", "Uma").await;
    let get = |token: String| {
        let app = app.clone();
        async move { call(&app, "GET", "/api/v1/conversations", &token, None).await }
    };
    refused(&get(offline_token(&secret, &key_id, "uma", -5)).await, 401, "token_expired");
    let forged = offline_token(&format!("sb_sk_{}", "B".repeat(43)), &key_id, "uma", 600);
    refused(&get(forged).await, 401, "invalid_token");
    let unknown_key = offline_token(&secret, &uuid::Uuid::now_v7().to_string(), "uma", 600);
    refused(&get(unknown_key).await, 401, "invalid_token");
    refused(&get(offline_token(&secret, &key_id, "nobody", 600)).await, 401, "invalid_token");
    // No `exp`: refused, as a token that never ends would be.
    let claims = json!({"sub": "uma", "iss": key_id});
    let endless = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap();
    refused(&get(endless).await, 401, "invalid_token");
    // Another workspace's key cannot speak for this workspace's users.
    let good = offline_token(&secret, &key_id, "uma", 600);
    assert_eq!(get(good.clone()).await.0, 200);
    assert_eq!(call(&app, "DELETE", &format!("/api/v1/api-keys/{key_id}"), &alice, None).await.0, 200);
    refused(&get(good).await, 401, "key_revoked");
}

async fn a_user_token_connects_the_realtime_gateway_until_its_key_is_revoked(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let (key_id, secret) = key(&app, &alice, "server").await;
    let uma = put_user(&app, &secret, "uma", "Uma").await;
    let room = room_with(&app, &alice, &secret, &[&uma]).await;
    let addr = serve_app(&app).await;
    let ws = app.store.workspace_by_name("Acme Support").await.unwrap().unwrap().id;

    // The offline token is the SDK's connection token.
    let (mut client, connected) = Client::connect(addr, &offline_token(&secret, &key_id, "uma", 600)).await;
    assert_eq!(connected["data"]["user_id"], uma["user_id"]);
    assert_eq!(connected["data"]["workspaces"], json!([ws]), "her app's workspace, and no other");
    assert!(connected["expires"] == true, "the token's expiry is the connection's: {connected}");
    let topic = format!("conversation:{room}");
    let reply = client.call(json!({"subscribe": {"channel": topic}})).await;
    assert!(reply.get("error").is_none(), "{reply}");
    let reply = client.call(json!({"subscribe": {"channel": format!("inbox:{ws}")}})).await;
    assert_eq!(reply["error"]["code"], 103, "the inbox is the staff's: {reply}");

    // The key (a member of the room it made) posts; she hears it live.
    let uri = format!("/api/v1/conversations/{room}/messages");
    assert_eq!(call(&app, "POST", &uri, &secret, Some(json!({"text": "welcome, Uma"}))).await.0, 201);
    let publication = client.publication(&topic).await;
    assert_eq!(publication["data"]["type"], "message.created");
    assert_eq!(publication["data"]["payload"]["text"], "welcome, Uma");

    // An expired token is told as such (the SDK refreshes on 109).
    let mut late = Client::open(addr, &[]).await;
    let reply = late.call(json!({"connect": {"token": offline_token(&secret, &key_id, "uma", -5)}})).await;
    assert_eq!(reply["error"]["code"], 109, "{reply}");

    // Revoking the key closes her socket with its code.
    assert_eq!(call(&app, "DELETE", &format!("/api/v1/api-keys/{key_id}"), &alice, None).await.0, 200);
    let closed = client.closed().await;
    assert_eq!((closed.code, closed.reason.as_str()), (4504, "key revoked"));
}

/// Keys and app users have request quotas, told in the standard headers; over them, 429 with
/// `Retry-After`. People's sessions are not counted here.
#[tokio::test]
async fn keys_and_app_users_have_request_quotas_told_in_headers() {
    use std::sync::Arc;
    use std::time::Duration;
    use switchboard_server::services::ratelimit::Quota;
    let bus = switchboard_server::realtime::Bus::new();
    let (store, _dir) = sqlite_with(bus.clone()).await;
    switchboard_server::services::provision::seed_demo(&store).await.unwrap();
    let config = switchboard_server::services::AuthConfig {
        per_api_key: Quota::new(4, Duration::from_secs(60)),
        per_app_user: Quota::new(3, Duration::from_secs(60)),
        ..test_auth_config()
    };
    let app = state_with(Arc::new(store), bus, config);
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let (key_id, secret) = key(&app, &alice, "server").await;
    put_user(&app, &secret, "uma", "Uma").await;
    let token = offline_token(&secret, &key_id, "uma", 600);

    let header = |r: &axum::http::Response<axum::body::Body>, name: &str| {
        r.headers().get(name).map(|v| v.to_str().unwrap().to_owned())
    };
    for remaining in ["2", "1", "0"] {
        let response = send(&app, get("/api/v1/conversations", Some(&token))).await;
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "ratelimit-limit").as_deref(), Some("3"));
        assert_eq!(header(&response, "ratelimit-remaining").as_deref(), Some(remaining));
        assert!(header(&response, "ratelimit-reset").is_some());
    }
    let refused = send(&app, get("/api/v1/conversations", Some(&token))).await;
    assert_eq!(refused.status(), 429);
    assert_eq!(header(&refused, "retry-after").as_deref(), Some("20"));
    assert_eq!(header(&refused, "ratelimit-remaining").as_deref(), Some("0"));
    assert_eq!(error_code(&body_json(refused).await), "rate_limited");
    // The key has its own quota (one use so far: the user's creation); people none.
    let response = send(&app, get("/api/v1/users", Some(&secret))).await;
    assert_eq!(header(&response, "ratelimit-remaining").as_deref(), Some("2"));
    for _ in 0..10 {
        let response = send(&app, get("/api/v1/conversations", Some(&alice))).await;
        assert_eq!(response.status(), 200);
        assert!(header(&response, "ratelimit-limit").is_none());
    }
}

async fn who_read_a_message_follows_the_members_read_positions(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let (key_id, secret) = key(&app, &alice, "server").await;
    let uma = put_user(&app, &secret, "uma", "Uma").await;
    let ned = put_user(&app, &secret, "ned", "Ned").await;
    let room = room_with(&app, &alice, &secret, &[&uma, &ned]).await;
    let (uma_token, ned_token) =
        (offline_token(&secret, &key_id, "uma", 600), offline_token(&secret, &key_id, "ned", 600));
    let messages = format!("/api/v1/conversations/{room}/messages");
    let (_, first) = call(&app, "POST", &messages, &secret, Some(json!({"text": "first"}))).await;
    let (_, second) = call(&app, "POST", &messages, &secret, Some(json!({"text": "second"}))).await;
    let reads = |id: &Value, token: &str| {
        let (app, uri, token) =
            (app.clone(), format!("/api/v1/messages/{}/reads", id.as_str().unwrap()), token.to_owned());
        async move {
            let (status, body) = call(&app, "GET", &uri, &token, None).await;
            assert_eq!(status, 200, "{body}");
            body["read_by"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["name"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert!(
        reads(&second["id"], &ned_token).await.is_empty(),
        "nobody has read it; the sender is not counted"
    );
    let read = format!("/api/v1/conversations/{room}/read");
    assert_eq!(call(&app, "POST", &read, &uma_token, Some(json!({"up_to": second["id"]}))).await.0, 200);
    assert_eq!(reads(&second["id"], &ned_token).await, ["Uma"]);
    // The room hears it as a receipt on its own topic.
    let topic = switchboard::Topic::Conversation(room.parse().unwrap());
    let receipts: Vec<Value> = app
        .store
        .events_after(topic, 0, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind() == switchboard::EventKind::ReadReceipt)
        .map(|e| e.body.payload())
        .collect();
    assert_eq!(
        receipts,
        [json!({"conversation_id": room, "user_id": uma["user_id"], "message_id": second["id"]})]
    );
    assert_eq!(call(&app, "POST", &read, &ned_token, Some(json!({"up_to": first["id"]}))).await.0, 200);
    assert_eq!(reads(&first["id"], &uma_token).await, ["Uma", "Ned"], "oldest read first");
    assert_eq!(reads(&second["id"], &uma_token).await, ["Uma"], "Ned read only up to the first");
    // Outside the room, the question is refused as reading the room would be.
    let outsider = put_user(&app, &secret, "olga", "Olga").await;
    let _ = outsider;
    let olga = offline_token(&secret, &key_id, "olga", 600);
    let uri = format!("/api/v1/messages/{}/reads", second["id"].as_str().unwrap());
    assert_eq!(call(&app, "GET", &uri, &olga, None).await.0, 403);
}

async fn rooms_for_apps_have_types_filters_and_pages(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let bob = login(&app, "bob@example.com", "demo-password").await;
    let bob_id = app.accounts.authenticate(&bob).await.unwrap().user.id;
    let (key_id, secret) = key(&app, &alice, "server").await;
    let uma = put_user(&app, &secret, "uma", "Uma").await;
    let ned = put_user(&app, &secret, "ned", "Ned").await;
    let inapp = create_channel(&app, &alice, json!({"provider": "inapp", "name": "App chat"})).await;
    let make = |title: &'static str, room_type: &'static str, members: Vec<Value>, custom: Value| {
        let (app, secret, channel) = (app.clone(), secret.clone(), inapp["id"].clone());
        async move {
            let body = json!({"channel_id": channel, "title": title, "type": room_type, "member_ids": members, "custom": custom});
            let (status, room) = call(&app, "POST", "/api/v1/conversations", &secret, Some(body)).await;
            assert_eq!(status, 201, "{room}");
            assert_eq!(room["room_type"], room_type);
            room["id"].as_str().unwrap().to_owned()
        }
    };
    let order = make("Order 1234", "messaging", vec![uma["user_id"].clone()], json!({"order": "1234"})).await;
    let live = make("Launch", "livestream", vec![], json!({"kind": "event"})).await;
    let team = make("Support team", "team", vec![uma["user_id"].clone()], json!({"order": "999"})).await;
    let bad = json!({"channel_id": inapp["id"], "title": "X", "type": "party"});
    assert_eq!(call(&app, "POST", "/api/v1/conversations", &secret, Some(bad)).await.0, 422);
    let post = |room: &str, token: &str, text: &str| {
        let (app, uri, token, text) = (
            app.clone(),
            format!("/api/v1/conversations/{room}/messages"),
            token.to_owned(),
            text.to_owned(),
        );
        async move { call(&app, "POST", &uri, &token, Some(json!({ "text": text }))).await.0 }
    };
    assert_eq!(post(&order, &secret, "your order shipped").await, 201);
    let listed = |query: &str, token: &str| {
        let (app, uri, token) = (app.clone(), format!("/api/v1/rooms{query}"), token.to_owned());
        async move {
            let (status, rooms) = call(&app, "GET", &uri, &token, None).await;
            assert_eq!(status, 200, "{uri}: {rooms}");
            rooms.as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
        }
    };
    let uma_token = offline_token(&secret, &key_id, "uma", 600);
    let ned_token = offline_token(&secret, &key_id, "ned", 600);
    // What each may read, the latest message first.
    assert_eq!(listed("", &uma_token).await, [order.as_str(), team.as_str(), live.as_str()]);
    assert_eq!(listed("", &ned_token).await, [live.as_str()], "a livestream is everyone's to read");
    // The server's filters and pages.
    assert_eq!(listed("?member=uma", &secret).await, [order.as_str(), team.as_str()]);
    assert_eq!(
        listed(&format!("?member_id={}", ned["user_id"].as_str().unwrap()), &secret).await,
        Vec::<String>::new()
    );
    assert_eq!(listed("?type=livestream", &secret).await, [live.as_str()]);
    assert_eq!(listed("?custom.order=1234", &secret).await, [order.as_str()]);
    assert_eq!(listed("?custom.order=999&type=team", &secret).await, [team.as_str()]);
    assert_eq!(listed("?sort=created&limit=2", &secret).await, [team.as_str(), live.as_str()]);
    assert_eq!(listed(&format!("?sort=created&limit=2&after={live}"), &secret).await, [order.as_str()]);
    for bad in ["?sort=size", "?type=party", "?custom.a%20b=x", "?colour=red", "?after=nope"] {
        assert_eq!(call(&app, "GET", &format!("/api/v1/rooms{bad}"), &secret, None).await.0, 422, "{bad}");
    }

    // A livestream: read by anyone, posted in by members; anyone may join.
    let history = format!("/api/v1/conversations/{live}/messages");
    assert_eq!(call(&app, "GET", &history, &ned_token, None).await.0, 200);
    assert_eq!(post(&live, &ned_token, "hello?").await, 403);
    let join = |room: &str, token: &str, user: &Value| {
        let (app, uri, token, body) = (
            app.clone(),
            format!("/api/v1/conversations/{room}/members"),
            token.to_owned(),
            json!({"user_ids": [user]}),
        );
        async move { call(&app, "POST", &uri, &token, Some(body)).await.0 }
    };
    assert_eq!(join(&live, &ned_token, &ned["user_id"]).await, 200);
    assert_eq!(post(&live, &ned_token, "hello!").await, 201);
    // A messaging room is its members' to open; a team's room, the staff's to join.
    assert_eq!(join(&order, &ned_token, &ned["user_id"]).await, 403);
    assert_eq!(join(&team, &ned_token, &ned["user_id"]).await, 403);
    assert_eq!(join(&team, &bob, &json!(bob_id)).await, 200);
    assert_eq!(post(&team, &bob, "on it").await, 201);
}
