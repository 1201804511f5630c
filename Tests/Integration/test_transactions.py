import threading
import time

import redis


def test_multi_exec_queues_and_runs_in_order(raw):
    c = raw()
    assert c.call("MULTI") == b"OK"
    assert c.call("SET", "k", "1") == b"QUEUED"
    assert c.call("INCR", "k") == b"QUEUED"
    assert c.call("GET", "k") == b"QUEUED"
    assert c.call("EXEC") == [b"OK", 2, b"2"]
    assert c.call("MULTI") == b"OK"
    assert c.call("EXEC") == []


def test_exec_reports_runtime_errors_per_command(raw):
    c = raw()
    c.call("SET", "s", "v")
    c.call("MULTI")
    c.call("INCR", "counter")
    c.call("LPUSH", "s", "x")  # fails only when executed
    c.call("INCR", "counter")
    reply = c.call("EXEC")
    assert reply[0] == 1 and reply[2] == 2
    assert reply[1].text == "WRONGTYPE Operation against a key holding the wrong kind of value"


def test_execabort_on_queue_time_error(raw):
    c = raw()
    c.call("MULTI")
    assert c.call("SET", "a", "1") == b"QUEUED"
    err = c.call("NOSUCHCOMMAND")
    assert err.text.startswith("ERR unknown command 'NOSUCHCOMMAND'")
    err = c.call("SET", "b")
    assert err.text == "ERR wrong number of arguments for 'set' command"
    assert c.call("EXEC").text == "EXECABORT Transaction discarded because of previous errors."
    assert c.call("EXISTS", "a") == 0
    # The connection is back to normal afterwards.
    assert c.call("SET", "a", "1") == b"OK"


def test_multi_state_errors(raw):
    c = raw()
    assert c.call("EXEC").text == "ERR EXEC without MULTI"
    assert c.call("DISCARD").text == "ERR DISCARD without MULTI"
    c.call("MULTI")
    assert c.call("MULTI").text == "ERR MULTI calls can not be nested"
    assert c.call("WATCH", "k").text == "ERR WATCH inside MULTI is not allowed"
    # Neither error aborts the transaction.
    c.call("SET", "k", "v")
    assert c.call("EXEC") == [b"OK"]


def test_discard(raw):
    c = raw()
    c.call("MULTI")
    c.call("SET", "k", "v")
    assert c.call("DISCARD") == b"OK"
    assert c.call("EXISTS", "k") == 0
    assert c.call("EXEC").text == "ERR EXEC without MULTI"


def test_redis_py_transaction_pipeline(r):
    with r.pipeline(transaction=True) as p:
        p.set("a", 1).incr("a").rpush("l", "x", "y").lrange("l", 0, -1)
        assert p.execute() == [True, 2, 2, ["x", "y"]]


def test_resp3_transaction(r3):
    with r3.pipeline(transaction=True) as p:
        p.set("a", 1).hset("h", "f", "v").hgetall("h").zadd("z", {"m": 1.5}).zscore("z", "m")
        assert p.execute() == [True, 1, {"f": "v"}, 1, 1.5]


def _watched_exec(c, key, act):
    """WATCH key, run act() (the interference), then MULTI/SET/EXEC."""
    c.call("WATCH", key)
    act()
    c.call("MULTI")
    c.call("SET", "result", "done")
    return c.call("EXEC")


def test_watch_unchanged_key_lets_exec_run(raw):
    c, other = raw(), raw()
    c.call("SET", "k", "v")
    assert _watched_exec(c, "k", lambda: other.call("GET", "k")) == [b"OK"]


def test_watch_invalidated_by_other_connection_write(raw):
    c, other = raw(), raw()
    c.call("SET", "k", "v")
    assert _watched_exec(c, "k", lambda: other.call("SET", "k", "v")) is None
    assert c.call("EXISTS", "result") == 0
    # Creating a missing watched key also counts.
    assert _watched_exec(c, "new", lambda: other.call("LPUSH", "new", "x")) is None
    # So does changing only the TTL.
    assert _watched_exec(c, "k", lambda: other.call("EXPIRE", "k", "100")) is None
    # The watch is consumed by EXEC: the next transaction runs.
    c.call("MULTI")
    assert c.call("EXEC") == []


def test_watch_invalidated_by_own_write(raw):
    c = raw()
    c.call("SET", "k", "v")
    assert _watched_exec(c, "k", lambda: c.call("SET", "k", "w")) is None


def test_watch_ignores_other_databases_and_noop_writes(raw):
    c, other = raw(), raw()
    c.call("SET", "k", "v")
    other.call("SELECT", "2")
    assert _watched_exec(c, "k", lambda: other.call("SET", "k", "x")) == [b"OK"]
    other.call("SELECT", "0")
    assert _watched_exec(c, "k", lambda: other.call("SREM", "nosuchset", "m")) == [b"OK"]


def test_unwatch_and_discard_clear_watches(raw):
    c, other = raw(), raw()
    c.call("SET", "k", "v")
    c.call("WATCH", "k")
    other.call("SET", "k", "w")
    assert c.call("UNWATCH") == b"OK"
    c.call("MULTI")
    assert c.call("EXEC") == []
    c.call("WATCH", "k")
    other.call("SET", "k", "w")
    c.call("MULTI")
    c.call("DISCARD")
    c.call("MULTI")
    assert c.call("EXEC") == []


def test_watch_invalidated_by_expiry(raw):
    # Redis 7.0: a watched key that expires before EXEC aborts the transaction.
    c = raw()
    c.call("SET", "k", "v", "PX", "50")
    assert _watched_exec(c, "k", lambda: time.sleep(0.15)) is None


def test_watch_invalidated_by_flushall_and_flushdb(raw):
    c, other = raw(), raw()
    c.call("SET", "k", "v")
    assert _watched_exec(c, "k", lambda: other.call("FLUSHALL")) is None
    c.call("SET", "k", "v")
    assert _watched_exec(c, "k", lambda: other.call("FLUSHDB")) is None
    # Flushing a database that never held the watched key changes nothing.
    c.call("FLUSHALL")
    assert _watched_exec(c, "missing", lambda: other.call("FLUSHALL")) == [b"OK"]


def test_watch_invalidated_by_swapdb(raw):
    c, other = raw(), raw()
    c.call("SET", "k", "v")
    assert _watched_exec(c, "k", lambda: other.call("SWAPDB", "0", "1")) is None
    c.call("FLUSHALL")
    # The key only exists in the database being swapped in.
    other.call("SELECT", "1")
    other.call("SET", "k", "v")
    assert _watched_exec(c, "k", lambda: other.call("SWAPDB", "0", "1")) is None


def test_watch_counter_race_never_loses_updates(server, r):
    per_thread = 150
    errors = []

    def worker():
        c = redis.Redis(host=server.host, port=server.port, protocol=2, socket_timeout=10)
        try:
            done = 0
            while done < per_thread:
                with c.pipeline(transaction=True) as p:
                    try:
                        p.watch("counter")
                        value = int(p.get("counter") or 0)
                        p.multi()
                        p.set("counter", value + 1)
                        p.execute()
                        done += 1
                    except redis.WatchError:
                        continue
        except Exception as e:  # surfaced in the test thread
            errors.append(e)
        finally:
            c.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads), "workers did not finish"
    assert errors == []
    assert int(r.get("counter")) == 2 * per_thread
