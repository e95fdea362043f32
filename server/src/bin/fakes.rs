//! `switchboard-fakes`: the local fakes of the real networks as one process, for the
//! end-to-end tests (the server's own tests run them in process). Besides each network's API
//! it answers a few `/_fake` routes the tests drive it with:
//!
//! - `GET /_fake/whatsapp/requests`: every call the fake WhatsApp API received;
//! - the fake Telegram Bot API under `/telegram` (`{base}/telegram/bot{token}/{method}`), with
//!   `GET /_fake/telegram/calls` and `POST /_fake/telegram/updates` (an update for `getUpdates`);
//! - `POST /_fake/whatsapp/inbound` `{webhook_url, app_secret, from, name, text, timestamp?}`: a
//!   customer's text message, delivered to the webhook signed as Meta does;
//! - the fake Whapi.Cloud gateway under `/whapi`, its phone holding two chats of history, with
//!   `GET /_fake/whapi/calls`, `POST /_fake/whapi/link` (the phone scans the QR),
//!   `POST /_fake/whapi/health` `{text}` (the session's state, also pushed to the webhook) and
//!   `POST /_fake/whapi/inbound` `{chat_id, name, text}` (a customer's message, delivered to the
//!   registered webhook with its secret header).

use axum::Json;
use axum::extract::State;
use axum::routing::{get, post};
use clap::Parser;
use serde::Deserialize;
use serde_json::{Value, json};
use switchboard_server::fakes::telegram::FakeTelegram;
use switchboard_server::fakes::whapi::{self, FakeWhapi};
use switchboard_server::fakes::whatsapp_cloud::{self, FakeWhatsApp};

#[derive(Parser, Debug)]
#[command(name = "switchboard-fakes", about = "Local fakes of the networks, for tests")]
struct Args {
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:3390")]
    addr: String,
    /// The access token the fake WhatsApp API accepts.
    #[arg(long, default_value = "fake-access-token")]
    whatsapp_token: String,
    /// The bot token the fake Telegram Bot API (under `/telegram`) accepts.
    #[arg(long, default_value = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw")]
    telegram_token: String,
    /// The channel API token the fake Whapi.Cloud gateway (under `/whapi`) accepts.
    #[arg(long, default_value = "fake-whapi-token")]
    whapi_token: String,
}

#[derive(Deserialize)]
struct Inbound {
    webhook_url: String,
    app_secret: String,
    from: String,
    name: String,
    text: String,
    /// When the customer wrote (Unix seconds); now by default.
    #[serde(default)]
    timestamp: Option<i64>,
}

async fn requests(State(fake): State<FakeWhatsApp>) -> Json<Value> {
    let all: Vec<Value> = fake
        .requests()
        .into_iter()
        .map(|r| json!({ "method": r.method, "path": r.path, "body": r.body }))
        .collect();
    Json(json!(all))
}

async fn inbound(State(fake): State<FakeWhatsApp>, Json(req): Json<Inbound>) -> Json<Value> {
    let id = format!("wamid.inbound.{}", uuid::Uuid::now_v7().simple());
    let mut message = json!({ "id": id, "type": "text", "text": { "body": req.text } });
    if let Some(at) = req.timestamp {
        message["timestamp"] = json!(at.to_string());
    }
    let payload = whatsapp_cloud::message_payload(&fake.phone_number_id, &req.from, &req.name, message);
    let status = whatsapp_cloud::post_signed(&req.webhook_url, &req.app_secret, &payload).await;
    Json(json!({ "status": status, "id": id }))
}

async fn telegram_calls(State(fake): State<FakeTelegram>) -> Json<Value> {
    let all: Vec<Value> =
        fake.calls().into_iter().map(|c| json!({ "method": c.method, "body": c.body })).collect();
    Json(json!(all))
}

async fn telegram_update(State(fake): State<FakeTelegram>, Json(update): Json<Value>) -> Json<Value> {
    Json(fake.push_update(update))
}

