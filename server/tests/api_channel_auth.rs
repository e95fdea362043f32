//! Signing channels in through the one auth flow, by every method the Mock network offers,
//! on SQLite and PostgreSQL.

#[macro_use]
mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use serde_json::{Value, json};
use switchboard::ChannelId;
use switchboard_server::http::AppState;

app_test!(
    connect_by_token_then_log_out,
    connect_by_qr_opened_on_the_phone,
    qr_prompts_come_drawn_as_svg_and_other_prompts_without,
    expired_qr_is_renewed,
    connect_by_pairing_code_typed_on_the_phone,
    connect_by_otp_submitted_or_confirmed_after_a_delay,
    expired_codes_disconnect_and_say_so,
    mock_config_is_validated,
    agents_cannot_sign_channels_in,
);

async fn setup(app: &AppState, config: Value) -> (String, String) {
    let alice = login(app, "alice@example.com", "demo-password").await;
    let body = json!({"provider": "mock", "name": "Mock WhatsApp", "config": config});
    let response = send(app, authed("POST", "/api/v1/channels", &alice, Some(body))).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let id = body_json(response).await["id"].as_str().unwrap().to_owned();
    (alice, id)
}

async fn call(
    app: &AppState,
    token: &str,
    method: &str,
    uri: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let response = send(app, authed(method, uri, token, body)).await;
    let status = response.status();
    (status, body_json(response).await)
}

/// Starts the channel's sign-in with `body` (`{"method": …}`); returns status and answer.
async fn start(app: &AppState, token: &str, id: &str, body: Value) -> (StatusCode, Value) {
    call(app, token, "POST", &format!("/api/v1/channels/{id}/auth/start"), Some(body)).await
}

async fn channel_status(app: &AppState, token: &str, id: &str) -> String {
    call(app, token, "GET", &format!("/api/v1/channels/{id}"), None).await.1["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Opens a pairing page as the phone would (a plain GET without a session).
async fn open_on_phone(app: &AppState, link: &str) -> (StatusCode, String) {
    let path = link.strip_prefix(PUBLIC_URL).unwrap_or_else(|| panic!("{link} is not on {PUBLIC_URL}"));
    let response = send(app, Request::get(path).body(Body::empty()).unwrap()).await;
    (response.status(), body_text(response).await)
}

async fn type_code_on_phone(app: &AppState, code: &str) -> (StatusCode, String) {
    let req = Request::post("/mock/pair")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("code={code}")))
        .unwrap();
    let response = send(app, req).await;
    (response.status(), body_text(response).await)
}

