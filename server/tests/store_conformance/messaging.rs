//! Inbound messages, history, topics and unread counts.

use switchboard::store::StoreError;
use switchboard::time::now;
use switchboard::{MemberRole, Store, UserId};

use crate::*;

pub async fn inbound_messages_are_recorded_once(store: &dyn Store) {
    let ws = workspace(store, "Acme").await;
    let ch = store.create_channel(new_channel(ws.id, "Mock")).await.unwrap();
    let first =
        store.ingest_inbound(inbound(ws.id, ch.id, "+1555", "ext-1", "hi")).await.unwrap().expect("recorded");
    assert_eq!(first.message.text, "hi");
    assert_eq!(first.message.status, switchboard::MessageStatus::Delivered);
    assert!(store.has_inbound(ch.id, "ext-1").await.unwrap(), "a redelivery is recognised");
    assert!(!store.has_inbound(ch.id, "ext-2").await.unwrap());
    let other = store.create_channel(new_channel(ws.id, "Other")).await.unwrap();
    assert!(!store.has_inbound(other.id, "ext-1").await.unwrap(), "network ids are per channel");
    let kinds: Vec<_> =
        first.events.iter().map(|e| (e.kind().as_str(), e.topic.to_string().starts_with("inbox:"))).collect();
    assert_eq!(
        kinds,
        [("conversation.created", true), ("message.created", false), ("conversation.updated", true)]
    );
    assert!(first.events.iter().all(|e| e.trace_id.as_deref() == Some("trace-1") && e.schema_version == 1));

    assert!(first.created);
    assert!(
        store.ingest_inbound(inbound(ws.id, ch.id, "+1555", "ext-1", "hi")).await.unwrap().is_none(),
        "a replay changes nothing"
    );
    // A redelivery whose text changed is an edit on the network: the same message, updated once.
    let edited = store
        .ingest_inbound(inbound(ws.id, ch.id, "+1555", "ext-1", "hi, edited"))
        .await
        .unwrap()
        .expect("the changed text is applied");
    assert!(!edited.created);
    assert_eq!((edited.message.id, edited.message.text.as_str()), (first.message.id, "hi, edited"));
    assert!(edited.message.edited_at.is_some());
    assert_eq!(edited.conversation.id, first.conversation.id);
    let kinds: Vec<_> = edited.events.iter().map(|e| e.kind().as_str()).collect();
    assert_eq!(kinds, ["message.updated"], "no second message.created");
    assert_eq!(edited.events[0].body.payload()["text"], "hi, edited");
    assert!(
        store.ingest_inbound(inbound(ws.id, ch.id, "+1555", "ext-1", "hi, edited")).await.unwrap().is_none(),
        "the edit redelivered again changes nothing"
    );
    let second =
        store.ingest_inbound(inbound(ws.id, ch.id, "+1555", "ext-2", "again")).await.unwrap().unwrap();
    assert_eq!(second.conversation.id, first.conversation.id, "the same contact's chat is one conversation");
    assert_eq!(second.events.len(), 2, "no second conversation.created");
    let messages = store.messages(ws.id, first.conversation.id, None, 50).await.unwrap();
    assert_eq!(messages.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(), ["again", "hi, edited"]);
    let topic = switchboard::Topic::Conversation(first.conversation.id);
    let logged: Vec<_> =
        store.events_after(topic, 0, 100).await.unwrap().into_iter().map(|e| e.kind().as_str()).collect();
    assert_eq!(logged, ["message.created", "message.updated", "message.created"]);
    let convs = store
        .conversations(
            ws.id,
            UserId::new(),
            &switchboard::message::ConversationFilter { channel_id: Some(ch.id), ..Default::default() },
        )
        .await
        .unwrap();
    assert_eq!(convs.len(), 1);
    assert_eq!(convs[0].conversation.last_message_preview.as_deref(), Some("again"));
    assert_eq!(convs[0].conversation.title, "Contact +1555");
}

