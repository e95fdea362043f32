//! The event log reads back typed: rows written by earlier builds (the payload shapes the
//! server has always written) become the same `EventBody` variants, and a row this build
//! cannot read is an error naming the event, never a panic. On SQLite and PostgreSQL.

#[macro_use]
mod common;

use common::Raw;
use switchboard::event::{ConversationChange, EventBody};
use switchboard::{ConversationId, MessageId, StoreError, Topic, UserId};
use switchboard_server::http::AppState;

app_test!(old_rows_read_back_as_typed_bodies, an_unreadable_row_is_an_error_naming_it);

async fn old_rows_read_back_as_typed_bodies(app: AppState, raw: Raw) {
    let ws = app.store.workspace_by_name("Acme Support").await.unwrap().unwrap().id;
    let conversation = ConversationId::new();
    let topic = Topic::Conversation(conversation);
    let (message, user) = (MessageId::new(), UserId::new());
    // Exactly as the JSON-building store wrote them.
    let rows = [
        (
            "conversation.updated",
            format!(r#"{{"conversation_id":"{conversation}","member_ids":["{user}"]}}"#),
        ),
        (
            "conversation.updated",
            format!(r#"{{"conversation_id":"{conversation}","title":"Team","status":"open"}}"#),
        ),
        (
            "conversation.updated",
            format!(
                r#"{{"conversation_id":"{conversation}","last_message_at":null,"last_message_preview":null,"status":"resolved"}}"#
            ),
        ),
        (
            "message.status",
            format!(
                r#"{{"message_id":"{message}","conversation_id":"{conversation}","status":"read","external_id":"wamid.1","error":null}}"#
            ),
        ),
        (
            "message.deleted",
            format!(
                r#"{{"message_id":"{message}","conversation_id":"{conversation}","deleted_at":"2026-12-01T10:00:00Z"}}"#
            ),
        ),
    ];
    for (offset, (kind, payload)) in rows.iter().enumerate() {
        raw.insert_event(ws, &topic.to_string(), offset as i64 + 1, kind, payload).await;
    }
    let events = app.store.events_after(topic, 0, 10).await.unwrap();
    assert_eq!(events.len(), rows.len());
    let changes: Vec<&ConversationChange> = events
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::ConversationUpdated(u) => {
                assert_eq!(u.conversation_id, conversation);
                Some(&u.change)
            }
            _ => None,
        })
        .collect();
    assert!(matches!(changes[0], ConversationChange::Members { member_ids } if member_ids == &[user]));
    assert!(matches!(changes[1], ConversationChange::Renamed { title, .. } if title == "Team"));
    assert!(matches!(changes[2], ConversationChange::Status { last_message_preview: None, .. }));
    match &events[3].body {
        EventBody::MessageStatus(s) => {
            assert_eq!((s.message_id, s.status), (message, switchboard::MessageStatus::Read));
            assert_eq!(s.external_id.as_deref(), Some("wamid.1"));
        }
        other => panic!("expected message.status, got {other:?}"),
    }
    assert!(matches!(&events[4].body, EventBody::MessageDeleted(d) if d.message_id == message));
    assert!(events.iter().all(|e| e.topic == topic));
}

async fn an_unreadable_row_is_an_error_naming_it(app: AppState, raw: Raw) {
    let ws = app.store.workspace_by_name("Acme Support").await.unwrap().unwrap().id;
    let topic = Topic::Conversation(ConversationId::new());
    let good = format!(r#"{{"workspace_id":"{ws}","user_id":"{}"}}"#, UserId::new());
    raw.insert_event(ws, &topic.to_string(), 1, "member.removed", &good).await;
    let bad = raw.insert_event(ws, &topic.to_string(), 2, "message.exploded", "{}").await;
    match app.store.events_after(topic, 0, 10).await {
        Err(StoreError::Internal(why)) => assert!(why.contains(&bad.to_string()), "{why}"),
        other => panic!("expected an internal error, got {other:?}"),
    }
    // The rows before it still read.
    assert_eq!(app.store.events_after(topic, 0, 1).await.unwrap().len(), 1);
}
