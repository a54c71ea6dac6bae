"""Real servers on 127.0.0.1 for the end-to-end tests: start one, wait for it, stop it."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[1]


def require_module(name: str) -> None:
    """Skip without ``name`` locally; under CI=true its absence is a failure."""
    if importlib.util.find_spec(name) is None:
        message = f"{name} is not installed (it is in the test dependency group)"
        if IN_CI:
            pytest.fail(message + " -- required under CI=true")
        pytest.skip(message)


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(
    command: list[str], port: int, env: Mapping[str, str] | None = None
) -> Iterator[str]:
    """Run ``command`` (a server on ``port``) until ``/health/live`` answers; yield its base URL.

    The child gets this environment without OTEL_*/AGENTKIT_* settings and
    PROMETHEUS_MULTIPROC_DIR, plus ``env``; the repository is on its PYTHONPATH.
    The server is stopped on exit, killed if it does not stop within 10 s.
    """
    child_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OTEL_", "AGENTKIT_")) and k != "PROMETHEUS_MULTIPROC_DIR"
    }
    child_env["PYTHONPATH"] = str(ROOT) + os.pathsep + child_env.get("PYTHONPATH", "")
    child_env.update(env or {})
    process = subprocess.Popen(
        command, cwd=ROOT, env=child_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                output = process.stdout.read().decode() if process.stdout else ""
                pytest.fail(f"server exited with {process.returncode}:\n{output}")
            try:
                if httpx.get(f"{base}/health/live", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"server did not answer on {base} within 20 s")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()
