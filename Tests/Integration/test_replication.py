"""Master/replica replication as Redis 7.0 does it (REPLICAOF, the PSYNC handshake, diskless
full syncs, the backlog and PSYNC2's second replication id), judged between Swiftlet and real
redis-server 7.0 in both roles and between two Swiftlets.

Every test was validated with every role played by redis-server (SWIFTLET_SERVER pointing at
it), so each expectation is what Redis itself does. The servers talk to each other over
127.0.0.1 only; a test that needs a link it can break puts a small TCP proxy (LinkProxy) between
the replica and its master. Every wait is bounded and its failure message carries the tails of
the logs of all servers in the test.
"""

import os
import shutil
import signal
import socket
import threading
import time

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

import helpers
from conftest import server_binary
from helpers import Background, RespError, ServerProcess, wait_until

REDIS_SERVER = shutil.which("redis-server")

READONLY = "READONLY You can't write against a read only replica."
# Redis 7.0 logs this once per snapshot pass of a diskless full sync, however many replicas
# the pass serves.
SNAPSHOT_LINE = "Starting BGSAVE for SYNC with target: replicas sockets"
# Diskless full syncs that start at once (Redis waits 5 s by default for more replicas).
FAST_SYNC = ("--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0")

# (master, replica) kinds of the interop tests.
KINDS = [
    pytest.param("swiftlet", "redis", id="swiftlet-master-redis-replica"),
    pytest.param("redis", "swiftlet", id="redis-master-swiftlet-replica"),
    pytest.param("swiftlet", "swiftlet", id="swiftlet-master-swiftlet-replica"),
]

# Connection errors fail at once: a dead or loading server is something the waits poll for,
# and redis-py's default retries with backoff would stretch every poll to seconds.
NO_RETRY = Retry(NoBackoff(), 0)
POLL_ERRORS = (redis.ConnectionError, redis.TimeoutError)


def binary_for(kind_or_binary):
    if kind_or_binary == "swiftlet":
        return server_binary()
    if kind_or_binary == "redis":
        if REDIS_SERVER is None:
            pytest.skip("redis-server not installed")
        return REDIS_SERVER
    return kind_or_binary


class PinnedPortServer(ServerProcess):
    """A ServerProcess that starts on a given port instead of a fresh one: a master restarted
    where its replica looks for it."""

    def __init__(self, binary, workdir, port, extra_args=()):
        super().__init__(binary, workdir, extra_args)
        self.pinned_port = port

    def _start_once(self, ready_timeout):
        # ServerProcess takes its port from helpers.free_port(); for this one start it is ours.
        original = helpers.free_port
        helpers.free_port = lambda: self.pinned_port
        try:
            return super()._start_once(ready_timeout)
        finally:
            helpers.free_port = original


def start(kind_or_binary, workdir, *args, port=None):
    """Start a server ("swiftlet", "redis" or a binary path) with the redis-server command-line
    convention plus args; on a given port if port is set."""
    binary = binary_for(kind_or_binary)
    if port is None:
        proc = ServerProcess(binary, str(workdir), list(args))
    else:
        proc = PinnedPortServer(binary, str(workdir), port, list(args))
    return proc.start()


def info(client, section="replication"):
    """INFO section as a dict (redis-py's parser: numbers become int, slaveN:ip=..,port=..
    becomes a dict)."""
    return client.info(section)


