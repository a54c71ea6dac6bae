"""The shipped fake model server, driven by the real openai client (sync, async, streams)."""

from __future__ import annotations

import asyncio
import base64
import json
import struct
import threading
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from otel_agentkit.instrumentation.openai import OpenAIInstrumentor
from otel_agentkit.testing import (
    FakeModelServer,
    Reply,
    TelemetryCapture,
    ToolCall,
    count_tokens,
    fake_embedding,
)

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "enum": ["Lisbon", "Porto"]},
                "days": {"type": "integer"},
            },
            "required": ["city", "days"],
        },
    },
}
CONVERT = {
    "type": "function",
    "function": {
        "name": "convert_currency",
        "parameters": {
            "type": "object",
            "properties": {"amount": {"type": "number"}, "to": {"type": "string"}},
        },
    },
}
#: The same tool in the Responses API's shape.
WEATHER_RESPONSES = {"type": "function", "name": "get_weather", **WEATHER["function"]}
QUESTION = "What is the weather in Porto for 3 days?"


@pytest.fixture
def server() -> Iterator[FakeModelServer]:
    with FakeModelServer() as running:
        yield running


def client(server: FakeModelServer, **kwargs: Any) -> openai.OpenAI:
    kwargs.setdefault("max_retries", 0)
    return openai.OpenAI(base_url=server.base_url, api_key="sk-test", **kwargs)


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


# ---------------------------------------------------------------------------
# Chat Completions
# ---------------------------------------------------------------------------


def test_chat_text_reply_and_usage(server: FakeModelServer) -> None:
    reply = client(server).chat.completions.create(model="m", messages=user("hello there"))
    assert reply.choices[0].message.content == "Fake reply to: hello there"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.model == "m"
    assert reply.id == "chatcmpl-fake-000001"
    assert reply.usage is not None
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (2, 5)
    assert reply.usage.total_tokens == 7


def test_chat_is_deterministic(server: FakeModelServer) -> None:
    c = client(server)
    first, second = (
        c.chat.completions.create(model="m", messages=user(QUESTION), tools=[WEATHER])
        for _ in range(2)
    )
    assert first.model_dump(exclude={"id", "choices"}) == second.model_dump(
        exclude={"id", "choices"}
    )
    assert first.choices[0].message.tool_calls is not None
    assert second.choices[0].message.tool_calls is not None
    assert [t.function for t in first.choices[0].message.tool_calls] == [
        t.function for t in second.choices[0].message.tool_calls
    ]


def test_chat_calls_the_tool_the_message_names(server: FakeModelServer) -> None:
    reply = client(server).chat.completions.create(
        model="m", messages=user(QUESTION), tools=[CONVERT, WEATHER]
    )
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    (call,) = choice.message.tool_calls or []
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Porto", "days": 3}
    assert call.id == "call_fake_000001_0"


def test_chat_parallel_calls_and_tool_choice(server: FakeModelServer) -> None:
    c = client(server)
    both = c.chat.completions.create(
        model="m",
        messages=user("weather in Lisbon and convert 20.5 EUR to currency USD"),
        tools=[WEATHER, CONVERT],
    )
    calls = both.choices[0].message.tool_calls or []
    assert [(t.function.name, json.loads(t.function.arguments)) for t in calls] == [
        ("get_weather", {"city": "Lisbon", "days": 20}),
        (
            "convert_currency",
            {"amount": 20.5, "to": "weather in Lisbon and convert 20.5 EUR to currency USD"},
        ),
    ]
    forced = c.chat.completions.create(
        model="m",
        messages=user("nothing matches"),
        tools=[WEATHER, CONVERT],
        tool_choice={"type": "function", "function": {"name": "convert_currency"}},
    )
    assert [t.function.name for t in forced.choices[0].message.tool_calls or []] == [
        "convert_currency"
    ]
    none = c.chat.completions.create(
        model="m", messages=user(QUESTION), tools=[WEATHER], tool_choice="none"
    )
    assert none.choices[0].message.tool_calls is None
    single = c.chat.completions.create(
        model="m",
        messages=user("weather, convert"),
        tools=[WEATHER, CONVERT],
        parallel_tool_calls=False,
    )
    assert len(single.choices[0].message.tool_calls or []) == 1


