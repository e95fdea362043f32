//! `switchboard-fakes`: the local fakes of the real networks as one process, for the
//! end-to-end tests (the server's own tests run them in process). Besides each network's API
//! it answers a few `/_fake` routes the tests drive it with:
//!
//! - `GET /_fake/whatsapp/requests`: every call the fake WhatsApp API received;
//! - the fake Telegram Bot API under `/telegram` (`{base}/telegram/bot{token}/{method}`), with
//!   `GET /_fake/telegram/calls` and `POST /_fake/telegram/updates` (an update for `getUpdates`);
//! - `POST /_fake/whatsapp/inbound` `{webhook_url, app_secret, from, name, text, timestamp?}`: a
//!   customer's text message, delivered to the webhook signed as Meta does.

use axum::Json;
use axum::extract::State;
use axum::routing::{get, post};
use clap::Parser;
use serde::Deserialize;
use serde_json::{Value, json};
use switchboard_server::fakes::telegram::FakeTelegram;
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
    let listener = tokio::net::TcpListener::bind(&args.addr).await?;
    let app = fake.router().merge(control).merge(telegram_control).nest("/telegram", telegram.router());
    println!("switchboard-fakes listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