class Node:
    """One started server: its process, its kind, and a decoded RESP2 client."""

    def __init__(self, servers, proc, kind, name, password=None):
        self.servers = servers
        self.proc = proc
        self.kind = kind
        self.name = name
        self.password = password
        self.c = self.client()

    @property
    def host(self):
        return self.proc.host

    @property
    def port(self):
        return self.proc.port

    def client(self, db=0, decode=True):
        return redis.Redis(host=self.host, port=self.port, db=db, password=self.password,
                           decode_responses=decode, protocol=2, socket_timeout=10,
                           socket_connect_timeout=5, retry=NO_RETRY)

    def info(self, section="replication"):
        return info(self.c, section)

    def alive(self):
        return self.proc.proc is not None and self.proc.proc.poll() is None

    def kill(self):
        """SIGKILL: no shutdown, no goodbye to the replicas."""
        self.proc.proc.send_signal(signal.SIGKILL)
        self.proc.proc.wait(timeout=10)
        self.proc.stop()
        self.c.close()

    def log(self):
        with open(self.proc.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def __repr__(self):
        return f"{self.name}({self.kind}:{self.port})"


class Servers:
    """The servers and proxies of one test; close() stops them all, newest first, so replicas
    go before their master and the master's shutdown waits for nobody."""

    def __init__(self, root):
        self.root = root
        self.nodes = []
        self.proxies = []

    def start(self, kind, name, *args, password=None, port=None, workdir=None):
        workdir = workdir or os.path.join(str(self.root), name)
        proc = start(kind, workdir, *args, port=port)
        node = Node(self, proc, kind, name, password)
        self.nodes.append(node)
        return node

    def proxy(self, target_port):
        p = LinkProxy(target_port)
        self.proxies.append(p)
        return p

    def tails(self):
        return "".join(f"\n--- {n} log tail ---\n{n.proc.log_tail(25)}" for n in self.nodes)

    def expect(self, predicate, timeout, what):
        """Wait for predicate (errors from a down or loading server count as 'not yet') and
        fail with what, the last error and every server's log tail."""
        last = {}

        def attempt():
            try:
                return predicate()
            except POLL_ERRORS as e:
                last["error"] = repr(e)
                return False

        value = wait_until(attempt, timeout, 0.05)
        if not value:
            raise AssertionError(f"timed out after {timeout}s: {what} "
                                 f"(last error: {last.get('error')}){self.tails()}")
        return value

    def close(self):
        for p in self.proxies:
            p.close()
        for n in reversed(self.nodes):
            try:
                n.c.close()
            finally:
                n.proc.stop()


@pytest.fixture
def servers(tmp_path):
    s = Servers(tmp_path)
    try:
        yield s
    finally:
        s.close()


REPL_FIELDS = ("role", "master_link_status", "master_sync_in_progress", "slave_repl_offset",
               "master_repl_offset", "master_replid", "master_replid2", "second_repl_offset",
               "connected_slaves", "slave0", "slave1", "slave2")


def describe(*nodes):
    out = []
    for n in nodes:
        try:
            i = n.info()
            out.append(f"{n}: " + ", ".join(f"{k}={i[k]}" for k in REPL_FIELDS if k in i))
        except POLL_ERRORS as e:
            out.append(f"{n}: INFO failed: {e!r}")
    return "\n".join(out)


def wait_synced(master, replica, timeout=20.0):
    """Wait until the replica's link is up, it has processed everything the master has
    produced (slave_repl_offset == the master's master_repl_offset), and the master lists it
    (by its listening port) as online. The last is not implied by the others: Redis's replica
    reports its link up once it has loaded the snapshot, while the master moves it from
    wait_bgsave to online only when it reaps the snapshot child, a moment later."""
    def synced():
        mi, ri = master.info(), replica.info()
        online = any(isinstance(v, dict) and v.get("port") == replica.port and v.get("state") == "online"
                     for k, v in mi.items() if k.startswith("slave"))
        return (ri.get("master_link_status") == "up" and ri.get("slave_repl_offset") == mi["master_repl_offset"]
                and online)

    try:
        master.servers.expect(synced, timeout, f"{replica} in sync with {master}")
    except AssertionError as e:
        raise AssertionError(f"{e}\n{describe(master, replica)}") from None


def wait_link(node, status, timeout=10.0):
    node.servers.expect(lambda: node.info().get("master_link_status") == status, timeout,
                        f"{node} master_link_status:{status}")


def keyspace(node):
    """{db: (keys, expires)} as INFO keyspace counts them: keys physically held, logically
    expired or not, so equal counts show the master's expiry reached the replica as DELs."""
    return {db: (v["keys"], v["expires"]) for db, v in node.info("keyspace").items()}


def dataset(node):
    """{(db, key): (type, value, pttl)} for every key of every db in INFO keyspace, read with a
    bytes client (binary keys and values). Sets compare as sets, sorted-set scores as floats."""
    out = {}
    for dbname in node.info("keyspace"):
        db = int(dbname[2:])
        c = node.client(db=db, decode=False)
        try:
            keys = sorted(set(c.scan_iter(count=1000)))
            for i in range(0, len(keys), 1000):
                chunk = keys[i:i + 1000]
                p = c.pipeline(transaction=False)
                for k in chunk:
                    p.type(k)
                    p.pttl(k)
                meta = p.execute()
                types = [t.decode() for t in meta[0::2]]
                ttls = meta[1::2]
                strings = [k for k, t in zip(chunk, types) if t == "string"]
                p = c.pipeline(transaction=False)
                if strings:
                    p.mget(strings)
                others = [(k, t) for k, t in zip(chunk, types) if t != "string"]
                for k, t in others:
                    if t == "list":
                        p.lrange(k, 0, -1)
                    elif t == "hash":
                        p.hgetall(k)
                    elif t == "set":
                        p.smembers(k)
                    elif t == "zset":
                        p.zrange(k, 0, -1, withscores=True)
                    else:
                        p.type(k)   # 'none' (gone since the SCAN) or a type this suite does not write
                replies = p.execute()
                values = {}
                if strings:
                    values.update(zip(strings, replies.pop(0)))
                for (k, t), v in zip(others, replies):
                    values[k] = set(v) if t == "set" else v
                for k, t, ttl in zip(chunk, types, ttls):
                    out[(db, k)] = (t, values[k], ttl)
        finally:
            c.close()
    return out


def assert_same_data(master, replica, ttl_slack_ms=2000):
    """The same keys in every db, each with the same type and value, a TTL on both or on
    neither, and TTLs within ttl_slack_ms (the two reads are not simultaneous)."""
    a, b = dataset(master), dataset(replica)
    missing = sorted(set(a) - set(b))
    extra = sorted(set(b) - set(a))
    differ = sorted(k for k in set(a) & set(b) if a[k][:2] != b[k][:2])
    ttl = sorted(k for k in set(a) & set(b)
                 if (a[k][2] >= 0) != (b[k][2] >= 0) or abs(a[k][2] - b[k][2]) > ttl_slack_ms)
    problems = []
    if missing:
        problems.append(f"{len(missing)} keys missing on the replica, e.g. {missing[:5]}")
    if extra:
        problems.append(f"{len(extra)} keys only on the replica, e.g. {extra[:5]}")
    if differ:
        problems.append(f"{len(differ)} values differ, e.g. " +
                        "; ".join(f"{k}: master {a[k][:2]!r:.200} replica {b[k][:2]!r:.200}" for k in differ[:3]))
    if ttl:
        problems.append(f"{len(ttl)} TTLs differ, e.g. " +
                        "; ".join(f"{k}: master {a[k][2]} replica {b[k][2]}" for k in ttl[:3]))
    assert not problems, f"{replica} differs from {master} ({len(a)} keys on the master):\n" + "\n".join(problems)
    return len(a)


class LinkProxy:
    """A TCP forwarder from a free local port to 127.0.0.1:target_port, one thread per
    direction of each connection. cut() closes both sockets of every current connection (each
    end sees the other hang up); while refusing, a new connection is accepted and closed at once,
    so a replica's reconnection attempts fail until restore()."""

    def __init__(self, target_port, host="127.0.0.1"):
        self.target = (host, target_port)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, 0))
        self.listener.listen(16)
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.pairs = []
        self.refusing = False
        self.accepted = 0
        self.refused = 0
        self.closed = threading.Event()
        self.thread = threading.Thread(target=self._accept_loop, daemon=True)
        self.thread.start()

    def _accept_loop(self):
        while not self.closed.is_set():
            try:
                conn, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.settimeout(None)
            if self.refusing:
                self.refused += 1
                conn.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                conn.close()
                continue
            upstream.settimeout(None)
            for s in (conn, upstream):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            pair = (conn, upstream)
            with self.lock:
                self.pairs.append(pair)
                self.accepted += 1
            for src, dst in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=self._pump, args=(src, dst, pair), daemon=True).start()

    def _pump(self, src, dst, pair):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            self._close_pair(pair)

    def _close_pair(self, pair):
        with self.lock:
            if pair in self.pairs:
                self.pairs.remove(pair)
        for s in pair:
            # shutdown wakes the other pump thread blocked in recv on the same socket.
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def cut(self, refuse=True):
        self.refusing = refuse
        with self.lock:
            pairs = list(self.pairs)
        for pair in pairs:
            self._close_pair(pair)

    def restore(self):
        self.refusing = False

    def close(self):
        self.closed.set()
        self.cut(refuse=True)
        self.listener.close()
        self.thread.join(timeout=2)


