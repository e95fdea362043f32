//! Sends: who may post, group commit, replies, and racing nodes.

use chrono::Duration;
use switchboard::store::StoreError;
use switchboard::time::now;
use switchboard::{MemberRole, Store};

use crate::*;

/// Who may post in a room is decided in the send's own transaction: its members, whatever
/// their workspace role; outsiders (an owner too) are refused with nothing written, in the
/// same group as sends that pass; a member removed before the send commits is refused.
pub async fn only_a_rooms_members_post_in_it_decided_in_the_write(store: &dyn Store) {
    use switchboard::Topic;
    let ws = workspace(store, "Acme").await;
    let (member, owner, outsider) = (
        user(store, "m@example.com").await,
        user(store, "o@example.com").await,
        user(store, "x@example.com").await,
    );
    store.put_member(ws.id, member.id, MemberRole::Agent, now()).await.unwrap();
    store.put_member(ws.id, owner.id, MemberRole::Owner, now()).await.unwrap();
    store.put_member(ws.id, outsider.id, MemberRole::Agent, now()).await.unwrap();
    let mock = store.create_channel(new_channel(ws.id, "Mock")).await.unwrap();
    let chat = store.ingest_inbound(inbound(ws.id, mock.id, "+1555", "e-1", "hi")).await.unwrap().unwrap();
    let room = room(store, ws.id, &[member.id]).await;
    let as_owner = |text: &str| switchboard::store::NewOutbound {
        role: MemberRole::Owner,
        ..outbound(ws.id, room.id, owner.id, text, None)
    };
    let r = tokio::join!(
        store.send_message(outbound(ws.id, room.id, member.id, "member", None)),
        store.send_message(as_owner("owner")),
        store.send_message(outbound(ws.id, room.id, outsider.id, "outsider", Some("k-x"))),
        store.send_message(outbound(ws.id, chat.conversation.id, outsider.id, "to the contact", None)),
    );
    let refused = StoreError::Conflict { constraint: "room_post".into() };
    assert!(r.0.unwrap().created);
    assert_eq!(r.1.unwrap_err(), refused, "an owner reads every room but posts only as a member");
    assert_eq!(r.2.unwrap_err(), refused);
    assert!(r.3.unwrap().created, "every member answers the contact conversations");
    let texts: Vec<String> =
        store.messages(ws.id, room.id, None, 50).await.unwrap().into_iter().map(|m| m.text).collect();
    assert_eq!(texts, ["member"]);
    let offsets: Vec<i64> = store
        .events_after(Topic::Conversation(room.id), 0, 100)
        .await
        .unwrap()
        .iter()
        .map(|e| e.offset)
        .collect();
    assert_eq!(offsets, (1..=offsets.len() as i64).collect::<Vec<_>>(), "the room's topic is gapless");

    store.remove_room_member(ws.id, room.id, member.id).await.unwrap();
    assert_eq!(
        store.send_message(outbound(ws.id, room.id, member.id, "after removal", None)).await.unwrap_err(),
        refused
    );
}

