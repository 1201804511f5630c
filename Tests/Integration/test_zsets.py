import pytest
import redis

from helpers import Background, wait_blocked

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


def scored(reply):
    """Normalise a [key, [[member, score], ...]] reply: redis-py leaves some
    scores as raw bytes, the test only cares about their numeric value."""
    key, pairs = reply
    return [key, [(m, float(s)) for m, s in pairs]]


def flat_pairs(items):
    return [(m, float(s)) for m, s in zip(items[::2], items[1::2])]


def test_zadd_zscore_zcard(r):
    assert r.zadd("z", {"a": 1, "b": 2.5, "c": -3}) == 3
    assert r.zadd("z", {"a": 10, "d": 4}) == 1
    assert r.zscore("z", "a") == 10.0
    assert r.zscore("z", "nope") is None
    assert r.zscore("missing", "a") is None
    assert r.zcard("z") == 4
    assert r.zcard("missing") == 0
    assert r.zmscore("z", ["a", "nope", "c"]) == [10.0, None, -3.0]


def test_zadd_flags(r):
    r.zadd("z", {"a": 5})
    assert r.zadd("z", {"a": 1, "b": 1}, nx=True) == 1
    assert r.zscore("z", "a") == 5.0
    assert r.zadd("z", {"a": 7, "c": 1}, xx=True) == 0
    assert r.zscore("z", "a") == 7.0 and r.zscore("z", "c") is None
    assert r.zadd("z", {"a": 6}, gt=True) == 0
    assert r.zscore("z", "a") == 7.0
    assert r.zadd("z", {"a": 8}, gt=True, ch=True) == 1
    assert r.zadd("z", {"a": 9}, lt=True, ch=True) == 0
    assert r.zadd("z", {"a": 2, "new": 1}, lt=True, ch=True) == 2
    # GT/LT never prevent adding new members.
    assert r.zadd("z", {"fresh": 100}, gt=True) == 1
    assert r.zadd("z", {"b": 1}, ch=True) == 0  # same score: not a change


def test_zadd_incr(r):
    assert r.zadd("z", {"a": 2}, incr=True) == 2.0
    assert r.zadd("z", {"a": 3}, incr=True) == 5.0
    assert r.zadd("z", {"a": 1}, incr=True, nx=True) is None  # aborted by NX
    assert r.zadd("z", {"b": 1}, incr=True, xx=True) is None
    assert r.zscore("z", "a") == 5.0


@pytest.mark.parametrize("args,error", [
    (["NX", "XX", "1", "a"], "XX and NX options at the same time are not compatible"),
    (["GT", "LT", "1", "a"], "GT, LT, and/or NX options at the same time are not compatible"),
    (["NX", "GT", "1", "a"], "GT, LT, and/or NX options at the same time are not compatible"),
    (["INCR", "1", "a", "2", "b"], "INCR option supports a single increment-element pair"),
    (["abc", "a"], "value is not a valid float"),
    (["nan", "a"], "value is not a valid float"),
    (["1", "a", "2"], "syntax error"),
])
def test_zadd_errors(r, args, error):
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("ZADD", "z", *args)
    assert str(e.value) == error
    assert r.exists("z") == 0


def test_resp3_scores_are_doubles(r3):
    r3.zadd("z", {"a": 1.5, "b": 3})
    assert r3.zrange("z", 0, -1, withscores=True) == [["a", 1.5], ["b", 3.0]]
    assert r3.zscore("z", "b") == 3.0
    assert r3.zincrby("z", 1, "a") == 2.5


def test_score_text_on_the_wire(raw):
    c = raw()
    c.call("ZADD", "z", "0.1", "x", "3", "int", "+inf", "i", "-inf", "n", "1e20", "big", "-0.5", "neg")
    c.call("ZINCRBY", "z", "0.2", "x")
    wire = {m: c.call("ZSCORE", "z", m) for m in ("x", "int", "i", "n", "big", "neg")}
    assert wire == {"x": b"0.30000000000000004", "int": b"3", "i": b"inf", "n": b"-inf",
                    "big": b"1e+20", "neg": b"-0.5"}
    c.call("HELLO", "3")
    assert c.call_wire("ZSCORE", "z", "int") == b",3\r\n"
    assert c.call_wire("ZSCORE", "z", "i") == b",inf\r\n"
    assert c.call_wire("ZSCORE", "z", "missing") == b"_\r\n"
    assert c.call_wire("ZRANGE", "z", "0", "0", "WITHSCORES") == b"*1\r\n*2\r\n$1\r\nn\r\n,-inf\r\n"


