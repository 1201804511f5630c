"""`swiftlet run` end to end under QEMU (TCG here): pinning checked against /proc, real clients
through the forwarded port, orderly stop on SIGTERM, no QEMU left behind even when the runner is
killed, and the failures a user meets (port in use, a guest that never becomes ready)."""

import json
import os
import pathlib
import re
import signal
import socket
import subprocess
import sys
import time

import pytest
import redis

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from appliance import ApplianceVM  # noqa: E402
from helpers import free_port, wait_until  # noqa: E402
from test_image import build_image, tool  # noqa: E402

READY_TIMEOUT = 120


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    out = tmp_path_factory.mktemp("run-memonly")
    build_image(out)
    return out


def qemu_children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def qemus_forwarding(port):
    """Pids of QEMU processes forwarding `port` (found by command line, whoever their parent)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if f"hostfwd=tcp:127.0.0.1:{port}-".encode() in f.read() and alive(int(entry)):
                        pids.append(int(entry))
            except OSError:
                pass
    return pids


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def allowed_cpus(pid, tid):
    with open(f"/proc/{pid}/task/{tid}/status") as f:
        return next(l.split(":", 1)[1].strip() for l in f if l.startswith("Cpus_allowed_list:"))


SANDBOX = "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"


def qemu_argument(pid, flag):
    """The value after `flag` on the process's command line, or None."""
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        argv = f.read().decode().split("\0")
    return argv[argv.index(flag) + 1] if flag in argv else None


