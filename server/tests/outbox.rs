//! The outbox worker against the Mock network's receipts and faults, on SQLite and PostgreSQL.

#[macro_use]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};
use switchboard::provider::{Direction, OutboundMessage, Provider, ProviderError, RateLimitScope};
use switchboard::time::{Clock, ManualClock};
use switchboard::{Channel, ChannelId, ConversationId, Message, MessageStatus};
use switchboard_server::http::AppState;
use switchboard_server::services::outbox::{OutboxConfig, OutboxWorker};

app_test!(
    sent_messages_follow_receipts_to_read,
    a_429_storm_and_flaky_sends_end_sent_or_failed_never_twice,
    permanent_refusals_and_exhausted_retries_fail_the_message,
    a_crashed_claim_is_reclaimed_after_its_lease,
    an_absurd_retry_after_is_capped_and_other_channels_keep_sending,
    a_send_that_panics_fails_its_message_and_spares_the_others,
    a_row_that_kills_every_worker_is_failed_by_the_poison_pill_rule,
    a_429_pauses_the_whole_channel_until_retry_after,
    a_per_conversation_limit_pauses_only_that_conversation,
    retries_wait_1_2_4_8_16_minutes_then_the_message_fails,
);

/// Fast pacing for tests that wait on the real clock.
fn fast() -> OutboxConfig {
    OutboxConfig {
        poll: Duration::from_millis(10),
        lease: Duration::from_millis(300),
        backoff_base: Duration::from_millis(10),
        backoff_cap: Duration::from_millis(40),
        batch: 32,
    }
}

fn worker(app: &AppState) -> OutboxWorker {
    OutboxWorker::new(app.store.clone(), app.channels.providers().clone(), fast())
}

/// A connected Mock channel with `config` and a conversation with contact +15550000001.
async fn setup(app: &AppState, config: Value) -> (String, Channel, ConversationId) {
    let alice = login(app, "alice@example.com", "demo-password").await;
    connected_conversation(app, &alice, "Mock", config, "+15550000001").await
}

/// A second channel and conversation in the same app (contact +15550000002).
async fn setup_second(app: &AppState, alice: &str, config: Value) -> (String, Channel, ConversationId) {
    connected_conversation(app, alice, "Second", config, "+15550000002").await
}

