//! The agent's desk: the inbox flows the UI's server functions call (the conversation list,
//! a conversation's history, sending). The server implements it over the same services and
//! access rules as the REST API, so both answer alike; the UI only sees this port. Every call
//! names the workspace the page shows, and acts in it (as the API's `X-Workspace-Id` does).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{CannedReplyId, ConversationId, LabelId, MessageId, UserId, WorkspaceId};
use crate::message::{ConversationStatus, ConversationSummary, Message};
use crate::validate::ValidationError;

/// A refusal, with the HTTP status and the stable code the REST API answers for the same
/// failure, and words fit to show.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DeskError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

#[async_trait]
pub trait Desk: Send + Sync {
    /// The caller's conversations (session `token`), most recent activity first.
    async fn conversations(
        &self,
        token: &str,
        workspace: WorkspaceId,
    ) -> Result<Vec<ConversationSummary>, DeskError>;
    /// A page of history, newest first, older than `before` when given.
    async fn history(
        &self,
        token: &str,
        workspace: WorkspaceId,
        conversation: ConversationId,
        before: Option<MessageId>,
        limit: u32,
    ) -> Result<Vec<Message>, DeskError>;
    /// Sends a message; the same `client_message_id` again answers the first message.
    async fn send(
        &self,
        token: &str,
        workspace: WorkspaceId,
        conversation: ConversationId,
        send: crate::message::SendMessage,
    ) -> Result<Message, DeskError>;
}

/// The list's assignment views (`assignee=me`, `none`, or an agent's id).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssigneeFilter {
    /// Assigned to this agent (the caller's own id for "Mine").
    User(UserId),
    /// Assigned to nobody.
    Nobody,
}

impl AssigneeFilter {
    /// Reads `me`, `none` or a user id; `me` is `caller`.
    pub fn parse(raw: &str, caller: UserId) -> Result<Self, String> {
        match raw {
            "me" => Ok(AssigneeFilter::User(caller)),
            "none" => Ok(AssigneeFilter::Nobody),
            id => id.parse().map(AssigneeFilter::User).map_err(|_| "is `me`, `none` or a user id".to_owned()),
        }
    }

    /// Whether a conversation assigned to `assignee` is in the view.
    pub fn admits(&self, assignee: Option<UserId>) -> bool {
        match self {
            AssigneeFilter::User(id) => assignee == Some(*id),
            AssigneeFilter::Nobody => assignee.is_none(),
        }
    }
}

/// `PATCH /api/v1/conversations/{id}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateConversation {
    pub status: ConversationStatus,
    /// With `snoozed`: when it opens again (in the future, at most a year ahead).
    #[serde(default)]
    pub snoozed_until: Option<DateTime<Utc>>,
}

/// Longest snooze.
pub const MAX_SNOOZE_DAYS: i64 = 366;

impl UpdateConversation {
    /// A snooze has its time, in the future and within [`MAX_SNOOZE_DAYS`]; no other status
    /// takes one.
    pub fn validate(&self, now: DateTime<Utc>) -> Result<(), ValidationError> {
        match (self.status, self.snoozed_until) {
            (ConversationStatus::Snoozed, None) => {
                Err(ValidationError::new("snoozed_until", "is needed to snooze a conversation"))
            }
            (ConversationStatus::Snoozed, Some(until)) if until <= now => {
                Err(ValidationError::new("snoozed_until", "is not in the future"))
            }
            (ConversationStatus::Snoozed, Some(until))
                if until - now > chrono::Duration::days(MAX_SNOOZE_DAYS) =>
            {
                Err(ValidationError::new("snoozed_until", "is more than a year ahead"))
            }
            (ConversationStatus::Snoozed, Some(_)) => Ok(()),
            (_, Some(_)) => Err(ValidationError::new("snoozed_until", "goes only with the status `snoozed`")),
            (_, None) => Ok(()),
        }
    }
}

/// A workspace label: a name and a colour, put on conversations to sort the work.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Label {
    pub id: LabelId,
    pub workspace_id: WorkspaceId,
    /// Unique in the workspace, whatever the case.
    pub name: String,
    /// `#rrggbb`.
    pub color: String,
    pub created_at: DateTime<Utc>,
}

