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
