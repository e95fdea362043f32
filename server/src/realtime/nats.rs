//! Fan-out between nodes over NATS, without losing a committed event.
//!
//! Each node publishes what its bus carries on one subject and applies what the other nodes
//! publish there. Two tasks do the publishing:
//!
//! - the **forwarder** takes bus messages from a bounded queue, in batches, and publishes each
//!   batch as one NATS message. It never blocks a write: when the queue is full, a committed
//!   event is not dropped but noted as *missed* (its topic and offset);
//! - the **relay** reads every missed event back from the event log, by topic and offset, and
//!   publishes it (with whatever followed it on that topic). A batch the forwarder held when it
//!   died, or that NATS refused, is noted as missed too, so a crash of the forwarder loses
//!   nothing either: it is restarted (supervised) and the relay fills in.
//!
//! Receivers may see an event twice (once forwarded, once relayed): each connection keeps its
//! topics in offset order and drops what it already has, so a duplicate is harmless.
//! Messages that are not stored (typing, presence) are sent at most once, like Centrifugo's;
//! "access ended" messages wait for room in the queue instead of being dropped.
//!
//! A crash of the whole process between a commit and its publication leaves the other nodes
//! without that event until the topic's next one (each connection reads a gap from the log) or
//! until their clients reconnect and recover; `docs/realtime.md` says so.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use switchboard::{Store, Topic};
use tokio::sync::{Notify, mpsc, watch};

use super::bus::Bus;
use super::hub::BusMessage;

/// The NATS subject the nodes of a cluster publish their bus messages on, by default.
pub const NATS_SUBJECT: &str = "switchboard.bus";

/// How the link to the other nodes behaves.
#[derive(Clone, Debug)]
pub struct NatsOptions {
    /// The subject the cluster's nodes share (clusters sharing one NATS each take their own).
    pub subject: String,
    /// Bus messages waiting for the forwarder; past it, events go to the relay.
    pub queue: usize,
    /// Most bus messages in one NATS message.
    pub batch: usize,
    /// Most events the relay reads from the log at once.
    pub relay_page: u32,
}

impl Default for NatsOptions {
    fn default() -> Self {
        Self { subject: NATS_SUBJECT.to_owned(), queue: 64 * 1024, batch: 256, relay_page: 500 }
    }
}

/// What one NATS message carries: a node's bus messages, in order.
#[derive(Serialize)]
struct Envelope {
    node: String,
    messages: Vec<BusMessage>,
}

/// An [`Envelope`] as it is read: each message is parsed on its own, so one that this node
/// cannot read (a bug, or a newer node's kind) costs that message, not the batch around it.
#[derive(Deserialize)]
struct Received<'a> {
    #[serde(borrow)]
    node: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    messages: Vec<&'a serde_json::value::RawValue>,
}

/// Applies what another node published to `bus`'s hub (its own messages come back too, and are
/// skipped). Answers how many messages it could not read.
fn receive(bus: &Bus, payload: &[u8]) -> usize {
    let received = match serde_json::from_slice::<Received>(payload) {
        Ok(received) => received,
        Err(e) => {
            tracing::warn!(error = %e, "ignoring a malformed bus message");
            return 1;
        }
    };
    if received.node == bus.node() {
        return 0;
    }
    let mut unreadable = 0;
    for raw in received.messages {
        match serde_json::from_str::<BusMessage>(raw.get()) {
            // One message that trips a bug must not end this node's fan-out.
            Ok(message) => {
                let applied =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| bus.hub().apply(&message)));
                if applied.is_err() {
                    tracing::error!("applying a bus message from another node panicked; skipped");
                }
            }
            Err(e) => {
                unreadable += 1;
                tracing::warn!(error = %e, "ignoring a bus message this node cannot read");
            }
        }
    }
    unreadable
}

