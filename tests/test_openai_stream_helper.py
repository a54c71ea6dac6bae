"""``chat.completions.stream()`` / ``beta.chat.completions.*`` helpers: one span each.

The ``.stream()`` helper calls ``chat.completions.create(stream=True)`` when its
context manager is entered, so its span is the ``create`` span; these tests
check there is exactly one, that its attributes are right, and that leaving
the helper (early, or with an exception) ends it then, not at garbage
collection. Self-written recordings, replayed through the real client.
"""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from opentelemetry.trace import StatusCode

from otel_agentkit import semconv
from otel_agentkit.instrumentation.openai import OpenAIInstrumentor
from otel_agentkit.testing import TelemetryCapture
from tests.llm_helpers import instrument_fixture, only_span, run, tel_fixture
from tests.openai_helpers import fixture_cassette
from tests.test_openai import check_chat_span, expected_from_stream

#: openai < ~1.9x has ``.stream()`` (and ``.parse()``) only under ``client.beta``.
HAS_CHAT_STREAM = hasattr(openai.resources.chat.Completions, "stream")
BETA_ONLY = not HAS_CHAT_STREAM


instrument = instrument_fixture(OpenAIInstrumentor)
tel = tel_fixture()


STREAM = fixture_cassette("chat_stream.yaml")


def helper_kwargs() -> dict[str, Any]:
    kwargs = STREAM.request_json()
    del kwargs["stream"]  # the helper sets it
    return kwargs


def completions(client: Any, beta: bool) -> Any:
    return client.beta.chat.completions if beta else client.chat.completions


def check_complete_stream_span(tel: TelemetryCapture) -> Any:
    expected = expected_from_stream(STREAM)
    span = only_span(tel)
    attrs = span.attributes
    assert span.name == f"chat {STREAM.request_json()['model']}"
    assert attrs[semconv.GEN_AI_REQUEST_STREAM] is True
    assert attrs[semconv.GEN_AI_RESPONSE_ID] == expected["id"]
    assert attrs[semconv.GEN_AI_RESPONSE_MODEL] == expected["model"]
    assert list(attrs[semconv.GEN_AI_RESPONSE_FINISH_REASONS]) == expected["finish_reasons"]
    assert attrs[semconv.GEN_AI_USAGE_INPUT_TOKENS] == expected["usage"]["prompt_tokens"]
    assert attrs[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] == expected["usage"]["completion_tokens"]
    (duration,) = tel.metric_points(semconv.GEN_AI_CLIENT_OPERATION_DURATION)
    assert duration.count == 1
    return span


@pytest.mark.parametrize("beta", [False, True], ids=["chat", "beta.chat"])
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_stream_helper_read_to_the_end(tel: TelemetryCapture, mode: str, beta: bool) -> None:
    if not beta and not HAS_CHAT_STREAM:
        pytest.skip(f"openai {openai.__version__} has the .stream() helper only under beta")
    kwargs = helper_kwargs()
    if mode == "sync":
        with completions(STREAM.client(), beta).stream(
            **kwargs, response_format={"type": "json_object"}
        ) as stream:
            final = stream.get_final_completion()
    else:

        async def go() -> Any:
            async with completions(STREAM.async_client(), beta).stream(
                **kwargs, response_format={"type": "json_object"}
            ) as stream:
                return await stream.get_final_completion()

        final = run(go())
    span = check_complete_stream_span(tel)
    assert final.id == span.attributes[semconv.GEN_AI_RESPONSE_ID]
    assert span.attributes[semconv.GEN_AI_OUTPUT_TYPE] == "json"


def test_stream_helper_left_early_ends_the_span_at_exit(tel: TelemetryCapture) -> None:
    with completions(STREAM.client(), BETA_ONLY).stream(**helper_kwargs()) as stream:
        for event in stream:
            if event.type == "content.delta":
                break
    # `stream` is still referenced: without the close hook the span would stay open.
    span = only_span(tel)
    assert span.attributes[semconv.GEN_AI_RESPONSE_ID] == STREAM.stream_events()[0]["id"]
    assert semconv.GEN_AI_RESPONSE_FINISH_REASONS not in span.attributes  # nothing invented
    assert span.status.status_code is not StatusCode.ERROR
    stream.close()  # closing again changes nothing
    assert len(tel.spans()) == 1
    (duration,) = tel.metric_points(semconv.GEN_AI_CLIENT_OPERATION_DURATION)
    assert duration.count == 1
    del stream


def test_async_stream_helper_left_early_ends_the_span_at_exit(tel: TelemetryCapture) -> None:
    async def go() -> tuple[Any, int]:
        async with completions(STREAM.async_client(), BETA_ONLY).stream(
            **helper_kwargs()
        ) as stream:
            async for event in stream:
                if event.type == "content.delta":
                    break
        return stream, len(tel.spans())

    stream, spans_at_exit = run(go())
    assert spans_at_exit == 1
    span = only_span(tel)
    assert span.attributes[semconv.GEN_AI_RESPONSE_ID] == STREAM.stream_events()[0]["id"]
    assert semconv.GEN_AI_RESPONSE_FINISH_REASONS not in span.attributes
    del stream


class BoomError(Exception):
    pass


