"""OpenAI instrumentation against recorded API traffic, replayed through the real client.

Every expectation is read from the recording (response id, model, usage,
finish reasons, tool calls), never retyped.
"""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from opentelemetry.trace import SpanKind, StatusCode

from otel_agentkit import semconv
from otel_agentkit.instrumentation.openai import OpenAIInstrumentor, set_provider_name
from otel_agentkit.testing import FakeModelServer, TelemetryCapture
from tests.conftest import cassettes_dir
from tests.llm_helpers import (
    CAPTURE_MODES,
    call_api,
    instrument_fixture,
    only_span,
    run,
    tel_fixture,
)
from tests.openai_helpers import SECRET_KEY, Cassette, fixture_cassette

instrument = instrument_fixture(OpenAIInstrumentor)
tel = tel_fixture()


def recorded(name: str) -> Cassette:
    return Cassette(cassettes_dir("openai") / name)


def check_chat_span(span: Any, cassette: Cassette, index: int = 0) -> None:
    """The span says what the recorded request asked and the recorded response answered."""
    request = cassette.request_json(index)
    response = cassette.response_json(index)
    attrs = span.attributes
    assert span.name == f"chat {request['model']}"
    assert span.kind is SpanKind.CLIENT
    assert attrs[semconv.GEN_AI_OPERATION_NAME] == "chat"
    assert attrs[semconv.GEN_AI_PROVIDER_NAME] == "openai"
    assert attrs[semconv.GEN_AI_REQUEST_MODEL] == request["model"]
    assert attrs[semconv.SERVER_ADDRESS] == "api.openai.com"
    assert attrs[semconv.SERVER_PORT] == 443
    assert attrs[semconv.GEN_AI_RESPONSE_ID] == response["id"]
    assert attrs[semconv.GEN_AI_RESPONSE_MODEL] == response["model"]
    assert list(attrs[semconv.GEN_AI_RESPONSE_FINISH_REASONS]) == [
        c["finish_reason"] for c in response["choices"]
    ]
    assert attrs[semconv.GEN_AI_USAGE_INPUT_TOKENS] == response["usage"]["prompt_tokens"]
    assert attrs[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] == response["usage"]["completion_tokens"]
    details = response["usage"].get("prompt_tokens_details") or {}
    if "cached_tokens" in details:
        assert attrs[semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == details["cached_tokens"]
    for key in (semconv.GEN_AI_INPUT_MESSAGES, semconv.GEN_AI_OUTPUT_MESSAGES):
        assert key not in attrs  # content is off by default
    assert span.status.status_code is not StatusCode.ERROR


def check_metrics(tel: TelemetryCapture, span: Any, model: str, usage: dict[str, int]) -> None:
    """Duration and token metrics recorded once, in the span's context (exemplar -> trace).

    Exemplars are handed out by the first collection after a recording: read
    the duration (with its exemplar) first.
    """
    (duration,) = tel.metric_points(
        semconv.GEN_AI_CLIENT_OPERATION_DURATION, {semconv.GEN_AI_RESPONSE_MODEL: model}
    )
    assert duration.count == 1
    assert set(duration.attributes) <= semconv.METRIC_ATTRIBUTE_ALLOWLIST
    assert duration.exemplars, "recorded without the span's context"
    assert duration.exemplars[0].trace_id == span.context.trace_id
    assert duration.exemplars[0].span_id == span.context.span_id
    for token_type, count in usage.items():
        (point,) = tel.metric_points(
            semconv.GEN_AI_CLIENT_TOKEN_USAGE,
            {semconv.GEN_AI_TOKEN_TYPE: token_type, semconv.GEN_AI_RESPONSE_MODEL: model},
        )
        assert (point.count, point.sum) == (1, count)


# ---------------------------------------------------------------------------
# chat.completions.create, not streamed
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_chat_completion(tel: TelemetryCapture, mode: str) -> None:
    name = "test_chat_completion_no_content.yaml"
    cassette = recorded(name if mode == "sync" else "test_async_" + name[len("test_") :])
    kwargs = cassette.request_json()
    if mode == "sync":
        result = cassette.client().chat.completions.create(**kwargs)
    else:
        result = run(cassette.async_client().chat.completions.create(**kwargs))
    response = cassette.response_json()
    assert result.id == response["id"]  # the caller's result is untouched
    span = only_span(tel)
    check_chat_span(span, cassette)
    check_metrics(
        tel,
        span,
        response["model"],
        {
            "input": response["usage"]["prompt_tokens"],
            "output": response["usage"]["completion_tokens"],
        },
    )


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_chat_multiple_choices(tel: TelemetryCapture, mode: str) -> None:
    prefix = "test_" if mode == "sync" else "test_async_"
    cassette = recorded(prefix + "chat_completion_multiple_choices.yaml")
    kwargs = cassette.request_json()
    client = cassette.client() if mode == "sync" else cassette.async_client()
    call = client.chat.completions.create(**kwargs)
    result = call if mode == "sync" else run(call)
    span = only_span(tel)
    check_chat_span(span, cassette)
    assert span.attributes[semconv.GEN_AI_REQUEST_CHOICE_COUNT] == kwargs["n"] > 1
    assert len(result.choices) == len(span.attributes[semconv.GEN_AI_RESPONSE_FINISH_REASONS])


def test_choice_count_1_is_not_reported(tel: TelemetryCapture) -> None:
    cassette = recorded("test_chat_completion_n_1_is_not_reported.yaml")
    kwargs = cassette.request_json()
    assert kwargs["n"] == 1
    cassette.client().chat.completions.create(**kwargs)
    assert semconv.GEN_AI_REQUEST_CHOICE_COUNT not in only_span(tel).attributes


def test_request_parameters(tel: TelemetryCapture) -> None:
    cassette = recorded("test_chat_completion_extra_params.yaml")
    kwargs = cassette.request_json()
    cassette.client().chat.completions.create(**kwargs)
    attrs = only_span(tel).attributes
    for key, attr in (
        ("seed", semconv.GEN_AI_REQUEST_SEED),
        ("temperature", semconv.GEN_AI_REQUEST_TEMPERATURE),
        ("max_tokens", semconv.GEN_AI_REQUEST_MAX_TOKENS),
        ("top_p", semconv.GEN_AI_REQUEST_TOP_P),
    ):
        if key in kwargs:
            assert attrs[attr] == kwargs[key]
    if "response_format" in kwargs:
        kind = kwargs["response_format"]["type"]
        expected = "text" if kind == "text" else "json"
        assert attrs[semconv.GEN_AI_OUTPUT_TYPE] == expected


def test_stop_sequence_as_string(tel: TelemetryCapture) -> None:
    cassette = recorded("test_chat_completion_handle_stop_sequences_as_string.yaml")
    kwargs = cassette.request_json()
    assert isinstance(kwargs["stop"], str)
    cassette.client().chat.completions.create(**kwargs)
    assert list(only_span(tel).attributes[semconv.GEN_AI_REQUEST_STOP_SEQUENCES]) == [
        kwargs["stop"]
    ]


def test_not_given_values_are_not_attributes(tel: TelemetryCapture) -> None:
    cassette = recorded("test_chat_completion_handles_not_given.yaml")
    kwargs = cassette.request_json()
    cassette.client().chat.completions.create(
        **kwargs, temperature=openai.NOT_GIVEN, top_p=openai.NOT_GIVEN, seed=openai.NOT_GIVEN
    )
    attrs = only_span(tel).attributes
    for attr in (
        semconv.GEN_AI_REQUEST_TEMPERATURE,
        semconv.GEN_AI_REQUEST_TOP_P,
        semconv.GEN_AI_REQUEST_SEED,
    ):
        assert attr not in attrs


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_chat_404_sets_error_type(tel: TelemetryCapture, mode: str) -> None:
    prefix = "test_" if mode == "sync" else "test_async_"
    cassette = recorded(prefix + "chat_completion_404.yaml")
    kwargs = cassette.request_json()
    with pytest.raises(openai.NotFoundError) as caught:
        call_api(cassette, mode, lambda c: c.chat.completions.create(**kwargs))
    assert caught.value.status_code == cassette.status() == 404
    span = only_span(tel)
    assert span.name == f"chat {kwargs['model']}"
    assert span.attributes[semconv.ERROR_TYPE] == "NotFoundError"
    assert span.status.status_code is StatusCode.ERROR
    (point,) = tel.metric_points(semconv.GEN_AI_CLIENT_OPERATION_DURATION)
    assert point.attributes[semconv.ERROR_TYPE] == "NotFoundError"
    assert tel.metric_points(semconv.GEN_AI_CLIENT_TOKEN_USAGE) == []


def test_connection_error_type(tel: TelemetryCapture) -> None:
    with FakeModelServer() as stopped:
        port = stopped.port  # nothing listens there once the server stops
    client = openai.OpenAI(
        api_key=SECRET_KEY, base_url=f"http://127.0.0.1:{port}/v1", max_retries=0
    )
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    attrs = only_span(tel).attributes
    assert attrs[semconv.ERROR_TYPE] == "APIConnectionError"
    assert (attrs[semconv.SERVER_ADDRESS], attrs[semconv.SERVER_PORT]) == ("127.0.0.1", port)


# ---------------------------------------------------------------------------
# Tool calls
# ---------------------------------------------------------------------------


def recorded_tool_calls(response: dict[str, Any]) -> list[dict[str, Any]]:
    return [tc for c in response["choices"] for tc in (c["message"].get("tool_calls") or [])]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_tool_calls_names_and_ids_without_arguments(tel: TelemetryCapture, mode: str) -> None:
    prefix = "test_" if mode == "sync" else "test_async_"
    cassette = recorded(prefix + "chat_completion_tool_calls_no_content.yaml")
    client = cassette.client() if mode == "sync" else cassette.async_client()
    for index in range(len(cassette.interactions)):
        call = client.chat.completions.create(**cassette.request_json(index))
        if mode == "async":
            run(call)
    first, second = tel.spans()
    check_chat_span(first, cassette, 0)
    check_chat_span(second, cassette, 1)
    calls = recorded_tool_calls(cassette.response_json(0))
    assert calls
    assert list(first.attributes[semconv.AGENTKIT_RESPONSE_TOOL_CALL_IDS]) == [
        c["id"] for c in calls
    ]
    assert list(first.attributes[semconv.AGENTKIT_RESPONSE_TOOL_CALL_NAMES]) == [
        c["function"]["name"] for c in calls
    ]
    dumped = json.dumps([dict(s.attributes) for s in tel.spans()])
    for c in calls:
        assert c["function"]["arguments"] not in dumped


def test_tool_calls_with_content(
    agentkit_telemetry: TelemetryCapture, instrument: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(semconv.ENV_CAPTURE_MESSAGE_CONTENT, "true")
    instrument()
    cassette = recorded("test_chat_completion_tool_calls_with_content.yaml")
    client = cassette.client()
    for index in range(len(cassette.interactions)):
        client.chat.completions.create(**cassette.request_json(index))
    first, second = agentkit_telemetry.spans()
    output = json.loads(first.attributes[semconv.GEN_AI_OUTPUT_MESSAGES])
    calls = recorded_tool_calls(cassette.response_json(0))
    parts = [p for m in output for p in m["parts"] if p["type"] == "tool_call"]
    assert [(p["id"], p["name"], p["arguments"]) for p in parts] == [
        (c["id"], c["function"]["name"], json.loads(c["function"]["arguments"])) for c in calls
    ]
    tools = json.loads(first.attributes[semconv.GEN_AI_TOOL_DEFINITIONS])
    assert [t["name"] for t in tools] == [
        t["function"]["name"] for t in cassette.request_json(0)["tools"]
    ]
    # The second request carries the tool results back: they are input messages now.
    inputs = json.loads(second.attributes[semconv.GEN_AI_INPUT_MESSAGES])
    responses = [p for m in inputs for p in m["parts"] if p["type"] == "tool_call_response"]
    assert {p["id"] for p in responses} == {c["id"] for c in calls}


# ---------------------------------------------------------------------------
# Streaming
# ---------------------------------------------------------------------------


def expected_from_stream(cassette: Cassette) -> dict[str, Any]:
    events = cassette.stream_events()
    reasons: dict[int, str] = {}
    usage = None
    calls: dict[tuple[int, int], dict[str, Any]] = {}
    for event in events:
        for choice in event["choices"]:
            if choice.get("finish_reason"):
                reasons[choice["index"]] = choice["finish_reason"]
            for tc in (choice.get("delta") or {}).get("tool_calls") or []:
                entry = calls.setdefault((choice["index"], tc["index"]), {})
                if tc.get("id"):
                    entry["id"] = tc["id"]
                if (tc.get("function") or {}).get("name"):
                    entry["name"] = tc["function"]["name"]
        usage = event.get("usage") or usage
    return {
        "id": events[0]["id"],
        "model": events[0]["model"],
        "finish_reasons": [reasons[i] for i in sorted(reasons)],
        "usage": usage,
        "chunks": len(events),
        "tool_calls": [calls[k] for k in sorted(calls)],
    }


STREAM_CASSETTES = [
    "chat_completion_streaming.yaml",
    "chat_completion_streaming_not_complete.yaml",
    "chat_completion_multiple_choices_streaming.yaml",
    "chat_completion_multiple_tools_streaming_no_content.yaml",
]


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("name", STREAM_CASSETTES)
def test_chat_streaming(tel: TelemetryCapture, mode: str, name: str) -> None:
    prefix = "test_" if mode == "sync" else "test_async_"
    cassette = recorded(prefix + name)
    kwargs = cassette.request_json()
    if mode == "sync":
        stream = cassette.client().chat.completions.create(**kwargs)
        assert isinstance(stream, openai.Stream)  # the proxy passes isinstance checks
        chunks = list(stream)
    else:

        async def consume() -> list[Any]:
            stream = await cassette.async_client().chat.completions.create(**kwargs)
            assert isinstance(stream, openai.AsyncStream)
            return [c async for c in stream]

        chunks = run(consume())
    expected = expected_from_stream(cassette)
    assert len(chunks) == expected["chunks"]
    span = only_span(tel)
    attrs = span.attributes
    assert span.name == f"chat {kwargs['model']}"
    assert attrs[semconv.GEN_AI_REQUEST_STREAM] is True
    assert attrs[semconv.GEN_AI_RESPONSE_ID] == expected["id"]
    assert attrs[semconv.GEN_AI_RESPONSE_MODEL] == expected["model"]
    assert list(attrs[semconv.GEN_AI_RESPONSE_FINISH_REASONS]) == expected["finish_reasons"]
    if expected["usage"]:
        assert attrs[semconv.GEN_AI_USAGE_INPUT_TOKENS] == expected["usage"]["prompt_tokens"]
        assert attrs[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] == expected["usage"]["completion_tokens"]
    else:  # the not-complete stream has no usage chunk: nothing invented
        assert semconv.GEN_AI_USAGE_INPUT_TOKENS not in attrs
    if expected["tool_calls"]:
        assert list(attrs[semconv.AGENTKIT_RESPONSE_TOOL_CALL_IDS]) == [
            c["id"] for c in expected["tool_calls"]
        ]
        assert list(attrs[semconv.AGENTKIT_RESPONSE_TOOL_CALL_NAMES]) == [
            c["name"] for c in expected["tool_calls"]
        ]
    ttfc = attrs[semconv.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK]
    (first_chunk,) = tel.metric_points(semconv.GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK)
    assert first_chunk.count == 1
    assert first_chunk.sum == pytest.approx(ttfc)
    assert first_chunk.exemplars[0].span_id == span.context.span_id
    (per_chunk,) = tel.metric_points(semconv.GEN_AI_CLIENT_OPERATION_TIME_PER_OUTPUT_CHUNK)
    assert per_chunk.count == 1
    assert per_chunk.attributes[semconv.GEN_AI_RESPONSE_MODEL] == expected["model"]
    (duration,) = tel.metric_points(semconv.GEN_AI_CLIENT_OPERATION_DURATION)
    assert duration.count == 1
    assert duration.sum >= ttfc
    if not expected["usage"]:
        assert tel.metric_points(semconv.GEN_AI_CLIENT_TOKEN_USAGE) == []


def test_streaming_with_content_joins_deltas(
    agentkit_telemetry: TelemetryCapture, instrument: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(semconv.ENV_CAPTURE_MESSAGE_CONTENT, "SPAN_ONLY")
    instrument()
    cassette = recorded("test_chat_completion_multiple_tools_streaming_with_content.yaml")
    chunks = list(cassette.client().chat.completions.create(**cassette.request_json()))
    attrs = only_span(agentkit_telemetry).attributes
    output = json.loads(attrs[semconv.GEN_AI_OUTPUT_MESSAGES])
    calls = [p for m in output for p in m["parts"] if p["type"] == "tool_call"]
    args: dict[tuple[int, int], str] = {}
    for chunk in chunks:
        for choice in chunk.choices:
            for tc in choice.delta.tool_calls or []:
                args[(choice.index, tc.index)] = args.get((choice.index, tc.index), "") + (
                    tc.function.arguments or ""
                )
    assert [c["arguments"] for c in calls] == [json.loads(args[k]) for k in sorted(args)]


def test_stream_context_manager(tel: TelemetryCapture) -> None:
    cassette = recorded("test_chat_completion_with_context_manager_streaming.yaml")
    with cassette.client().chat.completions.create(**cassette.request_json()) as stream:
        for _ in stream:
            pass
    expected = expected_from_stream(cassette)
    attrs = only_span(tel).attributes
    assert attrs[semconv.GEN_AI_RESPONSE_ID] == expected["id"]
    assert list(attrs[semconv.GEN_AI_RESPONSE_FINISH_REASONS]) == expected["finish_reasons"]


def test_unsampled_stream_still_records_metrics(instrument: Any) -> None:
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    from otel_agentkit.testing import capture_telemetry

    cassette = recorded("test_async_chat_completion_streaming_unsampled.yaml")
    with capture_telemetry(sampler=ALWAYS_OFF) as tel:
        instrument()

        async def consume() -> int:
            stream = await cassette.async_client().chat.completions.create(
                **cassette.request_json()
            )
            return len([c async for c in stream])

        assert run(consume()) == len(cassette.stream_events())
        assert tel.spans() == []
        (duration,) = tel.metric_points(semconv.GEN_AI_CLIENT_OPERATION_DURATION)
        assert duration.count == 1


# ---------------------------------------------------------------------------
# with_raw_response / with_streaming_response / parse / stream()
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_with_raw_response(tel: TelemetryCapture, mode: str) -> None:
    prefix = "test_" if mode == "sync" else "test_async_"
    cassette = recorded(prefix + "chat_completion_with_raw_response.yaml")
    kwargs = cassette.request_json()
    if mode == "sync":
        raw = cassette.client().chat.completions.with_raw_response.create(**kwargs)
    else:
        raw = run(cassette.async_client().chat.completions.with_raw_response.create(**kwargs))
    assert raw.status_code == 200
    assert raw.headers["x-request-id"]
    parsed = raw.parse()
    assert parsed.id == cassette.response_json()["id"]
    check_chat_span(only_span(tel), cassette)


def test_with_raw_response_streaming(tel: TelemetryCapture) -> None:
    cassette = recorded("test_chat_completion_with_raw_response_streaming.yaml")
    raw = cassette.client().chat.completions.with_raw_response.create(**cassette.request_json())
    chunks = list(raw.parse())
    expected = expected_from_stream(cassette)
    assert len(chunks) == expected["chunks"]
    attrs = only_span(tel).attributes
    assert attrs[semconv.GEN_AI_RESPONSE_ID] == expected["id"]
    assert list(attrs[semconv.GEN_AI_RESPONSE_FINISH_REASONS]) == expected["finish_reasons"]


def test_with_streaming_response_leaves_the_body_to_the_caller(tel: TelemetryCapture) -> None:
    cassette = recorded("test_chat_completion_with_raw_response.yaml")
    kwargs = cassette.request_json()
    with cassette.client().chat.completions.with_streaming_response.create(**kwargs) as response:
        text = "".join(response.iter_text())
    assert json.loads(text)["id"] == cassette.response_json()["id"]
    span = only_span(tel)
    assert span.name == f"chat {kwargs['model']}"
    assert span.status.status_code is not StatusCode.ERROR


needs_parse = pytest.mark.skipif(
    not hasattr(openai.resources.chat.Completions, "parse"),
    reason=f"openai {openai.__version__} has chat.completions.parse only under beta",
)


@needs_parse
def test_parse_with_pydantic_response_format(tel: TelemetryCapture) -> None:
    from pydantic import BaseModel

    class City(BaseModel):
        city: str
        population_millions: float

    cassette = fixture_cassette("chat_parse.yaml")
    result = cassette.client().chat.completions.parse(
        **cassette.request_json(), response_format=City
    )
    recorded_content = json.loads(cassette.response_json()["choices"][0]["message"]["content"])
    assert result.choices[0].message.parsed == City(**recorded_content)
    span = only_span(tel)
    check_chat_span(span, cassette)
    assert span.attributes[semconv.GEN_AI_OUTPUT_TYPE] == "json"


@needs_parse
def test_stream_helper_goes_through_the_wrapper(tel: TelemetryCapture) -> None:
    cassette = fixture_cassette("chat_stream.yaml")
    kwargs = cassette.request_json()
    kwargs.pop("stream")
    with cassette.client().chat.completions.stream(**kwargs) as stream:
        final = stream.get_final_completion()
    expected = expected_from_stream(cassette)
    assert final.id == expected["id"]
    attrs = only_span(tel).attributes
    assert attrs[semconv.GEN_AI_RESPONSE_ID] == expected["id"]
    assert attrs[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] == expected["usage"]["completion_tokens"]


# ---------------------------------------------------------------------------
# Embeddings
# ---------------------------------------------------------------------------

EMBEDDING_CASSETTES = [
    "embeddings_no_content.yaml",
    "embeddings_with_batch_input.yaml",
    "embeddings_with_dimensions.yaml",
    "embeddings_with_encoding_format.yaml",
]


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("name", EMBEDDING_CASSETTES)
def test_embeddings(tel: TelemetryCapture, mode: str, name: str) -> None:
    prefix = "test_" if mode == "sync" else "test_async_"
    cassette = recorded(prefix + name)
    kwargs = cassette.request_json()
    client = cassette.client() if mode == "sync" else cassette.async_client()
    call = client.embeddings.create(**kwargs)
    result = call if mode == "sync" else run(call)
    response = cassette.response_json()
    assert len(result.data) == len(response["data"])
    span = only_span(tel)
    attrs = span.attributes
    assert span.name == f"embeddings {kwargs['model']}"
    assert attrs[semconv.GEN_AI_OPERATION_NAME] == "embeddings"
    assert attrs[semconv.GEN_AI_RESPONSE_MODEL] == response["model"]
    assert attrs[semconv.GEN_AI_USAGE_INPUT_TOKENS] == response["usage"]["prompt_tokens"]
    assert semconv.GEN_AI_USAGE_OUTPUT_TOKENS not in attrs
    if "dimensions" in kwargs:
        assert attrs[semconv.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] == kwargs["dimensions"]
    elif isinstance(response["data"][0]["embedding"], list):
        assert attrs[semconv.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] == len(
            response["data"][0]["embedding"]
        )
    if "encoding_format" in kwargs:
        assert list(attrs[semconv.GEN_AI_REQUEST_ENCODING_FORMATS]) == [kwargs["encoding_format"]]
    check_metrics(tel, span, response["model"], {"input": response["usage"]["prompt_tokens"]})
    assert (
        tel.metric_points(semconv.GEN_AI_CLIENT_TOKEN_USAGE, {"gen_ai.token.type": "output"}) == []
    )


@pytest.mark.parametrize(
    "name", ["test_embeddings_model_not_found.yaml", "test_async_embeddings_error_handling.yaml"]
)
def test_embeddings_errors(tel: TelemetryCapture, name: str) -> None:
    cassette = recorded(name)
    kwargs = cassette.request_json()
    mode = "async" if "async" in name else "sync"
    with pytest.raises(openai.NotFoundError):
        call_api(cassette, mode, lambda c: c.embeddings.create(**kwargs))
    span = only_span(tel)
    assert span.name == f"embeddings {kwargs['model']}"
    assert span.attributes[semconv.ERROR_TYPE] == "NotFoundError"


# ---------------------------------------------------------------------------
# Content capture modes, providers, secrets, lifecycle of the instrumentor
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
    cassette = recorded("test_chat_completion_with_content.yaml")
    request = cassette.request_json()
    cassette.client().chat.completions.create(**request)
    span = only_span(agentkit_telemetry)
    answer = cassette.response_json()["choices"][0]["message"]["content"]
    expected_input = [
        {"role": m["role"], "parts": [{"type": "text", "content": m["content"]}]}
        for m in request["messages"]
    ]
    expected_output = [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": answer}],
            "finish_reason": "stop",
        }
    ]
    if on_span:
        assert json.loads(span.attributes[semconv.GEN_AI_INPUT_MESSAGES]) == expected_input
        assert json.loads(span.attributes[semconv.GEN_AI_OUTPUT_MESSAGES]) == expected_output
    else:
        assert semconv.GEN_AI_INPUT_MESSAGES not in span.attributes
        assert answer not in json.dumps(dict(span.attributes))
    events = [
        r
        for r in agentkit_telemetry.logs()
        if r.log_record.event_name == semconv.GEN_AI_CLIENT_INFERENCE_OPERATION_DETAILS_EVENT
    ]
    if on_event:
        (event,) = events
        attrs = event.log_record.attributes
        assert json.loads(attrs[semconv.GEN_AI_INPUT_MESSAGES]) == expected_input
        assert json.loads(attrs[semconv.GEN_AI_OUTPUT_MESSAGES]) == expected_output
        assert attrs[semconv.GEN_AI_RESPONSE_ID] == cassette.response_json()["id"]
        assert event.log_record.trace_id == span.context.trace_id
        assert event.log_record.span_id == span.context.span_id
    else:
        assert events == []


def test_api_key_never_reaches_telemetry(
    agentkit_telemetry: TelemetryCapture, instrument: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(semconv.ENV_CAPTURE_MESSAGE_CONTENT, "SPAN_AND_EVENT")
    instrument()
    chat = recorded("test_chat_completion_tool_calls_with_content.yaml")
    client = chat.client()
    for index in range(len(chat.interactions)):
        client.chat.completions.create(**chat.request_json(index))
    list(
        fixture_cassette("chat_stream.yaml")
        .client()
        .chat.completions.create(**fixture_cassette("chat_stream.yaml").request_json())
    )
    c404 = recorded("test_chat_completion_404.yaml")
    with pytest.raises(openai.NotFoundError):
        c404.client().chat.completions.create(**c404.request_json())
    # The key did go over the wire (so it was there to leak) ...
    assert any(SECRET_KEY in r.headers.get("authorization", "") for r in chat.served)
    # ... and appears nowhere in spans, events, logs or metrics.
    dump = [s.to_json() for s in agentkit_telemetry.spans()] + [
        r.to_json() for r in agentkit_telemetry.logs()
    ]
    data = agentkit_telemetry.metric_reader.get_metrics_data()
    assert data is not None
    dump.append(data.to_json())
    text = "\n".join(dump)
    assert SECRET_KEY not in text
    assert "Bearer" not in text
    assert len(agentkit_telemetry.spans()) == 4


@pytest.mark.parametrize(
    ("base_url", "provider", "address", "port"),
    [
        ("https://my-resource.openai.azure.com/openai/v1", "azure.ai.openai", None, 443),
        ("https://api.groq.com/openai/v1", "groq", None, 443),
        ("http://localhost:11434/v1", "ollama", "localhost", 11434),
        ("http://127.0.0.1:8000/v1", "openai", "127.0.0.1", 8000),
    ],
)
def test_compatible_servers(
    tel: TelemetryCapture, base_url: str, provider: str, address: str | None, port: int
) -> None:
    cassette = fixture_cassette("chat_basic.yaml")
    recorded_uri = cassette.interactions[0]["request"]["uri"]
    cassette.interactions[0]["request"]["uri"] = recorded_uri.replace(
        "https://api.openai.com/v1", base_url
    )
    cassette.client(base_url=base_url).chat.completions.create(**cassette.request_json())
    attrs = only_span(tel).attributes
    assert attrs[semconv.GEN_AI_PROVIDER_NAME] == provider
    assert attrs[semconv.SERVER_ADDRESS] == (address or base_url.split("/")[2])
    assert attrs[semconv.SERVER_PORT] == port
    check_chat_span  # noqa: B018 - attributes below come from the recording as usual
    assert attrs[semconv.GEN_AI_RESPONSE_ID] == cassette.response_json()["id"]


def test_provider_overrides(agentkit_telemetry: TelemetryCapture, instrument: Any) -> None:
    instrument(provider_name="vllm")
    cassette = fixture_cassette("chat_basic.yaml")
    cassette.client().chat.completions.create(**cassette.request_json())
    client = set_provider_name(fixture_cassette("chat_basic.yaml").client(), "nvidia_nim")
    client.chat.completions.create(**cassette.request_json())
    first, second = agentkit_telemetry.spans()
    assert first.attributes[semconv.GEN_AI_PROVIDER_NAME] == "vllm"
    assert second.attributes[semconv.GEN_AI_PROVIDER_NAME] == "nvidia_nim"


def test_uninstrument_restores_and_twice_wraps_once(
    agentkit_telemetry: TelemetryCapture, instrument: Any
) -> None:
    from openai.resources.chat.completions import Completions

    original = Completions.create
    instrumentor = instrument()
    instrument()  # a second instrument() is a no-op
    assert Completions.create is not original
    assert Completions.create.__wrapped__ is original  # exactly one layer
    cassette = fixture_cassette("chat_basic.yaml")
    cassette.client().chat.completions.create(**cassette.request_json())
    assert len(agentkit_telemetry.spans()) == 1
    instrumentor.uninstrument()
    assert Completions.create is original
    fixture_cassette("chat_basic.yaml").client().chat.completions.create(**cassette.request_json())
    assert len(agentkit_telemetry.spans()) == 1


def test_internal_errors_never_reach_the_caller(
    tel: TelemetryCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from otel_agentkit.instrumentation.openai import _calls

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("bug in our reader")

    monkeypatch.setattr(_calls, "chat_request_attributes", broken)
    monkeypatch.setattr(_calls, "_usage_details", broken)
    cassette = fixture_cassette("chat_basic.yaml")
    result = cassette.client().chat.completions.create(**cassette.request_json())
    assert result.id == cassette.response_json()["id"]


def test_suppressed_instrumentation_makes_no_span(tel: TelemetryCapture) -> None:
    from opentelemetry.instrumentation.utils import suppress_instrumentation

    cassette = fixture_cassette("chat_basic.yaml")
    with suppress_instrumentation():
        cassette.client().chat.completions.create(**cassette.request_json())
    assert tel.spans() == []


@pytest.mark.parametrize("plain", [False, True], ids=["key", "plain-key"])
def test_either_suppression_key_alone_makes_no_span(tel: TelemetryCapture, plain: bool) -> None:
    # The two context keys is_instrumentation_enabled() reads; ours reads them itself.
    from opentelemetry import context
    from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY

    cassette = fixture_cassette("chat_basic.yaml")
    key = "suppress_instrumentation" if plain else _SUPPRESS_INSTRUMENTATION_KEY
    token = context.attach(context.set_value(key, True))
    try:
        cassette.client().chat.completions.create(**cassette.request_json())
    finally:
        context.detach(token)
    assert tel.spans() == []


def test_fixture_chat_offline(tel: TelemetryCapture) -> None:
    """Runs without the shared cassettes: a self-written recording."""
    cassette = fixture_cassette("chat_basic.yaml")
    request = cassette.request_json()
    cassette.client().chat.completions.create(**request)
    span = only_span(tel)
    check_chat_span(span, cassette)
    assert span.attributes[semconv.GEN_AI_REQUEST_TEMPERATURE] == request["temperature"]
    assert span.attributes[semconv.GEN_AI_REQUEST_MAX_TOKENS] == request["max_tokens"]


def test_captured_content_is_redacted(
    agentkit_telemetry: TelemetryCapture, instrument: Any
) -> None:
    from otel_agentkit import _content

    instrument(capture_content="SPAN_ONLY")  # explicit argument, no env var
    leaked = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0" * 2
    _content.set_redaction([r"\b\d{3}-\d{2}-\d{4}\b"], hook=lambda text: text.replace("Bob", "B."))
    try:
        cassette = fixture_cassette("chat_basic.yaml")
        cassette.client().chat.completions.create(
            model="fixture-model",
            messages=[{"role": "user", "content": f"I am Bob, SSN 123-45-6789, key {leaked}"}],
        )
    finally:
        _content.set_redaction()
    text = only_span(agentkit_telemetry).attributes[semconv.GEN_AI_INPUT_MESSAGES]
    (message,) = json.loads(text)
    assert message["parts"][0]["content"] == "I am B., SSN [REDACTED], key [REDACTED]"


def test_error_message_echoing_the_key_is_redacted(
    tel: TelemetryCapture, agentkit_model_server: FakeModelServer
) -> None:
    key = SECRET_KEY + "0123456789abcdef"
    # a careless server echoes the credential it was sent
    agentkit_model_server.fail_next(401, message=f"bad credential Bearer {key}")
    client = openai.OpenAI(api_key=key, base_url=agentkit_model_server.base_url, max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    assert SECRET_KEY in str(caught.value)  # the caller's exception is untouched
    span = only_span(tel)
    assert span.attributes[semconv.ERROR_TYPE] == "AuthenticationError"
    assert SECRET_KEY not in span.to_json()
    assert "[REDACTED]" in (span.status.description or "")


def test_openai_3_native_httpx2_stack(tel: TelemetryCapture) -> None:
    """openai 3.x sends through httpx2 unless given an httpx client: same telemetry."""
    if int(openai.__version__.split(".")[0]) < 3:  # a version question: httpx2 may be installed
        pytest.skip(f"openai {openai.__version__} sends through httpx only")
    cassette = fixture_cassette("chat_basic.yaml")
    cassette.native_client().chat.completions.create(**cassette.request_json())
    streamed = fixture_cassette("chat_stream.yaml")
    chunks = list(streamed.native_client().chat.completions.create(**streamed.request_json()))
    assert len(chunks) == len(streamed.stream_events())
    first, second = tel.spans()
    check_chat_span(first, cassette)
    assert second.attributes[semconv.GEN_AI_RESPONSE_ID] == streamed.stream_events()[0]["id"]
    assert second.attributes[semconv.SERVER_ADDRESS] == "api.openai.com"


def test_async_with_streaming_response_and_raw_stream(tel: TelemetryCapture) -> None:
    plain = recorded("test_async_chat_completion_with_raw_response.yaml")
    streamed = fixture_cassette("chat_stream.yaml")

    async def go() -> tuple[str, int]:
        client = plain.async_client()
        async with client.chat.completions.with_streaming_response.create(
            **plain.request_json()
        ) as response:
            body = await response.read()
        raw = await streamed.async_client().chat.completions.with_raw_response.create(
            **streamed.request_json()
        )
        count = 0
        async for _ in raw.parse():
            count += 1
        return json.loads(body)["id"], count

    response_id, count = run(go())
    assert response_id == plain.response_json()["id"]
    assert count == len(streamed.stream_events())
    first, second = tel.spans()
    assert first.name == f"chat {plain.request_json()['model']}"
    assert second.attributes[semconv.GEN_AI_RESPONSE_ID] == streamed.stream_events()[0]["id"]
    assert list(second.attributes[semconv.GEN_AI_RESPONSE_FINISH_REASONS]) == ["stop"]


def test_unsupported_openai_version_is_left_alone(
    agentkit_telemetry: TelemetryCapture,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from openai.resources.chat.completions import Completions

    from otel_agentkit.instrumentation import _base

    original = Completions.create
    monkeypatch.setattr(_base, "installed_version", lambda name: "0.28.1")
    instrumentor = OpenAIInstrumentor()
    # The launcher calls instrument() without the dependency check; so do we here.
    instrumentor.instrument(skip_dep_check=True)
    try:
        assert Completions.create is original
        assert "openai 0.28.1 is not supported" in caplog.text
    finally:
        instrumentor.uninstrument()


def test_no_sdk_installed_means_no_work(instrument: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """With only the API's no-op providers, the wrapper passes straight through."""
    from opentelemetry.sdk.trace import TracerProvider

    from otel_agentkit.telemetry import _globals

    _globals.reset()  # the fixture's providers out: nothing installed
    started: list[object] = []
    real_start = OpenAIInstrumentor.start
    monkeypatch.setattr(OpenAIInstrumentor, "start", lambda *a: started.append(a) or real_start(*a))
    instrument()
    cassette = fixture_cassette("chat_basic.yaml")
    result = cassette.client().chat.completions.create(**cassette.request_json())
    assert result.id == cassette.response_json()["id"]
    assert started == []
    # Installing a provider later is noticed at the next call.
    from opentelemetry import trace

    trace.set_tracer_provider(TracerProvider())
    fixture_cassette("chat_basic.yaml").client().chat.completions.create(**cassette.request_json())
    assert len(started) == 1


def test_changing_base_url_on_a_client_is_noticed(tel: TelemetryCapture) -> None:
    cassette = fixture_cassette("chat_basic.yaml")
    client = cassette.client()
    client.chat.completions.create(**cassette.request_json())
    client.base_url = "https://api.groq.com/openai/v1"  # type: ignore[assignment]
    with pytest.raises(openai.APIStatusError):  # nothing recorded for that host: 599
        client.chat.completions.create(**cassette.request_json())
    first, second = tel.spans()
    assert first.attributes[semconv.GEN_AI_PROVIDER_NAME] == "openai"
    assert second.attributes[semconv.GEN_AI_PROVIDER_NAME] == "groq"
    assert second.attributes[semconv.SERVER_ADDRESS] == "api.groq.com"


def test_unsampled_span_still_emits_event_and_metrics(
    instrument: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    from otel_agentkit.testing import capture_telemetry

    monkeypatch.setenv(semconv.ENV_CAPTURE_MESSAGE_CONTENT, "EVENT_ONLY")
    cassette = recorded("test_chat_completion_with_content_span_unsampled.yaml")
    with capture_telemetry(sampler=ALWAYS_OFF) as tel:
        instrument()
        cassette.client().chat.completions.create(**cassette.request_json())
        assert tel.spans() == []
        (event,) = tel.logs()
        answer = cassette.response_json()["choices"][0]["message"]["content"]
        assert answer in event.log_record.attributes[semconv.GEN_AI_OUTPUT_MESSAGES]
        usage = cassette.response_json()["usage"]
        (point,) = tel.metric_points(
            semconv.GEN_AI_CLIENT_TOKEN_USAGE, {semconv.GEN_AI_TOKEN_TYPE: "input"}
        )
        assert point.sum == usage["prompt_tokens"]


def test_embeddings_not_given_values(tel: TelemetryCapture) -> None:
    cassette = recorded("test_embeddings_with_not_given_values.yaml")
    cassette.client().embeddings.create(
        **cassette.request_json(), dimensions=openai.NOT_GIVEN, user=openai.NOT_GIVEN
    )
    attrs = only_span(tel).attributes
    response = cassette.response_json()
    assert attrs[semconv.GEN_AI_USAGE_INPUT_TOKENS] == response["usage"]["prompt_tokens"]
    embedding = response["data"][0]["embedding"]
    if isinstance(embedding, list):
        assert attrs[semconv.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] == len(embedding)
    else:  # base64 asked for: the vector length is not known without decoding
        assert semconv.GEN_AI_EMBEDDINGS_DIMENSION_COUNT not in attrs
    assert semconv.GEN_AI_REQUEST_ENCODING_FORMATS in attrs or "encoding_format" not in (
        cassette.request_json()
    )