/// `POST /api/v1/labels`, `PATCH /api/v1/labels/{id}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LabelInput {
    pub name: String,
    /// `#rrggbb`; a colour picked from the name when left out.
    #[serde(default)]
    pub color: Option<String>,
}

/// Longest label name.
pub const MAX_LABEL_CHARS: usize = 40;
/// Most labels a workspace holds.
pub const MAX_LABELS: usize = 200;
/// Most labels on one conversation.
pub const MAX_CONVERSATION_LABELS: usize = 20;

/// The colours a label gets when none is given, picked by its name.
const LABEL_COLORS: [&str; 8] =
    ["#2563eb", "#16a34a", "#d97706", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#4b5563"];

impl LabelInput {
    /// The name trimmed and the colour checked (or picked): what is stored.
    pub fn validated(&self) -> Result<(String, String), ValidationError> {
        let name = crate::validate::name("name", &self.name)?;
        if name.chars().count() > MAX_LABEL_CHARS {
            return Err(ValidationError::new("name", format!("is longer than {MAX_LABEL_CHARS} characters")));
        }
        let color = match self.color.as_deref().map(str::trim) {
            Some(c) if is_hex_color(c) => c.to_ascii_lowercase(),
            Some(_) => return Err(ValidationError::new("color", "is a colour written #rrggbb")),
            None => {
                let pick = name
                    .to_lowercase()
                    .bytes()
                    .fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize));
                LABEL_COLORS[pick % LABEL_COLORS.len()].to_owned()
            }
        };
        Ok((name, color))
    }
}

fn is_hex_color(c: &str) -> bool {
    c.len() == 7 && c.starts_with('#') && c[1..].chars().all(|d| d.is_ascii_hexdigit())
}

/// `PUT /api/v1/conversations/{id}/labels`: the whole set after the change.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SetLabels {
    pub label_ids: Vec<LabelId>,
}

/// `PUT /api/v1/conversations/{id}/assignee`: the agent to assign (none: unassign).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Assign {
    pub user_id: Option<UserId>,
}

/// `GET` / `PUT /api/v1/channels/{id}/auto-assign`: whether the channel assigns its
/// conversations by itself (round-robin among the agents online).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AutoAssign {
    pub enabled: bool,
}

/// A workspace's canned reply: a snippet an agent finds by its short code (`/` in the composer)
/// and sends after the variables are filled in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CannedReply {
    pub id: CannedReplyId,
    pub workspace_id: WorkspaceId,
    /// Letters, digits, `-` and `_`, unique in the workspace.
    pub short_code: String,
    /// The text, with variables such as `{{contact.name}}` (see [`fill_in`]).
    pub text: String,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /api/v1/canned-replies`, `PATCH /api/v1/canned-replies/{id}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CannedReplyInput {
    pub short_code: String,
    pub text: String,
}

/// Longest short code.
pub const MAX_SHORT_CODE_CHARS: usize = 32;
/// Most canned replies a workspace holds.
pub const MAX_CANNED_REPLIES: usize = 500;

impl CannedReplyInput {
    /// The short code (trimmed, lower case, without a leading `/`) and the text, checked.
    pub fn validated(&self) -> Result<(String, String), ValidationError> {
        let code = self.short_code.trim().trim_start_matches('/').to_lowercase();
        if code.is_empty() {
            return Err(ValidationError::new("short_code", "is required"));
        }
        if code.chars().count() > MAX_SHORT_CODE_CHARS {
            let why = format!("is longer than {MAX_SHORT_CODE_CHARS} characters");
            return Err(ValidationError::new("short_code", why));
        }
        if !code.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_') {
            return Err(ValidationError::new("short_code", "is letters, digits, - and _ only"));
        }
        let text = crate::message::message_text(&self.text)?;
        Ok((code, text))
    }
}

/// What a canned reply's variables stand for in one conversation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplyContext<'a> {
    /// The contact's name (a room's title in a room).
    pub contact_name: &'a str,
    /// The agent sending it.
    pub agent_name: &'a str,
}

