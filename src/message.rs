//! Conversations and messages: the model, the send command and its validation. The events a
//! change is recorded as are in [`crate::event`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ChannelId, ContactId, ConversationId, MessageId, UserId, WorkspaceId};
use crate::provider::Direction;
use crate::validate::ValidationError;

pub use crate::desk::{AssigneeFilter, MAX_SNOOZE_DAYS, UpdateConversation};

/// Longest message text, in characters.
mod buttons;
pub use buttons::{MAX_BUTTON_LABEL, MAX_BUTTONS, buttons, with_numbered_buttons};

pub const MAX_TEXT_CHARS: usize = 4096;
/// Longest client message id / idempotency key.
pub const MAX_CLIENT_ID_LEN: usize = 128;

/// Delivery state of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    Pending,
    Sent,
    Delivered,
    Read,
    Failed,
}

impl MessageStatus {
    pub const ALL: [MessageStatus; 5] = [
        MessageStatus::Pending,
        MessageStatus::Sent,
        MessageStatus::Delivered,
        MessageStatus::Read,
        MessageStatus::Failed,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            MessageStatus::Pending => "pending",
            MessageStatus::Sent => "sent",
            MessageStatus::Delivered => "delivered",
            MessageStatus::Read => "read",
            MessageStatus::Failed => "failed",
        }
    }

    /// Whether a message in this status may move to `next`: the one rule for "ticks only move
    /// forward" (pending → sent → delivered → read), shared by the store, the outbox and the UI.
    ///
    /// A pending send may fail; a failed one moves on when a later send or receipt proves it went
    /// through. Going back to pending is a retry, an explicit command this rule does not cover.
    /// Staying put is not an advance.
    pub fn advances_to(self, next: MessageStatus) -> bool {
        use MessageStatus::*;
        matches!(
            (self, next),
            (Pending, Sent | Delivered | Read | Failed)
                | (Sent, Delivered | Read)
                | (Delivered, Read)
                | (Failed, Sent | Delivered | Read)
        )
    }
}

impl std::str::FromStr for MessageStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MessageStatus::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown message status `{s}`"))
    }
}

/// Whether a conversation still needs attention.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatus {
    /// Needs an answer.
    #[default]
    Open,
    /// Waiting on someone (the customer, another team): out of the open queue until it moves.
    Pending,
    /// Done; the contact writing again opens it.
    Resolved,
    /// Out of the way until `snoozed_until`, or until the contact writes: then open again.
    Snoozed,
}

impl ConversationStatus {
    pub const ALL: [ConversationStatus; 4] = [
        ConversationStatus::Open,
        ConversationStatus::Pending,
        ConversationStatus::Resolved,
        ConversationStatus::Snoozed,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            ConversationStatus::Open => "open",
            ConversationStatus::Pending => "pending",
            ConversationStatus::Resolved => "resolved",
            ConversationStatus::Snoozed => "snoozed",
        }
    }
}

impl std::str::FromStr for ConversationStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ConversationStatus::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown conversation status `{s}` (open, pending, resolved or snoozed)"))
    }
}

/// A party on the other side of a channel, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContactRecord {
    pub id: ContactId,
    pub workspace_id: WorkspaceId,
    pub channel_id: ChannelId,
    pub external_id: String,
    pub name: String,
}

/// A thread of messages in one channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Conversation {
    pub id: ConversationId,
    pub workspace_id: WorkspaceId,
    pub channel_id: ChannelId,
    pub contact_id: Option<ContactId>,
    /// The network's chat id (the contact's id for one-to-one chats).
    pub external_chat_id: String,
    pub title: String,
    pub last_message_at: Option<DateTime<Utc>>,
    pub last_message_preview: Option<String>,
    /// Who of the staff wrote the last message (none: the contact, or no message yet): the
    /// list prefixes the preview with "You:" or their name.
    #[serde(default)]
    pub last_message_sender_user_id: Option<UserId>,
    /// Open until an agent resolves, snoozes or parks it; a new inbound message opens it again.
    pub status: ConversationStatus,
    /// When a snoozed conversation opens again by itself (only while `snoozed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snoozed_until: Option<DateTime<Utc>>,
    /// The agent answering it (none: unassigned, anyone may take it).
    #[serde(default)]
    pub assignee_id: Option<UserId>,
    /// Its labels (the workspace's, `GET /api/v1/labels`), in the order they were added.
    #[serde(default)]
    pub label_ids: Vec<crate::ids::LabelId>,
    pub created_at: DateTime<Utc>,
    /// When the contact last wrote, by the network's clock: networks with a reply window
    /// (WhatsApp's 24 hours) take free-form replies only until it closes.
    #[serde(default)]
    pub last_inbound_at: Option<DateTime<Utc>>,
    /// A room's type (none for a conversation with a contact).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room_type: Option<crate::access::RoomType>,
    /// A room's custom data, set by whoever made it (a JSON object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom: Option<serde_json::Value>,
    /// A frozen room takes no new messages; reading goes on.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub frozen: bool,
    /// Slow mode: seconds each member waits between their messages (moderators do not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slow_mode_secs: Option<u32>,
}

