"""Next to OpenLLMetry's ollama instrumentation (opentelemetry-instrumentation-ollama).

It wraps ``Client._request``, which runs inside our ``chat``/``generate``
wrappers, and steps aside when the context carries OpenLLMetry's
"suppress language model instrumentation" key: ours sets that key while a
call runs, so with both active each call still gives one span, ours.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.instrumentation.ollama import OllamaInstrumentor as OpenLLMetryOllama

from otel_agentkit import semconv
from otel_agentkit.instrumentation.ollama import OllamaInstrumentor
from otel_agentkit.testing import TelemetryCapture
from tests.ollama_helpers import fixture_cassette


@pytest.fixture
def theirs(agentkit_telemetry: TelemetryCapture) -> Iterator[Any]:
    instrumentor = OpenLLMetryOllama()
    instrumentor.instrument()
    yield instrumentor
    instrumentor.uninstrument()


def scopes(tel: TelemetryCapture) -> list[str]:
    return [s.instrumentation_scope.name for s in tel.spans()]  # type: ignore[union-attr]


def test_theirs_alone_makes_its_span(agentkit_telemetry: TelemetryCapture, theirs: Any) -> None:
    """The control: without ours, OpenLLMetry's span is there (so the next tests can see it)."""
    cassette = fixture_cassette("chat_basic.yaml")
    cassette.client().chat(**cassette.call_kwargs())
    assert scopes(agentkit_telemetry) == ["opentelemetry.instrumentation.ollama"]


@pytest.mark.parametrize("name", ["chat_basic.yaml", "generate_stream.yaml"])
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_both_active_give_one_span_ours(
    agentkit_telemetry: TelemetryCapture, theirs: Any, name: str, mode: str
) -> None:
    ours = OllamaInstrumentor()
    ours.instrument()
    try:
        cassette = fixture_cassette(name)
        method, kwargs = cassette.method(), cassette.call_kwargs()
        if mode == "sync":
            result = getattr(cassette.client(), method)(**kwargs)
            if kwargs.get("stream"):
                list(result)
        else:

            async def go() -> None:
                result = await getattr(cassette.async_client(), method)(**kwargs)
                if kwargs.get("stream"):
                    _ = [c async for c in result]

            asyncio.run(go())
    finally:
        ours.uninstrument()
    assert scopes(agentkit_telemetry) == [semconv.SCOPE_NAME]
    (span,) = agentkit_telemetry.spans()
    assert span.attributes[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] == cassette.final()["eval_count"]
