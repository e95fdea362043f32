//! Invitations and default workspaces.

use chrono::Duration;
use switchboard::store::{NewUser, StoreError};
use switchboard::time::now;
use switchboard::validate::Email;
use switchboard::{MemberRole, Store, UserId};

use crate::*;

pub async fn invitations_are_one_pending_per_address_and_refresh_in_place(store: &dyn Store) {
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

pub async fn accepting_an_invitation_adds_the_member_and_sets_a_default_only_once(store: &dyn Store) {
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

pub async fn accepting_as_a_new_user_is_one_transaction(store: &dyn Store) {
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
