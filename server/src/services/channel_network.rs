//! What the channel service asks of a real network besides sending: its message templates
//! (cached, for the picker and for template sends) and read receipts (the contact sees blue
//! ticks once an agent has read their message).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use switchboard::message::{Template, TemplateSend};
use switchboard::provider::ButtonLimits;
use switchboard::validate::ValidationError;
use switchboard::{ChannelId, ConversationId, MessageId, WorkspaceId};

use super::channels::{ChannelService, provider_error};
use super::{Actor, ServiceError};

/// How long a channel's template list is reused before it is fetched again.
pub const TEMPLATE_CACHE_TTL: Duration = Duration::from_secs(10 * 60);

/// Each channel's templates as last fetched, with when.
pub type TemplateCache = Mutex<HashMap<ChannelId, (Instant, Vec<Template>)>>;

impl ChannelService {
    /// The channel's approved templates (from the network, cached for
    /// [`TEMPLATE_CACHE_TTL`]). Every member may read them: agents pick one to write first.
    pub async fn templates(&self, actor: Actor, id: ChannelId) -> Result<Vec<Template>, ServiceError> {
        let channel =
            self.store().channel(actor.workspace_id, id).await?.ok_or(ServiceError::NotFound("channel"))?;
        self.channel_templates(&channel).await
    }

    async fn channel_templates(&self, channel: &switchboard::Channel) -> Result<Vec<Template>, ServiceError> {
        let provider =
            self.providers().get(channel.provider).cloned().ok_or(ServiceError::NotFound("channel"))?;
        if !provider.capabilities().templates {
            return Ok(Vec::new());
        }
        let cached = self.templates.lock().expect("template cache lock").get(&channel.id).cloned();
        if let Some((at, list)) = cached.filter(|(at, _)| at.elapsed() < TEMPLATE_CACHE_TTL) {
            let _ = at;
            return Ok(list);
        }
        let credentials = self.credentials(channel.workspace_id, channel.id).await?;
        let list = provider.templates(channel, credentials.as_ref()).await.map_err(provider_error)?;
        self.templates
            .lock()
            .expect("template cache lock")
            .insert(channel.id, (Instant::now(), list.clone()));
        Ok(list)
    }

    /// The text a template send shows in the inbox: the named template, approved on the
    /// conversation's channel, rendered with the parameters. A clear validation error when the
    /// channel has no such template or the parameters do not fit it.
    pub async fn render_template(
        &self,
        actor: Actor,
        conversation_id: ConversationId,
        send: &TemplateSend,
    ) -> Result<String, ServiceError> {
        let channel = self.conversation_channel(actor, conversation_id).await?;
        let templates = self.channel_templates(&channel).await?;
        if templates.is_empty() {
            return Err(ValidationError::new("template", "this channel sends no templates").into());
        }
        let template = templates
            .iter()
            .find(|t| t.name == send.name && t.language == send.language)
            .ok_or_else(|| {
                ValidationError::new(
                    "template",
                    format!("no approved template {} ({})", send.name, send.language),
                )
            })?;
        Ok(template.render(&send.parameters)?)
    }

    /// The channel a conversation of the actor's workspace is on.
    async fn conversation_channel(
        &self,
        actor: Actor,
        conversation_id: ConversationId,
    ) -> Result<switchboard::Channel, ServiceError> {
        let conversation = self
            .store()
            .conversation(actor.workspace_id, conversation_id)
            .await?
            .ok_or(ServiceError::NotFound("conversation"))?;
        let channel = self
            .store()
            .channel(actor.workspace_id, conversation.channel_id)
            .await?
            .ok_or(ServiceError::NotFound("conversation"))?;
        Ok(channel)
    }

    /// How many quick-reply buttons, how long, the conversation's network shows (none: it has
    /// no buttons, and labels go out as numbered lines).
    pub async fn button_limits(
        &self,
        actor: Actor,
        conversation_id: ConversationId,
    ) -> Result<Option<ButtonLimits>, ServiceError> {
        let channel = self.conversation_channel(actor, conversation_id).await?;
        Ok(self.providers().get(channel.provider).and_then(|p| p.capabilities().buttons))
    }

