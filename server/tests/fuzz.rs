//! Property tests, the suite's fuzzer: hostile input generated at random against the real
//! router and gateway, on SQLite and PostgreSQL. Each property is the same: nothing panics,
//! every refusal is a 4xx in the JSON error shape (or, on the socket, a close with a protocol
//! code), and a refused request stores nothing.
//!
//! Cases are drawn afresh on every run (so the suite keeps exploring); a failure prints the
//! input that caused it.

#[macro_use]
mod common;

use axum::http::StatusCode;
use common::ws::Client;
use common::*;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::{Map, Value, json};
use switchboard_server::http::AppState;

app_test!(
    random_channel_configs_answer_201_or_422_and_never_crash,
    random_signed_webhooks_answer_200_or_400_and_refusals_store_nothing,
    random_realtime_commands_end_in_a_reply_or_a_protocol_close,
);

/// Cases per property and backend: enough to find the classes seen so far (overflowing
/// knobs, NUL, wrong types) in well under a minute.
const CASES: usize = 96;

const MOCK_KEYS: &[&str] = &[
    "qr_ttl_secs",
    "code_ttl_secs",
    "auth_confirm_after_ms",
    "contacts",
    "connect_failures",
    "reply_after_ms",
    "reply_text",
    "delivered_after_ms",
    "read_after_ms",
    "failure_rate",
    "rate_limit_next",
    "rate_limit_retry_after_secs",
    "outage_until",
    "reject_contacts",
    "webhook_secret",
];

const HOOK_KEYS: &[&str] = &["type", "id", "from", "name", "text", "status", "title", "error", "online"];
const HOOK_TYPES: &[&str] =
    &["message", "status", "edit", "revoke", "chat", "channel_status", "presence", "x"];

/// Text of every kind: empty, NUL, control characters, astral planes, long runs.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,24}",
        Just(String::new()),
        Just("\u{0}".to_owned()),
        "[\\x00-\\x1fa\\x7f\\x{feff}\\x{1F600}]{1,8}",
        (1usize..6000).prop_map(|n| "x".repeat(n)),
    ]
}

/// Numbers at the edges: zero, negatives, huge, fractional, beyond i64.
fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (0u64..100_000).prop_map(Value::from),
        prop::num::f64::NORMAL.prop_map(|f| json!(f)),
        Just(json!(1e15)),
        Just(json!(-1)),
    ]
}

/// Any JSON value, keys drawn from `keys` or at random.
fn json_with_keys(keys: &'static [&'static str]) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        number(),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 5, move |inner| {
        let key = prop_oneof![4 => prop::sample::select(keys).prop_map(str::to_owned), 1 => text()];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key, inner), 0..6).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// An object over known keys, each with a plausible or a hostile value.
fn object_over(keys: &'static [&'static str], values: BoxedStrategy<Value>) -> impl Strategy<Value = Value> {
    prop::collection::vec((prop::sample::select(keys), values), 0..keys.len())
        .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect::<Map<_, _>>()))
}

