#!/usr/bin/env bash
# The main job for now: build swiftlet-server, start it, and run redis-benchmark's default
# test set against it (pipelined and not), then stop it.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-6390}"
swift build -c release --product swiftlet-server
log="$(mktemp)"
.build/release/swiftlet-server --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$PORT" ping >/dev/null || { cat "$log"; exit 1; }
for P in 1 16; do
    echo "== redis-benchmark -c 50 -n 100000 -P $P (default tests) =="
    redis-benchmark -p "$PORT" -c 50 -n 100000 -P "$P" -q
done
redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true
