//! Hardening against hostile or careless input, on SQLite and PostgreSQL: config knobs with
//! bounds, secrets that never leave the server, and NUL (U+0000) on every text path.

#[macro_use]
mod common;

use axum::http::StatusCode;
use common::ws::Client;
use common::*;
use serde_json::{Value, json};
use switchboard_server::http::AppState;

app_test!(
    mock_knobs_out_of_bounds_are_refused_naming_the_key,
    a_stored_config_past_the_bounds_cannot_crash_sign_in,
    secrets_are_write_only_and_agents_see_no_config,
    nul_is_refused_from_clients_with_the_field_named,
    nul_from_a_network_is_stripped_and_the_message_stored,
    nul_in_an_rpc_send_is_a_permanent_refusal,
);

const SECRET: &str = "whsec_hardening_secret";

async fn create(app: &AppState, token: &str, body: Value) -> axum::http::Response<axum::body::Body> {
    send(app, authed("POST", "/api/v1/channels", token, Some(body))).await
}

#[track_caller]
fn assert_field(body: &Value, field: &str) {
    assert_eq!(body["error"]["code"], "validation_failed", "{body}");
    assert_eq!(body["error"]["field"], field, "{body}");
}

async fn mock_knobs_out_of_bounds_are_refused_naming_the_key(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let cases = [
        (json!({"rate_limit_retry_after_secs": 1e15}), "config"),
        (json!({"rate_limit_retry_after_secs": 86_401}), "config.rate_limit_retry_after_secs"),
        (json!({"qr_ttl_secs": 1_000_000_000_000u64}), "config.qr_ttl_secs"),
        (json!({"code_ttl_secs": 0}), "config.code_ttl_secs"),
        (json!({"auth_confirm_after_ms": u64::MAX}), "config.auth_confirm_after_ms"),
        (json!({"reply_after_ms": 3_600_001}), "config.reply_after_ms"),
        (json!({"delivered_after_ms": 9_999_999_999u64}), "config.delivered_after_ms"),
        (json!({"read_after_ms": 3_600_001}), "config.read_after_ms"),
        (json!({"rate_limit_next": 10_001}), "config.rate_limit_next"),
        (json!({"connect_failures": 10_001}), "config.connect_failures"),
        (json!({"contacts": 51}), "config.contacts"),
        (json!({"webhook_secret": "short"}), "config.webhook_secret"),
        (json!({"failure_rate": 2.0}), "config.failure_rate"),
    ];
    for (config, field) in cases {
        let response = create(&app, &alice, json!({"provider": "mock", "name": "M", "config": config})).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{config}");
        assert_field(&body_json(response).await, field);
    }
    // The bounds themselves are accepted, and a PATCH is held to the same rules.
    let edge =
        json!({"rate_limit_retry_after_secs": 86_400, "qr_ttl_secs": 3600, "reply_after_ms": 3_600_000});
    let response = create(&app, &alice, json!({"provider": "mock", "name": "Edge", "config": edge})).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let id = body_json(response).await["id"].as_str().unwrap().to_owned();
    let patch = json!({"config": {"rate_limit_retry_after_secs": 1_000_000_000_000_000u64}});
    let response = send(&app, authed("PATCH", &format!("/api/v1/channels/{id}"), &alice, Some(patch))).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_field(&body_json(response).await, "config.rate_limit_retry_after_secs");
}

async fn a_stored_config_past_the_bounds_cannot_crash_sign_in(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let created = create_channel(&app, &alice, json!({"provider": "mock", "name": "Old"})).await;
    let id: switchboard::ChannelId = created["id"].as_str().unwrap().parse().unwrap();
    // A config written before the bounds existed (or straight into the database).
    let ws = app.store.workspace_by_name("Acme Support").await.unwrap().unwrap().id;
    let huge = json!({"qr_ttl_secs": 1_000_000_000_000_000u64, "code_ttl_secs": u64::MAX});
    app.store.update_channel(ws, id, None, Some(huge), switchboard::time::now()).await.unwrap();
    for method in ["qr", "otp"] {
        let response = send(
            &app,
            authed(
                "POST",
                &format!("/api/v1/channels/{id}/auth/start"),
                &alice,
                Some(json!({"method": method})),
            ),
        )
        .await;
        let status = response.status();
        let body = body_json(response).await;
        assert!(status.is_client_error(), "{method}: {status} {body}");
        assert!(body["error"]["code"].is_string(), "{body}");
    }
}

