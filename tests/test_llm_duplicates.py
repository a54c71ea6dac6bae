"""One LLM span per request, whatever else instruments the process (instrumentation/_duplicates.py).

Real instrumentations next to ours, against the shipped fake model server
(real sockets, the real openai client): OpenLLMetry's openai instrumentation
(opentelemetry-instrumentation-openai) wrapped inside and outside ours, and
pydantic-ai's own instrumentation (a ``chat`` CLIENT span around each model
request) with and without OpenLLMetry's underneath. Each request gets one LLM
span and one set of token metrics; ``keep_duplicate_spans`` keeps both.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from opentelemetry import context as otel_context
from opentelemetry.instrumentation.openai import OpenAIInstrumentor as OpenLLMetryOpenAI
from opentelemetry.instrumentation.openai.v1 import responses_wrappers
from pydantic_ai import Agent
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider

from otel_agentkit.instrumentation import _duplicates
from otel_agentkit.instrumentation.openai import OpenAIInstrumentor
from otel_agentkit.testing import FakeModelServer, TelemetryCapture

OURS = "otel_agentkit"
OPENLLMETRY = "opentelemetry.instrumentation.openai.v1"


@pytest.fixture
def ours() -> Iterator[OpenAIInstrumentor]:
    instrumentor = OpenAIInstrumentor()
    yield instrumentor
    instrumentor.uninstrument()


class _OpenLLMetry:
    """OpenLLMetry's instrumentor, given the capture's providers (it keeps the ones it
    was first instrumented with otherwise, which an earlier test shut down)."""

    def __init__(self, tel: TelemetryCapture) -> None:
        self.tel = tel
        self.instrumentor = OpenLLMetryOpenAI()

    def instrument(self) -> None:
        self.instrumentor.instrument(
            tracer_provider=self.tel.tracer_provider, meter_provider=self.tel.meter_provider
        )

    def uninstrument(self) -> None:
        self.instrumentor.uninstrument()


#: The openai classes whose methods either instrumentation wraps.
WRAPPED_CLASSES = (
    ("openai.resources.chat.completions", ("Completions", "AsyncCompletions")),
    ("openai.resources.completions", ("Completions", "AsyncCompletions")),
    ("openai.resources.embeddings", ("Embeddings", "AsyncEmbeddings")),
    ("openai.resources.responses", ("Responses", "AsyncResponses")),
    ("openai.resources.images", ("Images", "AsyncImages")),
    ("openai._base_client", ("SyncAPIClient", "AsyncAPIClient")),
)


def openai_classes() -> dict[type[Any], dict[str, Any]]:
    """The classes either instrumentation wraps, with their own attributes as they are now."""
    classes = [
        getattr(importlib.import_module(module), name)
        for module, names in WRAPPED_CLASSES
        for name in names
    ]
    return {cls: dict(vars(cls)) for cls in classes}


@pytest.fixture
def openllmetry(
    agentkit_telemetry: TelemetryCapture, ours: OpenAIInstrumentor
) -> Iterator[_OpenLLMetry]:
    """OpenLLMetry's openai instrumentor; afterwards the openai classes are as they were.

    Its ``uninstrument()`` may leave wrappers installed, and (like any ``unwrap``)
    takes off the outermost layer, which may be ours: so both are undone here and
    every openai class gets back the attributes it had before.
    """
    before = openai_classes()
    instrumentor = _OpenLLMetry(agentkit_telemetry)
    yield instrumentor
    instrumentor.uninstrument()
    ours.uninstrument()
    # It remembers each Responses API response by id, process-wide; each test's fake
    # server counts ids from 1 again, so the next test would find this one's entry.
    responses_wrappers.responses.clear()
    for cls, attributes in before.items():
        for name, value in attributes.items():
            if vars(cls).get(name) is not value:
                setattr(cls, name, value)


def scopes(tel: TelemetryCapture) -> list[tuple[str, str]]:
    return [(s.name, s.instrumentation_scope.name) for s in tel.llm_spans()]  # type: ignore[union-attr]


def every_kind_of_request(server: FakeModelServer) -> None:
    """A chat completion, a streamed one, an embedding and a Responses API call."""
    client = openai.OpenAI(base_url=server.base_url, api_key="test")
    messages = [{"role": "user", "content": "hello there"}]
    client.chat.completions.create(model="fake-model", messages=messages)
    stream = client.chat.completions.create(
        model="fake-model",
        messages=messages,
        stream=True,
        stream_options={"include_usage": True},
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    client.embeddings.create(model="fake-embedding", input="hello there")
    client.responses.create(model="fake-model", input="hello there")


def assert_one_set_of_token_points(tel: TelemetryCapture) -> None:
    # input tokens for all four requests; output tokens for the three that generate text
    for token_type, count in (("input", 4), ("output", 3)):
        points = tel.metric_points("gen_ai.client.token.usage", {"gen_ai.token.type": token_type})
        assert sum(p.count for p in points) == count, (token_type, points)


@pytest.mark.parametrize("first", ["openllmetry", "ours"])
def test_next_to_openllmetry_each_request_gets_one_span(
    agentkit_telemetry: TelemetryCapture,
    agentkit_model_server: FakeModelServer,
    ours: OpenAIInstrumentor,
    openllmetry: _OpenLLMetry,
    first: str,
) -> None:
    """Instrumented first, OpenLLMetry's wrappers sit inside ours: ours makes every span
    (its chat wrapper honours the suppression key ours sets; its Responses wrapper,
    which does not, is called past). Instrumented second, its wrappers sit outside
    ours: its span stands for each request (current, or made after the call) and
    ours steps aside."""
    order = (openllmetry, ours) if first == "openllmetry" else (ours, openllmetry)
    for instrumentor in order:
        instrumentor.instrument()

    every_kind_of_request(agentkit_model_server)

    if first == "openllmetry":
        agentkit_telemetry.assert_one_llm_span_per_request(
            agentkit_model_server.requests, tokens=False
        )
        assert_one_set_of_token_points(agentkit_telemetry)
        assert {scope for _, scope in scopes(agentkit_telemetry)} == {OURS}
    else:
        # OpenLLMetry's spans, and its metrics only (it records no duration for the
        # Responses API): ours recorded nothing
        agentkit_telemetry.assert_one_llm_span_per_request(
            agentkit_model_server.requests, tokens=False, durations=False
        )
        assert {scope for _, scope in scopes(agentkit_telemetry)} == {OPENLLMETRY}
        assert [k for k in agentkit_telemetry.metrics() if k[0] == OURS] == []


def test_keep_duplicate_spans_makes_ours_inside_theirs(
    agentkit_telemetry: TelemetryCapture,
    agentkit_model_server: FakeModelServer,
    ours: OpenAIInstrumentor,
    openllmetry: _OpenLLMetry,
) -> None:
    ours.instrument(keep_duplicate_spans=True)
    openllmetry.instrument()
    client = openai.OpenAI(base_url=agentkit_model_server.base_url, api_key="test")
    client.chat.completions.create(
        model="fake-model", messages=[{"role": "user", "content": "hello there"}]
    )
    assert len(agentkit_model_server.requests) == 1
    spans = {s.instrumentation_scope.name: s for s in agentkit_telemetry.llm_spans()}  # type: ignore[union-attr]
    assert sorted(spans) == [OPENLLMETRY, OURS]
    assert spans[OURS].parent is not None
    assert spans[OURS].parent.span_id == spans[OPENLLMETRY].context.span_id
    (ours_input,) = agentkit_telemetry.metric_points(
        "gen_ai.client.token.usage", {"gen_ai.token.type": "input"}, scope=OURS
    )
    assert ours_input.count == 1


def test_keep_duplicate_spans_from_the_environment(
    agentkit_telemetry: TelemetryCapture,
    agentkit_model_server: FakeModelServer,
    ours: OpenAIInstrumentor,
    openllmetry: _OpenLLMetry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AGENTKIT_KEEP_DUPLICATE_LLM_SPANS", "true")
    openllmetry.instrument()
    ours.instrument()  # ours outside: without the switch OpenLLMetry's would step aside
    client = openai.OpenAI(base_url=agentkit_model_server.base_url, api_key="test")
    client.chat.completions.create(
        model="fake-model", messages=[{"role": "user", "content": "hello there"}]
    )
    assert sorted(scope for _, scope in scopes(agentkit_telemetry)) == [OPENLLMETRY, OURS]


def test_the_suppression_key_of_another_instrumentation_is_honoured(
    agentkit_telemetry: TelemetryCapture,
    agentkit_model_server: FakeModelServer,
    ours: OpenAIInstrumentor,
) -> None:
    """OpenLLMetry's LangChain callbacks set this key around a model call they have a span for."""
    ours.instrument()
    client = openai.OpenAI(base_url=agentkit_model_server.base_url, api_key="test")
    context = otel_context.set_value("suppress_language_model_instrumentation", True)
    token = otel_context.attach(context)
    try:
        client.chat.completions.create(
            model="fake-model", messages=[{"role": "user", "content": "hello there"}]
        )
    finally:
        otel_context.detach(token)
    assert len(agentkit_model_server.requests) == 1
    assert agentkit_telemetry.llm_spans() == []


