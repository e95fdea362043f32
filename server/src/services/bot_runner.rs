//! Running bot sessions: triggers (a new conversation on a chosen channel, a keyword), the
//! customer's answers, timeouts, an agent's reply that stops the bot, and the steps between.
//!
//! Every step is taken by [`switchboard::flow::run::step`] and recorded with its events in one
//! transaction ([`switchboard::store::FlowRepo::advance_session`]), only if the session is
//! still where the step began (so two nodes or two tasks never both move it). A step's
//! messages go through the normal send path under the key `bot:{session}:{step}:{n}`: a step
//! taken again after a crash between sending and recording finds its messages already sent.
//! A waiting session is a row; the waker looks every second for questions whose time is up
//! and for running sessions nobody has touched for a while (their server stopped), so waits,
//! timeouts and half-run steps survive a restart.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::{Datelike, Timelike};
use switchboard::flow::events::NodeExecuted;
use switchboard::flow::run::{self, Effect, Env, HttpAnswer, Input, Next};
use switchboard::flow::{BotSession, Completion, Flow, SessionStatus};
use switchboard::message::SendMessage;
use switchboard::provider::Direction;
use switchboard::store::{NewAssignment, NewSession, SessionAdvance};
use switchboard::{Conversation, ConversationId, Message, StoreError};

use super::bots::BotService;
use super::{Actor, ServiceError};

/// How often the waker looks for due sessions.
pub const BOT_TICK: Duration = Duration::from_secs(1);
/// A running session untouched this long is taken up again (its runner stopped).
pub const STALE_AFTER: Duration = Duration::from_secs(10);
/// How long an HTTP node waits for its answer.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

impl BotService {
    /// Follows the messages stored on this node: starts flows, hands answers to waiting
    /// sessions, stops a session when an agent writes.
    ///
    /// Messages are taken as they queued up. The team's messages (every room message among
    /// them) matter only where a bot is running, so one read for the whole batch finds those
    /// conversations, instead of one read per message; the rest are taken one at a time, in
    /// order, as before. A team message whose conversation had a message taken earlier in the
    /// batch is taken too (that message may have started a session).
    pub async fn listen(
        self: Arc<Self>,
        messages: Arc<tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<Message>>>,
    ) {
        let mut messages = messages.lock().await;
        let mut batch = Vec::new();
        while messages.recv_many(&mut batch, 256).await > 0 {
            let replies: Vec<ConversationId> = batch
                .iter()
                .filter(|m| m.direction == Direction::Outbound && !m.note && !m.from_bot)
                .map(|m| m.conversation_id)
                .collect();
            let live = if replies.is_empty() {
                Some(HashSet::new())
            } else {
                match self.store.conversations_with_live_sessions(&replies).await {
                    Ok(live) => Some(live),
                    Err(e) => {
                        // Read again per message instead.
                        tracing::warn!(error = %e, "bot sessions could not be read for a batch");
                        None
                    }
                }
            };
            let mut taken: HashSet<ConversationId> = HashSet::new();
            for message in batch.drain(..) {
                let conversation = message.conversation_id;
                let idle = live.as_ref().is_some_and(|live| !live.contains(&conversation));
                if message.direction == Direction::Outbound && idle && !taken.contains(&conversation) {
                    continue;
                }
                taken.insert(conversation);
                if let Err(e) = self.on_message(message).await {
                    tracing::warn!(error = %e, "a bot could not take a message");
                }
            }
        }
    }

    /// Every [`BOT_TICK`], moves on the sessions whose question timed out or whose run stopped.
    pub async fn wake(self: Arc<Self>) {
        loop {
            if let Err(e) = self.wake_due(switchboard::time::now()).await {
                tracing::warn!(error = %e, "bot sessions could not be woken");
            }
            tokio::time::sleep(BOT_TICK).await;
        }
    }

    /// One look at due sessions as of `now`; returns how many were moved on.
    pub async fn wake_due(&self, now: chrono::DateTime<chrono::Utc>) -> Result<usize, ServiceError> {
        let stale = now - chrono::Duration::from_std(STALE_AFTER).unwrap_or_default();
        let due = self.store.due_sessions(now, stale, 50).await?;
        let count = due.len();
        for session in due {
            let input =
                if session.status == SessionStatus::WaitingInput { Input::Timeout } else { Input::Continue };
            if let Err(e) = self.drive(session, input, None).await {
                tracing::warn!(error = %e, "a bot session could not go on");
            }
        }
        Ok(count)
    }

