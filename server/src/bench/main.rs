//! `switchboard-bench`: a load generator that drives a running `switchboard` through its real
//! protocols on loopback — REST to set up, the realtime WebSocket (Centrifugo protocol v2) to
//! listen and to send with `rpc send_message` — and reports send→deliver latency, throughput,
//! losses and duplicates, and the server's memory and CPU (from `/proc/<pid>`).
//!
//! Every loop is bounded in count and time. See `scripts/bench.sh` for the scenarios.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message as Ws;

mod listen;
mod report;

use listen::{Listener, Seen, listen, open};
use report::{Report, Step, percentile, print_table};

#[derive(Parser, Debug, Clone)]
#[command(name = "switchboard-bench", about = "Load generator for a running switchboard")]
struct Args {
    /// The server's address.
    #[arg(long, default_value = "127.0.0.1:3000")]
    addr: SocketAddr,
    /// Where the listeners connect (another node of a cluster); default: `--addr`.
    #[arg(long)]
    listen_addr: Option<SocketAddr>,
    /// The server's process id, for RSS and CPU time.
    #[arg(long)]
    server_pid: Option<u32>,
    /// An owner or admin of a workspace (the demo's alice by default).
    #[arg(long, default_value = "alice@example.com")]
    email: String,
    #[arg(long, default_value = "demo-password")]
    password: String,
    /// Listening connections.
    #[arg(long, default_value_t = 1000)]
    connections: usize,
    /// Rooms the listeners are spread over (connection i listens to room i % rooms).
    #[arg(long, default_value_t = 100)]
    rooms: usize,
    /// Listeners only subscribe to the workspace inbox and nothing is sent (the idle scenario).
    #[arg(long)]
    idle: bool,
    /// Send rates to step through, messages per second in total.
    #[arg(long, value_delimiter = ',', default_value = "1000")]
    rates: Vec<u64>,
    /// Seconds per rate step.
    #[arg(long, default_value_t = 10)]
    step_secs: u64,
    /// Connections that send (round-robin over the rooms).
    #[arg(long, default_value_t = 8)]
    senders: usize,
    /// How long to wait for the last deliveries after a step.
    #[arg(long, default_value_t = 3)]
    drain_secs: u64,
    /// Every listening connection is its own app user (created through an API key, with a
    /// user token each), and every room is created with its listeners as members; each sender
    /// is a member of the rooms it sends to. Without it, the demo's alice holds every socket.
    #[arg(long)]
    distinct_users: bool,
    /// Churn: each listener drops its socket at a random point every ~this many seconds
    /// (uniform in 0.5–1.5×), reconnects and recovers what it missed by offset. 0: no churn.
    #[arg(long, default_value_t = 0.0)]
    churn_secs: f64,
    /// Write the report as JSON here too.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
    /// A label for the report (scenario, backend).
    #[arg(long, default_value = "")]
    label: String,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let report = run(&args).await?;
    print_table(&report);
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)?;
    }
    Ok(())
}

fn now_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}

/// RSS in bytes and CPU seconds (user + system) of a process.
fn proc_stats(pid: Option<u32>) -> Option<(u64, f64)> {
    let pid = pid?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kb: u64 =
        status.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = rest.get(11)?.parse::<f64>().ok()? + rest.get(12)?.parse::<f64>().ok()?;
    Some((rss_kb * 1024, ticks / 100.0))
}

/// A bare HTTP/1.1 request with an optional bearer token and JSON body.
async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> anyhow::Result<(u16, Value)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await?;
    let status = raw.split(' ').nth(1).context("no status line")?.parse()?;
    let (head, rest) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        let mut out = String::new();
        let mut rest = rest;
        while let Some((size, tail)) = rest.split_once("\r\n") {
            let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if size == 0 || tail.len() < size {
                break;
            }
            out.push_str(&tail[..size]);
            rest = tail[size..].trim_start_matches("\r\n");
        }
        out
    } else {
        rest.to_owned()
    };
    Ok((status, serde_json::from_str(&body).unwrap_or(Value::Null)))
}

/// Who holds the sockets: a token per listener (one for all without `--distinct-users`), and
/// each sender's token with the rooms (indexes) it sends to.
struct People {
    listeners: Vec<String>,
    senders: Vec<(String, Vec<usize>)>,
}

impl People {
    fn one(token: &str, args: &Args) -> Self {
        People { listeners: vec![token.to_owned()], senders: Vec::with_capacity(args.senders) }
    }
}

