use chrono::TimeZone;
use serde_json::json;

use super::*;
use crate::ids::MessageId;

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 3, 12, 0, 0).unwrap()
}

/// One body of every kind, with ids that are easy to find in the JSON.
fn one_of_each() -> Vec<EventBody> {
    let conversation_id = ConversationId::new();
    let message_id = MessageId::new();
    let user_id = UserId::new();
    vec![
        EventBody::MessageDeleted(MessageDeleted { message_id, conversation_id, deleted_at: Some(at()) }),
        EventBody::MessageStatus(StatusChanged {
            message_id,
            conversation_id,
            status: MessageStatus::Delivered,
            external_id: Some("wamid.1".into()),
            error: None,
        }),
        EventBody::ConversationUpdated(ConversationUpdated {
            conversation_id,
            change: ConversationChange::NewMessage {
                last_message_at: Some(at()),
                last_message_preview: "hi".into(),
                status: ConversationStatus::Open,
                message_id,
                direction: Direction::Inbound,
                sender_user_id: None,
            },
        }),
        EventBody::ConversationUpdated(ConversationUpdated {
            conversation_id,
            change: ConversationChange::Renamed { title: "Ana".into(), status: ConversationStatus::Open },
        }),
        EventBody::ConversationUpdated(ConversationUpdated {
            conversation_id,
            change: ConversationChange::Members { member_ids: vec![user_id] },
        }),
        EventBody::ConversationUpdated(ConversationUpdated {
            conversation_id,
            change: ConversationChange::Rules { frozen: true, slow_mode_secs: Some(30) },
        }),
        EventBody::ConversationUpdated(ConversationUpdated {
            conversation_id,
            change: ConversationChange::Status {
                last_message_at: None,
                last_message_preview: None,
                status: ConversationStatus::Resolved,
                snoozed_until: None,
            },
        }),
        EventBody::ConversationUpdated(ConversationUpdated {
            conversation_id,
            change: ConversationChange::Status {
                last_message_at: None,
                last_message_preview: Some("later".into()),
                status: ConversationStatus::Snoozed,
                snoozed_until: Some(at()),
            },
        }),
        EventBody::ConversationUpdated(ConversationUpdated {
            conversation_id,
            change: ConversationChange::Labels { label_ids: vec![crate::LabelId::new()] },
        }),
        EventBody::ConversationUpdated(ConversationUpdated {
            conversation_id,
            change: ConversationChange::Labels { label_ids: Vec::new() },
        }),
        EventBody::ConversationUpdated(ConversationUpdated {
            conversation_id,
            change: ConversationChange::Assigned {
                assignee_id: Some(user_id),
                assigned_by: None,
                assigned_at: at(),
            },
        }),
        EventBody::ConversationUpdated(ConversationUpdated {
            conversation_id,
            change: ConversationChange::Assigned {
                assignee_id: None,
                assigned_by: Some(user_id),
                assigned_at: at(),
            },
        }),
        EventBody::ReadUpdated(ReadUpdated { conversation_id, up_to: message_id, unread_count: 3.into() }),
        EventBody::ContactPresence(ContactPresence {
            contact_id: ContactId::new(),
            channel_id: ChannelId::new(),
            online: true,
            at: at(),
        }),
        EventBody::ChannelStatus(ChannelStatusChanged {
            channel_id: ChannelId::new(),
            status: ChannelStatus::Degraded,
            last_error: Some("429".into()),
        }),
        EventBody::MemberRemoved(MemberRemoved { workspace_id: WorkspaceId::new(), user_id }),
        EventBody::ReactionAdded(crate::reaction::ReactionChanged {
            message_id,
            conversation_id,
            emoji: "👍".into(),
            user_id: Some(user_id),
            contact_id: None,
            reactions: vec![crate::reaction::ReactionCount {
                emoji: "👍".into(),
                count: 1,
                user_ids: vec![user_id],
                by_contact: false,
            }],
        }),
        EventBody::ReactionRemoved(crate::reaction::ReactionChanged {
            message_id,
            conversation_id,
            emoji: "👍".into(),
            user_id: None,
            contact_id: Some(ContactId::new()),
            reactions: Vec::new(),
        }),
        EventBody::MessagePinned(PinChanged {
            conversation_id,
            message_id,
            user_id: Some(user_id),
            at: at(),
        }),
        EventBody::MessageUnpinned(PinChanged { conversation_id, message_id, user_id: None, at: at() }),
        EventBody::Typing(Typing { conversation_id, user_id, name: "Ana".into(), expires_in_ms: 3000 }),
        EventBody::PresenceOnline(UserPresence { user_id }),
        EventBody::PresenceOffline(UserPresence { user_id }),
    ]
}

