"""INFO commandstats / errorstats / latencystats / instantaneous_*, SLOWLOG and LATENCY.

Each test runs on a dedicated instance (statistics are process-wide) and passes against
redis-server 7.0 as well: SWIFTLET_SERVER=/usr/bin/redis-server pytest test_observability.py.
"""

import threading
import time

import pytest
import redis

from conftest import DEBUG_ARGS
from helpers import wait_until


@pytest.fixture
def c(make_server):
    srv = make_server(DEBUG_ARGS)
    client = redis.Redis(host=srv.host, port=srv.port, decode_responses=True, protocol=2, socket_timeout=10)
    client.config_resetstat()
    yield client
    client.close()


def info_text(c, *sections):
    """INFO's text as sent (redis-py's execute_command would parse it into a dict)."""
    conn = c.connection_pool.get_connection("INFO")
    try:
        conn.send_command("INFO", *sections)
        return conn.read_response()
    finally:
        c.connection_pool.release(conn)


def section_names(text):
    return [line[2:] for line in text.splitlines() if line.startswith("# ")]


def test_commandstats_count_calls_rejections_and_failures(c):
    c.set("a", "1")
    c.get("a")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        c.lpush("a", "x")
    with pytest.raises(redis.ResponseError, match="wrong number of arguments for 'get' command"):
        c.execute_command("GET")
    with pytest.raises(redis.ResponseError, match="unknown command"):
        c.execute_command("NOSUCH")
    stats = c.info("commandstats")
    assert stats["cmdstat_set"]["calls"] == 1
    assert stats["cmdstat_get"]["calls"] == 1
    assert stats["cmdstat_get"]["rejected_calls"] == 1
    assert stats["cmdstat_lpush"]["failed_calls"] == 1
    assert stats["cmdstat_lpush"]["calls"] == 1
    for row in stats.values():
        assert set(row) == {"calls", "usec", "usec_per_call", "rejected_calls", "failed_calls"}
    assert "cmdstat_nosuch" not in stats
    errors = c.info("errorstats")
    assert errors == {"errorstat_WRONGTYPE": {"count": 1}, "errorstat_ERR": {"count": 2}}
    assert c.info("stats")["total_error_replies"] == 3


def test_subcommands_and_resetstat(c):
    c.config_get("port")
    c.execute_command("CLIENT", "ID")
    stats = c.info("commandstats")
    assert stats["cmdstat_config|get"]["calls"] == 1
    assert stats["cmdstat_client|id"]["calls"] == 1
    c.config_resetstat()
    stats = c.info("commandstats")
    assert "cmdstat_config|get" not in stats
    assert c.info("errorstats") == {}


def test_info_sections_and_their_order(c):
    c.set("k", "v")
    default = section_names(info_text(c))
    assert "Commandstats" not in default and "Latencystats" not in default
    assert "Errorstats" in default
    everything = section_names(info_text(c, "everything"))
    assert everything == ["Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU", "Modules",
                          "Commandstats", "Errorstats", "Latencystats", "Cluster", "Keyspace"]
    assert section_names(info_text(c, "latencystats", "commandstats")) == ["Commandstats", "Latencystats"]


def test_latencystats_percentiles(c):
    for _ in range(20):
        c.get("a")
    line = info_text(c, "latencystats")
    row = next(l for l in line.splitlines() if l.startswith("latency_percentiles_usec_get:"))
    parts = dict(p.split("=") for p in row.split(":", 1)[1].split(","))
    assert list(parts) == ["p50", "p99", "p99.9"]
    values = [float(v) for v in parts.values()]
    assert 0 < values[0] <= values[1] <= values[2]
    assert all(len(v.split(".")[1]) == 3 for v in parts.values())
    c.config_set("latency-tracking-info-percentiles", "0 50 99.99 100")
    row = next(l for l in info_text(c, "latencystats").splitlines() if l.startswith("latency_percentiles_usec_get:"))
    assert [p.split("=")[0] for p in row.split(":", 1)[1].split(",")] == ["p0", "p50", "p99.99", "p100"]
    with pytest.raises(redis.ResponseError, match="should sit between"):
        c.config_set("latency-tracking-info-percentiles", "50 101")
    # latency-tracking no: calls are still counted, histograms no longer grow.
    c.config_set("latency-tracking", "no")
    c.config_resetstat()
    c.execute_command("INCR", "n")
    assert c.info("commandstats")["cmdstat_incr"]["calls"] == 1
    assert "latency_percentiles_usec_incr" not in info_text(c, "latencystats")


