//! The agent's desk: a conversation's status (open, pending, resolved, snoozed until a time),
//! its assignee ("assign to me" races are won by one), its labels; the workspace's labels
//! (owners and admins manage them) and canned replies (every agent writes them). Every change
//! of a conversation is a `conversation.updated` on its list topic, so every inbox follows live.

use std::sync::Arc;
use std::time::Duration;

use switchboard::access::Right;
use switchboard::desk::{
    Assign, CannedReply, CannedReplyInput, Label, LabelInput, MAX_CANNED_REPLIES, MAX_CONVERSATION_LABELS,
    MAX_LABELS,
};
use switchboard::message::UpdateConversation;
use switchboard::store::NewAssignment;
use switchboard::validate::ValidationError;
use switchboard::{CannedReplyId, Conversation, ConversationId, LabelId, Store, StoreError};

use super::{Actor, ServiceError};
use crate::access;
use crate::services::messages::MessageService;

/// How often snoozed conversations are looked at (a snooze ends within this of its time).
pub const SNOOZE_TICK: Duration = Duration::from_secs(1);

const ADMINS_MANAGE_LABELS: &str = "Only owners and admins manage the workspace's labels.";

fn staff_only(actor: Actor) -> Result<(), ServiceError> {
    if actor.role.is_staff() {
        Ok(())
    } else {
        Err(ServiceError::Forbidden("This is for the workspace's agents."))
    }
}

impl MessageService {
    /// Opens, parks (pending), resolves or snoozes a conversation.
    pub async fn set_conversation_status(
        &self,
        actor: Actor,
        id: ConversationId,
        update: UpdateConversation,
    ) -> Result<Conversation, ServiceError> {
        update.validate(switchboard::time::now())?;
        access::conversation(self.store.as_ref(), actor, id, Right::Resolve).await?;
        self.store
            .set_conversation_status(actor.workspace_id, id, update.status, update.snoozed_until)
            .await
            .map_err(|e| ServiceError::from(e).not_found_as("conversation"))
    }

    /// Assigns a conversation with a contact to one of the workspace's people, or unassigns it.
    pub async fn assign(
        &self,
        actor: Actor,
        id: ConversationId,
        req: Assign,
    ) -> Result<Conversation, ServiceError> {
        self.assign_as(actor, id, req.user_id, false).await
    }

    /// "Assign to me": takes the conversation when nobody has it (or the caller already does);
    /// when someone else does, 409 `already_assigned`, and nothing changes.
    pub async fn claim(&self, actor: Actor, id: ConversationId) -> Result<Conversation, ServiceError> {
        self.assign_as(actor, id, Some(actor.user_id), true).await
    }

    async fn assign_as(
        &self,
        actor: Actor,
        id: ConversationId,
        assignee: Option<switchboard::UserId>,
        only_if_unassigned: bool,
    ) -> Result<Conversation, ServiceError> {
        let granted = access::conversation(self.store.as_ref(), actor, id, Right::Resolve).await?;
        if switchboard::access::is_room(&granted.conversation) {
            return Err(ServiceError::Unprocessable(
                "assignment_in_room",
                "Rooms have members, not an assignee: assignment is for conversations with a contact.".into(),
            ));
        }
        let assignment = NewAssignment { assignee, by: Some(actor.user_id), only_if_unassigned };
        match self.store.assign(actor.workspace_id, id, assignment).await {
            Err(StoreError::Conflict { constraint }) if constraint == "conversation_assigned" => Err(
                ServiceError::Refused(409, "already_assigned", "Someone else took this conversation first."),
            ),
            Err(StoreError::Conflict { constraint }) if constraint == "assignee" => {
                let why = "is not one of the workspace's agents, admins or owners";
                Err(ValidationError::new("user_id", why).into())
            }
            other => other.map_err(|e| ServiceError::from(e).not_found_as("conversation")),
        }
    }

