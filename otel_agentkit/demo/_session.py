"""One demo run: start everything, drive the requests, report, check the exports, stop."""

from __future__ import annotations

import logging
import os
import sys
import threading
import urllib.error
import urllib.request
from contextlib import ExitStack
from types import TracebackType
from typing import Any

from otel_agentkit.demo import (
    FAKE_CHAT_MODEL,
    FAKE_EMBEDDING_MODEL,
    DemoError,
    DemoOptions,
    default_log_file,
)
from otel_agentkit.errors import ConfigurationError


class Session:
    """Everything one demo run started, stopped in reverse order on exit."""

    def __init__(self, options: DemoOptions) -> None:
        self.options = options
        self._stack = ExitStack()
        self.fake: Any = None
        self.log_file = options.log_file or default_log_file()

    # -- setup ------------------------------------------------------------------

    def __enter__(self) -> Session:
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stack.close()

    def _start(self) -> None:
        base_url, api_key = self._model_server()
        self._configure()
        import openai
        from qdrant_client import QdrantClient

        import otel_agentkit
        from otel_agentkit.demo._agent import TravelAgent

        otel_agentkit.instrument("openai", "qdrant")
        self._stack.callback(otel_agentkit.uninstrument, "openai", "qdrant")
        self.client = openai.OpenAI(base_url=base_url, api_key=api_key, max_retries=0)
        self.model = self.options.model or self._first_model()
        qdrant = QdrantClient(":memory:")
        self._stack.callback(qdrant.close)
        embed, dimensions = self._embedder()
        self.agent = TravelAgent(self.client, self.model, embed, qdrant)
        try:
            self.agent.load_handbook(dimensions)
        except openai.APIError as exc:
            raise DemoError(f"the model server at {base_url} failed: {exc}") from None
        self._serve_app(base_url, api_key, qdrant, (openai.APIError,))

    def _model_server(self) -> tuple[str, str]:
        """(base URL, API key) of the model server: the fake one unless one was named."""
        url = self.options.model_url or os.environ.get("OPENAI_BASE_URL") or None
        if url is not None:
            return url, os.environ.get("OPENAI_API_KEY") or "not-needed"
        from otel_agentkit._fakeserver import FakeModelServer
        from otel_agentkit.pricing import ModelPrice, set_model_prices

        latency = self.options.model_latency
        self.fake = self._stack.enter_context(
            FakeModelServer(latency=latency, chunk_latency=latency / 10)
        )
        # Made-up prices for the fake model, so the cost shows up in the tree and the metrics.
        set_model_prices(
            {FAKE_CHAT_MODEL: ModelPrice(input_per_million=0.15, output_per_million=0.60)}
        )
        self._stack.callback(set_model_prices, None)
        return self.fake.base_url, "fake-key"

    def _configure(self) -> None:
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        from prometheus_client import CollectorRegistry

        import otel_agentkit
        from otel_agentkit._otlpprobe import probe

        self.spans = InMemorySpanExporter()
        try:
            self.telemetry = otel_agentkit.configure(
                self.options.service_name,
                otlp_endpoint=self.options.otlp_endpoint,
                prometheus_server=False,
                prometheus_registry=CollectorRegistry(),
                span_processors=[SimpleSpanProcessor(self.spans)],
                log_format="json",
                log_file=self.log_file,
                log_level="INFO",
            )
        except ConfigurationError as exc:
            raise DemoError(str(exc), code=2) from None
        self._stack.callback(otel_agentkit.shutdown)
        # openai 3.x logs each request at INFO through httpx2: keep the JSON log about the app.
        logging.getLogger("httpx2").setLevel(logging.WARNING)
        for signal, otlp in self.telemetry.settings.otlp.items():
            reason = probe(signal, otlp)
            if reason is not None:
                raise DemoError(f"the OTLP endpoint you asked for does not take {signal}: {reason}")

    def _first_model(self) -> str:
        if self.fake is not None:
            return FAKE_CHAT_MODEL
        try:
            return str(next(iter(self.client.models.list())).id)
        except Exception as exc:
            raise DemoError(
                f"cannot list the models of {self.client.base_url} ({type(exc).__name__}); "
                "name one with --model"
            ) from None

    def _embedder(self) -> tuple[Any, int]:
        """(text -> vector, dimensions): the model server's embeddings, else local ones."""
        from otel_agentkit._fakemodel import DEFAULT_DIMENSIONS, fake_embedding

        model = self.options.embedding_model or (FAKE_EMBEDDING_MODEL if self.fake else None)
        if model is None:
            return fake_embedding, DEFAULT_DIMENSIONS

        def embed(text: str) -> list[float]:
            result = self.client.embeddings.create(model=model, input=text)
            return list(result.data[0].embedding)

        return embed, len(embed("dimensions"))

    def _serve_app(
        self, base_url: str, api_key: str, qdrant: Any, errors: tuple[type[Exception], ...]
    ) -> None:
        from otel_agentkit.demo._agent import COLLECTION
        from otel_agentkit.demo._app import Server, build_app
        from otel_agentkit.health import HealthRegistry
        from otel_agentkit.health.checks import (
            openai_compatible_check,
            otlp_export_check,
            qdrant_check,
        )

        health = HealthRegistry(default_ttl=5.0, default_timeout=2.0)
        health.add("model-server", openai_compatible_check(base_url, api_key=api_key))
        health.add("handbook", qdrant_check(qdrant, collection=COLLECTION))
        if self.telemetry.settings.otlp:
            health.add("otlp-export", otlp_export_check(), critical=False)
        app = build_app(self.agent, health, errors)
        try:
            self.server = Server(app, self.options.port).start()
        except OSError as exc:
            raise DemoError(
                f"cannot serve on 127.0.0.1:{self.options.port}: {exc.strerror or exc}", code=2
            ) from None
        self._stack.callback(self.server.stop)

    # -- the run ----------------------------------------------------------------

    def _before(self, planned: Any) -> None:
        if planned.model_error and self.fake is not None:
            self.fake.fail_next(500, endpoint="chat")

    def run(self) -> int:
        """Send the requests, print the report; the exit code says whether exports worked."""
        from otel_agentkit.demo import _driver, _report
        from otel_agentkit.demo._scrape import scrape

        planned = _driver.plan(self.options.requests)
        sent = _driver.send_all(
            self.server.url, planned, self._before, _driver.Progress(len(planned))
        )
        metrics_url = f"{self.server.url}/metrics"
        try:
            summary = scrape(metrics_url)
        except (OSError, ValueError) as exc:
            raise DemoError(f"could not scrape {metrics_url}: {exc}") from None
        health = _health(f"{self.server.url}/health")
        report = _report.Report(
            sent=sent,
            spans=list(self.spans.get_finished_spans()),
            summary=summary,
            app_url=self.server.url,
            health=health,
            log_file=self.log_file,
            otlp=self._otlp_endpoints(),
            fake_model=self.fake is not None,
        )
        if self.options.json:
            print(report.to_json(), flush=True)
        else:
            report.print(sys.stdout)
        failure = self._export_failure()
        if failure is not None:
            raise DemoError(failure)
        return 0

    def _otlp_endpoints(self) -> list[str]:
        from otel_agentkit.health._redact import redact_url

        return sorted({redact_url(o.endpoint) for o in self.telemetry.settings.otlp.values()})

    def _export_failure(self) -> str | None:
        """Flush the OTLP exporters; a one-line reason if an export failed."""
        if not self.telemetry.settings.otlp:
            return None
        flushed = self.telemetry.force_flush()
        failed = [
            f"{s.signal}: {s.failures} of {s.exports} exports failed"
            + (f" ({s.last_error})" if s.last_error else "")
            for s in self.telemetry.export_stats.snapshot().values()
            if s.failures
        ]
        if failed:
            return f"OTLP export to {', '.join(self._otlp_endpoints())} failed: " + "; ".join(
                failed
            )
        if not flushed:
            return "OTLP export did not finish in time"
        return None

    def serve(self, stop: threading.Event) -> None:
        """Keep ``/metrics`` and ``/health`` up until Ctrl-C or ``stop`` is set."""
        from otel_agentkit.cli import serve_until_stopped

        out = sys.stderr if self.options.json else sys.stdout
        print(
            f"serving {self.server.url}/metrics and {self.server.url}/health; Ctrl-C to stop",
            file=out,
            flush=True,
        )
        serve_until_stopped(stop)


def _health(url: str) -> dict[str, Any]:
    """The app's ``/health`` report (any status), or an error note."""
    import json

    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
            body = response.read()
    except urllib.error.HTTPError as exc:
        body = exc.read()
    except OSError as exc:
        return {"status": "unreachable", "detail": str(exc)}
    try:
        report = json.loads(body)
    except ValueError:
        return {"status": "unreadable"}
    return report if isinstance(report, dict) else {"status": "unreadable"}
