"""The appliance image end to end: `swiftlet image build` of the memonly recipe, then the image
booted under QEMU (TCG) serving real clients through a forwarded port, and powering the VM off
on SHUTDOWN.

Tool: $SWIFTLET_TOOL (default <repo>/.build/debug/swiftlet, which `swift build`/`swift test`
produce). With $SWIFTLET_STATIC_SERVER the build uses that static server instead of building
one (`--server`). The first run on a machine builds the kernel (~5 min, cached in
~/.cache/swiftlet afterwards).
"""

import hashlib
import json
import os
import pathlib
import random
import re
import shutil
import subprocess
import sys
import time

import pytest
import redis

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from appliance import REPO_ROOT, ApplianceVM  # noqa: E402
from appliance import tool as appliance_tool  # noqa: E402
from helpers import AckedWriter  # noqa: E402
# Issue 3's targets; the bounds used here are looser so a loaded CI machine does not flake,
# and the measured figures are printed (pytest -s) and recorded in Docs/appliance.md.
IMAGE_LIMIT = 8 * 1024 * 1024
BOOT_TIMEOUT = 60.0
POWER_OFF_TIMEOUT = 30.0


def tool():
    try:
        return appliance_tool()
    except RuntimeError as e:
        pytest.fail(str(e))


def build_image(output, server=None):
    cmd = [tool(), "image", "build", "--recipe", str(REPO_ROOT / "Images" / "memonly.toml"),
           "--output", str(output), "--package-path", str(REPO_ROOT)]
    server = server or os.environ.get("SWIFTLET_STATIC_SERVER")
    if server:
        cmd += ["--server", server]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    assert result.returncode == 0, f"$ {' '.join(cmd)}\n{result.stdout}\n{result.stderr}"
    print(result.stdout)
    return json.loads((pathlib.Path(output) / "manifest.json").read_text())


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    if shutil.which("qemu-system-x86_64") is None:
        pytest.fail("qemu-system-x86_64 not found: sudo apt-get install qemu-system-x86 (Scripts/setup-debian.sh)")
    out = tmp_path_factory.mktemp("memonly")
    build_image(out)
    return out


def sha256(path):
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


def test_manifest_describes_the_artifacts(image):
    manifest = json.loads((image / "manifest.json").read_text())
    assert manifest["recipe"]["name"] == "memonly"
    assert manifest["kernel"]["version"].startswith("6.1")
    assert "ip=10.0.2.15" in manifest["kernel_command_line"]
    assert manifest["server_version"].startswith("Swiftlet server v=")
    for role in ("kernel", "initramfs", "server"):
        artifact = manifest["artifacts"][role]
        path = image / artifact["file"]
        assert path.stat().st_size == artifact["size"]
        assert sha256(path) == artifact["sha256"]
    kernel, initramfs = manifest["artifacts"]["kernel"]["size"], manifest["artifacts"]["initramfs"]["size"]
    print(f"\nimage: kernel {kernel} B, initramfs {initramfs} B, total {kernel + initramfs} B")
    assert manifest["image_size"] == kernel + initramfs
    assert manifest["image_size"] <= IMAGE_LIMIT
    # Nothing half-written is left behind.
    assert not [p.name for p in image.iterdir() if p.name.startswith(".")]


def test_second_build_gives_a_bit_identical_initramfs(image, tmp_path):
    first = json.loads((image / "manifest.json").read_text())
    # The same server executable as the first build, so only the writer's determinism is tested.
    server = os.environ.get("SWIFTLET_STATIC_SERVER") or str(REPO_ROOT / ".build-static" / "release" / "swiftlet-server")
    second = build_image(tmp_path / "again", server=server)
    assert second["artifacts"]["initramfs"]["sha256"] == first["artifacts"]["initramfs"]["sha256"]
    assert second["artifacts"]["kernel"]["sha256"] == first["artifacts"]["kernel"]["sha256"]


def run_clients(vm):
    r = redis.Redis(host="127.0.0.1", port=vm.port, protocol=2, decode_responses=True,
                    socket_timeout=20, socket_connect_timeout=10)
    try:
        assert r.ping() is True
        assert r.set("appliance", "swiftlet") is True
        assert r.get("appliance") == "swiftlet"
        assert r.rpush("l", *[str(i) for i in range(100)]) == 100
        assert r.lrange("l", 0, 2) == ["0", "1", "2"]
        assert r.config_get("save") == {"save": ""}
        # Some real data, so the small-memory boot has to keep serving, not just answer PING:
        # 2,000 keys of 1 KiB.
        value = "v" * 1024
        for batch in range(20):
            assert r.mset({f"key:{batch}:{i}": value for i in range(100)}) is True
        assert r.dbsize() == 2002
        assert r.get("key:19:99") == value
        try:
            r.execute_command("SHUTDOWN")
        except redis.ConnectionError:
            pass  # the server closes the connection instead of replying, as Redis does
    finally:
        r.close()


