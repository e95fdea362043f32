//! What a connection may reach outside itself, and nothing more: the realtime layer (hub,
//! settings, publishing), the account service (to authenticate a connect or a refresh), the
//! message service (the RPC writes, through the same path as REST), and reads of the store (the
//! caller's memberships and session, topic authorization, and the event log for recovery,
//! history and gaps). The HTTP layer builds one from its state for each upgrade.

use std::sync::Arc;

use switchboard::access::Right;
use switchboard::{ConversationId, Event, Store, StoreError, Topic, UserId, WorkspaceId};

use super::super::protocol::Error;
use super::super::{Realtime, RealtimeConfig, topics};
use crate::services::accounts::{Authenticated, TokenRefusal, Via};
use crate::services::{AccountService, Actor, MessageService, ServiceError};

/// A connection's view of the server. Cheap to clone (four `Arc`s).
#[derive(Clone)]
pub struct Gateway {
    realtime: Arc<Realtime>,
    accounts: Arc<AccountService>,
    messages: Arc<MessageService>,
    store: Arc<dyn Store>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway").field("realtime", &self.realtime).finish_non_exhaustive()
    }
}

impl Gateway {
    pub fn new(
        realtime: Arc<Realtime>,
        accounts: Arc<AccountService>,
        messages: Arc<MessageService>,
        store: Arc<dyn Store>,
    ) -> Self {
        Self { realtime, accounts, messages, store }
    }

    pub fn realtime(&self) -> &Arc<Realtime> {
        &self.realtime
    }

    pub fn config(&self) -> &RealtimeConfig {
        &self.realtime.config
    }

    /// The services the RPC methods call.
    pub fn messages(&self) -> &MessageService {
        &self.messages
    }

    /// Who a session token (the cookie) names, if it is live.
    pub async fn authenticate_cookie(&self, token: &str) -> Result<Authenticated, TokenRefusal> {
        self.accounts.authenticate(token).await.map_err(|e| match e {
            switchboard::auth::AuthError::Internal => TokenRefusal::Internal,
            _ => TokenRefusal::Invalid,
        })
    }

    /// Who a realtime token names, and when it expires (Unix seconds).
    pub async fn authenticate_token(&self, token: &str) -> Result<(Authenticated, i64), TokenRefusal> {
        self.accounts.authenticate_realtime(token).await
    }

    /// The workspaces the caller belongs to (where their online presence is told). An app
    /// user's is their token's key's, checked active with the token: no read.
    pub async fn workspaces(&self, who: &Authenticated) -> Result<Vec<WorkspaceId>, StoreError> {
        if let Via::UserToken { workspace, .. } = who.via {
            return Ok(vec![workspace]);
        }
        Ok(self.store.memberships(who.user.id).await?.into_iter().map(|m| m.workspace.id).collect())
    }

    /// Whether what authenticated the connection still holds: the session (not signed out,
    /// revoked or expired), or the API key (not revoked) and the app user (not deactivated).
    pub async fn still_valid(&self, who: &Authenticated) -> Result<bool, StoreError> {
        self.accounts.still_valid(who).await
    }

    /// Whether `user` may read the named topic; the protocol's error if not.
    pub async fn authorize(&self, user: UserId, name: &str) -> Result<Topic, Error> {
        topics::authorize(self.store.as_ref(), user, name).await
    }

    /// The user as a member of the workspace holding the conversation; 103 if they have no
    /// access to it.
    pub async fn conversation_actor(&self, user: UserId, id: ConversationId) -> Result<Actor, Error> {
        topics::conversation_actor(self.store.as_ref(), user, id).await
    }

    /// Whether the actor may post in the conversation (what a typing notice announces).
    pub async fn may_post(&self, actor: Actor, id: ConversationId) -> Result<(), ServiceError> {
        crate::access::conversation(self.store.as_ref(), actor, id, Right::Post).await.map(|_| ())
    }

    /// The log's epoch.
    pub async fn epoch(&self) -> Result<String, StoreError> {
        self.realtime.epoch().await
    }

    /// Whether `user` may read the topic, and its position (the offset of its latest event),
    /// read together where they can be: a subscribe's, once it listens for the topic.
    pub async fn authorize_at(&self, user: UserId, topic: Topic) -> Result<i64, Error> {
        topics::authorize_at(self.store.as_ref(), user, topic).await
    }

    /// Up to `limit` events of the topic after offset `after`, in order.
    pub async fn events_after(&self, topic: Topic, after: i64, limit: u32) -> Result<Vec<Event>, StoreError> {
        let mut events = self.store.events_after(topic, after, limit).await?;
        let hub = self.realtime.bus().hub();
        for event in &mut events {
            if let std::borrow::Cow::Owned(signed) = hub.outgoing(event) {
                *event = signed;
            }
        }
        Ok(events)
    }
}