def leave_with_an_exception(mode: str) -> None:
    if mode == "sync":
        with completions(STREAM.client(), BETA_ONLY).stream(**helper_kwargs()) as stream:
            next(iter(stream))
            raise BoomError

    async def go() -> None:
        async with completions(STREAM.async_client(), BETA_ONLY).stream(
            **helper_kwargs()
        ) as stream:
            await stream.__anext__()
            raise BoomError

    run(go())


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_exception_out_of_the_helper_block_is_the_error(tel: TelemetryCapture, mode: str) -> None:
    with pytest.raises(BoomError):
        leave_with_an_exception(mode)
    span = only_span(tel)
    assert span.attributes[semconv.ERROR_TYPE] == "BoomError"
    assert span.status.status_code is StatusCode.ERROR
    (duration,) = tel.metric_points(semconv.GEN_AI_CLIENT_OPERATION_DURATION)
    assert (duration.count, duration.attributes[semconv.ERROR_TYPE]) == (1, "BoomError")


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_beta_parse_gives_one_span(tel: TelemetryCapture, mode: str) -> None:
    from pydantic import BaseModel

    class City(BaseModel):
        city: str
        population_millions: float

    cassette = fixture_cassette("chat_parse.yaml")
    if mode == "sync":
        result = cassette.client().beta.chat.completions.parse(
            **cassette.request_json(), response_format=City
        )
    else:
        result = run(
            cassette.async_client().beta.chat.completions.parse(
                **cassette.request_json(), response_format=City
            )
        )
    recorded = json.loads(cassette.response_json()["choices"][0]["message"]["content"])
    assert result.choices[0].message.parsed == City(**recorded)
    span = only_span(tel)
    check_chat_span(span, cassette)
    assert span.attributes[semconv.GEN_AI_OUTPUT_TYPE] == "json"


# ---------------------------------------------------------------------------
# responses.stream() (ResponseStreamManager): the same shape, the same hooks
# ---------------------------------------------------------------------------


def _has_responses_stream() -> bool:
    try:
        from openai.resources.responses import Responses
    except ImportError:
        return False
    return hasattr(Responses, "stream")


needs_responses_stream = pytest.mark.skipif(
    not _has_responses_stream(),
    reason=f"openai {openai.__version__} has no responses.stream() helper",
)


def responses_stream_cassette() -> Any:
    from tests.test_openai import recorded

    return recorded("test_responses_create_streaming[content_mode0].yaml")


def responses_helper_kwargs(cassette: Any) -> dict[str, Any]:
    kwargs = cassette.request_json()
    del kwargs["stream"]
    return kwargs


@needs_responses_stream
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_responses_stream_helper_read_to_the_end(tel: TelemetryCapture, mode: str) -> None:
    cassette = responses_stream_cassette()
    kwargs = responses_helper_kwargs(cassette)
    if mode == "sync":
        with cassette.client().responses.stream(**kwargs) as stream:
            final = stream.get_final_response()
    else:

        async def go() -> Any:
            async with cassette.async_client().responses.stream(**kwargs) as stream:
                return await stream.get_final_response()

        final = run(go())
    completed = cassette.stream_events()[-1]["response"]
    span = only_span(tel)
    attrs = span.attributes
    assert span.name == f"chat {kwargs['model']}"
    assert final.id == attrs[semconv.GEN_AI_RESPONSE_ID] == completed["id"]
    assert list(attrs[semconv.GEN_AI_RESPONSE_FINISH_REASONS]) == ["stop"]
    assert attrs[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] == completed["usage"]["output_tokens"]


@needs_responses_stream
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_responses_stream_helper_left_early_ends_the_span_at_exit(
    tel: TelemetryCapture, mode: str
) -> None:
    cassette = responses_stream_cassette()
    kwargs = responses_helper_kwargs(cassette)
    if mode == "sync":
        with cassette.client().responses.stream(**kwargs) as stream:
            for event in stream:
                if event.type == "response.output_text.delta":
                    break
        spans_at_exit = len(tel.spans())
    else:

        async def go() -> tuple[Any, int]:
            async with cassette.async_client().responses.stream(**kwargs) as stream:
                async for event in stream:
                    if event.type == "response.output_text.delta":
                        break
            return stream, len(tel.spans())

        stream, spans_at_exit = run(go())
    assert spans_at_exit == 1  # ended at the exit, while `stream` is still referenced
    attrs = only_span(tel).attributes
    assert attrs[semconv.GEN_AI_RESPONSE_ID] == cassette.stream_events()[0]["response"]["id"]
    assert semconv.GEN_AI_USAGE_OUTPUT_TOKENS not in attrs  # nothing invented
    del stream


@needs_responses_stream
def test_responses_stream_helper_exception_is_the_error(tel: TelemetryCapture) -> None:
    cassette = responses_stream_cassette()

    def leave() -> None:
        with cassette.client().responses.stream(**responses_helper_kwargs(cassette)) as stream:
            next(iter(stream))
            raise BoomError

    with pytest.raises(BoomError):
        leave()
    span = only_span(tel)
    assert span.attributes[semconv.ERROR_TYPE] == "BoomError"
    assert span.status.status_code is StatusCode.ERROR
