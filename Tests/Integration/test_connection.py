import re
import time

import pytest
import redis

from helpers import RawClient, wait_until

HELLO_KEYS = ["server", "version", "proto", "id", "mode", "role", "modules"]


# --- basic connection commands ------------------------------------------------

def test_ping_echo(raw):
    c = raw()
    assert c.call_wire("PING") == b"+PONG\r\n"
    assert c.call_wire("PING", "hi there") == b"$8\r\nhi there\r\n"
    assert c.call_wire("ECHO", "a\r\nb") == b"$4\r\na\r\nb\r\n"
    assert c.call("PING", "a", "b").text == "ERR wrong number of arguments for 'ping' command"
    assert c.call("ECHO").text == "ERR wrong number of arguments for 'echo' command"


def test_quit_closes_after_ok(raw):
    c = raw()
    assert c.call("QUIT") == b"OK"
    c.assert_closed()


def test_select_and_errors(raw):
    c = raw()
    c.call("SET", "k", "0")
    assert c.call("SELECT", "15") == b"OK"
    assert c.call("GET", "k") is None
    assert c.call("SELECT", "16").text == "ERR DB index is out of range"
    assert c.call("SELECT", "-1").text == "ERR DB index is out of range"
    assert c.call("SELECT", "x").text == "ERR value is not an integer or out of range"
    assert c.call("SELECT", "0") == b"OK"
    assert c.call("GET", "k") == b"0"


def test_swapdb(raw):
    c, other = raw(), raw()
    c.call("SET", "k", "in0")
    c.call("SELECT", "1")
    c.call("SET", "k", "in1")
    c.call("SET", "only1", "x")
    assert c.call("SWAPDB", "0", "1") == b"OK"
    # Connections stay on their database index and see the swapped content.
    assert c.call("GET", "k") == b"in0"
    assert other.call("GET", "k") == b"in1"
    assert other.call("DBSIZE") == 2
    assert c.call("SWAPDB", "0", "16").text == "ERR DB index is out of range"
    assert c.call("SWAPDB", "a", "1").text == "ERR invalid first DB index"
    assert c.call("SWAPDB", "0", "b").text == "ERR invalid second DB index"
    assert c.call("SWAPDB", "2", "2") == b"OK"


def test_dbsize_flushdb_flushall(raw):
    c = raw()
    for i in range(10):
        c.call("SET", f"k{i}", "v")
    c.call("SELECT", "1")
    c.call("SET", "x", "1")
    assert c.call("DBSIZE") == 1
    assert c.call("FLUSHDB") == b"OK"
    assert c.call("DBSIZE") == 0
    c.call("SELECT", "0")
    assert c.call("DBSIZE") == 10
    assert c.call("FLUSHDB", "ASYNC") == b"OK"
    assert c.call("DBSIZE") == 0
    c.call("SET", "a", "1")
    c.call("SELECT", "5")
    c.call("SET", "b", "1")
    assert c.call("FLUSHALL", "ASYNC") == b"OK"
    assert c.call("DBSIZE") == 0
    c.call("SELECT", "0")
    assert c.call("DBSIZE") == 0
    assert c.call("FLUSHALL", "SYNC") == b"OK"
    assert c.call("FLUSHALL", "FOO").text == "ERR syntax error"


def test_reset(raw):
    c = raw()
    c.call("HELLO", "3")
    c.call("SELECT", "3")
    c.call("CLIENT", "SETNAME", "before")
    c.call("MULTI")
    c.call("SET", "k", "v")
    assert c.call_wire("RESET") == b"+RESET\r\n"
    # Back to defaults: RESP2, db 0, no name, no transaction.
    assert c.call_wire("GET", "k") == b"$-1\r\n"
    assert c.call("CLIENT", "GETNAME") is None
    info = c.call("CLIENT", "INFO").decode()
    assert " db=0 " in info and " resp=2" in info
    assert c.call("EXEC").text == "ERR EXEC without MULTI"


# --- HELLO and AUTH -----------------------------------------------------------

