"""The Responses API (``client.responses.create``), replayed from recorded traffic.

Recordings were made with the sync client; the async client sends the same
request to the same URL, so both replay them.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import openai
import pytest
from opentelemetry.trace import StatusCode

from otel_agentkit import semconv
from otel_agentkit.instrumentation.openai import OpenAIInstrumentor
from otel_agentkit.testing import TelemetryCapture
from tests.conftest import cassettes_dir
from tests.llm_helpers import instrument_fixture, only_span, tel_fixture
from tests.openai_helpers import Cassette

if not hasattr(openai.OpenAI, "responses"):  # a version question, not a missing component
    pytest.skip(f"openai {openai.__version__} has no Responses API", allow_module_level=True)


instrument = instrument_fixture(OpenAIInstrumentor)
tel = tel_fixture()


def recorded(stem: str) -> Cassette:
    folder = cassettes_dir("openai")
    path = folder / f"test_responses_{stem}[content_mode0].yaml"
    return Cassette(path if path.exists() else folder / f"test_responses_{stem}.yaml")


def create(cassette: Cassette, mode: str, **extra: Any) -> Any:
    kwargs = {**cassette.request_json(), **extra}
    if mode == "sync":
        return cassette.client().responses.create(**kwargs)

    async def go() -> Any:
        return await cassette.async_client().responses.create(**kwargs)

    return asyncio.run(go())


def check_response_span(span: Any, request: dict[str, Any], response: dict[str, Any]) -> None:
    attrs = span.attributes
    assert span.name == f"chat {request['model']}"
    assert attrs[semconv.GEN_AI_OPERATION_NAME] == "chat"
    assert attrs[semconv.GEN_AI_REQUEST_MODEL] == request["model"]
    assert attrs[semconv.GEN_AI_RESPONSE_ID] == response["id"]
    assert attrs[semconv.GEN_AI_RESPONSE_MODEL] == response["model"]
    usage = response["usage"]
    assert attrs[semconv.GEN_AI_USAGE_INPUT_TOKENS] == usage["input_tokens"]
    assert attrs[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] == usage["output_tokens"]
    assert (
        attrs[semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS]
        == usage["input_tokens_details"]["cached_tokens"]
    )
    assert (
        attrs[semconv.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS]
        == usage["output_tokens_details"]["reasoning_tokens"]
    )
    calls = [o for o in response["output"] if o["type"] == "function_call"]
    if response["status"] == "completed":
        reason = "tool_calls" if calls else "stop"
        assert list(attrs[semconv.GEN_AI_RESPONSE_FINISH_REASONS]) == [reason]
    if calls:
        assert list(attrs[semconv.AGENTKIT_RESPONSE_TOOL_CALL_IDS]) == [c["call_id"] for c in calls]
        assert list(attrs[semconv.AGENTKIT_RESPONSE_TOOL_CALL_NAMES]) == [c["name"] for c in calls]
    assert span.status.status_code is StatusCode.UNSET


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize(
    "stem",
    [
        "create_basic",
        "create_stop_reason",
        "create_token_usage",
        "create_aggregates_cache_tokens",
        "create_reports_reasoning_tokens",
        "create_captures_tool_call_content",
        "create_with_content_shapes",
    ],
)
def test_responses_create(tel: TelemetryCapture, mode: str, stem: str) -> None:
    cassette = recorded(stem)
    result = create(cassette, mode)
    response = cassette.response_json()
    assert result.id == response["id"]
    span = only_span(tel)
    check_response_span(span, cassette.request_json(), response)
    for key in (semconv.GEN_AI_INPUT_MESSAGES, semconv.GEN_AI_SYSTEM_INSTRUCTIONS):
        assert key not in span.attributes
    (duration,) = tel.metric_points(semconv.GEN_AI_CLIENT_OPERATION_DURATION)
    assert duration.exemplars[0].span_id == span.context.span_id
    (output,) = tel.metric_points(
        semconv.GEN_AI_CLIENT_TOKEN_USAGE, {semconv.GEN_AI_TOKEN_TYPE: "output"}
    )
    assert output.sum == response["usage"]["output_tokens"]


def test_request_parameters(tel: TelemetryCapture) -> None:
    cassette = recorded("create_with_all_params")
    request = cassette.request_json()
    create(cassette, "sync")
    attrs = only_span(tel).attributes
    assert attrs[semconv.GEN_AI_REQUEST_MAX_TOKENS] == request["max_output_tokens"]
    assert attrs[semconv.GEN_AI_REQUEST_TEMPERATURE] == request["temperature"]
    assert attrs[semconv.GEN_AI_REQUEST_TOP_P] == request["top_p"]
    assert attrs[semconv.GEN_AI_OUTPUT_TYPE] == request["text"]["format"]["type"]


def test_api_error(tel: TelemetryCapture) -> None:
    cassette = recorded("create_api_error")
    with pytest.raises(openai.BadRequestError):
        create(cassette, "sync")
    span = only_span(tel)
    assert span.attributes[semconv.ERROR_TYPE] == "BadRequestError"
    assert span.status.status_code is StatusCode.ERROR


def test_content_capture(
    agentkit_telemetry: TelemetryCapture, instrument: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(semconv.ENV_CAPTURE_MESSAGE_CONTENT, "SPAN_ONLY")
    instrument()
    cassette = recorded("create_captures_content")
    request = cassette.request_json()
    create(cassette, "sync")
    attrs = only_span(agentkit_telemetry).attributes
    response = cassette.response_json()
    texts = [
        part["text"]
        for item in response["output"]
        if item["type"] == "message"
        for part in item["content"]
    ]
    assert json.loads(attrs[semconv.GEN_AI_OUTPUT_MESSAGES]) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": t} for t in texts],
            "finish_reason": "stop",
        }
    ]
    assert json.loads(attrs[semconv.GEN_AI_INPUT_MESSAGES]) == [
        {"role": "user", "parts": [{"type": "text", "content": request["input"]}]}
    ]
    if "instructions" in request:
        assert json.loads(attrs[semconv.GEN_AI_SYSTEM_INSTRUCTIONS]) == [
            {"type": "text", "content": request["instructions"]}
        ]


def test_tool_call_arguments_only_with_capture(
    agentkit_telemetry: TelemetryCapture, instrument: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(semconv.ENV_CAPTURE_MESSAGE_CONTENT, "SPAN_ONLY")
    instrument()
    cassette = recorded("create_captures_tool_call_content")
    create(cassette, "sync")
    attrs = only_span(agentkit_telemetry).attributes
    (call,) = [o for o in cassette.response_json()["output"] if o["type"] == "function_call"]
    output = json.loads(attrs[semconv.GEN_AI_OUTPUT_MESSAGES])
    assert output[0]["parts"] == [
        {
            "type": "tool_call",
            "id": call["call_id"],
            "name": call["name"],
            "arguments": json.loads(call["arguments"]),
        }
    ]
    tools = json.loads(attrs[semconv.GEN_AI_TOOL_DEFINITIONS])
    assert [t["name"] for t in tools] == [t["name"] for t in cassette.request_json()["tools"]]


def test_event_only_keeps_content_off_the_span(
    agentkit_telemetry: TelemetryCapture, instrument: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(semconv.ENV_CAPTURE_MESSAGE_CONTENT, "EVENT_ONLY")
    instrument()
    cassette = recorded("create_event_only_no_content_in_span")
    create(cassette, "sync")
    span = only_span(agentkit_telemetry)
    assert semconv.GEN_AI_OUTPUT_MESSAGES not in span.attributes
    (event,) = agentkit_telemetry.logs()
    assert event.log_record.event_name == semconv.GEN_AI_CLIENT_INFERENCE_OPERATION_DETAILS_EVENT
    assert semconv.GEN_AI_OUTPUT_MESSAGES in event.log_record.attributes


# ---------------------------------------------------------------------------
# Streaming
# ---------------------------------------------------------------------------


def final_response(cassette: Cassette) -> dict[str, Any]:
    (final,) = [
        e["response"]
        for e in cassette.stream_events()
        if e["type"] in ("response.completed", "response.incomplete", "response.failed")
    ]
    return final


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("stem", ["create_streaming", "create_streaming_aggregates_cache_tokens"])
def test_responses_streaming(tel: TelemetryCapture, mode: str, stem: str) -> None:
    cassette = recorded(stem)
    if mode == "sync":
        events = list(create(cassette, "sync"))
    else:

        async def go() -> list[Any]:
            stream = await cassette.async_client().responses.create(**cassette.request_json())
            return [e async for e in stream]

        events = asyncio.run(go())
    assert len(events) == len(cassette.stream_events())
    span = only_span(tel)
    check_response_span(span, cassette.request_json(), final_response(cassette))
    assert span.attributes[semconv.GEN_AI_REQUEST_STREAM] is True
    (first,) = tel.metric_points(semconv.GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK)
    assert first.count == 1


def test_streaming_user_exception(tel: TelemetryCapture) -> None:
    cassette = recorded("create_streaming_user_exception")

    def consume() -> None:
        with create(cassette, "sync") as stream:
            for event in stream:
                if event.type == "response.output_text.delta":
                    raise RuntimeError("caller gave up")

    with pytest.raises(RuntimeError, match="caller gave up"):
        consume()
    span = only_span(tel)
    assert span.attributes[semconv.ERROR_TYPE] == "RuntimeError"
    created = cassette.stream_events()[0]["response"]  # seen before the failure: kept
    assert span.attributes[semconv.GEN_AI_RESPONSE_ID] == created["id"]
    assert span.attributes[semconv.GEN_AI_RESPONSE_MODEL] == created["model"]


def test_streaming_captures_content(
    agentkit_telemetry: TelemetryCapture, instrument: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(semconv.ENV_CAPTURE_MESSAGE_CONTENT, "SPAN_ONLY")
    instrument()
    cassette = recorded("create_streaming_captures_content")
    deltas = "".join(
        e.delta for e in create(cassette, "sync") if e.type == "response.output_text.delta"
    )
    attrs = only_span(agentkit_telemetry).attributes
    output = json.loads(attrs[semconv.GEN_AI_OUTPUT_MESSAGES])
    assert "".join(p["content"] for p in output[0]["parts"]) == deltas


def test_stream_helper_response_attribute_still_reachable(tel: TelemetryCapture) -> None:
    cassette = recorded("create_streaming_delegates_response_attribute")
    stream = create(cassette, "sync")
    assert stream.response.status_code == cassette.status()  # proxied attribute
    list(stream)
    assert len(tel.spans()) == 1
