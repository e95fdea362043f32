//! The chat features' store behaviour: threads (replies beside the conversation, the parent's
//! summary, a refused parent), pins (once, bounded, gone with a deleted message), and the
//! moderation rules a send meets in its own transaction (ban, shadow ban, freeze, slow mode).

use switchboard::message::MessageRef;
use switchboard::moderation::{Ban, ModerationAction};
use switchboard::store::{NewOutbound, RoomRules, StoreError};
use switchboard::{BanId, EventBody, MemberRole, Store, Topic};

use crate::*;

fn reply(base: NewOutbound, parent: switchboard::MessageId, also: bool) -> NewOutbound {
    NewOutbound { parent_id: Some(parent), show_in_conversation: also, ..base }
}

fn record(name: &str) -> ModerationAction {
    ModerationAction {
        actor_id: None,
        action: name.into(),
        target_user_id: None,
        conversation_id: None,
        message_id: None,
        detail: String::new(),
        created_at: now(),
    }
}

/// A thread's replies stay out of the conversation's history unless also sent to it, count on
/// their parent (latest replier first), and a reply of a reply is refused.
pub async fn threads_live_beside_the_conversation(store: &dyn Store) {
    let ws = workspace(store, "Acme").await;
    let (a, b) = (user(store, "a@acme.example").await, user(store, "b@acme.example").await);
    for u in [&a, &b] {
        store.put_member(ws.id, u.id, MemberRole::Agent, now()).await.unwrap();
    }
    let room = room(store, ws.id, &[a.id, b.id]).await;
    let parent = store.send_message(outbound(ws.id, room.id, a.id, "plan?", None)).await.unwrap().message;
    let first = store
        .send_message(reply(outbound(ws.id, room.id, b.id, "yes", None), parent.id, false))
        .await
        .unwrap();
    assert_eq!(first.message.parent_id, Some(parent.id));
    let kinds: Vec<&str> = first.events.iter().map(|e| e.body.kind().as_str()).collect();
    assert_eq!(kinds, ["message.created", "message.updated"], "no list update for a thread-only reply");
    store.send_message(reply(outbound(ws.id, room.id, a.id, "both", None), parent.id, true)).await.unwrap();
    let history: Vec<String> =
        store.messages(ws.id, room.id, None, 10).await.unwrap().into_iter().map(|m| m.text).collect();
    assert_eq!(history, ["both", "plan?"]);
    let thread = store.thread_replies(ws.id, parent.id, a.id, None, 10).await.unwrap();
    assert_eq!(thread.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(), ["yes", "both"]);
    let parent_now = store.message(ws.id, parent.id).await.unwrap().unwrap();
    let summary = parent_now.thread.expect("a summary");
    assert_eq!((summary.reply_count, summary.participants), (2, vec![a.id, b.id]));
    let deeper = store
        .send_message(reply(outbound(ws.id, room.id, a.id, "deeper", None), first.message.id, false))
        .await;
    assert_eq!(deeper.unwrap_err(), StoreError::Conflict { constraint: "parent_id".into() });
}

/// A pin is kept once, bounded per conversation, and goes with its deleted message (with a
/// `message.unpinned` naming nobody).
pub async fn pins_are_kept_once_bounded_and_go_with_their_message(store: &dyn Store) {
    let (ws, _ch, agent, conv) = messaging_fixture(store, "Acme").await;
    let target = store.messages(ws, conv, None, 1).await.unwrap().pop().unwrap();
    assert!(store.pin(ws, target.id, agent, 1).await.unwrap());
    assert!(!store.pin(ws, target.id, agent, 1).await.unwrap(), "once");
    let sent = store.send_message(outbound(ws, conv, agent, "another", None)).await.unwrap().message;
    assert_eq!(
        store.pin(ws, sent.id, agent, 1).await.unwrap_err(),
        StoreError::Conflict { constraint: "pinned_message_limit".into() }
    );
    let pins = store.pins(ws, conv).await.unwrap();
    assert_eq!((pins.len(), pins[0].message.id, pins[0].pinned_by), (1, target.id, Some(agent)));
    store.delete_message(MessageRef::Id { workspace_id: ws, id: target.id }).await.unwrap().unwrap();
    assert!(store.pins(ws, conv).await.unwrap().is_empty());
    let events = store.events_after(Topic::Conversation(conv), 0, 1000).await.unwrap();
    let last = events.last().unwrap();
    assert!(matches!(&last.body, EventBody::MessageUnpinned(p) if p.user_id.is_none()), "{last:?}");
    assert_eq!(
        store.pin(ws, switchboard::MessageId::new(), agent, 5).await.unwrap_err(),
        StoreError::NotFound
    );
}

