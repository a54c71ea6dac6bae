"""The decorator benchmark runs and measures every case (no timing assertions here)."""

from __future__ import annotations

from opentelemetry import trace

from benchmarks import bench_decorators


def test_benchmark_measures_all_cases_and_restores_globals() -> None:
    results = bench_decorators.run(number=20)
    assert set(results) == {"no SDK", "SDK, dropping exporter"}
    for cases in results.values():
        assert set(cases) == {"bare call", "hand-written span + histogram", "@traced_tool"}
        assert all(seconds > 0 for seconds in cases.values())
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