def test_latency_histogram(c):
    c.set("a", "1")
    c.set("b", "1")
    c.config_get("port")
    reply = c.execute_command("LATENCY", "HISTOGRAM", "set", "config", "nosuch")
    by_name = {reply[i]: reply[i + 1] for i in range(0, len(reply), 2)}
    # A container stands for each of its subcommands that ran (the fixture's CONFIG RESETSTAT too).
    assert set(by_name) == {"set", "config|get", "config|resetstat"}
    setstats = dict(zip(by_name["set"][::2], by_name["set"][1::2]))
    assert setstats["calls"] == 2
    buckets = setstats["histogram_usec"]
    bounds, counts = buckets[::2], buckets[1::2]
    assert counts[-1] == 2 and counts == sorted(counts)
    # Bounds are HdrHistogram's log buckets from 1024 ns, doubling: 1, 2, 4, 8, 16, 33, 66, ...
    allowed = [1, 2, 4, 8, 16, 33, 66, 132, 264, 528, 1056, 2113, 4227, 8455, 16911, 33823]
    assert all(b in allowed for b in bounds)
    assert c.execute_command("LATENCY", "HISTOGRAM", "nosuch") == []


def test_slowlog(c):
    c.config_set("slowlog-log-slower-than", 0)
    c.slowlog_reset()
    c.client_setname("observer")
    c.set("big", "x" * 200)
    with pytest.raises(redis.ResponseError):
        c.execute_command("SET", *(["k"] * 40))
    entries = c.execute_command("SLOWLOG", "GET", "3")
    assert len(entries) == 3
    newest, previous = entries[0], entries[1]
    assert len(newest[3]) == 32 and newest[3][-1] == "... (10 more arguments)"
    assert previous[3] == ["SET", "big", "x" * 128 + "... (72 more bytes)"]
    assert previous[5] == "observer"
    host, port = previous[4].rsplit(":", 1)
    assert host == "127.0.0.1" and int(port) > 0
    assert newest[0] > previous[0] and newest[1] >= previous[1] > 1_600_000_000
    assert c.execute_command("SLOWLOG", "LEN") >= 4
    # Only commands at least that slow are logged, with their duration in microseconds.
    c.config_set("slowlog-log-slower-than", 100_000)
    c.slowlog_reset()
    c.execute_command("DEBUG", "SLEEP", "0.15")
    c.get("big")
    entries = c.execute_command("SLOWLOG", "GET")
    assert [e[3][:2] for e in entries] == [["DEBUG", "SLEEP"]]
    assert entries[0][2] >= 150_000
    # slowlog-max-len trims; -1 turns the log off.
    c.config_set("slowlog-log-slower-than", 0)
    c.config_set("slowlog-max-len", 2)
    for _ in range(5):
        c.get("big")
    assert c.execute_command("SLOWLOG", "LEN") == 2
    c.config_set("slowlog-log-slower-than", -1)
    c.slowlog_reset()
    c.get("big")
    assert c.execute_command("SLOWLOG", "LEN") == 0
    with pytest.raises(redis.ResponseError, match="count should be greater than or equal to -1"):
        c.execute_command("SLOWLOG", "GET", "-5")


