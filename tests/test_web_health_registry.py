"""/health and /health/live backed by a real otel_agentkit.health.HealthRegistry."""

from __future__ import annotations

from typing import Any

from otel_agentkit import health
from otel_agentkit.testing import TelemetryCapture
from tests import test_web_fastapi, test_web_flask


def _registry(calls: list[str]) -> Any:
    registry = health.HealthRegistry(default_ttl=0.0, default_timeout=2.0)

    @registry.check("model-server", critical=True)
    async def model_server() -> Any:
        calls.append("model-server")
        return health.CheckResult.error("connection refused")

    @registry.check("disk", critical=False)
    def disk() -> Any:
        calls.append("disk")
        return health.CheckResult.ok("plenty")

    return registry


def test_flask_health_runs_the_registry(agentkit_telemetry: TelemetryCapture) -> None:
    calls: list[str] = []
    client = test_web_flask.make_app(health=_registry(calls)).test_client()
    response = client.get("/health")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "error"
    assert body["checks"]["model-server"]["status"] == "error"
    assert body["checks"]["disk"]["status"] == "ok"
    assert sorted(calls) == ["disk", "model-server"]
    live = client.get("/health/live")
    assert live.status_code == 200
    assert live.get_json()["status"] == "ok"
    assert len(calls) == 2  # liveness ran no check


def test_fastapi_health_awaits_the_registry(agentkit_telemetry: TelemetryCapture) -> None:
    calls: list[str] = []
    app = test_web_fastapi.make_app(health=_registry(calls))
    response = test_web_fastapi.call(app, "GET", "/health")
    assert response.status_code == 503
    assert response.json()["checks"]["model-server"]["status"] == "error"
    assert sorted(calls) == ["disk", "model-server"]
    assert test_web_fastapi.call(app, "GET", "/health/live").status_code == 200
    assert len(calls) == 2
