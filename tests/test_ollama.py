"""Ollama instrumentation against recorded API traffic, replayed through the real client.

Recorded traffic (../shared/cassettes/ollama, OpenLLMetry's recordings) and
self-written fixtures (tests/fixtures/ollama) go through ``ollama.Client`` /
``ollama.AsyncClient`` with an ``httpx.MockTransport``. Every expectation is
read from the recording (model, token counts, done_reason, server timings,
tool calls, streamed chunks), never retyped.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import ollama
import pytest
from opentelemetry.trace import SpanKind, StatusCode

from otel_agentkit import semconv
from otel_agentkit.instrumentation.ollama import OllamaInstrumentor
from otel_agentkit.testing import TelemetryCapture
from tests.conftest import cassettes_dir
from tests.llm_helpers import instrument_fixture, only_span, tel_fixture
from tests.ollama_helpers import HOST, SECRET_TOKEN, OllamaCassette, fixture_cassette

_DURATION_FIELDS = {
    "total_duration": semconv.AGENTKIT_OLLAMA_TOTAL_DURATION,
    "load_duration": semconv.AGENTKIT_OLLAMA_LOAD_DURATION,
    "prompt_eval_duration": semconv.AGENTKIT_OLLAMA_PROMPT_EVAL_DURATION,
    "eval_duration": semconv.AGENTKIT_OLLAMA_EVAL_DURATION,
}
_OPERATION = {
    "chat": "chat",
    "generate": "text_completion",
    "embed": "embeddings",
    "embeddings": "embeddings",
}
_CONTENT_KEYS = (
    semconv.GEN_AI_INPUT_MESSAGES,
    semconv.GEN_AI_OUTPUT_MESSAGES,
    semconv.GEN_AI_SYSTEM_INSTRUCTIONS,
    semconv.GEN_AI_TOOL_DEFINITIONS,
)


instrument = instrument_fixture(OllamaInstrumentor)
tel = tel_fixture()


def recorded(name: str) -> OllamaCassette:
    return OllamaCassette(cassettes_dir("ollama") / name)


def call_api(cassette: OllamaCassette, mode: str, index: int = 0) -> Any:
    """Make the recorded call with a sync or async client; a stream is read to the end."""
    method, kwargs = cassette.method(index), cassette.call_kwargs(index)
    if mode == "sync":
        result = getattr(cassette.client(), method)(**kwargs)
        return list(result) if kwargs.get("stream") else result

    async def go() -> Any:
        result = await getattr(cassette.async_client(), method)(**kwargs)
        return [c async for c in result] if kwargs.get("stream") else result

    return asyncio.run(go())


def check_span(
    span: Any, cassette: OllamaCassette, index: int = 0, *, content: bool = False
) -> dict[str, Any]:
    """The span says what the recorded request asked and the recorded response answered."""
    request, final = cassette.request_json(index), cassette.final(index)
    operation = _OPERATION[cassette.method(index)]
    attrs = span.attributes
    assert span.name == f"{operation} {request['model']}"
    assert span.kind is SpanKind.CLIENT
    assert attrs[semconv.GEN_AI_OPERATION_NAME] == operation
    assert attrs[semconv.GEN_AI_PROVIDER_NAME] == "ollama"
    assert attrs[semconv.GEN_AI_REQUEST_MODEL] == request["model"]
    assert attrs[semconv.SERVER_ADDRESS] == "127.0.0.1"
    assert attrs[semconv.SERVER_PORT] == 11434
    assert attrs.get(semconv.GEN_AI_RESPONSE_MODEL) == final.get("model")
    if "done_reason" in final:
        assert list(attrs[semconv.GEN_AI_RESPONSE_FINISH_REASONS]) == [final["done_reason"]]
    assert attrs.get(semconv.GEN_AI_USAGE_INPUT_TOKENS) == final.get("prompt_eval_count")
    assert attrs.get(semconv.GEN_AI_USAGE_OUTPUT_TOKENS) == final.get("eval_count")
    for field, attr in _DURATION_FIELDS.items():
        if field in final:
            assert attrs[attr] == pytest.approx(final[field] / 1e9)
        else:
            assert attr not in attrs
    assert attrs.get(semconv.GEN_AI_REQUEST_STREAM, False) is bool(request.get("stream"))
    if not content:
        for key in _CONTENT_KEYS:
            assert key not in attrs  # content is off by default
    assert span.status.status_code is not StatusCode.ERROR
    return final


def check_metrics(tel: TelemetryCapture, span: Any, final: dict[str, Any]) -> None:
    """Duration and token metrics recorded once, in the span's context (exemplar -> trace)."""
    model_attr = {semconv.GEN_AI_RESPONSE_MODEL: final["model"]} if "model" in final else {}
    (duration,) = tel.metric_points(semconv.GEN_AI_CLIENT_OPERATION_DURATION, model_attr)
    assert duration.count == 1
    assert set(duration.attributes) <= semconv.METRIC_ATTRIBUTE_ALLOWLIST
    assert duration.attributes[semconv.GEN_AI_PROVIDER_NAME] == "ollama"
    assert duration.exemplars, "recorded without the span's context"
    assert duration.exemplars[0].trace_id == span.context.trace_id
    assert duration.exemplars[0].span_id == span.context.span_id
    for token_type, field in (("input", "prompt_eval_count"), ("output", "eval_count")):
        points = tel.metric_points(
            semconv.GEN_AI_CLIENT_TOKEN_USAGE, {semconv.GEN_AI_TOKEN_TYPE: token_type}
        )
        if field in final:
            (point,) = points
            assert (point.count, point.sum) == (1, final[field])
        else:
            assert points == []