def test_zincrby(r):
    assert r.zincrby("z", 2, "a") == 2.0
    assert r.zincrby("z", -5, "a") == -3.0
    r.zadd("z", {"b": 1})
    assert r.zincrby("z", "+inf", "b") == float("inf")
    with pytest.raises(redis.ResponseError) as e:
        r.zincrby("z", "-inf", "b")
    assert str(e.value) == "resulting score is not a number (NaN)"
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("ZINCRBY", "z", "abc", "a")
    assert str(e.value) == "value is not a valid float"


def test_zrange_by_index(r):
    r.zadd("z", {"a": 1, "b": 2, "c": 3, "d": 4})
    assert r.zrange("z", 0, -1) == ["a", "b", "c", "d"]
    assert r.zrange("z", 1, 2) == ["b", "c"]
    assert r.zrange("z", -2, -1, withscores=True) == [("c", 3.0), ("d", 4.0)]
    assert r.zrange("z", 0, 1, desc=True) == ["d", "c"]
    assert r.zrevrange("z", 0, 0) == ["d"]
    assert r.zrange("z", 5, 10) == []
    assert r.zrange("missing", 0, -1) == []
    # Equal scores order lexicographically.
    r.zadd("tie", {"b": 1, "a": 1, "c": 1})
    assert r.zrange("tie", 0, -1) == ["a", "b", "c"]


def test_zrange_by_score(r):
    r.zadd("z", {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5})
    assert r.zrangebyscore("z", 2, 4) == ["b", "c", "d"]
    assert r.zrangebyscore("z", "(2", "(4") == ["c"]
    assert r.zrangebyscore("z", "-inf", "+inf", start=1, num=2) == ["b", "c"]
    assert r.zrevrangebyscore("z", 4, 2) == ["d", "c", "b"]
    assert r.zrange("z", "(1", 3, byscore=True, withscores=True) == [("b", 2.0), ("c", 3.0)]
    assert r.zrange("z", 5, 3, byscore=True, desc=True, offset=1, num=1) == ["d"]
    assert r.zrangebyscore("z", 3, 2) == []
    assert r.zcount("z", "(1", 3) == 2
    assert r.zcount("z", "-inf", "+inf") == 5
    with pytest.raises(redis.ResponseError) as e:
        r.zrangebyscore("z", "a", "b")
    assert str(e.value) == "min or max is not a float"


def test_zrange_by_lex(r):
    r.zadd("z", {m: 0 for m in "abcdefg"})
    assert r.zrangebylex("z", "-", "+") == list("abcdefg")
    assert r.zrangebylex("z", "[b", "(e") == ["b", "c", "d"]
    assert r.zrangebylex("z", "(b", "[d", start=1, num=5) == ["d"]
    assert r.zrevrangebylex("z", "[c", "-") == ["c", "b", "a"]
    assert r.zlexcount("z", "[c", "+") == 5
    assert r.zrange("z", "[a", "[c", bylex=True) == ["a", "b", "c"]
    with pytest.raises(redis.ResponseError) as e:
        r.zrangebylex("z", "a", "b")
    assert str(e.value) == "min or max not valid string range item"


def test_zrange_syntax_errors(r):
    r.zadd("z", {"a": 1})
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("ZRANGE", "z", "0", "-1", "LIMIT", "0", "1")
    assert str(e.value) == "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("ZRANGE", "z", "0", "-1", "BYLEX")
    assert str(e.value) == "min or max not valid string range item"


