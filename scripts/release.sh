#!/usr/bin/env bash
# Builds the one file to deploy: `cargo leptos build --release --precompress` builds the site
# (names hashed, brotli and gzip twins) and then the server, whose build script embeds the
# site (server/build.rs). Prints the binary's path and size; copy that file anywhere and run it.
#
# The release site goes to target/site-release, so a release build never replaces the debug
# site that `demo.sh`, `test.sh` and `cargo leptos watch` serve from target/site.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

SWITCHBOARD_SKIP_BROWSER=1 "$ROOT/scripts/bootstrap.sh"
step "cargo leptos build --release --precompress (site in target/site-release, embedded)"
LEPTOS_SITE_ROOT=target/site-release cargo leptos build --release --precompress

bin="$CARGO_TARGET_DIR/release/switchboard"
bytes="$(stat -c %s "$bin")"
printf '%s\n' "$bin"
printf 'size: %s bytes (%s MiB)\n' "$bytes" "$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }')"
