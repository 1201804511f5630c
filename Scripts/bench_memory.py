#!/usr/bin/env python3
"""Memory per key, side by side: RSS and used_memory of swiftlet-server and redis-server after
loading the same data, one fresh server per row, in one run.

Rows (issue 17's list): DEBUG POPULATE 1000000 key 20; 1 M keys of 100-byte values; 100 k hashes
of 10 fields; 100 k sorted sets of 10 members; 100 k sets of 10 integers; 10 k lists of 100
elements; 1 M keys with TTLs. Each row starts a new server, loads the row's data with
`redis-cli --pipe` (or DEBUG POPULATE), waits a moment for the allocator to settle, and reads
VmRSS from /proc and used_memory from INFO. The empty server's RSS is reported too, and the
per-key figure is (RSS after - RSS empty) / keys.

Usage: Scripts/bench_memory.py [--swiftlet BIN] [--redis BIN] [--rows populate,...] [--markdown FILE]
"""
import argparse
import os
import shutil
import subprocess
import tempfile
import time

import redis

from bench_vs_redis import emit_table, free_port, start


def resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def value(n, size):
    text = b"value:%d" % n
    return (text + b"x" * size)[:size]


def row_commands(row):
    """The RESP stream that loads a row, or None for DEBUG POPULATE rows; and the key count."""
    if row == "populate":
        return None, 1_000_000
    if row == "strings100":
        return (resp("SET", b"key:%d" % i, value(i, 100)) for i in range(1_000_000)), 1_000_000
    if row == "hashes":
        return (resp("HSET", b"hash:%d" % i, *sum(([b"field%d" % f, value(f, 8)] for f in range(10)), []))
                for i in range(100_000)), 100_000
    if row == "zsets":
        return (resp("ZADD", b"zset:%d" % i, *sum(([str(f * 1.5).encode(), b"member%d" % f] for f in range(10)), []))
                for i in range(100_000)), 100_000
    if row == "intsets":
        return (resp("SADD", b"set:%d" % i, *[str(i * 10 + f).encode() for f in range(10)]) for i in range(100_000)), 100_000
    if row == "lists":
        return (resp("RPUSH", b"list:%d" % i, *[value(f, 10) for f in range(100)]) for i in range(10_000)), 10_000
    if row == "ttl":
        return (resp("SET", b"key:%d" % i, value(i, 20), "EX", 100_000) for i in range(1_000_000)), 1_000_000
    raise SystemExit(f"unknown row {row}")


LABELS = {
    "populate": "DEBUG POPULATE 1000000 key 20",
    "strings100": "1 M keys, 100-byte values",
    "hashes": "100 k hashes x 10 fields",
    "zsets": "100 k sorted sets x 10 members",
    "intsets": "100 k sets x 10 integers",
    "lists": "10 k lists x 100 elements",
    "ttl": "1 M keys with TTLs (20-byte values)",
}


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def measure(name, argv, row, port, workdir, cpu):
    proc = start(name, argv, cpu, port, workdir)
    try:
        client = redis.Redis(port=port)
        time.sleep(0.3)
        empty = rss_bytes(proc.pid)
        stream, keys = row_commands(row)
        if stream is None:
            client.execute_command("DEBUG", "POPULATE", keys, "key", 20)
        else:
            path = os.path.join(workdir, f"{row}.resp")
            if not os.path.exists(path):
                with open(path, "wb") as f:
                    for chunk in stream:
                        f.write(chunk)
            with open(path, "rb") as f:
                subprocess.run(["redis-cli", "-p", str(port), "--pipe"], stdin=f, check=True,
                               stdout=subprocess.DEVNULL)
        assert client.dbsize() == keys, f"{name} {row}: {client.dbsize()} keys, expected {keys}"
        time.sleep(1.0)
        rss = rss_bytes(proc.pid)
        used = int(client.info("memory")["used_memory"])
        return empty, rss, used, keys
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def mib(n):
    return f"{n / 2**20:,.1f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--swiftlet", default=os.path.join(os.path.dirname(__file__), "..", ".build", "release", "swiftlet-server"))
    ap.add_argument("--redis", default=shutil.which("redis-server") or "redis-server")
    ap.add_argument("--rows", default=",".join(LABELS))
    ap.add_argument("--cpu", default="1")
    ap.add_argument("--markdown")
    args = ap.parse_args()
    workdir = tempfile.mkdtemp(prefix="bench-memory-")
    lines = ["| data | Swiftlet RSS MiB | Redis RSS MiB | RSS ratio | Swiftlet B/key | Redis B/key | "
             "Swiftlet used_memory MiB | Redis used_memory MiB |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    try:
        for row in args.rows.split(","):
            s = measure("swiftlet", [os.path.abspath(args.swiftlet), "--enable-debug-command", "yes"], row, free_port(), workdir, args.cpu)
            r = measure("redis", [args.redis, "--enable-debug-command", "yes"], row, free_port(), workdir, args.cpu)
            per_key = lambda m: (m[1] - m[0]) / m[3]
            line = (f"| {LABELS[row]} | {mib(s[1])} | {mib(r[1])} | {s[1] / r[1]:.2f} | {per_key(s):.0f} | "
                    f"{per_key(r):.0f} | {mib(s[2])} | {mib(r[2])} |")
            print(line, flush=True)
            lines.append(line)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    emit_table("\n".join(lines), args.markdown)


if __name__ == "__main__":
    main()