/// An API key, an app user with a user token per listener, and rooms made of their listeners:
/// room `r` holds listeners `i` with `i % rooms == r`. Sender `s` is listener `s`'s user (a
/// member of room `s`) and sends to the rooms `r` with `r % senders == s`, added to those
/// it is not in yet.
async fn distinct_users(
    args: &Args,
    session: &str,
    channel_id: &str,
) -> anyhow::Result<(Vec<String>, People)> {
    let run = now_us();
    let (status, key) = http(
        args.addr,
        "POST",
        "/api/v1/api-keys",
        Some(session),
        Some(json!({"name": format!("bench {run}"), "scope": "server"})),
    )
    .await?;
    if status != 201 {
        bail!("cannot create the bench API key ({status}): {key}");
    }
    let key = key["secret"].as_str().context("no key secret")?.to_owned();
    let made = futures_util::stream::iter(0..args.connections)
        .map(|i| {
            let key = key.clone();
            async move {
                let external = format!("bench-{run}-{i}");
                let path = format!("/api/v1/users/{external}");
                let (status, user) = http(
                    args.addr,
                    "PUT",
                    &path,
                    Some(&key),
                    Some(json!({"name": format!("Bench user {i}")})),
                )
                .await?;
                if status != 201 {
                    bail!("cannot create an app user ({status}): {user}");
                }
                let (status, token) =
                    http(args.addr, "POST", &format!("{path}/token"), Some(&key), Some(json!({}))).await?;
                if status != 200 && status != 201 {
                    bail!("cannot mint a user token ({status}): {token}");
                }
                let id = user["user_id"].as_str().context("no user id")?.to_owned();
                Ok::<_, anyhow::Error>((id, token["token"].as_str().context("no user token")?.to_owned()))
            }
        })
        .buffered(16)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<Vec<_>>>()?;
    let (ids, tokens): (Vec<String>, Vec<String>) = made.into_iter().unzip();
    let n_rooms = args.rooms.max(1).min(ids.len().max(1));
    let n_senders = args.senders.max(1).min(n_rooms);
    let mut rooms = Vec::with_capacity(n_rooms);
    for r in 0..n_rooms {
        let mut members: Vec<&String> = ids.iter().skip(r).step_by(n_rooms).collect();
        let sender = &ids[r % n_senders];
        if !members.contains(&sender) {
            members.push(sender);
        }
        let mut chunks = members.chunks(1000);
        let first = chunks.next().unwrap_or_default();
        let body = json!({"channel_id": channel_id, "title": format!("bench room {r}"), "member_ids": first});
        let (status, room) = http(args.addr, "POST", "/api/v1/conversations", Some(&key), Some(body)).await?;
        if status != 201 {
            bail!("cannot create a room ({status}): {room}");
        }
        let room = room["id"].as_str().context("no room id")?.to_owned();
        for more in chunks {
            let path = format!("/api/v1/conversations/{room}/members");
            let (status, answer) =
                http(args.addr, "POST", &path, Some(&key), Some(json!({"user_ids": more}))).await?;
            if status != 200 {
                bail!("cannot add room members ({status}): {answer}");
            }
        }
        rooms.push(room);
    }
    let senders =
        (0..n_senders).map(|s| (tokens[s].clone(), (s..n_rooms).step_by(n_senders).collect())).collect();
    Ok((rooms, People { listeners: tokens, senders }))
}

