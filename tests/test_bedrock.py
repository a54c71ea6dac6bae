"""Bedrock instrumentation against recorded API traffic, replayed through real boto3 clients.

The 28 recordings in ../shared/cassettes/bedrock (OpenLLMetry's, of the real
service) and the self-written fixtures in tests/fixtures/bedrock go through
``boto3.client("bedrock-runtime")`` with a ``before-send`` handler answering
from the recording (see tests/bedrock_helpers.py). Names are pinned to
literals; the expected values were read from each recording (the Converse
``usage`` block, the ``X-Amzn-Bedrock-*-Token-Count`` headers of InvokeModel,
the model's own body and stream events).
"""

from __future__ import annotations

import io
import json
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ResponseStreamingError
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.trace import SpanKind, StatusCode
from urllib3 import HTTPResponse

from otel_agentkit.instrumentation.bedrock import BedrockInstrumentor
from otel_agentkit.pricing import ModelPrice
from otel_agentkit.testing import TelemetryCapture
from tests.bedrock_helpers import ENDPOINT, SECRET_KEY, BedrockCassette, fixture_cassette
from tests.conftest import cassettes_dir
from tests.llm_helpers import (
    CAPTURE_MODES,
    captured_content,
    instrument_fixture,
    only_span,
    tel_fixture,
)

instrument = instrument_fixture(BedrockInstrumentor)
tel = tel_fixture()

#: The conventions' bucket boundaries: seconds (0.01 .. 81.92) and tokens (1, 4 .. 4**13).
DURATION_BUCKETS = [0.01 * 2**i for i in range(14)]
TOKEN_BUCKETS = [float(4**i) for i in range(14)]
#: Attributes every span has, checked apart from the table below.
COMMON = {
    "gen_ai.provider.name",
    "gen_ai.operation.name",
    "gen_ai.request.model",
    "server.address",
    "server.port",
    "gen_ai.request.stream",
    "gen_ai.response.time_to_first_chunk",
}
STREAM_KEYS = {"converse_stream": "stream", "invoke_model_with_response_stream": "body"}

