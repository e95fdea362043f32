//! Users, workspaces, members, sessions and readiness.

use chrono::Duration;
use switchboard::store::{NewUser, StoreError};
use switchboard::time::now;
use switchboard::validate::Email;
use switchboard::{MemberRole, Session, SessionId, Store, User, UserId, Workspace, WorkspaceId};

use crate::*;

pub async fn users_round_trip(store: &dyn Store) {
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

pub async fn emails_are_unique(store: &dyn Store) {
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

pub async fn password_hashes_can_be_replaced(store: &dyn Store) {
    let u = user(store, "pw@example.com").await;
    store.set_password_hash(u.id, "new-hash").await.unwrap();
    let (_, hash) = store.user_credentials(&Email::parse("pw@example.com").unwrap()).await.unwrap().unwrap();
    assert_eq!(hash, "new-hash");
    assert_eq!(store.set_password_hash(UserId::new(), "x").await, Err(StoreError::NotFound));
}

pub async fn workspaces_round_trip_and_names_are_unique(store: &dyn Store) {
    let ws = workspace(store, "Acme").await;
    assert_eq!(store.workspace(ws.id).await.unwrap(), Some(ws.clone()));
    assert_eq!(store.workspace_by_name("Acme").await.unwrap(), Some(ws.clone()));
    assert_eq!(store.workspace_by_name("acme").await.unwrap(), None, "names are exact");
    let dup = store
        .create_workspace(Workspace { id: WorkspaceId::new(), name: "Acme".into(), created_at: now() })
        .await;
    assert_eq!(dup, Err(StoreError::Conflict { constraint: "workspace_name_key".into() }));
}

pub async fn members_are_upserted_and_scoped_by_workspace(store: &dyn Store) {
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

pub async fn members_need_existing_users_and_workspaces(store: &dyn Store) {
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

pub async fn member_roles_change_and_members_leave_but_never_the_last_owner(store: &dyn Store) {
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

pub async fn owners_demoting_each_other_at_once_leave_one_owner(store: &dyn Store) {
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

pub async fn sessions_are_revoked_once_and_expired_ones_swept(store: &dyn Store) {
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

pub async fn readiness_holds_after_migration(store: &dyn Store) {
    store.readiness().await.unwrap();
}

#[tokio::test]
async fn sqlite_readiness_fails_until_migrated() {
    let (store, _dir) = crate::common::sqlite_unmigrated().await;
    assert!(matches!(store.readiness().await, Err(StoreError::NotMigrated(_))));
    store.migrate().await.unwrap();
    store.readiness().await.unwrap();
    store.migrate().await.expect("migrating twice is a no-op");
}

#[tokio::test]
async fn postgres_readiness_fails_until_migrated() {
    let store = crate::common::postgres_unmigrated().await;
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

pub async fn default_workspaces_follow_memberships(store: &dyn Store) {
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

pub async fn a_users_sessions_list_and_end_together_and_a_password_change_keeps_one(store: &dyn Store) {
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