/// The forwarder and the relay of one node.
pub struct Link {
    node: String,
    options: NatsOptions,
    client: async_nats::Client,
    store: Arc<dyn Store>,
    queue: mpsc::Sender<BusMessage>,
    /// The queue's other end, held by the running forwarder (a restarted one takes it over).
    receiver: tokio::sync::Mutex<mpsc::Receiver<BusMessage>>,
    /// The batch the forwarder is publishing: if it dies holding it, the relay gets it.
    in_flight: Mutex<Vec<BusMessage>>,
    /// Topics with events not forwarded, each with the lowest such offset.
    missed: Mutex<HashMap<Topic, i64>>,
    wake_relay: Notify,
    /// Events the relay republished from the log.
    relayed: AtomicU64,
    /// Test hooks: hold the forwarder before it publishes, or make it die holding a batch.
    hold: watch::Sender<bool>,
    crash: AtomicBool,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link").field("node", &self.node).finish_non_exhaustive()
    }
}

/// Joins the NATS cluster at `url`: `bus` then forwards this node's messages and applies the
/// other nodes'; missed events are read back from `store`'s log. Fails if NATS cannot be
/// reached now (it reconnects by itself later).
pub async fn connect(
    bus: &Arc<Bus>,
    store: Arc<dyn Store>,
    url: &str,
    options: NatsOptions,
) -> anyhow::Result<Arc<Link>> {
    use futures_util::StreamExt;
    let (link_events, heard) = mpsc::unbounded_channel();
    let client = async_nats::ConnectOptions::new()
        .name(format!("switchboard-{}", bus.node()))
        .event_callback(move |event| {
            let _ = link_events.send(event);
            std::future::ready(())
        })
        .connect(url)
        .await
        .map_err(|e| anyhow::anyhow!("cannot connect to NATS at {url}: {e}"))?;
    let mut subscription = client
        .subscribe(options.subject.clone())
        .await
        .map_err(|e| anyhow::anyhow!("cannot subscribe to NATS: {e}"))?;
    client.flush().await.map_err(|e| anyhow::anyhow!("cannot reach NATS: {e}"))?;
    let (queue, receiver) = mpsc::channel(options.queue.max(1));
    let link = Arc::new(Link {
        node: bus.node().to_owned(),
        options,
        client,
        store,
        queue,
        receiver: tokio::sync::Mutex::new(receiver),
        in_flight: Mutex::new(Vec::new()),
        missed: Mutex::new(HashMap::new()),
        wake_relay: Notify::new(),
        relayed: AtomicU64::new(0),
        hold: watch::Sender::new(false),
        crash: AtomicBool::new(false),
    });
    bus.set_nats(link.clone())?;

    let forwarder = link.clone();
    crate::supervise::spawn("nats_forwarder", move || forwarder.clone().run_forwarder());
    let relay = link.clone();
    crate::supervise::spawn("nats_relay", move || relay.clone().run_relay());

    let client = link.client.clone();
    let confirm = move || {
        let client = client.clone();
        async move {
            if let Err(e) = client.flush().await {
                tracing::warn!(error = %e, "cannot confirm the NATS subscription after a reconnect");
            }
        }
    };
    let node = Arc::downgrade(bus);
    let lost_track = move || {
        if let Some(bus) = node.upgrade() {
            let closed = bus.hub().lost_track();
            crate::metrics::metrics().link_resyncs.inc();
            tracing::warn!(
                closed,
                "may have missed messages of the other nodes; closed this node's connections to read their access again"
            );
        }
    };
    tokio::spawn(watch_connection(heard, confirm, lost_track));
    let me = Arc::downgrade(bus);
    tokio::spawn(async move {
        while let Some(message) = subscription.next().await {
            let Some(bus) = me.upgrade() else { break };
            receive(&bus, &message.payload);
        }
    });
    tracing::info!(url = %crate::store::redact_url(url), "realtime fan-out over NATS");
    Ok(link)
}