def seccomp_mode(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(next(l.split(":", 1)[1] for l in f if l.startswith("Seccomp:")))


class Runner:
    """`swiftlet run` as a child process whose output is read line by line."""

    def __init__(self, image, *args):
        replicas = int(args[args.index("--replicas") + 1]) if "--replicas" in args else 0
        self.port = free_port(consecutive=1 + replicas)
        self.proc = subprocess.Popen([tool(), "run", str(image), "--port", str(self.port), *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines = []

    def wait_for(self, pattern, timeout=READY_TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.lines.append(line.rstrip("\n"))
            if re.search(pattern, line):
                return line
        raise AssertionError(f"no line matching {pattern!r}; output:\n" + "\n".join(self.lines))

    def qemu(self):
        children = qemu_children(self.proc.pid)
        assert len(children) == 1, children
        return children[0]

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def test_run_pins_serves_and_stops_on_sigterm(image):
    r = Runner(image, "--vcpus", "2", "--pin", "1,0", "--emulator-pin", "0")
    try:
        ready = r.wait_for(r"^ready ")
        assert re.match(rf"ready 127\.0\.0\.1:{r.port} in \d+ ms \(accel=(tcg|kvm), vcpu0->cpu1, vcpu1->cpu0\)", ready), ready
        if os.path.exists("/sys/module/kvm_pvm"):
            assert any("kvm_pvm" in l and "TCG" in l for l in r.lines), r.lines
            assert "accel=tcg" in ready
        qemu = r.qemu()
        # Every pinning the runner printed is what the kernel applies.
        pinned = [re.match(r"pinned (\S+) \(tid (\d+)\) -> cpu (\S+)", l) for l in r.lines if l.startswith("pinned ")]
        roles = [m.group(1) for m in pinned]
        assert roles.count("vcpu0") == 1 and roles.count("vcpu1") == 1 and "emulator" in roles, r.lines
        for m in pinned:
            if alive(qemu) and os.path.exists(f"/proc/{qemu}/task/{m.group(2)}"):
                assert allowed_cpus(qemu, m.group(2)) == m.group(3), m.group(0)
        assert {m.group(1): m.group(3) for m in pinned if m.group(1).startswith("vcpu")} == {"vcpu0": "1", "vcpu1": "0"}
        # QEMU runs in its seccomp sandbox (the default), and the guest's server in its own.
        assert f"QEMU sandbox: -sandbox {SANDBOX}" in r.lines, r.lines
        assert qemu_argument(qemu, "-sandbox") == SANDBOX
        assert seccomp_mode(qemu) == 2
        c = redis.Redis(port=r.port, decode_responses=True, socket_timeout=30)
        assert c.ping()
        assert c.config_get("seccomp") == {"seccomp": "yes"}, "the recipes turn the server's filter on"
        assert c.set("k", "v") and c.get("k") == "v"
        # The port forward's listen backlog was widened from libslirp's 1 (ss shows it as Send-Q).
        listen = subprocess.run(["ss", "-Hltn", f"sport = :{r.port}"], capture_output=True, text=True).stdout.split()
        assert listen[:3] == ["LISTEN", "0", "511"], listen
        # 50 clients at once, as redis-benchmark opens them, all get through and get answers.
        bench = subprocess.run(["redis-benchmark", "-p", str(r.port), "-c", "50", "-n", "5000", "-t", "ping", "--csv"],
                               capture_output=True, text=True, timeout=120)
        assert bench.returncode == 0 and "PING_MBULK" in bench.stdout, bench.stdout + bench.stderr
        r.proc.send_signal(signal.SIGTERM)
        assert r.proc.wait(timeout=60) == 0
        r.wait_for(r"^stopped", timeout=5)
        assert not alive(qemu)
    finally:
        r.kill()


def test_a_killed_runner_leaves_no_qemu(image):
    r = Runner(image, "--accel", "tcg")
    try:
        r.wait_for(r"^ready ")
        qemu = r.qemu()
        r.proc.kill()
        r.proc.wait(timeout=10)
        wait_until(lambda: not alive(qemu), timeout=10, interval=0.05)
        assert not alive(qemu), "QEMU outlived its runner"
        assert qemus_forwarding(r.port) == []
    finally:
        r.kill()


def test_guest_shutdown_ends_the_runner(image):
    r = Runner(image, "--accel", "tcg")
    try:
        r.wait_for(r"^ready ")
        qemu = r.qemu()
        try:
            redis.Redis(port=r.port, socket_timeout=30).shutdown(nosave=True)
        except redis.ConnectionError:
            pass
        assert r.proc.wait(timeout=60) == 0
        r.wait_for(r"^guest stopped", timeout=5)
        assert not alive(qemu)
    finally:
        r.kill()


def test_port_in_use_is_refused_before_booting(image):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        result = subprocess.run([tool(), "run", str(image), "--port", str(port)], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert f"port 127.0.0.1:{port} is not available" in result.stderr + result.stdout


def test_a_guest_that_never_gets_ready_is_reported_and_killed(image):
    r = Runner(image, "--accel", "tcg", "--ready-timeout", "0.2")
    try:
        assert r.proc.wait(timeout=60) != 0
        output = r.proc.stdout.read()
        assert "did not become ready" in output and "last console lines" in output, output
        assert qemus_forwarding(r.port) == []
    finally:
        r.kill()


def test_bad_arguments_name_the_problem(image):
    result = subprocess.run([tool(), "run", str(image), "--vcpus", "2", "--pin", "1"], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "one host CPU per vCPU" in result.stderr
    result = subprocess.run([tool(), "run", "/nonexistent-image"], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "manifest.json is missing" in result.stderr


LIBVIRTD_UP = pathlib.Path(__file__).resolve().parents[2] / "Scripts" / "libvirtd-up.sh"


@pytest.fixture(scope="module")
def libvirt_image(image):
    """libvirtd up (Scripts/libvirtd-up.sh), and the image where pytest put it: below
    /tmp/pytest-of-root, mode 0700, which libvirt's QEMU user cannot search. The runner has to
    make that work (it stages the files), as it must for any `mktemp -d` or home directory."""
    result = subprocess.run([str(LIBVIRTD_UP)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    closed = [p for p in image.parents if p.stat().st_mode & 0o001 == 0]
    assert closed, f"the test means to boot from a directory others cannot search; {image} has none above it"
    return image


def libvirt_domains():
    out = subprocess.run(["virsh", "-c", "qemu:///system", "list", "--name"], capture_output=True, text=True, timeout=30).stdout
    return [line.strip() for line in out.splitlines() if line.strip()]


def test_libvirt_backend_pins_serves_and_stops(libvirt_image, tmp_path):
    tmp_path.chmod(0o700)
    console = tmp_path / "console.log"
    r = Runner(libvirt_image, "--backend", "libvirt", "--pin", "1", "--emulator-pin", "0", "--console", str(console))
    try:
        ready = r.wait_for(r"^ready ")
        staged = [l for l in r.lines if l.startswith("staged the image in /var/lib/libvirt/swiftlet/")]
        assert staged and "cannot search" in staged[0] and "(mode 700)" in staged[0], r.lines
        assert "Ready to accept connections" in console.read_text()
        assert re.search(r"\(accel=(tcg|kvm), vcpu0->cpu1\)", ready), ready
        name = f"swiftlet-{r.proc.pid}-{r.port}"
        assert name in libvirt_domains()
        qemu = int(pathlib.Path(f"/var/run/libvirt/qemu/{name}.pid").read_text())
        # libvirtd chooses the sandbox (qemu.conf seccomp_sandbox); the runner reports what it
        # found on QEMU's command line, and a stock libvirtd gives the same as `swiftlet run`.
        sandbox = qemu_argument(qemu, "-sandbox")
        assert sandbox == SANDBOX, r.lines
        assert f"QEMU sandbox: -sandbox {SANDBOX} (libvirtd, qemu.conf seccomp_sandbox)" in r.lines, r.lines
        pinned = [re.match(r"pinned (\S+) \(tid (\d+)\) -> cpu (\S+)", l) for l in r.lines if l.startswith("pinned ")]
        assert [m.group(3) for m in pinned if m.group(1) == "vcpu0"] == ["1"], r.lines
        assert allowed_cpus(qemu, next(m.group(2) for m in pinned if m.group(1) == "vcpu0")) == "1"
        c = redis.Redis(port=r.port, decode_responses=True, socket_timeout=30)
        assert c.set("k", "v") and c.get("k") == "v"
        r.proc.send_signal(signal.SIGTERM)
        assert r.proc.wait(timeout=60) == 0
        assert name not in libvirt_domains()
        assert not alive(qemu)
        assert not pathlib.Path(f"/var/lib/libvirt/swiftlet/{name}").exists(), "the staged image outlived the run"
        # libvirt gave the files to its QEMU user for the domain's lifetime, then back.
        assert (libvirt_image / "bzImage").stat().st_uid == 0
    finally:
        r.kill()


def test_libvirt_domain_dies_with_a_killed_runner(libvirt_image):
    r = Runner(libvirt_image, "--backend", "libvirt")
    try:
        r.wait_for(r"^ready ")
        name = f"swiftlet-{r.proc.pid}-{r.port}"
        r.proc.kill()
        r.proc.wait(timeout=10)
        wait_until(lambda: name not in libvirt_domains(), timeout=20, interval=0.2)
        assert name not in libvirt_domains(), "the transient domain outlived its runner"
        assert qemus_forwarding(r.port) == []
    finally:
        r.kill()


NON_DEFAULT_RECIPE = """
description = "memonly on port 7000"
[vm]
vcpus = 1
memory_mib = 128
cmdline = "console=ttyS0 quiet panic=-1 reboot=t random.trust_cpu=on ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off"
[server]
port = 7000
save = ""
io-threads = 1
"""


def test_recipe_on_a_non_default_port_is_reachable(tmp_path):
    """A recipe's port is the guest's port: the manifest records it, and `swiftlet run`, its
    --append override and the test helper (through --print-qemu-args) all forward to it."""
    recipe = tmp_path / "port7000.toml"
    recipe.write_text(NON_DEFAULT_RECIPE)
    out = tmp_path / "port7000"
    cmd = [tool(), "image", "build", "--recipe", str(recipe), "--output", str(out),
           "--package-path", str(pathlib.Path(__file__).resolve().parents[2])]
    if os.environ.get("SWIFTLET_STATIC_SERVER"):
        cmd += ["--server", os.environ["SWIFTLET_STATIC_SERVER"]]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format"] == 2
    assert manifest["guest"] == {"port": 7000, "ready_line": "Ready to accept connections"}

    r = Runner(out)
    try:
        r.wait_for(r"^ready ")
        c = redis.Redis(port=r.port, decode_responses=True, socket_timeout=30)
        assert c.config_get("port") == {"port": "7000"}
        assert c.set("k", "v") and c.get("k") == "v"
        r.proc.send_signal(signal.SIGTERM)
        assert r.proc.wait(timeout=60) == 0
    finally:
        r.kill()

    launch = json.loads(subprocess.run([tool(), "run", str(out), "--print-qemu-args", "--port", "6399",
                                        "--append", "swiftlet.port=7001"],
                                       capture_output=True, text=True, timeout=60, check=True).stdout)
    assert launch["guest_port"] == 7001 and launch["host_port"] == 6399
    assert "user,id=net0,hostfwd=tcp:127.0.0.1:6399-:7001" in launch["arguments"]
    assert launch["arguments"][launch["arguments"].index("-append") + 1].endswith(" swiftlet.port=7001")

    vm = ApplianceVM(out, extra_cmdline="swiftlet.port=7001")
    try:
        vm.start()
        vm.wait_ready(timeout=READY_TIMEOUT)
        c = redis.Redis(port=vm.port, decode_responses=True, socket_timeout=30)
        assert c.config_get("port") == {"port": "7001"}, vm.describe()
    finally:
        vm.stop()


def test_replicas_replicate_the_first_guest_and_stop_with_it(image):
    """`swiftlet run --replicas 1`: a second guest on the next host port replicates the first
    one through its forwarded port (guest to guest over QEMU's user network), refuses writes as
    a read-only replica, and both QEMUs go away with one SIGTERM."""
    r = Runner(image, "--replicas", "1")
    try:
        r.wait_for(r"^ready ")
        line = r.wait_for(r"^replica 1 ready ")
        assert f"127.0.0.1:{r.port + 1}" in line and f"replicating 127.0.0.1:{r.port}" in line, line
        master = redis.Redis(port=r.port, decode_responses=True, socket_timeout=30)
        replica = redis.Redis(port=r.port + 1, decode_responses=True, socket_timeout=30)
        master.set("k", "v", ex=1000)
        master.rpush("l", *range(100))
        assert wait_until(lambda: replica.get("k") == "v" and replica.llen("l") == 100, timeout=60), \
            (replica.info("replication"), r.lines)
        assert replica.ttl("k") > 900
        assert replica.info("replication")["master_link_status"] == "up"
        assert replica.role()[0] == "slave"
        with pytest.raises(redis.ReadOnlyError):
            replica.set("x", "1")
        assert master.info("replication")["connected_slaves"] == 1
        qemus = qemus_forwarding(r.port) + qemus_forwarding(r.port + 1)
        assert len(qemus) == 2, qemus
        r.proc.send_signal(signal.SIGTERM)
        assert r.proc.wait(timeout=90) == 0
        r.wait_for(r"^stopped", timeout=5)
        assert any(l.startswith("replica 1 stopped") for l in r.lines), r.lines
        assert not any(alive(p) for p in qemus)
    finally:
        r.kill()


def test_a_guest_replicates_the_host_build(image, tmp_path):
    """A guest as replica of the host build (the host's loopback is 10.0.2.2 inside): the
    snapshot and then the stream reach it."""
    from conftest import server_binary
    from helpers import ServerProcess
    host = ServerProcess(server_binary(), str(tmp_path / "host"), ["--repl-diskless-sync-delay", "0"]).start()
    vm = ApplianceVM(image, extra_cmdline=f'swiftlet.replicaof="10.0.2.2 {host.port}"')
    try:
        c = redis.Redis(port=host.port, decode_responses=True, socket_timeout=30)
        c.mset({f"k{i}": i for i in range(1000)})
        vm.start()
        vm.wait_ready(timeout=READY_TIMEOUT)
        guest = redis.Redis(port=vm.port, decode_responses=True, socket_timeout=30)
        assert wait_until(lambda: guest.info("replication")["master_link_status"] == "up", timeout=60), vm.describe()
        c.set("after", "sync")
        assert wait_until(lambda: guest.dbsize() == 1001 and guest.get("after") == "sync", timeout=30), vm.describe()
        assert c.info("stats")["sync_full"] == 1
    finally:
        vm.stop()
        host.stop()
