#!/usr/bin/env bash
# Measures the inbox's first load with a cold browser cache against the release binary (what
# users run): time to the server-rendered conversation list and to interactive. Builds the
# release binary first (scripts/release.sh). Usage: scripts/first-load.sh [runs]
# The figures go to docs/performance.md by hand, with the machine and this command.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

out="$("$ROOT/scripts/release.sh")"
bin="${out%%$'\n'*}"
"$ROOT/scripts/bootstrap.sh"
data="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$bin" serve --demo --addr "127.0.0.1:$port" --data-dir "$data" >"$data/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
node "$ROOT/end2end/measure/first_load.mjs" "http://127.0.0.1:$port" "${1:-5}"
