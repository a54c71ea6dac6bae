"""Opt-in capture of tool arguments and results on spans."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from otel_agentkit import _content, semconv
from otel_agentkit.decorators import tool_span, traced_tool
from otel_agentkit.testing import TelemetryCapture

ARGS = semconv.GEN_AI_TOOL_CALL_ARGUMENTS
RESULT = semconv.GEN_AI_TOOL_CALL_RESULT


@pytest.fixture(autouse=True)
def _reset_content_settings() -> Iterator[None]:
    yield
    _content.set_capture_mode(None)
    _content.set_redaction()
    _content.set_max_length(None)


@traced_tool
def search(query: str, limit: int = 3, **options: Any) -> list[str]:
    return [query] * limit


@traced_tool(capture_content=True)
def always(query: str) -> dict[str, str]:
    return {"answer": query}


@traced_tool(capture_content=False)
def never(query: str) -> str:
    return query


def attrs(capture: TelemetryCapture, name: str) -> dict[str, Any]:
    return dict(capture.span(name).attributes or {})


def test_off_by_default(agentkit_telemetry: TelemetryCapture) -> None:
    search("secret plans")
    found = attrs(agentkit_telemetry, "execute_tool search")
    assert ARGS not in found
    assert RESULT not in found


@pytest.mark.parametrize("mode", ["SPAN_ONLY", "SPAN_AND_EVENT", "true"])
def test_env_turns_span_capture_on(
    agentkit_telemetry: TelemetryCapture, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    monkeypatch.setenv(semconv.ENV_CAPTURE_MESSAGE_CONTENT, mode)
    search("weather", 2, units="metric")
    found = attrs(agentkit_telemetry, "execute_tool search")
    assert json.loads(found[ARGS]) == {
        "query": "weather",
        "limit": 2,
        "options": {"units": "metric"},
    }
    assert json.loads(found[RESULT]) == ["weather", "weather"]


@pytest.mark.parametrize("mode", ["NO_CONTENT", "EVENT_ONLY", "false"])
def test_env_modes_without_span_capture(
    agentkit_telemetry: TelemetryCapture, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    monkeypatch.setenv(semconv.ENV_CAPTURE_MESSAGE_CONTENT, mode)
    search("weather")
    assert ARGS not in attrs(agentkit_telemetry, "execute_tool search")


def test_per_decorator_setting_wins(
    agentkit_telemetry: TelemetryCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    always("q")
    monkeypatch.setenv(semconv.ENV_CAPTURE_MESSAGE_CONTENT, "SPAN_ONLY")
    never("q")
    assert json.loads(attrs(agentkit_telemetry, "execute_tool always")[ARGS]) == {"query": "q"}
    assert json.loads(attrs(agentkit_telemetry, "execute_tool always")[RESULT]) == {"answer": "q"}
    assert ARGS not in attrs(agentkit_telemetry, "execute_tool never")
    assert RESULT not in attrs(agentkit_telemetry, "execute_tool never")


def test_method_arguments_skip_self(agentkit_telemetry: TelemetryCapture) -> None:
    class Tools:
        @traced_tool(capture_content=True)
        def lookup(self, key: str) -> str:
            return key.upper()

    Tools().lookup("k")
    found = attrs(agentkit_telemetry, "execute_tool lookup")
    assert json.loads(found[ARGS]) == {"key": "k"}
    assert json.loads(found[RESULT]) == "K"


def test_truncation(agentkit_telemetry: TelemetryCapture) -> None:
    _content.set_max_length(50)
    always("x" * 500)
    found = attrs(agentkit_telemetry, "execute_tool always")
    assert len(found[ARGS]) == 50
    assert found[ARGS].endswith(_content.TRUNCATION_MARKER)
    assert len(found[RESULT]) == 50


def test_redaction_runs_before_recording(agentkit_telemetry: TelemetryCapture) -> None:
    _content.set_redaction(
        [r"\b\d{4}-\d{4}-\d{4}-\d{4}\b"], hook=lambda t: t.replace("Bob", "<name>")
    )

    @traced_tool(capture_content=True)
    def pay(card: str, owner: str, api_key: str) -> str:
        return f"charged {card} for {owner}"

    pay("1234-5678-9012-3456", "Bob", api_key="sk-live-should-never-appear")
    found = attrs(agentkit_telemetry, "execute_tool pay")
    recorded = found[ARGS] + found[RESULT]
    for secret in ("1234-5678-9012-3456", "Bob", "sk-live-should-never-appear"):
        assert secret not in recorded
    assert json.loads(found[ARGS]) == {
        "card": "[REDACTED]",
        "owner": "<name>",
        "api_key": "[REDACTED]",
    }


def test_unserialisable_values_are_represented(agentkit_telemetry: TelemetryCapture) -> None:
    class Opaque:
        def __repr__(self) -> str:
            return "Opaque(1)"

    class Hostile:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    @traced_tool(capture_content=True)
    def odd(a: Any, b: Any) -> Any:
        return {1, 2} if a else b

    assert odd(Opaque(), Hostile()) == {1, 2}
    found = attrs(agentkit_telemetry, "execute_tool odd")
    args = json.loads(found[ARGS])
    assert args["a"] == "Opaque(1)"
    assert args["b"].startswith("<unrepresentable")
    assert sorted(json.loads(found[RESULT])) == [1, 2]


def test_arguments_that_do_not_bind_are_still_recorded(
    agentkit_telemetry: TelemetryCapture,
) -> None:
    @traced_tool(capture_content=True)
    def strict(a: int) -> int:
        return a

    with pytest.raises(TypeError):
        strict(1, 2)  # type: ignore[call-arg]
    found = attrs(agentkit_telemetry, "execute_tool strict")
    assert json.loads(found[ARGS]) == {"args": [1, 2], "kwargs": {}}


def test_generator_tools_capture_arguments_only(agentkit_telemetry: TelemetryCapture) -> None:
    @traced_tool(capture_content=True)
    def chunks(n: int) -> Iterator[int]:
        yield from range(n)

    assert list(chunks(2)) == [0, 1]
    found = attrs(agentkit_telemetry, "execute_tool chunks")
    assert json.loads(found[ARGS]) == {"n": 2}
    assert RESULT not in found


def test_tool_span_capture(
    agentkit_telemetry: TelemetryCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    with tool_span("calc", arguments={"expr": "1+1"}) as op:
        op.set_result(2)
    monkeypatch.setenv(semconv.ENV_CAPTURE_MESSAGE_CONTENT, "SPAN_ONLY")
    with tool_span("calc2", arguments={"expr": "2+2"}) as op:
        op.set_result(4)
    off = attrs(agentkit_telemetry, "execute_tool calc")
    on = attrs(agentkit_telemetry, "execute_tool calc2")
    assert ARGS not in off
    assert RESULT not in off
    assert json.loads(on[ARGS]) == {"expr": "2+2"}
    assert json.loads(on[RESULT]) == 4
