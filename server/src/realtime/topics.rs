//! Who may read a topic, decided on every subscribe (and every history or presence call) by
//! the access module ([`crate::access::topic`]): `conversation:{id}` for those who may read the
//! conversation (a room: its members, and the workspace's owners and admins),
//! `inbox:{workspace_id}` for members of the workspace, `user:{id}` for that user. Here the
//! decision becomes the protocol's error: 103 "permission denied", 102 "unknown channel".

use switchboard::{ConversationId, Store, Topic, UserId};

use super::protocol::{Error, codes};
use crate::access::{self, TopicRefusal};
use crate::services::{Actor, ServiceError};

fn denied() -> Error {
    Error::new(codes::PERMISSION_DENIED, "permission denied")
}

/// Whether `user` may read the named topic; the protocol's error if not.
pub async fn authorize(store: &dyn Store, user: UserId, name: &str) -> Result<Topic, Error> {
    access::topic(store, user, name).await.map_err(error)
}

/// The topic a name names; 102 "unknown channel" if none.
pub fn named(name: &str) -> Result<Topic, Error> {
    access::topic_named(name).map_err(error)
}

/// Whether `user` may read the topic, with its position (see [`access::topic_position`]).
pub async fn authorize_at(store: &dyn Store, user: UserId, topic: Topic) -> Result<i64, Error> {
    access::topic_position(store, user, topic).await.map_err(error)
}

fn error(refusal: TopicRefusal) -> Error {
    match refusal {
        TopicRefusal::Unknown => Error::new(codes::UNKNOWN_CHANNEL, "unknown channel"),
        TopicRefusal::Denied => denied(),
        TopicRefusal::Failed(e) => super::connection::rpc_error(e),
    }
}

/// The caller as a member of the workspace holding the conversation, if they may read it:
/// for RPCs, which then ask the service (which checks the call's own right). Permission
/// denied when no workspace of theirs holds it (ids of other workspaces stay secret); a room
/// they may not read is the service's refusal (403), as over REST.
pub async fn conversation_actor(store: &dyn Store, user: UserId, id: ConversationId) -> Result<Actor, Error> {
    match access::conversation_of_user(store, user, id, switchboard::access::Right::Read).await {
        Ok(granted) => Ok(granted.actor),
        Err(ServiceError::NotFound(_)) => Err(denied()),
        Err(e) => Err(super::connection::rpc_error(e)),
    }
}
