//! Whapi.Cloud's webhook payloads (mode `body`) and message objects as canonical events. One
//! message object serves both the webhook and the history import (`GET /messages/list`).
//! Unknown fields are ignored; unknown message types arrive as "Unsupported message type".

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;
use switchboard::media::{AttachmentKind, ContactCard, GeoPoint};
use switchboard::provider::{
    ChannelEvent, Contact, DeliveryStatus, Direction, InboundMedia, ProviderError, ProviderMessage,
};

use super::api::Health;

/// The header carrying the channel's webhook secret (set in the gateway's webhook settings).
pub const SECRET_HEADER: &str = "x-switchboard-secret";
/// What a message of a type Switchboard does not show reads as.
pub const UNSUPPORTED: &str = "Unsupported message type";

/// Checks the request carries the channel's secret (constant time, whatever its length).
pub fn verify_secret(secret: &str, headers: &[(String, String)]) -> Result<(), ProviderError> {
    let given = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(SECRET_HEADER)).map(|(_, v)| v.as_str());
    let Some(given) = given else {
        return Err(ProviderError::Permanent { message: "the webhook carries no secret".into() });
    };
    if !secret.is_empty() && crate::crypto::constant_time_eq(given.as_bytes(), secret.as_bytes()) {
        Ok(())
    } else {
        Err(ProviderError::Permanent { message: "the webhook's secret is wrong".into() })
    }
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

