//! Channel administration over the REST API, on SQLite and PostgreSQL.

#[macro_use]
mod common;

use axum::http::StatusCode;
use common::*;
use serde_json::json;
use switchboard::ChannelId;
use switchboard_server::http::AppState;

app_test!(
    admins_create_list_read_update_and_delete_channels,
    agents_get_403_and_strangers_401,
    channels_are_scoped_by_workspace,
    bad_channel_requests_get_4xx,
    credentials_are_sealed_at_rest_and_never_returned,
);

async fn admins_create_list_read_update_and_delete_channels(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let body = json!({"provider": "mock", "name": "  Mock WhatsApp ", "config": {"contacts": 3}});
    let response = send(&app, authed("POST", "/api/v1/channels", &alice, Some(body))).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created = body_json(response).await;
    assert_eq!(created["name"], "Mock WhatsApp", "names are trimmed");
    assert_eq!(created["provider"], "mock");
    assert_eq!(created["status"], "disconnected");
    assert_eq!(created["config"], json!({"contacts": 3}));
    let id = created["id"].as_str().unwrap().to_owned();

    let second = json!({"provider": "mock", "name": "Mock Telegram"});
    assert_eq!(
        send(&app, authed("POST", "/api/v1/channels", &alice, Some(second))).await.status(),
        StatusCode::CREATED
    );

    let list = body_json(send(&app, authed("GET", "/api/v1/channels", &alice, None)).await).await;
    let names: Vec<_> = list.as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Mock WhatsApp", "Mock Telegram"], "oldest first");

    let one = send(&app, authed("GET", &format!("/api/v1/channels/{id}"), &alice, None)).await;
    assert_eq!(body_json(one).await, created);

    let patch = json!({"name": "Support line"});
    let updated = send(&app, authed("PATCH", &format!("/api/v1/channels/{id}"), &alice, Some(patch))).await;
    assert_eq!(updated.status(), StatusCode::OK);
    let updated = body_json(updated).await;
    assert_eq!(updated["name"], "Support line");
    assert_eq!(updated["config"], json!({"contacts": 3}), "a field left out stays");
    let patch = json!({"config": {"contacts": 5}});
    let updated =
        body_json(send(&app, authed("PATCH", &format!("/api/v1/channels/{id}"), &alice, Some(patch))).await)
            .await;
    assert_eq!(
        (updated["name"].as_str(), &updated["config"]),
        (Some("Support line"), &json!({"contacts": 5}))
    );

    let deleted = send(&app, authed("DELETE", &format!("/api/v1/channels/{id}"), &alice, None)).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = send(&app, authed("GET", &format!("/api/v1/channels/{id}"), &alice, None)).await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(&body_json(gone).await), "not_found");
    let again = send(&app, authed("DELETE", &format!("/api/v1/channels/{id}"), &alice, None)).await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
}

async fn agents_get_403_and_strangers_401(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let created = create_channel(&app, &alice, json!({"provider": "mock", "name": "M"})).await;
    let id = created["id"].as_str().unwrap();
    let bob = login(&app, "bob@example.com", "demo-password").await;
    // The list is read-only for agents: the inbox shows the channels and their health.
    let listed = send(&app, authed("GET", "/api/v1/channels", &bob, None)).await;
    assert_eq!(listed.status(), StatusCode::OK);
    let listed = body_json(listed).await;
    assert!(listed.as_array().unwrap().iter().any(|c| c["id"] == id), "{listed}");
    assert!(!listed.to_string().contains("token"), "no credentials in the list: {listed}");
    let calls = [
        ("POST", "/api/v1/channels".to_owned(), Some(json!({"provider": "mock", "name": "Mine"}))),
        ("GET", format!("/api/v1/channels/{id}"), None),
        ("PATCH", format!("/api/v1/channels/{id}"), Some(json!({"name": "Taken over"}))),
        ("DELETE", format!("/api/v1/channels/{id}"), None),
    ];
    for (method, uri, body) in calls {
        let response = send(&app, authed(method, &uri, &bob, body.clone())).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{method} {uri} as an agent");
        assert_eq!(error_code(&body_json(response).await), "forbidden");
        let response = send(&app, authed(method, &uri, "no-token", body)).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{method} {uri} signed out");
    }
    let still =
        body_json(send(&app, authed("GET", &format!("/api/v1/channels/{id}"), &alice, None)).await).await;
    assert_eq!(still["name"], "M", "the agent changed nothing");
}

