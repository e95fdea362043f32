# Shared environment for the project's scripts (sourced, not run).
# One cargo target directory outside the clone, so fresh clones and CI reuse built
# dependencies; the site (target/site) stays inside the clone, where the server serves it.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/switchboard/target}"
export PATH="$HOME/.cargo/bin:$ROOT/node_modules/.bin:$PATH"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
step() { printf '\n\033[1;32m==>\033[0m %s\n' "$*" >&2; }
