//! The listening side: a socket connected and subscribed (recovering by offset after a drop),
//! what it received, and the churn that drops it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message as Ws;

use crate::now_us;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Where a subscription stands in its topic's log.
#[derive(Clone, Debug, Default)]
pub struct Position {
    pub epoch: String,
    pub offset: i64,
}

/// Opens a socket, connects and subscribes to the listener's channel (recovering from
/// `from`, when given).
pub async fn open(listener: &Listener, from: Option<&Position>) -> anyhow::Result<Opened> {
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(
        format!("ws://{}/connection/websocket", listener.addr),
        None,
        true,
    )
    .await?;
    let connect = json!({"id": 1, "connect": {"token": listener.token, "name": "bench"}}).to_string();
    let mut subscribe = json!({"channel": listener.channel});
    if let Some(position) = from {
        subscribe["recover"] = json!(true);
        subscribe["epoch"] = json!(position.epoch);
        subscribe["offset"] = json!(position.offset);
    }
    let subscribe = json!({"id": 2, "subscribe": subscribe}).to_string();
    ws.send(Ws::Text(format!("{connect}\n{subscribe}").into())).await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut replies = 0;
    let mut reply = Value::Null;
    let mut early = Vec::new();
    while replies < 2 {
        let left = deadline.saturating_duration_since(Instant::now());
        let Some(message) = tokio::time::timeout(left, ws.next()).await.context("connect timed out")? else {
            bail!("closed during connect");
        };
        if let Ws::Text(text) = message? {
            for line in text.split('\n') {
                if line.starts_with("{\"id\":") {
                    if line.contains("\"error\"") {
                        bail!("refused: {line}");
                    }
                    if line.starts_with("{\"id\":2,") {
                        reply = serde_json::from_str(line)?;
                    }
                    replies += 1;
                } else if !line.is_empty() && line != "{}" {
                    // Publications held during the subscribe follow its reply at once, often in
                    // the same frame: they are deliveries like any other.
                    early.push(line.to_owned());
                }
            }
        }
    }
    Ok(Opened { ws, reply, early })
}

/// A socket just connected and subscribed: the subscribe reply, and the pushes that came with
/// or right after it.
pub struct Opened {
    pub ws: Socket,
    pub reply: Value,
    pub early: Vec<String>,
}

/// What one listener saw.
#[derive(Default)]
pub struct Seen {
    /// Send→deliver latencies, µs.
    pub latencies: Vec<u32>,
    /// Message sequence numbers received (for losses and duplicates).
    pub seqs: HashMap<u64, u32>,
    /// Churn: sockets dropped and opened again…
    pub reconnects: u64,
    /// …the time from the drop to the recovering subscribe's reply, µs…
    pub recoveries: Vec<u32>,
    /// …and the replies that said the missed publications could not all be recovered.
    pub recovery_failures: u64,
}

impl Seen {
    /// Records bench messages (sequence, sent at µs) received at `now` µs.
    fn record(&mut self, now: u64, stamps: Vec<(u64, u64)>) {
        for (seq, sent) in stamps {
            self.latencies.push(now.saturating_sub(sent).min(u32::MAX as u64) as u32);
            *self.seqs.entry(seq).or_default() += 1;
        }
    }
}

/// Reads `"text":"bench <seq> <sent_us>"` out of a `message.created` publication without a
/// full JSON parse (the generator must keep up with the server).
pub fn bench_stamp(line: &str) -> Option<(u64, u64)> {
    if !line.contains("\"type\":\"message.created\"") {
        return None;
    }
    let at = line.find("\"text\":\"bench ")? + "\"text\":\"bench ".len();
    let mut parts = line[at..].split([' ', '"']);
    let seq = parts.next()?.parse().ok()?;
    let sent = parts.next()?.parse().ok()?;
    Some((seq, sent))
}

