#!/usr/bin/env bash
# Installs everything the project needs on a fresh machine of our kind, idempotently.
# Fast when everything is already there (each step checks before it acts).
#
# Sourced by scripts/demo.sh and scripts/test.sh; can also be run on its own.
# Set SWITCHBOARD_SKIP_BROWSER=1 to skip Chromium and Playwright (demo only needs the build tools).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CARGO_LEPTOS_VERSION="0.3.10"
WASM_BINDGEN_VERSION="0.2.130"

log() { printf '\033[1;34m[bootstrap]\033[0m %s\n' "$*" >&2; }

export PATH="$HOME/.cargo/bin:$ROOT/node_modules/.bin:$PATH"

# wasm target for the hydrate bundle and the pure-domain wasm check.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# cargo-leptos: 0.3.11 --locked needs rustc 1.96, 0.3.10 builds on 1.95.
if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
  log "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 10 minutes the first time)"
  cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked
fi

# wasm-bindgen CLI must match the wasm-bindgen crate exactly; --locked fails here.
if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
  log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

# npm packages: binaryen (wasm-opt; Debian's 108 breaks hydration) and Playwright.
if [ ! -x "$ROOT/node_modules/.bin/wasm-opt" ] || [ ! -d "$ROOT/node_modules/@playwright/test" ] \
   || [ "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]; then
  log "installing npm packages (binaryen, @playwright/test)"
  (cd "$ROOT" && npm ci --no-audit --no-fund)
fi

if [ "${SWITCHBOARD_SKIP_BROWSER:-0}" != "1" ]; then
  if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    log "installing Debian chromium and chromium-driver"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
  fi
fi
log "tools ready"
