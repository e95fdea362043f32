//! Who may do what to a conversation: the rules, with no I/O. The server's `access` module
//! looks up the facts (the caller's workspace role, whether the conversation is a room and the
//! caller's place in it) and asks these functions; every door (REST, server functions, the
//! realtime gateway) goes through it, so one place decides. The rules in words are in
//! `docs/access.md`.
//!
//! - A **contact conversation** (a chat with someone on a network) belongs to the workspace's
//!   shared inbox: every member of the workspace may read it, answer it and mark it read.
//! - A **room** (an in-app conversation of members, no contact) is private to its members.
//!   Owners and admins may also read and moderate every room of their workspace (moderation
//!   needs it), but they post only into rooms they belong to (they may add themselves).
//!   Agents see only the rooms they belong to.

use serde::{Deserialize, Serialize};

use crate::account::MemberRole;
use crate::message::Conversation;
use crate::topic::Topic;

/// A member's role in one room.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RoomRole {
    /// Reads, posts, adds members, leaves.
    #[default]
    Member,
    /// Also removes other members. The room's creator is its first moderator.
    Moderator,
}

impl RoomRole {
    pub fn as_str(&self) -> &'static str {
        match self {
            RoomRole::Member => "member",
            RoomRole::Moderator => "moderator",
        }
    }
}

impl std::str::FromStr for RoomRole {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "member" => Ok(RoomRole::Member),
            "moderator" => Ok(RoomRole::Moderator),
            other => Err(format!("unknown room role `{other}`")),
        }
    }
}

/// What kind of room, and so who may read, post in and join it (documented in `docs/access.md`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RoomType {
    /// A conversation of its members: they read, post and add others.
    #[default]
    Messaging,
    /// A team's room: as `messaging`, and any of the workspace's staff may join it themselves.
    Team,
    /// Everyone in the workspace (its staff and its app's users) reads it and may join it;
    /// members post.
    Livestream,
}

impl RoomType {
    pub fn as_str(&self) -> &'static str {
        match self {
            RoomType::Messaging => "messaging",
            RoomType::Team => "team",
            RoomType::Livestream => "livestream",
        }
    }
}

impl std::str::FromStr for RoomType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "messaging" => Ok(RoomType::Messaging),
            "team" => Ok(RoomType::Team),
            "livestream" => Ok(RoomType::Livestream),
            other => Err(format!("unknown room type `{other}` (messaging, team or livestream)")),
        }
    }
}

/// What a caller wants to do with a conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Right {
    /// See it in lists and `/sync`, read its history, subscribe to its topic, see presence
    /// and its members, mark it read.
    Read,
    /// Send into it (and say one is typing).
    Post,
    /// Resolve or reopen it.
    Resolve,
    /// Edit or delete other people's messages in it.
    Moderate,
    /// Add members to a room.
    AddMembers,
    /// Add oneself to a room.
    Join,
    /// Remove another member from a room (leaving, removing oneself, needs only [`Right::Read`]
    /// as a member).
    RemoveMembers,
}

/// The facts a decision needs about one caller and one conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Standing {
    /// The caller's role in the workspace holding the conversation.
    pub role: MemberRole,
    /// Whether the conversation is a room (else it is a contact conversation).
    pub room: bool,
    /// The caller's place in the room, if they are a member (always `None` outside rooms).
    pub room_role: Option<RoomRole>,
    /// The room's type (`messaging` outside rooms).
    pub room_type: RoomType,
}

impl Standing {
    /// Whether the caller may do `right`.
    pub fn may(&self, right: Right) -> bool {
        let admin = self.role.is_admin();
        if !self.room && !self.role.is_staff() {
            // App users never see the shared inbox.
            return false;
        }
        if !self.room {
            // The shared inbox: every member answers and resolves; others' messages are the
            // admins' to change; it has no members to manage.
            return match right {
                Right::Read | Right::Post | Right::Resolve => true,
                Right::Moderate => admin,
                Right::AddMembers | Right::RemoveMembers | Right::Join => false,
            };
        }
        let member = self.room_role.is_some();
        let moderator = self.room_role == Some(RoomRole::Moderator);
        let open = self.room_type == RoomType::Livestream;
        match right {
            Right::Read => member || admin || open,
            Right::Join => {
                member || admin || open || (self.room_type == RoomType::Team && self.role.is_staff())
            }
            Right::Post => member,
            // Resolving is the desk's: an app user's rooms have no inbox state to change.
            Right::Resolve => self.role.is_staff() && (member || admin),
            Right::AddMembers => member || admin,
            Right::Moderate | Right::RemoveMembers => moderator || admin,
        }
    }
}

/// Whether a conversation is a room: a conversation of members with no contact.
pub fn is_room(conversation: &Conversation) -> bool {
    conversation.contact_id.is_none()
}

/// Which rooms a list (`GET /conversations`, `/sync`) shows a caller.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RoomScope {
    /// Only rooms the caller is a member of (the safe default).
    #[default]
    Member,
    /// Every room of the workspace (owners and admins).
    All,
    /// Only rooms the caller is a member of, and no contact conversation (app users).
    Joined,
}

impl RoomScope {
    /// The scope a workspace role sees.
    pub fn of(role: MemberRole) -> Self {
        match role {
            MemberRole::User => RoomScope::Joined,
            MemberRole::Agent => RoomScope::Member,
            MemberRole::Admin | MemberRole::Owner => RoomScope::All,
        }
    }
}

