//! `switchboard-bench` against the real binary, briefly: it sets up rooms, connects, sends at a
//! paced rate and counts every delivery. (The figures come from scripts/bench.sh on release
//! builds; this only shows the generator works and its accounting adds up.)

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// Starts the demo server on a free port: the process and its address.
fn server(dir: &std::path::Path) -> (std::process::Child, String) {
    let mut server = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["serve", "--addr", "127.0.0.1:0", "--demo", "--data-dir"])
        .env("RUST_LOG", "warn")
        // The generator sends as one user, faster than the default per-user send limit.
        .env("SWITCHBOARD_SEND_RATE_PER_SEC", "10000")
        .env("SWITCHBOARD_SEND_BURST", "100000")
        .arg(dir)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let first = BufReader::new(server.stdout.take().unwrap()).lines().next().unwrap().unwrap();
    let addr = first.rsplit("http://").next().unwrap().to_owned();
    (server, addr)
}

/// Starts `switchboard-relay` (the benchmarks' baseline) on a free port.
fn relay() -> (std::process::Child, String) {
    let mut relay = Command::new(env!("CARGO_BIN_EXE_switchboard-relay"))
        .args(["--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let first = BufReader::new(relay.stdout.take().unwrap()).lines().next().unwrap().unwrap();
    let addr = first.rsplit("http://").next().unwrap().to_owned();
    (relay, addr)
}

/// Runs the generator with `args` against a fresh demo server, which it stops after: the
/// printed table and the JSON report.
fn bench(args: &[&str]) -> (String, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    bench_against(server(dir.path()), dir.path(), args)
}

/// Runs the generator with `args` against a started process, which it stops after.
fn bench_against(
    (mut server, addr): (std::process::Child, String),
    dir: &std::path::Path,
    args: &[&str],
) -> (String, serde_json::Value) {
    let report_path = dir.join("report.json");
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard-bench"))
        .args(["--addr", &addr, "--server-pid", &server.id().to_string(), "--json"])
        .arg(&report_path)
        .args(args)
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report = serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
    (String::from_utf8_lossy(&out.stdout).into_owned(), report)
}

#[test]
fn the_generator_sends_and_counts_every_delivery() {
    let (table, report) = bench(&[
        "--connections",
        "12",
        "--rooms",
        "3",
        "--senders",
        "2",
        "--rates",
        "40",
        "--step-secs",
        "1",
        "--drain-secs",
        "1",
        "--label",
        "smoke",
    ]);
    assert!(table.contains("smoke — 12 connections (0 failed), 3 rooms"), "{table}");

    assert!(report["server_rss_after"].as_u64().unwrap() > 0, "RSS read from /proc");
    assert!(report["marginal_bytes_per_connection"].is_u64(), "{report}");
    assert!(report["connect_cpu_us"].as_f64().is_some_and(|us| us >= 0.0), "{report}");
    let step = &report["steps"][0];
    assert_eq!(step["sent"], 40, "{step}");
    assert_eq!(step["send_errors"], 0);
    // Each message reaches the 4 listeners of its room.
    assert_eq!(step["deliveries_expected"], 160);
    assert_eq!(step["deliveries"], 160);
    assert_eq!((step["lost"].as_u64(), step["duplicated"].as_u64()), (Some(0), Some(0)));
    assert!(
        step["p50_ms"].as_f64().unwrap() > 0.0
            && step["max_ms"].as_f64().unwrap() >= step["p99_ms"].as_f64().unwrap()
    );
}

/// Each socket its own app user, in rooms of real members, dropping and recovering its socket
/// about every second: every message still reaches every listener exactly once.
#[test]
fn distinct_users_under_churn_recover_every_delivery_once() {
    let (_, report) = bench(&[
        "--distinct-users",
        "--connections",
        "12",
        "--rooms",
        "3",
        "--senders",
        "3",
        "--rates",
        "30",
        "--step-secs",
        "4",
        "--drain-secs",
        "2",
        "--churn-secs",
        "1",
        "--label",
        "churn",
    ]);
    assert_eq!(report["connections"], 12, "{report}");
    assert_eq!(report["rooms"], 3);
    let step = &report["steps"][0];
    assert_eq!(step["sent"], 120, "{step}");
    assert_eq!(step["send_errors"], 0, "each sender is a member of the rooms it sends to: {step}");
    assert_eq!(step["deliveries_expected"], 480);
    assert!(step["reconnects"].as_u64().unwrap() >= 12, "every listener churned at least once: {step}");
    assert_eq!(step["recovery_failures"], 0, "{step}");
    assert_eq!((step["lost"].as_u64(), step["duplicated"].as_u64()), (Some(0), Some(0)), "{step}");
    assert_eq!(step["deliveries"], 480);
    assert_eq!(step["delivered_share"], 1.0);
    assert!(step["recovery_p99_ms"].as_f64().unwrap() > 0.0);
}

/// The relay the benchmarks measure Switchboard against answers the generator's set-up and
/// commands, and carries every message to every listener of its room once, each its own user
/// or one user for all.
#[test]
fn the_relay_baseline_carries_every_message_to_every_listener() {
    for users in [&["--distinct-users"][..], &[]] {
        let dir = tempfile::tempdir().unwrap();
        let mut args = users.to_vec();
        args.extend([
            "--connections",
            "12",
            "--rooms",
            "3",
            "--senders",
            "3",
            "--rates",
            "60",
            "--step-secs",
            "1",
            "--drain-secs",
            "1",
            "--label",
            "relay",
        ]);
        let (table, report) = bench_against(relay(), dir.path(), &args);
        assert!(table.contains("relay — 12 connections (0 failed), 3 rooms"), "{table}");
        let step = &report["steps"][0];
        assert_eq!(step["sent"], 60, "{step}");
        assert_eq!(step["send_errors"], 0, "{step}");
        assert_eq!(step["deliveries_expected"], 240, "{step}");
        assert_eq!(step["deliveries"], 240, "{step}");
        assert_eq!((step["lost"].as_u64(), step["duplicated"].as_u64()), (Some(0), Some(0)), "{step}");
        assert!(report["server_rss_after"].as_u64().unwrap() > 0, "the relay's RSS read from /proc");
    }
}
