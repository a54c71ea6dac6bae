"""Embeddings content capture: the input text(s) when asked, never the vectors.

The GenAI conventions' embeddings span defines no content attribute; we record
the inputs as ``gen_ai.input.messages`` (one user text message per input), as
docs/openai.md says. Recorded traffic from the shared cassettes.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from otel_agentkit import semconv
from otel_agentkit.instrumentation.openai import OpenAIInstrumentor
from otel_agentkit.testing import TelemetryCapture
from tests.llm_helpers import instrument_fixture, only_span, run
from tests.test_openai import recorded

instrument = instrument_fixture(OpenAIInstrumentor)


def embed(name: str, mode: str) -> tuple[dict[str, Any], Any]:
    cassette = recorded(("test_" if mode == "sync" else "test_async_") + name)
    kwargs = cassette.request_json()
    if mode == "sync":
        result = cassette.client().embeddings.create(**kwargs)
    else:
        result = run(cassette.async_client().embeddings.create(**kwargs))
    return kwargs, result


def inputs_of(kwargs: dict[str, Any]) -> list[dict[str, Any]]:
    texts = kwargs["input"] if isinstance(kwargs["input"], list) else [kwargs["input"]]
    return [{"role": "user", "parts": [{"type": "text", "content": t}]} for t in texts]


def assert_no_vector(text: str, result: Any) -> None:
    vector = result.data[0].embedding
    for value in vector[:5]:
        assert repr(value) not in text


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize(
    "name", ["embeddings_with_content.yaml", "embeddings_with_batch_input.yaml"]
)
def test_embeddings_inputs_captured_on_span(
    agentkit_telemetry: TelemetryCapture, instrument: Any, mode: str, name: str
) -> None:
    instrument(capture_content="SPAN_ONLY")
    kwargs, result = embed(name, mode)
    span = only_span(agentkit_telemetry)
    assert span.name == f"embeddings {kwargs['model']}"
    assert json.loads(span.attributes[semconv.GEN_AI_INPUT_MESSAGES]) == inputs_of(kwargs)
    assert semconv.GEN_AI_OUTPUT_MESSAGES not in span.attributes
    assert_no_vector(span.to_json(), result)
    assert agentkit_telemetry.logs() == []


def test_embeddings_inputs_on_the_event(
    agentkit_telemetry: TelemetryCapture, instrument: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(semconv.ENV_CAPTURE_MESSAGE_CONTENT, "EVENT_ONLY")
    instrument()
    kwargs, result = embed("embeddings_with_batch_input.yaml", "sync")
    span = only_span(agentkit_telemetry)
    assert semconv.GEN_AI_INPUT_MESSAGES not in span.attributes
    (event,) = agentkit_telemetry.logs()
    attrs = event.log_record.attributes
    assert event.log_record.event_name == semconv.GEN_AI_CLIENT_INFERENCE_OPERATION_DETAILS_EVENT
    assert json.loads(attrs[semconv.GEN_AI_INPUT_MESSAGES]) == inputs_of(kwargs)
    assert attrs[semconv.GEN_AI_OPERATION_NAME] == "embeddings"
    assert event.log_record.span_id == span.context.span_id
    assert_no_vector(event.to_json(), result)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_embeddings_inputs_not_captured_by_default(
    agentkit_telemetry: TelemetryCapture, instrument: Any, mode: str
) -> None:
    instrument()
    kwargs, _ = embed("embeddings_with_content.yaml", mode)
    span = only_span(agentkit_telemetry)
    assert semconv.GEN_AI_INPUT_MESSAGES not in span.attributes
    assert kwargs["input"] not in span.to_json()
    assert agentkit_telemetry.logs() == []


def test_embeddings_token_inputs_are_not_text(
    agentkit_telemetry: TelemetryCapture, instrument: Any
) -> None:
    """Token-id inputs are left out (the cassette answers whatever the body says)."""
    instrument(capture_content="SPAN_ONLY")
    cassette = recorded("test_embeddings_with_content.yaml")
    cassette.client().embeddings.create(model="text-embedding-3-small", input=[[1734, 318, 257]])
    attrs = only_span(agentkit_telemetry).attributes
    assert json.loads(attrs[semconv.GEN_AI_INPUT_MESSAGES]) == []