pub async fn sends_are_idempotent_even_when_concurrent(store: &dyn Store) {
    let (ws, _, agent, conv) = messaging_fixture(store, "Acme").await;
    let first = store.send_message(outbound(ws, conv, agent, "hello", Some("k-1"))).await.unwrap();
    assert!(first.created);
    assert_eq!(
        (first.message.status, first.message.direction),
        (switchboard::MessageStatus::Pending, switchboard::provider::Direction::Outbound)
    );
    let again = store.send_message(outbound(ws, conv, agent, "hello", Some("k-1"))).await.unwrap();
    assert!(!again.created && again.events.is_empty());
    assert_eq!(again.message, first.message);

    let send = || store.send_message(outbound(ws, conv, agent, "race", Some("k-race")));
    let results = tokio::join!(send(), send(), send(), send(), send(), send(), send(), send());
    let all = [results.0, results.1, results.2, results.3, results.4, results.5, results.6, results.7];
    let all: Vec<_> = all.into_iter().map(|r| r.unwrap()).collect();
    assert_eq!(all.iter().filter(|s| s.created).count(), 1, "exactly one request creates the message");
    assert!(
        all.iter().all(|s| s.message.id == all[0].message.id),
        "every request answers with the same message"
    );
    let texts: Vec<_> =
        store.messages(ws, conv, None, 50).await.unwrap().into_iter().filter(|m| m.text == "race").collect();
    assert_eq!(texts.len(), 1);
}

pub async fn topic_offsets_are_gapless_under_concurrent_writes(store: &dyn Store) {
    let (ws, _, agent, conv) = messaging_fixture(store, "Acme").await;
    let keys: Vec<String> = (0..8).map(|n| format!("g-{n}")).collect();
    let send = |k: &str| store.send_message(outbound(ws, conv, agent, "x", Some(k)));
    let r = tokio::join!(
        send(&keys[0]),
        send(&keys[1]),
        send(&keys[2]),
        send(&keys[3]),
        send(&keys[4]),
        send(&keys[5]),
        send(&keys[6]),
        send(&keys[7])
    );
    for res in [r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7] {
        res.unwrap();
    }
    let topic = switchboard::Topic::Conversation(conv);
    let events = store.events_after(topic, 0, 100).await.unwrap();
    let offsets: Vec<i64> = events.iter().map(|e| e.offset).collect();
    assert_eq!(offsets, (1..=9).collect::<Vec<_>>(), "one inbound + eight sends, gapless and ordered");
    let tail = store.events_after(topic, 7, 100).await.unwrap();
    assert_eq!(tail.iter().map(|e| e.offset).collect::<Vec<_>>(), [8, 9], "reading after an offset");
    // The workspace's log is gapless too, and in commit order.
    let log = store.events_since(ws, agent, 0, 100).await.unwrap();
    assert_eq!(
        log.iter().map(|(pos, _)| *pos).collect::<Vec<_>>(),
        (1..=log.len() as i64).collect::<Vec<_>>()
    );
    assert_eq!(log.len(), 1 + 2 + 16, "conversation.created + the inbound's two + two per send");
    let inbox = store.events_after(switchboard::Topic::Inbox(ws), 0, 100).await.unwrap();
    assert_eq!(inbox.iter().map(|e| e.offset).collect::<Vec<_>>(), (1..=10).collect::<Vec<_>>());
}

pub async fn history_pages_by_id_without_gaps_or_duplicates(store: &dyn Store) {
    let (ws, _, agent, conv) = messaging_fixture(store, "Acme").await;
    for n in 0..24 {
        store.send_message(outbound(ws, conv, agent, &format!("m{n}"), None)).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = store.messages(ws, conv, before, 10).await.unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.windows(2).all(|w| w[0].id > w[1].id), "newest first within a page");
        before = Some(page.last().unwrap().id);
        seen.extend(page);
    }
    assert_eq!(seen.len(), 25, "24 sends + the inbound, each once");
    let mut ids: Vec<_> = seen.iter().map(|m| m.id).collect();
    ids.dedup();
    assert_eq!(ids.len(), 25);
}

