import time

import pytest
import redis

from helpers import wait_until


def test_del_exists_unlink_type(r):
    r.set("s", "v")
    r.rpush("l", "a")
    r.hset("h", "f", "v")
    r.sadd("st", "m")
    r.zadd("z", {"m": 1})
    assert [r.type(k) for k in ("s", "l", "h", "st", "z", "none")] == \
        ["string", "list", "hash", "set", "zset", "none"]
    # EXISTS counts repeated keys once per occurrence.
    assert r.exists("s", "s", "none") == 2
    assert r.delete("s", "l", "none") == 2
    assert r.unlink("h", "st", "none") == 2
    assert r.exists("s", "l", "h", "st") == 0
    assert r.delete("none") == 0


def test_keys_pattern(r):
    r.mset({"hello": 1, "hallo": 1, "hxllo": 1, "hllo": 1, "heeeello": 1, "a[b": 1})
    assert sorted(r.keys("h?llo")) == ["hallo", "hello", "hxllo"]
    assert sorted(r.keys("h*llo")) == ["hallo", "heeeello", "hello", "hllo", "hxllo"]
    assert sorted(r.keys("h[ae]llo")) == ["hallo", "hello"]
    assert sorted(r.keys("h[^e]llo")) == ["hallo", "hxllo"]
    assert sorted(r.keys("h[a-b]llo")) == ["hallo"]
    assert r.keys("a\\[b") == ["a[b"]
    assert len(r.keys("*")) == 6
    assert r.keys("nomatch*") == []


def test_expire_ttl_pttl_persist(r):
    assert r.expire("missing", 10) is False
    assert r.ttl("missing") == -2
    assert r.pttl("missing") == -2
    r.set("k", "v")
    assert r.ttl("k") == -1
    assert r.pttl("k") == -1
    assert r.expire("k", 100) is True
    assert 99 <= r.ttl("k") <= 100
    assert 99000 <= r.pttl("k") <= 100000
    assert r.pexpire("k", 50000) is True
    assert 49 <= r.ttl("k") <= 50
    assert r.persist("k") is True
    assert r.persist("k") is False
    assert r.ttl("k") == -1


def test_expire_options_nx_xx_gt_lt(r):
    # The NX/XX/GT/LT flags are new in Redis 7.0.
    r.set("k", "v")
    assert r.expire("k", 100, xx=True) is False   # no TTL yet
    assert r.expire("k", 100, gt=True) is False   # no TTL counts as infinite
    assert r.ttl("k") == -1
    assert r.expire("k", 100, nx=True) is True
    assert r.expire("k", 200, nx=True) is False
    assert r.expire("k", 50, gt=True) is False
    assert r.expire("k", 200, gt=True) is True
    assert r.expire("k", 300, lt=True) is False
    assert r.expire("k", 50, lt=True) is True
    assert 49 <= r.ttl("k") <= 50
    assert r.expire("k", 60, xx=True) is True
    r.set("p", "v")
    assert r.pexpire("p", 100000, lt=True) is True  # infinite > anything


@pytest.mark.parametrize("flags,error", [
    (["NX", "XX"], "NX and XX, GT or LT options at the same time are not compatible"),
    (["NX", "GT"], "NX and XX, GT or LT options at the same time are not compatible"),
    (["GT", "LT"], "GT and LT options at the same time are not compatible"),
    (["FOO"], "Unsupported option FOO"),
])
def test_expire_option_errors(r, flags, error):
    r.set("k", "v")
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("EXPIRE", "k", "10", *flags)
    assert str(e.value) == error


