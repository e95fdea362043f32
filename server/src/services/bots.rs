//! Chatbot flows as admins manage them (drafts, validation, publishing versions, business
//! hours) and bot sessions as agents see them (list, detail, start by hand, stop). The run
//! itself is in `bot_runner.rs`.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use switchboard::access::Right;
use switchboard::flow::{BotSession, BusinessHours, Completion, Flow, FlowDraft, FlowVersion};
use switchboard::store::SessionFilter;
use switchboard::validate::ValidationError;
use switchboard::{BotSessionId, ConversationId, FlowId, Store, StoreError};

use super::messages::MessageService;
use super::{Actor, ServiceError};
use crate::access;

/// Most flows per workspace.
pub const MAX_FLOWS: usize = 100;
/// Most events `GET /bot-sessions/{id}/events` returns (a longer run continues on its topic).
pub const MAX_SESSION_EVENTS: u32 = 1000;

const ADMINS_MANAGE_FLOWS: &str = "Only owners and admins manage the workspace's chatbot flows.";

/// Flows, sessions and the runner that moves sessions on.
pub struct BotService {
    pub(super) store: Arc<dyn Store>,
    pub(super) messages: Arc<MessageService>,
    pub(super) hub: Arc<crate::realtime::Hub>,
    /// Whether HTTP nodes may call private addresses (as outgoing webhooks may).
    pub(super) allow_private: bool,
    /// Sessions being moved on by this node right now (one task per session at a time).
    pub(super) busy: Mutex<HashSet<BotSessionId>>,
    /// For tests: fail the next step after its messages are sent and before it is recorded, as a
    /// crash there would.
    #[doc(hidden)]
    pub crash_after_send: std::sync::atomic::AtomicBool,
}

fn admin_only(actor: Actor) -> Result<(), ServiceError> {
    if actor.role.is_admin() { Ok(()) } else { Err(ServiceError::Forbidden(ADMINS_MANAGE_FLOWS)) }
}

fn staff_only(actor: Actor) -> Result<(), ServiceError> {
    if actor.role.is_staff() {
        Ok(())
    } else {
        Err(ServiceError::Forbidden("Bot sessions are for the workspace's agents."))
    }
}

impl BotService {
    pub fn new(
        store: Arc<dyn Store>,
        messages: Arc<MessageService>,
        hub: Arc<crate::realtime::Hub>,
        allow_private: bool,
    ) -> Self {
        Self {
            store,
            messages,
            hub,
            allow_private,
            busy: Mutex::new(HashSet::new()),
            crash_after_send: std::sync::atomic::AtomicBool::new(false),
        }
    }

    pub async fn flows(&self, actor: Actor) -> Result<Vec<Flow>, ServiceError> {
        staff_only(actor)?;
        Ok(self.store.flows(actor.workspace_id).await?)
    }

    pub async fn flow(&self, actor: Actor, id: FlowId) -> Result<Flow, ServiceError> {
        staff_only(actor)?;
        self.store.flow(actor.workspace_id, id).await?.ok_or(ServiceError::NotFound("flow"))
    }

    /// A new flow (a draft: it runs once published).
    pub async fn create_flow(&self, actor: Actor, draft: FlowDraft) -> Result<Flow, ServiceError> {
        admin_only(actor)?;
        draft.validate()?;
        self.check_channels(actor, &draft).await?;
        if self.store.flows(actor.workspace_id).await?.len() >= MAX_FLOWS {
            return Err(ServiceError::Unprocessable(
                "too_many_flows",
                format!("A workspace has at most {MAX_FLOWS} flows; delete one first."),
            ));
        }
        Ok(self.store.create_flow(actor.workspace_id, &draft, actor.user_id).await?)
    }

    pub async fn update_flow(
        &self,
        actor: Actor,
        id: FlowId,
        draft: FlowDraft,
    ) -> Result<Flow, ServiceError> {
        admin_only(actor)?;
        draft.validate()?;
        self.check_channels(actor, &draft).await?;
        self.store
            .update_flow(actor.workspace_id, id, &draft)
            .await
            .map_err(|e| ServiceError::from(e).not_found_as("flow"))
    }