def test_hello_2_and_3(raw):
    c = raw()
    reply = c.call("HELLO", "2")
    assert isinstance(reply, list) and reply[0::2] == [k.encode() for k in HELLO_KEYS]
    fields = dict(zip(reply[0::2], reply[1::2]))
    # Clients only rely on these fields; "server" names the product.
    assert isinstance(fields[b"server"], bytes) and fields[b"server"]
    assert fields[b"version"].startswith(b"7.0")
    assert fields[b"proto"] == 2
    assert fields[b"id"] == c.call("CLIENT", "ID")
    assert fields[b"mode"] == b"standalone"
    assert fields[b"role"] == b"master"
    assert fields[b"modules"] == []
    assert c.call_wire("HELLO", "3").startswith(b"%7\r\n")
    # The connection now speaks RESP3.
    assert c.call_wire("GET", "missing") == b"_\r\n"
    fields = c.call("HELLO")
    assert fields[b"proto"] == 3
    assert list(fields) == [k.encode() for k in HELLO_KEYS]
    c.call("HELLO", "2")
    assert c.call_wire("GET", "missing") == b"$-1\r\n"


def test_hello_errors(raw):
    c = raw()
    assert c.call("HELLO", "4").text == "NOPROTO unsupported protocol version"
    assert c.call("HELLO", "1").text == "NOPROTO unsupported protocol version"
    assert c.call("HELLO", "x").text == "ERR Protocol version is not an integer or out of range"
    assert c.call("HELLO", "2", "FOO").text == "ERR Syntax error in HELLO option 'FOO'"
    assert c.call("HELLO", "2", "SETNAME", "a b").text == \
        "ERR Client names cannot contain spaces, newlines or special characters."


def test_hello_setname(raw):
    c = raw()
    reply = c.call("HELLO", "3", "SETNAME", "myconn")
    assert reply[b"proto"] == 3
    assert c.call("CLIENT", "GETNAME") == b"myconn"


def test_redis_py_resp3_client(r3):
    assert r3.connection_pool.connection_kwargs.get("protocol") == 3
    r3.set("k", "v")
    assert r3.get("k") == "v"
    r3.hset("h", mapping={"a": "1"})
    assert r3.hgetall("h") == {"a": "1"}
    r3.sadd("s", "x")
    assert r3.smembers("s") == {"x"}


def test_auth_without_password_configured(raw):
    c = raw()
    assert c.call("AUTH", "x").text == ("ERR AUTH <password> called without any password configured "
                                        "for the default user. Are you sure your configuration is correct?")
    assert c.call("AUTH", "a", "b").text == "WRONGPASS invalid username-password pair or user is disabled."


def test_requirepass(make_server):
    srv = make_server(["--requirepass", "secret"])
    c = srv.raw()
    for cmd in (("GET", "k"), ("PING",), ("CLIENT", "ID")):
        assert c.call(*cmd).text == "NOAUTH Authentication required."
    err = c.call("HELLO", "3")
    assert err.text.startswith("NOAUTH HELLO must be called with the client already authenticated")
    assert c.call("AUTH", "wrong").text == "WRONGPASS invalid username-password pair or user is disabled."
    assert c.call("AUTH", "default", "wrong").text == \
        "WRONGPASS invalid username-password pair or user is disabled."
    # Commands queued without auth are refused, not queued.
    assert c.call("MULTI").text == "NOAUTH Authentication required."
    assert c.call("AUTH", "secret") == b"OK"
    assert c.call("SET", "k", "v") == b"OK"
    # A failed AUTH does not log an authenticated connection out.
    assert c.call("AUTH", "wrong").text.startswith("WRONGPASS")
    assert c.call("GET", "k") == b"v"
    assert c.call("AUTH", "default", "secret") == b"OK"
    # RESET drops authentication when the default user has a password.
    c.call("RESET")
    assert c.call("GET", "k").text == "NOAUTH Authentication required."
    c.close()

    c = srv.raw()
    assert c.call("HELLO", "3", "AUTH", "default", "wrong").text == \
        "WRONGPASS invalid username-password pair or user is disabled."
    reply = c.call("HELLO", "3", "AUTH", "default", "secret", "SETNAME", "authed")
    assert reply[b"proto"] == 3
    assert c.call("CLIENT", "GETNAME") == b"authed"
    c.close()

    client = redis.Redis(host=srv.host, port=srv.port, password="secret", protocol=2, socket_timeout=5)
    assert client.get("k") == b"v"
    client.close()