def fill(m, expiring=True):
    """A mixed dataset in dbs 0 and 3: every type, binary strings, float arithmetic, random
    pops, TTLs of every form (far in the future), a transaction, a deletion, one key about to
    expire (unless not expiring: a test that compares before it is gone must not have it), and
    enough bulk keys that a snapshot takes a moment."""
    c, b = m.client(), m.client(decode=False)
    c3, b3 = m.client(db=3), m.client(db=3, decode=False)
    now = time.time()
    c.set("str", "value")
    c.set("counter", 10)
    c.incr("counter")
    c.incrby("counter", 31)
    c.incrbyfloat("float", "3.25")
    c.incrbyfloat("float", "0.1")
    b.set(b"bin\x00key\xff", bytes(range(256)))
    b.set(b"crlf", b"a\r\nb\x00\r\n")
    c.append("str", "-appended")
    c.rpush("list", *[f"e{i}" for i in range(100)])
    c.lpush("list", "h1", "h2", "h3")
    c.lpop("list")
    c.rpop("list", 2)
    c.hset("hash", mapping={f"f{i}": f"v{i}" for i in range(30)})
    c.hincrbyfloat("hash", "f1.5", "1.5")
    c.hincrby("hash", "n", 7)
    c.hdel("hash", "f3")
    c.sadd("set", *range(60))
    c.spop("set")
    c.spop("set", 3)
    c.srem("set", "10", "11")
    c.sadd("intset", 1, 2, 3)
    c.zadd("zset", {f"m{i}": i * 0.5 for i in range(80)})
    c.zincrby("zset", 2.25, "m3")
    c.zrem("zset", "m4")
    c.set("ttl:ex", "v", ex=10_000)
    c.set("ttl:px", "v", px=20_000_000)
    c.set("ttl:expire", "v")
    c.expire("ttl:expire", 30_000)
    c.set("ttl:expireat", "v")
    c.expireat("ttl:expireat", int(now) + 40_000)
    c.set("ttl:pexpireat", "v")
    c.pexpireat("ttl:pexpireat", int(now * 1000) + 50_000_000)
    c.rpush("ttl:list", "a", "b")
    c.expire("ttl:list", 60_000)
    with c.pipeline(transaction=True) as p:
        p.incr("tx:n")
        p.rpush("tx:list", "a", "b")
        p.hset("tx:hash", "f", "v")
        p.execute()
    c.set("deleted", "v")
    c.delete("deleted")
    if expiring:
        c.set("short:early", "v", px=300)
    for i in range(0, 3000, 500):
        c.mset({f"bulk:{j}": f"value-{j}-" + "x" * (j % 50) for j in range(i, i + 500)})
    c3.set("db3:str", "three")
    b3.set(b"\x00", b"\xff\x00\xfe")
    c3.rpush("db3:list", 1, 2, 3)
    c3.hset("db3:hash", "a", "1")
    c3.sadd("db3:set", "x", "y")
    c3.zadd("db3:zset", {"a": 1.5, "b": -2})
    c3.set("db3:ttl", "v", ex=9_000)
    for x in (c, b, c3, b3):
        x.close()


