"""What multi-process mode costs: a ``/metrics`` scrape, and an idle worker.

Every "worker" holds the same series: a web app with LLM routes (HTTP duration
histogram per route/status, GenAI duration and token histograms, request
counters) scaled up with a counter of many label values, so that the scrape
shows :data:`SERIES` series whatever the number of workers. Baseline measured
in the same run: the single-process reader rendering the same instruments.

The idle case configures multi-process mode, records the series once, and
measures the CPU the process uses over :data:`IDLE_S` seconds of no traffic.

Scrapes are measured twice: wall-clock time (best of several rounds), and, when
valgrind is installed, instructions executed under callgrind
(:mod:`benchmarks._instructions`), which a busy machine cannot move; the ratio
to the single-process scrape is read off the second.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from opentelemetry.metrics import Meter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from prometheus_client import CollectorRegistry

import otel_agentkit
from benchmarks._timing import per_call, table
from otel_agentkit import semconv
from otel_agentkit.telemetry._multiproc import _FileWriter
from otel_agentkit.telemetry._setup import build_views

ROUTES = [f"/route/{i}" for i in range(10)]
MODELS = ["gpt-4o", "gpt-4o-mini", "claude"]
#: Series per worker (and in the merged scrape), for the scaled cases.
SERIES = (1_000, 10_000)
#: Seconds of idleness measured.
IDLE_S = 5.0


def _record(meter: Meter, series: int) -> None:
    http = meter.create_histogram(semconv.HTTP_SERVER_REQUEST_DURATION, unit=semconv.UNIT_SECONDS)
    requests = meter.create_counter(semconv.AGENTKIT_HTTP_REQUESTS)
    llm = meter.create_histogram(semconv.GEN_AI_CLIENT_OPERATION_DURATION, unit="s")
    tokens = meter.create_histogram(semconv.GEN_AI_CLIENT_TOKEN_USAGE, unit=semconv.UNIT_TOKENS)
    active = meter.create_up_down_counter(semconv.HTTP_SERVER_ACTIVE_REQUESTS)
    tools = meter.create_counter(semconv.AGENTKIT_SCHEDULER_TRIGGERS)
    for route in ROUTES:
        for status in (200, 404, 500):
            labels = {semconv.HTTP_ROUTE: route, semconv.HTTP_RESPONSE_STATUS_CODE: status}
            http.record(0.05, labels)
            requests.add(1, {semconv.HTTP_ROUTE: route})
    for model in MODELS:
        llm.record(1.2, {semconv.GEN_AI_REQUEST_MODEL: model})
        for kind in (semconv.TOKEN_TYPE_INPUT, semconv.TOKEN_TYPE_OUTPUT):
            attrs = {semconv.GEN_AI_REQUEST_MODEL: model, semconv.GEN_AI_TOKEN_TYPE: kind}
            tokens.record(300, attrs)
    active.add(1)
    for job in range(max(0, series - 100)):  # the rest of the series: one counter point each
        tools.add(1, {semconv.AGENTKIT_SCHEDULER_JOB: f"job-{job}"})


def _worker_file(directory: Path, pid: int, series: int) -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader], views=build_views())
    _record(provider.get_meter("bench"), series)
    _FileWriter(str(directory)).write(reader.get_metrics_data())  # type: ignore[arg-type]
    provider.shutdown()
    for path in directory.glob(f"metrics-{os.getpid()}-*.json"):  # as if ``pid`` wrote it
        path.rename(directory / path.name.replace(f"-{os.getpid()}-", f"-{pid}-"))


def _configure(directory: Path | None) -> otel_agentkit.Telemetry:
    return otel_agentkit.configure(
        "bench",
        metrics_exporter="prometheus",
        traces_exporter="none",
        prometheus_server=False,
        prometheus_registry=CollectorRegistry(),
        metrics_multiprocess_dir=directory,
    )


@contextmanager
def _scrape(files: int | None, series: int) -> Iterator[Callable[[], bytes]]:
    """A configured telemetry's ``render_metrics``; ``files=None``: the single-process reader."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        for i in range(files or 0):
            # Live and long-exited workers alike (pids above pid_max are never alive).
            _worker_file(directory, os.getppid() if i % 2 else 10_000_000 + i, series)
        telemetry = _configure(None if files is None else directory)
        try:
            # The telemetry's own provider: an earlier benchmark in this process may
            # have left another one installed as the global.
            _record(telemetry.meter_provider.get_meter("bench"), series)
            yield lambda: telemetry.render_metrics()[0]
        finally:
            otel_agentkit.shutdown()


