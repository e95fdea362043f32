//! No secret reaches the logs: passwords, session tokens and channel credentials.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::*;
use serde_json::json;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn secrets_never_reach_the_logs() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .json()
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let (app, _dir) = demo_app().await;
    let alice = login(&app, "alice@example.com", "demo-password").await;
    // A refused sign-in too (its password must not be logged either).
    let wrong = json!({"email": "alice@example.com", "password": "hunter2-wrong"}).to_string();
    send(&app, post_json("/api/v1/auth/login", "10.9.9.9", &wrong)).await;
    let channel = create_channel(&app, &alice, json!({"provider": "mock", "name": "M"})).await;
    let id = channel["id"].as_str().unwrap();
    let secret = "mock_LOGSECRET0123456789abcdefgh";
    send(
        &app,
        authed(
            "POST",
            &format!("/api/v1/channels/{id}/auth/start"),
            &alice,
            Some(json!({"method": "token"})),
        ),
    )
    .await;
    let bad = "mock_short_but_secret";
    send(
        &app,
        authed(
            "POST",
            &format!("/api/v1/channels/{id}/auth/submit"),
            &alice,
            Some(json!({"kind": "token", "value": bad})),
        ),
    )
    .await;
    let done = send(
        &app,
        authed(
            "POST",
            &format!("/api/v1/channels/{id}/auth/submit"),
            &alice,
            Some(json!({"kind": "token", "value": secret})),
        ),
    )
    .await;
    assert_eq!(done.status(), 200);

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("signed in") && logs.contains("channel signed in"), "the flow was logged:\n{logs}");
    for needle in ["demo-password", "hunter2-wrong", secret, bad, alice.as_str()] {
        assert!(!logs.contains(needle), "a secret ({needle}) is in the logs:\n{logs}");
    }
}