/// A Mock config: mostly well-typed values at every size (so most are accepted and then used,
/// reaching the arithmetic behind them), sometimes a hostile value of any type.
fn channel_config() -> impl Strategy<Value = Value> {
    let big = prop_oneof![
        Just(0u64),
        1u64..10,
        any::<u64>(),
        Just(u64::MAX),
        Just(1_000_000_000_000_000),
        Just(3_600_000),
        Just(86_400),
    ];
    let value_for = move |key: &'static str| -> BoxedStrategy<Value> {
        let typed = match key {
            "reply_text" | "webhook_secret" => text().prop_map(Value::from).boxed(),
            "outage_until" => prop_oneof![
                Just(Value::from("9999-12-31T23:59:59Z")),
                Just(Value::from("1970-01-01T00:00:00Z")),
                text().prop_map(Value::from),
            ]
            .boxed(),
            "reject_contacts" => prop::collection::vec(text(), 0..3).prop_map(|v| json!(v)).boxed(),
            "failure_rate" => prop_oneof![Just(json!(0.0)), Just(json!(1.0)), number()].boxed(),
            "reply_after_ms" | "auth_confirm_after_ms" => {
                prop_oneof![Just(Value::Null), big.clone().prop_map(Value::from)].boxed()
            }
            _ => big.clone().prop_map(Value::from).boxed(),
        };
        prop_oneof![6 => typed, 1 => json_with_keys(MOCK_KEYS)].boxed()
    };
    let config = prop::sample::subsequence(MOCK_KEYS.to_vec(), 0..=4).prop_flat_map(move |keys| {
        let values: Vec<_> = keys.iter().map(|k| value_for(k)).collect();
        (Just(keys), values)
    });
    prop_oneof![
        6 => config.prop_map(|(keys, values)| {
            Value::Object(keys.into_iter().map(str::to_owned).zip(values).collect::<Map<_, _>>())
        }),
        1 => json_with_keys(MOCK_KEYS),
    ]
}

fn webhook_body() -> impl Strategy<Value = String> {
    let values = prop_oneof![
        3 => prop::sample::select(HOOK_TYPES).prop_map(Value::from),
        3 => text().prop_map(Value::from),
        1 => prop::sample::select(&["sent", "delivered", "read", "failed", "connected", "bogus"][..]).prop_map(Value::from),
        1 => any::<bool>().prop_map(Value::from),
        1 => number(),
    ]
    .boxed();
    let event = object_over(HOOK_KEYS, values);
    prop_oneof![
        4 => prop::collection::vec(event, 0..4).prop_map(|events| json!({ "events": events }).to_string()),
        1 => json_with_keys(HOOK_KEYS).prop_map(|v| v.to_string()),
        1 => "\\PC{0,64}",
    ]
}

fn realtime_line() -> impl Strategy<Value = String> {
    const KINDS: &[&str] = &[
        "connect",
        "subscribe",
        "unsubscribe",
        "publish",
        "presence",
        "presence_stats",
        "history",
        "ping",
        "send",
        "rpc",
        "refresh",
        "sub_refresh",
    ];
    const FIELDS: &[&str] = &[
        "channel",
        "recover",
        "epoch",
        "offset",
        "limit",
        "since",
        "reverse",
        "token",
        "method",
        "data",
        "join_leave",
        "conversation_id",
        "text",
        "client_message_id",
        "up_to",
        "message_id",
    ];
    let methods = prop_oneof![
        prop::sample::select(&["send_message", "typing", "mark_read", "nope"][..]).prop_map(Value::from),
        text().prop_map(Value::from),
    ];
    let values = prop_oneof![
        2 => text().prop_map(Value::from),
        2 => number(),
        1 => methods,
        1 => Just(Value::from("conversation:00000000-0000-0000-0000-000000000000")),
        1 => json_with_keys(FIELDS),
    ]
    .boxed();
    let command = (any::<u32>(), prop::sample::select(KINDS), object_over(FIELDS, values)).prop_map(
        |(id, kind, body)| {
            let mut command = Map::new();
            command.insert("id".into(), id.into());
            command.insert(kind.into(), body);
            Value::Object(command).to_string()
        },
    );
    prop_oneof![4 => command, 1 => json_with_keys(FIELDS).prop_map(|v| v.to_string()), 1 => "\\PC{0,64}"]
}

/// Draws `CASES` values of `strategy` (a fresh random seed per run).
fn cases<S: Strategy>(strategy: S) -> Vec<S::Value> {
    let mut runner = TestRunner::default();
    (0..CASES).map(|_| strategy.new_tree(&mut runner).expect("a case").current()).collect()
}

#[track_caller]
fn assert_error_shape(status: StatusCode, body: &Value, input: &str) {
    assert!(status.is_client_error(), "{status} for {input}: {body}");
    assert!(body["error"]["code"].is_string() && body["error"]["message"].is_string(), "{body} for {input}");
}

