"""LangChain / LangGraph (instrumentation/langchain): graph runs, tools and retrievers as spans.

A small tool-using LangGraph agent (a model node and LangGraph's ToolNode,
a hand-built ``StateGraph``) runs through the real libraries with
``langchain-openai``'s ``ChatOpenAI`` against the shipped fake model server
(real sockets); no decorator of ours in the agent code, no callback handler
passed by the test: the instrumentor attaches its own.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.retrievers import BaseRetriever
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition

from otel_agentkit.instrumentation.langchain import LangChainInstrumentor
from otel_agentkit.instrumentation.openai import OpenAIInstrumentor
from otel_agentkit.testing import FakeModelServer, TelemetryCapture, ToolCall
from tests.framework_helpers import (
    ANSWER,
    QUESTION,
    attributes,
    children,
    every_span_ended,
    get_weather,
    histogram_count,
    instrumenting,
)


@pytest.fixture
def instrumented(agentkit_telemetry: TelemetryCapture) -> Iterator[TelemetryCapture]:
    with instrumenting(OpenAIInstrumentor(), LangChainInstrumentor()):
        yield agentkit_telemetry


def get_time(city: str) -> str:
    """The local time in a city."""
    return f"noon in {city}"


def weather_graph(server: FakeModelServer, *, streaming: bool = False) -> Any:
    """model -> tools -> model ... as a LangGraph StateGraph, named "weather"."""
    tools = [tool(get_weather), tool(get_time)]
    model = ChatOpenAI(
        model="fake-model",
        base_url=server.base_url,
        api_key="test",  # type: ignore[arg-type]
        streaming=streaming,
        stream_usage=True,
    ).bind_tools(tools)

    def call_model(state: MessagesState) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    async def acall_model(state: MessagesState) -> dict[str, Any]:
        return {"messages": [await model.ainvoke(state["messages"])]}

    graph = StateGraph(MessagesState)
    graph.add_node("model", call_model if not streaming else acall_model)
    graph.add_node("tools", ToolNode(tools))
    graph.add_edge(START, "model")
    graph.add_conditional_edges("model", tools_condition)
    graph.add_edge("tools", "model")
    if "name" in inspect.signature(graph.compile).parameters:
        return graph.compile(name="weather")
    # The langgraph of the oldest langchain-core (0.2.40) has no compile(name=):
    # the run is named through its config, which the callbacks see the same way.
    return graph.compile().with_config(run_name="weather")


def run(graph: Any, mode: str, question: str = QUESTION) -> list[Any]:
    """Run the graph the way ``mode`` says; the final messages."""
    inputs = {"messages": [("user", question)]}
    if mode == "sync":
        return list(graph.invoke(inputs)["messages"])
    if mode == "async":
        return list(asyncio.run(graph.ainvoke(inputs))["messages"])

    async def streamed() -> list[Any]:  # the graph's updates, and the model's tokens
        last: dict[str, Any] = {}
        async for state in graph.astream(inputs, stream_mode="values"):
            last = state
        return list(last["messages"])

    return asyncio.run(streamed())


def outcome(messages: list[Any]) -> list[tuple[str, Any]]:
    """What the caller gets, without the ids that differ from run to run."""
    return [(type(m).__name__, m.content) for m in messages]


def tool_call_ids(server: FakeModelServer) -> list[str]:
    """The tool-call ids the agent sent back with the tool results, as the server saw them."""
    return sorted(
        {
            message["tool_call_id"]
            for request in server.requests
            for message in request.body.get("messages", [])
            if message.get("role") == "tool"
        }
    )


@pytest.mark.parametrize("mode", ["sync", "async", "stream"])
def test_graph_run_is_a_trace_of_agent_chat_and_tool_spans(
    instrumented: TelemetryCapture, mode: str
) -> None:
    streaming = mode == "stream"
    LangChainInstrumentor().uninstrument()
    OpenAIInstrumentor().uninstrument()
    with FakeModelServer() as plain_server:  # the same run, uninstrumented, for comparison
        expected = outcome(run(weather_graph(plain_server, streaming=streaming), mode))
    OpenAIInstrumentor().instrument()
    LangChainInstrumentor().instrument()
    instrumented.clear()

    with FakeModelServer() as server, every_span_ended(instrumented):
        messages = run(weather_graph(server, streaming=streaming), mode)
        port = server.port

    assert outcome(messages) == expected
    assert messages[-1].content == ANSWER
    requests = server.requests
    assert len(requests) == 2
    instrumented.assert_one_llm_span_per_request(requests)

    agent = instrumented.span("invoke_agent weather")
    assert agent.parent is None
    assert children(instrumented, agent) == [
        "chat fake-model",
        "execute_tool get_weather",
        "chat fake-model",
    ]
    assert len({s.context.trace_id for s in instrumented.spans()}) == 1
    tool_span = attributes(instrumented.span("execute_tool get_weather"))
    assert tool_span["gen_ai.tool.name"] == "get_weather"
    assert tool_span["gen_ai.tool.description"] == "The weather in a city."
    assert [tool_span["gen_ai.tool.call.id"]] == tool_call_ids(server)
    # the LLM spans are the OpenAI instrumentor's; the handler made none
    assert {s.instrumentation_scope.name for s in instrumented.llm_spans()} == {"otel_agentkit"}  # type: ignore[union-attr]
    assert {attributes(s)["server.port"] for s in instrumented.llm_spans()} == {port}

    assert (
        histogram_count(
            instrumented, "gen_ai.execute_tool.duration", gen_ai__tool__name="get_weather"
        )
        == 1
    )
    assert (
        histogram_count(instrumented, "gen_ai.invoke_agent.duration", gen_ai__agent__name="weather")
        == 1
    )


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_parallel_tool_calls_nest_under_the_agent(
    instrumented: TelemetryCapture, mode: str
) -> None:
    """ToolNode runs the two calls of one model turn in parallel (threads, or tasks)."""
    with FakeModelServer() as server, every_span_ended(instrumented):
        server.reply_next(
            [ToolCall("get_weather", {"city": "Lisbon"}), ToolCall("get_time", {"city": "Lisbon"})]
        )
        run(weather_graph(server), mode)

    agent = instrumented.span("invoke_agent weather")
    assert sorted(children(instrumented, agent)) == [
        "chat fake-model",
        "chat fake-model",
        "execute_tool get_time",
        "execute_tool get_weather",
    ]
    call_ids = [
        attributes(instrumented.span(name))["gen_ai.tool.call.id"]
        for name in ("execute_tool get_time", "execute_tool get_weather")
    ]
    assert sorted(call_ids) == tool_call_ids(server)
    assert len(set(call_ids)) == 2
    instrumented.assert_one_llm_span_per_request(server.requests)


def test_a_model_no_instrumentor_covers_gets_the_handlers_span(
    agentkit_telemetry: TelemetryCapture,
) -> None:
    """With LangChain instrumented and the OpenAI client not, the handler makes the
    LLM span of each request, from what LangChain reports (usage included)."""
    instrumentor = LangChainInstrumentor()
    instrumentor.instrument()
    try:
        with FakeModelServer() as server, every_span_ended(agentkit_telemetry):
            messages = run(weather_graph(server), "sync")
    finally:
        instrumentor.uninstrument()
    assert messages[-1].content == ANSWER
    agentkit_telemetry.assert_one_llm_span_per_request(server.requests)
    first, second = sorted(agentkit_telemetry.llm_spans(), key=lambda s: s.start_time or 0)
    agent = agentkit_telemetry.span("invoke_agent weather")
    for span in (first, second):
        assert span.parent is not None
        assert span.parent.span_id == agent.context.span_id
        assert attributes(span)["gen_ai.provider.name"] == "openai"
        assert attributes(span)["gen_ai.request.model"] == "fake-model"
    assert attributes(first)["gen_ai.response.finish_reasons"] == ("tool_calls",)
    assert attributes(first)["agentkit.response.tool_call.names"] == ("get_weather",)
    assert attributes(second)["gen_ai.response.finish_reasons"] == ("stop",)


def test_a_model_without_a_client_gets_the_handlers_span(
    instrumented: TelemetryCapture,
) -> None:
    model = GenericFakeChatModel(messages=iter([AIMessage(content="Lisbon is sunny.")]))
    chain = ChatPromptTemplate.from_messages([("user", "{question}")]) | model
    with every_span_ended(instrumented):
        answer = chain.invoke({"question": QUESTION})
    assert answer.content == "Lisbon is sunny."
    (llm,) = instrumented.llm_spans()
    assert llm.name == "chat"  # the fake model names no model
    agent = instrumented.span("invoke_agent RunnableSequence")
    assert llm.parent is not None
    assert llm.parent.span_id == agent.context.span_id
    (duration,) = instrumented.metric_points("gen_ai.client.operation.duration")
    assert duration.count == 1


def test_llm_spans_false_never_makes_the_handlers_span(
    agentkit_telemetry: TelemetryCapture,
) -> None:
    instrumentor = LangChainInstrumentor()
    instrumentor.instrument(llm_spans=False)
    try:
        model = GenericFakeChatModel(messages=iter([AIMessage(content="Lisbon is sunny.")]))
        chain = ChatPromptTemplate.from_messages([("user", "{question}")]) | model
        assert chain.invoke({"question": QUESTION}).content == "Lisbon is sunny."
    finally:
        instrumentor.uninstrument()
    assert [s.name for s in agentkit_telemetry.spans()] == ["invoke_agent RunnableSequence"]


class Handbook(BaseRetriever):
    """Two documents for any query."""

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return [Document(page_content=f"{query} one"), Document(page_content=f"{query} two")]


def test_retriever_is_a_retrieval_span(instrumented: TelemetryCapture) -> None:
    documents = Handbook().invoke("refunds")
    assert [d.page_content for d in documents] == ["refunds one", "refunds two"]
    span = attributes(instrumented.span("retrieval Handbook"))
    assert span["gen_ai.operation.name"] == "retrieval"
    assert span["gen_ai.data_source.id"] == "Handbook"
    assert span["agentkit.retrieval.returned_documents"] == 2


def test_a_failing_tool_is_an_error_span(instrumented: TelemetryCapture) -> None:
    def get_weather(city: str) -> str:
        """The weather in a city."""
        raise RuntimeError(f"no station in {city}")

    @tool
    def lookup(city: str) -> str:
        """Look a city up."""
        return get_weather(city)

    with pytest.raises(RuntimeError, match="no station in Lisbon"):
        lookup.invoke({"city": "Lisbon"})
    span = instrumented.span("execute_tool lookup")
    assert attributes(span)["error.type"] == "RuntimeError"
    assert (
        histogram_count(
            instrumented,
            "gen_ai.execute_tool.duration",
            gen_ai__tool__name="lookup",
            error__type="RuntimeError",
        )
        == 1
    )


def test_uninstrument_stops_the_spans(agentkit_telemetry: TelemetryCapture) -> None:
    instrumentor = LangChainInstrumentor()
    instrumentor.instrument()
    instrumentor.uninstrument()
    with FakeModelServer() as server:
        messages = run(weather_graph(server), "sync")
    assert messages[-1].content == ANSWER
    assert agentkit_telemetry.spans() == []
