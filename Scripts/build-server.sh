#!/usr/bin/env bash
# Builds the release swiftlet-server into .build/release/ (extra arguments go to `swift build`).
#
# -enforce-exclusivity=unchecked is passed on the command line, not only in Package.swift, so
# that it also reaches the dependencies: SwiftNIO's channel code checks exclusive access at run
# time on every property access of its channel objects (~30 checks per request at pipeline
# depth 1, 19 % of the server's instructions there; Docs/benchmarks.md). Our own modules already
# build with it (Package.swift, `hotPathSettings`). Debug builds, and so the unit tests, keep
# the checks. The image's static server is built with the same flags (ImageBuilder/ServerBuild).
set -euo pipefail
cd "$(dirname "$0")/.."
exec swift build -c release --product swiftlet-server -Xswiftc -enforce-exclusivity=unchecked "$@"