def test_chat_answers_tool_results(server: FakeModelServer) -> None:
    c = client(server)
    first = c.chat.completions.create(model="m", messages=user(QUESTION), tools=[WEATHER])
    message = first.choices[0].message
    (call,) = message.tool_calls or []
    messages = [
        *user(QUESTION),
        message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "19 C and sunny"},
    ]
    final = c.chat.completions.create(model="m", messages=messages, tools=[WEATHER])
    assert final.choices[0].message.content == "Here is what I found. get_weather: 19 C and sunny"
    assert final.usage is not None
    # question (9 words) + the call's arguments (4) + the tool result (4)
    assert final.usage.prompt_tokens == 9 + 4 + 4


def test_chat_max_tokens_truncates(server: FakeModelServer) -> None:
    reply = client(server).chat.completions.create(
        model="m", messages=user("one two three four"), max_tokens=3
    )
    assert reply.choices[0].message.content == "Fake reply to:"
    assert reply.choices[0].finish_reason == "length"


def test_chat_stream_with_usage_chunk(server: FakeModelServer) -> None:
    stream = client(server).chat.completions.create(
        model="m", messages=user("hi you"), stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Fake reply to: hi you"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (2, 5)


def test_chat_stream_without_usage_has_none(server: FakeModelServer) -> None:
    chunks = list(
        client(server).chat.completions.create(model="m", messages=user("hi"), stream=True)
    )
    assert all(c.usage is None for c in chunks)
    assert all(c.choices for c in chunks)


def test_chat_stream_tool_call_through_the_stream_helper(server: FakeModelServer) -> None:
    with client(server).chat.completions.stream(
        model="m", messages=user(QUESTION), tools=[WEATHER]
    ) as stream:
        for _ in stream:
            pass
        final = stream.get_final_completion()
    (call,) = final.choices[0].message.tool_calls or []
    assert (call.function.name, json.loads(call.function.arguments)) == (
        "get_weather",
        {"city": "Porto", "days": 3},
    )
    assert final.choices[0].finish_reason == "tool_calls"


def test_async_client_and_stream(server: FakeModelServer) -> None:
    async def go() -> tuple[str | None, str]:
        c = openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0)
        reply = await c.chat.completions.create(model="m", messages=user("async hello"))
        stream = await c.chat.completions.create(
            model="m", messages=user("async stream"), stream=True
        )
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        await c.close()
        return reply.choices[0].message.content, text

    assert asyncio.run(go()) == ("Fake reply to: async hello", "Fake reply to: async stream")


# ---------------------------------------------------------------------------
# Responses API
# ---------------------------------------------------------------------------


def test_responses_text_and_usage(server: FakeModelServer) -> None:
    response = client(server).responses.create(
        model="m", instructions="Be brief.", input="hello there"
    )
    assert response.output_text == "Fake reply to: hello there"
    assert response.status == "completed"
    assert response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens) == (4, 5)


