"""``otel-agentkit demo``: a small real agent, offline, in one process, and what it emits.

It starts the fake OpenAI-compatible model server (or uses ``--model-url``),
an in-memory Qdrant handbook, and a Flask app whose ``POST /ask`` runs a
planner agent (``@traced_agent``) with two tools (``@traced_tool``, one
times out now and then), a retrieval step (``@traced_retrieval`` over the
instrumented Qdrant client) and an input guardrail (``@traced_guardrail``)
through the real ``openai`` client, instrumented. A driver sends the
requests over HTTP; then it prints the trace tree of one request and of one
failed request, JSON log lines carrying the trace and request ids, a summary
read from a live scrape of the app's ``/metrics``, and where to look next.

Needs the ``demo`` extra (openai, qdrant-client, flask):
``pip install 'otel-agentkit[demo]'``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["DemoOptions", "missing_requirements", "run"]

#: Import name -> distribution of what the demo needs beyond the core package.
REQUIREMENTS: Final = {
    "openai": "openai",
    "qdrant_client": "qdrant-client",
    "flask": "flask",
    "opentelemetry.instrumentation.flask": "opentelemetry-instrumentation-flask",
}
FAKE_CHAT_MODEL: Final = "fake-model"
FAKE_EMBEDDING_MODEL: Final = "fake-embedding"


@dataclass(frozen=True)
class DemoOptions:
    """What ``otel-agentkit demo`` was asked to do."""

    requests: int = 20
    service_name: str = "agentkit-demo"
    port: int = 0
    otlp_endpoint: str | None = None
    model_url: str | None = None
    model: str | None = None
    embedding_model: str | None = None
    model_latency: float = 0.02
    log_file: str | None = None
    serve: bool = False
    json: bool = False


class DemoError(Exception):
    """A reason to stop with a one-line message and a non-zero exit."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def missing_requirements() -> list[str]:
    """Distributions the demo needs that are not installed."""
    missing = []
    for module, dist in REQUIREMENTS.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:  # the parent package is missing
            found = False
        if not found:
            missing.append(dist)
    return missing


def run(options: DemoOptions) -> int:
    """Run the demo; returns the exit code (errors are reported on stderr, one line)."""
    missing = missing_requirements()
    if missing:
        print(
            f"otel-agentkit demo needs the 'demo' extra ({', '.join(missing)} missing): "
            "pip install 'otel-agentkit[demo]'",
            file=sys.stderr,
        )
        return 2
    if options.requests < 1:
        print("otel-agentkit demo: --requests must be at least 1", file=sys.stderr)
        return 2
    from otel_agentkit.cli import stop_on_sigterm
    from otel_agentkit.demo._session import Session

    stop = stop_on_sigterm() if options.serve else None  # early: a stop may come any time
    try:
        with Session(options) as session:
            code = session.run()
            if stop is not None:
                session.serve(stop)
            return code
    except DemoError as exc:
        print(f"otel-agentkit demo: {exc}", file=sys.stderr)
        return exc.code


def default_log_file() -> str:
    """A new, empty log file in the temporary directory (kept after the demo)."""
    handle, path = tempfile.mkstemp(prefix="agentkit-demo-", suffix=".log")
    os.close(handle)
    return path


def to_json(value: Any) -> str:
    """``value`` as one line of JSON."""
    return json.dumps(value, sort_keys=True)
