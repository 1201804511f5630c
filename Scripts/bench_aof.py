#!/usr/bin/env python3
"""The append-only file's policies side by side with redis-server, in one run.

For each client count (-c 5 and -c 50 by default) and each policy, a fresh server with
`appendonly yes` in a fresh directory takes `redis-benchmark -t set -n N -r 100000000 -c C`:
Swiftlet with no AOF, `no`, `everysec`, `always`, and `bounded` with each N of --bounded;
redis-server with no AOF, `no`, `everysec` and `always` (it has no `bounded`). Both servers are
pinned to the same CPU (Swiftlet with one event loop; its sync thread shares that CPU),
redis-benchmark to another. Reported per run: requests/s, the server's CPU time per request
(utime+stime from /proc, all threads), and for Swiftlet its fsyncs per second and writes per
fsync (INFO aof_fsyncs, aof_writes) and the worst number of acknowledged un-synced writes
(aof_unsynced_writes_max). Medians over --repeat runs, the servers alternating.

With --fsync-delay-us D every fsync/fdatasync of both servers takes D µs longer (an LD_PRELOAD
shim, Scripts/fsync-delay/fsync_delay.c, sleeps after the real call): the policies on a disk
slower than this machine's ~0.15 ms per fdatasync. --policies picks some of the rows.

Usage: Scripts/bench_aof.py [--requests N] [--repeat K] [--clients 5,50] [--bounded 1,2,16,128]
                            [--policies "always,bounded 2"] [--fsync-delay-us D]
                            [--cpus SERVER,CLIENT] [--markdown FILE]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

import redis

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_vs_redis import cpu_seconds, emit_table, free_port, run_group, wait_ready  # noqa: E402


def policies(bounded):
    """(label, server, arguments) for every measured configuration, in report order."""
    out = [("no AOF", "swiftlet", ["--appendonly", "no"]), ("no AOF", "redis", ["--appendonly", "no"])]
    for policy in ("no", "everysec", "always"):
        for server in ("swiftlet", "redis"):
            out.append((policy, server, ["--appendonly", "yes", "--appendfsync", policy]))
    for n in bounded:
        out.append((f"bounded {n}", "swiftlet", ["--appendonly", "yes", "--appendfsync", "bounded",
                                                 "--appendfsync-max-unsynced", str(n)]))
    return out


def fsync_delay_env(delay_us):
    """The environment for servers whose fsyncs take `delay_us` longer (None: unchanged)."""
    if not delay_us:
        return None
    out = os.path.join(tempfile.mkdtemp(prefix="swiftlet-fsync-delay-"), "fsync_delay.so")
    source = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fsync-delay", "fsync_delay.c")
    subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", out, source, "-ldl"], check=True)
    return dict(os.environ, LD_PRELOAD=out, SWIFTLET_FSYNC_DELAY_US=str(delay_us))


def measure(binary, server, extra, clients, requests, cpus, env=None):
    server_cpu, client_cpu = cpus
    workdir = tempfile.mkdtemp(prefix="swiftlet-bench-aof-")
    port = free_port()
    argv = [binary] + (["--io-threads", "1"] if server == "swiftlet" else [])
    argv += ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", workdir,
             # Rewrites would add their own work to some runs and not others.
             "--auto-aof-rewrite-percentage", "0"] + extra
    with open(os.path.join(workdir, "server.log"), "w") as log:
        proc = subprocess.Popen(["taskset", "-c", str(server_cpu)] + argv, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        wait_ready(port)
        before = cpu_seconds(proc.pid)
        rows = run_group(port, "set", requests, 1, clients, client_cpu,
                         extra=["-r", "100000000"])
        cpu = cpu_seconds(proc.pid) - before
        info = redis.Redis(port=port).info("persistence")
        seconds = requests / rows[0][1]
        fsyncs = info.get("aof_fsyncs")
        stats = {
            "rps": rows[0][1],
            "cpu_us": cpu / requests * 1e6,
            "fsyncs_per_s": fsyncs / seconds if fsyncs is not None else None,
            "writes_per_fsync": info["aof_writes"] / fsyncs if fsyncs else None,
            "unsynced_max": info.get("aof_unsynced_writes_max"),
        }
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)
    return stats


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--swiftlet", default=os.path.join(os.path.dirname(__file__), "..", ".build", "release", "swiftlet-server"))
    ap.add_argument("--redis", default=shutil.which("redis-server") or "redis-server")
    ap.add_argument("--requests", type=int, default=1000000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--clients", default="5,50")
    ap.add_argument("--bounded", default="1,2,16,128")
    ap.add_argument("--cpus", default="1,0")
    ap.add_argument("--policies", help="only these rows, comma-separated labels (\"no AOF,always,bounded 2\")")
    ap.add_argument("--fsync-delay-us", type=int, default=0)
    ap.add_argument("--markdown", help="write the result table to this file")
    args = ap.parse_args()
    cpus = tuple(int(x) for x in args.cpus.split(","))
    binaries = {"swiftlet": os.path.abspath(args.swiftlet), "redis": args.redis}
    configs = policies([int(n) for n in args.bounded.split(",")])
    if args.policies:
        wanted = set(args.policies.split(","))
        configs = [c for c in configs if c[0] in wanted]
    env = fsync_delay_env(args.fsync_delay_us)
    results = {}   # (clients, label, server) -> [stats]
    for clients in (int(c) for c in args.clients.split(",")):
        for rep in range(args.repeat):
            # Alternate the order between repeats so that a slow spell does not favour one side.
            for label, server, extra in (configs if rep % 2 == 0 else list(reversed(configs))):
                s = measure(binaries[server], server, extra, clients, args.requests, cpus, env)
                results.setdefault((clients, label, server), []).append(s)
                print(f"-c {clients} {label:12} {server:8} {s['rps']:>10,.0f} rps  {s['cpu_us']:.2f} µs/req", file=sys.stderr)

    def med(runs, key):
        values = [r[key] for r in runs if r[key] is not None]
        return statistics.median(values) if values else None

    def fmt(value, spec):
        return "—" if value is None else format(value, spec)

    lines = ["| -c | policy | swiftlet rps | redis rps | ratio | swiftlet CPU µs/req | redis CPU µs/req | "
             "fsyncs/s | writes/fsync | worst un-synced acks |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    labels = list(dict.fromkeys(label for label, _, _ in configs))
    for clients in (int(c) for c in args.clients.split(",")):
        for label in labels:
            s = results.get((clients, label, "swiftlet"))
            if not s:
                continue
            r = results.get((clients, label, "redis"))
            s_rps, r_rps = med(s, "rps"), (med(r, "rps") if r else None)
            ratio = s_rps / r_rps if r_rps else None
            lines.append(f"| {clients} | {label} | {s_rps:,.0f} | {fmt(r_rps, ',.0f')} | {fmt(ratio, '.2f')} | "
                         f"{med(s, 'cpu_us'):.2f} | {fmt(med(r, 'cpu_us') if r else None, '.2f')} | "
                         f"{fmt(med(s, 'fsyncs_per_s'), ',.0f')} | {fmt(med(s, 'writes_per_fsync'), '.1f')} | "
                         f"{fmt(max((x['unsynced_max'] for x in s if x['unsynced_max'] is not None), default=None), 'd')} |")
    table = "\n".join(lines)
    emit_table(table, args.markdown)


if __name__ == "__main__":
    main()
