#!/usr/bin/env bash
# The whole test suite: Swift unit tests, then the integration tests that drive the built
# swiftlet-server with real clients (redis-py, redis-cli, redis-benchmark).
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/setup-debian.sh
VENV="${SWIFTLET_VENV:-$HOME/.cache/swiftlet/venv}"

echo "== build (release) =="
swift build -c release --product swiftlet-server
echo "== Swift unit tests =="
swift test
echo "== integration tests (real clients against .build/release/swiftlet-server) =="
SWIFTLET_SERVER="$PWD/.build/release/swiftlet-server" "$VENV/bin/python" -m pytest -q Tests/Integration