    /// Sets a conversation's labels (the whole set).
    pub async fn set_labels(
        &self,
        actor: Actor,
        id: ConversationId,
        labels: &[LabelId],
    ) -> Result<Conversation, ServiceError> {
        if labels.len() > MAX_CONVERSATION_LABELS {
            let why = format!("holds more than {MAX_CONVERSATION_LABELS} labels");
            return Err(ValidationError::new("label_ids", why).into());
        }
        access::conversation(self.store.as_ref(), actor, id, Right::Resolve).await?;
        match self.store.set_conversation_labels(actor.workspace_id, id, labels).await {
            Err(StoreError::Conflict { constraint }) if constraint == "label" => {
                Err(ValidationError::new("label_ids", "names a label that is not the workspace's").into())
            }
            other => other.map_err(|e| ServiceError::from(e).not_found_as("conversation")),
        }
    }

    /// The workspace's labels (every member of the staff reads them).
    pub async fn labels(&self, actor: Actor) -> Result<Vec<Label>, ServiceError> {
        staff_only(actor)?;
        Ok(self.store.labels(actor.workspace_id).await?)
    }

    /// Adds a label (owners and admins).
    pub async fn create_label(&self, actor: Actor, input: LabelInput) -> Result<Label, ServiceError> {
        if !actor.role.is_admin() {
            return Err(ServiceError::Forbidden(ADMINS_MANAGE_LABELS));
        }
        let (name, color) = input.validated()?;
        Ok(self.store.create_label(actor.workspace_id, &name, &color, MAX_LABELS).await?)
    }

    /// Renames or recolours a label (owners and admins).
    pub async fn update_label(
        &self,
        actor: Actor,
        id: LabelId,
        input: LabelInput,
    ) -> Result<Label, ServiceError> {
        if !actor.role.is_admin() {
            return Err(ServiceError::Forbidden(ADMINS_MANAGE_LABELS));
        }
        let (name, color) = input.validated()?;
        self.store
            .update_label(actor.workspace_id, id, &name, &color)
            .await
            .map_err(|e| ServiceError::from(e).not_found_as("label"))
    }

    /// Deletes a label, taking it off every conversation (owners and admins).
    pub async fn delete_label(&self, actor: Actor, id: LabelId) -> Result<(), ServiceError> {
        if !actor.role.is_admin() {
            return Err(ServiceError::Forbidden(ADMINS_MANAGE_LABELS));
        }
        self.store
            .delete_label(actor.workspace_id, id)
            .await
            .map_err(|e| ServiceError::from(e).not_found_as("label"))
    }

    /// The workspace's canned replies.
    pub async fn canned_replies(&self, actor: Actor) -> Result<Vec<CannedReply>, ServiceError> {
        staff_only(actor)?;
        Ok(self.store.canned_replies(actor.workspace_id).await?)
    }

    /// Adds a canned reply (any agent).
    pub async fn create_canned_reply(
        &self,
        actor: Actor,
        input: CannedReplyInput,
    ) -> Result<CannedReply, ServiceError> {
        staff_only(actor)?;
        let (code, text) = input.validated()?;
        Ok(self
            .store
            .create_canned_reply(actor.workspace_id, actor.user_id, &code, &text, MAX_CANNED_REPLIES)
            .await?)
    }

    /// Changes a canned reply (any agent).
    pub async fn update_canned_reply(
        &self,
        actor: Actor,
        id: CannedReplyId,
        input: CannedReplyInput,
    ) -> Result<CannedReply, ServiceError> {
        staff_only(actor)?;
        let (code, text) = input.validated()?;
        self.store
            .update_canned_reply(actor.workspace_id, id, &code, &text)
            .await
            .map_err(|e| ServiceError::from(e).not_found_as("canned reply"))
    }

    /// Deletes a canned reply (any agent).
    pub async fn delete_canned_reply(&self, actor: Actor, id: CannedReplyId) -> Result<(), ServiceError> {
        staff_only(actor)?;
        self.store
            .delete_canned_reply(actor.workspace_id, id)
            .await
            .map_err(|e| ServiceError::from(e).not_found_as("canned reply"))
    }
}

