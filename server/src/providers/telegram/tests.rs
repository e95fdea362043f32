//! The adapter's pure parts against the Bot API's documented bodies: token shape, error
//! mapping, updates.

use serde_json::json;
use switchboard::media::AttachmentKind;
use switchboard::provider::{ChannelEvent, ProviderError, RateLimitScope};

use super::updates::{self, UNSUPPORTED};
use super::{BotConfig, Mode, TOKEN_REVOKED, map_error, token_shape_ok};

#[test]
fn tokens_have_the_documented_shape() {
    assert!(token_shape_ok("123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"));
    assert!(token_shape_ok("7012345678:AAF-_abcdefghijklmnopqrstuvwxyz0123"));
    for bad in [
        "",
        "123456789",
        "abc:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
        "123456789:short",
        "1234:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
        "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PAL/saw",
    ] {
        assert!(!token_shape_ok(bad), "{bad}");
    }
}

#[test]
fn errors_map_from_documented_bodies() {
    let limited = br#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 17","parameters":{"retry_after":17}}"#;
    assert_eq!(
        map_error(429, None, limited),
        ProviderError::RateLimited { scope: RateLimitScope::Channel, retry_after_secs: 17 }
    );
    let revoked = br#"{"ok":false,"error_code":401,"description":"Unauthorized"}"#;
    assert_eq!(map_error(401, None, revoked), ProviderError::Unauthorized { message: TOKEN_REVOKED.into() });
    let blocked = br#"{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}"#;
    assert_eq!(
        map_error(403, None, blocked),
        ProviderError::Permanent { message: "Telegram refused: bot was blocked by the user".into() }
    );
    let missing = br#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#;
    assert_eq!(
        map_error(400, None, missing),
        ProviderError::Permanent { message: "Telegram refused the message: chat not found".into() }
    );
    let migrated = br#"{"ok":false,"error_code":400,"description":"Bad Request: group chat was upgraded to a supergroup chat","parameters":{"migrate_to_chat_id":-1001234567890}}"#;
    assert!(matches!(map_error(400, None, migrated), ProviderError::Permanent { .. }));
    assert!(matches!(map_error(502, None, b"<html>Bad Gateway</html>"), ProviderError::Retryable { .. }));
    let internal = br#"{"ok":false,"error_code":500,"description":"Internal Server Error"}"#;
    assert!(matches!(map_error(500, None, internal), ProviderError::Retryable { .. }));
}

#[test]
fn config_defaults_and_limits() {
    let config = BotConfig::of(&json!({})).unwrap();
    assert_eq!(
        (config.api_base_url.as_str(), config.mode, config.poll_timeout_secs),
        ("https://api.telegram.org", Mode::Auto, 25)
    );
    assert_eq!(BotConfig::of(&json!({ "mode": "polling" })).unwrap().mode, Mode::Polling);
    for bad in [
        json!({ "mode": "carrier-pigeon" }),
        json!({ "api_base_url": "ftp://x" }),
        json!({ "poll_timeout_secs": 0 }),
    ] {
        assert!(BotConfig::of(&bad).is_err(), "{bad}");
    }
}

fn message(extra: serde_json::Value) -> serde_json::Value {
    let mut m = json!({ "message_id": 42, "date": 1_700_000_000,
        "from": { "id": 111, "is_bot": false, "first_name": "Ana", "last_name": "Lima", "username": "ana" },
        "chat": { "id": 111, "type": "private", "first_name": "Ana", "last_name": "Lima" } });
    m.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    json!({ "update_id": 900, "message": m })
}

fn received(events: &[ChannelEvent]) -> &switchboard::provider::ProviderMessage {
    events
        .iter()
        .find_map(|e| match e {
            ChannelEvent::MessageReceived { message } => Some(message),
            _ => None,
        })
        .expect("a message")
}