impl Conversation {
    /// Whether a free-form reply may go out at `now` on a network whose reply window is
    /// `window_secs` (`None`: no window).
    pub fn reply_window_open(&self, window_secs: Option<u64>, now: DateTime<Utc>) -> bool {
        match window_secs {
            None => true,
            Some(secs) => self
                .last_inbound_at
                .is_some_and(|at| now.signed_duration_since(at).num_seconds() < secs as i64),
        }
    }
}

/// How many messages a member has not read in a conversation, as every surface shows it:
/// exact up to 99, and [`UnreadCount::CAPPED`] (100) for "99+", more than 99. On the wire it
/// is a plain number (`unread_count` in the list, `read.updated` and the `mark_read` reply),
/// so a client that knows nothing of the cap still reads a number; 100 always means "99+".
/// The store counts at most 100 rows of an index range, so the count costs the same for 100
/// unread messages as for a million.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnreadCount(u32);

impl UnreadCount {
    /// "99+": more than 99 unread.
    pub const CAPPED: UnreadCount = UnreadCount(100);
    /// Nothing unread.
    pub const ZERO: UnreadCount = UnreadCount(0);

    /// A count of rows, capped (negative counts, which no query returns, read as zero).
    pub fn capped(count: i64) -> Self {
        Self(count.clamp(0, i64::from(Self::CAPPED.0)) as u32)
    }

    /// The number on the wire: exact below 100, 100 for "99+".
    pub fn get(self) -> u32 {
        self.0
    }

    /// More than 99: shown as "99+".
    pub fn is_capped(self) -> bool {
        self == Self::CAPPED
    }

    /// One more unread message (a live event), never past the cap.
    #[must_use]
    pub fn bumped(self) -> Self {
        Self::capped(i64::from(self.0) + 1)
    }
}

impl From<u32> for UnreadCount {
    fn from(count: u32) -> Self {
        Self::capped(i64::from(count))
    }
}

impl PartialEq<u32> for UnreadCount {
    fn eq(&self, other: &u32) -> bool {
        self.0 == *other
    }
}

/// The badge text: `7`, or `99+` beyond 99.
impl std::fmt::Display for UnreadCount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_capped() { f.write_str("99+") } else { write!(f, "{}", self.0) }
    }
}

/// A conversation as one member sees it in the list: with their unread count.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConversationSummary {
    #[serde(flatten)]
    pub conversation: Conversation,
    /// Unread messages: exact up to 99; 100 means "99+" (more than 99).
    #[cfg_attr(feature = "openapi", schema(value_type = u32, maximum = 100))]
    pub unread_count: UnreadCount,
    /// Unread messages that mention the caller.
    pub unread_mentions: u32,
    /// Whether the contact is online, as the network last said (`null`: no contact, or the
    /// network never said).
    #[serde(default)]
    pub contact_online: Option<bool>,
    /// Why the contact cannot be written to (they blocked the account), if so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_blocked: Option<String>,
}

/// Which conversations a list shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConversationFilter {
    pub channel_id: Option<crate::ids::ChannelId>,
    /// Case-insensitive substring of the title (the contact's name).
    pub search: Option<String>,
    /// Only conversations with unread messages for the caller.
    pub unread_only: bool,
    pub status: Option<ConversationStatus>,
    /// Whose conversations: the caller's, nobody's, or one agent's.
    pub assignee: Option<AssigneeFilter>,
    /// Only conversations with this label.
    pub label_id: Option<crate::ids::LabelId>,
    /// Which rooms the list holds; set by the server from the caller's role, never by a client.
    pub rooms: crate::access::RoomScope,
}

/// Longest search text.
pub const MAX_SEARCH_CHARS: usize = 100;

impl ConversationFilter {
    /// The search as a SQL `like` pattern (lowercased, wildcards escaped with `\`).
    pub fn like_pattern(&self) -> Option<String> {
        self.search.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(|s| {
            let escaped: String = s
                .to_lowercase()
                .chars()
                .flat_map(|c| match c {
                    '%' | '_' | '\\' => vec!['\\', c],
                    c => vec![c],
                })
                .collect();
            format!("%{escaped}%")
        })
    }
}

