"""Stream lifecycle: every way a caller can finish with a stream ends its span exactly once.

Streams come from self-written recordings (tests/fixtures/openai), replayed
through the real openai client, so these run without the shared cassettes.
"Exactly once" is checked on both signals: one finished span, and one
duration measurement (a second end would record a second one).
"""

from __future__ import annotations

import asyncio
import gc
import json
from typing import Any

import openai
import pytest
from opentelemetry.trace import StatusCode

from otel_agentkit import semconv
from otel_agentkit.instrumentation.openai import OpenAIInstrumentor
from otel_agentkit.testing import FakeModelServer, TelemetryCapture
from tests.llm_helpers import ended_once, instrument_fixture, tel_fixture
from tests.openai_helpers import SECRET_KEY, fixture_cassette

instrument = instrument_fixture(OpenAIInstrumentor)
tel = tel_fixture()


STREAM = fixture_cassette("chat_stream.yaml")
EVENTS = STREAM.stream_events()


def stream_kwargs() -> dict[str, Any]:
    return STREAM.request_json()


def sync_client() -> openai.OpenAI:
    return fixture_cassette("chat_stream.yaml").client()


def async_client() -> openai.AsyncOpenAI:
    return fixture_cassette("chat_stream.yaml").async_client()


def assert_complete(span: Any) -> None:
    usage = EVENTS[-1]["usage"]
    attrs = span.attributes
    assert attrs[semconv.GEN_AI_RESPONSE_ID] == EVENTS[0]["id"]
    assert list(attrs[semconv.GEN_AI_RESPONSE_FINISH_REASONS]) == ["stop"]
    assert attrs[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] == usage["completion_tokens"]
    assert span.status.status_code is StatusCode.UNSET


def assert_cut_short(span: Any) -> None:
    """Stopped by the caller: what was seen is recorded, nothing invented, no error."""
    attrs = span.attributes
    assert attrs[semconv.GEN_AI_RESPONSE_ID] == EVENTS[0]["id"]
    assert attrs[semconv.GEN_AI_RESPONSE_MODEL] == EVENTS[0]["model"]
    assert semconv.GEN_AI_RESPONSE_FINISH_REASONS not in attrs
    assert semconv.GEN_AI_USAGE_OUTPUT_TOKENS not in attrs
    assert semconv.ERROR_TYPE not in attrs


# ---------------------------------------------------------------------------
# sync
# ---------------------------------------------------------------------------


def test_sync_exhaust(tel: TelemetryCapture) -> None:
    stream = sync_client().chat.completions.create(**stream_kwargs())
    assert len(list(stream)) == len(EVENTS)
    assert_complete(ended_once(tel))
    stream.close()  # closing afterwards changes nothing
    del stream
    gc.collect()
    assert_complete(ended_once(tel))


def test_sync_break_ends_the_span_with_the_loop(tel: TelemetryCapture) -> None:
    stream = sync_client().chat.completions.create(**stream_kwargs())
    for i, _ in enumerate(stream):
        if i == 1:
            break
    # The loop's iterator is gone: the span ends although the caller still holds the stream.
    assert_cut_short(ended_once(tel))
    del stream
    gc.collect()
    ended_once(tel)


def test_sync_exception_in_loop_body_ends_the_span_while_held(tel: TelemetryCapture) -> None:
    class BoomError(Exception):
        pass

    stream = sync_client().chat.completions.create(**stream_kwargs())
    caught: BaseException | None = None
    try:
        for _ in stream:
            raise BoomError
    except BoomError as exc:
        caught = exc  # the caller holds the exception (its traceback holds the frame)
    assert caught is not None
    span = ended_once(tel)  # ended now, with what was read: not at some later collection
    assert_cut_short(span)
    assert span.status.status_code is StatusCode.UNSET
    stream.close()  # close() on the proxy still works, and ends nothing twice
    assert stream.response.is_closed
    ended_once(tel)


def test_sync_close(tel: TelemetryCapture) -> None:
    stream = sync_client().chat.completions.create(**stream_kwargs())
    next(stream)
    stream.close()
    assert stream.response.is_closed  # close() reached the real stream
    assert_cut_short(ended_once(tel))
    del stream
    gc.collect()
    ended_once(tel)


def test_sync_context_manager_exit(tel: TelemetryCapture) -> None:
    with sync_client().chat.completions.create(**stream_kwargs()) as stream:
        next(stream)
        next(stream)
    assert_cut_short(ended_once(tel))


def test_sync_del_and_gc(tel: TelemetryCapture) -> None:
    stream = sync_client().chat.completions.create(**stream_kwargs())
    next(stream)
    del stream
    gc.collect()
    assert_cut_short(ended_once(tel))