# --- CLIENT -------------------------------------------------------------------

CLIENT_FIELDS = ["id", "addr", "laddr", "fd", "name", "age", "idle", "flags", "db", "sub", "psub",
                 "multi", "qbuf", "obl", "oll", "omem", "events", "cmd", "user", "resp"]


def parse_client_line(line):
    return dict(field.split("=", 1) for field in line.split(" "))


def test_client_id_setname_getname(raw):
    a, b = raw(), raw()
    ida, idb = a.call("CLIENT", "ID"), b.call("CLIENT", "ID")
    assert isinstance(ida, int) and idb > ida  # ids grow monotonically
    assert a.call("CLIENT", "GETNAME") is None
    assert a.call("CLIENT", "SETNAME", "worker-1") == b"OK"
    assert a.call("CLIENT", "GETNAME") == b"worker-1"
    assert a.call("CLIENT", "SETNAME", "has space").text == \
        "ERR Client names cannot contain spaces, newlines or special characters."
    assert a.call("CLIENT", "SETNAME", "") == b"OK"  # empty clears the name
    assert a.call("CLIENT", "GETNAME") is None
    assert a.call("CLIENT", "FOO").text == "ERR unknown subcommand 'FOO'. Try CLIENT HELP."


def test_client_list_and_info(raw):
    a, b = raw(), raw()
    a.call("CLIENT", "SETNAME", "alpha")
    a.call("SELECT", "2")
    info = a.call("CLIENT", "INFO").decode()
    assert info.endswith("\n") and info.count("\n") == 1
    fields = parse_client_line(info.strip())
    for f in CLIENT_FIELDS:
        assert f in fields, f"CLIENT INFO lacks {f}: {info}"
    assert fields["name"] == "alpha"
    assert fields["db"] == "2"
    assert fields["id"] == str(a.call("CLIENT", "ID"))
    assert fields["cmd"] == "client|info"
    assert fields["resp"] == "2"
    assert fields["flags"] == "N"
    assert fields["user"] == "default"
    assert re.fullmatch(r"127\.0\.0\.1:\d+", fields["addr"])
    listing = b.call("CLIENT", "LIST").decode()
    lines = [parse_client_line(line) for line in listing.strip().split("\n")]
    names = {line["name"] for line in lines}
    assert "alpha" in names
    assert len(lines) >= 3  # a, b and the fixture's own connection
    bid = b.call("CLIENT", "ID")
    only = b.call("CLIENT", "LIST", "ID", str(bid)).decode().strip().split("\n")
    assert len(only) == 1 and parse_client_line(only[0])["id"] == str(bid)
    normal = [parse_client_line(line) for line in
              b.call("CLIENT", "LIST", "TYPE", "normal").decode().strip().split("\n")]
    assert {fields["id"], str(bid)} <= {line["id"] for line in normal}
    assert b.call("CLIENT", "LIST", "TYPE", "pubsub") == b""
    assert b.call("CLIENT", "LIST", "TYPE", "foo").text == "ERR Unknown client type 'foo'"
    assert b.call("CLIENT", "LIST", "ID", "abc").text == "ERR Invalid client ID"


def test_client_list_shows_subscriptions_and_multi(raw):
    a, b = raw(), raw()
    a.call("SUBSCRIBE", "x")
    aid = b.call("CLIENT", "LIST", "TYPE", "pubsub").decode()
    fields = parse_client_line(aid.strip())
    assert fields["sub"] == "1" and fields["flags"] == "P"
    c = raw()
    c.call("MULTI")
    c.call("PING")
    c.call("PING")
    listing = b.call("CLIENT", "LIST").decode().strip().split("\n")
    multis = [parse_client_line(line) for line in listing if "multi=2" in line]
    assert len(multis) == 1 and "x" in multis[0]["flags"]


