//! Store conformance: every behaviour of the `Store` port written once, run against SQLite and
//! PostgreSQL by `store_test!`.

mod common;

use chrono::Duration;
use switchboard::store::{NewUser, StoreError};
use switchboard::time::now;
use switchboard::validate::Email;
use switchboard::{
    Channel, ChannelId, ChannelStatus, MemberRole, ProviderKind, Session, SessionId, Store, User, UserId,
    Workspace, WorkspaceId,
};

/// Runs each named behaviour against both backends.
macro_rules! store_test {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                let (store, _dir) = crate::common::sqlite().await;
                crate::$name(&store).await;
            }

            #[tokio::test]
            async fn postgres() {
                let store = crate::common::postgres().await;
                crate::$name(&store).await;
            }
        }
    )*};
}

store_test!(
    users_round_trip,
    emails_are_unique,
    password_hashes_can_be_replaced,
    workspaces_round_trip_and_names_are_unique,
    members_are_upserted_and_scoped_by_workspace,
    members_need_existing_users_and_workspaces,
    member_roles_change_and_members_leave_but_never_the_last_owner,
    owners_demoting_each_other_at_once_leave_one_owner,
    sessions_are_revoked_once_and_expired_ones_swept,
    a_users_sessions_list_and_end_together_and_a_password_change_keeps_one,
    readiness_holds_after_migration,
    channels_round_trip_scoped_by_workspace,
    channel_status_and_credentials_change_in_place,
    inbound_messages_are_recorded_once,
    sends_are_idempotent_even_when_concurrent,
    topic_offsets_are_gapless_under_concurrent_writes,
    history_pages_by_id_without_gaps_or_duplicates,
    messaging_is_scoped_by_workspace,
    unread_in_a_contact_conversation_counts_only_the_contacts_messages,
    unread_in_a_room_counts_others_messages_capped_at_99_plus,
    conversation_lists_filter_by_channel_search_and_unread,
    history_paging_is_exact_while_messages_keep_arriving,
    sends_written_as_a_group_answer_each_caller_like_lone_sends,
    only_a_rooms_members_post_in_it_decided_in_the_write,
    replies_take_the_group_path_and_keep_their_idempotency,
    invitations_are_one_pending_per_address_and_refresh_in_place,
    accepting_an_invitation_adds_the_member_and_sets_a_default_only_once,
    accepting_as_a_new_user_is_one_transaction,
    default_workspaces_follow_memberships,
);

async fn user(store: &dyn Store, email: &str) -> User {
    store
        .create_user(NewUser {
            id: UserId::new(),
            email: Email::parse(email).unwrap(),
            name: format!("Name of {email}"),
            password_hash: format!("hash-of-{email}"),
            created_at: now(),
        })
        .await
        .unwrap()
}

async fn workspace(store: &dyn Store, name: &str) -> Workspace {
    store
        .create_workspace(Workspace { id: WorkspaceId::new(), name: name.to_owned(), created_at: now() })
        .await
        .unwrap()
}

async fn users_round_trip(store: &dyn Store) {
    let created = user(store, "ada@example.com").await;
    assert_eq!(
        store.user(created.id).await.unwrap(),
        Some(created.clone()),
        "read back equals what was written"
    );
    let (found, hash) =
        store.user_credentials(&Email::parse("ADA@example.com").unwrap()).await.unwrap().unwrap();
    assert_eq!(found, created);
    assert_eq!(hash, "hash-of-ada@example.com");
    assert_eq!(store.user_by_email(&Email::parse("nobody@example.com").unwrap()).await.unwrap(), None);
    assert_eq!(store.user(UserId::new()).await.unwrap(), None);
}

async fn emails_are_unique(store: &dyn Store) {
    user(store, "dup@example.com").await;
    let again = store
        .create_user(NewUser {
            id: UserId::new(),
            email: Email::parse("Dup@Example.com").unwrap(),
            name: "Other".into(),
            password_hash: "x".into(),
            created_at: now(),
        })
        .await;
    assert_eq!(again, Err(StoreError::Conflict { constraint: "user_account_email_key".into() }));
}

async fn password_hashes_can_be_replaced(store: &dyn Store) {
    let u = user(store, "pw@example.com").await;
    store.set_password_hash(u.id, "new-hash").await.unwrap();
    let (_, hash) = store.user_credentials(&Email::parse("pw@example.com").unwrap()).await.unwrap().unwrap();
    assert_eq!(hash, "new-hash");
    assert_eq!(store.set_password_hash(UserId::new(), "x").await, Err(StoreError::NotFound));
}

