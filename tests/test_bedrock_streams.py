"""Bedrock event streams: every way a caller finishes with one ends its span exactly once.

``converse_stream`` returns ``{"stream": EventStream}`` and
``invoke_model_with_response_stream`` ``{"body": EventStream}``; the request
is sent already, the events are read as the caller iterates. Streams come
from self-written fixtures replayed through real boto3 clients (botocore
decodes the event-stream frames). "Exactly once" is checked on two signals:
one finished span and one duration measurement.
"""

from __future__ import annotations

import gc
from typing import Any

import pytest
from botocore.exceptions import EventStreamError
from opentelemetry.trace import StatusCode

from otel_agentkit.instrumentation.bedrock import BedrockInstrumentor
from otel_agentkit.testing import TelemetryCapture
from tests.bedrock_helpers import BedrockCassette, fixture_cassette
from tests.conftest import cassettes_dir
from tests.llm_helpers import captured_content, ended_once, instrument_fixture, tel_fixture

instrument = instrument_fixture(BedrockInstrumentor)
tel = tel_fixture()

#: (fixture, the result's stream key, finish reason, input tokens, output tokens, output chunks)
STREAMS = [
    ("converse_stream.yaml", "stream", "tool_use", 15, 9, 4),
    ("invoke_stream.yaml", "body", "FINISH", 5, 6, 3),
]


def open_stream(name: str, key: str) -> Any:
    return fixture_cassette(name).call()[key]


def assert_cut_short(span: Any) -> None:
    """Stopped by the caller: nothing invented, no error."""
    assert "gen_ai.response.finish_reasons" not in span.attributes
    assert "gen_ai.usage.output_tokens" not in span.attributes
    assert "error.type" not in span.attributes
    assert span.status.status_code is StatusCode.UNSET


@pytest.mark.parametrize(("name", "key", "reason", "tokens_in", "tokens_out", "chunks"), STREAMS)
def test_exhausted(
    tel: TelemetryCapture,
    name: str,
    key: str,
    reason: str,
    tokens_in: int,
    tokens_out: int,
    chunks: int,
) -> None:
    stream = open_stream(name, key)
    events = list(stream)
    assert len(events) == len(fixture_cassette(name).events())
    span = ended_once(tel)
    attrs = span.attributes
    assert list(attrs["gen_ai.response.finish_reasons"]) == [reason]
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (
        tokens_in,
        tokens_out,
    )
    assert attrs["gen_ai.request.stream"] is True
    assert span.status.status_code is StatusCode.UNSET
    (first,) = tel.metric_points("gen_ai.client.operation.time_to_first_chunk")
    assert first.count == 1
    assert first.sum == pytest.approx(attrs["gen_ai.response.time_to_first_chunk"])
    (per_chunk,) = tel.metric_points("gen_ai.client.operation.time_per_output_chunk")
    assert per_chunk.count == 1  # one mean over the chunks (chunks > 1)
    assert chunks > 1
    stream.close()  # closing afterwards changes nothing
    del stream
    gc.collect()
    ended_once(tel)


def test_converse_stream_tool_call(tel: TelemetryCapture) -> None:
    list(open_stream("converse_stream.yaml", "stream"))
    attrs = ended_once(tel).attributes
    assert list(attrs["agentkit.response.tool_call.ids"]) == ["tooluse_fixture02"]
    assert list(attrs["agentkit.response.tool_call.names"]) == ["get_weather"]


@pytest.mark.parametrize(("name", "key"), [(s[0], s[1]) for s in STREAMS])
def test_break_ends_the_span_with_the_loop(tel: TelemetryCapture, name: str, key: str) -> None:
    stream = open_stream(name, key)
    for _ in stream:
        break
    # The loop dropped its iterator: ended although the caller still holds the stream.
    assert_cut_short(ended_once(tel))
    del stream
    gc.collect()
    ended_once(tel)


