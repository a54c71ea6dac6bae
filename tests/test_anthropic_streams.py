"""Anthropic stream lifecycle: every way a caller can finish with a stream ends its span once.

Streams come from self-written recordings (tests/fixtures/anthropic), replayed
through the real anthropic client, so these run without the shared cassettes.
Both ``messages.create(stream=True)`` and the ``messages.stream()`` manager
are covered. "Exactly once" is checked on both signals: one finished span,
and one duration measurement (a second end would record a second one).
"""

from __future__ import annotations

import asyncio
import gc
import json
from typing import Any

import anthropic
import pytest
from opentelemetry.trace import StatusCode

from otel_agentkit import semconv
from otel_agentkit.instrumentation.anthropic import AnthropicInstrumentor
from otel_agentkit.testing import TelemetryCapture
from tests.anthropic_helpers import SECRET_KEY, fixture_cassette, http_module, request_kwargs
from tests.llm_helpers import ended_once, instrument_fixture, tel_fixture

instrument = instrument_fixture(AnthropicInstrumentor)
tel = tel_fixture()


STREAM = fixture_cassette("message_stream.yaml")
EVENTS = [e for e in STREAM.stream_events() if e["type"] != "ping"]  # the SDK drops pings
START = EVENTS[0]["message"]
FINAL_DELTA = next(e for e in EVENTS if e["type"] == "message_delta")


def kwargs() -> dict[str, Any]:
    return request_kwargs(STREAM)


def sync_client() -> anthropic.Anthropic:
    return fixture_cassette("message_stream.yaml").client()


def async_client() -> anthropic.AsyncAnthropic:
    return fixture_cassette("message_stream.yaml").async_client()


def assert_complete(span: Any) -> None:
    attrs = span.attributes
    assert attrs[semconv.GEN_AI_RESPONSE_ID] == START["id"]
    assert list(attrs[semconv.GEN_AI_RESPONSE_FINISH_REASONS]) == [
        FINAL_DELTA["delta"]["stop_reason"]
    ]
    assert attrs[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] == FINAL_DELTA["usage"]["output_tokens"]
    assert list(attrs[semconv.AGENTKIT_RESPONSE_TOOL_CALL_NAMES]) == ["get_weather"]
    assert span.status.status_code is StatusCode.UNSET


def assert_cut_short(span: Any) -> None:
    """Stopped by the caller: what was seen is recorded, nothing invented, no error."""
    attrs = span.attributes
    assert attrs[semconv.GEN_AI_RESPONSE_ID] == START["id"]
    assert attrs[semconv.GEN_AI_RESPONSE_MODEL] == START["model"]
    assert semconv.GEN_AI_RESPONSE_FINISH_REASONS not in attrs
    assert semconv.GEN_AI_USAGE_OUTPUT_TOKENS not in attrs
    assert semconv.ERROR_TYPE not in attrs


# ---------------------------------------------------------------------------
# sync, create(stream=True)
# ---------------------------------------------------------------------------


def test_sync_exhaust(tel: TelemetryCapture) -> None:
    stream = sync_client().messages.create(stream=True, **kwargs())
    assert len(list(stream)) == len(EVENTS)
    assert_complete(ended_once(tel))
    stream.close()  # closing afterwards changes nothing
    del stream
    gc.collect()
    assert_complete(ended_once(tel))


def test_sync_break_ends_the_span_with_the_loop(tel: TelemetryCapture) -> None:
    def read_two() -> None:
        stream = sync_client().messages.create(stream=True, **kwargs())
        for i, _ in enumerate(stream):
            if i == 1:
                break
        # The loop dropped its iterator: ended although the caller still holds the stream.
        assert_cut_short(ended_once(tel))

    read_two()
    gc.collect()
    ended_once(tel)


def test_sync_close(tel: TelemetryCapture) -> None:
    stream = sync_client().messages.create(stream=True, **kwargs())
    next(stream)
    stream.close()
    assert stream.response.is_closed  # close() reached the real stream
    assert_cut_short(ended_once(tel))
    del stream
    gc.collect()
    ended_once(tel)


def test_sync_context_manager_exit(tel: TelemetryCapture) -> None:
    with sync_client().messages.create(stream=True, **kwargs()) as stream:
        next(stream)
        next(stream)
    assert_cut_short(ended_once(tel))


def test_sync_del_and_gc(tel: TelemetryCapture) -> None:
    stream = sync_client().messages.create(stream=True, **kwargs())
    next(stream)
    del stream
    gc.collect()
    assert_cut_short(ended_once(tel))