def test_expire_invalid_and_past_times(r):
    r.set("k", "v")
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("EXPIRE", "k", "abc")
    assert str(e.value) == "value is not an integer or out of range"
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("EXPIRE", "k", str(2**63 - 1))
    assert str(e.value) == "invalid expire time in 'expire' command"
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("PEXPIRE", "k", str(2**63 - 1))
    assert str(e.value) == "invalid expire time in 'pexpire' command"
    # A time in the past deletes the key immediately.
    assert r.expire("k", -1) is True
    assert r.exists("k") == 0
    r.set("k", "v")
    assert r.expireat("k", 1) is True
    assert r.exists("k") == 0
    r.set("k", "v")
    assert r.pexpireat("k", 1) is True
    assert r.exists("k") == 0


def test_expireat_expiretime(r):
    # EXPIRETIME / PEXPIRETIME are new in Redis 7.0.
    assert r.expiretime("missing") == -2
    r.set("k", "v")
    assert r.expiretime("k") == -1
    assert r.execute_command("PEXPIRETIME", "k") == -1
    at = int(time.time()) + 1000
    assert r.expireat("k", at) is True
    assert r.expiretime("k") == at
    assert r.execute_command("PEXPIRETIME", "k") == at * 1000
    assert r.pexpireat("k", at * 1000 + 123) is True
    assert r.execute_command("PEXPIRETIME", "k") == at * 1000 + 123
    assert r.expiretime("k") == at


def test_lazy_expiry(r):
    r.set("k", "v", px=50)
    r.hset("h", "f", "v")
    r.pexpire("h", 50)
    time.sleep(0.12)
    assert r.get("k") is None
    assert r.exists("h") == 0
    assert r.ttl("k") == -2
    assert r.type("h") == "none"


def test_active_expiry(r):
    # Nothing touches these keys: only the server's background cycle can
    # remove them, and DBSIZE does not expire anything itself.
    with r.pipeline(transaction=False) as p:
        for i in range(100):
            p.set(f"vol:{i}", "v", px=100)
        p.set("persistent", "v")
        p.execute()
    assert r.dbsize() == 101
    assert wait_until(lambda: r.dbsize() == 1, timeout=5.0), f"dbsize stuck at {r.dbsize()}"
    assert r.get("persistent") == "v"


def test_debug_set_active_expire(debug_client):
    r = debug_client
    assert r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0") == "OK"
    for i in range(20):
        r.set(f"vol:{i}", "v", px=30)
    time.sleep(0.5)
    assert r.dbsize() == 20  # no active cycle: keys stay until touched
    assert r.get("vol:0") is None
    assert r.dbsize() == 19
    assert r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "1") == "OK"
    assert wait_until(lambda: r.dbsize() == 0, timeout=5.0)


def test_expiry_of_overwritten_key(r):
    r.set("k", "v", px=100)
    r.set("k", "v2")  # SET without KEEPTTL discards the TTL
    time.sleep(0.15)
    assert r.get("k") == "v2"
    # Non-SET writes keep the TTL.
    r.rpush("l", "a")
    r.expire("l", 100)
    r.rpush("l", "b")
    assert r.ttl("l") > 0
    r.set("n", 1, ex=100)
    r.incr("n")
    assert r.ttl("n") > 0


def _scan_all(r, **kwargs):
    cursor, seen, calls = 0, [], 0
    while True:
        cursor, keys = r.scan(cursor=cursor, **kwargs)
        seen.extend(keys)
        calls += 1
        assert calls < 10000, "SCAN did not terminate"
        if cursor == 0:
            return seen, calls


def test_scan_full_iteration(r):
    with r.pipeline(transaction=False) as p:
        for i in range(1000):
            p.set(f"key:{i}", i)
        for i in range(50):
            p.rpush(f"list:{i}", "x")
        p.execute()
    seen, calls = _scan_all(r, count=10)
    assert set(seen) == {f"key:{i}" for i in range(1000)} | {f"list:{i}" for i in range(50)}
    assert calls > 1
    seen, _ = _scan_all(r, match="key:1*", count=50)
    assert set(seen) == {f"key:{i}" for i in range(1000) if str(i).startswith("1")}
    seen, _ = _scan_all(r, _type="list", count=100)
    assert set(seen) == {f"list:{i}" for i in range(50)}
    seen, _ = _scan_all(r, _type="hash")
    assert seen == []


