#!/usr/bin/env bash
# Brings libvirtd up on a Debian machine without systemd (containers, CI), for
# `swiftlet run --backend libvirt` and its tests: the users, groups and runtime directories the
# Debian package's systemd units would create, then libvirtd and virtlogd as daemons.
# Idempotent; needs root. Debian packages: libvirt-daemon libvirt-daemon-driver-qemu
# libvirt-clients tini (Scripts/setup-debian.sh installs them).
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
    echo "error: $0 must run as root (it creates users and starts system daemons)" >&2
    exit 1
fi
for tool in libvirtd virtlogd virsh tini; do
    command -v "$tool" >/dev/null || { echo "error: $tool not found: apt-get install libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients tini" >&2; exit 1; }
done
getent group kvm >/dev/null || groupadd --system kvm
getent group libvirt-qemu >/dev/null || groupadd --system libvirt-qemu
getent passwd libvirt-qemu >/dev/null || useradd --system --no-create-home --home-dir /var/lib/libvirt \
    --shell /usr/sbin/nologin --gid libvirt-qemu --groups kvm libvirt-qemu
mkdir -p /var/log/libvirt/qemu /var/run/libvirt /var/lib/libvirt/qemu /var/cache/libvirt
# libvirtd starts QEMU daemonized, so QEMU ends up the child of the nearest "subreaper". Without
# systemd that is PID 1, which in containers and sandboxes often reaps nothing: an exited QEMU
# stays a zombie, libvirtd's liveness checks still see it, and the next domain start hangs.
# tini -s makes itself the subreaper of both daemons (run in the foreground under it) and
# reaps every such child.
command -v tini >/dev/null || { echo "error: tini not found: apt-get install tini" >&2; exit 1; }
pgrep -x virtlogd >/dev/null || (setsid tini -s -- virtlogd >/var/log/libvirt/virtlogd.out 2>&1 &)
pgrep -x libvirtd >/dev/null || (setsid tini -s -- libvirtd >/var/log/libvirt/libvirtd.out 2>&1 &)
for _ in $(seq 100); do
    virsh -c qemu:///system version >/dev/null 2>&1 && { echo "libvirtd: up"; exit 0; }
    sleep 0.1
done
echo "error: libvirtd did not answer on qemu:///system (see /var/log/libvirt)" >&2
exit 1