# ---------------------------------------------------------------------------
# pydantic-ai's own instrumentation
# ---------------------------------------------------------------------------


def weather_agent(server: FakeModelServer) -> Agent[None, str]:
    """A small tool-using pydantic-ai agent with its own instrumentation on; no decorators."""
    model = OpenAIChatModel(
        "fake-model", provider=OpenAIProvider(base_url=server.base_url, api_key="test")
    )
    agent: Agent[None, str] = Agent(model, name="weather")
    agent.instrument = True

    @agent.tool_plain
    def get_weather(city: str) -> str:
        """The weather in a city."""
        return f"24 C in {city}"

    return agent


QUESTION = "What is the weather in Lisbon?"


@pytest.mark.parametrize("mode", ["sync", "async", "stream"])
def test_pydantic_ai_own_spans_stand_for_its_requests(
    agentkit_telemetry: TelemetryCapture,
    agentkit_model_server: FakeModelServer,
    ours: OpenAIInstrumentor,
    mode: str,
) -> None:
    ours.instrument()
    agent = weather_agent(agentkit_model_server)
    if mode == "sync":
        output = agent.run_sync(QUESTION).output
    elif mode == "async":
        output = asyncio.run(agent.run(QUESTION)).output
    else:

        async def streamed() -> str:
            async with agent.run_stream(QUESTION) as result:
                return "".join([piece async for piece in result.stream_text(delta=True)])

        output = asyncio.run(streamed())

    assert "get_weather: 24 C in" in output
    requests = agentkit_model_server.requests
    assert len(requests) == 2  # the tool call, then the answer
    # pydantic-ai's span for each request, none of ours; pydantic-ai records the
    # token usage (and no operation duration), so ours records none either
    agentkit_telemetry.assert_one_llm_span_per_request(requests, durations=False)
    assert scopes(agentkit_telemetry) == [("chat fake-model", "pydantic-ai")] * 2
    assert agentkit_telemetry.metric_points("gen_ai.client.operation.duration") == []
    assert sorted(k for k in agentkit_telemetry.metrics() if k[0] == OURS) == []