async fn run(args: &Args) -> anyhow::Result<Report> {
    let (status, login) = http(
        args.addr,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({"email": args.email, "password": args.password})),
    )
    .await?;
    if status != 200 {
        bail!("sign-in failed ({status}): {login}");
    }
    let session = login["token"].as_str().context("no token")?.to_owned();
    let workspace = login["workspaces"][0]["workspace"]["id"].as_str().context("no workspace")?.to_owned();
    let (_, token) = http(args.addr, "GET", "/api/v1/realtime/token", Some(&session), None).await?;
    let token = token["token"].as_str().context("no realtime token")?.to_owned();

    // Rooms in an in-app channel: messages are stored and delivered, no outside network.
    let mut rooms = Vec::new();
    let mut people = People::one(&token, args);
    if !args.idle || args.distinct_users {
        let name = format!("bench {}", now_us());
        let (status, channel) = http(
            args.addr,
            "POST",
            "/api/v1/channels",
            Some(&session),
            Some(json!({"provider": "inapp", "name": name})),
        )
        .await?;
        if status != 201 {
            bail!("cannot create the bench channel ({status}): {channel}");
        }
        let channel_id = channel["id"].as_str().context("no channel id")?.to_owned();
        if args.distinct_users {
            (rooms, people) = distinct_users(args, &session, &channel_id).await?;
        } else {
            for i in 0..args.rooms.max(1) {
                let body = json!({"channel_id": channel_id, "title": format!("bench room {i}")});
                let (status, room) =
                    http(args.addr, "POST", "/api/v1/conversations", Some(&session), Some(body)).await?;
                if status != 201 {
                    bail!("cannot create a room ({status}): {room}");
                }
                rooms.push(room["id"].as_str().context("no room id")?.to_owned());
            }
            people.senders =
                (0..args.senders.max(1)).map(|_| (token.clone(), (0..rooms.len()).collect())).collect();
        }
    }

    let before = proc_stats(args.server_pid);
    let started = Instant::now();
    let stop = Arc::new(tokio::sync::Notify::new());
    let mut seen_by_room: Vec<Vec<Arc<Mutex<Seen>>>> = vec![Vec::new(); rooms.len()];
    let mut failures = 0;
    let mut listeners = Vec::new();
    let tenth = (args.connections / 10).max(1);
    let mut warm = None;
    let churn = (args.churn_secs > 0.0).then_some(args.churn_secs);
    for i in 0..args.connections {
        if i == tenth {
            warm = proc_stats(args.server_pid).map(|s| (s.0, i - failures));
        }
        let channel = if rooms.is_empty() {
            format!("inbox:{workspace}")
        } else {
            format!("conversation:{}", rooms[i % rooms.len()])
        };
        let listener = Listener {
            addr: args.listen_addr.unwrap_or(args.addr),
            token: people.listeners[i % people.listeners.len()].clone(),
            channel,
            churn,
        };
        match open(&listener, None).await {
            Ok(opened) => {
                let seen = Arc::new(Mutex::new(Seen::default()));
                if !args.idle {
                    seen_by_room[i % rooms.len()].push(seen.clone());
                }
                listeners.push(tokio::spawn(listen(listener, opened, seen, stop.clone())));
            }
            Err(e) => {
                failures += 1;
                if failures <= 3 {
                    eprintln!("connection {i} failed: {e:#}");
                }
            }
        }
    }
    let connect_secs = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = proc_stats(args.server_pid);
    let opened = args.connections - failures;
    let mut report = Report {
        label: args.label.clone(),
        connections: opened,
        connection_failures: failures,
        rooms: rooms.len(),
        connect_secs,
        server_rss_before: before.map_or(0, |b| b.0),
        server_rss_after: after.map_or(0, |a| a.0),
        ..Default::default()
    };
    if let (Some(b), Some(a)) = (before, after) {
        report.bytes_per_connection = a.0.saturating_sub(b.0) / opened.max(1) as u64;
        report.connect_cpu_us = (a.1 - b.1).max(0.0) * 1e6 / opened.max(1) as f64;
    }
    if let (Some((rss, count)), Some(a)) = (warm, after) {
        report.marginal_bytes_per_connection =
            a.0.saturating_sub(rss) / opened.saturating_sub(count).max(1) as u64;
    }
    if args.idle {
        stop.notify_waiters();
        return Ok(report);
    }

    let seq = Arc::new(AtomicU64::new(0));
    for &rate in &args.rates {
        let step = send_step(args, &people.senders, &rooms, rate, &seq, &seen_by_room).await?;
        report.steps.push(step);
    }
    stop.notify_waiters();
    for l in listeners {
        l.abort();
    }
    Ok(report)
}