/// `POST /api/v1/conversations/{id}/read`.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MarkRead {
    /// Everything up to and including this message is read.
    pub up_to: MessageId,
}

/// One entry of a conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Message {
    pub id: MessageId,
    pub workspace_id: WorkspaceId,
    pub conversation_id: ConversationId,
    pub channel_id: ChannelId,
    pub direction: Direction,
    pub status: MessageStatus,
    pub text: String,
    /// The network's id, once known.
    pub external_id: Option<String>,
    /// The sender's own id for the message (the idempotency key of a send).
    pub client_message_id: Option<String>,
    /// The member who sent an outbound message.
    pub sender_user_id: Option<UserId>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    /// When the text last changed (by its sender or, for inbound messages, by the network).
    pub edited_at: Option<DateTime<Utc>>,
    /// When it was deleted; a deleted message keeps its place with an empty text.
    pub deleted_at: Option<DateTime<Utc>>,
    /// The earlier message of the conversation this one answers.
    pub reply_to: Option<MessageId>,
    /// Files, places and cards the message carries (the text is then their caption).
    #[serde(default)]
    pub attachments: Vec<crate::media::Attachment>,
    /// The template this message was sent as (its text is then the template's rendering).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<TemplateSend>,
    /// Who wrote an inbound message in a group chat (the network's name for them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_name: Option<String>,
    /// The emoji on it: counts and who reacted, in the order they first appeared.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<crate::reaction::ReactionCount>,
    /// The message whose thread this reply is in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<MessageId>,
    /// A thread reply that was also sent to the conversation (it shows in both).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub show_in_conversation: bool,
    /// A thread's first message: its replies so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<ThreadSummary>,
    /// A private note: the team's alone, never sent to the contact (conversations with a
    /// contact only; shown apart in the inbox).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub note: bool,
    /// Sent by a chatbot flow (its session's `session.message` says so too).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub from_bot: bool,
    /// Quick-reply buttons shown under the text (a chatbot's choices) on a network that has
    /// them; pressing one answers with its label. Where the network has none, the labels went
    /// out as numbered lines of the text and this is empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<String>,
}

/// What a thread's first message says of its replies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ThreadSummary {
    pub reply_count: u32,
    pub last_reply_at: Option<DateTime<Utc>>,
    /// The members who replied last, the latest first (at most [`THREAD_PARTICIPANTS_NAMED`]).
    #[serde(default)]
    pub participants: Vec<UserId>,
}

/// How many of a thread's latest repliers its first message names.
pub const THREAD_PARTICIPANTS_NAMED: usize = 5;

impl ThreadSummary {
    /// The summary after one more reply from `sender` at `at`.
    pub fn with_reply(
        previous: Option<&ThreadSummary>,
        sender: Option<UserId>,
        at: DateTime<Utc>,
    ) -> ThreadSummary {
        let mut participants: Vec<UserId> = sender.into_iter().collect();
        if let Some(previous) = previous {
            participants.extend(previous.participants.iter().filter(|p| Some(**p) != sender));
        }
        participants.truncate(THREAD_PARTICIPANTS_NAMED);
        ThreadSummary {
            reply_count: previous.map_or(0, |p| p.reply_count).saturating_add(1),
            last_reply_at: Some(at),
            participants,
        }
    }
}

impl Message {
    /// What a conversation list shows for it: the text, or its first attachment's label.
    pub fn preview(&self) -> String {
        match (self.text.is_empty(), self.attachments.first()) {
            (true, Some(first)) => preview(&first.label()),
            _ => preview(&self.text),
        }
    }
}

/// How many messages a conversation may have pinned at once.
pub const MAX_PINS: usize = 50;

/// A pinned message of a conversation (`GET /api/v1/conversations/{id}/pins`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Pin {
    pub message: Message,
    /// Who pinned it (none: their account is gone).
    pub pinned_by: Option<UserId>,
    pub pinned_at: DateTime<Utc>,
}

