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
    the_demo_channel_is_seeded_once_and_connects_at_boot,
    auth_progress_and_status_changes_flow_on_the_channel_stream,
    mock_contacts_answer_and_receipts_follow,
    mock_faults_are_injected_from_config,
    three_runtimes_keep_their_events_apart,
    crashed_runtimes_restart_with_backoff_showing_failed,
    runtimes_start_at_boot_and_stop_on_logout_and_delete,
);

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
    sign_in_by_token(app, alice, &id).await;
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
    let mut streams: Vec<_> = ids.iter().map(|id| runtimes.subscribe(*id)).collect();
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
    let mut rx = app.channels.runtimes().subscribe(id);
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
    let idle = create_channel(&app, &alice, json!({"provider": "mock", "name": "Idle"})).await;
    let idle: ChannelId = idle["id"].as_str().unwrap().parse().unwrap();

    // A second server on the same database: boot starts the signed-in channels only.
    let rebooted = state_with(app.store.clone(), app.realtime.bus().clone(), test_auth_config());
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

async fn the_demo_channel_is_seeded_once_and_connects_at_boot(app: AppState, _raw: Raw) {
    use switchboard_server::services::provision::{DEMO_CHANNEL, seed_demo_channel};
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

async fn channel_of(app: &AppState, id: ChannelId) -> switchboard::Channel {
    let ws = app.store.workspace_by_name("Acme Support").await.unwrap().unwrap().id;
    app.store.channel(ws, id).await.unwrap().unwrap()
}

fn outbound(key: &str, to: &str, text: &str) -> switchboard::provider::OutboundMessage {
    switchboard::provider::OutboundMessage {
        idempotency_key: key.into(),
        contact_id: to.into(),
        text: text.into(),
        media: Vec::new(),
        reply_to: None,
        template: None,
        buttons: Vec::new(),
    }
}

async fn mock_contacts_answer_and_receipts_follow(app: AppState, _raw: Raw) {
    use switchboard::provider::{DeliveryStatus, Direction, Provider};
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let config = json!({"delivered_after_ms": 20, "read_after_ms": 40, "reply_after_ms": 60, "reply_text": "echo: {text}"});
    let id = connected_channel(&app, &alice, "Chatty", config).await;
    let channel = channel_of(&app, id).await;
    let mut rx = app.channels.runtimes().subscribe(id);

    let sent = app.mock.send(&channel, None, outbound("k-1", "+15550000001", "hello")).await.unwrap();
    let mut got = Vec::new();
    while got.len() < 3 {
        let e =
            tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.expect("events arrive").unwrap();
        assert_eq!(e.channel_id, id);
        got.push(e.event);
    }
    assert_eq!(
        got[0],
        ChannelEvent::MessageStatus {
            external_id: sent.clone(),
            status: DeliveryStatus::Delivered,
            error: None
        }
    );
    assert_eq!(
        got[1],
        ChannelEvent::MessageStatus { external_id: sent.clone(), status: DeliveryStatus::Read, error: None }
    );
    match &got[2] {
        ChannelEvent::MessageReceived { message } => {
            assert_eq!((message.text.as_str(), message.contact_id.as_str()), ("echo: hello", "+15550000001"));
            assert_eq!(message.direction, Direction::Inbound);
        }
        other => panic!("expected the contact's answer, got {other:?}"),
    }

    // The same idempotency key again: the same id, and the contact does not answer twice.
    assert_eq!(app.mock.send(&channel, None, outbound("k-1", "+15550000001", "hello")).await.unwrap(), sent);
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(rx.try_recv().is_err(), "a repeated send produced new events");
}

async fn mock_faults_are_injected_from_config(app: AppState, _raw: Raw) {
    use switchboard::provider::{Provider, ProviderError};
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let quiet = json!({"reply_after_ms": null});

    let mut limited = quiet.clone();
    limited["rate_limit_next"] = json!(2);
    limited["rate_limit_retry_after_secs"] = json!(7);
    limited["reject_contacts"] = json!(["+15550000002"]);
    let ch = channel_of(&app, connected_channel(&app, &alice, "Limited", limited).await).await;
    for n in 0..2 {
        let err =
            app.mock.send(&ch, None, outbound(&format!("r{n}"), "+15550000001", "x")).await.unwrap_err();
        assert_eq!(
            err,
            ProviderError::RateLimited {
                scope: switchboard::provider::RateLimitScope::Channel,
                retry_after_secs: 7
            }
        );
    }
    app.mock.send(&ch, None, outbound("r2", "+15550000001", "x")).await.expect("the third send passes");
    let refused = app.mock.send(&ch, None, outbound("r3", "+15550000002", "x")).await.unwrap_err();
    assert!(matches!(refused, ProviderError::Permanent { .. }), "{refused:?}");

    let mut flaky = quiet.clone();
    flaky["failure_rate"] = json!(1.0);
    let ch = channel_of(&app, connected_channel(&app, &alice, "Flaky sends", flaky).await).await;
    assert!(matches!(
        app.mock.send(&ch, None, outbound("f", "+15550000001", "x")).await,
        Err(ProviderError::Retryable { .. })
    ));

    let mut down = quiet.clone();
    down["outage_until"] = json!((chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339());
    let ch = channel_of(&app, connected_channel(&app, &alice, "Down", down).await).await;
    assert!(matches!(
        app.mock.send(&ch, None, outbound("o", "+15550000001", "x")).await,
        Err(ProviderError::Retryable { .. })
    ));

    let body = json!({"provider": "mock", "name": "Bad", "config": {"failure_rate": 1.5}});
    assert_eq!(send(&app, authed("POST", "/api/v1/channels", &alice, Some(body))).await.status(), 422);
}

async fn auth_progress_and_status_changes_flow_on_the_channel_stream(app: AppState, _raw: Raw) {
    use switchboard::provider::AuthStatus;
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let created = create_channel(&app, &alice, json!({"provider": "mock", "name": "S"})).await;
    let id: ChannelId = created["id"].as_str().unwrap().parse().unwrap();
    let mut rx = app.channels.runtimes().subscribe(id);
    let other = create_channel(&app, &alice, json!({"provider": "mock", "name": "T"})).await;
    let other: ChannelId = other["id"].as_str().unwrap().parse().unwrap();

    let uri = format!("/api/v1/channels/{id}/auth");
    send(&app, authed("POST", &format!("{uri}/start"), &alice, Some(json!({"method": "otp"})))).await;
    send(
        &app,
        authed(
            "POST",
            &format!("/api/v1/channels/{other}/auth/start"),
            &alice,
            Some(json!({"method": "qr"})),
        ),
    )
    .await;
    send(
        &app,
        authed("POST", &format!("{uri}/submit"), &alice, Some(json!({"kind": "otp", "value": "wrong"}))),
    )
    .await;
    let code = body_json(send(&app, authed("GET", &uri, &alice, None)).await).await["prompt"]["code"]
        .as_str()
        .unwrap()
        .to_owned();
    send(&app, authed("POST", &format!("{uri}/submit"), &alice, Some(json!({"kind": "otp", "value": code}))))
        .await;

    let mut got = Vec::new();
    while !got.contains(&ChannelEvent::Connected) {
        let e =
            tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.expect("events arrive").unwrap();
        assert_eq!(e.channel_id, id, "another channel's auth leaked into this stream");
        got.push(e.event);
    }
    let pos = |wanted: &dyn Fn(&ChannelEvent) -> bool| {
        got.iter().position(wanted).unwrap_or_else(|| panic!("missing in {got:?}"))
    };
    let prompt = pos(&|e| matches!(e, ChannelEvent::AuthPrompt { .. }));
    let pending = pos(&|e| *e == ChannelEvent::AuthStatus { status: AuthStatus::Pending });
    let refused = pos(&|e| matches!(e, ChannelEvent::AuthError { .. }));
    let completed = pos(&|e| *e == ChannelEvent::AuthCompleted);
    let connected_status =
        pos(&|e| matches!(e, ChannelEvent::StatusChanged { status: ChannelStatus::Connected, .. }));
    assert!(
        prompt < pending && pending < refused && refused < completed && completed < connected_status,
        "{got:?}"
    );
    assert_eq!(
        got.iter().filter(|e| matches!(e, ChannelEvent::AuthPrompt { .. })).count(),
        1,
        "the prompt is announced once: {got:?}"
    );

    send(&app, authed("POST", &format!("/api/v1/channels/{id}/logout"), &alice, None)).await;
    let mut tail = Vec::new();
    while !tail
        .iter()
        .any(|e| matches!(e, ChannelEvent::StatusChanged { status: ChannelStatus::Disconnected, .. }))
    {
        tail.push(
            tokio::time::timeout(Duration::from_secs(5), rx.recv())
                .await
                .expect("events arrive")
                .unwrap()
                .event,
        );
    }
    assert!(tail.contains(&ChannelEvent::Logout), "{tail:?}");
}
