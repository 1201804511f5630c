"""Wire-level behaviour, judged with raw sockets."""

import os
import socket
import struct
import threading
import time

import pytest

from helpers import encode_command, wait_until


# --- request formats -------------------------------------------------------------

def test_inline_commands(raw):
    c = raw()
    c.send(b"PING\r\n")
    assert c.read_raw_line() == b"+PONG"
    c.send(b"SET k hello\r\nGET k\r\n")
    assert c.read_reply() == b"OK"
    assert c.read_reply() == b"hello"
    # Quoting and escapes follow redis-cli rules; LF alone also ends a line.
    c.send(b'ECHO "a b"\r\nSET q "\\x41\\x00B"\nGET q\r\nECHO \'single quoted\'\r\n')
    assert c.read_reply() == b"a b"
    assert c.read_reply() == b"OK"
    assert c.read_reply() == b"A\x00B"
    assert c.read_reply() == b"single quoted"
    # Empty inline lines are ignored.
    c.send(b"\r\n   \r\nPING\r\n")
    assert c.read_raw_line() == b"+PONG"


def test_inline_unbalanced_quotes_is_a_protocol_error(raw):
    c = raw()
    c.send(b'ECHO "unbalanced\r\n')
    assert c.read_raw_line() == b"-ERR Protocol error: unbalanced quotes in request"
    c.assert_closed()


def test_empty_and_negative_multibulk_are_ignored(raw):
    c = raw()
    c.send(b"*0\r\n*-1\r\nPING\r\n")
    assert c.read_raw_line() == b"+PONG"


def test_pipelining_10000_commands_in_one_write(raw):
    c = raw(timeout=20)
    n = 10000
    c.send(b"".join(encode_command("SET", f"key:{i}", f"value:{i}") for i in range(n)))
    for i in range(n):
        assert c.read_reply() == b"OK", f"reply {i}"
    c.send(b"".join(encode_command("GET", f"key:{i}") for i in range(n)))
    for i in range(n):
        assert c.read_reply() == f"value:{i}".encode()
    c.send(b"PING\r\n" * n)  # inline pipelining too
    for _ in range(n):
        assert c.read_raw_line() == b"+PONG"
    assert c.call("DBSIZE") == n


def test_stored_values_do_not_share_the_receive_buffer(raw):
    """Arguments are read in place from the receive buffer; whatever a write stores must be a
    copy. Writes of every kind are pipelined in pieces cut at odd sizes (so requests straddle
    reads and the buffer is refilled many times), then every stored byte is read back."""
    c = raw(timeout=20)
    rng = __import__("random").Random(5)
    n = 300
    val = [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40))) for _ in range(n)]
    stream = b""
    for i in range(n):
        stream += encode_command("MSET", f"ms:{i}:a", val[i], f"ms:{i}:b", val[(i + 1) % n])
        stream += encode_command("HSET", "h", f"f{i}", val[i])
        stream += encode_command("RPUSH", "l", val[i], val[(i + 7) % n])
        stream += encode_command("SADD", "s", val[i])
        stream += encode_command("ZADD", "z", str(i), val[i] + b"#%d" % i)
        stream += encode_command("SETEX", f"ex:{i}", "1000", val[i])
    pos = 0
    while pos < len(stream):
        step = rng.randrange(1, 3000)
        c.send(stream[pos:pos + step])
        pos += step
    for i in range(n):
        assert c.read_reply() == b"OK"
        assert c.read_reply() in (0, 1)
        assert c.read_reply() == 2 * (i + 1)
        assert c.read_reply() in (0, 1)
        assert c.read_reply() == 1
        assert c.read_reply() == b"OK"
    for i in range(n):
        assert c.call("MGET", f"ms:{i}:a", f"ms:{i}:b", f"ex:{i}") == [val[i], val[(i + 1) % n], val[i]]
        assert c.call("HGET", "h", f"f{i}") == val[i]
        assert c.call("ZSCORE", "z", val[i] + b"#%d" % i) == str(i).encode()
    assert c.call("LRANGE", "l", "0", "-1") == [v for i in range(n) for v in (val[i], val[(i + 7) % n])]
    assert sorted(c.call("SMEMBERS", "s")) == sorted(set(val))


def test_mixed_reply_types_pipelined(raw):
    c = raw()
    c.send(encode_command("SET", "n", "1") + encode_command("INCR", "n") + encode_command("GET", "nope")
           + encode_command("LPUSH", "n", "x") + encode_command("RPUSH", "l", "a", "b")
           + encode_command("LRANGE", "l", "0", "-1"))
    assert c.read_reply_wire() == b"+OK\r\n"
    assert c.read_reply_wire() == b":2\r\n"
    assert c.read_reply_wire() == b"$-1\r\n"
    assert c.read_reply_wire() == b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    assert c.read_reply_wire() == b":2\r\n"
    assert c.read_reply_wire() == b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"


