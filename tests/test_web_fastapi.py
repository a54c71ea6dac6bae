"""otel_agentkit.web.fastapi through httpx's ASGI transport (FastAPI and plain Starlette).

The ``agentkit_telemetry`` fixture installs the global providers before
``instrument_app`` runs: the official instrumentor binds its tracer then.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, HTTPException, Request
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client import CollectorRegistry
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

import otel_agentkit
from otel_agentkit import semconv
from otel_agentkit.context import get_request_id
from otel_agentkit.testing import TelemetryCapture
from otel_agentkit.web.fastapi import instrument_app
from tests.web_helpers import (
    APP_LOGGER,
    INVALID_IDS,
    events,
    info_level,
    is_uuid4,
    prom_value,
    record_request_ids,
)

MODES = ("fast", "deep")


@pytest.fixture(autouse=True)
def _request_events_at_info() -> Iterator[None]:
    with info_level():
        yield


class Ask(BaseModel):
    q: str
    mode: str = "fast"


def make_app(**options: Any) -> FastAPI:
    app = FastAPI()
    log = logging.getLogger(APP_LOGGER)

    @app.post("/ask")
    async def ask(body: Ask) -> dict[str, Any]:
        log.info("answering")
        return {"answer": body.q.upper(), "request_id": get_request_id()}

    @app.get("/items/{item_id}")
    def item(item_id: int) -> dict[str, Any]:  # sync: runs in the threadpool
        log.info("item lookup")
        return {"id": item_id, "request_id": get_request_id()}

    @app.get("/bad")
    async def bad() -> None:
        raise HTTPException(400, "mode must be one of fast, deep")

    @app.get("/boom")
    async def boom() -> None:
        log.info("about to fail")
        raise RuntimeError("db password=hunter2 leaked in message")

    instrument_app(app, **options)
    return app


def call(app: Any, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.request(method, path, **kwargs)

    return asyncio.run(go())


def server_span(capture: TelemetryCapture, name: str) -> Any:
    spans = [s for s in capture.spans_named(name) if s.kind is SpanKind.SERVER]
    assert len(spans) == 1, [s.name for s in capture.spans()]
    return spans[0]


# -- request ids ----------------------------------------------------------------


def test_valid_incoming_id_is_echoed_set_on_span_and_in_context(
    agentkit_telemetry: TelemetryCapture,
) -> None:
    response = call(make_app(), "POST", "/ask", json={"q": "hi"}, headers={"X-Request-ID": "r-1"})
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "r-1"
    assert response.json()["request_id"] == "r-1"
    span = server_span(agentkit_telemetry, "POST /ask")
    assert span.attributes[semconv.AGENTKIT_REQUEST_ID] == "r-1"


def test_missing_id_is_generated_as_uuid4(agentkit_telemetry: TelemetryCapture) -> None:
    app = make_app()
    first = call(app, "GET", "/items/1")
    second = call(app, "GET", "/items/2")
    assert is_uuid4(first.headers["X-Request-ID"])
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]
    # The sync endpoint ran in a worker thread and still saw the id.
    assert first.json()["request_id"] == first.headers["X-Request-ID"]
    spans = agentkit_telemetry.spans_named("GET /items/{item_id}")
    assert sorted(s.attributes[semconv.AGENTKIT_REQUEST_ID] for s in spans) == sorted(
        [first.headers["X-Request-ID"], second.headers["X-Request-ID"]]
    )


@pytest.mark.parametrize("kind", sorted(INVALID_IDS))
def test_invalid_ids_are_replaced(
    kind: str, agentkit_telemetry: TelemetryCapture, caplog: pytest.LogCaptureFixture
) -> None:
    raw = INVALID_IDS[kind].encode("utf-8")  # bytes: sent as-is, as a hostile client would
    with caplog.at_level(logging.WARNING, logger="otel_agentkit.http"):
        response = call(make_app(), "GET", "/items/7", headers=[(b"X-Request-ID", raw)])
    replacement = response.headers["X-Request-ID"]
    assert is_uuid4(replacement)
    assert response.json()["request_id"] == replacement
    span = server_span(agentkit_telemetry, "GET /items/{item_id}")
    assert span.attributes[semconv.AGENTKIT_REQUEST_ID] == replacement
    (warning,) = [r for r in caplog.records if "rejected incoming request id" in r.getMessage()]
    assert "\n" not in warning.getMessage()
    assert warning.getMessage().isascii()


def test_duplicate_outgoing_header_is_replaced_not_doubled(
    agentkit_telemetry: TelemetryCapture,
) -> None:
    app = FastAPI()

    @app.get("/h")
    async def h() -> JSONResponse:
        return JSONResponse({}, headers={"X-Request-ID": "spoofed-by-app"})

    instrument_app(app)
    response = call(app, "GET", "/h", headers={"X-Request-ID": "real"})
    assert response.headers.get_list("X-Request-ID") == ["real"]


def test_every_log_record_during_the_request_has_the_id(
    agentkit_telemetry: TelemetryCapture,
) -> None:
    app = make_app()
    with record_request_ids(APP_LOGGER, "otel_agentkit.http") as recorder:
        call(app, "POST", "/ask", json={"q": "x"}, headers={"X-Request-ID": "log-1"})
        call(app, "GET", "/items/3", headers={"X-Request-ID": "log-2"})
        call(app, "GET", "/boom", headers={"X-Request-ID": "log-3"})
    by_message = {(name, message): rid for name, message, rid in recorder.seen}
    assert by_message[(APP_LOGGER, "answering")] == "log-1"
    assert by_message[(APP_LOGGER, "item lookup")] == "log-2"
    assert by_message[(APP_LOGGER, "about to fail")] == "log-3"
    assert {rid for _, _, rid in recorder.seen} == {"log-1", "log-2", "log-3"}
    (answering,) = [r for r in agentkit_telemetry.logs() if r.log_record.body == "answering"]
    span = server_span(agentkit_telemetry, "POST /ask")
    assert answering.log_record.trace_id == span.context.trace_id


def test_request_events_carry_method_route_status_latency_and_id(
    agentkit_telemetry: TelemetryCapture,
) -> None:
    call(make_app(), "GET", "/items/9", headers={"X-Request-ID": "ev-1"})
    (started,) = events(agentkit_telemetry, "request_started")
    (completed,) = events(agentkit_telemetry, "request_completed")
    assert started["method"] == "GET"
    assert started["route"] == "/items/{item_id}"
    assert started["request_id"] == "ev-1"
    assert completed["status"] == 200
    assert completed["route"] == "/items/{item_id}"
    assert completed["request_id"] == "ev-1"
    assert 0 <= completed["latency_ms"] < 5000


# -- error bodies -----------------------------------------------------------------


def test_400_body_has_error_and_request_id(agentkit_telemetry: TelemetryCapture) -> None:
    response = call(make_app(), "GET", "/bad", headers={"X-Request-ID": "e-400"})
    assert response.status_code == 400
    assert response.json() == {"error": "mode must be one of fast, deep", "request_id": "e-400"}
    assert response.headers["X-Request-ID"] == "e-400"


def test_404_body_has_error_and_request_id(agentkit_telemetry: TelemetryCapture) -> None:
    response = call(make_app(), "GET", "/nowhere", headers={"X-Request-ID": "e-404"})
    assert response.status_code == 404
    assert response.json() == {"error": "Not Found", "request_id": "e-404"}


def test_validation_error_body_has_error_and_request_id(
    agentkit_telemetry: TelemetryCapture,
) -> None:
    response = call(make_app(), "POST", "/ask", json={"nope": 1}, headers={"X-Request-ID": "v"})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "request validation failed"
    assert body["request_id"] == "v"
    assert body["detail"][0]["loc"] == ["body", "q"]


def test_500_body_hides_internals_and_exception_is_logged_and_on_span(
    agentkit_telemetry: TelemetryCapture, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="otel_agentkit.http"):
        response = call(make_app(), "GET", "/boom", headers={"X-Request-ID": "e-500"})
    assert response.status_code == 500
    assert response.json() == {"error": "internal server error", "request_id": "e-500"}
    assert response.headers["X-Request-ID"] == "e-500"
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text
    (logged,) = [r for r in caplog.records if r.exc_info]
    assert logged.exc_info is not None
    assert logged.exc_info[0] is RuntimeError
    span = server_span(agentkit_telemetry, "GET /boom")
    assert span.status.status_code is StatusCode.ERROR
    assert "exception" in [e.name for e in span.events]
    (completed,) = events(agentkit_telemetry, "request_completed")
    assert completed["status"] == 500


def test_an_app_exception_handler_for_500_is_kept(agentkit_telemetry: TelemetryCapture) -> None:
    app = FastAPI()

    @app.exception_handler(Exception)
    async def own(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"mine": True}, status_code=500)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("x")

    instrument_app(app)
    response = call(app, "GET", "/boom")
    assert response.json() == {"mine": True}


def test_an_app_http_exception_handler_is_kept(agentkit_telemetry: TelemetryCapture) -> None:
    from starlette.exceptions import HTTPException as StarletteHTTPException

    app = FastAPI()

    @app.exception_handler(StarletteHTTPException)
    async def own(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"own": exc.status_code}, status_code=exc.status_code)

    instrument_app(app)
    assert call(app, "GET", "/nowhere").json() == {"own": 404}


# -- metrics ------------------------------------------------------------------------


def test_request_and_error_counters(agentkit_telemetry: TelemetryCapture) -> None:
    app = make_app()
    for _ in range(3):
        call(app, "GET", "/items/1")
    call(app, "GET", "/bad")
    call(app, "GET", "/boom")
    call(app, "GET", "/nowhere")
    requests = {
        (p.attributes.get(semconv.HTTP_ROUTE), p.attributes[semconv.AGENTKIT_HTTP_STATUS_CLASS]): (
            p.value
        )
        for p in agentkit_telemetry.metric_points(semconv.AGENTKIT_HTTP_REQUESTS)
    }
    assert requests == {
        ("/items/{item_id}", "2xx"): 3,
        ("/bad", "4xx"): 1,
        ("/boom", "5xx"): 1,
        (None, "4xx"): 1,  # unmatched paths get no route label, never the raw path
    }
    errors = sum(p.value for p in agentkit_telemetry.metric_points(semconv.AGENTKIT_HTTP_ERRORS))
    assert errors == 3
    (duration,) = agentkit_telemetry.metric_points(
        semconv.HTTP_SERVER_REQUEST_DURATION, {semconv.HTTP_ROUTE: "/items/{item_id}"}
    )
    assert duration.count == 3
    assert tuple(duration.explicit_bounds) == semconv.HTTP_DURATION_BUCKETS


def test_hook_reads_the_body_and_fields_reach_event_span_and_metrics(
    agentkit_telemetry: TelemetryCapture,
) -> None:
    async def hook(request: Request) -> dict[str, Any]:
        body = await request.json()
        mode = body.get("mode")
        return {"agent.mode": mode if mode in MODES else "other", "agent.note": "from-hook"}

    app = make_app(hook=hook, hook_metric_attributes=["agent.mode"])
    response = call(app, "POST", "/ask", json={"q": "hi", "mode": "deep"})
    assert response.status_code == 200
    assert response.json()["answer"] == "HI"  # the endpoint still got the body
    span = server_span(agentkit_telemetry, "POST /ask")
    assert span.attributes["agent.mode"] == "deep"
    assert span.attributes["agent.note"] == "from-hook"
    (started,) = events(agentkit_telemetry, "request_started")
    assert started["agent.mode"] == "deep"
    (point,) = agentkit_telemetry.metric_points(semconv.AGENTKIT_HTTP_REQUESTS)
    assert point.attributes["agent.mode"] == "deep"
    assert "agent.note" not in point.attributes


def test_a_failing_hook_does_not_break_the_request(agentkit_telemetry: TelemetryCapture) -> None:
    def broken(request: Request) -> dict[str, Any]:
        raise ValueError("hook bug")

    response = call(make_app(hook=broken), "POST", "/ask", json={"q": "ok"})
    assert response.status_code == 200
    assert response.json()["answer"] == "OK"


# -- /metrics and /health ---------------------------------------------------------------


def test_metrics_and_health_are_mounted_and_not_traced(
    agentkit_telemetry: TelemetryCapture,
) -> None:
    app = make_app()
    assert call(app, "GET", "/health").json() == {"status": "ok"}
    assert call(app, "GET", "/health/live").status_code == 200
    metrics_response = call(app, "GET", "/metrics")
    assert metrics_response.status_code == 503
    assert "configure()" in metrics_response.text
    assert agentkit_telemetry.spans() == []
    assert agentkit_telemetry.metric_points(semconv.AGENTKIT_HTTP_REQUESTS) == []
    assert agentkit_telemetry.metric_points(semconv.HTTP_SERVER_REQUEST_DURATION) == []
    assert events(agentkit_telemetry, "request_started") == []
    assert "/metrics" not in call(app, "GET", "/openapi.json").json()["paths"]


def test_metrics_endpoint_serves_prometheus_and_openmetrics() -> None:
    otel_agentkit.configure(
        "fastapi-test",
        traces_exporter="none",
        logs_exporter="none",
        prometheus_server=False,
        prometheus_registry=CollectorRegistry(),
    )
    app = make_app()
    call(app, "GET", "/items/1")
    call(app, "GET", "/items/2")
    response = call(app, "GET", "/metrics")
    assert response.status_code == 200
    route = {"http_route": "/items/{item_id}", "http_request_method": "GET"}
    assert prom_value(response.text, "agentkit_http_requests_total", **route) == 2
    assert prom_value(response.text, "http_server_request_duration_seconds_count", **route) == 2
    assert 'http_route="/metrics"' not in response.text
    open_metrics = call(app, "GET", "/metrics", headers={"Accept": "application/openmetrics-text"})
    assert open_metrics.headers["content-type"].startswith("application/openmetrics-text")
    assert open_metrics.text.rstrip().endswith("# EOF")


class _Report:
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.http_status = status
        self._body = body

    def to_dict(self) -> dict[str, Any]:
        return self._body


class _Health:
    """Stand-in for otel_agentkit.health.HealthRegistry (same duck-typed names)."""

    def __init__(self) -> None:
        self.runs = 0

    async def run(self) -> _Report:
        self.runs += 1
        await asyncio.sleep(0)
        return _Report(503, {"status": "error", "checks": {"qdrant": {"status": "error"}}})

    def live(self) -> _Report:
        return _Report(200, {"status": "ok"})


def test_health_awaits_the_registry(agentkit_telemetry: TelemetryCapture) -> None:
    health = _Health()
    app = make_app(health=health)
    response = call(app, "GET", "/health")
    assert response.status_code == 503
    assert response.json()["checks"] == {"qdrant": {"status": "error"}}
    assert health.runs == 1
    assert call(app, "GET", "/health/live").status_code == 200
    assert health.runs == 1  # liveness never runs the dependency checks


def test_paths_are_configurable_and_can_be_switched_off(
    agentkit_telemetry: TelemetryCapture,
) -> None:
    app = make_app(metrics_path="/internal/metrics", health_path=None)
    assert call(app, "GET", "/health").status_code == 404
    assert call(app, "GET", "/health/live").status_code == 404
    assert call(app, "GET", "/internal/metrics").status_code == 503
    assert call(app, "GET", "/metrics").status_code == 404
    spans = [s for s in agentkit_telemetry.spans() if s.kind is SpanKind.SERVER]
    assert len(spans) == 3  # the three 404s; /internal/metrics is excluded


def test_starlette_app_with_mount(agentkit_telemetry: TelemetryCapture) -> None:
    async def user(request: Any) -> JSONResponse:
        return JSONResponse({"id": request.path_params["uid"], "rid": get_request_id()})

    app = Starlette(routes=[Mount("/api", routes=[Route("/users/{uid}", user)])])
    instrument_app(app)
    response = call(app, "GET", "/api/users/5", headers={"X-Request-ID": "s-1"})
    assert response.json() == {"id": "5", "rid": "s-1"}
    assert response.headers["X-Request-ID"] == "s-1"
    (point,) = agentkit_telemetry.metric_points(semconv.AGENTKIT_HTTP_REQUESTS)
    assert point.attributes[semconv.HTTP_ROUTE] == "/api/users/{uid}"
    missing = call(app, "GET", "/nowhere")
    assert missing.status_code == 404
    assert missing.json() == {"error": "Not Found", "request_id": missing.headers["X-Request-ID"]}
    assert call(app, "GET", "/health").json() == {"status": "ok"}
    (server,) = [s for s in agentkit_telemetry.spans() if s.kind is SpanKind.SERVER][:1]
    assert server.attributes[semconv.AGENTKIT_REQUEST_ID] == "s-1"


def test_instrument_after_start_is_refused(agentkit_telemetry: TelemetryCapture) -> None:
    app = FastAPI()
    call(app, "GET", "/docs")  # builds the middleware stack
    with pytest.raises(RuntimeError, match="before the app starts"):
        instrument_app(app)


def test_instrumenting_twice_is_a_no_op(agentkit_telemetry: TelemetryCapture) -> None:
    app = make_app()
    instrument_app(app)
    call(app, "GET", "/items/1")
    assert len([s for s in agentkit_telemetry.spans() if s.kind is SpanKind.SERVER]) == 1
    (point,) = agentkit_telemetry.metric_points(semconv.AGENTKIT_HTTP_REQUESTS)
    assert point.value == 1


def test_a_raising_health_object_answers_503(agentkit_telemetry: TelemetryCapture) -> None:
    class Broken:
        async def run(self) -> Any:
            raise ConnectionError("redis://:secret@db down")

    response = call(make_app(health=Broken()), "GET", "/health")
    assert response.status_code == 503
    assert response.json() == {"status": "down", "error": "health check failed"}