@pytest.mark.parametrize("memory_mib", [128, 64])
def test_boots_serves_and_powers_off(image, memory_mib):
    vm = ApplianceVM(image, memory_mib=memory_mib, accel="tcg")
    try:
        vm.start()
        seconds = vm.wait_ready(timeout=BOOT_TIMEOUT)
        print(f"\nboot to first PONG under TCG, {memory_mib} MiB: {seconds:.2f} s")
        run_clients(vm)
        try:
            status = vm.wait_exit(timeout=POWER_OFF_TIMEOUT)
        except Exception:
            pytest.fail(f"the VM did not power off within {POWER_OFF_TIMEOUT} s after SHUTDOWN:\n{vm.describe()}")
        assert status == 0, vm.describe()
        console = vm.console()
        assert "Swiftlet appliance: swiftlet-server /etc/swiftlet.conf" in console
        # The recipe's `seccomp yes`: the server served everything above under its filter.
        assert re.search(r"seccomp: \d+ system calls allowed", console), console
        assert "Kernel panic" not in console, console
    finally:
        vm.stop()


def test_forbidden_syscall_in_the_guest_powers_the_vm_off_naming_it(image):
    """The appliance's server is PID 1, which signals cannot kill: a call outside the seccomp
    allowlist must still end it, by powering the VM off with the line on the console."""
    vm = ApplianceVM(image, accel="tcg")
    try:
        vm.start()
        vm.wait_ready(timeout=BOOT_TIMEOUT)
        r = redis.Redis(host="127.0.0.1", port=vm.port, protocol=2, socket_timeout=20)
        try:
            r.execute_command("DEBUG", "FORBIDDEN-SYSCALL")
            pytest.fail("DEBUG FORBIDDEN-SYSCALL answered under seccomp yes")
        except (redis.ConnectionError, redis.TimeoutError):
            pass  # the VM went away with the server (or QEMU's user network holds the socket)
        assert vm.wait_exit(timeout=POWER_OFF_TIMEOUT) == 0, vm.describe()
        console = vm.console()
        assert re.search(r"seccomp: system call personality \(\d+\) is not in the allowlist", console), console
        assert "Kernel panic" not in console, console
    finally:
        vm.stop()


def test_fatal_configuration_error_powers_the_vm_off(image):
    """A bad setting on the kernel command line stops the server at start-up; as init it must
    power the VM off with the error on the console, not exit and panic the kernel."""
    vm = ApplianceVM(image, accel="tcg", extra_cmdline="swiftlet.port=not-a-port")
    try:
        vm.start()
        try:
            status = vm.wait_exit(timeout=BOOT_TIMEOUT)
        except Exception:
            pytest.fail(f"the VM kept running after a fatal configuration error:\n{vm.describe()}")
        console = vm.console()
        assert status == 0, vm.describe()
        # The error names the offending line, as redis-server's does.
        assert "FATAL CONFIG FILE ERROR" in console and ">>> 'port not-a-port'" in console, console
        assert "Kernel panic" not in console, console
    finally:
        vm.stop()


@pytest.fixture(scope="module")
def persistent_image(image, tmp_path_factory):
    """The persistent recipe built once, and a copy of its volume as built (empty ext4), from
    which a test can make a volume of its own."""
    server = os.environ.get("SWIFTLET_STATIC_SERVER") or str(image / "swiftlet-server")
    out = tmp_path_factory.mktemp("persistent")
    cmd = [tool(), "image", "build", "--recipe", str(REPO_ROOT / "Images" / "persistent.toml"),
           "--output", str(out), "--package-path", str(REPO_ROOT), "--server", server]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    pristine = tmp_path_factory.mktemp("volumes") / "empty.ext4"
    shutil.copyfile(out / "data.ext4", pristine)
    return out, pristine


