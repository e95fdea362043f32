//! Every HTTP error the server emits answers in the API's JSON shape
//! (`{"error":{"code":…,"message":…}}`): router fallbacks, method mismatches and body limits,
//! on API routes, webhooks, probes and the realtime endpoint alike.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;

/// Sends a request and asserts the JSON error shape; answers the status, code and response
/// headers.
async fn error_of(
    app: &switchboard_server::http::AppState,
    request: Request<Body>,
) -> (StatusCode, String, axum::http::HeaderMap) {
    let response = send(app, request).await;
    let status = response.status();
    let headers = response.headers().clone();
    let content_type = headers.get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(content_type.as_deref(), Some("application/json"), "{status}");
    (status, error_code(&body_json(response).await), headers)
}

fn request(method: &str, uri: &str, body: Body) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .header("x-forwarded-for", "10.3.3.3")
        .body(body)
        .unwrap()
}

#[tokio::test]
async fn a_method_mismatch_is_a_json_405_everywhere() {
    let (app, _dir) = demo_app().await;
    for (method, uri) in [
        ("PUT", "/api/v1/me"),
        ("DELETE", "/api/v1/auth/login"),
        ("PUT", "/webhooks/mock/0190a0a0-0000-7000-8000-000000000000"),
        ("POST", "/healthz"),
        ("POST", "/connection/websocket"),
    ] {
        let (status, code, headers) = error_of(&app, request(method, uri, Body::empty())).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            "{method} {uri}"
        );
        assert!(headers.contains_key(header::ALLOW), "{method} {uri} still says what is allowed");
    }
}

#[tokio::test]
async fn an_oversized_body_is_a_json_413_on_every_route() {
    let (app, _dir) = demo_app().await;
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(512 * 1024));
    for uri in [
        "/webhooks/mock/0190a0a0-0000-7000-8000-000000000000",
        "/api/v1/auth/login",
        "/api/v1/conversations/0190a0a0-0000-7000-8000-000000000000/messages",
    ] {
        let mut req = request("POST", uri, Body::from(big.clone()));
        req.headers_mut().insert(header::AUTHORIZATION, format!("Bearer {alice}").parse().unwrap());
        let (status, code, _) = error_of(&app, req).await;
        assert_eq!((status, code.as_str()), (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"), "{uri}");
    }
}

#[tokio::test]
async fn unknown_addresses_for_machines_are_json_404s() {
    let (app, _dir) = demo_app().await;
    for uri in ["/api/v1/no/such/route", "/api/v2/me", "/webhooks/nope", "/connection/nope"] {
        let (status, code, _) = error_of(&app, request("GET", uri, Body::empty())).await;
        assert_eq!((status, code.as_str()), (StatusCode::NOT_FOUND, "not_found"), "{uri}");
    }
}

#[tokio::test]
async fn a_plain_request_to_the_websocket_endpoint_gets_a_json_refusal() {
    let (app, _dir) = demo_app().await;
    let (status, _, _) = error_of(&app, request("GET", "/connection/websocket", Body::empty())).await;
    assert!(status.is_client_error(), "{status}");
}

#[tokio::test]
async fn pages_keep_their_html_404() {
    let (app, _dir) = demo_app().await;
    let response = send(&app, Request::get("/no/such/page").body(Body::empty()).unwrap()).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let content_type = response.headers()[header::CONTENT_TYPE].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
}
