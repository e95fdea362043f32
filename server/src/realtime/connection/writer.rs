//! The writing half of a connection: the outgoing queue (replies, and publications shared
//! with every other subscriber) batched into WebSocket messages of up to 64 KiB. Per topic it
//! writes log events in offset order without duplicates: publications that arrive early wait,
//! and a gap that stays open past `gap_wait` is read from the log. It also pings, closes a
//! connection whose credentials expired or that stopped answering pings, and on a kill (a slow
//! consumer, ended access, shutdown) flushes and sends the close frame that says why.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use bytes::Bytes;
use futures_util::SinkExt;
use futures_util::stream::SplitSink;
use tokio::time::Instant;

use super::super::hub::{Activation, Kill, Out};
use super::super::protocol::{self, Disconnect};
use super::super::queue;
use super::{Gateway, handshake};

/// Where a subscription stands in its topic, on the writer's side.
struct SubState {
    /// The last offset written; `None` while the subscribe is under way.
    last: Option<i64>,
    /// Publications that came early (out of order, or before the subscribe reply).
    ahead: BTreeMap<i64, Bytes>,
    /// Since when a gap has been open.
    gap_since: Option<Instant>,
}

/// Most publications a subscription may hold while waiting for a gap to close.
const MAX_AHEAD: usize = 4096;

/// The writing half.
pub(super) struct Writer {
    sink: SplitSink<WebSocket, Message>,
    rx: queue::Receiver<Out>,
    kill: Arc<Kill>,
    /// For the log reads that fill gaps.
    gateway: Gateway,
    /// From the realtime config: only these two, not a copy of it all.
    ping_interval: Duration,
    gap_wait: Duration,
    /// Whether the client answered the last ping.
    pong: Arc<AtomicBool>,
    /// When the connection's credentials expire (Unix seconds); moved on by `refresh`.
    expires_at: Arc<AtomicI64>,
    subs: HashMap<Arc<str>, SubState>,
    /// The frames of the batch being built, newline-separated.
    buf: Vec<u8>,
}

/// How long one write may wait for the peer to read.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest batch of frames written as one WebSocket message.
const BATCH_BYTES: usize = 64 * 1024;

impl Writer {
    pub fn new(
        sink: SplitSink<WebSocket, Message>,
        rx: queue::Receiver<Out>,
        kill: Arc<Kill>,
        gateway: Gateway,
        pong: Arc<AtomicBool>,
        expires_at: Arc<AtomicI64>,
    ) -> Self {
        let (ping_interval, gap_wait) = (gateway.config().ping_interval, gateway.config().gap_wait);
        let subs = HashMap::new();
        Self { sink, rx, kill, gateway, ping_interval, gap_wait, pong, expires_at, subs, buf: Vec::new() }
    }

    /// Writes until the queue closes, the socket fails or the connection is killed (then the
    /// close frame says why).
    pub async fn run(mut self) {
        let mut ping = tokio::time::interval_at(Instant::now() + self.ping_interval, self.ping_interval);
        let kill = self.kill.clone();
        loop {
            let gap_deadline = self.gap_deadline();
            tokio::select! {
                biased;
                reason = kill.fired() => {
                    self.flush().await;
                    let _ = self.sink.send(handshake::close_frame(reason)).await;
                    return;
                }
                item = self.rx.recv() => {
                    let Some(item) = item else { return };
                    self.handle(item);
                    while self.buf.len() < BATCH_BYTES {
                        match self.rx.try_recv() {
                            Some(item) => self.handle(item),
                            None => break,
                        }
                    }
                    if !self.flush().await {
                        return;
                    }
                }
                _ = ping.tick() => {
                    if switchboard::time::now().timestamp() >= self.expires_at.load(Ordering::Acquire) {
                        self.kill.fire(Disconnect::EXPIRED);
                        continue;
                    }
                    if !self.pong.swap(false, Ordering::AcqRel) {
                        self.kill.fire(Disconnect::NO_PONG);
                        continue;
                    }
                    self.push(protocol::PING);
                    if !self.flush().await {
                        return;
                    }
                }
                () = sleep_until(gap_deadline) => {
                    // Boxed: a read of the log is a large future, and rare; a waiting writer
                    // should not carry its state.
                    if let Err(e) = Box::pin(self.fill_gaps()).await {
                        tracing::warn!(error = %e, "cannot read a publication gap from the log");
                        self.kill.fire(Disconnect::SERVER_ERROR);
                    } else if !self.flush().await {
                        return;
                    }
                }
            }
        }
    }

