//! Two nodes in one process on one PostgreSQL database, linked by the local NATS (which
//! scripts/nats.sh starts; the test fails without it): events reach the other node's
//! subscribers even when the forwarding queue overflows or the forwarder dies holding a batch.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::ws::Client;
use common::*;
use serde_json::{Value, json};
use switchboard::{ConversationId, Store};
use switchboard_server::http::AppState;
use switchboard_server::realtime::nats::{self, Link};
use switchboard_server::realtime::{Bus, NatsOptions};

const NATS_URL: &str = "nats://127.0.0.1:4222";

struct Cluster {
    a: AppState,
    b: AppState,
    /// Node A's link to NATS.
    link: Arc<Link>,
}

/// Nodes A and B on a fresh database and their own NATS subject; A forwards through a queue
/// of `queue` messages, one per NATS message.
async fn cluster(queue: usize) -> Cluster {
    let url = postgres_url().await;
    let subject = format!("switchboard.test.{}", uuid::Uuid::new_v4().simple());
    let (bus_a, bus_b) = (Bus::new(), Bus::new());
    let store_a: Arc<dyn Store> = Arc::new(postgres_at(&url, bus_a.clone()).await);
    let store_b: Arc<dyn Store> = Arc::new(postgres_at(&url, bus_b.clone()).await);
    switchboard_server::services::provision::seed_demo(store_a.as_ref()).await.unwrap();
    let small = NatsOptions { subject: subject.clone(), queue, batch: 1, relay_page: 3 };
    let link = nats::connect(&bus_a, store_a.clone(), NATS_URL, small)
        .await
        .expect("NATS must be running on 127.0.0.1:4222 (scripts/nats.sh)");
    nats::connect(&bus_b, store_b.clone(), NATS_URL, NatsOptions { subject, ..Default::default() })
        .await
        .unwrap();
    Cluster {
        a: state_with(store_a, bus_a, test_auth_config()),
        b: state_with(store_b, bus_b, test_auth_config()),
        link,
    }
}

/// A conversation on node A, and a client of node B subscribed to it (with its offset).
async fn watched_conversation(cluster: &Cluster, contact: &str) -> (String, ConversationId, Client, i64) {
    let alice = login(&cluster.a, "alice@example.com", "demo-password").await;
    let created = create_channel(&cluster.a, &alice, json!({"provider": "mock", "name": "Mock"})).await;
    let ws = cluster.a.store.workspace_by_name("Acme Support").await.unwrap().unwrap().id;
    let id = created["id"].as_str().unwrap().parse().unwrap();
    let channel = cluster.a.store.channel(ws, id).await.unwrap().unwrap();
    let conv = contact_writes(&cluster.a, &channel, contact, "Contact", "hello").await.conversation.id;

    let bob = login(&cluster.b, "bob@example.com", "demo-password").await;
    let response = send(&cluster.b, authed("GET", "/api/v1/realtime/token", &bob, None)).await;
    let token = body_json(response).await["token"].as_str().unwrap().to_owned();
    let (mut client, _) = Client::connect(serve_app(&cluster.b).await, &token).await;
    let reply = client.call(json!({"subscribe": {"channel": format!("conversation:{conv}")}})).await;
    let offset = reply["subscribe"]["offset"].as_i64().unwrap_or_else(|| panic!("{reply}"));
    (alice, conv, client, offset)
}

async fn post_text(app: &AppState, token: &str, conv: ConversationId, text: &str) -> Value {
    let uri = format!("/api/v1/conversations/{conv}/messages");
    let response = send(app, authed("POST", &uri, token, Some(json!({ "text": text })))).await;
    assert_eq!(response.status(), 201);
    body_json(response).await
}

/// The next `n` publications of the conversation, in offset order from `after + 1`.
async fn expect_in_order(client: &mut Client, conv: ConversationId, after: i64, sent: &[Value]) {
    for (i, message) in sent.iter().enumerate() {
        let publication = client.publication(&format!("conversation:{conv}")).await;
        assert_eq!(publication["offset"], after + 1 + i as i64, "{publication}");
        assert_eq!(publication["data"]["payload"]["id"], message["id"], "{publication}");
    }
}

#[tokio::test]
async fn a_full_forwarding_queue_loses_no_event() {
    let cluster = cluster(2).await;
    let (alice, conv, mut client, start) = watched_conversation(&cluster, "+15550002001").await;

    // The forwarder takes one message and stops; two more fit in the queue, the rest do not.
    cluster.link.hold_forwarder(true);
    let mut sent = Vec::new();
    for i in 0..10 {
        sent.push(post_text(&cluster.a, &alice, conv, &format!("m{i}")).await);
    }
    // Node B's client gets every message, in order, while the forwarder still holds its batch:
    // the relay read what did not fit from the log.
    expect_in_order(&mut client, conv, start, &sent).await;
    assert!(cluster.link.relayed() >= 7, "relayed {}", cluster.link.relayed());

    // Once released, the forwarder's late copies are dropped as duplicates: the next message
    // is the next publication.
    cluster.link.hold_forwarder(false);
    let next = post_text(&cluster.a, &alice, conv, "after").await;
    expect_in_order(&mut client, conv, start + 10, &[next]).await;
}

#[tokio::test]
async fn a_forwarder_that_dies_holding_a_batch_loses_no_event() {
    let cluster = cluster(1024).await;
    let (alice, conv, mut client, start) = watched_conversation(&cluster, "+15550002002").await;
    let restarts = switchboard_server::supervise::restarts("nats_forwarder");

    cluster.link.hold_forwarder(true);
    let sent = post_text(&cluster.a, &alice, conv, "held, then lost with the forwarder").await;
    while !cluster.link.holds_batch() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    cluster.link.crash_forwarder();
    cluster.link.hold_forwarder(false);

    expect_in_order(&mut client, conv, start, &[sent]).await;
    assert!(switchboard_server::supervise::restarts("nats_forwarder") > restarts);
    assert!(cluster.link.relayed() >= 1);
    // The restarted forwarder carries on.
    let next = post_text(&cluster.a, &alice, conv, "after the restart").await;
    expect_in_order(&mut client, conv, start + 1, &[next]).await;
}