/// Opens snoozed conversations when their time comes, every [`SNOOZE_TICK`], until the task is
/// dropped. After a restart it catches up at once: the time is in the database.
pub async fn wake_snoozed(store: Arc<dyn Store>) {
    let mut tick = tokio::time::interval(SNOOZE_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        loop {
            match store.wake_snoozed(switchboard::time::now(), 100).await {
                Ok(100) => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "waking snoozed conversations failed");
                    break;
                }
            }
        }
    }
}

impl MessageService {
    /// Messages whose text holds every word of `q` (the last as a prefix), the newest first,
    /// in the conversations the caller may read; `before` pages.
    pub async fn search(
        &self,
        actor: Actor,
        q: &str,
        before: Option<switchboard::MessageId>,
        limit: Option<u32>,
    ) -> Result<Vec<switchboard::search::SearchHit>, ServiceError> {
        switchboard::validate::no_nul("q", q)?;
        let terms = switchboard::search::terms(q)?;
        let limit = limit.unwrap_or(20);
        if limit == 0 || limit > switchboard::search::MAX_HITS {
            let why = format!("must be 1 to {}", switchboard::search::MAX_HITS);
            return Err(ValidationError::new("limit", why).into());
        }
        let rooms = switchboard::access::RoomScope::of(actor.role);
        let hits = self
            .store
            .search_messages(actor.workspace_id, actor.user_id, rooms, &terms, before, limit)
            .await?;
        Ok(hits
            .into_iter()
            .map(|h| switchboard::search::SearchHit { message: self.signed(h.message), ..h })
            .collect())
    }

    /// A page of history around a message (it, up to half the page before it and the rest
    /// after), newest first: where a search hit or a pin opens the conversation.
    pub async fn history_around(
        &self,
        actor: Actor,
        conversation_id: ConversationId,
        around: switchboard::MessageId,
        limit: u32,
    ) -> Result<Vec<switchboard::Message>, ServiceError> {
        access::conversation(self.store.as_ref(), actor, conversation_id, Right::Read).await?;
        let ws = actor.workspace_id;
        let older = limit / 2;
        let mut newer =
            self.store.history_from(ws, conversation_id, actor.user_id, around, limit - older).await?;
        if newer.first().is_none_or(|m| m.id != around) {
            return Err(ServiceError::NotFound("message"));
        }
        newer.reverse();
        let before = self.store.history(ws, conversation_id, actor.user_id, Some(around), older).await?;
        newer.extend(before);
        Ok(self.signed_all(newer))
    }
}

/// Whose turn it is: of the agents online (`online`), the one who got a conversation of this
/// channel by the automatic assignment longest ago (never first; then by id, so every node
/// picks alike).
pub fn next_agent(
    online: &[switchboard::UserId],
    turns: &[(switchboard::UserId, chrono::DateTime<chrono::Utc>)],
) -> Option<switchboard::UserId> {
    online
        .iter()
        .copied()
        .min_by_key(|user| (turns.iter().find(|(u, _)| u == user).map(|(_, at)| *at), *user))
}

impl MessageService {
    /// Turns a channel's automatic assignment on or off (owners and admins).
    pub async fn set_auto_assign(
        &self,
        actor: Actor,
        channel: switchboard::ChannelId,
        on: bool,
    ) -> Result<(), ServiceError> {
        if !actor.role.is_admin() {
            return Err(ServiceError::Forbidden("Only owners and admins change how a channel assigns."));
        }
        self.store
            .set_auto_assign(actor.workspace_id, channel, on)
            .await
            .map_err(|e| ServiceError::from(e).not_found_as("channel"))
    }

