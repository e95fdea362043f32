//! A Centrifugo-protocol client over a real WebSocket, for the realtime tests.

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u32,
    /// Pushes (and pings) read while waiting for a reply.
    pending: VecDeque<Value>,
    /// Answer the server's pings (on by default).
    pub answer_pings: bool,
}

/// How the server closed the socket.
#[derive(Debug, PartialEq, Eq)]
pub struct Closed {
    pub code: u16,
    pub reason: String,
}

const WAIT: Duration = Duration::from_secs(10);

impl Client {
    /// Opens a socket (with optional extra headers) without sending anything.
    pub async fn open(addr: std::net::SocketAddr, headers: &[(&str, &str)]) -> Client {
        let mut request = format!("ws://{addr}/connection/websocket").into_client_request().unwrap();
        for (name, value) in headers {
            request
                .headers_mut()
                .insert(axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(), value.parse().unwrap());
        }
        let (ws, _) = tokio_tungstenite::connect_async(request).await.expect("WebSocket handshake");
        Client { ws, next_id: 0, pending: VecDeque::new(), answer_pings: true }
    }

    /// Opens a socket and connects with `token`; panics unless the connect succeeds.
    pub async fn connect(addr: std::net::SocketAddr, token: &str) -> (Client, Value) {
        let mut client = Client::open(addr, &[]).await;
        let reply = client.call(json!({ "connect": { "token": token, "name": "test" } })).await;
        assert!(reply.get("error").is_none(), "connect failed: {reply}");
        (client, reply["connect"].clone())
    }

    /// Sends raw text as one frame.
    pub async fn send_raw(&mut self, text: &str) {
        self.ws.send(Message::Text(text.into())).await.unwrap();
    }

    /// Sends a command (an id is added) and waits for its reply; pushes seen meanwhile are kept.
    pub async fn call(&mut self, mut command: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        command["id"] = json!(id);
        self.send_raw(&command.to_string()).await;
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let frames = tokio::time::timeout_at(deadline, self.read_frames())
                .await
                .unwrap_or_else(|_| panic!("no reply to {command}"))
                .unwrap_or_else(|closed| {
                    panic!("closed ({closed:?}) while waiting for a reply to {command}")
                });
            let mut reply = None;
            for frame in frames {
                if frame["id"] == json!(id) {
                    reply = Some(frame);
                } else {
                    self.pending.push_back(frame);
                }
            }
            if let Some(reply) = reply {
                return reply;
            }
        }
    }

    /// The next push (pings are answered and skipped).
    pub async fn push(&mut self) -> Value {
        self.try_push(WAIT).await.expect("a push")
    }

    /// The next push within `wait`, if any.
    pub async fn try_push(&mut self, wait: Duration) -> Option<Value> {
        if let Some(frame) = self.pending.pop_front() {
            return Some(frame);
        }
        let frame = tokio::time::timeout(wait, self.frame()).await.ok()?;
        Some(frame.unwrap_or_else(|closed| panic!("closed while waiting for a push: {closed:?}")))
    }

    /// The next publication pushed on `channel` (other pushes on the way are dropped).
    pub async fn publication(&mut self, channel: &str) -> Value {
        loop {
            let push = self.push().await;
            if push["push"]["channel"] == channel && push["push"].get("pub").is_some() {
                return push["push"]["pub"].clone();
            }
        }
    }

    /// Reads until the server closes the socket; answers the close.
    pub async fn closed(&mut self) -> Closed {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            match tokio::time::timeout_at(deadline, self.frame()).await.expect("the server to close") {
                Ok(_) => continue,
                Err(closed) => return closed,
            }
        }
    }

    /// The next JSON object from the server, or how it closed.
    async fn frame(&mut self) -> Result<Value, Closed> {
        loop {
            if let Some(frame) = self.pending.pop_front() {
                return Ok(frame);
            }
            let frames = self.read_frames().await?;
            self.pending.extend(frames);
        }
    }

    /// The JSON objects of the next message off the socket (pings answered and left out; may
    /// be empty).
    async fn read_frames(&mut self) -> Result<Vec<Value>, Closed> {
        let message = match self.ws.next().await {
            Some(Ok(message)) => message,
            Some(Err(e)) => return Err(Closed { code: 1006, reason: e.to_string() }),
            None => return Err(Closed { code: 1006, reason: "eof".into() }),
        };
        let mut out = Vec::new();
        match message {
            Message::Text(text) => {
                for line in text.split('\n').filter(|l| !l.is_empty()) {
                    let value: Value = serde_json::from_str(line).expect("server frames are JSON");
                    if value.as_object().is_some_and(|o| o.is_empty()) {
                        if self.answer_pings {
                            self.ws.send(Message::Text("{}".into())).await.unwrap();
                        }
                        continue;
                    }
                    out.push(value);
                }
            }
            Message::Close(frame) => {
                let (code, reason) =
                    frame.map_or((1005, String::new()), |f| (u16::from(f.code), f.reason.to_string()));
                return Err(Closed { code, reason });
            }
            _ => {}
        }
        Ok(out)
    }

    /// Waits for the reply with `id`, or answers how the server closed the socket first.
    pub async fn until_reply(&mut self, id: u32) -> Result<Value, Closed> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.frame()).await.expect("a reply or a close")?;
            if frame["id"] == json!(id) {
                return Ok(frame);
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}