pub async fn messaging_is_scoped_by_workspace(store: &dyn Store) {
    let (ws, _, agent, conv) = messaging_fixture(store, "Acme").await;
    let (other, _, _, _) = messaging_fixture(store, "Globex").await;
    assert_eq!(
        store.send_message(outbound(other, conv, agent, "x", None)).await.unwrap_err(),
        StoreError::NotFound
    );
    assert_eq!(store.conversation(other, conv).await.unwrap(), None);
    assert!(store.messages(other, conv, None, 10).await.unwrap().is_empty());
    assert_eq!(store.conversations(ws, UserId::new(), &Default::default()).await.unwrap().len(), 1);
    assert_eq!(store.conversations(other, UserId::new(), &Default::default()).await.unwrap().len(), 1);
}

pub async fn unread_in_a_contact_conversation_counts_only_the_contacts_messages(store: &dyn Store) {
    let ws = workspace(store, "Acme").await;
    let a = user(store, "a@example.com").await;
    let b = user(store, "b@example.com").await;
    store.put_member(ws.id, a.id, MemberRole::Agent, now()).await.unwrap();
    store.put_member(ws.id, b.id, MemberRole::Agent, now()).await.unwrap();
    let ch = store.create_channel(new_channel(ws.id, "Mock")).await.unwrap();
    let mut ids = Vec::new();
    for n in 0..3 {
        let done = store
            .ingest_inbound(inbound(ws.id, ch.id, "+1555", &format!("e{n}"), "x"))
            .await
            .unwrap()
            .unwrap();
        ids.push(done.message.id);
    }
    let conv = store.conversations(ws.id, a.id, &Default::default()).await.unwrap()[0].conversation.id;
    let unread = |u: UserId| async move {
        store.conversations(ws.id, u, &Default::default()).await.unwrap()[0].unread_count
    };
    assert_eq!((unread(a.id).await, unread(b.id).await), (3.into(), 3.into()));

    // b reads the first message; the position is b's own.
    let mine = switchboard::Topic::User(b.id);
    let left = store.mark_read(ws.id, b.id, conv, ids[0]).await.unwrap();
    assert_eq!(left, 2);
    let events = store.events_after(mine, 0, 10).await.unwrap();
    assert_eq!(events.len(), 1);
    match &events[0].body {
        switchboard::EventBody::ReadUpdated(read) => {
            assert_eq!((read.conversation_id, read.up_to, read.unread_count), (conv, ids[0], 2.into()))
        }
        other => panic!("expected read.updated, got {other:?}"),
    }
    assert_eq!(store.mark_read(ws.id, b.id, conv, ids[0]).await.unwrap(), 2);
    assert_eq!(store.events_after(mine, 0, 10).await.unwrap().len(), 1, "nothing moved: no event");
    assert_eq!(unread(a.id).await, 3, "a's position is a's own");

    // a replies: a's reply moves a's position (a has read what a answered), and a teammate's
    // reply is not unread for b.
    store.send_message(outbound(ws.id, conv, a.id, "reply", None)).await.unwrap();
    assert_eq!((unread(a.id).await, unread(b.id).await), (0.into(), 2.into()));
    // The list knows who wrote the last message (a's reply; then the contact's again).
    let last_sender = || async move {
        store.conversations(ws.id, b.id, &Default::default()).await.unwrap()[0]
            .conversation
            .last_message_sender_user_id
    };
    assert_eq!(last_sender().await, Some(a.id));
    assert_eq!(
        store.conversation(ws.id, conv).await.unwrap().unwrap().last_message_sender_user_id,
        Some(a.id)
    );

    // The position never moves back.
    assert_eq!(store.mark_read(ws.id, b.id, conv, ids[2]).await.unwrap(), 0);
    assert_eq!(store.mark_read(ws.id, b.id, conv, ids[0]).await.unwrap(), 0, "an older id moves nothing");
    assert_eq!(store.events_after(mine, 0, 10).await.unwrap().len(), 2);
    assert_eq!(unread(b.id).await, 0);

    store.ingest_inbound(inbound(ws.id, ch.id, "+1555", "e3", "and another")).await.unwrap().unwrap();
    assert_eq!(last_sender().await, None, "the contact wrote last");

    let other = workspace(store, "Other").await;
    assert_eq!(store.mark_read(other.id, a.id, conv, ids[2]).await.unwrap_err(), StoreError::NotFound);
}

