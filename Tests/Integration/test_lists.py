import time

import pytest
import redis

from helpers import Background, blocked_clients, wait_blocked

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


def test_push_pop_range(r):
    assert r.rpush("l", "a", "b", "c") == 3
    assert r.lpush("l", "z", "y") == 5  # pushed one by one: y ends up first
    assert r.lrange("l", 0, -1) == ["y", "z", "a", "b", "c"]
    assert r.llen("l") == 5
    assert r.lrange("l", 1, 2) == ["z", "a"]
    assert r.lrange("l", -2, -1) == ["b", "c"]
    assert r.lrange("l", -100, 100) == ["y", "z", "a", "b", "c"]
    assert r.lrange("l", 3, 1) == []
    assert r.lrange("l", 10, 20) == []
    assert r.lpop("l") == "y"
    assert r.rpop("l") == "c"
    assert r.llen("missing") == 0
    assert r.lrange("missing", 0, -1) == []
    assert r.lpop("missing") is None


def test_pushx(r):
    assert r.lpushx("l", "a") == 0
    assert r.rpushx("l", "a") == 0
    assert r.exists("l") == 0
    r.rpush("l", "m")
    assert r.lpushx("l", "a", "b") == 3
    assert r.rpushx("l", "z") == 4
    assert r.lrange("l", 0, -1) == ["b", "a", "m", "z"]


def test_pop_with_count(r):
    r.rpush("l", "a", "b", "c", "d")
    assert r.lpop("l", 2) == ["a", "b"]
    assert r.rpop("l", 5) == ["d", "c"]
    assert r.exists("l") == 0  # emptied lists disappear
    r.rpush("l", "x")
    assert r.lpop("l", 0) == []
    with pytest.raises(redis.ResponseError) as e:
        r.lpop("l", -1)
    assert str(e.value) == "value is out of range, must be positive"


def test_pop_null_forms_on_the_wire(raw):
    c = raw()
    # RESP2 distinguishes a missing string ($-1) from a missing array (*-1).
    assert c.call_wire("LPOP", "missing") == b"$-1\r\n"
    assert c.call_wire("LPOP", "missing", "2") == b"*-1\r\n"
    assert c.call_wire("RPOP", "missing", "0") == b"*-1\r\n"
    assert c.call_wire("LMPOP", "1", "missing", "LEFT") == b"*-1\r\n"
    assert c.call_wire("BLPOP", "missing", "0.01") == b"*-1\r\n"
    c.call("HELLO", "3")
    assert c.call_wire("LPOP", "missing") == b"_\r\n"
    assert c.call_wire("LPOP", "missing", "2") == b"_\r\n"
    assert c.call_wire("BLPOP", "missing", "0.01") == b"_\r\n"


def test_lindex_lset(r):
    r.rpush("l", "a", "b", "c")
    assert r.lindex("l", 0) == "a"
    assert r.lindex("l", -1) == "c"
    assert r.lindex("l", 3) is None
    assert r.lindex("missing", 0) is None
    assert r.lset("l", 1, "B") is True
    assert r.lset("l", -1, "C") is True
    assert r.lrange("l", 0, -1) == ["a", "B", "C"]
    with pytest.raises(redis.ResponseError) as e:
        r.lset("l", 3, "x")
    assert str(e.value) == "index out of range"
    with pytest.raises(redis.ResponseError) as e:
        r.lset("missing", 0, "x")
    assert str(e.value) == "no such key"
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("LINDEX", "l", "x")
    assert str(e.value) == "value is not an integer or out of range"


def test_linsert(r):
    r.rpush("l", "a", "c")
    assert r.linsert("l", "BEFORE", "c", "b") == 3
    assert r.linsert("l", "AFTER", "c", "d") == 4
    assert r.lrange("l", 0, -1) == ["a", "b", "c", "d"]
    assert r.linsert("l", "AFTER", "zz", "x") == -1
    assert r.linsert("missing", "AFTER", "a", "x") == 0
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("LINSERT", "l", "MIDDLE", "a", "x")
    assert str(e.value) == "syntax error"


def test_lrem(r):
    r.rpush("l", "a", "b", "a", "c", "a")
    assert r.lrem("l", 1, "a") == 1
    assert r.lrange("l", 0, -1) == ["b", "a", "c", "a"]
    assert r.lrem("l", -1, "a") == 1
    assert r.lrange("l", 0, -1) == ["b", "a", "c"]
    assert r.lrem("l", 0, "a") == 1
    assert r.lrem("l", 0, "zz") == 0
    assert r.lrem("missing", 0, "a") == 0


