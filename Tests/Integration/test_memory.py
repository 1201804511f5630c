"""Memory limit and eviction against real clients: used_memory against the allocator's own count,
maxmemory under a redis-benchmark write load (RSS bound), every maxmemory-policy choosing the
keys Redis's would, OOM under noeviction, evictions replayed from the AOF, MEMORY and OBJECT
introspection, and the directives' validation as redis-server 7.0 words it."""

import os
import shutil
import subprocess
import time

import pytest
import redis

from helpers import wait_until

MB = 1024 * 1024
REDIS_BENCHMARK = shutil.which("redis-benchmark")


def client(srv, decode=True):
    return redis.Redis(host=srv.host, port=srv.port, decode_responses=decode, protocol=2, socket_timeout=30)


def info_int(c, section, field):
    return int(c.info(section)[field])


def allocator_in_use(c):
    stats = c.execute_command("MEMORY", "MALLOC-STATS")
    stats = stats.decode() if isinstance(stats, bytes) else stats
    fields = dict(line.split(":", 1) for line in stats.replace("\r", "").split("\n") if ":" in line)
    return int(fields["in_use"])


def fill(c, prefix, n, value=b"x" * 100, ttl=None, batch=1000):
    for start in range(0, n, batch):
        p = c.pipeline(transaction=False)
        for i in range(start, min(n, start + batch)):
            if ttl is None:
                p.set(f"{prefix}{i}", value)
            else:
                p.set(f"{prefix}{i}", value, ex=ttl(i))
        p.execute()


@pytest.mark.parametrize("kind", ["string", "hash", "set", "list", "zset"])
def test_used_memory_tracks_the_allocator(make_server, kind):
    """used_memory (the keyspace's accounting) grows as the allocator's own in-use count does,
    for every type: within 15 % of mallinfo2 after 100k elements."""
    srv = make_server([])
    c = client(srv, decode=False)
    base_used, base_alloc = info_int(c, "memory", "used_memory"), allocator_in_use(c)
    p = c.pipeline(transaction=False)
    for i in range(100_000):
        v = b"v%07d-%s" % (i, b"y" * (i % 50))
        if kind == "string":
            p.set(b"key:%d" % i, v)
        elif kind == "hash":
            p.hset(b"h%d" % (i % 100), b"f%d" % i, v)
        elif kind == "set":
            p.sadd(b"s%d" % (i % 100), v)
        elif kind == "list":
            p.rpush(b"l%d" % (i % 100), v)
        else:
            p.zadd(b"z%d" % (i % 100), {v: i})
        if i % 2000 == 1999:
            p.execute()
    p.execute()
    wait_until(lambda: info_int(c, "memory", "used_memory") > base_used, timeout=2)
    grown_used = info_int(c, "memory", "used_memory") - base_used
    grown_alloc = allocator_in_use(c) - base_alloc
    assert 0.85 < grown_used / grown_alloc < 1.15, (grown_used, grown_alloc)


@pytest.mark.skipif(REDIS_BENCHMARK is None, reason="redis-benchmark not installed")
def test_maxmemory_bounds_the_process_under_a_write_load(make_server):
    """redis-benchmark writes 10 million random keys' worth of SETs at maxmemory 100mb:
    used_memory stays at the limit, keys are evicted, and the process's resident memory above
    an idle server's stays within 1.3x of the limit."""
    srv = make_server(["--maxmemory", "100mb", "--maxmemory-policy", "allkeys-lru"])
    c = client(srv)
    idle_rss = info_int(c, "memory", "used_memory_rss")
    subprocess.run([REDIS_BENCHMARK, "-h", srv.host, "-p", str(srv.port), "-t", "set", "-n", "1200000",
                    "-r", "10000000", "-d", "100", "-P", "16", "-q"], check=True, capture_output=True, timeout=300)
    used = info_int(c, "memory", "used_memory")
    rss = info_int(c, "memory", "used_memory_rss")
    assert info_int(c, "stats", "evicted_keys") > 100_000
    assert used <= 100 * MB * 1.02, used
    assert rss - idle_rss <= 1.3 * 100 * MB, (rss, idle_rss)
    # The accounting is the allocator's view, not a guess: within 5 % of mallinfo2.
    assert abs(used - allocator_in_use(c)) < 0.05 * used


