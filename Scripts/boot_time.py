#!/usr/bin/env python3
"""Measures an appliance image's boot-to-first-PONG time under QEMU, the figure in
Docs/appliance.md.

    Scripts/boot_time.py .build-image/memonly [--runs 5] [--memory 128] [--machine microvm|pc]

Each run starts QEMU, waits for the server's ready line on the serial console, sends PING
through the forwarded port, reads PONG, then sends SHUTDOWN and checks that the VM powers
itself off. Prints every run and the median.
"""

import argparse
import pathlib
import socket
import statistics
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "Tests" / "Integration"))
from appliance import ApplianceVM  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("image", help="output directory of swiftlet image build")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--memory", type=int, default=128, help="guest memory in MiB")
    parser.add_argument("--machine", default="microvm", choices=["microvm", "pc"])
    parser.add_argument("--accel", default="tcg", choices=["tcg", "kvm"])
    args = parser.parse_args()
    times = []
    for run in range(args.runs):
        vm = ApplianceVM(args.image, memory_mib=args.memory, machine=args.machine, accel=args.accel)
        try:
            vm.start()
            seconds = vm.wait_ready(timeout=120)
            with socket.create_connection(("127.0.0.1", vm.port), timeout=5) as s:
                s.sendall(b"SHUTDOWN\r\n")
                s.recv(64)
            status = vm.wait_exit(timeout=30)
            times.append(seconds)
            print(f"run {run + 1}: boot to PONG {seconds:.2f} s, powered off (qemu status {status})", flush=True)
        finally:
            vm.stop()
    print(f"median of {len(times)}: {statistics.median(times):.2f} s "
          f"({args.machine}, {args.accel}, {args.memory} MiB)")


if __name__ == "__main__":
    main()
