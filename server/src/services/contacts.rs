//! Contacts for the staff: the contacts page (search, details, edits, merges) and writing first
//! to someone on a channel that allows it.

use switchboard::ContactId;
use switchboard::contact::{self, ContactCard, ContactDetails, StartConversation, Started, UpdateContact};
use switchboard::message::SendMessage;
use switchboard::validate::ValidationError;
use switchboard::{ChannelId, ProviderKind, StoreError};

use super::{Actor, ServiceError};
use crate::services::messages::MessageService;

/// Most contacts one page holds.
pub const MAX_CONTACTS_PAGE: u32 = 200;

fn staff_only(actor: Actor) -> Result<(), ServiceError> {
    if actor.role.is_staff() {
        Ok(())
    } else {
        Err(ServiceError::Forbidden("Contacts are for the workspace's agents."))
    }
}

impl MessageService {
    /// The workspace's contacts by name, those matching `q` (a name, a phone number, a
    /// username: theirs or a merged identity's), on `channel` when given.
    pub async fn contacts(
        &self,
        actor: Actor,
        q: Option<&str>,
        channel: Option<ChannelId>,
        offset: u32,
        limit: Option<u32>,
    ) -> Result<Vec<ContactCard>, ServiceError> {
        staff_only(actor)?;
        let limit = limit.unwrap_or(50);
        if limit == 0 || limit > MAX_CONTACTS_PAGE {
            return Err(ValidationError::new("limit", format!("must be 1 to {MAX_CONTACTS_PAGE}")).into());
        }
        let filter =
            switchboard::message::ConversationFilter { search: q.map(str::to_owned), ..Default::default() };
        if q.is_some_and(|q| q.chars().count() > switchboard::message::MAX_SEARCH_CHARS) {
            let why = format!("is longer than {} characters", switchboard::message::MAX_SEARCH_CHARS);
            return Err(ValidationError::new("q", why).into());
        }
        if let Some(q) = q {
            switchboard::validate::no_nul("q", q)?;
        }
        let pattern = filter.like_pattern();
        Ok(self.store.contacts(actor.workspace_id, pattern.as_deref(), channel, offset, limit).await?)
    }

    /// A contact with their conversations (a merged contact answers as the one it joined).
    pub async fn contact(&self, actor: Actor, id: ContactId) -> Result<ContactDetails, ServiceError> {
        staff_only(actor)?;
        self.store.contact_details(actor.workspace_id, id).await?.ok_or(ServiceError::NotFound("contact"))
    }

    /// Changes a contact's name, notes or attributes.
    pub async fn update_contact(
        &self,
        actor: Actor,
        id: ContactId,
        change: UpdateContact,
    ) -> Result<ContactCard, ServiceError> {
        staff_only(actor)?;
        let change = change.validated()?;
        self.store
            .update_contact(actor.workspace_id, id, &change)
            .await
            .map_err(|e| ServiceError::from(e).not_found_as("contact"))
    }

    /// Folds `gone` into `keep`: one person, every conversation kept.
    pub async fn merge_contacts(
        &self,
        actor: Actor,
        keep: ContactId,
        gone: ContactId,
    ) -> Result<ContactDetails, ServiceError> {
        staff_only(actor)?;
        match self.store.merge_contacts(actor.workspace_id, keep, gone).await {
            Err(StoreError::Conflict { .. }) => Err(ServiceError::Unprocessable(
                "cannot_merge",
                "Merge two different contacts, neither of them merged already.".into(),
            )),
            other => other.map_err(|e| ServiceError::from(e).not_found_as("contact")),
        }
    }

    /// Writes first to someone on a channel that lets a business do so: the contact and the
    /// chat are found or made, and the first message goes out like any other.
    pub async fn start_conversation(
        &self,
        actor: Actor,
        req: StartConversation,
    ) -> Result<Started, ServiceError> {
        staff_only(actor)?;
        let channel = self
            .store
            .channel(actor.workspace_id, req.channel_id)
            .await?
            .ok_or(ServiceError::NotFound("channel"))?;
        if !channel.provider.starts_conversations() {
            let why = match channel.provider {
                ProviderKind::Telegram => {
                    "A Telegram bot cannot write first: the person starts the chat with the bot."
                }
                ProviderKind::Inapp => "In-app channels have rooms: create a room with the person instead.",
                _ => "This channel cannot write first.",
            };
            return Err(ServiceError::Unprocessable("cannot_start_conversation", why.into()));
        }
        let to = contact::recipient(&req.to, channel.provider.phone_ids())?;
        if channel.provider.reply_window_secs().is_some() && req.template.is_none() {
            let why = "is needed: on WhatsApp a business writes first with an approved template";
            return Err(ValidationError::new("template", why).into());
        }
        let name = match req.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
            Some(name) => switchboard::validate::name("name", name)?,
            None => to.clone(),
        };
        if req.template.is_none() {
            switchboard::message::message_text(&req.text)?;
        }
        let (conversation, _) = self
            .store
            .open_chat(actor.workspace_id, channel.id, &to, &name)
            .await
            .map_err(|e| ServiceError::from(e).not_found_as("channel"))?;
        let send = SendMessage {
            text: req.text,
            template: req.template,
            client_message_id: req.client_message_id,
            ..Default::default()
        };
        let sent = self.send(actor, conversation.id, send, None, None).await?;
        let conversation =
            self.store.conversation(actor.workspace_id, conversation.id).await?.unwrap_or(conversation);
        Ok(Started { conversation, message: sent.message })
    }
}