/// The offset of a publication pushed on a subscription (`"offset":N` closes the `pub`).
fn push_offset(line: &str) -> Option<i64> {
    if !line.starts_with("{\"push\"") || !line.contains("\"pub\":") {
        return None;
    }
    let at = line.rfind("\"offset\":")? + "\"offset\":".len();
    let digits: String = line[at..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The bench stamps of the publications a subscribe reply recovered.
fn recovered_stamps(reply: &Value) -> Vec<(u64, u64)> {
    let publications = reply["subscribe"]["publications"].as_array().map(Vec::as_slice).unwrap_or_default();
    publications
        .iter()
        .filter(|p| p["data"]["type"] == "message.created")
        .filter_map(|p| {
            let text = p["data"]["payload"]["text"].as_str()?.strip_prefix("bench ")?;
            let mut parts = text.split(' ');
            Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
        })
        .collect()
}

/// One listening connection: where it connects, as whom, to what.
#[derive(Clone)]
pub struct Listener {
    pub addr: SocketAddr,
    pub token: String,
    pub channel: String,
    /// Mean seconds between drops (churn), if any.
    pub churn: Option<f64>,
}

/// Takes in lines a listener received: notes their offsets and the bench messages among them.
/// Answers whether a ping asks for a pong.
async fn absorb<'a>(
    lines: impl Iterator<Item = &'a str>,
    position: &mut Position,
    seen: &Mutex<Seen>,
) -> bool {
    let now = now_us();
    let mut pong = false;
    let mut got = Vec::new();
    for line in lines {
        if line == "{}" {
            pong = true;
            continue;
        }
        if let Some(offset) = push_offset(line) {
            position.offset = position.offset.max(offset);
        }
        if let Some(stamp) = bench_stamp(line) {
            got.push(stamp);
        }
    }
    if !got.is_empty() {
        seen.lock().await.record(now, got);
    }
    pong
}

/// A listener: answers pings, records every bench message it gets; under churn, drops its
/// socket now and then and resubscribes from the last offset it saw, counting what the
/// recovery brings back like any other delivery.
pub async fn listen(
    listener: Listener,
    opened: Opened,
    seen: Arc<Mutex<Seen>>,
    stop: Arc<tokio::sync::Notify>,
) {
    let mut position = Position {
        epoch: opened.reply["subscribe"]["epoch"].as_str().unwrap_or_default().to_owned(),
        offset: opened.reply["subscribe"]["offset"].as_i64().unwrap_or(0),
    };
    let mut ws = opened.ws;
    absorb(opened.early.iter().map(String::as_str), &mut position, &seen).await;
    let next_drop = |churn: f64| {
        tokio::time::Instant::now() + Duration::from_secs_f64(churn * (0.5 + rand::random::<f64>()))
    };
    let mut drop_at = listener.churn.map(next_drop);
    loop {
        let churn_due = async {
            match drop_at {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = stop.notified() => return,
            () = churn_due => {
                let _ = ws.close(None).await;
                let began = Instant::now();
                let reopened = open(&listener, Some(&position)).await;
                let elapsed = began.elapsed().as_micros().min(u32::MAX as u128) as u32;
                let reopened = match reopened {
                    Ok(reopened) => reopened,
                    Err(e) => {
                        eprintln!("a reconnect failed: {e:#}");
                        return;
                    }
                };
                {
                    let mut seen = seen.lock().await;
                    seen.reconnects += 1;
                    seen.recoveries.push(elapsed);
                    if reopened.reply["subscribe"]["recovered"] != true {
                        seen.recovery_failures += 1;
                    }
                    seen.record(now_us(), recovered_stamps(&reopened.reply));
                }
                let top = reopened.reply["subscribe"]["offset"].as_i64().unwrap_or(0);
                position.offset = position.offset.max(top);
                absorb(reopened.early.iter().map(String::as_str), &mut position, &seen).await;
                ws = reopened.ws;
                drop_at = listener.churn.map(next_drop);
            }
            message = ws.next() => {
                let Some(Ok(message)) = message else { return };
                let Ws::Text(text) = message else { continue };
                if absorb(text.split('\n'), &mut position, &seen).await && ws.send(Ws::Text("{}".into())).await.is_err() {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_read_from_message_created_publications_only() {
        let created = r#"{"push":{"channel":"conversation:x","pub":{"data":{"type":"message.created","payload":{"text":"bench 42 1700000000000000","id":"m"}},"offset":3}}}"#;
        assert_eq!(bench_stamp(created), Some((42, 1_700_000_000_000_000)));
        let status = created.replace("message.created", "message.status");
        assert_eq!(bench_stamp(&status), None);
        let other = created.replace("bench 42", "hello 42");
        assert_eq!(bench_stamp(&other), None);
    }

    #[test]
    fn offsets_come_from_pushed_publications_and_recovered_stamps_from_the_reply() {
        let push = r#"{"push":{"channel":"conversation:x","pub":{"data":{"type":"message.created","payload":{"text":"bench 7 1"}},"offset":1234}}}"#;
        assert_eq!(push_offset(push), Some(1234));
        assert_eq!(push_offset(r#"{"id":2,"subscribe":{"offset":9}}"#), None);
        assert_eq!(push_offset(r#"{"push":{"channel":"inbox:x","join":{"info":{}}}}"#), None);
        let reply = json!({"id": 2, "subscribe": {"recovered": true, "offset": 12, "publications": [
            {"data": {"type": "message.created", "payload": {"text": "bench 5 100"}}, "offset": 10},
            {"data": {"type": "conversation.updated", "payload": {"text": "bench 6 200"}}, "offset": 11},
            {"data": {"type": "message.created", "payload": {"text": "hello"}}, "offset": 12},
        ]}});
        assert_eq!(recovered_stamps(&reply), vec![(5, 100)]);
    }
}
