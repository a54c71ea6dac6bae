"""Anthropic instrumentation against recorded API traffic, replayed through the real client.

Every expectation is read from the recording (response id, model, usage with
the cache counts, stop reason, tool_use blocks), never retyped. The
recordings are ../shared/cassettes/anthropic (OpenLLMetry's, Apache-2.0) and
the self-written ones under tests/fixtures/anthropic.
"""

from __future__ import annotations

import json
from typing import Any

import anthropic
import pytest
from opentelemetry.trace import SpanKind, StatusCode

from otel_agentkit import semconv
from otel_agentkit.instrumentation.anthropic import AnthropicInstrumentor
from otel_agentkit.testing import TelemetryCapture
from tests.anthropic_helpers import (
    SECRET_KEY,
    Cassette,
    fixture_cassette,
    request_kwargs,
)
from tests.conftest import cassettes_dir
from tests.llm_helpers import (
    CAPTURE_MODES,
    call_api,
    instrument_fixture,
    only_span,
    run,
    tel_fixture,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # old recorded models


instrument = instrument_fixture(AnthropicInstrumentor)
tel = tel_fixture()


def recorded(name: str) -> Cassette:
    return Cassette(cassettes_dir("anthropic") / name)


def our_spans(tel: TelemetryCapture) -> list[Any]:
    """Spans from otel-agentkit (anthropic 2.x traces on its own when we are not there)."""
    return [s for s in tel.spans() if s.instrumentation_scope.name == "otel_agentkit"]


def total_input(usage: dict[str, Any]) -> int:
    """What the conventions call input tokens: Anthropic's fresh + cache read + cache write."""
    return int(
        usage["input_tokens"]
        + (usage.get("cache_read_input_tokens") or 0)
        + (usage.get("cache_creation_input_tokens") or 0)
    )


def expected_from_message(response: dict[str, Any]) -> dict[str, Any]:
    """What a span should say about a recorded (non-streamed) Message."""
    tools = [b for b in response["content"] if b["type"] == "tool_use"]
    return {
        "id": response["id"],
        "model": response["model"],
        "stop_reason": response["stop_reason"],
        "usage": response["usage"],
        "tools": [(b["id"], b["name"]) for b in tools],
        "tool_inputs": [b["input"] for b in tools],
    }


def expected_from_stream(cassette: Cassette, index: int = 0) -> dict[str, Any]:
    """What a span should say about a recorded event stream, read from its events."""
    events = cassette.stream_events(index)
    start = next(e for e in events if e["type"] == "message_start")["message"]
    usage = dict(start["usage"])
    stop_reason = None
    tools = []
    for event in events:
        if event["type"] == "message_delta":
            stop_reason = event["delta"]["stop_reason"]
            usage.update({k: v for k, v in (event.get("usage") or {}).items() if v is not None})
        elif (
            event["type"] == "content_block_start" and event["content_block"]["type"] == "tool_use"
        ):
            tools.append((event["content_block"]["id"], event["content_block"]["name"]))
    return {
        "id": start["id"],
        "model": start["model"],
        "stop_reason": stop_reason,
        "usage": usage,
        "tools": tools,
        "deltas": sum(1 for e in events if e["type"] == "content_block_delta"),
    }


def check_span(span: Any, cassette: Cassette, expected: dict[str, Any], index: int = 0) -> None:
    """The span says what the recorded request asked and the recorded response answered."""
    request = cassette.request_json(index)
    attrs = span.attributes
    assert span.name == f"chat {request['model']}"
    assert span.kind is SpanKind.CLIENT
    assert span.instrumentation_scope.name == "otel_agentkit"
    assert attrs[semconv.GEN_AI_OPERATION_NAME] == "chat"
    assert attrs[semconv.GEN_AI_PROVIDER_NAME] == "anthropic"
    assert attrs[semconv.GEN_AI_REQUEST_MODEL] == request["model"]
    assert attrs[semconv.GEN_AI_REQUEST_MAX_TOKENS] == request["max_tokens"]
    assert attrs[semconv.SERVER_ADDRESS] == "api.anthropic.com"
    assert attrs[semconv.SERVER_PORT] == 443
    assert attrs[semconv.GEN_AI_RESPONSE_ID] == expected["id"]
    assert attrs[semconv.GEN_AI_RESPONSE_MODEL] == expected["model"]
    assert list(attrs[semconv.GEN_AI_RESPONSE_FINISH_REASONS]) == [expected["stop_reason"]]
    usage = expected["usage"]
    assert attrs[semconv.GEN_AI_USAGE_INPUT_TOKENS] == total_input(usage)
    assert attrs[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] == usage["output_tokens"]
    for key, attr in (
        ("cache_read_input_tokens", semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS),
        ("cache_creation_input_tokens", semconv.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS),
    ):
        if usage.get(key) is not None:
            assert attrs[attr] == usage[key]
        else:
            assert attr not in attrs
    if expected["tools"]:
        assert list(attrs[semconv.AGENTKIT_RESPONSE_TOOL_CALL_IDS]) == [
            t[0] for t in expected["tools"]
        ]
        assert list(attrs[semconv.AGENTKIT_RESPONSE_TOOL_CALL_NAMES]) == [
            t[1] for t in expected["tools"]
        ]
    else:
        assert semconv.AGENTKIT_RESPONSE_TOOL_CALL_IDS not in attrs
    for key in (
        semconv.GEN_AI_INPUT_MESSAGES,
        semconv.GEN_AI_OUTPUT_MESSAGES,
        semconv.GEN_AI_SYSTEM_INSTRUCTIONS,
    ):
        assert key not in attrs  # content is off by default
    assert span.status.status_code is not StatusCode.ERROR


def check_metrics(
    tel: TelemetryCapture, span: Any, expected: dict[str, Any], streamed: bool = False
) -> None:
    """Duration and token metrics recorded once, in the span's context (exemplar -> trace).

    Exemplars are handed out by the first collection after a recording: the
    ones checked are read from one collection.
    """
    model = expected["model"]
    found = tel.metrics()
    names = [semconv.GEN_AI_CLIENT_OPERATION_DURATION]
    if streamed:
        names += [
            semconv.GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK,
            semconv.GEN_AI_CLIENT_OPERATION_TIME_PER_OUTPUT_CHUNK,
        ]
    for name in names:
        (point,) = found[("otel_agentkit", name)].data.data_points
        assert point.count == 1
        assert set(point.attributes) <= semconv.METRIC_ATTRIBUTE_ALLOWLIST
        assert point.attributes[semconv.GEN_AI_PROVIDER_NAME] == "anthropic"
        assert point.attributes[semconv.GEN_AI_RESPONSE_MODEL] == model
        assert point.exemplars, f"{name} recorded without the span's context"
        assert point.exemplars[0].trace_id == span.context.trace_id
        assert point.exemplars[0].span_id == span.context.span_id
    usage = expected["usage"]
    for token_type, count in (
        ("input", total_input(usage)),
        ("output", usage["output_tokens"]),
    ):
        (point,) = tel.metric_points(
            semconv.GEN_AI_CLIENT_TOKEN_USAGE,
            {semconv.GEN_AI_TOKEN_TYPE: token_type, semconv.GEN_AI_RESPONSE_MODEL: model},
        )
        assert (point.count, point.sum) == (1, count)


# ---------------------------------------------------------------------------
# messages.create, not streamed
# ---------------------------------------------------------------------------

CREATE_CASSETTES = [
    "test_messages/test_anthropic_message_create_legacy.yaml",
    "test_messages/test_async_anthropic_message_create_legacy.yaml",
    "test_messages/test_anthropic_multi_modal_legacy.yaml",
    "test_messages/test_with_asyncio_run_legacy.yaml",
    "test_thinking/test_anthropic_thinking_legacy.yaml",
]


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("name", CREATE_CASSETTES)
def test_messages_create(tel: TelemetryCapture, mode: str, name: str) -> None:
    cassette = recorded(name)
    result = call_api(cassette, mode, lambda c: c.messages.create(**request_kwargs(cassette)))
    expected = expected_from_message(cassette.response_json())
    assert result.id == expected["id"]  # the caller's result is untouched
    span = only_span(tel)
    check_span(span, cassette, expected)
    assert semconv.GEN_AI_REQUEST_STREAM not in span.attributes
    check_metrics(tel, span, expected)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_prompt_caching_write_then_read(tel: TelemetryCapture, mode: str) -> None:
    name = "test_prompt_caching/test_anthropic_prompt_caching_legacy.yaml"
    if mode == "async":
        name = "test_prompt_caching/test_anthropic_prompt_caching_async_legacy.yaml"
    cassette = recorded(name)

    async def both_async(client: Any) -> None:
        for index in range(2):
            await client.messages.create(**request_kwargs(cassette, index))

    def both_sync(client: Any) -> None:
        for index in range(2):
            client.messages.create(**request_kwargs(cassette, index))

    call_api(cassette, mode, both_sync if mode == "sync" else both_async)
    first, second = tel.spans()
    for index, span in enumerate((first, second)):
        check_span(span, cassette, expected_from_message(cassette.response_json(index)), index)
    # The recording is a cache write then a read of the same prefix.
    assert first.attributes[semconv.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] > 0
    assert second.attributes[semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] > 0
    points = tel.metric_points(
        semconv.GEN_AI_CLIENT_TOKEN_USAGE, {semconv.GEN_AI_TOKEN_TYPE: "input"}
    )
    assert sum(p.sum for p in points) == sum(
        total_input(cassette.response_json(i)["usage"]) for i in range(2)
    )


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_tool_use_ids_and_names_without_arguments(tel: TelemetryCapture, mode: str) -> None:
    cassette = recorded("test_messages/test_anthropic_tools_legacy.yaml")
    call_api(cassette, mode, lambda c: c.messages.create(**request_kwargs(cassette)))
    span = only_span(tel)
    expected = expected_from_message(cassette.response_json())
    assert expected["tools"], "the recording has tool_use blocks"
    check_span(span, cassette, expected)
    dumped = json.dumps(dict(span.attributes), default=list)
    for tool_input in expected["tool_inputs"]:
        for value in tool_input.values():
            assert str(value) not in dumped  # arguments only with content capture


def test_tool_use_arguments_with_content(
    agentkit_telemetry: TelemetryCapture, instrument: Any
) -> None:
    instrument(capture_content="SPAN_ONLY")
    cassette = recorded("test_messages/test_anthropic_tools_legacy.yaml")
    request = request_kwargs(cassette)
    cassette.client().messages.create(**request)
    attrs = only_span(agentkit_telemetry).attributes
    expected = expected_from_message(cassette.response_json())
    (output,) = json.loads(attrs[semconv.GEN_AI_OUTPUT_MESSAGES])
    calls = [p for p in output["parts"] if p["type"] == "tool_call"]
    assert [(c["id"], c["name"]) for c in calls] == expected["tools"]
    assert [c["arguments"] for c in calls] == expected["tool_inputs"]
    assert output["finish_reason"] == "tool_use"
    definitions = json.loads(attrs[semconv.GEN_AI_TOOL_DEFINITIONS])
    assert [d["name"] for d in definitions] == [t["name"] for t in request["tools"]]
    assert definitions[0]["parameters"] == request["tools"][0]["input_schema"]


def test_tool_history_input_messages(agentkit_telemetry: TelemetryCapture, instrument: Any) -> None:
    """tool_use / tool_result blocks in the request become tool_call / tool_call_response parts."""
    instrument(capture_content="SPAN_ONLY")
    cassette = recorded("test_messages/test_anthropic_tools_history_legacy.yaml")
    request = request_kwargs(cassette)
    cassette.client().messages.create(**request)
    messages = json.loads(only_span(agentkit_telemetry).attributes[semconv.GEN_AI_INPUT_MESSAGES])
    sent_uses = [
        b
        for m in request["messages"]
        if isinstance(m["content"], list)
        for b in m["content"]
        if b["type"] == "tool_use"
    ]
    sent_results = [
        b
        for m in request["messages"]
        if isinstance(m["content"], list)
        for b in m["content"]
        if b["type"] == "tool_result"
    ]
    assert sent_uses, "the recording carries a tool round trip"
    assert sent_results
    parts = [p for m in messages for p in m["parts"]]
    assert [p["id"] for p in parts if p["type"] == "tool_call"] == [b["id"] for b in sent_uses]
    assert [p["id"] for p in parts if p["type"] == "tool_call_response"] == [
        b["tool_use_id"] for b in sent_results
    ]
    assert len(messages) == len(request["messages"])


def test_thinking_with_content(agentkit_telemetry: TelemetryCapture, instrument: Any) -> None:
    instrument(capture_content="SPAN_ONLY")
    cassette = recorded("test_thinking/test_anthropic_thinking_legacy.yaml")
    cassette.client().messages.create(**request_kwargs(cassette))
    (output,) = json.loads(only_span(agentkit_telemetry).attributes[semconv.GEN_AI_OUTPUT_MESSAGES])
    blocks = cassette.response_json()["content"]
    thinking = [b["thinking"] for b in blocks if b["type"] == "thinking"]
    assert thinking
    assert [p["content"] for p in output["parts"] if p["type"] == "reasoning"] == thinking
    assert [p["content"] for p in output["parts"] if p["type"] == "text"] == [
        b["text"] for b in blocks if b["type"] == "text"
    ]


def test_beta_messages_create(tel: TelemetryCapture) -> None:
    import inspect

    from anthropic.resources.beta.messages import Messages as BetaMessages

    cassette = recorded("test_structured_outputs/test_anthropic_structured_outputs_legacy.yaml")
    kwargs = request_kwargs(cassette)
    extra = kwargs.setdefault("extra_body", {})
    output_format = extra.pop("output_format", None) or kwargs.pop("output_format")
    takes_config = "output_config" in inspect.signature(BetaMessages.create).parameters
    if takes_config:
        kwargs["output_config"] = {"format": output_format}
    else:
        extra["output_format"] = output_format
    result = cassette.client().beta.messages.create(**kwargs)
    expected = expected_from_message(cassette.response_json())
    assert result.id == expected["id"]
    span = only_span(tel)
    check_span(span, cassette, expected)
    if takes_config:
        assert span.attributes[semconv.GEN_AI_OUTPUT_TYPE] == "json"


# ---------------------------------------------------------------------------
# Streams: create(stream=True) and the stream() helper
# ---------------------------------------------------------------------------

STREAM_CASSETTES = [
    "test_messages/test_anthropic_message_streaming_legacy.yaml",
    "test_messages/test_anthropic_tools_streaming_legacy.yaml",
    "test_thinking/test_anthropic_thinking_streaming_legacy.yaml",
    "test_prompt_caching/test_anthropic_prompt_caching_stream_legacy.yaml",
]


def check_stream_metrics(tel: TelemetryCapture, span: Any, expected: dict[str, Any]) -> None:
    check_metrics(tel, span, expected, streamed=True)
    (first,) = tel.metric_points(semconv.GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK)
    (duration,) = tel.metric_points(semconv.GEN_AI_CLIENT_OPERATION_DURATION)
    (per_chunk,) = tel.metric_points(semconv.GEN_AI_CLIENT_OPERATION_TIME_PER_OUTPUT_CHUNK)
    assert 0 < first.sum <= duration.sum
    # A mean gap between output deltas: at most the time they were spread over.
    assert 0 < per_chunk.sum <= (duration.sum - first.sum) / (expected["deltas"] - 1)
    assert span.attributes[semconv.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] == pytest.approx(first.sum)


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("name", STREAM_CASSETTES)
def test_create_stream(tel: TelemetryCapture, mode: str, name: str) -> None:
    cassette = recorded(name)

    def sync(client: Any) -> list[Any]:
        return list(client.messages.create(stream=True, **request_kwargs(cassette)))

    async def asynchronous(client: Any) -> list[Any]:
        stream = await client.messages.create(stream=True, **request_kwargs(cassette))
        return [event async for event in stream]

    events = call_api(cassette, mode, sync if mode == "sync" else asynchronous)
    sent = [e for e in cassette.stream_events() if e["type"] != "ping"]  # the SDK drops pings
    assert len(events) == len(sent)  # the caller saw every event
    span = only_span(tel)
    expected = expected_from_stream(cassette)
    check_span(span, cassette, expected)
    assert span.attributes[semconv.GEN_AI_REQUEST_STREAM] is True
    check_stream_metrics(tel, span, expected)


def test_stream_manager_sync(tel: TelemetryCapture) -> None:
    cassette = recorded("test_messages/test_anthropic_message_stream_manager_legacy.yaml")
    with cassette.client().messages.stream(**request_kwargs(cassette)) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    expected = expected_from_stream(cassette)
    assert final.id == expected["id"]
    assert text == "".join(b.text for b in final.content if b.type == "text")
    span = only_span(tel)
    check_span(span, cassette, expected)
    assert span.attributes[semconv.GEN_AI_REQUEST_STREAM] is True
    check_stream_metrics(tel, span, expected)


def test_stream_manager_async(tel: TelemetryCapture) -> None:
    cassette = recorded("test_messages/test_async_anthropic_message_stream_manager_legacy.yaml")

    async def go() -> Any:
        async with cassette.async_client().messages.stream(**request_kwargs(cassette)) as stream:
            async for _ in stream.text_stream:
                pass
            return await stream.get_final_message()

    final = run(go())
    expected = expected_from_stream(cassette)
    assert final.id == expected["id"]
    span = only_span(tel)
    check_span(span, cassette, expected)
    check_stream_metrics(tel, span, expected)


def test_beta_stream_manager_async(tel: TelemetryCapture) -> None:
    cassette = recorded(
        "test_messages/test_async_anthropic_beta_message_stream_manager_legacy.yaml"
    )

    async def go() -> Any:
        client = cassette.async_client()
        async with client.beta.messages.stream(**request_kwargs(cassette)) as stream:
            return await stream.get_final_message()

    final = run(go())
    expected = expected_from_stream(cassette)
    assert final.id == expected["id"]
    check_span(only_span(tel), cassette, expected)


def test_stream_manager_span_starts_when_entered(tel: TelemetryCapture) -> None:
    """Nothing is sent (and no span exists) until the manager is entered."""
    cassette = fixture_cassette("message_stream.yaml")
    manager = cassette.client().messages.stream(**request_kwargs(cassette))
    assert cassette.served == []
    assert tel.spans() == []
    with manager as stream:
        stream.until_done()
    assert len(cassette.served) == 1
    assert only_span(tel).attributes[semconv.GEN_AI_RESPONSE_ID] == "msg_fixture_stream"


def test_streaming_with_content_joins_deltas(
    agentkit_telemetry: TelemetryCapture, instrument: Any
) -> None:
    instrument(capture_content="SPAN_ONLY")
    cassette = recorded("test_messages/test_anthropic_tools_streaming_legacy.yaml")
    with cassette.client().messages.stream(**request_kwargs(cassette)) as stream:
        final = stream.get_final_message()
    (output,) = json.loads(only_span(agentkit_telemetry).attributes[semconv.GEN_AI_OUTPUT_MESSAGES])
    expected_parts: list[dict[str, Any]] = []
    for block in final.content:  # the SDK's own accumulation of the same events
        if block.type == "text":
            expected_parts.append({"type": "text", "content": block.text})
        elif block.type == "tool_use":
            expected_parts.append(
                {"type": "tool_call", "id": block.id, "name": block.name, "arguments": block.input}
            )
    assert output["parts"] == expected_parts
    assert output["finish_reason"] == final.stop_reason


def test_thinking_stream_with_content(
    agentkit_telemetry: TelemetryCapture, instrument: Any
) -> None:
    instrument(capture_content="SPAN_ONLY")
    cassette = recorded("test_thinking/test_anthropic_thinking_streaming_legacy.yaml")
    with cassette.client().messages.stream(**request_kwargs(cassette)) as stream:
        stream.until_done()
    (output,) = json.loads(only_span(agentkit_telemetry).attributes[semconv.GEN_AI_OUTPUT_MESSAGES])
    thinking_blocks: dict[int, list[str]] = {}
    for event in cassette.stream_events():  # the recorded deltas, joined per block
        if event["type"] == "content_block_delta" and event["delta"]["type"] == "thinking_delta":
            thinking_blocks.setdefault(event["index"], []).append(event["delta"]["thinking"])
    thinking = ["".join(pieces) for _, pieces in sorted(thinking_blocks.items())]
    assert thinking
    assert [p["content"] for p in output["parts"] if p["type"] == "reasoning"] == thinking


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_error_response_sets_error_type(tel: TelemetryCapture, mode: str) -> None:
    cassette = fixture_cassette("message_404.yaml")
    with pytest.raises(anthropic.NotFoundError):
        call_api(cassette, mode, lambda c: c.messages.create(**request_kwargs(cassette)))
    span = only_span(tel)
    assert span.name == "chat claude-nope"
    assert span.attributes[semconv.ERROR_TYPE] == "NotFoundError"
    assert span.status.status_code is StatusCode.ERROR
    assert SECRET_KEY not in (span.status.description or "")  # the echoed key is redacted
    (duration,) = tel.metric_points(semconv.GEN_AI_CLIENT_OPERATION_DURATION)
    assert duration.attributes[semconv.ERROR_TYPE] == "NotFoundError"
    assert tel.metric_points(semconv.GEN_AI_CLIENT_TOKEN_USAGE) == []


def test_error_from_stream_manager(tel: TelemetryCapture) -> None:
    cassette = fixture_cassette("message_404.yaml")
    manager = cassette.client().messages.stream(**request_kwargs(cassette))
    with pytest.raises(anthropic.NotFoundError), manager:
        pass
    assert only_span(tel).attributes[semconv.ERROR_TYPE] == "NotFoundError"


def test_connection_error_type(tel: TelemetryCapture) -> None:
    from tests.anthropic_helpers import http_module

    http = http_module()

    def refuse(request: Any) -> Any:
        raise http.ConnectError("refused", request=request)

    client = anthropic.Anthropic(
        api_key=SECRET_KEY,
        http_client=http.Client(transport=http.MockTransport(refuse)),
        max_retries=0,
    )
    with pytest.raises(anthropic.APIConnectionError):
        client.messages.create(**request_kwargs(fixture_cassette("message_basic.yaml")))
    assert only_span(tel).attributes[semconv.ERROR_TYPE] == "APIConnectionError"


# ---------------------------------------------------------------------------
# Content capture and secrets
# ---------------------------------------------------------------------------


@CAPTURE_MODES
def test_content_capture_modes(
    agentkit_telemetry: TelemetryCapture,
    instrument: Any,
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
    on_span: bool,
    on_event: bool,
) -> None:
    monkeypatch.setenv(semconv.ENV_CAPTURE_MESSAGE_CONTENT, mode)
    instrument()
    cassette = recorded("test_messages/test_with_asyncio_run_legacy.yaml")
    request = request_kwargs(cassette)
    cassette.client().messages.create(**request)
    span = only_span(agentkit_telemetry)
    response = cassette.response_json()
    answer = response["content"][0]["text"]
    expected_input = [
        {"role": m["role"], "parts": [{"type": "text", "content": m["content"]}]}
        for m in request["messages"]
    ]
    system = request["system"]
    expected_system = (
        [{"type": "text", "content": system}]
        if isinstance(system, str)
        else [{"type": "text", "content": block["text"]} for block in system]
    )
    expected_output = [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": answer}],
            "finish_reason": response["stop_reason"],
        }
    ]
    if on_span:
        attrs = span.attributes
        assert json.loads(attrs[semconv.GEN_AI_INPUT_MESSAGES]) == expected_input
        assert json.loads(attrs[semconv.GEN_AI_SYSTEM_INSTRUCTIONS]) == expected_system
        assert json.loads(attrs[semconv.GEN_AI_OUTPUT_MESSAGES]) == expected_output
    else:
        assert semconv.GEN_AI_INPUT_MESSAGES not in span.attributes
        assert answer[:40] not in json.dumps(dict(span.attributes), default=list)
    events = [
        r
        for r in agentkit_telemetry.logs()
        if r.log_record.event_name == semconv.GEN_AI_CLIENT_INFERENCE_OPERATION_DETAILS_EVENT
    ]
    if on_event:
        (event,) = events
        attrs = event.log_record.attributes
        assert json.loads(attrs[semconv.GEN_AI_INPUT_MESSAGES]) == expected_input
        assert json.loads(attrs[semconv.GEN_AI_SYSTEM_INSTRUCTIONS]) == expected_system
        assert json.loads(attrs[semconv.GEN_AI_OUTPUT_MESSAGES]) == expected_output
        assert attrs[semconv.GEN_AI_RESPONSE_ID] == response["id"]
        assert event.log_record.trace_id == span.context.trace_id
        assert event.log_record.span_id == span.context.span_id
    else:
        assert events == []