    async fn on_message(&self, message: Message) -> Result<(), ServiceError> {
        if message.note || message.from_bot {
            return Ok(());
        }
        let live = self.store.live_session(message.conversation_id).await?;
        match (message.direction, live) {
            (Direction::Outbound, Some(session)) => {
                self.stop(session, Completion::AgentReplied).await?;
            }
            (Direction::Outbound, None) => {}
            (Direction::Inbound, Some(session)) if session.status == SessionStatus::WaitingInput => {
                let text = message.text.clone();
                self.drive(session, Input::Reply(text), Some(message)).await?;
            }
            // The customer wrote while the bot was between steps: the next question hears them.
            (Direction::Inbound, Some(_)) => {}
            (Direction::Inbound, None) => self.trigger(message).await?,
        }
        Ok(())
    }

    /// Starts the flow a customer's message triggers, if any: a keyword first, else a flow for
    /// new conversations on the channel when this message opened the conversation.
    async fn trigger(&self, message: Message) -> Result<(), ServiceError> {
        let flows: Vec<Flow> = self.store.flows(message.workspace_id).await?;
        if !flows.iter().any(|f| f.enabled && f.version > 0) {
            return Ok(());
        }
        let Some(conversation) =
            self.store.conversation(message.workspace_id, message.conversation_id).await?
        else {
            return Ok(());
        };
        if let Some(flow) = switchboard::flow::triggered(&flows, &message, &conversation) {
            match self.start(flow, &conversation, None).await {
                Ok(_) | Err(ServiceError::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Begins a session of the flow's published version and runs it to its first wait.
    pub(super) async fn start(
        &self,
        flow: &Flow,
        conversation: &Conversation,
        by: Option<switchboard::UserId>,
    ) -> Result<BotSession, ServiceError> {
        let version = self
            .store
            .flow_version(flow.id, flow.version)
            .await?
            .ok_or(ServiceError::NotFound("flow version"))?;
        let new = NewSession {
            workspace_id: conversation.workspace_id,
            flow_id: flow.id,
            flow_version: version.version,
            flow_name: flow.name.clone(),
            conversation_id: conversation.id,
            channel_id: conversation.channel_id,
            contact_id: conversation.contact_id,
            start: version.graph.start.clone(),
            variables: run::contact_variables(&conversation.title),
            started_by: by,
        };
        let session = match self.store.start_session(new).await {
            Err(StoreError::Conflict { .. }) => {
                return Err(ServiceError::Conflict("A bot is already running in this conversation."));
            }
            other => other?,
        };
        let id = session.id;
        self.drive(session, Input::Continue, None).await?;
        self.store.bot_session(id).await?.ok_or(ServiceError::NotFound("bot session"))
    }

    /// Takes steps from where the session is until it waits or ends. One task per session on
    /// this node; a session another node moved meanwhile is left to it.
    pub(super) async fn drive(
        &self,
        session: BotSession,
        input: Input,
        incoming: Option<Message>,
    ) -> Result<(), ServiceError> {
        let id = session.id;
        if !self.busy.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(id) {
            return Ok(());
        }
        let result = self.steps(session, input, incoming).await;
        self.busy.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&id);
        match result {
            Err(ServiceError::Store(StoreError::Conflict { .. })) => Ok(()),
            other => other,
        }
    }

    async fn steps(
        &self,
        mut session: BotSession,
        mut input: Input,
        mut incoming: Option<Message>,
    ) -> Result<(), ServiceError> {
        let version = self
            .store
            .flow_version(session.flow_id, session.flow_version)
            .await?
            .ok_or(ServiceError::NotFound("flow version"))?;
        let graph = version.graph;
        // The bot writes as the version's publisher, marked as the bot's.
        let actor = match version.published_by {
            Some(user) => self.store.member(session.workspace_id, user).await?.map(|m| Actor {
                user_id: user,
                workspace_id: session.workspace_id,
                role: m.role,
            }),
            None => None,
        };
        let Some(actor) = actor else {
            self.stop(session, Completion::Failed).await?;
            return Ok(());
        };
        let env = Env { business_hours_open: self.open_now(&session).await? };
        for _ in 0..run::MAX_STEPS_PER_WAKE {
            let Some(node) = session.current_node.clone() else { return Ok(()) };
            let mut vars = session.variables.clone();
            if session.status == SessionStatus::Running
                && let Some((method, url, body)) = run::http_request(&graph, &node, &vars)
            {
                // The same key if a crash makes the step run again: the receiver can tell.
                let key = format!("bot:{}:{}", session.id, session.steps);
                input = Input::Http(self.call(method, &url, body, &key).await);
            }
            let step = match run::step(&graph, session.status, &node, &mut vars, input.clone(), env) {
                Ok(step) => step,
                Err(e) => {
                    tracing::warn!(error = %e, session_id = %session.id, "a bot session cannot go on");
                    self.stop(session, Completion::Failed).await?;
                    return Ok(());
                }
            };
            let mut messages: Vec<Message> = incoming.take().into_iter().collect();
            for (n, effect) in step.effects.into_iter().enumerate() {
                match effect {
                    Effect::Send { text, choices } => {
                        let key = format!("bot:{}:{}:{n}", session.id, session.steps);
                        let req = SendMessage {
                            text,
                            buttons: choices,
                            client_message_id: Some(key),
                            ..Default::default()
                        };
                        let sent = self
                            .messages
                            .send_from(actor, session.conversation_id, req, None, None, true)
                            .await?;
                        messages.push(sent.message);
                    }
                    Effect::SetLabel(label) => {
                        let conversation =
                            self.store.conversation(session.workspace_id, session.conversation_id).await?;
                        let mut labels = conversation.map(|c| c.label_ids).unwrap_or_default();
                        if !labels.contains(&label) {
                            labels.push(label);
                            self.messages.set_labels(actor, session.conversation_id, &labels).await?;
                        }
                    }
                    Effect::HandOver { assignee } => self.hand_over(&session, assignee).await?,
                }
            }
            if self.crash_after_send.swap(false, Ordering::SeqCst) {
                return Err(ServiceError::Unavailable("crash injected after the step's sends".into()));
            }
            let node_name =
                |id: &str| graph.node(id).map(|n| (n.name().to_owned(), n.action.kind().to_owned()));
            let executed = step.executed.as_deref().and_then(|id| {
                node_name(id).map(|(label, kind)| NodeExecuted {
                    session_id: session.id,
                    node_id: id.to_owned(),
                    label,
                    kind,
                    step: 0,
                })
            });
            let now = switchboard::time::now();
            let (status, current_node, wait_until, completion) = match &step.next {
                Next::Run(next) => (SessionStatus::Running, Some(next.clone()), None, None),
                Next::Wait { node, timeout_secs } => (
                    SessionStatus::WaitingInput,
                    Some(node.clone()),
                    timeout_secs.map(|s| now + chrono::Duration::seconds(i64::from(s))),
                    None,
                ),
                Next::End(reason) => (reason.status(), None, None, Some(*reason)),
            };
            session = self
                .store
                .advance_session(SessionAdvance {
                    workspace_id: session.workspace_id,
                    id: session.id,
                    expected_steps: session.steps,
                    status,
                    current_node,
                    variables: vars,
                    wait_until,
                    executed,
                    messages,
                    completion,
                })
                .await?;
            if !matches!(step.next, Next::Run(_)) {
                return Ok(());
            }
            input = Input::Continue;
        }
        // Validation refuses loops that never wait; a graph that still spins is stopped.
        self.stop(session, Completion::Failed).await?;
        Ok(())
    }

    /// The conversation goes to the team: to the assignee named, else to the queue (the
    /// channel's round-robin, when it has one).
    async fn hand_over(
        &self,
        session: &BotSession,
        assignee: Option<switchboard::UserId>,
    ) -> Result<(), ServiceError> {
        let (ws, id) = (session.workspace_id, session.conversation_id);
        match assignee {
            Some(user) => {
                let assignment = NewAssignment { assignee: Some(user), by: None, only_if_unassigned: false };
                match self.store.assign(ws, id, assignment).await {
                    Ok(_) | Err(StoreError::NotFound) => Ok(()),
                    Err(e) => Err(e.into()),
                }
            }
            None => Ok(super::desk::assign_one(self.store.as_ref(), &self.hub, ws, id, None).await?),
        }
    }

    /// Whether the workspace is open now (no business hours set: always).
    async fn open_now(&self, session: &BotSession) -> Result<bool, ServiceError> {
        let Some(hours) = self.store.business_hours(session.workspace_id).await? else { return Ok(true) };
        let Ok(zone) = hours.time_zone.parse::<chrono_tz::Tz>() else { return Ok(true) };
        let local = switchboard::time::now().with_timezone(&zone);
        let minute = (local.hour() * 60 + local.minute()) as u16;
        Ok(hours.open_at(local.weekday().num_days_from_monday() as usize, minute))
    }

    /// An HTTP node's call, through the outgoing webhooks' guard (no private address unless
    /// the server allows it, no redirect, a time limit).
    async fn call(
        &self,
        method: switchboard::flow::HttpMethod,
        url: &str,
        body: Option<String>,
        idempotency_key: &str,
    ) -> Option<HttpAnswer> {
        let client =
            crate::services::webhooks::client_for(url, self.allow_private, HTTP_TIMEOUT).await.ok()?;
        let request = match method {
            switchboard::flow::HttpMethod::Get => client.get(url),
            switchboard::flow::HttpMethod::Post => {
                client.post(url).header("content-type", "application/json").body(body.unwrap_or_default())
            }
        };
        let response = request.header("idempotency-key", idempotency_key).send().await.ok()?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.ok()?;
        let body = String::from_utf8_lossy(&bytes[..bytes.len().min(16 * 1024)]).into_owned();
        Some(HttpAnswer { status, body })
    }
}
