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
from opentelemetry.instrumentation.botocore import BotocoreInstrumentor

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


@pytest.mark.parametrize("name", ["converse_tool_use.yaml", "invoke_stream.yaml"])
def test_keep_duplicate_spans_gives_both(
    agentkit_telemetry: TelemetryCapture, theirs: Any, name: str
) -> None:
    """Asked to keep duplicates, ours traces a client OpenLLMetry wrapped too."""
    instrumentor = BedrockInstrumentor()
    instrumentor.instrument(keep_duplicate_spans=True)
    try:
        call(name)
    finally:
        instrumentor.uninstrument()
    assert sorted(scopes(agentkit_telemetry)) == sorted([THEIRS, OURS])


# -- the official botocore instrumentation ---------------------------------------------
# opentelemetry-instrumentation-botocore wraps the same BaseClient._make_api_call with
# wrapt, and its bedrock-runtime extension makes a GenAI CLIENT span ("chat {model}")
# with token metrics. Whichever of the two is installed first ends up inside the other.

OFFICIAL = "opentelemetry.instrumentation.botocore"


def llm_scopes(tel: TelemetryCapture) -> list[str]:
    """The scope of every span of a model call (either instrumentation's)."""
    return [
        s.instrumentation_scope.name  # type: ignore[union-attr]
        for s in tel.spans()
        if (s.attributes or {}).get("gen_ai.operation.name")
        in ("chat", "text_completion", "embeddings")
    ]


@pytest.mark.parametrize("first", ["official", "ours"])
@pytest.mark.parametrize("name", FIXTURES)
def test_official_botocore_and_ours_give_one_llm_span_per_request(
    agentkit_telemetry: TelemetryCapture, first: str, name: str
) -> None:
    official, agentkit = BotocoreInstrumentor(), BedrockInstrumentor()
    order = [official, agentkit] if first == "official" else [agentkit, official]
    for instrumentor in order:
        instrumentor.instrument()
    try:
        call(name)
    finally:
        for instrumentor in reversed(order):
            instrumentor.uninstrument()
    # installed first = inside: the outer one's span stands for the request
    outer = OURS if first == "official" else OFFICIAL
    assert [scope.split(".bedrock-runtime")[0] for scope in llm_scopes(agentkit_telemetry)] == [
        outer
    ]
    durations = [
        (scope.split(".bedrock-runtime")[0], len(metric.data.data_points))
        for (scope, metric_name), metric in agentkit_telemetry.metrics().items()
        if metric_name == "gen_ai.client.operation.duration"
    ]
    # one set of metrics too (the official extension records none for Titan embeddings)
    titan_embeddings_by_official = outer == OFFICIAL and name == "invoke_embed.yaml"
    assert durations == ([] if titan_embeddings_by_official else [(outer, 1)])


def test_three_instrumentations_give_one_llm_span(
    agentkit_telemetry: TelemetryCapture, theirs: Any
) -> None:
    """OpenLLMetry's span outside, the official one inside ours: ours steps aside for
    OpenLLMetry's and takes the official one aside with it."""
    official, agentkit = BotocoreInstrumentor(), BedrockInstrumentor()
    official.instrument()
    agentkit.instrument()
    try:
        call("converse_tool_use.yaml")
    finally:
        agentkit.uninstrument()
        official.uninstrument()
    assert llm_scopes(agentkit_telemetry) == [THEIRS]
