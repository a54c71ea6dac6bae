"""Chunk timing, usage details and in-band stream errors, with exact values.

The streams here are real client streams (openai, anthropic) over their own
HTTP stacks; only the bytes come from the test, through the stack's
``MockTransport`` (no server can be made to pause between two events on
cue). The transport sets a controlled clock (``time.perf_counter``, which
the instrumentation reads) before it hands each event to the client, so
time-to-first-chunk, the mean gap between chunks and the duration are
exact: ``time_per_output_chunk`` is the spread of the output chunks divided
by one less than their count, and Anthropic's counts output deltas only and
ends at the last delta, not at the end of the stream.

Names are literals (the published conventions), never ``semconv`` constants.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from opentelemetry.trace import StatusCode

from otel_agentkit.instrumentation.anthropic import AnthropicInstrumentor
from otel_agentkit.instrumentation.openai import OpenAIInstrumentor
from otel_agentkit.testing import TelemetryCapture
from tests.anthropic_helpers import http_module

START = 100.0


class Clock:
    """``time.perf_counter`` as the test sets it: it moves only when an event is sent."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(time, "perf_counter", clock)
    return clock


def _sse(events: list[tuple[float, str]], clock: Clock) -> Iterator[bytes]:
    """Each event's bytes, the clock set to the event's time just before they are read."""
    for at, text in events:
        clock.now = at
        yield text.encode()


def _transport(http: Any, events: list[tuple[float, str]], clock: Clock) -> Any:
    def handle(request: Any) -> Any:
        return http.Response(
            200,
            headers={"content-type": "text/event-stream"},
            content=_sse(events, clock),
        )

    return http.MockTransport(handle)


def _json_transport(http: Any, body: dict[str, Any]) -> Any:
    return http.MockTransport(lambda request: http.Response(200, json=body))


def _point(tel: TelemetryCapture, name: str) -> Any:
    (point,) = tel.metric_points(name)
    assert point.count == 1
    return point


# ---------------------------------------------------------------------------
# OpenAI chat completions
# ---------------------------------------------------------------------------


@pytest.fixture
def openai_tel(agentkit_telemetry: TelemetryCapture) -> Iterator[TelemetryCapture]:
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument()
    yield agentkit_telemetry
    instrumentor.uninstrument()


def _chat_chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
    chunk = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-timing",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}] if delta else [],
        **extra,
    }
    return f"data: {json.dumps(chunk)}\n\n"


def _openai(transport: Any) -> openai.OpenAI:
    return openai.OpenAI(
        api_key="sk-test",
        base_url="https://api.openai.com/v1",
        http_client=httpx.Client(transport=transport),
        max_retries=0,
    )


def test_openai_chunk_timing_is_exact(openai_tel: TelemetryCapture, clock: Clock) -> None:
    usage = {
        "usage": {
            "prompt_tokens": 9,
            "completion_tokens": 4,
            "total_tokens": 13,
            "completion_tokens_details": {"reasoning_tokens": 2},
        }
    }
    events = [
        (100.5, _chat_chunk({"role": "assistant", "content": "a"})),
        (100.75, _chat_chunk({"content": "b"})),
        (101.0, _chat_chunk({"content": "c"}, "stop")),
        # the usage chunk and the end of the stream arrive together
        (101.25, _chat_chunk({}, **usage) + "data: [DONE]\n\n"),
    ]
    client = _openai(_transport(httpx, events, clock))
    stream = client.chat.completions.create(
        model="gpt-timing",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "abc"

    first = _point(openai_tel, "gen_ai.client.operation.time_to_first_chunk")
    per_chunk = _point(openai_tel, "gen_ai.client.operation.time_per_output_chunk")
    duration = _point(openai_tel, "gen_ai.client.operation.duration")
    assert first.sum == 0.5
    # four chunks over 0.75 s: three gaps of 0.25 s (n - 1, not n)
    assert per_chunk.sum == 0.25
    assert duration.sum == 1.25
    (span,) = openai_tel.spans()
    assert span.attributes["gen_ai.response.time_to_first_chunk"] == 0.5
    assert span.attributes["gen_ai.usage.reasoning.output_tokens"] == 2
    assert span.attributes["gen_ai.usage.output_tokens"] == 4


@pytest.mark.parametrize("chunks", [1, 2])
def test_openai_per_chunk_time_needs_two_chunks(
    openai_tel: TelemetryCapture, clock: Clock, chunks: int
) -> None:
    """One chunk has no gap to measure; two chunks have one."""
    texts = ["a", "b"][:chunks]
    events = [
        (100.5 + 0.5 * i, _chat_chunk({"content": text}, "stop" if i == chunks - 1 else None))
        for i, text in enumerate(texts)
    ]
    events[-1] = (events[-1][0], events[-1][1] + "data: [DONE]\n\n")
    client = _openai(_transport(httpx, events, clock))
    list(client.chat.completions.create(model="gpt-timing", messages=[], stream=True))
    assert _point(openai_tel, "gen_ai.client.operation.time_to_first_chunk").sum == 0.5
    per_chunk = openai_tel.metric_points("gen_ai.client.operation.time_per_output_chunk")
    assert [p.sum for p in per_chunk] == ([] if chunks == 1 else [0.5])


def test_openai_chat_reports_reasoning_and_cached_tokens(openai_tel: TelemetryCapture) -> None:
    body = {
        "id": "chatcmpl-2",
        "object": "chat.completion",
        "created": 1,
        "model": "o-reasoner",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "42"},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 20,
            "completion_tokens": 30,
            "total_tokens": 50,
            "prompt_tokens_details": {"cached_tokens": 16},
            "completion_tokens_details": {"reasoning_tokens": 24},
        },
    }
    client = _openai(_json_transport(httpx, body))
    client.chat.completions.create(model="o-reasoner", messages=[{"role": "user", "content": "?"}])
    (span,) = openai_tel.spans()
    assert {k: v for k, v in span.attributes.items() if k.startswith("gen_ai.usage.")} == {
        "gen_ai.usage.input_tokens": 20,
        "gen_ai.usage.output_tokens": 30,
        "gen_ai.usage.cache_read.input_tokens": 16,
        "gen_ai.usage.reasoning.output_tokens": 24,
    }
    tokens = {
        p.attributes["gen_ai.token.type"]: p.sum
        for p in openai_tel.metric_points("gen_ai.client.token.usage")
    }
    assert tokens == {"input": 20, "output": 30}


