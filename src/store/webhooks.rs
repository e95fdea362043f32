//! The outgoing webhooks' port, beside the other repositories in [`super`]. Delivery rows are
//! written by the event log itself, in each event's transaction (for every active endpoint of
//! the workspace that names the event's type; never for a user's personal `user:{id}` copies).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::event::Event;
use crate::ids::{EventId, UserId, WebhookId, WorkspaceId};
use crate::webhook::{WebhookDelivery, WebhookEndpoint};

/// An endpoint to store.
#[derive(Clone, Debug)]
pub struct NewWebhook {
    pub id: WebhookId,
    pub workspace_id: WorkspaceId,
    pub url: String,
    pub events: Vec<String>,
    pub description: String,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
}

/// A delivery claimed for an attempt, with what it needs.
#[derive(Clone, Debug)]
pub struct DueDelivery {
    pub endpoint_id: WebhookId,
    pub url: String,
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
    pub event: Event,
}

/// How an attempt ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// 2xx.
    Delivered { status: u16 },
    /// Try again at `next`.
    Retry { status: Option<u16>, error: String, next: DateTime<Utc> },
    /// Give up: the dead-letter list.
    Dead { status: Option<u16>, error: String },
}

#[async_trait]
pub trait WebhookRepo: Send + Sync {
    async fn create_webhook(&self, webhook: NewWebhook) -> Result<WebhookEndpoint, StoreError>;
    /// The workspace's endpoints, newest first.
    async fn webhooks(&self, workspace_id: WorkspaceId) -> Result<Vec<WebhookEndpoint>, StoreError>;
    /// Deletes an endpoint and its deliveries; `NotFound` if the workspace has none such.
    async fn delete_webhook(&self, workspace_id: WorkspaceId, id: WebhookId) -> Result<(), StoreError>;
    /// An endpoint's deliveries, newest first, at most `limit`; `NotFound` for an endpoint of
    /// another workspace.
    async fn webhook_deliveries(
        &self,
        workspace_id: WorkspaceId,
        id: WebhookId,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>, StoreError>;
    /// Claims up to `limit` deliveries due at `now`, oldest due first: each is leased (not due
    /// again) until `lease_until`, so a crash mid-attempt only delays it. Rows another node holds
    /// are skipped.
    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<DueDelivery>, StoreError>;
    /// Records an attempt's outcome.
    async fn finish_delivery(
        &self,
        endpoint_id: WebhookId,
        event_id: EventId,
        outcome: &AttemptOutcome,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Sends a delivery again (from the dead-letter list, or at once): pending and due now.
    /// `NotFound` unless the workspace's endpoint has that delivery.
    async fn redeliver(
        &self,
        workspace_id: WorkspaceId,
        id: WebhookId,
        event_id: EventId,
        at: DateTime<Utc>,
    ) -> Result<WebhookDelivery, StoreError>;
}