def test_zrangestore(r):
    # ZRANGESTORE is new in Redis 6.2.
    r.zadd("z", {"a": 1, "b": 2, "c": 3})
    assert r.zrangestore("dst", "z", 0, 1) == 2
    assert r.zrange("dst", 0, -1, withscores=True) == [("a", 1.0), ("b", 2.0)]
    assert r.zrangestore("dst", "z", 10, 20) == 0
    assert r.exists("dst") == 0


def test_zrank_zrevrank_zrem(r):
    r.zadd("z", {"a": 1, "b": 2, "c": 3})
    assert r.zrank("z", "a") == 0
    assert r.zrevrank("z", "a") == 2
    assert r.zrank("z", "nope") is None
    assert r.zrem("z", "a", "nope") == 1
    assert r.zrem("z", "b", "c") == 2
    assert r.exists("z") == 0


def test_zremrange(r):
    r.zadd("z", {m: i for i, m in enumerate("abcdefgh")})
    assert r.zremrangebyrank("z", 0, 1) == 2
    assert r.zremrangebyscore("z", "(2", 4) == 2
    assert r.zrange("z", 0, -1) == ["c", "f", "g", "h"]
    r.zadd("lex", {m: 0 for m in "abcde"})
    assert r.zremrangebylex("lex", "[b", "(d") == 2
    assert r.zrange("lex", 0, -1) == ["a", "d", "e"]


def test_zpopmin_zpopmax(r):
    r.zadd("z", {"a": 1, "b": 2, "c": 3})
    assert r.zpopmin("z") == [("a", 1.0)]
    assert r.zpopmax("z", 5) == [("c", 3.0), ("b", 2.0)]
    assert r.exists("z") == 0
    assert r.zpopmin("missing") == []


def test_zmpop(r):
    # ZMPOP is new in Redis 7.0.
    r.zadd("b", {"x": 1, "y": 2, "z": 3})
    assert scored(r.zmpop(2, ["a", "b"], min=True)) == ["b", [("x", 1.0)]]
    assert scored(r.zmpop(2, ["a", "b"], max=True, count=10)) == ["b", [("z", 3.0), ("y", 2.0)]]
    assert r.zmpop(1, ["b"], min=True) is None
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("ZMPOP", "1", "b", "FOO")
    assert str(e.value) == "syntax error"


def test_zunionstore_zinterstore(r):
    r.zadd("a", {"x": 1, "y": 2})
    r.zadd("b", {"y": 3, "z": 4})
    assert r.zunionstore("u", ["a", "b"]) == 3
    assert r.zrange("u", 0, -1, withscores=True) == [("x", 1.0), ("z", 4.0), ("y", 5.0)]
    assert r.zinterstore("i", {"a": 2, "b": 3}) == 1
    assert r.zscore("i", "y") == 13.0
    assert r.zunionstore("u", ["a", "b"], aggregate="MAX") == 3
    assert r.zscore("u", "y") == 3.0
    assert r.zinterstore("i", ["a", "b"], aggregate="MIN") == 1
    assert r.zscore("i", "y") == 2.0
    # Plain sets count as zsets with score 1.
    r.sadd("s", "x", "q")
    assert r.zunionstore("u", ["a", "s"]) == 3
    assert r.zscore("u", "x") == 2.0
    assert r.zinterstore("i", ["a", "missing"]) == 0
    assert r.exists("i") == 0
    for args, error in (
        (["0", "a"], "at least 1 input key is needed for 'zunionstore' command"),
        (["1", "a", "WEIGHTS", "x"], "weight value is not a float"),
        (["1", "a", "AGGREGATE", "FOO"], "syntax error"),
    ):
        with pytest.raises(redis.ResponseError) as e:
            r.execute_command("ZUNIONSTORE", "u", *args)
        assert str(e.value) == error


def test_zunion_zinter_zdiff_zintercard(r):
    r.zadd("a", {"x": 1, "y": 2, "w": 0})
    r.zadd("b", {"y": 3, "z": 4})
    assert r.zunion(["a", "b"]) == ["w", "x", "z", "y"]
    assert r.zinter(["a", "b"], withscores=True) == [("y", 5.0)]
    assert r.zdiff(["a", "b"]) == ["w", "x"]
    assert flat_pairs(r.zdiff(["a", "b"], withscores=True)) == [("w", 0.0), ("x", 1.0)]
    assert r.zdiffstore("d", ["a", "b"]) == 2
    # ZINTERCARD is new in Redis 7.0.
    assert r.zintercard(2, ["a", "b"]) == 1
    assert r.zintercard(2, ["a", "b"], limit=1) == 1