/// The topic that carries a conversation's list updates (`conversation.updated`): the
/// workspace's inbox for contact conversations, which every member follows; the room's own
/// topic for rooms, so that nobody outside the room hears of its activity.
pub fn list_topic(conversation: &Conversation) -> Topic {
    if is_room(conversation) {
        Topic::Conversation(conversation.id)
    } else {
        Topic::Inbox(conversation.workspace_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standing(role: MemberRole, room: bool, room_role: Option<RoomRole>) -> Standing {
        Standing { role, room, room_role, room_type: RoomType::Messaging }
    }

    #[test]
    fn a_rooms_type_says_who_reads_and_joins_it_and_members_alone_post() {
        let outside = |role, room_type| Standing { role, room: true, room_role: None, room_type };
        for role in [MemberRole::User, MemberRole::Agent] {
            let live = outside(role, RoomType::Livestream);
            assert!(live.may(Right::Read) && live.may(Right::Join), "{role:?}");
            assert!(!live.may(Right::Post) && !live.may(Right::AddMembers) && !live.may(Right::Moderate));
            let messaging = outside(role, RoomType::Messaging);
            assert!(!messaging.may(Right::Read) && !messaging.may(Right::Join));
        }
        assert!(outside(MemberRole::Agent, RoomType::Team).may(Right::Join));
        assert!(!outside(MemberRole::Agent, RoomType::Team).may(Right::Read));
        assert!(!outside(MemberRole::User, RoomType::Team).may(Right::Join), "teams are the staff's");
        let member =
            Standing { room_role: Some(RoomRole::Member), ..outside(MemberRole::User, RoomType::Livestream) };
        assert!(member.may(Right::Post));
    }

    #[test]
    fn every_workspace_member_answers_the_shared_inbox() {
        for role in MemberRole::ALL {
            let s = standing(role, false, None);
            for right in [Right::Read, Right::Post, Right::Resolve] {
                assert!(s.may(right), "{role:?} {right:?}");
            }
            assert_eq!(s.may(Right::Moderate), role.is_admin());
            assert!(!s.may(Right::AddMembers) && !s.may(Right::RemoveMembers));
        }
    }

    #[test]
    fn app_users_never_see_the_shared_inbox_and_act_in_their_rooms_as_members() {
        let inbox = standing(MemberRole::User, false, None);
        for right in [Right::Read, Right::Post, Right::Resolve, Right::Moderate, Right::AddMembers] {
            assert!(!inbox.may(right), "{right:?}");
        }
        assert!(!standing(MemberRole::User, true, None).may(Right::Read));
        let member = standing(MemberRole::User, true, Some(RoomRole::Member));
        assert!(member.may(Right::Read) && member.may(Right::Post));
        assert!(!member.may(Right::Resolve) && !member.may(Right::Moderate));
        assert!(standing(MemberRole::User, true, Some(RoomRole::Moderator)).may(Right::Moderate));
    }

    #[test]
    fn an_agent_outside_a_room_may_do_nothing_in_it() {
        let s = standing(MemberRole::Agent, true, None);
        let all = [
            Right::Read,
            Right::Post,
            Right::Resolve,
            Right::Moderate,
            Right::AddMembers,
            Right::RemoveMembers,
        ];
        for right in all {
            assert!(!s.may(right), "{right:?}");
        }
    }

    #[test]
    fn admins_read_and_moderate_every_room_but_post_only_as_members() {
        for role in [MemberRole::Admin, MemberRole::Owner] {
            let outside = standing(role, true, None);
            assert!(outside.may(Right::Read) && outside.may(Right::Moderate));
            assert!(outside.may(Right::AddMembers) && outside.may(Right::RemoveMembers));
            assert!(!outside.may(Right::Post));
            assert!(standing(role, true, Some(RoomRole::Member)).may(Right::Post));
        }
    }

    #[test]
    fn members_add_and_moderators_remove() {
        let member = standing(MemberRole::Agent, true, Some(RoomRole::Member));
        assert!(member.may(Right::Read) && member.may(Right::Post) && member.may(Right::AddMembers));
        assert!(member.may(Right::Resolve));
        assert!(!member.may(Right::RemoveMembers) && !member.may(Right::Moderate));
        let moderator = standing(MemberRole::Agent, true, Some(RoomRole::Moderator));
        assert!(moderator.may(Right::RemoveMembers) && moderator.may(Right::Moderate));
    }

    #[test]
    fn admins_list_every_room_agents_their_own() {
        assert_eq!(RoomScope::of(MemberRole::Agent), RoomScope::Member);
        assert_eq!(RoomScope::of(MemberRole::Admin), RoomScope::All);
        assert_eq!(RoomScope::of(MemberRole::Owner), RoomScope::All);
        assert_eq!(RoomScope::of(MemberRole::User), RoomScope::Joined);
        assert_eq!(RoomScope::default(), RoomScope::Member);
    }

    #[test]
    fn room_activity_stays_on_the_room_topic() {
        let mut c = Conversation {
            id: crate::ConversationId::new(),
            workspace_id: crate::WorkspaceId::new(),
            channel_id: crate::ChannelId::new(),
            contact_id: None,
            external_chat_id: "room".into(),
            title: "t".into(),
            last_message_at: None,
            last_message_preview: None,
            last_message_sender_user_id: None,
            status: Default::default(),
            snoozed_until: None,
            assignee_id: None,
            label_ids: Vec::new(),
            created_at: crate::time::now(),
            last_inbound_at: None,
            room_type: None,
            custom: None,
            frozen: false,
            slow_mode_secs: None,
        };
        assert_eq!(list_topic(&c), Topic::Conversation(c.id));
        c.contact_id = Some(crate::ContactId::new());
        assert_eq!(list_topic(&c), Topic::Inbox(c.workspace_id));
    }
}