def test_ltrim(r):
    r.rpush("l", *"abcdef")
    assert r.ltrim("l", 1, -2) is True
    assert r.lrange("l", 0, -1) == list("bcde")
    assert r.ltrim("l", -2, 100) is True
    assert r.lrange("l", 0, -1) == ["d", "e"]
    assert r.ltrim("l", 5, 10) is True
    assert r.exists("l") == 0


def test_lpos(r):
    r.rpush("l", "a", "b", "c", "1", "2", "3", "c", "c")
    assert r.lpos("l", "c") == 2
    assert r.lpos("l", "c", rank=2) == 6
    assert r.lpos("l", "c", rank=-1) == 7
    assert r.lpos("l", "c", count=2) == [2, 6]
    assert r.lpos("l", "c", count=0) == [2, 6, 7]
    assert r.lpos("l", "c", rank=-1, count=2) == [7, 6]
    assert r.lpos("l", "c", count=0, maxlen=7) == [2, 6]
    assert r.lpos("l", "zz") is None
    assert r.lpos("l", "zz", count=1) == []
    with pytest.raises(redis.ResponseError) as e:
        r.lpos("l", "c", rank=0)
    assert str(e.value).startswith("RANK can't be zero: use 1 to start from the first match")
    with pytest.raises(redis.ResponseError) as e:
        r.lpos("l", "c", count=-1)
    assert str(e.value) == "COUNT can't be negative"
    with pytest.raises(redis.ResponseError) as e:
        r.lpos("l", "c", maxlen=-1)
    assert str(e.value) == "MAXLEN can't be negative"


def test_lmove_rpoplpush(r):
    r.rpush("src", "a", "b", "c")
    assert r.lmove("src", "dst", "LEFT", "RIGHT") == "a"
    assert r.lmove("src", "dst", "RIGHT", "LEFT") == "c"
    assert r.lrange("dst", 0, -1) == ["c", "a"]
    assert r.rpoplpush("src", "dst") == "b"
    assert r.exists("src") == 0
    assert r.lrange("dst", 0, -1) == ["b", "c", "a"]
    assert r.lmove("missing", "dst", "LEFT", "LEFT") is None
    # Same source and destination rotates the list.
    assert r.lmove("dst", "dst", "LEFT", "RIGHT") == "b"
    assert r.lrange("dst", 0, -1) == ["c", "a", "b"]
    r.set("str", "x")
    with pytest.raises(redis.ResponseError) as e:
        r.lmove("dst", "str", "LEFT", "LEFT")
    assert str(e.value) == WRONGTYPE
    assert r.llen("dst") == 3  # nothing was popped
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("LMOVE", "dst", "x", "UP", "DOWN")
    assert str(e.value) == "syntax error"


def test_lmpop(r):
    # LMPOP is new in Redis 7.0.
    r.rpush("b", "1", "2", "3")
    assert r.lmpop(2, "a", "b", direction="LEFT") == ["b", ["1"]]
    assert r.lmpop(2, "a", "b", direction="RIGHT", count=5) == ["b", ["3", "2"]]
    assert r.lmpop(2, "a", "b", direction="LEFT") is None
    for args, error in (
        (["0", "a", "LEFT"], "numkeys should be greater than 0"),
        (["1", "a", "MIDDLE"], "syntax error"),
        (["1", "a", "LEFT", "COUNT", "0"], "count should be greater than 0"),
        (["2", "a", "LEFT"], "syntax error"),
    ):
        with pytest.raises(redis.ResponseError) as e:
            r.execute_command("LMPOP", *args)
        assert str(e.value) == error


def test_wrongtype(r):
    r.set("s", "v")
    for fn in (lambda: r.lpush("s", "a"), lambda: r.lrange("s", 0, -1), lambda: r.llen("s"),
               lambda: r.lpop("s"), lambda: r.blpop(["s"], 0.01)):
        with pytest.raises(redis.ResponseError) as e:
            fn()
        assert str(e.value) == WRONGTYPE


# --- blocking commands -------------------------------------------------------

def test_blpop_serves_existing_data_in_key_order(r):
    r.rpush("b", "b1")
    r.rpush("c", "c1")
    assert r.blpop(["a", "b", "c"], 1) == ("b", "b1")
    assert r.brpop(["a", "b", "c"], 1) == ("c", "c1")


def test_blpop_timeout_returns_none(r):
    start = time.monotonic()
    assert r.blpop(["empty"], 0.2) is None
    elapsed = time.monotonic() - start
    assert 0.15 <= elapsed < 2.0
    assert r.brpop(["empty"], 0.1) is None
    assert blocked_clients(r) == 0


