//! Store conformance: every behaviour of the `Store` port written once, run against SQLite and
//! PostgreSQL by `store_test!`.

mod common;

use chrono::Duration;
use switchboard::store::{NewUser, StoreError};
use switchboard::time::now;
use switchboard::validate::Email;
use switchboard::{MemberRole, Session, SessionId, Store, User, UserId, Workspace, WorkspaceId};

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
    sessions_are_revoked_once_and_expired_ones_swept,
    readiness_holds_after_migration,
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
