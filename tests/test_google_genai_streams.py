"""google-genai streams: every way a caller finishes with one ends its span exactly once.

``generate_content_stream`` is a generator (its request is sent at the first
``next()``); the async one awaits the request and hands back an async
generator. The span is the request's (``_generate_content_stream``, inside
the SDK's public generator), so it ends when the caller's generator stops
pulling from it: exhausted, broken out of, closed, failed. A stream never
iterated sends no request and records nothing. Streams come from a
self-written fixture replayed through the real SDK.
"""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest
from google.genai import errors
from opentelemetry.trace import StatusCode

from otel_agentkit.instrumentation.google_genai import GoogleGenAIInstrumentor
from otel_agentkit.testing import TelemetryCapture
from tests.google_genai_helpers import fixture_cassette
from tests.llm_helpers import ended_once, instrument_fixture, tel_fixture

instrument = instrument_fixture(GoogleGenAIInstrumentor)
tel = tel_fixture()

REQUEST = {"model": "gemini-2.5-flash", "contents": "Count to three."}
TEXTS = ["One,", " two,", " three."]


def sync_stream(name: str = "stream.yaml") -> Any:
    return fixture_cassette(name).client().models.generate_content_stream(**REQUEST)


async def async_stream(name: str = "stream.yaml") -> Any:
    return await fixture_cassette(name).async_client().aio.models.generate_content_stream(**REQUEST)


def assert_complete(span: Any) -> None:
    attrs = span.attributes
    assert attrs["gen_ai.response.id"] == "fixture-stream-1"
    assert list(attrs["gen_ai.response.finish_reasons"]) == ["stop"]
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (5, 6)
    assert attrs["gen_ai.request.stream"] is True
    assert span.status.status_code is StatusCode.UNSET


def assert_cut_short(span: Any) -> None:
    """Stopped by the caller: what was seen is kept, nothing invented, no error."""
    attrs = span.attributes
    assert attrs["gen_ai.response.id"] == "fixture-stream-1"
    assert "gen_ai.response.finish_reasons" not in attrs
    assert "gen_ai.usage.output_tokens" not in attrs
    assert "error.type" not in attrs
    assert span.status.status_code is StatusCode.UNSET


# -- sync ---------------------------------------------------------------------------------


def test_sync_exhaust(tel: TelemetryCapture) -> None:
    assert [c.text for c in sync_stream()] == TEXTS
    assert_complete(ended_once(tel))
    (first,) = tel.metric_points("gen_ai.client.operation.time_to_first_chunk")
    assert first.count == 1
    (per_chunk,) = tel.metric_points("gen_ai.client.operation.time_per_output_chunk")
    assert per_chunk.count == 1


def test_sync_break(tel: TelemetryCapture) -> None:
    for _ in sync_stream():
        break
    gc.collect()
    assert_cut_short(ended_once(tel))


def test_sync_close(tel: TelemetryCapture) -> None:
    stream = sync_stream()
    next(stream)
    stream.close()
    assert_cut_short(ended_once(tel))
    with pytest.raises(StopIteration):
        next(stream)
    del stream
    gc.collect()
    ended_once(tel)


def test_sync_never_iterated_sends_nothing(tel: TelemetryCapture) -> None:
    cassette = fixture_cassette("stream.yaml")
    stream = cassette.client().models.generate_content_stream(**REQUEST)
    del stream
    gc.collect()
    assert cassette.served == []
    assert tel.spans() == []
    assert tel.metric_points("gen_ai.client.operation.duration") == []


def test_sync_error_mid_stream(tel: TelemetryCapture) -> None:
    stream = sync_stream("stream_error.yaml")
    assert next(stream).text == "One,"
    with pytest.raises(errors.UnknownApiResponseError):
        next(stream)
    span = ended_once(tel)
    assert span.attributes["error.type"] == "UnknownApiResponseError"
    assert span.attributes["gen_ai.response.id"] == "fixture-stream-2"  # seen before the error
    assert span.status.status_code is StatusCode.ERROR


def test_sync_caller_exception_in_loop(tel: TelemetryCapture) -> None:
    def consume() -> None:
        for _ in sync_stream():
            raise KeyError("caller bug")

    with pytest.raises(KeyError):
        consume()
    gc.collect()
    assert_cut_short(ended_once(tel))


# -- async --------------------------------------------------------------------------------


def test_async_exhaust(tel: TelemetryCapture) -> None:
    async def go() -> list[str | None]:
        return [c.text async for c in await async_stream()]

    assert asyncio.run(go()) == TEXTS
    assert_complete(ended_once(tel))


def test_async_break(tel: TelemetryCapture) -> None:
    async def go() -> None:
        async for _ in await async_stream():
            break

    asyncio.run(go())
    gc.collect()
    assert_cut_short(ended_once(tel))


async def loop_turns_until(condition: Any, turns: int = 100) -> None:
    """Let the event loop run (no timer) until ``condition()`` holds, a bounded number of turns."""
    for _ in range(turns):
        if condition():
            return
        await asyncio.sleep(0)


def test_async_aclose(tel: TelemetryCapture) -> None:
    """The SDK's generator leaves its inner one to the event loop to finalize: soon, not at once."""

    async def go() -> None:
        stream = await async_stream()
        await anext(stream)
        await stream.aclose()
        gc.collect()
        await loop_turns_until(tel.spans)
        assert_cut_short(ended_once(tel))

    asyncio.run(go())
    ended_once(tel)


def test_async_error_mid_stream(tel: TelemetryCapture) -> None:
    async def go() -> None:
        stream = await async_stream("stream_error.yaml")
        with pytest.raises(errors.UnknownApiResponseError):
            async for _ in stream:
                pass

    asyncio.run(go())
    span = ended_once(tel)
    assert span.attributes["error.type"] == "UnknownApiResponseError"
    assert span.status.status_code is StatusCode.ERROR