class Writer:
    """Writes from a background thread until finish(): pipelined batches over every type in
    dbs 0 and 3. count is the number of writes acknowledged so far."""

    def __init__(self, node):
        self.node = node
        self.count = 0
        self.stop = threading.Event()
        self.bg = Background(self._run)

    def _run(self):
        c0, c3 = self.node.client(), self.node.client(db=3)
        i = 0
        deadline = time.monotonic() + 30
        try:
            while not self.stop.is_set() and time.monotonic() < deadline:
                p = c0.pipeline(transaction=False)
                for _ in range(20):
                    i += 1
                    p.set(f"bg:{i}", i)
                    p.incr("bg:counter")
                    p.rpush("bg:list", i)
                    p.hincrby("bg:hash", f"f{i % 16}", 1)
                    p.zincrby("bg:zset", 0.5, f"m{i % 32}")
                    if i % 3:
                        p.sadd("bg:set", i % 100)
                    else:
                        p.srem("bg:set", (i * 7) % 100)
                p.execute()
                p = c3.pipeline(transaction=False)
                for j in range(i - 20, i):
                    p.set(f"bg3:{j}", j)
                    p.lpush("bg3:list", j)
                p.execute()
                self.count += 160
                time.sleep(0.002)
        finally:
            c0.close()
            c3.close()

    def finish(self):
        self.stop.set()
        self.bg.result(timeout=10)


