import time

import pytest
import redis

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
NOT_INT = "value is not an integer or out of range"


def test_set_get_roundtrip(r):
    assert r.set("k", "v") is True
    assert r.get("k") == "v"
    assert r.get("missing") is None
    assert r.set("k", "") is True
    assert r.get("k") == ""


def test_set_nx_xx(r):
    assert r.set("k", "1", nx=True) is True
    assert r.set("k", "2", nx=True) is None
    assert r.get("k") == "1"
    assert r.set("other", "x", xx=True) is None
    assert r.exists("other") == 0
    assert r.set("k", "3", xx=True) is True
    assert r.get("k") == "3"


def test_set_expiry_options(r):
    r.set("k", "v", ex=100)
    assert 99 <= r.ttl("k") <= 100
    r.set("k", "v", px=100000)
    assert 99000 <= r.pttl("k") <= 100000
    r.set("k", "v", exat=int(time.time()) + 200)
    assert 198 <= r.ttl("k") <= 200
    r.set("k", "v", pxat=int(time.time() * 1000) + 300000)
    assert 298 <= r.ttl("k") <= 300
    # A plain SET clears the TTL; KEEPTTL keeps it.
    r.set("k", "v2", keepttl=True)
    assert r.ttl("k") > 0
    r.set("k", "v3")
    assert r.ttl("k") == -1


def test_set_get_option(r):
    assert r.set("k", "old", get=True) is None
    assert r.set("k", "new", get=True) == "old"
    assert r.get("k") == "new"
    # SET ... NX GET is accepted since Redis 7.0.
    assert r.set("k", "newer", nx=True, get=True) == "new"
    assert r.get("k") == "new"
    r.rpush("list", "a")
    with pytest.raises(redis.ResponseError, match="^" + WRONGTYPE):
        r.set("list", "v", get=True)
    assert r.type("list") == "list"


@pytest.mark.parametrize("args,error", [
    (["k", "v", "EX", "0"], "invalid expire time in 'set' command"),
    (["k", "v", "EX", "-1"], "invalid expire time in 'set' command"),
    (["k", "v", "PX", "0"], "invalid expire time in 'set' command"),
    (["k", "v", "EXAT", "0"], "invalid expire time in 'set' command"),
    (["k", "v", "EX", "abc"], NOT_INT),
    (["k", "v", "NX", "XX"], "syntax error"),
    (["k", "v", "EX", "10", "PX", "100"], "syntax error"),
    (["k", "v", "KEEPTTL", "EX", "10"], "syntax error"),
    (["k", "v", "BOGUS"], "syntax error"),
    (["k", "v", "EX"], "syntax error"),
])
def test_set_errors(r, args, error):
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("SET", *args)
    assert str(e.value) == error
    assert r.exists("k") == 0


def test_setnx_setex_psetex(r):
    assert r.setnx("k", "a") is True
    assert r.setnx("k", "b") is False
    assert r.get("k") == "a"
    assert r.setex("e", 100, "v") is True
    assert 99 <= r.ttl("e") <= 100
    assert r.psetex("p", 100000, "v") is True
    assert 99000 <= r.pttl("p") <= 100000
    for cmd, args in (("SETEX", ["e", "0", "v"]), ("SETEX", ["e", "-5", "v"]), ("PSETEX", ["p", "0", "v"])):
        with pytest.raises(redis.ResponseError) as e:
            r.execute_command(cmd, *args)
        assert str(e.value) == f"invalid expire time in '{cmd.lower()}' command"


def test_getset_getdel(r):
    assert r.getset("k", "a") is None
    assert r.getset("k", "b") == "a"
    assert r.getdel("k") == "b"
    assert r.exists("k") == 0
    assert r.getdel("k") is None
    r.rpush("l", "x")
    with pytest.raises(redis.ResponseError, match="^" + WRONGTYPE):
        r.getdel("l")


def test_getex(r):
    r.set("k", "v")
    assert r.getex("k", ex=100) == "v"
    assert 99 <= r.ttl("k") <= 100
    assert r.getex("k", px=50000) == "v"
    assert 49000 <= r.pttl("k") <= 50000
    assert r.getex("k", persist=True) == "v"
    assert r.ttl("k") == -1
    assert r.getex("k") == "v"
    assert r.getex("missing", ex=10) is None
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("GETEX", "k", "EX", "-1")
    assert str(e.value) == "invalid expire time in 'getex' command"
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        r.execute_command("GETEX", "k", "PERSIST", "EX", "10")


def test_mset_mget_msetnx(r):
    assert r.mset({"a": "1", "b": "2"}) is True
    assert r.mget("a", "b", "nope") == ["1", "2", None]
    r.rpush("list", "x")
    # MGET never fails on wrong types: it reports them as missing.
    assert r.mget("a", "list") == ["1", None]
    assert r.msetnx({"c": "3", "a": "x"}) is False
    assert r.exists("c") == 0
    assert r.msetnx({"c": "3", "d": "4"}) is True
    assert r.mget("c", "d") == ["3", "4"]
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("MSET", "a", "b", "c")
    assert str(e.value) == "wrong number of arguments for 'mset' command"