@pytest.mark.parametrize(("name", "key"), [(s[0], s[1]) for s in STREAMS])
def test_close(tel: TelemetryCapture, name: str, key: str) -> None:
    stream = open_stream(name, key)
    iterator = iter(stream)
    next(iterator)
    stream.close()
    assert_cut_short(ended_once(tel))
    del stream, iterator
    gc.collect()
    ended_once(tel)


@pytest.mark.parametrize(("name", "key"), [(s[0], s[1]) for s in STREAMS])
def test_never_iterated_then_dropped(tel: TelemetryCapture, name: str, key: str) -> None:
    result = fixture_cassette(name).call()
    assert tel.spans() == []
    del result
    gc.collect()
    span = ended_once(tel)
    assert span.status.status_code is StatusCode.UNSET
    assert tel.metric_points("gen_ai.client.operation.time_to_first_chunk") == []


def test_service_error_mid_stream(tel: TelemetryCapture) -> None:
    stream = open_stream("converse_stream_error.yaml", "stream")
    events = iter(stream)
    assert [list(next(events)), list(next(events))] == [["messageStart"], ["contentBlockDelta"]]
    with pytest.raises(EventStreamError, match="modelStreamErrorException"):
        next(events)
    span = ended_once(tel)
    assert span.attributes["error.type"] == "EventStreamError"
    assert span.status.status_code is StatusCode.ERROR
    (first,) = tel.metric_points("gen_ai.client.operation.time_to_first_chunk")
    assert first.count == 1  # one delta arrived before the error
    del stream, events
    gc.collect()
    ended_once(tel)


def test_caller_exception_in_loop(tel: TelemetryCapture) -> None:
    """The caller's own error is not the call's: the span ends without error.type."""

    def consume() -> None:
        for _ in open_stream("converse_stream.yaml", "stream"):
            raise KeyError("caller bug")

    with pytest.raises(KeyError):
        consume()
    gc.collect()
    assert_cut_short(ended_once(tel))


@pytest.mark.parametrize(
    ("name", "key", "parts", "reason"),
    [
        (
            "converse_stream.yaml",
            "stream",
            [
                {"type": "text", "content": "Let me check."},
                {
                    "type": "tool_call",
                    "id": "tooluse_fixture02",
                    "name": "get_weather",
                    "arguments": {"city": "Oslo"},
                },
            ],
            "tool_use",
        ),
        ("invoke_stream.yaml", "body", [{"type": "text", "content": "One, two, three."}], "FINISH"),
    ],
)
def test_streamed_output_captured(
    agentkit_telemetry: TelemetryCapture,
    instrument: Any,
    name: str,
    key: str,
    parts: list[dict[str, Any]],
    reason: str,
) -> None:
    """With capture on, the deltas are joined per block; a tool call's input is parsed."""
    instrument(capture_content=True)
    list(open_stream(name, key))
    content = captured_content(agentkit_telemetry, True, False)
    assert content["gen_ai.output.messages"] == [
        {"role": "assistant", "parts": parts, "finish_reason": reason}
    ]


def test_a_block_per_token_reads_as_one_text_part(
    agentkit_telemetry: TelemetryCapture, instrument: Any
) -> None:
    """Nova's InvokeModel stream sends every token as a block of its own (recorded traffic)."""
    cassette = BedrockCassette(cassettes_dir("bedrock") / "test_nova/test_nova_invoke_stream.yaml")
    events = [event["chunk"] for event in cassette.events()]
    deltas = [e["contentBlockDelta"] for e in events if "contentBlockDelta" in e]
    assert len({delta["contentBlockIndex"] for delta in deltas}) > 10  # the recording's shape
    instrument(capture_content=True)

    list(cassette.call()["body"])

    content = captured_content(agentkit_telemetry, True, False)
    [message] = content["gen_ai.output.messages"]
    text = "".join(delta["delta"]["text"] for delta in deltas)
    assert message["parts"] == [{"type": "text", "content": text}]
