//! Channel runtimes: each connected channel runs as its own supervised task with its own event
//! stream. A runtime connects through its provider, follows the connection, and when it drops
//! (or the task panics) marks the channel `failed` and reconnects with exponential backoff.
//! Events of one channel never reach another's stream.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use switchboard::provider::{ChannelEvent, EventSink, Provider};
use switchboard::{Channel, ChannelId, ChannelStatus, Store};
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;

use crate::providers::Providers;
use crate::services::inbound::InboundRouter;

/// How runtimes retry.
#[derive(Clone, Copy, Debug)]
pub struct RuntimeConfig {
    /// First wait after a failure; doubles each time.
    pub initial_backoff: Duration,
    /// Longest wait between attempts.
    pub max_backoff: Duration,
    /// Events buffered per subscriber before it lags.
    pub stream_capacity: usize,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            stream_capacity: 1024,
        }
    }
}

/// One event of one channel's stream.
#[derive(Clone, Debug, PartialEq)]
pub struct RuntimeEvent {
    pub channel_id: ChannelId,
    pub event: ChannelEvent,
}

struct Handle {
    task: JoinHandle<()>,
}

/// The registry of running channels.
pub struct Runtimes {
    store: Arc<dyn Store>,
    providers: Providers,
    config: RuntimeConfig,
    running: Mutex<HashMap<ChannelId, Handle>>,
    /// One stream per channel, running or not (auth events flow before the runtime starts).
    streams: Mutex<HashMap<ChannelId, broadcast::Sender<RuntimeEvent>>>,
    /// Where inbound media goes (set once, at start; without it media arrives unavailable).
    media: std::sync::OnceLock<Arc<crate::media::MediaService>>,
}

/// Feeds a provider's events into the runtime: to subscribers, and to the supervisor, which
/// records them in order and watches for a dropped connection.
struct Sink {
    channel_id: ChannelId,
    events: broadcast::Sender<RuntimeEvent>,
    supervisor: mpsc::UnboundedSender<Feed>,
}

/// What the supervisor reads: the provider's events, and barriers it answers once everything
/// before them is recorded.
enum Feed {
    Event(ChannelEvent),
    /// Answered with whether every event since the previous barrier was recorded.
    Barrier(tokio::sync::oneshot::Sender<bool>),
}

impl EventSink for Sink {
    fn emit(&self, event: ChannelEvent) {
        let _ = self.supervisor.send(Feed::Event(event.clone()));
        // No subscriber is not an error: the event is simply not watched.
        let _ = self.events.send(RuntimeEvent { channel_id: self.channel_id, event });
    }

    fn settled(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send>> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let sent = self.supervisor.send(Feed::Barrier(tx)).is_ok();
        Box::pin(async move { sent && rx.await.unwrap_or(false) })
    }

    fn is_closed(&self) -> bool {
        self.supervisor.is_closed()
    }
}

impl Runtimes {
    pub fn new(store: Arc<dyn Store>, providers: Providers, config: RuntimeConfig) -> Self {
        Self {
            store,
            providers,
            config,
            running: Mutex::new(HashMap::new()),
            streams: Mutex::new(HashMap::new()),
            media: std::sync::OnceLock::new(),
        }
    }

    /// Stores inbound media through `media` in runtimes started from now on.
    pub fn set_media(&self, media: Arc<crate::media::MediaService>) {
        let _ = self.media.set(media);
    }

    /// The media fetcher of a channel's inbound traffic.
    pub fn media_fetch(
        &self,
        provider: Arc<dyn Provider>,
        credentials: Option<serde_json::Value>,
    ) -> Option<crate::services::inbound::MediaFetch> {
        self.media.get().map(|m| crate::services::inbound::MediaFetch::new(m.clone(), provider, credentials))
    }

    fn stream(&self, id: ChannelId) -> broadcast::Sender<RuntimeEvent> {
        self.streams
            .lock()
            .expect("runtime streams lock")
            .entry(id)
            .or_insert_with(|| broadcast::channel(self.config.stream_capacity).0)
            .clone()
    }

    /// Publishes an event on the channel's stream (auth progress, status changes).
    pub fn publish(&self, id: ChannelId, event: ChannelEvent) {
        let _ = self.stream(id).send(RuntimeEvent { channel_id: id, event });
    }

    /// Forgets the channel's stream (the channel was deleted).
    pub fn forget(&self, id: ChannelId) {
        self.streams.lock().expect("runtime streams lock").remove(&id);
    }

    /// Starts (or restarts) the channel's runtime with these credentials.
    pub fn start(&self, channel: Channel, credentials: serde_json::Value) {
        let Some(provider) = self.providers.get(channel.provider).cloned() else {
            tracing::warn!(channel_id = %channel.id, "no provider for this channel; not started");
            return;
        };
        if provider.capabilities().webhook_driven {
            // The network calls us: there is no connection to keep.
            return;
        }
        let events = self.stream(channel.id);
        let mut running = self.running.lock().expect("runtime registry lock");
        if let Some(old) = running.remove(&channel.id) {
            old.task.abort();
        }
        let media = self.media_fetch(provider.clone(), Some(credentials.clone()));
        let supervisor = Supervisor {
            store: self.store.clone(),
            media,
            provider,
            channel,
            credentials,
            events: events.clone(),
            config: self.config,
        };
        let id = supervisor.channel.id;
        // Supervised twice over: a failing connection is retried inside `run`, and a panic
        // anywhere in it (an inbound event that trips a bug) restarts the whole runtime.
        let task = crate::supervise::spawn("channel_runtime", move || supervisor.clone().run());
        running.insert(id, Handle { task });
    }

