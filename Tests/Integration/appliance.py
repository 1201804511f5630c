"""Boot a Swiftlet appliance image under QEMU and wait until it answers PING.

A small, reusable piece for tests (and the reference for the coming `swiftlet run`): it reads
the image's manifest.json for the kernel command line, memory and vCPUs, forwards a free
loopback port to the guest's 6379 through QEMU user networking, sends the serial console to a
file, and detects readiness from the server's "Ready to accept connections" console line
before it touches the port: probing a forwarded port before the guest listens makes QEMU's
user networking accept on the host side and stall the connection for seconds.
"""

import json
import os
import pathlib
import shutil
import socket
import subprocess
import tempfile
import time

from helpers import free_port

READY_LINE = b"Ready to accept connections"


def qemu_binary():
    path = shutil.which("qemu-system-x86_64")
    if path is None:
        raise RuntimeError("qemu-system-x86_64 not found: sudo apt-get install qemu-system-x86 "
                           "(or run Scripts/setup-debian.sh)")
    return path


class ApplianceVM:
    """One VM booted from an image directory written by `swiftlet image build`.

    machine: "microvm" (virtio over MMIO, no PCI or firmware tables to probe: the fastest boot)
             or "pc" (virtio over PCI).
    accel:   "tcg" (software emulation; what these development machines can run) or "kvm".
    """

    def __init__(self, image_dir, memory_mib=None, vcpus=None, machine="microvm", accel="tcg",
                 port=None, extra_cmdline=""):
        self.image_dir = pathlib.Path(image_dir)
        self.manifest = json.loads((self.image_dir / "manifest.json").read_text())
        self.memory_mib = memory_mib or self.manifest["recipe"]["memory_mib"]
        self.vcpus = vcpus or self.manifest["recipe"]["vcpus"]
        self.machine = machine
        self.accel = accel
        self.port = port or free_port()
        self.cmdline = (self.manifest["kernel_command_line"] + " " + extra_cmdline).strip()
        self.workdir = pathlib.Path(tempfile.mkdtemp(prefix="swiftlet-vm-"))
        self.console_path = self.workdir / "console.log"
        self.proc = None
        self.started_at = None

    def command(self):
        artifacts = self.manifest["artifacts"]
        virtio = "device" if self.machine == "microvm" else "pci"
        # acpi=off: the kernel has no ACPI, and without it microvm lists its virtio-mmio devices
        # on the kernel command line (virtio_mmio.device=...), which the kernel does read.
        machine = "microvm,x-option-roms=off,acpi=off" if self.machine == "microvm" else "pc"
        cmd = [
            qemu_binary(), "-M", machine, "-accel", self.accel,
            # "max" under TCG offers RDRAND, which seeds the kernel's random generator at once
            # (the Swift runtime's random numbers would otherwise wait for entropy).
            "-cpu", "max" if self.accel == "tcg" else "host",
            "-m", str(self.memory_mib), "-smp", str(self.vcpus),
            "-nodefaults", "-no-user-config", "-display", "none", "-monitor", "none",
            # The guest ends itself with a reboot (it has no ACPI to power off with): exit then.
            "-no-reboot",
            "-serial", f"file:{self.console_path}",
            "-kernel", str(self.image_dir / artifacts["kernel"]["file"]),
            "-append", self.cmdline,
            "-netdev", f"user,id=net0,hostfwd=tcp:127.0.0.1:{self.port}-:6379",
            "-device", f"virtio-net-{virtio},netdev=net0",
        ]
        if "initramfs" in artifacts:
            cmd += ["-initrd", str(self.image_dir / artifacts["initramfs"]["file"])]
        if "data" in artifacts:
            cmd += ["-drive", f"id=data,file={self.image_dir / artifacts['data']['file']},format=raw,if=none",
                    "-device", f"virtio-blk-{virtio},drive=data"]
        return cmd

    def start(self):
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                     stdout=open(self.workdir / "qemu.log", "wb"), stderr=subprocess.STDOUT)
        return self

    def console(self):
        try:
            return self.console_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_ready(self, timeout=60.0):
        """Waits for the ready line, then for a PONG; returns seconds from start to PONG."""
        deadline = self.started_at + timeout
        while READY_LINE not in self.console().encode():
            if self.proc.poll() is not None:
                raise RuntimeError(f"QEMU exited ({self.proc.returncode}) before the server was ready:\n{self.describe()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"no ready line within {timeout} s:\n{self.describe()}")
            time.sleep(0.01)
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(64).startswith(b"+PONG"):
                        return time.monotonic() - self.started_at
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"no PONG within {timeout} s:\n{self.describe()}")
            time.sleep(0.05)

    def wait_exit(self, timeout):
        """Waits for QEMU to end by itself; returns its exit status (raises on timeout)."""
        return self.proc.wait(timeout=timeout)

    def describe(self):
        qemu_log = (self.workdir / "qemu.log").read_text(errors="replace") if (self.workdir / "qemu.log").exists() else ""
        return f"$ {' '.join(self.command())}\n--- qemu ---\n{qemu_log}\n--- console ---\n{self.console()[-4000:]}"

    def stop(self):
        """Kills QEMU if it still runs and removes the work directory. Safe to call twice."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
