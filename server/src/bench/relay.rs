//! `switchboard-relay`: the floor the benchmarks measure Switchboard against. A plain WebSocket
//! relay on Switchboard's own stack (tokio, axum's WebSocket with the same 1 KiB read buffer,
//! mimalloc, `TCP_NODELAY`) that stores nothing, checks nothing and keeps no state but who
//! listens to which room. `scripts/bench.sh` runs the same scenarios against it (`RELAY=1`),
//! so both are measured by the same generator on the same machine in the same session.
//!
//! It answers the REST calls `switchboard-bench` makes to set up (sign-in, a key, users, their
//! tokens, rooms) with made-up ids, and on the WebSocket the commands the generator sends:
//! `connect`, `subscribe` and the `send_message` rpc, which it answers and pushes to the room's
//! subscribers as a `message.created` publication with the room's next offset. Like the
//! server, it batches what queued for a connection into one WebSocket message, and drops a
//! subscriber whose queue is full. There is no recovery (a recovering subscribe is answered
//! `recovered: false`), so the churn scenario does not apply.
//!
//! Not part of the product: nothing in it is reachable from `switchboard`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use clap::Parser;
use serde_json::{Value, json};
use tokio::sync::mpsc;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(name = "switchboard-relay", about = "A plain WebSocket relay: the benchmarks' baseline")]
struct Args {
    #[arg(long, default_value = "127.0.0.1:3950")]
    addr: SocketAddr,
    /// Each connection's outgoing queue; a subscriber whose queue is full is dropped.
    #[arg(long, default_value_t = 1024)]
    queue: usize,
}

/// Largest batch of frames written as one WebSocket message (as the server's).
const BATCH_BYTES: usize = 64 * 1024;

struct Relay {
    next: AtomicU64,
    topics: Mutex<HashMap<String, Topic>>,
    queue: usize,
}

#[derive(Default)]
struct Topic {
    offset: u64,
    subscribers: Vec<(u64, mpsc::Sender<Arc<str>>)>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(serve(args))
}

async fn serve(args: Args) -> anyhow::Result<()> {
    let relay =
        Arc::new(Relay { next: AtomicU64::new(1), topics: Mutex::default(), queue: args.queue.max(16) });
    let app = Router::new()
        .route("/readyz", get(|| async { "ok" }))
        .route(
            "/api/v1/auth/login",
            post(|| {
                answer(
                    StatusCode::OK,
                    json!({
                        "token": "relay", "workspaces": [{"workspace": {"id": "relay"}}]
                    }),
                )
            }),
        )
        .route("/api/v1/realtime/token", get(|| answer(StatusCode::OK, json!({"token": "relay"}))))
        .route("/api/v1/channels", post(|| answer(StatusCode::CREATED, json!({"id": "relay"}))))
        .route("/api/v1/api-keys", post(|| answer(StatusCode::CREATED, json!({"secret": "relay"}))))
        .route(
            "/api/v1/users/{external}",
            put(|Path(external): Path<String>| answer(StatusCode::CREATED, json!({"user_id": external}))),
        )
        .route(
            "/api/v1/users/{external}/token",
            post(|Path(external): Path<String>| answer(StatusCode::CREATED, json!({"token": external}))),
        )
        .route("/api/v1/conversations", post(new_room))
        .route("/api/v1/conversations/{room}/members", post(|| answer(StatusCode::OK, json!({}))))
        .route("/connection/websocket", get(upgrade))
        .with_state(relay);
    let listener = tokio::net::TcpListener::bind(args.addr).await?;
    println!("switchboard-relay is listening on http://{}", listener.local_addr()?);
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await?;
    Ok(())
}

