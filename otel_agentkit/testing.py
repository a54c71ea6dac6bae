"""What tests of instrumented code need: in-memory telemetry and a fake model server.

Usable from any test framework through :func:`capture_telemetry`, and from
pytest through the ``agentkit_telemetry`` fixture, which this module registers
as a pytest plugin (entry point ``pytest11``) when otel-agentkit is installed::

    def test_my_tool(agentkit_telemetry):
        my_tool("query")
        span = agentkit_telemetry.span("execute_tool my_tool")
        assert span.attributes["gen_ai.tool.name"] == "my_tool"
        (point,) = agentkit_telemetry.metric_points("gen_ai.execute_tool.duration")
        assert point.count == 1

The capture installs its providers as the OpenTelemetry globals for the
duration of the test (with the same histogram Views :func:`configure` uses)
and puts the globals back to "nothing installed" afterwards.

:class:`FakeModelServer` is an OpenAI-compatible model server on 127.0.0.1
with deterministic replies, for testing an agent with its real client and no
network (fixture ``agentkit_model_server``)::

    def test_my_agent(agentkit_model_server, agentkit_telemetry):
        client = openai.OpenAI(base_url=agentkit_model_server.base_url, api_key="test")
        agentkit_model_server.reply_next(ToolCall("get_weather", {"city": "Lisbon"}))
        ...

It is imported on first use, so the pytest plugin stays light.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sized
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from opentelemetry.sdk._logs import LoggerProvider, ReadableLogRecord
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, Metric
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, Sampler
from opentelemetry.trace import SpanKind

from otel_agentkit import semconv
from otel_agentkit.telemetry import _globals
from otel_agentkit.telemetry._logbridge import OTelLogHandler
from otel_agentkit.telemetry._setup import build_views

if TYPE_CHECKING:
    from otel_agentkit._fakemodel import Failure, Reply, ToolCall, count_tokens, fake_embedding
    from otel_agentkit._fakeserver import FakeModelServer, RecordedRequest

__all__ = [
    "FakeModelServer",
    "Failure",
    "RecordedRequest",
    "Reply",
    "TelemetryCapture",
    "ToolCall",
    "agentkit_model_server",
    "agentkit_telemetry",
    "capture_telemetry",
    "count_tokens",
    "fake_embedding",
]

#: Names served from the fake-server modules, imported when first asked for.
_LAZY = {
    "FakeModelServer": "otel_agentkit._fakeserver",
    "RecordedRequest": "otel_agentkit._fakeserver",
    "Failure": "otel_agentkit._fakemodel",
    "Reply": "otel_agentkit._fakemodel",
    "ToolCall": "otel_agentkit._fakemodel",
    "count_tokens": "otel_agentkit._fakemodel",
    "fake_embedding": "otel_agentkit._fakemodel",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


class TelemetryCapture:
    """Providers wired to in-memory exporters, with helpers to read what was recorded."""

    def __init__(self, *, service_name: str = "test-service", sampler: Sampler = ALWAYS_ON) -> None:
        self.resource = Resource.create({"service.name": service_name})
        self.span_exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider(resource=self.resource, sampler=sampler)
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.span_exporter))
        self.metric_reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(
            resource=self.resource, metric_readers=[self.metric_reader], views=build_views()
        )
        self.log_exporter = InMemoryLogRecordExporter()  # type: ignore[no-untyped-call]
        self.logger_provider = LoggerProvider(resource=self.resource)
        self.logger_provider.add_log_record_processor(SimpleLogRecordProcessor(self.log_exporter))
        self.log_handler = OTelLogHandler(self.logger_provider)

    # -- spans -----------------------------------------------------------------

    def spans(self) -> list[ReadableSpan]:
        """Every finished span, in the order they ended."""
        return list(self.span_exporter.get_finished_spans())

    def spans_named(self, name: str) -> list[ReadableSpan]:
        """Finished spans with this exact name."""
        return [s for s in self.spans() if s.name == name]

    def span(self, name: str) -> ReadableSpan:
        """The one finished span with this name; fails clearly if there are 0 or several."""
        found = self.spans_named(name)
        if len(found) != 1:
            names = [s.name for s in self.spans()]
            raise AssertionError(
                f"expected exactly one span {name!r}, found {len(found)} in {names}"
            )
        return found[0]

    # -- metrics -----------------------------------------------------------------

    def metrics(self) -> dict[tuple[str, str], Metric]:
        """Collect now and return every metric stream by (instrumentation scope, metric name).

        Two instrumentations recording a metric of the same name (ours and
        another GenAI instrumentation's ``gen_ai.client.token.usage``, say)
        are two entries, so a test sees double counting.
        """
        data = self.metric_reader.get_metrics_data()
        found: dict[tuple[str, str], Metric] = {}
        if data is None:
            return found
        for resource_metrics in data.resource_metrics:
            for scope_metrics in resource_metrics.scope_metrics:
                scope = scope_metrics.scope.name
                for metric in scope_metrics.metrics:
                    found[(scope, metric.name)] = metric
        return found

    def metric(self, name: str, scope: str | None = None) -> Metric:
        """The metric called ``name`` (recorded under ``scope``, when given).

        Fails clearly if nothing recorded it, or if several scopes did and
        ``scope`` does not say which one is meant.
        """
        found = {key: m for key, m in self.metrics().items() if key[1] == name}
        if scope is not None:
            found = {key: m for key, m in found.items() if key[0] == scope}
        if len(found) != 1:
            recorded = sorted(self.metrics())
            problem = "no metric" if not found else f"{len(found)} scopes recorded metric"
            raise AssertionError(f"{problem} {name!r} (scope {scope!r}); recorded: {recorded}")
        (metric,) = found.values()
        return metric

    def metric_points(
        self,
        name: str,
        attributes: Mapping[str, Any] | None = None,
        scope: str | None = None,
    ) -> list[Any]:
        """Data points of metric ``name`` from every scope that recorded it (or from
        ``scope`` only), optionally those whose attributes include every item of
        ``attributes``; empty if none."""
        points: list[Any] = []
        for (recorded_scope, recorded_name), metric in self.metrics().items():
            if recorded_name == name and scope in (None, recorded_scope):
                points.extend(metric.data.data_points)
        if attributes:
            points = [
                p
                for p in points
                if all((p.attributes or {}).get(k) == v for k, v in attributes.items())
            ]
        return points

    def llm_spans(self) -> list[ReadableSpan]:
        """Finished spans of LLM requests, whoever made them: CLIENT spans whose
        ``gen_ai.operation.name`` is a model call (chat, text completion,
        embeddings, generate_content)."""
        return [
            s
            for s in self.spans()
            if s.kind is SpanKind.CLIENT
            and (s.attributes or {}).get(semconv.GEN_AI_OPERATION_NAME) in semconv.LLM_OPERATIONS
        ]

    def assert_one_llm_span_per_request(
        self, requests: int | Sized, *, tokens: bool = True, durations: bool = True
    ) -> None:
        """Fail unless each LLM request got exactly one span and one set of metrics.

        ``requests`` is how many requests the model server saw (a count, or
        anything with a length, such as :attr:`FakeModelServer.requests`).
        Checks, over every instrumentation scope: as many LLM spans
        (:meth:`llm_spans`) as requests, every one ended; with ``durations``,
        as many ``gen_ai.client.operation.duration`` measurements; with
        ``tokens``, as many input and as many output
        ``gen_ai.client.token.usage`` measurements. (Turn off what the
        instrumentation that has the requests does not record: pydantic-ai's
        own records no duration, a stream without usage no tokens.)
        Metrics are counted since the capture started (:meth:`clear` does
        not reset them).
        """
        expected = requests if isinstance(requests, int) else len(requests)
        spans = self.llm_spans()
        problems: list[str] = []
        if len(spans) != expected:
            problems.append(f"{len(spans)} LLM spans")
        counts: dict[str, int] = {}
        if durations:
            counts["duration"] = self._count(semconv.GEN_AI_CLIENT_OPERATION_DURATION, None)
        if tokens:
            for token_type in (semconv.TOKEN_TYPE_INPUT, semconv.TOKEN_TYPE_OUTPUT):
                counts[f"{token_type} tokens"] = self._count(
                    semconv.GEN_AI_CLIENT_TOKEN_USAGE, token_type
                )
        problems += [
            f"{count} {what} points" for what, count in counts.items() if count != expected
        ]
        if problems:
            described = [
                f"{s.name} [{s.instrumentation_scope.name if s.instrumentation_scope else '?'}]"
                for s in spans
            ]
            raise AssertionError(
                f"expected one LLM span and one set of metrics for each of {expected} requests,"
                f" found {', '.join(problems)}; LLM spans: {described}; metric streams:"
                f" {sorted(key for key in self.metrics() if key[1].startswith('gen_ai.client'))}"
            )

    def _count(self, name: str, token_type: str | None) -> int:
        """Measurements recorded to histogram ``name`` over every scope (of one token type)."""
        where = {semconv.GEN_AI_TOKEN_TYPE: token_type} if token_type else None
        return sum(p.count for p in self.metric_points(name, where))

    # -- logs ----------------------------------------------------------------------

    def logs(self) -> list[ReadableLogRecord]:
        """Every log record emitted through the logger provider (or the stdlib bridge)."""
        return list(self.log_exporter.get_finished_logs())

    # -- lifecycle -------------------------------------------------------------------

    def clear(self) -> None:
        """Forget spans and log records captured so far (metrics are cumulative)."""
        self.span_exporter.clear()
        self.log_exporter.clear()

    def install(self) -> None:
        """Make these providers the OpenTelemetry globals and bridge stdlib logging."""
        from otel_agentkit import telemetry

        telemetry.shutdown()
        _globals.reset()
        _globals.install(self.tracer_provider, self.meter_provider, self.logger_provider)
        logging.getLogger().addHandler(self.log_handler)

    def close(self) -> None:
        """Shut the providers down and reset the globals."""
        logging.getLogger().removeHandler(self.log_handler)
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()
        self.logger_provider.shutdown()
        _globals.reset()


@contextmanager
def capture_telemetry(
    *, service_name: str = "test-service", sampler: Sampler = ALWAYS_ON
) -> Iterator[TelemetryCapture]:
    """Install in-memory providers globally for the ``with`` block."""
    capture = TelemetryCapture(service_name=service_name, sampler=sampler)
    capture.install()
    try:
        yield capture
    finally:
        capture.close()


try:
    import pytest
except ImportError:  # pragma: no cover - pytest is optional outside tests
    pass
else:

    @pytest.fixture
    def agentkit_telemetry() -> Iterator[TelemetryCapture]:
        """Capture spans, metrics and log records in memory for one test."""
        with capture_telemetry() as capture:
            yield capture

    @pytest.fixture
    def agentkit_model_server() -> Iterator[FakeModelServer]:
        """A running :class:`FakeModelServer` (no latency) for one test."""
        from otel_agentkit._fakeserver import FakeModelServer

        with FakeModelServer() as server:
            yield server