#[test]
fn every_body_reads_back_as_itself_through_its_wire_parts() {
    for body in one_of_each() {
        let wire = serde_json::to_value(&body).unwrap();
        assert_eq!(wire["type"], body.kind().as_str());
        let back: EventBody = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(back, body, "{wire}");
        let parts = EventBody::from_parts(body.kind().as_str(), body.payload()).unwrap();
        assert_eq!(parts, body);
    }
}

#[test]
fn the_envelope_keeps_its_documented_fields() {
    let conversation_id = ConversationId::new();
    let body = EventBody::ReadUpdated(ReadUpdated {
        conversation_id,
        up_to: MessageId::new(),
        unread_count: 0.into(),
    });
    let user = UserId::new();
    let mut event = Event::new(Topic::User(user), body, Some("trace-1"), at());
    event.offset = 7;
    let wire = serde_json::to_value(&event).unwrap();
    let mut keys: Vec<&str> = wire.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["id", "occurred_at", "offset", "payload", "schema_version", "topic", "trace_id", "type"]
    );
    assert_eq!(wire["type"], "read.updated");
    assert_eq!(wire["topic"], format!("user:{user}"));
    assert_eq!(wire["offset"], 7);
    assert_eq!(wire["schema_version"], EVENT_SCHEMA_VERSION);
    assert_eq!(wire["payload"]["conversation_id"], json!(conversation_id));
    assert_eq!(wire["payload"]["unread_count"], 0);
    let back: Event = serde_json::from_value(wire).unwrap();
    assert_eq!(back, event);
    assert_eq!(back.kind(), EventKind::ReadUpdated);
}

#[test]
fn a_conversation_update_is_read_as_the_change_its_fields_describe() {
    let id = ConversationId::new();
    let read = |payload: Value| match EventBody::from_parts("conversation.updated", payload).unwrap() {
        EventBody::ConversationUpdated(u) => {
            assert_eq!(u.conversation_id, id);
            u.change
        }
        other => panic!("{other:?}"),
    };
    // The shapes the server has always written (payloads already in logs stay readable).
    let renamed = read(json!({"conversation_id": id, "title": "Team", "status": "open"}));
    assert!(matches!(renamed, ConversationChange::Renamed { ref title, .. } if title == "Team"));
    let status = read(json!({
        "conversation_id": id, "last_message_at": null, "last_message_preview": "x", "status": "resolved"
    }));
    assert!(matches!(status, ConversationChange::Status { status: ConversationStatus::Resolved, .. }));
    let members = read(json!({"conversation_id": id, "member_ids": []}));
    assert_eq!(members, ConversationChange::Members { member_ids: vec![] });
    let moved = read(json!({
        "conversation_id": id, "last_message_at": "2026-12-03T12:00:00Z", "last_message_preview": "hi",
        "status": "open", "message_id": MessageId::new(), "direction": "outbound", "sender_user_id": UserId::new(),
    }));
    assert!(matches!(moved, ConversationChange::NewMessage { direction: Direction::Outbound, .. }));
}

#[test]
fn unknown_kinds_and_bad_payloads_are_errors_not_panics() {
    assert_eq!(
        EventBody::from_parts("message.exploded", json!({})),
        Err(BadEvent::Kind(UnknownKind("message.exploded".into())))
    );
    let bad = EventBody::from_parts("read.updated", json!({"conversation_id": 5}));
    assert!(matches!(bad, Err(BadEvent::Payload { kind: EventKind::ReadUpdated, .. })), "{bad:?}");
    assert!(serde_json::from_value::<EventBody>(json!({"type": "typing"})).is_err());
}

#[test]
fn kinds_name_themselves_and_parse_back() {
    for kind in EventKind::ALL {
        assert_eq!(kind.as_str().parse::<EventKind>(), Ok(kind));
        assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
    }
    let ephemeral: Vec<_> = EventKind::ALL.into_iter().filter(EventKind::is_ephemeral).collect();
    assert_eq!(
        ephemeral,
        [EventKind::Mentioned, EventKind::Typing, EventKind::PresenceOnline, EventKind::PresenceOffline]
    );
}

#[test]
fn a_rules_change_without_slow_mode_reads_back() {
    let wire = json!({"id": "01a24122-c4f3-7448-8108-5fe9e5959535", "type": "conversation.updated",
        "payload": {"conversation_id": "01a24122-bf64-7219-a351-7443e05b27f5", "frozen": true}});
    let body: EventBody = serde_json::from_value(wire).unwrap();
    let EventBody::ConversationUpdated(update) = body else { panic!("{body:?}") };
    assert_eq!(update.change, ConversationChange::Rules { frozen: true, slow_mode_secs: None });
}