async fn channels_are_scoped_by_workspace(app: AppState, _raw: Raw) {
    use switchboard::MemberRole;
    use switchboard_server::services::provision::{UserSpec, ensure_user};
    // Carol owns Globex; Alice owns Acme. Neither sees the other's channels.
    let spec = |email: &str, workspace: &str| UserSpec {
        email: email.into(),
        password: "long-enough".into(),
        name: None,
        workspace: workspace.into(),
        role: MemberRole::Owner,
    };
    ensure_user(app.store.as_ref(), &spec("carol@example.com", "Globex")).await.unwrap();
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let carol = login(&app, "carol@example.com", "long-enough").await;
    let acme = body_json(
        send(
            &app,
            authed(
                "POST",
                "/api/v1/channels",
                &alice,
                Some(json!({"provider": "mock", "name": "Acme line"})),
            ),
        )
        .await,
    )
    .await;
    let acme_id = acme["id"].as_str().unwrap();

    assert_eq!(body_json(send(&app, authed("GET", "/api/v1/channels", &carol, None)).await).await, json!([]));
    for (method, body) in [("GET", None), ("PATCH", Some(json!({"name": "x"}))), ("DELETE", None)] {
        let response = send(&app, authed(method, &format!("/api/v1/channels/{acme_id}"), &carol, body)).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{method} another workspace's channel");
    }

    // Alice joins Globex too: without a header she still acts in her default workspace (Acme).
    ensure_user(app.store.as_ref(), &spec("alice@example.com", "Globex")).await.unwrap();
    let default = send(&app, authed("GET", "/api/v1/channels", &alice, None)).await;
    assert_eq!(default.status(), StatusCode::OK);
    let listed = body_json(default).await;
    assert!(listed.as_array().unwrap().iter().any(|c| c["id"] == acme_id), "{listed}");
    let globex = app.store.workspace_by_name("Globex").await.unwrap().unwrap();
    let mut req = authed("GET", "/api/v1/channels", &alice, None);
    req.headers_mut().insert("x-workspace-id", globex.id.to_string().parse().unwrap());
    assert_eq!(body_json(send(&app, req).await).await, json!([]));
    let mut req = authed("GET", "/api/v1/channels", &carol, None);
    let acme_ws = app.store.workspace_by_name("Acme Support").await.unwrap().unwrap();
    req.headers_mut().insert("x-workspace-id", acme_ws.id.to_string().parse().unwrap());
    assert_eq!(send(&app, req).await.status(), StatusCode::FORBIDDEN, "carol is not in Acme");
}

async fn bad_channel_requests_get_4xx(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let cases = [
        (json!({"provider": "signal", "name": "x"}), StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
        (json!({"provider": "mock"}), StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
        (json!({"provider": "mock", "name": "   "}), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
        (
            json!({"provider": "mock", "name": "x", "config": [1, 2]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({"provider": "mock", "name": "x", "config": {"big": "y".repeat(20_000)}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
    ];
    for (body, status, code) in cases {
        let response = send(&app, authed("POST", "/api/v1/channels", &alice, Some(body.clone()))).await;
        assert_eq!(response.status(), status, "{body}");
        assert_eq!(error_code(&body_json(response).await), code, "{body}");
    }
    let bogus = send(&app, authed("GET", "/api/v1/channels/not-an-id", &alice, None)).await;
    assert_eq!(bogus.status(), StatusCode::NOT_FOUND);
    let unknown = send(
        &app,
        authed(
            "PATCH",
            &format!("/api/v1/channels/{}", ChannelId::new()),
            &alice,
            Some(json!({"name": "x"})),
        ),
    )
    .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        body_json(send(&app, authed("GET", "/api/v1/channels", &alice, None)).await).await,
        json!([]),
        "nothing was created"
    );
}

async fn credentials_are_sealed_at_rest_and_never_returned(app: AppState, raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let created = create_channel(&app, &alice, json!({"provider": "mock", "name": "M"})).await;
    let id: ChannelId = created["id"].as_str().unwrap().parse().unwrap();
    let workspace = app.store.workspace_by_name("Acme Support").await.unwrap().unwrap().id;
    let secret = "mock_tok_SUPERSECRET_4242";
    app.channels.set_credentials(workspace, id, &json!({ "token": secret })).await.unwrap();

    let stored = raw.table_bytes("channel").await;
    assert!(!stored.is_empty());
    assert!(
        !stored.windows(secret.len()).any(|w| w == secret.as_bytes()),
        "plaintext secret found in the channel row"
    );
    assert_eq!(app.channels.credentials(workspace, id).await.unwrap(), Some(json!({ "token": secret })));

    let fetched =
        body_json(send(&app, authed("GET", &format!("/api/v1/channels/{id}"), &alice, None)).await).await;
    assert!(!fetched.to_string().contains(secret), "the API never returns credentials: {fetched}");
    assert!(fetched.get("credentials").is_none());
    let list = body_json(send(&app, authed("GET", "/api/v1/channels", &alice, None)).await).await;
    assert!(!list.to_string().contains(secret));
}
