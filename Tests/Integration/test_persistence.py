"""RDB snapshots against real Redis tools: files Swiftlet writes pass redis-check-rdb and load
into a real redis-server 7.0 with identical data; files redis-server writes (compact encodings,
LZF compression) load into Swiftlet identically; BGSAVE is point-in-time without fork; damaged
files and failing saves lose nothing."""

import hashlib
import os
import random
import shutil
import signal
import subprocess
import time

import pytest
import redis

from conftest import server_binary
from helpers import ServerProcess, wait_until

REDIS_SERVER = shutil.which("redis-server")
REDIS_CHECK_RDB = shutil.which("redis-check-rdb")
BIG = 100_000


def client(srv, decode=False):
    return redis.Redis(host=srv.host, port=srv.port, decode_responses=decode, protocol=2, socket_timeout=30)


def populate(c):
    """Every type, 16 databases, TTLs to the millisecond, binary and empty values, integers at
    the edges of every encoding, values above 64 KiB, collections of 100 000 elements."""
    rng = random.Random(7)
    now_ms = int(time.time() * 1000)
    p = c.pipeline(transaction=False)
    p.set(b"empty", b"")
    p.set(b"\x00bin\xff\r\nkey", b"\x01\x00\xfe\r\n")
    for i, n in enumerate(["0", "-1", "127", "-128", "128", "32767", "-32768", "32768", "2147483647",
                           "-2147483648", "2147483648", "-2147483649", "9223372036854775807",
                           "-9223372036854775808", "007", "+5", "1e5", "-0"]):
        p.set(f"int:{i}", n)
    p.set(b"big:random", rng.randbytes(100 * 1024))
    p.set(b"big:text", b"swiftlet snapshot " * 12000)
    p.rpush("list:small", "a", "1", "-200", "70000", "x" * 100)
    p.sadd("set:ints", 1, 2, 3, -40000, 5000000000)
    p.sadd("set:strings", "a", "b", "c")
    p.hset("hash:small", mapping={"a": "1", "b": "two", "": "empty field"})
    p.hset("hash:long", mapping={"f": "L" * 100, "g": "1"})
    p.zadd("zset:small", {"a": 1, "b": 2.5, "c": -3, "d": float("inf"), "e": float("-inf"), "f": 1e-300})
    for k in ("ttl:a", "ttl:b"):
        p.set(k, "v")
    p.pexpireat("ttl:a", now_ms + 3_600_123)
    p.pexpireat("ttl:b", now_ms + 86_400_007)
    p.rpush("ttl:c", "x")
    p.pexpireat("ttl:c", now_ms + 7_200_999)
    p.execute()
    for start in range(0, BIG, 10_000):
        p = c.pipeline(transaction=False)
        p.rpush("list:big", *[f"e{i}" if i % 2 else str(i) for i in range(start, start + 10_000)])
        p.sadd("set:big", *[f"m{i}" for i in range(start, start + 10_000)])
        p.hset("hash:big", mapping={f"f{i}": f"v{i * 3}" for i in range(start, start + 10_000)})
        p.zadd("zset:big", {f"z{i}": i * 0.37 - 5000 for i in range(start, start + 10_000)})
        p.execute()
    for db in range(1, 16):
        c.execute_command("SELECT", db)
        c.set(f"db{db}", f"value in {db}")
        c.rpush(f"list{db}", db, db * 2)
    c.execute_command("SELECT", 0)


def dataset(c):
    """Everything a server holds: db -> key -> (type, value, absolute expiry in ms)."""
    out = {}
    for db in range(16):
        c.execute_command("SELECT", db)
        keys = list(c.scan_iter(count=1000))
        items = {}
        for k in keys:
            t = c.type(k)
            if t == b"string":
                v = c.get(k)
            elif t == b"list":
                v = c.lrange(k, 0, -1)
            elif t == b"set":
                v = sorted(c.smembers(k))
            elif t == b"hash":
                v = sorted(c.hgetall(k).items())
            elif t == b"zset":
                v = c.zrange(k, 0, -1, withscores=True)
            else:
                v = None
            items[k] = (t, v, c.execute_command("PEXPIRETIME", k))
        if items:
            out[db] = items
    c.execute_command("SELECT", 0)
    return out


