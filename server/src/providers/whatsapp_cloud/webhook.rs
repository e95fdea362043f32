//! WhatsApp Cloud API webhooks: the `X-Hub-Signature-256` check over the raw bytes, and the
//! documented payload (`entry[].changes[].value` with `contacts`, `messages`, `statuses`) as
//! canonical events. Unknown fields are ignored, unknown message types arrive as "unsupported",
//! and changes for another phone number are skipped.

use chrono::{DateTime, TimeZone, Utc};
use serde::Deserialize;
use serde_json::Value;
use switchboard::media::{AttachmentKind, ContactCard, GeoPoint};
use switchboard::provider::{
    ChannelEvent, Contact, DeliveryStatus, Direction, InboundMedia, ProviderError, ProviderMessage,
};

/// What the inbox shows for a message type it cannot show.
pub const UNSUPPORTED: &str = "Unsupported message type";

/// Checks `sha256=<hex>` against the HMAC-SHA256 of `body` under the app secret, in constant time.
pub fn verify_signature(
    app_secret: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<(), ProviderError> {
    use hmac::{Hmac, Mac};
    let refuse = |why: &str| ProviderError::Permanent { message: why.to_owned() };
    let header = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("x-hub-signature-256"))
        .map(|(_, v)| v.trim())
        .ok_or_else(|| refuse("no X-Hub-Signature-256 header"))?;
    let hex_sig = header.strip_prefix("sha256=").ok_or_else(|| refuse("the signature is not sha256=…"))?;
    let given = hex::decode(hex_sig).map_err(|_| refuse("the signature is not hex"))?;
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(app_secret.as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    mac.verify_slice(&given).map_err(|_| refuse("bad signature"))
}

#[derive(Debug, Deserialize)]
struct Payload {
    #[serde(default)]
    object: String,
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
struct Entry {
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Debug, Deserialize)]
struct Change {
    #[serde(default)]
    field: String,
    #[serde(default)]
    value: ChangeValue,
}

#[derive(Debug, Default, Deserialize)]
struct ChangeValue {
    #[serde(default)]
    metadata: Option<Metadata>,
    #[serde(default)]
    contacts: Vec<WaContact>,
    #[serde(default)]
    messages: Vec<Value>,
    #[serde(default)]
    statuses: Vec<Status>,
}

#[derive(Debug, Deserialize)]
struct Metadata {
    #[serde(default)]
    phone_number_id: String,
}

#[derive(Debug, Deserialize)]
struct WaContact {
    #[serde(default)]
    wa_id: String,
    #[serde(default)]
    profile: Option<Profile>,
}

#[derive(Debug, Deserialize)]
struct Profile {
    #[serde(default)]
    name: String,
}

#[derive(Debug, Deserialize)]
struct Status {
    id: String,
    status: String,
    #[serde(default)]
    errors: Vec<Value>,
}

/// The events of a verified payload for the number `phone_number_id`.
pub fn parse(phone_number_id: &str, body: &[u8]) -> Result<Vec<ChannelEvent>, ProviderError> {
    let payload: Payload = serde_json::from_slice(body).map_err(|e| {
        ProviderError::Invalid(switchboard::validate::ValidationError::new(
            "body",
            format!("not a webhook payload: {e}"),
        ))
    })?;
    let mut out = Vec::new();
    if payload.object != "whatsapp_business_account" {
        tracing::info!(object = %payload.object, "WhatsApp webhook for another object; ignored");
        return Ok(out);
    }
    for change in payload.entry.into_iter().flat_map(|e| e.changes) {
        if change.field != "messages" {
            tracing::info!(field = %change.field, "WhatsApp webhook field not handled; acknowledged");
            continue;
        }
        let value = change.value;
        if value.metadata.as_ref().map(|m| m.phone_number_id.as_str()) != Some(phone_number_id) {
            tracing::warn!("WhatsApp webhook for another phone number; ignored");
            continue;
        }
        let contacts: Vec<Contact> = value
            .contacts
            .into_iter()
            .filter(|c| !c.wa_id.is_empty())
            .map(|c| {
                let name = c.profile.map(|p| p.name).filter(|n| !n.trim().is_empty());
                Contact { name: name.unwrap_or_else(|| format!("+{}", c.wa_id)), external_id: c.wa_id }
            })
            .collect();
        if !contacts.is_empty() {
            out.push(ChannelEvent::ContactsUpdated { contacts });
        }
        for raw in &value.messages {
            if let Some(event) = message_event(raw) {
                out.push(event);
            }
        }
        for status in value.statuses {
            out.extend(status_event(status));
        }
    }
    Ok(out)
}

fn status_event(status: Status) -> Option<ChannelEvent> {
    let delivery = match status.status.as_str() {
        "sent" => DeliveryStatus::Sent,
        "delivered" => DeliveryStatus::Delivered,
        "read" => DeliveryStatus::Read,
        "failed" => DeliveryStatus::Failed,
        other => {
            tracing::info!(status = other, "WhatsApp status not handled; acknowledged");
            return None;
        }
    };
    let error = (delivery == DeliveryStatus::Failed).then(|| failure_words(&status.errors));
    Some(ChannelEvent::MessageStatus { external_id: status.id, status: delivery, error })
}

/// A failed status's reason: the error's title, with its details when they add something.
fn failure_words(errors: &[Value]) -> String {
    let Some(first) = errors.first() else {
        return "WhatsApp could not deliver the message".into();
    };
    fn s(v: Option<&Value>) -> Option<&str> {
        v.and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
    }
    let title = s(first.get("title")).or(s(first.get("message")));
    let details = s(first.pointer("/error_data/details"));
    match (title, details) {
        (Some(t), Some(d)) if t != d => format!("{t}: {d}"),
        (Some(t), _) => t.to_owned(),
        (None, Some(d)) => d.to_owned(),
        (None, None) => "WhatsApp could not deliver the message".into(),
    }
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

fn unix_time(raw: Option<&str>) -> DateTime<Utc> {
    raw.and_then(|t| t.parse::<i64>().ok())
        .and_then(|t| Utc.timestamp_opt(t, 0).single())
        .unwrap_or_else(switchboard::time::now)
}

/// One message of the payload as an inbound message (or a reaction).
fn message_event(raw: &Value) -> Option<ChannelEvent> {
    let id = str_at(raw, "/id")?.to_owned();
    let from = str_at(raw, "/from")?.to_owned();
    let kind = str_at(raw, "/type").unwrap_or("unknown");
    let mut message = ProviderMessage {
        external_id: id,
        contact_id: from,
        direction: Direction::Inbound,
        text: String::new(),
        sent_at: unix_time(str_at(raw, "/timestamp")),
        media: Vec::new(),
        reply_to: str_at(raw, "/context/id").map(str::to_owned),
        sender_name: None,
    };
    let media = |kind: AttachmentKind, key: &str| InboundMedia {
        kind,
        source: str_at(raw, &format!("/{key}/id")).unwrap_or_default().to_owned(),
        file_name: str_at(raw, &format!("/{key}/filename")).map(str::to_owned),
        duration_ms: None,
        location: None,
        contact: None,
    };
    let caption = |key: &str| str_at(raw, &format!("/{key}/caption")).unwrap_or_default().to_owned();
    match kind {
        "text" => message.text = str_at(raw, "/text/body").unwrap_or_default().to_owned(),
        "image" | "video" | "document" | "sticker" => {
            let attachment = match kind {
                "image" => AttachmentKind::Image,
                "video" => AttachmentKind::Video,
                "sticker" => AttachmentKind::Sticker,
                _ => AttachmentKind::Document,
            };
            message.media.push(media(attachment, kind));
            message.text = caption(kind);
        }
        "audio" | "voice" => {
            let voice = kind == "voice" || raw.pointer("/audio/voice").and_then(Value::as_bool) == Some(true);
            let mut item = media(if voice { AttachmentKind::Voice } else { AttachmentKind::Audio }, kind);
            item.source = str_at(raw, &format!("/{kind}/id")).unwrap_or_default().to_owned();
            message.media.push(item);
        }
        "location" => {
            let at = |key: &str| raw.pointer(&format!("/location/{key}")).and_then(Value::as_f64);
            let (Some(latitude), Some(longitude)) = (at("latitude"), at("longitude")) else {
                message.text = UNSUPPORTED.into();
                return Some(ChannelEvent::MessageReceived { message });
            };
            let name = [str_at(raw, "/location/name"), str_at(raw, "/location/address")]
                .into_iter()
                .flatten()
                .filter(|s| !s.trim().is_empty())
                .collect::<Vec<_>>()
                .join(", ");
            let mut place = media(AttachmentKind::Location, "location");
            place.source = String::new();
            place.location = Some(GeoPoint { latitude, longitude, name: (!name.is_empty()).then_some(name) });
            message.media.push(place);
        }
        "contacts" => {
            for card in raw.get("contacts").and_then(Value::as_array).into_iter().flatten() {
                let name = str_at(card, "/name/formatted_name")
                    .or(str_at(card, "/name/first_name"))
                    .unwrap_or("Contact")
                    .to_owned();
                let phones = card
                    .get("phones")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p.get("phone").and_then(Value::as_str).map(str::to_owned))
                    .collect();
                let mut item = media(AttachmentKind::Contact, "contacts");
                item.source = String::new();
                item.contact = Some(ContactCard { name, phones });
                message.media.push(item);
            }
        }
        "interactive" => {
            let reply = str_at(raw, "/interactive/type").unwrap_or_default();
            let title = str_at(raw, &format!("/interactive/{reply}/title")).unwrap_or_default();
            let description =
                str_at(raw, &format!("/interactive/{reply}/description")).filter(|d| !d.is_empty());
            message.text = match description {
                Some(d) => format!("{title}\n{d}"),
                None => title.to_owned(),
            };
        }
        "button" => message.text = str_at(raw, "/button/text").unwrap_or_default().to_owned(),
        "reaction" => {
            return Some(ChannelEvent::Reaction {
                external_id: str_at(raw, "/reaction/message_id")?.to_owned(),
                contact_id: message.contact_id,
                emoji: str_at(raw, "/reaction/emoji").unwrap_or_default().to_owned(),
            });
        }
        "system" => message.text = str_at(raw, "/system/body").unwrap_or(UNSUPPORTED).to_owned(),
        other => {
            let why = str_at(raw, "/errors/0/title").or(str_at(raw, "/errors/0/message"));
            tracing::info!(kind = other, reason = ?why, "WhatsApp message type not supported; shown as such");
            message.text = UNSUPPORTED.into();
        }
    }
    if message.text.trim().is_empty() && message.media.is_empty() {
        message.text = UNSUPPORTED.into();
    }
    Some(ChannelEvent::MessageReceived { message })
}