def test_persistent_recipe_keeps_data_across_boots(persistent_image):
    """The persistent recipe: data.ext4 is mounted at /data, the server's dir, so a SAVE inside
    one VM is loaded by the next VM booted from the same volume, and the append-only file is
    kept there."""
    out, _ = persistent_image
    manifest = json.loads((out / "manifest.json").read_text())
    assert "swiftlet.data=/dev/vda" in manifest["kernel_command_line"]
    assert (out / "data.ext4").stat().st_size == 256 * 1024 * 1024

    for boot, action in enumerate(("write", "read")):
        vm = ApplianceVM(out, accel="tcg")
        try:
            vm.start()
            vm.wait_ready(timeout=BOOT_TIMEOUT)
            r = redis.Redis(host="127.0.0.1", port=vm.port, protocol=2, decode_responses=True, socket_timeout=20)
            assert r.config_get("dir") == {"dir": "/data"}
            if action == "write":
                assert r.set("survives", "the VM") is True
                assert r.save() is True
            else:
                assert r.get("survives") == "the VM", vm.describe()
            try:
                r.execute_command("SHUTDOWN", "NOSAVE")
            except redis.ConnectionError:
                pass
            assert vm.wait_exit(timeout=POWER_OFF_TIMEOUT) == 0, vm.describe()
        finally:
            vm.stop()
    # The snapshot is on the host side, in the volume file.
    listing = subprocess.run(["debugfs", "-R", "ls -l /", str(out / "data.ext4")], capture_output=True, text=True)
    assert "dump.rdb" in listing.stdout, listing.stdout + listing.stderr
    assert "appendonlydir" in listing.stdout, listing.stdout + listing.stderr


VM_CRASH_ROUNDS = int(os.environ.get("SWIFTLET_VM_CRASH_ROUNDS", "10"))


def vm_crash_loop(image_dir, volume, policy, rounds):
    """Boots from `volume` with `appendfsync policy`, writes with two clients, SIGKILLs QEMU,
    `rounds` times; each boot checks what the earlier rounds acknowledged. Returns (acknowledged
    writes found missing, in all, acknowledged writes)."""
    sent, acked, counters = set(), set(), {}
    lost = 0
    for round_index in range(rounds + 1):   # the last boot only checks
        vm = ApplianceVM(image_dir, accel="tcg", data=volume, extra_cmdline=f"swiftlet.appendfsync={policy}")
        try:
            vm.start()
            vm.wait_ready(timeout=BOOT_TIMEOUT)
            r = redis.Redis(host="127.0.0.1", port=vm.port, protocol=2, decode_responses=True, socket_timeout=30)
            assert r.config_get("appendfsync") == {"appendfsync": policy}
            present = set(r.keys("v*:*"))
            assert present <= sent, f"keys that were never written: {sorted(present - sent)[:10]}"
            lost += len(acked - present)
            for name, count in counters.items():
                lost += max(0, count - int(r.get(f"c:{name}") or 0))
            # What a crash took is gone for good: the next round checks from what is there.
            acked &= present
            if round_index == rounds:
                break
            writers = [AckedWriter(vm.port, f"v{round_index}x{i}", timeout=30) for i in range(2)]
            deadline = time.monotonic() + random.uniform(0.3, 1.0)
            while time.monotonic() < deadline:
                for w in writers:
                    w.round(depth=4)
            for w in writers:   # in flight when QEMU dies
                w.sock.sendall(b"*3\r\n$3\r\nSET\r\n$9\r\ninflight0\r\n$1\r\n1\r\n")
            vm.proc.kill()
            vm.proc.wait(timeout=10)
            for w in writers:
                sent |= set(w.sent_keys)
                acked |= set(w.acked_keys)
                counters[w.name] = w.acked_incr
                w.sock.close()
        finally:
            vm.stop()
    return lost, len(acked)


def test_killed_vm_loses_no_acknowledged_write_under_always(persistent_image, tmp_path):
    """QEMU SIGKILLed while clients write, VM_CRASH_ROUNDS times, with the AOF on the data
    volume under appendfsync always: the guest's page cache dies with QEMU, so only what the
    guest's fdatasync pushed through virtio to the volume file survives. After every boot each
    acknowledged write is there and nothing that was never sent is."""
    out, pristine = persistent_image
    volume = tmp_path / "data.ext4"
    shutil.copyfile(pristine, volume)
    lost, acked = vm_crash_loop(out, volume, "always", VM_CRASH_ROUNDS)
    print(f"\nVM crash loop (always): {acked} acknowledged writes over {VM_CRASH_ROUNDS} kills, {lost} lost")
    assert acked > 0, "no write was acknowledged: the test checked nothing"
    assert lost == 0


def test_vm_crash_check_can_fail(persistent_image, tmp_path):
    """The control: under appendfsync no the guest never syncs, so a killed QEMU must take
    acknowledged writes with its page cache; if it did not, the loop above would prove nothing."""
    out, pristine = persistent_image
    volume = tmp_path / "data.ext4"
    shutil.copyfile(pristine, volume)
    lost, _ = vm_crash_loop(out, volume, "no", 2)
    print(f"\nVM crash loop (no): {lost} acknowledged writes lost over 2 kills")
    assert lost > 0
