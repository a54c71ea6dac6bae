"""Google Gen AI instrumentation against recorded traffic, replayed through the real SDK.

The 14 recordings in ../shared/cassettes/google_genai (Vertex AI from the
OpenTelemetry contrib suite, the Gemini API from OpenLLMetry's) and the
self-written fixtures in tests/fixtures/google_genai go through
``genai.Client`` with an ``httpx`` transport answering from the recording
(see tests/google_genai_helpers.py). Expected values are read from each
recorded response; names are pinned to literals.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from google.genai import errors, types
from opentelemetry.trace import SpanKind, StatusCode

from otel_agentkit.instrumentation.google_genai import GoogleGenAIInstrumentor
from otel_agentkit.testing import TelemetryCapture
from tests.conftest import cassettes_dir
from tests.google_genai_helpers import SECRET_KEY, GenAICassette, fixture_cassette
from tests.llm_helpers import (
    CAPTURE_MODES,
    CONTENT_KEYS,
    captured_content,
    instrument_fixture,
    only_span,
    tel_fixture,
)

instrument = instrument_fixture(GoogleGenAIInstrumentor)
tel = tel_fixture()

#: The conventions' bucket boundaries: seconds (0.01 .. 81.92) and tokens (1, 4 .. 4**13).
DURATION_BUCKETS = [0.01 * 2**i for i in range(14)]
TOKEN_BUCKETS = [float(4**i) for i in range(14)]
#: Every recording: (test name's) kind of test, content setting, model, API, sync or async.
RECORDINGS = [
    *(
        f"generate_content/{test}[{content}-gemini-2.5-flash-vertexaiapi-{mode}-{variant}].yaml"
        for test, variant in (
            ("test_non_streaming", "default"),
            ("test_streaming", "default"),
            ("test_upload_hook_non_streaming", "enable_completion_hook-experimental"),
        )
        for content in ("excludecontent", "logcontent")
        for mode in ("async", "sync")
    ),
    "test_generate_content/test_client_spans.yaml",
    "test_generate_content/test_generate_metrics.yaml",
]


def generate(cassette: GenAICassette, mode: str, **kwargs: Any) -> Any:
    """The recorded request, made sync or async; a stream read to its end (list of chunks)."""
    kwargs = {"model": cassette.model(), "contents": "Hi", **kwargs}
    if mode == "sync":
        models = cassette.client().models
        if cassette.streamed():
            return list(models.generate_content_stream(**kwargs))
        return models.generate_content(**kwargs)

    async def go() -> Any:
        models = cassette.async_client().aio.models
        if cassette.streamed():
            return [c async for c in await models.generate_content_stream(**kwargs)]
        return await models.generate_content(**kwargs)

    return asyncio.run(go())


def final(cassette: GenAICassette) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the response's first chunk or whole body, the part that carries usage and finish)."""
    if cassette.streamed():
        events = cassette.stream_events()
        return events[0], events[-1]
    body = cassette.response_json()
    return body, body


