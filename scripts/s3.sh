#!/usr/bin/env bash
# Makes sure an S3-compatible server answers on 127.0.0.1:19014 for the S3 blob store's tests:
# s3s-fs (a file-system-backed S3 server from crates.io that checks SigV4 signatures), built once
# into ~/.cargo/bin, serving ~/.cache/switchboard/s3 with a test bucket and fixed test keys.
# The tests fail loudly when it is not there.
set -euo pipefail
host=127.0.0.1 port=19014
S3S_FS_VERSION="0.14.1" # 0.15 and later need rustc 1.96
root="${SWITCHBOARD_S3_ROOT:-$HOME/.cache/switchboard/s3}"
export PATH="$HOME/.cargo/bin:$PATH"

up() { (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; }

if ! up; then
  if ! s3s-fs --version 2>/dev/null | grep -q "$S3S_FS_VERSION"; then
    echo "installing s3s-fs $S3S_FS_VERSION (a few minutes the first time)" >&2
    cargo install s3s-fs --version "$S3S_FS_VERSION" --locked --features binary
  fi
  mkdir -p "$root/switchboard-test"
  echo "starting s3s-fs on $host:$port" >&2
  # Run from its own directory: it stages uploads relative to its working directory, which must
  # outlive the checkout that started it (a CI clone is deleted after its run).
  (cd "$root" && nohup s3s-fs --host "$host" --port "$port" --access-key switchboard-test \
    --secret-key switchboard-test-secret "$root" >"$root.log" 2>&1 &)
  for _ in $(seq 1 40); do up && break; sleep 0.25; done
fi
if ! up; then
  echo "error: the S3 test server is not reachable at $host:$port (see $root.log)" >&2
  exit 1
fi
mkdir -p "$root/switchboard-test"
echo "S3 (s3s-fs) ready at $host:$port, bucket switchboard-test" >&2