def test_responses_function_call_then_output(server: FakeModelServer) -> None:
    c = client(server)
    first = c.responses.create(model="m", input=QUESTION, tools=[WEATHER_RESPONSES])
    (call,) = first.output
    assert call.type == "function_call"
    assert (call.name, json.loads(call.arguments)) == ("get_weather", {"city": "Porto", "days": 3})
    final = c.responses.create(
        model="m",
        input=[
            {"role": "user", "content": QUESTION},
            call.model_dump(exclude_none=True),
            {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"},
        ],
        tools=[WEATHER_RESPONSES],
    )
    assert final.output_text == "Here is what I found. get_weather: sunny"


def test_responses_stream_events(server: FakeModelServer) -> None:
    events = list(client(server).responses.create(model="m", input="hi you", stream=True))
    assert [e.type for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * 5,
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    completed = events[-1]
    assert completed.type == "response.completed"
    assert completed.response.output_text == "Fake reply to: hi you"


def test_responses_stream_helper_with_function_call(server: FakeModelServer) -> None:
    with client(server).responses.stream(
        model="m", input=QUESTION, tools=[WEATHER_RESPONSES]
    ) as stream:
        types = [event.type for event in stream]
        final = stream.get_final_response()
    assert "response.function_call_arguments.delta" in types
    (call,) = final.output
    assert call.type == "function_call"
    assert json.loads(call.arguments) == {"city": "Porto", "days": 3}


# ---------------------------------------------------------------------------
# Embeddings and models
# ---------------------------------------------------------------------------


def test_embeddings_float_and_base64(server: FakeModelServer) -> None:
    c = client(server)
    result = c.embeddings.create(model="e", input=["red apple", "green apple pie"], dimensions=8)
    assert [d.embedding for d in result.data] == [
        pytest.approx(fake_embedding("red apple", 8)),
        pytest.approx(fake_embedding("green apple pie", 8)),
    ]
    assert result.usage.prompt_tokens == 5
    raw = c.embeddings.with_raw_response.create(
        model="e", input="red apple", encoding_format="base64"
    )
    encoded = json.loads(raw.text)["data"][0]["embedding"]
    decoded = struct.unpack("<16f", base64.b64decode(encoded))
    assert list(decoded) == pytest.approx(fake_embedding("red apple"))


def test_fake_embeddings_put_shared_words_close() -> None:
    def cosine(a: str, b: str) -> float:
        return sum(x * y for x, y in zip(fake_embedding(a), fake_embedding(b), strict=True))

    assert cosine("refund policy", "refund policy") == pytest.approx(1.0)
    assert cosine("refund policy", "how do refunds and the refund policy work") > cosine(
        "refund policy", "weather in Lisbon"
    )


def test_models_and_unknown_model() -> None:
    with FakeModelServer(models=["served"]) as server:
        c = client(server)
        assert [m.id for m in c.models.list()] == ["served"]
        with pytest.raises(openai.NotFoundError) as caught:
            c.chat.completions.create(model="other", messages=user("x"))
    assert caught.value.code == "model_not_found"


# ---------------------------------------------------------------------------
# Scripted replies and failures
# ---------------------------------------------------------------------------


def test_scripted_replies_in_order(server: FakeModelServer) -> None:
    server.reply_next(
        "scripted text",
        ToolCall("lookup", {"id": 7}),
        [ToolCall("a"), ToolCall("b")],
        Reply(text="both", tool_calls=(ToolCall("c"),)),
    )
    c = client(server)
    messages = user("anything")
    first, second, third, fourth, fifth = (
        c.chat.completions.create(model="m", messages=messages).choices[0] for _ in range(5)
    )
    assert first.message.content == "scripted text"
    assert [(t.function.name, t.function.arguments) for t in second.message.tool_calls or []] == [
        ("lookup", '{"id": 7}')
    ]
    assert [t.function.name for t in third.message.tool_calls or []] == ["a", "b"]
    assert fourth.message.content == "both"
    assert [t.function.name for t in fourth.message.tool_calls or []] == ["c"]
    assert fifth.message.content == "Fake reply to: anything"  # the queue is empty again


def test_broken_tool_call_json(server: FakeModelServer) -> None:
    server.reply_next(ToolCall.broken("get_weather"))
    stream = client(server).chat.completions.create(
        model="m", messages=user("x"), tools=[WEATHER], stream=True
    )
    arguments = "".join(
        (c.choices[0].delta.tool_calls or [])[0].function.arguments or ""  # type: ignore[union-attr]
        for c in stream
        if c.choices and c.choices[0].delta.tool_calls
    )
    with pytest.raises(json.JSONDecodeError):
        json.loads(arguments)


@pytest.mark.parametrize(
    ("status", "error"),
    [(429, openai.RateLimitError), (500, openai.InternalServerError)],
)
def test_scripted_failures(server: FakeModelServer, status: int, error: type[Exception]) -> None:
    server.fail_next(status, message="scripted")
    c = client(server)
    with pytest.raises(error) as caught:
        c.chat.completions.create(model="m", messages=user("x"))
    assert "scripted" in str(caught.value)
    assert c.chat.completions.create(model="m", messages=user("x")).choices[0].message.content


def test_rate_limit_retried_by_the_client(server: FakeModelServer) -> None:
    server.fail_next(429, retry_after=0.01)
    reply = client(server, max_retries=1).chat.completions.create(model="m", messages=user("x"))
    assert reply.choices[0].message.content == "Fake reply to: x"
    assert [r.path for r in server.requests] == ["/v1/chat/completions"] * 2


def test_failure_for_one_endpoint_only(server: FakeModelServer) -> None:
    server.fail_next(500, endpoint="embeddings")
    c = client(server)
    assert c.chat.completions.create(model="m", messages=user("x")).choices
    with pytest.raises(openai.InternalServerError):
        c.embeddings.create(model="e", input="x")
    with pytest.raises(ValueError, match="endpoint must be one of"):
        server.fail_next(500, endpoint="images")


def test_requests_are_recorded(server: FakeModelServer) -> None:
    client(server).chat.completions.create(model="m", messages=user("recorded"))
    (request,) = server.requests
    assert (request.method, request.path) == ("POST", "/v1/chat/completions")
    assert request.body["messages"] == user("recorded")
    assert request.headers["authorization"] == "Bearer sk-test"
    server.reset()
    assert server.requests == []


def test_stop_interrupts_latency_and_frees_the_port() -> None:
    server = FakeModelServer(latency=60).start()
    c = client(server, timeout=30)
    failed = threading.Event()

    def call() -> None:
        try:
            c.chat.completions.create(model="m", messages=user("slow"))
        except openai.APIConnectionError:
            failed.set()

    caller = threading.Thread(target=call)
    caller.start()
    while not server.requests:  # the request arrived and is waiting out the latency
        threading.Event().wait(0.01)
    server.stop()
    caller.join()
    assert failed.is_set()
    server.stop()  # idempotent
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.port


def test_count_tokens_is_words() -> None:
    assert count_tokens("  one two\nthree ") == 3
    assert count_tokens("") == 0


# ---------------------------------------------------------------------------
# With the instrumentation, and as a fixture / command
# ---------------------------------------------------------------------------


def test_instrumented_spans_carry_the_servers_token_counts(
    agentkit_model_server: FakeModelServer, agentkit_telemetry: TelemetryCapture
) -> None:
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument()
    try:
        c = client(agentkit_model_server)
        c.chat.completions.create(model="fake-model", messages=user("count these four words"))
        list(
            c.chat.completions.create(
                model="fake-model",
                messages=user("and these"),
                stream=True,
                stream_options={"include_usage": True},
            )
        )
    finally:
        instrumentor.uninstrument()
    plain, streamed = agentkit_telemetry.spans()
    assert plain.name == streamed.name == "chat fake-model"
    assert plain.attributes is not None
    assert streamed.attributes is not None
    assert (
        plain.attributes["gen_ai.usage.input_tokens"],
        plain.attributes["gen_ai.usage.output_tokens"],
    ) == (4, 7)
    assert (
        streamed.attributes["gen_ai.usage.input_tokens"],
        streamed.attributes["gen_ai.usage.output_tokens"],
    ) == (2, 5)
    assert plain.attributes["server.port"] == agentkit_model_server.port
