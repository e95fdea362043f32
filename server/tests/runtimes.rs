//! Channel runtimes: one supervised task and one event stream per channel; crashes restart
//! with backoff while the channel shows `failed`. On SQLite and PostgreSQL.

#[macro_use]
mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use switchboard::provider::ChannelEvent;
use switchboard::{ChannelId, ChannelStatus};
use switchboard_server::http::AppState;
use switchboard_server::runtime::RuntimeEvent;

app_test!(
    three_runtimes_keep_their_events_apart,
    crashed_runtimes_restart_with_backoff_showing_failed,
    runtimes_start_at_boot_and_stop_on_logout_and_delete,
);

const TOKEN: &str = "mock_abcdefghijklmnopqrstuvwxyz0123";

/// A signed-in Mock channel whose runtime holds a live connection.
async fn connected_channel(app: &AppState, alice: &str, name: &str, config: Value) -> ChannelId {
    let id = signed_in_channel(app, alice, name, config).await;
    for _ in 0..500 {
        if app.mock.is_connected(id) {
            return id;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the runtime of {name} never connected");
}

/// Creates a Mock channel with `config` and signs it in by token (its runtime starts).
async fn signed_in_channel(app: &AppState, alice: &str, name: &str, config: Value) -> ChannelId {
    let body = json!({"provider": "mock", "name": name, "config": config});
    let created = body_json(send(app, authed("POST", "/api/v1/channels", alice, Some(body))).await).await;
    let id = created["id"].as_str().unwrap().to_owned();
    send(
        app,
        authed("POST", &format!("/api/v1/channels/{id}/auth/start"), alice, Some(json!({"method": "token"}))),
    )
    .await;
    let done = send(
        app,
        authed(
            "POST",
            &format!("/api/v1/channels/{id}/auth/submit"),
            alice,
            Some(json!({"kind": "token", "value": TOKEN})),
        ),
    )
    .await;
    assert_eq!(done.status(), 200);
    id.parse().unwrap()
}

async fn status(app: &AppState, id: ChannelId) -> (ChannelStatus, Option<String>) {
    let ws = app.store.workspace_by_name("Acme Support").await.unwrap().unwrap().id;
    let c = app.store.channel(ws, id).await.unwrap().unwrap();
    (c.status, c.last_error)
}

/// Waits (bounded) until the channel's status is `want`, recording every status seen.
async fn wait_for(app: &AppState, id: ChannelId, want: ChannelStatus, seen: &mut Vec<ChannelStatus>) {
    for _ in 0..200 {
        let (s, _) = status(app, id).await;
        if seen.last() != Some(&s) {
            seen.push(s);
        }
        if s == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("channel never became {want:?}; saw {seen:?}");
}

/// Collects a stream's events until `ContactsUpdated` arrives (bounded).
async fn until_contacts(rx: &mut tokio::sync::broadcast::Receiver<RuntimeEvent>) -> Vec<RuntimeEvent> {
    let mut got = Vec::new();
    loop {
        let event = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("events arrive")
            .expect("stream open");
        let done = matches!(event.event, ChannelEvent::ContactsUpdated { .. });
        got.push(event);
        if done {
            return got;
        }
    }
}

async fn three_runtimes_keep_their_events_apart(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let ids = [
        connected_channel(&app, &alice, "Two", json!({"contacts": 2})).await,
        connected_channel(&app, &alice, "Four", json!({"contacts": 4})).await,
        connected_channel(&app, &alice, "Six", json!({"contacts": 6, "qr_ttl_secs": 30})).await,
    ];
    let runtimes = app.channels.runtimes();
    let mut streams: Vec<_> = ids.iter().map(|id| runtimes.subscribe(*id).expect("running")).collect();
    // All three networks drop at once; each runtime reconnects on its own.
    for id in ids {
        app.mock.sever(id);
    }
    for ((id, rx), contacts) in ids.iter().zip(streams.iter_mut()).zip([2, 4, 6]) {
        let events = until_contacts(rx).await;
        assert!(
            events.iter().all(|e| e.channel_id == *id),
            "an event of another channel leaked in: {events:?}"
        );
        assert!(events.iter().any(|e| matches!(e.event, ChannelEvent::Disconnected { .. })));
        assert!(events.iter().any(|e| e.event == ChannelEvent::Connected));
        match &events.last().unwrap().event {
            ChannelEvent::ContactsUpdated { contacts: got } => {
                assert_eq!(got.len(), contacts, "this channel's own contacts")
            }
            other => panic!("{other:?}"),
        }
    }
    for id in ids {
        wait_for(&app, id, ChannelStatus::Connected, &mut Vec::new()).await;
    }
}

async fn crashed_runtimes_restart_with_backoff_showing_failed(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    // The first two connection attempts fail: 50 ms, then 100 ms of backoff.
    let started = std::time::Instant::now();
    let id = signed_in_channel(&app, &alice, "Flaky", json!({"connect_failures": 2})).await;
    let mut seen = Vec::new();
    wait_for(&app, id, ChannelStatus::Failed, &mut seen).await;
    let (_, error) = status(&app, id).await;
    assert!(error.unwrap().contains("simulated failure"), "the failure is explained");
    wait_for(&app, id, ChannelStatus::Connected, &mut seen).await;
    assert!(started.elapsed() >= Duration::from_millis(150), "it waited 50 + 100 ms between attempts");
    assert_eq!(status(&app, id).await.1, None, "the error clears once connected");

    // A dropped connection: failed meanwhile, then connected again.
    let mut rx = app.channels.runtimes().subscribe(id).unwrap();
    app.mock.sever(id);
    let events = until_contacts(&mut rx).await;
    let kinds: Vec<_> = events.iter().map(|e| std::mem::discriminant(&e.event)).collect();
    let error_at =
        events.iter().position(|e| matches!(e.event, ChannelEvent::Error { .. })).expect("an error event");
    let connected_at = events.iter().position(|e| e.event == ChannelEvent::Connected).expect("reconnected");
    assert!(error_at < connected_at, "{kinds:?}");
    wait_for(&app, id, ChannelStatus::Connected, &mut Vec::new()).await;
}

async fn runtimes_start_at_boot_and_stop_on_logout_and_delete(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let a = connected_channel(&app, &alice, "A", json!({})).await;
    let b = connected_channel(&app, &alice, "B", json!({})).await;
    let idle = body_json(
        send(
            &app,
            authed("POST", "/api/v1/channels", &alice, Some(json!({"provider": "mock", "name": "Idle"}))),
        )
        .await,
    )
    .await;
    let idle: ChannelId = idle["id"].as_str().unwrap().parse().unwrap();

    // A second server on the same database: boot starts the signed-in channels only.
    let rebooted = state_with(app.store.clone(), test_auth_config());
    assert_eq!(rebooted.channels.start_runtimes().await.unwrap(), 2);
    assert!(rebooted.channels.runtimes().is_running(a) && rebooted.channels.runtimes().is_running(b));
    assert!(!rebooted.channels.runtimes().is_running(idle));
    rebooted.channels.runtimes().stop_all();

    let runtimes = app.channels.runtimes();
    assert!(runtimes.is_running(a));
    let out = send(&app, authed("POST", &format!("/api/v1/channels/{a}/logout"), &alice, None)).await;
    assert_eq!(out.status(), 200, "{}", body_text(out).await);
    assert!(!runtimes.is_running(a), "logout stops the runtime");
    send(&app, authed("DELETE", &format!("/api/v1/channels/{b}"), &alice, None)).await;
    assert!(!runtimes.is_running(b), "delete stops the runtime");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        status(&app, a).await.0,
        ChannelStatus::Disconnected,
        "a stopped runtime does not write a status back"
    );
}

#[tokio::test]
async fn the_demo_channel_is_seeded_once_and_connects_at_boot() {
    use switchboard_server::services::provision::{DEMO_CHANNEL, seed_demo_channel};
    let (store, _dir) = sqlite().await;
    let app = demo_state(std::sync::Arc::new(store)).await;
    let first = seed_demo_channel(app.store.as_ref(), &app.channels).await.unwrap();
    let again = seed_demo_channel(app.store.as_ref(), &app.channels).await.unwrap();
    assert_eq!(first.id, again.id, "seeding twice keeps one channel");
    assert_eq!(first.name, DEMO_CHANNEL);
    assert_eq!(app.store.channels(first.workspace_id).await.unwrap().len(), 1);
    assert_eq!(app.channels.start_runtimes().await.unwrap(), 1);
    for _ in 0..500 {
        if app.mock.is_connected(first.id) {
            assert!(app.channels.runtimes().is_running(first.id));
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the demo channel never connected");
}
