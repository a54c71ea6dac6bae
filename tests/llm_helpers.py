"""What the LLM instrumentor tests (OpenAI, Anthropic, Ollama) share.

* :func:`instrument_fixture` / :func:`tel_fixture`: the ``instrument`` and
  ``tel`` fixtures of a test module, for one instrumentor class::

      instrument = instrument_fixture(OpenAIInstrumentor)
      tel = tel_fixture()

* :data:`CAPTURE_MODES`: the content-capture modes, parametrized.
* :func:`run`, :func:`call_api`: one call with a sync or an async client.
* :func:`only_span`, :func:`ended_once`: the one span a call (or stream) made.
* :func:`captured_content`: its captured content, wherever the mode put it.
* :func:`launch`, :func:`our_spans`, :func:`spans_of_scope`: a script under the real
  ``opentelemetry-instrument`` launcher, its spans sent over OTLP/HTTP to the
  test's receiver.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from otel_agentkit import semconv
from otel_agentkit.testing import TelemetryCapture
from tests.otlp_receiver import OTLPReceiver, attrs

#: The repository root (launched scripts put it on sys.path to import tests.*).
ROOT = str(Path(__file__).resolve().parents[1])


#: Content attributes (and event attributes) of an LLM call.
CONTENT_KEYS = (
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.system_instructions",
    "gen_ai.tool.definitions",
)

#: The capture modes (env var value) and where each puts content: span, event.
CAPTURE_MODES = pytest.mark.parametrize(
    ("mode", "on_span", "on_event"),
    [
        ("NO_CONTENT", False, False),
        ("SPAN_ONLY", True, False),
        ("true", True, False),
        ("EVENT_ONLY", False, True),
        ("SPAN_AND_EVENT", True, True),
    ],
)


def instrument_fixture(instrumentor_class: Callable[[], Any]) -> Any:
    """An ``instrument`` fixture: a function that instruments (with kwargs), undone after."""

    @pytest.fixture(name="instrument")
    def instrument(agentkit_telemetry: TelemetryCapture) -> Iterator[Callable[..., Any]]:
        instrumentor = instrumentor_class()

        def _instrument(**kwargs: Any) -> Any:
            instrumentor.instrument(**kwargs)
            return instrumentor

        yield _instrument
        instrumentor.uninstrument()

    return instrument


def tel_fixture() -> Any:
    """A ``tel`` fixture: the module's ``instrument`` fixture applied, the telemetry capture."""

    @pytest.fixture(name="tel")
    def tel(agentkit_telemetry: TelemetryCapture, instrument: Any) -> TelemetryCapture:
        instrument()
        return agentkit_telemetry

    return tel


def run(coro: Any) -> Any:
    """Run one coroutine to its end (an async client's call)."""
    return asyncio.run(coro)


def call_api(cassette: Any, mode: str, fn: Any) -> Any:
    """``fn(client)`` with a sync client, or awaited with an async one."""
    if mode == "sync":
        return fn(cassette.client())

    async def go() -> Any:
        return await fn(cassette.async_client())

    return run(go())


def captured_content(tel: TelemetryCapture, on_span: bool, on_event: bool) -> dict[str, Any]:
    """The one call's captured content, decoded, after checking where it went.

    Content is on the span when ``on_span``, in one inference-details event
    when ``on_event``, nowhere otherwise (then ``{}``).
    """
    attrs = only_span(tel).attributes
    events = [r for r in tel.logs() if r.log_record.event_name]
    assert ("gen_ai.input.messages" in attrs) is on_span
    assert len(events) == (1 if on_event else 0)
    if not (on_span or on_event):
        return {}
    source = attrs if on_span else events[0].log_record.attributes
    return {key: json.loads(source[key]) for key in CONTENT_KEYS if key in source}


def only_span(tel: TelemetryCapture) -> Any:
    """The one span of the test (fails, naming each span and its scope, if there are more)."""
    spans = tel.spans()
    assert len(spans) == 1, [(s.name, s.instrumentation_scope.name) for s in spans]
    return spans[0]


def ended_once(tel: TelemetryCapture) -> Any:
    """The one span; fails if the stream's telemetry ended zero or several times."""
    spans = tel.spans()
    assert len(spans) == 1, f"{len(spans)} spans"
    (duration,) = tel.metric_points(semconv.GEN_AI_CLIENT_OPERATION_DURATION)
    assert duration.count == 1
    return spans[0]


def launch(
    tmp_path: Path,
    receiver: OTLPReceiver,
    script: str,
    *,
    drop_env: tuple[str, ...] = (),
    service_name: str = "launcher-test",
    **extra_env: str,
) -> subprocess.CompletedProcess[str]:
    """Run ``script`` under ``opentelemetry-instrument`` with agentkit's configurator.

    Traces go to ``receiver`` over OTLP/HTTP; metrics and logs are off. The
    environment is ours minus every ``OTEL_*`` / ``AGENTKIT_*`` variable and
    those starting with a ``drop_env`` prefix, plus ``extra_env``. Fails the
    test when the script does not exit 0; returns the finished process.
    """
    path = tmp_path / "app.py"
    path.write_text(script)
    launcher = Path(sys.executable).with_name("opentelemetry-instrument")
    prefixes = ("OTEL_", "AGENTKIT_", *drop_env)
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(
        OTEL_PYTHON_CONFIGURATOR="agentkit",
        OTEL_SERVICE_NAME=service_name,
        OTEL_TRACES_EXPORTER="otlp",
        OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=receiver.http_endpoint + "/v1/traces",
        OTEL_METRICS_EXPORTER="none",
        OTEL_LOGS_EXPORTER="none",
        **extra_env,
    )
    done = subprocess.run(
        [str(launcher), sys.executable, str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done


def spans_of_scope(receiver: OTLPReceiver) -> dict[str, list[Any]]:
    """Instrumentation scope name -> the spans the receiver got from it."""
    found: dict[str, list[Any]] = {}
    for r in receiver.of("traces"):
        for rs in r.request.resource_spans:
            for ss in rs.scope_spans:
                found.setdefault(ss.scope.name, []).extend(ss.spans)
    return found


def our_spans(receiver: OTLPReceiver) -> list[tuple[dict[str, Any], Any]]:
    """(resource attributes, span) of spans from otel-agentkit's instrumentation scope."""
    return [
        (attrs(rs.resource.attributes), span)
        for r in receiver.of("traces")
        for rs in r.request.resource_spans
        for ss in rs.scope_spans
        if ss.scope.name == "otel_agentkit"
        for span in ss.spans
    ]
