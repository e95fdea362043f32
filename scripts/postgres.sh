#!/usr/bin/env bash
# Makes sure the local PostgreSQL answers on 127.0.0.1:5432 (starting the machine's cluster if
# it stopped), then drops databases left behind by earlier test runs. Fails loudly otherwise.
set -euo pipefail
host=127.0.0.1 port=5432

if ! pg_isready -q -h "$host" -p "$port"; then
  echo "PostgreSQL is not answering; starting the local cluster" >&2
  version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)"
  if [ -z "$version" ]; then
    echo "error: PostgreSQL is not installed here (no /etc/postgresql) and not reachable at $host:$port" >&2
    exit 1
  fi
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 30); do pg_isready -q -h "$host" -p "$port" && break; sleep 1; done
fi
if ! pg_isready -q -h "$host" -p "$port"; then
  echo "error: PostgreSQL is not reachable at $host:$port" >&2
  exit 1
fi

# Test databases are named sb_test_<uuid>; drop those of earlier runs.
psql -h "$host" -p "$port" -U postgres -d postgres -Atq \
  -c "select datname from pg_database where datname like 'sb\\_test\\_%'" |
  while read -r db; do
    psql -h "$host" -p "$port" -U postgres -d postgres -q -c "drop database if exists \"$db\" with (force)" >/dev/null
  done
echo "PostgreSQL ready at $host:$port" >&2