#: Recording (``#n``: its n-th request) -> (gen_ai.operation.name, every other attribute).
RECORDED: dict[str, tuple[str, dict[str, Any]]] = {
    "test_ai21/test_ai21_j2_completion_string_content.yaml": (
        "text_completion",
        {
            "gen_ai.request.max_tokens": 200,
            "gen_ai.request.temperature": 0.5,
            "gen_ai.request.top_p": 0.5,
            "gen_ai.response.finish_reasons": ["endoftext"],
            "gen_ai.usage.input_tokens": 26,
            "gen_ai.usage.output_tokens": 42,
        },
    ),
    "test_anthropic/test_anthropic_2_completion.yaml": (
        "text_completion",
        {
            "gen_ai.request.max_tokens": 200,
            "gen_ai.request.temperature": 0.5,
            "gen_ai.response.finish_reasons": ["stop_sequence"],
            "gen_ai.usage.input_tokens": 18,
            "gen_ai.usage.output_tokens": 87,
        },
    ),
    "test_anthropic/test_anthropic_3_completion_complex_content.yaml": (
        "chat",
        {
            "gen_ai.request.max_tokens": 200,
            "gen_ai.request.temperature": 0.5,
            "gen_ai.response.id": "msg_bdrk_01Q6Z4xmUkMigo9K4qd1fshW",
            "gen_ai.response.model": "claude-3-sonnet-20240229",
            "gen_ai.response.finish_reasons": ["end_turn"],
            "gen_ai.usage.input_tokens": 16,
            "gen_ai.usage.output_tokens": 29,
        },
    ),
    "test_anthropic/test_anthropic_3_completion_streaming.yaml": (
        "chat",
        {
            "gen_ai.request.max_tokens": 200,
            "gen_ai.request.temperature": 0.5,
            "gen_ai.response.id": "msg_bdrk_014eJfxWXNnxFKhmuiT8FYf7",
            "gen_ai.response.model": "claude-3-sonnet-20240229",
            "gen_ai.response.finish_reasons": ["end_turn"],
            "gen_ai.usage.input_tokens": 16,
            "gen_ai.usage.output_tokens": 21,
        },
    ),
    "test_anthropic/test_anthropic_3_completion_string_content.yaml": (
        "chat",
        {
            "gen_ai.request.max_tokens": 200,
            "gen_ai.request.temperature": 0.5,
            "gen_ai.response.id": "msg_bdrk_01WR9VHqpyBzBhzgwCDapaQD",
            "gen_ai.response.model": "claude-3-sonnet-20240229",
            "gen_ai.response.finish_reasons": ["end_turn"],
            "gen_ai.usage.input_tokens": 16,
            "gen_ai.usage.output_tokens": 19,
        },
    ),
    "test_anthropic/test_anthropic_converse_stream_with_tool_use.yaml": (
        "chat",
        {
            "gen_ai.request.max_tokens": 300,
            "gen_ai.request.temperature": 0.5,
            "gen_ai.response.finish_reasons": ["tool_use"],
            "gen_ai.usage.input_tokens": 236,
            "gen_ai.usage.output_tokens": 58,
            "agentkit.response.tool_call.ids": ["tooluse_yypYDr71TwCwByoyao4-Vg"],
            "agentkit.response.tool_call.names": ["get_weather"],
        },
    ),
    "test_anthropic/test_anthropic_cross_region.yaml": (
        "chat",
        {
            "gen_ai.request.temperature": 0.5,
            "aws.bedrock.guardrail.id": "v9kpg6yrwhs2",
            "gen_ai.response.finish_reasons": ["end_turn"],
            "gen_ai.usage.input_tokens": 20,
            "gen_ai.usage.output_tokens": 72,
            "gen_ai.usage.cache_read.input_tokens": 0,
            "gen_ai.usage.cache_creation.input_tokens": 0,
            "agentkit.bedrock.guardrail.intervened": False,
        },
    ),
    "test_anthropic/test_prompt_cache.yaml#0": (
        "chat",
        {
            "gen_ai.request.max_tokens": 50,
            "gen_ai.request.temperature": 0.1,
            "gen_ai.request.top_p": 0.1,
            "gen_ai.request.top_k": 250,
            "gen_ai.request.stop_sequences": ["stop"],
            "gen_ai.response.id": "msg_bdrk_01FmwvNC1ksCq1T8tjvgUdDB",
            "gen_ai.response.model": "claude-3-5-haiku-20241022",
            "gen_ai.response.finish_reasons": ["max_tokens"],
            "gen_ai.usage.input_tokens": 18135,
            "gen_ai.usage.output_tokens": 50,
            "gen_ai.usage.cache_read.input_tokens": 0,
            "gen_ai.usage.cache_creation.input_tokens": 18131,
        },
    ),
    "test_anthropic/test_prompt_cache.yaml#1": (
        "chat",
        {
            "gen_ai.request.max_tokens": 50,
            "gen_ai.request.temperature": 0.1,
            "gen_ai.request.top_p": 0.1,
            "gen_ai.request.top_k": 250,
            "gen_ai.request.stop_sequences": ["stop"],
            "gen_ai.response.id": "msg_bdrk_01FGEZnKNgjbRv5m4joDoq3D",
            "gen_ai.response.model": "claude-3-5-haiku-20241022",
            "gen_ai.response.finish_reasons": ["max_tokens"],
            "gen_ai.usage.input_tokens": 18135,
            "gen_ai.usage.output_tokens": 50,
            "gen_ai.usage.cache_read.input_tokens": 18131,
            "gen_ai.usage.cache_creation.input_tokens": 0,
        },
    ),
    "test_bedrock_metrics/test_invoke_model_metrics.yaml": (
        "text_completion",
        {
            "gen_ai.request.max_tokens": 200,
            "gen_ai.request.temperature": 0.5,
            "gen_ai.request.top_p": 0.5,
            "gen_ai.response.finish_reasons": ["FINISH"],
            "gen_ai.usage.input_tokens": 9,
            "gen_ai.usage.output_tokens": 17,
        },
    ),
    "test_cohere/test_cohere_completion.yaml": (
        "text_completion",
        {
            "gen_ai.request.max_tokens": 200,
            "gen_ai.request.temperature": 0.5,
            "gen_ai.request.top_p": 0.5,
            "gen_ai.response.id": "3266ca30-473c-4491-b6ef-5b1f033798d2",
            "gen_ai.response.finish_reasons": ["COMPLETE"],
            "gen_ai.usage.input_tokens": 9,
            "gen_ai.usage.output_tokens": 112,
        },
    ),
    "test_guardrails/test_guardrail_converse.yaml": (
        "chat",
        {
            "aws.bedrock.guardrail.id": "5zwrmdlsra2e",
            "gen_ai.response.finish_reasons": ["guardrail_intervened"],
            "gen_ai.usage.input_tokens": 17,
            "gen_ai.usage.output_tokens": 17,
            "agentkit.bedrock.guardrail.intervened": True,
        },
    ),
    "test_guardrails/test_guardrail_converse_stream.yaml": (
        "chat",
        {
            "aws.bedrock.guardrail.id": "5zwrmdlsra2e",
            "gen_ai.response.finish_reasons": ["guardrail_intervened"],
            "gen_ai.usage.input_tokens": 17,
            "gen_ai.usage.output_tokens": 16,
            "agentkit.bedrock.guardrail.intervened": True,
        },
    ),
    "test_guardrails/test_guardrail_invoke.yaml": (
        "text_completion",
        {
            "gen_ai.request.max_tokens": 512,
            "gen_ai.request.temperature": 0.5,
            "aws.bedrock.guardrail.id": "5zwrmdlsra2e",
            "gen_ai.response.finish_reasons": ["FINISH"],
            "gen_ai.usage.input_tokens": 28,
            "gen_ai.usage.output_tokens": 197,
            "agentkit.bedrock.guardrail.intervened": True,
        },
    ),
    "test_guardrails/test_guardrail_invoke_stream.yaml": (
        "text_completion",
        {
            "gen_ai.request.max_tokens": 1000,
            "gen_ai.request.temperature": 0.5,
            "aws.bedrock.guardrail.id": "5zwrmdlsra2e",
            "gen_ai.usage.input_tokens": 6,
            "gen_ai.usage.output_tokens": 3,
            "agentkit.bedrock.guardrail.intervened": True,
        },
    ),
    "test_imported_model/test_imported_model_completion.yaml": (
        "text_completion",
        {
            "gen_ai.request.max_tokens": 100,
            "gen_ai.request.top_p": 2,
            "gen_ai.request.temperature": 0.5,
            "gen_ai.response.model": "/opt/ml/model",
            "gen_ai.response.finish_reasons": ["length"],
            "gen_ai.usage.input_tokens": 6,
            "gen_ai.usage.output_tokens": 100,
        },
    ),
    "test_meta/test_meta_converse.yaml": (
        "chat",
        {
            "gen_ai.request.temperature": 0.5,
            "gen_ai.response.finish_reasons": ["end_turn"],
            "gen_ai.usage.input_tokens": 52,
            "gen_ai.usage.output_tokens": 30,
        },
    ),
    "test_meta/test_meta_converse_stream.yaml": (
        "chat",
        {
            "gen_ai.request.temperature": 0.5,
            "gen_ai.response.finish_reasons": ["end_turn"],
            "gen_ai.usage.input_tokens": 52,
            "gen_ai.usage.output_tokens": 36,
        },
    ),
    "test_meta/test_meta_llama2_completion_string_content.yaml": (
        "text_completion",
        {
            "gen_ai.request.max_tokens": 128,
            "gen_ai.request.temperature": 0.1,
            "gen_ai.request.top_p": 0.9,
            "gen_ai.response.finish_reasons": ["length"],
            "gen_ai.usage.input_tokens": 158,
            "gen_ai.usage.output_tokens": 128,
        },
    ),
    "test_meta/test_meta_llama3_completion.yaml": (
        "text_completion",
        {
            "gen_ai.request.max_tokens": 128,
            "gen_ai.request.temperature": 0.1,
            "gen_ai.request.top_p": 0.9,
            "gen_ai.response.finish_reasons": ["stop"],
            "gen_ai.usage.input_tokens": 8,
            "gen_ai.usage.output_tokens": 35,
        },
    ),
    "test_nova/test_nova_completion.yaml": (
        "chat",
        {
            "gen_ai.request.max_tokens": 500,
            "gen_ai.request.top_p": 0.9,
            "gen_ai.request.top_k": 20,
            "gen_ai.request.temperature": 0.7,
            "aws.bedrock.guardrail.id": "v9kpg6yrwhs2",
            "gen_ai.response.finish_reasons": ["end_turn"],
            "gen_ai.usage.input_tokens": 30,
            "gen_ai.usage.output_tokens": 51,
            "gen_ai.usage.cache_read.input_tokens": 0,
            "gen_ai.usage.cache_creation.input_tokens": 0,
            "agentkit.bedrock.guardrail.intervened": True,
        },
    ),
    "test_nova/test_nova_converse.yaml": (
        "chat",
        {
            "gen_ai.request.temperature": 0.5,
            "gen_ai.request.top_k": 10,
            "aws.bedrock.guardrail.id": "v9kpg6yrwhs2",
            "gen_ai.response.finish_reasons": ["guardrail_intervened"],
            "gen_ai.usage.input_tokens": 54,
            "gen_ai.usage.output_tokens": 18,
            "agentkit.bedrock.guardrail.intervened": True,
        },
    ),
    "test_nova/test_nova_converse_stream.yaml": (
        "chat",
        {
            "gen_ai.request.temperature": 0.5,
            "gen_ai.request.top_k": 10,
            "aws.bedrock.guardrail.id": "v9kpg6yrwhs2",
            "gen_ai.response.finish_reasons": ["guardrail_intervened"],
            "gen_ai.usage.input_tokens": 54,
            "gen_ai.usage.output_tokens": 18,
            "agentkit.bedrock.guardrail.intervened": True,
        },
    ),
    "test_nova/test_nova_cross_region_invoke.yaml": (
        "chat",
        {
            "gen_ai.request.max_tokens": 500,
            "gen_ai.request.top_p": 0.9,
            "gen_ai.request.top_k": 20,
            "gen_ai.request.temperature": 0.7,
            "gen_ai.response.finish_reasons": ["end_turn"],
            "gen_ai.usage.input_tokens": 7,
            "gen_ai.usage.output_tokens": 53,
            "gen_ai.usage.cache_read.input_tokens": 0,
            "gen_ai.usage.cache_creation.input_tokens": 0,
        },
    ),
    "test_nova/test_nova_invoke_stream.yaml": (
        "chat",
        {
            "gen_ai.request.top_p": 0.9,
            "gen_ai.request.top_k": 20,
            "gen_ai.request.temperature": 0.7,
            "aws.bedrock.guardrail.id": "v9kpg6yrwhs2",
            "gen_ai.response.finish_reasons": ["end_turn"],
            "gen_ai.usage.input_tokens": 30,
            "gen_ai.usage.output_tokens": 55,
            "gen_ai.usage.cache_read.input_tokens": 0,
            "gen_ai.usage.cache_creation.input_tokens": 0,
            "agentkit.bedrock.guardrail.intervened": True,
        },
    ),
    "test_titan/test_titan_completion.yaml": (
        "text_completion",
        {
            "gen_ai.request.max_tokens": 200,
            "gen_ai.request.temperature": 0.5,
            "gen_ai.request.top_p": 0.5,
            "gen_ai.response.finish_reasons": ["FINISH"],
            "gen_ai.usage.input_tokens": 30,
            "gen_ai.usage.output_tokens": 29,
        },
    ),
    "test_titan/test_titan_converse.yaml": (
        "chat",
        {
            "aws.bedrock.guardrail.id": "5zwrmdlsra2e",
            "gen_ai.response.finish_reasons": ["guardrail_intervened"],
            "gen_ai.usage.input_tokens": 28,
            "gen_ai.usage.output_tokens": 26,
            "agentkit.bedrock.guardrail.intervened": True,
        },
    ),
    "test_titan/test_titan_converse_stream.yaml": (
        "chat",
        {
            "aws.bedrock.guardrail.id": "5zwrmdlsra2e",
            "gen_ai.response.finish_reasons": ["guardrail_intervened"],
            "gen_ai.usage.input_tokens": 28,
            "gen_ai.usage.output_tokens": 22,
            "agentkit.bedrock.guardrail.intervened": True,
        },
    ),
    "test_titan/test_titan_invoke_stream.yaml": (
        "text_completion",
        {
            "gen_ai.request.max_tokens": 8000,
            "gen_ai.request.temperature": 0.5,
            "aws.bedrock.guardrail.id": "5zwrmdlsra2e",
            "gen_ai.response.finish_reasons": ["FINISH"],
            "gen_ai.usage.input_tokens": 28,
            "gen_ai.usage.output_tokens": 188,
            "agentkit.bedrock.guardrail.intervened": True,
        },
    ),
}


