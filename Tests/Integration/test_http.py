"""The HTTP endpoint (`http-port`, `http-bind`): /health as JSON and /metrics in Prometheus's
text format, read with curl and with the Prometheus project's own Python parser."""

import http.client
import json
import subprocess

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from conftest import server_binary
from helpers import ServerProcess, free_port


@pytest.fixture
def http_server(make_server):
    port = free_port()
    srv = make_server(["--http-port", str(port)])
    srv.http_port = port
    client = redis.Redis(host=srv.host, port=srv.port, decode_responses=True, protocol=2, socket_timeout=10)
    yield srv, client
    client.close()


def get(port, path, method="GET"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path)
    response = conn.getresponse()
    body = response.read().decode()
    conn.close()
    return response.status, response.getheader("Content-Type"), body


def metrics(port):
    status, content_type, body = get(port, "/metrics")
    assert status == 200 and content_type.startswith("text/plain; version=0.0.4")
    samples = {}
    families = {}
    for family in text_string_to_metric_families(body):
        families[family.name] = family
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return families, samples


def test_metrics_count_what_was_sent(http_server):
    srv, c = http_server
    for i in range(25):
        c.set(f"k{i}", "v", ex=100 if i < 5 else None)
    for i in range(7):
        c.get(f"k{i}")
    with pytest.raises(redis.ResponseError):
        c.lpush("k1", "x")
    families, samples = metrics(srv.http_port)
    assert samples[("swiftlet_command_calls_total", (("cmd", "set"),))] == 25
    assert samples[("swiftlet_command_calls_total", (("cmd", "get"),))] == 7
    assert samples[("swiftlet_command_failed_calls_total", (("cmd", "lpush"),))] == 1
    assert samples[("swiftlet_errors_total", (("code", "WRONGTYPE"),))] == 1
    assert samples[("swiftlet_keys", (("db", "0"),))] == 25
    assert samples[("swiftlet_keys_with_expiry", (("db", "0"),))] == 5
    assert samples[("swiftlet_keyspace_hits_total", ())] == 7
    assert samples[("swiftlet_connected_clients", ())] >= 1
    assert samples[("swiftlet_memory_used_bytes", ())] > 0
    assert families["swiftlet_command_calls"].type == "counter"
    assert families["swiftlet_memory_used_bytes"].type == "gauge"
    # The per-command duration histogram: cumulative buckets, +Inf equal to the count.
    assert families["swiftlet_command_duration_seconds"].type == "histogram"
    label = (("cmd", "set"),)
    buckets = sorted(((float(dict(k[1])["le"]), v) for k, v in samples.items()
                      if k[0] == "swiftlet_command_duration_seconds_bucket" and dict(k[1])["cmd"] == "set"))
    counts = [v for _, v in buckets]
    assert counts == sorted(counts) and buckets[-1] == (float("inf"), 25)
    assert samples[("swiftlet_command_duration_seconds_count", label)] == 25
    assert 0 < samples[("swiftlet_command_duration_seconds_sum", label)] < 25
    # A later scrape sees later commands.
    c.set("one-more", "v")
    _, samples = metrics(srv.http_port)
    assert samples[("swiftlet_command_calls_total", (("cmd", "set"),))] == 26


def test_health(http_server):
    srv, c = http_server
    c.ping()
    status, content_type, body = get(srv.http_port, "/health")
    assert status == 200 and content_type == "application/json"
    health = json.loads(body)
    assert health["status"] == "ok" and health["problems"] == []
    assert health["connections"]["active"] >= 1 and health["connections"]["rejected"] == 0
    assert health["memory"]["used"] > 0 and health["memory"]["max"] == 0
    assert health["replication"]["role"] == "master"
    assert health["persistence"]["aof_enabled"] is False
    # A replica whose master cannot be reached is degraded: 503, with the reason.
    c.execute_command("REPLICAOF", "127.0.0.1", str(free_port()))
    status, _, body = get(srv.http_port, "/health")
    health = json.loads(body)
    assert status == 503 and health["status"] == "degraded"
    assert health["problems"] == ["the link to the master is down"]
    assert health["replication"]["role"] == "slave"
    c.execute_command("REPLICAOF", "NO", "ONE")
    assert get(srv.http_port, "/health")[0] == 200


def test_curl_and_http_details(http_server):
    srv, _ = http_server
    out = subprocess.run(["curl", "-sf", f"http://127.0.0.1:{srv.http_port}/metrics"], capture_output=True, text=True, timeout=20)
    assert out.returncode == 0 and "swiftlet_uptime_seconds" in out.stdout
    out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", f"http://127.0.0.1:{srv.http_port}/nope"],
                         capture_output=True, text=True, timeout=20)
    assert out.stdout == "404"
    assert get(srv.http_port, "/metrics", method="POST")[0] == 405
    status, _, body = get(srv.http_port, "/health", method="HEAD")
    assert status == 200 and body == ""
    # Keep-alive: several requests on one connection, as Prometheus scrapes.
    conn = http.client.HTTPConnection("127.0.0.1", srv.http_port, timeout=10)
    for _ in range(3):
        conn.request("GET", "/health?verbose=1")
        r = conn.getresponse()
        assert r.status == 200 and json.loads(r.read())["status"] == "ok"
    conn.close()
    assert "HTTP endpoint (/health, /metrics) on 127.0.0.1:" in srv.log_tail(200)


def test_off_by_default_and_port_conflicts(tmp_path, make_server):
    srv = make_server()
    assert "HTTP endpoint" not in srv.log_tail(200)
    c = redis.Redis(host=srv.host, port=srv.port, decode_responses=True)
    assert c.config_get("http-*") == {"http-port": "0", "http-bind": "127.0.0.1"}
    with pytest.raises(redis.ResponseError, match="can't set immutable config"):
        c.config_set("http-port", "8080")
    c.close()
    # The HTTP port taken by the Redis port of another server: refused at start, naming it.
    p = ServerProcess(server_binary(), str(tmp_path / "clash"), ["--http-port", str(srv.port)])
    with pytest.raises(RuntimeError) as failure:
        p.start(attempts=1)
    assert "Could not create the HTTP listening socket 127.0.0.1:%d (http-port, http-bind)" % srv.port in str(failure.value)
