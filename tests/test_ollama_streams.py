"""Ollama stream lifecycle: every way a caller finishes with a stream ends its span once.

``stream=True`` makes the ollama client return a generator (an async one from
``AsyncClient``) that sends the request at the first ``next()``. Streams come
from self-written recordings (tests/fixtures/ollama) replayed through the real
client. "Exactly once" is checked on two signals: one finished span and one
duration measurement (a second end would record a second one).
"""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import ollama
import pytest
from opentelemetry.trace import StatusCode

from otel_agentkit import semconv
from otel_agentkit.instrumentation.ollama import OllamaInstrumentor
from otel_agentkit.testing import TelemetryCapture
from tests.llm_helpers import ended_once, instrument_fixture, tel_fixture
from tests.ollama_helpers import fixture_cassette

instrument = instrument_fixture(OllamaInstrumentor)
tel = tel_fixture()


STREAM = fixture_cassette("generate_stream.yaml")
LINES = STREAM.stream_lines()


def sync_stream() -> Any:
    cassette = fixture_cassette("generate_stream.yaml")
    return cassette.client().generate(**cassette.call_kwargs())


async def async_stream() -> Any:
    cassette = fixture_cassette("generate_stream.yaml")
    return await cassette.async_client().generate(**cassette.call_kwargs())


def assert_complete(span: Any) -> None:
    final = LINES[-1]
    attrs = span.attributes
    assert attrs[semconv.GEN_AI_RESPONSE_MODEL] == final["model"]
    assert list(attrs[semconv.GEN_AI_RESPONSE_FINISH_REASONS]) == [final["done_reason"]]
    assert attrs[semconv.GEN_AI_USAGE_INPUT_TOKENS] == final["prompt_eval_count"]
    assert attrs[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] == final["eval_count"]
    assert span.status.status_code is StatusCode.UNSET


def assert_cut_short(span: Any) -> None:
    """Stopped by the caller: what was seen is recorded, nothing invented, no error."""
    attrs = span.attributes
    assert attrs[semconv.GEN_AI_RESPONSE_MODEL] == LINES[0]["model"]
    assert semconv.GEN_AI_RESPONSE_FINISH_REASONS not in attrs
    assert semconv.GEN_AI_USAGE_OUTPUT_TOKENS not in attrs
    assert semconv.ERROR_TYPE not in attrs
    assert span.status.status_code is StatusCode.UNSET


# ---------------------------------------------------------------------------
# sync
# ---------------------------------------------------------------------------


def test_sync_exhaust(tel: TelemetryCapture) -> None:
    stream = sync_stream()
    assert [c.response for c in stream] == [line["response"] for line in LINES]
    assert_complete(ended_once(tel))
    (per_chunk,) = tel.metric_points(semconv.GEN_AI_CLIENT_OPERATION_TIME_PER_OUTPUT_CHUNK)
    assert per_chunk.count == 1
    stream.close()  # closing afterwards changes nothing
    del stream
    gc.collect()
    assert_complete(ended_once(tel))


def test_sync_break_ends_the_span_with_the_loop(tel: TelemetryCapture) -> None:
    def read_two() -> None:
        stream = sync_stream()
        for i, _ in enumerate(stream):
            if i == 1:
                break
        # The loop dropped its iterator: ended although the caller still holds the stream.
        assert_cut_short(ended_once(tel))

    read_two()
    gc.collect()
    ended_once(tel)


def test_sync_close(tel: TelemetryCapture) -> None:
    stream = sync_stream()
    next(stream)
    stream.close()
    assert_cut_short(ended_once(tel))
    with pytest.raises(StopIteration):
        next(stream)  # close() reached the real generator
    del stream
    gc.collect()
    ended_once(tel)


def test_sync_never_iterated_then_dropped(tel: TelemetryCapture) -> None:
    stream = sync_stream()
    assert tel.spans() == []
    del stream
    gc.collect()
    span = ended_once(tel)
    assert span.status.status_code is StatusCode.UNSET
    assert tel.metric_points(semconv.GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK) == []


def test_sync_server_error_mid_stream(tel: TelemetryCapture) -> None:
    cassette = fixture_cassette("chat_stream_error.yaml")
    lines = cassette.stream_lines()
    stream = cassette.client().chat(**cassette.call_kwargs())
    first = next(stream)
    assert first.message.content == lines[0]["message"]["content"]
    with pytest.raises(ollama.ResponseError) as caught:
        next(stream)
    assert caught.value.error == lines[1]["error"]
    span = ended_once(tel)
    assert span.attributes[semconv.ERROR_TYPE] == "ResponseError"
    assert span.attributes[semconv.GEN_AI_RESPONSE_MODEL] == lines[0]["model"]
    assert span.status.status_code is StatusCode.ERROR
    del stream
    gc.collect()
    ended_once(tel)


def test_sync_caller_exception_in_loop(tel: TelemetryCapture) -> None:
    """The caller's own error is not the call's: the span ends without error.type."""

    def consume() -> None:
        for _ in sync_stream():
            raise KeyError("caller bug")

    with pytest.raises(KeyError):
        consume()
    gc.collect()
    assert_cut_short(ended_once(tel))


# ---------------------------------------------------------------------------
# async
# ---------------------------------------------------------------------------


def test_async_exhaust(tel: TelemetryCapture) -> None:
    async def go() -> list[str]:
        return [c.response async for c in await async_stream()]

    assert asyncio.run(go()) == [line["response"] for line in LINES]
    assert_complete(ended_once(tel))


def test_async_break_ends_the_span_with_the_loop(tel: TelemetryCapture) -> None:
    async def go() -> None:
        stream = await async_stream()
        async for _ in stream:
            break
        # The loop dropped its iterator: ended although the caller still holds the stream.
        assert_cut_short(ended_once(tel))
        del stream
        gc.collect()

    asyncio.run(go())
    ended_once(tel)


def test_async_aclose(tel: TelemetryCapture) -> None:
    async def go() -> None:
        stream = await async_stream()
        await stream.__anext__()
        await stream.aclose()
        assert_cut_short(ended_once(tel))
        with pytest.raises(StopAsyncIteration):
            await stream.__anext__()  # aclose() reached the real generator

    asyncio.run(go())
    ended_once(tel)


def test_async_server_error_mid_stream(tel: TelemetryCapture) -> None:
    cassette = fixture_cassette("chat_stream_error.yaml")

    async def go() -> None:
        stream = await cassette.async_client().chat(**cassette.call_kwargs())
        with pytest.raises(ollama.ResponseError):
            async for _ in stream:
                pass

    asyncio.run(go())
    span = ended_once(tel)
    assert span.attributes[semconv.ERROR_TYPE] == "ResponseError"
    assert span.status.status_code is StatusCode.ERROR
