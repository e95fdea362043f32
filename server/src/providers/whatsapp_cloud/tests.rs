//! The adapter's pure parts against Meta's documented bodies: error mapping, webhook payloads,
//! signatures, config.

use serde_json::json;
use switchboard::media::AttachmentKind;
use switchboard::provider::{ChannelEvent, DeliveryStatus, ProviderError, RateLimitScope};

use super::webhook::{self, UNSUPPORTED};
use super::{CloudConfig, TOKEN_REFUSED, map_error};

fn graph_error(code: i64, message: &str, details: Option<&str>) -> Vec<u8> {
    let mut error = json!({ "message": message, "type": "OAuthException", "code": code, "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam" });
    if let Some(details) = details {
        error["error_data"] = json!({ "messaging_product": "whatsapp", "details": details });
    }
    serde_json::to_vec(&json!({ "error": error })).unwrap()
}

#[test]
fn throughput_limits_pause_the_channel_with_retry_after_or_the_default() {
    let body = graph_error(
        130429,
        "(#130429) Rate limit hit",
        Some("Cloud API message throughput has been reached."),
    );
    assert_eq!(
        map_error(400, Some(12), &body, 30),
        ProviderError::RateLimited { scope: RateLimitScope::Channel, retry_after_secs: 12 }
    );
    assert_eq!(
        map_error(400, None, &body, 30),
        ProviderError::RateLimited { scope: RateLimitScope::Channel, retry_after_secs: 30 }
    );
    let spam = graph_error(80007, "(#80007) Rate limit issues", None);
    assert!(matches!(
        map_error(400, None, &spam, 45),
        ProviderError::RateLimited { retry_after_secs: 45, .. }
    ));
    // A bare 429 with no body, as a proxy in front may answer.
    assert_eq!(
        map_error(429, Some(7), b"", 30),
        ProviderError::RateLimited { scope: RateLimitScope::Channel, retry_after_secs: 7 }
    );
}

#[test]
fn the_pair_rate_limit_pauses_only_the_conversation() {
    let body =
        graph_error(131056, "(#131056) (Business Account, Consumer Account) pair rate limit hit", None);
    assert_eq!(
        map_error(400, None, &body, 30),
        ProviderError::RateLimited { scope: RateLimitScope::Conversation, retry_after_secs: 30 }
    );
}

#[test]
fn token_errors_ask_for_a_new_sign_in() {
    let expired = graph_error(
        190,
        "Error validating access token: Session has expired on Tuesday, 01-Dec-26 10:00:00 PST.",
        None,
    );
    assert_eq!(
        map_error(401, None, &expired, 30),
        ProviderError::Unauthorized { message: TOKEN_REFUSED.into() }
    );
    assert_eq!(
        map_error(400, None, &expired, 30),
        ProviderError::Unauthorized { message: TOKEN_REFUSED.into() }
    );
    assert!(matches!(map_error(401, None, b"<html>", 30), ProviderError::Unauthorized { .. }));
}

#[test]
fn a_closed_window_and_an_unreachable_number_are_permanent_in_words() {
    let window = graph_error(
        131047,
        "(#131047) Re-engagement message",
        Some(
            "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
        ),
    );
    let ProviderError::Permanent { message } = map_error(400, None, &window, 30) else {
        panic!("not permanent")
    };
    assert!(message.contains("24 hours") && message.contains("template"), "{message}");
    let undeliverable = graph_error(131026, "(#131026) Message Undeliverable", None);
    let ProviderError::Permanent { message } = map_error(400, None, &undeliverable, 30) else { panic!() };
    assert!(message.contains("could not deliver"), "{message}");
    let bad_param =
        graph_error(100, "(#100) Invalid parameter", Some("Parameter 'to' is not a valid phone number"));
    assert_eq!(
        map_error(400, None, &bad_param, 30),
        ProviderError::Permanent {
            message: "WhatsApp refused the message: Parameter 'to' is not a valid phone number".into()
        }
    );
}

#[test]
fn server_errors_and_temporary_codes_are_retried() {
    assert!(matches!(map_error(500, None, b"", 30), ProviderError::Retryable { .. }));
    assert!(matches!(map_error(503, Some(5), b"", 30), ProviderError::Retryable { after_secs: Some(5), .. }));
    let unknown = graph_error(131000, "(#131000) Something went wrong", None);
    assert!(matches!(map_error(400, None, &unknown, 30), ProviderError::Retryable { .. }));
    let unavailable = graph_error(133004, "(#133004) Server temporarily unavailable", None);
    assert!(matches!(map_error(400, None, &unavailable, 30), ProviderError::Retryable { .. }));
}

fn hook(value: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "object": "whatsapp_business_account",
        "entry": [{ "id": "102290129340398", "changes": [{ "field": "messages", "value": value }] }]
    }))
    .unwrap()
}

