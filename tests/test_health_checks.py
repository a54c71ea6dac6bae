"""Built-in health checks against real local servers and real in-memory vector stores."""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

import otel_agentkit
from otel_agentkit.errors import ConfigurationError
from otel_agentkit.health import (
    CheckResult,
    HealthRegistry,
    chroma_check,
    disk_check,
    http_check,
    memory_check,
    ollama_check,
    openai_compatible_check,
    otlp_export_check,
    prometheus_check,
    qdrant_check,
    tcp_check,
)
from otel_agentkit.testing import FakeModelServer
from tests.health_helpers import (
    NIM_MODELS,
    OLLAMA_TAGS,
    FakeClock,
    LocalServer,
    Route,
    closed_port,
    local_server,
    require_module,
)
from tests.otlp_receiver import OTLPReceiver


def run_one(check: Any, *, timeout: float = 2.0, use_async: bool = False) -> CheckResult:
    """Run one check through a registry, as /health would."""
    health = HealthRegistry(default_timeout=timeout)
    health.add("c", check)
    report = asyncio.run(health.run()) if use_async else health.run_sync()
    return report.checks["c"]


@pytest.fixture
def ollama() -> Any:
    with local_server({"/api/tags": Route.json(OLLAMA_TAGS)}) as server:
        yield server


@pytest.fixture
def nim() -> Any:
    with FakeModelServer(models=NIM_MODELS) as server:
        yield server


# ---------------------------------------------------------------------------
# Ollama
# ---------------------------------------------------------------------------


def test_ollama_up(ollama: LocalServer) -> None:
    result = run_one(ollama_check(ollama.url))
    assert (result.status, result.detail) == ("ok", "2 models")
    assert result.data["models"] == ["llama3:latest", "nomic-embed-text:v1.5"]
    assert ollama.hits["/api/tags"] == 1


@pytest.mark.parametrize("model", ["llama3", "llama3:latest", "nomic-embed-text:v1.5"])
def test_ollama_model_pulled(ollama: LocalServer, model: str) -> None:
    result = run_one(ollama_check(ollama.url, model=model), use_async=True)
    assert result.status == "ok"
    assert "available (2 models)" in result.detail


@pytest.mark.parametrize("model", ["mistral", "llama3:70b", "nomic-embed-text"])
def test_ollama_model_missing(ollama: LocalServer, model: str) -> None:
    result = run_one(ollama_check(ollama.url, model=model))
    assert result.status == "error"
    assert "is not pulled; available: llama3:latest, nomic-embed-text:v1.5" in result.detail


def test_ollama_down() -> None:
    port = closed_port()
    result = run_one(ollama_check(f"http://127.0.0.1:{port}"))
    assert result.status == "error"
    assert result.detail == f"http://127.0.0.1:{port}/api/tags unreachable: connection refused"


def test_ollama_slow_hits_the_registry_timeout() -> None:
    with local_server({"/api/tags": Route.json(OLLAMA_TAGS, delay=5)}) as server:
        result = run_one(ollama_check(server.url, timeout=10), timeout=0.3)
    assert (result.status, result.detail) == ("error", "timeout")


def test_ollama_socket_timeout_is_reported() -> None:
    with local_server({"/api/tags": Route.json(OLLAMA_TAGS, delay=5)}) as server:
        result = run_one(ollama_check(server.url, timeout=0.2), timeout=5)
    assert result.status == "error"
    assert result.detail.endswith("/api/tags unreachable: timed out")


@pytest.mark.parametrize(
    ("route", "detail"),
    [
        (
            Route(200, b"<html>not ollama</html>", "text/html"),
            "answered HTTP 200 but not with JSON",
        ),
        (Route.json({"error": "nope"}), "did not return an Ollama model list"),
        (Route.json([1, 2, 3]), "did not return an Ollama model list"),
        (Route.json({"error": "internal"}, status=500), "answered HTTP 500"),
    ],
)
def test_ollama_wrong_answers(route: Route, detail: str) -> None:
    with local_server({"/api/tags": route}) as server:
        result = run_one(ollama_check(server.url))
    assert result.status == "error"
    assert result.detail.endswith(detail)


