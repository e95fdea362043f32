//! The outbox worker: claims due rows, sends each through its channel's provider, and settles
//! the attempt. Retryable failures back off exponentially with jitter; a 429 pauses the
//! channel's rows until Retry-After and marks the channel `degraded` (back to `connected` on
//! the next success); after the last attempt the message is `failed`.

use std::sync::Arc;
use std::time::Duration;

use switchboard::provider::{OutboundMessage, ProviderError};
use switchboard::store::OutboxJob;
use switchboard::{ChannelStatus, Store};

use crate::providers::Providers;

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
pub struct OutboxWorker {
    store: Arc<dyn Store>,
    providers: Providers,
    config: OutboxConfig,
}

impl OutboxWorker {
    pub fn new(store: Arc<dyn Store>, providers: Providers, config: OutboxConfig) -> Self {
        Self { store, providers, config }
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
        let now = switchboard::time::now();
        let lease = chrono::Duration::from_std(self.config.lease).unwrap_or(chrono::Duration::seconds(60));
        let jobs = self.store.claim_outbox(now, now + lease, self.config.batch).await?;
        let n = jobs.len();
        for job in jobs {
            self.attempt(job).await?;
        }
        Ok(n)
    }

    async fn attempt(&self, job: OutboxJob) -> Result<(), switchboard::StoreError> {
        let Some(channel) = self.store.channel(job.workspace_id, job.channel_id).await? else {
            self.store.outbox_failed(&job, "the channel was deleted").await?;
            return Ok(());
        };
        let Some(provider) = self.providers.get(channel.provider) else {
            self.store.outbox_failed(&job, "the channel's provider is not available").await?;
            return Ok(());
        };
        // The message id is stable across attempts: a reclaimed send is the same message.
        let outbound = OutboundMessage {
            idempotency_key: job.message.id.to_string(),
            contact_id: job.to.clone(),
            text: job.message.text.clone(),
        };
        match provider.send(&channel, outbound).await {
            Ok(external_id) => {
                self.store.outbox_sent(&job, &external_id).await?;
                if channel.status == ChannelStatus::Degraded {
                    self.store
                        .set_channel_status(
                            channel.workspace_id,
                            channel.id,
                            ChannelStatus::Connected,
                            None,
                            switchboard::time::now(),
                        )
                        .await?;
                }
            }
            Err(ProviderError::RateLimited { retry_after_secs }) => {
                let until = switchboard::time::now() + chrono::Duration::seconds(retry_after_secs as i64);
                self.store.outbox_retry(&job, "rate limited by the network", until, false).await?;
                self.store.pause_channel_outbox(channel.id, until).await?;
                let note = format!("rate limited; sending resumes in {retry_after_secs} s");
                self.store
                    .set_channel_status(
                        channel.workspace_id,
                        channel.id,
                        ChannelStatus::Degraded,
                        Some(note),
                        switchboard::time::now(),
                    )
                    .await?;
                tracing::warn!(channel_id = %channel.id, retry_after_secs, "channel rate limited");
            }
            Err(ProviderError::Retryable { message, after_secs }) if job.attempt < job.max_attempts => {
                let delay = after_secs.map(Duration::from_secs).unwrap_or_else(|| self.backoff(job.attempt));
                let next = switchboard::time::now()
                    + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::seconds(60));
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