# ---------------------------------------------------------------------------
# Recorded traffic: chat, generate, embeddings; sync and async; streamed and not
# ---------------------------------------------------------------------------

NOT_STREAMED = [
    ("test_chat/test_ollama_chat_legacy.yaml", "sync"),
    ("test_chat/test_ollama_async_chat_legacy.yaml", "async"),
    ("test_chat/test_ollama_chat_tool_calls_legacy.yaml", "sync"),
    ("test_ollama_metrics/test_ollama_operation_duration_includes_model_attribute.yaml", "sync"),
    ("test_generation/test_ollama_generation_legacy.yaml", "sync"),
    ("test_generation/test_ollama_async_generation_legacy.yaml", "async"),
    ("test_embeddings/test_ollama_embeddings_legacy.yaml", "sync"),
    ("test_embeddings/test_ollama_embeddings_legacy.yaml", "async"),
]


@pytest.mark.parametrize(("name", "mode"), NOT_STREAMED)
def test_recorded_call(tel: TelemetryCapture, name: str, mode: str) -> None:
    cassette = recorded(name)
    result = call_api(cassette, mode)
    span = only_span(tel)
    final = check_span(span, cassette)
    check_metrics(tel, span, final)
    assert tel.metric_points(semconv.GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK) == []
    if cassette.method() == "embeddings":
        assert span.attributes[semconv.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] == len(final["embedding"])
        assert list(result.embedding) == final["embedding"]  # the caller's result is intact
    elif cassette.method() == "chat":
        assert result.message.content == final["message"]["content"]
    else:
        assert result.response == final["response"]


STREAMED = [
    ("test_chat/test_ollama_streaming_chat_legacy.yaml", "sync"),
    ("test_chat/test_ollama_async_streaming_chat_legacy.yaml", "async"),
    ("test_generation/test_ollama_streaming_generation_legacy.yaml", "sync"),
    ("test_generation/test_ollama_async_streaming_generation_legacy.yaml", "async"),
    ("test_ollama_metrics/test_ollama_streaming_metrics.yaml", "sync"),
]