def test_ollama_host_env(ollama: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{ollama.port}")
    assert run_one(ollama_check()).status == "ok"
    assert ollama.hits["/api/tags"] == 1


def test_ollama_is_cached_for_the_ttl(ollama: LocalServer) -> None:
    clock = FakeClock()
    health = HealthRegistry(default_ttl=30, clock=clock)
    health.add("ollama", ollama_check(ollama.url, model="llama3"))
    assert health.run_sync().status == "ok"
    clock.advance(10)
    assert asyncio.run(health.run()).status == "ok"
    assert health.run_sync().status == "ok"
    assert ollama.hits["/api/tags"] == 1  # within the TTL: the server is not hit again
    clock.advance(25)
    assert health.run_sync().status == "ok"
    assert ollama.hits["/api/tags"] == 2  # after the TTL it is


def test_ollama_no_stampede_under_50_concurrent_requests() -> None:
    with local_server({"/api/tags": Route.json(OLLAMA_TAGS, delay=0.3)}) as server:
        health = HealthRegistry(default_timeout=5)
        health.add("ollama", ollama_check(server.url))
        barrier = threading.Barrier(50)
        codes: list[int] = []
        lock = threading.Lock()

        def request() -> None:
            barrier.wait()
            code = health.run_sync().http_status
            with lock:
                codes.append(code)

        threads = [threading.Thread(target=request) for _ in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert codes == [200] * 50
        assert server.hits["/api/tags"] == 1


def test_ollama_no_stampede_from_50_coroutines() -> None:
    with local_server({"/api/tags": Route.json(OLLAMA_TAGS, delay=0.3)}) as server:
        health = HealthRegistry(default_timeout=5)
        health.add("ollama", ollama_check(server.url))

        async def burst() -> list[int]:
            reports = await asyncio.gather(*(health.run() for _ in range(50)))
            return [r.http_status for r in reports]

        assert asyncio.run(burst()) == [200] * 50
        assert server.hits["/api/tags"] == 1


def test_ollama_bad_url_fails_at_construction() -> None:
    with pytest.raises(ConfigurationError, match="base_url='ftp://x'"):
        ollama_check("ftp://x")
    with pytest.raises(ConfigurationError, match="timeout"):
        ollama_check("http://x", timeout=0)


# ---------------------------------------------------------------------------
# OpenAI-compatible (NIM, vLLM)
# ---------------------------------------------------------------------------

API_KEY = "nvapi-Zx81kPq-SECRET-4421"


@pytest.mark.parametrize("suffix", ["/v1", "/v1/", ""])
def test_openai_compatible_up_with_key(nim: FakeModelServer, suffix: str) -> None:
    check = openai_compatible_check(nim.url + suffix, api_key=API_KEY)
    result = run_one(check)
    assert (result.status, result.detail) == ("ok", "2 models")
    (request,) = nim.requests
    assert (request.method, request.path) == ("GET", "/v1/models")
    assert request.headers["authorization"] == f"Bearer {API_KEY}"


def test_openai_compatible_required_model(nim: FakeModelServer) -> None:
    served = run_one(openai_compatible_check(nim.url + "/v1", model="meta/llama-3.1-8b-instruct"))
    assert served.status == "ok"
    assert served.detail == "model meta/llama-3.1-8b-instruct served (2 models)"
    missing = run_one(openai_compatible_check(nim.url + "/v1", model="mistral-7b"))
    assert missing.status == "error"
    assert missing.detail == (
        "model mistral-7b is not served; available: "
        "meta/llama-3.1-8b-instruct, nvidia/nv-embedqa-e5-v5"
    )


def test_openai_compatible_rejected_key_is_never_shown(nim: FakeModelServer) -> None:
    nim.fail_next(401, message=f"invalid key {API_KEY}", endpoint="models")
    health = HealthRegistry()
    health.add(
        "nim",
        openai_compatible_check(
            nim.url + "/v1", api_key=API_KEY, headers={"X-Org": "org-secret-77"}
        ),
    )
    report = health.run_sync()
    result = report.checks["nim"]
    assert result.status == "error"
    assert result.detail.endswith("answered HTTP 401 (check the API key)")
    assert API_KEY not in report.to_json()
    assert nim.requests[0].headers["x-org"] == "org-secret-77"


@pytest.mark.parametrize(
    ("route", "detail"),
    [
        (Route(200, b"{broken json", "application/json"), "but not with JSON"),
        (Route.json({"models": []}), "did not return an OpenAI model list"),
        (Route(503, b"loading", "text/plain"), "answered HTTP 503"),
    ],
)
def test_openai_compatible_wrong_answers(route: Route, detail: str) -> None:
    with local_server({"/v1/models": route}) as server:
        result = run_one(openai_compatible_check(server.url + "/v1"))
    assert result.status == "error"
    assert result.detail.endswith(detail)


def test_openai_compatible_down_and_slow() -> None:
    port = closed_port()
    down = run_one(openai_compatible_check(f"http://127.0.0.1:{port}/v1", api_key=API_KEY))
    assert down.detail == f"http://127.0.0.1:{port}/v1/models unreachable: connection refused"
    with FakeModelServer(latency=5) as server:
        slow = run_one(openai_compatible_check(server.url + "/v1"), timeout=0.3, use_async=True)
    assert (slow.status, slow.detail) == ("error", "timeout")


# ---------------------------------------------------------------------------
# Generic HTTP and TCP
# ---------------------------------------------------------------------------


def test_http_check_statuses() -> None:
    routes = {
        "/ok": Route(204, b"", "text/plain"),
        "/fail": Route(503, b"no", "text/plain"),
        "/teapot": Route(418, b"", "text/plain"),
    }
    with local_server(routes) as server:
        assert run_one(http_check(server.url + "/ok")).detail == "HTTP 204"
        failed = run_one(http_check(server.url + "/fail"))
        assert (failed.status, failed.detail) == ("error", f"{server.url}/fail answered HTTP 503")
        assert run_one(http_check(server.url + "/teapot", expected_status={418})).status == "ok"
        assert run_one(http_check(server.url + "/missing")).detail.endswith("answered HTTP 404")


def test_http_check_url_credentials_are_sent_and_redacted() -> None:
    with local_server({"/health": Route(500, b"", "text/plain")}) as server:
        url = f"http://svc:pa55w0rd-xyz@127.0.0.1:{server.port}/health?token=tok-abc-123&v=1"
        health = HealthRegistry()
        health.add("svc", http_check(url))
        report = health.run_sync()
        sent = server.headers[0]["authorization"]
    assert sent == "Basic " + base64.b64encode(b"svc:pa55w0rd-xyz").decode()
    detail = report.checks["svc"].detail
    assert detail == f"http://127.0.0.1:{server.port}/health?token=[REDACTED]&v=1 answered HTTP 500"
    text = report.to_json()
    for secret in ("pa55w0rd-xyz", "tok-abc-123", sent.split()[1]):
        assert secret not in text


def test_redirects_never_carry_credentials_to_another_host() -> None:
    with (
        local_server({"/ok": Route(200, b"", "text/plain")}) as other,
        local_server({"/ok": Route(200, b"", "text/plain")}) as same,
    ):
        same.routes["/moved"] = Route.redirect(f"{same.url}/ok")
        same.routes["/away"] = Route.redirect(f"{other.url}/ok")
        creds = f"http://user:pw-77-secret@127.0.0.1:{same.port}"
        headers = {"X-Api-Key": "key-abc-123"}
        assert run_one(http_check(creds + "/moved", headers=headers)).detail == "HTTP 200"
        assert run_one(http_check(creds + "/away", headers=headers)).detail == "HTTP 200"
    assert "authorization" in same.headers[1]  # same host: still authenticated
    assert same.headers[1]["x-api-key"] == "key-abc-123"
    assert "authorization" not in other.headers[0]  # another host: stripped
    assert "x-api-key" not in other.headers[0]
    assert other.headers[0]["user-agent"].startswith("otel-agentkit-health/")


def test_tcp_check() -> None:
    with local_server() as server:
        result = run_one(tcp_check("127.0.0.1", server.port))
        assert (result.status, result.detail) == ("ok", f"connected to 127.0.0.1:{server.port}")
    port = closed_port()
    refused = run_one(tcp_check("127.0.0.1", port))
    assert (refused.status, refused.detail) == (
        "error",
        f"127.0.0.1:{port} unreachable: connection refused",
    )
    with pytest.raises(ConfigurationError, match="port=70000"):
        tcp_check("127.0.0.1", 70000)


# ---------------------------------------------------------------------------
# Memory and disk
# ---------------------------------------------------------------------------


@pytest.mark.skipif(not os.path.exists("/proc/meminfo"), reason="needs Linux /proc/meminfo")
def test_memory_check_reads_the_real_meminfo() -> None:
    ok = run_one(memory_check(0))
    assert ok.status == "ok"
    assert ok.data["available_bytes"] > 0
    low = run_one(memory_check(1 << 60))
    assert low.status == "degraded"
    assert low.detail.endswith("below 1048576.0 TiB")


def test_memory_check_uses_cgroup_limit_when_tighter(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text(
        "MemTotal:       65536000 kB\nMemFree:         1000000 kB\nMemAvailable:   32768000 kB\n"
    )
    cgroup = tmp_path / "cgroup"
    cgroup.mkdir()
    check = memory_check(512 << 20, meminfo_path=meminfo, cgroup_path=cgroup)
    result = run_one(check)
    assert (result.status, result.detail) == ("ok", "31.2 GiB available")
    assert result.data["source"] == "meminfo"
    (cgroup / "memory.max").write_text(f"{1 << 30}\n")
    (cgroup / "memory.current").write_text(f"{(1 << 30) - (100 << 20)}\n")
    limited = run_one(check)
    assert limited.status == "degraded"
    assert limited.detail == (
        "100.0 MiB available under the container memory limit, below 512.0 MiB"
    )
    (cgroup / "memory.max").write_text("max\n")  # no limit: meminfo decides again
    assert run_one(check).data["source"] == "meminfo"


def test_memory_check_old_kernel_and_fallback(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemFree: 100 kB\nBuffers: 100 kB\nCached: 824 kB\n")
    old = run_one(memory_check(2048, meminfo_path=meminfo, cgroup_path=tmp_path / "none"))
    assert old.data["available_bytes"] == 1024 * 1024
    assert old.status == "ok"
    missing = memory_check(0, meminfo_path=tmp_path / "nope", cgroup_path=tmp_path / "nope")
    result = run_one(missing)
    assert result.status == "ok"  # never fails readiness because it cannot measure
    assert result.data.get("source") in (None, "sysconf")


def test_disk_check(tmp_path: Path) -> None:
    ok = run_one(disk_check(tmp_path, min_free_bytes=0))
    assert ok.status == "ok"
    assert ok.detail.endswith(f"free on {tmp_path}")
    full = run_one(disk_check(tmp_path, min_free_bytes=1 << 62))
    assert full.status == "degraded"
    assert full.detail.endswith("below 4194304.0 TiB")
    gone = run_one(disk_check(tmp_path / "missing"))
    assert (gone.status, gone.detail) == ("error", f"{tmp_path / 'missing'} does not exist")
    with pytest.raises(ConfigurationError, match="min_free_bytes=-1"):
        disk_check("/", min_free_bytes=-1)


# ---------------------------------------------------------------------------
# Our own telemetry: Prometheus endpoint, OTLP export failures
# ---------------------------------------------------------------------------


def _prometheus_registry() -> Any:
    from prometheus_client import CollectorRegistry

    return CollectorRegistry()


def test_prometheus_check_scrapes_our_server() -> None:
    telemetry = otel_agentkit.configure(
        "svc",
        traces_exporter="none",
        metrics_exporter="prometheus",
        logs_exporter="none",
        prometheus_host="127.0.0.1",
        prometheus_port=0,
        prometheus_registry=_prometheus_registry(),
    )
    assert telemetry.prometheus_url is not None
    empty = run_one(prometheus_check())
    assert (empty.status, empty.detail) == ("ok", "0 metric families")
    meter = telemetry.meter_provider.get_meter("test")
    meter.create_counter("jobs").add(1)
    meter.create_up_down_counter("queue").add(3)
    result = run_one(prometheus_check(telemetry.prometheus_url))
    assert result.status == "ok"
    assert result.data["families"] >= 2  # jobs, queue (and target_info)


def test_prometheus_check_in_process_when_the_app_serves_metrics() -> None:
    otel_agentkit.configure(
        "svc",
        traces_exporter="none",
        metrics_exporter="prometheus",
        logs_exporter="none",
        prometheus_server=False,
        prometheus_registry=_prometheus_registry(),
    )
    assert run_one(prometheus_check()).status == "ok"


def test_prometheus_check_failures() -> None:
    not_configured = run_one(prometheus_check())
    assert not_configured.status == "error"
    assert "Prometheus exporter is not enabled" in not_configured.detail
    routes = {
        "/metrics": Route(200, b'broken_metric{label="unterminated 1\n', "text/plain"),
        "/gone": Route(404, b"", "text/plain"),
    }
    with local_server(routes) as server:
        garbage = run_one(prometheus_check(server.url + "/metrics"))
        assert garbage.status == "error"
        assert "is not valid Prometheus text" in garbage.detail
        assert run_one(prometheus_check(server.url + "/gone")).detail.endswith("HTTP 404")


def test_otlp_export_check_without_otlp() -> None:
    result = run_one(otlp_export_check())
    assert (result.status, result.detail) == ("ok", "no OTLP exporter configured")


def _emit_and_flush(telemetry: otel_agentkit.Telemetry) -> None:
    tracer = telemetry.tracer_provider.get_tracer("test")
    with tracer.start_as_current_span("work"):
        pass
    telemetry.tracer_provider.force_flush(10_000)


def test_otlp_export_check_reports_failing_exports() -> None:
    telemetry = otel_agentkit.configure(
        "svc",
        otlp_endpoint=f"http://127.0.0.1:{closed_port()}",
        otlp_timeout=0.5,
        traces_exporter="otlp",
        metrics_exporter="none",
        logs_exporter="none",
    )
    before = run_one(otlp_export_check())
    assert (before.status, before.detail) == ("ok", "traces: no exports yet")
    _emit_and_flush(telemetry)
    result = run_one(otlp_export_check())
    assert result.status == "degraded"
    assert result.detail.startswith("traces: last 1 export failed")
    assert result.data["traces"]["failures"] == 1
    assert run_one(otlp_export_check(failure_status="error")).status == "error"


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_otlp_export_check_ok_when_exports_arrive(
    otlp_receiver: OTLPReceiver, protocol: str
) -> None:
    endpoint = otlp_receiver.grpc_endpoint if protocol == "grpc" else otlp_receiver.http_endpoint
    telemetry = otel_agentkit.configure(
        "svc",
        otlp_endpoint=endpoint,
        otlp_protocol=protocol,
        traces_exporter="otlp",
        metrics_exporter="otlp",
        logs_exporter="otlp",
        metric_export_interval=3600,
    )
    before = run_one(otlp_export_check())
    assert before.detail == "traces: no exports yet; metrics: no exports yet; logs: no exports yet"
    _emit_and_flush(telemetry)
    telemetry.meter_provider.get_meter("test").create_counter("jobs").add(2)
    assert telemetry.meter_provider.force_flush(10_000)
    logging.getLogger("test.health").warning("something to export")
    assert telemetry.logger_provider.force_flush(10_000)
    result = run_one(otlp_export_check(telemetry=telemetry))
    assert result.status == "ok"
    assert result.detail == (
        "traces: 1/1 exports ok; metrics: 1/1 exports ok; logs: 1/1 exports ok"
    )
    # The wrappers pass everything through: the receiver got all three signals.
    assert any(True for _ in otlp_receiver.spans())
    assert any(m.name == "jobs" for _, m in otlp_receiver.metrics())
    assert any(r.body.string_value == "something to export" for _, r in otlp_receiver.logs())
    otel_agentkit.shutdown()  # while the receiver still listens


def test_scraping_a_wildcard_bound_server_uses_loopback() -> None:
    from otel_agentkit.health.checks import _local

    assert _local("http://0.0.0.0:9464/metrics") == "http://127.0.0.1:9464/metrics"
    assert _local("http://[::]:9464/metrics") == "http://[::1]:9464/metrics"
    assert _local("http://10.1.2.3:9464/metrics") == "http://10.1.2.3:9464/metrics"


# ---------------------------------------------------------------------------
# Vector stores (real in-memory clients)
# ---------------------------------------------------------------------------


def test_chroma_ephemeral_client() -> None:
    chromadb = require_module("chromadb")
    client = chromadb.EphemeralClient()
    name = f"docs-{uuid.uuid4().hex[:8]}"
    # No embedding function: the default one downloads a model.
    collection = client.create_collection(name, embedding_function=None)
    collection.add(ids=["a"], embeddings=[[0.1, 0.2, 0.3]], documents=["hello"])
    result = run_one(chroma_check(client))
    assert result.status == "ok"
    assert result.detail.startswith("heartbeat ok, ")
    assert isinstance(result.data["heartbeat"], int)
    assert run_one(chroma_check(client, collection=name)).status == "ok"
    missing = run_one(chroma_check(client, collection="nope-" + name))
    assert missing.status == "error"
    assert missing.detail.startswith(f"collection 'nope-{name}' not found")


def _chroma_server_routes() -> dict[str, Route]:
    """What a Chroma server answers during the handshake chromadb's HTTP clients perform."""
    database = {
        "id": "00000000-0000-0000-0000-000000000000",
        "name": "default_database",
        "tenant": "default_tenant",
    }
    base = "/api/v2/tenants/default_tenant/databases/default_database"
    return {
        "/api/v2/auth/identity": Route.json(
            {"user_id": "u", "tenant": "default_tenant", "databases": ["default_database"]}
        ),
        "/api/v2/tenants/default_tenant": Route.json({"name": "default_tenant"}),
        base: Route.json(database),
        base + "/collections_count": Route.json(4),
    }


def test_chroma_http_client_when_the_server_fails() -> None:
    chromadb = require_module("chromadb")
    routes = _chroma_server_routes()
    routes["/api/v2/heartbeat"] = Route(500, b"chroma is unwell", "text/plain")
    with local_server(routes) as server:
        client = chromadb.HttpClient(host="127.0.0.1", port=server.port)
        result = run_one(chroma_check(client))
        assert result.status == "error"
        assert "chroma is unwell" in result.detail
        assert server.hits["/api/v2/heartbeat"] == 1


def test_chroma_async_http_client_runs_as_an_async_check() -> None:
    chromadb = require_module("chromadb")
    routes = _chroma_server_routes()
    routes["/api/v2"] = Route.json({"nanosecond heartbeat": 1732350000000000000})
    with local_server(routes) as server:

        async def main() -> CheckResult:
            client = await chromadb.AsyncHttpClient(host="127.0.0.1", port=server.port)
            check = chroma_check(client)
            assert asyncio.iscoroutinefunction(check)
            health = HealthRegistry()
            health.add("chroma", check)
            return (await health.run()).checks["chroma"]

        result = asyncio.run(main())
        assert (result.status, result.detail) == ("ok", "heartbeat ok, 4 collections")
        assert server.hits["/api/v2"] == 1
        routes["/api/v2"] = Route(503, b"overloaded", "text/plain")
        server.routes.update(routes)
        failed = asyncio.run(main())
        assert failed.status == "error"
        assert "overloaded" in failed.detail


def test_qdrant_in_memory_client() -> None:
    qdrant_client = require_module("qdrant_client")
    from qdrant_client.models import Distance, VectorParams

    client = qdrant_client.QdrantClient(":memory:")
    assert run_one(qdrant_check(client)).detail == "0 collections"
    client.create_collection("docs", vectors_config=VectorParams(size=3, distance=Distance.COSINE))
    result = run_one(qdrant_check(client, collection="docs"))
    assert (result.status, result.detail) == ("ok", "1 collection")
    missing = run_one(qdrant_check(client, collection="kb"))
    assert (missing.status, missing.detail) == (
        "error",
        "collection 'kb' not found; available: docs",
    )


def test_qdrant_async_client_runs_as_an_async_check() -> None:
    qdrant_client = require_module("qdrant_client")
    client = qdrant_client.AsyncQdrantClient(":memory:")
    check = qdrant_check(client)
    assert asyncio.iscoroutinefunction(check)
    assert run_one(check, use_async=True).detail == "0 collections"
    assert run_one(check).detail == "0 collections"  # run_sync drives it on a private loop


def test_qdrant_server_down() -> None:
    qdrant_client = require_module("qdrant_client")
    client = qdrant_client.QdrantClient(
        url=f"http://127.0.0.1:{closed_port()}", check_compatibility=False, timeout=2
    )
    result = run_one(qdrant_check(client), timeout=5)
    assert result.status == "error"
    assert "Connection refused" in result.detail


def test_vector_store_checks_reject_other_objects() -> None:
    with pytest.raises(ConfigurationError, match="is not a Chroma client"):
        chroma_check(object())
    with pytest.raises(ConfigurationError, match="is not a Qdrant client"):
        qdrant_check(object())