def recorded(name: str) -> tuple[BedrockCassette, int]:
    path, _, index = name.partition("#")
    return BedrockCassette(cassettes_dir("bedrock") / path), int(index or 0)


def consume(cassette: BedrockCassette, result: Any, index: int = 0) -> Any:
    """Read the result as a caller would: a stream to its end, an InvokeModel body."""
    key = STREAM_KEYS.get(cassette.method(index))
    if key is not None:
        return list(result[key])
    if cassette.method(index) == "invoke_model":
        return result["body"].read()
    return result


def check_metrics(tel: TelemetryCapture, span: Any, operation: str, attrs: dict[str, Any]) -> None:
    """Duration and token histograms: once each, semconv buckets, in the span's context."""
    (duration,) = tel.metric_points("gen_ai.client.operation.duration")
    assert duration.count == 1
    assert list(duration.explicit_bounds) == pytest.approx(DURATION_BUCKETS)
    assert duration.attributes["gen_ai.provider.name"] == "aws.bedrock"
    assert duration.attributes["gen_ai.operation.name"] == operation
    assert duration.attributes["gen_ai.request.model"] == span.attributes["gen_ai.request.model"]
    assert duration.attributes["server.address"] == ENDPOINT
    assert duration.exemplars[0].span_id == span.context.span_id
    for token_type in ("input", "output"):
        points = tel.metric_points("gen_ai.client.token.usage", {"gen_ai.token.type": token_type})
        expected = attrs.get(f"gen_ai.usage.{token_type}_tokens")
        if expected is None:
            assert points == []
        else:
            (point,) = points
            assert (point.count, point.sum) == (1, expected)
            assert list(point.explicit_bounds) == TOKEN_BUCKETS


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_recorded_call(tel: TelemetryCapture, name: str) -> None:
    cassette, index = recorded(name)
    client = cassette.client()
    with suppress_instrumentation():  # requests before it: the same URL answers in order
        for earlier in range(index):
            consume(cassette, cassette.call(client, earlier), earlier)
    result = consume(cassette, cassette.call(client, index), index)
    operation, expected = RECORDED[name]
    model = cassette.model_id(index)
    span = only_span(tel)
    assert span.name == f"{operation} {model}"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    attrs = dict(span.attributes)
    assert attrs["gen_ai.provider.name"] == "aws.bedrock"
    assert attrs["gen_ai.operation.name"] == operation
    assert attrs["gen_ai.request.model"] == model  # as sent: profile prefix, ARN
    assert (attrs["server.address"], attrs["server.port"]) == (ENDPOINT, 443)
    streamed = cassette.method(index) in STREAM_KEYS
    assert attrs.get("gen_ai.request.stream", False) is streamed
    assert ("gen_ai.response.time_to_first_chunk" in attrs) is streamed
    rest = {k: list(v) if isinstance(v, tuple) else v for k, v in attrs.items() if k not in COMMON}
    assert rest == expected  # nothing else: no content without capture
    check_metrics(tel, span, operation, expected)
    if streamed:  # every event reached the caller
        assert len(result) == len(cassette.events(index))
    elif cassette.method(index) == "invoke_model":  # the caller still reads the whole body
        assert json.loads(result) == cassette.response_json(index)