@pytest.mark.parametrize(("name", "mode"), STREAMED)
def test_recorded_stream(tel: TelemetryCapture, name: str, mode: str) -> None:
    cassette = recorded(name)
    chunks = call_api(cassette, mode)
    lines = cassette.stream_lines()
    assert len(chunks) == len(lines)  # every recorded chunk reached the caller
    span = only_span(tel)
    final = check_span(span, cassette)
    check_metrics(tel, span, final)
    assert span.attributes[semconv.GEN_AI_REQUEST_STREAM] is True
    ttfc = span.attributes[semconv.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK]
    assert ttfc >= 0
    (first,) = tel.metric_points(semconv.GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK)
    assert first.count == 1
    assert first.sum == pytest.approx(ttfc)
    (per_chunk,) = tel.metric_points(semconv.GEN_AI_CLIENT_OPERATION_TIME_PER_OUTPUT_CHUNK)
    assert per_chunk.count == 1
    assert per_chunk.attributes[semconv.GEN_AI_RESPONSE_MODEL] == final["model"]


# ---------------------------------------------------------------------------
# Content capture
# ---------------------------------------------------------------------------


def _json_attr(span: Any, key: str) -> Any:
    return json.loads(span.attributes[key])


def test_content_capture_chat(
    agentkit_telemetry: TelemetryCapture, instrument: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(semconv.ENV_CAPTURE_MESSAGE_CONTENT, "SPAN_ONLY")
    instrument()
    cassette = recorded("test_chat/test_ollama_chat_with_events_with_content.yaml")
    call_api(cassette, "sync")
    span = only_span(agentkit_telemetry)
    request, final = cassette.request_json(), cassette.final()
    inputs = _json_attr(span, semconv.GEN_AI_INPUT_MESSAGES)
    assert [(m["role"], m["parts"][0]["content"]) for m in inputs] == [
        (m["role"], m["content"]) for m in request["messages"]
    ]
    (output,) = _json_attr(span, semconv.GEN_AI_OUTPUT_MESSAGES)
    assert output["role"] == final["message"]["role"]
    assert output["parts"] == [{"type": "text", "content": final["message"]["content"]}]
    assert output["finish_reason"] == final["done_reason"]
    assert agentkit_telemetry.logs() == []  # SPAN_ONLY: no event


def test_content_capture_recorded_tool_history(
    agentkit_telemetry: TelemetryCapture, instrument: Any
) -> None:
    """A request replaying a tool call and its result: both appear as the conventions' parts."""
    instrument(capture_content=True)
    cassette = recorded("test_chat/test_ollama_chat_tool_calls_with_events_with_content.yaml")
    call_api(cassette, "sync")
    span = only_span(agentkit_telemetry)
    assistant, tool = _json_attr(span, semconv.GEN_AI_INPUT_MESSAGES)
    recorded_call = cassette.request_json()["messages"][0]["tool_calls"][0]["function"]
    (call_part,) = [p for p in assistant["parts"] if p["type"] == "tool_call"]
    assert call_part["name"] == recorded_call["name"]
    assert call_part["arguments"] == recorded_call["arguments"]
    assert tool["parts"][0] == {
        "type": "tool_call_response",
        "response": cassette.request_json()["messages"][1]["content"],
    }


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_content_capture_stream_event_only(
    agentkit_telemetry: TelemetryCapture,
    instrument: Any,
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
) -> None:
    monkeypatch.setenv(semconv.ENV_CAPTURE_MESSAGE_CONTENT, "EVENT_ONLY")
    instrument()
    name = {
        "sync": "test_generation/test_ollama_streaming_generation_with_events_with_content.yaml",
        "async": "test_chat/test_ollama_async_streaming_chat_with_events_with_content.yaml",
    }[mode]
    cassette = recorded(name)
    call_api(cassette, mode)
    span = only_span(agentkit_telemetry)
    for key in _CONTENT_KEYS:
        assert key not in span.attributes
    (event,) = agentkit_telemetry.logs()
    assert event.log_record.event_name == semconv.GEN_AI_CLIENT_INFERENCE_OPERATION_DETAILS_EVENT
    assert event.log_record.span_id == span.context.span_id
    (output,) = json.loads(event.log_record.attributes[semconv.GEN_AI_OUTPUT_MESSAGES])
    lines = cassette.stream_lines()
    if cassette.method() == "chat":
        expected = "".join(line["message"]["content"] for line in lines)
    else:
        expected = "".join(line["response"] for line in lines)
    assert output["parts"] == [{"type": "text", "content": expected}]


def test_no_content_by_default_even_with_tool_calls(tel: TelemetryCapture) -> None:
    cassette = fixture_cassette("chat_tool_call.yaml")
    result = call_api(cassette, "sync")
    span = only_span(tel)
    recorded_calls = cassette.final()["message"]["tool_calls"]
    assert list(span.attributes[semconv.AGENTKIT_RESPONSE_TOOL_CALL_NAMES]) == [
        c["function"]["name"] for c in recorded_calls
    ]
    assert semconv.AGENTKIT_RESPONSE_TOOL_CALL_IDS not in span.attributes  # Ollama has none
    for key in _CONTENT_KEYS:
        assert key not in span.attributes
    dumped = json.dumps(dict(span.attributes))
    for call in recorded_calls:
        for value in call["function"]["arguments"].values():
            assert value not in dumped  # arguments are content
    assert [tc.function.arguments for tc in result.message.tool_calls] == [
        c["function"]["arguments"] for c in recorded_calls
    ]


def test_tool_calls_with_content(agentkit_telemetry: TelemetryCapture, instrument: Any) -> None:
    instrument(capture_content="SPAN_ONLY")
    cassette = fixture_cassette("chat_tool_call.yaml")
    call_api(cassette, "sync")
    span = only_span(agentkit_telemetry)
    (output,) = _json_attr(span, semconv.GEN_AI_OUTPUT_MESSAGES)
    assert [(p["name"], p["arguments"]) for p in output["parts"] if p["type"] == "tool_call"] == [
        (c["function"]["name"], c["function"]["arguments"])
        for c in cassette.final()["message"]["tool_calls"]
    ]
    (definition,) = _json_attr(span, semconv.GEN_AI_TOOL_DEFINITIONS)
    recorded_tool = cassette.request_json()["tools"][0]["function"]
    assert definition["name"] == recorded_tool["name"]
    assert definition["parameters"] == recorded_tool["parameters"]


def test_python_function_tool_definition(
    agentkit_telemetry: TelemetryCapture, instrument: Any
) -> None:
    """ollama accepts plain functions as tools; the definition names them."""

    def get_weather(city: str) -> str:
        """Current weather for a city.

        Args:
          city: The city.
        """
        return city

    instrument(capture_content=True)
    cassette = fixture_cassette("chat_tool_call.yaml")
    kwargs = cassette.call_kwargs() | {"tools": [get_weather]}
    cassette.client().chat(**kwargs)
    (definition,) = _json_attr(only_span(agentkit_telemetry), semconv.GEN_AI_TOOL_DEFINITIONS)
    assert definition["name"] == "get_weather"
    assert definition["description"] == "Current weather for a city."


def test_streamed_tool_call_and_thinking(
    agentkit_telemetry: TelemetryCapture, instrument: Any
) -> None:
    instrument(capture_content=True)
    cassette = fixture_cassette("chat_stream_tools.yaml")
    call_api(cassette, "sync")
    span = only_span(agentkit_telemetry)
    check_span(span, cassette, content=True)
    lines = cassette.stream_lines()
    calls = [tc["function"] for line in lines for tc in line["message"].get("tool_calls", [])]
    assert list(span.attributes[semconv.AGENTKIT_RESPONSE_TOOL_CALL_NAMES]) == [
        c["name"] for c in calls
    ]
    (output,) = _json_attr(span, semconv.GEN_AI_OUTPUT_MESSAGES)
    thinking = "".join(line["message"].get("thinking", "") for line in lines)
    text = "".join(line["message"]["content"] for line in lines)
    # Older ollama versions have no ``thinking`` field: the client drops it before we see it.
    has_thinking = "thinking" in ollama.Message.model_fields
    assert output["parts"] == [
        *([{"type": "reasoning", "content": thinking}] if has_thinking else []),
        {"type": "text", "content": text},
        *({"type": "tool_call", "name": c["name"], "arguments": c["arguments"]}
          for c in calls),
    ]  # fmt: skip


# ---------------------------------------------------------------------------
# Request attributes, embed, generate with system, module functions, server
# ---------------------------------------------------------------------------


def test_request_options_become_attributes(tel: TelemetryCapture) -> None:
    cassette = fixture_cassette("chat_basic.yaml")
    call_api(cassette, "sync")
    span = only_span(tel)
    check_span(span, cassette)
    options = cassette.request_json()["options"]
    attrs = span.attributes
    assert attrs[semconv.GEN_AI_REQUEST_TEMPERATURE] == options["temperature"]
    assert attrs[semconv.GEN_AI_REQUEST_TOP_P] == options["top_p"]
    assert attrs[semconv.GEN_AI_REQUEST_TOP_K] == options["top_k"]
    assert attrs[semconv.GEN_AI_REQUEST_MAX_TOKENS] == options["num_predict"]
    assert attrs[semconv.GEN_AI_REQUEST_SEED] == options["seed"]
    assert list(attrs[semconv.GEN_AI_REQUEST_STOP_SEQUENCES]) == options["stop"]


def test_options_model_and_positional_arguments(tel: TelemetryCapture) -> None:
    """``ollama.Options`` and positional model/messages read the same as keywords."""
    cassette = fixture_cassette("chat_basic.yaml")
    request = cassette.request_json()
    cassette.client().chat(
        request["model"], request["messages"], options=ollama.Options(temperature=0.75)
    )
    span = only_span(tel)
    assert span.name == f"chat {request['model']}"
    assert span.attributes[semconv.GEN_AI_REQUEST_TEMPERATURE] == 0.75


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_embed(tel: TelemetryCapture, mode: str) -> None:
    cassette = fixture_cassette("embed.yaml")
    result = call_api(cassette, mode)
    span = only_span(tel)
    final = check_span(span, cassette)
    check_metrics(tel, span, final)
    assert span.attributes[semconv.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] == len(final["embeddings"][0])
    assert [list(v) for v in result.embeddings] == final["embeddings"]


def test_embed_positional(tel: TelemetryCapture) -> None:
    cassette = fixture_cassette("embed.yaml")
    request = cassette.request_json()
    cassette.client().embed(request["model"], request["input"])
    assert only_span(tel).name == f"embeddings {request['model']}"


def test_generate_system_instructions(
    agentkit_telemetry: TelemetryCapture, instrument: Any
) -> None:
    instrument(capture_content="SPAN_AND_EVENT")
    cassette = fixture_cassette("generate_stream.yaml")
    call_api(cassette, "sync")
    span = only_span(agentkit_telemetry)
    check_span(span, cassette, content=True)
    request = cassette.request_json()
    assert _json_attr(span, semconv.GEN_AI_SYSTEM_INSTRUCTIONS) == [
        {"type": "text", "content": request["system"]}
    ]
    (message,) = _json_attr(span, semconv.GEN_AI_INPUT_MESSAGES)
    assert message["parts"] == [{"type": "text", "content": request["prompt"]}]
    assert span.attributes[semconv.GEN_AI_REQUEST_MAX_TOKENS] == request["options"]["num_predict"]
    assert len(agentkit_telemetry.logs()) == 1


def test_module_level_functions_are_traced(
    tel: TelemetryCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ollama.chat`` goes through the default client, bound at ollama's import."""
    cassette = fixture_cassette("generate_basic.yaml")
    default = ollama._client  # type: ignore[attr-defined]
    http = httpx.Client(base_url=HOST, transport=cassette.transport())
    monkeypatch.setattr(default, "_client", http)
    result = ollama.generate(**cassette.call_kwargs())
    assert result.response == cassette.final()["response"]
    check_span(only_span(tel), cassette)


def test_ollama_host_sets_server_and_keeps_credentials_out(
    tel: TelemetryCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    cassette = fixture_cassette("chat_basic.yaml")
    body = cassette.response_text()
    monkeypatch.setenv("OLLAMA_HOST", "http://admin:hunter2@gpu-box.internal:8080")

    def serve(request: httpx.Request) -> httpx.Response:
        assert request.url.host == "gpu-box.internal"
        return httpx.Response(200, content=body.encode())

    ollama.Client(transport=httpx.MockTransport(serve)).chat(**cassette.call_kwargs())
    span = only_span(tel)
    assert span.attributes[semconv.SERVER_ADDRESS] == "gpu-box.internal"
    assert span.attributes[semconv.SERVER_PORT] == 8080
    assert "hunter2" not in repr(dict(span.attributes))


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_model_not_found(tel: TelemetryCapture, mode: str) -> None:
    cassette = fixture_cassette("model_not_found.yaml")
    with pytest.raises(ollama.ResponseError) as caught:
        call_api(cassette, mode)
    assert caught.value.status_code == cassette.status()
    assert caught.value.error == cassette.response_json()["error"]
    span = only_span(tel)
    assert span.name == f"chat {cassette.request_json()['model']}"
    assert span.attributes[semconv.ERROR_TYPE] == "ResponseError"
    assert span.status.status_code is StatusCode.ERROR
    (point,) = tel.metric_points(semconv.GEN_AI_CLIENT_OPERATION_DURATION)
    assert point.attributes[semconv.ERROR_TYPE] == "ResponseError"
    assert tel.metric_points(semconv.GEN_AI_CLIENT_TOKEN_USAGE) == []


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_model_not_found_streamed(tel: TelemetryCapture, mode: str) -> None:
    """A stream sends its request at the first chunk: the error ends the span there."""
    cassette = fixture_cassette("model_not_found.yaml")
    with pytest.raises(ollama.ResponseError):
        call_api(cassette, mode, index=1)
    span = only_span(tel)
    assert span.attributes[semconv.ERROR_TYPE] == "ResponseError"
    assert span.attributes[semconv.GEN_AI_REQUEST_STREAM] is True
    assert tel.metric_points(semconv.GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK) == []


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_connection_error(tel: TelemetryCapture, mode: str) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    transport = httpx.MockTransport(refuse)

    def sync_call() -> None:
        ollama.Client(host=HOST, transport=transport).chat(model="m", messages=[])

    async def async_call() -> None:
        await ollama.AsyncClient(host=HOST, transport=transport).chat(model="m", messages=[])

    # Recent ollama versions turn httpx.ConnectError into the builtin ConnectionError;
    # older versions let it through. Either way it reaches the caller untouched.
    with pytest.raises((ConnectionError, httpx.ConnectError)) as caught:
        sync_call() if mode == "sync" else asyncio.run(async_call())
    span = only_span(tel)
    assert span.attributes[semconv.ERROR_TYPE] == type(caught.value).__name__
    assert span.status.status_code is StatusCode.ERROR


def test_secrets_never_reach_telemetry(
    agentkit_telemetry: TelemetryCapture, instrument: Any
) -> None:
    """The Authorization header the client was built with, even when a server echoes it."""
    instrument(capture_content="SPAN_AND_EVENT")
    cassette = fixture_cassette("chat_basic.yaml")
    call_api(cassette, "sync")

    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, text=f"bad Authorization: {request.headers['authorization']}")

    client = ollama.Client(
        host=HOST, headers={"Authorization": SECRET_TOKEN}, transport=httpx.MockTransport(echo)
    )
    with pytest.raises(ollama.ResponseError) as caught:
        client.chat(model="m", messages=[{"role": "user", "content": "hi"}])
    assert SECRET_TOKEN in str(caught.value)  # the caller's exception is untouched
    token = SECRET_TOKEN.split()[-1]
    spans = agentkit_telemetry.spans()
    assert len(spans) == 2
    for span in spans:
        assert token not in repr(dict(span.attributes))
        assert token not in (span.status.description or "")
        assert all(token not in repr(e.attributes) for e in span.events)
    for record in agentkit_telemetry.logs():
        assert token not in repr(dict(record.log_record.attributes or {}))
    for name in (semconv.GEN_AI_CLIENT_OPERATION_DURATION, semconv.GEN_AI_CLIENT_TOKEN_USAGE):
        for point in agentkit_telemetry.metric_points(name):
            assert token not in repr(dict(point.attributes))


# ---------------------------------------------------------------------------
# Safety: never breaks the caller, uninstrument, double instrument, versions
# ---------------------------------------------------------------------------


def test_internal_error_is_swallowed(
    tel: TelemetryCapture, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from otel_agentkit.instrumentation.ollama import _calls

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("instrumentation bug")

    monkeypatch.setattr(_calls, "_read_final", broken)
    cassette = fixture_cassette("chat_basic.yaml")
    with caplog.at_level("DEBUG", logger="otel_agentkit"):
        result = call_api(cassette, "sync")
    assert result.message.content == cassette.final()["message"]["content"]
    assert only_span(tel).end_time is not None  # still ended
    assert "instrumentation bug" in caplog.text


def test_broken_request_reader_still_calls_through(
    tel: TelemetryCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any) -> Any:
        raise RuntimeError("instrumentation bug")

    monkeypatch.setattr(OllamaInstrumentor, "start", broken)
    cassette = fixture_cassette("chat_basic.yaml")
    result = call_api(cassette, "sync")
    assert result.message.content == cassette.final()["message"]["content"]
    assert tel.spans() == []  # no span rather than a wrong one


def test_uninstrument_restores_originals(
    agentkit_telemetry: TelemetryCapture, instrument: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    originals = {
        (cls, name): vars(cls)[name]
        for cls in (ollama.Client, ollama.AsyncClient)
        for name in ("chat", "generate", "embed", "embeddings")
    }
    module_chat = ollama.chat
    instrumentor = instrument()
    assert vars(ollama.Client)["chat"] is not originals[(ollama.Client, "chat")]
    assert ollama.chat is not module_chat
    instrumentor.uninstrument()
    for (cls, name), original in originals.items():
        assert vars(cls)[name] is original
    assert ollama.chat is module_chat
    cassette = fixture_cassette("generate_basic.yaml")
    call_api(cassette, "sync")
    monkeypatch.setattr(
        ollama._client,  # type: ignore[attr-defined]
        "_client",
        httpx.Client(base_url=HOST, transport=fixture_cassette("chat_basic.yaml").transport()),
    )
    ollama.chat(**fixture_cassette("chat_basic.yaml").call_kwargs())
    assert agentkit_telemetry.spans() == []


def test_instrumenting_twice_wraps_once(tel: TelemetryCapture, instrument: Any) -> None:
    instrument()  # the ``tel`` fixture already instrumented once
    OllamaInstrumentor().instrument()  # the instrumentor is a singleton
    call_api(fixture_cassette("chat_basic.yaml"), "sync")
    assert len(tel.spans()) == 1


def test_unsupported_version_is_left_alone(
    agentkit_telemetry: TelemetryCapture,
    instrument: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from otel_agentkit.instrumentation import _base
    from otel_agentkit.instrumentation import ollama as module

    monkeypatch.setattr(_base, "installed_version", lambda name: "0.3.3")
    with caplog.at_level("WARNING", logger="otel_agentkit"):
        instrument()
    assert "ollama 0.3.3 is not supported" in caplog.text
    assert module._instruments == ("ollama >= 0.4, < 1",)
    call_api(fixture_cassette("chat_basic.yaml"), "sync")
    assert agentkit_telemetry.spans() == []


def test_suppressed_instrumentation_makes_no_span(tel: TelemetryCapture) -> None:
    from opentelemetry.instrumentation.utils import suppress_instrumentation

    with suppress_instrumentation():
        call_api(fixture_cassette("chat_basic.yaml"), "sync")
    assert tel.spans() == []


def test_json_format_and_images(agentkit_telemetry: TelemetryCapture, instrument: Any) -> None:
    """``format="json"`` sets the output type; captured images are noted, never their bytes."""
    instrument(capture_content=True)
    cassette = fixture_cassette("chat_basic.yaml")
    image = b"\x89PNG-fixture-image-bytes"
    messages = [{"role": "user", "content": "What is this?", "images": [image]}]
    cassette.client().chat(model="fixture-llama", messages=messages, format="json")
    span = only_span(agentkit_telemetry)
    assert span.attributes[semconv.GEN_AI_OUTPUT_TYPE] == "json"
    (message,) = _json_attr(span, semconv.GEN_AI_INPUT_MESSAGES)
    assert message["parts"] == [
        {"type": "text", "content": "What is this?"},
        {"type": "blob", "modality": "image"},
    ]
    assert "fixture-image" not in repr(dict(span.attributes))


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_request_is_sent_inside_the_span(tel: TelemetryCapture, mode: str, stream: bool) -> None:
    """HTTP client spans nest under ours, even for streams, which send at the first chunk."""
    from opentelemetry import trace

    name = "generate_stream.yaml" if stream else "generate_basic.yaml"
    cassette = fixture_cassette(name)
    recorded_transport = cassette.transport()
    current_at_send: list[Any] = []

    def serve(request: httpx.Request) -> httpx.Response:
        current_at_send.append(trace.get_current_span().get_span_context())
        return recorded_transport.handle_request(request)  # type: ignore[no-any-return]

    async def aserve(request: httpx.Request) -> httpx.Response:
        return serve(request)

    kwargs = cassette.call_kwargs()
    if mode == "sync":
        client = ollama.Client(host=HOST, transport=httpx.MockTransport(serve))
        result = client.generate(**kwargs)
        if stream:
            list(result)
    else:

        async def go() -> None:
            client = ollama.AsyncClient(host=HOST, transport=httpx.MockTransport(aserve))
            result = await client.generate(**kwargs)
            if stream:
                _ = [c async for c in result]

        asyncio.run(go())
    span = only_span(tel)
    assert [c.span_id for c in current_at_send] == [span.context.span_id]


def test_every_recorded_cassette(tel: TelemetryCapture) -> None:
    """All of ../shared/cassettes/ollama, each through the client its name says (sync/async)."""
    paths = sorted(cassettes_dir("ollama").rglob("*.yaml"))
    assert paths
    for path in paths:
        tel.clear()
        cassette = OllamaCassette(path)
        mode = "async" if "async" in path.name else "sync"
        call_api(cassette, mode)
        check_span(only_span(tel), cassette)
    durations = tel.metric_points(semconv.GEN_AI_CLIENT_OPERATION_DURATION)
    assert sum(p.count for p in durations) == len(paths)


@pytest.mark.parametrize("name", ["chat_basic.yaml", "chat_stream_tools.yaml"])
def test_broken_content_reader_still_ends_the_span(
    agentkit_telemetry: TelemetryCapture,
    instrument: Any,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
) -> None:
    from otel_agentkit.instrumentation.ollama import _calls

    def broken(messages: Any) -> Any:
        raise RuntimeError("instrumentation bug")

    monkeypatch.setattr(_calls, "input_messages", broken)
    instrument(capture_content=True)
    cassette = fixture_cassette(name)
    result = call_api(cassette, "sync")
    expected = [line["message"]["content"] for line in cassette.stream_lines()]
    got = (
        [c.message.content for c in result]
        if isinstance(result, list)
        else [result.message.content]
    )
    assert got == expected  # the caller's result is untouched
    span = only_span(agentkit_telemetry)  # ended, with what could be read
    assert span.attributes[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] == cassette.final()["eval_count"]


def test_no_sdk_passes_straight_through(monkeypatch: pytest.MonkeyPatch) -> None:
    """With only the API's no-op providers, no request or response is read at all."""
    from otel_agentkit.instrumentation import _llm

    bound: list[Any] = []
    real_bind = _llm._bind
    monkeypatch.setattr(_llm, "_bind", lambda *a: bound.append(a) or real_bind(*a))
    instrumentor = OllamaInstrumentor()
    instrumentor.instrument()
    try:
        cassette = fixture_cassette("chat_stream_tools.yaml")
        chunks = call_api(cassette, "sync")
    finally:
        instrumentor.uninstrument()
    assert len(chunks) == len(cassette.stream_lines())
    assert bound == []


def test_agentkit_instrument_by_name(agentkit_telemetry: TelemetryCapture) -> None:
    from otel_agentkit import instrumentation

    assert instrumentation.instrument("ollama", capture_content=True) == ["ollama"]
    try:
        call_api(fixture_cassette("generate_basic.yaml"), "sync")
    finally:
        instrumentation.uninstrument("ollama")
    span = only_span(agentkit_telemetry)
    assert semconv.GEN_AI_OUTPUT_MESSAGES in span.attributes  # the kwargs reached it
    assert vars(ollama.Client)["generate"].__class__.__name__ == "function"
