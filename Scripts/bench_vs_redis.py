#!/usr/bin/env python3
"""Side-by-side benchmark: swiftlet-server against a real redis-server, in one run.

Both servers are pinned to the same CPU (SERVER_CPU) and redis-benchmark to another
(CLIENT_CPU). For each pipeline depth and each test of redis-benchmark's default set, the two
servers are measured alternately, REPEAT times; the report gives median throughput and the
server's CPU time per request (utime+stime from /proc/<pid>/stat over the run, divided by the
requests it served), with Swiftlet/Redis ratios.

Usage: Scripts/bench_vs_redis.py [--requests N] [--pipelined-requests M] [--repeat K] [--pipelines 1,16]
                                  [--cpus SERVER,CLIENT] [--markdown FILE]
"""
import argparse
import csv
import io
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

# redis-benchmark -t groups covering its default test set (lrange runs LPUSH + LRANGE_*).
GROUPS = ["ping", "set", "get", "incr", "lpush", "rpush", "lpop", "rpop", "sadd", "hset",
          "spop", "zadd", "zpopmin", "lrange", "mset"]
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[11], fields[12] are utime, stime (the 14th and 15th of the whole line)
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def wait_ready(port, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"server on port {port} did not become ready")


def start(name, argv, cpu, port, workdir):
    log = open(os.path.join(workdir, f"{name}.log"), "w")
    proc = subprocess.Popen(["taskset", "-c", str(cpu)] + argv + ["--port", str(port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no", "--dir", workdir],
                            stdout=log, stderr=subprocess.STDOUT)
    wait_ready(port)
    return proc


def run_group(port, group, requests, pipeline, clients, cpu, extra=()):
    out = subprocess.run(["taskset", "-c", str(cpu), "redis-benchmark", "-p", str(port), "-c", str(clients),
                          "-n", str(requests), "-P", str(pipeline), "-t", group, "--csv", *extra],
                         capture_output=True, text=True, check=True).stdout
    rows = list(csv.reader(io.StringIO(out)))
    header, data = rows[0], rows[1:]
    return [(r[0], float(r[header.index("rps")])) for r in data]


def emit_table(text, markdown=None):
    """Prints a result table and, with --markdown FILE, writes it there too."""
    print(text)
    if markdown:
        with open(markdown, "w") as f:
            f.write(text + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--swiftlet", default=os.path.join(os.path.dirname(__file__), "..", ".build", "release", "swiftlet-server"))
    ap.add_argument("--redis", default=shutil.which("redis-server") or "redis-server")
    ap.add_argument("--requests", type=int, default=100000)
    ap.add_argument("--pipelined-requests", type=int, default=1000000,
                    help="requests per test at pipeline depths above 1, except the LRANGE group: at "
                         "~1 M requests/s a 100 000-request run lasts 0.1 s, shorter than the noise "
                         "of this shared machine and only ten /proc CPU ticks long")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--pipelines", default="1,16")
    ap.add_argument("--cpus", default="1,0")
    ap.add_argument("--tests", default=",".join(GROUPS))
    ap.add_argument("--markdown", help="write the result table to this file")
    args = ap.parse_args()
    server_cpu, client_cpu = (int(x) for x in args.cpus.split(","))
    workdir = tempfile.mkdtemp(prefix="swiftlet-bench-")
    servers = {}
    ports = {"swiftlet": free_port(), "redis": free_port()}
    # One event loop: the server gets exactly one core, as redis-server's single thread does.
    servers["swiftlet"] = start("swiftlet", [os.path.abspath(args.swiftlet), "--io-threads", "1"], server_cpu, ports["swiftlet"], workdir)
    servers["redis"] = start("redis", [args.redis], server_cpu, ports["redis"], workdir)
    results = {}  # (pipeline, test, server) -> list of (rps, cpu_us_per_request)
    try:
        for pipeline in (int(p) for p in args.pipelines.split(",")):
            for group in args.tests.split(","):
                for rep in range(args.repeat):
                    order = ["swiftlet", "redis"] if rep % 2 == 0 else ["redis", "swiftlet"]
                    for name in order:
                        pid = servers[name].pid
                        # taskset execs the server, so the pid is the server's own.
                        before = cpu_seconds(pid)
                        requests = args.pipelined_requests if pipeline > 1 and group != "lrange" else args.requests
                        rows = run_group(ports[name], group, requests, pipeline, args.clients, client_cpu)
                        used = cpu_seconds(pid) - before
                        per_request = used / (requests * len(rows)) * 1e6
                        for test, rps in rows:
                            results.setdefault((pipeline, test, name), []).append((rps, per_request))
                        print(f"P{pipeline} {group:8} {name:8} " + " ".join(f"{t}={r:,.0f}" for t, r in rows), file=sys.stderr)
    finally:
        for p in servers.values():
            p.terminate()
            p.wait(timeout=10)
    lines = [f"| P | test | swiftlet rps | redis rps | rps ratio | swiftlet CPU µs/req | redis CPU µs/req | CPU ratio |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    worst = None
    for (pipeline, test, name) in sorted({(p, t, "x") for (p, t, _) in results}, key=lambda k: (k[0], list(dict.fromkeys(t for (_, t, _) in results)).index(k[1]))):
        s = results.get((pipeline, test, "swiftlet"))
        r = results.get((pipeline, test, "redis"))
        if not s or not r:
            continue
        s_rps = statistics.median(x[0] for x in s)
        r_rps = statistics.median(x[0] for x in r)
        s_cpu = statistics.median(x[1] for x in s)
        r_cpu = statistics.median(x[1] for x in r)
        ratio = s_rps / r_rps
        worst = ratio if worst is None else min(worst, ratio)
        lines.append(f"| {pipeline} | {test} | {s_rps:,.0f} | {r_rps:,.0f} | {ratio:.2f} | {s_cpu:.2f} | {r_cpu:.2f} | {s_cpu / r_cpu:.2f} |")
    table = "\n".join(lines)
    print(table)
    print(f"\nlowest throughput ratio: {worst:.2f}")
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(table + "\n")


if __name__ == "__main__":
    main()
