//! The developer platform's port (API keys and app users), beside the other repositories in
//! [`super`].

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::ids::{ApiKeyId, ChannelId, ConversationId, MessageId, UserId, WorkspaceId};
use crate::platform::{ApiKey, ApiKeyScope, AppUser, PutAppUser, Reader};

/// A key to store: its principal account is created with it.
#[derive(Clone, Debug)]
pub struct NewApiKey {
    pub id: ApiKeyId,
    pub workspace_id: WorkspaceId,
    /// The account the key acts as: created with kind `key`, a workspace admin.
    pub user_id: UserId,
    pub name: String,
    pub scope: ApiKeyScope,
    /// SHA-256 of the secret, hex.
    pub secret_hash: String,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
}

/// A key found for a call, with the workspace it acts in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyGrant {
    pub key: ApiKey,
    pub workspace_id: WorkspaceId,
}

/// API keys and the users of a workspace's app. Staff listings never show either's accounts:
/// they are of kind `key` and `app`, and sign-in only finds `staff` accounts.
#[async_trait]
pub trait PlatformRepo: Send + Sync {
    /// Stores a key and creates the account it acts as (a member with role admin), in one
    /// transaction.
    async fn create_api_key(&self, key: NewApiKey) -> Result<ApiKey, StoreError>;
    /// The workspace's keys, revoked ones too, newest first.
    async fn api_keys(&self, workspace_id: WorkspaceId) -> Result<Vec<ApiKey>, StoreError>;
    /// A key by id, in any workspace and any state.
    async fn api_key(&self, id: ApiKeyId) -> Result<Option<KeyGrant>, StoreError>;
    /// A key by its secret's hash, in any state.
    async fn api_key_by_secret(&self, secret_hash: &str) -> Result<Option<KeyGrant>, StoreError>;
    /// Revokes a key of the workspace (its account leaves the workspace); `NotFound` if the
    /// workspace has no such unrevoked key.
    async fn revoke_api_key(
        &self,
        workspace_id: WorkspaceId,
        id: ApiKeyId,
        at: DateTime<Utc>,
    ) -> Result<ApiKey, StoreError>;
    /// Records a use of the key (callers write at most once a minute per key).
    async fn touch_api_key(&self, id: ApiKeyId, at: DateTime<Utc>) -> Result<(), StoreError>;

    /// Creates the app user (an account of kind `app`, `new_user_id`) or replaces the fields of
    /// the existing one; answers it and whether it was created.
    async fn put_app_user(
        &self,
        workspace_id: WorkspaceId,
        external_id: &str,
        new_user_id: UserId,
        fields: &PutAppUser,
        at: DateTime<Utc>,
    ) -> Result<(AppUser, bool), StoreError>;
    async fn app_user(
        &self,
        workspace_id: WorkspaceId,
        external_id: &str,
    ) -> Result<Option<AppUser>, StoreError>;
    /// What a user token names, in one read: its key (any state), and the app user with that
    /// external id in the key's workspace, with their account, if there is one.
    async fn user_token_grant(
        &self,
        key_id: ApiKeyId,
        external_id: &str,
    ) -> Result<Option<(KeyGrant, Option<(AppUser, crate::User)>)>, StoreError>;
    /// The app user behind an account, with their workspace.
    async fn app_user_by_id(&self, user_id: UserId) -> Result<Option<(WorkspaceId, AppUser)>, StoreError>;
    /// The workspace's app users ordered by external id, after `after`, at most `limit`.
    async fn app_users(
        &self,
        workspace_id: WorkspaceId,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<AppUser>, StoreError>;
    /// Deactivates (`Some(at)`) or reactivates (`None`) an app user; `NotFound` if none.
    async fn set_app_user_deactivated(
        &self,
        workspace_id: WorkspaceId,
        external_id: &str,
        deactivated_at: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
    ) -> Result<AppUser, StoreError>;
    /// The members of the conversation whose read position is at or past `message` (not
    /// `except`, its sender), oldest read first.
    async fn readers(
        &self,
        workspace_id: WorkspaceId,
        conversation_id: ConversationId,
        message: MessageId,
        except: Option<UserId>,
    ) -> Result<Vec<Reader>, StoreError>;
    /// Records an API channel's inbound token id until it expires: true the first time,
    /// false for a replay. Forgets tokens that expired before `now` on the way.
    async fn claim_inbound_token(
        &self,
        channel_id: ChannelId,
        jti: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Deletes an app user: their external id is freed and they leave every room; their
    /// account stays as a nameless "Deleted user", so their messages keep a sender. Answers
    /// the account's id; `NotFound` if none.
    async fn delete_app_user(
        &self,
        workspace_id: WorkspaceId,
        external_id: &str,
        at: DateTime<Utc>,
    ) -> Result<UserId, StoreError>;
}