#: The cases measured at each size: worker files beside this process (None: single process).
CASES: tuple[int | None, ...] = (None, 1, 8)


def _label(files: int | None) -> str:
    if files is None:
        return "single process (baseline)"
    return f"multi-process, this process + {files} worker file{'s' * (files > 1)}"


def _scrape_cost(files: int | None, series: int) -> float:
    """Seconds per render_metrics()."""
    with _scrape(files, series) as render:
        number = 20 if series <= 1_000 else 3
        return per_call(render, number=number, repeat=3)


def instructions_worker() -> list[str]:
    """Each case's scrape as one counted callgrind region; returns the region labels."""
    from benchmarks import _instructions

    labels = []
    for series in SERIES:
        for files in CASES:
            with _scrape(files, series) as render:
                render()  # warm up: first-scrape caches (parsed worker files, families)
                render()
                gc.collect()
                gc.disable()
                try:
                    _instructions.region(render, 1)
                finally:
                    gc.enable()
            labels.append(f"{series}|{files}")
    return labels


def count_instructions() -> dict[int, dict[int | None, int]]:
    """Instructions per scrape, {series: {files: count}} (one callgrind run)."""
    from benchmarks import _instructions

    counts, stdout = _instructions.run(
        sys.executable,
        ["-m", "benchmarks.bench_multiproc", "--instructions-worker"],
        cwd=Path(__file__).resolve().parents[1],
        env=_instructions.child_env(),
    )
    results: dict[int, dict[int | None, int]] = {}
    for label, count in _instructions.labelled(counts, stdout).items():
        series, files = label.split("|")
        results.setdefault(int(series), {})[None if files == "None" else int(files)] = count
    return results


def _idle_cpu(series: int) -> float:
    """Share of one core an idle multi-process worker uses (CPU seconds per second)."""
    with tempfile.TemporaryDirectory() as tmp:
        telemetry = _configure(Path(tmp))
        try:
            _record(telemetry.meter_provider.get_meter("bench"), series)
            reader = telemetry._prometheus_reader
            assert reader is not None
            deadline = time.monotonic() + 10
            while reader.exemplar_filter.changes != reader._seen_changes:  # type: ignore[attr-defined]
                assert time.monotonic() < deadline, "the writer never wrote"
                time.sleep(0.05)
            cpu, wall = time.process_time(), time.monotonic()
            time.sleep(IDLE_S)  # measured: the writer thread's work while nothing happens
            return (time.process_time() - cpu) / (time.monotonic() - wall)
        finally:
            otel_agentkit.shutdown()


def main() -> None:
    for series in SERIES:
        costs = {files: _scrape_cost(files, series) for files in CASES}
        base = costs[None]
        rows = [(_label(f), f"{c * 1e3:.2f}", f"{c / base:.2f}x") for f, c in costs.items()]
        print(table(f"/metrics scrape, {series} series", ("case", "ms", "vs baseline"), rows))
    rows = [(f"{series} series", f"{_idle_cpu(series) * 100:.2f} %") for series in SERIES]
    print(table("idle multi-process worker", ("state", "CPU (one core)"), rows))

    from benchmarks import _instructions

    missing = _instructions.available()
    if missing:
        print(f"(instruction counts skipped: {missing})\n")
        return
    for series, by_case in count_instructions().items():
        base_count = by_case[None]
        rows = [(_label(f), f"{c:,}", f"{c / base_count:.2f}x") for f, c in by_case.items()]
        title = f"/metrics scrape, {series} series: instructions (callgrind; load-independent)"
        print(table(title, ("case", "instructions", "vs baseline"), rows))


if __name__ == "__main__":
    if sys.argv[1:] == ["--instructions-worker"]:
        print(json.dumps(instructions_worker()))
    else:
        main()
