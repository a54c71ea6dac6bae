"""``with_streaming_response.create(..., stream=True)`` then ``.parse()``: the full span.

This is how the OpenAI Agents SDK's ``Runner.run_streamed`` reads a model's
stream. The span must cover the stream (response id, usage, finish reasons,
time to first chunk, token metrics), not end empty when the headers arrive.
Chat streams come from the repository's own fixture; the Responses API stream
from the shared recorded traffic.
"""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest

from otel_agentkit.instrumentation.openai import OpenAIInstrumentor
from otel_agentkit.testing import TelemetryCapture
from tests.llm_helpers import ended_once, instrument_fixture, only_span, tel_fixture
from tests.openai_helpers import fixture_cassette
from tests.test_openai_responses import check_response_span, final_response, recorded

instrument = instrument_fixture(OpenAIInstrumentor)
tel = tel_fixture()

CHAT = fixture_cassette("chat_stream.yaml")
EVENTS = CHAT.stream_events()


def check_chat_stream_span(tel: TelemetryCapture) -> None:
    span = ended_once(tel)
    attrs = span.attributes
    usage = EVENTS[-1]["usage"]
    assert attrs["gen_ai.response.id"] == EVENTS[0]["id"]
    assert attrs["gen_ai.response.model"] == EVENTS[0]["model"]
    assert list(attrs["gen_ai.response.finish_reasons"]) == ["stop"]
    assert attrs["gen_ai.usage.input_tokens"] == usage["prompt_tokens"]
    assert attrs["gen_ai.usage.output_tokens"] == usage["completion_tokens"]
    assert attrs["gen_ai.response.time_to_first_chunk"] > 0
    tokens = tel.metric_points("gen_ai.client.token.usage")
    assert sorted(p.sum for p in tokens) == sorted(
        [usage["prompt_tokens"], usage["completion_tokens"]]
    )
    (first,) = tel.metric_points("gen_ai.client.operation.time_to_first_chunk")
    assert first.count == 1


def test_chat_stream_parsed_sync(tel: TelemetryCapture) -> None:
    client = fixture_cassette("chat_stream.yaml").client()
    with client.chat.completions.with_streaming_response.create(**CHAT.request_json()) as raw:
        chunks = list(raw.parse())
        assert raw.parse() is raw.parse()  # the response's cache gives the same stream
    assert [c.id for c in chunks] == [e["id"] for e in EVENTS]
    check_chat_stream_span(tel)


def test_chat_stream_parsed_async(tel: TelemetryCapture) -> None:
    async def go() -> list[Any]:
        client = fixture_cassette("chat_stream.yaml").async_client()
        async with client.chat.completions.with_streaming_response.create(
            **CHAT.request_json()
        ) as raw:
            stream = await raw.parse()
            return [chunk async for chunk in stream]

    chunks = asyncio.run(go())
    assert len(chunks) == len(EVENTS)
    check_chat_stream_span(tel)


def test_chat_stream_never_parsed_ends_with_the_block(tel: TelemetryCapture) -> None:
    client = fixture_cassette("chat_stream.yaml").client()
    with client.chat.completions.with_streaming_response.create(**CHAT.request_json()) as raw:
        assert b"data:" in raw.read()  # the caller reads the body itself
        assert tel.spans() == []
    span = ended_once(tel)
    assert span.attributes["gen_ai.request.model"] == CHAT.request_json()["model"]
    assert "gen_ai.response.id" not in span.attributes  # never read by us


def test_chat_stream_parsed_then_dropped_unread(tel: TelemetryCapture) -> None:
    client = fixture_cassette("chat_stream.yaml").client()
    raw = client.chat.completions.with_streaming_response.create(**CHAT.request_json())
    response = raw.__enter__()
    stream = response.parse()
    next(iter(stream))
    del stream, response, raw
    gc.collect()
    span = ended_once(tel)
    assert span.attributes["gen_ai.response.id"] == EVENTS[0]["id"]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_responses_stream_parsed(tel: TelemetryCapture, mode: str) -> None:
    cassette = recorded("create_streaming")
    kwargs = cassette.request_json()
    if mode == "sync":
        with cassette.client().responses.with_streaming_response.create(**kwargs) as raw:
            events = list(raw.parse())
    else:

        async def go() -> list[Any]:
            client = cassette.async_client()
            async with client.responses.with_streaming_response.create(**kwargs) as raw:
                return [event async for event in await raw.parse()]

        events = asyncio.run(go())
    assert len(events) == len(cassette.stream_events())
    span = only_span(tel)
    check_response_span(span, kwargs, final_response(cassette))
    assert span.attributes["gen_ai.response.time_to_first_chunk"] > 0
