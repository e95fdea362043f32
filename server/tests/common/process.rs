//! The real `switchboard` binary as a child process, and bare HTTP/1.1 requests to it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

/// A running server; killed if the test fails before stopping it.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub banner: Vec<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `switchboard serve --demo` on a free port with `data_dir`, `extra` flags and `env`.
pub fn start_with(data_dir: &std::path::Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
    let mut child = Command::new(BIN)
        .args(["serve", "--addr", "127.0.0.1:0", "--demo", "--data-dir"])
        .arg(data_dir)
        .args(extra)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
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

/// `switchboard serve --demo` on a free port with `data_dir` and `extra` flags.
pub fn start(data_dir: &std::path::Path, extra: &[&str]) -> Server {
    start_with(data_dir, extra, &[])
}

/// A bare HTTP/1.1 GET; returns the status and the body.
pub async fn http_get(base: &str, path: &str) -> (u16, String) {
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

/// A bare HTTP/1.1 request with an optional bearer token, JSON body and extra headers;
/// `None` when the connection fails or ends before a whole answer (a server that died).
pub async fn try_http_json(
    base: &str,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<serde_json::Value>,
) -> Option<(u16, serde_json::Value)> {
    let addr = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut head = bearer.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{head}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.ok()?;
    let status = raw.split(' ').nth(1)?.parse().ok()?;
    let (_, body) = raw.split_once("\r\n\r\n")?;
    Some((status, serde_json::from_str(body).ok()?))
}

/// [`try_http_json`] without extra headers, for a server that is up: panics on a failure.
pub async fn http_json(
    base: &str,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    try_http_json(base, method, path, bearer, &[], body)
        .await
        .unwrap_or_else(|| panic!("{method} {path}: no JSON answer"))
}

/// A session token for a demo account.
pub async fn sign_in(base: &str, email: &str) -> String {
    let login = serde_json::json!({"email": email, "password": "demo-password"});
    let (status, session) = http_json(base, "POST", "/api/v1/auth/login", None, Some(login)).await;
    assert_eq!(status, 200, "{session}");
    session["token"].as_str().unwrap().to_owned()
}

/// Sends SIGTERM and waits (up to 15 s) for the process to exit.
pub fn terminate_and_wait(server: &mut Server) -> std::process::ExitStatus {
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