def test_sync_error_mid_stream(tel: TelemetryCapture) -> None:
    cassette = fixture_cassette("message_stream_error.yaml")
    stream = cassette.client().messages.create(stream=True, **request_kwargs(cassette))
    seen: list[Any] = []
    with pytest.raises(anthropic.APIError) as caught:
        seen.extend(stream)
    assert len(seen) == len(cassette.stream_events()) - 1  # every event before the error
    span = ended_once(tel)
    kind = type(caught.value).__name__
    assert span.attributes[semconv.ERROR_TYPE] == kind
    assert span.attributes[semconv.GEN_AI_RESPONSE_ID] == "msg_fixture_overloaded"
    assert span.status.status_code is StatusCode.ERROR
    (duration,) = tel.metric_points(semconv.GEN_AI_CLIENT_OPERATION_DURATION)
    assert duration.attributes[semconv.ERROR_TYPE] == kind
    assert tel.metric_points(semconv.GEN_AI_CLIENT_TOKEN_USAGE) == []


def test_sync_caller_exception_inside_with(tel: TelemetryCapture) -> None:
    class BoomError(Exception):
        pass

    def use_stream() -> None:
        with sync_client().messages.create(stream=True, **kwargs()) as stream:
            next(stream)
            raise BoomError

    with pytest.raises(BoomError):
        use_stream()
    assert ended_once(tel).attributes[semconv.ERROR_TYPE] == "BoomError"


# ---------------------------------------------------------------------------
# sync, the stream() manager
# ---------------------------------------------------------------------------


def test_manager_text_stream(tel: TelemetryCapture) -> None:
    with sync_client().messages.stream(**kwargs()) as stream:
        text = "".join(stream.text_stream)
        assert_complete(ended_once(tel))  # read to the end: ended, before the with exits
        final = stream.get_final_message()
    assert text == "Hello, world."
    assert final.id == START["id"]
    assert_complete(ended_once(tel))


def test_manager_get_final_message_without_with_exit(tel: TelemetryCapture) -> None:
    manager = sync_client().messages.stream(**kwargs())
    stream = manager.__enter__()
    stream.get_final_message()  # reads to the end: the span ends here
    assert_complete(ended_once(tel))
    manager.__exit__(None, None, None)
    ended_once(tel)


def test_manager_exit_before_the_end(tel: TelemetryCapture) -> None:
    with sync_client().messages.stream(**kwargs()) as stream:
        for event in stream:
            if event.type == "content_block_delta":
                break
    assert_cut_short(ended_once(tel))


def test_manager_exception_inside_with(tel: TelemetryCapture) -> None:
    class BoomError(Exception):
        pass

    def use_stream() -> None:
        with sync_client().messages.stream(**kwargs()) as stream:
            next(iter(stream))
            raise BoomError

    with pytest.raises(BoomError):
        use_stream()
    span = ended_once(tel)
    assert span.attributes[semconv.ERROR_TYPE] == "BoomError"
    assert span.attributes[semconv.GEN_AI_RESPONSE_ID] == START["id"]


def test_manager_is_still_the_clients_manager(tel: TelemetryCapture) -> None:
    from anthropic.lib.streaming import MessageStreamManager

    manager = sync_client().messages.stream(**kwargs())
    assert isinstance(manager, MessageStreamManager)
    with manager as stream:
        assert stream.get_final_text() == "Hello, world."
    assert_complete(ended_once(tel))


def test_manager_error_mid_stream(tel: TelemetryCapture) -> None:
    cassette = fixture_cassette("message_stream_error.yaml")
    with (
        pytest.raises(anthropic.APIError),
        cassette.client().messages.stream(**request_kwargs(cassette)) as stream,
    ):
        stream.get_final_message()
    assert ended_once(tel).status.status_code is StatusCode.ERROR


# ---------------------------------------------------------------------------
# async
# ---------------------------------------------------------------------------


def test_async_exhaust(tel: TelemetryCapture) -> None:
    async def go() -> int:
        stream = await async_client().messages.create(stream=True, **kwargs())
        return len([e async for e in stream])

    assert asyncio.run(go()) == len(EVENTS)
    assert_complete(ended_once(tel))


def test_async_break_ends_the_span_with_the_loop(tel: TelemetryCapture) -> None:
    async def go() -> None:
        stream = await async_client().messages.create(stream=True, **kwargs())
        async for _ in stream:
            break
        # The loop dropped its iterator: ended although the caller still holds the stream.
        assert_cut_short(ended_once(tel))
        del stream
        gc.collect()

    asyncio.run(go())
    ended_once(tel)


def test_async_close(tel: TelemetryCapture) -> None:
    async def go() -> None:
        stream = await async_client().messages.create(stream=True, **kwargs())
        await stream.__anext__()
        await stream.close()
        assert stream.response.is_closed

    asyncio.run(go())
    assert_cut_short(ended_once(tel))


