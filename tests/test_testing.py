"""The public in-memory capture (otel_agentkit.testing)."""

from __future__ import annotations

import logging

import pytest
from opentelemetry import metrics, trace

from otel_agentkit import semconv
from otel_agentkit.testing import TelemetryCapture, capture_telemetry


def test_fixture_captures_spans_metrics_and_logs(agentkit_telemetry: TelemetryCapture) -> None:
    tracer = trace.get_tracer("t")
    with tracer.start_as_current_span("outer") as outer, tracer.start_as_current_span("inner"):
        logging.getLogger("app").warning("hello %s", "world")
    metrics.get_meter("t").create_histogram(semconv.GEN_AI_EXECUTE_TOOL_DURATION, unit="s").record(
        0.05, {semconv.GEN_AI_TOOL_NAME: "search"}
    )

    inner = agentkit_telemetry.span("inner")
    assert inner.parent is not None
    assert inner.parent.span_id == outer.get_span_context().span_id
    assert [s.name for s in agentkit_telemetry.spans()] == ["inner", "outer"]

    (point,) = agentkit_telemetry.metric_points(
        semconv.GEN_AI_EXECUTE_TOOL_DURATION, {semconv.GEN_AI_TOOL_NAME: "search"}
    )
    assert point.count == 1
    assert list(point.explicit_bounds) == list(semconv.GEN_AI_DURATION_BUCKETS)
    assert (
        agentkit_telemetry.metric_points(
            semconv.GEN_AI_EXECUTE_TOOL_DURATION, {semconv.GEN_AI_TOOL_NAME: "other"}
        )
        == []
    )

    (record,) = [r for r in agentkit_telemetry.logs() if r.log_record.body == "hello world"]
    assert record.log_record.trace_id == outer.get_span_context().trace_id

    agentkit_telemetry.clear()
    assert agentkit_telemetry.spans() == []


def test_span_helper_fails_clearly() -> None:
    with capture_telemetry() as capture:
        tracer = trace.get_tracer("t")
        for _ in range(2):
            with tracer.start_as_current_span("twice"):
                pass
        with pytest.raises(AssertionError, match="expected exactly one span 'twice', found 2"):
            capture.span("twice")
        with pytest.raises(AssertionError, match="no metric 'nope'"):
            capture.metric("nope")


def test_capture_restores_globals_afterwards() -> None:
    with capture_telemetry() as capture:
        assert trace.get_tracer_provider() is capture.tracer_provider
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


def record_llm_call(scope: str, tokens: bool = True) -> None:
    """What one GenAI instrumentation records for one chat request, under ``scope``."""
    tracer = trace.get_tracer(scope)
    with tracer.start_as_current_span(
        "chat m", kind=trace.SpanKind.CLIENT, attributes={"gen_ai.operation.name": "chat"}
    ):
        pass
    meter = metrics.get_meter(scope)
    meter.create_histogram("gen_ai.client.operation.duration", unit="s").record(0.2)
    if tokens:
        usage = meter.create_histogram("gen_ai.client.token.usage", unit="{token}")
        usage.record(7, {"gen_ai.token.type": "input"})
        usage.record(3, {"gen_ai.token.type": "output"})


def test_metrics_are_keyed_by_scope_so_double_counting_shows(
    agentkit_telemetry: TelemetryCapture,
) -> None:
    record_llm_call("ours")
    record_llm_call("theirs")

    keys = sorted(k for k in agentkit_telemetry.metrics() if k[1] == "gen_ai.client.token.usage")
    assert keys == [("ours", "gen_ai.client.token.usage"), ("theirs", "gen_ai.client.token.usage")]
    points = agentkit_telemetry.metric_points(
        "gen_ai.client.token.usage", {"gen_ai.token.type": "input"}
    )
    assert [(p.count, p.sum) for p in points] == [(1, 7), (1, 7)]
    (ours,) = agentkit_telemetry.metric_points(
        "gen_ai.client.token.usage", {"gen_ai.token.type": "input"}, scope="ours"
    )
    assert ours.sum == 7
    with pytest.raises(
        AssertionError, match=r"2 scopes recorded metric 'gen_ai\.client\.token\.usage'"
    ):
        agentkit_telemetry.metric("gen_ai.client.token.usage")
    metric = agentkit_telemetry.metric("gen_ai.client.token.usage", scope="theirs")
    assert metric.name == "gen_ai.client.token.usage"


def test_one_llm_span_per_request_passes_for_one_instrumentation(
    agentkit_telemetry: TelemetryCapture,
) -> None:
    record_llm_call("ours")
    record_llm_call("ours")
    with trace.get_tracer("app").start_as_current_span("not an LLM call"):
        pass
    assert [s.name for s in agentkit_telemetry.llm_spans()] == ["chat m", "chat m"]
    agentkit_telemetry.assert_one_llm_span_per_request(2)
    agentkit_telemetry.assert_one_llm_span_per_request([object(), object()])


def test_one_llm_span_per_request_fails_on_a_second_instrumentation(
    agentkit_telemetry: TelemetryCapture,
) -> None:
    record_llm_call("ours")
    record_llm_call("theirs", tokens=False)
    with pytest.raises(AssertionError) as failure:
        agentkit_telemetry.assert_one_llm_span_per_request(1)
    message = str(failure.value)
    assert "found 2 LLM spans, 2 duration points;" in message
    assert "chat m [ours]" in message
    assert "chat m [theirs]" in message


def test_one_llm_span_per_request_counts_token_points(agentkit_telemetry: TelemetryCapture) -> None:
    record_llm_call("ours", tokens=False)
    agentkit_telemetry.assert_one_llm_span_per_request(1, tokens=False)
    with pytest.raises(AssertionError, match="found 0 input tokens points, 0 output tokens points"):
        agentkit_telemetry.assert_one_llm_span_per_request(1)