def test_images_are_described_not_copied(
    agentkit_telemetry: TelemetryCapture, instrument: Any
) -> None:
    instrument(capture_content="SPAN_ONLY")
    cassette = recorded("test_messages/test_anthropic_multi_modal_legacy.yaml")
    request = request_kwargs(cassette)
    cassette.client().messages.create(**request)
    attrs = only_span(agentkit_telemetry).attributes
    (message,) = json.loads(attrs[semconv.GEN_AI_INPUT_MESSAGES])
    (image,) = [p for p in message["parts"] if p.get("modality") == "image"]
    sent = next(b for b in request["messages"][0]["content"] if b["type"] == "image")
    assert image == {"type": "blob", "modality": "image", "mime_type": sent["source"]["media_type"]}
    assert sent["source"]["data"][:64] not in attrs[semconv.GEN_AI_INPUT_MESSAGES]


def test_api_key_never_reaches_telemetry(
    agentkit_telemetry: TelemetryCapture, instrument: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(semconv.ENV_CAPTURE_MESSAGE_CONTENT, "SPAN_AND_EVENT")
    instrument()
    basic = fixture_cassette("message_basic.yaml")
    basic.client().messages.create(**request_kwargs(basic))
    streamed = fixture_cassette("message_stream.yaml")
    with streamed.client().messages.stream(**request_kwargs(streamed)) as stream:
        stream.until_done()
    failing = fixture_cassette("message_404.yaml")
    with pytest.raises(anthropic.NotFoundError):
        failing.client().messages.create(**request_kwargs(failing))
    # The key did go over the wire (so it was there to leak) ...
    for sent in basic.served + streamed.served:
        headers = sent.headers
        assert SECRET_KEY in (headers.get("x-api-key") or headers.get("authorization") or "")
    # ... and appears nowhere in spans, events, logs or metrics.
    dump = [s.to_json() for s in agentkit_telemetry.spans()] + [
        r.to_json() for r in agentkit_telemetry.logs()
    ]
    data = agentkit_telemetry.metric_reader.get_metrics_data()
    assert data is not None
    dump.append(data.to_json())
    text = "\n".join(dump)
    assert SECRET_KEY not in text
    assert "x-api-key" not in text.lower()
    assert "Bearer" not in text
    assert len(agentkit_telemetry.spans()) == 3


def test_captured_content_is_redacted(
    agentkit_telemetry: TelemetryCapture, instrument: Any
) -> None:
    from otel_agentkit import _content

    instrument(capture_content=True)
    leaked = "sk-ant-api03-" + "A1b2C3d4E5f6G7h8I9j0" * 2
    _content.set_redaction([r"\b\d{3}-\d{2}-\d{4}\b"], hook=lambda t: t.replace("Bob", "B."))
    try:
        cassette = fixture_cassette("message_basic.yaml")
        cassette.client().messages.create(
            model="fixture-claude",
            max_tokens=10,
            messages=[{"role": "user", "content": f"I am Bob, SSN 123-45-6789, key {leaked}"}],
        )
    finally:
        _content.set_redaction()
    text = only_span(agentkit_telemetry).attributes[semconv.GEN_AI_INPUT_MESSAGES]
    (message,) = json.loads(text)
    assert message["parts"][0]["content"] == "I am B., SSN [REDACTED], key [REDACTED]"


# ---------------------------------------------------------------------------
# Offline basics (self-written fixture), raw responses, provider
# ---------------------------------------------------------------------------


def test_fixture_message_offline(tel: TelemetryCapture) -> None:
    """Runs without the shared cassettes: request parameters, cache counts, metrics."""
    cassette = fixture_cassette("message_basic.yaml")
    request = cassette.request_json()
    cassette.client().messages.create(**request_kwargs(cassette))
    span = only_span(tel)
    expected = expected_from_message(cassette.response_json())
    check_span(span, cassette, expected)
    attrs = span.attributes
    assert attrs[semconv.GEN_AI_REQUEST_TEMPERATURE] == request["temperature"]
    assert attrs[semconv.GEN_AI_REQUEST_TOP_P] == request["top_p"]
    assert attrs[semconv.GEN_AI_REQUEST_TOP_K] == request["top_k"]
    assert list(attrs[semconv.GEN_AI_REQUEST_STOP_SEQUENCES]) == request["stop_sequences"]
    usage = cassette.response_json()["usage"]
    assert attrs[semconv.GEN_AI_USAGE_INPUT_TOKENS] == 7 + 11 + 13 == total_input(usage)
    check_metrics(tel, span, expected)


def test_with_raw_response(tel: TelemetryCapture) -> None:
    cassette = fixture_cassette("message_basic.yaml")
    raw = cassette.client().messages.with_raw_response.create(**request_kwargs(cassette))
    assert raw.headers.get("request-id") == "req_fixture_basic"
    message = raw.parse()
    assert message.id == "msg_fixture_basic"
    check_span(only_span(tel), cassette, expected_from_message(cassette.response_json()))


def test_with_streaming_response_leaves_the_body_to_the_caller(tel: TelemetryCapture) -> None:
    cassette = fixture_cassette("message_basic.yaml")
    client = cassette.client()
    with client.messages.with_streaming_response.create(**request_kwargs(cassette)) as response:
        body = json.loads(response.read())
    assert body["id"] == "msg_fixture_basic"
    span = only_span(tel)
    assert span.name == "chat fixture-claude"
    assert semconv.GEN_AI_RESPONSE_ID not in span.attributes  # not read by us


def test_provider_name_override(agentkit_telemetry: TelemetryCapture, instrument: Any) -> None:
    instrument(provider_name="my_gateway")
    cassette = fixture_cassette("message_basic.yaml")
    cassette.client().messages.create(**request_kwargs(cassette))
    attrs = only_span(agentkit_telemetry).attributes
    assert attrs[semconv.GEN_AI_PROVIDER_NAME] == "my_gateway"


def test_server_from_base_url(tel: TelemetryCapture) -> None:
    cassette = fixture_cassette("message_basic.yaml")
    interaction = cassette.interactions[0]["request"]
    interaction["uri"] = "http://127.0.0.1:8123/v1/messages"
    cassette.client(base_url="http://127.0.0.1:8123").messages.create(**request_kwargs(cassette))
    attrs = only_span(tel).attributes
    assert (attrs[semconv.SERVER_ADDRESS], attrs[semconv.SERVER_PORT]) == ("127.0.0.1", 8123)


# ---------------------------------------------------------------------------
# Lifecycle of the instrumentation itself
# ---------------------------------------------------------------------------


def test_uninstrument_restores_and_twice_wraps_once(
    agentkit_telemetry: TelemetryCapture, instrument: Any
) -> None:
    from anthropic.resources.messages import AsyncMessages, Messages

    originals = (Messages.create, Messages.stream, AsyncMessages.create)
    instrumentor = instrument()
    instrument()  # a second instrument() is a no-op
    assert Messages.create is not originals[0]
    assert Messages.create.__wrapped__ is originals[0]  # exactly one layer
    assert Messages.stream.__wrapped__ is originals[1]
    cassette = fixture_cassette("message_basic.yaml")
    cassette.client().messages.create(**request_kwargs(cassette))
    assert len(agentkit_telemetry.spans()) == 1
    instrumentor.uninstrument()
    assert (Messages.create, Messages.stream, AsyncMessages.create) == originals
    fixture_cassette("message_basic.yaml").client().messages.create(**request_kwargs(cassette))
    assert len(our_spans(agentkit_telemetry)) == 1


def test_internal_errors_never_reach_the_caller(
    tel: TelemetryCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from otel_agentkit.instrumentation.anthropic import _messages

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("bug in our reader")

    monkeypatch.setattr(AnthropicInstrumentor, "start", broken)
    cassette = fixture_cassette("message_basic.yaml")
    assert cassette.client().messages.create(**request_kwargs(cassette)).id == "msg_fixture_basic"
    monkeypatch.undo()
    monkeypatch.setattr(_messages, "_usage", broken)
    monkeypatch.setattr(_messages.MessageStreamRecorder, "process", broken)
    cassette = fixture_cassette("message_basic.yaml")
    assert cassette.client().messages.create(**request_kwargs(cassette)).id == "msg_fixture_basic"
    streamed = fixture_cassette("message_stream.yaml")
    with streamed.client().messages.stream(**request_kwargs(streamed)) as stream:
        assert stream.get_final_message().id == "msg_fixture_stream"
    assert len(our_spans(tel)) == 2  # the broken reader still ended its spans


def test_suppressed_instrumentation_makes_no_span(tel: TelemetryCapture) -> None:
    from opentelemetry.instrumentation.utils import suppress_instrumentation

    cassette = fixture_cassette("message_basic.yaml")
    with suppress_instrumentation():
        cassette.client().messages.create(**request_kwargs(cassette))
    assert our_spans(tel) == []


def test_unsupported_anthropic_version_is_left_alone(
    agentkit_telemetry: TelemetryCapture,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from anthropic.resources.messages import Messages

    from otel_agentkit.instrumentation import _base

    original = Messages.create
    monkeypatch.setattr(_base, "installed_version", lambda name: "0.30.0")
    instrumentor = AnthropicInstrumentor()
    instrumentor.instrument(skip_dep_check=True)  # as the launcher does
    try:
        assert Messages.create is original
        assert "anthropic 0.30.0 is not supported" in caplog.text
    finally:
        instrumentor.uninstrument()


def test_vertex_client_names_its_platform(tel: TelemetryCapture) -> None:
    """Claude on Vertex AI goes through the same methods; provider and server follow the client."""
    from tests.anthropic_helpers import http_module

    http = http_module()
    body = fixture_cassette("message_basic.yaml").response_text().encode()
    sent: list[Any] = []

    def handler(request: Any) -> Any:
        sent.append(request)
        return http.Response(200, headers={"content-type": "application/json"}, content=body)

    client = anthropic.AnthropicVertex(
        project_id="my-project",
        region="us-east5",
        access_token=SECRET_KEY,
        http_client=http.Client(transport=http.MockTransport(handler)),
        max_retries=0,
    )
    client.messages.create(
        model="claude-fixture@2025", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
    )
    assert len(sent) == 1
    attrs = only_span(tel).attributes
    assert attrs[semconv.GEN_AI_PROVIDER_NAME] == "gcp.vertex_ai"
    assert attrs[semconv.SERVER_ADDRESS] == sent[0].url.host == "us-east5-aiplatform.googleapis.com"
    assert attrs[semconv.GEN_AI_RESPONSE_ID] == "msg_fixture_basic"


def test_instrument_by_name_uses_the_entry_point(agentkit_telemetry: TelemetryCapture) -> None:
    import otel_agentkit.instrumentation as instrumentation

    assert instrumentation.available()["anthropic"] == (
        "otel_agentkit.instrumentation.anthropic:AnthropicInstrumentor"
    )
    assert instrumentation.instrument("anthropic") == ["anthropic"]
    try:
        cassette = fixture_cassette("message_basic.yaml")
        cassette.client().messages.create(**request_kwargs(cassette))
        assert only_span(agentkit_telemetry).name == "chat fixture-claude"
    finally:
        instrumentation.uninstrument("anthropic")
