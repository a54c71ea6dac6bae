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

Two measures: wall-clock time (interleaved rounds, best kept) and, when
valgrind is installed, instructions executed per call under callgrind
(:mod:`benchmarks._instructions`), which repeat whatever the load on the
machine; a change to the decorators' hot path is judged on the second.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

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


ROOT = Path(__file__).resolve().parents[1]
NO_SDK = "no SDK"
WITH_SDK = "SDK, dropping exporter"


def cases() -> dict[str, Callable[[], object]]:
    """Bare call, hand-written path and decorator, built against the providers installed now."""
    return {
        "bare call": lambda: lookup("paris"),
        "hand-written span + histogram": hand_written_case(),
        "@traced_tool": lambda: traced_lookup("paris"),
    }


def measure(number: int, rounds: int = 5) -> dict[str, float]:
    """Seconds per call for bare / hand-written / decorator under the current providers.

    The cases are interleaved round by round and each keeps its best round,
    so a burst of load from elsewhere on the machine cannot favour one case.
    """
    cases_now = cases()
    best = dict.fromkeys(cases_now, float("inf"))
    for _ in range(rounds):
        for case, fn in cases_now.items():
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


def _each_configuration(measure_now: Callable[[str], None]) -> None:
    """Call ``measure_now(configuration)`` with no SDK, then with the SDK installed."""
    _globals.reset()
    measure_now(NO_SDK)
    tracer_provider, meter_provider = install_sdk()
    try:
        measure_now(WITH_SDK)
    finally:
        tracer_provider.shutdown()
        meter_provider.shutdown()
        _globals.reset()


def run(number: int = 20_000) -> dict[str, dict[str, float]]:
    """Measure both configurations; returns {configuration: {case: seconds}}."""
    results: dict[str, dict[str, float]] = {}

    def measure_now(config: str) -> None:
        results[config] = measure(number * 10 if config == NO_SDK else number)

    _each_configuration(measure_now)
    return results


#: Calls per counted region: load does not move instruction counts, so few are needed.
_COUNTED_CALLS = 200


def instructions_worker(rounds: int = 2) -> list[str]:
    """Run each case as a counted callgrind region, in both configurations.

    Returns the region labels in the order they ran (``configuration|case``);
    the parent pairs them with callgrind's counts and keeps each label's smallest.
    """
    import gc

    from benchmarks import _instructions

    labels: list[str] = []

    def measure_now(config: str) -> None:
        for case, fn in cases().items():
            for _ in range(_COUNTED_CALLS):  # warm up: first-call and per-provider work
                fn()
            # No collection inside a region: when one falls depends on every
            # allocation before it, which would move the counts between versions.
            gc.collect()
            gc.disable()
            try:
                _instructions.region(fn, _COUNTED_CALLS)
            finally:
                gc.enable()
            labels.append(f"{config}|{case}")

    for _ in range(rounds):
        _each_configuration(measure_now)
    return labels


def count_instructions() -> dict[str, dict[str, float]]:
    """Instructions per call, {configuration: {case: count}} (one callgrind run)."""
    from benchmarks import _instructions

    counts, stdout = _instructions.run(
        sys.executable,
        ["-m", "benchmarks.bench_decorators", "--instructions-worker"],
        cwd=ROOT,
        env=_instructions.child_env(),
    )
    results: dict[str, dict[str, float]] = {}
    for label, count in _instructions.labelled(counts, stdout).items():
        config, case = label.split("|")
        results.setdefault(config, {})[case] = count / _COUNTED_CALLS
    return results


def _rows(
    results: dict[str, dict[str, float]], *, scale: float, spec: str
) -> list[tuple[str, ...]]:
    """One row per case: its cost, its ratio to the hand-written path, its cost over a bare call."""
    rows = []
    for config, by_case in results.items():
        bare = by_case["bare call"]
        hand = by_case["hand-written span + histogram"]
        for case, cost in by_case.items():
            rows.append(
                (
                    config,
                    case,
                    f"{cost * scale:{spec}}",
                    f"{cost / hand:.2f}x",
                    f"{(cost - bare) * scale:+{spec}}",
                )
            )
    return rows


def main() -> None:
    results = run()
    print(
        table(
            "@traced_tool per-call cost",
            ["configuration", "case", "us/call", "vs hand-written", "us over bare"],
            _rows(results, scale=1e6, spec=".3f"),
        )
    )
    sdk = results[WITH_SDK]
    nosdk = results[NO_SDK]
    ratio = sdk["@traced_tool"] / sdk["hand-written span + histogram"]
    overhead_us = (nosdk["@traced_tool"] - nosdk["bare call"]) * 1e6
    print(f"decorator / hand-written with SDK: {ratio:.2f}x (target <= 1.15x)")
    print(f"decorator - bare call without SDK: {overhead_us:.3f} us (target <= 0.5 us)\n")

    from benchmarks import _instructions

    missing = _instructions.available()
    if missing:
        print(f"(instruction counts skipped: {missing})\n")
        return
    print(
        table(
            "@traced_tool per-call cost: instructions (callgrind; load-independent)",
            ["configuration", "case", "instructions/call", "vs hand-written", "over bare"],
            _rows(count_instructions(), scale=1, spec=",.0f"),
        )
    )


if __name__ == "__main__":
    if sys.argv[1:] == ["--instructions-worker"]:
        print(json.dumps(instructions_worker()))
    else:
        main()