/// The variables a canned reply may hold.
pub const CANNED_VARIABLES: [&str; 4] =
    ["{{contact.name}}", "{{contact.first_name}}", "{{agent.name}}", "{{agent.first_name}}"];

/// A canned reply's text with its variables filled in; an unknown `{{…}}` stays as written.
pub fn fill_in(text: &str, context: &ReplyContext<'_>) -> String {
    let first = |name: &str| name.split_whitespace().next().unwrap_or_default().to_owned();
    let values = [
        context.contact_name.to_owned(),
        first(context.contact_name),
        context.agent_name.to_owned(),
        first(context.agent_name),
    ];
    let mut out = text.to_owned();
    for (variable, value) in CANNED_VARIABLES.iter().zip(values) {
        out = out.replace(variable, &value);
    }
    out
}

/// The canned replies whose short code starts with `query` (then those containing it, or whose
/// text does), at most `limit`: what the composer's `/` popup lists.
pub fn search_canned<'a>(replies: &'a [CannedReply], query: &str, limit: usize) -> Vec<&'a CannedReply> {
    let q = query.trim().to_lowercase();
    let mut starts: Vec<&CannedReply> = Vec::new();
    let mut rest: Vec<&CannedReply> = Vec::new();
    for reply in replies {
        if reply.short_code.starts_with(&q) {
            starts.push(reply);
        } else if reply.short_code.contains(&q) || reply.text.to_lowercase().contains(&q) {
            rest.push(reply);
        }
    }
    starts.sort_by(|a, b| a.short_code.cmp(&b.short_code));
    starts.into_iter().chain(rest).take(limit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_fill_in_and_unknown_ones_stay() {
        let context = ReplyContext { contact_name: "Maria Lopez", agent_name: "Bob Smith" };
        let text = "Hi {{contact.first_name}} ({{contact.name}}), {{agent.first_name}} here. {{order.id}}";
        assert_eq!(fill_in(text, &context), "Hi Maria (Maria Lopez), Bob here. {{order.id}}");
        let nameless = ReplyContext { contact_name: "", agent_name: "Bob" };
        assert_eq!(fill_in("Hi {{contact.first_name}}!", &nameless), "Hi !");
    }

    #[test]
    fn labels_and_short_codes_are_checked() {
        let label =
            |name: &str, color: Option<&str>| LabelInput { name: name.into(), color: color.map(Into::into) };
        assert_eq!(label(" VIP ", Some("#AABBCC")).validated().unwrap(), ("VIP".into(), "#aabbcc".into()));
        let (_, picked) = label("billing", None).validated().unwrap();
        assert!(is_hex_color(&picked));
        assert_eq!(
            label("billing", None).validated().unwrap().1,
            picked,
            "the same name picks the same colour"
        );
        assert!(label("x", Some("red")).validated().is_err());
        assert!(label("", None).validated().is_err());
        assert!(label(&"a".repeat(41), None).validated().is_err());
        let canned = |code: &str| CannedReplyInput { short_code: code.into(), text: "Hello".into() };
        assert_eq!(canned("/Greet").validated().unwrap().0, "greet");
        assert!(canned("two words").validated().is_err());
        assert!(canned("").validated().is_err());
        assert!(CannedReplyInput { short_code: "a".into(), text: " ".into() }.validated().is_err());
    }

    #[test]
    fn the_popup_lists_prefix_matches_first() {
        let reply = |code: &str, text: &str| CannedReply {
            id: CannedReplyId::new(),
            workspace_id: WorkspaceId::new(),
            short_code: code.into(),
            text: text.into(),
            created_by: None,
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
        };
        let all = vec![
            reply("thanks", "Thank you!"),
            reply("refund", "Your refund…"),
            reply("re-open", "Reopened"),
        ];
        let codes =
            |q: &str| search_canned(&all, q, 10).iter().map(|r| r.short_code.clone()).collect::<Vec<_>>();
        assert_eq!(codes("re"), ["re-open", "refund"]);
        assert_eq!(codes("thank"), ["thanks"]);
        assert_eq!(codes("you"), ["thanks", "refund"]);
        assert_eq!(codes("").len(), 3);
        assert_eq!(search_canned(&all, "", 2).len(), 2);
    }
}
