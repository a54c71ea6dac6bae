"""otel_agentkit.web._common: request ids, exclusions, instruments, /metrics and /health bodies."""

from __future__ import annotations

import logging
import os
import uuid
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from prometheus_client import CollectorRegistry

import otel_agentkit
from otel_agentkit import semconv
from otel_agentkit.testing import TelemetryCapture
from otel_agentkit.web import _common, is_valid_request_id, record_rate_limit_exceeded


def _is_uuid4(value: str) -> bool:
    try:
        return uuid.UUID(value).version == 4 and str(uuid.UUID(value)) == value
    except ValueError:
        return False


@pytest.mark.parametrize(
    "value",
    ["a", "abc-123", "A.b_c:d-e", "x" * 128, "0f8fad5b-d9cb-469f-a165-70867728950e"],
)
def test_valid_request_ids_are_kept(value: str) -> None:
    assert is_valid_request_id(value)
    assert _common.resolve_request_id(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        "x" * 129,
        "abc\ndef",
        "abc\r\nX-Injected: 1",
        "caf\u00e9",
        "\u0661\u0662\u0663",  # Arabic-Indic digits: \d would accept them, we must not
        "has space",
        "a,b",
        "a/b",
    ],
)
def test_invalid_request_ids_are_replaced_by_uuid4(value: str) -> None:
    assert not is_valid_request_id(value)
    resolved = _common.resolve_request_id(value)
    assert resolved != value
    assert _is_uuid4(resolved)


def test_missing_request_id_is_generated_without_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG, logger="otel_agentkit"):
        first = _common.resolve_request_id(None)
        second = _common.resolve_request_id(None)
    assert _is_uuid4(first)
    assert _is_uuid4(second)
    assert first != second
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_rejected_request_id_is_logged_escaped_and_truncated(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hostile = "evil\nFAKE LOG LINE \u202e" + "A" * 10_000
    with caplog.at_level(logging.WARNING, logger="otel_agentkit.http"):
        replacement = _common.resolve_request_id(hostile)
    (record,) = caplog.records
    message = record.getMessage()
    assert "\n" not in message
    assert "\u202e" not in message
    assert "\\n" in message
    assert "\\u202e" in message
    assert len(message) < 300  # truncated: the 10k payload is not in the log
    assert "10020 characters" in message
    assert replacement in message


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (100, "1xx"),
        (200, "2xx"),
        (204, "2xx"),
        (302, "3xx"),
        (404, "4xx"),
        (503, "5xx"),
        (599, "5xx"),
    ],
)
def test_status_class(status: int, expected: str) -> None:
    assert _common.status_class(status) == expected


def test_status_class_out_of_range() -> None:
    assert _common.status_class(0) == "other"
    assert _common.status_class(99) == "other"
    assert _common.status_class(600) == "other"


def test_unknown_methods_collapse_to_other() -> None:
    assert _common.normalize_method("GET") == "GET"
    assert _common.normalize_method("PURGE") == "_OTHER"


def test_path_pattern_matches_only_that_path() -> None:
    excluded = _common.ExcludeList(_common.path_pattern("/metrics"))
    assert excluded.url_disabled("http://host/metrics")
    assert excluded.url_disabled("http://host:8000/metrics?name=x")
    assert excluded.url_disabled("https://host/metrics/")
    assert not excluded.url_disabled("http://host/metrics2")
    assert not excluded.url_disabled("http://host/api/metrics")
    assert not excluded.url_disabled("http://host/chat?next=/metrics")


def test_excluded_urls_merge_own_paths_argument_and_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_PYTHON_FLASK_EXCLUDED_URLS", "internal/.*")
    patterns = _common.build_excluded_urls("FLASK", ["/metrics", None], ["/debug$"])
    excluded = _common.ExcludeList(patterns)
    assert excluded.url_disabled("http://h/metrics")
    assert excluded.url_disabled("http://h/debug")
    assert excluded.url_disabled("http://h/internal/x")
    assert not excluded.url_disabled("http://h/chat")


def test_metrics_response_is_503_before_configure() -> None:
    status, body, content_type = _common.metrics_response(None, None)
    assert status == 503
    assert b"configure()" in body
    assert content_type.startswith("text/plain")


def test_metrics_response_is_503_when_prometheus_is_off() -> None:
    otel_agentkit.configure("svc", metrics_exporter="none", traces_exporter="none")
    status, body, _ = _common.metrics_response(None, None)
    assert status == 503
    assert b"prometheus" in body


def test_metrics_response_renders_prometheus_and_openmetrics() -> None:
    otel_agentkit.configure(
        "svc",
        traces_exporter="none",
        logs_exporter="none",
        prometheus_server=False,
        prometheus_registry=CollectorRegistry(),
    )
    record_rate_limit_exceeded("/chat")
    status, body, content_type = _common.metrics_response(None, None)
    assert status == 200
    assert content_type.startswith("text/plain; version=0.0.4")
    assert b'agentkit_rate_limit_exceeded_total{agentkit_rate_limit_endpoint="/chat"' in body
    status, body, content_type = _common.metrics_response(
        None, "application/openmetrics-text; version=1.0.0"
    )
    assert status == 200
    assert content_type.startswith("application/openmetrics-text")
    assert body.rstrip().endswith(b"# EOF")