async fn channel_count(app: &AppState) -> usize {
    let ws = app.store.workspace_by_name("Acme Support").await.unwrap().unwrap().id;
    app.store.channels(ws).await.unwrap().len()
}

async fn random_channel_configs_answer_201_or_422_and_never_crash(app: AppState, raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    for config in cases(channel_config()) {
        let before = channel_count(&app).await;
        let body = json!({"provider": "mock", "name": "Fuzzed", "config": config});
        let response = send(&app, authed("POST", "/api/v1/channels", &alice, Some(body.clone()))).await;
        let status = response.status();
        let answer = body_json(response).await;
        if status == StatusCode::CREATED {
            // An accepted config must also survive signing in with it.
            let id = answer["id"].as_str().unwrap();
            for method in ["qr", "otp", "pairing_code", "token"] {
                let start = json!({"method": method, "phone": "+15550001111"});
                let uri = format!("/api/v1/channels/{id}/auth/start");
                let response = send(&app, authed("POST", &uri, &alice, Some(start))).await;
                assert!(
                    response.status().as_u16() < 500,
                    "auth/start {method} with {config}: {}",
                    response.status()
                );
            }
            let response =
                send(&app, authed("DELETE", &format!("/api/v1/channels/{id}"), &alice, None)).await;
            assert!(response.status().is_success());
        } else {
            assert_error_shape(status, &answer, &body.to_string());
            assert_eq!(channel_count(&app).await, before, "a refused config stored a channel");
        }
    }
    assert_eq!(
        raw.rows_with_nul("channel", "config").await + raw.rows_with_nul("channel", "name").await,
        0,
        "NUL stored"
    );
}

async fn random_signed_webhooks_answer_200_or_400_and_refusals_store_nothing(app: AppState, raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let secret = "whsec_fuzzing_secret";
    let created = create_channel(
        &app,
        &alice,
        json!({"provider": "mock", "name": "Fuzzed", "config": {"webhook_secret": secret}}),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    for body in cases(webhook_body()) {
        let before = raw.table_bytes("message").await.len() + raw.table_bytes("event").await.len();
        let request = signed_mock_webhook(&id, &body, secret);
        let response = send(&app, request).await;
        let status = response.status();
        let answer = body_json(response).await;
        if status != StatusCode::OK {
            assert_error_shape(status, &answer, &body);
            let after = raw.table_bytes("message").await.len() + raw.table_bytes("event").await.len();
            assert_eq!(after, before, "a refused webhook stored something: {body}");
        }
    }
    assert_eq!(
        raw.rows_with_nul("message", "text").await + raw.rows_with_nul("message", "external_id").await,
        0,
        "NUL stored"
    );
}

async fn random_realtime_commands_end_in_a_reply_or_a_protocol_close(app: AppState, raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let addr = serve_app(&app).await;
    let before = raw.table_bytes("message").await;
    for line in cases(realtime_line()) {
        let token = body_json(send(&app, authed("GET", "/api/v1/realtime/token", &alice, None)).await).await;
        let (mut client, _) = Client::connect(addr, token["token"].as_str().unwrap()).await;
        client.send_raw(&line).await;
        // Then a ping: answered if the connection lives on; otherwise the server closed it, and
        // it must have said why with a protocol code (a dropped socket means a crash).
        client.send_raw(&json!({"id": 4_000_000_000u32, "ping": {}}).to_string()).await;
        match client.until_reply(4_000_000_000).await {
            Ok(reply) => assert!(
                reply.get("error").is_none() || reply["error"]["code"].is_u64(),
                "{reply} after {line}"
            ),
            Err(closed) => {
                assert!((3000..5000).contains(&closed.code), "closed with {closed:?} after {line}")
            }
        }
    }
    assert_eq!(raw.table_bytes("message").await, before, "random commands stored messages");
}
