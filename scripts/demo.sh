#!/usr/bin/env bash
# Builds Switchboard and runs it with the demo workspace on SQLite under ./data/.
# Extra arguments go to `switchboard serve` (e.g. --addr 127.0.0.1:8080).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

SWITCHBOARD_SKIP_BROWSER=1 "$ROOT/scripts/bootstrap.sh"
step "building (cargo leptos build)"
cargo leptos build
step "starting the server with demo data (Ctrl-C stops it)"
exec "$CARGO_TARGET_DIR/debug/switchboard" serve --demo --data-dir "$ROOT/data" "$@"