async fn connect_by_token_then_log_out(app: AppState, raw: Raw) {
    let (alice, id) = setup(&app, json!({})).await;
    let (status, started) = start(&app, &alice, &id, json!({"method": "token"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(started["status"], "pending");
    assert_eq!(started["prompt"]["kind"], "token");
    // One masked field; the one-field answer may come as `value` or as `fields.token`.
    assert_eq!(
        started["prompt"]["fields"],
        json!([{ "name": "token", "label": "Mock API token", "placeholder": format!("mock_{}", "x".repeat(24)), "masked": true }])
    );
    assert_eq!(started["channel"]["status"], "pending_auth");

    let (status, refused) = call(
        &app,
        &alice,
        "POST",
        &format!("/api/v1/channels/{id}/auth/submit"),
        Some(json!({"kind": "token", "fields": {"token": "abc"}})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        error_code(&refused) == "validation_failed"
            && refused["error"]["message"].as_str().unwrap().contains("mock_"),
        "{refused}"
    );
    assert_eq!(channel_status(&app, &alice, &id).await, "pending_auth", "a refused token changes nothing");

    let token = "mock_abcdefghijklmnopqrstuvwxyz0123";
    let (status, done) = call(
        &app,
        &alice,
        "POST",
        &format!("/api/v1/channels/{id}/auth/submit"),
        Some(json!({"kind": "token", "value": token})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(done["status"], "authenticated");
    assert_eq!(done["channel"]["status"], "connected");
    assert!(!done.to_string().contains(token), "the token is never echoed back");
    let stored = raw.table_bytes("channel").await;
    assert!(!stored.windows(token.len()).any(|w| w == token.as_bytes()), "the token is sealed at rest");
    let workspace = app.store.workspace_by_name("Acme Support").await.unwrap().unwrap().id;
    let cid: ChannelId = id.parse().unwrap();
    assert_eq!(app.channels.credentials(workspace, cid).await.unwrap(), Some(json!({"token": token})));

    let (status, out) = call(&app, &alice, "POST", &format!("/api/v1/channels/{id}/logout"), None).await;
    assert_eq!((status, out["status"].as_str()), (StatusCode::OK, Some("disconnected")));
    assert_eq!(app.channels.credentials(workspace, cid).await.unwrap(), None, "credentials are forgotten");
}

async fn connect_by_qr_opened_on_the_phone(app: AppState, _raw: Raw) {
    let (alice, id) = setup(&app, json!({})).await;
    let (_, started) = start(&app, &alice, &id, json!({"method": "qr"})).await;
    assert_eq!(started["prompt"]["kind"], "qr");
    let link = started["prompt"]["value"].as_str().unwrap().to_owned();
    assert!(link.starts_with(&format!("{PUBLIC_URL}/mock/pair/")), "{link}");
    assert!(started["prompt"]["expires_at"].is_string());
    let (_, pending) = call(&app, &alice, "GET", &format!("/api/v1/channels/{id}/auth"), None).await;
    assert_eq!((pending["status"].as_str(), &pending["prompt"]["value"]), (Some("pending"), &json!(link)));

    let (status, html) = open_on_phone(&app, &link).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Phone paired") && html.contains("Mock WhatsApp"));
    assert_eq!(channel_status(&app, &alice, &id).await, "connected");
    let (_, state) = call(&app, &alice, "GET", &format!("/api/v1/channels/{id}/auth"), None).await;
    assert_eq!(state["status"], "authenticated");

    let (status, _) = open_on_phone(&app, &link).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a used QR cannot pair again");
}

async fn qr_prompts_come_drawn_as_svg_and_other_prompts_without(app: AppState, _raw: Raw) {
    let (alice, id) = setup(&app, json!({})).await;
    let (status, started) = start(&app, &alice, &id, json!({"method": "qr"})).await;
    assert_eq!(status, StatusCode::OK);
    let svg = started["qr_svg"].as_str().unwrap_or_else(|| panic!("no qr_svg: {started}"));
    assert!(svg.starts_with("<svg") || svg.starts_with("<?xml"), "{svg}");
    assert!(svg.contains("<path") || svg.contains("<rect"), "{svg}");
    assert!(svg.contains("viewBox=") && svg.contains(r#"aria-label="QR code""#), "{svg}");
    // The page learns how the provider signs in: every method, and the phone before a pairing code.
    let methods = &started["capabilities"]["auth_methods"];
    assert_eq!(methods, &json!(["qr", "otp", "pairing_code", "token"]), "{started}");
    assert_eq!(started["capabilities"]["pairing_needs_phone"], json!(true), "{started}");
    // The provider's own words for the prompt, pointing at its phone page.
    assert!(started["hint"]["text"].as_str().unwrap().starts_with("Mock network:"), "{started}");
    assert_eq!(started["hint"]["link"]["url"], started["prompt"]["value"], "{started}");
    let (_, state) = call(&app, &alice, "GET", &format!("/api/v1/channels/{id}/auth"), None).await;
    assert_eq!(&state["capabilities"]["auth_methods"], methods);
    assert!(svg.trim_end().ends_with("</svg>"));
    // The same code is drawn while the prompt stands, and none once signed in.
    let (_, pending) = call(&app, &alice, "GET", &format!("/api/v1/channels/{id}/auth"), None).await;
    assert_eq!(pending["qr_svg"], started["qr_svg"]);
    let link = started["prompt"]["value"].as_str().unwrap().to_owned();
    assert_eq!(open_on_phone(&app, &link).await.0, StatusCode::OK);
    let (_, done) = call(&app, &alice, "GET", &format!("/api/v1/channels/{id}/auth"), None).await;
    assert_eq!((done["status"].as_str(), &done["qr_svg"]), (Some("authenticated"), &Value::Null));

    // Token (and code) prompts have no picture: `qr_svg` is there, and null.
    let (_, other) = setup(&app, json!({})).await;
    let (_, token) = start(&app, &alice, &other, json!({"method": "token"})).await;
    assert_eq!(token["prompt"]["kind"], "token");
    assert!(token.as_object().unwrap().contains_key("qr_svg") && token["qr_svg"].is_null(), "{token}");
    let (_, otp) = start(&app, &alice, &other, json!({"method": "otp"})).await;
    assert_eq!((otp["prompt"]["kind"].as_str(), &otp["qr_svg"]), (Some("otp"), &Value::Null));
}

async fn expired_qr_is_renewed(app: AppState, _raw: Raw) {
    let (alice, id) = setup(&app, json!({"qr_ttl_secs": 1})).await;
    let (_, started) = start(&app, &alice, &id, json!({"method": "qr"})).await;
    let first = started["prompt"]["value"].as_str().unwrap().to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (_, renewed) = call(&app, &alice, "GET", &format!("/api/v1/channels/{id}/auth"), None).await;
    assert_eq!(renewed["status"], "pending");
    let second = renewed["prompt"]["value"].as_str().unwrap().to_owned();
    assert_ne!(first, second, "an expired QR is replaced by a fresh one");
    assert_ne!(started["qr_svg"], renewed["qr_svg"], "and drawn anew");
    assert_eq!(open_on_phone(&app, &first).await.0, StatusCode::NOT_FOUND, "the old QR no longer pairs");
    assert_eq!(open_on_phone(&app, &second).await.0, StatusCode::OK);
    assert_eq!(channel_status(&app, &alice, &id).await, "connected");
}

async fn connect_by_pairing_code_typed_on_the_phone(app: AppState, _raw: Raw) {
    let (alice, id) = setup(&app, json!({})).await;
    let uri = format!("/api/v1/channels/{id}/auth/start");
    let (status, refused) = call(&app, &alice, "POST", &uri, Some(json!({"method": "pairing_code"}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused["error"]["field"], "phone", "the pairing code needs the phone number first");

    let (_, started) =
        call(&app, &alice, "POST", &uri, Some(json!({"method": "pairing_code", "phone": "+1 555 010 9999"})))
            .await;
    assert_eq!(started["prompt"]["kind"], "pairing_code");
    let code = started["prompt"]["code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 9, "XXXX-XXXX: {code}");

    assert_eq!(type_code_on_phone(&app, "0000-0000").await.0, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(channel_status(&app, &alice, &id).await, "pending_auth");
    let typed = code.replace('-', "").to_lowercase();
    let (status, html) = type_code_on_phone(&app, &typed).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert_eq!(channel_status(&app, &alice, &id).await, "connected");
}

async fn connect_by_otp_submitted_or_confirmed_after_a_delay(app: AppState, _raw: Raw) {
    let (alice, id) = setup(&app, json!({})).await;
    let (_, started) = start(&app, &alice, &id, json!({"method": "otp"})).await;
    let code = started["prompt"]["code"].as_str().unwrap().to_owned();
    let submit = format!("/api/v1/channels/{id}/auth/submit");
    let (status, _) =
        call(&app, &alice, "POST", &submit, Some(json!({"kind": "otp", "value": "not-it"}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) =
        call(&app, &alice, "POST", &submit, Some(json!({"kind": "token", "value": code}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "an answer of the wrong kind is refused");
    let (status, done) =
        call(&app, &alice, "POST", &submit, Some(json!({"kind": "otp", "value": code}))).await;
    assert_eq!((status, done["channel"]["status"].as_str()), (StatusCode::OK, Some("connected")));

    // A second channel whose network confirms by itself after 200 ms.
    let body = json!({"provider": "mock", "name": "Auto", "config": {"auth_confirm_after_ms": 200}});
    let auto = body_json(send(&app, authed("POST", "/api/v1/channels", &alice, Some(body))).await).await;
    let auto = auto["id"].as_str().unwrap();
    call(
        &app,
        &alice,
        "POST",
        &format!("/api/v1/channels/{auto}/auth/start"),
        Some(json!({"method": "otp"})),
    )
    .await;
    let (_, early) = call(&app, &alice, "GET", &format!("/api/v1/channels/{auto}/auth"), None).await;
    assert_eq!(early["status"], "pending");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (_, later) = call(&app, &alice, "GET", &format!("/api/v1/channels/{auto}/auth"), None).await;
    assert_eq!(
        (later["status"].as_str(), later["channel"]["status"].as_str()),
        (Some("authenticated"), Some("connected"))
    );
}

async fn expired_codes_disconnect_and_say_so(app: AppState, _raw: Raw) {
    let (alice, id) = setup(&app, json!({"code_ttl_secs": 1})).await;
    let (_, started) = start(&app, &alice, &id, json!({"method": "otp"})).await;
    let code = started["prompt"]["code"].as_str().unwrap().to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, expired) = call(
        &app,
        &alice,
        "POST",
        &format!("/api/v1/channels/{id}/auth/submit"),
        Some(json!({"kind": "otp", "value": code})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(expired["status"], "expired");
    assert!(expired["error"].as_str().unwrap().contains("expired"));
    assert_eq!(expired["channel"]["status"], "disconnected");
    assert_eq!(type_code_on_phone(&app, &code).await.0, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn mock_config_is_validated(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    for (config, field) in [
        (json!({"contacts": 51}), "config.contacts"),
        (json!({"qr_ttl_secs": 0}), "config.qr_ttl_secs"),
        (json!({"no_such_knob": 1}), "config"),
        (json!({"contacts": "many"}), "config"),
    ] {
        let body = json!({"provider": "mock", "name": "M", "config": config});
        let response = send(&app, authed("POST", "/api/v1/channels", &alice, Some(body))).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{config}");
        assert_eq!(body_json(response).await["error"]["field"], field);
    }
    let (_, id) = setup(&app, json!({})).await;
    let (status, _) = call(
        &app,
        &alice,
        "PATCH",
        &format!("/api/v1/channels/{id}"),
        Some(json!({"config": {"contacts": 99}})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "updates are validated too");
}

async fn agents_cannot_sign_channels_in(app: AppState, _raw: Raw) {
    let (_, id) = setup(&app, json!({})).await;
    let bob = login(&app, "bob@example.com", "demo-password").await;
    for (method, path, body) in [
        ("POST", "auth/start", Some(json!({"method": "qr"}))),
        ("POST", "auth/submit", Some(json!({"kind": "otp", "value": "1"}))),
        ("GET", "auth", None),
        ("POST", "logout", None),
    ] {
        let (status, _) = call(&app, &bob, method, &format!("/api/v1/channels/{id}/{path}"), body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}");
    }
}