async fn workspaces_round_trip_and_names_are_unique(store: &dyn Store) {
    let ws = workspace(store, "Acme").await;
    assert_eq!(store.workspace(ws.id).await.unwrap(), Some(ws.clone()));
    assert_eq!(store.workspace_by_name("Acme").await.unwrap(), Some(ws.clone()));
    assert_eq!(store.workspace_by_name("acme").await.unwrap(), None, "names are exact");
    let dup = store
        .create_workspace(Workspace { id: WorkspaceId::new(), name: "Acme".into(), created_at: now() })
        .await;
    assert_eq!(dup, Err(StoreError::Conflict { constraint: "workspace_name_key".into() }));
}

async fn members_are_upserted_and_scoped_by_workspace(store: &dyn Store) {
    let acme = workspace(store, "Acme").await;
    let globex = workspace(store, "Globex").await;
    let zoe = user(store, "zoe@example.com").await;
    let al = user(store, "al@example.com").await;

    let first = store.put_member(acme.id, zoe.id, MemberRole::Agent, now()).await.unwrap();
    assert_eq!(first.role, MemberRole::Agent);
    let changed = store.put_member(acme.id, zoe.id, MemberRole::Admin, now()).await.unwrap();
    assert_eq!(changed.role, MemberRole::Admin, "a second put changes the role");
    assert_eq!(changed.created_at, first.created_at, "and keeps the membership's creation time");
    store.put_member(acme.id, al.id, MemberRole::Owner, now()).await.unwrap();
    store.put_member(globex.id, zoe.id, MemberRole::Agent, now()).await.unwrap();

    assert_eq!(store.member(acme.id, zoe.id).await.unwrap().unwrap().role, MemberRole::Admin);
    assert_eq!(store.member(globex.id, al.id).await.unwrap(), None, "al is not in Globex");

    let members = store.members(acme.id).await.unwrap();
    let emails: Vec<_> = members.iter().map(|(_, u)| u.email.as_str()).collect();
    assert_eq!(emails, ["al@example.com", "zoe@example.com"], "ordered by email");
    assert_eq!(members[0].0.role, MemberRole::Owner);
    assert_eq!(members[1].1, zoe);
    assert_eq!(store.members(globex.id).await.unwrap().len(), 1);

    let zoes: Vec<_> =
        store.memberships(zoe.id).await.unwrap().into_iter().map(|m| (m.workspace.name, m.role)).collect();
    assert_eq!(zoes, [("Acme".to_owned(), MemberRole::Admin), ("Globex".to_owned(), MemberRole::Agent)]);
    assert!(store.memberships(UserId::new()).await.unwrap().is_empty());
}

async fn members_need_existing_users_and_workspaces(store: &dyn Store) {
    let ws = workspace(store, "Acme").await;
    let u = user(store, "x@example.com").await;
    assert_eq!(
        store.put_member(ws.id, UserId::new(), MemberRole::Agent, now()).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store.put_member(WorkspaceId::new(), u.id, MemberRole::Agent, now()).await,
        Err(StoreError::NotFound)
    );
}