def test_sync_never_iterated_then_dropped(tel: TelemetryCapture) -> None:
    stream = sync_client().chat.completions.create(**stream_kwargs())
    assert tel.spans() == []
    del stream
    gc.collect()
    span = ended_once(tel)
    assert semconv.GEN_AI_RESPONSE_ID not in span.attributes  # nothing was read
    assert span.status.status_code is StatusCode.UNSET


def test_sync_loop_outlives_the_stream_object(tel: TelemetryCapture) -> None:
    # A for loop holds only the iterator: dropping the stream object mid-loop must
    # neither end the span early nor lose the chunks still to come.
    stream = sync_client().chat.completions.create(**stream_kwargs())
    chunks = iter(stream)
    del stream
    gc.collect()
    assert tel.spans() == []
    assert len(list(chunks)) == len(EVENTS)
    assert_complete(ended_once(tel))


def test_sync_iterator_dropped_with_the_stream_ends_the_span(tel: TelemetryCapture) -> None:
    stream = sync_client().chat.completions.create(**stream_kwargs())
    chunks = iter(stream)
    next(chunks)
    assert next(stream).id == EVENTS[1]["id"]  # next() on the stream reads the same chunks
    del stream, chunks
    gc.collect()
    assert_cut_short(ended_once(tel))


def test_sync_error_mid_stream(tel: TelemetryCapture) -> None:
    cassette = fixture_cassette("chat_stream_error.yaml")
    stream = cassette.client().chat.completions.create(**cassette.request_json())
    seen: list[Any] = []
    with pytest.raises(openai.APIError) as caught:
        seen.extend(stream)
    assert len(seen) == len(cassette.stream_events()) - 1  # all chunks before the error event
    span = ended_once(tel)
    assert span.attributes[semconv.ERROR_TYPE] == type(caught.value).__name__ == "APIError"
    assert span.attributes[semconv.GEN_AI_RESPONSE_ID] == cassette.stream_events()[0]["id"]
    assert span.status.status_code is StatusCode.ERROR
    (duration,) = tel.metric_points(semconv.GEN_AI_CLIENT_OPERATION_DURATION)
    assert duration.attributes[semconv.ERROR_TYPE] == "APIError"


def test_sync_caller_exception_inside_with(tel: TelemetryCapture) -> None:
    class BoomError(Exception):
        pass

    def use_stream() -> None:
        with sync_client().chat.completions.create(**stream_kwargs()) as stream:
            next(stream)
            raise BoomError

    with pytest.raises(BoomError):
        use_stream()
    span = ended_once(tel)
    assert span.attributes[semconv.ERROR_TYPE] == "BoomError"


def test_sync_loop_inside_with_ends_at_the_block_exit(tel: TelemetryCapture) -> None:
    class BoomError(Exception):
        pass

    def use_stream() -> None:
        with sync_client().chat.completions.create(**stream_kwargs()) as stream:
            for _ in stream:
                break
            assert tel.spans() == []  # the with block, not the loop, owns the end
            for _ in stream:
                raise BoomError

    with pytest.raises(BoomError):
        use_stream()
    assert ended_once(tel).attributes[semconv.ERROR_TYPE] == "BoomError"


# ---------------------------------------------------------------------------
# async
# ---------------------------------------------------------------------------


def test_async_exhaust(tel: TelemetryCapture) -> None:
    async def go() -> int:
        stream = await async_client().chat.completions.create(**stream_kwargs())
        return len([c async for c in stream])

    assert asyncio.run(go()) == len(EVENTS)
    assert_complete(ended_once(tel))


def test_async_break_ends_the_span_with_the_loop(tel: TelemetryCapture) -> None:
    async def go() -> None:
        stream = await async_client().chat.completions.create(**stream_kwargs())
        async for _ in stream:
            break
        # The loop's iterator is gone: ended although the caller still holds the stream.
        assert_cut_short(ended_once(tel))
        await stream.response.aclose()  # tidy the transport; our proxy is not involved

    asyncio.run(go())
    gc.collect()
    ended_once(tel)


def test_async_exception_in_loop_body_ends_the_span_while_held(tel: TelemetryCapture) -> None:
    class BoomError(Exception):
        pass

    async def go() -> None:
        stream = await async_client().chat.completions.create(**stream_kwargs())
        caught: BaseException | None = None
        try:
            async for _ in stream:
                raise BoomError
        except BoomError as exc:
            caught = exc
        assert caught is not None
        assert_cut_short(ended_once(tel))
        await stream.close()  # still works on the proxy
        ended_once(tel)

    asyncio.run(go())


