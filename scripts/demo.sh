#!/usr/bin/env bash
# Builds Switchboard as users get it (the one-file release binary, site embedded, see
# scripts/release.sh) and runs it with the demo workspace on SQLite under ./data/.
# Extra arguments go to `switchboard serve` (e.g. --addr 127.0.0.1:8080). For development with
# live reload, `cargo leptos watch` serves the debug build instead.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

out="$("$ROOT/scripts/release.sh")"
bin="${out%%$'\n'*}"
printf '%s\n' "$out" >&2
step "starting the server with demo data (Ctrl-C stops it)"
exec "$bin" serve --demo --data-dir "$ROOT/data" "$@"