def test_binary_safe_keys_and_values(raw):
    c = raw()
    key = b"k\r\n\x00\xff*1\r\n$3"
    value = b"\r\n\x00" * 100 + bytes(range(256))
    assert c.call("SET", key, value) == b"OK"
    assert c.call("GET", key) == value
    assert c.call("STRLEN", key) == len(value)
    assert c.call("EXISTS", key) == 1
    assert c.call("KEYS", "*") == [key]
    c.call("HSET", b"h\x00", b"f\r\n", b"\x00")
    assert c.call("HGETALL", b"h\x00") == [b"f\r\n", b"\x00"]
    assert c.call("ECHO", b"") == b""


def test_command_split_at_every_byte_position(raw):
    c = raw()
    cmd = encode_command("SET", "split:key", "va\r\nlue") + encode_command("GET", "split:key")
    for cut in range(1, len(cmd)):
        c.send(cmd[:cut])
        time.sleep(0.002)  # let the first part arrive on its own
        c.send(cmd[cut:])
        assert c.read_reply() == b"OK", f"cut at {cut}"
        assert c.read_reply() == b"va\r\nlue", f"cut at {cut}"


def test_command_sent_one_byte_at_a_time(raw):
    c = raw()
    for b in encode_command("RPUSH", "bytes", "x" * 20, "y"):
        c.send(bytes([b]))
    assert c.read_reply() == 2
    for b in b"LLEN bytes\r\n":
        c.send(bytes([b]))
    assert c.read_reply() == 2


def test_large_multibulk_command(raw):
    c = raw(timeout=20)
    n = 100000
    c.send(encode_command("RPUSH", "big", *[str(i) for i in range(n)]))
    assert c.read_reply() == n
    assert c.call("LINDEX", "big", "-1") == str(n - 1).encode()
    big = b"v" * (8 * 1024 * 1024)
    assert c.call("SET", "bigval", big) == b"OK"
    assert c.call("STRLEN", "bigval") == len(big)


# --- protocol errors ----------------------------------------------------------------

@pytest.mark.parametrize("garbage,error", [
    (b"*abc\r\n", b"-ERR Protocol error: invalid multibulk length"),
    (b"*1\r\n$-5\r\n", b"-ERR Protocol error: invalid bulk length"),
    (b"*1\r\n$abc\r\n", b"-ERR Protocol error: invalid bulk length"),
    (b"*1\r\n$536870913\r\n", b"-ERR Protocol error: invalid bulk length"),  # > proto-max-bulk-len
    (b"*1\r\n$99999999999999999999\r\n", b"-ERR Protocol error: invalid bulk length"),
    (b"*2147483648\r\n", b"-ERR Protocol error: invalid multibulk length"),
    (b"*1\r\nfoo\r\n", b"-ERR Protocol error: expected '$', got 'f'"),
    (b"*" + b"1" * 70000, b"-ERR Protocol error: too big mbulk count string"),
    (b"x" * 70000, b"-ERR Protocol error: too big inline request"),
])
def test_protocol_errors_close_the_connection(raw, garbage, error):
    bad, good = raw(), raw()
    good.call("SET", "k", "v")
    bad.send(b"PING\r\n" + garbage)
    assert bad.read_raw_line() == b"+PONG"  # commands before the garbage still run
    assert bad.read_raw_line() == error
    bad.assert_closed()
    assert good.call("GET", "k") == b"v"
    assert good.call("PING") == b"PONG"


def test_huge_multibulk_count_without_payload(raw):
    # A plausible count with no arguments yet must not make the server
    # allocate for it, nor disturb anyone else.
    bad, good = raw(), raw()
    bad.send(b"*1048576\r\n$3\r\nSET\r\n")
    time.sleep(0.1)
    assert good.call("PING") == b"PONG"
    bad.close()
    assert good.call("PING") == b"PONG"


# --- error texts ------------------------------------------------------------------

def test_unknown_command_error_text(raw):
    c = raw()
    assert c.call_wire("foo", "a") == b"-ERR unknown command 'foo', with args beginning with: 'a' \r\n"
    assert c.call_wire("FOO") == b"-ERR unknown command 'FOO', with args beginning with: \r\n"
    assert c.call_wire("foo", "", "b") == b"-ERR unknown command 'foo', with args beginning with: '' 'b' \r\n"
    # Newlines in error text are replaced by spaces so the reply stays one line.
    assert c.call_wire("foo", "a\r\nb") == b"-ERR unknown command 'foo', with args beginning with: 'a  b' \r\n"
    # The argument list is cut at 128 characters.
    assert c.call_wire("foo", "x" * 200) == \
        b"-ERR unknown command 'foo', with args beginning with: '" + b"x" * 128 + b"' \r\n"
    assert c.call_wire("foo", "x" * 100, "y" * 100, "z") == \
        b"-ERR unknown command 'foo', with args beginning with: '" + b"x" * 100 + b"' '" + b"y" * 25 + b"' \r\n"
    c.send(b"foo a b\r\n")
    assert c.read_raw_line() == b"-ERR unknown command 'foo', with args beginning with: 'a' 'b' "
    assert c.call("PING") == b"PONG"  # not a protocol error: the connection stays


