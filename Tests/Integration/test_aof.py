"""The append-only file against real redis-server 7.0: the records each write leaves (the
deterministic form, compared command by command with what Redis writes for the same calls),
files that each server loads from the other, redis-check-aof on ours, truncated and corrupted
files, switching it on and off at run time, and crash loops (SIGKILL while clients write) that
check every policy's promise."""

import os
import pathlib
import random
import shutil
import signal
import subprocess
import time

import pytest
import redis

from conftest import server_binary
from helpers import AckedWriter as Writer, ServerProcess, wait_until

REDIS_SERVER = shutil.which("redis-server")
REDIS_CHECK_AOF = shutil.which("redis-check-aof")
CRASH_ROUNDS = int(os.environ.get("SWIFTLET_AOF_CRASH_ROUNDS", "50"))


def start(binary, workdir, *args):
    return ServerProcess(binary, str(workdir), ["--appendonly", "yes", *args]).start()


def client(proc, **kw):
    return redis.Redis(host=proc.host, port=proc.port, decode_responses=True, protocol=2, socket_timeout=10, **kw)


def read_commands(path):
    """The commands of an incr file, as lists of str."""
    data = pathlib.Path(path).read_bytes()
    out, i = [], 0
    while i < len(data):
        assert data[i:i + 1] == b"*", (path, i, data[i:i + 40])
        j = data.index(b"\r\n", i)
        n = int(data[i + 1:j])
        i = j + 2
        args = []
        for _ in range(n):
            j = data.index(b"\r\n", i)
            length = int(data[i + 1:j])
            args.append(data[j + 2:j + 2 + length].decode(errors="replace"))
            i = j + 2 + length + 2
        out.append(args)
    return out


def incr_commands(workdir):
    manifest = (pathlib.Path(workdir) / "appendonlydir" / "appendonly.aof.manifest").read_text()
    names = [line.split()[1] for line in manifest.splitlines() if line.endswith("type i")]
    return [c for name in names for c in read_commands(pathlib.Path(workdir) / "appendonlydir" / name)]


def shutdown(proc):
    try:
        client(proc).shutdown(nosave=True)
    except redis.ConnectionError:
        pass
    proc.proc.wait(timeout=10)
    proc.stop()


# The same calls to both servers; what each appends must be the same commands, with absolute
# times and random picks in place of relative times and random choices.
SCRIPT = [
    ("set", "a", "1"),
    ("set", "b", "2", "EX", "100"),
    ("expire", "a", "50"),
    ("pexpire", "a", "60000", "GT"),
    ("setex", "q", "100", "v"),
    ("psetex", "p", "100000", "v"),
    ("set", "x", "1", "PX", "100000", "GET"),
    ("expireat", "x", str(int(time.time()) + 1000)),
    ("expire", "gone", "10"),
    ("set", "gone", "v"),
    ("expire", "gone", "-1"),
    ("getex", "b", "PERSIST"),
    ("getex", "q", "EX", "500"),
    ("incrbyfloat", "f", "1.5"),
    ("hincrbyfloat", "h", "fld", "2.5"),
    ("sadd", "s", "m1", "m2", "m3"),
    ("spop", "s"),
    ("sadd", "s2", "a", "b", "c", "d"),
    ("spop", "s2", "2"),
    ("spop", "s2", "10"),
    ("rpush", "l", "e1", "e2", "e3", "e4"),
    ("blpop", "l", "1"),
    ("brpop", "nothing", "l", "1"),
    ("blmove", "l", "l2", "LEFT", "RIGHT", "1"),
    ("lmpop", "2", "nothing", "l", "LEFT", "COUNT", "1"),
    ("zadd", "z", "1", "a", "2", "b", "3", "c"),
    ("bzpopmin", "z", "1"),
    ("zmpop", "1", "z", "MAX"),
    ("select", "3"),
    ("set", "indb3", "v"),
    ("select", "0"),
    ("multi",),
    ("incr", "n"),
    ("incr", "n"),
    ("exec",),
    ("del", "a", "nonexistent"),
    ("lrange", "l2", "0", "-1"),
]