def test_incr_decr_family(r):
    assert r.incr("n") == 1
    assert r.incrby("n", 10) == 11
    assert r.decr("n") == 10
    assert r.decrby("n", 15) == -5
    assert r.get("n") == "-5"
    r.set("s", "abc")
    for fn in (lambda: r.incr("s"), lambda: r.incrby("n", "1.5"), lambda: r.execute_command("INCRBY", "n", "x")):
        with pytest.raises(redis.ResponseError) as e:
            fn()
        assert str(e.value) == NOT_INT
    # Leading spaces / plus signs are not integers to Redis.
    r.set("sp", " 1")
    with pytest.raises(redis.ResponseError):
        r.incr("sp")
    r.rpush("l", "x")
    with pytest.raises(redis.ResponseError, match="^" + WRONGTYPE):
        r.incr("l")


def test_incr_overflow(r):
    r.set("n", str(2**63 - 1))
    with pytest.raises(redis.ResponseError) as e:
        r.incr("n")
    assert str(e.value) == "increment or decrement would overflow"
    r.set("n", str(-2**63))
    with pytest.raises(redis.ResponseError) as e:
        r.decr("n")
    assert str(e.value) == "increment or decrement would overflow"
    with pytest.raises(redis.ResponseError) as e:
        r.decrby("n", -2**63)
    assert str(e.value) == "decrement would overflow"
    assert r.get("n") == str(-2**63)


def test_incrbyfloat(r):
    assert r.incrbyfloat("f", 10.5) == 10.5
    # The stored text is the shortest exact form, not a %.17g expansion.
    r.incrbyfloat("f", "0.1")
    assert r.get("f") == "10.6"
    r.incrbyfloat("f", "-10.6")
    assert r.get("f") == "0"
    r.set("i", "5")
    r.incrbyfloat("i", "3.0e3")
    assert r.get("i") == "3005"
    r.set("s", "abc")
    with pytest.raises(redis.ResponseError) as e:
        r.incrbyfloat("s", 1)
    assert str(e.value) == "value is not a valid float"
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("INCRBYFLOAT", "f", "inf")
    assert str(e.value) == "increment would produce NaN or Infinity"


def test_append_strlen(r):
    assert r.append("k", "Hello") == 5
    assert r.append("k", " World") == 11
    assert r.get("k") == "Hello World"
    assert r.strlen("k") == 11
    assert r.strlen("missing") == 0
    r.set("n", 12)
    assert r.append("n", "3") == 3
    assert r.incr("n") == 124


def test_getrange_substr(r):
    r.set("k", "This is a string")
    assert r.getrange("k", 0, 3) == "This"
    assert r.getrange("k", -3, -1) == "ing"
    assert r.getrange("k", 0, -1) == "This is a string"
    assert r.getrange("k", 10, 100) == "string"
    assert r.getrange("k", 5, 3) == ""
    assert r.getrange("missing", 0, 10) == ""
    assert r.execute_command("SUBSTR", "k", "0", "3") == "This"


def test_setrange(r):
    r.set("k", "Hello World")
    assert r.setrange("k", 6, "Redis") == 11
    assert r.get("k") == "Hello Redis"
    # Writing past the end pads with zero bytes.
    assert r.setrange("pad", 3, "x") == 4
    assert r.execute_command("GET", "pad") == "\x00\x00\x00x"
    # An empty value on a missing key creates nothing.
    assert r.setrange("none", 5, "") == 0
    assert r.exists("none") == 0
    with pytest.raises(redis.ResponseError) as e:
        r.setrange("k", -1, "x")
    assert str(e.value) == "offset is out of range"
    with pytest.raises(redis.ResponseError) as e:
        r.setrange("k", 512 * 1024 * 1024, "x")
    assert str(e.value) == "string exceeds maximum allowed size (proto-max-bulk-len)"


def test_lcs(r):
    # LCS is new in Redis 7.0.
    r.mset({"key1": "ohmytext", "key2": "mynewtext"})
    assert r.execute_command("LCS", "key1", "key2") == "mytext"
    assert r.execute_command("LCS", "key1", "key2", "LEN") == 6
    assert r.execute_command("LCS", "key1", "missing") == ""


def test_binary_and_large_values(rb):
    value = bytes(range(256)) * 4 + b"\r\n\x00end"
    key = b"bin\x00key\r\n"
    assert rb.set(key, value) is True
    assert rb.get(key) == value
    assert rb.strlen(key) == len(value)
    big = b"x" * (1024 * 1024) + b"!"
    rb.set("big", big)
    assert rb.get("big") == big
    assert rb.getrange("big", -1, -1) == b"!"


def test_wrongtype_on_string_commands(r):
    r.sadd("set", "m")
    for fn in (lambda: r.get("set"), lambda: r.append("set", "x"), lambda: r.strlen("set"),
               lambda: r.getrange("set", 0, 1), lambda: r.setrange("set", 0, "x"),
               lambda: r.incrbyfloat("set", 1)):
        with pytest.raises(redis.ResponseError) as e:
            fn()
        assert str(e.value) == WRONGTYPE
    # SET overwrites any type.
    assert r.set("set", "now a string") is True
    assert r.type("set") == "string"