def test_wrong_arity_error_text(raw):
    c = raw()
    assert c.call_wire("GET") == b"-ERR wrong number of arguments for 'get' command\r\n"
    assert c.call_wire("get", "a", "b") == b"-ERR wrong number of arguments for 'get' command\r\n"
    assert c.call_wire("SET", "k") == b"-ERR wrong number of arguments for 'set' command\r\n"
    # Redis 7.0 names subcommands as container|subcommand.
    assert c.call_wire("CLIENT", "SETNAME") == b"-ERR wrong number of arguments for 'client|setname' command\r\n"
    assert c.call_wire("CONFIG", "foo") == b"-ERR unknown subcommand 'foo'. Try CONFIG HELP.\r\n"
    assert c.call("PING") == b"PONG"


# --- limits ----------------------------------------------------------------------

def test_maxclients(make_server):
    srv = make_server(["--maxclients", "2"])
    a = srv.raw()
    assert a.call("PING") == b"PONG"
    # The start-up probe's connection may not have been reaped yet: it would take b's place.
    wait_until(lambda: b"connected_clients:1\r\n" in a.call("INFO", "clients"))
    b = srv.raw()
    assert b.call("PING") == b"PONG"
    c = srv.raw()
    assert c.read_raw_line() == b"-ERR max number of clients reached"
    c.assert_closed()
    assert a.call("PING") == b"PONG"
    stats = a.call("INFO", "stats").decode()
    assert "rejected_connections:1" in stats
    b.close()
    # A freed slot can be taken again.
    assert wait_until(lambda: b"connected_clients:1\r\n" in a.call("INFO", "clients"), timeout=5)
    d = srv.raw()
    assert d.call("PING") == b"PONG"


