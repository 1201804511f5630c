#!/usr/bin/env bash
# The main job: build the appliance image (kernel + initramfs whose only process is
# swiftlet-server), boot it under QEMU with its vCPU pinned, and measure the virtualization tax
# with `swiftlet bench --quick`: redis-benchmark's default tests against the guest, the same
# server binary on the host, and a real redis-server, side by side. Results (results.json,
# results.csv, report.md, chart.svg) go to .build-bench/quick/.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --product swiftlet
.build/debug/swiftlet image build --recipe Images/memonly.toml
.build/debug/swiftlet bench --quick --image .build-image/memonly --reference "$(command -v redis-server)" --output .build-bench/quick