/// Core NATS delivers at most once: what was published while this node's connection was down,
/// or what NATS dropped because this node's subscription fell behind, never arrives. Events
/// are safe (each connection reads a gap from the log), but a lost termination would leave a
/// connection open whose access ended. So once messages reach this node again (the connection
/// is back and its subscription renewed, which `confirm` checks), `lost_track` closes every
/// local connection to have its access read again (see [`super::hub::Hub::lost_track`]).
///
/// A slow consumer is reported once per dropped message: a burst settles first and is acted on
/// once, and two such resyncs are at least [`RESYNC_SPACING`] apart, so a node that keeps
/// falling behind does not close its clients again while they reconnect.
async fn watch_connection<C, F>(
    mut heard: mpsc::UnboundedReceiver<async_nats::Event>,
    confirm: C,
    lost_track: impl Fn(),
) where
    C: Fn() -> F,
    F: std::future::Future<Output = ()>,
{
    use async_nats::Event;
    let mut dropped = false;
    let mut last: Option<tokio::time::Instant> = None;
    while let Some(event) = heard.recv().await {
        let lost = match event {
            Event::Disconnected => {
                tracing::warn!("lost the connection to NATS; reconnecting");
                dropped = true;
                false
            }
            // The first connect is announced too: only a connection that comes back lost track.
            Event::Connected => std::mem::take(&mut dropped),
            Event::SlowConsumer(_) => true,
            _ => false,
        };
        if !lost {
            continue;
        }
        let wait =
            last.map_or(RESYNC_SETTLE, |at| RESYNC_SETTLE.max(RESYNC_SPACING.saturating_sub(at.elapsed())));
        tokio::time::sleep(wait).await;
        while let Ok(more) = heard.try_recv() {
            match more {
                Event::Disconnected => dropped = true,
                Event::Connected => dropped = false,
                _ => {}
            }
        }
        if dropped {
            // Gone again: its return acts.
            continue;
        }
        // The renewed subscription was queued before the reconnect was announced; NATS answers
        // a flush after it, so from then on what the other nodes publish reaches this node.
        confirm().await;
        lost_track();
        last = Some(tokio::time::Instant::now());
    }
}

/// How long a burst of lost-message reports settles before the node acts on it.
const RESYNC_SETTLE: Duration = Duration::from_millis(250);
/// The least time between two resyncs of a node.
const RESYNC_SPACING: Duration = Duration::from_secs(5);

