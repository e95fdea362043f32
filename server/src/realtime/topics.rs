//! Topic names and who may read them, decided on every subscribe (and every history or
//! presence call): `conversation:{id}` with access to the conversation's channel,
//! `inbox:{workspace_id}` as a member, `user:{id}` as that user.

use switchboard::{ConversationId, Store, StoreError, UserId, WorkspaceId};

use super::protocol::{Error, codes};
use crate::services::Actor;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    Conversation(ConversationId),
    Inbox(WorkspaceId),
    User(UserId),
}

impl Topic {
    pub fn parse(name: &str) -> Option<Topic> {
        let (kind, id) = name.split_once(':')?;
        match kind {
            "conversation" => id.parse().ok().map(Topic::Conversation),
            "inbox" => id.parse().ok().map(Topic::Inbox),
            "user" => id.parse().ok().map(Topic::User),
            _ => None,
        }
    }
}

fn denied() -> Error {
    Error::new(codes::PERMISSION_DENIED, "permission denied")
}

fn internal(e: StoreError) -> Error {
    tracing::error!(error = %e, "store error while authorizing a topic");
    Error::temporary(codes::INTERNAL, "internal server error")
}

/// Whether `user` may read the named topic; the protocol's error if not.
pub async fn authorize(store: &dyn Store, user: UserId, name: &str) -> Result<Topic, Error> {
    let topic = Topic::parse(name).ok_or_else(|| Error::new(codes::UNKNOWN_CHANNEL, "unknown channel"))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names_parse_strictly() {
        let id = ConversationId::new();
        assert_eq!(Topic::parse(&format!("conversation:{id}")), Some(Topic::Conversation(id)));
        assert_eq!(Topic::parse("conversation:nope"), None);
        assert_eq!(Topic::parse("news:1"), None);
        assert_eq!(Topic::parse("inbox"), None);
    }
}
