#!/usr/bin/env bash
# Runs every check and test: formatting, the pure-domain wasm check, clippy, unit and router
# tests, store conformance on SQLite AND PostgreSQL, the binary's own tests, the release
# binary and its size budgets, and the end-to-end tests in Chromium against the real binaries
# (the debug one, and the release one copied alone into an empty directory). Installs what is
# missing first.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

"$ROOT/scripts/bootstrap.sh"

step "PostgreSQL (required: the conformance suite never skips it)"
"$ROOT/scripts/postgres.sh"
"$ROOT/scripts/nats.sh"
"$ROOT/scripts/s3.sh"
export SWITCHBOARD_TEST_POSTGRES_URL="${SWITCHBOARD_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"

step "cargo fmt --check"
cargo fmt --all -- --check

step "domain crate builds for wasm32 and stays pure"
"$ROOT/scripts/check-domain.sh"

step "cargo leptos build (site + server)"
cargo leptos build

step "clippy (server side, and the hydrate bundle for wasm32)"
cargo clippy --all-targets -- -D warnings
cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings

step "cargo test (unit, router, store conformance on SQLite and PostgreSQL, binary)"
cargo test --no-run
# The tests run in about five minutes; a test that hangs fails the run here instead of using
# up the CI's time limit.
if ! timeout --kill-after=30 1500 cargo test; then
  echo "cargo test failed or ran longer than 25 minutes (a hung test?)" >&2
  exit 1
fi

step "the release binary, one file with the site inside (scripts/release.sh)"
"$ROOT/scripts/release.sh"
release_bin="$CARGO_TARGET_DIR/release/switchboard"

step "page weight budgets (scripts/check-budgets.sh)"
"$ROOT/scripts/check-budgets.sh"

step "end-to-end (Playwright, Debian Chromium, the real binaries)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port="$(free_port)"
fakes_port="$(free_port)"
e2e_data="$(mktemp -d -t switchboard-e2e-XXXXXX)"
trap 'rm -rf "$e2e_data"' EXIT
(cd end2end && SWITCHBOARD_BIN="$CARGO_TARGET_DIR/debug/switchboard" SWITCHBOARD_E2E_PORT="$port" \
  SWITCHBOARD_FAKES_PORT="$fakes_port" \
  SWITCHBOARD_E2E_DATA="$e2e_data" SWITCHBOARD_RELEASE_BIN="$release_bin" npx playwright test)

step "all tests passed"
