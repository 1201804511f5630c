#!/usr/bin/env bash
# The whole test suite: Swift unit tests, then the integration tests that drive the built
# swiftlet-server with real clients (redis-py, redis-cli, redis-benchmark), once as built and once
# with every server under its seccomp filter, then the appliance:
# the image built by `swiftlet image build`, booted by `swiftlet run` (QEMU and libvirt) and
# measured by `swiftlet bench --quick`. The first run on a machine also
# builds the appliance kernel (~5 min; cached in ~/.cache/swiftlet/kernel afterwards).
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/setup-debian.sh
VENV="${SWIFTLET_VENV:-$HOME/.cache/swiftlet/venv}"

echo "== build (release) =="
Scripts/build-server.sh
swift build --product swiftlet
echo "== Swift unit tests =="
swift test
echo "== integration tests (real clients against .build/release/swiftlet-server) =="
SWIFTLET_SERVER="$PWD/.build/release/swiftlet-server" "$VENV/bin/python" -m pytest -q Tests/Integration \
    --ignore=Tests/Integration/test_image.py --ignore=Tests/Integration/test_run.py --ignore=Tests/Integration/test_bench.py
# The same suite (redis-benchmark's default tests included, test_tools.py) with every Swiftlet
# server under its seccomp filter: a call the allowlist forgot kills that server and fails the
# test. `seccomp` stays off by default on the host until runs like this one have proved it on
# every test; the appliance recipes already turn it on.
echo "== integration tests again, every server with --seccomp yes =="
SWIFTLET_SECCOMP=yes SWIFTLET_SERVER="$PWD/.build/release/swiftlet-server" "$VENV/bin/python" -m pytest -q Tests/Integration \
    --ignore=Tests/Integration/test_image.py --ignore=Tests/Integration/test_run.py --ignore=Tests/Integration/test_bench.py
echo "== appliance: swiftlet image build, run (QEMU and libvirt, TCG here) and bench --quick =="
SWIFTLET_TOOL="$PWD/.build/debug/swiftlet" "$VENV/bin/python" -m pytest -q -s Tests/Integration/test_image.py \
    Tests/Integration/test_run.py Tests/Integration/test_bench.py