fn inbound(message: serde_json::Value) -> Vec<u8> {
    hook(json!({
        "messaging_product": "whatsapp",
        "metadata": { "display_phone_number": "15550783881", "phone_number_id": "106540352242922" },
        "contacts": [{ "profile": { "name": "Sheena Nelson" }, "wa_id": "16505551234" }],
        "messages": [message]
    }))
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
fn text_with_its_contact_name_time_and_reply_context() {
    let body = inbound(json!({
        "context": { "from": "15550783881", "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA" },
        "from": "16505551234", "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGCA0RDQ0", "timestamp": "1749416383",
        "type": "text", "text": { "body": "Does it come in another color?" }
    }));
    let events = webhook::parse("106540352242922", &body).unwrap();
    let ChannelEvent::ContactsUpdated { contacts } = &events[0] else { panic!("contacts first") };
    assert_eq!(contacts[0].name, "Sheena Nelson");
    assert_eq!(contacts[0].external_id, "16505551234");
    let message = received(&events);
    assert_eq!(message.text, "Does it come in another color?");
    assert_eq!(message.contact_id, "16505551234");
    assert_eq!(message.sent_at.timestamp(), 1_749_416_383);
    assert_eq!(
        message.reply_to.as_deref(),
        Some("wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA")
    );
}

#[test]
fn another_numbers_payload_is_ignored() {
    let body = inbound(
        json!({ "from": "1", "id": "wamid.x", "timestamp": "1", "type": "text", "text": { "body": "hi" } }),
    );
    assert!(webhook::parse("999", &body).unwrap().is_empty());
}

#[test]
fn media_locations_cards_and_replies_become_messages() {
    let cases = [
        (
            json!({ "type": "image", "image": { "caption": "Look", "mime_type": "image/jpeg", "sha256": "abc", "id": "1003383421387256" } }),
            AttachmentKind::Image,
            "Look",
        ),
        (
            json!({ "type": "video", "video": { "mime_type": "video/mp4", "sha256": "abc", "id": "1200" } }),
            AttachmentKind::Video,
            "",
        ),
        (
            json!({ "type": "audio", "audio": { "mime_type": "audio/ogg; codecs=opus", "sha256": "a", "id": "1300", "voice": true } }),
            AttachmentKind::Voice,
            "",
        ),
        (
            json!({ "type": "audio", "audio": { "mime_type": "audio/mpeg", "sha256": "a", "id": "1301", "voice": false } }),
            AttachmentKind::Audio,
            "",
        ),
        (
            json!({ "type": "document", "document": { "caption": "Invoice", "filename": "invoice.pdf", "mime_type": "application/pdf", "sha256": "a", "id": "1400" } }),
            AttachmentKind::Document,
            "Invoice",
        ),
        (
            json!({ "type": "sticker", "sticker": { "mime_type": "image/webp", "sha256": "a", "id": "1500", "animated": false } }),
            AttachmentKind::Sticker,
            "",
        ),
    ];
    for (content, kind, text) in cases {
        let mut message = json!({ "from": "16505551234", "id": "wamid.m", "timestamp": "1749416383" });
        message.as_object_mut().unwrap().extend(content.as_object().unwrap().clone());
        let events = webhook::parse("106540352242922", &inbound(message)).unwrap();
        let message = received(&events);
        assert_eq!(message.media.len(), 1, "{kind:?}");
        assert_eq!(message.media[0].kind, kind);
        assert!(!message.media[0].source.is_empty());
        assert_eq!(message.text, text);
    }
    let place = inbound(json!({ "from": "1", "id": "wamid.l", "timestamp": "1", "type": "location",
        "location": { "address": "1 Hacker Way, Menlo Park, CA 94025", "latitude": 37.483307, "longitude": -122.148981, "name": "Philz Coffee" } }));
    let events = webhook::parse("106540352242922", &place).unwrap();
    let point = received(&events).media[0].location.clone().unwrap();
    assert_eq!(point.name.as_deref(), Some("Philz Coffee, 1 Hacker Way, Menlo Park, CA 94025"));
    let card = inbound(json!({ "from": "1", "id": "wamid.c", "timestamp": "1", "type": "contacts",
        "contacts": [{ "name": { "first_name": "Barbara", "formatted_name": "Barbara Johnson" }, "phones": [{ "phone": "+1 (650) 555-1234", "type": "MOBILE", "wa_id": "16505551234" }] }] }));
    let events = webhook::parse("106540352242922", &card).unwrap();
    let contact = received(&events).media[0].contact.clone().unwrap();
    assert_eq!((contact.name.as_str(), contact.phones[0].as_str()), ("Barbara Johnson", "+1 (650) 555-1234"));
    for (raw, text) in [
        (
            json!({ "type": "interactive", "interactive": { "type": "button_reply", "button_reply": { "id": "b1", "title": "Yes, please" } } }),
            "Yes, please",
        ),
        (
            json!({ "type": "interactive", "interactive": { "type": "list_reply", "list_reply": { "id": "l1", "title": "Red", "description": "The red one" } } }),
            "Red\nThe red one",
        ),
        (
            json!({ "type": "button", "button": { "payload": "STOP", "text": "Stop promotions" } }),
            "Stop promotions",
        ),
        (
            json!({ "type": "unsupported", "errors": [{ "code": 131051, "title": "Message type unknown", "message": "Message type unknown" }] }),
            UNSUPPORTED,
        ),
        (json!({ "type": "order", "order": { "catalog_id": "1" } }), UNSUPPORTED),
    ] {
        let mut message = json!({ "from": "1", "id": "wamid.i", "timestamp": "1" });
        message.as_object_mut().unwrap().extend(raw.as_object().unwrap().clone());
        let events = webhook::parse("106540352242922", &inbound(message)).unwrap();
        assert_eq!(received(&events).text, text);
    }
}

#[test]
fn reactions_name_the_message_reacted_to() {
    let body = inbound(json!({ "from": "16505551234", "id": "wamid.r", "timestamp": "1", "type": "reaction",
        "reaction": { "message_id": "wamid.target", "emoji": "\u{1F44D}" } }));
    let events = webhook::parse("106540352242922", &body).unwrap();
    assert!(events.contains(&ChannelEvent::Reaction {
        external_id: "wamid.target".into(),
        contact_id: "16505551234".into(),
        emoji: "\u{1F44D}".into()
    }));
}

#[test]
fn statuses_move_ticks_and_failures_carry_words() {
    let body = hook(json!({
        "messaging_product": "whatsapp",
        "metadata": { "display_phone_number": "15550783881", "phone_number_id": "106540352242922" },
        "statuses": [
            { "id": "wamid.a", "status": "delivered", "timestamp": "1750263773", "recipient_id": "16505551234" },
            { "id": "wamid.b", "status": "failed", "timestamp": "1750263773", "recipient_id": "16505551234",
              "errors": [{ "code": 131047, "title": "Re-engagement message", "message": "Re-engagement message",
                           "error_data": { "details": "Message failed to send because more than 24 hours have passed since the customer last replied to this number." } }] }
        ]
    }));
    let events = webhook::parse("106540352242922", &body).unwrap();
    assert_eq!(
        events[0],
        ChannelEvent::MessageStatus {
            external_id: "wamid.a".into(),
            status: DeliveryStatus::Delivered,
            error: None
        }
    );
    let ChannelEvent::MessageStatus { status: DeliveryStatus::Failed, error: Some(words), .. } = &events[1]
    else {
        panic!("failed status")
    };
    assert!(
        words.starts_with("Re-engagement message: Message failed to send because more than 24 hours"),
        "{words}"
    );
}

#[test]
fn signatures_are_checked_over_the_raw_bytes() {
    use hmac::{Hmac, Mac};
    let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"app-secret").unwrap();
    mac.update(body);
    let good = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    let header = |v: &str| vec![("x-hub-signature-256".to_owned(), v.to_owned())];
    assert!(webhook::verify_signature("app-secret", &header(&good), body).is_ok());
    assert!(webhook::verify_signature("other-secret", &header(&good), body).is_err());
    assert!(webhook::verify_signature("app-secret", &header(&good), b"{}").is_err());
    assert!(webhook::verify_signature("app-secret", &header("sha256=zz"), body).is_err());
    assert!(webhook::verify_signature("app-secret", &[], body).is_err());
}

