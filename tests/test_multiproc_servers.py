"""End to end: REAL pre-fork servers with 3 workers in multi-process mode.

Flask under gunicorn, with and without ``--preload`` (configure() before the
fork, so each child must write its own file), and FastAPI under
``uvicorn --workers 3`` (spawned workers). Requests spread over the workers;
every scrape of ``/metrics``, whichever worker answers it, must report the total.
"""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import pytest

from otel_agentkit import semconv
from otel_agentkit.telemetry._multiproc import WRITE_INTERVAL_S, read_states
from tests.conftest import require_binary
from tests.server_helpers import ROOT, free_port, require_module, running_server
from tests.web_helpers import prom_value

WORKERS = 3
REQUESTS = 90
SCRAPES = 6
COUNT = semconv.prometheus_name(
    semconv.HTTP_SERVER_REQUEST_DURATION, semconv.UNIT_SECONDS, suffix="count"
)
ROUTE = {semconv.prometheus_label(semconv.HTTP_ROUTE): "/pid"}


def _gunicorn_command(port: int, *extra: str) -> list[str]:
    require_module("gunicorn")
    return [
        sys.executable, "-m", "gunicorn", "--workers", str(WORKERS),
        "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
        "-c", str(ROOT / "tests" / "gunicorn_multiproc_conf.py"), *extra,
        "tests.web_e2e_apps:create_flask_multiproc_app()",
    ]  # fmt: skip


def _server(directory: Path, command: list[str], port: int) -> AbstractContextManager[str]:
    return running_server(command, port, {"AGENTKIT_METRICS_MULTIPROC_DIR": str(directory)})


def _count(body: str) -> float:
    try:
        return prom_value(body, COUNT, **ROUTE)
    except AssertionError:  # no worker has written a request yet
        return 0.0


def _spread_requests(base: str) -> set[int]:
    def send(_: int) -> int:
        # a new connection per request, so the kernel hands them to any worker
        response = httpx.get(f"{base}/pid", timeout=10, headers={"Connection": "close"})
        assert response.status_code == 200
        return int(response.json()["pid"])

    with ThreadPoolExecutor(max_workers=12) as pool:
        return set(pool.map(send, range(REQUESTS)))


def _wait_for_count(base: str, expected: int) -> None:
    """Scrape until the merged request count reaches ``expected`` (fails past a deadline)."""
    seen: float | None = None
    deadline = time.monotonic() + 60 + WRITE_INTERVAL_S
    while time.monotonic() < deadline:
        seen = prom_value(httpx.get(f"{base}/metrics", timeout=10).text, COUNT, **ROUTE)
        if seen == expected:
            return
        time.sleep(WRITE_INTERVAL_S / 4)  # polling interval, not an assumption about timing
    pytest.fail(f"the merged count stayed at {seen}, expected {expected}")


@pytest.mark.parametrize("server", ["gunicorn", "gunicorn-preload", "uvicorn"])
def test_every_scrape_reports_all_workers(tmp_path: Path, server: str) -> None:
    promtool = require_binary("promtool")
    # A file left by the previous deployment: the gunicorn on_starting hook (or,
    # for uvicorn, the CLI run before it) must clear it.
    stale = tmp_path / "metrics-1-deadbeef.json"
    stale.write_text('{"format": 1, "pid": 1, "written": 0, "scopes": []}')
    port = free_port()
    if server == "uvicorn":
        require_module("uvicorn")
        cleared = subprocess.run(
            [sys.executable, "-m", "otel_agentkit.cli", "clear-metrics-dir", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert cleared.returncode == 0, cleared.stderr
        command = [
            sys.executable, "-m", "uvicorn", "--factory",
            "tests.web_e2e_apps:create_fastapi_multiproc_app", "--host", "127.0.0.1",
            "--port", str(port), "--workers", str(WORKERS), "--log-level", "warning",
            "--no-access-log",
        ]  # fmt: skip
    else:
        command = _gunicorn_command(port, *(["--preload"] if server.endswith("preload") else []))

    with _server(tmp_path, command, port) as base:
        assert not stale.exists()
        pids = _spread_requests(base)
        assert len(pids) > 1, f"every request went to one worker ({pids}); nothing to merge"

        # Wait until every worker has written its requests (each writes on its own
        # schedule), then every scrape, whichever worker answers it, sees them all.
        _wait_for_count(base, REQUESTS)
        bodies = [httpx.get(f"{base}/metrics", timeout=10).text for _ in range(SCRAPES)]
        for body in bodies:
            assert prom_value(body, COUNT, **ROUTE) == REQUESTS
        # each worker that served a request has its own file (plus the master with --preload)
        writers = {s.pid for s in read_states(tmp_path) if s.scopes}
        assert pids <= writers

        result = subprocess.run(
            [promtool, "check", "metrics"],
            input=bodies[-1],
            capture_output=True,
            text=True,
            timeout=60,
        )
        # Exit 1 is a parse error, 3 lint findings: neither is acceptable.
        assert result.returncode == 0, result.stdout + result.stderr
