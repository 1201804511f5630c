#!/usr/bin/env python3
"""What the seccomp filter costs: redis-benchmark's default suite against swiftlet-server with
`--seccomp yes` and with `--seccomp no`, side by side in one run.

The two servers share one CPU (SERVER_CPU), redis-benchmark runs on the other (CLIENT_CPU); for
each pipeline depth and test group they are measured alternately, REPEAT times, and the table
gives median throughput and server CPU per request with on/off ratios (Docs/benchmarks.md,
"The seccomp filter"). The machine is shared and noisy: read the ratios, not the figures.

Usage: Scripts/bench_seccomp.py [--repeat K] [--pipelines 1,16] [--cpus SERVER,CLIENT] [--markdown FILE]
"""
import argparse
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_vs_redis import GROUPS, cpu_seconds, emit_table, free_port, run_group, start  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--swiftlet", default=os.path.join(os.path.dirname(__file__), "..", ".build", "release", "swiftlet-server"))
    ap.add_argument("--requests", type=int, default=100000)
    ap.add_argument("--pipelined-requests", type=int, default=1000000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--pipelines", default="1,16")
    ap.add_argument("--cpus", default="1,0")
    ap.add_argument("--tests", default=",".join(GROUPS))
    ap.add_argument("--markdown", help="write the result table to this file")
    args = ap.parse_args()
    server_cpu, client_cpu = (int(x) for x in args.cpus.split(","))
    workdir = tempfile.mkdtemp(prefix="swiftlet-bench-seccomp-")
    binary = os.path.abspath(args.swiftlet)
    names = ["on", "off"]
    ports = {n: free_port() for n in names}
    servers = {}
    for n in names:
        os.makedirs(os.path.join(workdir, n))
        servers[n] = start(n, [binary, "--io-threads", "1", "--seccomp", "yes" if n == "on" else "no"],
                           server_cpu, ports[n], os.path.join(workdir, n))
    results = {}  # (pipeline, test, name) -> [(rps, cpu µs per request)]
    order_of_tests = []
    try:
        for pipeline in (int(p) for p in args.pipelines.split(",")):
            for group in args.tests.split(","):
                for rep in range(args.repeat):
                    for n in (names if rep % 2 == 0 else list(reversed(names))):
                        pid = servers[n].pid
                        before = cpu_seconds(pid)
                        requests = args.pipelined_requests if pipeline > 1 and group != "lrange" else args.requests
                        rows = run_group(ports[n], group, requests, pipeline, args.clients, client_cpu)
                        per_request = (cpu_seconds(pid) - before) / (requests * len(rows)) * 1e6
                        for test, rps in rows:
                            if (pipeline, test) not in order_of_tests:
                                order_of_tests.append((pipeline, test))
                            results.setdefault((pipeline, test, n), []).append((rps, per_request))
                        print(f"P{pipeline} {group:8} seccomp {n:3} " + " ".join(f"{t}={r:,.0f}" for t, r in rows), file=sys.stderr)
        for n in names:
            assert servers[n].poll() is None, f"the seccomp {n} server died (see {workdir}/{n}/{n}.log)"
    finally:
        for p in servers.values():
            p.terminate()
            p.wait(timeout=10)
    lines = ["| P | test | seccomp on rps | off rps | rps on/off | on CPU µs/req | off CPU µs/req | CPU on/off |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    ratios = []
    for pipeline, test in order_of_tests:
        on, off = results[(pipeline, test, "on")], results[(pipeline, test, "off")]
        on_rps, off_rps = statistics.median(x[0] for x in on), statistics.median(x[0] for x in off)
        on_cpu, off_cpu = statistics.median(x[1] for x in on), statistics.median(x[1] for x in off)
        ratios.append(on_rps / off_rps)
        lines.append(f"| {pipeline} | {test} | {on_rps:,.0f} | {off_rps:,.0f} | {on_rps / off_rps:.3f} | "
                     f"{on_cpu:.2f} | {off_cpu:.2f} | {on_cpu / off_cpu:.2f} |")
    emit_table("\n".join(lines), args.markdown)
    print(f"\nthroughput ratio on/off: median {statistics.median(ratios):.3f}, geometric mean "
          f"{statistics.geometric_mean(ratios):.3f}, lowest {min(ratios):.3f}")


if __name__ == "__main__":
    main()