/// Sends at `rate` for the step's duration over `args.senders` connections, waits for the
/// deliveries to drain, then counts what every listener got.
async fn send_step(
    args: &Args,
    people: &[(String, Vec<usize>)],
    rooms: &[String],
    rate: u64,
    seq: &Arc<AtomicU64>,
    seen_by_room: &[Vec<Arc<Mutex<Seen>>>],
) -> anyhow::Result<Step> {
    for room in seen_by_room.iter().flatten() {
        *room.lock().await = Seen::default();
    }
    let cpu_before = proc_stats(args.server_pid).map_or(0.0, |s| s.1);
    let senders = people.len().max(1);
    let total = rate * args.step_secs;
    let per_sender = total / senders as u64;
    let errors = Arc::new(AtomicU64::new(0));
    let sent_by_room: Arc<Vec<AtomicU64>> = Arc::new(rooms.iter().map(|_| AtomicU64::new(0)).collect());
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (s, (token, mine)) in people.iter().enumerate() {
        let addr = args.addr;
        let token = token.clone();
        let mine = mine.clone();
        let rooms = rooms.to_vec();
        let seq = seq.clone();
        let errors = errors.clone();
        let sent_by_room = sent_by_room.clone();
        let interval = Duration::from_secs_f64(senders as f64 / rate.max(1) as f64);
        tasks.push(tokio::spawn(async move {
            let Ok((mut ws, _)) = tokio_tungstenite::connect_async_with_config(format!("ws://{addr}/connection/websocket"), None, true).await else {
                errors.fetch_add(per_sender, Ordering::Relaxed);
                return;
            };
            let connect = json!({"id": 1, "connect": {"token": token, "name": "bench-sender"}}).to_string();
            if ws.send(Ws::Text(connect.into())).await.is_err() {
                errors.fetch_add(per_sender, Ordering::Relaxed);
                return;
            }
            // Staggered: the senders take turns through each interval instead of all sending
            // at its start (which made bursts of `senders` messages).
            let first = tokio::time::Instant::now() + interval.mul_f64((s + 1) as f64 / senders as f64);
            let mut tick = tokio::time::interval_at(first, interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut done = 0u64;
            let mut acked = 0u64;
            // Bounded: the step's own length plus half a minute for the replies.
            let deadline = tokio::time::Instant::now() + interval * per_sender as u32 + Duration::from_secs(30);
            while acked < per_sender && tokio::time::Instant::now() < deadline {
                tokio::select! {
                    _ = tick.tick(), if done < per_sender => {
                        let n = seq.fetch_add(1, Ordering::Relaxed);
                        let room = mine[(n as usize + s) % mine.len()];
                        let data = json!({"conversation_id": rooms[room], "text": format!("bench {n} {}", now_us())});
                        let cmd = json!({"id": 10 + done, "rpc": {"method": "send_message", "data": data}}).to_string();
                        sent_by_room[room].fetch_add(1, Ordering::Relaxed);
                        done += 1;
                        if ws.send(Ws::Text(cmd.into())).await.is_err() {
                            errors.fetch_add(per_sender - done + 1, Ordering::Relaxed);
                            return;
                        }
                    }
                    message = ws.next() => {
                        let Some(Ok(Ws::Text(text))) = message else { continue };
                        for line in text.split('\n') {
                            if line == "{}" {
                                let _ = ws.send(Ws::Text("{}".into())).await;
                            } else if line.contains("\"rpc\"") {
                                acked += 1;
                            } else if line.contains("\"error\"") {
                                acked += 1;
                                errors.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                }
            }
            if acked < per_sender {
                errors.fetch_add(per_sender - acked, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let send_secs = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(args.drain_secs)).await;
    let cpu_after = proc_stats(args.server_pid).map_or(0.0, |s| s.1);

    let mut step = Step { rate_target: rate, ..Default::default() };
    step.sent = sent_by_room.iter().map(|n| n.load(Ordering::Relaxed)).sum();
    step.send_errors = errors.load(Ordering::Relaxed);
    step.send_rate = step.sent as f64 / send_secs;
    let mut latencies = Vec::new();
    let mut recoveries = Vec::new();
    for (room, listeners) in seen_by_room.iter().enumerate() {
        let sent = sent_by_room[room].load(Ordering::Relaxed);
        for l in listeners {
            let seen = l.lock().await;
            step.deliveries_expected += sent;
            step.deliveries += seen.seqs.values().map(|&n| u64::from(n)).sum::<u64>();
            step.duplicated += seen.seqs.values().map(|&n| u64::from(n.saturating_sub(1))).sum::<u64>();
            step.lost += sent.saturating_sub(seen.seqs.len() as u64);
            latencies.extend_from_slice(&seen.latencies);
            recoveries.extend_from_slice(&seen.recoveries);
            step.reconnects += seen.reconnects;
            step.recovery_failures += seen.recovery_failures;
        }
    }
    recoveries.sort_unstable();
    step.recovery_p50_ms = percentile(&recoveries, 0.50);
    step.recovery_p99_ms = percentile(&recoveries, 0.99);
    let unique = step.deliveries - step.duplicated;
    step.delivered_share =
        if step.deliveries_expected == 0 { 1.0 } else { unique as f64 / step.deliveries_expected as f64 };
    latencies.sort_unstable();
    step.deliveries_per_sec = step.deliveries as f64 / send_secs;
    step.p50_ms = percentile(&latencies, 0.50);
    step.p90_ms = percentile(&latencies, 0.90);
    step.p99_ms = percentile(&latencies, 0.99);
    step.p999_ms = percentile(&latencies, 0.999);
    step.max_ms = latencies.last().map_or(0.0, |&m| m as f64 / 1000.0);
    step.server_cpu_secs = cpu_after - cpu_before;
    Ok(step)
}