    /// Whether a channel assigns by itself.
    pub async fn auto_assign_enabled(
        &self,
        actor: Actor,
        channel: switchboard::ChannelId,
    ) -> Result<bool, ServiceError> {
        staff_only(actor)?;
        self.store.channel(actor.workspace_id, channel).await?.ok_or(ServiceError::NotFound("channel"))?;
        Ok(self.store.auto_assign(channel).await?.is_some())
    }
}

/// The automatic assignment: each unassigned open conversation with a contact that gets an
/// inbound message (stored on this node) on a channel that assigns by itself goes to the next
/// agent online, round-robin. The assignment is the "assign to me" kind (only while nobody has
/// it), so a person who took it first keeps it. Imported history sends no `message.created`,
/// so it is never assigned this way.
pub async fn auto_assign(
    store: Arc<dyn Store>,
    hub: Arc<crate::realtime::Hub>,
    inbound: Arc<tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<switchboard::Message>>>,
) {
    let mut inbound = inbound.lock().await;
    while let Some(message) = inbound.recv().await {
        if message.direction != switchboard::provider::Direction::Inbound {
            continue;
        }
        let (workspace, id) = (message.workspace_id, message.conversation_id);
        if let Err(e) = assign_one(store.as_ref(), &hub, workspace, id, Some(&message)).await {
            tracing::warn!(error = %e, conversation_id = %id, "automatic assignment failed");
        }
    }
}

/// Gives a waiting conversation to the next agent online, when its channel assigns by itself
/// and no bot is answering it (the bot's hand-over calls this again). A customer's `message`
/// that starts a flow leaves the conversation to the bot even before its session exists: the
/// bot runner hears the same message, and whichever acts first, the bot hands over.
pub(crate) async fn assign_one(
    store: &dyn Store,
    hub: &crate::realtime::Hub,
    workspace: switchboard::WorkspaceId,
    id: ConversationId,
    message: Option<&switchboard::Message>,
) -> Result<(), StoreError> {
    let Some(conversation) = store.conversation(workspace, id).await? else { return Ok(()) };
    let waiting = conversation.contact_id.is_some()
        && conversation.assignee_id.is_none()
        && conversation.status == switchboard::message::ConversationStatus::Open;
    if !waiting || store.live_session(id).await?.is_some() {
        return Ok(());
    }
    let Some(turns) = store.auto_assign(conversation.channel_id).await? else { return Ok(()) };
    if let Some(message) = message {
        let flows = store.flows(workspace).await?;
        if switchboard::flow::triggered(&flows, message, &conversation).is_some() {
            return Ok(());
        }
    }
    let online: Vec<switchboard::UserId> = store
        .members(workspace)
        .await?
        .into_iter()
        .filter(|(m, _)| m.role.is_staff() && hub.is_online(workspace, m.user_id))
        .map(|(m, _)| m.user_id)
        .collect();
    let Some(agent) = next_agent(&online, &turns) else { return Ok(()) };
    let assignment = NewAssignment { assignee: Some(agent), by: None, only_if_unassigned: true };
    match store.assign(workspace, id, assignment).await {
        Ok(_) => store.auto_assigned(conversation.channel_id, agent, switchboard::time::now()).await,
        Err(StoreError::Conflict { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_turn_goes_round_the_agents_online() {
        let (a, b, c) = (switchboard::UserId::new(), switchboard::UserId::new(), switchboard::UserId::new());
        let at = |s: i64| chrono::DateTime::from_timestamp(s, 0).unwrap();
        assert_eq!(next_agent(&[], &[]), None);
        assert_eq!(next_agent(&[b, a], &[]), Some(a.min(b)), "never assigned: by id");
        assert_eq!(
            next_agent(&[a, b, c], &[(a, at(10)), (b, at(5))]),
            Some(c),
            "one who never had one first"
        );
        assert_eq!(next_agent(&[a, b], &[(a, at(10)), (b, at(5))]), Some(b), "then the longest ago");
        assert_eq!(next_agent(&[a], &[(a, at(10)), (b, at(5))]), Some(a), "only those online");
    }
}
