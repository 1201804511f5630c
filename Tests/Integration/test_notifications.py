"""Keyspace notifications (notify-keyspace-events), compared event by event with redis-server 7.0:
the same script runs against both servers and what a PSUBSCRIBE '__key*__:*' client receives
must be the same messages in the same order."""

import shutil
import time

import pytest
import redis

from conftest import server_binary
from helpers import ServerProcess, wait_until

REDIS = shutil.which("redis-server")

# One write (or read) per line, every family: strings, generic, lists, hashes, sets, sorted sets,
# bitmaps, SORT STORE, and the deletion of emptied collections.
SCRIPT = [
    ["SET", "s", "1"], ["SET", "s", "2", "EX", "100"], ["SET", "s", "3", "KEEPTTL"], ["SET", "s", "4", "NX"],
    ["SETNX", "s2", "x"], ["SETEX", "s3", "10", "v"], ["PSETEX", "s4", "1000", "v"], ["GETSET", "s", "x"],
    ["GETDEL", "s2"], ["GETEX", "s3", "EX", "50"], ["GETEX", "s3", "PERSIST"], ["GETEX", "s4", "EXAT", "1"],
    ["MSET", "a", "1", "b", "2"], ["MSETNX", "c", "1", "d", "2"], ["MSETNX", "c", "1", "zz", "2"],
    ["APPEND", "a", "xx"], ["APPEND", "new-append", "x"], ["SETRANGE", "b", "1", "zz"], ["SETRANGE", "b", "1", ""],
    ["INCR", "n"], ["DECR", "n"], ["INCRBY", "n", "5"], ["DECRBY", "n", "2"], ["INCRBYFLOAT", "f", "1.5"],
    ["SETBIT", "bits", "3", "1"], ["BITOP", "AND", "dst", "a", "b"], ["BITOP", "AND", "dst", "missing1", "missing2"],
    ["DEL", "a", "b", "nosuch"], ["UNLINK", "c"], ["EXPIRE", "d", "100"], ["PEXPIRE", "d", "100000"],
    ["EXPIRE", "d", "100", "NX"], ["EXPIREAT", "d", "1"], ["SET", "e", "1"], ["PERSIST", "e"], ["EXPIRE", "e", "100"],
    ["PERSIST", "e"], ["RENAME", "e", "e2"], ["SET", "f2", "1"], ["RENAME", "f2", "e2"], ["RENAMENX", "e2", "e3"],
    ["MOVE", "e3", "1"], ["SELECT", "1"], ["MOVE", "e3", "0"], ["SELECT", "0"], ["COPY", "e3", "e4"],
    ["COPY", "e3", "e4", "REPLACE"], ["COPY", "e3", "e5", "DB", "2"],
    ["RPUSH", "l", "a", "b", "c", "d"], ["LPUSH", "l", "z"], ["LPUSHX", "l", "y"], ["RPUSHX", "nol", "x"],
    ["LPOP", "l"], ["RPOP", "l"], ["LPOP", "l", "2"], ["LPOP", "l", "0"], ["LSET", "l", "0", "q"],
    ["LINSERT", "l", "BEFORE", "q", "p"], ["LINSERT", "l", "BEFORE", "nopivot", "p"], ["LREM", "l", "1", "p"],
    ["LTRIM", "l", "0", "0"], ["LTRIM", "l", "5", "9"], ["RPUSH", "l2", "1", "2"], ["LMOVE", "l2", "l3", "LEFT", "RIGHT"],
    ["RPOPLPUSH", "l2", "l3"], ["LMOVE", "l3", "l3", "LEFT", "LEFT"], ["LMPOP", "1", "l3", "LEFT", "COUNT", "5"],
    ["RPUSH", "bl", "1"], ["BLPOP", "bl", "0"], ["RPUSH", "bl", "1", "2"], ["BRPOP", "bl", "0"],
    ["BLMOVE", "bl", "bl2", "LEFT", "LEFT", "0"], ["BRPOPLPUSH", "bl2", "bl3", "0"], ["BLMPOP", "0", "1", "bl3", "RIGHT"],
    ["RPUSH", "sl", "3", "1", "2"], ["SORT", "sl", "STORE", "sorted"], ["SORT", "nosuch", "STORE", "sorted"],
    ["HSET", "h", "f", "1", "g", "2"], ["HSETNX", "h", "f", "1"], ["HSETNX", "h", "k", "3"], ["HINCRBY", "h", "f", "2"],
    ["HINCRBYFLOAT", "h", "f", "1.5"], ["HDEL", "h", "nosuch"], ["HDEL", "h", "f", "g", "k"], ["HMSET", "h2", "a", "1"],
    ["SADD", "s1", "a", "b", "c"], ["SADD", "s1", "a"], ["SREM", "s1", "a"], ["SREM", "s1", "zz"], ["SPOP", "s1"],
    ["SADD", "s5", "1", "2", "3"], ["SPOP", "s5", "2"], ["SPOP", "s5", "5"], ["SPOP", "s5", "0"],
    ["SADD", "x1", "a", "b"], ["SADD", "x2", "b", "c"], ["SINTERSTORE", "xi", "x1", "x2"], ["SUNIONSTORE", "xu", "x1", "x2"],
    ["SDIFFSTORE", "xd", "x1", "x2"], ["SINTERSTORE", "xi", "x1", "nosuch"], ["SMOVE", "x1", "x3", "a"],
    ["SMOVE", "x1", "x3", "b"], ["SMOVE", "x2", "x3", "b"],
    ["ZADD", "z", "1", "a", "2", "b", "3", "c"], ["ZADD", "z", "1", "a"], ["ZADD", "z", "XX", "5", "a"],
    ["ZINCRBY", "z", "1", "b"], ["ZADD", "z", "INCR", "1", "c"], ["ZREM", "z", "a"], ["ZREM", "z", "nosuch"],
    ["ZREMRANGEBYSCORE", "z", "0", "3.5"], ["ZADD", "z", "1", "a", "2", "b"], ["ZREMRANGEBYRANK", "z", "0", "0"],
    ["ZADD", "zl", "0", "a", "0", "b", "0", "c"], ["ZREMRANGEBYLEX", "zl", "[a", "[a"], ["ZPOPMIN", "zl"],
    ["ZPOPMAX", "zl"], ["ZPOPMIN", "nosuch"], ["ZADD", "zz", "1", "a", "2", "b"], ["ZRANGESTORE", "zr", "zz", "0", "-1"],
    ["ZRANGESTORE", "zr", "zz", "5", "9"], ["ZADD", "zr", "1", "a"],
    ["ZUNIONSTORE", "zu", "2", "zz", "zr"], ["ZINTERSTORE", "zi", "2", "zz", "zr"], ["ZDIFFSTORE", "zd", "2", "zz", "zr"],
    ["ZDIFFSTORE", "zi", "2", "zz", "zz"], ["ZMPOP", "1", "zz", "MIN"], ["BZPOPMAX", "zz", "0"], ["ZADD", "zz2", "1", "a"],
    ["BZMPOP", "0", "1", "zz2", "MAX"],
    # Reads emit nothing (keymiss is off); a failed write neither.
    ["GET", "nosuch"], ["LPUSH", "h2", "x"], ["FLUSHDB"],
]


