"""OpenAI Agents SDK (instrumentation/openai_agents): agents, tools, handoffs, guardrails as spans.

Small agents run through the real SDK (``Runner.run_sync``, ``Runner.run``,
``Runner.run_streamed``), with its Responses and Chat Completions models,
against the shipped fake model server over real sockets; no decorator of
ours in the agent code. The SDK's hosted trace export stays registered (it
finds no API key and exports nothing), except where a test turns it off.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from agents import (
    Agent,
    GuardrailFunctionOutput,
    InputGuardrailTripwireTriggered,
    OpenAIChatCompletionsModel,
    OpenAIResponsesModel,
    Runner,
    function_tool,
    input_guardrail,
    set_trace_processors,
)
from agents.tracing.processors import default_processor

from otel_agentkit.instrumentation.openai import OpenAIInstrumentor
from otel_agentkit.instrumentation.openai_agents import OpenAIAgentsInstrumentor
from otel_agentkit.testing import FakeModelServer, TelemetryCapture
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


@pytest.fixture(autouse=True)
def no_hosted_export_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK's hosted export must find no key: nothing may leave the machine."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


@pytest.fixture
def instrumented(agentkit_telemetry: TelemetryCapture) -> Iterator[TelemetryCapture]:
    with instrumenting(OpenAIInstrumentor(), OpenAIAgentsInstrumentor()):
        yield agentkit_telemetry


def weather_agent(server: FakeModelServer, api: str, **extra: Any) -> Agent[Any]:
    client = openai.AsyncOpenAI(base_url=server.base_url, api_key="test")
    model: Any = (
        OpenAIResponsesModel("fake-model", client)
        if api == "responses"
        else OpenAIChatCompletionsModel("fake-model", client)
    )
    return Agent(
        name="weather",
        instructions="Answer weather questions.",
        tools=[function_tool(get_weather)],
        model=model,
        **extra,
    )


def run(agent: Agent[Any], mode: str, question: str = QUESTION) -> Any:
    """Run ``agent`` the way ``mode`` says; the run result."""
    if mode == "sync":
        return Runner.run_sync(agent, question)
    if mode == "async":
        return asyncio.run(Runner.run(agent, question))

    async def streamed() -> Any:
        result = Runner.run_streamed(agent, question)
        async for _ in result.stream_events():
            pass
        return result

    return asyncio.run(streamed())


def outcome(result: Any) -> tuple[Any, list[str]]:
    """What the caller gets: the final output and the kinds of items the run produced."""
    return result.final_output, [type(item).__name__ for item in result.new_items]


def tool_call_ids(server: FakeModelServer) -> list[str]:
    """The tool-call ids the agent sent back with the tool results, as the server saw them."""
    ids: list[str] = []
    for request in server.requests:
        body = request.body
        for item in body.get("input", []) if isinstance(body.get("input"), list) else []:
            if item.get("type") == "function_call_output":
                ids.append(item["call_id"])
        for message in body.get("messages", []):
            if message.get("role") == "tool":
                ids.append(message["tool_call_id"])
    return sorted(set(ids))


@pytest.mark.parametrize("mode", ["sync", "async", "stream"])
@pytest.mark.parametrize("api", ["responses", "chat"])
def test_agent_run_is_a_trace_of_agent_chat_and_tool_spans(
    instrumented: TelemetryCapture, mode: str, api: str
) -> None:
    with FakeModelServer() as plain_server:  # the same run, uninstrumented, for comparison
        OpenAIAgentsInstrumentor().uninstrument()
        OpenAIInstrumentor().uninstrument()
        expected = outcome(run(weather_agent(plain_server, api), mode))
        OpenAIInstrumentor().instrument()
        OpenAIAgentsInstrumentor().instrument()
    instrumented.clear()

    with FakeModelServer() as server, every_span_ended(instrumented):
        result = run(weather_agent(server, api), mode)

    assert outcome(result) == expected
    assert result.final_output == ANSWER
    requests = server.requests
    assert len(requests) == 2  # the tool call, then the answer
    # a streamed chat completion carries no usage unless asked: no token points then
    instrumented.assert_one_llm_span_per_request(requests, tokens=(api, mode) != ("chat", "stream"))

    workflow = instrumented.span("invoke_workflow Agent workflow")
    agent = instrumented.span("invoke_agent weather")
    assert children(instrumented, workflow) == ["invoke_agent weather"]
    assert children(instrumented, agent) == [
        "chat fake-model",
        "execute_tool get_weather",
        "chat fake-model",
    ]
    assert len({s.context.trace_id for s in instrumented.spans()}) == 1
    assert attributes(agent)["gen_ai.agent.name"] == "weather"
    tool = instrumented.span("execute_tool get_weather")
    assert attributes(tool)["gen_ai.tool.name"] == "get_weather"
    assert attributes(tool)["gen_ai.tool.type"] == "function"
    assert [attributes(tool)["gen_ai.tool.call.id"]] == tool_call_ids(server)
    assert "gen_ai.tool.call.arguments" not in attributes(tool)  # content capture is off

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
    assert histogram_count(instrumented, "gen_ai.invoke_workflow.duration") == 1


def test_the_trace_is_the_callers(instrumented: TelemetryCapture) -> None:
    from opentelemetry import trace

    tracer = trace.get_tracer("app")
    with FakeModelServer() as server, tracer.start_as_current_span("request") as outer:
        run(weather_agent(server, "responses"), "sync")
    workflow = instrumented.span("invoke_workflow Agent workflow")
    assert workflow.parent is not None
    assert workflow.parent.span_id == outer.get_span_context().span_id


def test_tool_content_is_captured_when_asked(
    instrumented: TelemetryCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "SPAN_ONLY")
    with FakeModelServer() as server:
        run(weather_agent(server, "responses"), "sync")
    tool = attributes(instrumented.span("execute_tool get_weather"))
    assert tool["gen_ai.tool.call.arguments"] == '{"city":"What is the weather in Lisbon?"}'
    assert tool["gen_ai.tool.call.result"] == '"24 C in What is the weather in Lisbon?"'


def test_a_failing_tool_is_an_error_span(instrumented: TelemetryCapture) -> None:
    def get_weather(city: str) -> str:
        """The weather in a city."""
        raise RuntimeError(f"no station in {city}")

    with FakeModelServer() as server, every_span_ended(instrumented):
        agent = weather_agent(server, "responses")
        agent.tools = [function_tool(get_weather)]
        result = run(agent, "sync")
    # the SDK hands the error to the model and the run goes on
    assert "An error occurred while running the tool" in result.final_output
    tool = instrumented.span("execute_tool get_weather")
    assert tool.status.status_code.name == "ERROR"
    error_type = attributes(tool)["error.type"]
    assert error_type == "Error running tool (non-fatal)"
    # the SDK keeps a message, not the exception (its details only with sensitive data on)
    assert (tool.status.description or "").startswith("Error running tool (non-fatal): ")
    assert (
        histogram_count(
            instrumented,
            "gen_ai.execute_tool.duration",
            gen_ai__tool__name="get_weather",
            error__type=error_type,
        )
        == 1
    )


def test_handoff_and_guardrails(instrumented: TelemetryCapture) -> None:
    checked: list[str] = []

    async def no_secrets(context: Any, agent: Any, text: Any) -> GuardrailFunctionOutput:
        checked.append(str(text))
        return GuardrailFunctionOutput(output_info=None, tripwire_triggered="secret" in str(text))

    with FakeModelServer() as server, every_span_ended(instrumented):
        weather = weather_agent(server, "responses")
        triage = Agent(
            name="triage",
            instructions="Hand weather questions to the weather agent.",
            handoffs=[weather],
            model=weather.model,
            input_guardrails=[input_guardrail(name="no_secrets")(no_secrets)],
        )
        result = run(triage, "sync")
        assert result.last_agent.name == "weather"
        with pytest.raises(InputGuardrailTripwireTriggered):
            run(triage, "sync", "Tell me the secret weather code")

    first, second = instrumented.spans_named("invoke_workflow Agent workflow")
    triage_span = next(
        s
        for s in instrumented.spans_named("invoke_agent triage")
        if s.context.trace_id == first.context.trace_id
    )
    assert children(instrumented, first) == ["invoke_agent triage", "invoke_agent weather"]
    assert children(instrumented, triage_span) == [
        "apply_guardrail no_secrets",
        "chat fake-model",
        "execute_tool transfer_to_weather",
    ]
    allowed, blocked = sorted(
        instrumented.spans_named("apply_guardrail no_secrets"), key=lambda s: s.start_time or 0
    )
    assert attributes(allowed)["agentkit.guardrail.decision"] == "allow"
    assert attributes(blocked)["agentkit.guardrail.decision"] == "block"
    assert blocked.context.trace_id == second.context.trace_id
    (violation,) = instrumented.metric_points("agentkit.guardrail.violations")
    assert violation.value == 1
    assert dict(violation.attributes) == {
        "agentkit.guardrail.name": "no_secrets",
        "agentkit.guardrail.decision": "block",
    }


def test_hosted_export_off_keeps_ours(instrumented: TelemetryCapture) -> None:
    """``set_trace_processors([])`` is how a user turns the SDK's hosted export off."""
    set_trace_processors([])
    try:
        with FakeModelServer() as server:
            run(weather_agent(server, "responses"), "sync")
    finally:
        set_trace_processors([default_processor()])
    assert [s.name for s in instrumented.spans() if not s.name.startswith("chat")] == [
        "execute_tool get_weather",
        "invoke_agent weather",
        "invoke_workflow Agent workflow",
    ]


def test_uninstrument_stops_the_spans(agentkit_telemetry: TelemetryCapture) -> None:
    instrumentor = OpenAIAgentsInstrumentor()
    instrumentor.instrument()
    instrumentor.uninstrument()
    with FakeModelServer() as server:
        result = run(weather_agent(server, "responses"), "sync")
    assert result.final_output == ANSWER
    assert agentkit_telemetry.spans() == []