def test_noeviction_refuses_writes_but_serves_reads_and_deletes(make_server):
    srv = make_server(["--maxmemory-policy", "noeviction"])
    c = client(srv)
    fill(c, "k", 20_000)
    used = info_int(c, "memory", "used_memory")
    c.config_set("maxmemory", str(used - 1 * MB))
    with pytest.raises(redis.exceptions.ResponseError) as e:
        c.set("new", "v")
    assert str(e.value) == "command not allowed when used memory > 'maxmemory'."
    with pytest.raises(redis.exceptions.ResponseError, match="command not allowed when used memory"):
        c.lpush("list", "a")
    assert c.get("k1") == "x" * 100
    assert c.dbsize() == 20_000
    # Inside MULTI anything but EXEC/DISCARD is refused while over the limit.
    raw = c.connection_pool.get_connection("x")
    raw.send_command("MULTI")
    assert raw.read_response() == "OK"
    raw.send_command("GET", "k1")
    with pytest.raises(redis.exceptions.ResponseError, match="command not allowed when used memory"):
        raw.read_response()
    raw.send_command("DISCARD")
    assert raw.read_response() == "OK"
    c.connection_pool.release(raw)
    # Deleting brings memory back under the limit; then writes are taken again.
    c.delete(*[f"k{i}" for i in range(10_000)])
    def try_set():
        try:
            return c.set("new", "v")
        except redis.exceptions.ResponseError:
            return False
    assert wait_until(try_set, timeout=2)
    assert c.get("new") == "v"
    assert info_int(c, "stats", "evicted_keys") == 0


def over_limit_by(c, extra):
    """Sets maxmemory to the current use, then writes `extra` new keys."""
    c.config_set("maxmemory", str(info_int(c, "memory", "used_memory") + 256 * 1024))
    fill(c, "new", extra)


def test_allkeys_lru_keeps_the_hot_set(make_server):
    """Keys idle for seconds go before keys just read: the 500 hot keys, read between every
    batch of new writes, all survive while most of the 10k cold ones are evicted."""
    srv = make_server(["--maxmemory-policy", "allkeys-lru", "--maxmemory-samples", "10"])
    c = client(srv)
    fill(c, "cold", 10_000)
    fill(c, "hot", 500)
    time.sleep(2.2)
    c.config_set("maxmemory", str(info_int(c, "memory", "used_memory") + 256 * 1024))
    for round in range(8):
        p = c.pipeline(transaction=False)
        for i in range(500):
            p.get(f"hot{i}")
        p.execute()
        fill(c, f"new{round}-", 1000)
    assert info_int(c, "stats", "evicted_keys") > 5000
    hot = sum(c.exists(f"hot{i}") for i in range(500))
    cold = sum(c.exists(f"cold{i}") for i in range(0, 10_000, 10))
    # Sampled LRU at Redis's one-second clock: a hot key and a key written this second look
    # alike, so a few hot keys go once the cold ones are scarce in the samples.
    assert hot >= 450, hot
    assert cold < 500, cold


def test_allkeys_lfu_keeps_the_frequently_read_keys(make_server):
    srv = make_server(["--maxmemory-policy", "allkeys-lfu"])
    c = client(srv)
    fill(c, "rare", 5000)
    fill(c, "often", 200)
    p = c.pipeline(transaction=False)
    for _ in range(30):
        for i in range(200):
            p.get(f"often{i}")
    p.execute()
    assert int(c.object("freq", "often1")) > int(c.object("freq", "rare1"))
    with pytest.raises(redis.exceptions.ResponseError, match="An LFU maxmemory policy is selected, idle time not tracked"):
        c.object("idletime", "often1")
    over_limit_by(c, 5000)
    assert info_int(c, "stats", "evicted_keys") > 3000
    often = sum(c.exists(f"often{i}") for i in range(200))
    assert often >= 190, often


def test_volatile_policies_never_touch_keys_without_ttl(make_server):
    for policy in ["volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"]:
        srv = make_server(["--maxmemory-policy", policy])
        c = client(srv)
        fill(c, "persistent", 3000)
        fill(c, "ttl", 3000, ttl=lambda i: 1000 + i)
        c.config_set("maxmemory", str(info_int(c, "memory", "used_memory") - 128 * 1024))
        # The next write evicts keys with a TTL first...
        c.set("trigger", "x")
        assert info_int(c, "stats", "evicted_keys") > 0, policy
        assert all(c.exists(f"persistent{i}") for i in range(0, 3000, 7)), policy
        # ... and once those are gone, writes are refused rather than touching the others.
        c.config_set("maxmemory", "1")
        # An eviction stops at its time limit (maxmemory-eviction-tenacity) and lets the command
        # run, as Redis's does; the memory gauge carries on until nothing evictable is left.
        assert wait_until(lambda: c.dbsize() <= 3001, timeout=10), policy
        with pytest.raises(redis.exceptions.ResponseError, match="command not allowed when used memory"):
            c.set("another", "x")
        assert c.execute_command("DBSIZE") >= 3000
        assert sum(c.exists(f"persistent{i}") for i in range(3000)) == 3000, policy
        assert sum(c.exists(f"ttl{i}") for i in range(3000)) == 0, policy


def test_volatile_ttl_evicts_the_nearest_expiry_first(make_server):
    srv = make_server(["--maxmemory-policy", "volatile-ttl"])
    c = client(srv)
    fill(c, "t", 4000, ttl=lambda i: 10_000 + i * 10)
    c.config_set("maxmemory", str(info_int(c, "memory", "used_memory") - 200 * 1024))
    c.set("trigger", "x")
    evicted = info_int(c, "stats", "evicted_keys")
    assert evicted > 100
    gone = [i for i in range(4000) if not c.exists(f"t{i}")]
    # The pool approximates: the evicted keys come overwhelmingly from the nearest expiries.
    assert sum(1 for i in gone if i < 2000) >= 0.9 * len(gone), gone[:50]