def test_recorded_usage_matches_what_bedrock_reported(tel: TelemetryCapture) -> None:
    """Cross-check against the recording itself: headers (InvokeModel) and usage (Converse)."""
    for name, (_, expected) in RECORDED.items():
        cassette, index = recorded(name)
        headers = cassette.response_headers(index)
        if "x-amzn-bedrock-output-token-count" in headers:
            assert expected["gen_ai.usage.output_tokens"] == int(
                headers["x-amzn-bedrock-output-token-count"]
            ), name
        elif cassette.method(index) == "converse":
            usage = cassette.response_json(index)["usage"]
            assert expected["gen_ai.usage.output_tokens"] == usage["outputTokens"], name


# ---------------------------------------------------------------------------
# Self-written fixtures: tool calls, cache reads, content, embeddings, errors
# ---------------------------------------------------------------------------

PROFILE_MODEL = "us.anthropic.claude-3-5-haiku-20241022-v1:0"


def test_converse_tool_call_and_cache_read(tel: TelemetryCapture) -> None:
    result = fixture_cassette("converse_tool_use.yaml").call()
    assert result["stopReason"] == "tool_use"  # the caller's result is untouched
    span = only_span(tel)
    assert span.name == f"chat {PROFILE_MODEL}"
    attrs = span.attributes
    assert attrs["gen_ai.request.max_tokens"] == 256
    assert attrs["gen_ai.request.temperature"] == 0.2
    assert attrs["gen_ai.request.top_p"] == 0.9
    assert list(attrs["gen_ai.request.stop_sequences"]) == ["END"]
    assert list(attrs["gen_ai.response.finish_reasons"]) == ["tool_use"]
    # inputTokens 12 + cacheReadInputTokens 1200 + cacheWriteInputTokens 0
    assert attrs["gen_ai.usage.input_tokens"] == 1212
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 1200
    assert attrs["gen_ai.usage.cache_creation.input_tokens"] == 0
    assert attrs["gen_ai.usage.output_tokens"] == 21
    assert list(attrs["agentkit.response.tool_call.ids"]) == ["tooluse_fixture01"]
    assert list(attrs["agentkit.response.tool_call.names"]) == ["get_weather"]
    assert "gen_ai.output.messages" not in attrs  # no content (and no arguments) by default