def replicaof(master):
    return ("--replicaof", f"{master.host} {master.port}")


@pytest.mark.parametrize("master_kind,replica_kind", KINDS)
def test_replica_matches_master(servers, master_kind, replica_kind):
    """A replica started with --replicaof while a client keeps writing ends with the master's
    dataset, key by key (type, value, TTL) in every db: the snapshot and the stream of writes
    made during and after it fit together with nothing lost or doubled. Expiry on the master
    reaches the replica as deletions (its key counts match), writes keep flowing, the replica
    refuses writes with Redis's exact error, and ROLE has Redis's shape on both sides."""
    # A per-key delay makes the snapshot last a moment, so the writer's writes land during it.
    m = servers.start(master_kind, "master", *FAST_SYNC, "--rdb-key-save-delay", "100")
    fill(m)
    writer = Writer(m)
    try:
        r = servers.start(replica_kind, "replica", *replicaof(m))
        seen = {}

        def progress():
            i = r.info()
            if i.get("master_sync_in_progress") == 1:
                seen.setdefault("sync", writer.count)
            if i.get("master_link_status") == "up":
                seen.setdefault("up", writer.count)
            return "up" in seen and writer.count >= 3000

        servers.expect(progress, 30, "the replica's first sync, with 3000 writes made")
    finally:
        writer.finish()
    assert "sync" in seen and seen["up"] > seen["sync"], \
        f"the harness wants writes during the sync: writes counted at sync/up {seen}"
    wait_synced(m, r, 30)
    assert m.info("stats")["sync_full"] == 1

    # A key that expires after the sync, and the one that expired around it, are gone on both,
    # and the replica does not keep them either (physical key counts equal).
    m.c.set("short:late", "v", px=300)
    time.sleep(0.35)
    assert m.c.get("short:late") is None and m.c.get("short:early") is None
    wait_synced(m, r)
    servers.expect(lambda: keyspace(r) == keyspace(m), 5,
                   f"equal key counts: master {keyspace(m)} replica {keyspace(r)}")
    assert r.c.exists("short:late", "short:early") == 0
    count = assert_same_data(m, r)
    assert count > 3000

    # Writes after the sync keep flowing.
    m.c.set("after-sync", "1")
    servers.expect(lambda: r.c.get("after-sync") == "1", 5, "a write after the sync on the replica")

    # The replica refuses writes, with Redis's exact error text.
    with r.proc.raw() as raw:
        assert raw.call("SET", "x", "1") == RespError(READONLY)
        assert raw.call("GET", "after-sync") == b"1"

    # ROLE: master ["master", offset, [[ip, port, acked offset]]] (all three bulk strings);
    # replica ["slave", host, port, "connected", offset]. The replica acknowledges once a second.
    def acked():
        role = m.c.execute_command("ROLE")
        return role if role[2] and role[2][0][2] == str(role[1]) else None

    role = servers.expect(acked, 5, "the replica's ack of the master's offset in ROLE")
    offset = role[1]
    assert isinstance(offset, int) and role == ["master", offset, [["127.0.0.1", str(r.port), str(offset)]]], role
    rrole = r.c.execute_command("ROLE")
    assert rrole[:4] == ["slave", "127.0.0.1", m.port, "connected"] and isinstance(rrole[4], int), rrole
    assert rrole[4] >= offset
    mi, ri = m.info(), r.info()
    assert mi["role"] == "master" and mi["connected_slaves"] == 1
    assert mi["slave0"]["ip"] == "127.0.0.1" and mi["slave0"]["port"] == r.port
    assert mi["slave0"]["state"] == "online" and mi["slave0"]["offset"] >= offset
    assert ri["role"] == "slave" and ri["master_host"] == "127.0.0.1" and ri["master_port"] == m.port
    assert ri["master_replid"] == mi["master_replid"] and ri["slave_repl_offset"] >= offset


