"""End to end: FastAPI under uvicorn and Flask under gunicorn on 127.0.0.1.

200 requests go over real sockets with httpx; then ``/metrics`` is scraped
from the same server and the request counts and latency buckets must match
what was sent. gunicorn runs one worker: the stock Prometheus reader keeps
metrics per process, so with several pre-fork workers each scrape would see
only the worker that answered it (tests/test_multiproc_servers.py runs
several workers in multi-process mode).
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.server_helpers import free_port, require_module, running_server
from tests.web_helpers import prom_value

N_FAST = 170
N_SLOW = 20
N_MISSING = 10
SLOW_DELAY = 0.12  # > the 0.1 s bucket boundary, well under 0.25 s


def _drive(base: str) -> None:
    plan = (
        [("/work", i) for i in range(N_FAST)]
        + [(f"/work?delay={SLOW_DELAY}", N_FAST + i) for i in range(N_SLOW)]
        + [("/missing", N_FAST + N_SLOW + i) for i in range(N_MISSING)]
    )
    with httpx.Client(base_url=base, timeout=10) as client:

        def send(item: tuple[str, int]) -> tuple[int, str, str]:
            path, i = item
            response = client.get(path, headers={"X-Request-ID": f"e2e-{i}"})
            return response.status_code, response.headers["X-Request-ID"], f"e2e-{i}"

        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(send, plan))
    assert len(results) == N_FAST + N_SLOW + N_MISSING == 200
    assert (
        sorted(status for status, _, _ in results) == [200] * (N_FAST + N_SLOW) + [404] * N_MISSING
    )
    assert all(echoed == sent for _, echoed, sent in results)


def _check_scrape(base: str) -> None:
    text = httpx.get(f"{base}/metrics", timeout=10).text
    served = N_FAST + N_SLOW
    work = {"http_route": "/work", "http_request_method": "GET"}
    # agentkit counters
    assert (
        prom_value(text, "agentkit_http_requests_total", agentkit_http_status_class="2xx", **work)
        == served
    )
    assert (
        prom_value(text, "agentkit_http_requests_total", agentkit_http_status_class="4xx")
        == N_MISSING
    )
    assert prom_value(text, "agentkit_http_errors_total") == N_MISSING
    # the official instrumentation's histogram: counts and buckets
    assert prom_value(text, "http_server_request_duration_seconds_count") == 200
    assert prom_value(text, "http_server_request_duration_seconds_count", **work) == served
    bucket = "http_server_request_duration_seconds_bucket"
    assert prom_value(text, bucket, le="+Inf", **work) == served
    assert prom_value(text, bucket, le="0.1", **work) == N_FAST
    assert (
        prom_value(text, bucket, le="+Inf", **work) - prom_value(text, bucket, le="0.1", **work)
        == N_SLOW
    )
    assert prom_value(text, "http_server_request_duration_seconds_sum", **work) >= (
        N_SLOW * SLOW_DELAY
    )
    # /metrics and /health are not counted; process metrics are exported
    assert 'http_route="/metrics"' not in text
    assert 'http_route="/health/live"' not in text
    assert prom_value(text, "process_memory_usage_bytes") > 0
    # the fd count once, under the name promtool accepts (prometheus_client's collector)
    assert prom_value(text, "process_open_fds") > 0


def test_fastapi_under_uvicorn() -> None:
    require_module("uvicorn")
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "tests.web_e2e_apps:create_fastapi_app",
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    with running_server(command, port) as base:
        _drive(base)
        _check_scrape(base)


def test_flask_under_gunicorn() -> None:
    require_module("gunicorn")
    port = free_port()
    command = [
        sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}",
        "--log-level", "warning", "tests.web_e2e_apps:create_flask_app()",
    ]  # fmt: skip
    with running_server(command, port) as base:
        _drive(base)
        _check_scrape(base)
