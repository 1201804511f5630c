import time

from helpers import Push, wait_until

SUBSCRIBED_CONTEXT_ERROR = ("ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / "
                            "PING / QUIT / RESET are allowed in this context")


def wire_msg(*parts, push=False):
    """Encode the expected frame: bulk strings, ints and None (null bulk)."""
    out = [b"%c%d\r\n" % (b">"[0] if push else b"*"[0], len(parts))]
    for p in parts:
        if p is None:
            out.append(b"$-1\r\n")
        elif isinstance(p, int):
            out.append(b":%d\r\n" % p)
        else:
            p = p.encode() if isinstance(p, str) else p
            out.append(b"$%d\r\n%s\r\n" % (len(p), p))
    return b"".join(out)


def test_subscribe_confirmations_and_message_resp2(raw):
    sub, pub = raw(), raw()
    assert sub.call_wire("SUBSCRIBE", "a", "b") == wire_msg("subscribe", "a", 1)
    assert sub.read_reply_wire() == wire_msg("subscribe", "b", 2)
    assert pub.call("PUBLISH", "a", "hello") == 1
    assert sub.read_reply_wire() == wire_msg("message", "a", "hello")
    # Subscribing again to the same channel does not change the count.
    assert sub.call_wire("SUBSCRIBE", "a") == wire_msg("subscribe", "a", 2)
    assert pub.call("PUBLISH", "nobody", "x") == 0


def test_psubscribe_and_pmessage(raw):
    sub, pub = raw(), raw()
    assert sub.call_wire("PSUBSCRIBE", "news.*") == wire_msg("psubscribe", "news.*", 1)
    assert sub.call_wire("SUBSCRIBE", "news.tech") == wire_msg("subscribe", "news.tech", 2)
    # One subscriber matching twice receives both forms and counts twice.
    assert pub.call("PUBLISH", "news.tech", "x") == 2
    frames = {sub.read_reply_wire(), sub.read_reply_wire()}
    assert frames == {wire_msg("message", "news.tech", "x"),
                      wire_msg("pmessage", "news.*", "news.tech", "x")}
    assert pub.call("PUBLISH", "news.art", "y") == 1
    assert sub.read_reply_wire() == wire_msg("pmessage", "news.*", "news.art", "y")
    assert pub.call("PUBLISH", "sports", "z") == 0


def test_unsubscribe_forms(raw):
    sub = raw()
    sub.call("SUBSCRIBE", "a", "b")
    sub.read_reply()
    sub.call("PSUBSCRIBE", "p*")
    assert sub.call_wire("UNSUBSCRIBE", "a") == wire_msg("unsubscribe", "a", 2)
    # Unsubscribing from a channel never subscribed still confirms it.
    assert sub.call_wire("UNSUBSCRIBE", "zz") == wire_msg("unsubscribe", "zz", 2)
    # No arguments: every channel, one confirmation each, counting down.
    assert sub.call_wire("UNSUBSCRIBE") == wire_msg("unsubscribe", "b", 1)
    assert sub.call_wire("PUNSUBSCRIBE") == wire_msg("punsubscribe", "p*", 0)
    # Nothing left: a single confirmation with a null channel.
    assert sub.call_wire("UNSUBSCRIBE") == wire_msg("unsubscribe", None, 0)
    assert sub.call_wire("PUNSUBSCRIBE") == wire_msg("punsubscribe", None, 0)
    # Out of subscribed mode: ordinary commands work again.
    assert sub.call("SET", "k", "v") == b"OK"


def test_unsubscribe_all_with_several_channels(raw):
    sub = raw()
    sub.call("SUBSCRIBE", "a", "b", "c")
    sub.read_reply()
    sub.read_reply()
    first = sub.call("UNSUBSCRIBE")
    rest = [sub.read_reply(), sub.read_reply()]
    frames = [first] + rest
    assert {f[1] for f in frames} == {b"a", b"b", b"c"}
    assert [f[2] for f in frames] == [2, 1, 0]
    assert all(f[0] == b"unsubscribe" for f in frames)


def test_resp2_subscribed_context_restrictions(raw):
    sub = raw()
    sub.call("SUBSCRIBE", "a")
    err = sub.call("GET", "k")
    assert err.text == SUBSCRIBED_CONTEXT_ERROR
    # PING answers in the subscribed (array) form.
    assert sub.call_wire("PING") == wire_msg("pong", "")
    assert sub.call_wire("PING", "hi") == wire_msg("pong", "hi")
    # RESET leaves subscribed mode.
    assert sub.call_wire("RESET") == b"+RESET\r\n"
    assert sub.call("GET", "k") is None