/// Creates a Mock channel, signs it in, waits for its runtime, and opens a conversation with
/// `contact` by an inbound message.
async fn connected_conversation(
    app: &AppState,
    alice: &str,
    name: &str,
    config: Value,
    contact: &str,
) -> (String, Channel, ConversationId) {
    let created =
        create_channel(app, alice, json!({"provider": "mock", "name": name, "config": config})).await;
    let id = created["id"].as_str().unwrap().to_owned();
    sign_in_by_token(app, alice, &id).await;
    let channel_id: ChannelId = id.parse().unwrap();
    for _ in 0..500 {
        if app.mock.is_connected(channel_id) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let ws = app.store.workspace_by_name("Acme Support").await.unwrap().unwrap().id;
    let channel = app.store.channel(ws, channel_id).await.unwrap().unwrap();
    let done = contact_writes(app, &channel, contact, &format!("Contact {contact}"), "hello").await;
    (alice.to_owned(), channel, done.conversation.id)
}

async fn send_text(app: &AppState, token: &str, conv: ConversationId, text: &str) -> Message {
    let response = send(
        app,
        authed("POST", &format!("/api/v1/conversations/{conv}/messages"), token, Some(json!({"text": text}))),
    )
    .await;
    assert_eq!(response.status(), 201);
    serde_json::from_value(body_json(response).await).unwrap()
}

async fn outbound(app: &AppState, channel: &Channel, conv: ConversationId) -> Vec<Message> {
    let mut all = app.store.messages(channel.workspace_id, conv, None, 200).await.unwrap();
    all.retain(|m| m.direction == Direction::Outbound);
    all
}

/// Ticks the worker until `done` holds (bounded).
async fn drive(
    app: &AppState,
    w: &OutboxWorker,
    channel: &Channel,
    conv: ConversationId,
    within: Duration,
    done: impl Fn(&[Message]) -> bool,
) -> Vec<Message> {
    let deadline = Instant::now() + within;
    loop {
        w.tick().await.unwrap();
        let messages = outbound(app, channel, conv).await;
        if done(&messages) {
            return messages;
        }
        assert!(
            Instant::now() < deadline,
            "not settled in time: {:?}",
            messages.iter().map(|m| m.status).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn sent_messages_follow_receipts_to_read(app: AppState, _raw: Raw) {
    let (alice, channel, conv) =
        setup(&app, json!({"delivered_after_ms": 20, "read_after_ms": 40, "reply_after_ms": null})).await;
    let message = send_text(&app, &alice, conv, "Your order shipped").await;
    let w = worker(&app);
    assert_eq!(w.tick().await.unwrap(), 1);
    let sent = &outbound(&app, &channel, conv).await[0];
    // The receipts come 20 and 40 ms after the send: a busy machine may see them already here
    // (the events below show the order).
    assert!(
        matches!(sent.status, MessageStatus::Sent | MessageStatus::Delivered | MessageStatus::Read),
        "{:?}",
        sent.status
    );
    assert_eq!(
        sent.external_id.as_deref(),
        Some(format!("mock-{}", message.id).as_str()),
        "the message id is the provider's idempotency key"
    );
    let read =
        drive(&app, &w, &channel, conv, Duration::from_secs(5), |m| m[0].status == MessageStatus::Read).await;
    assert_eq!(read.len(), 1);

    let topic = switchboard::Topic::Conversation(conv);
    let statuses: Vec<String> = app
        .store
        .events_after(topic, 0, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind().as_str() == "message.status")
        .map(|e| e.body.payload()["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(statuses, ["sent", "delivered", "read"]);
}

async fn a_429_storm_and_flaky_sends_end_sent_or_failed_never_twice(app: AppState, _raw: Raw) {
    let config = json!({"rate_limit_next": 3, "rate_limit_retry_after_secs": 1, "failure_rate": 0.3, "reply_after_ms": null, "delivered_after_ms": 600000});
    let (alice, channel, conv) = setup(&app, config).await;
    for n in 0..10 {
        send_text(&app, &alice, conv, &format!("m{n}")).await;
    }
    let w = worker(&app);
    let settled =
        |m: &[Message]| m.iter().all(|m| matches!(m.status, MessageStatus::Sent | MessageStatus::Failed));
    let messages = drive(&app, &w, &channel, conv, Duration::from_secs(20), settled).await;
    assert_eq!(messages.len(), 10);
    let sent: Vec<_> = messages.iter().filter(|m| m.status == MessageStatus::Sent).collect();
    assert!(!sent.is_empty(), "most messages get through");
    for m in &sent {
        assert_eq!(m.external_id.as_deref(), Some(format!("mock-{}", m.id).as_str()));
    }
    // Order per conversation: the network took the messages in the order they were written,
    // each at most once.
    let accepted = app.mock.accepted(channel.id);
    let mut in_order: Vec<String> = sent.iter().map(|m| m.id.to_string()).collect();
    in_order.sort();
    assert_eq!(accepted, in_order, "accepted out of order or twice");
    for m in messages.iter().filter(|m| m.status == MessageStatus::Failed) {
        assert!(m.error.as_deref().is_some_and(|e| e.contains("simulated")), "{m:?}");
    }
    // The storm degraded the channel; the next success brought it back.
    let inbox =
        app.store.events_after(switchboard::Topic::Inbox(channel.workspace_id), 0, 1000).await.unwrap();
    let statuses: Vec<_> = inbox
        .iter()
        .filter(|e| e.kind().as_str() == "channel.status")
        .map(|e| e.body.payload()["status"].as_str().unwrap().to_owned())
        .collect();
    let degraded = statuses.iter().position(|s| s == "degraded").expect("the 429s degraded the channel");
    assert!(statuses[degraded..].iter().any(|s| s == "connected"), "{statuses:?}");
    let now = app.store.channel(channel.workspace_id, channel.id).await.unwrap().unwrap();
    assert_eq!(now.status, switchboard::ChannelStatus::Connected);
}

async fn permanent_refusals_and_exhausted_retries_fail_the_message(app: AppState, _raw: Raw) {
    let (alice, channel, conv) =
        setup(&app, json!({"reject_contacts": ["+15550000001"], "reply_after_ms": null})).await;
    send_text(&app, &alice, conv, "x").await;
    let w = worker(&app);
    w.tick().await.unwrap();
    let failed = &outbound(&app, &channel, conv).await[0];
    assert_eq!(failed.status, MessageStatus::Failed, "a permanent refusal fails at once");
    assert!(failed.error.as_deref().unwrap().contains("does not accept"));

    let (alice, channel, conv) =
        setup_second(&app, &alice, json!({"failure_rate": 1.0, "reply_after_ms": null})).await;
    send_text(&app, &alice, conv, "y").await;
    let messages =
        drive(&app, &w, &channel, conv, Duration::from_secs(10), |m| m[0].status == MessageStatus::Failed)
            .await;
    assert!(messages[0].error.as_deref().unwrap().contains("simulated send failure"));

    // The user retries: pending again, and once the network recovers it is sent.
    let id = messages[0].id;
    let retried = send(&app, authed("POST", &format!("/api/v1/messages/{id}/retry"), &alice, None)).await;
    assert_eq!(retried.status(), 200);
    let retried = body_json(retried).await;
    assert_eq!((retried["status"].as_str(), &retried["error"]), (Some("pending"), &Value::Null));
    let again = send(&app, authed("POST", &format!("/api/v1/messages/{id}/retry"), &alice, None)).await;
    assert_eq!(again.status(), 409, "only a failed message can be retried");
    let again = body_json(again).await;
    // Said in words; the rule's internal name never reaches a client.
    assert_eq!(again["error"]["message"], "Only a failed outbound message can be retried.");
    assert!(!again.to_string().contains("message_not_failed"), "{again}");
    let ws = channel.workspace_id;
    app.store
        .update_channel(ws, channel.id, None, Some(json!({"reply_after_ms": null})), switchboard::time::now())
        .await
        .unwrap();
    let sent =
        drive(&app, &w, &channel, conv, Duration::from_secs(10), |m| m[0].status == MessageStatus::Sent)
            .await;
    assert_eq!(sent[0].id, id, "the same message, not a copy");
    let missing = send(
        &app,
        authed("POST", &format!("/api/v1/messages/{}/retry", switchboard::MessageId::new()), &alice, None),
    )
    .await;
    assert_eq!(missing.status(), 404);
}

async fn a_crashed_claim_is_reclaimed_after_its_lease(app: AppState, _raw: Raw) {
    let (alice, channel, conv) = setup(&app, json!({"reply_after_ms": null})).await;
    let message = send_text(&app, &alice, conv, "x").await;
    // A worker claims the row and dies before settling it.
    let now = switchboard::time::now();
    let claimed = app.store.claim_outbox(now, now + chrono::Duration::milliseconds(200), 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(
        app.store.claim_outbox(now, now, 10).await.unwrap().is_empty(),
        "a leased row is not claimed twice"
    );
    let w = worker(&app);
    assert_eq!(w.tick().await.unwrap(), 0, "still leased");
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(w.tick().await.unwrap(), 1, "reclaimed after the lease");
    let sent = &outbound(&app, &channel, conv).await[0];
    assert_eq!(
        (sent.status, sent.external_id.clone()),
        (MessageStatus::Sent, Some(format!("mock-{}", message.id)))
    );
}

/// The Mock network, except that sends to `+15550000001` answer `answer` (a network gone wrong:
/// an absurd `Retry-After`, or a bug that panics).
struct Faulty {
    mock: std::sync::Arc<dyn Provider>,
    answer: fn() -> Result<String, ProviderError>,
}

#[async_trait::async_trait]
impl Provider for Faulty {
    fn kind(&self) -> switchboard::ProviderKind {
        self.mock.kind()
    }
    fn capabilities(&self) -> switchboard::provider::Capabilities {
        self.mock.capabilities()
    }
    fn validate_config(&self, config: &Value) -> Result<(), switchboard::validate::ValidationError> {
        self.mock.validate_config(config)
    }
    async fn start_auth(
        &self,
        channel: &Channel,
        _credentials: Option<&serde_json::Value>,
        method: switchboard::provider::AuthMethod,
        phone: Option<&str>,
    ) -> Result<switchboard::provider::AuthPrompt, ProviderError> {
        self.mock.start_auth(channel, None, method, phone).await
    }
    async fn submit_auth(
        &self,
        channel: &Channel,
        _credentials: Option<&serde_json::Value>,
        submission: switchboard::provider::AuthSubmission,
    ) -> Result<switchboard::provider::AuthProgress, ProviderError> {
        self.mock.submit_auth(channel, None, submission).await
    }
    async fn auth_progress(
        &self,
        channel: &Channel,
        _credentials: Option<&serde_json::Value>,
    ) -> switchboard::provider::AuthProgress {
        self.mock.auth_progress(channel, None).await
    }
    async fn logout(&self, channel: &Channel, credentials: Option<&Value>) -> Result<(), ProviderError> {
        self.mock.logout(channel, credentials).await
    }
    async fn connect(
        &self,
        channel: &Channel,
        credentials: &Value,
        cursor: Option<&str>,
        sink: std::sync::Arc<dyn switchboard::provider::EventSink>,
    ) -> Result<(), ProviderError> {
        self.mock.connect(channel, credentials, cursor, sink).await
    }
    async fn disconnect(&self, channel: &Channel) {
        self.mock.disconnect(channel).await
    }
    async fn list_contacts(
        &self,
        channel: &Channel,
    ) -> Result<Vec<switchboard::provider::Contact>, ProviderError> {
        self.mock.list_contacts(channel).await
    }
    async fn load_history(
        &self,
        channel: &Channel,
        credentials: Option<&Value>,
        contact_id: &str,
        before: Option<chrono::DateTime<chrono::Utc>>,
        limit: usize,
    ) -> Result<Vec<switchboard::provider::ProviderMessage>, ProviderError> {
        self.mock.load_history(channel, credentials, contact_id, before, limit).await
    }
    async fn send(
        &self,
        channel: &Channel,
        credentials: Option<&serde_json::Value>,
        message: OutboundMessage,
    ) -> Result<String, ProviderError> {
        if message.contact_id == "+15550000001" {
            return (self.answer)();
        }
        self.mock.send(channel, credentials, message).await
    }
}

fn faulty_worker(app: &AppState, answer: fn() -> Result<String, ProviderError>) -> OutboxWorker {
    faulty_worker_with(app, answer, fast())
}

fn faulty_worker_with(
    app: &AppState,
    answer: fn() -> Result<String, ProviderError>,
    config: OutboxConfig,
) -> OutboxWorker {
    let mock = app.channels.providers().get(switchboard::ProviderKind::Mock).unwrap().clone();
    let providers = app.channels.providers().clone().with(std::sync::Arc::new(Faulty { mock, answer }));
    OutboxWorker::new(app.store.clone(), providers, config)
}

async fn an_absurd_retry_after_is_capped_and_other_channels_keep_sending(app: AppState, raw: Raw) {
    let (alice, limited, limited_conv) = setup(&app, json!({"reply_after_ms": null})).await;
    let (_, other, other_conv) = setup_second(&app, &alice, json!({"reply_after_ms": null})).await;
    send_text(&app, &alice, limited_conv, "to the limited channel").await;
    send_text(&app, &alice, other_conv, "to the healthy channel").await;
    // 1e15 seconds used to overflow the clock and panic the one worker of every workspace.
    let w = faulty_worker(&app, || {
        Err(ProviderError::RateLimited {
            scope: RateLimitScope::Channel,
            retry_after_secs: 1_000_000_000_000_000,
        })
    });
    let task = switchboard_server::supervise::spawn("outbox_test_retry_after", move || {
        let w = w.clone();
        async move { w.run().await }
    });
    let sent = wait_for_status(&app, &other, other_conv, MessageStatus::Sent).await;
    assert_eq!(sent.text, "to the healthy channel");
    assert_eq!(
        switchboard_server::supervise::restarts("outbox_test_retry_after"),
        0,
        "the worker never crashed"
    );
    task.abort();

    let held = &outbound(&app, &limited, limited_conv).await[0];
    assert_eq!(held.status, MessageStatus::Pending, "waits for the network, not failed");
    let channel = app.store.channel(limited.workspace_id, limited.id).await.unwrap().unwrap();
    assert_eq!(channel.status, switchboard::ChannelStatus::Degraded);
    assert!(channel.last_error.as_deref().unwrap().contains("86400 s"), "{:?}", channel.last_error);
    let next = raw.outbox_next_attempt(held.id).await;
    let cap = switchboard::time::now() + chrono::Duration::hours(24);
    assert!(next <= cap && next > cap - chrono::Duration::minutes(5), "capped at a day: {next}");
}

async fn a_send_that_panics_fails_its_message_and_spares_the_others(app: AppState, _raw: Raw) {
    let (alice, broken, broken_conv) = setup(&app, json!({"reply_after_ms": null})).await;
    let (_, other, other_conv) = setup_second(&app, &alice, json!({"reply_after_ms": null})).await;
    send_text(&app, &alice, broken_conv, "trips a bug").await;
    send_text(&app, &alice, other_conv, "goes out").await;
    let w = faulty_worker(&app, || panic!("a bug in an adapter"));
    let failed = drive(&app, &w, &broken, broken_conv, Duration::from_secs(10), |m| {
        m[0].status == MessageStatus::Failed
    })
    .await;
    assert!(failed[0].error.as_deref().unwrap().contains("internal error"), "{:?}", failed[0].error);
    assert_eq!(outbound(&app, &other, other_conv).await[0].status, MessageStatus::Sent);
}

async fn a_row_that_kills_every_worker_is_failed_by_the_poison_pill_rule(app: AppState, raw: Raw) {
    let (alice, channel, conv) = setup(&app, json!({"reply_after_ms": null})).await;
    let message = send_text(&app, &alice, conv, "x").await;
    // Each "process" claims the row and dies before settling it, until no attempt is left.
    let mut claims = 0;
    loop {
        let now = switchboard::time::now();
        let claimed = app.store.claim_outbox(now, now + chrono::Duration::milliseconds(1), 10).await.unwrap();
        if claimed.is_empty() {
            break;
        }
        claims += 1;
        assert!(claims <= 10, "claimed forever");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(
        claims as i64,
        raw.outbox_max_attempts(message.id).await,
        "one claim per attempt, then no more"
    );
    let failed = &outbound(&app, &channel, conv).await[0];
    assert_eq!(failed.status, MessageStatus::Failed);
    assert!(failed.error.as_deref().unwrap().contains("interrupted"), "{:?}", failed.error);
    // The user can still retry it, and it goes out.
    let retried =
        send(&app, authed("POST", &format!("/api/v1/messages/{}/retry", message.id), &alice, None)).await;
    assert_eq!(retried.status(), 200);
    let sent = drive(&app, &worker(&app), &channel, conv, Duration::from_secs(10), |m| {
        m[0].status == MessageStatus::Sent
    })
    .await;
    assert_eq!(sent[0].id, message.id);
}

async fn a_429_pauses_the_whole_channel_until_retry_after(app: AppState, raw: Raw) {
    let config = json!({"rate_limit_next": 1, "rate_limit_retry_after_secs": 120, "reply_after_ms": null, "delivered_after_ms": 600000});
    let (alice, channel, first) = setup(&app, config).await;
    let second =
        contact_writes(&app, &channel, "+15550000002", "Contact +15550000002", "hi").await.conversation.id;
    assert_ne!(first, second, "two conversations on one channel");
    let a = send_text(&app, &alice, first, "to the first").await;
    let b = send_text(&app, &alice, second, "to the second").await;
    let clock = Arc::new(ManualClock::new(switchboard::time::now()));
    let w = worker(&app).with_clock(clock.clone());

    // Both rows are claimed in one batch; the first send gets the 429, so the second is held.
    assert_eq!(w.tick().await.unwrap(), 2);
    assert!(app.mock.accepted(channel.id).is_empty(), "the rest of the batch waits");
    for m in [&a, &b] {
        assert_eq!(raw.outbox_attempts(m.id).await, 0, "waiting out a 429 is not an attempt");
    }
    let degraded = app.store.channel(channel.workspace_id, channel.id).await.unwrap().unwrap();
    assert_eq!(degraded.status, switchboard::ChannelStatus::Degraded);
    assert!(degraded.last_error.as_deref().unwrap().contains("120 s"), "{:?}", degraded.last_error);

    // A send written during the pause waits as well; nothing of the channel goes out.
    let c = send_text(&app, &alice, second, "written during the pause").await;
    clock.advance(Duration::from_secs(119));
    assert_eq!(w.tick().await.unwrap(), 0, "the channel is paused");
    assert!(app.mock.accepted(channel.id).is_empty());
    for conv in [first, second] {
        assert!(outbound(&app, &channel, conv).await.iter().all(|m| m.status == MessageStatus::Pending));
    }

    // Retry-After has passed: everything goes out, in order, and the channel is healthy again.
    clock.advance(Duration::from_secs(1));
    for _ in 0..5 {
        w.tick().await.unwrap();
    }
    let expected: Vec<String> = [&a, &b, &c].iter().map(|m| m.id.to_string()).collect();
    assert_eq!(app.mock.accepted(channel.id), expected);
    let healthy = app.store.channel(channel.workspace_id, channel.id).await.unwrap().unwrap();
    assert_eq!(healthy.status, switchboard::ChannelStatus::Connected);
}

async fn a_per_conversation_limit_pauses_only_that_conversation(app: AppState, _raw: Raw) {
    let (alice, channel, limited) = setup(&app, json!({"reply_after_ms": null})).await;
    let other =
        contact_writes(&app, &channel, "+15550000002", "Contact +15550000002", "hi").await.conversation.id;
    send_text(&app, &alice, limited, "to the limited recipient").await;
    send_text(&app, &alice, other, "to the other recipient").await;
    let clock = Arc::new(ManualClock::new(switchboard::time::now()));
    let w = faulty_worker(&app, || {
        Err(ProviderError::RateLimited { scope: RateLimitScope::Conversation, retry_after_secs: 60 })
    })
    .with_clock(clock.clone());

    assert_eq!(w.tick().await.unwrap(), 2);
    assert_eq!(outbound(&app, &channel, other).await[0].status, MessageStatus::Sent, "the channel goes on");
    assert_eq!(outbound(&app, &channel, limited).await[0].status, MessageStatus::Pending);
    let channel_now = app.store.channel(channel.workspace_id, channel.id).await.unwrap().unwrap();
    assert_eq!(channel_now.status, switchboard::ChannelStatus::Connected, "one recipient's limit");

    send_text(&app, &alice, limited, "written during the pause").await;
    let later = send_text(&app, &alice, other, "still flows").await;
    clock.advance(Duration::from_secs(59));
    assert_eq!(w.tick().await.unwrap(), 1, "only the other conversation's row");
    assert_eq!(outbound(&app, &channel, other).await[0].id, later.id);
    assert_eq!(outbound(&app, &channel, other).await[0].status, MessageStatus::Sent);
    clock.advance(Duration::from_secs(1));
    assert_eq!(w.tick().await.unwrap(), 1, "the limited conversation resumes, in order");
}

async fn retries_wait_1_2_4_8_16_minutes_then_the_message_fails(app: AppState, raw: Raw) {
    let (alice, channel, conv) = setup(&app, json!({"reply_after_ms": null})).await;
    let message = send_text(&app, &alice, conv, "x").await;
    assert_eq!(raw.outbox_max_attempts(message.id).await, 6, "the first attempt and five retries");
    let clock = Arc::new(ManualClock::new(switchboard::time::now()));
    let config = OutboxConfig { batch: 32, lease: Duration::from_secs(60), ..OutboxConfig::default() };
    let flaky = || Err(ProviderError::Retryable { message: "flaky network".into(), after_secs: None });
    let w = faulty_worker_with(&app, flaky, config).with_clock(clock.clone());

    for minutes in [1u64, 2, 4, 8, 16] {
        let at = clock.now();
        assert_eq!(w.tick().await.unwrap(), 1, "the attempt before the {minutes}-minute wait");
        assert_eq!(outbound(&app, &channel, conv).await[0].status, MessageStatus::Pending);
        let next = raw.outbox_next_attempt(message.id).await;
        let wait = (next - at).to_std().unwrap();
        let base = Duration::from_secs(60 * minutes);
        assert!(wait >= base && wait <= base.mul_f64(1.2), "{minutes} min (+ up to 20 % jitter): {wait:?}");
        clock.set(next - chrono::Duration::seconds(1));
        assert_eq!(w.tick().await.unwrap(), 0, "not before its time");
        clock.set(next);
    }
    assert_eq!(w.tick().await.unwrap(), 1, "the last attempt");
    let failed = &outbound(&app, &channel, conv).await[0];
    assert_eq!(failed.status, MessageStatus::Failed);
    assert!(failed.error.as_deref().unwrap().contains("flaky network"), "{:?}", failed.error);
    assert_eq!(raw.outbox_attempts(message.id).await, 6);
    clock.advance(Duration::from_secs(24 * 3600));
    assert_eq!(w.tick().await.unwrap(), 0, "failed is final until the user retries");
}

/// Waits (bounded) until the conversation's first outbound message has `status`.
async fn wait_for_status(
    app: &AppState,
    channel: &Channel,
    conv: ConversationId,
    status: MessageStatus,
) -> Message {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let messages = outbound(app, channel, conv).await;
        if messages.first().is_some_and(|m| m.status == status) {
            return messages[0].clone();
        }
        assert!(Instant::now() < deadline, "not {status:?} in time");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
