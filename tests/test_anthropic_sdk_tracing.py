"""anthropic 2.x's own tracing and ours: one span per call, trace context still propagated.

anthropic 2.x starts an ``anthropic.messages.create`` CLIENT span for every
API call unless ``ANTHROPIC_OPEN_TELEMETRY=false``. Inside a call we trace,
ours stands in for it: the SDK records nothing, and sends our span's trace
context (``traceparent``) with the request. ``keep_sdk_spans=True`` keeps both.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from otel_agentkit import semconv
from otel_agentkit.instrumentation.anthropic import AnthropicInstrumentor
from otel_agentkit.testing import TelemetryCapture
from tests.anthropic_helpers import SDK_TRACES, fixture_cassette, request_kwargs

pytestmark = pytest.mark.skipif(
    not SDK_TRACES, reason="this anthropic version has no tracing of its own"
)

SDK_SCOPE = "com.anthropic.sdk.python"


@pytest.fixture(autouse=True)
def _sdk_tracing_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client's tracing as it ships (a developer's shell may have turned it off)."""
    for name in list(os.environ):
        if name.startswith("ANTHROPIC_OPEN_TELEMETRY"):
            monkeypatch.delenv(name)


@pytest.fixture
def instrumentor(agentkit_telemetry: TelemetryCapture) -> Iterator[AnthropicInstrumentor]:
    instrumentor = AnthropicInstrumentor()
    yield instrumentor
    instrumentor.uninstrument()


def by_scope(tel: TelemetryCapture) -> dict[str, list[Any]]:
    spans: dict[str, list[Any]] = {}
    for span in tel.spans():
        spans.setdefault(span.instrumentation_scope.name, []).append(span)
    return spans


def traceparent_of(request: Any) -> tuple[int, int]:
    """(trace id, parent span id) of the W3C ``traceparent`` header a request carried."""
    _, trace_id, span_id, _ = request.headers["traceparent"].split("-")
    return int(trace_id, 16), int(span_id, 16)


def test_the_sdk_traces_on_its_own(agentkit_telemetry: TelemetryCapture) -> None:
    """The premise: without us, the installed anthropic emits its own span."""
    cassette = fixture_cassette("message_basic.yaml")
    cassette.client().messages.create(**request_kwargs(cassette))
    (span,) = by_scope(agentkit_telemetry)[SDK_SCOPE]
    assert span.name == "anthropic.messages.create"


def test_ours_replaces_the_sdk_span_and_is_propagated(
    agentkit_telemetry: TelemetryCapture, instrumentor: AnthropicInstrumentor
) -> None:
    instrumentor.instrument()
    cassette = fixture_cassette("message_basic.yaml")
    cassette.client().messages.create(**request_kwargs(cassette))
    spans = by_scope(agentkit_telemetry)
    assert list(spans) == ["otel_agentkit"]
    (ours,) = spans["otel_agentkit"]
    (request,) = cassette.served
    assert traceparent_of(request) == (ours.context.trace_id, ours.context.span_id)


def test_stream_manager_replaces_the_sdk_span(
    agentkit_telemetry: TelemetryCapture, instrumentor: AnthropicInstrumentor
) -> None:
    instrumentor.instrument()
    cassette = fixture_cassette("message_stream.yaml")
    with cassette.client().messages.stream(**request_kwargs(cassette)) as stream:
        stream.until_done()
    spans = by_scope(agentkit_telemetry)
    assert list(spans) == ["otel_agentkit"]
    (ours,) = spans["otel_agentkit"]
    assert traceparent_of(cassette.served[0]) == (ours.context.trace_id, ours.context.span_id)


def test_keep_sdk_spans_nests_the_sdk_span_under_ours(
    agentkit_telemetry: TelemetryCapture, instrumentor: AnthropicInstrumentor
) -> None:
    instrumentor.instrument(keep_sdk_spans=True)
    cassette = fixture_cassette("message_basic.yaml")
    cassette.client().messages.create(**request_kwargs(cassette))
    spans = by_scope(agentkit_telemetry)
    (ours,) = spans["otel_agentkit"]
    (sdk,) = spans[SDK_SCOPE]
    assert sdk.parent is not None
    assert sdk.parent.span_id == ours.context.span_id
    assert traceparent_of(cassette.served[0]) == (sdk.context.trace_id, sdk.context.span_id)


def test_sdk_tracing_turned_off_by_env(
    agentkit_telemetry: TelemetryCapture,
    instrumentor: AnthropicInstrumentor,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANTHROPIC_OPEN_TELEMETRY", "false")
    instrumentor.instrument(keep_sdk_spans=True)
    cassette = fixture_cassette("message_basic.yaml")
    cassette.client().messages.create(**request_kwargs(cassette))
    assert list(by_scope(agentkit_telemetry)) == ["otel_agentkit"]


def test_uninstrument_gives_the_sdk_its_span_back(
    agentkit_telemetry: TelemetryCapture, instrumentor: AnthropicInstrumentor
) -> None:
    """uninstrument() restores the SDK hook: its span is back, ours is gone."""
    import anthropic._base_client as base

    original = base.start_api_call_span
    instrumentor.instrument()
    assert base.start_api_call_span is not original
    instrumentor.uninstrument()
    assert base.start_api_call_span is original
    cassette = fixture_cassette("message_basic.yaml")
    cassette.client().messages.create(**request_kwargs(cassette))
    assert list(by_scope(agentkit_telemetry)) == [SDK_SCOPE]


def test_the_clients_conversation_id_is_kept(
    agentkit_telemetry: TelemetryCapture, instrumentor: AnthropicInstrumentor
) -> None:
    """The conversation id a client gives its own spans is on ours, which replace them."""
    instrumentor.instrument()
    cassette = fixture_cassette("message_basic.yaml")
    client = cassette.client()
    client = client.with_options(open_telemetry={**client.open_telemetry, "conversation_id": "c1"})
    client.messages.create(**request_kwargs(cassette))
    (span,) = agentkit_telemetry.spans()
    assert span.attributes[semconv.GEN_AI_CONVERSATION_ID] == "c1"
    (point,) = agentkit_telemetry.metric_points(semconv.GEN_AI_CLIENT_OPERATION_DURATION)
    assert semconv.GEN_AI_CONVERSATION_ID not in point.attributes  # an id: never on a metric
