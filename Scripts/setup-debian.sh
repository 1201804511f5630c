#!/usr/bin/env bash
# Installs what building, testing and benchmarking Swiftlet needs on Debian 12 (the Swift
# toolchain itself must already be on PATH). Idempotent: fast when everything is there.
set -euo pipefail

need_swift() {
    if ! command -v swift >/dev/null 2>&1; then
        echo "error: the Swift toolchain (swift) is not on PATH; install Swift 6 first (https://www.swift.org/install/linux/)" >&2
        exit 1
    fi
}
need_swift

# Debian packages: real Redis (reference server, redis-cli, redis-benchmark, redis-check-rdb),
# taskset for CPU pinning, python3-venv for the integration-test environment.
packages=(redis-server redis-tools util-linux procps iproute2 python3-venv)
# The appliance image (`swiftlet image build`, Docs/appliance.md): the kernel sources and what
# building them takes; binutils (strip) and zlib for the static server and the initramfs's gzip;
# e2fsprogs for the persistent recipe's data volume; QEMU to boot the image in the tests; cpio
# and bsdtar to check the cpio writer against real readers.
packages+=(linux-source-6.1 make gcc flex bison bc perl xz-utils libelf-dev binutils zlib1g-dev
           e2fsprogs qemu-system-x86 cpio libarchive-tools)
# `swiftlet run --backend libvirt`: the libvirt C API to build against, the daemon and its QEMU
# driver to test against, virsh, and tini (Scripts/libvirtd-up.sh runs the daemons under it).
packages+=(libvirt-dev libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients tini)
# The server's seccomp allowlist (Sources/CSwiftletSeccomp): libseccomp's headers, the shared
# library for the host build and libseccomp.a for the static appliance server.
packages+=(libseccomp-dev)
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "Installing Debian packages: ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The Debian package may have started a redis-server on 6379; we start our own where needed.

# Python test environment (redis-py, pytest) outside the repository.
VENV="${SWIFTLET_VENV:-$HOME/.cache/swiftlet/venv}"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
here="$(cd "$(dirname "$0")" && pwd)"
if ! "$VENV/bin/python" -c 'import redis, pytest' >/dev/null 2>&1 \
   || ! cmp -s "$here/requirements-test.txt" "$VENV/.swiftlet-requirements" ; then
    "$VENV/bin/pip" install -q --disable-pip-version-check -r "$here/requirements-test.txt"
    cp "$here/requirements-test.txt" "$VENV/.swiftlet-requirements"
fi
echo "setup: ok (python env: $VENV)"