@pytest.mark.parametrize("name", RECORDINGS)
def test_recorded_call(tel: TelemetryCapture, name: str) -> None:
    cassette = GenAICassette(cassettes_dir("google_genai") / name)
    mode = "async" if "-async-" in name else "sync"
    contents = cassette.request_json()["contents"][0]["parts"][0]["text"]
    result = generate(cassette, mode, contents=contents)
    first, last = final(cassette)
    usage = last["usageMetadata"]
    provider = "gcp.vertex_ai" if cassette.vertex else "gcp.gemini"
    span = only_span(tel)
    attrs = span.attributes
    assert span.name == "generate_content gemini-2.5-flash"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    assert attrs["gen_ai.operation.name"] == "generate_content"
    assert attrs["gen_ai.provider.name"] == provider
    assert attrs["gen_ai.request.model"] == "gemini-2.5-flash"
    assert (attrs["server.address"], attrs["server.port"]) == (cassette.host, 443)
    assert attrs["gen_ai.response.id"] == first["responseId"]
    assert attrs["gen_ai.response.model"] == first["modelVersion"]
    reason = last["candidates"][0]["finishReason"]
    assert list(attrs["gen_ai.response.finish_reasons"]) == [reason.lower()]
    assert attrs["gen_ai.usage.input_tokens"] == usage["promptTokenCount"]
    thoughts = usage.get("thoughtsTokenCount", 0)
    assert attrs["gen_ai.usage.output_tokens"] == usage["candidatesTokenCount"] + thoughts
    assert attrs.get("gen_ai.usage.reasoning.output_tokens") == usage.get("thoughtsTokenCount")
    assert attrs.get("gen_ai.request.stream", False) is cassette.streamed()
    for key in CONTENT_KEYS:
        assert key not in attrs
    (duration,) = tel.metric_points("gen_ai.client.operation.duration")
    assert (duration.count, duration.attributes["gen_ai.provider.name"]) == (1, provider)
    assert list(duration.explicit_bounds) == pytest.approx(DURATION_BUCKETS)
    assert duration.exemplars[0].span_id == span.context.span_id
    (output,) = tel.metric_points("gen_ai.client.token.usage", {"gen_ai.token.type": "output"})
    assert (output.count, output.sum) == (1, attrs["gen_ai.usage.output_tokens"])
    assert list(output.explicit_bounds) == TOKEN_BUCKETS
    if cassette.streamed():
        assert len(result) == len(cassette.stream_events())  # every chunk reached the caller
        (first_chunk,) = tel.metric_points("gen_ai.client.operation.time_to_first_chunk")
        assert first_chunk.sum == pytest.approx(attrs["gen_ai.response.time_to_first_chunk"])
        (per_chunk,) = tel.metric_points("gen_ai.client.operation.time_per_output_chunk")
        assert per_chunk.count == 1
    else:
        assert result.response_id == first["responseId"]  # the caller's result is intact
        assert tel.metric_points("gen_ai.client.operation.time_to_first_chunk") == []


# ---------------------------------------------------------------------------
# Self-written fixtures: function calls, usage details, config, content, AFC
# ---------------------------------------------------------------------------

CONFIG = types.GenerateContentConfig(
    system_instruction="Be terse.",
    temperature=0.3,
    top_p=0.8,
    top_k=20,
    max_output_tokens=100,
    stop_sequences=["END"],
    seed=7,
    response_mime_type="application/json",
    tools=[
        types.Tool(
            function_declarations=[
                types.FunctionDeclaration(name="get_weather", description="Weather for a city")
            ]
        )
    ],
    automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
)


def call_function_fixture(mode: str = "sync", **kwargs: Any) -> Any:
    cassette = fixture_cassette("function_call.yaml")
    return generate(cassette, mode, model="gemini-2.5-flash", contents="Weather in Oslo?", **kwargs)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_function_call_usage_and_config(tel: TelemetryCapture, mode: str) -> None:
    result = call_function_fixture(mode, config=CONFIG)
    assert result.function_calls[0].name == "get_weather"
    attrs = only_span(tel).attributes
    assert attrs["gen_ai.provider.name"] == "gcp.gemini"
    assert attrs["server.address"] == "generativelanguage.googleapis.com"
    assert attrs["gen_ai.response.id"] == "fixture-response-1"
    assert attrs["gen_ai.response.model"] == "gemini-2.5-flash-001"
    assert list(attrs["gen_ai.response.finish_reasons"]) == ["stop"]
    assert attrs["gen_ai.usage.input_tokens"] == 40  # promptTokenCount includes the cached 32
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 32
    assert attrs["gen_ai.usage.output_tokens"] == 42  # 12 candidates + 30 thoughts
    assert attrs["gen_ai.usage.reasoning.output_tokens"] == 30
    assert list(attrs["agentkit.response.tool_call.ids"]) == ["call_fixture01"]
    assert list(attrs["agentkit.response.tool_call.names"]) == ["get_weather"]
    assert attrs["gen_ai.request.temperature"] == 0.3
    assert attrs["gen_ai.request.top_p"] == 0.8
    assert attrs["gen_ai.request.top_k"] == 20
    assert attrs["gen_ai.request.max_tokens"] == 100
    assert list(attrs["gen_ai.request.stop_sequences"]) == ["END"]
    assert attrs["gen_ai.request.seed"] == 7
    assert attrs["gen_ai.output.type"] == "json"
    for key in CONTENT_KEYS:  # arguments and text only with capture on
        assert key not in attrs


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
    call_function_fixture(config=CONFIG)
    content = captured_content(agentkit_telemetry, on_span, on_event)
    if not content:
        return
    assert content["gen_ai.input.messages"] == [
        {"role": "user", "parts": [{"type": "text", "content": "Weather in Oslo?"}]}
    ]
    assert content["gen_ai.system_instructions"] == [{"type": "text", "content": "Be terse."}]
    assert content["gen_ai.tool.definitions"] == [
        {
            "type": "function",
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": None,
        }
    ]
    assert content["gen_ai.output.messages"] == [
        {
            "role": "assistant",
            "parts": [
                {"type": "text", "content": "Checking."},
                {
                    "type": "tool_call",
                    "id": "call_fixture01",
                    "name": "get_weather",
                    "arguments": {"city": "Oslo"},
                },
            ],
            "finish_reason": "stop",
        }
    ]
    recorded = [dict(s.attributes or {}) for s in agentkit_telemetry.spans()]
    recorded += [dict(r.log_record.attributes or {}) for r in agentkit_telemetry.logs()]
    assert SECRET_KEY not in repr(recorded)