def cut_link(proxy, master, replica):
    """Break the replica's link and keep it broken: both sides must see it."""
    proxy.cut(refuse=True)
    master.servers.expect(lambda: master.info()["connected_slaves"] == 0, 10,
                          f"{master} noticing the cut link")
    wait_link(replica, "down")


def sync_stats(node):
    s = node.info("stats")
    return {k: s[k] for k in ("sync_full", "sync_partial_ok", "sync_partial_err")}


@pytest.mark.parametrize("master_kind,replica_kind", KINDS)
def test_broken_link_resumes_with_continue(servers, master_kind, replica_kind):
    """A replica whose link breaks asks for what it missed (PSYNC replid offset) and the master
    sends just that (+CONTINUE) from its backlog: sync_partial_ok goes up, sync_full does not.
    When the writes made during the break overflow a 16 KiB backlog (Redis's minimum), the
    master must refuse the partial resync and send a full one, and the replica still ends
    identical."""
    m = servers.start(master_kind, "master", *FAST_SYNC)
    m.c.set("before", "1")
    proxy = servers.proxy(m.port)
    r = servers.start(replica_kind, "replica", "--replicaof", f"127.0.0.1 {proxy.port}")
    wait_synced(m, r)
    assert r.info()["master_port"] == proxy.port
    assert sync_stats(m) == {"sync_full": 1, "sync_partial_ok": 0, "sync_partial_err": 0}

    cut_link(proxy, m, r)
    with m.c.pipeline(transaction=False) as p:
        for i in range(100):
            p.set(f"cut1:{i}", i)
        p.rpush("cut1:list", *range(100))
        p.execute()
    proxy.restore()
    wait_synced(m, r)
    assert sync_stats(m) == {"sync_full": 1, "sync_partial_ok": 1, "sync_partial_err": 0}
    assert r.c.mget([f"cut1:{i}" for i in range(100)]) == [str(i) for i in range(100)]
    assert r.c.lrange("cut1:list", 0, -1) == [str(i) for i in range(100)]
    assert_same_data(m, r)

    # A backlog too small for what the replica misses: a full resync.
    assert m.c.config_set("repl-backlog-size", 16384)
    assert m.info()["repl_backlog_size"] == 16384
    cut_link(proxy, m, r)
    value = "y" * 1024
    with m.c.pipeline(transaction=False) as p:
        for i in range(200):   # ~200 KiB, far past the backlog
            p.set(f"cut2:{i}", value + str(i))
        p.delete("cut1:list")
        p.execute()
    mi, ri = m.info(), r.info()
    assert mi["repl_backlog_first_byte_offset"] > ri["slave_repl_offset"] + 1, \
        f"the backlog should have dropped what the replica lacks: {mi}"
    proxy.restore()
    wait_synced(m, r)
    assert sync_stats(m) == {"sync_full": 2, "sync_partial_ok": 1, "sync_partial_err": 1}
    assert r.c.get("cut2:199") == value + "199" and r.c.exists("cut1:list") == 0
    assert_same_data(m, r)
    m.c.set("after", "x")
    servers.expect(lambda: r.c.get("after") == "x", 5, "a write after the full resync on the replica")


PROMOTION = [
    pytest.param("swiftlet", "swiftlet", id="swiftlet-master-swiftlet-replicas"),
    pytest.param("redis", "swiftlet", id="redis-master-swiftlet-replicas"),
    pytest.param("swiftlet", "redis", id="swiftlet-master-redis-replicas"),
]


