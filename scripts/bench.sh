#!/usr/bin/env bash
# The performance scenarios against release builds, server and generator pinned to different
# cores. Usage: scripts/bench.sh [idle|rooms|room2000|churn|postgres|cluster|relay|all]
# Prints each scenario's table and writes its JSON under bench-results/. In the room scenarios
# 100 connections send (SENDERS): a connection's commands run one at a time, in order, so the
# number of senders bounds how many sends can be in flight.
# Every connection is its own app user, and rooms are made of their real memberships
# (USERS=one: the demo's alice holds every socket, as the first round measured).
# RELAY=1 runs idle, rooms and room2000 against switchboard-relay instead: a plain WebSocket
# relay on the same stack that stores nothing, the floor Switchboard is measured against
# (`bench.sh relay` runs the three; results under bench-results/relay/).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
source "$ROOT/scripts/env.sh"
cd "$ROOT"
# SWITCHBOARD_BIN runs another build of the server (a before/after comparison) against this
# checkout's generator; SWITCHBOARD_BENCH_BIN a generator built already (then nothing is built).
[[ -n "${SWITCHBOARD_BIN:-}" ]] && build=(--bin switchboard-bench --bin switchboard-relay) \
  || build=(--bin switchboard --bin switchboard-bench --bin switchboard-relay)
# The bench-server profile is release in its own directory: this plain cargo build embeds no
# site (the benchmarks load no pages) and must not overwrite target/release/switchboard, the
# one-file binary of scripts/release.sh.
if [[ -z "${SWITCHBOARD_BIN:-}" || -z "${SWITCHBOARD_BENCH_BIN:-}" ]]; then
  cargo build --profile bench-server -p server "${build[@]}"
