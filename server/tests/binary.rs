//! The real `switchboard` binary: serve with demo data on SQLite and on PostgreSQL, answer
//! probes over a socket, stop cleanly on SIGTERM; `migrate` and `user create`.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

/// A running server; killed if the test fails before stopping it.
struct Server {
    child: Child,
    base: String,
    banner: Vec<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(data_dir: &std::path::Path, extra: &[&str]) -> Server {
    let mut child = Command::new(BIN)
        .args(["serve", "--addr", "127.0.0.1:0", "--demo", "--data-dir"])
        .arg(data_dir)
        .args(extra)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the switchboard binary");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().expect("the server prints its URL").unwrap();
    let base = first.rsplit(' ').next().unwrap().to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{first}");
    let mut banner = vec![first];
    for _ in 0..3 {
        banner.push(lines.next().expect("the demo sign-in is printed").unwrap());
    }
    Server { child, base, banner }
}

/// A bare HTTP/1.1 GET; returns the status and the body.
async fn http_get(base: &str, path: &str) -> (u16, String) {
    let addr = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.unwrap();
    let status = raw.split(' ').nth(1).unwrap().parse().unwrap();
    let body = raw.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

/// A bare HTTP/1.1 request with an optional bearer token and JSON body; returns the status
/// and the body as JSON.
async fn http_json(
    base: &str,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let addr = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let auth = bearer.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.unwrap();
    let status = raw.split(' ').nth(1).unwrap().parse().unwrap();
    let body = raw.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or_default();
    (status, serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {raw}")))
}

fn terminate_and_wait(server: &mut Server) -> std::process::ExitStatus {
    let pid = server.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "the server did not stop within 15 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn serves_the_demo_on_sqlite_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(dir.path(), &[]);
    let banner = server.banner.join("\n");
    assert!(banner.contains("alice@example.com / demo-password (owner)"), "{banner}");
    assert!(banner.contains("bob@example.com / demo-password (agent)"), "{banner}");

    assert_eq!(http_get(&server.base, "/healthz").await.0, 200);
    let (status, body) = http_get(&server.base, "/readyz").await;
    assert_eq!((status, body.contains("sqlite")), (200, true), "{body}");
    assert!(dir.path().join("switchboard.db").exists(), "SQLite lives in the data dir");
    assert!(dir.path().join("secret.key").exists(), "the key file is generated in the data dir");

    let status = terminate_and_wait(&mut server);
    assert!(status.success(), "graceful shutdown exits 0, got {status}");

    // A second start on the same data dir re-seeds idempotently and keeps the key.
    let key = std::fs::read(dir.path().join("secret.key")).unwrap();
    let mut again = start(dir.path(), &[]);
    assert_eq!(http_get(&again.base, "/readyz").await.0, 200);
    assert_eq!(std::fs::read(dir.path().join("secret.key")).unwrap(), key);
    assert!(terminate_and_wait(&mut again).success());
}

#[tokio::test]
async fn sigterm_tells_realtime_clients_to_reconnect_before_exiting() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(dir.path(), &[]);
    let login = serde_json::json!({"email": "alice@example.com", "password": "demo-password"});
    let (status, session) = http_json(&server.base, "POST", "/api/v1/auth/login", None, Some(login)).await;
    assert_eq!(status, 200, "{session}");
    let session = session["token"].as_str().unwrap().to_owned();
    let (status, token) =
        http_json(&server.base, "GET", "/api/v1/realtime/token", Some(&session), None).await;
    assert_eq!(status, 200, "{token}");
    let addr: std::net::SocketAddr = server.base.trim_start_matches("http://").parse().unwrap();
    let (mut client, _) = common::ws::Client::connect(addr, token["token"].as_str().unwrap()).await;

    let pid = server.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let closed = client.closed().await;
    assert_eq!((closed.code, closed.reason.as_str()), (3001, "shutdown"), "{closed:?}");
    let status = terminate_and_wait(&mut server);
    assert!(status.success(), "graceful shutdown exits 0, got {status}");
}

#[tokio::test]
async fn serves_on_postgresql_when_the_url_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let url = common::postgres_url().await;
    let mut server = start(dir.path(), &["--database-url", &url]);
    let (status, body) = http_get(&server.base, "/readyz").await;
    assert_eq!((status, body.contains("postgres")), (200, true), "{body}");
    assert!(!dir.path().join("switchboard.db").exists(), "no SQLite file when PostgreSQL is used");
    assert!(terminate_and_wait(&mut server).success());
}

#[test]
fn migrate_and_user_create_work_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(BIN)
            .args(args)
            .args(["--data-dir", data])
            .env_remove("DATABASE_URL")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (ok, out) = run(&["migrate"]);
    assert!(ok, "{out}");
    let create = [
        "user",
        "create",
        "--email",
        "carol@example.com",
        "--password",
        "s3cret-pass",
        "--workspace",
        "Globex",
        "--role",
        "admin",
    ];
    let (ok, out) = run(&create);
    assert!(ok && out.contains("Created user carol@example.com") && out.contains("(new workspace)"), "{out}");
    let (ok, out) = run(&create);
    assert!(ok && out.contains("User exists"), "running it twice changes nothing: {out}");
    let (ok, out) = run(&[
        "user",
        "create",
        "--email",
        "dave@example.com",
        "--password",
        "short",
        "--workspace",
        "Globex",
    ]);
    assert!(!ok && out.contains("at least 8 characters"), "{out}");
    let (ok, out) =
        run(&["user", "create", "--email", "nope", "--password", "long-enough", "--workspace", "Globex"]);
    assert!(!ok && out.contains("not an email address"), "{out}");

    let help = Command::new(BIN).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for word in ["serve", "migrate", "user", "SWITCHBOARD_ADDR", "DATABASE_URL"] {
        assert!(help.contains(word), "--help lacks {word}:\n{help}");
    }
}

#[tokio::test]
async fn user_create_targets_postgresql_with_database_url() {
    let url = common::postgres_url().await;
    let out = Command::new(BIN)
        .args([
            "user",
            "create",
            "--email",
            "erin@example.com",
            "--password",
            "long-enough",
            "--workspace",
            "Initech",
            "--role",
            "owner",
        ])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let role: String = sqlx::query_scalar(
        "select m.role from member m join user_account u using (user_id) join workspace w using (workspace_id)
         where u.email = 'erin@example.com' and w.name = 'Initech'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(role, "owner");
    let hash: String =
        sqlx::query_scalar("select password_hash from user_account").fetch_one(&pool).await.unwrap();
    assert!(hash.starts_with("$argon2id$"), "passwords are stored as argon2id hashes");
}
