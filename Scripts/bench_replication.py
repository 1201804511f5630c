#!/usr/bin/env python3
"""Full sync side by side: a Swiftlet master and a redis-server master, each with a dataset of
--keys keys of --value-size bytes (DEBUG POPULATE; 2.5 M x 400 B = 1 GB of values by default)
and `repl-diskless-sync yes`, syncing 1, 2 and 3 replicas of their own kind in one run.

Per master and replica count: the seconds from REPLICAOF (sent to every replica at once) until
every replica is online (its master_link_status up and the master listing it `online`), and how
many snapshot passes the master logged, and the master's own part: from its `Starting BGSAVE
for SYNC` to its `Background RDB transfer terminated with success` (both servers log both; the
replicas, all on one CPU here, load one after another, which the first figure includes). Both masters use `repl-diskless-sync-delay --delay` so
replicas arriving together share a pass. Then, with redis-benchmark (SET/GET, -c 50) running
against the master the whole time, one more 3-replica sync: the master's commands per second
while it streams the snapshot against the same load without a sync (INFO
total_commands_processed, sampled every 20 ms, within the pass's start and end in its log). Last, the
replica side: a Swiftlet replica and a redis-server replica each loading from the
redis-server master.

The master runs on --cpus' first CPU (a Redis fork child inherits it), replicas and
redis-benchmark on the second.

Usage: Scripts/bench_replication.py [--keys N] [--value-size B] [--delay S] [--markdown FILE]
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import redis

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_vs_redis import emit_table, free_port, wait_ready  # noqa: E402


class Server:
    def __init__(self, binary, kind, cpu, *args):
        self.kind = kind
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix=f"swiftlet-bench-repl-{kind}-")
        self.log = os.path.join(self.dir, "server.log")
        argv = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", self.dir, "--enable-debug-command", "local", *args]
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(["taskset", "-c", str(cpu)] + argv, stdout=log, stderr=subprocess.STDOUT)
        wait_ready(self.port)
        self.c = redis.Redis(port=self.port, decode_responses=True, socket_timeout=600)

    def info(self, section):
        return self.c.info(section)

    def passes(self):
        with open(self.log, errors="replace") as f:
            return sum("Starting BGSAVE for SYNC with target" in line for line in f)

    def stop(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def all_online(master, replicas):
    info = master.info("replication")
    online = {int(v["port"]) for k, v in info.items() if re.fullmatch(r"slave\d+", k) and v.get("state") == "online"}
    return all(r.port in online and r.info("replication").get("master_link_status") == "up" for r in replicas)


STAMP = re.compile(r"^\d+:[MSC] (\d\d \w{3} \d{4} \d\d:\d\d:\d\d\.\d{3}) ")


def stamp(line):
    m = STAMP.match(line)
    return time.mktime(time.strptime(m.group(1)[:-4], "%d %b %Y %H:%M:%S")) + int(m.group(1)[-3:]) / 1000 if m else None


def log_lines(master):
    with open(master.log, errors="replace") as f:
        return len(f.read().splitlines())


def transfer_window(log, skip):
    """Wall-clock (start, end) of the master's own pass in its log lines after the first
    `skip`: from the first `Starting BGSAVE for SYNC` to the last `Background RDB transfer
    terminated with success` (both servers log both)."""
    with open(log, errors="replace") as f:
        lines = f.read().splitlines()[skip:]
    starts = [stamp(l) for l in lines if "Starting BGSAVE for SYNC" in l]
    ends = [stamp(l) for l in lines if "Background RDB transfer terminated with success" in l]
    return (starts[0], ends[-1]) if starts and ends else None


def sync(binary, kind, master, count, cpu, samples=None):
    """(seconds from REPLICAOF to every replica online, seconds of the master's transfer). With
    `samples`, appends (wall time, total_commands_processed) of the master while waiting."""
    replicas = [Server(binary, kind, cpu) for _ in range(count)]
    skip = log_lines(master)
    try:
        start = time.monotonic()
        for r in replicas:
            r.c.execute_command("REPLICAOF", "127.0.0.1", master.port)
        while not all_online(master, replicas):
            if samples is not None:
                samples.append((time.time(), commands(master)))
            time.sleep(0.02)
        online = time.monotonic() - start
        time.sleep(0.2)   # Redis logs the transfer's end when its child is reaped
        window = transfer_window(master.log, skip)
        if samples is not None:
            samples.append(("window", window))
        return online, window[1] - window[0] if window else None
    finally:
        for r in replicas:
            r.stop()


def commands(master):
    return master.info("stats")["total_commands_processed"]


def load_during(binary, kind, master, cpu, seconds_hint):
    """(commands/s without a sync, commands/s during a 3-replica sync), redis-benchmark running."""
    bench = subprocess.Popen(["taskset", "-c", str(cpu), "redis-benchmark", "-p", str(master.port), "-c", "50",
                              "-n", "100000000", "-t", "set,get", "-r", "1000000", "-q"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1)
        window = max(2.0, seconds_hint)
        before, t0 = commands(master), time.monotonic()
        time.sleep(window)
        idle_rate = (commands(master) - before) / (time.monotonic() - t0)
        samples = []
        sync(binary, kind, master, 3, cpu, samples)
        _, (begin, end) = samples.pop()
        inside = [(t, n) for t, n in samples if begin <= t <= end]
        # The rate while the master streams its snapshot: the replicas only receive then; once
        # they load (on the CPU redis-benchmark uses) the client, not the master, is starved.
        sync_rate = (inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0])
        return idle_rate, sync_rate
    finally:
        bench.kill()
        bench.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--swiftlet", default=os.path.join(os.path.dirname(__file__), "..", ".build", "release", "swiftlet-server"))
    ap.add_argument("--redis", default=shutil.which("redis-server") or "redis-server")
    ap.add_argument("--keys", type=int, default=2_500_000)
    ap.add_argument("--value-size", type=int, default=400)
    ap.add_argument("--delay", type=int, default=1, help="repl-diskless-sync-delay of both masters")
    ap.add_argument("--cpus", default="1,0")
    ap.add_argument("--masters", default="swiftlet,redis", help="which masters to measure")
    ap.add_argument("--markdown")
    args = ap.parse_args()
    master_cpu, replica_cpu = (int(x) for x in args.cpus.split(","))
    binaries = {"swiftlet": os.path.abspath(args.swiftlet), "redis": args.redis}
    rows, load_rows = [], []
    replica_side = {}
    for kind in args.masters.split(","):
        extra = ["--io-threads", "1"] if kind == "swiftlet" else []
        master = Server(binaries[kind], kind, master_cpu, *extra, "--repl-diskless-sync", "yes",
                        "--repl-diskless-sync-delay", str(args.delay))
        try:
            master.c.execute_command("DEBUG", "POPULATE", args.keys, "key", args.value_size)
            rss = master.info("memory")["used_memory_rss"]
            times, transfers = {}, {}
            for count in (1, 2, 3):
                passes = master.passes()
                times[count], transfer = sync(binaries[kind], kind, master, count, replica_cpu)
                transfers[count] = transfer
                rows.append((kind, count, times[count], times[count] / times[1], transfer, transfer / transfers[1],
                             master.passes() - passes, rss))
                print(rows[-1], flush=True)
            idle, during = load_during(binaries[kind], kind, master, replica_cpu, times[3])
            load_rows.append((kind, idle, during, during / idle))
            print(load_rows[-1], flush=True)
            if kind == "redis":
                for replica_kind in ("swiftlet", "redis"):
                    replica_side[replica_kind] = sync(binaries[replica_kind], replica_kind, master, 1, replica_cpu)[0]
                    print(replica_kind, replica_side[replica_kind], flush=True)
        finally:
            master.stop()
    gb = args.keys * args.value_size / 1e9
    lines = [f"Full sync of {args.keys:,} keys x {args.value_size} B ({gb:.1f} GB of values), "
             f"repl-diskless-sync yes, delay {args.delay} s, master on CPU {master_cpu}, replicas on CPU {replica_cpu}", "",
             "| master | replicas | seconds until all online | vs 1 replica | master's transfer, s | vs 1 replica | snapshot passes | master RSS |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for kind, count, seconds, ratio, transfer, transfer_ratio, passes, rss in rows:
        lines.append(f"| {kind} | {count} | {seconds:.2f} | {ratio:.2f}x | {transfer:.2f} | {transfer_ratio:.2f}x | {passes} | {rss / 2**20:,.0f} MiB |")
    lines += ["", "| master | commands/s, no sync | while streaming to 3 replicas | kept |", "| --- | ---: | ---: | ---: |"]
    for kind, idle, during, kept in load_rows:
        lines.append(f"| {kind} | {idle:,.0f} | {during:,.0f} | {kept:.0%} |")
    if len(replica_side) == 2:
        lines += ["", "| replica of the redis-server master | seconds until online |", "| --- | ---: |"]
        for kind, seconds in replica_side.items():
            lines.append(f"| {kind} | {seconds:.2f} |")
        lines.append(f"\nSwiftlet replica / redis-server replica: {replica_side['swiftlet'] / replica_side['redis']:.2f}x the time")
    emit_table("\n".join(lines), args.markdown)


if __name__ == "__main__":
    main()
