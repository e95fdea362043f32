//! Access: who the caller is, which workspace they act in, and what they may do with a
//! conversation or a realtime topic. Every door asks here — the REST extractors
//! (`http::extract`), the pages' server functions (`http::web`), the realtime gateway's
//! subscribe, history, presence and RPC (`realtime::topics`, `realtime::connection`) — and the
//! messaging service checks each conversation call here too. The rules themselves are pure,
//! in [`switchboard::access`]; this module looks up the facts they need. In words:
//! `docs/access.md`.

use switchboard::access::{Right, Standing};
use switchboard::{Conversation, ConversationId, Membership, Store, Topic, UserId, WorkspaceId};

use crate::services::accounts::Authenticated;
use crate::services::{AccountService, Actor, ServiceError};

/// The caller behind a session or realtime-minted token; 401 otherwise.
pub async fn caller(accounts: &AccountService, token: &str) -> Result<Authenticated, ServiceError> {
    accounts.authenticate(token).await.map_err(ServiceError::Auth)
}

/// The membership a call acts in: the workspace it names (the API's `X-Workspace-Id`, the
/// page's own workspace for a server function), else the user's default workspace while they
/// belong to it, else their only one. 403 for a workspace they are not a member of, 400
/// `workspace_required` when nothing decides.
pub async fn acting_membership(
    store: &dyn Store,
    user_id: UserId,
    named: Option<WorkspaceId>,
) -> Result<Membership, ServiceError> {
    let memberships = store.memberships(user_id).await?;
    if let Some(id) = named {
        return memberships.into_iter().find(|m| m.workspace.id == id).ok_or(ServiceError::Refused(
            403,
            "forbidden",
            "You are not a member of this workspace.",
        ));
    }
    if memberships.is_empty() {
        return Err(ServiceError::Refused(403, "forbidden", "You are not a member of any workspace."));
    }
    let default = store.default_workspace(user_id).await?;
    switchboard::account::acting_membership(&memberships, default).cloned().ok_or(ServiceError::Refused(
        400,
        "workspace_required",
        "You belong to several workspaces and have no default: name one with the \
             X-Workspace-Id header, or set a default with PUT /api/v1/me/default-workspace.",
    ))
}

/// The caller as an [`Actor`] of the workspace a call acts in (see [`acting_membership`]).
pub async fn actor(
    store: &dyn Store,
    user_id: UserId,
    named: Option<WorkspaceId>,
) -> Result<Actor, ServiceError> {
    let membership = acting_membership(store, user_id, named).await?;
    Ok(Actor { user_id, workspace_id: membership.workspace.id, role: membership.role })
}

/// A conversation the caller may act on, with where they stand in it.
#[derive(Clone, Debug)]
pub struct Granted {
    pub actor: Actor,
    pub conversation: Conversation,
    pub standing: Standing,
}

impl Granted {
    /// Whether the caller may also do `right`.
    pub fn may(&self, right: Right) -> bool {
        self.standing.may(right)
    }
}

/// The refusal for a room the caller may see but not do `right` in, or may not see at all.
fn refused(right: Right, may_read: bool) -> ServiceError {
    match right {
        _ if !may_read => ServiceError::Forbidden("This room is private to its members."),
        Right::Post => ServiceError::Forbidden("Only the room's members post in it; add yourself first."),
        Right::Moderate => {
            ServiceError::Forbidden("Only the sender, a room moderator or an admin can do this.")
        }
        Right::RemoveMembers => {
            ServiceError::Forbidden("Only a room moderator or an admin removes other members.")
        }
        _ => ServiceError::Forbidden("You may not do this in this conversation."),
    }
}

/// The workspace's conversation if the actor may do `right` with it: 404 when the workspace
/// holds no such conversation, 403 when it is a room the actor may not see (or may see but not
/// do `right` in).
pub async fn conversation(
    store: &dyn Store,
    actor: Actor,
    id: ConversationId,
    right: Right,
) -> Result<Granted, ServiceError> {
    let (conversation, room_role) = store
        .conversation_standing(actor.workspace_id, id, actor.user_id)
        .await?
        .ok_or(ServiceError::NotFound("conversation"))?;
    grant(actor, conversation, room_role, right)
}

/// The rules' decision on facts read: `right` granted, or refused in words.
fn grant(
    actor: Actor,
    conversation: Conversation,
    room_role: Option<switchboard::access::RoomRole>,
    right: Right,
) -> Result<Granted, ServiceError> {
    let standing = Standing {
        role: actor.role,
        room: switchboard::access::is_room(&conversation),
        room_role,
        room_type: conversation.room_type.unwrap_or_default(),
    };
    if !standing.may(right) {
        return Err(refused(right, standing.may(Right::Read)));
    }
    Ok(Granted { actor, conversation, standing })
}

/// Like [`conversation`], for a caller who names no workspace (the realtime gateway: a
/// conversation id alone): the workspace is the conversation's, if the caller is of it (one
/// read). 404 when the conversation does not exist or is of no workspace of theirs (the
/// gateway answers that as "permission denied", like a room it may not read, so ids of other
/// workspaces stay secret).
pub async fn conversation_of_user(
    store: &dyn Store,
    user_id: UserId,
    id: ConversationId,
    right: Right,
) -> Result<Granted, ServiceError> {
    let (role, conversation, room_role) = store
        .conversation_standing_of_user(id, user_id)
        .await?
        .ok_or(ServiceError::NotFound("conversation"))?;
    let actor = Actor { user_id, workspace_id: conversation.workspace_id, role };
    grant(actor, conversation, room_role, right)
}