def test_async_close(tel: TelemetryCapture) -> None:
    async def go() -> None:
        stream = await async_client().chat.completions.create(**stream_kwargs())
        await stream.__anext__()
        await stream.close()
        assert stream.response.is_closed

    asyncio.run(go())
    assert_cut_short(ended_once(tel))


def test_async_context_manager_exit(tel: TelemetryCapture) -> None:
    async def go() -> None:
        async with await async_client().chat.completions.create(**stream_kwargs()) as stream:
            await stream.__anext__()

    asyncio.run(go())
    assert_cut_short(ended_once(tel))


def test_async_del_and_gc(tel: TelemetryCapture) -> None:
    async def go() -> None:
        stream = await async_client().chat.completions.create(**stream_kwargs())
        await stream.__anext__()
        await stream.response.aclose()
        del stream
        gc.collect()
        assert len(tel.spans()) == 1  # ended by collection, inside the loop

    asyncio.run(go())
    assert_cut_short(ended_once(tel))


def test_async_loop_outlives_the_stream_object(tel: TelemetryCapture) -> None:
    async def go() -> int:
        stream = await async_client().chat.completions.create(**stream_kwargs())
        chunks = stream.__aiter__()
        del stream
        gc.collect()
        assert tel.spans() == []
        return len([c async for c in chunks])

    assert asyncio.run(go()) == len(EVENTS)
    assert_complete(ended_once(tel))


def test_async_error_mid_stream(tel: TelemetryCapture) -> None:
    cassette = fixture_cassette("chat_stream_error.yaml")

    async def go() -> None:
        stream = await cassette.async_client().chat.completions.create(**cassette.request_json())
        async for _ in stream:
            pass

    with pytest.raises(openai.APIError):
        asyncio.run(go())
    span = ended_once(tel)
    assert span.attributes[semconv.ERROR_TYPE] == "APIError"


def test_async_caller_exception_inside_with(tel: TelemetryCapture) -> None:
    async def go() -> None:
        async with await async_client().chat.completions.create(**stream_kwargs()) as stream:
            await stream.__anext__()
            raise KeyError("caller bug")

    with pytest.raises(KeyError):
        asyncio.run(go())
    assert ended_once(tel).attributes[semconv.ERROR_TYPE] == "KeyError"


# ---------------------------------------------------------------------------
# Memory and per-chunk state
# ---------------------------------------------------------------------------


def long_stream(server: FakeModelServer, words: int) -> Any:
    """A stream of ``words`` one-word content chunks that stops at ``max_tokens`` (length)."""
    server.reply_next(" ".join(f"w{i}" for i in range(words + 100)))
    client = openai.OpenAI(api_key=SECRET_KEY, base_url=server.base_url, max_retries=0)
    return client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "x"}], stream=True, max_tokens=words
    )


def test_state_does_not_grow_with_stream_length_without_capture(
    tel: TelemetryCapture, agentkit_model_server: FakeModelServer
) -> None:
    stream = long_stream(agentkit_model_server, 500)
    recorder = stream._self_recorder
    for _ in stream:
        assert recorder.texts == {}  # no content kept when capture is off
    assert recorder.chunks == 502  # the role chunk, 500 words, the finish chunk
    assert recorder.finish_reasons == {0: "length"}
    assert list(ended_once(tel).attributes[semconv.GEN_AI_RESPONSE_FINISH_REASONS]) == ["length"]


def test_capture_on_joins_every_delta(
    agentkit_telemetry: TelemetryCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(semconv.ENV_CAPTURE_MESSAGE_CONTENT, "SPAN_ONLY")
    OpenAIInstrumentor().instrument()
    try:
        stream = sync_client().chat.completions.create(**stream_kwargs())
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    finally:
        OpenAIInstrumentor().uninstrument()
    output = json.loads(ended_once(agentkit_telemetry).attributes[semconv.GEN_AI_OUTPUT_MESSAGES])
    assert output == [
        {"role": "assistant", "parts": [{"type": "text", "content": text}], "finish_reason": "stop"}
    ]


def test_internal_error_while_reading_chunks_is_swallowed(
    tel: TelemetryCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from otel_agentkit.instrumentation.openai._calls import ChatStreamRecorder

    def broken(self: Any, chunk: Any) -> None:
        raise RuntimeError("bug in our chunk reader")

    monkeypatch.setattr(ChatStreamRecorder, "process", broken)
    chunks = list(sync_client().chat.completions.create(**stream_kwargs()))
    assert [c.id for c in chunks] == [e["id"] for e in EVENTS]  # the caller saw every chunk
    assert ended_once(tel).attributes[semconv.GEN_AI_REQUEST_STREAM] is True