fi
BIN="${SWITCHBOARD_BIN:-$CARGO_TARGET_DIR/bench-server/switchboard}"
BENCH="${SWITCHBOARD_BENCH_BIN:-$CARGO_TARGET_DIR/bench-server/switchboard-bench}"
RELAY_BIN="${SWITCHBOARD_RELAY_BIN:-$(dirname "$BENCH")/switchboard-relay}"
RELAY="${RELAY:-0}"
OUT="$ROOT/bench-results"
[[ "$RELAY" == 1 ]] && OUT="$OUT/relay"
mkdir -p "$OUT"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
SERVER_CPU="${SERVER_CPU:-0}" BENCH_CPU="${BENCH_CPU:-1}"
pids=()
cleanup() { for p in "${pids[@]:-}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# start_server PORT [extra serve args...]: sets SERVER_PID.
start_server() {
  local port="$1"; shift
  local data; data="$(mktemp -d)"
  if [[ "$RELAY" == 1 ]]; then
    taskset -c "$SERVER_CPU" "$RELAY_BIN" --addr "127.0.0.1:$port" >"$data/out.log" 2>&1 &
    SERVER_PID=$!
    pids+=("$SERVER_PID")
    wait_ready "$port" "$data"
    return 0
  fi
  # The generator sends as one user: lift the per-user send limit (by environment, which an
  # older build given as SWITCHBOARD_BIN ignores).
  SWITCHBOARD_SEND_RATE_PER_SEC=10000 SWITCHBOARD_SEND_BURST=100000 SWITCHBOARD_MAX_CONNECTIONS=1000000 \
  SWITCHBOARD_API_KEY_REQUESTS_PER_SEC=100000 \
  RUST_LOG=warn taskset -c "$SERVER_CPU" "$BIN" serve --demo --addr "127.0.0.1:$port" --data-dir "$data" \
    --secret-key "$(printf '7e%.0s' $(seq 32))" "$@" >"$data/out.log" 2>&1 &
  SERVER_PID=$!
  pids+=("$SERVER_PID")
  wait_ready "$port" "$data"
}

# wait_ready PORT DATA_DIR: until the process answers /readyz, or its log and exit 1.
wait_ready() {
  local port="$1" data="$2"
  for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.2
  done
  echo "error: the server on port $port did not start; see $data/out.log" >&2
  cat "$data/out.log" >&2
  exit 1
}

stop_servers() { cleanup; pids=(); sleep 1; }

USERS_FLAG=(--distinct-users)
[[ "${USERS:-distinct}" == one ]] && USERS_FLAG=()
bench() { taskset -c "$BENCH_CPU" "$BENCH" "${USERS_FLAG[@]}" "$@"; }
# A report's label, marked when the relay is what was measured.
label() { if [[ "$RELAY" == 1 ]]; then echo "relay: ${1%, SQLite}"; else echo "$1"; fi; }

scenario_idle() {
  start_server 3901
  bench --addr 127.0.0.1:3901 --server-pid "$SERVER_PID" --idle --connections "${IDLE_CONNECTIONS:-10000}" \
    --label "$(label "idle, SQLite")" --json "$OUT/idle.json"
  stop_servers
}

scenario_rooms() {
  start_server 3902 "$@"
  bench --addr 127.0.0.1:3902 --server-pid "$SERVER_PID" --connections 1000 --rooms 100 \
    --senders "${SENDERS:-100}" --rates "${RATES:-1000,5000,10000}" --step-secs "${STEP_SECS:-10}" --label "$(label "${LABEL:-1000 in 100 rooms, SQLite}")" \
    --json "$OUT/${NAME:-rooms}.json"
  stop_servers
}

scenario_room2000() {
  start_server 3903
  bench --addr 127.0.0.1:3903 --server-pid "$SERVER_PID" --connections 2000 --rooms 1 --senders 1 \
    --rates 50 --step-secs "${STEP_SECS:-10}" --label "$(label "2000 in one room, SQLite")" --json "$OUT/room2000.json"
  stop_servers
}

# Churn (the AnyCable method): every listener drops its socket every ~15 s and recovers what
# it missed by offset; the report gives the share of deliveries that arrived, duplicates and
# the recovery latency.
scenario_churn() {
  start_server 3906
  bench --addr 127.0.0.1:3906 --server-pid "$SERVER_PID" --connections 1000 --rooms 100 \
    --senders "${SENDERS:-100}" --rates "${RATES:-1000}" --step-secs "${STEP_SECS:-60}" --churn-secs 15 \
    --drain-secs 5 --label "churn: 1000 in 100 rooms, reconnecting every ~15 s, SQLite" --json "$OUT/churn.json"
  stop_servers
}

scenario_postgres() {
  "$ROOT/scripts/postgres.sh"
  local db="sb_bench_$$"
  psql -h 127.0.0.1 -U postgres -d postgres -qc "create database $db" >/dev/null
  LABEL="1000 in 100 rooms, PostgreSQL" NAME=postgres scenario_rooms --database-url "postgres://postgres@127.0.0.1:5432/$db"
  psql -h 127.0.0.1 -U postgres -d postgres -qc "drop database if exists $db with (force)" >/dev/null
}

scenario_cluster() {
  "$ROOT/scripts/postgres.sh"
  "$ROOT/scripts/nats.sh"
  local db="sb_bench_$$"
  psql -h 127.0.0.1 -U postgres -d postgres -qc "create database $db" >/dev/null
  local url="postgres://postgres@127.0.0.1:5432/$db"
  start_server 3904 --database-url "$url" --nats-url nats://127.0.0.1:4222
  start_server 3905 --database-url "$url" --nats-url nats://127.0.0.1:4222
  local b="$SERVER_PID"
  # Senders on node A, listeners on node B; both nodes share core $SERVER_CPU.
  bench --addr 127.0.0.1:3904 --listen-addr 127.0.0.1:3905 --server-pid "$b" --connections 1000 --rooms 100 \
    --senders "${SENDERS:-100}" --rates "${RATES:-1000,5000,10000}" --step-secs "${STEP_SECS:-10}" --label "1000 in 100 rooms, 2 nodes, PostgreSQL + NATS" \
    --json "$OUT/cluster.json"
  stop_servers
  psql -h 127.0.0.1 -U postgres -d postgres -qc "drop database if exists $db with (force)" >/dev/null
}

if [[ "$RELAY" == 1 && "${1:-all}" =~ ^(churn|postgres|cluster|all)$ ]]; then
  echo "error: the relay stores nothing: only idle, rooms and room2000 run against it" >&2
  exit 2
fi
case "${1:-all}" in
  relay) RELAY=1; OUT="$ROOT/bench-results/relay"; mkdir -p "$OUT"; scenario_idle; scenario_rooms; scenario_room2000 ;;
  idle) scenario_idle ;;
  rooms) scenario_rooms ;;
  room2000) scenario_room2000 ;;
  churn) scenario_churn ;;
  postgres) scenario_postgres ;;
  cluster) scenario_cluster ;;
  all) scenario_idle; scenario_rooms; scenario_room2000; scenario_churn; scenario_postgres; scenario_cluster ;;
  *) echo "usage: $0 [idle|rooms|room2000|churn|postgres|cluster|relay|all]" >&2; exit 2 ;;
esac