def test_blpop_unblocked_by_push_from_other_connection(r, connect):
    waiter = connect()
    job = Background(waiter.blpop, ["q"], 0)
    wait_blocked(r, 1)
    assert not job.done()
    r.rpush("q", "hello")
    assert job.result() == ("q", "hello")
    assert r.exists("q") == 0
    assert blocked_clients(r) == 0


def test_blpop_resp3_client_unblocked(r, connect):
    waiter = connect(protocol=3)
    job = Background(waiter.blpop, ["q"], 5)
    wait_blocked(r, 1)
    r.rpush("q", "v")
    assert job.result() == ["q", "v"]


def test_blocked_clients_woken_in_fifo_order(r, connect):
    first, second = connect(), connect()
    job1 = Background(first.blpop, ["q"], 5)
    wait_blocked(r, 1)
    job2 = Background(second.blpop, ["q"], 5)
    wait_blocked(r, 2)
    r.rpush("q", "one")
    assert job1.result() == ("q", "one")
    assert not job2.done()
    r.rpush("q", "two")
    assert job2.result() == ("q", "two")


def test_one_push_of_many_elements_serves_every_waiter(r, connect):
    first, second = connect(), connect()
    job1 = Background(first.brpop, ["q"], 5)
    wait_blocked(r, 1)
    job2 = Background(second.blpop, ["q"], 5)
    wait_blocked(r, 2)
    r.rpush("q", "a", "b", "c")
    assert job1.result() == ("q", "c")
    assert job2.result() == ("q", "a")
    assert r.lrange("q", 0, -1) == ["b"]


def test_blpop_wakes_on_any_of_several_keys(r, connect):
    waiter = connect()
    job = Background(waiter.blpop, ["k1", "k2", "k3"], 5)
    wait_blocked(r, 1)
    r.lpush("k3", "x")
    assert job.result() == ("k3", "x")


def test_blpop_woken_by_lmove_into_key(r, connect):
    waiter = connect()
    job = Background(waiter.blpop, ["dst"], 5)
    wait_blocked(r, 1)
    r.rpush("src", "moved")
    r.lmove("src", "dst", "LEFT", "RIGHT")
    assert job.result() == ("dst", "moved")


def test_blmove_and_brpoplpush(r, connect):
    waiter = connect()
    job = Background(waiter.blmove, "src", "dst", 5, "RIGHT", "LEFT")
    wait_blocked(r, 1)
    r.rpush("src", "a", "b")
    assert job.result() == "b"
    assert r.lrange("dst", 0, -1) == ["b"]
    assert r.lrange("src", 0, -1) == ["a"]
    assert r.blmove("none", "dst", 0.1, "LEFT", "LEFT") is None
    job = Background(waiter.brpoplpush, "src2", "dst", 5)
    wait_blocked(r, 1)
    r.lpush("src2", "z")
    assert job.result() == "z"
    assert r.lrange("dst", 0, -1) == ["z", "b"]


def test_blmpop(r, connect):
    # BLMPOP is new in Redis 7.0.
    r.rpush("b", "1", "2", "3")
    assert r.blmpop(1, 2, "a", "b", direction="RIGHT", count=2) == ["b", ["3", "2"]]
    assert r.blmpop(0.1, 1, "empty", direction="LEFT") is None
    waiter = connect()
    job = Background(waiter.blmpop, 5, 2, "x", "y", direction="LEFT", count=10)
    wait_blocked(r, 1)
    r.rpush("y", "p", "q")
    assert job.result() == ["y", ["p", "q"]]


def test_blocking_inside_multi_does_not_block(r):
    with r.pipeline(transaction=True) as p:
        p.blpop(["empty"], 0)
        p.brpop(["empty"], 0)
        p.set("after", "1")
        assert p.execute() == [None, None, True]


def test_blocking_timeout_errors(r):
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("BLPOP", "q", "-1")
    assert str(e.value) == "timeout is negative"
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("BLPOP", "q", "abc")
    assert str(e.value) == "timeout is not a float or out of range"
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("BLMPOP", "0", "0", "q", "LEFT")
    assert str(e.value) == "numkeys should be greater than 0"


def test_client_unblock(r, connect):
    waiter = connect()
    wid = waiter.client_id()
    job = Background(waiter.blpop, ["q"], 0)
    wait_blocked(r, 1)
    assert r.client_unblock(wid) is True
    assert job.result() is None  # unblocked as if timed out
    job = Background(waiter.blpop, ["q"], 0)
    wait_blocked(r, 1)
    assert r.client_unblock(wid, error=True) is True
    with pytest.raises(redis.ResponseError) as e:
        job.result()
    # redis-py strips only the ERR prefix; the server sends -UNBLOCKED.
    assert str(e.value) == "UNBLOCKED client unblocked via CLIENT UNBLOCK"
    assert r.client_unblock(wid) is False  # not blocked any more
