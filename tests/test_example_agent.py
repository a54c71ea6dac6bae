"""examples/agent_decorators.py runs offline and produces the trace its docstring shows."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from opentelemetry.trace import StatusCode

from otel_agentkit import semconv
from otel_agentkit.testing import TelemetryCapture

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "agent_decorators.py"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("agent_decorators_example", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_agent_trace(agentkit_telemetry: TelemetryCapture) -> None:
    example = load_example()
    answers = example.run()
    assert "Porto: 19°C" in answers[0]
    assert answers[1] == "refused: card number in request"

    allowed, blocked = agentkit_telemetry.spans_named("invoke_workflow trip_request")
    planner = agentkit_telemetry.span("invoke_agent planner")
    retrieval = agentkit_telemetry.span("retrieval travel_kb")
    weather = agentkit_telemetry.spans_named("execute_tool get_weather")
    convert = agentkit_telemetry.span("execute_tool convert_currency")
    guard_ok, guard_block = agentkit_telemetry.spans_named("apply_guardrail no_card_numbers")

    assert planner.parent.span_id == allowed.context.span_id
    assert guard_ok.parent.span_id == allowed.context.span_id
    assert guard_block.parent.span_id == blocked.context.span_id
    assert len(weather) == 2
    for child in (retrieval, convert, *weather):
        assert child.parent.span_id == planner.context.span_id
    assert retrieval.attributes[semconv.AGENTKIT_RETRIEVAL_RETURNED_DOCUMENTS] == 2
    assert guard_ok.attributes[semconv.AGENTKIT_GUARDRAIL_DECISION] == "modify"
    assert guard_block.attributes[semconv.AGENTKIT_GUARDRAIL_DECISION] == "block"
    assert blocked.status.status_code is StatusCode.ERROR
    # capture_content=True on get_weather only
    assert weather[0].attributes[semconv.GEN_AI_TOOL_CALL_ARGUMENTS] in (
        '{"city":"lisbon"}',
        '{"city":"porto"}',
    )
    assert semconv.GEN_AI_TOOL_CALL_ARGUMENTS not in convert.attributes

    (notification,) = agentkit_telemetry.metric_points(semconv.AGENTKIT_NOTIFICATIONS)
    assert notification.value == 1
    violations = agentkit_telemetry.metric_points(semconv.AGENTKIT_GUARDRAIL_VIOLATIONS)
    assert sorted(p.attributes[semconv.AGENTKIT_GUARDRAIL_DECISION] for p in violations) == [
        "block",
        "modify",
    ]
