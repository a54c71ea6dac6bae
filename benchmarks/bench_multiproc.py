"""What a multi-process ``/metrics`` scrape costs: 1 vs 8 worker files.

Every "worker" holds the metrics a web app with a few LLM routes produces
(HTTP duration histogram per route/status, GenAI duration and token
histograms, request counters, process metrics). Baseline measured in the same
run: the stock single-process reader rendering the same instruments.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from pathlib import Path

from opentelemetry.metrics import Meter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from prometheus_client import CollectorRegistry

import otel_agentkit
from benchmarks._timing import per_call, table
from otel_agentkit import semconv
from otel_agentkit.telemetry._multiproc import to_json
from otel_agentkit.telemetry._setup import build_views

ROUTES = [f"/route/{i}" for i in range(10)]
MODELS = ["gpt-4o", "gpt-4o-mini", "claude"]


def _record(meter: Meter) -> None:
    http = meter.create_histogram(semconv.HTTP_SERVER_REQUEST_DURATION, unit=semconv.UNIT_SECONDS)
    requests = meter.create_counter(semconv.AGENTKIT_HTTP_REQUESTS)
    llm = meter.create_histogram(semconv.GEN_AI_CLIENT_OPERATION_DURATION, unit="s")
    tokens = meter.create_histogram(semconv.GEN_AI_CLIENT_TOKEN_USAGE, unit=semconv.UNIT_TOKENS)
    active = meter.create_up_down_counter(semconv.HTTP_SERVER_ACTIVE_REQUESTS)
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


def _worker_file(directory: Path, pid: int) -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader], views=build_views())
    _record(provider.get_meter("bench"))
    document = to_json(reader.get_metrics_data(), pid)  # type: ignore[arg-type]
    provider.shutdown()
    (directory / f"metrics-{pid}-{secrets.token_hex(4)}.json").write_text(json.dumps(document))


def _scrape_cost(files: int | None) -> float:
    """Seconds per render_metrics(); None = the stock single-process reader."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        for i in range(files or 0):
            _worker_file(directory, os.getppid() if i % 2 else 10_000_000 + i)
        telemetry = otel_agentkit.configure(
            "bench",
            metrics_exporter="prometheus",
            traces_exporter="none",
            prometheus_server=False,
            prometheus_registry=CollectorRegistry(),
            metrics_multiprocess_dir=None if files is None else directory,
        )
        try:
            # The telemetry's own provider: an earlier benchmark in this process may
            # have left another one installed as the global.
            _record(telemetry.meter_provider.get_meter("bench"))
            return per_call(telemetry.render_metrics, number=100, repeat=3)
        finally:
            otel_agentkit.shutdown()


def main() -> None:
    base = _scrape_cost(None)
    rows = [("stock reader, one process (baseline)", f"{base * 1e3:.2f}", "1.0x")]
    for files in (1, 8):
        cost = _scrape_cost(files)
        label = f"multi-process, this process + {files} worker file{'s' * (files > 1)}"
        rows.append((label, f"{cost * 1e3:.2f}", f"{cost / base:.1f}x"))
    print(table("/metrics scrape", ("case", "ms per scrape", "vs baseline"), rows))


if __name__ == "__main__":
    main()
