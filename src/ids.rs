//! Newtype ids. Every entity has its own id type so a `UserId` can never be passed where a
//! `WorkspaceId` is expected. Ids are UUIDv7: time-sortable, so cursors can page by id.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh time-sortable id (UUIDv7).
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// The underlying UUID.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }
    };
}

id_type!(
    /// A user account (a person who signs in).
    UserId
);
id_type!(
    /// A workspace (a tenant).
    WorkspaceId
);
id_type!(
    /// A sign-in session; revoked on sign-out.
    SessionId
);
id_type!(
    /// A connected messaging account of a workspace.
    ChannelId
);
id_type!(
    /// A party on the other side of a channel.
    ContactId
);
id_type!(
    /// A thread of messages in one channel.
    ConversationId
);
id_type!(
    /// One message; time-sortable, so history pages by id.
    MessageId
);
id_type!(
    /// One persisted event.
    EventId
);
id_type!(
    /// An invitation to join a workspace.
    InvitationId
);
id_type!(
    /// A file attached to a message (an upload until a send uses it).
    AttachmentId
);
id_type!(
    /// An API key of a workspace (its public half; the secret is shown once).
    ApiKeyId
);
id_type!(
    /// An outgoing webhook endpoint of a workspace.
    WebhookId
);
id_type!(
    /// A ban of a member from a room, or of an app user from every room of a workspace.
    BanId
);
id_type!(
    /// A flag raised on a message or a person for the moderators to look at.
    FlagId
);
id_type!(
    /// A workspace label put on conversations.
    LabelId
);
id_type!(
    /// A workspace's canned reply (a snippet with a short code).
    CannedReplyId
);
id_type!(
    /// A chatbot flow of a workspace (its versions share it).
    FlowId
);
id_type!(
    /// One run of a chatbot flow in one conversation (a bot session; not a sign-in session).
    BotSessionId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_creation_time() {
        let a = UserId::new();
        let b = UserId::new();
        assert!(a < b, "UUIDv7 ids must sort by creation: {a} !< {b}");
    }

    #[test]
    fn ids_round_trip_through_display_and_serde() {
        let id = WorkspaceId::new();
        assert_eq!(id.to_string().parse::<WorkspaceId>().unwrap(), id);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        assert_eq!(serde_json::from_str::<WorkspaceId>(&json).unwrap(), id);
    }
}
