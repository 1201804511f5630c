"""Fixtures for the Swiftlet integration suite.

The server under test is the binary named by $SWIFTLET_SERVER (default:
<repo>/.build/release/swiftlet-server). It is started with the redis-server
command-line convention, so the same suite runs unchanged against a real
redis-server, which is how its expectations were validated.
"""

import os
import pathlib
import shutil
import tempfile

import pytest
import redis

from helpers import RawClient, ServerProcess

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


def server_binary():
    path = os.environ.get("SWIFTLET_SERVER") or str(REPO_ROOT / ".build" / "release" / "swiftlet-server")
    if not os.path.isfile(path) or not os.access(path, os.X_OK):
        pytest.exit(f"server binary not found or not executable: {path} "
                    "(build it or set SWIFTLET_SERVER)", returncode=2)
    return path


@pytest.fixture(scope="session")
def _workroot():
    root = tempfile.mkdtemp(prefix="swiftlet-it-")
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def server(_workroot):
    """The shared server instance (host, port, log) for the whole session."""
    proc = ServerProcess(server_binary(), os.path.join(_workroot, "main")).start()
    yield proc
    proc.stop()


def _client(server, **kwargs):
    kwargs.setdefault("decode_responses", True)
    kwargs.setdefault("protocol", 2)  # redis-py 8 would otherwise negotiate RESP3
    kwargs.setdefault("socket_timeout", 10)
    kwargs.setdefault("socket_connect_timeout", 5)
    return redis.Redis(host=server.host, port=server.port, **kwargs)


@pytest.fixture
def r(server):
    """RESP2 client (str replies) on a freshly flushed server."""
    c = _client(server)
    try:
        c.flushall()
    except redis.ConnectionError as e:
        state = "running" if server.proc and server.proc.poll() is None else "dead"
        pytest.fail(f"shared server unreachable ({state}): {e}\n--- log tail ---\n{server.log_tail()}")
    yield c
    c.close()


@pytest.fixture
def rb(server, r):
    """RESP2 client with raw bytes replies, for binary-safety checks."""
    c = _client(server, decode_responses=False)
    yield c
    c.close()


@pytest.fixture
def r3(server, r):
    """RESP3 client (HELLO 3) on a freshly flushed server."""
    c = _client(server, protocol=3)
    yield c
    c.close()


@pytest.fixture
def connect(server):
    """Factory for extra independent connections (e.g. one per thread)."""
    clients = []

    def factory(**kwargs):
        c = _client(server, **kwargs)
        clients.append(c)
        return c

    yield factory
    for c in clients:
        c.close()


@pytest.fixture
def raw(server, r):
    """Factory for raw RESP socket connections to the (flushed) shared server."""
    clients = []

    def factory(timeout=5.0):
        c = RawClient(server.host, server.port, timeout=timeout)
        clients.append(c)
        return c

    yield factory
    for c in clients:
        c.close()


@pytest.fixture
def make_server(_workroot):
    """Factory for a dedicated instance with extra directives, e.g.
    make_server(["--requirepass", "secret"]). Stopped at test teardown."""
    started = []

    def factory(extra_args=()):
        workdir = tempfile.mkdtemp(prefix="inst-", dir=_workroot)
        proc = ServerProcess(server_binary(), workdir, list(extra_args))
        started.append(proc)
        return proc.start()

    yield factory
    for proc in started:
        proc.stop()


# Redis 7.0 refuses DEBUG unless enabled; "local" allows it from 127.0.0.1.
DEBUG_ARGS = ["--enable-debug-command", "local"]


@pytest.fixture
def debug_client(make_server):
    """RESP2 client on a dedicated instance that accepts DEBUG."""
    srv = make_server(DEBUG_ARGS)
    c = redis.Redis(host=srv.host, port=srv.port, decode_responses=True, protocol=2, socket_timeout=10)
    yield c
    c.close()
