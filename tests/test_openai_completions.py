"""The legacy Completions API (``client.completions.create``), replayed through the real client.

Recordings are self-written (tests/fixtures/openai/completions_*.yaml), shaped
like the API's responses; every expectation is read from the recording.
"""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from opentelemetry.trace import SpanKind, StatusCode

from otel_agentkit import semconv
from otel_agentkit.instrumentation.openai import OpenAIInstrumentor
from otel_agentkit.testing import TelemetryCapture
from tests.llm_helpers import instrument_fixture, only_span, run, tel_fixture
from tests.openai_helpers import Cassette, fixture_cassette
from tests.test_openai import check_metrics

instrument = instrument_fixture(OpenAIInstrumentor)
tel = tel_fixture()


def complete(cassette: Cassette, mode: str, **overrides: Any) -> Any:
    """``completions.create`` with the recorded request; a stream is read to the end."""
    kwargs = {**cassette.request_json(), **overrides}
    if mode == "sync":
        result = cassette.client().completions.create(**kwargs)
        return list(result) if kwargs.get("stream") else result

    async def go() -> Any:
        result = await cassette.async_client().completions.create(**kwargs)
        if kwargs.get("stream"):
            assert isinstance(result, openai.AsyncStream)
            return [c async for c in result]
        return result

    return run(go())


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_completion(tel: TelemetryCapture, mode: str) -> None:
    cassette = fixture_cassette("completions_basic.yaml")
    request = cassette.request_json()
    response = cassette.response_json()
    result = complete(cassette, mode)
    assert result.id == response["id"]  # the caller's result is untouched
    span = only_span(tel)
    attrs = span.attributes
    assert span.name == f"text_completion {request['model']}"
    assert span.kind is SpanKind.CLIENT
    assert attrs[semconv.GEN_AI_OPERATION_NAME] == "text_completion"
    assert attrs[semconv.GEN_AI_PROVIDER_NAME] == "openai"
    assert attrs[semconv.GEN_AI_REQUEST_MODEL] == request["model"]
    assert (attrs[semconv.SERVER_ADDRESS], attrs[semconv.SERVER_PORT]) == ("api.openai.com", 443)
    for key, attr in (
        ("max_tokens", semconv.GEN_AI_REQUEST_MAX_TOKENS),
        ("temperature", semconv.GEN_AI_REQUEST_TEMPERATURE),
        ("top_p", semconv.GEN_AI_REQUEST_TOP_P),
        ("seed", semconv.GEN_AI_REQUEST_SEED),
        ("frequency_penalty", semconv.GEN_AI_REQUEST_FREQUENCY_PENALTY),
        ("presence_penalty", semconv.GEN_AI_REQUEST_PRESENCE_PENALTY),
        ("n", semconv.GEN_AI_REQUEST_CHOICE_COUNT),
    ):
        assert attrs[attr] == request[key], key
    assert list(attrs[semconv.GEN_AI_REQUEST_STOP_SEQUENCES]) == request["stop"]
    assert semconv.GEN_AI_REQUEST_STREAM not in attrs
    assert attrs[semconv.GEN_AI_RESPONSE_ID] == response["id"]
    assert attrs[semconv.GEN_AI_RESPONSE_MODEL] == response["model"]
    assert list(attrs[semconv.GEN_AI_RESPONSE_FINISH_REASONS]) == [
        c["finish_reason"] for c in response["choices"]
    ]
    assert attrs[semconv.GEN_AI_USAGE_INPUT_TOKENS] == response["usage"]["prompt_tokens"]
    assert attrs[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] == response["usage"]["completion_tokens"]
    # Content is off by default: neither the prompt nor the completions are recorded.
    dumped = span.to_json()
    assert request["prompt"] not in dumped
    for choice in response["choices"]:
        assert choice["text"] not in dumped
    assert span.status.status_code is not StatusCode.ERROR
    check_metrics(
        tel,
        span,
        response["model"],
        {
            "input": response["usage"]["prompt_tokens"],
            "output": response["usage"]["completion_tokens"],
        },
    )
    (duration,) = tel.metric_points(semconv.GEN_AI_CLIENT_OPERATION_DURATION)
    assert duration.attributes[semconv.GEN_AI_OPERATION_NAME] == "text_completion"