    /// Turns a published flow's triggers on or off (sessions running go on).
    pub async fn set_enabled(&self, actor: Actor, id: FlowId, enabled: bool) -> Result<Flow, ServiceError> {
        admin_only(actor)?;
        let flow = self.flow(actor, id).await?;
        if enabled && flow.version == 0 {
            return Err(ServiceError::Unprocessable(
                "flow_unpublished",
                "Publish the flow before turning it on.".into(),
            ));
        }
        self.store
            .set_flow_enabled(actor.workspace_id, id, enabled)
            .await
            .map_err(|e| ServiceError::from(e).not_found_as("flow"))
    }

    pub async fn delete_flow(&self, actor: Actor, id: FlowId) -> Result<(), ServiceError> {
        admin_only(actor)?;
        self.store
            .delete_flow(actor.workspace_id, id)
            .await
            .map_err(|e| ServiceError::from(e).not_found_as("flow"))
    }

    /// Checks the draft's graph ([`switchboard::flow::FlowGraph::validate`]) and the labels and
    /// people it names, then freezes it as the next version; sessions already running keep
    /// theirs.
    pub async fn publish(&self, actor: Actor, id: FlowId) -> Result<FlowVersion, ServiceError> {
        admin_only(actor)?;
        let flow = self.flow(actor, id).await?;
        flow.draft.validate()?;
        let labels: HashSet<_> =
            self.store.labels(actor.workspace_id).await?.into_iter().map(|l| l.id).collect();
        let staff: HashSet<_> = self
            .store
            .members(actor.workspace_id)
            .await?
            .into_iter()
            .filter(|(m, _)| m.role.is_staff())
            .map(|(m, _)| m.user_id)
            .collect();
        for node in &flow.draft.nodes {
            let field = format!("nodes.{}", node.id);
            match &node.action {
                switchboard::flow::Action::SetLabel { label_id, .. } if !labels.contains(label_id) => {
                    return Err(ValidationError::new(
                        &field,
                        "The label it sets is not one of the workspace's",
                    )
                    .into());
                }
                switchboard::flow::Action::HandOver { assignee: Some(user), .. } if !staff.contains(user) => {
                    return Err(ValidationError::new(
                        &field,
                        "It hands over to someone who is not an agent here",
                    )
                    .into());
                }
                switchboard::flow::Action::Http { url, .. } => {
                    // Variables may fill the address at run time, where it is checked again.
                    let literal = url.split("{{").next().unwrap_or_default();
                    if !url.contains("{{")
                        && crate::services::webhooks::check_url(literal, self.allow_private).is_err()
                    {
                        return Err(
                            ValidationError::new(&field, "The URL is not a public http(s) address").into()
                        );
                    }
                }
                _ => {}
            }
        }
        self.store
            .publish_flow(actor.workspace_id, id, actor.user_id)
            .await
            .map_err(|e| ServiceError::from(e).not_found_as("flow"))
    }

    async fn check_channels(&self, actor: Actor, draft: &FlowDraft) -> Result<(), ServiceError> {
        for channel in &draft.triggers.new_conversation_on {
            if self.store.channel(actor.workspace_id, *channel).await?.is_none() {
                return Err(ValidationError::new(
                    "triggers",
                    format!("channel {channel} is not one of the workspace's"),
                )
                .into());
            }
        }
        Ok(())
    }

    pub async fn business_hours(&self, actor: Actor) -> Result<Option<BusinessHours>, ServiceError> {
        staff_only(actor)?;
        Ok(self.store.business_hours(actor.workspace_id).await?)
    }

    pub async fn set_business_hours(
        &self,
        actor: Actor,
        hours: Option<BusinessHours>,
    ) -> Result<(), ServiceError> {
        admin_only(actor)?;
        if let Some(hours) = &hours {
            hours.validate()?;
            if hours.time_zone.parse::<chrono_tz::Tz>().is_err() {
                return Err(ValidationError::new(
                    "time_zone",
                    "is not an IANA time zone such as Europe/Berlin",
                )
                .into());
            }
        }
        Ok(self.store.set_business_hours(actor.workspace_id, hours.as_ref()).await?)
    }

