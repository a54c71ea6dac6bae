"""Context-manager forms: tool_span, agent_span, workflow_span, retrieval_span, guardrail_span."""

from __future__ import annotations

import asyncio

import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

from otel_agentkit import semconv
from otel_agentkit.decorators import (
    GuardrailDecision,
    GuardrailViolation,
    agent_span,
    guardrail_span,
    retrieval_span,
    tool_span,
    traced_tool,
    workflow_span,
)
from otel_agentkit.testing import TelemetryCapture


def test_spans_nest_and_record_their_attributes(agentkit_telemetry: TelemetryCapture) -> None:
    @traced_tool
    def decorated() -> int:
        return 1

    with workflow_span("ingest"):
        with agent_span("planner", agent_id="a1", conversation_id="c9") as agent:
            assert trace.get_current_span() is agent.span
            with tool_span("calc", call_id="call_3", description="adds"):
                decorated()
        with retrieval_span("kb", top_k=4) as retrieval:
            retrieval.set_result(["d1", "d2"])

    workflow = agentkit_telemetry.span("invoke_workflow ingest")
    planner = agentkit_telemetry.span("invoke_agent planner")
    calc = agentkit_telemetry.span("execute_tool calc")
    inner = agentkit_telemetry.span("execute_tool decorated")
    kb = agentkit_telemetry.span("retrieval kb")
    assert planner.parent.span_id == workflow.context.span_id
    assert calc.parent.span_id == planner.context.span_id
    assert inner.parent.span_id == calc.context.span_id
    assert kb.parent.span_id == workflow.context.span_id
    for span in (workflow, planner, calc, kb):
        assert span.kind is SpanKind.INTERNAL
        assert span.status.status_code is StatusCode.UNSET

    assert dict(planner.attributes) == {
        semconv.GEN_AI_OPERATION_NAME: semconv.OP_INVOKE_AGENT,
        semconv.GEN_AI_AGENT_NAME: "planner",
        semconv.GEN_AI_AGENT_ID: "a1",
        semconv.GEN_AI_CONVERSATION_ID: "c9",
    }
    assert calc.attributes[semconv.GEN_AI_TOOL_CALL_ID] == "call_3"
    assert calc.attributes[semconv.GEN_AI_TOOL_DESCRIPTION] == "adds"
    assert workflow.attributes[semconv.GEN_AI_WORKFLOW_NAME] == "ingest"
    assert kb.attributes[semconv.GEN_AI_REQUEST_TOP_K] == 4
    assert kb.attributes[semconv.AGENTKIT_RETRIEVAL_RETURNED_DOCUMENTS] == 2

    for metric, attribute, value in (
        (semconv.GEN_AI_INVOKE_WORKFLOW_DURATION, semconv.GEN_AI_WORKFLOW_NAME, "ingest"),
        (semconv.GEN_AI_INVOKE_AGENT_DURATION, semconv.GEN_AI_AGENT_NAME, "planner"),
        (semconv.GEN_AI_EXECUTE_TOOL_DURATION, semconv.GEN_AI_TOOL_NAME, "calc"),
    ):
        (point,) = agentkit_telemetry.metric_points(metric, {attribute: value})
        assert point.count == 1
        assert semconv.GEN_AI_CONVERSATION_ID not in point.attributes
        assert semconv.GEN_AI_TOOL_CALL_ID not in point.attributes


def test_span_form_records_exceptions_and_lets_them_through(
    agentkit_telemetry: TelemetryCapture,
) -> None:
    error = OSError("disk")
    with pytest.raises(OSError, match="disk") as info, tool_span("write"):
        raise error
    assert info.value is error
    span = agentkit_telemetry.span("execute_tool write")
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[semconv.ERROR_TYPE] == "OSError"
    (point,) = agentkit_telemetry.metric_points(semconv.GEN_AI_EXECUTE_TOOL_DURATION)
    assert point.attributes[semconv.ERROR_TYPE] == "OSError"
    assert trace.get_current_span() is trace.INVALID_SPAN  # context restored


def test_guardrail_span_decisions(agentkit_telemetry: TelemetryCapture) -> None:
    with guardrail_span("toxicity") as g:
        g.set_decision(GuardrailDecision.block("slur"))
    with guardrail_span("toxicity"):
        pass
    with pytest.raises(GuardrailViolation), guardrail_span("toxicity"):
        raise GuardrailViolation("threat")
    with pytest.raises(TypeError, match="GuardrailDecision"), guardrail_span("toxicity") as g:
        g.set_decision("block")  # type: ignore[arg-type]

    decisions = [
        s.attributes.get(semconv.AGENTKIT_GUARDRAIL_DECISION)
        for s in agentkit_telemetry.spans_named("apply_guardrail toxicity")
    ]
    assert decisions == ["block", "allow", "block", None]
    (point,) = agentkit_telemetry.metric_points(semconv.AGENTKIT_GUARDRAIL_VIOLATIONS)
    assert point.value == 2
    last = agentkit_telemetry.spans_named("apply_guardrail toxicity")[-1]
    assert last.status.status_code is StatusCode.ERROR  # a real error, not a decision


def test_retrieval_span_document_count_and_attribute(agentkit_telemetry: TelemetryCapture) -> None:
    with retrieval_span() as op:
        op.set_returned_documents(7)
        op.set_attribute("db.collection.name", "notes")
    span = agentkit_telemetry.span("retrieval")
    assert span.attributes[semconv.AGENTKIT_RETRIEVAL_RETURNED_DOCUMENTS] == 7
    assert span.attributes["db.collection.name"] == "notes"


def test_span_form_in_async_code(agentkit_telemetry: TelemetryCapture) -> None:
    async def main() -> None:
        with agent_span("async-agent") as agent:
            await asyncio.gather(*(asyncio.sleep(0) for _ in range(3)))
            with tool_span("t"):
                await asyncio.sleep(0)
            assert trace.get_current_span() is agent.span

        async with tool_span("u") as op:
            assert trace.get_current_span() is op.span
            await asyncio.sleep(0)

    asyncio.run(main())
    assert agentkit_telemetry.span("execute_tool u").parent is None
    tool = agentkit_telemetry.span("execute_tool t")
    assert (
        tool.parent.span_id == agentkit_telemetry.span("invoke_agent async-agent").context.span_id
    )


def test_single_use(agentkit_telemetry: TelemetryCapture) -> None:
    op = tool_span("once")
    with op:
        pass
    with pytest.raises(RuntimeError, match="only once"), op:
        pass
    assert len(agentkit_telemetry.spans_named("execute_tool once")) == 1


def test_no_sdk_is_a_no_op() -> None:
    with tool_span("x", arguments={"a": 1}) as op:
        assert not op.span.is_recording()
        op.set_result(1)
        op.set_attribute("k", "v")
    with pytest.raises(ValueError, match="boom"), agent_span("y"):
        raise ValueError("boom")
