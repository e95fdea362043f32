//! Bot API updates as canonical events: `message` (private chats and groups), `edited_message`.
//! A chat is one conversation (a group's too); message ids are unique per chat only, so a
//! message's external id is `{chat_id}:{message_id}`. Unknown kinds arrive as "unsupported",
//! unknown update types are acknowledged and logged.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;
use switchboard::media::{AttachmentKind, ContactCard, GeoPoint};
use switchboard::provider::{ChannelEvent, Contact, Direction, InboundMedia, ProviderMessage};

/// What the inbox shows for a message kind it cannot show.
pub const UNSUPPORTED: &str = "Unsupported message type";

/// A message's external id: its chat and its id in the chat.
pub fn external_id(chat_id: i64, message_id: i64) -> String {
    format!("{chat_id}:{message_id}")
}

/// The message id within its chat, from an external id.
pub fn message_id_of(external_id: &str) -> Option<i64> {
    external_id.rsplit_once(':').and_then(|(_, id)| id.parse().ok())
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

/// A person's name as Telegram gives it (first and last), or their username.
fn person(v: &Value) -> Option<String> {
    let name = [str_at(v, "/first_name"), str_at(v, "/last_name")]
        .into_iter()
        .flatten()
        .filter(|s| !s.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if !name.is_empty() {
        return Some(name);
    }
    str_at(v, "/username").map(|u| format!("@{u}"))
}

fn unix(v: Option<&Value>) -> DateTime<Utc> {
    v.and_then(Value::as_i64)
        .and_then(|t| Utc.timestamp_opt(t, 0).single())
        .unwrap_or_else(switchboard::time::now)
}

/// The events of one update.
pub fn events(update: &Value) -> Vec<ChannelEvent> {
    if let Some(message) = update.get("message") {
        return message_events(message);
    }
    if let Some(edited) = update.get("edited_message") {
        let (Some(chat), Some(id)) = (
            edited.pointer("/chat/id").and_then(Value::as_i64),
            edited.get("message_id").and_then(Value::as_i64),
        ) else {
            return Vec::new();
        };
        let text = str_at(edited, "/text").or(str_at(edited, "/caption")).unwrap_or_default();
        return vec![ChannelEvent::MessageEdited {
            external_id: external_id(chat, id),
            text: text.to_owned(),
        }];
    }
    let kind =
        update.as_object().and_then(|o| o.keys().find(|k| *k != "update_id").cloned()).unwrap_or_default();
    tracing::info!(kind, "Telegram update not handled; acknowledged");
    Vec::new()
}

fn message_events(raw: &Value) -> Vec<ChannelEvent> {
    let (Some(chat), Some(id)) =
        (raw.pointer("/chat/id").and_then(Value::as_i64), raw.get("message_id").and_then(Value::as_i64))
    else {
        return Vec::new();
    };
    let group = matches!(str_at(raw, "/chat/type"), Some("group" | "supergroup"));
    let sender = raw.get("from").and_then(person);
    let title = if group {
        str_at(raw, "/chat/title").map(str::to_owned)
    } else {
        raw.get("chat").and_then(person).or_else(|| sender.clone())
    }
    .unwrap_or_else(|| chat.to_string());
    let mut message = ProviderMessage {
        external_id: external_id(chat, id),
        contact_id: chat.to_string(),
        direction: Direction::Inbound,
        text: str_at(raw, "/text").or(str_at(raw, "/caption")).unwrap_or_default().to_owned(),
        sent_at: unix(raw.get("date")),
        media: Vec::new(),
        reply_to: raw
            .pointer("/reply_to_message/message_id")
            .and_then(Value::as_i64)
            .map(|r| external_id(chat, r)),
        sender_name: if group { sender } else { None },
    };
    let file = |kind: AttachmentKind, v: &Value| InboundMedia {
        kind,
        source: str_at(v, "/file_id").unwrap_or_default().to_owned(),
        file_name: str_at(v, "/file_name").map(str::to_owned),
        duration_ms: v.get("duration").and_then(Value::as_u64).map(|s| s * 1000),
        location: None,
        contact: None,
    };
    if let Some(sizes) = raw.get("photo").and_then(Value::as_array) {
        // The sizes come smallest first: the largest is the photo.
        if let Some(largest) = sizes.last() {
            message.media.push(file(AttachmentKind::Image, largest));
        }
    } else if let Some(v) = raw.get("document") {
        message.media.push(file(AttachmentKind::Document, v));
    } else if let Some(v) = raw.get("voice") {
        message.media.push(file(AttachmentKind::Voice, v));
    } else if let Some(v) = raw.get("audio") {
        message.media.push(file(AttachmentKind::Audio, v));
    } else if let Some(v) = raw.get("video").or(raw.get("video_note")) {
        message.media.push(file(AttachmentKind::Video, v));
    } else if let Some(v) = raw.get("sticker") {
        message.media.push(file(AttachmentKind::Sticker, v));
    } else if let Some(v) = raw.get("location").or(raw.pointer("/venue/location")) {
        if let (Some(latitude), Some(longitude)) =
            (v.get("latitude").and_then(Value::as_f64), v.get("longitude").and_then(Value::as_f64))
        {
            let name = [str_at(raw, "/venue/title"), str_at(raw, "/venue/address")]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", ");
            let mut place = file(AttachmentKind::Location, &Value::Null);
            place.location = Some(GeoPoint { latitude, longitude, name: (!name.is_empty()).then_some(name) });
            message.media.push(place);
        }
    } else if let Some(v) = raw.get("contact") {
        let mut card = file(AttachmentKind::Contact, &Value::Null);
        card.contact = Some(ContactCard {
            name: person(v).unwrap_or_else(|| "Contact".into()),
            phones: str_at(v, "/phone_number").map(|p| vec![p.to_owned()]).unwrap_or_default(),
        });
        message.media.push(card);
    }
    if message.text.trim().is_empty() && message.media.is_empty() {
        message.text = UNSUPPORTED.into();
    }
    let contact = Contact { external_id: chat.to_string(), name: title };
    vec![ChannelEvent::ContactsUpdated { contacts: vec![contact] }, ChannelEvent::MessageReceived { message }]
}
