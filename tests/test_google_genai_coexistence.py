"""Next to the official instrumentation (opentelemetry-instrumentation-google-genai).

It wraps the SDK's public ``generate_content`` / ``generate_content_stream``
(sync and async), around the per-request methods ours wraps, and keeps its
span current while the request runs (streams included): ours steps aside
inside it, so each request has one span, whichever instrumentations are on.
The installed release declares google-genai < 3, so it is instrumented with
``skip_dep_check=True`` (it works on the 3.x this suite runs; the control
test shows its span is there).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.instrumentation.google_genai import GoogleGenAiSdkInstrumentor

from otel_agentkit.instrumentation.google_genai import GoogleGenAIInstrumentor
from otel_agentkit.testing import TelemetryCapture
from tests.google_genai_helpers import fixture_cassette

#: The official instrumentation records through the shared GenAI handler (util-genai).
THEIRS = "opentelemetry.util.genai.handler"


@pytest.fixture
def theirs(agentkit_telemetry: TelemetryCapture) -> Iterator[Any]:
    instrumentor = GoogleGenAiSdkInstrumentor()
    instrumentor.instrument(skip_dep_check=True)
    yield instrumentor
    instrumentor.uninstrument()


def call(name: str, mode: str) -> None:
    cassette = fixture_cassette(name)
    request = {"model": "gemini-2.5-flash", "contents": "Hi"}
    if mode == "sync":
        models = cassette.client().models
        if name == "stream.yaml":
            list(models.generate_content_stream(**request))
        else:
            models.generate_content(**request)
        return

    async def go() -> None:
        models = cassette.async_client().aio.models
        if name == "stream.yaml":
            _ = [c async for c in await models.generate_content_stream(**request)]
        else:
            await models.generate_content(**request)

    asyncio.run(go())


def scopes(tel: TelemetryCapture) -> list[str]:
    return [s.instrumentation_scope.name for s in tel.spans()]  # type: ignore[union-attr]


def test_theirs_alone_makes_its_span(agentkit_telemetry: TelemetryCapture, theirs: Any) -> None:
    """The control: without ours, the official span is there (so the next tests can see it)."""
    call("function_call.yaml", "sync")
    assert scopes(agentkit_telemetry) == [THEIRS]


@pytest.mark.parametrize("name", ["function_call.yaml", "stream.yaml"])
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_both_active_give_one_span_per_request(
    agentkit_telemetry: TelemetryCapture, theirs: Any, name: str, mode: str
) -> None:
    ours = GoogleGenAIInstrumentor()
    ours.instrument()
    try:
        call(name, mode)
    finally:
        ours.uninstrument()
    assert scopes(agentkit_telemetry) == [THEIRS]
