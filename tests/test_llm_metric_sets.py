"""The LLM call's attributes and metric attribute sets, looked up for calls alike.

A call like an earlier one (same request attributes, same agent scope) skips
the safety pass and the metric filtering: what it records must be what a
first call records, whatever the values (unsafe ones, equal values of other
types), and the lookup stays bounded. Names are pinned as literals.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_agentkit._content import ContentCapture
from otel_agentkit.instrumentation import _genai
from otel_agentkit.instrumentation._base import TelemetryHandle
from otel_agentkit.instrumentation._genai import Call, Response


class Pipeline:
    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.reader = InMemoryMetricReader()
        self.handle = TelemetryHandle(
            tracer_provider=tracer_provider,
            meter_provider=MeterProvider(metric_readers=[self.reader]),
        )

    def call(self, attributes: dict[str, Any]) -> None:
        call = Call(self.handle, "chat", "m", attributes, ContentCapture.NO_CONTENT)
        response = Response(False)
        response.model = "m-1"
        response.input_tokens, response.output_tokens = 5, 2
        call.succeed(response)

    def token_points(self) -> list[dict[str, Any]]:
        data = self.reader.get_metrics_data()
        assert data is not None
        return sorted(
            (
                dict(point.attributes or {})
                for rm in data.resource_metrics
                for sm in rm.scope_metrics
                for metric in sm.metrics
                if metric.name == "gen_ai.client.token.usage"
                for point in metric.data.data_points
            ),
            key=repr,
        )


def test_a_repeated_call_with_unsafe_values_is_made_safe_every_time() -> None:
    pipeline = Pipeline()
    attributes = {"gen_ai.operation.name": "chat", "server.address": "host\ud800"}
    for _ in range(3):
        pipeline.call(dict(attributes))
    addresses = [dict(s.attributes or {}) for s in pipeline.spans.get_finished_spans()]
    assert [a["server.address"] for a in addresses] == ["host\ufffd"] * 3
    points = pipeline.token_points()
    assert [p["server.address"] for p in points] == ["host\ufffd"] * 2  # input, output


def test_a_repeated_safe_call_records_what_the_first_one_recorded() -> None:
    pipeline = Pipeline()
    attributes = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "m",
        "server.address": "api.example.com",
        "server.port": 443,
        "gen_ai.request.temperature": 0.5,
    }
    for _ in range(2):
        pipeline.call(dict(attributes))
    first, second = pipeline.spans.get_finished_spans()
    assert dict(first.attributes or {}) == dict(second.attributes or {})
    expected = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "m",
        "gen_ai.response.model": "m-1",
        "server.address": "api.example.com",
        "server.port": 443,
    }
    points = pipeline.token_points()
    assert points == [
        {**expected, "gen_ai.token.type": "input"},
        {**expected, "gen_ai.token.type": "output"},
    ]


def test_equal_values_of_other_types_are_other_attribute_sets() -> None:
    # 1, 1.0 and True are equal (and hash alike): the lookup tells them apart by type.
    results = [
        _genai.request_sets({"gen_ai.operation.name": "chat", "server.port": value}, None)
        for value in (1, True, 1.0, 1)
    ]
    ports = [sets.points(None).points.attributes["server.port"] for _, sets in results]
    assert [type(port) for port in ports] == [int, bool, float, int]
    assert results[0][1] is results[3][1]


def test_the_agent_scope_is_part_of_the_lookup() -> None:
    attributes = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "m"}
    _, plain = _genai.request_sets(attributes, None)
    _, planner = _genai.request_sets(attributes, {"gen_ai.agent.name": "planner"})
    _, writer = _genai.request_sets(attributes, {"gen_ai.agent.name": "writer"})
    assert "gen_ai.agent.name" not in plain.attributes
    assert planner.attributes["gen_ai.agent.name"] == "planner"
    assert writer.attributes["gen_ai.agent.name"] == "writer"


def test_an_unhashable_value_gets_sets_of_its_own() -> None:
    attributes = {"gen_ai.operation.name": "chat", "gen_ai.request.stop_sequences": ["x"]}
    safe, sets = _genai.request_sets(attributes, None)
    assert safe == attributes
    assert sets.attributes == {"gen_ai.operation.name": "chat"}


def test_the_lookups_stay_bounded() -> None:
    for i in range(3000):
        _, sets = _genai.request_sets(
            {"gen_ai.operation.name": "chat", "gen_ai.request.model": f"m{i}"}, None
        )
        assert sets.attributes["gen_ai.request.model"] == f"m{i}"
        for j in range(100):
            sets.points(f"r{j}")
        assert len(sets.by_model) < 100  # 100 response models seen: not all kept
    assert len(_genai._metric_sets) < 1000
    assert max(len(sets.by_model) for _, sets in _genai._metric_sets.values()) < 100
