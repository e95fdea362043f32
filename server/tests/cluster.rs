//! Two real `switchboard` processes on one PostgreSQL, fanning events out over the local
//! NATS: a message sent through node A reaches a client of node B, a client moving from B
//! to A recovers what it missed, and signing out through one node closes the session's sockets
//! on the other. NATS must be running (scripts/nats.sh starts it); the test
//! fails otherwise.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::ws::Client;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BIN: &str = env!("CARGO_BIN_EXE_switchboard");
const NATS_URL: &str = "nats://127.0.0.1:4222";

struct Node {
    child: Child,
    addr: std::net::SocketAddr,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A node of the cluster that shares `subject` on the local NATS (each run its own, so nothing
/// else on that NATS crosses it).
fn start(database_url: &str, data_dir: &std::path::Path, subject: &str, demo: bool) -> Node {
    let mut command = Command::new(BIN);
    command
        .args(["serve", "--addr", "127.0.0.1:0", "--nats-url", NATS_URL, "--database-url", database_url])
        .args(["--nats-subject", subject])
        .arg("--data-dir")
        .arg(data_dir)
        // One secret for the cluster: a token from one node works on the other.
        .args(["--secret-key", &"5a".repeat(32)])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if demo {
        command.arg("--demo");
    }
    let mut child = command.spawn().expect("start the switchboard binary");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().expect("the server prints its URL").unwrap();
    let addr = first.rsplit("http://").next().unwrap().parse().expect(&first);
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Node { child, addr }
}

/// A bare HTTP/1.1 request with an optional bearer token and JSON body.
async fn http(
    node: &Node,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut stream = tokio::net::TcpStream::connect(node.addr).await.unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        node.addr,
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.unwrap();
    let status = raw.split(' ').nth(1).unwrap().parse().unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        dechunk(body)
    } else {
        body.to_owned()
    };
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        body = &rest[size + 2..];
    }
    out
}

#[tokio::test]
async fn two_nodes_share_events_over_nats_and_a_moving_client_recovers() {
    let database_url = common::postgres_url().await;
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    let subject = format!("switchboard.test.{}", uuid::Uuid::new_v4().simple());
    let a = start(&database_url, dir_a.path(), &subject, true);
    let b = start(&database_url, dir_b.path(), &subject, false);

    let (status, login) = http(
        &a,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({"email": "alice@example.com", "password": "demo-password"})),
    )
    .await;
    assert_eq!(status, 200, "{login}");
    let session = login["token"].as_str().unwrap().to_owned();
    // The demo channel's history makes conversations shortly after start.
    let mut conversation = None;
    for _ in 0..200 {
        let (_, list) = http(&a, "GET", "/api/v1/conversations", Some(&session), None).await;
        if let Some(first) = list.as_array().and_then(|l| l.first()) {
            conversation = Some(first["id"].as_str().unwrap().to_owned());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let conversation = conversation.expect("the demo has conversations");
    let topic = format!("conversation:{conversation}");
    let send_path = format!("/api/v1/conversations/{conversation}/messages");

    // A client on node B, with a token minted by node A.
    let (_, token) = http(&a, "GET", "/api/v1/realtime/token", Some(&session), None).await;
    let token = token["token"].as_str().unwrap().to_owned();
    let (mut on_b, _) = Client::connect(b.addr, &token).await;
    let sub = on_b.call(json!({"subscribe": {"channel": topic}})).await;
    let epoch = sub["subscribe"]["epoch"].as_str().unwrap().to_owned();

    let (status, sent) = http(&a, "POST", &send_path, Some(&session), Some(json!({"text": "from A"}))).await;
    assert_eq!(status, 201, "{sent}");
    let publication = on_b.publication(&topic).await;
    assert_eq!(publication["data"]["payload"]["id"], sent["id"], "node B delivered node A's message");
    let seen = publication["offset"].as_i64().unwrap();

    // The client leaves B; three messages go through A; it comes back on A and recovers them.
    on_b.close().await;
    let mut missed = Vec::new();
    for i in 0..3 {
        let (status, sent) =
            http(&a, "POST", &send_path, Some(&session), Some(json!({"text": format!("missed {i}")}))).await;
        assert_eq!(status, 201);
        missed.push(sent["id"].clone());
    }
    let (mut on_a, _) = Client::connect(a.addr, &token).await;
    let reply = on_a
        .call(json!({"subscribe": {"channel": topic, "recover": true, "offset": seen, "epoch": epoch}}))
        .await;
    assert_eq!(reply["subscribe"]["recovered"], true, "{reply}");
    let pubs = reply["subscribe"]["publications"].as_array().unwrap();
    let got: Vec<&Value> = pubs
        .iter()
        .filter(|p| p["data"]["type"] == "message.created")
        .map(|p| &p["data"]["payload"]["id"])
        .collect();
    assert_eq!(got, missed.iter().collect::<Vec<_>>(), "exactly the three, in order");
    let offsets: Vec<i64> = pubs.iter().map(|p| p["offset"].as_i64().unwrap()).collect();
    assert_eq!(offsets, (seen + 1..=seen + offsets.len() as i64).collect::<Vec<_>>(), "no gap");

    // And the other way round: a send through B reaches the client now on A.
    let (_, login_b) = http(
        &b,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({"email": "bob@example.com", "password": "demo-password"})),
    )
    .await;
    let bob = login_b["token"].as_str().unwrap();
    let (status, sent) = http(&b, "POST", &send_path, Some(bob), Some(json!({"text": "from B"}))).await;
    assert_eq!(status, 201);
    loop {
        let publication = on_a.publication(&topic).await;
        if publication["data"]["type"] == "message.created" {
            assert_eq!(publication["data"]["payload"]["id"], sent["id"]);
            break;
        }
    }

    // Signing out through node A closes the session's sockets on both nodes at once.
    let (mut again_on_b, _) = Client::connect(b.addr, &token).await;
    let (status, _) = http(&a, "POST", "/api/v1/auth/logout", Some(&session), None).await;
    assert_eq!(status, 204);
    assert_eq!(again_on_b.closed().await.code, 4500, "node B closed it");
    assert_eq!(on_a.closed().await.code, 4500, "node A closed it");
}
