"""otel_agentkit.web.flask through Flask's own test client.

The ``agentkit_telemetry`` fixture installs the global providers before
``instrument_app`` runs: the official instrumentor binds its tracer then.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import flask
import pytest
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client import CollectorRegistry

import otel_agentkit
from otel_agentkit import semconv
from otel_agentkit.context import get_request_id
from otel_agentkit.testing import TelemetryCapture
from otel_agentkit.web.flask import instrument_app
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


def _mode_hook(request: flask.Request) -> dict[str, Any]:
    body = request.get_json(silent=True) or {}
    mode = body.get("mode")
    return {"agent.mode": mode if mode in MODES else "other", "agent.note": "from-hook"}


def make_app(**options: Any) -> flask.Flask:
    app = flask.Flask("webtest")
    log = logging.getLogger(APP_LOGGER)

    @app.post("/chat")
    def chat() -> Any:
        log.info("answering")
        body = flask.request.get_json()
        return {"answer": body["q"].upper(), "request_id": get_request_id()}

    @app.get("/items/<int:item_id>")
    def item(item_id: int) -> Any:
        return {"id": item_id}

    @app.get("/bad")
    def bad() -> Any:
        flask.abort(400, "mode must be one of fast, deep")

    @app.get("/boom")
    def boom() -> Any:
        log.info("about to fail")
        raise RuntimeError("db password=hunter2 leaked in message")

    instrument_app(app, **options)
    return app


def server_span(capture: TelemetryCapture, name: str) -> Any:
    spans = [s for s in capture.spans_named(name) if s.kind is SpanKind.SERVER]
    assert len(spans) == 1, [s.name for s in capture.spans()]
    return spans[0]


# -- request ids ----------------------------------------------------------------


def test_valid_incoming_id_is_echoed_set_on_span_and_in_context(
    agentkit_telemetry: TelemetryCapture,
) -> None:
    client = make_app().test_client()
    response = client.post("/chat", json={"q": "hi"}, headers={"X-Request-ID": "req-42.a:b_c"})
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "req-42.a:b_c"
    assert response.get_json()["request_id"] == "req-42.a:b_c"
    span = server_span(agentkit_telemetry, "POST /chat")
    assert span.attributes[semconv.AGENTKIT_REQUEST_ID] == "req-42.a:b_c"
    assert get_request_id() is None  # reset after the request


def test_missing_id_is_generated_as_uuid4(agentkit_telemetry: TelemetryCapture) -> None:
    client = make_app().test_client()
    first = client.get("/items/1")
    second = client.get("/items/2")
    generated = first.headers["X-Request-ID"]
    assert is_uuid4(generated)
    assert is_uuid4(second.headers["X-Request-ID"])
    assert generated != second.headers["X-Request-ID"]
    spans = agentkit_telemetry.spans_named("GET /items/<int:item_id>")
    assert [s.attributes[semconv.AGENTKIT_REQUEST_ID] for s in spans] == [
        generated,
        second.headers["X-Request-ID"],
    ]


@pytest.mark.parametrize("kind", sorted(INVALID_IDS))
def test_invalid_ids_are_replaced(
    kind: str, agentkit_telemetry: TelemetryCapture, caplog: pytest.LogCaptureFixture
) -> None:
    value = INVALID_IDS[kind]
    client = make_app().test_client()
    # environ_overrides: Werkzeug's client refuses to *send* a newline, a server may receive one.
    with caplog.at_level(logging.WARNING, logger="otel_agentkit.http"):
        response = client.get("/items/7", environ_overrides={"HTTP_X_REQUEST_ID": value})
    replacement = response.headers["X-Request-ID"]
    assert is_uuid4(replacement)
    assert replacement != value
    span = server_span(agentkit_telemetry, "GET /items/<int:item_id>")
    assert span.attributes[semconv.AGENTKIT_REQUEST_ID] == replacement
    (warning,) = [r for r in caplog.records if "rejected incoming request id" in r.getMessage()]
    message = warning.getMessage()
    assert "\n" not in message
    if value:
        assert value not in message or (value.isascii() and value.isprintable())


def test_custom_request_id_header(agentkit_telemetry: TelemetryCapture) -> None:
    client = make_app(request_id_header="X-Correlation-ID").test_client()
    response = client.get("/items/1", headers={"X-Correlation-ID": "corr-1"})
    assert response.headers["X-Correlation-ID"] == "corr-1"
    assert "X-Request-ID" not in response.headers


def test_every_log_record_during_the_request_has_the_id(
    agentkit_telemetry: TelemetryCapture,
) -> None:
    client = make_app().test_client()
    with record_request_ids(APP_LOGGER, "otel_agentkit.http") as recorder:
        client.post("/chat", json={"q": "x"}, headers={"X-Request-ID": "log-1"})
        client.get("/boom", headers={"X-Request-ID": "log-2"})
    by_message = {(name, message): rid for name, message, rid in recorder.seen}
    assert by_message[(APP_LOGGER, "answering")] == "log-1"
    assert by_message[(APP_LOGGER, "about to fail")] == "log-2"
    assert by_message[("otel_agentkit.http", "request_started")] in ("log-1", "log-2")
    assert {rid for _, _, rid in recorder.seen} == {"log-1", "log-2"}
    # The OTLP log records of the view carry the server span's trace context.
    (answering,) = [r for r in agentkit_telemetry.logs() if r.log_record.body == "answering"]
    span = server_span(agentkit_telemetry, "POST /chat")
    assert answering.log_record.span_id == span.context.span_id


def test_request_events_carry_method_route_status_latency_and_id(
    agentkit_telemetry: TelemetryCapture,
) -> None:
    client = make_app().test_client()
    client.get("/items/9", headers={"X-Request-ID": "ev-1"})
    (started,) = events(agentkit_telemetry, "request_started")
    (completed,) = events(agentkit_telemetry, "request_completed")
    assert started["method"] == "GET"
    assert started["route"] == "/items/<int:item_id>"  # the template, not /items/9
    assert started["request_id"] == "ev-1"
    assert completed["status"] == 200
    assert completed["route"] == "/items/<int:item_id>"
    assert completed["request_id"] == "ev-1"
    assert 0 <= completed["latency_ms"] < 5000


# -- error bodies -----------------------------------------------------------------


def test_400_body_has_error_and_request_id(agentkit_telemetry: TelemetryCapture) -> None:
    response = make_app().test_client().get("/bad", headers={"X-Request-ID": "e-400"})
    assert response.status_code == 400
    assert response.get_json() == {
        "error": "mode must be one of fast, deep",
        "request_id": "e-400",
    }
    assert response.headers["X-Request-ID"] == "e-400"


def test_404_body_has_error_and_request_id(agentkit_telemetry: TelemetryCapture) -> None:
    response = make_app().test_client().get("/nowhere", headers={"X-Request-ID": "e-404"})
    assert response.status_code == 404
    assert response.get_json() == {"error": "Not Found", "request_id": "e-404"}


def test_405_keeps_the_allow_header(agentkit_telemetry: TelemetryCapture) -> None:
    response = make_app().test_client().delete("/chat")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]
    assert response.get_json()["error"] == "Method Not Allowed"


def test_bad_json_is_a_400_json_body(agentkit_telemetry: TelemetryCapture) -> None:
    response = (
        make_app()
        .test_client()
        .post("/chat", data="{not json", headers={"Content-Type": "application/json"})
    )
    assert response.status_code == 400
    body = response.get_json()
    assert set(body) == {"error", "request_id"}
    assert is_uuid4(body["request_id"])


def test_500_body_hides_internals_and_exception_is_logged_and_on_span(
    agentkit_telemetry: TelemetryCapture, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="otel_agentkit.http"):
        response = make_app().test_client().get("/boom", headers={"X-Request-ID": "e-500"})
    assert response.status_code == 500
    assert response.get_json() == {"error": "internal server error", "request_id": "e-500"}
    text = response.get_data(as_text=True)
    assert "hunter2" not in text
    assert "Traceback" not in text
    assert "RuntimeError" not in text
    (logged,) = [r for r in caplog.records if r.exc_info]
    assert logged.exc_info is not None
    assert logged.exc_info[0] is RuntimeError
    span = server_span(agentkit_telemetry, "GET /boom")
    assert span.status.status_code is StatusCode.ERROR
    assert [e.name for e in span.events] == ["exception"]
    assert span.attributes[semconv.AGENTKIT_REQUEST_ID] == "e-500"


def test_app_error_handlers_are_kept(agentkit_telemetry: TelemetryCapture) -> None:
    app = flask.Flask("own")

    @app.errorhandler(Exception)
    def own(exc: Exception) -> Any:
        return {"mine": True}, 500

    @app.get("/boom")
    def boom() -> Any:
        raise RuntimeError("x")

    instrument_app(app)
    response = app.test_client().get("/boom", headers={"X-Request-ID": "own-1"})
    assert response.get_json() == {"mine": True}
    assert response.headers["X-Request-ID"] == "own-1"


def test_testing_mode_still_propagates_exceptions(agentkit_telemetry: TelemetryCapture) -> None:
    app = make_app()
    app.testing = True
    with pytest.raises(RuntimeError, match="hunter2"):
        app.test_client().get("/boom")
    (completed,) = events(agentkit_telemetry, "request_completed")
    assert completed["status"] == 500


def test_error_handlers_can_be_switched_off(agentkit_telemetry: TelemetryCapture) -> None:
    response = make_app(error_handlers=False).test_client().get("/nowhere")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert is_uuid4(response.headers["X-Request-ID"])


# -- metrics ------------------------------------------------------------------------


def test_request_and_error_counters(agentkit_telemetry: TelemetryCapture) -> None:
    client = make_app().test_client()
    for _ in range(3):
        client.get("/items/1")
    client.get("/bad")
    client.get("/boom")
    requests = {
        (p.attributes.get(semconv.HTTP_ROUTE), p.attributes[semconv.AGENTKIT_HTTP_STATUS_CLASS]): (
            p.value
        )
        for p in agentkit_telemetry.metric_points(semconv.AGENTKIT_HTTP_REQUESTS)
    }
    assert requests == {("/items/<int:item_id>", "2xx"): 3, ("/bad", "4xx"): 1, ("/boom", "5xx"): 1}
    errors = {
        (
            p.attributes[semconv.HTTP_ROUTE],
            p.attributes[semconv.AGENTKIT_HTTP_STATUS_CLASS],
        ): p.value
        for p in agentkit_telemetry.metric_points(semconv.AGENTKIT_HTTP_ERRORS)
    }
    assert errors == {("/bad", "4xx"): 1, ("/boom", "5xx"): 1}
    for point in agentkit_telemetry.metric_points(semconv.AGENTKIT_HTTP_REQUESTS):
        assert set(point.attributes) <= semconv.METRIC_ATTRIBUTE_ALLOWLIST
    # The official instrumentation's stable-convention histogram is there too.
    (duration,) = agentkit_telemetry.metric_points(
        semconv.HTTP_SERVER_REQUEST_DURATION, {semconv.HTTP_ROUTE: "/items/<int:item_id>"}
    )
    assert duration.count == 3
    assert tuple(duration.explicit_bounds) == semconv.HTTP_DURATION_BUCKETS


def test_hook_fields_on_event_span_and_declared_metric_keys_only(
    agentkit_telemetry: TelemetryCapture,
) -> None:
    client = make_app(hook=_mode_hook, hook_metric_attributes=["agent.mode"]).test_client()
    response = client.post("/chat", json={"q": "hi", "mode": "deep"})
    assert response.status_code == 200  # the view still reads the body
    span = server_span(agentkit_telemetry, "POST /chat")
    assert span.attributes["agent.mode"] == "deep"
    assert span.attributes["agent.note"] == "from-hook"
    (completed,) = events(agentkit_telemetry, "request_completed")
    assert completed["agent.mode"] == "deep"
    assert completed["agent.note"] == "from-hook"
    (point,) = agentkit_telemetry.metric_points(semconv.AGENTKIT_HTTP_REQUESTS)
    assert point.attributes["agent.mode"] == "deep"
    assert "agent.note" not in point.attributes  # not declared: never a metric label


def test_a_failing_hook_does_not_break_the_request(agentkit_telemetry: TelemetryCapture) -> None:
    def broken(request: flask.Request) -> dict[str, Any]:
        raise ValueError("hook bug")

    response = make_app(hook=broken).test_client().post("/chat", json={"q": "ok"})
    assert response.status_code == 200
    assert response.get_json()["answer"] == "OK"


# -- /metrics and /health ---------------------------------------------------------------


def test_metrics_and_health_are_mounted_and_not_traced(
    agentkit_telemetry: TelemetryCapture,
) -> None:
    client = make_app().test_client()
    assert client.get("/health").get_json() == {"status": "ok"}
    assert client.get("/health/live").status_code == 200
    assert client.get("/metrics").status_code == 503  # no configure(): a clear 503
    assert agentkit_telemetry.spans() == []
    assert agentkit_telemetry.metric_points(semconv.AGENTKIT_HTTP_REQUESTS) == []
    assert agentkit_telemetry.metric_points(semconv.HTTP_SERVER_REQUEST_DURATION) == []
    assert events(agentkit_telemetry, "request_started") == []


def test_metrics_endpoint_before_configure_explains_itself() -> None:
    response = make_app().test_client().get("/metrics")
    assert response.status_code == 503
    assert "configure()" in response.get_data(as_text=True)


def test_metrics_endpoint_serves_prometheus_and_openmetrics() -> None:
    otel_agentkit.configure(
        "flask-test",
        traces_exporter="none",
        logs_exporter="none",
        prometheus_server=False,
        prometheus_registry=CollectorRegistry(),
    )
    client = make_app().test_client()
    client.get("/items/1")
    client.get("/items/2")
    response = client.get("/metrics")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    route = {"http_route": "/items/<int:item_id>", "http_request_method": "GET"}
    assert prom_value(text, "agentkit_http_requests_total", **route) == 2
    assert prom_value(text, "http_server_request_duration_seconds_count", **route) == 2
    assert "http_server_request_duration_seconds_bucket" in text
    assert "process_memory_usage_bytes" in text
    assert 'http_route="/metrics"' not in text
    open_metrics = client.get("/metrics", headers={"Accept": "application/openmetrics-text"})
    assert open_metrics.content_type.startswith("application/openmetrics-text")
    assert open_metrics.get_data(as_text=True).rstrip().endswith("# EOF")


class _Report:
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.http_status = status
        self._body = body

    def to_dict(self) -> dict[str, Any]:
        return self._body


class _Health:
    """Stand-in for otel_agentkit.health.HealthRegistry (same duck-typed names)."""

    def run_sync(self) -> _Report:
        return _Report(503, {"status": "error", "checks": {"ollama": {"status": "error"}}})

    def live(self) -> _Report:
        return _Report(200, {"status": "ok"})


def test_health_uses_the_registry_report(agentkit_telemetry: TelemetryCapture) -> None:
    client = make_app(health=_Health()).test_client()
    response = client.get("/health")
    assert response.status_code == 503
    assert response.get_json()["checks"] == {"ollama": {"status": "error"}}
    assert response.headers["Cache-Control"] == "no-store"
    assert client.get("/health/live").status_code == 200


def test_paths_are_configurable_and_can_be_switched_off(
    agentkit_telemetry: TelemetryCapture,
) -> None:
    client = make_app(
        metrics_path=None, health_path="/healthz", liveness_path="/livez"
    ).test_client()
    assert client.get("/metrics").status_code == 404
    assert client.get("/health").status_code == 404
    assert client.get("/healthz").status_code == 200
    assert client.get("/livez").status_code == 200
    # /metrics is no longer ours: it is an ordinary (traced, counted) 404.
    assert len(agentkit_telemetry.spans()) == 2


def test_instrumenting_twice_is_a_no_op(agentkit_telemetry: TelemetryCapture) -> None:
    app = make_app()
    instrument_app(app)
    app.test_client().get("/items/1")
    assert len(agentkit_telemetry.spans()) == 1
    (point,) = agentkit_telemetry.metric_points(semconv.AGENTKIT_HTTP_REQUESTS)
    assert point.value == 1


def test_explicit_telemetry_is_used_instead_of_the_globals(
    agentkit_telemetry: TelemetryCapture,
) -> None:
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    # Globals are taken (by the capture): configure() builds its providers without installing.
    telemetry = otel_agentkit.configure(
        "own-providers",
        traces_exporter="none",
        logs_exporter="none",
        prometheus_server=False,
        prometheus_registry=CollectorRegistry(),
        span_processors=[SimpleSpanProcessor(exporter)],
    )
    assert not telemetry.installed_globally
    client = make_app(telemetry=telemetry).test_client()
    client.get("/items/1", headers={"X-Request-ID": "own-1"})
    (span,) = exporter.get_finished_spans()
    assert span.attributes[semconv.AGENTKIT_REQUEST_ID] == "own-1"
    assert agentkit_telemetry.spans() == []
    assert agentkit_telemetry.metric_points(semconv.AGENTKIT_HTTP_REQUESTS) == []
    text = client.get("/metrics").get_data(as_text=True)
    assert prom_value(text, "agentkit_http_requests_total", http_route="/items/<int:item_id>") == 1


def test_a_raising_health_object_answers_503(
    agentkit_telemetry: TelemetryCapture, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        def run_sync(self) -> Any:
            raise ConnectionError("redis://:secret@db down")

    with caplog.at_level(logging.ERROR, logger="otel_agentkit.http"):
        response = make_app(health=Broken()).test_client().get("/health")
    assert response.status_code == 503
    assert response.get_json() == {"status": "down", "error": "health check failed"}
    assert "secret" not in response.get_data(as_text=True)
    assert any(r.exc_info for r in caplog.records)