#[test]
fn config_needs_the_number_id_and_takes_defaults() {
    let config = CloudConfig::of(&json!({ "phone_number_id": "106540352242922" })).unwrap();
    assert_eq!(config.api_version, super::DEFAULT_API_VERSION);
    assert_eq!(config.api_base_url, "https://graph.facebook.com");
    for bad in [
        json!({}),
        json!({ "phone_number_id": "12/../34" }),
        json!({ "phone_number_id": "1", "api_version": "24" }),
        json!({ "phone_number_id": "1", "api_base_url": "file:///etc" }),
        json!({ "phone_number_id": "1", "waba_id": "abc" }),
    ] {
        assert!(CloudConfig::of(&bad).is_err(), "{bad}");
    }
}

#[test]
fn templates_list_only_approved_ones_with_their_parameters() {
    let approved = json!({ "name": "order_update", "language": "en_US", "status": "APPROVED", "category": "UTILITY",
        "components": [{ "type": "HEADER", "format": "TEXT", "text": "Order" }, { "type": "BODY", "text": "Hi {{1}}, order {{2}} shipped." }], "id": "1" });
    let template = super::api::template_of(&approved).unwrap();
    assert_eq!(template.parameters, 2);
    assert_eq!(template.render(&["Ana".into(), "#42".into()]).unwrap(), "Hi Ana, order #42 shipped.");
    assert!(template.render(&["Ana".into()]).is_err());
    let pending = json!({ "name": "x", "language": "en_US", "status": "PENDING", "components": [] });
    assert!(super::api::template_of(&pending).is_none());
}
