//! Contacts: the people on the other side of the channels, as the contacts page shows them. A
//! contact is one identity on one channel (a phone number on a WhatsApp number, a Telegram
//! user on a bot); merging two says they are one person: the merged one keeps its identity
//! (its next message still finds its chat) and points to the one kept, which lists both and
//! holds every conversation.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ids::{ChannelId, ContactId, WorkspaceId};
use crate::message::Conversation;
use crate::validate::ValidationError;

/// One identity of a contact: who they are on one channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContactIdentity {
    pub contact_id: ContactId,
    pub channel_id: ChannelId,
    /// Their id on the network: a phone number, a Telegram user id…
    pub external_id: String,
    /// The name the network gave.
    pub name: String,
}

/// A contact as the contacts page lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContactCard {
    pub id: ContactId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    /// The team's notes about them.
    pub notes: String,
    /// Custom attributes: a JSON object of strings, numbers and booleans.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub attributes: Value,
    /// Its own identity first, then those merged into it.
    pub identities: Vec<ContactIdentity>,
    /// Whether the network says they are online (none: it never said).
    pub online: Option<bool>,
    /// When they last wrote, in any of their conversations.
    pub last_seen_at: Option<DateTime<Utc>>,
    pub conversation_count: u32,
    pub created_at: DateTime<Utc>,
}

/// A contact with their conversations (`GET /api/v1/contacts/{id}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContactDetails {
    #[serde(flatten)]
    pub contact: ContactCard,
    /// Most recent activity first.
    pub conversations: Vec<Conversation>,
}

/// `PATCH /api/v1/contacts/{id}`: what to change (absent: unchanged).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateContact {
    /// The team's name for them; the network's next messages no longer rename them.
    pub name: Option<String>,
    pub notes: Option<String>,
    /// The whole set of custom attributes (an object of strings, numbers and booleans).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub attributes: Option<Value>,
}

/// `POST /api/v1/contacts/{id}/merge`: the contact to fold into this one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MergeContacts {
    pub contact_id: ContactId,
}

/// `POST /api/v1/conversations/start`: write first to someone on a channel.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StartConversation {
    pub channel_id: ChannelId,
    /// Their id on the network (a phone number with its country code on WhatsApp).
    pub to: String,
    /// Their name, when new (else the id).
    #[serde(default)]
    pub name: Option<String>,
    /// The first message's text (none with a template).
    #[serde(default)]
    pub text: String,
    /// The first message as a template: what WhatsApp's Cloud API needs to write first.
    #[serde(default)]
    pub template: Option<crate::message::TemplateSend>,
    /// The idempotency key of the first message (a retry answers the same conversation).
    #[serde(default)]
    pub client_message_id: Option<String>,
}

/// What `POST /api/v1/conversations/start` answers: the chat and its first message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Started {
    pub conversation: Conversation,
    pub message: crate::message::Message,
}

/// Longest notes.
pub const MAX_NOTES_CHARS: usize = 10_000;
/// Most custom attributes.
pub const MAX_ATTRIBUTES: usize = 50;
/// Longest attribute name and text value.
pub const MAX_ATTRIBUTE_KEY_CHARS: usize = 64;
pub const MAX_ATTRIBUTE_VALUE_CHARS: usize = 1024;
/// Longest id on a network.
pub const MAX_EXTERNAL_ID_CHARS: usize = 128;

impl UpdateContact {
    /// The change checked: the name trimmed, notes and attributes within their limits.
    pub fn validated(mut self) -> Result<Self, ValidationError> {
        if let Some(name) = &self.name {
            self.name = Some(crate::validate::name("name", name)?);
        }
        if let Some(notes) = &self.notes {
            crate::validate::no_nul("notes", notes)?;
            if notes.chars().count() > MAX_NOTES_CHARS {
                return Err(ValidationError::new(
                    "notes",
                    format!("is longer than {MAX_NOTES_CHARS} characters"),
                ));
            }
        }
        if let Some(attributes) = &self.attributes {
            check_attributes(attributes)?;
        }
        Ok(self)
    }
}

fn check_attributes(value: &Value) -> Result<(), ValidationError> {
    let field = "attributes";
    let Some(map) = value.as_object() else {
        return Err(ValidationError::new(field, "is an object of names and values"));
    };
    if map.len() > MAX_ATTRIBUTES {
        return Err(ValidationError::new(field, format!("holds more than {MAX_ATTRIBUTES} names")));
    }
    for (key, v) in map {
        let plain = |c: char| c.is_alphanumeric() || c == '_' || c == '-' || c == ' ';
        if key.trim().is_empty() || key.chars().count() > MAX_ATTRIBUTE_KEY_CHARS || !key.chars().all(plain) {
            let why = format!("names are 1 to {MAX_ATTRIBUTE_KEY_CHARS} letters, digits, spaces, - and _");
            return Err(ValidationError::new(field, why));
        }
        match v {
            Value::String(s) if s.chars().count() <= MAX_ATTRIBUTE_VALUE_CHARS && !s.contains('\0') => {}
            Value::Number(_) | Value::Bool(_) => {}
            _ => {
                let why = format!(
                    "values are text (up to {MAX_ATTRIBUTE_VALUE_CHARS} characters), numbers or true/false"
                );
                return Err(ValidationError::new(field, why));
            }
        }
    }
    Ok(())
}

/// The id to write to on a network, from what an agent typed: on phone networks the digits
/// (spaces, `+`, dashes, dots and brackets dropped; 7 to 15 of them), elsewhere the text trimmed.
pub fn recipient(raw: &str, phone: bool) -> Result<String, ValidationError> {
    let trimmed = raw.trim();
    if phone {
        let digits: String =
            trimmed.chars().filter(|c| !matches!(c, ' ' | '+' | '-' | '.' | '(' | ')')).collect();
        if !(7..=15).contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(ValidationError::new(
                "to",
                "is a phone number with its country code (7 to 15 digits)",
            ));
        }
        return Ok(digits);
    }
    if trimmed.is_empty()
        || trimmed.chars().count() > MAX_EXTERNAL_ID_CHARS
        || trimmed.chars().any(char::is_control)
    {
        let why = format!("is the id on the network (1 to {MAX_EXTERNAL_ID_CHARS} characters)");
        return Err(ValidationError::new("to", why));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn recipients_are_read_as_the_network_names_them() {
        assert_eq!(recipient(" +1 (555) 010-2030 ", true).unwrap(), "15550102030");
        assert!(recipient("555", true).is_err());
        assert!(recipient("+1 555 CALL NOW", true).is_err());
        assert_eq!(recipient("  maria_k ", false).unwrap(), "maria_k");
        assert!(recipient("  ", false).is_err());
        assert!(recipient("a\nb", false).is_err());
    }

    #[test]
    fn changes_are_checked() {
        let change = |v: Value| serde_json::from_value::<UpdateContact>(v).unwrap().validated();
        assert_eq!(change(json!({"name": "  Maria  "})).unwrap().name.as_deref(), Some("Maria"));
        assert!(change(json!({"name": " "})).is_err());
        assert!(change(json!({"notes": "x".repeat(10_001)})).is_err());
        assert!(change(json!({"attributes": {"plan": "gold", "seats": 3, "vip": true}})).is_ok());
        assert!(change(json!({"attributes": ["x"]})).is_err());
        assert!(change(json!({"attributes": {"nested": {"a": 1}}})).is_err());
        assert!(change(json!({"attributes": {"": 1}})).is_err());
        assert!(serde_json::from_value::<UpdateContact>(json!({"nickname": "x"})).is_err());
    }
}
