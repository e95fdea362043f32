//! Realtime topics: the named streams events are published on and clients subscribe to
//! (`conversation:{id}`, `inbox:{workspace_id}`, `user:{id}`, `session:{id}`). The realtime protocol calls them
//! channels; here they are topics, to keep "channel" for connected accounts.
//!
//! A topic name is formatted and parsed only here, so the server, the gateway's authorization
//! and the browser agree on it by construction.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ids::{BotSessionId, ConversationId, UserId, WorkspaceId};

/// One realtime stream. On the wire (and in the event log) it is its name, e.g.
/// `conversation:0190…`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Topic {
    /// The messages of one conversation.
    Conversation(ConversationId),
    /// A workspace's inbox: conversations appearing, moving and changing status.
    Inbox(WorkspaceId),
    /// One user's own stream: their read state, their notifications.
    User(UserId),
    /// A bot session's run: its messages, nodes and status (read like its conversation).
    Session(BotSessionId),
}

impl Topic {
    /// The name's prefix, before the `:`.
    fn prefix(&self) -> &'static str {
        match self {
            Topic::Conversation(_) => "conversation",
            Topic::Inbox(_) => "inbox",
            Topic::User(_) => "user",
            Topic::Session(_) => "session",
        }
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Topic::Conversation(id) => write!(f, "{}:{id}", self.prefix()),
            Topic::Inbox(id) => write!(f, "{}:{id}", self.prefix()),
            Topic::User(id) => write!(f, "{}:{id}", self.prefix()),
            Topic::Session(id) => write!(f, "{}:{id}", self.prefix()),
        }
    }
}

/// A name that is not one of our topics.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown topic `{0}`")]
pub struct UnknownTopic(pub String);

impl FromStr for Topic {
    type Err = UnknownTopic;
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        let unknown = || UnknownTopic(name.to_owned());
        let (kind, id) = name.split_once(':').ok_or_else(unknown)?;
        match kind {
            "conversation" => id.parse().map(Topic::Conversation),
            "inbox" => id.parse().map(Topic::Inbox),
            "user" => id.parse().map(Topic::User),
            "session" => id.parse().map(Topic::Session),
            _ => return Err(unknown()),
        }
        .map_err(|_| unknown())
    }
}

impl From<Topic> for String {
    fn from(topic: Topic) -> String {
        topic.to_string()
    }
}

impl TryFrom<String> for Topic {
    type Error = UnknownTopic;
    fn try_from(name: String) -> Result<Self, Self::Error> {
        name.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let conversation = ConversationId::new();
        let topics =
            [Topic::Conversation(conversation), Topic::Inbox(WorkspaceId::new()), Topic::User(UserId::new())];
        for topic in topics {
            assert_eq!(topic.to_string().parse::<Topic>(), Ok(topic));
            let json = serde_json::to_value(topic).unwrap();
            assert_eq!(json, serde_json::Value::String(topic.to_string()));
            assert_eq!(serde_json::from_value::<Topic>(json).unwrap(), topic);
        }
        assert_eq!(Topic::Conversation(conversation).to_string(), format!("conversation:{conversation}"));
    }

    #[test]
    fn names_parse_strictly() {
        let id = ConversationId::new();
        for bad in
            ["conversation:nope", "news:1", &format!("news:{id}"), "inbox", "", &format!("Conversation:{id}")]
        {
            assert_eq!(bad.parse::<Topic>(), Err(UnknownTopic(bad.to_owned())), "{bad}");
        }
        assert!(serde_json::from_str::<Topic>("\"user:x\"").is_err());
    }
}