def get_weather(city: str) -> str:
    """Weather for a city."""
    return f"Sunny in {city}."


def test_automatic_function_calling_gives_a_span_per_request(tel: TelemetryCapture) -> None:
    cassette = fixture_cassette("afc.yaml")
    result = cassette.client().models.generate_content(
        model="gemini-2.5-flash",
        contents="Weather in Oslo?",
        config=types.GenerateContentConfig(tools=[get_weather]),
    )
    assert result.text == "Sunny in Oslo."
    assert len(cassette.served) == 2
    spans = tel.spans()
    assert [s.name for s in spans] == ["generate_content gemini-2.5-flash"] * 2
    assert [s.attributes["gen_ai.response.id"] for s in spans] == ["afc-1", "afc-2"]
    assert list(spans[0].attributes["agentkit.response.tool_call.names"]) == ["get_weather"]
    assert [s.attributes["gen_ai.usage.input_tokens"] for s in spans] == [30, 50]


def test_embed_content(agentkit_telemetry: TelemetryCapture, instrument: Any) -> None:
    instrument(capture_content=True)
    cassette = fixture_cassette("embed.yaml")
    result = cassette.client().models.embed_content(
        model="gemini-embedding-001", contents=["first", "second"]
    )
    assert [e.values for e in result.embeddings] == [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]
    span = only_span(agentkit_telemetry)
    assert span.name == "embeddings gemini-embedding-001"
    assert span.attributes["gen_ai.operation.name"] == "embeddings"
    assert span.attributes["gen_ai.provider.name"] == "gcp.gemini"
    assert span.attributes["gen_ai.embeddings.dimension.count"] == 3
    assert json.loads(span.attributes["gen_ai.input.messages"]) == [
        {
            "role": "user",
            "parts": [{"type": "text", "content": "first"}, {"type": "text", "content": "second"}],
        }
    ]


def test_api_error(tel: TelemetryCapture) -> None:
    cassette = fixture_cassette("not_found.yaml")
    with pytest.raises(errors.ClientError, match="NOT_FOUND"):
        cassette.client().models.generate_content(model="gemini-nope", contents="Hi")
    span = only_span(tel)
    assert span.name == "generate_content gemini-nope"
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "ClientError"
    (duration,) = tel.metric_points("gen_ai.client.operation.duration")
    assert duration.attributes["error.type"] == "ClientError"


def test_uninstrument_restores_the_sdk(agentkit_telemetry: TelemetryCapture) -> None:
    from google.genai.models import AsyncModels, Models

    originals = [Models.__dict__["_generate_content"], AsyncModels.__dict__["embed_content"]]
    instrumentor = GoogleGenAIInstrumentor()
    instrumentor.instrument()
    assert Models.__dict__["_generate_content"] is not originals[0]
    instrumentor.uninstrument()
    assert [
        Models.__dict__["_generate_content"],
        AsyncModels.__dict__["embed_content"],
    ] == originals
    call_function_fixture()
    assert agentkit_telemetry.spans() == []