# Stand-ins for otel_agentkit.health's HealthReport/HealthRegistry: the web
# adapter is duck-typed on exactly these names (run, run_sync, live,
# http_status, to_dict) so it works before and after the modules are merged.
class _Report:
    def __init__(self, http_status: int, body: dict[str, Any]) -> None:
        self.http_status = http_status
        self._body = body

    def to_dict(self) -> dict[str, Any]:
        return dict(self._body)


class _SyncHealth:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def run_sync(self) -> _Report:
        self.calls.append("run_sync")
        return _Report(503, {"status": "error", "checks": {"db": {"status": "error"}}})

    def live(self) -> _Report:
        self.calls.append("live")
        return _Report(200, {"status": "ok", "live": True})


class _AsyncHealth:
    def __init__(self) -> None:
        self.calls: list[str] = []

    async def run(self) -> _Report:
        self.calls.append("run")
        return _Report(200, {"status": "ok", "checks": {}})


def test_health_response_without_registry_is_ok() -> None:
    assert _common.health_response(None) == (200, {"status": "ok"})
    assert _common.liveness_response(None) == (200, {"status": "ok"})


def test_health_response_uses_run_sync_and_live() -> None:
    health = _SyncHealth()
    assert _common.health_response(health) == (
        503,
        {"status": "error", "checks": {"db": {"status": "error"}}},
    )
    assert _common.liveness_response(health) == (200, {"status": "ok", "live": True})
    assert health.calls == ["run_sync", "live"]


def test_health_response_drives_an_async_run_from_sync_code() -> None:
    health = _AsyncHealth()
    assert _common.health_response(health) == (200, {"status": "ok", "checks": {}})
    assert health.calls == ["run"]


def test_rate_limit_helper_counts_by_endpoint(agentkit_telemetry: TelemetryCapture) -> None:
    record_rate_limit_exceeded("/chat")
    record_rate_limit_exceeded("/chat")
    record_rate_limit_exceeded("/ask")
    points = {
        p.attributes[semconv.AGENTKIT_RATE_LIMIT_ENDPOINT]: p.value
        for p in agentkit_telemetry.metric_points(semconv.AGENTKIT_RATE_LIMIT_EXCEEDED)
    }
    assert points == {"/chat": 2, "/ask": 1}


def test_instruments_are_created_once_per_provider() -> None:
    first = MeterProvider(metric_readers=[InMemoryMetricReader()])
    second = MeterProvider(metric_readers=[InMemoryMetricReader()])
    try:
        a = _common.instruments(first)
        assert a is not None
        assert _common.instruments(first) is a
        b = _common.instruments(second)
        assert b is not None
        assert b is not a
        assert _common.instruments(first) is a
    finally:
        first.shutdown()
        second.shutdown()


def test_no_instruments_on_the_api_proxy_provider() -> None:
    assert _common.instruments() is None  # nothing installed: do not bind proxies


def test_process_metrics_are_observed(agentkit_telemetry: TelemetryCapture) -> None:
    assert _common.instruments() is not None
    (memory,) = agentkit_telemetry.metric_points(semconv.PROCESS_MEMORY_USAGE)
    rss = _common.resident_memory_bytes()
    if rss is None:
        pytest.skip("no /proc/self/statm on this platform")
    assert abs(memory.value - rss) < 64 * 1024 * 1024
    cpu = {
        p.attributes[semconv.CPU_MODE]: p.value
        for p in agentkit_telemetry.metric_points(semconv.PROCESS_CPU_TIME)
    }
    assert set(cpu) == {"user", "system"}
    assert 0 < cpu["user"] <= os.times().user
    (fds,) = agentkit_telemetry.metric_points(semconv.PROCESS_OPEN_FILE_DESCRIPTOR_COUNT)
    assert fds.value >= 3  # stdin, stdout, stderr at least
    metric = agentkit_telemetry.metric(semconv.PROCESS_MEMORY_USAGE)
    assert metric.unit == semconv.UNIT_BYTES


def test_process_metrics_are_registered_once_per_provider(
    agentkit_telemetry: TelemetryCapture,
) -> None:
    _common.instruments()
    _common.instruments()
    assert len(agentkit_telemetry.metric_points(semconv.PROCESS_MEMORY_USAGE)) == 1


def test_hook_fields_on_metrics_only_when_allowed() -> None:
    config = _common.WebConfig(
        request_id_header="X-Request-ID",
        excluded=_common.ExcludeList(""),
        hook_metric_attributes=frozenset({"agent.mode"}),
    )
    fields = config.clean_hook_result(
        {
            "agent.mode": "fast",
            semconv.GEN_AI_AGENT_NAME: "planner",
            "user.id": "u-123",
            "bad": object(),
            "route": "/spoofed",
            "request_id": "spoofed",
        }
    )
    assert set(fields) == {"agent.mode", semconv.GEN_AI_AGENT_NAME, "user.id"}
    assert config.metric_fields(fields) == {
        "agent.mode": "fast",
        semconv.GEN_AI_AGENT_NAME: "planner",
    }
