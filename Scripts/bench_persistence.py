#!/usr/bin/env python3
"""Snapshot benchmark: swiftlet-server against a real redis-server, in one run.

Both servers are pinned to the same CPU, get the same dataset (DEBUG POPULATE: KEYS string keys
of VALUE_SIZE bytes) and are measured alternately, REPEAT times (medians reported):

  save    SAVE time as seen by the client, and the file size: MB/s written
  load    the server's own "DB loaded from disk: X seconds" log line at start-up: MB/s read
  bgsave  redis-benchmark SET load (-c 50, random keys over the dataset, pinned to the other
          CPU) for a fixed number of requests, once without and once with a BGSAVE started
          half a second in: p50/p99/max latency of both runs, the BGSAVE's duration, the peak
          proportional set size (Pss, /proc/<pid>/smaps_rollup, server plus any fork child)
          above its value before the BGSAVE, and INFO's rdb_last_cow_size.

Usage: Scripts/bench_persistence.py [--keys N] [--value-size B] [--repeat K] [--cpus SERVER,CLIENT]
                                    [--load-requests N] [--markdown FILE]
"""
import argparse
import csv
import io
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time

import redis

from bench_vs_redis import emit_table, free_port, wait_ready


def start(name, argv, cpu, port, workdir):
    log_path = os.path.join(workdir, "server.log")
    log = open(log_path, "w")
    proc = subprocess.Popen(["taskset", "-c", str(cpu)] + argv + [
        "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", workdir,
        "--enable-debug-command", "yes"], stdout=log, stderr=subprocess.STDOUT)
    wait_ready(port, timeout=300)
    return proc, log_path


def stop(proc):
    proc.terminate()
    proc.wait(timeout=60)


def pss_kib(pid):
    """Pss of a process plus its children (Redis's fork child), in KiB."""
    total = 0
    pids = [pid]
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            pids += [int(p) for p in f.read().split()]
    except OSError:
        pass
    for p in pids:
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def bench_load(port, requests, keys, value_size, cpu):
    out = subprocess.run(["taskset", "-c", str(cpu), "redis-benchmark", "-p", str(port), "-c", "50", "-n", str(requests),
                          "-r", str(keys), "-d", str(value_size), "-t", "set", "--csv"],
                         capture_output=True, text=True, check=True).stdout
    rows = list(csv.reader(io.StringIO(out)))
    h, row = rows[0], rows[1]
    return {k: float(row[h.index(col)]) for k, col in
            [("rps", "rps"), ("p50", "p50_latency_ms"), ("p99", "p99_latency_ms"), ("max", "max_latency_ms")]}