/// Whether `user` may read the named topic (subscribe, history, presence): `user:{id}` as
/// that user, `inbox:{workspace_id}` as a member of the workspace, `conversation:{id}` as one
/// who may read the conversation. `Invalid` for a name that is no topic.
pub async fn topic(store: &dyn Store, user_id: UserId, name: &str) -> Result<Topic, TopicRefusal> {
    let topic = topic_named(name)?;
    readable(store, user_id, topic).await.map(|_| topic)
}

/// The topic a name names, in the one spelling events are published under; `Unknown` for
/// anything else.
pub fn topic_named(name: &str) -> Result<Topic, TopicRefusal> {
    let topic: Topic = name.parse().map_err(|_| TopicRefusal::Unknown)?;
    // Events are published under the canonical name: another spelling of the same id
    // (upper-case hex) would subscribe to a name nothing is ever published on.
    if topic.to_string() != name {
        return Err(TopicRefusal::Unknown);
    }
    Ok(topic)
}

/// [`topic`]'s decision and the topic's position (the offset of its latest event, 0 when it
/// has none), for a subscribe that already listens for the topic's publications: a
/// conversation's in one read.
pub async fn topic_position(store: &dyn Store, user_id: UserId, topic: Topic) -> Result<i64, TopicRefusal> {
    let Topic::Conversation(id) = topic else {
        readable(store, user_id, topic).await?;
        return store.topic_position(topic).await.map_err(|e| TopicRefusal::Failed(e.into()));
    };
    let found =
        store.conversation_standing_at(id, user_id).await.map_err(|e| TopicRefusal::Failed(e.into()))?;
    let Some(((role, conversation, room_role), position)) = found else { return Err(TopicRefusal::Denied) };
    let actor = Actor { user_id, workspace_id: conversation.workspace_id, role };
    grant(actor, conversation, room_role, Right::Read).map_err(refusal)?;
    Ok(position)
}

async fn readable(store: &dyn Store, user_id: UserId, topic: Topic) -> Result<(), TopicRefusal> {
    match topic {
        Topic::User(id) if id == user_id => Ok(()),
        Topic::User(_) => Err(TopicRefusal::Denied),
        Topic::Inbox(ws) => {
            match store.member(ws, user_id).await.map_err(|e| TopicRefusal::Failed(e.into()))? {
                Some(_) => Ok(()),
                None => Err(TopicRefusal::Denied),
            }
        }
        Topic::Conversation(id) => {
            conversation_of_user(store, user_id, id, Right::Read).await.map(|_| ()).map_err(refusal)
        }
        // A bot session is read like its conversation, by the workspace's staff.
        Topic::Session(id) => {
            let session = store.bot_session(id).await.map_err(|e| TopicRefusal::Failed(e.into()))?;
            let Some(session) = session else { return Err(TopicRefusal::Denied) };
            match conversation_of_user(store, user_id, session.conversation_id, Right::Read).await {
                Ok(granted) if granted.actor.role.is_staff() => Ok(()),
                Ok(_) => Err(TopicRefusal::Denied),
                Err(e) => Err(refusal(e)),
            }
        }
    }
}

/// A refused conversation as a topic's refusal: not theirs (or not there) is denied alike.
fn refusal(e: ServiceError) -> TopicRefusal {
    match e {
        ServiceError::Forbidden(_) | ServiceError::NotFound(_) => TopicRefusal::Denied,
        e => TopicRefusal::Failed(e),
    }
}

/// Why a topic may not be read.
#[derive(Debug)]
pub enum TopicRefusal {
    /// Not one of our topic names.
    Unknown,
    /// Not the caller's to read (or not there: the gateway does not tell them apart).
    Denied,
    /// The decision could not be made (the store failed).
    Failed(ServiceError),
}

/// What a list of the workspace's events hides from the actor: the events of rooms they may
/// not read (their topics, and their entries on the workspace's inbox topic).
pub struct EventFilter {
    hidden: std::collections::HashSet<ConversationId>,
}

impl EventFilter {
    /// The filter for this actor (empty for owners and admins, who read every room).
    pub async fn for_actor(store: &dyn Store, actor: Actor) -> Result<Self, ServiceError> {
        let hidden = match switchboard::access::RoomScope::of(actor.role) {
            switchboard::access::RoomScope::All => Default::default(),
            // App users never reach the workspace's log (`/sync` is the staff's); were they to,
            // their hidden rooms are as an agent's.
            switchboard::access::RoomScope::Member | switchboard::access::RoomScope::Joined => {
                store.hidden_rooms(actor.workspace_id, actor.user_id).await?.into_iter().collect()
            }
        };
        Ok(Self { hidden })
    }

    /// Whether the actor may see this event.
    pub fn shows(&self, event: &switchboard::Event) -> bool {
        if self.hidden.is_empty() {
            return true;
        }
        let about = match event.topic {
            Topic::Conversation(id) => Some(id),
            // Conversation list entries.
            Topic::Inbox(_) => event.body.conversation_id(),
            Topic::User(_) => None,
            // A bot session's events are its conversation's.
            Topic::Session(_) => event.body.conversation_id(),
        };
        about.is_none_or(|id| !self.hidden.contains(&id))
    }
}
