//! The desk's tables (labels, assignment, status, canned replies, notification settings, push
//! subscriptions) and the chatbot tables (flows, versions, bot sessions), at the port.

use std::collections::BTreeMap;

use switchboard::flow::{Action, Completion, FlowDraft, FlowGraph, Node, SessionStatus, Triggers};
use switchboard::message::ConversationStatus;
use switchboard::notify::{NotificationSettings, PushKeys, PushSubscription};
use switchboard::store::{NewAssignment, NewSession, SessionAdvance, SessionFilter, StoreError};
use switchboard::time::now;
use switchboard::{EventBody, MemberRole, Store, Topic};

use crate::*;

fn conflict(result: Result<impl std::fmt::Debug, StoreError>) -> String {
    match result {
        Err(StoreError::Conflict { constraint }) => constraint,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

/// Labels are unique by name whatever the case and bounded; a conversation's set is kept in
/// order and denormalized on it; deleting a label takes it off; "assign to me" is won once;
/// a snooze wakes when due; each change is one `conversation.updated` on the inbox.
pub async fn labels_assignment_and_status_change_conversations_with_their_events(store: &dyn Store) {
    let (ws, _ch, agent, conv) = messaging_fixture(store, "Desk").await;
    store.put_member(ws, agent, MemberRole::Agent, now()).await.unwrap();
    let other = user(store, "other@desk.example").await.id;
    store.put_member(ws, other, MemberRole::Agent, now()).await.unwrap();
    let updates = || async {
        let events = store.events_after(Topic::Inbox(ws), 0, 1000).await.unwrap();
        let changes: Vec<String> = events
            .iter()
            .filter_map(|e| match &e.body {
                EventBody::ConversationUpdated(u) => Some(
                    format!("{:?}", u.change).split([' ', '{', '(']).next().unwrap_or_default().to_owned(),
                ),
                _ => None,
            })
            .collect();
        changes
    };
    let before = updates().await;

    let vip = store.create_label(ws, "VIP", "#aa0000", 3).await.unwrap();
    let late = store.create_label(ws, "Late", "#00aa00", 3).await.unwrap();
    assert_eq!(
        conflict(store.create_label(ws, "vip", "#000000", 3).await),
        "label_workspace_id_lower_name_key"
    );
    store.create_label(ws, "Third", "#0000aa", 3).await.unwrap();
    assert_eq!(conflict(store.create_label(ws, "Fourth", "#0000aa", 3).await), "label_limit");
    let renamed = store.update_label(ws, late.id, "Delayed", "#00bb00").await.unwrap();
    assert_eq!((renamed.name.as_str(), renamed.color.as_str()), ("Delayed", "#00bb00"));

    let c = store.set_conversation_labels(ws, conv, &[late.id, vip.id]).await.unwrap();
    assert_eq!(c.label_ids, [late.id, vip.id], "in the order given");
    let stranger = workspace(store, "Elsewhere").await;
    let theirs = store.create_label(stranger.id, "Theirs", "#111111", 3).await.unwrap();
    assert_eq!(conflict(store.set_conversation_labels(ws, conv, &[theirs.id]).await), "label");
    store.delete_label(ws, vip.id).await.unwrap();
    let c = store.conversation(ws, conv).await.unwrap().unwrap();
    assert_eq!(c.label_ids, [late.id], "a deleted label leaves every conversation");

    let claim = |who| NewAssignment { assignee: Some(who), by: Some(who), only_if_unassigned: true };
    let c = store.assign(ws, conv, claim(agent)).await.unwrap();
    assert_eq!(c.assignee_id, Some(agent));
    assert!(matches!(store.assign(ws, conv, claim(other)).await, Err(StoreError::Conflict { .. })));
    let outsider = user(store, "outsider@desk.example").await.id;
    let hand = NewAssignment { assignee: Some(outsider), by: Some(agent), only_if_unassigned: false };
    assert_eq!(conflict(store.assign(ws, conv, hand).await), "assignee");

    let soon = now() + chrono::Duration::seconds(1);
    let c = store.set_conversation_status(ws, conv, ConversationStatus::Snoozed, Some(soon)).await.unwrap();
    assert_eq!((c.status, c.snoozed_until), (ConversationStatus::Snoozed, Some(soon)));
    assert_eq!(store.wake_snoozed(now(), 10).await.unwrap(), 0, "not due yet");
    assert_eq!(store.wake_snoozed(soon + chrono::Duration::seconds(1), 10).await.unwrap(), 1);
    let c = store.conversation(ws, conv).await.unwrap().unwrap();
    assert_eq!((c.status, c.snoozed_until), (ConversationStatus::Open, None));
    // The label set, the deleted label taken off, the claim, the snooze, the wake-up: refusals
    // write nothing.
    let after = updates().await;
    assert_eq!(after[before.len()..], ["Labels", "Labels", "Assigned", "Status", "Status"]);
}

/// Canned replies are unique by short code and bounded; settings and push subscriptions are
/// per person, a subscription kept once per endpoint (a new owner takes it over).
pub async fn canned_replies_settings_and_push_subscriptions_round_trip(store: &dyn Store) {
    let (ws, _ch, agent, _conv) = messaging_fixture(store, "Canned").await;
    let hi = store.create_canned_reply(ws, agent, "hi", "Hello {{contact.first_name}}!", 2).await.unwrap();
    assert_eq!(
        conflict(store.create_canned_reply(ws, agent, "hi", "again", 2).await),
        "canned_reply_workspace_id_short_code_key"
    );
    store.create_canned_reply(ws, agent, "bye", "Goodbye", 2).await.unwrap();
    assert_eq!(conflict(store.create_canned_reply(ws, agent, "more", "x", 2).await), "canned_reply_limit");
    let changed = store.update_canned_reply(ws, hi.id, "hello", "Hi there").await.unwrap();
    assert_eq!((changed.short_code.as_str(), changed.text.as_str()), ("hello", "Hi there"));
    store.delete_canned_reply(ws, hi.id).await.unwrap();
    let codes: Vec<String> =
        store.canned_replies(ws).await.unwrap().into_iter().map(|c| c.short_code).collect();
    assert_eq!(codes, ["bye"]);

    assert_eq!(store.notification_settings(agent).await.unwrap(), NotificationSettings::default());
    let quiet = NotificationSettings { unassigned: false, sound: false, ..Default::default() };
    store.put_notification_settings(agent, &quiet).await.unwrap();
    assert_eq!(store.notification_settings(agent).await.unwrap(), quiet);

    let other = user(store, "other@canned.example").await.id;
    let sub = |auth: &str| PushSubscription {
        endpoint: "https://push.example/abc".into(),
        keys: PushKeys { p256dh: "BPub".into(), auth: auth.into() },
    };
    store.add_push_subscription(agent, &sub("a1")).await.unwrap();
    store.add_push_subscription(agent, &sub("a2")).await.unwrap();
    assert_eq!(store.push_subscriptions(agent).await.unwrap(), [sub("a2")], "one row per endpoint");
    store.add_push_subscription(other, &sub("o1")).await.unwrap();
    assert!(store.push_subscriptions(agent).await.unwrap().is_empty(), "the browser changed hands");
    assert!(store.remove_push_subscription(Some(other), &sub("o1").endpoint).await.unwrap());
    assert!(store.push_subscriptions(other).await.unwrap().is_empty());
}

fn greeting_flow() -> FlowDraft {
    let node = |id: &str, action| Node { id: id.into(), label: String::new(), action };
    FlowDraft {
        name: "Greeter".into(),
        triggers: Triggers::default(),
        graph: FlowGraph {
            start: "hi".into(),
            nodes: vec![
                node("hi", Action::Send { text: "Hi".into(), next: Some("end".into()) }),
                node("end", Action::End),
            ],
        },
    }
}

/// Publishing freezes versions; one live session per conversation; a step is recorded only from
/// where it began, with its events on `session:{id}` and the end on the inbox; due sessions are
/// the timed-out waits and the stale runs.
pub async fn flows_version_and_sessions_advance_once(store: &dyn Store) {
    let (ws, ch, agent, conv) = messaging_fixture(store, "Bots").await;
    let flow = store.create_flow(ws, &greeting_flow(), agent).await.unwrap();
    assert_eq!((flow.version, flow.enabled), (0, false));
    let v1 = store.publish_flow(ws, flow.id, agent).await.unwrap();
    let mut draft = greeting_flow();
    draft.name = "Greeter 2".into();
    store.update_flow(ws, flow.id, &draft).await.unwrap();
    let v2 = store.publish_flow(ws, flow.id, agent).await.unwrap();
    assert_eq!((v1.version, v2.version), (1, 2));
    let flow = store.flow(ws, flow.id).await.unwrap().unwrap();
    assert_eq!((flow.version, flow.enabled, flow.name.as_str()), (2, true, "Greeter 2"));
    assert_eq!(store.flow_version(flow.id, 1).await.unwrap().unwrap().graph, greeting_flow().graph);
    let elsewhere = workspace(store, "Not bots").await;
    assert!(store.flow(elsewhere.id, flow.id).await.unwrap().is_none(), "scoped by workspace");

    let new = NewSession {
        workspace_id: ws,
        flow_id: flow.id,
        flow_version: 1,
        flow_name: flow.name.clone(),
        conversation_id: conv,
        channel_id: ch,
        contact_id: None,
        start: "hi".into(),
        variables: BTreeMap::from([("contact.name".into(), "Ann".into())]),
        started_by: Some(agent),
    };
    let session = store.start_session(new.clone()).await.unwrap();
    assert_eq!(
        (session.status, session.current_node.as_deref(), session.steps),
        (SessionStatus::Running, Some("hi"), 0)
    );
    assert_eq!(conflict(store.start_session(new.clone()).await), "bot_session_live");
    assert_eq!(store.live_session(conv).await.unwrap().map(|s| s.id), Some(session.id));

    let step = |expected, status, node: Option<&str>, wait, completion| SessionAdvance {
        workspace_id: ws,
        id: session.id,
        expected_steps: expected,
        status,
        current_node: node.map(str::to_owned),
        variables: BTreeMap::new(),
        wait_until: wait,
        executed: None,
        messages: Vec::new(),
        completion,
    };
    let past = now() - chrono::Duration::seconds(5);
    let waiting = store
        .advance_session(step(0, SessionStatus::WaitingInput, Some("hi"), Some(past), None))
        .await
        .unwrap();
    assert_eq!((waiting.steps, waiting.wait_until), (1, Some(past)));
    assert_eq!(
        conflict(store.advance_session(step(0, SessionStatus::Running, Some("end"), None, None)).await),
        "bot_session_moved",
        "a step from where the session no longer is"
    );
    let due = store.due_sessions(now(), now() - chrono::Duration::seconds(60), 10).await.unwrap();
    assert_eq!(due.iter().map(|s| s.id).collect::<Vec<_>>(), [session.id], "its wait is over");
    let done = store
        .advance_session(step(1, Completion::TimedOut.status(), None, None, Some(Completion::TimedOut)))
        .await
        .unwrap();
    assert_eq!(
        (done.status, done.completion, done.steps),
        (SessionStatus::Expired, Some(Completion::TimedOut), 2)
    );
    assert!(done.completed_at.is_some());
    assert!(store.live_session(conv).await.unwrap().is_none());
    store.start_session(new).await.expect("a new session once the last one ended");

    let kinds = |topic| async move {
        store
            .events_after(topic, 0, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind().as_str())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        kinds(Topic::Session(session.id)).await,
        ["session.status_changed", "session.status_changed", "session.status_changed", "session.completed"]
    );
    let inbox: Vec<&str> =
        kinds(Topic::Inbox(ws)).await.into_iter().filter(|k| k.starts_with("session.")).collect();
    assert_eq!(inbox, ["session.started", "session.completed", "session.started"]);
    let filter = SessionFilter { status: Some(SessionStatus::Expired), limit: 10, ..Default::default() };
    assert_eq!(store.bot_sessions(ws, &filter).await.unwrap().len(), 1);
    store.delete_flow(ws, flow.id).await.unwrap();
    assert!(
        store.bot_sessions(ws, &SessionFilter { limit: 10, ..Default::default() }).await.unwrap().is_empty()
    );
}