@CAPTURE_MODES
def test_content_capture(
    agentkit_telemetry: TelemetryCapture,
    instrument: Any,
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
    on_span: bool,
    on_event: bool,
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", mode)
    instrument()
    fixture_cassette("converse_tool_use.yaml").call()
    content = captured_content(agentkit_telemetry, on_span, on_event)
    if not content:
        return
    assert content["gen_ai.input.messages"] == [
        {"role": "user", "parts": [{"type": "text", "content": "Weather in Oslo?"}]}
    ]
    # the cache point is a marker, not content
    assert content["gen_ai.system_instructions"] == [{"type": "text", "content": "You are terse."}]
    assert content["gen_ai.tool.definitions"] == [
        {
            "type": "function",
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        }
    ]
    assert content["gen_ai.output.messages"] == [
        {
            "role": "assistant",
            "parts": [
                {"type": "text", "content": "Checking."},
                {
                    "type": "tool_call",
                    "id": "tooluse_fixture01",
                    "name": "get_weather",
                    "arguments": {"city": "Oslo"},
                },
            ],
            "finish_reason": "tool_use",
        }
    ]


def test_prices_match_the_model_id_without_its_region_prefix(
    agentkit_telemetry: TelemetryCapture, instrument: Any
) -> None:
    price = ModelPrice(input_per_million=1.0, output_per_million=5.0)
    instrument(prices={"anthropic.claude-3-5-haiku-20241022-v1:0": price})
    fixture_cassette("converse_tool_use.yaml").call()
    points = {
        p.attributes["gen_ai.token.type"]: p
        for p in agentkit_telemetry.metric_points("agentkit.llm.cost.usd")
    }
    assert points["input"].value == pytest.approx(1212 * 1.0 / 1e6)
    assert points["output"].value == pytest.approx(21 * 5.0 / 1e6)
    assert points["input"].attributes["gen_ai.request.model"] == PROFILE_MODEL  # as sent


def test_invoke_model_embeddings(tel: TelemetryCapture) -> None:
    cassette = fixture_cassette("invoke_embed.yaml")
    result = cassette.call()
    assert json.loads(result["body"].read())["embedding"] == [0.1, -0.2, 0.3, 0.4]
    span = only_span(tel)
    assert span.name == "embeddings amazon.titan-embed-text-v2:0"
    assert span.attributes["gen_ai.operation.name"] == "embeddings"
    assert span.attributes["gen_ai.embeddings.dimension.count"] == 4
    assert span.attributes["gen_ai.usage.input_tokens"] == 4
    assert "gen_ai.usage.output_tokens" not in span.attributes


def test_service_error(tel: TelemetryCapture) -> None:
    client = fixture_cassette("validation_error.yaml").client()
    with pytest.raises(client.exceptions.ValidationException):
        fixture_cassette("validation_error.yaml").call(client)
    span = only_span(tel)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "ValidationException"
    assert "8192" in (span.status.description or "")
    (duration,) = tel.metric_points("gen_ai.client.operation.duration")
    assert duration.attributes["error.type"] == "ValidationException"
    assert tel.metric_points("gen_ai.client.token.usage") == []


class _Reset(io.RawIOBase):
    """A response body the connection drops while it is read."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        raise ConnectionResetError("connection reset by peer")


def test_invoke_body_read_failure_fails_the_span_and_reaches_the_caller(
    tel: TelemetryCapture,
) -> None:
    client = boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        aws_access_key_id="AKIDTEST",
        aws_secret_access_key=SECRET_KEY,
    )

    def answer(request: Any, **_: Any) -> AWSResponse:
        headers = {"content-type": "application/json"}
        raw = HTTPResponse(body=_Reset(), headers=headers, status=200, preload_content=False)
        return AWSResponse(request.url, 200, headers, raw)

    client.meta.events.register("before-send.bedrock-runtime", answer)
    result = client.invoke_model(
        modelId="amazon.titan-text-express-v1", body=b'{"inputText": "hi"}'
    )
    span = only_span(tel)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "ResponseStreamingError"
    with pytest.raises(ResponseStreamingError, match="connection reset by peer"):
        result["body"].read()  # the caller sees the error its own read would have raised


def test_clients_made_before_instrument_and_other_services(
    agentkit_telemetry: TelemetryCapture, instrument: Any
) -> None:
    cassette = fixture_cassette("converse_tool_use.yaml")
    before = cassette.client()
    control = boto3.client(
        "bedrock",
        region_name="us-east-1",
        aws_access_key_id="AKIDTEST",
        aws_secret_access_key=SECRET_KEY,
    )
    control.meta.events.register(
        "before-send.bedrock",
        lambda request, **_: AWSResponse(
            request.url,
            200,
            {},
            HTTPResponse(
                body=io.BytesIO(b'{"modelSummaries": []}'), status=200, preload_content=False
            ),
        ),
    )
    instrument()
    cassette.call(before)
    assert control.list_foundation_models()["modelSummaries"] == []  # not a traced operation
    assert [s.name for s in agentkit_telemetry.spans()] == [f"chat {PROFILE_MODEL}"]


def test_uninstrument_restores_botocore(agentkit_telemetry: TelemetryCapture) -> None:
    from botocore.client import BaseClient

    original = BaseClient.__dict__["_make_api_call"]
    instrumentor = BedrockInstrumentor()
    instrumentor.instrument()
    assert BaseClient.__dict__["_make_api_call"] is not original
    instrumentor.uninstrument()
    assert BaseClient.__dict__["_make_api_call"] is original
    fixture_cassette("converse_tool_use.yaml").call()
    assert agentkit_telemetry.spans() == []


def test_no_secret_reaches_telemetry(agentkit_telemetry: TelemetryCapture, instrument: Any) -> None:
    instrument(capture_content=True)
    fixture_cassette("converse_tool_use.yaml").call()
    recorded_text = repr([dict(s.attributes) for s in agentkit_telemetry.spans()])
    assert SECRET_KEY not in recorded_text
    assert "AKIDTEST" not in recorded_text