/// Sends that queue together are written as one group; each caller still gets its own answer
/// and the stored result is what lone sends would have left.
pub async fn sends_written_as_a_group_answer_each_caller_like_lone_sends(store: &dyn Store) {
    use switchboard::MessageStatus;
    use switchboard::Topic;
    let ws = workspace(store, "Acme").await;
    let a = user(store, "a@example.com").await;
    let bob = user(store, "bob@example.com").await;
    store.put_member(ws.id, a.id, MemberRole::Agent, now()).await.unwrap();
    store.put_member(ws.id, bob.id, MemberRole::Agent, now()).await.unwrap();
    let mock = store.create_channel(new_channel(ws.id, "Mock")).await.unwrap();
    let contact = store.ingest_inbound(inbound(ws.id, mock.id, "+1555", "e-1", "hi")).await.unwrap().unwrap();
    let chat = contact.conversation.id;
    let room = room(store, ws.id, &[a.id, bob.id]).await;
    let (_, _, _, elsewhere) = messaging_fixture(store, "Other").await;
    let earlier = store.send_message(outbound(ws.id, chat, a.id, "earlier", Some("k-old"))).await.unwrap();

    let reply = switchboard::store::NewOutbound {
        reply_to: Some(earlier.message.id),
        attachments: Vec::new(),
        template: None,
        ..outbound(ws.id, chat, a.id, "re", None)
    };
    // Joined futures all queue before the writer runs: one group.
    let r = tokio::join!(
        store.send_message(outbound(ws.id, chat, a.id, "one", Some("k-1"))),
        store.send_message(outbound(ws.id, room.id, a.id, "two @bob", None)),
        store.send_message(outbound(ws.id, chat, a.id, "again", Some("k-old"))),
        store.send_message(outbound(ws.id, elsewhere, a.id, "not yours", None)),
        store.send_message(outbound(ws.id, room.id, a.id, "three", Some("k-3"))),
        store.send_message(outbound(ws.id, room.id, a.id, "three", Some("k-3"))),
        store.send_message(reply),
        store.send_message(outbound(ws.id, chat, a.id, "four", None)),
    );
    let (one, two, again, three, three_again, re, four) =
        (r.0.unwrap(), r.1.unwrap(), r.2.unwrap(), r.4.unwrap(), r.5.unwrap(), r.6.unwrap(), r.7.unwrap());
    assert_eq!(r.3.unwrap_err(), StoreError::NotFound, "another workspace's conversation");
    assert!(one.created && two.created && three.created && re.created && four.created);
    assert_eq!(
        one.message.created_at, four.message.created_at,
        "the plain sends were written together (one transaction, one time)"
    );
    assert_eq!((one.message.status, two.message.status), (MessageStatus::Pending, MessageStatus::Sent));
    assert!(!again.created && again.events.is_empty());
    assert_eq!(again.message, earlier.message, "a key used before answers with the first message");
    assert!(!three_again.created && three_again.events.is_empty());
    assert_eq!(three_again.message.id, three.message.id, "the same key twice in one group is one message");
    assert_eq!(re.message.reply_to, Some(earlier.message.id));
    assert_eq!(re.message.created_at, one.message.created_at, "a reply is written with the group");

    // Each answer's events are the stored ones, and every counter stayed gapless.
    for sent in [&one, &two, &three, &re, &four] {
        let kinds: Vec<_> = sent.events.iter().map(|e| e.kind().as_str()).collect();
        assert_eq!(kinds, ["message.created", "conversation.updated"]);
        assert_eq!(sent.events[0].body.payload()["id"], serde_json::json!(sent.message.id));
        assert_eq!(sent.events[1].body.payload()["message_id"], serde_json::json!(sent.message.id));
        for event in &sent.events {
            let stored = store.events_after(event.topic, event.offset - 1, 1).await.unwrap();
            assert_eq!(
                stored,
                std::slice::from_ref(event),
                "event {} as answered is as stored",
                event.kind()
            );
        }
    }
    for topic in [Topic::Conversation(chat), Topic::Conversation(room.id), Topic::Inbox(ws.id)] {
        let offsets: Vec<i64> =
            store.events_after(topic, 0, 100).await.unwrap().iter().map(|e| e.offset).collect();
        assert_eq!(offsets, (1..=offsets.len() as i64).collect::<Vec<_>>(), "{topic} is gapless");
    }
    assert_eq!(store.events_after(Topic::Conversation(chat), 0, 100).await.unwrap().len(), 5);
    // The workspace's log is gapless; each member's view leaves out the other's own topic (the
    // room appeared in each member's list through it).
    let log = store.events_since(ws.id, a.id, 0, 100).await.unwrap();
    let bobs_log = store.events_since(ws.id, bob.id, 0, 100).await.unwrap();
    let mut positions: Vec<i64> = log.iter().chain(&bobs_log).map(|(pos, _)| *pos).collect();
    positions.sort_unstable();
    positions.dedup();
    assert_eq!(positions, (1..=positions.len() as i64).collect::<Vec<_>>());

    // History, previews, unread flags, mentions and the outbox are as for lone sends.
    let texts: Vec<String> =
        store.messages(ws.id, room.id, None, 50).await.unwrap().into_iter().map(|m| m.text).collect();
    assert_eq!(texts, ["three", "two @bob"]);
    let bobs = store.conversations(ws.id, bob.id, &Default::default()).await.unwrap();
    let bobs_room = bobs.iter().find(|c| c.conversation.id == room.id).unwrap();
    assert_eq!(bobs_room.conversation.last_message_preview.as_deref(), Some("three"));
    assert_eq!((bobs_room.unread_count, bobs_room.unread_mentions), (2.into(), 1));
    let mine = store.conversations(ws.id, a.id, &Default::default()).await.unwrap();
    assert!(mine.iter().all(|c| c.unread_count == 0), "a's own sends moved a's positions");
    assert!(bobs.iter().all(|c| c.unread_count == if c.conversation.id == room.id { 2 } else { 1 }));
    // The outbox hands a conversation's messages out one at a time, in order.
    let later = now() + Duration::minutes(1);
    let mut queued = Vec::new();
    for _ in 0..10 {
        let jobs = store.claim_outbox(later, later + Duration::minutes(1), 50).await.unwrap();
        let Some(job) = jobs.into_iter().find(|job| job.workspace_id == ws.id) else { break };
        store.outbox_sent(&job, &format!("x-{}", queued.len())).await.unwrap();
        queued.push(job.message.text);
    }
    assert_eq!(
        queued,
        ["earlier", "one", "re", "four"],
        "network sends are queued once, in order; in-app ones are not"
    );
}