def run_script(proc):
    """Runs SCRIPT on one connection; returns the replies."""
    c = client(proc)
    replies = []
    for call in SCRIPT:
        replies.append(c.execute_command(*call))
    c.close()
    return replies


def normalise(commands, replies):
    """Masks absolute times (they differ by the moment each server ran) and maps random
    choices to the reply that revealed them."""
    out = []
    for c in commands:
        c = list(c)
        c[0] = c[0].upper()
        if c[0] == "SET" and len(c) >= 5 and c[3].upper() == "PXAT":
            c[4] = "<time>"
        if c[0] == "PEXPIREAT":
            c[2] = "<time>"
        if c[0] == "SREM":
            c = c[:2] + ["<member>"] * (len(c) - 2)
        out.append(c)
    return out


@pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server not installed")
def test_records_are_the_deterministic_commands_redis_writes(tmp_path):
    theirs = start(REDIS_SERVER, tmp_path / "redis", "--appendfsync", "always")
    ours = start(server_binary(), tmp_path / "swiftlet", "--appendfsync", "always")
    try:
        # Random picks differ between the servers: make them agree by keeping each set to
        # members that both pop (SPOP of a one-member set, SPOP count of the whole set), and
        # compare the popped member against the record.
        replies_theirs = run_script(theirs)
        replies_ours = run_script(ours)
        spop_index = SCRIPT.index(("spop", "s"))
        assert replies_ours[:spop_index] == replies_theirs[:spop_index]
        recorded_ours = incr_commands(ours.dir)
        recorded_theirs = incr_commands(theirs.dir)
        # The member our SPOP chose is the member our SREM names.
        srem = [c for c in recorded_ours if c[0].upper() == "SREM" and c[1] == "s"]
        assert srem == [["SREM", "s", replies_ours[spop_index]]], recorded_ours
        assert normalise(recorded_ours, replies_ours) == normalise(recorded_theirs, replies_theirs), \
            f"ours:   {recorded_ours}\ntheirs: {recorded_theirs}"
        # The absolute times are the ones the keys carry.
        pxat = [c for c in recorded_ours if c[0] == "SET" and c[1] == "p"][0]
        assert abs(int(pxat[4]) - client(ours).pexpiretime("p")) == 0
    finally:
        theirs.stop()
        ours.stop()


def fill(c):
    c.set("str", "value")
    c.set("ttl", "v", px=500000)
    c.rpush("list", *[f"e{i}" for i in range(50)])
    c.sadd("set", *[str(i) for i in range(20)])
    c.zadd("zset", {f"m{i}": i * 1.5 for i in range(30)})
    c.hset("hash", mapping={f"f{i}": str(i) for i in range(10)})
    c.incrbyfloat("float", "3.25")


def dataset(c):
    """Every key with its type, value and whether it has a TTL (TTLs are checked to 1 s)."""
    out = {}
    for db in (0, 5):
        c.execute_command("SELECT", db)
        for key in c.keys("*"):
            t = c.type(key)
            value = {
                "string": lambda: c.get(key),
                "list": lambda: c.lrange(key, 0, -1),
                "set": lambda: sorted(c.smembers(key)),
                "zset": lambda: c.zrange(key, 0, -1, withscores=True),
                "hash": lambda: c.hgetall(key),
            }[t]()
            out[(db, key)] = (t, value, c.pttl(key) > 0)
    c.execute_command("SELECT", 0)
    return out


def write_history(c):
    """Data in the base (before a rewrite) and in the incr file (after it)."""
    fill(c)
    c.execute_command("SELECT", 5)
    c.set("db5", "x")
    c.execute_command("SELECT", 0)
    c.execute_command("BGREWRITEAOF")
    wait_until(lambda: c.info("persistence")["aof_rewrite_in_progress"] == 0, timeout=20)
    c.rpush("list", "after-rewrite")
    c.set("after", "rewrite", ex=1000)
    c.spop("set")
    c.lpop("list")
    c.zincrby("zset", 2, "m1")


@pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server not installed")
def test_redis_loads_ours_and_we_load_redis(tmp_path):
    for writer, reader, name in ((server_binary(), REDIS_SERVER, "ours-to-redis"), (REDIS_SERVER, server_binary(), "redis-to-ours")):
        work = tmp_path / name
        w = start(writer, work, "--appendfsync", "everysec")
        c = client(w)
        write_history(c)
        expected = dataset(c)
        info = c.info("persistence")
        assert info["aof_enabled"] == 1 and info["aof_rewrites"] == 1, info
        shutdown(w)
        manifest = (work / "appendonlydir" / "appendonly.aof.manifest").read_text()
        assert "seq 2 type b" in manifest and "seq 2 type i" in manifest, manifest
        assert not (work / "appendonlydir" / "appendonly.aof.1.base.rdb").exists(), "the rewrite removes the old base"
        if REDIS_CHECK_AOF:
            check = subprocess.run([REDIS_CHECK_AOF, str(work / "appendonlydir" / "appendonly.aof.manifest")],
                                   capture_output=True, text=True, timeout=60)
            assert check.returncode == 0 and "is valid" in check.stdout, check.stdout + check.stderr
        r = start(reader, work, "--appendfsync", "everysec")
        try:
            assert dataset(client(r)) == expected, name
        finally:
            shutdown(r)


def test_restart_replays_and_appends(tmp_path):
    p = start(server_binary(), tmp_path, "--appendfsync", "always")
    c = client(p)
    c.set("k", "1")
    c.incr("k")
    c.expire("k", 1000)
    c.execute_command("SELECT", 2)
    c.rpush("l", "a", "b")
    info = c.info("persistence")
    assert info["aof_enabled"] == 1 and info["aof_last_write_status"] == "ok"
    assert info["aof_fsyncs"] >= 1 and info["aof_unsynced_writes"] == 0, info
    p.proc.send_signal(signal.SIGKILL)
    p.proc.wait(timeout=10)
    p.stop()
    p = start(server_binary(), tmp_path, "--appendfsync", "always")
    c = client(p)
    assert c.get("k") == "2" and 990_000 < c.pttl("k") <= 1_000_000
    c.execute_command("SELECT", 2)
    assert c.lrange("l", 0, -1) == ["a", "b"]
    c.rpush("l", "c")   # appended to the same incr file, after a SELECT
    shutdown(p)
    p = start(server_binary(), tmp_path)
    c = client(p)
    c.execute_command("SELECT", 2)
    assert c.lrange("l", 0, -1) == ["a", "b", "c"]
    shutdown(p)


def test_aof_wins_over_the_rdb_and_starts_empty_without_one(tmp_path):
    """As Redis 7.0: with appendonly yes, a dump.rdb is not loaded, and a missing AOF is made."""
    p = ServerProcess(server_binary(), str(tmp_path)).start()
    c = client(p)
    c.set("in-rdb", "1")
    c.save()
    p.stop()
    p = start(server_binary(), tmp_path)
    c = client(p)
    assert c.dbsize() == 0
    files = sorted(os.listdir(tmp_path / "appendonlydir"))
    assert files == ["appendonly.aof.1.base.rdb", "appendonly.aof.1.incr.aof", "appendonly.aof.manifest"], files
    assert "Creating AOF base file appendonly.aof.1.base.rdb on server start" in p.log_tail(80)
    shutdown(p)


