//! The adapter's mappings, from the bodies Whapi.Cloud documents.

use serde_json::json;
use switchboard::ChannelStatus;
use switchboard::media::AttachmentKind;
use switchboard::provider::{ChannelEvent, DeliveryStatus, Direction, ProviderError, RateLimitScope};

use super::WhapiConfig;
use super::api::{Health, NOT_LINKED, TOKEN_REFUSED, map_error, path_segment};
use super::send::{data_uri, vcard};
use super::webhook::{self, parse, provider_message, verify_secret};
use crate::providers::linked::{LinkState, SYNC_ERROR, UNLINKED};

#[test]
fn errors_map_to_what_the_outbox_does_with_them() {
    let body =
        |code: u16, message: &str| json!({ "error": { "code": code, "message": message } }).to_string();
    assert_eq!(
        map_error(429, Some(12), body(429, "Too many requests").as_bytes(), 30),
        ProviderError::RateLimited { scope: RateLimitScope::Channel, retry_after_secs: 12 }
    );
    assert_eq!(
        map_error(429, None, b"", 30),
        ProviderError::RateLimited { scope: RateLimitScope::Channel, retry_after_secs: 30 },
        "no Retry-After: the channel's default"
    );
    // The documented 401 of a send: the session needs linking.
    assert_eq!(
        map_error(401, None, body(401, "Need channel authorization for send message").as_bytes(), 30),
        ProviderError::Unauthorized { message: NOT_LINKED.into() }
    );
    assert_eq!(
        map_error(401, None, body(401, "Invalid token").as_bytes(), 30),
        ProviderError::Unauthorized { message: TOKEN_REFUSED.into() }
    );
    assert!(matches!(
        map_error(404, None, body(404, "Channel not found").as_bytes(), 30),
        ProviderError::Unauthorized { .. }
    ));
    assert!(matches!(
        map_error(503, Some(5), b"<html>busy</html>", 30),
        ProviderError::Retryable { after_secs: Some(5), .. }
    ));
    match map_error(400, None, body(400, "Recipient is not a WhatsApp user").as_bytes(), 30) {
        ProviderError::Permanent { message } => assert!(message.contains("Recipient is not a WhatsApp user")),
        other => panic!("{other:?}"),
    }
    // The forbidden-recipient 403 and the flat envelope some answers use.
    match map_error(403, None, body(403, "It is forbidden to send to this group/recipient").as_bytes(), 30) {
        ProviderError::Permanent { message } => assert!(message.contains("forbidden")),
        other => panic!("{other:?}"),
    }
    match map_error(402, None, br#"{"code":402,"error":"trial version limit exceeded"}"#, 30) {
        ProviderError::Permanent { message } => assert!(message.contains("trial version limit exceeded")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn health_states_map_to_channel_statuses() {
    let health = |text: &str| {
        serde_json::from_value::<Health>(json!({ "start_at": 1, "uptime": 2,
        "status": { "code": 4, "text": text }, "user": { "id": "61371989950", "name": "Jonathan" } }))
        .unwrap()
    };
    match health("AUTH").link_state() {
        LinkState::Authorized(identity) => {
            assert_eq!(identity.number.as_deref(), Some("+61371989950"));
            assert_eq!(identity.name.as_deref(), Some("Jonathan"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(health("AUTH").link_state().channel_status(false), (ChannelStatus::Connected, None));
    assert_eq!(
        health("QR").link_state().channel_status(true),
        (ChannelStatus::PendingAuth, Some(UNLINKED.into()))
    );
    assert_eq!(health("QR").link_state().channel_status(false), (ChannelStatus::PendingAuth, None));
    for starting in ["INIT", "LAUNCH", "NOT_INIT", "SOMETHING_NEW"] {
        assert_eq!(
            health(starting).link_state().channel_status(true).0,
            ChannelStatus::PendingAuth,
            "{starting}"
        );
    }
    let (status, why) = health("STOP").link_state().channel_status(true);
    assert_eq!(status, ChannelStatus::Failed);
    assert!(why.unwrap().contains("subscription"));
    assert_eq!(
        health("SYNC_ERROR").link_state().channel_status(true),
        (ChannelStatus::Degraded, Some(SYNC_ERROR.into()))
    );
}

#[test]
fn the_documented_incoming_text_parses() {
    let body = json!({ "messages": [ { "id": "p.w30M7fgwWD4XwHu.g4CA-gBgTwl0rVw", "from_me": false, "type": "text",
        "chat_id": "919984351847@s.whatsapp.net", "timestamp": 1712995245, "source": "mobile",
        "text": { "body": "Hello world" }, "from": "919984351847", "from_name": "Gerald" } ],
      "event": { "type": "messages", "event": "post" }, "channel_id": "MANTIS-M72HC" });
    let events = parse(body.to_string().as_bytes(), true).unwrap();
    assert_eq!(events.len(), 2);
    assert!(matches!(&events[0], ChannelEvent::ContactsUpdated { contacts } if contacts[0].name == "Gerald"));
    let ChannelEvent::MessageReceived { message } = &events[1] else { panic!("{events:?}") };
    assert_eq!(message.external_id, "p.w30M7fgwWD4XwHu.g4CA-gBgTwl0rVw");
    assert_eq!(message.contact_id, "919984351847@s.whatsapp.net");
    assert_eq!(message.text, "Hello world");
    assert_eq!(message.direction, Direction::Inbound);
    assert_eq!(message.sent_at.timestamp(), 1712995245);
}

#[test]
fn the_documented_status_and_health_webhooks_parse() {
    let status = json!({ "statuses": [ { "id": "p.w30M7fgwWD4XwHu.g4CA-gBgTwl0rVw", "code": 4, "status": "read",
        "recipient_id": "919984351847@s.whatsapp.net", "timestamp": "1712995290" } ],
      "event": { "type": "statuses", "event": "post" }, "channel_id": "MANTIS-M72HC" });
    assert_eq!(
        parse(status.to_string().as_bytes(), true).unwrap(),
        [ChannelEvent::MessageStatus {
            external_id: "p.w30M7fgwWD4XwHu.g4CA-gBgTwl0rVw".into(),
            status: DeliveryStatus::Read,
            error: None
        }]
    );
    let pending = json!({ "statuses": [ { "id": "x", "code": 1, "status": "pending", "timestamp": "1" } ] });
    assert!(parse(pending.to_string().as_bytes(), true).unwrap().is_empty());
    let health = json!({ "health": { "start_at": 1, "uptime": 1, "status": { "code": 3, "text": "QR" }, "version": "1" },
        "event": { "type": "channel", "event": "post" }, "channel_id": "MANTIS-M72HC" });
    assert_eq!(
        parse(health.to_string().as_bytes(), true).unwrap(),
        [ChannelEvent::StatusChanged {
            status: ChannelStatus::PendingAuth,
            last_error: Some(UNLINKED.into())
        }]
    );
}

#[test]
fn actions_updates_and_removals_parse() {
    let action = |action: serde_json::Value| {
        json!({ "messages": [ { "id": "a1", "type": "action", "chat_id": "1@s.whatsapp.net", "from_me": false,
            "timestamp": 1, "action": action } ] })
        .to_string()
    };
    assert_eq!(
        parse(action(json!({ "target": "m1", "type": "reaction", "emoji": "👍" })).as_bytes(), true).unwrap(),
        [ChannelEvent::Reaction {
            external_id: "m1".into(),
            contact_id: "1@s.whatsapp.net".into(),
            emoji: "👍".into()
        }]
    );
    assert_eq!(
        parse(action(json!({ "target": "m1", "type": "edit", "edited_type": "text", "edited_content": { "body": "new" } })).as_bytes(), true)
            .unwrap(),
        [ChannelEvent::MessageEdited { external_id: "m1".into(), text: "new".into() }]
    );
    assert_eq!(
        parse(action(json!({ "target": "m1", "type": "delete" })).as_bytes(), true).unwrap(),
        [ChannelEvent::MessageRevoked { external_id: "m1".into() }]
    );
    let patch = json!({ "messages_updates": [ { "id": "m2", "before_update": { "text": { "body": "old" } },
        "after_update": { "text": { "body": "fixed" } }, "changes": ["text"] } ], "messages_removed": ["m3"] });
    assert_eq!(
        parse(patch.to_string().as_bytes(), true).unwrap(),
        [
            ChannelEvent::MessageEdited { external_id: "m2".into(), text: "fixed".into() },
            ChannelEvent::MessageRevoked { external_id: "m3".into() },
        ]
    );
    assert!(parse(b"[1]", true).is_err());
    assert!(parse(b"not json", true).is_err());
}

#[test]
fn media_places_cards_and_the_phones_own_messages() {
    let voice = provider_message(
        &json!({ "id": "v", "type": "voice", "chat_id": "1@s.whatsapp.net", "from_me": true,
        "timestamp": 5, "voice": { "id": "oga-1234-abcd", "mime_type": "audio/ogg", "seconds": 4 } }),
    )
    .unwrap();
    assert_eq!(voice.direction, Direction::Outbound);
    assert_eq!(voice.media[0].kind, AttachmentKind::Voice);
    assert_eq!(voice.media[0].source, "oga-1234-abcd");
    assert_eq!(voice.media[0].duration_ms, Some(4000));
    let cards = provider_message(&json!({ "id": "c", "type": "contact_list", "chat_id": "1@s.whatsapp.net",
        "timestamp": 5, "contact_list": { "list": [ { "name": "A", "vcard": "BEGIN:VCARD\nTEL;type=CELL;waid=1:+1 555\nEND:VCARD" },
        { "name": "B", "vcard": "" } ] } }))
    .unwrap();
    assert_eq!(cards.media.len(), 2);
    assert_eq!(cards.media[0].contact.as_ref().unwrap().phones, ["+1 555"]);
    let group = provider_message(&json!({ "id": "g", "type": "text", "chat_id": "1203@g.us", "from": "155",
        "from_name": "Bea", "timestamp": 5, "text": { "body": "hi" } }))
    .unwrap();
    assert_eq!(group.sender_name.as_deref(), Some("Bea"));
    let odd = provider_message(
        &json!({ "id": "o", "type": "product", "chat_id": "1@s.whatsapp.net", "timestamp": 5 }),
    )
    .unwrap();
    assert_eq!(odd.text, webhook::UNSUPPORTED);
    // The phone's own message never renames the contact after the owner.
    let mine = webhook::message_events(&json!({ "id": "m", "type": "text", "chat_id": "1@s.whatsapp.net",
        "from_me": true, "from_name": "Owner", "timestamp": 5, "text": { "body": "hi" } }));
    assert!(
        matches!(&mine[0], ChannelEvent::ContactsUpdated { contacts } if contacts[0].name == "+1"),
        "{mine:?}"
    );
    assert!(matches!(&mine[1], ChannelEvent::MessageReceived { .. }));
}

#[test]
fn the_webhook_secret_is_checked_exactly() {
    let headers = |v: &str| vec![("X-Switchboard-Secret".to_owned(), v.to_owned())];
    assert!(verify_secret("s3cret", &headers("s3cret")).is_ok());
    assert!(verify_secret("s3cret", &headers("s3cre")).is_err());
    assert!(verify_secret("s3cret", &headers("s3cret!")).is_err());
    assert!(verify_secret("s3cret", &[]).is_err());
    assert!(verify_secret("", &headers("")).is_err(), "an empty secret never matches");
}

#[test]
fn configs_sends_and_paths() {
    assert!(WhapiConfig::of(&json!({})).is_ok());
    assert_eq!(WhapiConfig::of(&json!({})).unwrap().api_base_url, "https://gate.whapi.cloud");
    for bad in [
        json!({ "api_base_url": "ftp://x" }),
        json!({ "history_chats": 501 }),
        json!({ "history_messages": 10_000 }),
        json!({ "health_interval_secs": 0 }),
        json!({ "history_chats": "many" }),
    ] {
        assert!(WhapiConfig::of(&bad).is_err(), "{bad}");
    }
    assert_eq!(data_uri("application/pdf", "a;b.pdf", b"hi"), "data:application/pdf;name=ab.pdf;base64,aGk=");
    let card = switchboard::media::ContactCard { name: "Rui".into(), phones: vec!["+351 91".into()] };
    assert_eq!(vcard(&card), "BEGIN:VCARD\nVERSION:3.0\nFN:Rui\nTEL;type=CELL:+351 91\nEND:VCARD");
    assert_eq!(path_segment("true_1@s.whatsapp.net_3EB0"), "true_1@s.whatsapp.net_3EB0");
    assert_eq!(path_segment("a/b c"), "a%2Fb%20c");
}

mod hostile {
    use proptest::prelude::*;
    use serde_json::Value;

    /// Any JSON, its keys mostly the gateway's own, so the parser's paths are reached.
    fn payload() -> impl Strategy<Value = Value> {
        const KEYS: &[&str] = &[
            "messages",
            "statuses",
            "health",
            "messages_updates",
            "messages_removed",
            "id",
            "type",
            "chat_id",
            "from_me",
            "timestamp",
            "text",
            "body",
            "image",
            "voice",
            "seconds",
            "location",
            "latitude",
            "longitude",
            "contact",
            "contact_list",
            "list",
            "vcard",
            "action",
            "target",
            "emoji",
            "status",
            "errors",
            "context",
            "quoted_id",
            "after_update",
            "poll",
            "options",
            "from_name",
            "chat_name",
        ];
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(|f| serde_json::json!(f)),
            "\\PC{0,16}".prop_map(Value::from),
            prop::sample::select(
                &[
                    "text",
                    "image",
                    "voice",
                    "location",
                    "contact",
                    "contact_list",
                    "action",
                    "reaction",
                    "edit",
                    "delete",
                    "poll",
                    "read",
                    "failed",
                    "QR",
                    "AUTH"
                ][..]
            )
            .prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec((prop::sample::select(KEYS), inner), 0..6)
                    .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        /// Whatever arrives, the parser answers events or an error, and never panics.
        #[test]
        fn any_webhook_body_parses_or_is_refused(body in payload(), linked in any::<bool>()) {
            let _ = super::parse(body.to_string().as_bytes(), linked);
        }
    }
}