@pytest.mark.parametrize("master_kind,replica_kind", PROMOTION)
def test_promoted_replica_serves_partial_resync_to_siblings(servers, master_kind, replica_kind):
    """PSYNC2 failover: after the master dies, replica A promoted with REPLICAOF NO ONE keeps
    the old replication id as master_replid2 (valid up to second_repl_offset), so sibling B,
    pointed at A, resumes with a partial resync (+CONTINUE with A's new id) instead of a full
    one, and takes A's writes from there."""
    m = servers.start(master_kind, "master", *FAST_SYNC)
    fill(m, expiring=False)
    a = servers.start(replica_kind, "a", *FAST_SYNC, *replicaof(m))
    b = servers.start(replica_kind, "b", *FAST_SYNC, *replicaof(m))
    wait_synced(m, a)
    wait_synced(m, b)
    old_id = m.info()["master_replid"]
    m.kill()
    wait_link(a, "down")
    wait_link(b, "down")
    before = a.info()
    assert before["slave_repl_offset"] == b.info()["slave_repl_offset"]

    assert a.c.replicaof("NO", "ONE") in (True, "OK")
    ai = a.info()
    assert ai["role"] == "master", ai
    assert ai["master_replid2"] == old_id and ai["master_replid"] != old_id, ai
    assert ai["second_repl_offset"] == before["master_repl_offset"] + 1, ai
    assert a.c.execute_command("ROLE")[0] == "master"

    assert b.c.replicaof(a.host, a.port) in (True, "OK")
    wait_synced(a, b)
    stats = sync_stats(a)
    assert stats["sync_partial_ok"] == 1 and stats["sync_full"] == 0, \
        f"B should have resumed from A's backlog: {stats}\n{describe(a, b)}{servers.tails()}"
    bi = b.info()
    assert bi["master_replid"] == ai["master_replid"] and bi["master_replid2"] == old_id, bi
    a.c.set("after-promotion", "1")
    servers.expect(lambda: b.c.get("after-promotion") == "1", 5, "a write on A reaching B")
    assert_same_data(a, b)


@pytest.mark.parametrize("master_kind,replica_kind", KINDS)
def test_master_killed_mid_full_sync(servers, master_kind, replica_kind):
    """A master SIGKILLed in the middle of a full sync leaves the replica up (it answers PING and
    reports master_link_status:down) rather than crashed or wedged; with the master back on the
    same port and the replica restarted, the sync completes and the two are identical."""
    debug = ("--enable-debug-command", "local")
    # 200 000 keys with a per-key delay make the transfer take many seconds.
    m = servers.start(master_kind, "master", *FAST_SYNC, *debug, "--rdb-key-save-delay", "20")
    m.c.execute_command("DEBUG", "POPULATE", 200000)
    r = servers.start(replica_kind, "replica", *replicaof(m))
    servers.expect(lambda: r.info().get("master_sync_in_progress") == 1, 15,
                   "the replica receiving the snapshot (master_sync_in_progress:1)")
    port, workdir = m.port, m.proc.dir
    m.kill()
    wait_link(r, "down")
    time.sleep(0.5)
    assert r.alive(), f"the replica died with its master{servers.tails()}"
    assert r.c.ping() is True
    ri = r.info()
    assert ri["role"] == "slave" and ri["master_link_status"] == "down", describe(r)

    # DEBUG POPULATE is not replicated: the replica restarts after the data is in place.
    replica_dir = r.proc.dir
    r.proc.stop()
    m2 = servers.start(master_kind, "master-again", *FAST_SYNC, *debug, port=port, workdir=workdir)
    m2.c.execute_command("DEBUG", "POPULATE", 200000)
    m2.c.set("marker", "restarted")
    r2 = servers.start(replica_kind, "replica-again", *replicaof(m2), workdir=replica_dir)
    wait_synced(m2, r2, 30)
    assert r2.c.get("marker") == "restarted"
    # 200 000 keys of known names: equal counts and equal values of all of them are the same
    # dataset, and much cheaper to read than dataset()'s key-by-key walk.
    assert keyspace(r2) == keyspace(m2) == {"db0": (200001, 0)}
    names = [f"key:{i}" for i in range(200000)]
    for i in range(0, len(names), 5000):
        theirs, ours = m2.c.mget(names[i:i + 5000]), r2.c.mget(names[i:i + 5000])
        assert ours == theirs and None not in ours, f"values differ in keys {i}..{i + 4999}"