def test_client_kill(raw):
    victim, killer, bystander = raw(), raw(), raw()
    vid = victim.call("CLIENT", "ID")
    assert killer.call("CLIENT", "KILL", "ID", str(vid)) == 1
    victim.assert_closed()
    assert killer.call("CLIENT", "KILL", "ID", str(vid)) == 0
    assert killer.call("CLIENT", "KILL", "ID", "abc").text == "ERR client-id should be greater than 0"
    # Old form: CLIENT KILL addr:port.
    victim2 = raw()
    addr = parse_client_line(victim2.call("CLIENT", "INFO").decode().strip())["addr"]
    assert killer.call("CLIENT", "KILL", addr) == b"OK"
    victim2.assert_closed()
    assert killer.call("CLIENT", "KILL", "1.2.3.4:5").text == "ERR No such client"
    # New form with ADDR, and SKIPME default (yes) protects the caller.
    own = parse_client_line(killer.call("CLIENT", "INFO").decode().strip())["addr"]
    assert killer.call("CLIENT", "KILL", "ADDR", own) == 0
    assert killer.call("PING") == b"PONG"
    assert bystander.call("PING") == b"PONG"


def test_client_kill_self(raw):
    c = raw()
    cid = c.call("CLIENT", "ID")
    assert c.call("CLIENT", "KILL", "ID", str(cid), "SKIPME", "no") == 1
    c.assert_closed()


def test_client_setinfo_keeps_connection_usable(raw):
    # CLIENT SETINFO appeared in Redis 7.2; 7.0 answers with an unknown
    # subcommand error. Either way the connection must keep working, since
    # redis-py sends it on every connect and ignores the error.
    c = raw()
    reply = c.call("CLIENT", "SETINFO", "LIB-NAME", "pytest")
    assert reply == b"OK" or reply.text == "ERR unknown subcommand 'SETINFO'. Try CLIENT HELP."
    assert c.call("PING") == b"PONG"


def test_client_no_evict(raw):
    # CLIENT NO-EVICT is new in Redis 7.0.
    c = raw()
    assert c.call("CLIENT", "NO-EVICT", "on") == b"OK"
    assert "e" in parse_client_line(c.call("CLIENT", "INFO").decode().strip())["flags"]
    assert c.call("CLIENT", "NO-EVICT", "off") == b"OK"
    assert c.call("CLIENT", "NO-EVICT", "maybe").text == "ERR syntax error"


def test_client_reply_off_skip_on(raw):
    c = raw()
    # OFF silences everything (a SKIP while OFF changes nothing) until ON,
    # which replies OK; SKIP silences just the next command.
    c.send(b"CLIENT REPLY OFF\r\nSET a 1\r\nGET a\r\nCLIENT REPLY SKIP\r\nPING\r\n"
           b"CLIENT REPLY ON\r\nCLIENT REPLY SKIP\r\nPING\r\nECHO visible\r\nGET a\r\n")
    assert c.read_reply() == b"OK"
    assert c.read_reply() == b"visible"
    assert c.read_reply() == b"1"
    assert c.call("CLIENT", "REPLY", "FOO").text == "ERR syntax error"


# --- server-level commands ---------------------------------------------------

def test_command_count_list_info_docs(r):
    count = r.command_count()
    names = r.command_list()
    assert len(names) == len(set(names))
    # COMMAND LIST also names subcommands ("client|list"); COUNT does not.
    assert count == len([n for n in names if "|" not in n])
    assert "client|list" in names
    for name in ("get", "set", "blpop", "zadd", "hset", "sadd", "multi", "subscribe", "hello", "client"):
        assert name in names
    assert set(r.command_list(pattern="hinc*")) == {"hincrby", "hincrbyfloat"}
    # redis-py parses COMMAND INFO into dicts; assert the data it relies on.
    get_info = r.execute_command("COMMAND", "INFO", "get")["get"]
    assert get_info["arity"] == 2
    assert get_info["first_key_pos"] == 1 and get_info["last_key_pos"] == 1 and get_info["step_count"] == 1
    assert "readonly" in get_info["flags"]


