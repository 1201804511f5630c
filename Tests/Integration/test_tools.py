"""The stock Redis tools (redis-cli, redis-benchmark) against the server."""

import os
import re
import shutil
import subprocess

import pytest

REDIS_CLI = os.environ.get("REDIS_CLI") or shutil.which("redis-cli")
REDIS_BENCHMARK = os.environ.get("REDIS_BENCHMARK") or shutil.which("redis-benchmark")

# Test names redis-benchmark 7.0 prints for its default test set.
BENCHMARK_TESTS = [
    "PING_INLINE", "PING_MBULK", "SET", "GET", "INCR", "LPUSH", "RPUSH", "LPOP", "RPOP", "SADD",
    "HSET", "SPOP", "ZADD", "ZPOPMIN", "LPUSH (needed to benchmark LRANGE)",
    "LRANGE_100 (first 100 elements)", "LRANGE_300 (first 300 elements)",
    "LRANGE_500 (first 500 elements)", "LRANGE_600 (first 600 elements)", "MSET (10 keys)",
]


def run(args, server, stdin=None, timeout=60):
    return subprocess.run(args[:1] + ["-h", server.host, "-p", str(server.port)] + args[1:],
                          input=stdin, capture_output=True, timeout=timeout)


@pytest.fixture
def cli(server, r):
    if not REDIS_CLI:
        pytest.fail("redis-cli not found (set REDIS_CLI)")

    def call(*args, stdin=None):
        return run([REDIS_CLI, *args], server, stdin=stdin)

    return call


def test_cli_ping(cli):
    p = cli("ping")
    assert p.returncode == 0
    assert p.stdout == b"PONG\n"


def test_cli_set_get(cli, r):
    assert cli("set", "greeting", "hello world").stdout == b"OK\n"
    assert cli("get", "greeting").stdout == b"hello world\n"
    assert r.get("greeting") == "hello world"
    p = cli("incr", "greeting")
    assert b"ERR value is not an integer or out of range" in p.stdout + p.stderr


def test_cli_raw_and_formatted_output(cli, r):
    r.set("multi", "line1\nline2")
    r.rpush("list", "a", "b")
    assert cli("--raw", "get", "multi").stdout == b"line1\nline2\n"
    assert cli("--no-raw", "get", "multi").stdout == b'"line1\\nline2"\n'
    assert cli("--no-raw", "get", "missing").stdout == b"(nil)\n"
    assert cli("--raw", "lrange", "list", "0", "-1").stdout == b"a\nb\n"
    assert cli("--no-raw", "lrange", "list", "0", "-1").stdout == b'1) "a"\n2) "b"\n'
    assert cli("--no-raw", "llen", "list").stdout == b"(integer) 2\n"


def test_cli_resp3_and_db_selection(cli, r):
    r.hset("h", "f", "v")
    # Map rendering as printed by redis-cli 7.0.
    assert cli("-3", "--no-raw", "hgetall", "h").stdout == b'1# "f" => "v"\n'
    assert cli("-n", "2", "set", "in2", "x").stdout == b"OK\n"
    r.execute_command("SELECT", "2")
    assert r.get("in2") == "x"


def test_cli_scan_and_stdin_argument(cli, r):
    for i in range(30):
        r.set(f"scan:{i}", i)
    r.set("other", 1)
    out = cli("--scan", "--pattern", "scan:*").stdout.split()
    assert sorted(out) == sorted(f"scan:{i}".encode() for i in range(30))
    assert cli("-x", "set", "fromstdin", stdin=b"payload\x00bytes").stdout == b"OK\n"
    assert r.strlen("fromstdin") == len(b"payload\x00bytes")


def test_cli_pipe_mode(cli, r):
    n = 5000
    payload = b"".join(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"
                       % (len(k), k, len(v), v)
                       for k, v in ((f"pipe:{i}".encode(), str(i).encode()) for i in range(n)))
    payload += b"RPUSH pipelist a b c\r\n"  # inline commands work in pipe mode too
    p = cli("--pipe", stdin=payload)
    assert p.returncode == 0, p.stdout + p.stderr
    assert b"errors: 0, replies: %d" % (n + 1) in p.stdout
    assert r.dbsize() == n + 1
    assert r.get("pipe:4999") == "4999"
    assert r.lrange("pipelist", 0, -1) == ["a", "b", "c"]


def test_cli_pipe_mode_counts_errors(cli, r):
    p = cli("--pipe", stdin=b"SET a 1\r\nLPUSH a x\r\nGET a\r\n")
    assert p.returncode == 1
    assert b"errors: 1, replies: 3" in p.stdout
    assert b"WRONGTYPE" in p.stdout + p.stderr


def run_benchmark(server, pipeline):
    if not REDIS_BENCHMARK:
        pytest.fail("redis-benchmark not found (set REDIS_BENCHMARK)")
    p = run([REDIS_BENCHMARK, "-q", "-n", "2000", "-c", "10", "-P", str(pipeline)], server, timeout=120)
    out = (p.stdout + p.stderr).decode(errors="replace")
    # -q redraws progress with carriage returns; keep the final line of each test.
    lines = [line.strip() for line in re.split(r"[\r\n]", out) if "requests per second" in line]
    results = {}
    for line in lines:
        m = re.match(r"(.+?): ([\d.]+) requests per second", line)
        if m:
            results[m.group(1)] = float(m.group(2))
    return p.returncode, out, results


@pytest.mark.parametrize("pipeline", [1, 16])
def test_benchmark_default_tests(server, r, pipeline):
    code, out, results = run_benchmark(server, pipeline)
    assert code == 0, out
    assert "rror" not in out, out  # neither "Error" nor "error" appears
    missing = [t for t in BENCHMARK_TESTS if t not in results]
    assert not missing, f"missing benchmark lines {missing}\n{out}"
    assert all(v > 0 for v in results.values())
