#!/usr/bin/env bash
# Proves the domain crate (src/) stays pure: it builds for wasm32-unknown-unknown and its
# dependency tree holds no runtime, database or HTTP crate.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

cargo check -q -p switchboard --target wasm32-unknown-unknown
forbidden='^(tokio|sqlx|sqlx-[a-z]+|axum|axum-core|hyper|leptos|leptos_[a-z]+|reqwest|mio) '
tree="$(cargo tree -p switchboard --target wasm32-unknown-unknown -e normal --prefix none)"
if offenders="$(grep -E "$forbidden" <<<"$tree" | sort -u)" && [ -n "$offenders" ]; then
  echo "src/ (crate switchboard) must stay pure, but depends on:" >&2
  echo "$offenders" >&2
  exit 1
fi
# The same check on the host target, where a non-wasm-only dependency could sneak in.
tree="$(cargo tree -p switchboard -e normal --prefix none)"
if offenders="$(grep -E "$forbidden" <<<"$tree" | sort -u)" && [ -n "$offenders" ]; then
  echo "src/ (crate switchboard) must stay pure, but depends on:" >&2
  echo "$offenders" >&2
  exit 1
fi
echo "domain crate: builds for wasm32, no tokio/sqlx/axum/leptos in its tree"
