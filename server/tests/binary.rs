//! The real `switchboard` binary: serve with demo data on SQLite and on PostgreSQL, answer
//! probes over a socket, stop cleanly on SIGTERM; `migrate` and `user create`.

mod common;

use std::process::Command;

use common::process::{BIN, http_get, http_json, start, terminate_and_wait};

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
    let session = common::process::sign_in(&server.base, "alice@example.com").await;
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
