"""Export outcome counting around exporters (telemetry/_exportstats.py)."""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

from otel_agentkit.health import otlp_export_check
from otel_agentkit.telemetry._exportstats import ExportStats, track
from tests.health_helpers import FakeClock


class ScriptedExporter(SpanExporter):
    """A span exporter whose outcomes follow a script: "ok", "fail" or "raise"."""

    def __init__(self, script: list[str]) -> None:
        self.script = script
        self.exported: list[str] = []
        self.error = ConnectionResetError("collector went away")

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        step = self.script.pop(0)
        if step == "raise":
            raise self.error
        self.exported.extend(s.name for s in spans)
        return SpanExportResult.SUCCESS if step == "ok" else SpanExportResult.FAILURE

    def shutdown(self) -> None:
        pass


def test_outcomes_are_counted_and_passed_through() -> None:
    clock = FakeClock()
    stats = ExportStats(clock=clock)
    inner = ScriptedExporter(["ok", "fail", "raise", "ok", "fail", "raise"])
    wrapped = track("traces", inner, stats)
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(wrapped))
    tracer = provider.get_tracer("t")

    assert stats.snapshot()["traces"].exports == 0  # watched before the first export
    tracer.start_span("a").end()
    tracer.start_span("b").end()
    with pytest.raises(ConnectionResetError) as raised:  # our wrapper re-raises untouched ...
        wrapped.export([])
    assert raised.value is inner.error
    s = stats.snapshot()["traces"]
    assert (s.exports, s.failures, s.consecutive_failures, s.last_error) == (
        3,
        2,
        2,
        "ConnectionResetError",
    )
    clock.advance(5)
    tracer.start_span("c").end()
    s = stats.snapshot()["traces"]
    assert (s.consecutive_failures, s.last_success) == (0, 1005.0)
    assert inner.exported == ["a", "b", "c"]

    handle = SimpleNamespace(export_stats=stats)
    assert otlp_export_check(telemetry=handle)().detail == "traces: 2/4 exports ok"  # type: ignore[arg-type]
    tracer.start_span("d").end()
    tracer.start_span("e").end()  # the SDK processor logs our re-raised exception
    result = otlp_export_check(telemetry=handle)()  # type: ignore[arg-type]
    assert result.status == "degraded"
    assert result.detail == "traces: last 2 exports failed (ConnectionResetError)"
    provider.shutdown()