def test_scan_cursor_and_errors(r):
    cursor, keys = r.scan(0)
    assert cursor == 0 and keys == []
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("SCAN", "abc")
    assert str(e.value) == "invalid cursor"
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("SCAN", "0", "COUNT", "0")
    assert str(e.value) == "syntax error"
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("SCAN", "0", "BOGUS", "1")
    assert str(e.value) == "syntax error"


def test_scan_reply_shape_raw(raw):
    c = raw()
    c.call("SET", "a", "1")
    reply = c.call("SCAN", "0", "COUNT", "100")
    assert reply == [b"0", [b"a"]]  # cursor is a bulk string


def test_rename_renamenx(r):
    r.set("a", "1", ex=100)
    assert r.rename("a", "b") is True
    assert r.exists("a") == 0
    assert r.get("b") == "1"
    assert r.ttl("b") > 0  # TTL travels with the value
    r.rpush("l", "x")
    assert r.rename("l", "b") is True  # overwrites any type
    assert r.type("b") == "list"
    assert r.ttl("b") == -1
    r.set("c", "v")
    assert r.renamenx("c", "b") is False
    assert r.renamenx("c", "d") is True
    with pytest.raises(redis.ResponseError) as e:
        r.rename("missing", "x")
    assert str(e.value) == "no such key"
    with pytest.raises(redis.ResponseError) as e:
        r.renamenx("missing", "x")
    assert str(e.value) == "no such key"
    assert r.rename("d", "d") is True  # same name: OK when the key exists


def test_move(r):
    r.set("k", "v")
    assert r.move("k", 1) is True
    assert r.exists("k") == 0
    r.execute_command("SELECT", "1")
    assert r.get("k") == "v"
    r.set("k2", "in1")
    r.execute_command("SELECT", "0")
    r.set("k2", "in0")
    assert r.move("k2", 1) is False  # target exists
    assert r.move("missing", 1) is False
    with pytest.raises(redis.ResponseError) as e:
        r.move("k2", 0)
    assert str(e.value) == "source and destination objects are the same"
    with pytest.raises(redis.ResponseError) as e:
        r.move("k2", 99)
    assert str(e.value) == "DB index is out of range"


def test_copy(r):
    r.rpush("src", "a", "b")
    r.expire("src", 100)
    assert r.copy("src", "dst") is True
    assert r.lrange("dst", 0, -1) == ["a", "b"]
    assert r.ttl("dst") > 0
    # The copy is independent of the source.
    r.rpush("dst", "c")
    assert r.llen("src") == 2
    assert r.copy("src", "dst") is False
    assert r.copy("src", "dst", replace=True) is True
    assert r.llen("dst") == 2
    assert r.copy("missing", "x") is False
    assert r.copy("src", "src2", destination_db=2) is True
    r.execute_command("SELECT", "2")
    assert r.lrange("src2", 0, -1) == ["a", "b"]
    with pytest.raises(redis.ResponseError) as e:
        r.copy("src2", "src2")
    assert str(e.value) == "source and destination objects are the same"


