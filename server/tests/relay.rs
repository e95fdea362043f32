//! Two nodes in one process on one PostgreSQL database, linked by the local NATS (which
//! scripts/nats.sh starts; the test fails without it): events reach the other node's
//! subscribers even when the forwarding queue overflows or the forwarder dies holding a batch.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
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
    /// Node B's.
    link_b: Arc<Link>,
}

/// Nodes A and B on a fresh database and their own NATS subject; A forwards through a queue
/// of `queue` messages, one per NATS message.
async fn cluster(queue: usize) -> Cluster {
    cluster_with_b_at(queue, NATS_URL).await
}

/// The same, with node B reaching NATS at `b_nats` (a [`NatsProxy`]).
async fn cluster_with_b_at(queue: usize, b_nats: &str) -> Cluster {
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
    let link_b =
        nats::connect(&bus_b, store_b.clone(), b_nats, NatsOptions { subject, ..Default::default() })
            .await
            .unwrap();
    Cluster {
        a: state_with(store_a, bus_a, test_auth_config()),
        b: state_with(store_b, bus_b, test_auth_config()),
        link,
        link_b,
    }
}

/// A TCP relay in front of the local NATS that the test can cut: cut, it drops the connections
/// it carries and closes new ones at once, as a network partition would.
struct NatsProxy {
    addr: std::net::SocketAddr,
    cut: Arc<AtomicBool>,
    pipes: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl NatsProxy {
    async fn start() -> NatsProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (cut, pipes) = (Arc::new(AtomicBool::new(false)), Arc::new(Mutex::new(Vec::new())));
        let (is_cut, carried) = (cut.clone(), pipes.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if is_cut.load(Ordering::SeqCst) {
                    continue;
                }
                let pipe = tokio::spawn(async move {
                    let mut nats = tokio::net::TcpStream::connect("127.0.0.1:4222").await.unwrap();
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut nats).await;
                });
                carried.lock().unwrap().push(pipe.abort_handle());
            }
        });
        NatsProxy { addr, cut, pipes }
    }

    fn url(&self) -> String {
        format!("nats://{}", self.addr)
    }

    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for pipe in self.pipes.lock().unwrap().drain(..) {
            pipe.abort();
        }
    }

    fn heal(&self) {
        self.cut.store(false, Ordering::SeqCst);
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

#[tokio::test]
async fn a_node_that_lost_nats_closes_its_connections_so_a_sign_out_it_missed_still_counts() {
    let proxy = NatsProxy::start().await;
    let cluster = cluster_with_b_at(1024, &proxy.url()).await;
    let bob = login(&cluster.a, "bob@example.com", "demo-password").await;
    let response = send(&cluster.a, authed("GET", "/api/v1/realtime/token", &bob, None)).await;
    let token = body_json(response).await["token"].as_str().unwrap().to_owned();
    let b_addr = serve_app(&cluster.b).await;
    let (mut on_b, _) = Client::connect(b_addr, &token).await;

    // Node B is cut off from NATS; meanwhile Bob signs out through node A, whose "close this
    // session's sockets" never reaches B (core NATS keeps nothing for an absent subscriber).
    proxy.cut();
    while cluster.link_b.connected() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let response = send(&cluster.a, authed("POST", "/api/v1/auth/logout", &bob, None)).await;
    assert_eq!(response.status(), 204);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(on_b.try_push(Duration::from_millis(200)).await.is_none(), "B heard nothing yet");

    // Back on NATS, B cannot vouch for what it missed: it closes its connections with
    // "insufficient state" (the SDKs reconnect), and the reconnect reads the session again.
    let resyncs = switchboard_server::metrics::metrics().link_resyncs.get();
    proxy.heal();
    assert_eq!(on_b.closed().await.code, 3010, "closed to read its access again");
    assert!(switchboard_server::metrics::metrics().link_resyncs.get() > resyncs, "counted on /metrics");
    let mut again = Client::open(b_addr, &[]).await;
    again.send_raw(&json!({"id": 1, "connect": {"token": token}}).to_string()).await;
    assert_eq!(again.closed().await.code, 3500, "the signed-out session is refused");
    // A connection opened now stays: the link is whole again.
    let alice = login(&cluster.a, "alice@example.com", "demo-password").await;
    let response = send(&cluster.a, authed("GET", "/api/v1/realtime/token", &alice, None)).await;
    let alice_token = body_json(response).await["token"].as_str().unwrap().to_owned();
    let (mut alice_on_b, _) = Client::connect(b_addr, &alice_token).await;
    assert!(alice_on_b.try_push(Duration::from_millis(300)).await.is_none(), "alice stays connected");
}