def measure(name, argv, args, server_cpu, client_cpu):
    workdir = tempfile.mkdtemp(prefix=f"bench-{name}-")
    port = free_port()
    proc, log_path = start(name, argv, server_cpu, port, workdir)
    c = redis.Redis(port=port, socket_timeout=600)
    c.execute_command("DEBUG", "POPULATE", args.keys, "key", args.value_size)
    result = {}
    t = time.monotonic()
    c.save()
    result["save_s"] = time.monotonic() - t
    size = os.path.getsize(os.path.join(workdir, "dump.rdb"))
    result["file_mb"] = size / 1e6
    stop(proc)
    # Load: the server's own measurement, from its log.
    proc, log_path = start(name, argv, server_cpu, port, workdir)
    with open(log_path) as f:
        line = [l for l in f if "DB loaded from disk" in l][-1]
    result["load_s"] = float(line.split("DB loaded from disk:")[1].split()[0])
    c = redis.Redis(port=port, socket_timeout=600)
    assert c.dbsize() == args.keys, c.dbsize()
    # BGSAVE under a SET load: baseline run, then a run with a BGSAVE in it.
    result["baseline"] = bench_load(port, args.load_requests, args.keys, args.value_size, client_cpu)
    pss_before = pss_kib(proc.pid)
    peak = [pss_before]
    box = {}

    def trigger():
        time.sleep(0.5)
        t0 = time.monotonic()
        c.bgsave()
        while True:
            peak[0] = max(peak[0], pss_kib(proc.pid))
            info = c.info("persistence")
            if info["rdb_bgsave_in_progress"] == 0:
                break
            time.sleep(0.02)
        box["bgsave_s"] = time.monotonic() - t0
        box["cow"] = info["rdb_last_cow_size"]
        box["status"] = info["rdb_last_bgsave_status"]

    th = threading.Thread(target=trigger)
    th.start()
    result["during"] = bench_load(port, args.load_requests, args.keys, args.value_size, client_cpu)
    th.join()
    assert box["status"] == "ok", box
    result["bgsave_s"] = box["bgsave_s"]
    result["peak_extra_mib"] = (peak[0] - pss_before) / 1024
    result["pss_mib"] = pss_before / 1024
    result["cow_mib"] = box["cow"] / 2**20
    stop(proc)
    shutil.rmtree(workdir, ignore_errors=True)
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--swiftlet", default=os.path.join(here, "..", ".build", "release", "swiftlet-server"))
    ap.add_argument("--redis", default=shutil.which("redis-server") or "redis-server")
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--value-size", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--load-requests", type=int, default=400_000)
    ap.add_argument("--cpus", default="1,0")
    ap.add_argument("--markdown")
    args = ap.parse_args()
    server_cpu, client_cpu = args.cpus.split(",")
    targets = {"swiftlet": [os.path.abspath(args.swiftlet), "--io-threads", "1"], "redis": [args.redis]}
    runs = {name: [] for name in targets}
    for i in range(args.repeat):
        for name, argv in targets.items():
            print(f"run {i + 1}/{args.repeat}: {name} ...", flush=True)
            runs[name].append(measure(name, argv, args, server_cpu, client_cpu))

    def med(name, f):
        return statistics.median(f(r) for r in runs[name])

    rows = []
    for label, f, fmt in [
        ("dump.rdb size (MB)", lambda r: r["file_mb"], "{:.1f}"),
        ("SAVE (MB/s)", lambda r: r["file_mb"] / r["save_s"], "{:.0f}"),
        ("load at start-up (MB/s)", lambda r: r["file_mb"] / max(r["load_s"], 1e-3), "{:.0f}"),
        ("SET p50 / p99 / max without BGSAVE (ms)", None, None),
        ("SET p50 / p99 / max during BGSAVE (ms)", None, None),
        ("SET rps without / with BGSAVE", None, None),
        ("BGSAVE duration under load (s)", lambda r: r["bgsave_s"], "{:.2f}"),
        ("server Pss before BGSAVE (MiB)", lambda r: r["pss_mib"], "{:.0f}"),
        ("peak extra Pss during BGSAVE (MiB)", lambda r: r["peak_extra_mib"], "{:.1f}"),
        ("rdb_last_cow_size (MiB)", lambda r: r["cow_mib"], "{:.1f}"),
    ]:
        cells = []
        for name in targets:
            if f is not None:
                cells.append(fmt.format(med(name, f)))
            elif "without BGSAVE" in label and "rps" not in label:
                cells.append(" / ".join("{:.2f}".format(med(name, lambda r, k=k: r["baseline"][k])) for k in ("p50", "p99", "max")))
            elif "during" in label:
                cells.append(" / ".join("{:.2f}".format(med(name, lambda r, k=k: r["during"][k])) for k in ("p50", "p99", "max")))
            else:
                cells.append("{:.0f} / {:.0f}".format(med(name, lambda r: r["baseline"]["rps"]), med(name, lambda r: r["during"]["rps"])))
        rows.append((label, *cells))
    table = ["| measure | swiftlet | redis-server |", "|---|---|---|"] + [f"| {a} | {b} | {c} |" for a, b, c in rows]
    text = "\n".join(table)
    emit_table(text, args.markdown)


if __name__ == "__main__":
    main()
