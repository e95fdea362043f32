//! Moderation: what workspace admins and room moderators do about people and messages, and
//! the rules a send meets. A **ban** keeps a member from posting in a room, or an app user in
//! every room of the workspace, for a while or for good; a **shadow** ban lets them post, but
//! only they ever see what they post. A **frozen** room takes no new messages (reading goes
//! on); **slow mode** lets each member post once per so many seconds. The workspace's
//! **blocklist** refuses or flags messages with its words, whatever their case or accents.
//! Anyone who reads a message may **flag** it (or its author) for the moderators, whose queue
//! lists the flags with the message in context; every moderation action is recorded.
//! A member may **mute** another: the muted one's messages stop counting as unread for them and
//! show folded.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{BanId, ConversationId, FlagId, MessageId, UserId, WorkspaceId};
use crate::validate::ValidationError;

/// Longest slow mode: a day.
pub const MAX_SLOW_MODE_SECS: u32 = 86_400;
/// Longest ban with an end: a year (longer is for good).
pub const MAX_BAN_SECS: u64 = 365 * 86_400;
/// Longest reason or blocked word.
pub const MAX_REASON_CHARS: usize = 500;
/// Most words in a workspace's blocklist.
pub const MAX_BLOCKED_WORDS: usize = 500;

/// A ban in force (or over, when `expires_at` is past).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ban {
    pub id: BanId,
    pub workspace_id: WorkspaceId,
    pub user_id: UserId,
    /// The room; none: every room of the workspace.
    pub conversation_id: Option<ConversationId>,
    pub shadow: bool,
    pub reason: String,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    /// None: for good.
    pub expires_at: Option<DateTime<Utc>>,
}

/// `POST /api/v1/moderation/bans`.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateBan {
    pub user_id: UserId,
    /// The room (its moderators may ban from it); none: every room of the workspace (admins;
    /// app users only).
    #[serde(default)]
    pub conversation_id: Option<ConversationId>,
    /// Let them post, visible to themselves alone.
    #[serde(default)]
    pub shadow: bool,
    #[serde(default)]
    pub reason: String,
    /// How long (1 second to a year); none: for good.
    #[serde(default)]
    pub duration_secs: Option<u64>,
}

/// Why a flag was raised, and what became of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FlagStatus {
    Open,
    Dismissed,
    /// A moderator acted on it (deleted the message, banned the person).
    Actioned,
}

impl FlagStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            FlagStatus::Open => "open",
            FlagStatus::Dismissed => "dismissed",
            FlagStatus::Actioned => "actioned",
        }
    }
}

impl std::str::FromStr for FlagStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "open" => Ok(FlagStatus::Open),
            "dismissed" => Ok(FlagStatus::Dismissed),
            "actioned" => Ok(FlagStatus::Actioned),
            other => Err(format!("unknown flag status `{other}`")),
        }
    }
}

/// A flag on a message or a person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Flag {
    pub id: FlagId,
    pub conversation_id: Option<ConversationId>,
    pub message_id: Option<MessageId>,
    /// The person flagged (a message's author, when a message was).
    pub target_user_id: Option<UserId>,
    pub reason: String,
    /// Who raised it; none: the blocklist.
    pub flagged_by: Option<UserId>,
    pub status: FlagStatus,
    pub created_at: DateTime<Utc>,
    pub resolved_by: Option<UserId>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// A flag as the queue shows it: the message and the ones around it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FlagInContext {
    pub flag: Flag,
    /// The messages before the flagged one, it, and those after, oldest first.
    pub context: Vec<crate::Message>,
}

/// `POST /api/v1/messages/{id}/flag` and `POST /api/v1/moderation/flags` (a person).
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateFlag {
    pub reason: String,
    /// Flagging a person (not a message): who.
    #[serde(default)]
    pub user_id: Option<UserId>,
}

/// What a moderator does with a flag (`POST /api/v1/moderation/flags/{id}/resolve`).
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum FlagResolution {
    Dismiss,
    DeleteMessage,
    /// Bans the flagged person from the flag's room (app users: every room, when the flag
    /// names none).
    Ban {
        #[serde(default)]
        shadow: bool,
        #[serde(default)]
        duration_secs: Option<u64>,
    },
}