/// Replies are written with the group like any send: keyed ones answer with the first message
/// (in the same group, in a later one, and when eight race), and a reply to a message of another
/// conversation is refused without failing the sends written with it.
pub async fn replies_take_the_group_path_and_keep_their_idempotency(store: &dyn Store) {
    let (ws, _, agent, conv) = messaging_fixture(store, "Acme").await;
    let (_, _, _, elsewhere) = messaging_fixture(store, "Other").await;
    let (other_conv, other_first) = {
        let ch = store.create_channel(new_channel(ws, "Second")).await.unwrap();
        let got = store.ingest_inbound(inbound(ws, ch.id, "+1666", "x-1", "yo")).await.unwrap().unwrap();
        (got.conversation.id, got.message.id)
    };
    let target = store.send_message(outbound(ws, conv, agent, "question", None)).await.unwrap().message;
    let reply = |text: &str, key: Option<&str>, to| switchboard::store::NewOutbound {
        reply_to: Some(to),
        attachments: Vec::new(),
        template: None,
        ..outbound(ws, conv, agent, text, key)
    };

    let r = tokio::join!(
        store.send_message(reply("answer", Some("r-1"), target.id)),
        store.send_message(reply("answer", Some("r-1"), target.id)),
        store.send_message(reply("astray", Some("r-2"), other_first)),
        store.send_message(outbound(ws, conv, agent, "plain", None)),
        store.send_message(switchboard::store::NewOutbound {
            reply_to: Some(target.id),
            attachments: Vec::new(),
            template: None,
            ..outbound(ws, other_conv, agent, "wrong conversation", None)
        }),
        store.send_message(switchboard::store::NewOutbound {
            reply_to: Some(target.id),
            attachments: Vec::new(),
            template: None,
            ..outbound(ws, elsewhere, agent, "not yours", None)
        }),
    );
    let (first, same, plain) = (r.0.unwrap(), r.1.unwrap(), r.3.unwrap());
    assert!(first.created && !same.created && same.events.is_empty());
    assert_eq!(same.message.id, first.message.id, "one key, one reply, even in one group");
    assert_eq!(first.message.reply_to, Some(target.id));
    assert_eq!(first.message.created_at, plain.message.created_at, "the reply was written with the group");
    let reply_to = StoreError::Conflict { constraint: "reply_to".into() };
    assert_eq!(r.2.unwrap_err(), reply_to, "a reply to another conversation's message");
    assert_eq!(r.4.unwrap_err(), reply_to, "a message replied to from another conversation");
    assert_eq!(r.5.unwrap_err(), StoreError::NotFound, "another workspace's conversation");
    let kinds: Vec<_> = first.events.iter().map(|e| e.kind().as_str()).collect();
    assert_eq!(kinds, ["message.created", "conversation.updated"]);

    // Later, alone or racing, the key still answers with the first reply.
    let later = store.send_message(reply("answer", Some("r-1"), target.id)).await.unwrap();
    assert!(!later.created && later.message == first.message);
    let send = || store.send_message(reply("race", Some("r-race"), target.id));
    let r = tokio::join!(send(), send(), send(), send(), send(), send(), send(), send());
    let all: Vec<_> = [r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7].into_iter().map(|s| s.unwrap()).collect();
    assert_eq!(all.iter().filter(|s| s.created).count(), 1);
    assert!(all.iter().all(|s| s.message.id == all[0].message.id && s.message.reply_to == Some(target.id)));
    // The refused key stays free: the same key with a valid reply is written.
    let fixed = store.send_message(reply("back on track", Some("r-2"), target.id)).await.unwrap();
    assert!(fixed.created && fixed.message.reply_to == Some(target.id));
    let texts: Vec<String> =
        store.messages(ws, conv, None, 50).await.unwrap().into_iter().map(|m| m.text).collect();
    assert_eq!(texts, ["back on track", "race", "plain", "answer", "question", "hello"]);
}