async fn secrets_are_write_only_and_agents_see_no_config(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let bob = login(&app, "bob@example.com", "demo-password").await;
    let config = json!({"webhook_secret": SECRET, "contacts": 2});
    let response =
        create(&app, &alice, json!({"provider": "mock", "name": "Hooked", "config": config})).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created = body_json(response).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let masked = json!({"webhook_secret": switchboard::channel::SECRET_MASK, "contacts": 2});
    assert_eq!(created["config"], masked, "masked in the create answer");

    // Every read, by every role, of every route that returns a channel.
    let reads = [
        (&alice, "GET", format!("/api/v1/channels/{id}"), None),
        (&alice, "GET", "/api/v1/channels".to_owned(), None),
        (&bob, "GET", "/api/v1/channels".to_owned(), None),
        (&alice, "PATCH", format!("/api/v1/channels/{id}"), Some(json!({"name": "Renamed"}))),
        (&alice, "POST", format!("/api/v1/channels/{id}/auth/start"), Some(json!({"method": "qr"}))),
        (&alice, "GET", format!("/api/v1/channels/{id}/auth"), None),
        (&alice, "POST", format!("/api/v1/channels/{id}/logout"), None),
    ];
    for (token, method, uri, body) in reads {
        let response = send(&app, authed(method, &uri, token, body)).await;
        assert!(response.status().is_success(), "{method} {uri}: {}", response.status());
        let text = body_text(response).await;
        assert!(!text.contains(SECRET), "{method} {uri} leaks the secret: {text}");
    }
    let listed = body_json(send(&app, authed("GET", "/api/v1/channels", &bob, None)).await).await;
    let hooked = listed.as_array().unwrap().iter().find(|c| c["id"] == id.as_str()).unwrap();
    assert_eq!(hooked["config"], json!({}), "agents see no configuration");
    assert_eq!(hooked["name"], "Renamed");
    let listed = body_json(send(&app, authed("GET", "/api/v1/channels", &alice, None)).await).await;
    let hooked = listed.as_array().unwrap().iter().find(|c| c["id"] == id.as_str()).unwrap();
    assert_eq!(hooked["config"], masked, "admins see that a secret is set, not what it is");

    // A form that sends the masked config back keeps the secret: the webhook still verifies.
    let patch = json!({"config": {"webhook_secret": switchboard::channel::SECRET_MASK, "contacts": 3}});
    let response = send(&app, authed("PATCH", &format!("/api/v1/channels/{id}"), &alice, Some(patch))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = json!({"events": [{"type": "message", "id": "m1", "from": "+1555", "text": "still signed"}]});
    assert_eq!(post_webhook(&app, &id, &body, SECRET).await.status(), StatusCode::OK);
    let stored = app.store.channel_for_webhook(id.parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(stored.config["webhook_secret"], SECRET);
    assert_eq!(stored.config["contacts"], 3);
}

/// Posts a Mock webhook signed with `secret`.
async fn post_webhook(
    app: &AppState,
    id: &str,
    body: &Value,
    secret: &str,
) -> axum::http::Response<axum::body::Body> {
    send(app, signed_mock_webhook(id, &body.to_string(), secret)).await
}

/// A conversation opened by a contact's message through a signed webhook.
async fn hooked_conversation(app: &AppState, alice: &str) -> (String, String) {
    let created = create_channel(
        app,
        alice,
        json!({"provider": "mock", "name": "Hooked", "config": {"webhook_secret": SECRET}}),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let body = json!({"events": [{"type": "message", "id": "first", "from": "+4915100000", "name": "Lena", "text": "hello"}]});
    assert_eq!(post_webhook(app, &id, &body, SECRET).await.status(), StatusCode::OK);
    let list = body_json(send(app, authed("GET", "/api/v1/conversations", alice, None)).await).await;
    let conv = list.as_array().unwrap().iter().find(|c| c["channel_id"] == id.as_str()).unwrap();
    (id, conv["id"].as_str().unwrap().to_owned())
}

async fn nul_is_refused_from_clients_with_the_field_named(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let (channel, conv) = hooked_conversation(&app, &alice).await;
    let cases = [
        ("POST", format!("/api/v1/conversations/{conv}/messages"), json!({"text": "a\u{0}b"}), "text"),
        ("POST", "/api/v1/channels".to_owned(), json!({"provider": "mock", "name": "a\u{0}b"}), "name"),
        (
            "POST",
            "/api/v1/channels".to_owned(),
            json!({"provider": "mock", "name": "M", "config": {"reply_text": "x\u{0}"}}),
            "config",
        ),
        (
            "PATCH",
            format!("/api/v1/channels/{channel}"),
            json!({"config": {"reject_contacts": ["\u{0}"]}}),
            "config",
        ),
    ];
    for (method, uri, body, field) in cases {
        let response = send(&app, authed(method, &uri, &alice, Some(body.clone()))).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{method} {uri} {body}");
        assert_field(&body_json(response).await, field);
    }
    let sent = send(
        &app,
        authed(
            "POST",
            &format!("/api/v1/conversations/{conv}/messages"),
            &alice,
            Some(json!({"text": "ok"})),
        ),
    )
    .await;
    let id = body_json(sent).await["id"].as_str().unwrap().to_owned();
    let edit = send(
        &app,
        authed("PATCH", &format!("/api/v1/messages/{id}"), &alice, Some(json!({"text": "x\u{0}y"}))),
    )
    .await;
    assert_eq!(edit.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_field(&body_json(edit).await, "text");
    let search = send(&app, authed("GET", "/api/v1/conversations?q=a%00b", &alice, None)).await;
    assert_eq!(search.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_field(&body_json(search).await, "q");
    // Nothing of it was stored.
    let messages = body_json(
        send(&app, authed("GET", &format!("/api/v1/conversations/{conv}/messages"), &alice, None)).await,
    )
    .await;
    let texts: Vec<_> =
        messages.as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap().to_owned()).collect();
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(texts.iter().all(|t| !t.contains('\u{0}')));
}

async fn nul_from_a_network_is_stripped_and_the_message_stored(app: AppState, raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let (channel, conv) = hooked_conversation(&app, &alice).await;
    let body = json!({"events": [
        {"type": "message", "id": "nul\u{0}id", "from": "+4915100000", "name": "Le\u{0}na", "text": "Where\u{0} is it?"},
        {"type": "status", "id": "x\u{0}", "status": "delivered"}
    ]});
    let response = post_webhook(&app, &channel, &body, SECRET).await;
    assert_eq!(response.status(), StatusCode::OK, "accepted, so the network stops retrying");
    assert_eq!(body_json(response).await["applied"], 1);
    let messages = body_json(
        send(&app, authed("GET", &format!("/api/v1/conversations/{conv}/messages"), &alice, None)).await,
    )
    .await;
    assert_eq!(messages[0]["text"], "Where is it?");
    assert_eq!(messages[0]["external_id"], "nulid");
    // Redelivered: recognised as the same message.
    let again = post_webhook(&app, &channel, &body, SECRET).await;
    assert_eq!(body_json(again).await["applied"], 0);
    assert_eq!(
        raw.rows_with_nul("message", "text").await + raw.rows_with_nul("message", "external_id").await,
        0,
        "NUL stored"
    );
}

async fn nul_in_an_rpc_send_is_a_permanent_refusal(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let (_, conv) = hooked_conversation(&app, &alice).await;
    let token = body_json(send(&app, authed("GET", "/api/v1/realtime/token", &alice, None)).await).await;
    let addr = serve_app(&app).await;
    let (mut client, _) = Client::connect(addr, token["token"].as_str().unwrap()).await;
    let reply = client
        .call(
            json!({"rpc": {"method": "send_message", "data": {"conversation_id": conv, "text": "a\u{0}b"}}}),
        )
        .await;
    // 422, as over REST: the request is wrong (SDKs retry only temporary errors, which this is
    // not).
    assert_eq!(reply["error"]["code"], 422, "{reply}");
    assert_ne!(reply["error"]["temporary"], true, "{reply}");
    assert!(reply["error"]["message"].as_str().unwrap().contains("Text"), "{reply}");
}