def test_command_info_raw_shape(raw):
    c = raw()
    get, missing = c.call("COMMAND", "INFO", "get", "nosuchcmd")
    assert missing is None
    assert get[:6] == [b"get", 2, [b"readonly", b"fast"], 1, 1, 1]
    mset = c.call("COMMAND", "INFO", "mset")[0]
    assert mset[1] == -3 and mset[3:6] == [1, -1, 2]
    docs = c.call("COMMAND", "DOCS", "get")
    assert docs[0] == b"get"
    doc = dict(zip(docs[1][0::2], docs[1][1::2]))
    assert doc[b"group"] == b"string" and doc[b"summary"]
    assert c.call("COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2") == [b"a", b"b"]
    assert c.call("COMMAND", "FOO").text == "ERR unknown subcommand 'FOO'. Try COMMAND HELP."


def test_time_and_lastsave(r):
    seconds, micros = r.execute_command("TIME")
    assert abs(int(seconds) - time.time()) < 5
    assert 0 <= int(micros) < 1_000_000
    lastsave = r.lastsave()
    assert lastsave.timestamp() <= time.time() + 1


def test_config_get_set(r):
    assert r.config_get("maxmemory") == {"maxmemory": "0"}
    assert r.config_get("nosuchparam") == {}
    mm = r.config_get("maxmemory*")
    assert {"maxmemory", "maxmemory-policy"} <= set(mm)
    # Several parameters per call are new in Redis 7.0.
    assert r.execute_command("CONFIG", "SET", "maxmemory", "10mb", "maxmemory-policy", "allkeys-lru")
    try:
        got = r.execute_command("CONFIG", "GET", "maxmemory", "maxmemory-policy")
        assert dict(zip(got[0::2], got[1::2])) == {"maxmemory": "10485760", "maxmemory-policy": "allkeys-lru"}
    finally:
        r.execute_command("CONFIG", "SET", "maxmemory", "0", "maxmemory-policy", "noeviction")
    assert r.config_get("port")["port"] == str(r.connection_pool.connection_kwargs["port"])
    with pytest.raises(redis.ResponseError) as e:
        r.config_set("nosuchparam", "1")
    assert str(e.value) == "Unknown option or number of arguments for CONFIG SET - 'nosuchparam'"
    with pytest.raises(redis.ResponseError) as e:
        r.config_set("maxmemory", "abc")
    assert str(e.value).startswith("CONFIG SET failed (possibly related to argument 'maxmemory')")


def test_config_resetstat(r):
    r.set("k", "v")
    r.get("k")
    r.get("missing")
    stats = r.info("stats")
    assert stats["keyspace_hits"] >= 1 and stats["keyspace_misses"] >= 1
    assert r.config_resetstat() is True
    stats = r.info("stats")
    assert stats["keyspace_hits"] == 0 and stats["keyspace_misses"] == 0
    # INFO itself is the only command counted since the reset.
    assert stats["total_commands_processed"] == 1


def test_info_sections(r, raw):
    r.set("plain", "v")
    r.set("volatile", "v", ex=100)
    text = raw().call("INFO").decode()
    headers = re.findall(r"^# (\w+)\r$", text, re.M)
    for section in ("Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU", "Keyspace"):
        assert section in headers, f"INFO lacks # {section}"
    server = r.info("server")
    assert str(server["redis_version"]).startswith("7.0")
    assert server["arch_bits"] == 64
    assert server["tcp_port"] == r.connection_pool.connection_kwargs["port"]
    assert server["redis_mode"] == "standalone"
    assert server["uptime_in_seconds"] >= 0
    assert isinstance(server["process_id"], int)
    clients = r.info("clients")
    assert clients["connected_clients"] >= 1 and clients["blocked_clients"] == 0
    assert isinstance(clients["maxclients"], int)
    memory = r.info("memory")
    assert memory["used_memory"] > 0 and "used_memory_human" in memory
    assert memory["maxmemory"] == 0 and memory["maxmemory_policy"] == "noeviction"
    persistence = r.info("persistence")
    assert persistence["loading"] == 0 and persistence["aof_enabled"] == 0
    stats = r.info("stats")
    for field in ("total_connections_received", "total_commands_processed", "keyspace_hits",
                  "keyspace_misses", "expired_keys", "evicted_keys", "rejected_connections"):
        assert isinstance(stats[field], int), field
    assert r.info("replication")["role"] == "master"
    assert r.info("replication")["connected_slaves"] == 0
    cpu = r.info("cpu")
    assert "used_cpu_sys" in cpu and "used_cpu_user" in cpu
    assert r.info("cluster") == {"cluster_enabled": 0}
    db0 = r.info("keyspace")["db0"]
    assert db0["keys"] == 2 and db0["expires"] == 1