def test_async_context_manager_exit(tel: TelemetryCapture) -> None:
    async def go() -> None:
        async with await async_client().messages.create(stream=True, **kwargs()) as stream:
            await stream.__anext__()

    asyncio.run(go())
    assert_cut_short(ended_once(tel))


def test_async_error_mid_stream(tel: TelemetryCapture) -> None:
    cassette = fixture_cassette("message_stream_error.yaml")

    async def go() -> None:
        client = cassette.async_client()
        stream = await client.messages.create(stream=True, **request_kwargs(cassette))
        async for _ in stream:
            pass

    with pytest.raises(anthropic.APIError) as caught:
        asyncio.run(go())
    assert ended_once(tel).attributes[semconv.ERROR_TYPE] == type(caught.value).__name__


def test_async_manager(tel: TelemetryCapture) -> None:
    async def go() -> str:
        async with async_client().messages.stream(**kwargs()) as stream:
            return "".join([t async for t in stream.text_stream])

    assert asyncio.run(go()) == "Hello, world."
    assert_complete(ended_once(tel))


def test_async_manager_exit_before_the_end(tel: TelemetryCapture) -> None:
    async def go() -> None:
        async with async_client().messages.stream(**kwargs()) as stream:
            async for event in stream:
                if event.type == "content_block_delta":
                    break

    asyncio.run(go())
    assert_cut_short(ended_once(tel))


def test_async_manager_exception_inside_with(tel: TelemetryCapture) -> None:
    class BoomError(Exception):
        pass

    async def go() -> None:
        async with async_client().messages.stream(**kwargs()) as stream:
            await stream.__anext__()
            raise BoomError

    with pytest.raises(BoomError):
        asyncio.run(go())
    assert ended_once(tel).attributes[semconv.ERROR_TYPE] == "BoomError"


# ---------------------------------------------------------------------------
# Per-event work
# ---------------------------------------------------------------------------


def long_stream_client(deltas: int) -> anthropic.Anthropic:
    """A stream of ``deltas`` text deltas, served through the client's own transport."""
    http = http_module()
    events = [
        ("message_start", dict(EVENTS[0])),
        ("content_block_start", EVENTS[1]),
        *[
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": f"w{i} "},
                },
            )
            for i in range(deltas)
        ],
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "max_tokens"},
                "usage": {"output_tokens": deltas},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    body = "".join(f"event: {e}\ndata: {json.dumps(d)}\n\n" for e, d in events).encode()

    def handler(request: Any) -> Any:
        return http.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    return anthropic.Anthropic(
        api_key=SECRET_KEY,
        http_client=http.Client(transport=http.MockTransport(handler)),
        max_retries=0,
    )


def test_state_does_not_grow_with_stream_length_without_capture(tel: TelemetryCapture) -> None:
    stream = long_stream_client(500).messages.create(stream=True, **kwargs())
    recorder = stream._self_recorder
    for _ in stream:
        assert all(block.pieces == [] for block in recorder.blocks.values())
    assert recorder.chunks == 500  # output deltas only: start/stop events are not chunks
    span = ended_once(tel)
    assert list(span.attributes[semconv.GEN_AI_RESPONSE_FINISH_REASONS]) == ["max_tokens"]
    assert span.attributes[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] == 500


def test_capture_on_joins_every_delta(
    agentkit_telemetry: TelemetryCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(semconv.ENV_CAPTURE_MESSAGE_CONTENT, "SPAN_ONLY")
    AnthropicInstrumentor().instrument()
    try:
        stream = long_stream_client(50).messages.create(stream=True, **kwargs())
        text = "".join(e.delta.text for e in stream if e.type == "content_block_delta")
    finally:
        AnthropicInstrumentor().uninstrument()
    output = json.loads(ended_once(agentkit_telemetry).attributes[semconv.GEN_AI_OUTPUT_MESSAGES])
    assert output == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": text}],
            "finish_reason": "max_tokens",
        }
    ]


def test_internal_error_while_reading_events_is_swallowed(
    tel: TelemetryCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from otel_agentkit.instrumentation.anthropic._messages import MessageStreamRecorder

    def broken(self: Any, chunk: Any) -> None:
        raise RuntimeError("bug in our event reader")

    monkeypatch.setattr(MessageStreamRecorder, "process", broken)
    events = list(sync_client().messages.create(stream=True, **kwargs()))
    assert [e.type for e in events] == [e["type"] for e in EVENTS]  # the caller saw every event
    assert ended_once(tel).attributes[semconv.GEN_AI_REQUEST_STREAM] is True
