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

/// A text with its Telegram entities as the inbox's formatting, a CommonMark subset:
/// `**bold**`, `_italic_`, `~~strike~~`, `` `code` ``, fenced ```` ``` ```` blocks (with the
/// language), and `[text](url)` links. Other entities (mentions, hashtags, bare URLs, underline,
/// spoilers) stay plain text, as does everything outside entities. Offsets are UTF-16 units,
/// as Telegram counts them; entities that do not fit the text are ignored.
pub fn formatted(text: &str, entities: Option<&Value>) -> String {
    let Some(entities) = entities.and_then(Value::as_array).filter(|e| !e.is_empty()) else {
        return text.to_owned();
    };
    let units: Vec<u16> = text.encode_utf16().collect();
    // (position, opening?, rank, tie, marker): at one position closings come first, the
    // innermost (latest opened) closing first and the outermost (longest) opening first.
    let mut marks: Vec<(usize, u8, usize, usize, String)> = Vec::new();
    for (i, entity) in entities.iter().enumerate() {
        let (Some(offset), Some(length)) =
            (entity.get("offset").and_then(Value::as_u64), entity.get("length").and_then(Value::as_u64))
        else {
            continue;
        };
        let Some(end) = offset.checked_add(length).and_then(|e| usize::try_from(e).ok()) else {
            continue;
        };
        let start = offset as usize;
        if length == 0 || start >= end || end > units.len() {
            continue;
        }
        let (open, close) = match str_at(entity, "/type").unwrap_or_default() {
            "bold" => ("**".to_owned(), "**".to_owned()),
            "italic" => ("_".to_owned(), "_".to_owned()),
            "strikethrough" => ("~~".to_owned(), "~~".to_owned()),
            "code" => ("`".to_owned(), "`".to_owned()),
            "pre" => {
                (format!("```{}\n", str_at(entity, "/language").unwrap_or_default()), "\n```".to_owned())
            }
            "text_link" => match str_at(entity, "/url") {
                Some(url)
                    if url.starts_with("https://")
                        || url.starts_with("http://")
                        || url.starts_with("tg://") =>
                {
                    ("[".to_owned(), format!("]({url})"))
                }
                _ => continue,
            },
            _ => continue,
        };
        marks.push((start, 1, usize::MAX - end, i, open));
        marks.push((end, 0, usize::MAX - start, usize::MAX - i, close));
    }
    marks.sort_by_key(|m| (m.0, m.1, m.2, m.3));
    let mut out = String::with_capacity(text.len() + marks.len() * 2);
    let mut at = 0;
    for (position, _, _, _, marker) in marks {
        if position > at {
            out.push_str(&String::from_utf16_lossy(&units[at..position]));
            at = position;
        }
        out.push_str(&marker);
    }
    out.push_str(&String::from_utf16_lossy(&units[at..]));
    out
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
        let text = match (str_at(edited, "/text"), str_at(edited, "/caption")) {
            (Some(text), _) => formatted(text, edited.get("entities")),
            (None, Some(caption)) => formatted(caption, edited.get("caption_entities")),
            (None, None) => String::new(),
        };
        return vec![ChannelEvent::MessageEdited { external_id: external_id(chat, id), text }];
    }
    if let Some(member) = update.get("my_chat_member") {
        return member_events(member);
    }
    if let Some(reaction) = update.get("message_reaction") {
        return reaction_events(reaction);
    }
    let kind =
        update.as_object().and_then(|o| o.keys().find(|k| *k != "update_id").cloned()).unwrap_or_default();
    tracing::info!(kind, "Telegram update not handled; acknowledged");
    Vec::new()
}

/// Someone changed their reaction to a message: the chat's reaction becomes their newest emoji
/// (a custom emoji or a paid star shows as ⭐), or none. Anonymous reactions in groups
/// (`message_reaction_count`) are not followed.
fn reaction_events(raw: &Value) -> Vec<ChannelEvent> {
    let (Some(chat), Some(id)) =
        (raw.pointer("/chat/id").and_then(Value::as_i64), raw.get("message_id").and_then(Value::as_i64))
    else {
        return Vec::new();
    };
    let emoji = raw
        .get("new_reaction")
        .and_then(Value::as_array)
        .and_then(|all| all.last())
        .map(|r| match str_at(r, "/type") {
            Some("emoji") => str_at(r, "/emoji").unwrap_or_default().to_owned(),
            _ => "⭐".to_owned(),
        })
        .unwrap_or_default();
    vec![ChannelEvent::Reaction { external_id: external_id(chat, id), contact_id: chat.to_string(), emoji }]
}

/// The bot's own membership changed: a private chat's user blocked it (`kicked`) or unblocked
/// it (`member`); in a group it was removed or added. Only private chats mark the contact.
fn member_events(raw: &Value) -> Vec<ChannelEvent> {
    let (Some(chat), Some(status)) =
        (raw.pointer("/chat/id").and_then(Value::as_i64), str_at(raw, "/new_chat_member/status"))
    else {
        return Vec::new();
    };
    if str_at(raw, "/chat/type") != Some("private") {
        tracing::info!(status, "the bot's membership of a group changed");
        return Vec::new();
    }
    let reason = match status {
        "kicked" => Some(
            "The contact blocked the bot: Telegram delivers nothing to them until they unblock it."
                .to_owned(),
        ),
        "member" => None,
        _ => return Vec::new(),
    };
    vec![ChannelEvent::ContactBlocked { contact_id: chat.to_string(), reason }]
}

fn message_events(raw: &Value) -> Vec<ChannelEvent> {
    let (Some(chat), Some(id)) =
        (raw.pointer("/chat/id").and_then(Value::as_i64), raw.get("message_id").and_then(Value::as_i64))
    else {
        return Vec::new();
    };
    // A group became a supergroup: the service messages in both chats say so; the
    // conversation moves to the new id (no message of its own).
    let moved = match (
        raw.get("migrate_to_chat_id").and_then(Value::as_i64),
        raw.get("migrate_from_chat_id").and_then(Value::as_i64),
    ) {
        (Some(to), _) => Some((chat, to)),
        (None, Some(from)) => Some((from, chat)),
        _ => None,
    };
    if let Some((from, to)) = moved {
        return vec![ChannelEvent::ChatMoved { from: from.to_string(), to: to.to_string() }];
    }
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
        text: match (str_at(raw, "/text"), str_at(raw, "/caption")) {
            (Some(text), _) => formatted(text, raw.get("entities")),
            (None, Some(caption)) => formatted(caption, raw.get("caption_entities")),
            (None, None) => String::new(),
        },
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
