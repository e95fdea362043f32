//! The contacts port: the contacts page (list, search, details, edit, merge) and opening a
//! chat with someone who has not written yet, beside the other repositories in [`super`].

use async_trait::async_trait;

use super::StoreError;
use crate::contact::{ContactCard, ContactDetails, UpdateContact};
use crate::ids::{ChannelId, ContactId, WorkspaceId};
use crate::message::Conversation;

/// Contacts across the workspace's channels.
#[async_trait]
pub trait ContactRepo: Send + Sync {
    /// The workspace's contacts (not those merged into another), by name, `limit` from
    /// `offset`: those whose name or network id (or a merged identity's) holds `search` (a
    /// lower-case `like` pattern), on `channel` when given.
    async fn contacts(
        &self,
        workspace_id: WorkspaceId,
        search: Option<&str>,
        channel: Option<ChannelId>,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<ContactCard>, StoreError>;
    /// A contact with its conversations; a merged contact answers as the one it was merged into.
    async fn contact_details(
        &self,
        workspace_id: WorkspaceId,
        id: ContactId,
    ) -> Result<Option<ContactDetails>, StoreError>;
    /// Changes a contact's name, notes or attributes (validated). A new name renames its chats
    /// still titled with the old one, each with its `conversation.updated`. `NotFound`.
    async fn update_contact(
        &self,
        workspace_id: WorkspaceId,
        id: ContactId,
        change: &UpdateContact,
    ) -> Result<ContactCard, StoreError>;
    /// Folds `gone` into `keep`: its identities and conversations move to `keep`, its notes are
    /// appended, its attributes fill what `keep` lacks. `NotFound` for either;
    /// `Conflict { constraint: "contact_merge" }` for the same contact twice.
    async fn merge_contacts(
        &self,
        workspace_id: WorkspaceId,
        keep: ContactId,
        gone: ContactId,
    ) -> Result<ContactDetails, StoreError>;
    /// The chat with `to` on a channel of the workspace, the contact (named `name` when new)
    /// and the conversation found or made, with `conversation.created` when it is new.
    /// `NotFound` for the channel.
    async fn open_chat(
        &self,
        workspace_id: WorkspaceId,
        channel_id: ChannelId,
        to: &str,
        name: &str,
    ) -> Result<(Conversation, bool), StoreError>;
}