#[test]
fn private_messages_of_every_kind() {
    let events = updates::events(&message(
        json!({ "text": "hi", "reply_to_message": { "message_id": 41, "chat": { "id": 111 } } }),
    ));
    let ChannelEvent::ContactsUpdated { contacts } = &events[0] else { panic!() };
    assert_eq!((contacts[0].external_id.as_str(), contacts[0].name.as_str()), ("111", "Ana Lima"));
    let m = received(&events);
    assert_eq!(
        (m.external_id.as_str(), m.text.as_str(), m.reply_to.as_deref()),
        ("111:42", "hi", Some("111:41"))
    );
    assert_eq!(m.sender_name, None, "a private chat needs no sender name");
    assert_eq!(m.sent_at.timestamp(), 1_700_000_000);
    for (extra, kind) in [
        (
            json!({ "photo": [{ "file_id": "small", "width": 90 }, { "file_id": "large", "width": 1280 }], "caption": "look" }),
            AttachmentKind::Image,
        ),
        (json!({ "document": { "file_id": "d", "file_name": "a.pdf" } }), AttachmentKind::Document),
        (json!({ "voice": { "file_id": "v", "duration": 3 } }), AttachmentKind::Voice),
        (json!({ "audio": { "file_id": "a", "duration": 200 } }), AttachmentKind::Audio),
        (json!({ "video": { "file_id": "vi", "duration": 5 } }), AttachmentKind::Video),
        (json!({ "video_note": { "file_id": "vn", "length": 240, "duration": 5 } }), AttachmentKind::Video),
        (json!({ "sticker": { "file_id": "s", "emoji": "😀" } }), AttachmentKind::Sticker),
        (json!({ "location": { "latitude": 52.52, "longitude": 13.405 } }), AttachmentKind::Location),
        (json!({ "contact": { "phone_number": "+4930123", "first_name": "Max" } }), AttachmentKind::Contact),
    ] {
        let events = updates::events(&message(extra));
        let m = received(&events);
        assert_eq!(m.media[0].kind, kind);
        if kind == AttachmentKind::Image {
            assert_eq!((m.media[0].source.as_str(), m.text.as_str()), ("large", "look"));
        }
        if kind == AttachmentKind::Voice {
            assert_eq!(m.media[0].duration_ms, Some(3000));
        }
    }
    let events = updates::events(&message(json!({ "dice": { "emoji": "🎲", "value": 4 } })));
    assert_eq!(received(&events).text, UNSUPPORTED);
}

#[test]
fn groups_are_one_conversation_naming_each_sender() {
    let update = json!({ "update_id": 5, "message": { "message_id": 7, "date": 1, "text": "hello all",
        "from": { "id": 222, "first_name": "Bo" }, "chat": { "id": -100555, "type": "supergroup", "title": "Support group" } } });
    let events = updates::events(&update);
    let ChannelEvent::ContactsUpdated { contacts } = &events[0] else { panic!() };
    assert_eq!((contacts[0].external_id.as_str(), contacts[0].name.as_str()), ("-100555", "Support group"));
    let m = received(&events);
    assert_eq!(
        (m.contact_id.as_str(), m.external_id.as_str(), m.sender_name.as_deref()),
        ("-100555", "-100555:7", Some("Bo"))
    );
}

#[test]
fn edits_and_unknown_updates() {
    let edit = json!({ "update_id": 6, "edited_message": { "message_id": 42, "date": 1, "edit_date": 2, "chat": { "id": 111, "type": "private" }, "text": "hi again" } });
    assert_eq!(
        updates::events(&edit),
        [ChannelEvent::MessageEdited { external_id: "111:42".into(), text: "hi again".into() }]
    );
    assert!(updates::events(&json!({ "update_id": 7, "poll": { "id": "1" } })).is_empty());
}

#[test]
fn entities_become_the_markdown_subset() {
    use super::updates::formatted;
    let entities = json!([
        { "type": "bold", "offset": 0, "length": 4 },
        { "type": "italic", "offset": 5, "length": 6 },
        { "type": "text_link", "offset": 12, "length": 4, "url": "https://example.com/a" },
        { "type": "mention", "offset": 17, "length": 4 },
    ]);
    assert_eq!(
        formatted("Bold italic link @ana", Some(&entities)),
        "**Bold** _italic_ [link](https://example.com/a) @ana"
    );
    // Offsets count UTF-16 units: an emoji is two.
    let emoji = json!([{ "type": "code", "offset": 3, "length": 3 }]);
    assert_eq!(formatted("😀 x=1", Some(&emoji)), "😀 `x=1`");
    let nested = json!([{ "type": "bold", "offset": 0, "length": 11 }, { "type": "strikethrough", "offset": 5, "length": 6 }]);
    assert_eq!(formatted("very strong", Some(&nested)), "**very ~~strong~~**");
    let pre = json!([{ "type": "pre", "offset": 0, "length": 9, "language": "rust" }]);
    assert_eq!(formatted("let x = 1", Some(&pre)), "```rust\nlet x = 1\n```");
    let unsafe_link =
        json!([{ "type": "text_link", "offset": 0, "length": 2, "url": "javascript:alert(1)" }]);
    assert_eq!(formatted("hi", Some(&unsafe_link)), "hi", "only http(s) and tg links");
    let beyond = json!([{ "type": "bold", "offset": 1, "length": 50 }]);
    assert_eq!(formatted("short", Some(&beyond)), "short");
}