def check_rdb(path):
    result = subprocess.run([REDIS_CHECK_RDB, path], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "RDB looks OK" in result.stdout, result.stdout
    return result.stdout


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


@pytest.fixture
def instances(tmp_path):
    """Factory for servers (Swiftlet or real Redis) in directories of this test; all stopped
    at teardown."""
    started = []

    def start(binary, name, extra=()):
        srv = ServerProcess(binary, str(tmp_path / name), list(extra))
        started.append(srv)
        return srv.start(ready_timeout=60)

    yield start
    for srv in started:
        srv.stop()


def test_swiftlet_dump_loads_in_redis_with_identical_data(instances):
    sw = instances(server_binary(), "swiftlet")
    c = client(sw)
    populate(c)
    expected = dataset(c)
    assert c.save()
    dump = os.path.join(sw.dir, "dump.rdb")
    report = check_rdb(dump)
    assert "Checksum OK" in report
    os.makedirs(os.path.join(os.path.dirname(sw.dir), "redis"))
    shutil.copy(dump, os.path.join(os.path.dirname(sw.dir), "redis", "dump.rdb"))
    real = instances(REDIS_SERVER, "redis")
    assert dataset(client(real)) == expected


def test_redis_dump_loads_in_swiftlet_with_identical_data(instances):
    real = instances(REDIS_SERVER, "redis")
    c = client(real)
    populate(c)
    # Redis 7.0 keeps small collections in its compact encodings and writes them as such.
    assert c.object("encoding", "hash:small") == b"listpack"
    assert c.object("encoding", "set:ints") == b"intset"
    assert c.object("encoding", "zset:small") == b"listpack"
    expected = dataset(c)
    assert c.save()
    os.makedirs(os.path.join(os.path.dirname(real.dir), "swiftlet"))
    shutil.copy(os.path.join(real.dir, "dump.rdb"), os.path.join(os.path.dirname(real.dir), "swiftlet", "dump.rdb"))
    sw = instances(server_binary(), "swiftlet")
    assert dataset(client(sw)) == expected
    with open(sw.log_path) as f:
        log = f.read()
    assert "Loading RDB produced by version 7.0" in log
    assert f"keys loaded: {sum(len(keys) for keys in expected.values())}," in log


def test_bgsave_is_a_point_in_time_snapshot_while_writes_continue(instances):
    sw = instances(server_binary(), "swiftlet", ["--rdb-key-save-delay", "500"])
    c = client(sw, decode=True)
    p = c.pipeline(transaction=False)
    for i in range(2000):
        p.set(f"k{i}", i)
    p.rpush("list", "a", "b")
    p.execute()
    assert c.bgsave() is True
    # The snapshot was taken before the reply: everything below happens after it, while the
    # background save (about 1 s with the per-key delay) is still writing.
    c.set("k0", "changed")
    c.delete("k1")
    c.set("new", "after")
    c.rpush("list", "c")
    c.incr("k2")
    info = c.info("persistence")
    assert info["rdb_bgsave_in_progress"] == 1
    with pytest.raises(redis.ResponseError, match="Background save already in progress"):
        c.bgsave()
    with pytest.raises(redis.ResponseError, match="Background save already in progress"):
        c.save()
    assert wait_until(lambda: c.info("persistence")["rdb_bgsave_in_progress"] == 0, timeout=30)
    assert c.info("persistence")["rdb_last_bgsave_status"] == "ok"
    # The live data kept every write.
    assert c.get("k0") == "changed" and c.get("k1") is None and c.get("new") == "after"
    # The file holds the state at BGSAVE time.
    check_rdb(os.path.join(sw.dir, "dump.rdb"))
    sw.stop()
    sw.start(ready_timeout=60)
    c = client(sw, decode=True)
    assert c.dbsize() == 2001
    assert c.get("k0") == "0" and c.get("k1") == "1" and c.get("k2") == "2"
    assert c.get("new") is None
    assert c.lrange("list", 0, -1) == ["a", "b"]


def test_save_bookkeeping_lastsave_and_info(instances):
    sw = instances(server_binary(), "swiftlet")
    c = client(sw, decode=True)
    c.set("a", 1)
    c.set("b", 2)
    before = c.info("persistence")
    assert before["rdb_changes_since_last_save"] == 2
    time.sleep(1.1)   # LASTSAVE has seconds resolution
    assert c.save()
    after = c.info("persistence")
    assert after["rdb_changes_since_last_save"] == 0
    assert after["rdb_saves"] == before["rdb_saves"] + 1
    assert c.lastsave().timestamp() > before["rdb_last_save_time"]
    assert after["rdb_last_save_time"] == int(c.lastsave().timestamp())


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_damaged_dump_refuses_to_start_and_is_left_untouched(instances, tmp_path, damage):
    sw = instances(server_binary(), "swiftlet")
    c = client(sw)
    populate(c)
    c.save()
    sw.stop()
    dump = os.path.join(sw.dir, "dump.rdb")
    data = bytearray(open(dump, "rb").read())
    if damage == "truncate":
        data = data[: len(data) // 2]
    else:
        data[len(data) // 3] ^= 0x5A
    open(dump, "wb").write(data)
    digest = sha(dump)
    with pytest.raises(RuntimeError):
        sw.start(ready_timeout=60, attempts=1)
    with open(sw.log_path) as f:
        log = f.read()
    assert dump in log or "dump.rdb" in log, log
    assert "byte offset" in log, log
    assert sha(dump) == digest


def test_failed_saves_answer_errors_lose_nothing_and_stop_writes(instances, tmp_path):
    target = tmp_path / "vanishing"
    target.mkdir()
    sw = instances(server_binary(), "swiftlet", ["--dir", str(target), "--save", "3600 1"])
    c = client(sw, decode=True)
    c.set("kept", "yes")
    os.rmdir(target)   # the working directory disappears under the server
    with pytest.raises(redis.ResponseError, match="Failed opening the temp RDB file"):
        c.save()
    assert c.get("kept") == "yes"
    assert c.bgsave() is True
    assert wait_until(lambda: c.info("persistence")["rdb_last_bgsave_status"] == "err", timeout=10)
    # stop-writes-on-bgsave-error: writes (and PING, as in Redis) are refused, reads are not.
    assert wait_until(lambda: _misconf(c), timeout=5)
    assert c.get("kept") == "yes"
    good = tmp_path / "good"
    good.mkdir()
    c.config_set("dir", str(good))
    assert c.config_get("dir")["dir"] == str(good)
    assert c.bgsave() is True
    assert wait_until(lambda: c.info("persistence")["rdb_last_bgsave_status"] == "ok", timeout=10)
    assert wait_until(lambda: not _misconf(c), timeout=5)
    c.set("after", "ok")
    assert os.path.exists(good / "dump.rdb")


def _misconf(c):
    try:
        c.set("probe", "x")
        return False
    except redis.ResponseError as e:
        assert str(e).startswith("MISCONF"), str(e)
        return True


def test_save_rules_trigger_a_background_save(instances):
    sw = instances(server_binary(), "swiftlet", ["--save", "1 2"])
    c = client(sw, decode=True)
    c.set("a", 1)
    time.sleep(1.5)
    assert not os.path.exists(os.path.join(sw.dir, "dump.rdb")), "one change is below the rule"
    c.set("b", 2)
    assert wait_until(lambda: os.path.exists(os.path.join(sw.dir, "dump.rdb")), timeout=10)
    assert wait_until(lambda: c.info("persistence")["rdb_changes_since_last_save"] == 0, timeout=10)


def test_flushall_saves_the_empty_dataset_when_save_rules_exist(instances):
    sw = instances(server_binary(), "swiftlet", ["--save", "3600 1"])
    c = client(sw, decode=True)
    c.set("a", 1)
    assert c.save()
    c.flushall()
    assert "0 keys read" in check_rdb(os.path.join(sw.dir, "dump.rdb"))


def test_shutdown_save_sigterm_and_restart(instances):
    sw = instances(server_binary(), "swiftlet")
    c = client(sw, decode=True)
    c.set("a", "1")
    c.shutdown(save=True)
    assert wait_until(lambda: sw.proc.poll() is not None, timeout=10)
    sw.stop()
    sw.start(ready_timeout=60)
    c = client(sw, decode=True)
    assert c.get("a") == "1"
    # SIGTERM with save rules saves first, as Redis does (NOSAVE is the default without rules).
    sw.extra_args = ["--save", "3600 1"]
    sw.stop()
    sw.start(ready_timeout=60)
    c = client(sw, decode=True)
    c.set("b", "2")
    sw.proc.send_signal(signal.SIGTERM)
    assert sw.proc.wait(timeout=10) == 0
    sw.stop()
    sw.start(ready_timeout=60)
    assert client(sw, decode=True).mget("a", "b") == ["1", "2"]


def test_debug_reload_keeps_the_data(instances):
    sw = instances(server_binary(), "swiftlet", ["--enable-debug-command", "local"])
    c = client(sw)
    populate(c)
    expected = dataset(c)
    assert c.execute_command("DEBUG", "RELOAD") == b"OK"
    assert dataset(c) == expected
    c.set("extra", "x")
    # NOSAVE reloads the file as it is: the key set after the last save is gone.
    assert c.execute_command("DEBUG", "RELOAD", "NOSAVE") == b"OK"
    assert c.get("extra") is None
    assert dataset(c) == expected