/// Two nodes on one PostgreSQL database send with the same key at once: each writes its own
/// group, the loser's insert hits the key's unique index, and its send, written again on its
/// own, answers with the winner's message. One message per key, every caller answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_nodes_racing_on_one_key_store_one_message() {
    use switchboard_server::store::{PgStore, StoreOptions};
    let url = crate::common::postgres_url().await;
    let one = PgStore::connect(&StoreOptions::new(url.clone())).await.unwrap();
    one.migrate().await.unwrap();
    let two = PgStore::connect(&StoreOptions::new(url)).await.unwrap();
    let (one, two): (&dyn Store, &dyn Store) = (&one, &two);
    let (ws, _, agent, conv) = messaging_fixture(one, "Acme").await;
    let target = one.send_message(outbound(ws, conv, agent, "question", None)).await.unwrap().message;
    for round in 0..20 {
        let key = format!("k-{round}");
        // Odd rounds race replies: they take the same path.
        let out = || switchboard::store::NewOutbound {
            reply_to: (round % 2 == 1).then_some(target.id),
            attachments: Vec::new(),
            template: None,
            ..outbound(ws, conv, agent, "race", Some(&key))
        };
        let (a, b, c) =
            tokio::join!(one.send_message(out()), two.send_message(out()), one.send_message(out()));
        let all = [a.unwrap(), b.unwrap(), c.unwrap()];
        assert_eq!(all.iter().filter(|s| s.created).count(), 1, "round {round}: one message");
        assert!(all.iter().all(|s| s.message.id == all[0].message.id), "round {round}: one answer");
    }
    let race =
        one.messages(ws, conv, None, 50).await.unwrap().into_iter().filter(|m| m.text == "race").count();
    assert_eq!(race, 20);
}

/// A group's answers are built from what it writes, not read back: every kind of send in one
/// group (a network send, a room post, a thread reply in and out of the conversation, a note, a
/// bot's buttons, a keyed reply, a mention) answers with the row as stored, and its events are
/// the stored ones.
pub async fn a_groups_answers_are_the_rows_it_stored(store: &dyn Store) {
    let ws = workspace(store, "Acme").await;
    let (a, bob) = (user(store, "a@example.com").await, user(store, "bob@example.com").await);
    store.put_member(ws.id, a.id, MemberRole::Agent, now()).await.unwrap();
    store.put_member(ws.id, bob.id, MemberRole::Agent, now()).await.unwrap();
    let mock = store.create_channel(new_channel(ws.id, "Mock")).await.unwrap();
    let chat = store.ingest_inbound(inbound(ws.id, mock.id, "+1555", "e-1", "hi")).await.unwrap().unwrap();
    let (chat, first) = (chat.conversation.id, chat.message.id);
    let room = room(store, ws.id, &[a.id, bob.id]).await.id;
    let parent = store.send_message(outbound(ws.id, room, a.id, "a thread", None)).await.unwrap().message.id;
    let with = |text: &str, f: &dyn Fn(&mut switchboard::store::NewOutbound)| {
        let mut out = outbound(ws.id, room, a.id, text, None);
        f(&mut out);
        out
    };

    let r = tokio::join!(
        store.send_message(outbound(ws.id, chat, a.id, "to the network", Some("k-1"))),
        store.send_message(outbound(ws.id, room, bob.id, "hello @a", None)),
        store.send_message(with("in the thread", &|o| o.parent_id = Some(parent))),
        store.send_message(with("in the thread and the room", &|o| {
            o.parent_id = Some(parent);
            o.show_in_conversation = true;
        })),
        store.send_message(switchboard::store::NewOutbound {
            note: true,
            ..outbound(ws.id, chat, a.id, "a note", None)
        }),
        store.send_message(with("pick one", &|o| {
            o.from_bot = true;
            o.buttons = vec!["Yes".into(), "No".into()];
        })),
        store.send_message(switchboard::store::NewOutbound {
            reply_to: Some(first),
            ..outbound(ws.id, chat, a.id, "re", Some("k-2"))
        }),
    );
    let sent =
        [r.0.unwrap(), r.1.unwrap(), r.2.unwrap(), r.3.unwrap(), r.4.unwrap(), r.5.unwrap(), r.6.unwrap()];
    assert!(sent.iter().all(|s| s.created));
    assert!(sent.iter().all(|s| s.message.created_at == sent[0].message.created_at), "one group");
    for s in &sent {
        let stored = store.message(ws.id, s.message.id).await.unwrap();
        assert_eq!(stored.as_ref(), Some(&s.message), "{:?} as answered is as stored", s.message.text);
        for event in &s.events {
            let logged = store.events_after(event.topic, event.offset - 1, 1).await.unwrap();
            assert_eq!(logged, std::slice::from_ref(event), "{} of {:?}", event.kind(), s.message.text);
        }
    }
    assert!(sent[4].message.note);
    assert_eq!(sent[5].message.buttons, ["Yes", "No"]);
    assert_eq!(sent[6].message.reply_to, Some(first));
    // The thread's first message counts both replies, as stored.
    let parent = store.message(ws.id, parent).await.unwrap().unwrap();
    assert_eq!(parent.thread.map(|t| t.reply_count), Some(2));
}