def start(binary, tmp_path, name, *extra):
    p = ServerProcess(binary, str(tmp_path / name), ["--notify-keyspace-events", "AKEn", *extra])
    return p.start()


def events(proc, script):
    """What a PSUBSCRIBE '__key*__:*' client receives while `script` runs, then a marker."""
    sub = redis.Redis(host=proc.host, port=proc.port, decode_responses=True, protocol=2)
    pubsub = sub.pubsub(ignore_subscribe_messages=True)
    pubsub.psubscribe("__key*__:*")
    assert pubsub.get_message(timeout=2) is None or True
    c = redis.Redis(host=proc.host, port=proc.port, decode_responses=True, protocol=2)
    for command in script:
        try:
            c.execute_command(*command)
        except redis.ResponseError:
            pass
    c.set("the-end", "1")
    got = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        m = pubsub.get_message(timeout=1)
        if m is None:
            continue
        got.append((m["channel"], m["data"]))
        if m["channel"] == "__keyevent@0__:set" and m["data"] == "the-end":
            break
    pubsub.close()
    sub.close()
    c.close()
    return got


@pytest.mark.skipif(REDIS is None, reason="redis-server is not installed")
def test_events_as_redis_sends_them(tmp_path):
    ours = start(server_binary(), tmp_path, "swiftlet")
    theirs = start(REDIS, tmp_path, "redis")
    try:
        mine, reference = events(ours, SCRIPT), events(theirs, SCRIPT)
    finally:
        ours.stop()
        theirs.stop()
    assert len(reference) > 200
    for i, (a, b) in enumerate(zip(mine, reference)):
        assert a == b, f"event {i}: Swiftlet sent {a}, redis-server {b}; before: {reference[max(0, i - 4):i]}"
    assert len(mine) == len(reference)


def test_classes_keymiss_expired_and_evicted(make_server):
    srv = make_server(["--notify-keyspace-events", "Exm"])
    c = redis.Redis(host=srv.host, port=srv.port, decode_responses=True)
    pubsub = c.pubsub(ignore_subscribe_messages=True)
    pubsub.psubscribe("__key*__:*")
    c.set("quick", "v", px=30)
    c.set("slow", "v", px=30)
    c.get("nosuch")                 # keymiss (m)
    c.lpush("l", "x")               # list class is off: nothing
    time.sleep(0.1)
    c.get("quick")                  # expired on access, then a miss
    got = []

    def collect():
        m = pubsub.get_message(timeout=0.2)
        if m:
            got.append((m["channel"], m["data"]))
        return ("__keyevent@0__:expired", "slow") in got and ("__keyevent@0__:keymiss", "quick") in got

    # "slow" is never read again: the active expiry cycle deletes it.
    assert wait_until(collect, timeout=10)
    assert got[0] == ("__keyevent@0__:keymiss", "nosuch")
    # "quick" expired (on access, or earlier by the active cycle), then the read missed it.
    assert got.index(("__keyevent@0__:expired", "quick")) < got.index(("__keyevent@0__:keymiss", "quick"))
    assert not any(ch.startswith("__keyspace@") for ch, _ in got)      # no K: keyevent only
    # Evictions: maxmemory with allkeys-random evicts as keys are written.
    c.config_set("notify-keyspace-events", "Ke")
    c.config_set("maxmemory-policy", "allkeys-random")
    c.config_set("maxmemory", c.info("memory")["used_memory"] + 200_000)
    for i in range(3000):
        c.set(f"k{i}", "x" * 100)
    evicted = []
    while (m := pubsub.get_message(timeout=0.5)) is not None:
        evicted.append((m["channel"], m["data"]))
    assert evicted and all(ch.startswith("__keyspace@0__:") and data == "evicted" for ch, data in evicted)
    assert len(evicted) == c.info("stats")["evicted_keys"]
    c.config_set("maxmemory", 0)
    # Off again: nothing more.
    c.config_set("notify-keyspace-events", "")
    c.set("after", "1")
    c.delete("after")
    assert pubsub.get_message(timeout=0.5) is None
    pubsub.close()
    c.close()