def test_slowlog_redacts_and_skips_exec(c):
    c.config_set("slowlog-log-slower-than", 0)
    c.slowlog_reset()
    with pytest.raises(redis.RedisError, match="without any password configured"):
        c.execute_command("AUTH", "secret")
    p = c.pipeline(transaction=True)
    p.set("a", "1")
    p.execute()
    logged = [e[3] for e in c.execute_command("SLOWLOG", "GET", "-1")]
    assert ["AUTH", "(redacted)"] in logged
    assert ["SET", "a", "1"] in logged
    assert ["MULTI"] in logged
    assert ["EXEC"] not in logged


def test_latency_monitor(c):
    assert c.execute_command("LATENCY", "LATEST") == []
    assert c.execute_command("LATENCY", "DOCTOR").startswith("I'm sorry, Dave, I can't do that. Latency monitoring is disabled")
    c.config_set("latency-monitor-threshold", 100)
    assert c.execute_command("LATENCY", "DOCTOR").startswith("Dave, no latency spike was observed")
    c.execute_command("DEBUG", "SLEEP", "0.2")
    c.get("fast")          # far under the threshold: nothing
    latest = c.execute_command("LATENCY", "LATEST")
    assert len(latest) == 1
    event, when, last, worst = latest[0]
    assert event == "command" and last >= 200 and worst == last
    assert abs(when - time.time()) < 5
    history = c.execute_command("LATENCY", "HISTORY", "command")
    assert len(history) == 1 and history[0][1] == last
    doctor = c.execute_command("LATENCY", "DOCTOR")
    assert "1. command: 1 latency spikes" in doctor
    assert c.execute_command("LATENCY", "RESET", "nosuch") == 0
    assert c.execute_command("LATENCY", "RESET") == 1
    assert c.execute_command("LATENCY", "LATEST") == []
    # Threshold 0: the monitor is off.
    c.config_set("latency-monitor-threshold", 0)
    c.execute_command("DEBUG", "SLEEP", "0.12")
    assert c.execute_command("LATENCY", "LATEST") == []


def test_instantaneous_ops_per_sec(c, make_server):
    assert c.info("stats")["instantaneous_ops_per_sec"] == 0
    stop = threading.Event()
    pool = c.connection_pool

    def load():
        client = redis.Redis(connection_pool=pool)
        while not stop.is_set():
            p = client.pipeline(transaction=False)
            for _ in range(50):
                p.ping()
            p.execute()

    t = threading.Thread(target=load)
    t.start()
    try:
        assert wait_until(lambda: c.info("stats")["instantaneous_ops_per_sec"] > 1000, timeout=5)
        s = c.info("stats")
        assert s["instantaneous_input_kbps"] > 0 and s["instantaneous_output_kbps"] > 0
    finally:
        stop.set()
        t.join()
    # The figure is a mean of the last 1.6 s: it falls back once the load stops (to the rate of
    # the polling INFO itself).
    assert wait_until(lambda: c.info("stats")["instantaneous_ops_per_sec"] < 200, timeout=5, interval=0.1)


def test_monitor(c):
    kwargs = c.connection_pool.connection_kwargs
    other = redis.Redis(host=kwargs["host"], port=kwargs["port"], decode_responses=True, protocol=2)
    other.ping()     # connected (and its CLIENT SETINFO sent) before the monitor starts
    with c.monitor() as m:
        other.set("b", "x\ty\"\n")
        other.config_get("port")                 # admin: not shown
        with pytest.raises(redis.ResponseError):
            other.execute_command("GET")         # refused before it ran: not shown
        p = other.pipeline(transaction=True)
        p.incr("n")
        p.execute()
        other.execute_command("PING")
        seen = []
        while not seen or seen[-1]["command"] != "PING":
            seen.append(m.next_command())
    commands = [s["command"] for s in seen]
    assert commands == [r'SET b x\ty"\n', "MULTI", "INCRBY n 1", "EXEC", "PING"]
    first = seen[0]
    assert first["db"] == 0 and first["client_type"] == "tcp"
    assert first["client_address"] == "127.0.0.1" and int(first["client_port"]) > 0
    assert abs(float(first["time"]) - time.time()) < 10
    # Gone with its connection: nothing left monitoring.
    assert "flags=O" not in c.execute_command("CLIENT", "LIST")