@pytest.mark.parametrize("kind", [pytest.param("swiftlet", id="swiftlet"), pytest.param("redis", id="redis")])
def test_replicas_arriving_together_share_one_snapshot_pass(servers, kind):
    """With repl-diskless-sync-delay 2 the master waits for more replicas before it snapshots:
    three replicas started within a fraction of a second are all served by one snapshot pass
    (one 'Starting BGSAVE for SYNC' line in the master's log), yet each counts as a full sync."""
    m = servers.start(kind, "master", "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "2")
    with m.c.pipeline(transaction=False) as p:
        for i in range(500):
            p.set(f"k{i}", i)
        p.rpush("list", *range(100))
        p.execute()
    replicas = [servers.start(kind, f"replica{i}", *replicaof(m)) for i in range(3)]
    for r in replicas:
        wait_synced(m, r, 20)

    def all_online():
        mi = m.info()
        return mi["connected_slaves"] == 3 and all(mi[f"slave{i}"]["state"] == "online" for i in range(3))

    servers.expect(all_online, 5, "three replicas online on the master")
    assert m.info("stats")["sync_full"] == 3
    lines = [line for line in m.log().splitlines() if SNAPSHOT_LINE in line]
    assert len(lines) == 1, f"one snapshot pass expected, the log has {lines}{servers.tails()}"
    for r in replicas:
        assert r.c.dbsize() == 501


@pytest.mark.parametrize("master_kind,replica_kind", KINDS)
def test_wait_counts_acknowledging_replicas(servers, master_kind, replica_kind):
    """WAIT numreplicas timeout returns as soon as that many replicas acknowledged the client's
    last write (the master asks them with REPLCONF GETACK rather than waiting for their
    once-a-second ack), or at the timeout with the number that did; with no replicas, 0."""
    m = servers.start(master_kind, "master", *FAST_SYNC)
    r1 = servers.start(replica_kind, "replica1", *replicaof(m))
    r2 = servers.start(replica_kind, "replica2", *replicaof(m))
    wait_synced(m, r1)
    wait_synced(m, r2)
    # Redis 7.0 starts the stream to a replica fresh from a diskless sync only at the replica's
    # next once-a-second ack, so the first WAIT may take up to a second: it is not timed.
    m.c.set("k0", "v")
    assert m.c.wait(2, 5000) == 2
    m.c.set("k", "v")
    t = time.monotonic()
    assert m.c.wait(2, 1000) == 2
    assert time.monotonic() - t < 0.9, "WAIT should return when the replicas ack, not at the timeout"
    m.c.set("k2", "v")
    t = time.monotonic()
    assert m.c.wait(3, 300) == 2
    elapsed = time.monotonic() - t
    assert 0.25 <= elapsed < 2.0, elapsed

    lone = servers.start(master_kind, "lone")
    lone.c.set("k", "v")
    t = time.monotonic()
    assert lone.c.wait(1, 100) == 0
    elapsed = time.monotonic() - t
    assert 0.08 <= elapsed < 1.0, elapsed


@pytest.mark.parametrize("master_kind,replica_kind", KINDS)
def test_masterauth(servers, master_kind, replica_kind):
    """A master with requirepass takes only a replica that authenticates with the right
    masterauth: one with a wrong password stays down and gets no sync, the right one syncs."""
    m = servers.start(master_kind, "master", *FAST_SYNC, "--requirepass", "secret", password="secret")
    m.c.set("k", "v")
    m.c.rpush("l", 1, 2, 3)
    wrong = servers.start(replica_kind, "wrong", *replicaof(m), "--masterauth", "nope")
    wrong_started = time.monotonic()
    good = servers.start(replica_kind, "good", *replicaof(m), "--masterauth", "secret")
    wait_synced(m, good)
    assert good.c.get("k") == "v" and good.c.lrange("l", 0, -1) == ["1", "2", "3"]
    m.c.set("k2", "v2")
    servers.expect(lambda: good.c.get("k2") == "v2", 5, "a write reaching the authenticated replica")
    # Give the wrong one two seconds of attempts (a replica retries once a second).
    time.sleep(max(0.0, wrong_started + 2 - time.monotonic()))
    assert wrong.info()["master_link_status"] == "down"
    assert wrong.c.get("k") is None
    mi = m.info()
    assert mi["connected_slaves"] == 1 and mi["slave0"]["port"] == good.port, mi
    assert m.info("stats")["sync_full"] == 1
    assert_same_data(m, good)