def test_truncated_tail_is_cut_and_corruption_refused(tmp_path):
    p = start(server_binary(), tmp_path)
    c = client(p)
    for i in range(20):
        c.set(f"k{i}", i)
    shutdown(p)
    incr = tmp_path / "appendonlydir" / "appendonly.aof.1.incr.aof"
    good = incr.read_bytes()
    # A crash in the middle of a record, and inside a MULTI without EXEC.
    incr.write_bytes(good + b"*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\nz\r\n$1\r\n1\r\n*3\r\n$3\r\nSET\r\n$2\r\nzz")
    p = start(server_binary(), tmp_path)
    c = client(p)
    assert c.dbsize() == 20 and c.get("z") is None
    assert incr.read_bytes() == good, "cut back to the last whole command outside the unfinished MULTI"
    assert "loaded anyway because aof-load-truncated is enabled" in p.log_tail(80)
    shutdown(p)

    # Corruption before the end: the server refuses to start, names the file and offset, and
    # leaves the file as it was.
    corrupt = good[:30] + b"#" + good[31:]
    incr.write_bytes(corrupt)
    s = ServerProcess(server_binary(), str(tmp_path), ["--appendonly", "yes"])
    with pytest.raises(RuntimeError):
        s.start(ready_timeout=5, attempts=1)
    log = pathlib.Path(s.log_path).read_text()
    assert "Bad file format reading the append only file" in log and str(incr) in log and "byte offset" in log, log
    assert incr.read_bytes() == corrupt

    # With aof-load-truncated no, a truncated tail refuses too.
    incr.write_bytes(good + b"*3\r\n$3\r\nSET")
    s = ServerProcess(server_binary(), str(tmp_path), ["--appendonly", "yes", "--aof-load-truncated", "no"])
    with pytest.raises(RuntimeError):
        s.start(ready_timeout=5, attempts=1)
    assert "Unexpected end of file" in pathlib.Path(s.log_path).read_text()
    assert incr.read_bytes() == good + b"*3\r\n$3\r\nSET"


def test_config_set_appendonly_at_run_time(tmp_path):
    p = ServerProcess(server_binary(), str(tmp_path)).start()
    c = client(p)
    c.set("before", "1")
    assert c.config_get("appendonly") == {"appendonly": "no"}
    assert c.info("persistence")["aof_enabled"] == 0
    assert c.config_set("appendonly", "yes")
    c.set("after", "2")
    assert wait_until(lambda: c.info("persistence")["aof_rewrite_in_progress"] == 0, timeout=20)
    assert c.info("persistence")["aof_enabled"] == 1
    assert c.config_set("appendfsync", "bounded")
    assert c.config_set("appendfsync-max-unsynced", "16")
    assert c.config_get("appendfsync") == {"appendfsync": "bounded"}
    c.set("bounded", "3")
    assert c.config_set("appendonly", "no")
    c.set("off", "4")   # not in the AOF
    p.stop()
    p = start(server_binary(), tmp_path)
    c = client(p)
    assert {k: c.get(k) for k in ("before", "after", "bounded", "off")} == {"before": "1", "after": "2", "bounded": "3", "off": None}
    with pytest.raises(redis.ResponseError, match="aof-use-rdb-preamble no is not supported"):
        c.config_set("aof-use-rdb-preamble", "no")
    with pytest.raises(redis.ResponseError, match="can't set immutable config"):
        c.config_set("appenddirname", "other")
    shutdown(p)


def test_no_appendfsync_on_rewrite(tmp_path):
    """With `no-appendfsync-on-rewrite yes` no fsync runs while a BGSAVE writes, even under
    always (Redis's trade: latency during the save over durability); with `no` they go on."""
    p = start(server_binary(), tmp_path, "--appendfsync", "always", "--rdb-key-save-delay", "20000")
    c = client(p)
    for i in range(100):
        c.set(f"k{i}", "v")
    for setting in ("no", "yes"):
        assert c.config_set("no-appendfsync-on-rewrite", setting)
        assert c.bgsave()
        assert c.info("persistence")["rdb_bgsave_in_progress"] == 1
        before = c.info("persistence")["aof_fsyncs"]
        for i in range(20):
            c.set(f"during-{setting}-{i}", "v")
        during = c.info("persistence")
        assert during["rdb_bgsave_in_progress"] == 1, "the save ended too soon for the check"
        if setting == "yes":
            assert during["aof_fsyncs"] == before
        else:
            assert during["aof_fsyncs"] >= before + 20
        assert wait_until(lambda: c.info("persistence")["rdb_bgsave_in_progress"] == 0, timeout=20)
    # After the save, syncs resume: the next write waits for its own.
    before = c.info("persistence")["aof_fsyncs"]
    c.set("after", "v")
    assert c.info("persistence")["aof_fsyncs"] > before
    shutdown(p)


