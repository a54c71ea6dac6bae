"""A real Prometheus (the Debian ``prometheus`` binary) on 127.0.0.1 for the e2e tests.

``App(argv)`` runs a process that prints ``{"port": N}`` once it is ready
(its ``/metrics`` up and its traffic flowing); ``Prometheus`` writes a config
scraping such targets every second (plus rule files), starts the server on a
free port with its own storage directory (exemplar storage on when asked) and
answers PromQL and exemplar queries through ``/api/v1``.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from tests.ops.ops_helpers import REPO


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class App:
    """A scraped app running as a subprocess."""

    def __init__(
        self,
        argv: Sequence[str],
        startup_timeout: float = 120.0,
        env: dict[str, str] | None = None,
    ) -> None:
        environment = {
            k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AGENTKIT_"))
        }
        environment.update(env or {})
        environment["PYTHONPATH"] = str(REPO)
        env = environment
        self.argv = list(argv)
        # stderr goes to a file: a chatty app must not block on a full pipe.
        self.stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed in stop())
        self.process = subprocess.Popen(
            self.argv,
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
        )
        assert self.process.stdout is not None
        # The app prints {"port": N} once it is ready: /metrics up and its traffic
        # flowing (a generous bound: a loaded machine imports slowly).
        ready, _, _ = select.select([self.process.stdout], [], [], startup_timeout)
        line = self.process.stdout.readline() if ready else ""
        if not line:
            self.stop()
            raise AssertionError(
                f"{self.argv} printed no port within {startup_timeout}s: {self.stderr_text()}"
            )
        self.port = int(json.loads(line)["port"])
        self.target = f"127.0.0.1:{self.port}"

    def stderr_text(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read()[-4000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.stderr.close()


class Prometheus:
    """A Prometheus server scraping ``targets`` ({job: "host:port"}) every second."""

    def __init__(
        self,
        binary: str,
        workdir: Path,
        targets: dict[str, str],
        rule_files: Sequence[Path] = (),
        *,
        exemplars: bool = False,
    ) -> None:
        self.workdir = workdir
        rules = []
        for index, path in enumerate(rule_files):
            copy = workdir / f"rules-{index}.yaml"
            shutil.copyfile(path, copy)
            rules.append(copy.name)
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": rules,
            "scrape_configs": [
                {"job_name": job, "static_configs": [{"targets": [target]}]}
                for job, target in targets.items()
            ],
        }
        (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = (workdir / "prometheus.log").open("w")
        self.process = subprocess.Popen(
            [
                binary,
                f"--config.file={workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--storage.tsdb.retention.time=1h",
                # Scrapes ask for OpenMetrics (and keep exemplars) only with this on.
                *(["--enable-feature=exemplar-storage"] if exemplars else []),
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"prometheus exited: {self.log_text()}")
            try:
                with urllib.request.urlopen(self.url + "/-/ready", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"prometheus not ready after {timeout}s: {self.log_text()}")

    def log_text(self) -> str:
        self.log.flush()
        return (self.workdir / "prometheus.log").read_text()[-4000:]

    def api(self, path: str, **params: str | list[str]) -> Any:
        query = urllib.parse.urlencode(params, doseq=True)
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}?{query}", timeout=10) as response:
            body = json.load(response)
        if body.get("status") != "success":
            raise AssertionError(f"{path} {params}: {body}")
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Instant query; raises with Prometheus's error if the PromQL is invalid."""
        try:
            data = self.api("query", query=expr)
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"Prometheus rejected {expr!r}: {exc.read().decode()}") from None
        assert data["resultType"] == "vector", data
        result: list[dict[str, Any]] = data["result"]
        return result

    def exemplars(self, expr: str, window_s: float = 600.0) -> list[dict[str, Any]]:
        """``/api/v1/query_exemplars`` over the last ``window_s`` seconds."""
        now = time.time()
        data: list[dict[str, Any]] = self.api(
            "query_exemplars", query=expr, start=str(now - window_s), end=str(now + 60)
        )
        return data

    def wait_for(self, expr: str, timeout: float = 20.0) -> list[dict[str, Any]]:
        """Poll until ``expr`` returns data."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.query(expr)
            if result or time.monotonic() > deadline:
                return result
            time.sleep(0.25)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.close()


PYTHON = sys.executable
