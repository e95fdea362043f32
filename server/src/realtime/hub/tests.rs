//! The hub's registry, terminations and presence, without sockets.

use super::*;

fn conn(hub: &Hub, user: UserId, session: SessionId) -> (Arc<str>, Arc<Kill>) {
    let client: Arc<str> = uuid::Uuid::now_v7().to_string().into();
    let kill = Arc::new(Kill::default());
    assert!(hub.register(&client, user, session, kill.clone(), Instant::now()));
    hub.check_invariants();
    (client, kill)
}

#[test]
fn a_connection_whose_access_ended_while_it_registered_is_closed() {
    let hub = Hub::new();
    let (ann, bob) = (UserId(uuid::Uuid::now_v7()), UserId(uuid::Uuid::now_v7()));
    let (laptop, phone) = (SessionId::new(), SessionId::new());
    let register = |user, session, since| {
        let client: Arc<str> = uuid::Uuid::now_v7().to_string().into();
        let kill = Arc::new(Kill::default());
        let vouched = hub.register(&client, user, session, kill.clone(), since);
        (vouched, kill)
    };
    let before = Instant::now();
    hub.apply(&BusMessage::Terminate {
        target: Target::Session { session: laptop },
        why: AccessEnded::SignedOut,
    });
    let after = Instant::now();
    // The credentials were read before the sign-out was applied: closed, saying why.
    let (vouched, kill) = register(ann, laptop, before);
    assert!(vouched && kill.is_fired());
    assert_eq!(kill.reason(), Some(AccessEnded::SignedOut.disconnect()));
    // Read after it: the read saw the session ended already, or this is another session.
    assert!(!register(ann, laptop, after).1.is_fired());
    assert!(!register(ann, phone, before).1.is_fired());
    // A password change ends the user's other sessions, not the one it kept.
    hub.apply(&BusMessage::Terminate {
        target: Target::User { user: ann, keep: Some(laptop) },
        why: AccessEnded::PasswordChanged,
    });
    assert!(register(ann, phone, after).1.is_fired());
    assert!(!register(ann, laptop, after).1.is_fired());
    assert!(!register(bob, phone, after).1.is_fired());
    // Past what the hub remembers, it cannot vouch: the caller reads the store again.
    if let Some(long_ago) = Instant::now().checked_sub(ENDED_KEPT) {
        assert!(!register(bob, SessionId::new(), long_ago).0);
    }
}

#[test]
fn a_hub_that_lost_track_closes_every_connection_and_vouches_for_no_earlier_read() {
    let hub = Hub::new();
    let (ann, bob) = (UserId(uuid::Uuid::now_v7()), UserId(uuid::Uuid::now_v7()));
    let (_c1, k1) = conn(&hub, ann, SessionId::new());
    let (_c2, k2) = conn(&hub, bob, SessionId::new());
    let read_before = Instant::now();
    assert_eq!(hub.lost_track(), 2);
    for kill in [&k1, &k2] {
        assert_eq!(kill.reason(), Some(Disconnect::INSUFFICIENT_STATE));
    }
    let read_after = Instant::now();
    // Credentials read before the hub lost track may predate a termination it never heard:
    // the connection reads them again. Read after: the hub vouches, and nothing closes it.
    let register = |since| {
        let client: Arc<str> = uuid::Uuid::now_v7().to_string().into();
        let kill = Arc::new(Kill::default());
        (hub.register(&client, ann, SessionId::new(), kill.clone(), since), kill)
    };
    let (vouched, kill) = register(read_before);
    assert!(!vouched && !kill.is_fired());
    let (vouched, kill) = register(read_after);
    assert!(vouched && !kill.is_fired());
    hub.check_invariants();
}

#[test]
fn terminate_closes_exactly_the_connections_its_target_names() {
    let hub = Hub::new();
    let (ann, bob) = (UserId(uuid::Uuid::now_v7()), UserId(uuid::Uuid::now_v7()));
    let (laptop, phone, bobs) = (SessionId::new(), SessionId::new(), SessionId::new());
    let (c1, k1) = conn(&hub, ann, laptop);
    let (_c2, k2) = conn(&hub, ann, laptop);
    let (c3, k3) = conn(&hub, ann, phone);
    let (_c4, k4) = conn(&hub, bob, bobs);
    assert_eq!(hub.count(&Target::User { user: ann, keep: None }), 3);

    // A password change on the laptop: the phone goes, the laptop and Bob stay.
    hub.apply(&BusMessage::Terminate {
        target: Target::User { user: ann, keep: Some(laptop) },
        why: AccessEnded::PasswordChanged,
    });
    assert!(!k1.is_fired() && !k2.is_fired() && !k4.is_fired());
    assert!(k3.is_fired());
    hub.deregister(&c3);
    hub.check_invariants();

    // Signing the laptop out closes both of its sockets.
    hub.apply(&BusMessage::Terminate {
        target: Target::Session { session: laptop },
        why: AccessEnded::SignedOut,
    });
    assert!(k1.is_fired() && k2.is_fired() && !k4.is_fired());
    hub.deregister(&c1);
    hub.deregister(&c1);
    hub.check_invariants();
    assert_eq!(hub.count(&Target::User { user: ann, keep: None }), 1);
}

#[test]
fn shutdown_closes_every_connection_and_those_that_come_after() {
    let hub = Hub::new();
    let (ann, bob) = (UserId(uuid::Uuid::now_v7()), UserId(uuid::Uuid::now_v7()));
    let (_c1, k1) = conn(&hub, ann, SessionId::new());
    let (_c2, k2) = conn(&hub, bob, SessionId::new());
    assert!(!hub.is_closing());
    assert_eq!(hub.shutdown(), 2);
    for kill in [&k1, &k2] {
        assert_eq!(*kill.reason.lock().unwrap(), Some(Disconnect::SHUTDOWN));
    }
    let (_c3, k3) = conn(&hub, ann, SessionId::new());
    assert_eq!(*k3.reason.lock().unwrap(), Some(Disconnect::SHUTDOWN));
    assert_eq!(hub.live(), 3);
}

#[test]
fn terminate_travels_the_bus_as_json() {
    let message = BusMessage::Terminate {
        target: Target::User { user: UserId(uuid::Uuid::nil()), keep: None },
        why: AccessEnded::RemovedFromWorkspace,
    };
    let json = serde_json::to_string(&message).unwrap();
    let back: BusMessage = serde_json::from_str(&json).unwrap();
    assert!(matches!(back, BusMessage::Terminate { why: AccessEnded::RemovedFromWorkspace, .. }), "{json}");
}