def stream_expectations(cassette: Cassette) -> dict[str, Any]:
    events = cassette.stream_events()
    reasons: dict[int, str] = {}
    texts: dict[int, str] = {}
    usage = None
    for event in events:
        for choice in event["choices"]:
            texts[choice["index"]] = texts.get(choice["index"], "") + choice["text"]
            if choice.get("finish_reason"):
                reasons[choice["index"]] = choice["finish_reason"]
        usage = event.get("usage") or usage
    return {
        "id": events[0]["id"],
        "model": events[0]["model"],
        "chunks": len(events),
        "finish_reasons": [reasons[i] for i in sorted(reasons)],
        "texts": [texts[i] for i in sorted(texts)],
        "usage": usage,
    }


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_completion_stream(tel: TelemetryCapture, mode: str) -> None:
    cassette = fixture_cassette("completions_stream.yaml")
    request = cassette.request_json()
    expected = stream_expectations(cassette)
    chunks = complete(cassette, mode)
    assert len(chunks) == expected["chunks"]
    span = only_span(tel)
    attrs = span.attributes
    assert span.name == f"text_completion {request['model']}"
    assert attrs[semconv.GEN_AI_REQUEST_STREAM] is True
    assert attrs[semconv.GEN_AI_REQUEST_MAX_TOKENS] == request["max_tokens"]
    assert attrs[semconv.GEN_AI_RESPONSE_ID] == expected["id"]
    assert attrs[semconv.GEN_AI_RESPONSE_MODEL] == expected["model"]
    assert list(attrs[semconv.GEN_AI_RESPONSE_FINISH_REASONS]) == expected["finish_reasons"]
    assert attrs[semconv.GEN_AI_USAGE_INPUT_TOKENS] == expected["usage"]["prompt_tokens"]
    assert attrs[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] == expected["usage"]["completion_tokens"]
    assert semconv.GEN_AI_OUTPUT_MESSAGES not in attrs
    # Exemplars come with the first collection after recording: one collection here.
    points = {name: list(m.data.data_points) for (_, name), m in tel.metrics().items()}
    (duration,) = points[semconv.GEN_AI_CLIENT_OPERATION_DURATION]
    assert duration.count == 1
    assert duration.exemplars[0].span_id == span.context.span_id
    assert sorted(
        (p.attributes[semconv.GEN_AI_TOKEN_TYPE], p.sum)
        for p in points[semconv.GEN_AI_CLIENT_TOKEN_USAGE]
    ) == [
        ("input", expected["usage"]["prompt_tokens"]),
        ("output", expected["usage"]["completion_tokens"]),
    ]
    ttfc = attrs[semconv.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK]
    (first_chunk,) = points[semconv.GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK]
    assert (first_chunk.count, first_chunk.sum) == (1, pytest.approx(ttfc))
    assert first_chunk.exemplars[0].span_id == span.context.span_id
    assert duration.sum >= ttfc
    assert first_chunk.attributes[semconv.GEN_AI_OPERATION_NAME] == "text_completion"
    (per_chunk,) = tel.metric_points(semconv.GEN_AI_CLIENT_OPERATION_TIME_PER_OUTPUT_CHUNK)
    assert per_chunk.count == 1
    assert per_chunk.attributes[semconv.GEN_AI_RESPONSE_MODEL] == expected["model"]


def test_completion_stream_cut_short_keeps_what_was_seen(tel: TelemetryCapture) -> None:
    cassette = fixture_cassette("completions_stream.yaml")
    stream = cassette.client().completions.create(**cassette.request_json())
    with stream:
        next(iter(stream))
        next(iter(stream))
    expected = stream_expectations(cassette)
    span = only_span(tel)
    attrs = span.attributes
    assert attrs[semconv.GEN_AI_RESPONSE_ID] == expected["id"]
    assert semconv.GEN_AI_RESPONSE_FINISH_REASONS not in attrs  # nothing invented
    assert semconv.GEN_AI_USAGE_INPUT_TOKENS not in attrs
    (duration,) = tel.metric_points(semconv.GEN_AI_CLIENT_OPERATION_DURATION)
    assert duration.count == 1


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_completion_404(tel: TelemetryCapture, mode: str) -> None:
    cassette = fixture_cassette("completions_404.yaml")
    with pytest.raises(openai.NotFoundError) as caught:
        complete(cassette, mode)
    assert caught.value.status_code == cassette.status()
    span = only_span(tel)
    assert span.name == f"text_completion {cassette.request_json()['model']}"
    assert span.attributes[semconv.ERROR_TYPE] == "NotFoundError"
    assert span.status.status_code is StatusCode.ERROR
    (point,) = tel.metric_points(semconv.GEN_AI_CLIENT_OPERATION_DURATION)
    assert point.attributes[semconv.ERROR_TYPE] == "NotFoundError"
    assert tel.metric_points(semconv.GEN_AI_CLIENT_TOKEN_USAGE) == []


