#!/usr/bin/env python3
"""Instructions and reference-count operations per request, counted by callgrind.

Runs a server (swiftlet-server by default) under `valgrind --tool=callgrind`, drives it with one
redis-benchmark test, and prints the instructions per request and the calls per request of the
runtime functions that cost most on the command path: swift_retain/swift_release (each an atomic
read-modify-write), malloc/free, swift_beginAccess. Counts are exact and repeatable, unlike
timings on a shared machine; they include the server's start-up, so compare runs with the same
request count.

Usage: Scripts/callgrind_counts.py [--server PATH] [--test set] [--requests 100000] [--pipeline 16]
                                   [--callers] [--function SYMBOL ...] [--server-args ARGS] [--keep FILE]
"""
import argparse
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile

from bench_vs_redis import free_port, wait_ready  # same folder: on sys.path when run as a script

FUNCTIONS = ["swift_retain", "swift_release", "swift_bridgeObjectRetain", "swift_bridgeObjectRelease",
             "malloc", "free", "swift_beginAccess"]


def calls_per_request(tree, function, requests, callers):
    """Sums the `(Nx)` caller counts of `function` in `callgrind_annotate --tree=caller` output."""
    lines = tree.split("\n")
    star = [i for i, l in enumerate(lines) if re.search(r"\*\s+\S*:" + re.escape(function) + r" \[", l)]
    if not star:
        return 0.0, []
    total, top, j = 0, [], star[0] - 1
    while j >= 0 and lines[j].strip():
        m = re.search(r"\(([\d,]+)x\)", lines[j])
        if m:
            n = int(m.group(1).replace(",", ""))
            total += n
            if callers and n / requests >= 0.2:
                top.append((n / requests, re.sub(r"^.*< \S*?:", "", lines[j])[:120]))
        j -= 1
    return total / requests, sorted(top, reverse=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", default=os.path.join(os.path.dirname(__file__), "..", ".build", "release", "swiftlet-server"))
    ap.add_argument("--test", default="set")
    ap.add_argument("--requests", type=int, default=100000)
    ap.add_argument("--pipeline", type=int, default=16)
    ap.add_argument("--callers", action="store_true", help="also list the callers making >= 0.2 calls per request")
    ap.add_argument("--function", action="append", default=[], metavar="SYMBOL",
                    help="also count the calls of SYMBOL (as `nm` prints it; repeatable)")
    ap.add_argument("--server-args", default="", metavar="ARGS",
                    help='more server arguments, e.g. "--appendonly yes --appendfsync everysec"')
    ap.add_argument("--keep", metavar="FILE",
                    help="also copy the callgrind output to FILE (for callgrind_annotate, or to compare builds)")
    args = ap.parse_args()
    for tool in ("valgrind", "callgrind_annotate", "redis-benchmark", "strip"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} not found (Debian packages: valgrind, redis-tools, binutils)")

    work = tempfile.mkdtemp(prefix="swiftlet-callgrind-")
    # valgrind cannot read the DWARF Swift 6 emits for our binaries; symbols are enough here.
    binary = os.path.join(work, "server")
    subprocess.run(["strip", "--strip-debug", "-o", binary, args.server], check=True)
    out = os.path.join(work, "callgrind.out")
    port = free_port()
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", work]
    if "swiftlet" in os.path.basename(args.server):
        argv += ["--io-threads", "1"]
    argv += shlex.split(args.server_args)
    server = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"] + argv,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(port, timeout=60)   # valgrind starts slowly
        subprocess.run(["redis-benchmark", "-p", str(port), "-c", "50", "-n", str(args.requests),
                        "-P", str(args.pipeline), "-t", args.test, "-q"], check=True,
                       stdout=subprocess.DEVNULL, timeout=900)
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b"SHUTDOWN NOSAVE\r\n")
        server.wait(timeout=120)
    finally:
        if server.poll() is None:
            server.kill()
    tree = subprocess.run(["callgrind_annotate", "--tree=caller", "--threshold=100", out],
                          capture_output=True, text=True, check=True).stdout
    total = int(re.search(r"([\d,]+) .*PROGRAM TOTALS", tree).group(1).replace(",", ""))
    print(f"{args.test} -P {args.pipeline}, {args.requests} requests: {total / args.requests:,.0f} instructions per request")
    for function in FUNCTIONS + args.function:
        per, top = calls_per_request(tree, function, args.requests, args.callers)
        print(f"  {function:27s} {per:6.2f} calls per request")
        for n, caller in top:
            print(f"      {n:5.2f}  {caller}")
    if args.keep:
        shutil.copy(out, args.keep)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
