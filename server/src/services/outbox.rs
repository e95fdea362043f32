//! The outbox worker: claims due rows, sends each through its channel's provider, and settles
//! the attempt. Retryable failures back off exponentially with jitter (1, 2, 4, 8, 16 minutes,
//! then the message is `failed`: [`switchboard::store::OUTBOX_MAX_ATTEMPTS`] attempts). A 429
//! pauses what the network says it covers until Retry-After — the whole channel's outbox (new
//! sends and the rest of the batch in hand included) or one conversation's — and marks the
//! channel `degraded` (back to `connected` on the next success).
//!
//! Time comes from an injectable [`Clock`], so the schedule is tested without waiting.
//!
//! One bad row never stops the others: every deadline is computed with saturating time
//! arithmetic and a network's `Retry-After` is capped at [`MAX_RETRY_AFTER`]; an attempt that
//! panics counts as a failed attempt (retried with backoff, then `failed` with the reason), and
//! a row whose lease ran out with no attempts left (the process died while sending it, each
//! time) is failed at the next claim instead of being handed out again (the poison-pill rule).
//! The worker itself runs under [`crate::supervise`], so even a panic outside an attempt only
//! restarts it.

use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;

use switchboard::provider::{OutboundMessage, ProviderError, RateLimitScope};
use switchboard::store::OutboxJob;
use switchboard::time::{Clock, SystemClock};
use switchboard::{ChannelId, ChannelStatus, ConversationId, Store};

use crate::providers::Providers;

/// The longest pause a network may impose through `Retry-After` (or a retry hint): a day.
/// Longer answers are taken as a day; the channel shows when sending resumes.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// How the worker paces itself.
#[derive(Clone, Copy, Debug)]
pub struct OutboxConfig {
    /// Pause between polls when nothing was due.
    pub poll: Duration,
    /// How long a claimed row is leased before another worker may reclaim it.
    pub lease: Duration,
    /// First retry delay; doubles per attempt (1, 2, 4, 8, 16 minutes by default).
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// Rows claimed per poll.
    pub batch: u32,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        Self {
            poll: Duration::from_millis(200),
            lease: Duration::from_secs(60),
            backoff_base: Duration::from_secs(60),
            backoff_cap: Duration::from_secs(16 * 60),
            batch: 32,
        }
    }
}

/// Sends queued messages.
#[derive(Clone)]
pub struct OutboxWorker {
    store: Arc<dyn Store>,
    providers: Providers,
    config: OutboxConfig,
    clock: Arc<dyn Clock>,
    /// Where outbound attachments' bytes are read from.
    media: Option<Arc<crate::media::MediaService>>,
    /// Where the channels' credentials are opened (networks that sign each call).
    channels: Option<Arc<crate::services::ChannelService>>,
}

/// What a 429 paused during one batch: the batch's later rows there go back to the queue
/// unsent, with their attempt given back.
#[derive(Default)]
struct Paused {
    channels: std::collections::HashMap<ChannelId, chrono::DateTime<chrono::Utc>>,
    conversations: std::collections::HashMap<ConversationId, chrono::DateTime<chrono::Utc>>,
}

impl Paused {
    fn until(&self, job: &OutboxJob) -> Option<chrono::DateTime<chrono::Utc>> {
        let channel = self.channels.get(&job.channel_id);
        let conversation = self.conversations.get(&job.message.conversation_id);
        channel.into_iter().chain(conversation).max().copied()
    }
}

impl OutboxWorker {
    pub fn new(store: Arc<dyn Store>, providers: Providers, config: OutboxConfig) -> Self {
        Self { store, providers, config, clock: Arc::new(SystemClock), media: None, channels: None }
    }

    /// The same worker, sending with the credentials `channels` keeps sealed.
    #[must_use]
    pub fn with_channels(mut self, channels: Arc<crate::services::ChannelService>) -> Self {
        self.channels = Some(channels);
        self
    }

    /// The same worker, sending attachments' bytes from `media`.
    #[must_use]
    pub fn with_media(mut self, media: Arc<crate::media::MediaService>) -> Self {
        self.media = Some(media);
        self
    }