def postponed_tail(missing, writers):
    """Under everysec a write that comes while a sync is still running is postponed for up to
    2 s while its replies leave, as in Redis (flushAppendOnlyFile): a process crash then loses
    what was acknowledged since. Such a loss is the newest writes of the last round: for each
    writer a suffix of what it saw acknowledged. Returns each writer's loss, or None when the
    loss is anything else."""
    lost = {}
    for w in writers:
        mine = [k for k in w.acked_keys if k in missing]
        if mine and mine != w.acked_keys[len(w.acked_keys) - len(mine):]:
            return None
        lost[w.name] = len(mine)
    return lost if sum(lost.values()) == len(missing) else None


def crash_loop(tmp_path, policy_args, rounds, allowed_missing, tail_may_be_lost=False):
    binary = server_binary()
    all_sent, all_acked = set(), set()
    counters = {}
    allowance = {}
    worst = 0
    writers = []
    for round_index in range(rounds + 1):   # the last start only checks
        p = start(binary, tmp_path, *policy_args)
        try:
            c = client(p)
            # Everything acknowledged in earlier rounds survived.
            present = set(c.keys("w*:*"))
            missing = all_acked - present
            tail = postponed_tail(missing, writers) if tail_may_be_lost and missing else None
            if tail is not None:
                allowance.update(tail)
            else:
                assert len(missing) <= allowed_missing, f"round {round_index}: {len(missing)} acknowledged writes lost: {sorted(missing)[:10]}"
            worst = max(worst, len(missing))
            assert present <= all_sent, f"keys that were never written: {sorted(present - all_sent)[:10]}"
            for name, acked in counters.items():
                value = int(c.get(f"c:{name}") or 0)
                assert value >= acked - allowed_missing - allowance.get(name, 0), f"counter {name}: {value} < acknowledged {acked}"
            # Writes lost in a crash are lost for good: the next round starts from what is there.
            all_acked &= present
            if round_index == rounds:
                break
            writers = [Writer(p.port, f"w{round_index}x{i}") for i in range(3)]
            deadline = time.monotonic() + random.uniform(0.05, 0.3)
            while time.monotonic() < deadline:
                for w in writers:
                    w.round()
            # SIGKILL while requests are in flight: send one more batch and kill before reading.
            for w in writers:
                w.sock.sendall(b"*3\r\n$3\r\nSET\r\n$9\r\ninflight0\r\n$1\r\n1\r\n")
            p.proc.send_signal(signal.SIGKILL)
            p.proc.wait(timeout=10)
            for w in writers:
                all_sent |= set(w.sent_keys)
                all_acked |= set(w.acked_keys)
                counters[f"{w.name}"] = w.acked_incr
                w.sock.close()
        finally:
            p.stop()
    return worst


@pytest.mark.parametrize("policy,allowed", [(("--appendfsync", "always"), 0),
                                            (("--appendfsync", "bounded", "--appendfsync-max-unsynced", "2"), 2),
                                            (("--appendfsync", "everysec"), 0)])