pub async fn unread_in_a_room_counts_others_messages_capped_at_99_plus(store: &dyn Store) {
    use switchboard::message::UnreadCount;
    let ws = workspace(store, "Acme").await;
    let a = user(store, "a@example.com").await;
    let bob = user(store, "bob@example.com").await;
    store.put_member(ws.id, a.id, MemberRole::Agent, now()).await.unwrap();
    store.put_member(ws.id, bob.id, MemberRole::Agent, now()).await.unwrap();
    let room = room(store, ws.id, &[a.id, bob.id]).await;
    let summary = |u: UserId| async move {
        let list = store.conversations(ws.id, u, &Default::default()).await.unwrap();
        let c = list.into_iter().find(|c| c.conversation.id == room.id).unwrap();
        (c.unread_count, c.unread_mentions)
    };
    // An early mention of bob, then 150 more messages from a.
    let early = store.send_message(outbound(ws.id, room.id, a.id, "hi @bob", None)).await.unwrap();
    let mut ids = vec![early.message.id];
    for n in 0..150 {
        ids.push(
            store
                .send_message(outbound(ws.id, room.id, a.id, &format!("m{n}"), None))
                .await
                .unwrap()
                .message
                .id,
        );
    }
    let late = store.send_message(outbound(ws.id, room.id, a.id, "again @bob", None)).await.unwrap();
    ids.push(late.message.id);
    assert_eq!(summary(a.id).await, (UnreadCount::ZERO, 0), "your own messages are never unread");
    let (count, mentions) = summary(bob.id).await;
    assert_eq!((count, mentions), (UnreadCount::CAPPED, 2), "152 unread show the cap; both mentions count");
    assert!(count.is_capped());
    assert_eq!(count.to_string(), "99+");
    assert_eq!(serde_json::to_value(count).unwrap(), serde_json::json!(100), "on the wire: 100");

    // bob reads up to the 100th message: 52 left, only the mention after the position.
    let left = store.mark_read(ws.id, bob.id, room.id, ids[99]).await.unwrap();
    assert_eq!(left, 52);
    assert_eq!(summary(bob.id).await, (52.into(), 1), "mentions after the position only");
    // bob's own message in the room moves bob's position past everything.
    store.send_message(outbound(ws.id, room.id, bob.id, "done", None)).await.unwrap();
    assert_eq!(summary(bob.id).await, (UnreadCount::ZERO, 0));
    assert_eq!(summary(a.id).await, (1.into(), 0), "bob's message is unread for a");

    // A member added later starts with the room's history read; removal drops the position.
    let carol = user(store, "carol@example.com").await;
    store.put_member(ws.id, carol.id, MemberRole::Agent, now()).await.unwrap();
    store.add_room_members(ws.id, room.id, &[carol.id]).await.unwrap();
    assert_eq!(summary(carol.id).await, (UnreadCount::ZERO, 0));
    store.send_message(outbound(ws.id, room.id, a.id, "welcome @carol", None)).await.unwrap();
    assert_eq!(summary(carol.id).await, (1.into(), 1));
    store.remove_room_member(ws.id, room.id, carol.id).await.unwrap();
    store.add_room_members(ws.id, room.id, &[carol.id]).await.unwrap();
    assert_eq!(summary(carol.id).await, (UnreadCount::ZERO, 0), "nothing of the first stay is left");
}

