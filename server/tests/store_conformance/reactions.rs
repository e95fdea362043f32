//! Reactions: one of each emoji per member, one per contact (replaced by the next), counts on
//! the message, an event per change on the conversation's topic.

use switchboard::message::MessageRef;
use switchboard::reaction::{ReactionOp, Reactor};
use switchboard::store::StoreError;
use switchboard::{EventBody, Store, Topic};

use crate::*;

/// Members add and remove emoji (again changes nothing), the contact's reaction is replaced
/// by their next and taken back by an empty one, the counts say who, and each change is one
/// event; a deleted message takes none, an unknown network id or contact changes nothing.
pub async fn reactions_count_who_and_announce_each_change(store: &dyn Store) {
    let (ws, ch, agent, conv) = messaging_fixture(store, "Acme").await;
    let colleague = user(store, "colleague@acme.example").await.id;
    let target = store.messages(ws, conv, None, 10).await.unwrap().pop().unwrap();
    let by_id = || MessageRef::Id { workspace_id: ws, id: target.id };
    let external = || MessageRef::External { channel_id: ch, external_id: "ext-0".into() };
    let events_before = store.events_after(Topic::Conversation(conv), 0, 1000).await.unwrap().len();

    let m = store.react(by_id(), Reactor::User(agent), "👍", ReactionOp::Add).await.unwrap().unwrap();
    assert_eq!((m.reactions[0].emoji.as_str(), m.reactions[0].count), ("👍", 1));
    assert!(
        store.react(by_id(), Reactor::User(agent), "👍", ReactionOp::Add).await.unwrap().is_none(),
        "once"
    );
    store.react(by_id(), Reactor::User(colleague), "👍", ReactionOp::Add).await.unwrap().unwrap();
    store.react(by_id(), Reactor::User(agent), "🎉", ReactionOp::Add).await.unwrap().unwrap();
    let m = store
        .react(external(), Reactor::Contact("+1555".into()), "❤️", ReactionOp::Replace)
        .await
        .unwrap()
        .unwrap();
    let summary: Vec<(String, u32, usize, bool)> =
        m.reactions.iter().map(|r| (r.emoji.clone(), r.count, r.user_ids.len(), r.by_contact)).collect();
    assert_eq!(
        summary,
        [("👍".into(), 2, 2, false), ("🎉".into(), 1, 1, false), ("❤️".into(), 1, 0, true)],
        "in the order they first appeared"
    );
    assert_eq!(m.reactions[0].user_ids, [agent, colleague]);
    // The contact's next reaction replaces theirs; an empty one takes it back.
    let m = store
        .react(external(), Reactor::Contact("+1555".into()), "👍", ReactionOp::Replace)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((m.reactions[0].count, m.reactions.len()), (3, 2), "{:?}", m.reactions);
    let m = store
        .react(external(), Reactor::Contact("+1555".into()), "", ReactionOp::Replace)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.reactions[0].count, 2);
    let m = store.react(by_id(), Reactor::User(agent), "🎉", ReactionOp::Remove).await.unwrap().unwrap();
    assert_eq!(m.reactions.len(), 1);
    assert!(store.react(by_id(), Reactor::User(agent), "🎉", ReactionOp::Remove).await.unwrap().is_none());
    // History carries the counts.
    let read = store.message(ws, target.id).await.unwrap().unwrap();
    assert_eq!(read.reactions, m.reactions);

    let events = store.events_after(Topic::Conversation(conv), 0, 1000).await.unwrap();
    let kinds: Vec<&str> = events[events_before..].iter().map(|e| e.body.kind().as_str()).collect();
    assert_eq!(
        kinds,
        [
            "reaction.added",
            "reaction.added",
            "reaction.added",
            "reaction.added",
            "reaction.removed",
            "reaction.added",
            "reaction.removed",
            "reaction.removed"
        ]
    );
    let EventBody::ReactionRemoved(last) = &events.last().unwrap().body else { panic!() };
    assert_eq!(
        (last.emoji.as_str(), last.user_id, last.reactions.clone()),
        ("🎉", Some(agent), m.reactions.clone())
    );

    // Unknown network ids and contacts change nothing; a deleted message takes no reaction.
    let nowhere = MessageRef::External { channel_id: ch, external_id: "nope".into() };
    assert!(
        store
            .react(nowhere, Reactor::Contact("+1555".into()), "👍", ReactionOp::Replace)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .react(external(), Reactor::Contact("+1999".into()), "👍", ReactionOp::Replace)
            .await
            .unwrap()
            .is_none()
    );
    store.delete_message(by_id()).await.unwrap().unwrap();
    assert_eq!(
        store.react(by_id(), Reactor::User(agent), "👍", ReactionOp::Add).await.unwrap_err(),
        StoreError::Conflict { constraint: "message_deleted".into() }
    );
}
