#!/usr/bin/env bash
# Makes sure a NATS server answers on 127.0.0.1:4222 (starting the machine's nats-server, with
# JetStream, if it stopped). The two-node realtime test needs it; it fails loudly otherwise.
set -euo pipefail
host=127.0.0.1 port=4222

up() { (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; }

if ! up; then
  echo "NATS is not answering; starting nats-server" >&2
  if ! command -v nats-server >/dev/null; then
    echo "error: nats-server is not installed here and nothing answers at $host:$port" >&2
    exit 1
  fi
  mkdir -p /var/lib/nats-server 2>/dev/null || true
  nohup nats-server -a "$host" -p "$port" -js -sd /var/lib/nats-server -l /var/log/nats-server.log \
    >/dev/null 2>&1 &
  for _ in $(seq 1 30); do up && break; sleep 0.5; done
fi
if ! up; then
  echo "error: NATS is not reachable at $host:$port" >&2
  exit 1
fi
echo "NATS ready at $host:$port" >&2
