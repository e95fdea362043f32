//! Channel administration: create, list, read, update and delete a workspace's channels, and
//! keep their credentials sealed. Owners and admins only; every call names the workspace.

use std::sync::Arc;

use switchboard::channel::{self, CreateChannel, UpdateChannel};
use switchboard::{Channel, ChannelId, ChannelStatus, MemberRole, ProviderKind, Store, UserId, WorkspaceId};

use super::ServiceError;
use crate::crypto::Sealer;
use crate::secret::SecretKey;

/// Who is acting, in which workspace, with which role (from the HTTP extractor or a server fn).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Actor {
    pub user_id: UserId,
    pub workspace_id: WorkspaceId,
    pub role: MemberRole,
}

impl Actor {
    fn require_admin(&self) -> Result<(), ServiceError> {
        if self.role.is_admin() {
            Ok(())
        } else {
            Err(ServiceError::Forbidden("Only owners and admins manage channels."))
        }
    }
}

/// Providers this build can run. The others are part of the vocabulary and arrive one module
/// at a time.
pub const AVAILABLE_PROVIDERS: [ProviderKind; 1] = [ProviderKind::Mock];

/// Channel administration and sealed credentials.
pub struct ChannelService {
    store: Arc<dyn Store>,
    sealer: Sealer,
}

impl ChannelService {
    pub fn new(store: Arc<dyn Store>, secret: &SecretKey) -> Self {
        Self { store, sealer: Sealer::new(secret, "channel-credentials") }
    }

    pub async fn create(&self, actor: Actor, req: CreateChannel) -> Result<Channel, ServiceError> {
        actor.require_admin()?;
        let name = channel::channel_name(&req.name)?;
        channel::channel_config(&req.config)?;
        if !AVAILABLE_PROVIDERS.contains(&req.provider) {
            return Err(ServiceError::Unprocessable(
                "provider_unavailable",
                format!("The {} provider is not available in this build yet.", req.provider.as_str()),
            ));
        }
        let now = switchboard::time::now();
        let channel = Channel {
            id: ChannelId::new(),
            workspace_id: actor.workspace_id,
            provider: req.provider,
            name,
            status: ChannelStatus::Disconnected,
            config: req.config,
            last_error: None,
            created_at: now,
            updated_at: now,
        };
        let created = self.store.create_channel(channel).await?;
        tracing::info!(channel_id = %created.id, provider = created.provider.as_str(), "channel created");
        Ok(created)
    }

    pub async fn list(&self, actor: Actor) -> Result<Vec<Channel>, ServiceError> {
        actor.require_admin()?;
        Ok(self.store.channels(actor.workspace_id).await?)
    }

    pub async fn get(&self, actor: Actor, id: ChannelId) -> Result<Channel, ServiceError> {
        actor.require_admin()?;
        self.store.channel(actor.workspace_id, id).await?.ok_or(ServiceError::NotFound("channel"))
    }

    pub async fn update(
        &self,
        actor: Actor,
        id: ChannelId,
        req: UpdateChannel,
    ) -> Result<Channel, ServiceError> {
        actor.require_admin()?;
        let name = req.name.as_deref().map(channel::channel_name).transpose()?;
        if let Some(config) = &req.config {
            channel::channel_config(config)?;
        }
        self.store
            .update_channel(actor.workspace_id, id, name, req.config, switchboard::time::now())
            .await
            .map_err(|e| ServiceError::from(e).not_found_as("channel"))
    }

    pub async fn delete(&self, actor: Actor, id: ChannelId) -> Result<(), ServiceError> {
        actor.require_admin()?;
        if self.store.delete_channel(actor.workspace_id, id).await? {
            tracing::info!(channel_id = %id, "channel deleted");
            Ok(())
        } else {
            Err(ServiceError::NotFound("channel"))
        }
    }

    /// Seals and stores a channel's credentials (a provider's session, a bot token, …).
    pub async fn set_credentials(
        &self,
        workspace_id: WorkspaceId,
        id: ChannelId,
        credentials: &serde_json::Value,
    ) -> Result<(), ServiceError> {
        let plaintext = serde_json::to_vec(credentials).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let sealed = self.sealer.seal(id.as_uuid().as_bytes(), &plaintext);
        self.store
            .set_channel_credentials(workspace_id, id, Some(sealed), switchboard::time::now())
            .await
            .map_err(|e| ServiceError::from(e).not_found_as("channel"))
    }

    /// Opens a channel's credentials; `None` when it has none.
    pub async fn credentials(
        &self,
        workspace_id: WorkspaceId,
        id: ChannelId,
    ) -> Result<Option<serde_json::Value>, ServiceError> {
        let Some(sealed) = self
            .store
            .channel_credentials(workspace_id, id)
            .await
            .map_err(|e| ServiceError::from(e).not_found_as("channel"))?
        else {
            return Ok(None);
        };
        let plaintext = self
            .sealer
            .open(id.as_uuid().as_bytes(), &sealed)
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        serde_json::from_slice(&plaintext).map(Some).map_err(|e| ServiceError::Internal(e.to_string()))
    }
}