def test_sort_basics(r):
    r.rpush("nums", 3, 1, 2, 10)
    assert r.sort("nums") == ["1", "2", "3", "10"]
    assert r.sort("nums", desc=True) == ["10", "3", "2", "1"]
    assert r.sort("nums", alpha=True) == ["1", "10", "2", "3"]
    assert r.sort("nums", start=1, num=2) == ["2", "3"]
    assert r.sort("nums", store="out") == 4
    assert r.lrange("out", 0, -1) == ["1", "2", "3", "10"]
    r.sadd("set", "b", "a", "c")
    assert r.sort("set", alpha=True) == ["a", "b", "c"]
    r.zadd("z", {"x": 3, "y": 1, "z": 2})
    assert r.sort("z", alpha=True) == ["x", "y", "z"]
    assert r.sort("missing") == []
    r.mset({"w_1": 30, "w_2": 20, "w_3": 10, "o_1": "one", "o_2": "two", "o_3": "three"})
    r.rpush("ids", 1, 2, 3)
    assert r.sort("ids", by="w_*") == ["3", "2", "1"]
    assert r.sort("ids", by="w_*", get=["#", "o_*"]) == ["3", "three", "2", "two", "1", "one"]
    assert r.sort("ids", by="nosort") == ["1", "2", "3"]
    r.rpush("mixed", 1, "b")
    with pytest.raises(redis.ResponseError) as e:
        r.sort("mixed")
    assert str(e.value) == "One or more scores can't be converted into double"
    r.set("str", "v")
    with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
        r.sort("str")


def test_sort_ro(r):
    # SORT_RO is new in Redis 7.0.
    r.rpush("l", "c", "a", "b")
    assert r.execute_command("SORT_RO", "l", "ALPHA") == ["a", "b", "c"]
    assert r.execute_command("SORT_RO", "l", "ALPHA", "DESC", "LIMIT", "0", "2") == ["c", "b"]
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("SORT_RO", "l", "STORE", "dst")
    assert str(e.value) == "syntax error"


def test_object_encoding(r):
    # Encoding names are those of Redis 7.0 (7.2 renamed small lists/sets).
    r.set("int", 12345)
    r.set("emb", "short")
    r.set("raw", "x" * 100)
    r.rpush("list", "a")
    r.hset("hash", "f", "v")
    r.sadd("intset", 1, 2, 3)
    r.sadd("strset", "a")
    r.zadd("zset", {"a": 1})
    enc = {k: r.object("ENCODING", k) for k in ("int", "emb", "raw", "list", "hash", "intset", "strset", "zset")}
    assert enc == {"int": "int", "emb": "embstr", "raw": "raw", "list": "quicklist", "hash": "listpack",
                   "intset": "intset", "strset": "hashtable", "zset": "listpack"}
    assert r.object("ENCODING", "missing") is None
    # Large collections switch to the general encodings.
    r.hset("bighash", mapping={f"f{i}": i for i in range(600)})  # > hash-max-listpack-entries 512
    assert r.object("ENCODING", "bighash") == "hashtable"
    r.zadd("bigz", {f"m{i}": i for i in range(200)})
    assert r.object("ENCODING", "bigz") == "skiplist"
    r.sadd("intset", "notanint")
    assert r.object("ENCODING", "intset") == "hashtable"


def test_object_idletime_refcount_help(r):
    r.set("k", "some value")
    assert r.object("IDLETIME", "k") == 0
    assert isinstance(r.object("REFCOUNT", "k"), int)
    assert r.object("REFCOUNT", "missing") is None
    assert isinstance(r.execute_command("OBJECT", "HELP"), list)
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("OBJECT", "FOO", "k")
    assert str(e.value) == "unknown subcommand 'FOO'. Try OBJECT HELP."


def test_randomkey(r):
    assert r.randomkey() is None
    r.mset({"a": 1, "b": 2, "c": 3})
    seen = {r.randomkey() for _ in range(100)}
    assert seen <= {"a", "b", "c"}
    assert len(seen) >= 2


def test_touch(r):
    r.mset({"a": 1, "b": 2})
    assert r.touch("a", "b", "missing") == 2


def test_dbsize_flush_and_select_isolation(r):
    r.set("k", "db0")
    r.execute_command("SELECT", "3")
    assert r.get("k") is None
    r.set("k", "db3")
    assert r.dbsize() == 1
    r.execute_command("SELECT", "0")
    assert r.get("k") == "db0"


def test_wrong_arity_and_type_messages(r):
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("EXPIRE", "k")
    assert str(e.value) == "wrong number of arguments for 'expire' command"
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("DEL")
    assert str(e.value) == "wrong number of arguments for 'del' command"