/// `POST /api/v1/conversations/{id}/messages`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SendMessage {
    /// The text, or the caption of the attachments (may then be empty).
    #[serde(default)]
    pub text: String,
    /// Uploads (`POST /api/v1/uploads`) to carry, in order; each goes into one message only.
    #[serde(default)]
    pub attachments: Vec<crate::ids::AttachmentId>,
    /// The client's own id for the message; the `Idempotency-Key` header does the same.
    pub client_message_id: Option<String>,
    /// An earlier message of the same conversation this one answers.
    #[serde(default)]
    pub reply_to: Option<MessageId>,
    /// Send this pre-approved template (networks with templates; the text is then left empty).
    #[serde(default)]
    pub template: Option<TemplateSend>,
    /// Reply in the thread of this message of the same room (threads are rooms'; a message
    /// with a contact is answered with `reply_to`).
    #[serde(default)]
    pub parent_id: Option<MessageId>,
    /// A thread reply also sent to the conversation (shown in both, moving its preview).
    #[serde(default)]
    pub show_in_conversation: bool,
    /// A private note for the team: stored and shown to the staff, never sent to the contact
    /// (conversations with a contact only; no template).
    #[serde(default)]
    pub note: bool,
    /// Quick-reply buttons under the text, at most [`MAX_BUTTONS`] distinct labels of 1 to
    /// [`MAX_BUTTON_LABEL`] characters: the network's own buttons where it has them (within its
    /// limits), numbered lines of the text otherwise. The contact's press arrives as a message
    /// with the label.
    #[serde(default)]
    pub buttons: Vec<String>,
}

/// A network's pre-approved message template (WhatsApp's message templates).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Template {
    pub name: String,
    /// The language code (`en_US`).
    pub language: String,
    /// The network's category (`MARKETING`, `UTILITY`, `AUTHENTICATION`).
    pub category: String,
    /// The body with its numbered placeholders (`Hello {{1}}`).
    pub body: String,
    /// How many parameters the body takes.
    pub parameters: u32,
}

/// Longest template parameter, in characters.
pub const MAX_TEMPLATE_PARAMETER_CHARS: usize = 1024;

impl Template {
    /// The body with `parameters` in its placeholders: what the contact reads, and what the
    /// inbox shows as the message's text. Each placeholder needs its parameter.
    pub fn render(&self, parameters: &[String]) -> Result<String, ValidationError> {
        if parameters.len() != self.parameters as usize {
            return Err(ValidationError::new(
                "template.parameters",
                format!("the template takes {} parameters, {} given", self.parameters, parameters.len()),
            ));
        }
        for p in parameters {
            if p.trim().is_empty() || p.chars().count() > MAX_TEMPLATE_PARAMETER_CHARS {
                return Err(ValidationError::new(
                    "template.parameters",
                    format!("each parameter is 1 to {MAX_TEMPLATE_PARAMETER_CHARS} characters"),
                ));
            }
        }
        let mut text = self.body.clone();
        for (i, p) in parameters.iter().enumerate().rev() {
            text = text.replace(&format!("{{{{{}}}}}", i + 1), p);
        }
        Ok(text)
    }

    /// The number of distinct `{{n}}` placeholders in `body`.
    pub fn count_parameters(body: &str) -> u32 {
        let mut highest = 0;
        let mut rest = body;
        while let Some(start) = rest.find("{{") {
            rest = &rest[start + 2..];
            if let Some(end) = rest.find("}}") {
                if let Ok(n) = rest[..end].trim().parse::<u32>() {
                    highest = highest.max(n);
                }
                rest = &rest[end + 2..];
            }
        }
        highest
    }
}

/// A template to send: which one, and its parameters in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TemplateSend {
    pub name: String,
    pub language: String,
    #[serde(default)]
    pub parameters: Vec<String>,
}

/// `POST /api/v1/conversations`: a room of workspace members in an in-app channel.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateRoom {
    /// An in-app channel of the workspace.
    pub channel_id: ChannelId,
    pub title: String,
    /// Members besides the creator (who is always one).
    #[serde(default)]
    pub member_ids: Vec<UserId>,
    /// `messaging` (the default), `team` or `livestream`: who may read and join it.
    #[serde(default, rename = "type")]
    pub room_type: crate::access::RoomType,
    /// The room's custom data: a JSON object of at most 4 KiB (rooms are listed by its values).
    #[serde(default)]
    pub custom: Option<serde_json::Value>,
}

/// Most members a room may be created with.
pub const MAX_ROOM_MEMBERS: usize = 1000;

/// `PATCH /api/v1/messages/{id}`.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EditMessage {
    pub text: String,
}

/// Which message a change is about: ours by id (in a workspace), or the network's by its id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessageRef {
    Id { workspace_id: WorkspaceId, id: MessageId },
    External { channel_id: ChannelId, external_id: String },
}

