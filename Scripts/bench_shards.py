#!/usr/bin/env python3
"""The tuning knobs, measured: throughput and server CPU per request of swiftlet-server for each
event-loop count (io-threads) and shard count (keyspace-shards), in one run.

Each configuration is started in turn, REPEAT rounds alternating over the configurations, and
driven by redis-benchmark with random keys (-r) so that requests spread over the shards. One
event loop runs pinned to SERVER_CPU with redis-benchmark on CLIENT_CPU; two event loops get
both CPUs (and share them with redis-benchmark: on a 2-core machine that is the honest setting).

Usage: Scripts/bench_shards.py [--loops 1,2] [--shards 1,16,64] [--tests set,get,mset]
                               [--requests N] [--pipeline 16] [--repeat 3] [--markdown FILE]
"""
import argparse
import os
import shutil
import statistics
import tempfile

from bench_vs_redis import cpu_seconds, emit_table, free_port, run_group, start


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--swiftlet", default=os.path.join(os.path.dirname(__file__), "..", ".build", "release", "swiftlet-server"))
    ap.add_argument("--loops", default="1,2")
    ap.add_argument("--shards", default="1,16,64")
    ap.add_argument("--tests", default="set,get,mset")
    ap.add_argument("--requests", type=int, default=1000000)
    ap.add_argument("--pipeline", type=int, default=16)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cpus", default="1,0", help="SERVER,CLIENT for one event loop")
    ap.add_argument("--markdown")
    args = ap.parse_args()
    server_cpu, client_cpu = args.cpus.split(",")
    configs = [(int(l), int(s)) for l in args.loops.split(",") for s in args.shards.split(",")]
    tests = args.tests.split(",")
    results = {}   # (loops, shards, test) -> [(rps, cpu_us_per_request)]
    workdir = tempfile.mkdtemp(prefix="bench-shards-")
    try:
        for round_index in range(args.repeat):
            for loops, shards in configs:
                port = free_port()
                cpu = server_cpu if loops == 1 else f"{server_cpu},{client_cpu}"
                proc = start(f"s{loops}x{shards}", [os.path.abspath(args.swiftlet), "--io-threads", str(loops),
                                                     "--keyspace-shards", str(shards)], cpu, port, workdir)
                try:
                    for test in tests:
                        before = cpu_seconds(proc.pid)
                        rows = run_group(port, test, args.requests, args.pipeline, args.clients,
                                         client_cpu if loops == 1 else f"{server_cpu},{client_cpu}",
                                         extra=("-r", "1000000"))
                        used = cpu_seconds(proc.pid) - before
                        rps = rows[0][1]
                        results.setdefault((loops, shards, test), []).append((rps, used * 1e6 / args.requests))
                        print(f"round {round_index + 1} loops={loops} shards={shards} {test}: {rps:,.0f} req/s, "
                              f"{used * 1e6 / args.requests:.2f} CPU µs/req", flush=True)
                finally:
                    proc.terminate()
                    proc.wait(timeout=10)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    lines = [f"| event loops | shards | " + " | ".join(f"{t.upper()} req/s | {t.upper()} CPU µs/req" for t in tests) + " |",
             "|---:|---:|" + "---:|---:|" * len(tests)]
    for loops, shards in configs:
        cells = []
        for test in tests:
            runs = results[(loops, shards, test)]
            cells.append(f"{statistics.median(r for r, _ in runs):,.0f}")
            cells.append(f"{statistics.median(c for _, c in runs):.2f}")
        lines.append(f"| {loops} | {shards} | " + " | ".join(cells) + " |")
    emit_table("\n".join(lines), args.markdown)


if __name__ == "__main__":
    main()
