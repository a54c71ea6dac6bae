"""Per-call cost of ``@traced_tool`` against a bare call and a hand-written OTel span.

Cases, all measured in this one run:

- bare call of the undecorated function;
- the same function inside a hand-written ``tracer.start_as_current_span``
  with the same attributes, plus one histogram record (what a careful
  engineer would write by hand);
- the function decorated with ``@traced_tool``.

Each with the SDK configured (a ``TracerProvider`` whose span processor
exports to a dropping exporter, a ``MeterProvider`` with the semconv Views)
and with no SDK installed at all.

Targets (issue 3): decorator <= 1.15x the hand-written path with the SDK;
within 0.5 us of a bare call with no SDK.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

from benchmarks._timing import per_call, table
from otel_agentkit import semconv
from otel_agentkit.decorators import traced_tool
from otel_agentkit.telemetry import _globals
from otel_agentkit.telemetry._setup import build_views


class DroppingExporter(SpanExporter):
    """Accepts every span and keeps none: measures the SDK, not an exporter."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


def lookup(city: str) -> str:
    return city


traced_lookup = traced_tool(lookup)

SPAN_ATTRIBUTES = {
    semconv.GEN_AI_OPERATION_NAME: semconv.OP_EXECUTE_TOOL,
    semconv.GEN_AI_TOOL_NAME: "lookup",
    semconv.GEN_AI_TOOL_TYPE: semconv.TOOL_TYPE_FUNCTION,
}
METRIC_ATTRIBUTES = dict(SPAN_ATTRIBUTES)
#: Its own name (with the same buckets as the decorator's histogram, below) so the
#: two instruments do not collide in one stream.
HAND_WRITTEN_HISTOGRAM = "bench.hand_written.duration"


def hand_written_case() -> Callable[[], object]:
    """The hand-written OTel path, built against the providers installed now."""
    # Its own scope, so its histogram does not collide with the decorator's.
    tracer = trace.get_tracer("bench.hand_written")
    histogram = metrics.get_meter("bench.hand_written").create_histogram(
        HAND_WRITTEN_HISTOGRAM, unit=semconv.UNIT_SECONDS
    )
    perf = time.perf_counter

    def call() -> object:
        with tracer.start_as_current_span(
            "execute_tool lookup", kind=trace.SpanKind.INTERNAL, attributes=SPAN_ATTRIBUTES
        ):
            start = perf()
            result = lookup("paris")
            histogram.record(perf() - start, METRIC_ATTRIBUTES)
        return result

    return call


def measure(number: int, rounds: int = 5) -> dict[str, float]:
    """Seconds per call for bare / hand-written / decorator under the current providers.

    The cases are interleaved round by round and each keeps its best round,
    so a burst of load from elsewhere on the machine cannot favour one case.
    """
    cases: dict[str, Callable[[], object]] = {
        "bare call": lambda: lookup("paris"),
        "hand-written span + histogram": hand_written_case(),
        "@traced_tool": lambda: traced_lookup("paris"),
    }
    best = dict.fromkeys(cases, float("inf"))
    for _ in range(rounds):
        for case, fn in cases.items():
            best[case] = min(best[case], per_call(fn, number=number, repeat=1))
    return best


def install_sdk() -> tuple[TracerProvider, MeterProvider]:
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(DroppingExporter()))
    views = [
        *build_views(),
        View(
            instrument_name=HAND_WRITTEN_HISTOGRAM,
            aggregation=ExplicitBucketHistogramAggregation(list(semconv.GEN_AI_DURATION_BUCKETS)),
        ),
    ]
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()], views=views)
    _globals.reset()
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)
    return tracer_provider, meter_provider


def run(number: int = 20_000) -> dict[str, dict[str, float]]:
    """Measure both configurations; returns {configuration: {case: seconds}}."""
    results: dict[str, dict[str, float]] = {}
    _globals.reset()
    results["no SDK"] = measure(number * 10)
    tracer_provider, meter_provider = install_sdk()
    try:
        results["SDK, dropping exporter"] = measure(number)
    finally:
        tracer_provider.shutdown()
        meter_provider.shutdown()
        _globals.reset()
    return results


def main() -> None:
    results = run()
    rows = []
    for config, cases in results.items():
        bare = cases["bare call"]
        hand = cases["hand-written span + histogram"]
        for case, seconds in cases.items():
            rows.append(
                (
                    config,
                    case,
                    f"{seconds * 1e6:.3f}",
                    f"{seconds / hand:.2f}x",
                    f"{(seconds - bare) * 1e6:+.3f}",
                )
            )
    print(
        table(
            "@traced_tool per-call cost",
            ["configuration", "case", "us/call", "vs hand-written", "us over bare"],
            rows,
        )
    )
    sdk = results["SDK, dropping exporter"]
    nosdk = results["no SDK"]
    ratio = sdk["@traced_tool"] / sdk["hand-written span + histogram"]
    overhead_us = (nosdk["@traced_tool"] - nosdk["bare call"]) * 1e6
    print(f"decorator / hand-written with SDK: {ratio:.2f}x (target <= 1.15x)")
    print(f"decorator - bare call without SDK: {overhead_us:.3f} us (target <= 0.5 us)")


if __name__ == "__main__":
    main()