/// Checks and normalizes a message text: trimmed, non-empty, bounded.
pub fn message_text(raw: &str) -> Result<String, ValidationError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(ValidationError::new("text", "is empty"));
    }
    crate::validate::no_nul("text", text)?;
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(ValidationError::new("text", format!("is longer than {MAX_TEXT_CHARS} characters")));
    }
    Ok(text.to_owned())
}

/// Checks a message's text when it carries attachments: a caption may be empty.
pub fn caption_text(raw: &str, attachments: usize) -> Result<String, ValidationError> {
    if attachments > 0 && raw.trim().is_empty() {
        return Ok(String::new());
    }
    message_text(raw)
}

/// Checks a client message id / idempotency key.
pub fn client_message_id(raw: &str) -> Result<String, ValidationError> {
    let id = raw.trim();
    if id.is_empty() || id.len() > MAX_CLIENT_ID_LEN || id.chars().any(|c| c.is_control()) {
        return Err(ValidationError::new(
            "client_message_id",
            format!("must be 1 to {MAX_CLIENT_ID_LEN} printable characters"),
        ));
    }
    Ok(id.to_owned())
}

/// Whether `text` mentions the member with this email and name: `@` followed by the email's
/// local part or the first word of the name, case-insensitively, not inside a longer word.
pub fn mentions(text: &str, email: &str, name: &str) -> bool {
    let text = text.to_lowercase();
    let handles = [
        email.split('@').next().unwrap_or_default().to_lowercase(),
        name.split_whitespace().next().unwrap_or_default().to_lowercase(),
    ];
    handles.iter().filter(|h| !h.is_empty()).any(|handle| {
        let needle = format!("@{handle}");
        text.match_indices(&needle).any(|(at, _)| {
            let before_ok = text[..at].chars().next_back().is_none_or(|c| !c.is_alphanumeric());
            let after_ok =
                text[at + needle.len()..].chars().next().is_none_or(|c| !c.is_alphanumeric() && c != '.');
            before_ok && after_ok
        })
    })
}

/// The short preview of a text shown in conversation lists.
pub fn preview(text: &str) -> String {
    const MAX: usize = 120;
    let mut out: String = text.chars().take(MAX).collect();
    if text.chars().count() > MAX {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_only_move_forward() {
        use MessageStatus::*;
        let forward = [(Pending, Sent), (Sent, Delivered), (Delivered, Read), (Pending, Read), (Sent, Read)];
        for (from, to) in forward {
            assert!(from.advances_to(to), "{from:?} -> {to:?}");
            assert!(!to.advances_to(from), "{to:?} -> {from:?}");
        }
        for status in MessageStatus::ALL {
            assert!(!status.advances_to(status), "{status:?} stays put");
        }
        assert!(Pending.advances_to(Failed));
        assert!(!Sent.advances_to(Failed) && !Read.advances_to(Failed));
        assert!(Failed.advances_to(Sent) && Failed.advances_to(Read));
        assert!(!Failed.advances_to(Pending), "a retry is a command, not an advance");
    }

    #[test]
    fn texts_are_trimmed_non_empty_and_bounded() {
        assert_eq!(message_text("  hi \n").unwrap(), "hi");
        assert_eq!(message_text(" \n\t ").unwrap_err().field, "text");
        assert!(message_text(&"x".repeat(MAX_TEXT_CHARS)).is_ok());
        assert!(message_text(&"x".repeat(MAX_TEXT_CHARS + 1)).is_err());
    }

    #[test]
    fn client_ids_are_bounded_and_printable() {
        assert_eq!(client_message_id(" abc-1 ").unwrap(), "abc-1");
        assert!(client_message_id("").is_err());
        assert!(client_message_id("a\nb").is_err());
        assert!(client_message_id(&"k".repeat(MAX_CLIENT_ID_LEN + 1)).is_err());
    }

    #[test]
    fn mentions_match_handles_at_word_boundaries() {
        let (email, name) = ("bob@example.com", "Bob Chen");
        assert!(mentions("thanks @bob!", email, name));
        assert!(mentions("@Bob can you look?", email, name));
        assert!(!mentions("ping @bobby", email, name));
        assert!(!mentions("mail bob@example.com", email, name));
        assert!(!mentions("@bob.smith", email, name));
        assert!(!mentions("no mention here", email, name));
        assert!(mentions("cc @chen? no, @bob", "bob@example.com", "Bob Chen"));
    }

    #[test]
    fn previews_are_short() {
        assert_eq!(preview("short"), "short");
        let long = "y".repeat(300);
        assert_eq!(preview(&long).chars().count(), 121);
    }
}