/// Whapi's times: Unix seconds, as a number (messages) or a string (statuses).
fn unix_time(raw: Option<&Value>) -> DateTime<Utc> {
    let secs = match raw {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    secs.and_then(|t| Utc.timestamp_opt(t, 0).single()).unwrap_or_else(switchboard::time::now)
}

/// Whether a chat id is a group's.
pub fn is_group(chat_id: &str) -> bool {
    chat_id.ends_with("@g.us")
}

/// Turns a verified webhook body into events. `was_linked`: the channel is connected now (a
/// session dropping back to QR then asks for a relink).
pub fn parse(body: &[u8], was_linked: bool) -> Result<Vec<ChannelEvent>, ProviderError> {
    let payload: Value = serde_json::from_slice(body).map_err(|e| {
        ProviderError::Invalid(switchboard::validate::ValidationError::new("body", e.to_string()))
    })?;
    if !payload.is_object() {
        return Err(switchboard::validate::ValidationError::new("body", "is a JSON object").into());
    }
    let mut events = Vec::new();
    for raw in payload.get("messages").and_then(Value::as_array).into_iter().flatten() {
        events.extend(message_events(raw));
    }
    for raw in payload.get("statuses").and_then(Value::as_array).into_iter().flatten() {
        events.extend(status_event(raw));
    }
    for raw in payload.get("messages_updates").and_then(Value::as_array).into_iter().flatten() {
        // An edit as `messages.patch`: the message after the change.
        let (Some(id), Some(text)) = (str_at(raw, "/id"), str_at(raw, "/after_update/text/body")) else {
            continue;
        };
        events.push(ChannelEvent::MessageEdited { external_id: id.to_owned(), text: text.to_owned() });
    }
    for raw in payload.get("messages_removed").and_then(Value::as_array).into_iter().flatten() {
        if let Some(id) = raw.as_str().or(str_at(raw, "/id")) {
            events.push(ChannelEvent::MessageRevoked { external_id: id.to_owned() });
        }
    }
    if let Some(health) = payload.get("health")
        && let Ok(health) = serde_json::from_value::<Health>(health.clone())
    {
        let (status, last_error) = health.link_state().channel_status(was_linked);
        events.push(ChannelEvent::StatusChanged { status, last_error });
    }
    if events.is_empty() {
        let kind = str_at(&payload, "/event/type").unwrap_or("unknown");
        tracing::info!(kind, "Whapi webhook with nothing Switchboard records; acknowledged");
    }
    Ok(events)
}

/// A status report: the tick of one of our messages.
fn status_event(raw: &Value) -> Option<ChannelEvent> {
    let id = str_at(raw, "/id")?.to_owned();
    let status = match str_at(raw, "/status")? {
        "sent" => DeliveryStatus::Sent,
        "delivered" => DeliveryStatus::Delivered,
        "read" | "played" => DeliveryStatus::Read,
        "failed" => DeliveryStatus::Failed,
        // `pending` is before anything we show; `deleted` comes as a revoke.
        _ => return None,
    };
    let error = (status == DeliveryStatus::Failed).then(|| {
        str_at(raw, "/errors/0/message")
            .or(str_at(raw, "/errors/0/details"))
            .unwrap_or("WhatsApp could not deliver the message")
            .to_owned()
    });
    Some(ChannelEvent::MessageStatus { external_id: id, status, error })
}

/// One message object as events: the contact's name, then the message; or a reaction, an
/// edit, a revoke.
pub fn message_events(raw: &Value) -> Vec<ChannelEvent> {
    let Some(chat) = str_at(raw, "/chat_id") else { return Vec::new() };
    if str_at(raw, "/type") == Some("action") {
        return action_event(raw, chat).into_iter().collect();
    }
    let Some(message) = provider_message(raw) else { return Vec::new() };
    let mut events = Vec::new();
    // The chat's name: a group's own, or the contact's as they call themselves (never ours:
    // what the phone sent carries the owner's name).
    // A chat the phone opened has no name yet: its number stands in until they write.
    let name = if is_group(chat) {
        str_at(raw, "/chat_name").map(str::to_owned)
    } else if message.direction == Direction::Inbound {
        str_at(raw, "/from_name").map(str::to_owned)
    } else {
        chat.split('@').next().filter(|n| n.bytes().all(|b| b.is_ascii_digit())).map(|n| format!("+{n}"))
    };
    if let Some(name) = name.filter(|n| !n.trim().is_empty()) {
        events.push(ChannelEvent::ContactsUpdated {
            contacts: vec![Contact { external_id: chat.to_owned(), name }],
        });
    }
    events.push(ChannelEvent::MessageReceived { message });
    events
}

fn action_event(raw: &Value, chat: &str) -> Option<ChannelEvent> {
    let target = str_at(raw, "/action/target")?.to_owned();
    match str_at(raw, "/action/type")? {
        "reaction" => Some(ChannelEvent::Reaction {
            external_id: target,
            contact_id: if is_group(chat) {
                str_at(raw, "/from").unwrap_or(chat).to_owned()
            } else {
                chat.to_owned()
            },
            emoji: str_at(raw, "/action/emoji").unwrap_or_default().to_owned(),
        }),
        "edit" | "edited" => Some(ChannelEvent::MessageEdited {
            external_id: target,
            text: str_at(raw, "/action/edited_content/body")
                .or(str_at(raw, "/action/edited_content/text/body"))?
                .to_owned(),
        }),
        "delete" => Some(ChannelEvent::MessageRevoked { external_id: target }),
        _ => None,
    }
}

/// A message object as a [`ProviderMessage`] (none for actions and malformed objects).
pub fn provider_message(raw: &Value) -> Option<ProviderMessage> {
    let id = str_at(raw, "/id")?.to_owned();
    let chat = str_at(raw, "/chat_id")?.to_owned();
    let kind = str_at(raw, "/type").unwrap_or("unknown");
    if kind == "action" {
        return None;
    }
    let from_me = raw.get("from_me").and_then(Value::as_bool).unwrap_or(false);
    let mut message = ProviderMessage {
        external_id: id,
        sender_name: (is_group(&chat) && !from_me)
            .then(|| str_at(raw, "/from_name").or(str_at(raw, "/from")).map(str::to_owned))
            .flatten(),
        contact_id: chat,
        direction: if from_me { Direction::Outbound } else { Direction::Inbound },
        text: String::new(),
        sent_at: unix_time(raw.get("timestamp")),
        media: Vec::new(),
        reply_to: str_at(raw, "/context/quoted_id").map(str::to_owned),
    };
    let media = |kind: AttachmentKind, key: &str| InboundMedia {
        kind,
        source: str_at(raw, &format!("/{key}/id")).unwrap_or_default().to_owned(),
        file_name: str_at(raw, &format!("/{key}/file_name"))
            .or(str_at(raw, &format!("/{key}/filename")))
            .map(str::to_owned),
        duration_ms: raw.pointer(&format!("/{key}/seconds")).and_then(Value::as_u64).map(|s| s * 1000),
        location: None,
        contact: None,
    };
    let caption = |key: &str| str_at(raw, &format!("/{key}/caption")).unwrap_or_default().to_owned();
    match kind {
        "text" => message.text = str_at(raw, "/text/body").unwrap_or_default().to_owned(),
        "image" | "video" | "gif" | "short" | "document" | "sticker" | "audio" | "voice" => {
            let attachment = match kind {
                "image" => AttachmentKind::Image,
                "video" | "gif" | "short" => AttachmentKind::Video,
                "sticker" => AttachmentKind::Sticker,
                "audio" => AttachmentKind::Audio,
                "voice" => AttachmentKind::Voice,
                _ => AttachmentKind::Document,
            };
            message.media.push(media(attachment, kind));
            message.text = caption(kind);
        }
        "location" | "live_location" => {
            let at = |key: &str| raw.pointer(&format!("/{kind}/{key}")).and_then(Value::as_f64);
            let (Some(latitude), Some(longitude)) = (at("latitude"), at("longitude")) else {
                message.text = UNSUPPORTED.into();
                return Some(message);
            };
            let name = [str_at(raw, &format!("/{kind}/name")), str_at(raw, &format!("/{kind}/address"))]
                .into_iter()
                .flatten()
                .filter(|s| !s.trim().is_empty())
                .collect::<Vec<_>>()
                .join(", ");
            let mut place = media(AttachmentKind::Location, kind);
            place.source = String::new();
            place.location = Some(GeoPoint { latitude, longitude, name: (!name.is_empty()).then_some(name) });
            message.media.push(place);
        }
        "contact" | "contact_list" => {
            let cards: Vec<&Value> = if kind == "contact" {
                raw.get("contact").into_iter().collect()
            } else {
                raw.pointer("/contact_list/list").and_then(Value::as_array).into_iter().flatten().collect()
            };
            for card in cards {
                let mut item = media(AttachmentKind::Contact, kind);
                item.source = String::new();
                item.contact = Some(ContactCard {
                    name: str_at(card, "/name").unwrap_or("Contact").to_owned(),
                    phones: vcard_phones(str_at(card, "/vcard").unwrap_or_default()),
                });
                message.media.push(item);
            }
        }
        "link_preview" => {
            message.text = str_at(raw, "/link_preview/body")
                .or(str_at(raw, "/link_preview/url"))
                .unwrap_or_default()
                .to_owned()
        }
        "reply" => {
            let reply = str_at(raw, "/reply/type").unwrap_or_default();
            message.text = str_at(raw, &format!("/reply/{reply}/title")).unwrap_or_default().to_owned();
        }
        "poll" => {
            let title = str_at(raw, "/poll/title").unwrap_or("Poll");
            let options: Vec<&str> = raw
                .pointer("/poll/options")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            message.text = format!("📊 {title}\n{}", options.join("\n"));
        }
        "system" => message.text = str_at(raw, "/system/body").unwrap_or(UNSUPPORTED).to_owned(),
        other => {
            tracing::info!(kind = other, "Whapi message type not supported; shown as such");
            message.text = UNSUPPORTED.into();
        }
    }
    if message.text.trim().is_empty() && message.media.is_empty() {
        message.text = UNSUPPORTED.into();
    }
    Some(message)
}

/// The phone numbers of a vCard's `TEL` lines.
fn vcard_phones(vcard: &str) -> Vec<String> {
    vcard
        .lines()
        .filter(|line| line.to_ascii_uppercase().starts_with("TEL"))
        .filter_map(|line| line.rsplit_once(':').map(|(_, number)| number.trim().to_owned()))
        .filter(|n| !n.is_empty())
        .collect()
}
