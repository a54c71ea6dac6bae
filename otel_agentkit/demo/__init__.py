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
import sys
from typing import Final

from otel_agentkit.demo._options import (
    FAKE_CHAT_MODEL,
    FAKE_EMBEDDING_MODEL,
    DemoError,
    DemoOptions,
    default_log_file,
)

__all__ = [
    "FAKE_CHAT_MODEL",
    "FAKE_EMBEDDING_MODEL",
    "DemoError",
    "DemoOptions",
    "default_log_file",
    "missing_requirements",
    "run",
]

#: Import name -> distribution of what the demo needs beyond the core package.
REQUIREMENTS: Final = {
    "openai": "openai",
    "qdrant_client": "qdrant-client",
    "flask": "flask",
    "opentelemetry.instrumentation.flask": "opentelemetry-instrumentation-flask",
}


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
    from otel_agentkit._stopping import stop_on_sigterm
    from otel_agentkit.demo._session import Session

    stop = stop_on_sigterm() if options.serve else None  # early: a stop may come any time
    try:
        with Session(options) as session:
            session.run()
            if stop is not None:
                session.serve(stop)
            session.finish()
        return 0
    except DemoError as exc:
        print(f"otel-agentkit demo: {exc}", file=sys.stderr)
        return exc.code