/// A ban refuses a room's sends, a shadow ban hides them from everyone but their author, a
/// frozen room refuses everyone, slow mode refuses a second message (not a moderator's).
pub async fn send_rules_are_decided_in_the_write(store: &dyn Store) {
    let ws = workspace(store, "Acme").await;
    let (moderator, member) = (user(store, "m@acme.example").await, user(store, "b@acme.example").await);
    for u in [&moderator, &member] {
        store.put_member(ws.id, u.id, MemberRole::Agent, now()).await.unwrap();
    }
    let room = room(store, ws.id, &[moderator.id, member.id]).await;
    let ban = |shadow| Ban {
        id: BanId::new(),
        workspace_id: ws.id,
        user_id: member.id,
        conversation_id: Some(room.id),
        shadow,
        reason: String::new(),
        created_by: Some(moderator.id),
        created_at: now(),
        expires_at: None,
    };
    let banned = ban(false);
    store.ban(&banned, &record("ban")).await.unwrap();
    let refused = store.send_message(outbound(ws.id, room.id, member.id, "hi", None)).await.unwrap_err();
    assert_eq!(refused, StoreError::Conflict { constraint: "banned".into() });
    store.unban(ws.id, banned.id, now(), &record("unban")).await.unwrap();
    store.ban(&ban(true), &record("ban")).await.unwrap();
    let hidden = store.send_message(outbound(ws.id, room.id, member.id, "hidden", None)).await.unwrap();
    assert_eq!(hidden.events.len(), 1);
    assert_eq!(hidden.events[0].topic, Topic::User(member.id), "its author's topic alone");
    let (ws_id, room_id) = (ws.id, room.id);
    let seen = |viewer| async move {
        store
            .history(ws_id, room_id, viewer, None, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.text)
            .collect::<Vec<_>>()
    };
    assert_eq!(seen(member.id).await, ["hidden"]);
    assert!(seen(moderator.id).await.is_empty());

    let rules = |frozen, slow| RoomRules { frozen, slow_mode_secs: slow };
    let frozen =
        store.set_room_rules(ws.id, room.id, rules(Some(true), None), &record("freeze")).await.unwrap();
    assert!(frozen.frozen);
    let refused = store.send_message(outbound(ws.id, room.id, moderator.id, "x", None)).await.unwrap_err();
    assert_eq!(refused, StoreError::Conflict { constraint: "frozen".into() });
    store.set_room_rules(ws.id, room.id, rules(Some(false), None), &record("unfreeze")).await.unwrap();
    let slowed =
        store.set_room_rules(ws.id, room.id, rules(None, Some(60)), &record("slow_mode")).await.unwrap();
    assert_eq!(slowed.slow_mode_secs, Some(60));
    store.send_message(outbound(ws.id, room.id, member.id, "one", None)).await.unwrap();
    let again = store.send_message(outbound(ws.id, room.id, member.id, "two", None)).await.unwrap_err();
    assert_eq!(again, StoreError::Conflict { constraint: "slow_mode".into() });
    assert!(store.last_slow_post(room.id, member.id).await.unwrap().is_some());
    // The room's creator is its moderator: not slowed.
    store.send_message(outbound(ws.id, room.id, moderator.id, "m1", None)).await.unwrap();
    store.send_message(outbound(ws.id, room.id, moderator.id, "m2", None)).await.unwrap();
    let log = store.moderation_actions(ws.id, 50).await.unwrap();
    assert_eq!(log.len(), 6);
}
