//! Reactions: an emoji a member or a contact puts on a message. A member may put each emoji
//! once on a message (and several different ones); a contact on a network that allows one
//! reaction per person (WhatsApp) has theirs replaced by the next. Each message carries the
//! counts per emoji and who reacted, so history needs no second read; every change is a
//! `reaction.added` or `reaction.removed` event on the conversation's topic.

use serde::{Deserialize, Serialize};

use crate::ids::{ContactId, ConversationId, MessageId, UserId};
use crate::validate::ValidationError;

/// Longest reaction, in characters (one emoji, with its skin tone and joiners).
pub const MAX_REACTION_CHARS: usize = 16;
/// How many members' ids each count names (the count itself is exact).
pub const MAX_REACTORS_NAMED: usize = 20;

/// One emoji on a message: how many reacted with it, and who.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReactionCount {
    pub emoji: String,
    pub count: u32,
    /// The members who reacted with it, first first (at most [`MAX_REACTORS_NAMED`]).
    #[serde(default)]
    pub user_ids: Vec<UserId>,
    /// Whether the conversation's contact reacted with it.
    #[serde(default)]
    pub by_contact: bool,
}

/// Who reacts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reactor {
    User(UserId),
    /// A contact of the message's channel, by the network's id for them.
    Contact(String),
}

/// What a change does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReactionOp {
    /// Puts the emoji on (nothing changes if it is already there).
    Add,
    /// Takes the emoji off (nothing changes if it is not there).
    Remove,
    /// The reactor's only reaction becomes the emoji (an empty emoji: none). WhatsApp's rule.
    Replace,
}

/// `reaction.added` / `reaction.removed`: one reactor's emoji on one message, with the
/// message's counts after the change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReactionChanged {
    pub message_id: MessageId,
    pub conversation_id: ConversationId,
    pub emoji: String,
    /// The member who reacted (none: the contact).
    pub user_id: Option<UserId>,
    /// The contact who reacted (none: a member).
    pub contact_id: Option<ContactId>,
    pub reactions: Vec<ReactionCount>,
}

/// A reaction as given: trimmed, one to [`MAX_REACTION_CHARS`] characters, no spaces or
/// control characters.
pub fn reaction_emoji(raw: &str) -> Result<String, ValidationError> {
    let emoji = raw.trim();
    let count = emoji.chars().count();
    if count == 0 || count > MAX_REACTION_CHARS {
        return Err(ValidationError::new("emoji", format!("is 1 to {MAX_REACTION_CHARS} characters")));
    }
    if emoji.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ValidationError::new("emoji", "is one emoji, without spaces"));
    }
    Ok(emoji.to_owned())
}

/// The counts of a message's reactions, from its rows in the order they were made: each emoji
/// in the order it first appeared, with its members in theirs.
pub fn summarize<'a>(rows: impl IntoIterator<Item = (&'a str, Option<UserId>, bool)>) -> Vec<ReactionCount> {
    let mut out: Vec<ReactionCount> = Vec::new();
    for (emoji, user, by_contact) in rows {
        let i = match out.iter().position(|r| r.emoji == emoji) {
            Some(i) => i,
            None => {
                out.push(ReactionCount {
                    emoji: emoji.to_owned(),
                    count: 0,
                    user_ids: Vec::new(),
                    by_contact: false,
                });
                out.len() - 1
            }
        };
        let entry = &mut out[i];
        entry.count += 1;
        entry.by_contact |= by_contact;
        if let Some(user) = user
            && entry.user_ids.len() < MAX_REACTORS_NAMED
        {
            entry.user_ids.push(user);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emoji_are_short_and_spaceless() {
        assert_eq!(reaction_emoji(" 👍 ").unwrap(), "👍");
        assert_eq!(reaction_emoji("👍🏽").unwrap(), "👍🏽");
        assert_eq!(reaction_emoji("👩‍👩‍👧").unwrap(), "👩‍👩‍👧");
        for bad in ["", "   ", "a b", "\u{0}", &"x".repeat(17)] {
            assert!(reaction_emoji(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn counts_keep_the_order_of_first_appearance() {
        let (a, b) = (UserId::new(), UserId::new());
        let counts = summarize([("👍", Some(a), false), ("❤️", None, true), ("👍", Some(b), false)]);
        assert_eq!(counts.len(), 2);
        assert_eq!(
            (counts[0].emoji.as_str(), counts[0].count, counts[0].user_ids.clone()),
            ("👍", 2, vec![a, b])
        );
        assert!(counts[1].by_contact && counts[1].user_ids.is_empty());
    }
}
