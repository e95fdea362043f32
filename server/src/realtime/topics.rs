//! Who may read a topic, decided on every subscribe (and every history or presence call):
//! `conversation:{id}` with access to the conversation's channel, `inbox:{workspace_id}` as a
//! member, `user:{id}` as that user. The names themselves are [`switchboard::Topic`]'s.

use switchboard::{ConversationId, Store, StoreError, Topic, UserId};

use super::protocol::{Error, codes};
use crate::services::Actor;

fn denied() -> Error {
    Error::new(codes::PERMISSION_DENIED, "permission denied")
}

fn internal(e: StoreError) -> Error {
    tracing::error!(error = %e, "store error while authorizing a topic");
    Error::temporary(codes::INTERNAL, "internal server error")
}

/// Whether `user` may read the named topic; the protocol's error if not.
pub async fn authorize(store: &dyn Store, user: UserId, name: &str) -> Result<Topic, Error> {
    let topic: Topic = name.parse().map_err(|_| Error::new(codes::UNKNOWN_CHANNEL, "unknown channel"))?;
    match topic {
        Topic::User(id) if id == user => Ok(topic),
        Topic::User(_) => Err(denied()),
        Topic::Inbox(ws) => match store.member(ws, user).await.map_err(internal)? {
            Some(_) => Ok(topic),
            None => Err(denied()),
        },
        Topic::Conversation(id) => conversation_actor(store, user, id).await.map(|_| topic),
    }
}

/// The caller as a member of the workspace holding the conversation; permission denied when
/// they have no access to it (whether or not it exists: ids of other workspaces stay secret).
pub async fn conversation_actor(store: &dyn Store, user: UserId, id: ConversationId) -> Result<Actor, Error> {
    for membership in store.memberships(user).await.map_err(internal)? {
        if store.conversation(membership.workspace.id, id).await.map_err(internal)?.is_some() {
            return Ok(Actor { user_id: user, workspace_id: membership.workspace.id, role: membership.role });
        }
    }
    Err(denied())
}
