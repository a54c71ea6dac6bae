"""Request ids in the JSON log lines of otel_agentkit.logs, under Flask and FastAPI."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from otel_agentkit import logs
from otel_agentkit.testing import TelemetryCapture
from tests import test_web_fastapi, test_web_flask
from tests.web_helpers import APP_LOGGER


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter(service_name="web-test"))
    loggers = [logging.getLogger(APP_LOGGER), logging.getLogger("otel_agentkit.http")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.removeHandler(handler)
            lg.setLevel(level)


def _parsed(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line]


def _check(lines: list[dict[str, Any]], request_id: str, route: str) -> None:
    assert lines
    assert {line["request_id"] for line in lines} == {request_id}
    assert [line["message"] for line in lines if line["logger"] == APP_LOGGER] == ["answering"]
    (completed,) = [line for line in lines if line.get("event") == "request_completed"]
    assert completed["status"] == 200
    assert completed["route"] == route
    assert len({line["trace_id"] for line in lines}) == 1  # all inside the server span


def test_flask_json_lines_carry_the_request_id(
    agentkit_telemetry: TelemetryCapture, json_lines: io.StringIO
) -> None:
    client = test_web_flask.make_app().test_client()
    client.post("/chat", json={"q": "x"}, headers={"X-Request-ID": "json-1"})
    _check(_parsed(json_lines), "json-1", "/chat")


def test_fastapi_json_lines_carry_the_request_id(
    agentkit_telemetry: TelemetryCapture, json_lines: io.StringIO
) -> None:
    app = test_web_fastapi.make_app()
    test_web_fastapi.call(app, "POST", "/ask", json={"q": "x"}, headers={"X-Request-ID": "json-2"})
    _check(_parsed(json_lines), "json-2", "/ask")
