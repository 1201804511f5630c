import pytest
import redis

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


def test_hset_hget_hgetall(r):
    assert r.hset("h", "f1", "v1") == 1
    assert r.hset("h", mapping={"f1": "new", "f2": "v2", "f3": "v3"}) == 2
    assert r.hget("h", "f1") == "new"
    assert r.hget("h", "nope") is None
    assert r.hget("missing", "f") is None
    assert r.hgetall("h") == {"f1": "new", "f2": "v2", "f3": "v3"}
    assert r.hgetall("missing") == {}
    assert r.hlen("h") == 3
    assert r.hlen("missing") == 0


def test_hmset_hmget(r):
    assert r.hmset("h", {"a": "1", "b": "2"}) is True
    assert r.hmget("h", "a", "x", "b") == ["1", None, "2"]
    assert r.hmget("missing", "a", "b") == [None, None]


def test_hset_arity_errors(r):
    for cmd, args in (("HSET", ["h", "a"]), ("HSET", ["h", "a", "1", "b"]), ("HMSET", ["h", "a"])):
        with pytest.raises(redis.ResponseError) as e:
            r.execute_command(cmd, *args)
        assert str(e.value) == f"wrong number of arguments for '{cmd.lower()}' command"
    assert r.exists("h") == 0


def test_hdel_hexists(r):
    r.hset("h", mapping={"a": 1, "b": 2, "c": 3})
    assert r.hexists("h", "a") is True
    assert r.hexists("h", "z") is False
    assert r.hdel("h", "a", "z", "a") == 1
    assert r.hexists("h", "a") is False
    assert r.hdel("h", "b", "c") == 2
    assert r.exists("h") == 0  # emptied hashes disappear
    assert r.hdel("missing", "a") == 0


def test_hsetnx(r):
    assert r.hsetnx("h", "f", "1") == 1
    assert r.hsetnx("h", "f", "2") == 0
    assert r.hget("h", "f") == "1"


def test_hkeys_hvals_hstrlen(r):
    r.hset("h", mapping={"a": "x", "b": "yy"})
    assert sorted(r.hkeys("h")) == ["a", "b"]
    assert sorted(r.hvals("h")) == ["x", "yy"]
    # HKEYS and HVALS walk the hash in the same order.
    assert dict(zip(r.hkeys("h"), r.hvals("h"))) == {"a": "x", "b": "yy"}
    assert r.hstrlen("h", "b") == 2
    assert r.hstrlen("h", "z") == 0
    assert r.hkeys("missing") == []


def test_hincrby(r):
    assert r.hincrby("h", "n", 5) == 5
    assert r.hincrby("h", "n", -7) == -2
    r.hset("h", "s", "abc")
    with pytest.raises(redis.ResponseError) as e:
        r.hincrby("h", "s", 1)
    assert str(e.value) == "hash value is not an integer"
    r.hset("h", "big", str(2**63 - 1))
    with pytest.raises(redis.ResponseError) as e:
        r.hincrby("h", "big", 1)
    assert str(e.value) == "increment or decrement would overflow"
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("HINCRBY", "h", "n", "1.5")
    assert str(e.value) == "value is not an integer or out of range"


def test_hincrbyfloat(r):
    assert r.hincrbyfloat("h", "f", 10.5) == 10.5
    r.hincrbyfloat("h", "f", 0.1)
    assert r.hget("h", "f") == "10.6"
    r.hset("h", "i", "5")
    r.hincrbyfloat("h", "i", "3.0e3")
    assert r.hget("h", "i") == "3005"
    r.hset("h", "s", "abc")
    with pytest.raises(redis.ResponseError) as e:
        r.hincrbyfloat("h", "s", 1)
    assert str(e.value) == "hash value is not a float"
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("HINCRBYFLOAT", "h", "f", "inf")
    assert str(e.value) == "value is NaN or Infinity"


def test_hrandfield(r):
    fields = {f"f{i}": str(i) for i in range(10)}
    r.hset("h", mapping=fields)
    assert r.hrandfield("h") in fields
    picked = r.hrandfield("h", 5)
    assert len(picked) == 5 and len(set(picked)) == 5 and set(picked) <= set(fields)
    # Positive count larger than the hash: the whole hash, no repeats.
    assert sorted(r.hrandfield("h", 100)) == sorted(fields)
    # Negative count: exactly |count| picks, repeats allowed.
    picked = r.hrandfield("h", -30)
    assert len(picked) == 30 and set(picked) <= set(fields)
    pairs = r.hrandfield("h", 3, withvalues=True)
    assert len(pairs) == 6
    for f, v in zip(pairs[::2], pairs[1::2]):
        assert fields[f] == v
    assert r.hrandfield("h", 0) == []
    assert r.hrandfield("missing") is None
    assert r.hrandfield("missing", 5) == []
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("HRANDFIELD", "h", "1", "FOO")
    assert str(e.value) == "syntax error"


def test_hrandfield_withvalues_resp3(r3):
    r3.hset("h", mapping={"a": "1"})
    # RESP3 returns [field, value] pairs rather than a flat list.
    assert r3.execute_command("HRANDFIELD", "h", "1", "WITHVALUES") == [["a", "1"]]


def test_hgetall_resp3_is_a_map(raw):
    c = raw()
    c.call("HSET", "h", "a", "1")
    c.call("HELLO", "3")
    assert c.call_wire("HGETALL", "h") == b"%1\r\n$1\r\na\r\n$1\r\n1\r\n"
    assert c.call_wire("HGETALL", "missing") == b"%0\r\n"


def test_hscan_full_iteration(r):
    fields = {f"field:{i}": str(i) for i in range(500)}
    r.hset("h", mapping=fields)
    cursor, seen, calls = 0, {}, 0
    while True:
        cursor, page = r.hscan("h", cursor, count=20)
        seen.update(page)
        calls += 1
        assert calls < 5000
        if cursor == 0:
            break
    assert seen == fields
    cursor, page = r.hscan("h", 0, match="field:1?", count=1000)
    assert cursor == 0
    assert page == {f"field:1{i}": f"1{i}" for i in range(10)}
    assert r.hscan("missing", 0) == (0, {})


def test_binary_fields_and_values(rb):
    rb.hset(b"h", b"f\x00\r\n", b"v\x00\r\n")
    assert rb.hget(b"h", b"f\x00\r\n") == b"v\x00\r\n"
    assert rb.hgetall(b"h") == {b"f\x00\r\n": b"v\x00\r\n"}


def test_wrongtype(r):
    r.set("s", "v")
    for fn in (lambda: r.hset("s", "f", "v"), lambda: r.hget("s", "f"), lambda: r.hgetall("s"),
               lambda: r.hlen("s"), lambda: r.hincrby("s", "f", 1), lambda: r.hscan("s", 0)):
        with pytest.raises(redis.ResponseError) as e:
            fn()
        assert str(e.value) == WRONGTYPE
