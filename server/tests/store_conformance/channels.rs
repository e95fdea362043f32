//! Channels: configuration, status and sealed credentials.

use switchboard::store::StoreError;
use switchboard::time::now;
use switchboard::{ChannelStatus, Store};

use crate::*;

pub async fn channels_round_trip_scoped_by_workspace(store: &dyn Store) {
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

pub async fn channel_status_and_credentials_change_in_place(store: &dyn Store) {
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
