"""Shared helpers for the integration suite: a raw RESP socket client, server
process management and small polling utilities.

The raw client exists because redis-py hides exactly what these tests judge:
the bytes on the wire (push frames, error prefixes, pipelining, protocol
errors and the server closing the connection).
"""

import os
import signal
import socket
import subprocess
import sys
import time

# Every socket read in the suite is bounded by this so a misbehaving server
# fails a test instead of hanging the run.
IO_TIMEOUT = 5.0


class ConnectionClosed(Exception):
    """The server closed the connection (EOF or reset)."""


class RespError:
    """An error reply; kept as a value so tests can compare its text."""

    def __init__(self, text):
        self.text = text

    def __eq__(self, other):
        return isinstance(other, RespError) and other.text == self.text

    def __repr__(self):
        return f"RespError({self.text!r})"


class Push(list):
    """A RESP3 push frame ('>'), distinguishable from an ordinary array."""


def encode_command(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        elif isinstance(a, int):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class RawClient:
    """A blocking RESP2/RESP3 client over a plain socket.

    Replies decode to: bytes (simple and bulk strings), None (nulls), int,
    float (RESP3 double), bool, list, Push, dict/set (RESP3 map/set) and
    RespError. Simple strings and bulk strings both become bytes; use
    read_raw_line when the distinction matters.
    """

    def __init__(self, host, port, timeout=IO_TIMEOUT):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self._record = None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        self.sock.sendall(data)

    def call(self, *args):
        self.send(encode_command(*args))
        return self.read_reply()

    def _fill(self):
        try:
            chunk = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError) as e:
            raise ConnectionClosed() from e
        if not chunk:
            raise ConnectionClosed()
        self.buf += chunk

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line, self.buf = self.buf[:i], self.buf[i + 2:]
                if self._record is not None:
                    self._record += line + b"\r\n"
                return line
            self._fill()

    def _exact(self, n):
        while len(self.buf) < n + 2:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        if self._record is not None:
            self._record += data + b"\r\n"
        return data

    def call_wire(self, *args):
        """Send a command and return its reply exactly as the bytes on the wire."""
        self.send(encode_command(*args))
        return self.read_reply_wire()

    def read_reply_wire(self):
        self._record = bytearray()
        try:
            self.read_reply()
            return bytes(self._record)
        finally:
            self._record = None

    def read_raw_line(self):
        """The next CRLF-terminated line, undecoded (e.g. b'+OK')."""
        return self._line()

    def read_reply(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest
        if t == b"-":
            return RespError(rest.decode(errors="replace"))
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if t in (b"*", b">", b"~"):
            n = int(rest)
            if n < 0:
                return None
            items = [self.read_reply() for _ in range(n)]
            if t == b">":
                return Push(items)
            if t == b"~":
                return set(items)
            return items
        if t == b"%":
            n = int(rest)
            return {self.read_reply(): self.read_reply() for _ in range(n)}
        if t == b"|":
            n = int(rest)
            # Attributes annotate the reply that follows; tests only need the reply.
            for _ in range(2 * n):
                self.read_reply()
            return self.read_reply()
        if t == b"_":
            return None
        if t == b",":
            return float(rest)
        if t == b"#":
            return rest == b"t"
        if t == b"(":
            return int(rest)
        if t in (b"=", b"!"):
            data = self._exact(int(rest))
            return RespError(data.decode()) if t == b"!" else data
        raise AssertionError(f"unexpected RESP type byte in line {line!r}")

    def assert_closed(self, timeout=IO_TIMEOUT):
        """Drain anything pending and require EOF within timeout."""
        self.sock.settimeout(timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                return
            except socket.timeout:
                break
            if not chunk:
                return
        raise AssertionError("server did not close the connection")


def free_port(consecutive=1):
    """A port the kernel says is free, and the `consecutive - 1` ports after it free too (a
    `swiftlet run --replicas N` takes the next N ports, and an ephemeral port's neighbour can be
    anybody's)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port + consecutive > 65536:
            continue
        try:
            for p in range(port + 1, port + consecutive):
                with socket.socket() as t:
                    t.bind(("127.0.0.1", p))
        except OSError:
            continue
        return port


def wait_until(predicate, timeout=5.0, interval=0.02):
    """Poll predicate until truthy; return its last value (falsy on timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def _die_with_parent():
    """In the child before exec: have Linux send SIGTERM to the server if
    the test runner dies without running its teardown (e.g. SIGKILL)."""
    if sys.platform.startswith("linux"):
        import ctypes
        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def seccomp_args(binary):
    """`--seccomp MODE` when $SWIFTLET_SECCOMP is set (yes, log) and the binary is Swiftlet's:
    Scripts/test.sh runs the whole suite a second time that way, every server under the filter.
    redis-server (which validates the suite) has no such directive."""
    mode = os.environ.get("SWIFTLET_SECCOMP")
    if not mode or "redis" in os.path.basename(binary):
        return []
    return ["--seccomp", mode]


class ServerProcess:
    """One server instance started with the redis-server command-line
    convention and stopped (never orphaned) by stop()."""

    def __init__(self, binary, workdir, extra_args=()):
        self.binary = binary
        self.host = "127.0.0.1"
        self.port = None
        self.dir = workdir
        self.extra_args = list(extra_args)
        os.makedirs(workdir, exist_ok=True)
        self.log_path = os.path.join(workdir, "server.log")
        self.args = None
        self.proc = None

    def start(self, ready_timeout=10.0, attempts=3):
        """Start on a free port and wait for PING. The port is probed free
        but could be taken before the server binds it, so an early exit is
        retried on a fresh port."""
        for _ in range(attempts):
            error = self._start_once(ready_timeout)
            if error is None:
                return self
            if not error.startswith("exited"):
                break
        raise RuntimeError(
            f"server did not become ready: {error}\n"
            f"command: {self.args}\n--- log tail ---\n{self.log_tail()}")

    def _start_once(self, ready_timeout):
        self.port = free_port()
        self.args = [
            self.binary, "--port", str(self.port), "--bind", self.host,
            "--save", "", "--appendonly", "no", "--dir", self.dir,
            *seccomp_args(self.binary), *self.extra_args,
        ]
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            self.args, stdout=self._log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, cwd=self.dir, preexec_fn=_die_with_parent)
        deadline = time.monotonic() + ready_timeout
        last_error = "no answer"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                last_error = f"exited with code {self.proc.returncode}"
                break
            try:
                with RawClient(self.host, self.port, timeout=0.5) as c:
                    reply = c.call("PING")
                # NOAUTH also proves the server is up (requirepass). The
                # liveness check rules out a foreign server that won the port.
                ready = reply == b"PONG" or (isinstance(reply, RespError) and reply.text.startswith("NOAUTH"))
                if ready and self.proc.poll() is None:
                    return None
                last_error = f"PING replied {reply!r}"
            except (OSError, ConnectionClosed) as e:
                last_error = repr(e)
            time.sleep(0.05)
        self.stop()
        return last_error

    def log_tail(self, lines=40):
        try:
            with open(self.log_path, "rb") as f:
                return b"\n".join(f.read().splitlines()[-lines:]).decode(errors="replace")
        except OSError:
            return "(no log)"

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None
        self._log.close()

    def raw(self, timeout=IO_TIMEOUT):
        return RawClient(self.host, self.port, timeout=timeout)


class Background:
    """Run fn(*args, **kwargs) in a daemon thread; result() joins with a timeout so a
    reply that never comes fails the test instead of hanging the run."""

    def __init__(self, fn, *args, **kwargs):
        import threading
        self._value = None
        self._error = None
        self._thread = threading.Thread(target=self._run, args=(fn, args, kwargs), daemon=True)
        self._thread.start()

    def _run(self, fn, args, kwargs):
        try:
            self._value = fn(*args, **kwargs)
        except BaseException as e:  # re-raised in the test thread
            self._error = e

    def done(self):
        return not self._thread.is_alive()

    def result(self, timeout=5.0):
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError(f"background call still running after {timeout}s")
        if self._error is not None:
            raise self._error
        return self._value


def blocked_clients(client):
    return int(client.info("clients")["blocked_clients"])


def wait_blocked(client, n, timeout=5.0):
    """Wait until the server reports n clients blocked on keys."""
    assert wait_until(lambda: blocked_clients(client) == n, timeout), \
        f"expected {n} blocked clients, server reports {blocked_clients(client)}"


class AckedWriter:
    """One client pipelining unique SETs (`NAME:n`) and INCRs (`c:NAME`), recording which
    writes were acknowledged: the crash tests of the append-only file (host build and appliance)
    check after a restart that what was acknowledged is there and nothing else is."""

    def __init__(self, port, name, host="127.0.0.1", timeout=5):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.name = name
        self.acked_keys = []
        self.sent_keys = []
        self.acked_incr = 0
        self.n = 0

    def round(self, depth=8):
        batch = []
        keys = []
        for _ in range(depth):
            self.n += 1
            key = f"{self.name}:{self.n}"
            keys.append(key)
            batch.append(f"*3\r\n$3\r\nSET\r\n${len(key)}\r\n{key}\r\n$1\r\n1\r\n")
            batch.append(f"*2\r\n$4\r\nINCR\r\n${len(self.name) + 2}\r\nc:{self.name}\r\n")
        self.sent_keys += keys
        self.sock.sendall("".join(batch).encode())
        data = b""
        replies = []
        while len(replies) < 2 * depth:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError
            data += chunk
            *lines, data = data.split(b"\r\n")
            replies += lines
        for i, reply in enumerate(replies):
            if i % 2 == 0:
                assert reply == b"+OK", reply
                self.acked_keys.append(keys[i // 2])
            else:
                self.acked_incr = int(reply[1:])