impl Link {
    /// Whether this node's connection to NATS is up.
    pub fn connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }

    /// Queues a message for the other nodes. Never blocks: a committed event that finds the
    /// queue full goes to the relay instead.
    pub(super) fn forward(&self, message: BusMessage) {
        match self.queue.try_send(message) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(message) | mpsc::error::TrySendError::Closed(message)) => {
                self.miss(message)
            }
        }
    }

    /// What to do with a message that could not be forwarded.
    fn miss(&self, message: BusMessage) {
        match message {
            BusMessage::Event { event } => {
                let mut missed = self.missed.lock().unwrap_or_else(|e| e.into_inner());
                let lowest = missed.entry(event.topic).or_insert(event.offset);
                *lowest = (*lowest).min(event.offset);
                drop(missed);
                self.wake_relay.notify_one();
            }
            // Ending someone's access must reach every node: wait for room.
            message @ BusMessage::Terminate { .. } => {
                let queue = self.queue.clone();
                tokio::spawn(async move {
                    let _ = queue.send(message).await;
                });
            }
            _ => tracing::warn!("the NATS queue is full; an ephemeral bus message was not forwarded"),
        }
    }

    /// The forwarder: queued messages out to NATS, a batch at a time.
    async fn run_forwarder(self: Arc<Self>) {
        let mut receiver = self.receiver.lock().await;
        // A batch a dead forwarder held goes to the relay.
        let orphaned = std::mem::take(&mut *self.in_flight.lock().unwrap_or_else(|e| e.into_inner()));
        for message in orphaned {
            self.miss(message);
        }
        let mut batch = Vec::with_capacity(self.options.batch);
        let mut hold = self.hold.subscribe();
        loop {
            if receiver.recv_many(&mut batch, self.options.batch.max(1)).await == 0 {
                return;
            }
            self.in_flight.lock().unwrap_or_else(|e| e.into_inner()).clone_from(&batch);
            let _ = hold.wait_for(|held| !held).await;
            if self.crash.swap(false, Ordering::AcqRel) {
                panic!("the NATS forwarder was told to crash (test hook)");
            }
            let messages = std::mem::take(&mut batch);
            if let Err(e) = self.publish(messages).await {
                tracing::warn!(error = %e, "cannot publish to NATS; the relay will resend the events");
                for message in std::mem::take(&mut *self.in_flight.lock().unwrap_or_else(|e| e.into_inner()))
                {
                    self.miss(message);
                }
            }
            self.in_flight.lock().unwrap_or_else(|e| e.into_inner()).clear();
        }
    }

    async fn publish(&self, messages: Vec<BusMessage>) -> anyhow::Result<()> {
        let envelope = Envelope { node: self.node.clone(), messages };
        let bytes = serde_json::to_vec(&envelope)?;
        self.client.publish(self.options.subject.clone(), Bytes::from(bytes)).await?;
        Ok(())
    }

    /// The relay: missed events, read back from the log and published.
    async fn run_relay(self: Arc<Self>) {
        let mut backoff = Duration::from_millis(50);
        loop {
            let missed = std::mem::take(&mut *self.missed.lock().unwrap_or_else(|e| e.into_inner()));
            if missed.is_empty() {
                self.wake_relay.notified().await;
                continue;
            }
            let mut failed = false;
            for (topic, from) in missed {
                if let Err(e) = self.resend(topic, from).await {
                    failed = true;
                    tracing::warn!(error = %e, %topic, "cannot relay missed events yet; retrying");
                }
            }
            if failed {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            } else {
                backoff = Duration::from_millis(50);
            }
        }
    }

    /// Publishes `topic`'s events from offset `from` on, as the log has them now. On failure
    /// the rest is noted as missed again.
    async fn resend(&self, topic: Topic, from: i64) -> anyhow::Result<()> {
        let mut after = from - 1;
        loop {
            let page = match self.store.events_after(topic, after, self.options.relay_page).await {
                Ok(page) => page,
                Err(e) => {
                    self.note_missed(topic, after + 1);
                    return Err(e.into());
                }
            };
            let Some(last) = page.last().map(|e| e.offset) else { return Ok(()) };
            let count = page.len();
            let messages = page.into_iter().map(|event| BusMessage::Event { event }).collect();
            if let Err(e) = self.publish(messages).await {
                self.note_missed(topic, after + 1);
                return Err(e);
            }
            self.relayed.fetch_add(count as u64, Ordering::Relaxed);
            after = last;
            if count < self.options.relay_page as usize {
                return Ok(());
            }
        }
    }

    fn note_missed(&self, topic: Topic, from: i64) {
        let mut missed = self.missed.lock().unwrap_or_else(|e| e.into_inner());
        let lowest = missed.entry(topic).or_insert(from);
        *lowest = (*lowest).min(from);
    }

    /// How many events the relay has republished from the log.
    pub fn relayed(&self) -> u64 {
        self.relayed.load(Ordering::Relaxed)
    }

    /// Whether the forwarder holds a batch it has not published yet.
    pub fn holds_batch(&self) -> bool {
        !self.in_flight.lock().unwrap_or_else(|e| e.into_inner()).is_empty()
    }

    /// Test hook: the forwarder takes its next batch and waits before publishing it.
    #[doc(hidden)]
    pub fn hold_forwarder(&self, held: bool) {
        self.hold.send_replace(held);
    }

    /// Test hook: the forwarder dies (panics) holding its next batch; it is restarted.
    #[doc(hidden)]
    pub fn crash_forwarder(&self) {
        self.crash.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use switchboard::{SessionId, UserId};

    use super::super::hub::{Kill, Target};
    use super::super::protocol::{AccessEnded, ClientInfo, Disconnect};
    use super::*;

    fn envelope(node: &str, messages: Vec<BusMessage>) -> Vec<u8> {
        serde_json::to_vec(&Envelope { node: node.to_owned(), messages }).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_of_lost_messages_is_one_resync_and_resyncs_are_spaced() {
        use async_nats::Event;
        use std::sync::atomic::AtomicUsize;
        let resyncs = Arc::new(AtomicUsize::new(0));
        let (tell, heard) = mpsc::unbounded_channel();
        let counted = resyncs.clone();
        let watcher = tokio::spawn(watch_connection(
            heard,
            || async {},
            move || {
                counted.fetch_add(1, Ordering::SeqCst);
            },
        ));
        let count = || resyncs.load(Ordering::SeqCst);
        // The first connect is no loss.
        tell.send(Event::Connected).unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(count(), 0);
        // A hundred dropped messages: one resync, once the burst settled.
        for sid in 0..100 {
            tell.send(Event::SlowConsumer(sid)).unwrap();
        }
        tokio::time::sleep(RESYNC_SETTLE / 2).await;
        assert_eq!(count(), 0, "not while the burst goes on");
        tokio::time::sleep(RESYNC_SETTLE).await;
        assert_eq!(count(), 1);
        // More right after: held back until the spacing has passed.
        tell.send(Event::SlowConsumer(1)).unwrap();
        tokio::time::sleep(RESYNC_SPACING / 2).await;
        assert_eq!(count(), 1);
        tokio::time::sleep(RESYNC_SPACING).await;
        assert_eq!(count(), 2);
        // A connection that drops and comes back resyncs once it is back, not while it is gone.
        tokio::time::sleep(RESYNC_SPACING).await;
        tell.send(Event::Disconnected).unwrap();
        tokio::time::sleep(RESYNC_SPACING).await;
        assert_eq!(count(), 2);
        tell.send(Event::Connected).unwrap();
        tokio::time::sleep(RESYNC_SETTLE * 2).await;
        assert_eq!(count(), 3);
        drop(tell);
        watcher.await.unwrap();
    }

    #[test]
    fn a_join_and_a_leave_cross_to_another_node() {
        let info = ClientInfo::new("u1".into(), "c1".into(), &serde_json::json!({"name": "Ann \"A\""}));
        let topic = "conversation:x".to_owned();
        let payload = envelope(
            "other",
            vec![
                BusMessage::Join { topic: topic.clone(), info: info.clone() },
                BusMessage::Leave { topic: topic.clone(), info: info.clone() },
            ],
        );
        let received: Received = serde_json::from_slice(&payload).unwrap();
        for raw in received.messages {
            match serde_json::from_str::<BusMessage>(raw.get()).unwrap() {
                BusMessage::Join { info: back, .. } | BusMessage::Leave { info: back, .. } => {
                    assert_eq!(back, info);
                    assert_eq!(back.conn_info.get(), r#"{"name":"Ann \"A\""}"#);
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn a_message_this_node_cannot_read_costs_only_itself() {
        let bus = Bus::new();
        let (user, session) = (UserId(uuid::Uuid::now_v7()), SessionId::new());
        let kill = Arc::new(Kill::default());
        assert!(bus.hub().register(&Arc::from("c1"), user, session, kill.clone(), Instant::now()));
        let terminate = serde_json::to_string(&BusMessage::Terminate {
            target: Target::Session { session },
            why: AccessEnded::SignedOut,
        })
        .unwrap();
        let payload =
            format!(r#"{{"node":"other","messages":[{{"kind":"from_a_newer_node"}},{terminate}]}}"#);
        assert_eq!(receive(&bus, payload.as_bytes()), 1);
        assert_eq!(kill.reason(), Some(Disconnect::SIGNED_OUT), "the sign-out in the same batch was applied");
        // This node's own messages come back from NATS and are skipped.
        let kill = Arc::new(Kill::default());
        assert!(bus.hub().register(&Arc::from("c2"), user, session, kill.clone(), Instant::now()));
        let own = format!(r#"{{"node":"{}","messages":[{terminate}]}}"#, bus.node());
        assert_eq!(receive(&bus, own.as_bytes()), 0);
        assert!(!kill.is_fired());
    }
}