def user_messages(*texts: str) -> list[dict[str, Any]]:
    return [{"role": "user", "parts": [{"type": "text", "content": t}]} for t in texts]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_completion_content_capture(
    agentkit_telemetry: TelemetryCapture, instrument: Any, mode: str
) -> None:
    instrument(capture_content="SPAN_ONLY")
    cassette = fixture_cassette("completions_basic.yaml")
    response = cassette.response_json()
    complete(cassette, mode)
    attrs = only_span(agentkit_telemetry).attributes
    assert json.loads(attrs[semconv.GEN_AI_INPUT_MESSAGES]) == user_messages(
        cassette.request_json()["prompt"]
    )
    assert json.loads(attrs[semconv.GEN_AI_OUTPUT_MESSAGES]) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": c["text"]}],
            "finish_reason": c["finish_reason"],
        }
        for c in response["choices"]
    ]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_completion_stream_content_capture_joins_the_text(
    agentkit_telemetry: TelemetryCapture, instrument: Any, mode: str
) -> None:
    instrument(capture_content="SPAN_AND_EVENT")
    cassette = fixture_cassette("completions_stream.yaml")
    expected = stream_expectations(cassette)
    complete(cassette, mode)
    span = only_span(agentkit_telemetry)
    output = [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": text}],
            "finish_reason": reason,
        }
        for text, reason in zip(expected["texts"], expected["finish_reasons"], strict=True)
    ]
    assert json.loads(span.attributes[semconv.GEN_AI_OUTPUT_MESSAGES]) == output
    (event,) = agentkit_telemetry.logs()
    event_attrs = event.log_record.attributes
    assert json.loads(event_attrs[semconv.GEN_AI_OUTPUT_MESSAGES]) == output
    assert json.loads(event_attrs[semconv.GEN_AI_INPUT_MESSAGES]) == user_messages(
        cassette.request_json()["prompt"]
    )
    assert event.log_record.span_id == span.context.span_id


def test_completion_prompt_list_and_token_prompts(
    agentkit_telemetry: TelemetryCapture, instrument: Any
) -> None:
    """A list of prompts gives one user message each; token-id prompts are not text."""
    instrument(capture_content="SPAN_ONLY")
    complete(fixture_cassette("completions_basic.yaml"), "sync", prompt=["first", "second"])
    complete(fixture_cassette("completions_basic.yaml"), "sync", prompt=[1734, 318, 257])
    first, second = agentkit_telemetry.spans()
    assert json.loads(first.attributes[semconv.GEN_AI_INPUT_MESSAGES]) == user_messages(
        "first", "second"
    )
    assert json.loads(second.attributes[semconv.GEN_AI_INPUT_MESSAGES]) == []


def test_completion_with_raw_response(tel: TelemetryCapture) -> None:
    cassette = fixture_cassette("completions_basic.yaml")
    raw = cassette.client().completions.with_raw_response.create(**cassette.request_json())
    assert raw.headers["x-request-id"] == "req_fixture"
    assert raw.parse().id == cassette.response_json()["id"]
    attrs = only_span(tel).attributes
    assert attrs[semconv.GEN_AI_RESPONSE_ID] == cassette.response_json()["id"]
    assert (
        attrs[semconv.GEN_AI_USAGE_OUTPUT_TOKENS]
        == (cassette.response_json()["usage"]["completion_tokens"])
    )


def test_uninstrument_restores_completions(instrument: Any, tel: TelemetryCapture) -> None:
    import wrapt
    from openai.resources.completions import AsyncCompletions, Completions

    assert isinstance(Completions.__dict__["create"], wrapt.FunctionWrapper)
    assert isinstance(AsyncCompletions.__dict__["create"], wrapt.FunctionWrapper)
    OpenAIInstrumentor().uninstrument()
    assert not isinstance(Completions.__dict__["create"], wrapt.FunctionWrapper)
    complete(fixture_cassette("completions_basic.yaml"), "sync")
    assert tel.spans() == []