/// One moderation action, as recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModerationAction {
    pub actor_id: Option<UserId>,
    /// `ban`, `unban`, `flag`, `dismiss`, `delete_message`, `freeze`, `unfreeze`, `slow_mode`,
    /// `blocklist`.
    pub action: String,
    pub target_user_id: Option<UserId>,
    pub conversation_id: Option<ConversationId>,
    pub message_id: Option<MessageId>,
    pub detail: String,
    pub created_at: DateTime<Utc>,
}

/// What the blocklist does with a message holding one of its words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BlockAction {
    /// Refused with a clear error; nothing stored.
    Block,
    /// Stored and sent, and a flag raised for the moderators.
    Flag,
}

impl BlockAction {
    pub fn as_str(&self) -> &'static str {
        match self {
            BlockAction::Block => "block",
            BlockAction::Flag => "flag",
        }
    }
}

/// A blocklist entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlockedWord {
    /// As folded for matching (lower case, no accents).
    pub word: String,
    pub action: BlockAction,
}

/// `PUT /api/v1/moderation/blocklist`: the whole list.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PutBlocklist {
    pub words: Vec<BlockedWordInput>,
}

/// A word (or phrase) as given.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BlockedWordInput {
    pub word: String,
    pub action: BlockAction,
}

/// `PUT /api/v1/conversations/{id}/slow-mode`.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SlowMode {
    /// Seconds between one member's messages, 1 to a day; 0 turns slow mode off.
    pub seconds: u32,
}

/// A reason as given: trimmed, at most [`MAX_REASON_CHARS`].
pub fn reason(field: &'static str, raw: &str, required: bool) -> Result<String, ValidationError> {
    let reason = raw.trim();
    if required && reason.is_empty() {
        return Err(ValidationError::new(field, "is empty"));
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(ValidationError::new(field, format!("is at most {MAX_REASON_CHARS} characters")));
    }
    crate::validate::no_nul(field, reason)?;
    Ok(reason.to_owned())
}

/// Whether `folded_text` holds `folded_word` as whole words (a phrase's words in a row).
/// Both are already folded (see the server's `fold`).
pub fn holds_word(folded_text: &str, folded_word: &str) -> bool {
    let words: Vec<&str> =
        folded_text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    let wanted: Vec<&str> =
        folded_word.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    !wanted.is_empty() && words.windows(wanted.len()).any(|w| w == wanted.as_slice())
}

/// The wait left before `now` for a member who last posted at `last` in a room whose slow mode
/// is `secs` (none: they may post now).
pub fn slow_mode_wait(
    last: Option<DateTime<Utc>>,
    secs: u32,
    now: DateTime<Utc>,
) -> Option<std::time::Duration> {
    let last = last?;
    let next = last + chrono::Duration::seconds(i64::from(secs));
    (next > now).then(|| (next - now).to_std().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_match_whole_and_phrases_in_a_row() {
        assert!(holds_word("you are a spam bot", "spam"));
        assert!(!holds_word("spammer here", "spam"), "not inside a longer word");
        assert!(holds_word("buy cheap pills now", "cheap pills"));
        assert!(!holds_word("cheap, but no pills", "cheap pills"));
        assert!(holds_word("spam!", "spam"));
        assert!(!holds_word("anything", ""));
    }

    #[test]
    fn slow_mode_tells_the_wait_left() {
        let now = Utc::now();
        assert_eq!(slow_mode_wait(None, 30, now), None);
        let wait = slow_mode_wait(Some(now - chrono::Duration::seconds(10)), 30, now).unwrap();
        assert_eq!(wait.as_secs(), 20);
        assert_eq!(slow_mode_wait(Some(now - chrono::Duration::seconds(31)), 30, now), None);
    }

    #[test]
    fn reasons_are_bounded() {
        assert_eq!(reason("reason", "  rude  ", true).unwrap(), "rude");
        assert!(reason("reason", " ", true).is_err());
        assert_eq!(reason("reason", "", false).unwrap(), "");
        assert!(reason("reason", &"x".repeat(501), false).is_err());
    }
}