    /// Tells the network that the contact's messages up to `up_to` were read, once per message
    /// (whoever of the staff reads it first). Failures are logged: a missed blue tick is not
    /// worth failing the read.
    pub async fn report_read(
        &self,
        workspace_id: WorkspaceId,
        conversation_id: ConversationId,
        up_to: MessageId,
    ) {
        if let Err(e) = self.try_report_read(workspace_id, conversation_id, up_to).await {
            tracing::warn!(conversation_id = %conversation_id, error = %e, "cannot report a read to the network");
        }
    }

    /// Puts a member's reaction on the contact's message on the network too (the business
    /// number has one reaction per message there: the latest; taking it off sends an empty
    /// one). Failures are logged: the reaction stays in the inbox either way.
    pub async fn report_reaction(&self, message: switchboard::Message, emoji: String) {
        if let Err(e) = self.try_report_reaction(&message, &emoji).await {
            tracing::warn!(message_id = %message.id, error = %e, "cannot put a reaction on the network");
        }
    }

    async fn try_report_reaction(
        &self,
        message: &switchboard::Message,
        emoji: &str,
    ) -> Result<(), ServiceError> {
        let Some(external_id) = message.external_id.as_deref() else {
            return Ok(());
        };
        let Some(channel) = self.store().channel(message.workspace_id, message.channel_id).await? else {
            return Ok(());
        };
        let Some(provider) = self.providers().get(channel.provider).cloned() else {
            return Ok(());
        };
        if !provider.capabilities().reactions {
            return Ok(());
        }
        let Some(conversation) =
            self.store().conversation(message.workspace_id, message.conversation_id).await?
        else {
            return Ok(());
        };
        let credentials = self.credentials(channel.workspace_id, channel.id).await?;
        provider
            .react(&channel, credentials.as_ref(), &conversation.external_chat_id, external_id, emoji)
            .await
            .map_err(provider_error)
    }

    /// Takes a member's edit (`Some(text)`) or delete (`None`) of a sent message to its network,
    /// before the inbox records it: a refusal (Telegram's "message can't be edited") comes back
    /// in the network's words and nothing changes. Networks without edits, and messages not yet
    /// sent, need nothing (the outbox sends the text as it is then).
    pub async fn change_on_network(
        &self,
        message: &switchboard::Message,
        text: Option<&str>,
    ) -> Result<(), ServiceError> {
        let Some(external_id) = message.external_id.as_deref() else {
            return Ok(());
        };
        let Some(channel) = self.store().channel(message.workspace_id, message.channel_id).await? else {
            return Ok(());
        };
        let Some(provider) = self.providers().get(channel.provider).cloned() else {
            return Ok(());
        };
        if !provider.capabilities().edits {
            return Ok(());
        }
        let conversation = self
            .store()
            .conversation(message.workspace_id, message.conversation_id)
            .await?
            .ok_or(ServiceError::NotFound("message"))?;
        let credentials = self.credentials(channel.workspace_id, channel.id).await?;
        let chat = conversation.external_chat_id.as_str();
        let done = match text {
            Some(text) => provider.edit(&channel, credentials.as_ref(), chat, external_id, text).await,
            None => provider.delete(&channel, credentials.as_ref(), chat, external_id).await,
        };
        done.map_err(provider_error)
    }

    async fn try_report_read(
        &self,
        workspace_id: WorkspaceId,
        conversation_id: ConversationId,
        up_to: MessageId,
    ) -> Result<(), ServiceError> {
        let Some(conversation) = self.store().conversation(workspace_id, conversation_id).await? else {
            return Ok(());
        };
        let Some(channel) = self.store().channel(workspace_id, conversation.channel_id).await? else {
            return Ok(());
        };
        let Some(provider) = self.providers().get(channel.provider).cloned() else {
            return Ok(());
        };
        if !provider.capabilities().read_receipts {
            return Ok(());
        }
        let Some(external_id) = self.store().claim_network_read(conversation_id, up_to).await? else {
            return Ok(());
        };
        let credentials = self.credentials(workspace_id, channel.id).await?;
        provider.mark_read(&channel, credentials.as_ref(), &external_id).await.map_err(provider_error)
    }
}
