"""Helpers bound before ``instrument()`` still get their span (the ``request`` fallback).

A client's ``with_raw_response`` / ``with_streaming_response`` helpers are cached on
the resource at first access and hold ``resource.create`` as it was then; a caller
may also keep ``create = client.chat.completions.create``. Made before
``instrument()``, they call the original method, which still sends through the
client's ``request``: that is where these calls are caught. Each test also checks
that the normal path still makes exactly one span (no double span from the fallback).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.trace import StatusCode

from otel_agentkit import semconv
from otel_agentkit.instrumentation.openai import OpenAIInstrumentor
from otel_agentkit.testing import TelemetryCapture
from tests.llm_helpers import only_span, run
from tests.openai_helpers import fixture_cassette
from tests.test_openai import check_chat_span


@pytest.fixture
def instrumentor(agentkit_telemetry: TelemetryCapture) -> Iterator[OpenAIInstrumentor]:
    instrumentor = OpenAIInstrumentor()
    yield instrumentor
    instrumentor.uninstrument()


def test_raw_response_helper_bound_before_instrument(
    agentkit_telemetry: TelemetryCapture, instrumentor: OpenAIInstrumentor
) -> None:
    cassette = fixture_cassette("chat_basic.yaml")
    client = cassette.client()
    raw_helper = client.chat.completions.with_raw_response  # bound now, before instrument()
    instrumentor.instrument()
    assert client.chat.completions.with_raw_response is raw_helper  # the cached, old one
    raw = raw_helper.create(**cassette.request_json())
    assert raw.headers["x-request-id"] == "req_fixture"
    assert raw.parse().id == cassette.response_json()["id"]
    check_chat_span(only_span(agentkit_telemetry), cassette)


def test_async_raw_stream_bound_before_instrument(
    agentkit_telemetry: TelemetryCapture, instrumentor: OpenAIInstrumentor
) -> None:
    cassette = fixture_cassette("chat_stream.yaml")
    client = cassette.async_client()
    raw_helper = client.chat.completions.with_raw_response
    instrumentor.instrument()

    async def go() -> int:
        raw = await raw_helper.create(**cassette.request_json())
        return len([c async for c in raw.parse()])

    assert run(go()) == len(cassette.stream_events())
    span = only_span(agentkit_telemetry)
    attrs = span.attributes
    assert attrs[semconv.GEN_AI_REQUEST_STREAM] is True
    assert attrs[semconv.GEN_AI_RESPONSE_ID] == cassette.stream_events()[0]["id"]
    assert list(attrs[semconv.GEN_AI_RESPONSE_FINISH_REASONS]) == ["stop"]
    assert (
        attrs[semconv.GEN_AI_USAGE_OUTPUT_TOKENS]
        == (cassette.stream_events()[-1]["usage"]["completion_tokens"])
    )


def test_streaming_response_helper_bound_before_instrument(
    agentkit_telemetry: TelemetryCapture, instrumentor: OpenAIInstrumentor
) -> None:
    cassette = fixture_cassette("completions_basic.yaml")
    client = cassette.client()
    helper = client.completions.with_streaming_response
    instrumentor.instrument()
    with helper.create(**cassette.request_json()) as response:
        body = json.loads(response.read())
    assert body["id"] == cassette.response_json()["id"]  # the body was left to us
    span = only_span(agentkit_telemetry)
    assert span.name == f"text_completion {cassette.request_json()['model']}"
    assert (
        span.attributes[semconv.GEN_AI_REQUEST_TEMPERATURE]
        == (cassette.request_json()["temperature"])
    )
    assert semconv.GEN_AI_RESPONSE_ID not in span.attributes  # never read by us


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_create_kept_from_before_instrument(
    agentkit_telemetry: TelemetryCapture, instrumentor: OpenAIInstrumentor, mode: str
) -> None:
    cassette = fixture_cassette("chat_basic.yaml")
    client = cassette.client() if mode == "sync" else cassette.async_client()
    create = client.chat.completions.create  # the original function, bound
    instrumentor.instrument()
    result = create(**cassette.request_json())
    if mode == "async":
        result = run(result)
    assert result.id == cassette.response_json()["id"]
    check_chat_span(only_span(agentkit_telemetry), cassette)
    (duration,) = agentkit_telemetry.metric_points(semconv.GEN_AI_CLIENT_OPERATION_DURATION)
    assert duration.count == 1


def test_embeddings_raw_helper_bound_before_instrument_with_error(
    agentkit_telemetry: TelemetryCapture, instrumentor: OpenAIInstrumentor
) -> None:
    import openai

    cassette = fixture_cassette("completions_404.yaml")
    helper = cassette.client().completions.with_raw_response
    instrumentor.instrument()
    with pytest.raises(openai.NotFoundError):
        helper.create(**cassette.request_json())
    span = only_span(agentkit_telemetry)
    assert span.attributes[semconv.ERROR_TYPE] == "NotFoundError"
    assert span.status.status_code is StatusCode.ERROR


def test_normal_calls_make_one_span_and_other_requests_none(
    agentkit_telemetry: TelemetryCapture, instrumentor: OpenAIInstrumentor
) -> None:
    instrumentor.instrument()
    cassette = fixture_cassette("chat_basic.yaml")
    client = cassette.client()
    client.chat.completions.with_raw_response.create(**cassette.request_json())
    check_chat_span(only_span(agentkit_telemetry), cassette)
    agentkit_telemetry.clear()
    # An endpoint we do not instrument passes through (599: nothing recorded for it).
    with pytest.raises(Exception, match="no recording"):
        client.models.list()
    assert agentkit_telemetry.spans() == []


def test_uninstrument_restores_request(instrumentor: OpenAIInstrumentor) -> None:
    from openai._base_client import AsyncAPIClient, SyncAPIClient

    classes = (SyncAPIClient, AsyncAPIClient)
    originals = [cls.__dict__["request"] for cls in classes]
    instrumentor.instrument()
    assert all(cls.__dict__["request"] is not o for cls, o in zip(classes, originals, strict=True))
    instrumentor.uninstrument()
    assert all(cls.__dict__["request"] is o for cls, o in zip(classes, originals, strict=True))


def test_responses_parse_posts_directly_and_is_caught(
    agentkit_telemetry: TelemetryCapture, instrumentor: OpenAIInstrumentor
) -> None:
    """``responses.parse`` does not go through ``responses.create``: the fallback gives its span."""
    import openai

    responses = pytest.importorskip(
        "openai.resources.responses", reason=f"openai {openai.__version__} has no Responses API"
    )
    if not hasattr(responses.Responses, "parse"):
        pytest.skip(f"openai {openai.__version__} has no responses.parse")
    from tests.test_openai import recorded

    instrumentor.instrument()
    cassette = recorded("test_responses_create_basic[content_mode0].yaml")
    kwargs = cassette.request_json()
    result = cassette.client().responses.parse(**kwargs)
    response = cassette.response_json()
    assert result.id == response["id"]
    span = only_span(agentkit_telemetry)
    attrs = span.attributes
    assert span.name == f"chat {kwargs['model']}"
    assert attrs[semconv.GEN_AI_RESPONSE_ID] == response["id"]
    assert attrs[semconv.GEN_AI_USAGE_INPUT_TOKENS] == response["usage"]["input_tokens"]
    assert attrs[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] == response["usage"]["output_tokens"]


def test_someone_elses_request_wrapper_is_kept(
    agentkit_telemetry: TelemetryCapture, instrumentor: OpenAIInstrumentor
) -> None:
    """Another library wrapped ``request`` first: it still runs, and outlives our uninstrument."""
    import wrapt
    from openai._base_client import SyncAPIClient
    from opentelemetry.instrumentation.utils import unwrap

    seen: list[str] = []

    def theirs(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        seen.append(args[1].url)
        return wrapped(*args, **kwargs)

    wrapt.wrap_function_wrapper(SyncAPIClient, "request", theirs)
    try:
        cassette = fixture_cassette("chat_basic.yaml")
        helper = cassette.client().chat.completions.with_raw_response
        instrumentor.instrument()
        helper.create(**cassette.request_json())
        check_chat_span(only_span(agentkit_telemetry), cassette)
        assert seen == ["/chat/completions"]
        instrumentor.uninstrument()
        assert isinstance(SyncAPIClient.__dict__["request"], wrapt.FunctionWrapper)
    finally:
        unwrap(SyncAPIClient, "request")
    assert not isinstance(SyncAPIClient.__dict__["request"], wrapt.FunctionWrapper)


def test_fallback_never_records_the_api_key(
    agentkit_telemetry: TelemetryCapture, instrumentor: OpenAIInstrumentor
) -> None:
    from tests.openai_helpers import SECRET_KEY

    cassette = fixture_cassette("chat_basic.yaml")
    helper = cassette.client().chat.completions.with_raw_response
    instrumentor.instrument(capture_content="SPAN_AND_EVENT")
    helper.create(**cassette.request_json(), extra_headers={"X-Trace-Me": "1"})
    assert any(SECRET_KEY in r.headers["authorization"] for r in cassette.served)
    span = only_span(agentkit_telemetry)
    assert semconv.GEN_AI_INPUT_MESSAGES in span.attributes  # content was captured ...
    dump = span.to_json() + "".join(r.to_json() for r in agentkit_telemetry.logs())
    assert SECRET_KEY not in dump  # ... and the key was not
    assert "X-Trace-Me" not in dump