    /// Stops the channel's runtime (logout, delete). Does nothing if it is not running.
    pub async fn stop(&self, channel: &Channel) {
        let handle = self.running.lock().expect("runtime registry lock").remove(&channel.id);
        if let Some(handle) = handle {
            handle.task.abort();
            if let Some(provider) = self.providers.get(channel.provider) {
                provider.disconnect(channel).await;
            }
            self.publish(channel.id, ChannelEvent::Disconnected { reason: "stopped".into() });
        }
    }

    /// The channel's event stream (whether or not its runtime is running).
    pub fn subscribe(&self, id: ChannelId) -> broadcast::Receiver<RuntimeEvent> {
        self.stream(id).subscribe()
    }

    pub fn is_running(&self, id: ChannelId) -> bool {
        self.running.lock().expect("runtime registry lock").contains_key(&id)
    }

    /// Stops every runtime (shutdown).
    pub fn stop_all(&self) {
        for (_, handle) in self.running.lock().expect("runtime registry lock").drain() {
            handle.task.abort();
        }
    }
}

#[derive(Clone)]
struct Supervisor {
    store: Arc<dyn Store>,
    media: Option<crate::services::inbound::MediaFetch>,
    provider: Arc<dyn Provider>,
    channel: Channel,
    credentials: serde_json::Value,
    events: broadcast::Sender<RuntimeEvent>,
    config: RuntimeConfig,
}

impl Supervisor {
    /// Connect, follow, and on failure mark `failed`, back off and try again, forever (until
    /// aborted by `stop`).
    async fn run(self) {
        let mut backoff = self.config.initial_backoff;
        loop {
            let (tx, mut rx) = mpsc::unbounded_channel();
            let sink =
                Arc::new(Sink { channel_id: self.channel.id, events: self.events.clone(), supervisor: tx });
            // A polled network resumes after the last update recorded (read again at each
            // reconnect: it moved while the previous connection ran).
            let cursor = match self.store.channel_cursor(self.channel.id).await {
                Ok(cursor) => cursor,
                Err(e) => {
                    tracing::error!(channel_id = %self.channel.id, error = %e, "cannot read the channel's cursor");
                    None
                }
            };
            let attempt = {
                let provider = self.provider.clone();
                let channel = self.channel.clone();
                let credentials = self.credentials.clone();
                // Its own task, so a panicking adapter is a failure here, not a dead runtime.
                tokio::spawn(async move {
                    provider.connect(&channel, &credentials, cursor.as_deref(), sink).await
                })
                .await
            };
            let reason = match attempt {
                Ok(Ok(())) => {
                    self.set_status(ChannelStatus::Connected, None).await;
                    backoff = self.config.initial_backoff;
                    // Follow the connection until the provider reports it gone; inbound
                    // messages take the same ingestion path as webhooks.
                    let mut inbound =
                        InboundRouter::new(self.store.as_ref(), &self.channel).with_media(self.media.clone());
                    // Whether an event since the last barrier could not be recorded: the cursor
                    // that follows it is then not stored, and the barrier says so.
                    let mut lost = false;
                    loop {
                        match rx.recv().await {
                            Some(Feed::Barrier(done)) => {
                                let _ = done.send(!std::mem::take(&mut lost));
                            }
                            Some(Feed::Event(ChannelEvent::Cursor { .. })) if lost => {}
                            Some(Feed::Event(ChannelEvent::Disconnected { reason })) => {
                                break format!("connection lost: {reason}");
                            }
                            Some(Feed::Event(event)) => {
                                if let Err(e) = inbound.route(event).await {
                                    lost = true;
                                    tracing::error!(channel_id = %self.channel.id, error = %e, "cannot record an inbound event");
                                }
                            }
                            None => break "connection closed".to_owned(),
                        }
                    }
                }
                Ok(Err(e)) => format!("cannot connect: {e}"),
                Err(join) if join.is_panic() => "the channel's adapter crashed".to_owned(),
                Err(_) => return,
            };
            tracing::warn!(channel_id = %self.channel.id, %reason, retry_in_ms = backoff.as_millis() as u64, "channel runtime failed");
            let _ = self.events.send(RuntimeEvent {
                channel_id: self.channel.id,
                event: ChannelEvent::Error { message: reason.clone() },
            });
            self.set_status(ChannelStatus::Failed, Some(reason)).await;
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(self.config.max_backoff);
        }
    }

    async fn set_status(&self, status: ChannelStatus, error: Option<String>) {
        let at = switchboard::time::now();
        if let Err(e) =
            self.store.set_channel_status(self.channel.workspace_id, self.channel.id, status, error, at).await
        {
            tracing::error!(channel_id = %self.channel.id, error = %e, "cannot record the channel status");
        }
    }
}