def test_allkeys_random_bounds_memory(make_server):
    srv = make_server(["--maxmemory", "8mb", "--maxmemory-policy", "allkeys-random"])
    c = client(srv)
    fill(c, "r", 60_000)
    assert info_int(c, "stats", "evicted_keys") > 10_000
    assert info_int(c, "memory", "used_memory") <= 8 * MB * 1.05
    c.config_resetstat()
    assert info_int(c, "stats", "evicted_keys") == 0


def test_evictions_are_replayed_from_the_aof_and_reach_watchers(make_server):
    """Each eviction leaves as a DEL in the AOF: restarting from it gives the same keys as the
    live server had. An evicted WATCHed key makes EXEC fail."""
    srv = make_server(["--appendonly", "yes", "--appendfsync", "always", "--maxmemory-policy", "allkeys-random"])
    c = client(srv)
    fill(c, "a", 5000)
    watcher = client(srv)
    pipe = watcher.pipeline(transaction=True)
    pipe.watch(*[f"a{i}" for i in range(5000)])
    over_limit_by(c, 3000)
    assert info_int(c, "stats", "evicted_keys") > 0
    pipe.multi()
    pipe.set("a1", "changed")
    with pytest.raises(redis.exceptions.WatchError):
        pipe.execute()
    c.config_set("maxmemory", "0")
    time.sleep(0.1)  # an eviction the memory gauge was running has finished
    live = set(c.keys("*"))
    srv.stop()
    srv.start()
    c = client(srv)
    assert set(c.keys("*")) == live


def test_memory_and_object_introspection(make_server):
    srv = make_server([])
    c = client(srv)
    c.set("small", "v")
    c.set("big", "x" * 10_000)
    c.rpush("list", *range(1000))
    assert c.memory_usage("missing") is None
    assert 0 < c.memory_usage("small") < c.memory_usage("big")
    assert c.memory_usage("big") >= 10_000
    assert c.memory_usage("list", samples=0) > 1000 * 8
    with pytest.raises(redis.exceptions.ResponseError, match="syntax error"):
        c.execute_command("MEMORY", "USAGE", "small", "SAMPLE", "3")
    stats = c.memory_stats()
    assert stats["keys.count"] == 3
    assert stats["total.allocated"] == pytest.approx(info_int(c, "memory", "used_memory"), rel=0.05)
    assert "db.0" in stats
    assert "Hi Sam" in c.execute_command("MEMORY", "DOCTOR")
    assert c.execute_command("MEMORY", "PURGE") == "OK"
    # OBJECT under LRU: idle time counts from the last access; FREQ is refused.
    time.sleep(1.1)
    assert c.object("idletime", "small") >= 1
    c.get("small")
    assert c.object("idletime", "small") == 0
    with pytest.raises(redis.exceptions.ResponseError, match="An LFU maxmemory policy is not selected"):
        c.object("freq", "small")
    c.config_set("maxmemory-policy", "allkeys-lfu")
    c.set("fresh", "v")
    assert c.object("freq", "fresh") == 5


@pytest.mark.parametrize("name,value,reason", [
    ("maxmemory-samples", "0", "argument must be between 1 and 2147483647 inclusive"),
    ("maxmemory-eviction-tenacity", "101", "argument must be between 0 and 100 inclusive"),
    ("lfu-log-factor", "-1", "argument must be between 0 and 2147483647 inclusive"),
    ("lfu-decay-time", "-1", "argument must be between 0 and 2147483647 inclusive"),
    ("replica-ignore-maxmemory", "maybe", "argument must be 'yes' or 'no'"),
    ("maxmemory", "10q", "argument must be a memory value"),
])
def test_memory_directives_are_validated_like_redis(r, name, value, reason):
    with pytest.raises(redis.exceptions.ResponseError) as e:
        r.config_set(name, value)
    assert str(e.value) == f"CONFIG SET failed (possibly related to argument '{name}') - {reason}"


def test_memory_directives_round_trip(r):
    for name, value in [("maxmemory-samples", "10"), ("maxmemory-eviction-tenacity", "50"), ("lfu-log-factor", "3"),
                        ("lfu-decay-time", "7"), ("replica-ignore-maxmemory", "no"), ("maxmemory-policy", "volatile-ttl")]:
        old = r.config_get(name)[name]
        r.config_set(name, value)
        assert r.config_get(name) == {name: value}
        r.config_set(name, old)
    assert r.config_get("slave-ignore-maxmemory") == {"slave-ignore-maxmemory": "yes"} or \
        r.config_get("replica-ignore-maxmemory") == {"replica-ignore-maxmemory": "yes"}
