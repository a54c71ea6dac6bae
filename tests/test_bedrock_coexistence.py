"""Next to OpenLLMetry's bedrock instrumentation (opentelemetry-instrumentation-bedrock).

It wraps each ``bedrock-runtime`` client's four methods on the instance when
the client is made, around botocore's ``_make_api_call`` (which ours wraps),
and its stream spans are never made current. So ours steps aside on the
clients it wrapped: each request gets one span, whichever instrumentations
are active, and clients it never wrapped still get ours.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.instrumentation.bedrock import BedrockInstrumentor as OpenLLMetryBedrock

from otel_agentkit.instrumentation.bedrock import BedrockInstrumentor
from otel_agentkit.testing import TelemetryCapture
from tests.bedrock_helpers import fixture_cassette

THEIRS = "opentelemetry.instrumentation.bedrock"
OURS = "otel_agentkit"
STREAM_KEYS = {"converse_stream": "stream", "invoke_model_with_response_stream": "body"}
FIXTURES = [
    "converse_tool_use.yaml",
    "converse_stream.yaml",
    "invoke_stream.yaml",
    "invoke_embed.yaml",
]


@pytest.fixture
def theirs(agentkit_telemetry: TelemetryCapture) -> Iterator[Any]:
    instrumentor = OpenLLMetryBedrock()
    instrumentor.instrument()
    yield instrumentor
    instrumentor.uninstrument()


@pytest.fixture
def ours(agentkit_telemetry: TelemetryCapture) -> Iterator[Any]:
    instrumentor = BedrockInstrumentor()
    instrumentor.instrument()
    yield instrumentor
    instrumentor.uninstrument()


def call(name: str, client: Any = None) -> None:
    cassette = fixture_cassette(name)
    result = cassette.call(client)
    key = STREAM_KEYS.get(cassette.method())
    if key is not None:
        list(result[key])
    elif cassette.method() == "invoke_model":
        result["body"].read()


def scopes(tel: TelemetryCapture) -> list[str]:
    return [s.instrumentation_scope.name for s in tel.spans()]  # type: ignore[union-attr]


def test_theirs_alone_makes_its_span(agentkit_telemetry: TelemetryCapture, theirs: Any) -> None:
    """The control: without ours, OpenLLMetry's span is there (so the next tests can see it)."""
    call("converse_tool_use.yaml")
    assert scopes(agentkit_telemetry) == [THEIRS]


@pytest.mark.parametrize("name", FIXTURES)
def test_both_active_give_one_span_per_request(
    agentkit_telemetry: TelemetryCapture, theirs: Any, ours: Any, name: str
) -> None:
    call(name)
    assert scopes(agentkit_telemetry) == [THEIRS]


def test_a_client_they_never_wrapped_gets_ours(
    agentkit_telemetry: TelemetryCapture, ours: Any
) -> None:
    client = fixture_cassette("converse_stream.yaml").client()  # made before theirs
    instrumentor = OpenLLMetryBedrock()
    instrumentor.instrument()
    try:
        call("converse_stream.yaml", client)
    finally:
        instrumentor.uninstrument()
    assert scopes(agentkit_telemetry) == [OURS]
