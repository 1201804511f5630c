"""`swiftlet bench --quick` end to end with tiny request counts: the guest (under QEMU), the host
build and a real redis-server measured side by side; all four result files, every test of
redis-benchmark's default set for every target and pipeline depth, and the pinning proof."""

import csv
import json
import pathlib
import shutil
import subprocess
import sys
import xml.dom.minidom

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from test_image import build_image, tool  # noqa: E402

DEFAULT_TESTS = {"PING_INLINE", "PING_MBULK", "SET", "GET", "INCR", "LPUSH", "RPUSH", "LPOP", "RPOP", "SADD",
                 "HSET", "SPOP", "ZADD", "ZPOPMIN", "LRANGE_100", "LRANGE_300", "LRANGE_500", "LRANGE_600", "MSET"}


def test_quick_bench_writes_every_file_with_every_test(tmp_path):
    image = tmp_path / "image"
    build_image(image)
    out = tmp_path / "results"
    cmd = [tool(), "bench", "--image", str(image), "--quick", "--requests", "200", "--output", str(out),
           "--reference", shutil.which("redis-server"), "--accel", "tcg"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    # Progress names the target and the test as it goes.
    assert "-P 16 lrange on guest" in result.stdout

    assert {p.name for p in out.iterdir()} >= {"results.json", "results.csv", "report.md", "chart.svg"}
    rows = list(csv.DictReader((out / "results.csv").open()))
    for target in ("guest", "host", "reference"):
        for pipeline in ("1", "16"):
            found = {r["test"] for r in rows if r["target"] == target and r["pipeline"] == pipeline}
            assert found == DEFAULT_TESTS, (target, pipeline, DEFAULT_TESTS ^ found)

    data = json.loads((out / "results.json").read_text())
    assert data["environment"]["accel"] == "tcg"
    for key in ("cpu", "cores", "qemu", "guest kernel", "host kernel"):
        assert data["environment"][key] and data["environment"][key] != "unknown", key
    # Pinning proof: the guest's vCPU and every thread of the host servers on the server CPU.
    server_cpu = str(data["settings"]["serverCPU"])
    assert any(line.startswith("vcpu0 ") and line.endswith(f"-> cpu {server_cpu}") for line in data["pinning"]["guest"])
    for target in ("host", "reference"):
        assert data["pinning"][target] and all(line.endswith(f"-> cpu {server_cpu}") for line in data["pinning"][target])

    report = (out / "report.md").read_text()
    assert "## -P 1" in report and "## -P 16" in report and "guest/host" in report and "host/reference" in report
    for test in DEFAULT_TESTS:
        assert f"| {test} |" in report, test
    svg = xml.dom.minidom.parse(str(out / "chart.svg"))
    assert len(svg.getElementsByTagName("rect")) > len(DEFAULT_TESTS) * 3
    # Nothing left running.
    leftovers = subprocess.run(["pgrep", "-f", str(image)], capture_output=True, text=True).stdout.split()
    assert leftovers == [], leftovers