def test_crash_loop_loses_nothing_acknowledged(tmp_path, policy, allowed):
    """SIGKILL of the host build while three clients write. A process crash keeps the page
    cache, so everysec loses nothing acknowledged either (its replies leave after the write(2)),
    except, as in Redis, the newest writes when a slow sync had postponed the write (see
    `postponed_tail`); the power-loss test below is the one that tells fsync policies apart."""
    everysec = policy[1] == "everysec"
    crash_loop(tmp_path, policy, CRASH_ROUNDS if not everysec else 10, allowed, tail_may_be_lost=everysec)


SHIM_SOURCE = pathlib.Path(__file__).resolve().parent / "powerloss" / "sync_log.c"


@pytest.fixture(scope="module")
def sync_shim(tmp_path_factory):
    out = tmp_path_factory.mktemp("shim") / "sync_log.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", str(out), str(SHIM_SOURCE), "-ldl"], check=True)
    return out


def lose_unsynced(workdir, sync_log):
    """The power loss: every incr file back to its size at its last fsync (0 if never)."""
    synced = {}
    if sync_log.exists():
        for line in sync_log.read_text().splitlines():
            path, size = line.rsplit(" ", 1)
            synced[path] = int(size)
    lost = 0
    for f in (pathlib.Path(workdir) / "appendonlydir").glob("*.incr.aof"):
        keep = synced.get(str(f), 0)
        size = f.stat().st_size
        if size > keep:
            lost += size - keep
            os.truncate(f, keep)
    sync_log.unlink(missing_ok=True)
    return lost


def power_loss_rounds(tmp_path, sync_shim, policy_args, rounds):
    """Rounds of: start under the shim, write, SIGKILL, drop what was not synced, restart and
    count acknowledged writes that are gone. Returns (worst loss in a round, bytes dropped)."""
    sync_log = tmp_path / "sync.log"
    env_before = os.environ.copy()
    os.environ["LD_PRELOAD"] = str(sync_shim)
    os.environ["SWIFTLET_SYNC_LOG"] = str(sync_log)
    worst, dropped = 0, 0
    try:
        for round_index in range(rounds):
            p = start(server_binary(), tmp_path, *policy_args)
            writers = [Writer(p.port, f"p{round_index}x{i}") for i in range(2)]
            deadline = time.monotonic() + random.uniform(0.05, 0.2)
            while time.monotonic() < deadline:
                for w in writers:
                    w.round()
            p.proc.send_signal(signal.SIGKILL)
            p.proc.wait(timeout=10)
            p.stop()
            dropped += lose_unsynced(tmp_path, sync_log)
            os.environ.pop("LD_PRELOAD")
            check = start(server_binary(), tmp_path, *policy_args)
            os.environ["LD_PRELOAD"] = str(sync_shim)
            c = client(check)
            present = set(c.keys(f"p{round_index}x*:*"))
            acked = {k for w in writers for k in w.acked_keys}
            worst = max(worst, len(acked - present))
            assert present <= {k for w in writers for k in w.sent_keys}
            check.proc.send_signal(signal.SIGKILL)
            check.proc.wait(timeout=10)
            check.stop()
            for w in writers:
                w.sock.close()
    finally:
        os.environ.clear()
        os.environ.update(env_before)
    return worst, dropped


def test_power_loss_under_always_loses_nothing_acknowledged(tmp_path, sync_shim):
    worst, _ = power_loss_rounds(tmp_path, sync_shim, ("--appendfsync", "always"), 10)
    assert worst == 0


def test_power_loss_under_bounded_loses_at_most_n(tmp_path, sync_shim):
    worst, _ = power_loss_rounds(tmp_path, sync_shim, ("--appendfsync", "bounded", "--appendfsync-max-unsynced", "2"), 10)
    assert worst <= 2


def test_power_loss_check_can_fail(tmp_path, sync_shim):
    """The control: with appendfsync no nothing is ever synced, so the simulated power loss
    must take acknowledged writes; if it did not, the harness would prove nothing."""
    worst, dropped = power_loss_rounds(tmp_path, sync_shim, ("--appendfsync", "no"), 2)
    assert dropped > 0 and worst > 0