async fn whapi_calls(State(fake): State<FakeWhapi>) -> Json<Value> {
    let all: Vec<Value> =
        fake.calls().into_iter().map(|c| json!({ "route": c.route, "body": c.body })).collect();
    Json(json!(all))
}

async fn whapi_link(State(fake): State<FakeWhapi>) -> Json<Value> {
    fake.link();
    Json(json!({ "linked": true }))
}

#[derive(Deserialize)]
struct Health {
    text: String,
}

async fn whapi_health(State(fake): State<FakeWhapi>, Json(req): Json<Health>) -> Json<Value> {
    fake.set_state(&req.text);
    let payload = json!({ "health": { "status": { "code": 0, "text": req.text } }, "event": { "type": "channel", "event": "post" } });
    Json(json!({ "status": fake.deliver(&payload).await }))
}

#[derive(Deserialize)]
struct WhapiInbound {
    chat_id: String,
    name: String,
    text: String,
}

async fn whapi_inbound(State(fake): State<FakeWhapi>, Json(req): Json<WhapiInbound>) -> Json<Value> {
    let id = format!("Fake{}-inbound", uuid::Uuid::now_v7().simple());
    let mut message = whapi::message(
        &id,
        &req.chat_id,
        false,
        chrono::Utc::now().timestamp(),
        json!({ "type": "text", "text": { "body": req.text } }),
    );
    message["from_name"] = json!(req.name);
    let status = fake.deliver(&whapi::messages_payload(vec![message])).await;
    Json(json!({ "status": status, "id": id }))
}

/// The phone's chats before it links: what the history import finds.
fn whapi_history(fake: &FakeWhapi) {
    let now = chrono::Utc::now().timestamp();
    let text = |body: &str| json!({ "type": "text", "text": { "body": body } });
    let hana = "15550102030@s.whatsapp.net";
    fake.put_chat(
        json!({ "id": hana, "type": "contact", "name": "Hana Historic", "timestamp": now - 3600 }),
        vec![
            whapi::message("FakeHist0001-a", hana, false, now - 7200, text("Do you deliver on Sundays?")),
            whapi::message("FakeHist0002-a", hana, true, now - 3600, text("Yes, before noon.")),
        ],
    );
    let igor = "15550104050@s.whatsapp.net";
    fake.put_chat(
        json!({ "id": igor, "type": "contact", "name": "Igor Imported", "timestamp": now - 600 }),
        vec![whapi::message("FakeHist0003-a", igor, false, now - 600, text("Thanks for the quick reply"))],
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let fake = FakeWhatsApp::new("106540352242922", "102290129340398", &args.whatsapp_token);
    let control = axum::Router::new()
        .route("/_fake/whatsapp/requests", get(requests))
        .route("/_fake/whatsapp/inbound", post(inbound))
        .route("/_fake/ready", get(|| async { "ok" }))
        .with_state(fake.clone());
    let telegram = FakeTelegram::new(&args.telegram_token);
    let telegram_control = axum::Router::new()
        .route("/_fake/telegram/calls", get(telegram_calls))
        .route("/_fake/telegram/updates", post(telegram_update))
        .with_state(telegram.clone());
    let gateway = FakeWhapi::new(&args.whapi_token);
    whapi_history(&gateway);
    let whapi_control = axum::Router::new()
        .route("/_fake/whapi/calls", get(whapi_calls))
        .route("/_fake/whapi/link", post(whapi_link))
        .route("/_fake/whapi/health", post(whapi_health))
        .route("/_fake/whapi/inbound", post(whapi_inbound))
        .with_state(gateway.clone());
    let listener = tokio::net::TcpListener::bind(&args.addr).await?;
    let app = fake
        .router()
        .merge(control)
        .merge(telegram_control)
        .merge(whapi_control)
        .nest("/telegram", telegram.router())
        .nest("/whapi", gateway.router());
    println!("switchboard-fakes listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