def test_info_wire_format(raw):
    c = raw()
    c.call("SET", "a", "1")
    c.call("SELECT", "3")
    c.call("SET", "b", "1")
    c.call("SET", "c", "1", "EX", "100")
    text = c.call("INFO", "keyspace").decode()
    lines = text.split("\r\n")
    assert lines[0] == "# Keyspace"
    assert lines[1] == "db0:keys=1,expires=0,avg_ttl=0"
    assert re.fullmatch(r"db3:keys=2,expires=1,avg_ttl=\d+", lines[2])
    assert text.endswith("\r\n")
    c.call("FLUSHALL")
    assert c.call("INFO", "keyspace") == b"# Keyspace\r\n"
    # Only the requested sections are returned.
    both = c.call("INFO", "server", "clients").decode()  # multiple sections: Redis 7.0
    assert re.findall(r"^# (\w+)\r$", both, re.M) == ["Server", "Clients"]


def test_info_stats_counters(r):
    r.config_resetstat()
    r.set("k", "v", px=30)
    r.get("k")
    time.sleep(0.1)
    r.get("k")  # lazily expired: a miss and an expired key
    stats = r.info("stats")
    assert stats["keyspace_hits"] == 1
    assert stats["keyspace_misses"] == 1
    assert stats["expired_keys"] == 1


def test_debug_sleep(debug_client):
    assert debug_client.execute_command("DEBUG", "SLEEP", "0") == "OK"
    start = time.monotonic()
    assert debug_client.execute_command("DEBUG", "SLEEP", "0.2") == "OK"
    assert time.monotonic() - start >= 0.15


def test_function_list_and_flush(r):
    # Functions (Redis 7.0) exist, but nothing is loaded.
    assert r.execute_command("FUNCTION", "LIST") == []
    assert r.execute_command("FUNCTION", "FLUSH") == "OK"


def test_unknown_command_and_arity_via_redis_py(r):
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("NOSUCHCMD", "a", "b")
    assert str(e.value) == "unknown command 'NOSUCHCMD', with args beginning with: 'a' 'b' "
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("GET")
    assert str(e.value) == "wrong number of arguments for 'get' command"


def test_idle_timeout_closes_idle_clients(make_server):
    srv = make_server(["--timeout", "1"])
    idle, busy = srv.raw(timeout=6), srv.raw(timeout=6)
    assert idle.call("PING") == b"PONG"
    deadline = time.monotonic() + 3.5
    while time.monotonic() < deadline:
        assert busy.call("PING") == b"PONG"
        time.sleep(0.2)
    idle.assert_closed(timeout=3)
    assert busy.call("PING") == b"PONG"
    assert srv.raw().call("CONFIG", "GET", "timeout") == [b"timeout", b"1"]


def test_connection_counters(server, r):
    before = r.info("stats")["total_connections_received"]
    extra = [RawClient(server.host, server.port) for _ in range(3)]
    for i, c in enumerate(extra):
        assert c.call("CLIENT", "SETNAME", f"counted-{i}") == b"OK"
    assert r.info("stats")["total_connections_received"] >= before + 3
    assert r.info("clients")["connected_clients"] >= 4
    assert {f"counted-{i}" for i in range(3)} <= {c["name"] for c in r.client_list()}
    for c in extra:
        c.close()
    # Closed connections leave the client table promptly.
    assert wait_until(lambda: not any(c["name"].startswith("counted-") for c in r.client_list()), timeout=5)