def test_pydantic_ai_with_openllmetry_underneath(
    agentkit_telemetry: TelemetryCapture,
    agentkit_model_server: FakeModelServer,
    ours: OpenAIInstrumentor,
    openllmetry: _OpenLLMetry,
) -> None:
    """OpenLLMetry's wrapper inside ours: ours steps aside for pydantic-ai's span and
    carries the suppression key in, so OpenLLMetry's steps aside too."""
    openllmetry.instrument()
    ours.instrument()
    output = weather_agent(agentkit_model_server).run_sync(QUESTION).output
    assert "get_weather: 24 C in" in output
    agentkit_telemetry.assert_one_llm_span_per_request(
        agentkit_model_server.requests, durations=False
    )
    assert {scope for _, scope in scopes(agentkit_telemetry)} == {"pydantic-ai"}


# ---------------------------------------------------------------------------
# The watch a framework integration keeps over its model call
# ---------------------------------------------------------------------------


def chat_under_watch(server: FakeModelServer) -> bool:
    context, watch = _duplicates.watch_llm_requests()
    token = otel_context.attach(context)
    try:
        client = openai.OpenAI(base_url=server.base_url, api_key="test")
        client.chat.completions.create(
            model="fake-model", messages=[{"role": "user", "content": "hello there"}]
        )
    finally:
        otel_context.detach(token)
    return watch.seen


def test_watch_sees_our_span(
    agentkit_telemetry: TelemetryCapture,
    agentkit_model_server: FakeModelServer,
    ours: OpenAIInstrumentor,
) -> None:
    ours.instrument()
    assert chat_under_watch(agentkit_model_server) is True
    assert len(agentkit_telemetry.llm_spans()) == 1


def test_watch_sees_another_instrumentations_span(
    agentkit_telemetry: TelemetryCapture,
    agentkit_model_server: FakeModelServer,
    ours: OpenAIInstrumentor,
    openllmetry: _OpenLLMetry,
) -> None:
    ours.instrument()
    openllmetry.instrument()  # outside ours: its span is current when ours runs
    assert chat_under_watch(agentkit_model_server) is True
    assert scopes(agentkit_telemetry) == [("openai.chat", OPENLLMETRY)]


def test_watch_unmarked_when_nothing_instruments_the_client(
    agentkit_telemetry: TelemetryCapture, agentkit_model_server: FakeModelServer
) -> None:
    assert chat_under_watch(agentkit_model_server) is False
    assert agentkit_telemetry.llm_spans() == []