    fn handle(&mut self, item: Out) {
        match item {
            Out::Frame(frame) => self.push(frame.as_bytes()),
            Out::Pending(topic) => {
                self.subs.insert(topic, SubState { last: None, ahead: BTreeMap::new(), gap_since: None });
            }
            Out::Activate(activation) => {
                let Activation { topic, last, reply } = *activation;
                self.push(&reply);
                if let Some(mut sub) = self.subs.remove(&topic) {
                    sub.last = Some(last);
                    self.drain(&mut sub);
                    self.subs.insert(topic, sub);
                }
            }
            Out::Deactivate(topic) => {
                self.subs.remove(&topic);
            }
            Out::Pub(publication) => {
                // Borrowed in place: this runs once per delivery.
                let Some(sub) = self.subs.get_mut(&publication.topic) else { return };
                let buf = &mut self.buf;
                match (publication.offset, sub.last) {
                    (None, Some(_)) => push(buf, &publication.frame),
                    (None, None) => {}
                    (Some(offset), Some(last)) if offset == last + 1 && sub.ahead.is_empty() => {
                        push(buf, &publication.frame);
                        sub.last = Some(offset);
                    }
                    (Some(offset), last) => {
                        if last.is_some_and(|last| offset <= last) {
                            // Already written (recovered, or a duplicate).
                        } else if sub.ahead.len() >= MAX_AHEAD {
                            self.kill.fire(Disconnect::SLOW);
                        } else {
                            sub.ahead.insert(offset, publication.frame.clone());
                            if last.is_some() {
                                drain(buf, sub);
                            }
                        }
                    }
                }
            }
        }
    }

    /// Writes the publications that now follow on, and notes whether a gap is left.
    fn drain(&mut self, sub: &mut SubState) {
        drain(&mut self.buf, sub);
    }

    fn push(&mut self, frame: &[u8]) {
        push(&mut self.buf, frame);
    }

    fn gap_deadline(&self) -> Option<Instant> {
        self.subs.values().filter_map(|s| s.gap_since).min().map(|since| since + self.gap_wait)
    }

    /// Reads the publications a gap is missing from the log (they were committed, since a
    /// later one was, but their publish was lost or is late).
    async fn fill_gaps(&mut self) -> Result<(), switchboard::StoreError> {
        let now = Instant::now();
        let due: Vec<Arc<str>> = self
            .subs
            .iter()
            .filter(|(_, s)| s.gap_since.is_some_and(|since| since + self.gap_wait <= now))
            .map(|(t, _)| t.clone())
            .collect();
        for topic in due {
            let Some(mut sub) = self.subs.remove(&topic) else { continue };
            if let (Some(last), Some((&next, _))) = (sub.last, sub.ahead.first_key_value()) {
                let missing = (next - last - 1).max(0) as u32;
                let named = topic.parse().map_err(|e: switchboard::topic::UnknownTopic| {
                    switchboard::StoreError::Internal(e.to_string())
                })?;
                let events = self.gateway.events_after(named, last, missing).await?;
                for event in &events {
                    sub.ahead.insert(event.offset, Bytes::from(protocol::event_push(event)));
                }
                sub.gap_since = None;
                self.drain(&mut sub);
            }
            self.subs.insert(topic, sub);
        }
        Ok(())
    }

    /// Sends what is buffered as one message; false if the socket is gone.
    async fn flush(&mut self) -> bool {
        if self.buf.is_empty() {
            return true;
        }
        let body = std::mem::take(&mut self.buf);
        let body = match String::from_utf8(body) {
            Ok(body) => body,
            Err(_) => {
                tracing::error!("a realtime frame was not UTF-8");
                return false;
            }
        };
        // A peer that stops reading for this long is gone (its queue filled long ago).
        let sent = tokio::time::timeout(WRITE_TIMEOUT, self.sink.send(Message::Text(body.into()))).await;
        if !matches!(sent, Ok(Ok(()))) {
            self.kill.fire(Disconnect::WRITE_ERROR);
            return false;
        }
        true
    }
}

/// Appends a frame to a batch (frames are newline-separated).
fn push(buf: &mut Vec<u8>, frame: &[u8]) {
    if !buf.is_empty() {
        buf.push(b'\n');
    }
    buf.extend_from_slice(frame);
}

/// Writes the publications that now follow on, and notes whether a gap is left.
fn drain(buf: &mut Vec<u8>, sub: &mut SubState) {
    let Some(mut last) = sub.last else { return };
    while let Some(entry) = sub.ahead.first_entry() {
        let offset = *entry.key();
        if offset <= last {
            entry.remove();
        } else if offset == last + 1 {
            let frame = entry.remove();
            push(buf, &frame);
            last = offset;
        } else {
            break;
        }
    }
    sub.last = Some(last);
    sub.gap_since = if sub.ahead.is_empty() { None } else { sub.gap_since.or(Some(Instant::now())) };
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
