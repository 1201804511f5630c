"""`seccomp yes|no|log` (Swiftlet's own): the system-call allowlist of
Sources/CSwiftletSeccomp/allowlist.def, installed before the first client is accepted.

These tests check the filter itself: that the kernel reports it, that a call outside the list
(made on purpose by `DEBUG FORBIDDEN-SYSCALL`, personality(2)) kills the server with a log line
naming the call, and that `seccomp log` lets the call through. That every feature works under
the filter is shown by running the whole suite with SWIFTLET_SECCOMP=yes (Scripts/test.sh).
Swiftlet only: redis-server has no such directive."""

import os
import re
import signal

import pytest
import redis

from conftest import server_binary
from helpers import RespError, ServerProcess, wait_until

pytestmark = pytest.mark.skipif("redis" in server_binary().rsplit("/", 1)[-1],
                                reason="seccomp is Swiftlet's own directive")

KILL_LINE = re.compile(r"# seccomp: system call personality \((\d+)\) is not in the allowlist")


def proc_status(pid):
    """Seccomp and Seccomp_filters from /proc/<pid>/status, as ints."""
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("Seccomp", "Seccomp_filters"):
                fields[key] = int(value.strip())
    return fields


def client(srv):
    return redis.Redis(host=srv.host, port=srv.port, decode_responses=True, socket_timeout=10)


def log_text(srv):
    with open(srv.log_path, "rb") as f:
        return f.read().decode(errors="replace")


def test_seccomp_yes_is_in_force_on_every_thread(make_server):
    srv = make_server(["--seccomp", "yes"])
    status = proc_status(srv.proc.pid)
    assert status["Seccomp"] == 2
    assert status["Seccomp_filters"] >= 1
    # TSYNC: the event loops and pool threads made before the filter carry it too.
    for tid in os.listdir(f"/proc/{srv.proc.pid}/task"):
        with open(f"/proc/{srv.proc.pid}/task/{tid}/status") as f:
            assert "Seccomp:\t2\n" in f.read(), f"thread {tid} is not filtered"
    assert re.search(r"seccomp: \d+ system calls allowed", log_text(srv))


def test_seccomp_no_leaves_the_process_unfiltered(make_server):
    srv = make_server(["--seccomp", "no"])
    assert proc_status(srv.proc.pid)["Seccomp"] == 0
    c = client(srv)
    assert c.execute_command("DEBUG", "FORBIDDEN-SYSCALL") == "OK"
    assert c.ping()


def test_forbidden_syscall_kills_the_server_naming_the_call(make_server):
    srv = make_server(["--seccomp", "yes"])
    c = client(srv)
    assert c.set("k", "v")
    with pytest.raises(redis.ConnectionError):
        c.execute_command("DEBUG", "FORBIDDEN-SYSCALL")
    # Killed by SIGSYS, as SCMP_ACT_KILL_PROCESS would, after the handler's line.
    assert srv.proc.wait(timeout=10) == -signal.SIGSYS
    match = KILL_LINE.search(log_text(srv))
    assert match, log_text(srv)
    assert int(match.group(1)) == 135  # personality on x86_64
    # Once: standard error is the log's file here (ServerProcess sends both to server.log).
    assert len(KILL_LINE.findall(log_text(srv))) == 1, log_text(srv)


def test_kill_line_goes_to_the_logfile_too(make_server, tmp_path):
    logfile = tmp_path / "swiftlet.log"
    srv = make_server(["--seccomp", "yes", "--logfile", str(logfile)])
    c = client(srv)
    with pytest.raises(redis.ConnectionError):
        c.execute_command("DEBUG", "FORBIDDEN-SYSCALL")
    assert srv.proc.wait(timeout=10) == -signal.SIGSYS
    assert KILL_LINE.search(logfile.read_text()), logfile.read_text()
    # And on standard error (the console in the appliance), which ServerProcess logs.
    assert KILL_LINE.search(log_text(srv))


def test_seccomp_log_lets_the_call_through(make_server):
    srv = make_server(["--seccomp", "log"])
    assert proc_status(srv.proc.pid)["Seccomp"] == 2
    c = client(srv)
    assert c.execute_command("DEBUG", "FORBIDDEN-SYSCALL") == "OK"
    assert c.ping()
    assert srv.proc.poll() is None
    assert "seccomp log:" in log_text(srv)


def test_seccomp_is_start_up_only(make_server):
    srv = make_server(["--seccomp", "yes"])
    c = client(srv)
    assert c.config_get("seccomp") == {"seccomp": "yes"}
    with pytest.raises(redis.ResponseError) as e:
        c.config_set("seccomp", "no")
    assert str(e.value) == "CONFIG SET failed (possibly related to argument 'seccomp') - can't set immutable config"
    assert proc_status(srv.proc.pid)["Seccomp"] == 2


def test_seccomp_refuses_other_values(tmp_path):
    p = ServerProcess(server_binary(), str(tmp_path), ["--seccomp", "maybe"])
    with pytest.raises(RuntimeError) as failure:
        p.start(ready_timeout=5, attempts=1)
    assert "argument(s) must be one of the following: yes, no, log" in str(failure.value)


def test_work_under_the_filter_after_start_up(make_server, tmp_path):
    """A sample of what the filter must allow after start-up (the full suite covers the rest):
    a new dir, SAVE, BGSAVE, the AOF switched on with a rewrite, DEBUG RELOAD, a replica."""
    master = make_server(["--seccomp", "yes"])
    m = client(master)
    newdir = tmp_path / "newdir"
    newdir.mkdir()
    assert m.config_set("dir", str(newdir))
    m.set("a", "1")
    assert m.save()
    assert (newdir / "dump.rdb").exists()
    m.bgsave()
    assert wait_until(lambda: m.info("persistence")["rdb_bgsave_in_progress"] == 0, timeout=10)
    assert m.config_set("appendonly", "yes")
    assert wait_until(lambda: m.info("persistence")["aof_rewrite_in_progress"] == 0, timeout=10)
    assert m.execute_command("DEBUG", "RELOAD") == "OK"
    assert m.get("a") == "1"
    replica = make_server(["--seccomp", "yes"])
    r = client(replica)
    r.replicaof(master.host, master.port)
    assert wait_until(lambda: r.get("a") == "1", timeout=10)
    m.set("b", "2")
    assert wait_until(lambda: r.get("b") == "2", timeout=10)
    assert master.proc.poll() is None and replica.proc.poll() is None