    pub async fn sessions(
        &self,
        actor: Actor,
        filter: SessionFilter,
    ) -> Result<Vec<BotSession>, ServiceError> {
        staff_only(actor)?;
        Ok(self.store.bot_sessions(actor.workspace_id, &filter).await?)
    }

    pub async fn session(&self, actor: Actor, id: BotSessionId) -> Result<BotSession, ServiceError> {
        staff_only(actor)?;
        let session = self.store.bot_session(id).await?.filter(|s| s.workspace_id == actor.workspace_id);
        let session = session.ok_or(ServiceError::NotFound("bot session"))?;
        access::conversation(self.store.as_ref(), actor, session.conversation_id, Right::Read).await?;
        Ok(session)
    }

    /// The events of a session's topic so far (at most [`MAX_SESSION_EVENTS`]), oldest first.
    pub async fn events(
        &self,
        actor: Actor,
        id: BotSessionId,
    ) -> Result<Vec<switchboard::Event>, ServiceError> {
        self.session(actor, id).await?;
        Ok(self.store.events_after(switchboard::Topic::Session(id), 0, MAX_SESSION_EVENTS).await?)
    }

    /// The running or waiting session of a conversation, if any.
    pub async fn live(
        &self,
        actor: Actor,
        conversation: ConversationId,
    ) -> Result<Option<BotSession>, ServiceError> {
        staff_only(actor)?;
        access::conversation(self.store.as_ref(), actor, conversation, Right::Read).await?;
        Ok(self.store.live_session(conversation).await?)
    }

    /// An agent starts a published flow in a conversation with a contact.
    pub async fn start_by_hand(
        &self,
        actor: Actor,
        conversation: ConversationId,
        flow: FlowId,
    ) -> Result<BotSession, ServiceError> {
        staff_only(actor)?;
        let granted = access::conversation(self.store.as_ref(), actor, conversation, Right::Post).await?;
        if switchboard::access::is_room(&granted.conversation) {
            return Err(ServiceError::Unprocessable(
                "bot_in_room",
                "Chatbot flows answer contacts, not rooms.".into(),
            ));
        }
        let flow = self.flow(actor, flow).await?;
        if flow.version == 0 {
            return Err(ServiceError::Unprocessable(
                "flow_unpublished",
                "Publish the flow before running it.".into(),
            ));
        }
        self.start(&flow, &granted.conversation, Some(actor.user_id)).await
    }

    /// An agent presses Stop.
    pub async fn stop_by_hand(&self, actor: Actor, id: BotSessionId) -> Result<BotSession, ServiceError> {
        let session = self.session(actor, id).await?;
        if !session.status.is_live() {
            return Err(ServiceError::Conflict("The session has already ended."));
        }
        self.stop(session, Completion::StoppedByAgent).await
    }

    /// Ends a live session for `reason`, whatever step it is at (retried if it moves meanwhile).
    pub(super) async fn stop(
        &self,
        mut session: BotSession,
        reason: Completion,
    ) -> Result<BotSession, ServiceError> {
        for _ in 0..5 {
            let step = switchboard::store::SessionAdvance {
                workspace_id: session.workspace_id,
                id: session.id,
                expected_steps: session.steps,
                status: reason.status(),
                current_node: None,
                variables: session.variables.clone(),
                wait_until: None,
                executed: None,
                messages: Vec::new(),
                completion: Some(reason),
            };
            match self.store.advance_session(step).await {
                Ok(done) => return Ok(done),
                Err(StoreError::Conflict { .. }) => {
                    session = self
                        .store
                        .bot_session(session.id)
                        .await?
                        .ok_or(ServiceError::NotFound("bot session"))?;
                    if !session.status.is_live() {
                        return Ok(session);
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Conflict("The session kept moving; try again."))
    }
}