def test_resp3_push_messages(raw):
    sub, pub = raw(), raw()
    sub.call("HELLO", "3")
    assert sub.call_wire("SUBSCRIBE", "a") == wire_msg("subscribe", "a", 1, push=True)
    assert pub.call("PUBLISH", "a", "hi") == 1
    assert sub.read_reply_wire() == wire_msg("message", "a", "hi", push=True)
    # RESP3 clients may run ordinary commands while subscribed.
    assert sub.call_wire("GET", "k") == b"_\r\n"
    assert sub.call_wire("PING") == b"+PONG\r\n"
    assert sub.call_wire("PSUBSCRIBE", "x*") == wire_msg("psubscribe", "x*", 2, push=True)
    pub.call("PUBLISH", "xy", "m")
    assert sub.read_reply_wire() == wire_msg("pmessage", "x*", "xy", "m", push=True)
    assert sub.call_wire("UNSUBSCRIBE", "a") == wire_msg("unsubscribe", "a", 1, push=True)


def test_resp3_push_interleaves_with_replies(raw):
    sub, pub = raw(), raw()
    sub.call("HELLO", "3")
    sub.call("SUBSCRIBE", "a")
    pub.call("PUBLISH", "a", "1")
    sub.send(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")
    first = sub.read_reply()
    second = sub.read_reply()
    # The push was produced before GET ran, so it arrives first.
    assert isinstance(first, Push) and first == [b"message", b"a", b"1"]
    assert second is None


def test_pubsub_introspection(raw):
    s1, s2, q = raw(), raw(), raw()
    s1.call("SUBSCRIBE", "news", "chat")
    s1.read_reply()
    s2.call("SUBSCRIBE", "news")
    s2.call("PSUBSCRIBE", "n*")
    s1.call("PSUBSCRIBE", "n*", "c*")
    s1.read_reply()
    # CHANNELS and NUMPAT are server-wide: wait out subscribers of earlier
    # tests whose disconnects may still be in flight.
    assert wait_until(lambda: set(q.call("PUBSUB", "CHANNELS")) == {b"news", b"chat"})
    assert q.call("PUBSUB", "CHANNELS", "n*") == [b"news"]
    assert q.call("PUBSUB", "NUMSUB", "news", "chat", "none") == [b"news", 2, b"chat", 1, b"none", 0]
    assert q.call("PUBSUB", "NUMSUB") == []
    # NUMPAT counts distinct patterns, not subscriptions.
    assert wait_until(lambda: q.call("PUBSUB", "NUMPAT") == 2)
    assert q.call("PUBSUB", "FOO").text == "ERR unknown subcommand 'FOO'. Try PUBSUB HELP."
    s1.close()
    assert wait_until(lambda: q.call("PUBSUB", "NUMSUB", "news") == [b"news", 1], timeout=5)
    assert q.call("PUBSUB", "CHANNELS") == [b"news"]


def test_sharded_pubsub(raw):
    # SSUBSCRIBE / SPUBLISH are new in Redis 7.0 and work without cluster mode.
    sub, pub = raw(), raw()
    assert sub.call_wire("SSUBSCRIBE", "s1") == wire_msg("ssubscribe", "s1", 1)
    assert pub.call("SPUBLISH", "s1", "m") == 1
    assert sub.read_reply_wire() == wire_msg("smessage", "s1", "m")
    # Shard channels and classic channels are separate namespaces.
    assert pub.call("PUBLISH", "s1", "m") == 0
    assert wait_until(lambda: pub.call("PUBSUB", "SHARDCHANNELS") == [b"s1"])
    assert pub.call("PUBSUB", "SHARDNUMSUB", "s1") == [b"s1", 1]
    assert sub.call_wire("SUNSUBSCRIBE") == wire_msg("sunsubscribe", "s1", 0)


def test_subscribe_arity(raw):
    c = raw()
    assert c.call("SUBSCRIBE").text == "ERR wrong number of arguments for 'subscribe' command"


def test_redis_py_pubsub_resp2_and_resp3(connect, r):
    for proto in (2, 3):
        client = connect(protocol=proto)
        p = client.pubsub()
        p.subscribe("chan")
        p.psubscribe("pat.*")
        confirmations = [p.get_message(timeout=2) for _ in range(2)]
        assert [m["type"] for m in confirmations] == ["subscribe", "psubscribe"]
        assert r.publish("chan", "one") == 1
        assert r.publish("pat.x", "two") == 1
        msgs = []
        deadline = time.monotonic() + 5
        while len(msgs) < 2 and time.monotonic() < deadline:
            m = p.get_message(timeout=0.5)
            if m:
                msgs.append(m)
        assert [(m["type"], m["channel"], m["data"]) for m in msgs] == \
            [("message", "chan", "one"), ("pmessage", "pat.x", "two")]
        assert msgs[1]["pattern"] == "pat.*"
        p.close()


def test_many_messages_arrive_in_order(raw):
    count = 200
    sub, pub = raw(), raw()
    sub.call("SUBSCRIBE", "c")
    pub.send(b"".join(b"*3\r\n$7\r\nPUBLISH\r\n$1\r\nc\r\n$%d\r\n%d\r\n" % (len(str(i)), i)
                      for i in range(count)))
    for i in range(count):
        assert pub.read_reply() == 1
    for i in range(count):
        assert sub.read_reply() == [b"message", b"c", str(i).encode()]
