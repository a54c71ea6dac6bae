"""The decorators' duration histograms: recorded in their own span's context, semconv buckets.

Real SDK providers throughout: a ``TracerProvider`` into an in-memory
exporter and a ``MeterProvider`` with an in-memory reader.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import (
    AlwaysOnExemplarFilter,
    ExemplarFilter,
    MeterProvider,
    TraceBasedExemplarFilter,
)
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import otel_agentkit as agentkit
from otel_agentkit.telemetry import _globals
from tests.decorators_helpers import FLAVORS

#: The GenAI conventions' duration buckets, in seconds.
SEMCONV_DURATION_BUCKETS = [
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
]  # fmt: skip

#: (histogram, span name) of the three nested operations.
OPERATIONS = (
    ("gen_ai.invoke_workflow.duration", "invoke_workflow ingest"),
    ("gen_ai.invoke_agent.duration", "invoke_agent planner"),
    ("gen_ai.execute_tool.duration", "execute_tool lookup"),
)


class Providers:
    """Real SDK providers installed as the globals; ``MeterProvider`` without Views."""

    def __init__(self, exemplar_filter: ExemplarFilter | None = None) -> None:
        self.spans = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.reader = InMemoryMetricReader()
        if exemplar_filter is None:
            self.meter_provider = MeterProvider(metric_readers=[self.reader])
        else:
            self.meter_provider = MeterProvider(
                metric_readers=[self.reader], exemplar_filter=exemplar_filter
            )
        _globals.reset()
        trace.set_tracer_provider(self.tracer_provider)
        metrics.set_meter_provider(self.meter_provider)

    def close(self) -> None:
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()
        _globals.reset()

    def points(self) -> dict[str, HistogramDataPoint]:
        """One collection (exemplars are reported once, by the collection after the record)."""
        data = self.reader.get_metrics_data()
        assert data is not None
        found: dict[str, HistogramDataPoint] = {}
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    (point,) = metric.data.data_points
                    assert isinstance(point, HistogramDataPoint)
                    found[metric.name] = point
        return found

    def span_context(self, name: str) -> trace.SpanContext:
        (span,) = [s for s in self.spans.get_finished_spans() if s.name == name]
        assert span.context is not None
        return span.context


def nested(flavor: str, *, fail: bool = False) -> Callable[[], Any]:
    """A workflow calling an agent calling a tool, all of ``flavor``; returns a runner.

    With ``fail`` the tool raises ``LookupError``, which escapes all three
    operations and which the runner swallows.
    """

    def result() -> int:
        if fail:
            raise LookupError("no such city")
        return 1

    run = _nested(flavor, result)

    def runner() -> Any:
        try:
            return run()
        except LookupError:
            if not fail:
                raise
            return None

    return runner


def _nested(flavor: str, result: Callable[[], int]) -> Callable[[], Any]:
    if flavor == "sync":

        @agentkit.traced_tool(name="lookup")
        def lookup() -> int:
            return result()

        @agentkit.traced_agent(name="planner")
        def plan() -> int:
            return lookup()

        @agentkit.traced_workflow(name="ingest")
        def ingest() -> int:
            return plan()

        return ingest
    if flavor == "async":

        @agentkit.traced_tool(name="lookup")
        async def lookup_async() -> int:
            return result()

        @agentkit.traced_agent(name="planner")
        async def plan_async() -> int:
            return await lookup_async()

        @agentkit.traced_workflow(name="ingest")
        async def ingest_async() -> int:
            return await plan_async()

        return lambda: asyncio.run(ingest_async())
    if flavor == "generator":

        @agentkit.traced_tool(name="lookup")
        def lookup_gen() -> Iterator[int]:
            yield result()

        @agentkit.traced_agent(name="planner")
        def plan_gen() -> Iterator[int]:
            yield from lookup_gen()

        @agentkit.traced_workflow(name="ingest")
        def ingest_gen() -> Iterator[int]:
            yield from plan_gen()

        return lambda: list(ingest_gen())
    if flavor == "async_generator":

        @agentkit.traced_tool(name="lookup")
        async def lookup_agen() -> AsyncIterator[int]:
            yield result()

        @agentkit.traced_agent(name="planner")
        async def plan_agen() -> AsyncIterator[int]:
            async for item in lookup_agen():
                yield item

        @agentkit.traced_workflow(name="ingest")
        async def ingest_agen() -> AsyncIterator[int]:
            async for item in plan_agen():
                yield item

        async def collect() -> list[int]:
            return [item async for item in ingest_agen()]

        return lambda: asyncio.run(collect())
    assert flavor == "context_manager"

    def with_blocks() -> None:
        with (
            agentkit.workflow_span("ingest"),
            agentkit.agent_span("planner"),
            agentkit.tool_span("lookup"),
        ):
            result()

    return with_blocks


@pytest.mark.parametrize(
    "exemplar_filter",
    [
        pytest.param(TraceBasedExemplarFilter(), id="trace_based"),
        pytest.param(AlwaysOnExemplarFilter(), id="always_on"),
    ],
)
@pytest.mark.parametrize("flavor", [*FLAVORS, "context_manager"])
@pytest.mark.parametrize("fail", [False, True], ids=["ok", "raises"])
def test_each_duration_exemplar_points_at_its_own_span(
    flavor: str, exemplar_filter: ExemplarFilter, fail: bool
) -> None:
    providers = Providers(exemplar_filter)
    try:
        nested(flavor, fail=fail)()
        points = providers.points()
        for histogram, span_name in OPERATIONS:
            own = providers.span_context(span_name)
            (exemplar,) = points[histogram].exemplars
            assert (exemplar.trace_id, exemplar.span_id) == (own.trace_id, own.span_id), histogram
    finally:
        providers.close()


@pytest.mark.parametrize("flavor", [*FLAVORS, "context_manager"])
def test_duration_histograms_use_the_semconv_buckets_without_views(flavor: str) -> None:
    """A plain ``MeterProvider()``: no ``configure()``, no Views, only the instruments' advice."""
    providers = Providers()
    try:
        nested(flavor)()
        points = providers.points()
        for histogram, _ in OPERATIONS:
            point = points[histogram]
            assert list(point.explicit_bounds) == SEMCONV_DURATION_BUCKETS, histogram
            assert point.count == 1
    finally:
        providers.close()
