import pytest
import redis

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


def test_sadd_srem_smembers(r):
    assert r.sadd("s", "a", "b", "a") == 2
    assert r.sadd("s", "b", "c") == 1
    assert r.smembers("s") == {"a", "b", "c"}
    assert r.scard("s") == 3
    assert r.srem("s", "a", "z") == 1
    assert r.smembers("s") == {"b", "c"}
    assert r.srem("s", "b", "c") == 2
    assert r.exists("s") == 0
    assert r.smembers("missing") == set()
    assert r.scard("missing") == 0
    assert r.srem("missing", "a") == 0


def test_sismember_smismember(r):
    r.sadd("s", "a", "1")
    assert r.sismember("s", "a") == 1
    assert r.sismember("s", "b") == 0
    assert r.sismember("missing", "a") == 0
    assert r.smismember("s", ["a", "b", "1"]) == [1, 0, 1]


def test_integer_members_round_trip(r):
    # Integer-looking members keep their exact text.
    r.sadd("s", "1", "-5", "10", "007", "1.0")
    assert r.smembers("s") == {"1", "-5", "10", "007", "1.0"}
    assert r.sismember("s", "7") == 0


def test_spop_srandmember(r):
    members = {f"m{i}" for i in range(20)}
    r.sadd("s", *members)
    popped = r.spop("s")
    assert popped in members
    assert r.scard("s") == 19
    many = r.spop("s", 5)
    assert len(many) == 5 and set(many) <= members and popped not in many
    assert r.scard("s") == 14
    rest = r.spop("s", 100)
    assert len(rest) == 14
    assert r.exists("s") == 0
    assert r.spop("missing") is None
    assert r.spop("missing", 3) == []
    r.sadd("s", *members)
    assert r.srandmember("s") in members
    picked = r.srandmember("s", 5)
    assert len(set(picked)) == 5
    assert sorted(r.srandmember("s", 50)) == sorted(members)
    picked = r.srandmember("s", -50)
    assert len(picked) == 50 and set(picked) <= members
    assert r.scard("s") == 20  # SRANDMEMBER never removes
    assert r.srandmember("missing") is None
    assert r.srandmember("missing", 5) == []
    with pytest.raises(redis.ResponseError) as e:
        r.spop("s", -1)
    assert str(e.value) == "value is out of range, must be positive"


def test_spop_count_resp3_is_a_set(raw):
    c = raw()
    c.call("HELLO", "3")
    # Redis 7.0 replies to SPOP with a count using the RESP3 set type.
    assert c.call_wire("SPOP", "missing", "2") == b"~0\r\n"
    c.call("SADD", "s", "a")
    assert c.call_wire("SPOP", "s", "5") == b"~1\r\n$1\r\na\r\n"
    c.call("SADD", "s", "a")
    assert c.call_wire("SMEMBERS", "s") == b"~1\r\n$1\r\na\r\n"
    assert c.call_wire("SRANDMEMBER", "s", "1") == b"*1\r\n$1\r\na\r\n"


def test_smove(r):
    r.sadd("src", "a", "b")
    r.sadd("dst", "c")
    assert r.smove("src", "dst", "a") is True
    assert r.smembers("src") == {"b"}
    assert r.smembers("dst") == {"a", "c"}
    assert r.smove("src", "dst", "zz") is False
    assert r.smove("missing", "dst", "a") is False
    assert r.smove("src", "new", "b") is True
    assert r.exists("src") == 0
    r.set("str", "x")
    r.sadd("src", "q")
    with pytest.raises(redis.ResponseError) as e:
        r.smove("src", "str", "q")
    assert str(e.value) == WRONGTYPE


def test_set_algebra(r):
    r.sadd("a", "1", "2", "3", "4")
    r.sadd("b", "3", "4", "5")
    r.sadd("c", "4", "6")
    assert r.sinter("a", "b") == {"3", "4"}
    assert r.sinter("a", "b", "c") == {"4"}
    assert r.sinter("a", "missing") == set()
    assert r.sunion("a", "b", "missing") == {"1", "2", "3", "4", "5"}
    assert r.sdiff("a", "b") == {"1", "2"}
    assert r.sdiff("a", "b", "c") == {"1", "2"}
    assert r.sdiff("missing", "a") == set()
    assert r.sdiff("a", "missing") == {"1", "2", "3", "4"}


def test_set_algebra_store(r):
    r.sadd("a", "1", "2", "3")
    r.sadd("b", "2", "3", "4")
    assert r.sinterstore("dst", "a", "b") == 2
    assert r.smembers("dst") == {"2", "3"}
    assert r.sunionstore("dst", "a", "b") == 4
    assert r.sdiffstore("dst", "a", "b") == 1
    assert r.smembers("dst") == {"1"}
    # An empty result deletes the destination, whatever its type.
    r.set("dst2", "string")
    assert r.sinterstore("dst2", "a", "missing") == 0
    assert r.exists("dst2") == 0
    # The destination may be one of the sources.
    assert r.sunionstore("a", "a", "b") == 4
    assert r.smembers("a") == {"1", "2", "3", "4"}


def test_sintercard(r):
    # SINTERCARD is new in Redis 7.0.
    r.sadd("a", "1", "2", "3", "4")
    r.sadd("b", "2", "3", "4", "5")
    assert r.sintercard(2, ["a", "b"]) == 3
    assert r.sintercard(2, ["a", "b"], limit=2) == 2
    assert r.sintercard(2, ["a", "b"], limit=0) == 3
    assert r.sintercard(2, ["a", "missing"]) == 0
    for args, error in (
        (["0", "a"], "numkeys should be greater than 0"),
        (["3", "a", "b"], "Number of keys can't be greater than number of args"),
        (["1", "a", "LIMIT", "-1"], "LIMIT can't be negative"),
    ):
        with pytest.raises(redis.ResponseError) as e:
            r.execute_command("SINTERCARD", *args)
        assert str(e.value) == error


def test_sscan_full_iteration(r):
    members = {f"m:{i}" for i in range(700)}
    r.sadd("s", *members)
    cursor, seen, calls = 0, set(), 0
    while True:
        cursor, page = r.sscan("s", cursor, count=25)
        seen.update(page)
        calls += 1
        assert calls < 5000
        if cursor == 0:
            break
    assert seen == members
    r.sadd("ints", *range(100))  # small intsets come back in one page
    cursor, page = r.sscan("ints", 0, match="9*")
    assert cursor == 0 and set(page) == {"9"} | {str(i) for i in range(90, 100)}


def test_wrongtype(r):
    r.set("str", "v")
    r.sadd("s", "a")
    for fn in (lambda: r.sadd("str", "a"), lambda: r.smembers("str"), lambda: r.sinter("s", "str"),
               lambda: r.sunion("s", "str"), lambda: r.sdiff("missing", "str"), lambda: r.scard("str")):
        with pytest.raises(redis.ResponseError) as e:
            fn()
        assert str(e.value) == WRONGTYPE
