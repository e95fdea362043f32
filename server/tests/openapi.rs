//! The OpenAPI document: served, complete (every `/api/v1` route is in it and every entry is
//! a live route), with auth, request and response schemas and the error shape.

mod common;

use std::collections::BTreeSet;

use common::*;
use serde_json::Value;

async fn document() -> (switchboard_server::http::AppState, Value, tempfile::TempDir) {
    let (app, dir) = demo_app().await;
    let response = send(&app, get("/api/v1/openapi.json", None)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let doc = body_json(response).await;
    (app, doc, dir)
}

/// Every (METHOD, path) the document lists.
fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                out.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

#[tokio::test]
async fn every_api_route_is_documented_and_every_entry_is_live() {
    let (app, doc, _dir) = document().await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert_eq!(doc["servers"][0]["url"], "/api/v1");
    let ops = operations(&doc);

    // Each documented operation reaches a handler: neither the API's 404 fallback nor 405.
    for (method, path) in &ops {
        let id = switchboard::ConversationId::new().to_string();
        let token = "0".repeat(64);
        let uri = format!(
            "/api/v1{}",
            path.replace("{id}", &id).replace("{user_id}", &id).replace("{token}", &token)
        );
        let request = axum::http::Request::builder()
            .method(method.as_str())
            .uri(&uri)
            .header("x-forwarded-for", "10.9.9.9")
            .body(axum::body::Body::empty())
            .unwrap();
        let response = send(&app, request).await;
        assert_ne!(response.status(), 405, "{method} {path}");
        if response.status() == 404 {
            let body = body_json(response).await;
            assert_ne!(
                body["error"]["message"], "There is nothing at this address.",
                "{method} {path} is not routed"
            );
        }
    }

    // And the other way round: API routes are only registered with their annotation (through
    // utoipa_axum's `routes!`), never with a bare `.route(`; one annotation per operation.
    let mut annotations = 0;
    for file in [
        "auth.rs",
        "channels.rs",
        "conversations.rs",
        "chat.rs",
        "desk.rs",
        "bots.rs",
        "contacts.rs",
        "notify.rs",
        "moderation.rs",
        "members.rs",
        "invitations.rs",
        "realtime.rs",
        "media.rs",
        "platform.rs",
        "hooks.rs",
        "inbound.rs",
        "openapi.rs",
    ] {
        let source =
            std::fs::read_to_string(format!("{}/src/http/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        assert!(!source.contains(".route("), "{file} registers a route outside the document");
        annotations += source.matches("#[utoipa::path(").count();
    }
    assert_eq!(annotations, ops.len(), "one documented operation per annotated handler");
    // The routes the issue names are there.
    for expected in [
        ("POST", "/auth/login"),
        ("GET", "/conversations"),
        ("POST", "/conversations/{id}/messages"),
        ("GET", "/conversations/{id}/messages"),
        ("POST", "/conversations/{id}/read"),
        ("POST", "/messages/{id}/retry"),
        ("GET", "/sync"),
        ("POST", "/conversations/{id}/claim"),
        ("PUT", "/conversations/{id}/assignee"),
        ("PUT", "/conversations/{id}/labels"),
        ("GET", "/labels"),
        ("GET", "/canned-replies"),
        ("GET", "/search/messages"),
        ("GET", "/contacts"),
        ("POST", "/contacts/{id}/merge"),
        ("POST", "/conversations/start"),
        ("GET", "/realtime/token"),
        ("GET", "/openapi.json"),
        ("GET", "/members"),
        ("POST", "/members"),
        ("PATCH", "/members/{user_id}"),
        ("DELETE", "/members/{user_id}"),
        ("GET", "/invitations"),
        ("DELETE", "/invitations/{id}"),
        ("GET", "/invitations/by-token/{token}"),
        ("POST", "/invitations/by-token/{token}/accept"),
        ("GET", "/me/invitations"),
        ("POST", "/me/invitations/{id}/accept"),
        ("POST", "/me/invitations/{id}/decline"),
        ("PUT", "/me/default-workspace"),
        ("POST", "/me/password"),
        ("GET", "/me/sessions"),
        ("DELETE", "/me/sessions"),
        ("DELETE", "/me/sessions/{id}"),
    ] {
        assert!(ops.contains(&(expected.0.to_owned(), expected.1.to_owned())), "{expected:?} missing");
    }
}

#[tokio::test]
async fn entries_carry_auth_schemas_and_the_error_shape() {
    let (_app, doc, _dir) = document().await;
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["cookie"]["in"], "cookie");
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in ["Message", "ConversationSummary", "Channel", "SendMessage", "ErrorBody", "Event", "SyncPage"]
    {
        assert!(
            schemas.contains_key(name),
            "schema {name} missing: {:?}",
            schemas.keys().collect::<Vec<_>>()
        );
    }
    let error = &schemas["ErrorBody"]["properties"]["error"];
    assert!(error.is_object());

    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let public = path == "/auth/login"
                || path == "/openapi.json"
                || path.starts_with("/invitations/by-token/");
            // Public operations say so with an empty requirement (`[{}]`); the rest name a scheme.
            let open = op["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r.as_object().is_some_and(|r| r.is_empty())));
            assert_eq!(open, public, "{method} {path}: auth");
            assert!(op["security"].is_array(), "{method} {path}: security stated");
            if path != "/openapi.json" {
                let responses = op["responses"].as_object().unwrap();
                let shaped = &responses["422"]["content"]["application/json"]["schema"]["$ref"];
                assert_eq!(shaped, "#/components/schemas/ErrorBody", "{method} {path}: error shape");
                assert!(responses.keys().any(|k| k.starts_with('2')), "{method} {path}: a success");
            }
            if method == "post" || method == "patch" {
                let ok = [
                    "/auth/logout",
                    "/channels/{id}/logout",
                    "/messages/{id}/retry",
                    "/conversations/{id}/claim",
                    "/flows/{id}/publish",
                    "/bot-sessions/{id}/stop",
                    "/me/invitations/{id}/accept",
                    "/me/invitations/{id}/decline",
                    "/users/{external_id}/deactivate",
                    "/users/{external_id}/reactivate",
                    "/webhook-endpoints/{id}/deliveries/{event_id}/redeliver",
                ]
                .contains(&path.as_str());
                assert!(ok || op["requestBody"].is_object(), "{method} {path}: request body");
            }
        }
    }
    let send = &doc["paths"]["/conversations/{id}/messages"]["post"];
    assert_eq!(
        send["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/SendMessage"
    );
    assert_eq!(
        send["responses"]["201"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Message"
    );
}

/// Operation ids name one operation each (generated clients turn them into method names; a
/// repeated id is an invalid document).
#[tokio::test]
async fn operation_ids_are_unique() {
    let (_app, doc, _dir) = document().await;
    let mut seen = std::collections::BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "patch", "delete"] {
            let Some(id) = item.get(method).and_then(|op| op["operationId"].as_str()) else { continue };
            if let Some(first) = seen.insert(id.to_owned(), format!("{method} {path}")) {
                panic!("operationId `{id}` is used by {first} and by {method} {path}");
            }
        }
    }
    assert!(seen.len() > 20, "every operation has an id");
}
