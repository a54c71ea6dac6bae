"""End to end: exemplars from several gunicorn workers in multi-process mode, via a real Prometheus.

gunicorn runs the Flask app with 3 workers writing to one multi-process
directory and exporting spans over OTLP to the test's receiver. Requests
spread over the workers; a real Prometheus with exemplar storage scrapes
``/metrics`` (any worker answers, with everyone's merged metrics, as
OpenMetrics) and ``/api/v1/query_exemplars`` must return trace and span ids of
exported server spans, from more than one worker.

Fails, not skips, under CI=true when the prometheus binary is missing.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import require_binary
from tests.ops.prometheus_harness import Prometheus
from tests.otlp_receiver import OTLPReceiver, Received, attrs
from tests.server_helpers import ROOT, free_port, require_module, running_server

pytestmark = pytest.mark.prometheus

WORKERS = 3
REQUESTS = 60
BUCKETS = 'http_server_request_duration_seconds_bucket{job="gunicorn", http_route="/pid"}'


@pytest.fixture
def receiver() -> Iterator[OTLPReceiver]:
    server = OTLPReceiver().start()
    yield server
    server.stop()


def _exported(received: list[Received]) -> dict[tuple[str, str], str]:
    """(trace id, span id) of every exported span -> the worker that sent it.

    Each worker process has its own ``service.instance.id``.
    """
    found = {}
    for item in received:
        if item.signal != "traces":
            continue
        for resource_spans in item.request.resource_spans:
            worker = attrs(resource_spans.resource.attributes)["service.instance.id"]
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    found[(span.trace_id.hex(), span.span_id.hex())] = worker
    return found


def test_exemplars_of_every_worker_reach_prometheus(tmp_path: Path, receiver: OTLPReceiver) -> None:
    binary = require_binary("prometheus")
    require_module("gunicorn")
    port = free_port()
    directory = tmp_path / "multiproc"
    directory.mkdir()
    command = [
        sys.executable, "-m", "gunicorn", "--workers", str(WORKERS),
        "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
        "-c", str(ROOT / "tests" / "gunicorn_multiproc_conf.py"),
        "tests.web_e2e_apps:create_flask_multiproc_app()",
    ]  # fmt: skip
    env = {
        "AGENTKIT_METRICS_MULTIPROC_DIR": str(directory),
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.http_endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_BSP_SCHEDULE_DELAY": "200",
    }
    with running_server(command, port, env) as base:

        def send(_: int) -> int:
            # a new connection per request, so the kernel hands them to any worker
            response = httpx.get(f"{base}/pid", timeout=10, headers={"Connection": "close"})
            assert response.status_code == 200
            return int(response.json()["pid"])

        with ThreadPoolExecutor(max_workers=12) as pool:
            pids = set(pool.map(send, range(REQUESTS)))
        assert len(pids) > 1, f"every request went to one worker ({pids})"

        workdir = tmp_path / "prom"
        workdir.mkdir()
        server = Prometheus(binary, workdir, {"gunicorn": f"127.0.0.1:{port}"}, exemplars=True)
        try:
            # Keep the requests coming until exemplars of two workers were scraped.
            deadline = time.monotonic() + 60
            while True:
                send(0)
                found = server.exemplars(BUCKETS)
                pairs = {
                    (e["labels"]["trace_id"], e["labels"]["span_id"])
                    for series in found
                    for e in series["exemplars"]
                }
                exported = _exported(list(receiver.received))
                workers = {exported[p] for p in pairs if p in exported}
                if len(workers) > 1 and pairs <= set(exported):
                    break
                assert time.monotonic() < deadline, (
                    f"exemplars {sorted(pairs)[:5]}... from workers {workers}; {server.log_text()}"
                )
                time.sleep(0.25)
        finally:
            server.stop()