async fn member_roles_change_and_members_leave_but_never_the_last_owner(store: &dyn Store) {
    let acme = workspace(store, "Acme").await;
    let globex = workspace(store, "Globex").await;
    let own = user(store, "own@example.com").await;
    let zoe = user(store, "zoe@example.com").await;
    let joined = store.put_member(acme.id, own.id, MemberRole::Owner, now()).await.unwrap();
    store.put_member(acme.id, zoe.id, MemberRole::Agent, now()).await.unwrap();
    store.put_member(globex.id, zoe.id, MemberRole::Agent, now()).await.unwrap();
    let last_owner = Err(StoreError::Conflict { constraint: "last_owner".into() });

    // The only owner can neither step down nor leave; nothing changes.
    assert_eq!(store.set_member_role(acme.id, own.id, MemberRole::Admin, now()).await, last_owner);
    assert_eq!(store.remove_member(acme.id, own.id).await, last_owner);
    assert_eq!(store.member(acme.id, own.id).await.unwrap(), Some(joined.clone()));
    assert_eq!(
        store.set_member_role(acme.id, own.id, MemberRole::Owner, now()).await,
        Ok(joined.clone()),
        "keeping the role is no change"
    );

    // With a second owner, the first may go.
    let promoted = store.set_member_role(acme.id, zoe.id, MemberRole::Owner, now()).await.unwrap();
    assert_eq!(promoted.role, MemberRole::Owner);
    let demoted = store.set_member_role(acme.id, own.id, MemberRole::Agent, now()).await.unwrap();
    assert_eq!((demoted.role, demoted.created_at), (MemberRole::Agent, joined.created_at));
    assert_eq!(store.remove_member(acme.id, own.id).await.unwrap(), demoted, "answers what was removed");
    assert_eq!(store.member(acme.id, own.id).await.unwrap(), None);
    assert_eq!(store.remove_member(acme.id, own.id).await, Err(StoreError::NotFound), "already gone");
    assert_eq!(store.user(own.id).await.unwrap(), Some(own.clone()), "the account stays");

    // Scoped by workspace: zoe is the last owner of Acme, and still an agent of Globex.
    assert_eq!(store.remove_member(acme.id, zoe.id).await, last_owner);
    assert_eq!(store.member(globex.id, zoe.id).await.unwrap().unwrap().role, MemberRole::Agent);
    assert_eq!(store.remove_member(globex.id, zoe.id).await.unwrap().role, MemberRole::Agent);
    assert!(store.member(acme.id, zoe.id).await.unwrap().is_some());
    assert_eq!(
        store.set_member_role(globex.id, zoe.id, MemberRole::Admin, now()).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(store.remove_member(WorkspaceId::new(), zoe.id).await, Err(StoreError::NotFound));
}

async fn owners_demoting_each_other_at_once_leave_one_owner(store: &dyn Store) {
    let ws = workspace(store, "Acme").await;
    let mut owners = Vec::new();
    for n in 0..4 {
        let u = user(store, &format!("owner{n}@example.com")).await;
        store.put_member(ws.id, u.id, MemberRole::Owner, now()).await.unwrap();
        owners.push(u.id);
    }
    // Every owner steps down (or leaves) at once: the check and the change are one step, so
    // exactly one owner remains.
    let ws_id = ws.id;
    let results = futures_util::future::join_all(owners.iter().enumerate().map(|(n, id)| async move {
        if n % 2 == 0 {
            store.set_member_role(ws_id, *id, MemberRole::Admin, now()).await.map(|_| ())
        } else {
            store.remove_member(ws_id, *id).await.map(|_| ())
        }
    }))
    .await;
    let refused = results.iter().filter(|r| r.is_err()).count();
    assert_eq!(refused, 1, "{results:?}");
    assert_eq!(results.iter().flatten().count(), 3);
    let left: Vec<_> = store
        .members(ws.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|(m, _)| m.role == MemberRole::Owner)
        .collect();
    assert_eq!(left.len(), 1);
}

async fn sessions_are_revoked_once_and_expired_ones_swept(store: &dyn Store) {
    let u = user(store, "s@example.com").await;
    let t = now();
    let live = Session {
        id: SessionId::new(),
        user_id: u.id,
        created_at: t,
        expires_at: t + Duration::hours(1),
        revoked_at: None,
    };
    let old = Session {
        id: SessionId::new(),
        user_id: u.id,
        created_at: t - Duration::hours(3),
        expires_at: t - Duration::hours(1),
        revoked_at: None,
    };
    store.create_session(live.clone()).await.unwrap();
    store.create_session(old.clone()).await.unwrap();
    assert_eq!(store.session(live.id).await.unwrap(), Some(live.clone()));

    let at = now();
    assert!(store.revoke_session(live.id, at).await.unwrap());
    assert!(!store.revoke_session(live.id, now()).await.unwrap(), "revoking twice reports false");
    assert!(!store.revoke_session(SessionId::new(), now()).await.unwrap());
    let revoked = store.session(live.id).await.unwrap().unwrap();
    assert_eq!(revoked.revoked_at, Some(at), "the first revocation time is kept");
    assert!(!revoked.is_active(now()));

    assert_eq!(store.delete_expired_sessions(t).await.unwrap(), 1);
    assert_eq!(store.session(old.id).await.unwrap(), None);
    assert!(store.session(live.id).await.unwrap().is_some());
}

async fn readiness_holds_after_migration(store: &dyn Store) {
    store.readiness().await.unwrap();
}

#[tokio::test]
async fn sqlite_readiness_fails_until_migrated() {
    let (store, _dir) = common::sqlite_unmigrated().await;
    assert!(matches!(store.readiness().await, Err(StoreError::NotMigrated(_))));
    store.migrate().await.unwrap();
    store.readiness().await.unwrap();
    store.migrate().await.expect("migrating twice is a no-op");
}

#[tokio::test]
async fn postgres_readiness_fails_until_migrated() {
    let store = common::postgres_unmigrated().await;
    assert!(matches!(store.readiness().await, Err(StoreError::NotMigrated(_))));
    store.migrate().await.unwrap();
    store.readiness().await.unwrap();
    store.migrate().await.expect("migrating twice is a no-op");
}

#[tokio::test]
async fn postgres_unreachable_is_reported_as_unavailable() {
    let mut options = switchboard_server::store::StoreOptions::new("postgres://postgres@127.0.0.1:1/none");
    options.acquire_timeout = std::time::Duration::from_secs(2);
    let err = switchboard_server::store::connect(&options).await.err().expect("port 1 has no PostgreSQL");
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
}

fn new_channel(workspace_id: WorkspaceId, name: &str) -> Channel {
    let t = now();
    Channel {
        id: ChannelId::new(),
        workspace_id,
        provider: ProviderKind::Mock,
        name: name.to_owned(),
        status: ChannelStatus::Disconnected,
        config: serde_json::json!({"contacts": 2, "nested": {"a": [1, 2]}}),
        last_error: None,
        created_at: t,
        updated_at: t,
    }
}

async fn channels_round_trip_scoped_by_workspace(store: &dyn Store) {
    let acme = workspace(store, "Acme").await;
    let globex = workspace(store, "Globex").await;
    let a1 = store.create_channel(new_channel(acme.id, "A1")).await.unwrap();
    let a2 = store.create_channel(new_channel(acme.id, "A2")).await.unwrap();
    let g1 = store.create_channel(new_channel(globex.id, "G1")).await.unwrap();

    assert_eq!(
        store.channel(acme.id, a1.id).await.unwrap(),
        Some(a1.clone()),
        "read back equals what was written"
    );
    assert_eq!(store.channel(globex.id, a1.id).await.unwrap(), None, "another workspace cannot read it");
    assert_eq!(store.channels(acme.id).await.unwrap(), vec![a1.clone(), a2.clone()]);
    assert_eq!(store.channels(globex.id).await.unwrap(), vec![g1.clone()]);

    let at = now();
    let renamed = store.update_channel(acme.id, a1.id, Some("Renamed".into()), None, at).await.unwrap();
    assert_eq!((renamed.name.as_str(), &renamed.config, renamed.updated_at), ("Renamed", &a1.config, at));
    let reconfigured = store
        .update_channel(acme.id, a1.id, None, Some(serde_json::json!({"x": true})), now())
        .await
        .unwrap();
    assert_eq!(
        (reconfigured.name.as_str(), &reconfigured.config),
        ("Renamed", &serde_json::json!({"x": true}))
    );
    assert_eq!(
        store.update_channel(globex.id, a1.id, Some("Hijack".into()), None, now()).await,
        Err(StoreError::NotFound)
    );

    assert!(!store.delete_channel(globex.id, a2.id).await.unwrap(), "another workspace cannot delete it");
    assert!(store.delete_channel(acme.id, a2.id).await.unwrap());
    assert!(!store.delete_channel(acme.id, a2.id).await.unwrap());
    assert_eq!(store.channels(acme.id).await.unwrap().len(), 1);
}

async fn channel_status_and_credentials_change_in_place(store: &dyn Store) {
    let acme = workspace(store, "Acme").await;
    let other = workspace(store, "Other").await;
    let c = store.create_channel(new_channel(acme.id, "C")).await.unwrap();
    let d = store.create_channel(new_channel(acme.id, "D")).await.unwrap();

    let failed = store
        .set_channel_status(acme.id, c.id, ChannelStatus::Failed, Some("token revoked".into()), now())
        .await
        .unwrap();
    assert_eq!((failed.status, failed.last_error.as_deref()), (ChannelStatus::Failed, Some("token revoked")));
    store.set_channel_status(acme.id, d.id, ChannelStatus::Connected, None, now()).await.unwrap();
    assert_eq!(
        store.set_channel_status(other.id, c.id, ChannelStatus::Connected, None, now()).await,
        Err(StoreError::NotFound)
    );

    // Each change is an event on the workspace's inbox topic.
    let events = store.events_after(switchboard::Topic::Inbox(acme.id), 0, 10).await.unwrap();
    let changes: Vec<_> = events
        .iter()
        .map(|e| match &e.body {
            switchboard::EventBody::ChannelStatus(change) => (change.channel_id, change.status),
            other => panic!("expected channel.status, got {other:?}"),
        })
        .collect();
    assert_eq!(changes, [(c.id, ChannelStatus::Failed), (d.id, ChannelStatus::Connected)]);
    let before = store.channel(acme.id, d.id).await.unwrap().unwrap();
    let same = store.set_channel_status(acme.id, d.id, ChannelStatus::Connected, None, now()).await.unwrap();
    assert_eq!(same, before, "re-asserting a status changes nothing");
    let after = store.events_after(switchboard::Topic::Inbox(acme.id), 0, 10).await.unwrap();
    assert_eq!(after.len(), 2, "and writes no event");
    assert_eq!(events[0].body.payload()["last_error"], "token revoked");
    assert_eq!(events[0].body.payload()["channel_id"], serde_json::json!(c.id));

    let live =
        store.channels_with_status(&[ChannelStatus::Connected, ChannelStatus::Degraded]).await.unwrap();
    assert_eq!(live.iter().map(|c| c.id).collect::<Vec<_>>(), [d.id]);
    let all = store.channels_with_status(&ChannelStatus::ALL).await.unwrap();
    assert_eq!(all.len(), 2);

    assert_eq!(store.channel_credentials(acme.id, c.id).await.unwrap(), None);
    store.set_channel_credentials(acme.id, c.id, Some(vec![1, 2, 3, 0, 255]), now()).await.unwrap();
    assert_eq!(store.channel_credentials(acme.id, c.id).await.unwrap(), Some(vec![1, 2, 3, 0, 255]));
    assert_eq!(store.channel_credentials(other.id, c.id).await, Err(StoreError::NotFound));
    assert_eq!(store.set_channel_credentials(other.id, c.id, None, now()).await, Err(StoreError::NotFound));
    store.set_channel_credentials(acme.id, c.id, None, now()).await.unwrap();
    assert_eq!(store.channel_credentials(acme.id, c.id).await.unwrap(), None);
}

fn inbound(
    workspace_id: WorkspaceId,
    channel_id: ChannelId,
    contact: &str,
    external_id: &str,
    text: &str,
) -> switchboard::store::NewInbound {
    use switchboard::provider::{Contact, Direction, ProviderMessage};
    switchboard::store::NewInbound {
        workspace_id,
        channel_id,
        contact: Contact { external_id: contact.into(), name: format!("Contact {contact}") },
        message: ProviderMessage {
            external_id: external_id.into(),
            contact_id: contact.into(),
            direction: Direction::Inbound,
            text: text.into(),
            sent_at: now(),
        },
        trace_id: Some("trace-1".into()),
    }
}

fn outbound(
    ws: WorkspaceId,
    conversation_id: switchboard::ConversationId,
    sender: UserId,
    text: &str,
    key: Option<&str>,
) -> switchboard::store::NewOutbound {
    switchboard::store::NewOutbound {
        workspace_id: ws,
        conversation_id,
        sender,
        role: switchboard::MemberRole::Agent,
        text: text.into(),
        reply_to: None,
        client_message_id: key.map(str::to_owned),
        trace_id: None,
    }
}

/// A workspace with a channel, a user and a conversation opened by an inbound message.
async fn messaging_fixture(
    store: &dyn Store,
    name: &str,
) -> (WorkspaceId, ChannelId, UserId, switchboard::ConversationId) {
    let ws = workspace(store, name).await;
    let ch = store.create_channel(new_channel(ws.id, "Mock")).await.unwrap();
    let u = user(store, &format!("agent@{}.example", name.to_lowercase())).await;
    let first =
        store.ingest_inbound(inbound(ws.id, ch.id, "+1555", "ext-0", "hello")).await.unwrap().unwrap();
    (ws.id, ch.id, u.id, first.conversation.id)
}

async fn inbound_messages_are_recorded_once(store: &dyn Store) {
    let ws = workspace(store, "Acme").await;
    let ch = store.create_channel(new_channel(ws.id, "Mock")).await.unwrap();
    let first =
        store.ingest_inbound(inbound(ws.id, ch.id, "+1555", "ext-1", "hi")).await.unwrap().expect("recorded");
    assert_eq!(first.message.text, "hi");
    assert_eq!(first.message.status, switchboard::MessageStatus::Delivered);
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

async fn sends_are_idempotent_even_when_concurrent(store: &dyn Store) {
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

async fn topic_offsets_are_gapless_under_concurrent_writes(store: &dyn Store) {
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

async fn history_pages_by_id_without_gaps_or_duplicates(store: &dyn Store) {
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

async fn messaging_is_scoped_by_workspace(store: &dyn Store) {
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

async fn unread_in_a_contact_conversation_counts_only_the_contacts_messages(store: &dyn Store) {
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

async fn unread_in_a_room_counts_others_messages_capped_at_99_plus(store: &dyn Store) {
    use switchboard::message::UnreadCount;
    let ws = workspace(store, "Acme").await;
    let a = user(store, "a@example.com").await;
    let bob = user(store, "bob@example.com").await;
    store.put_member(ws.id, a.id, MemberRole::Agent, now()).await.unwrap();
    store.put_member(ws.id, bob.id, MemberRole::Agent, now()).await.unwrap();
    let inapp = store
        .create_channel(Channel { provider: ProviderKind::Inapp, ..new_channel(ws.id, "Team") })
        .await
        .unwrap();
    let room = store
        .create_room(switchboard::store::NewRoom {
            workspace_id: ws.id,
            channel_id: inapp.id,
            title: "Room".into(),
            members: vec![a.id, bob.id],
        })
        .await
        .unwrap();
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

async fn conversation_lists_filter_by_channel_search_and_unread(store: &dyn Store) {
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
async fn history_paging_is_exact_while_messages_keep_arriving(store: &dyn Store) {
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

/// Who may post in a room is decided in the send's own transaction: its members, whatever
/// their workspace role; outsiders (an owner too) are refused with nothing written, in the
/// same group as sends that pass; a member removed before the send commits is refused.
async fn only_a_rooms_members_post_in_it_decided_in_the_write(store: &dyn Store) {
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
    let inapp = store
        .create_channel(Channel { provider: ProviderKind::Inapp, ..new_channel(ws.id, "Team") })
        .await
        .unwrap();
    let room = store
        .create_room(switchboard::store::NewRoom {
            workspace_id: ws.id,
            channel_id: inapp.id,
            title: "Room".into(),
            members: vec![member.id],
        })
        .await
        .unwrap();
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
async fn sends_written_as_a_group_answer_each_caller_like_lone_sends(store: &dyn Store) {
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
    let inapp = store
        .create_channel(Channel { provider: ProviderKind::Inapp, ..new_channel(ws.id, "Team") })
        .await
        .unwrap();
    let room = store
        .create_room(switchboard::store::NewRoom {
            workspace_id: ws.id,
            channel_id: inapp.id,
            title: "Room".into(),
            members: vec![a.id, bob.id],
        })
        .await
        .unwrap();
    let (_, _, _, elsewhere) = messaging_fixture(store, "Other").await;
    let earlier = store.send_message(outbound(ws.id, chat, a.id, "earlier", Some("k-old"))).await.unwrap();

    let reply = switchboard::store::NewOutbound {
        reply_to: Some(earlier.message.id),
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
async fn replies_take_the_group_path_and_keep_their_idempotency(store: &dyn Store) {
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
        ..outbound(ws, conv, agent, text, key)
    };

    let r = tokio::join!(
        store.send_message(reply("answer", Some("r-1"), target.id)),
        store.send_message(reply("answer", Some("r-1"), target.id)),
        store.send_message(reply("astray", Some("r-2"), other_first)),
        store.send_message(outbound(ws, conv, agent, "plain", None)),
        store.send_message(switchboard::store::NewOutbound {
            reply_to: Some(target.id),
            ..outbound(ws, other_conv, agent, "wrong conversation", None)
        }),
        store.send_message(switchboard::store::NewOutbound {
            reply_to: Some(target.id),
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
    let url = common::postgres_url().await;
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

fn new_invitation(
    workspace: &Workspace,
    email: &str,
    by: &User,
    token: &str,
) -> switchboard::store::NewInvitation {
    switchboard::store::NewInvitation {
        id: switchboard::InvitationId::new(),
        workspace_id: workspace.id,
        email: Email::parse(email).unwrap(),
        role: MemberRole::Agent,
        invited_by: by.id,
        token_hash: format!("hash-{token}"),
        created_at: now(),
        expires_at: now() + Duration::days(7),
    }
}

async fn invitations_are_one_pending_per_address_and_refresh_in_place(store: &dyn Store) {
    let (acme, globex) = (workspace(store, "Acme").await, workspace(store, "Globex").await);
    let ada = user(store, "ada@example.com").await;
    store.put_member(acme.id, ada.id, MemberRole::Owner, now()).await.unwrap();
    let first = store.put_invitation(new_invitation(&acme, "zoe@example.com", &ada, "one")).await.unwrap();
    assert_eq!(
        (first.email.as_str(), first.status),
        ("zoe@example.com", switchboard::invitation::InvitationStatus::Pending)
    );
    assert_eq!(first.invited_by, Some(ada.id));

    let mut again = new_invitation(&acme, "zoe@example.com", &ada, "two");
    again.role = MemberRole::Admin;
    let refreshed = store.put_invitation(again).await.unwrap();
    assert_eq!(refreshed.id, first.id, "the pending one is refreshed, not doubled");
    assert_eq!(refreshed.role, MemberRole::Admin);
    assert_eq!(store.invitation_by_token("hash-one").await.unwrap(), None, "the old secret is gone");
    let by_token = store.invitation_by_token("hash-two").await.unwrap().unwrap();
    assert_eq!((by_token.invitation.id, by_token.workspace_name.as_str()), (first.id, "Acme"));
    assert_eq!(by_token.invited_by_name.as_deref(), Some("Name of ada@example.com"));

    let other =
        store.put_invitation(new_invitation(&globex, "zoe@example.com", &ada, "three")).await.unwrap();
    assert_ne!(other.id, first.id, "one per workspace");
    assert_eq!(store.invitations(acme.id).await.unwrap(), vec![refreshed.clone()]);
    let zoe = Email::parse("Zoe@Example.com").unwrap();
    let open: Vec<_> =
        store.invitations_for(&zoe, now()).await.unwrap().into_iter().map(|d| d.workspace_name).collect();
    assert_eq!(open, ["Acme", "Globex"]);
    assert!(store.invitations_for(&zoe, now() + Duration::days(8)).await.unwrap().is_empty(), "expired");

    // Revoked: history, and a new invitation for the address is a new one.
    let revoked = store.revoke_invitation(acme.id, first.id, now()).await.unwrap();
    assert_eq!(revoked.status, switchboard::invitation::InvitationStatus::Revoked);
    assert_eq!(store.revoke_invitation(acme.id, first.id, now()).await, Err(StoreError::NotFound));
    assert_eq!(store.revoke_invitation(acme.id, other.id, now()).await, Err(StoreError::NotFound), "scoped");
    assert!(store.invitations(acme.id).await.unwrap().is_empty());
    let fresh = store.put_invitation(new_invitation(&acme, "zoe@example.com", &ada, "four")).await.unwrap();
    assert_ne!(fresh.id, first.id);
    assert_eq!(store.invitation(first.id).await.unwrap().unwrap().invitation.status, revoked.status);
}

async fn accepting_an_invitation_adds_the_member_and_sets_a_default_only_once(store: &dyn Store) {
    let (acme, globex) = (workspace(store, "Acme").await, workspace(store, "Globex").await);
    let ada = user(store, "ada@example.com").await;
    let zoe = user(store, "zoe@example.com").await;
    store.put_member(acme.id, ada.id, MemberRole::Owner, now()).await.unwrap();
    store.put_member(globex.id, ada.id, MemberRole::Owner, now()).await.unwrap();
    let mut to_acme = new_invitation(&acme, "zoe@example.com", &ada, "a");
    to_acme.role = MemberRole::Admin;
    let to_acme = store.put_invitation(to_acme).await.unwrap();
    let to_globex =
        store.put_invitation(new_invitation(&globex, "zoe@example.com", &ada, "g")).await.unwrap();
    assert_eq!(store.member(acme.id, zoe.id).await.unwrap(), None, "not a member before accepting");
    assert_eq!(store.default_workspace(zoe.id).await.unwrap(), None);

    let joined = store.accept_invitation(to_acme.id, zoe.id, now()).await.unwrap();
    assert_eq!((joined.workspace.id, joined.role), (acme.id, MemberRole::Admin));
    assert_eq!(store.member(acme.id, zoe.id).await.unwrap().unwrap().role, MemberRole::Admin);
    assert_eq!(store.default_workspace(zoe.id).await.unwrap(), Some(acme.id), "her first workspace");
    let closed = Err(StoreError::Conflict { constraint: "invitation_closed".into() });
    assert_eq!(store.accept_invitation(to_acme.id, zoe.id, now()).await, closed.clone());
    assert_eq!(
        store.decline_invitation(to_acme.id, now()).await,
        closed.clone().map(|_: switchboard::Membership| ())
    );

    store.accept_invitation(to_globex.id, zoe.id, now()).await.unwrap();
    assert_eq!(store.default_workspace(zoe.id).await.unwrap(), Some(acme.id), "a second one leaves it");
    assert_eq!(store.memberships(zoe.id).await.unwrap().len(), 2);

    // Expired, declined: closed. An existing membership keeps its role.
    let late = store.put_invitation(new_invitation(&globex, "late@example.com", &ada, "late")).await.unwrap();
    let later = now() + Duration::days(8);
    let late_user = user(store, "late@example.com").await;
    assert_eq!(store.accept_invitation(late.id, late_user.id, later).await, closed.clone());
    assert_eq!(
        store.decline_invitation(late.id, later).await,
        closed.clone().map(|_: switchboard::Membership| ())
    );
    store.decline_invitation(late.id, now()).await.unwrap();
    assert_eq!(store.member(globex.id, late_user.id).await.unwrap(), None);
    let mut promote = new_invitation(&globex, "ada@example.com", &ada, "self");
    promote.role = MemberRole::Agent;
    let promote = store.put_invitation(promote).await.unwrap();
    let kept = store.accept_invitation(promote.id, ada.id, now()).await.unwrap();
    assert_eq!(kept.role, MemberRole::Owner, "accepting never changes an existing membership");
}

async fn accepting_as_a_new_user_is_one_transaction(store: &dyn Store) {
    let acme = workspace(store, "Acme").await;
    let ada = user(store, "ada@example.com").await;
    let new_user = |email: &str| NewUser {
        id: UserId::new(),
        email: Email::parse(email).unwrap(),
        name: "Zoe".into(),
        password_hash: "hash".into(),
        created_at: now(),
    };
    let invited = store.put_invitation(new_invitation(&acme, "zoe@example.com", &ada, "z")).await.unwrap();
    assert_eq!(
        store.accept_invitation_as_new_user(invited.id, new_user("other@example.com")).await.map(|_| ()),
        Err(StoreError::NotFound),
        "only the invitation's address"
    );
    let (zoe, membership) =
        store.accept_invitation_as_new_user(invited.id, new_user("zoe@example.com")).await.unwrap();
    assert_eq!(store.user(zoe.id).await.unwrap(), Some(zoe.clone()));
    assert_eq!((membership.workspace.id, membership.role), (acme.id, MemberRole::Agent));
    assert_eq!(store.default_workspace(zoe.id).await.unwrap(), Some(acme.id));
    assert_eq!(
        store.accept_invitation_as_new_user(invited.id, new_user("zoe@example.com")).await.map(|_| ()),
        Err(StoreError::Conflict { constraint: "invitation_closed".into() })
    );

    // The address has an account: nothing is written, the invitation stays open.
    let taken = store.put_invitation(new_invitation(&acme, "ada@example.com", &ada, "a")).await.unwrap();
    assert_eq!(
        store.accept_invitation_as_new_user(taken.id, new_user("ada@example.com")).await.map(|_| ()),
        Err(StoreError::Conflict { constraint: "user_account_email_key".into() })
    );
    let still = store.invitation(taken.id).await.unwrap().unwrap().invitation;
    assert_eq!(still.status, switchboard::invitation::InvitationStatus::Pending);
    assert_eq!(store.member(acme.id, ada.id).await.unwrap(), None);
}

async fn default_workspaces_follow_memberships(store: &dyn Store) {
    let (acme, globex) = (workspace(store, "Acme").await, workspace(store, "Globex").await);
    let ada = user(store, "ada@example.com").await;
    let bea = user(store, "bea@example.com").await;
    store.put_member(acme.id, ada.id, MemberRole::Owner, now()).await.unwrap();
    store.put_member(acme.id, bea.id, MemberRole::Agent, now()).await.unwrap();
    store.put_member(globex.id, bea.id, MemberRole::Owner, now()).await.unwrap();
    assert_eq!(store.default_workspace(bea.id).await.unwrap(), Some(acme.id), "the first membership");
    assert_eq!(
        store.set_default_workspace(ada.id, globex.id).await,
        Err(StoreError::NotFound),
        "not a member"
    );
    assert_eq!(store.set_default_workspace(UserId::new(), acme.id).await, Err(StoreError::NotFound));
    store.set_default_workspace(bea.id, globex.id).await.unwrap();
    assert_eq!(store.default_workspace(bea.id).await.unwrap(), Some(globex.id));
    assert_eq!(store.default_workspace(UserId::new()).await.unwrap(), None);

    // Leaving the default forgets it; leaving another workspace does not.
    store.remove_member(acme.id, bea.id).await.unwrap();
    assert_eq!(store.default_workspace(bea.id).await.unwrap(), Some(globex.id));
    store.put_member(acme.id, bea.id, MemberRole::Agent, now()).await.unwrap();
    store.put_member(globex.id, ada.id, MemberRole::Owner, now()).await.unwrap();
    store.remove_member(globex.id, bea.id).await.unwrap();
    assert_eq!(store.default_workspace(bea.id).await.unwrap(), None);
    store.put_member(globex.id, bea.id, MemberRole::Agent, now()).await.unwrap();
    assert_eq!(
        store.default_workspace(bea.id).await.unwrap(),
        Some(globex.id),
        "the next membership sets it"
    );

    // A member found by email, in one workspace only.
    let found = store.member_by_email(acme.id, &Email::parse("BEA@example.com").unwrap()).await.unwrap();
    assert_eq!(found.map(|m| m.user_id), Some(bea.id));
    assert_eq!(
        store.member_by_email(acme.id, &Email::parse("nobody@example.com").unwrap()).await.unwrap(),
        None
    );
    let cara = user(store, "cara@example.com").await;
    assert_eq!(store.member_by_email(acme.id, &Email::parse(&cara.email).unwrap()).await.unwrap(), None);
}

async fn a_users_sessions_list_and_end_together_and_a_password_change_keeps_one(store: &dyn Store) {
    let ann = user(store, "ann@example.com").await;
    let bob = user(store, "bob@example.com").await;
    let t = now();
    let session = |user: &User, created: i64, expires: i64| Session {
        id: SessionId::new(),
        user_id: user.id,
        created_at: t + Duration::seconds(created),
        expires_at: t + Duration::seconds(expires),
        revoked_at: None,
    };
    let (older, newer, expired) =
        (session(&ann, -60, 3600), session(&ann, -1, 3600), session(&ann, -7200, -1));
    let bobs = session(&bob, 0, 3600);
    for s in [&older, &newer, &expired, &bobs] {
        store.create_session(s.clone()).await.unwrap();
    }
    let ids = |list: Vec<Session>| list.into_iter().map(|s| s.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.active_sessions(ann.id, t).await.unwrap()),
        vec![newer.id, older.id],
        "newest first, live only"
    );

    // A password change keeps the caller's session and ends the others, in one go.
    assert_eq!(store.change_password(ann.id, "new-hash", newer.id, t).await.unwrap(), 1);
    assert_eq!(
        store.user_credentials(&Email::parse("ann@example.com").unwrap()).await.unwrap().unwrap().1,
        "new-hash"
    );
    assert_eq!(ids(store.active_sessions(ann.id, t).await.unwrap()), vec![newer.id]);
    assert!(matches!(
        store.change_password(UserId::new(), "x", newer.id, t).await,
        Err(StoreError::NotFound)
    ));

    // Signing out everywhere ends the rest; another user's sessions stay.
    assert_eq!(store.revoke_user_sessions(ann.id, None, t).await.unwrap(), 1);
    assert!(store.active_sessions(ann.id, t).await.unwrap().is_empty());
    assert_eq!(ids(store.active_sessions(bob.id, t).await.unwrap()), vec![bobs.id]);
}