async fn answer(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

async fn new_room(State(relay): State<Arc<Relay>>) -> Response {
    let n = relay.next.fetch_add(1, Ordering::Relaxed);
    answer(StatusCode::CREATED, json!({"id": format!("room-{n}")})).await
}

async fn upgrade(ws: WebSocketUpgrade, State(relay): State<Arc<Relay>>) -> Response {
    ws.read_buffer_size(1024).write_buffer_size(0).on_upgrade(move |socket| connection(socket, relay))
}

/// One connection: reads commands and writes what is queued for it, in one task.
async fn connection(mut socket: WebSocket, relay: Arc<Relay>) {
    let id = relay.next.fetch_add(1, Ordering::Relaxed);
    let (tx, mut rx) = mpsc::channel::<Arc<str>>(relay.queue);
    let mut joined: Vec<String> = Vec::new();
    let mut out = String::new();
    loop {
        tokio::select! {
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    for line in text.split('\n').filter(|l| !l.trim().is_empty()) {
                        if let Some(reply) = relay.command(line, id, &tx, &mut joined) {
                            push(&mut out, &reply);
                        }
                    }
                }
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
            frame = rx.recv() => {
                let Some(frame) = frame else { break };
                push(&mut out, &frame);
                while out.len() < BATCH_BYTES {
                    match rx.try_recv() {
                        Ok(frame) => push(&mut out, &frame),
                        Err(_) => break,
                    }
                }
            }
        }
        if !out.is_empty() && socket.send(Message::Text(std::mem::take(&mut out).into())).await.is_err() {
            break;
        }
    }
    relay.leave(id, &joined);
}

fn push(out: &mut String, frame: &str) {
    if !out.is_empty() {
        out.push('\n');
    }
    out.push_str(frame);
}

impl Relay {
    /// Answers one command line; `None` for what needs no reply (a pong) or cannot be read.
    fn command(
        &self,
        line: &str,
        conn: u64,
        tx: &mpsc::Sender<Arc<str>>,
        joined: &mut Vec<String>,
    ) -> Option<String> {
        let command: Value = serde_json::from_str(line).ok()?;
        let id = command.get("id")?.as_u64()?;
        let (kind, body) = if command.get("connect").is_some() {
            ("connect", json!({"client": format!("c{conn}"), "version": "relay"}))
        } else if let Some(subscribe) = command.get("subscribe") {
            let channel = subscribe["channel"].as_str()?.to_owned();
            let mut topics = self.topics.lock().unwrap_or_else(|e| e.into_inner());
            let topic = topics.entry(channel.clone()).or_default();
            topic.subscribers.push((conn, tx.clone()));
            let mut result = json!({"epoch": "relay", "offset": topic.offset});
            if subscribe["recover"] == true {
                result["recovered"] = json!(false);
            }
            joined.push(channel);
            ("subscribe", result)
        } else if let Some(rpc) = command.get("rpc") {
            if rpc["method"] != "send_message" {
                ("error", json!({"code": 108, "message": "not available"}))
            } else {
                let room = rpc["data"]["conversation_id"].as_str()?;
                let text = rpc["data"]["text"].as_str()?;
                ("rpc", json!({"data": {"message": self.publish(conn, room, text)}}))
            }
        } else {
            ("error", json!({"code": 108, "message": "not available"}))
        };
        // The id first, as the server writes it (serde_json would sort the keys).
        Some(format!("{{\"id\":{id},\"{kind}\":{body}}}"))
    }

    /// Pushes a message to the room's subscribers with the room's next offset; answers the
    /// message.
    fn publish(&self, conn: u64, room: &str, text: &str) -> Value {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let at = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        let message = json!({
            "id": format!("m{n}"), "conversation_id": room, "sender": format!("c{conn}"),
            "text": text, "status": "sent", "created_at": at,
        });
        let channel = format!("conversation:{room}");
        let mut topics = self.topics.lock().unwrap_or_else(|e| e.into_inner());
        let topic = topics.entry(channel.clone()).or_default();
        topic.offset += 1;
        let frame: Arc<str> = json!({"push": {"channel": channel, "pub": {
            "data": {"type": "message.created", "payload": &message}, "offset": topic.offset,
        }}})
        .to_string()
        .into();
        topic.subscribers.retain(|(_, queue)| queue.try_send(frame.clone()).is_ok());
        message
    }

    fn leave(&self, conn: u64, joined: &[String]) {
        let mut topics = self.topics.lock().unwrap_or_else(|e| e.into_inner());
        for channel in joined {
            if let Some(topic) = topics.get_mut(channel) {
                topic.subscribers.retain(|(id, _)| *id != conn);
            }
        }
    }
}