def test_maxclients_holds_under_a_burst_of_connections(make_server):
    """80 clients connect at once (threads released together) to a server with maxclients 50
    and one client already connected: exactly 49 are served, the other 31 get Redis's error and
    are closed, whatever the order in which the event loops accept them."""
    srv = make_server(["--maxclients", "50"])
    probe = srv.raw()
    assert probe.call("PING") == b"PONG"
    # The start-up probe's connection may not have been reaped yet.
    wait_until(lambda: b"connected_clients:1\r\n" in probe.call("INFO", "clients"))
    start = threading.Barrier(80)
    results, held = [], []
    lock = threading.Lock()

    def connect():
        sock = socket.socket()
        sock.settimeout(5)
        start.wait()
        sock.connect((srv.host, srv.port))
        sock.sendall(encode_command("PING"))
        reply = b""
        try:
            while not reply.endswith(b"\r\n"):
                chunk = sock.recv(256)
                if not chunk:
                    break
                reply += chunk
        except OSError:
            pass
        with lock:
            results.append(reply)
            held.append(sock)

    threads = [threading.Thread(target=connect) for _ in range(80)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    try:
        assert len(results) == 80
        assert results.count(b"+PONG\r\n") == 49, results
        assert results.count(b"-ERR max number of clients reached\r\n") == 31, results
        assert b"rejected_connections:31\r\n" in probe.call("INFO", "stats")
    finally:
        for sock in held:
            sock.close()


def test_output_buffer_limit_disconnects_slow_reader(make_server):
    srv = make_server(["--client-output-buffer-limit", "normal 1mb 0 0"])
    observer = srv.raw()
    value = b"x" * (100 * 1024)
    assert observer.call("SET", "big", value) == b"OK"

    hog = socket.socket()
    hog.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # keep kernel buffering small
    hog.settimeout(5)
    hog.connect((srv.host, srv.port))
    try:
        hog.sendall(encode_command("CLIENT", "SETNAME", "hog") + encode_command("GET", "big") * 1000)
        # ~100 MB of replies that are never read: far past the 1 MB hard limit.
        assert wait_until(lambda: b"name=hog" not in observer.call("CLIENT", "LIST"), timeout=10), \
            "slow reader was not disconnected"
    finally:
        hog.close()
    # Everyone else is still served, including big replies within the limit.
    assert observer.call("GET", "big") == value
    fresh = srv.raw()
    assert fresh.call("GET", "big") == value


def test_slow_reader_without_limit_is_paused_not_dropped(make_server):
    """No output limit for normal clients (the default): a client that stops reading its replies
    is not disconnected. Swiftlet stops reading its requests while its socket is not writable, so
    the replies it holds stay bounded; the client later receives every reply, intact, and others
    are served meanwhile."""
    srv = make_server([])
    observer = srv.raw()
    value = b"v" * (100 * 1024)
    assert observer.call("SET", "big", value) == b"OK"

    def rss_kib():
        with open(f"/proc/{srv.proc.pid}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS"))

    before = rss_kib()
    requests = 2000  # 200 MB of replies
    reader = socket.create_connection((srv.host, srv.port))
    reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    sender = threading.Thread(target=lambda: [reader.sendall(encode_command("GET", "big") * 10)
                                              for _ in range(requests // 10)], daemon=True)
    sender.start()
    time.sleep(2)  # the client reads nothing meanwhile
    assert observer.call("PING") == b"PONG"
    if "swiftlet" in os.path.basename(srv.binary):
        # Redis buffers whatever it reads for such a client; Swiftlet holds back.
        assert rss_kib() - before < 64 * 1024, "replies piled up in the server"
    header = b"$%d\r\n" % len(value)
    expected = len(header) + len(value) + 2
    reader.settimeout(20)
    received = bytearray()
    while len(received) < expected * requests:
        chunk = reader.recv(1 << 20)
        assert chunk, "connection closed early"
        received += chunk
    sender.join(timeout=20)
    reader.close()
    assert len(received) == expected * requests
    assert received[:expected] == header + value + b"\r\n"
    assert received[-expected:] == header + value + b"\r\n"
    assert received.count(header) == requests


def test_half_closing_slow_reader_gets_every_reply_then_eof(make_server):
    """`cat requests | nc`-style with replies far larger than the socket buffers: the client
    sends everything, shuts down its sending side, and only then reads. Every reply arrives
    (also those whose requests waited while the client was paused), then the server closes.
    Redis 7.0 frees such a client at end-of-file and drops what its socket did not take."""
    srv = make_server([])
    value = b"w" * (64 * 1024)
    assert srv.raw().call("SET", "big", value) == b"OK"
    requests = 1000
    c = socket.create_connection((srv.host, srv.port))
    c.sendall(encode_command("GET", "big") * requests)
    c.shutdown(socket.SHUT_WR)
    c.settimeout(20)
    received = bytearray()
    while True:
        chunk = c.recv(1 << 20)
        if not chunk:
            break
        received += chunk
    c.close()
    expected = b"$%d\r\n" % len(value) + value + b"\r\n"
    assert len(received) == len(expected) * requests
    assert received.count(b"$%d\r\n" % len(value)) == requests


def test_client_closing_mid_command_does_not_disturb_others(raw):
    bad, good = raw(), raw()
    bad.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\npartial")
    bad.close()
    assert good.call("GET", "k") is None
    assert good.call("PING") == b"PONG"


def test_client_that_half_closes_after_sending_gets_every_reply(raw):
    """`printf 'PING\r\n...' | nc host port` style: the client shuts down its sending side right
    after the requests; the server still answers all of them, then closes."""
    for _ in range(20):
        c = raw()
        c.send(b"PING\r\n*3\r\n$3\r\nSET\r\n$2\r\nhc\r\n$1\r\nv\r\nGET hc\r\n")
        c.sock.shutdown(socket.SHUT_WR)
        received = b""
        while True:
            chunk = c.sock.recv(4096)
            if not chunk:
                break
            received += chunk
        assert received == b"+PONG\r\n+OK\r\n$1\r\nv\r\n"


def test_resp3_reply_types_on_the_wire(raw):
    c = raw()
    c.call("HELLO", "3")
    assert c.call_wire("GET", "nope") == b"_\r\n"
    c.call("ZADD", "z", "2.5", "m")
    assert c.call_wire("ZSCORE", "z", "m") == b",2.5\r\n"
    c.call("SADD", "s", "a")
    assert c.call_wire("SMEMBERS", "s") == b"~1\r\n$1\r\na\r\n"
    c.call("HSET", "h", "f", "v")
    assert c.call_wire("HGETALL", "h") == b"%1\r\n$1\r\nf\r\n$1\r\nv\r\n"
    assert c.call_wire("EXISTS", "h") == b":1\r\n"
    assert c.call_wire("CONFIG", "GET", "maxmemory") == b"%1\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n"


def test_server_survives_abrupt_disconnects(server, raw):
    for i in range(20):
        s = socket.create_connection((server.host, server.port), timeout=5)
        # Half leave a blocked BLPOP behind, half a half-sent command.
        s.sendall(encode_command("BLPOP", "never", "0") if i % 2 else b"*2\r\n$3\r\nGET")
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()  # RST
    c = raw()
    assert c.call("PING") == b"PONG"
    assert wait_until(lambda: b"\r\nblocked_clients:0\r\n" in c.call("INFO", "clients"))