def test_zrandmember(r):
    members = {f"m{i}": i for i in range(10)}
    r.zadd("z", members)
    assert r.zrandmember("z") in members
    picked = r.zrandmember("z", 4)
    assert len(set(picked)) == 4
    assert sorted(r.zrandmember("z", 100)) == sorted(members)
    assert len(r.zrandmember("z", -25)) == 25
    pairs = flat_pairs(r.zrandmember("z", 3, withscores=True))
    assert len(pairs) == 3
    for member, score in pairs:
        assert members[member] == score
    assert r.zrandmember("missing") is None


def test_zscan(r):
    members = {f"m:{i}": float(i) for i in range(300)}
    r.zadd("z", members)
    cursor, seen, calls = 0, {}, 0
    while True:
        cursor, page = r.zscan("z", cursor, count=20)
        seen.update(dict(page))
        calls += 1
        assert calls < 5000
        if cursor == 0:
            break
    assert seen == members


def test_wrongtype(r):
    r.set("s", "v")
    for fn in (lambda: r.zadd("s", {"a": 1}), lambda: r.zrange("s", 0, -1), lambda: r.zscore("s", "a"),
               lambda: r.zcard("s"), lambda: r.zunionstore("d", ["s"])):
        with pytest.raises(redis.ResponseError) as e:
            fn()
        assert str(e.value) == WRONGTYPE


# --- blocking pops ---------------------------------------------------------

def test_bzpopmin_immediate_and_timeout(r):
    r.zadd("z", {"a": 1, "b": 2})
    assert r.bzpopmin(["missing", "z"], 1) == ("z", "a", 1.0)
    assert r.bzpopmax(["z"], 1) == ("z", "b", 2.0)
    assert r.bzpopmin(["z"], 0.1) is None


def test_bzpopmin_wakes_on_zadd(r, connect):
    waiter = connect()
    job = Background(waiter.bzpopmin, ["z1", "z2"], 5)
    wait_blocked(r, 1)
    r.zadd("z2", {"low": 1, "high": 9})
    assert job.result() == ("z2", "low", 1.0)
    assert r.zrange("z2", 0, -1) == ["high"]


def test_bzpopmax_fifo_between_two_clients(r, connect):
    c1, c2 = connect(), connect()
    job1 = Background(c1.bzpopmax, ["z"], 5)
    wait_blocked(r, 1)
    job2 = Background(c2.bzpopmax, ["z"], 5)
    wait_blocked(r, 2)
    r.zadd("z", {"a": 1, "b": 2})
    assert job1.result() == ("z", "b", 2.0)
    assert job2.result() == ("z", "a", 1.0)


def test_bzmpop(r, connect):
    # BZMPOP is new in Redis 7.0.
    waiter = connect()
    job = Background(waiter.bzmpop, 5, 1, ["z"], max=True, count=2)
    wait_blocked(r, 1)
    r.zadd("z", {"a": 1, "b": 2, "c": 3})
    assert scored(job.result()) == ["z", [("c", 3.0), ("b", 2.0)]]


def test_bzpopmin_wire_forms(raw):
    c = raw()
    c.call("ZADD", "z", "1.5", "a")
    assert c.call_wire("BZPOPMIN", "z", "1") == b"*3\r\n$1\r\nz\r\n$1\r\na\r\n$3\r\n1.5\r\n"
    c.call("HELLO", "3")
    c.call("ZADD", "z", "1.5", "a")
    assert c.call_wire("BZPOPMIN", "z", "1") == b"*3\r\n$1\r\nz\r\n$1\r\na\r\n,1.5\r\n"
    assert c.call_wire("BZPOPMIN", "z", "0.01") == b"_\r\n"