    /// The same worker reading the time from `clock`.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// Polls until the task is aborted.
    pub async fn run(self) {
        loop {
            match self.tick().await {
                Ok(0) => tokio::time::sleep(self.config.poll).await,
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = %e, "outbox poll failed");
                    tokio::time::sleep(self.config.poll).await;
                }
            }
        }
    }

    /// Claims and settles one batch; returns how many rows it handled.
    pub async fn tick(&self) -> Result<usize, switchboard::StoreError> {
        let now = self.now();
        let jobs = self
            .store
            .claim_outbox(now, switchboard::time::after(now, self.config.lease), self.config.batch)
            .await?;
        let n = jobs.len();
        let mut paused = Paused::default();
        for job in jobs {
            if let Some(until) = paused.until(&job) {
                // Claimed before the 429 in this batch: not sent, and not an attempt.
                self.store.outbox_retry(&job, "rate limited by the network", until, false).await?;
                continue;
            }
            let attempt =
                std::panic::AssertUnwindSafe(self.attempt(job.clone(), &mut paused)).catch_unwind().await;
            match attempt {
                Ok(result) => result?,
                Err(panic) => self.panicked(&job, crate::supervise::panic_message(panic)).await?,
            }
        }
        Ok(n)
    }

    /// An attempt crashed: it counts as a failed attempt, so the row is retried with backoff and
    /// failed with the reason once its attempts are spent, while the rest of the batch goes on.
    async fn panicked(&self, job: &OutboxJob, why: String) -> Result<(), switchboard::StoreError> {
        tracing::error!(message_id = %job.message.id, attempt = job.attempt, panic = %why, "sending a message panicked");
        let reason = "internal error while sending; see the server log";
        if job.attempt < job.max_attempts {
            let next = switchboard::time::after(self.now(), self.backoff(job.attempt));
            self.store.outbox_retry(job, reason, next, true).await
        } else {
            self.store.outbox_failed(job, reason).await
        }
    }

    async fn attempt(&self, job: OutboxJob, paused: &mut Paused) -> Result<(), switchboard::StoreError> {
        let Some(channel) = self.store.channel(job.workspace_id, job.channel_id).await? else {
            self.store.outbox_failed(&job, "the channel was deleted").await?;
            return Ok(());
        };
        let Some(provider) = self.providers.get(channel.provider) else {
            self.store.outbox_failed(&job, "the channel's provider is not available").await?;
            return Ok(());
        };
        // The message id is stable across attempts: a reclaimed send is the same message.
        let media = match (&self.media, job.message.attachments.is_empty()) {
            (_, true) => Vec::new(),
            (None, false) => {
                self.store.outbox_failed(&job, "this server cannot read attachments").await?;
                return Ok(());
            }
            (Some(media), false) => match media.outbound(&job.message.attachments).await {
                Ok(media) => media,
                // Gone (the message was deleted meanwhile): nothing left to send.
                Err(crate::media::MediaError::NotFound) => {
                    self.store.outbox_failed(&job, "an attachment is no longer available").await?;
                    return Ok(());
                }
                Err(e) => {
                    tracing::warn!(error = %e, message_id = %job.message.id, "attachments unreadable; retrying");
                    let reason = "the attachments could not be read; retrying";
                    if job.attempt < job.max_attempts {
                        let next = switchboard::time::after(self.now(), self.backoff(job.attempt));
                        return self.store.outbox_retry(&job, reason, next, true).await;
                    }
                    return self.store.outbox_failed(&job, reason).await;
                }
            },
        };
        let credentials = match &self.channels {
            None => None,
            Some(channels) => match channels.credentials(channel.workspace_id, channel.id).await {
                Ok(credentials) => credentials,
                // Not a refused token: the store or the key failed us. Try again later, without
                // spending an attempt or telling the network anything.
                Err(e) => {
                    tracing::error!(channel_id = %channel.id, error = %e, "cannot open the channel's credentials");
                    let next = switchboard::time::after(self.now(), self.backoff(job.attempt));
                    return self
                        .store
                        .outbox_retry(&job, "the channel's credentials could not be read", next, false)
                        .await;
                }
            },
        };
        let reply_to = match job.message.reply_to {
            Some(id) => self.store.message(job.workspace_id, id).await?.and_then(|m| m.external_id),
            None => None,
        };
        let outbound = OutboundMessage {
            idempotency_key: job.message.id.to_string(),
            contact_id: job.to.clone(),
            text: job.message.text.clone(),
            media,
            reply_to,
            template: job.message.template.clone(),
            buttons: job.message.buttons.clone(),
        };
        match provider.send(&channel, credentials.as_ref(), outbound).await {
            Ok(external_id) => {
                self.store.outbox_sent(&job, &external_id).await?;
                if channel.status == ChannelStatus::Degraded {
                    self.store
                        .set_channel_status(
                            channel.workspace_id,
                            channel.id,
                            ChannelStatus::Connected,
                            None,
                            self.now(),
                        )
                        .await?;
                }
            }
            Err(ProviderError::RateLimited { scope, retry_after_secs }) => {
                let retry_after_secs = retry_after_secs.min(MAX_RETRY_AFTER.as_secs());
                let until = switchboard::time::after_secs(self.now(), retry_after_secs);
                self.store.outbox_retry(&job, "rate limited by the network", until, false).await?;
                if scope == RateLimitScope::Conversation {
                    // One recipient is limited: the channel's other conversations go on.
                    let conversation = job.message.conversation_id;
                    self.store.pause_outbox(channel.id, Some(conversation), until).await?;
                    paused.conversations.insert(conversation, until);
                    tracing::warn!(channel_id = %channel.id, conversation_id = %conversation, retry_after_secs, "conversation rate limited");
                    return Ok(());
                }
                self.store.pause_outbox(channel.id, None, until).await?;
                paused.channels.insert(channel.id, until);
                let note = format!("rate limited; sending resumes in {retry_after_secs} s");
                self.store
                    .set_channel_status(
                        channel.workspace_id,
                        channel.id,
                        ChannelStatus::Degraded,
                        Some(note),
                        self.now(),
                    )
                    .await?;
                tracing::warn!(channel_id = %channel.id, retry_after_secs, "channel rate limited");
            }
            Err(ProviderError::Unauthorized { message }) => {
                // The network no longer takes the channel's credentials: it must sign in again.
                // Its messages wait for that (a day at most, then they try again), none of
                // them spending an attempt.
                let until = switchboard::time::after(self.now(), MAX_RETRY_AFTER);
                self.store.outbox_retry(&job, &message, self.now(), false).await?;
                self.store.pause_outbox(channel.id, None, until).await?;
                paused.channels.insert(channel.id, until);
                let status = ChannelStatus::Failed;
                let now = self.now();
                self.store
                    .set_channel_status(channel.workspace_id, channel.id, status, Some(message), now)
                    .await?;
                tracing::warn!(channel_id = %channel.id, "channel credentials refused; sending waits for a new sign-in");
            }
            Err(ProviderError::Retryable { message, after_secs }) if job.attempt < job.max_attempts => {
                let delay = after_secs
                    .map(|s| Duration::from_secs(s).min(MAX_RETRY_AFTER))
                    .unwrap_or_else(|| self.backoff(job.attempt));
                let next = switchboard::time::after(self.now(), delay);
                self.store.outbox_retry(&job, &message, next, true).await?;
            }
            Err(e) => {
                tracing::warn!(message_id = %job.message.id, attempt = job.attempt, error = %e, "message failed");
                self.store.outbox_failed(&job, &e.to_string()).await?;
            }
        }
        Ok(())
    }

    /// `base · 2^(attempt-1)`, capped, with up to 20 % jitter so retries do not stampede.
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self.config.backoff_base.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let capped = exp.min(self.config.backoff_cap);
        let jitter = capped.mul_f64(rand::random::<f64>() * 0.2);
        capped + jitter
    }
}
