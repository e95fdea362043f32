//! What a linked phone brings the store: the echoes of our own sends (`from_me`), matched to
//! the send whether they come before or after its answer, and history recorded as read.

use chrono::Duration;
use switchboard::provider::{Contact, Direction, ProviderMessage};
use switchboard::store::NewHistory;
use switchboard::time::now;
use switchboard::{MemberRole, MessageStatus, Store};

use crate::{inbound, messaging_fixture, outbound};

fn from_phone(
    ws: switchboard::WorkspaceId,
    ch: switchboard::ChannelId,
    external_id: &str,
    text: &str,
) -> switchboard::store::NewInbound {
    let mut echo = inbound(ws, ch, "+1555", external_id, text);
    echo.message.direction = Direction::Outbound;
    echo
}

/// An echo that beats the send's answer is the send; one whose text differs is recorded, then
/// folded into the send when its answer names the same id. Either way the message shows once.
pub async fn echoes_of_our_sends_never_show_twice(store: &dyn Store) {
    let (ws, ch, agent, conversation) = messaging_fixture(store, "Echoes").await;
    store.put_member(ws, agent, MemberRole::Agent, now()).await.unwrap();
    let ours = store.send_message(outbound(ws, conversation, agent, "on my way", None)).await.unwrap();
    assert!(store.ingest_inbound(from_phone(ws, ch, "wa-1", "on my way")).await.unwrap().is_none());
    let later = now() + Duration::minutes(1);
    let job = store.claim_outbox(later, later + Duration::minutes(1), 10).await.unwrap().remove(0);
    assert_eq!(job.message.id, ours.message.id);
    store.outbox_sent(&job, "wa-1").await.unwrap();
    let messages = store.messages(ws, conversation, None, 50).await.unwrap();
    assert_eq!(messages.len(), 2, "hello and ours: {messages:?}");
    assert_eq!(messages[0].external_id.as_deref(), Some("wa-1"));
    assert_eq!(messages[0].status, MessageStatus::Sent);

    // The network reformatted it: recorded as the phone's, then folded into ours.
    let ours = store.send_message(outbound(ws, conversation, agent, "Hi *there*", None)).await.unwrap();
    let echo = store.ingest_inbound(from_phone(ws, ch, "wa-2", "Hi there")).await.unwrap().expect("recorded");
    assert_eq!(echo.message.direction, Direction::Outbound);
    assert_eq!(echo.message.sender_user_id, None);
    let job = store.claim_outbox(later, later + Duration::minutes(1), 10).await.unwrap().remove(0);
    store.outbox_sent(&job, "wa-2").await.unwrap();
    let messages = store.messages(ws, conversation, None, 50).await.unwrap();
    let live: Vec<_> = messages.iter().filter(|m| m.deleted_at.is_none()).collect();
    assert_eq!(live.len(), 3, "{messages:?}");
    assert_eq!(live[0].id, ours.message.id);
    assert_eq!(live[0].external_id.as_deref(), Some("wa-2"));
    let copy = messages.iter().find(|m| m.id == echo.message.id).unwrap();
    assert!(copy.deleted_at.is_some() && copy.external_id.is_none(), "{copy:?}");
    // A message typed on the phone is the team's, not unread, and leaves the contact's name.
    let typed =
        store.ingest_inbound(from_phone(ws, ch, "wa-3", "typed on the phone")).await.unwrap().unwrap();
    assert_eq!(typed.message.direction, Direction::Outbound);
    let listed = store.conversations(ws, agent, &Default::default()).await.unwrap();
    let listed = listed.iter().find(|c| c.conversation.id == conversation).unwrap();
    assert_eq!(listed.conversation.last_message_preview.as_deref(), Some("typed on the phone"));
}

/// History takes its place by time, is read for everyone, and is added once.
pub async fn history_is_read_ordered_and_added_once(store: &dyn Store) {
    let (ws, ch, agent, _) = messaging_fixture(store, "History").await;
    store.put_member(ws, agent, MemberRole::Agent, now()).await.unwrap();
    let at = |minutes: i64| now() - Duration::minutes(minutes);
    let message = |id: &str, minutes: i64, direction: Direction, text: &str| {
        let m = ProviderMessage {
            external_id: id.into(),
            contact_id: "+1777".into(),
            direction,
            text: text.into(),
            sent_at: at(minutes),
            media: Vec::new(),
            reply_to: (id == "h-3").then(|| "h-1".to_owned()),
            sender_name: None,
        };
        (m, Vec::new())
    };
    let history = NewHistory {
        workspace_id: ws,
        channel_id: ch,
        contact: Contact { external_id: "+1777".into(), name: "Old Friend".into() },
        messages: vec![
            message("h-3", 10, Direction::Inbound, "see you"),
            message("h-1", 60, Direction::Inbound, "first"),
            message("h-2", 30, Direction::Outbound, "second"),
        ],
    };
    assert_eq!(store.import_history(history.clone()).await.unwrap(), 3);
    assert_eq!(store.import_history(history).await.unwrap(), 0, "a second import adds nothing");
    let listed = store.conversations(ws, agent, &Default::default()).await.unwrap();
    let friend = listed.iter().find(|c| c.conversation.title == "Old Friend").unwrap();
    assert_eq!(friend.unread_count, 0);
    assert_eq!(friend.conversation.last_message_preview.as_deref(), Some("see you"));
    let id = friend.conversation.id;
    let thread = store.messages(ws, id, None, 50).await.unwrap();
    let texts: Vec<_> = thread.iter().rev().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["first", "second", "see you"], "by when they were sent");
    assert_eq!(thread[0].reply_to, Some(thread[2].id));
    assert_eq!(thread[1].direction, Direction::Outbound);
    // What comes after is news.
    store.ingest_inbound(inbound(ws, ch, "+1777", "live-1", "news")).await.unwrap().unwrap();
    let listed = store.conversations(ws, agent, &Default::default()).await.unwrap();
    assert_eq!(listed.iter().find(|c| c.conversation.id == id).unwrap().unread_count, 1);
}
