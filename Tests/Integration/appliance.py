"""Boot a Swiftlet appliance image under QEMU and wait until it answers PING.

A small, reusable piece for tests and scripts. It does not build a QEMU command line of its
own: `swiftlet run IMAGE --print-qemu-args` says what to start (the same `VMSpec` the runner
boots), including the guest's port and ready line from the image's manifest.json. This helper
only starts that process itself, so a test can watch it end (a guest that powers off, a fatal
configuration error) without a runner in between. It detects readiness from the server's ready
line on the serial console before it touches the port: probing a forwarded port before the
guest listens makes QEMU's user networking accept on the host side and stall the connection.

Tool: $SWIFTLET_TOOL (default <repo>/.build/debug/swiftlet, which `swift build` produces).
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

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


def tool():
    path = os.environ.get("SWIFTLET_TOOL") or str(REPO_ROOT / ".build" / "debug" / "swiftlet")
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"swiftlet tool not found: {path} (swift build --product swiftlet, or set SWIFTLET_TOOL)")
    return path


class ApplianceVM:
    """One VM booted from an image directory written by `swiftlet image build`.

    machine: "microvm" (virtio over MMIO, no PCI or firmware tables to probe: the fastest boot)
             or "pc" (virtio over PCI).
    accel:   "tcg" (software emulation; what these development machines can run) or "kvm".
    extra_cmdline: kernel parameters added to the image's (`swiftlet run --append`).
    data: a data volume to attach instead of the image's own (`swiftlet run --data`).
    """

    def __init__(self, image_dir, memory_mib=None, vcpus=None, machine="microvm", accel="tcg",
                 port=None, extra_cmdline="", data=None):
        self.image_dir = pathlib.Path(image_dir)
        self.port = port or free_port()
        self.workdir = pathlib.Path(tempfile.mkdtemp(prefix="swiftlet-vm-"))
        args = [tool(), "run", str(self.image_dir), "--print-qemu-args", "--port", str(self.port),
                "--machine", machine, "--accel", accel, "--work-dir", str(self.workdir),
                "--console", str(self.workdir / "console.log")]
        if memory_mib:
            args += ["--memory", str(memory_mib)]
        if vcpus:
            args += ["--vcpus", str(vcpus)]
        if extra_cmdline:
            args += ["--append", extra_cmdline]
        if data:
            args += ["--data", str(data)]
        result = subprocess.run(args, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            shutil.rmtree(self.workdir, ignore_errors=True)
            raise RuntimeError(f"$ {' '.join(args)}\n{result.stdout}{result.stderr}")
        self.launch = json.loads(result.stdout)
        self.console_path = pathlib.Path(self.launch["console"])
        self.guest_port = self.launch["guest_port"]
        self.ready_line = self.launch["ready_line"].encode()
        self.proc = None
        self.started_at = None

    def command(self):
        return [self.launch["program"], *self.launch["arguments"]]

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
        while self.ready_line not in self.console().encode():
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
            if self.proc.poll() is not None:
                raise RuntimeError(f"QEMU exited ({self.proc.returncode}) before answering PING:\n{self.describe()}")
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