# ---------------------------------------------------------------------------
# OpenAI Responses: an error event in the stream
# ---------------------------------------------------------------------------


def _event(kind: str, **fields: Any) -> str:
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **fields})}\n\n"


def _created(response_id: str) -> dict[str, Any]:
    """A ``response.created`` event's response, as the API sends it."""
    return {
        "id": response_id,
        "object": "response",
        "created_at": 1,
        "model": "gpt-resp",
        "status": "in_progress",
        "output": [],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
    }


@pytest.mark.skipif(not hasattr(openai.OpenAI, "responses"), reason="no Responses API")
def test_responses_stream_error_event_marks_the_call_failed(
    openai_tel: TelemetryCapture, clock: Clock
) -> None:
    created = _created("resp_1")
    events = [
        (100.5, _event("response.created", response=created, sequence_number=0)),
        (
            101.0,
            _event(
                "error",
                code="server_error",
                message="the model crashed",
                param=None,
                sequence_number=1,
            ),
        ),
    ]
    client = _openai(_transport(httpx, events, clock))
    seen = [e.type for e in client.responses.create(model="gpt-resp", input="hi", stream=True)]
    assert seen == ["response.created", "error"]
    (span,) = openai_tel.spans()
    assert span.attributes["error.type"] == "server_error"
    assert span.attributes["gen_ai.response.id"] == "resp_1"
    assert span.attributes["gen_ai.response.model"] == "gpt-resp"
    duration = _point(openai_tel, "gen_ai.client.operation.duration")
    assert duration.attributes["error.type"] == "server_error"
    assert duration.sum == 1.0


def test_responses_stream_without_error_event_has_no_error_type(
    openai_tel: TelemetryCapture, clock: Clock
) -> None:
    if not hasattr(openai.OpenAI, "responses"):
        pytest.skip("no Responses API")
    created = _created("resp_2")
    events = [(100.5, _event("response.created", response=created, sequence_number=0))]
    client = _openai(_transport(httpx, events, clock))
    list(client.responses.create(model="gpt-resp", input="hi", stream=True))
    (span,) = openai_tel.spans()
    assert "error.type" not in span.attributes
    assert span.status.status_code is StatusCode.UNSET


# ---------------------------------------------------------------------------
# Anthropic: output deltas only, ending at the last delta
# ---------------------------------------------------------------------------


@pytest.fixture
def anthropic_tel(agentkit_telemetry: TelemetryCapture) -> Iterator[TelemetryCapture]:
    instrumentor = AnthropicInstrumentor()
    instrumentor.instrument()
    yield agentkit_telemetry
    instrumentor.uninstrument()


def test_anthropic_chunk_timing_counts_deltas_and_ends_at_the_last(
    anthropic_tel: TelemetryCapture, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    import anthropic

    monkeypatch.setenv("ANTHROPIC_OPEN_TELEMETRY", "false")
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-timing",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 1},
    }
    delta = {"type": "text_delta", "text": "x"}
    events = [
        (100.25, _event("message_start", message=message)),
        (100.3, _event("content_block_start", index=0, content_block={"type": "text", "text": ""})),
        (100.5, _event("content_block_delta", index=0, delta=delta)),
        (100.75, _event("content_block_delta", index=0, delta=delta)),
        (101.0, _event("content_block_delta", index=0, delta=delta)),
        (104.0, _event("content_block_stop", index=0)),
        (
            108.0,
            _event(
                "message_delta",
                delta={"stop_reason": "end_turn", "stop_sequence": None},
                usage={"output_tokens": 3},
            ),
        ),
        (109.0, _event("message_stop")),
    ]
    http = http_module()
    client = anthropic.Anthropic(
        api_key="sk-ant-test",
        base_url="https://api.anthropic.com",
        http_client=http.Client(transport=_transport(http, events, clock)),
        max_retries=0,
    )
    stream = client.messages.create(
        model="claude-timing",
        max_tokens=10,
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
    )
    assert sum(1 for e in stream if e.type == "content_block_delta") == 3

    first = _point(anthropic_tel, "gen_ai.client.operation.time_to_first_chunk")
    per_chunk = _point(anthropic_tel, "gen_ai.client.operation.time_per_output_chunk")
    duration = _point(anthropic_tel, "gen_ai.client.operation.duration")
    assert first.sum == 0.5  # the first delta, not message_start
    assert per_chunk.sum == 0.25  # (101.0 - 100.5) / 2: the last delta, not the stream's end
    assert duration.sum == 9.0
    (span,) = [s for s in anthropic_tel.spans() if s.name == "chat claude-timing"]
    assert span.attributes["gen_ai.usage.input_tokens"] == 10
    assert span.attributes["gen_ai.usage.output_tokens"] == 3