pub async fn conversation_lists_filter_by_channel_search_and_unread(store: &dyn Store) {
    use switchboard::message::ConversationFilter;
    use switchboard::provider::Contact;
    let ws = workspace(store, "Acme").await;
    let a = user(store, "a@example.com").await;
    store.put_member(ws.id, a.id, MemberRole::Agent, now()).await.unwrap();
    let one = store.create_channel(new_channel(ws.id, "One")).await.unwrap();
    let two = store.create_channel(new_channel(ws.id, "Two")).await.unwrap();
    for (ch, contact, name) in
        [(one.id, "+1", "Maria Lopez"), (one.id, "+2", "100%_Real"), (two.id, "+3", "Mario Rossi")]
    {
        let mut msg = inbound(ws.id, ch, contact, &format!("x{contact}"), "hi");
        msg.contact = Contact { external_id: contact.into(), name: name.into() };
        store.ingest_inbound(msg).await.unwrap().unwrap();
    }
    let titles = |f: ConversationFilter| async move {
        let mut t: Vec<String> = store
            .conversations(ws.id, a.id, &f)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.conversation.title)
            .collect();
        t.sort();
        t
    };
    assert_eq!(
        titles(ConversationFilter { search: Some("mari".into()), ..Default::default() }).await,
        ["Maria Lopez", "Mario Rossi"]
    );
    assert_eq!(
        titles(ConversationFilter { search: Some("MARIA".into()), ..Default::default() }).await,
        ["Maria Lopez"]
    );
    assert_eq!(
        titles(ConversationFilter { search: Some("%".into()), ..Default::default() }).await,
        ["100%_Real"],
        "wildcards are literal"
    );
    assert_eq!(
        titles(ConversationFilter { search: Some("0_".into()), ..Default::default() }).await,
        Vec::<String>::new()
    );
    assert_eq!(
        titles(ConversationFilter { channel_id: Some(two.id), ..Default::default() }).await,
        ["Mario Rossi"]
    );
    let maria = store
        .conversations(
            ws.id,
            a.id,
            &ConversationFilter { search: Some("lopez".into()), ..Default::default() },
        )
        .await
        .unwrap();
    let last = store.messages(ws.id, maria[0].conversation.id, None, 1).await.unwrap()[0].id;
    store.mark_read(ws.id, a.id, maria[0].conversation.id, last).await.unwrap();
    assert_eq!(
        titles(ConversationFilter { unread_only: true, ..Default::default() }).await,
        ["100%_Real", "Mario Rossi"]
    );
}

/// Property: whatever the page size, paging backwards from the newest message while others
/// keep arriving returns every message that existed when paging began, once, newest first.
pub async fn history_paging_is_exact_while_messages_keep_arriving(store: &dyn Store) {
    let (ws, _, agent, conv) = messaging_fixture(store, "Acme").await;
    for n in 0..30 {
        store.send_message(outbound(ws, conv, agent, &format!("before {n}"), None)).await.unwrap();
    }
    let existing: Vec<_> =
        store.messages(ws, conv, None, 200).await.unwrap().into_iter().map(|m| m.id).collect();
    assert_eq!(existing.len(), 31);
    for (round, page_size) in [1u32, 2, 3, 7, 10, 31, 50].into_iter().enumerate() {
        let writer = async {
            for n in 0..10 {
                store
                    .send_message(outbound(ws, conv, agent, &format!("during {round}.{n}"), None))
                    .await
                    .unwrap();
                tokio::task::yield_now().await;
            }
        };
        let reader = async {
            let mut seen = Vec::new();
            let mut before = existing.first().copied();
            // Start from the newest message that existed before the writer began.
            seen.push(before.unwrap());
            loop {
                let page = store.messages(ws, conv, before, page_size).await.unwrap();
                if page.is_empty() {
                    break seen;
                }
                before = Some(page.last().unwrap().id);
                seen.extend(page.into_iter().map(|m| m.id));
                tokio::task::yield_now().await;
            }
        };
        let ((), seen) = tokio::join!(writer, reader);
        assert_eq!(seen, existing, "page size {page_size}: no gap, no duplicate, newest first");
    }
}
