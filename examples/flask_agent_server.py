"""A small agent server on Flask, made observable with one call.

Run it::

    pip install 'otel-agentkit[flask]' gunicorn
    gunicorn --workers 1 --bind 127.0.0.1:8000 examples.flask_agent_server:app
    # or, for development: python examples/flask_agent_server.py

Then::

    curl -s localhost:8000/chat -H 'content-type: application/json' \
         -H 'X-Request-ID: demo-1' -d '{"message": "hello", "mode": "deep"}'
    curl -s localhost:8000/metrics | grep agentkit_http
    curl -s localhost:8000/health

Several gunicorn workers: give them a shared directory and every scrape shows
all of them merged (docs/web.md, "Servers and workers")::

    mkdir -p /tmp/agentkit-metrics && otel-agentkit clear-metrics-dir /tmp/agentkit-metrics
    AGENTKIT_METRICS_MULTIPROC_DIR=/tmp/agentkit-metrics \
        gunicorn --workers 4 --bind 127.0.0.1:8000 examples.flask_agent_server:app
"""

from __future__ import annotations

import logging
import time
from typing import Any

import flask

import otel_agentkit
from otel_agentkit.web import record_rate_limit_exceeded
from otel_agentkit.web.flask import instrument_app

#: The agent modes this server knows: a small, fixed set, so safe as a metric label.
MODES = ("quick", "deep")
MAX_MESSAGE_CHARS = 4000

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
log = logging.getLogger("agent")

# Providers first, then instrument_app: the official instrumentation binds to them.
# The app serves /metrics itself, so the standalone Prometheus server is off.
otel_agentkit.configure("agent-server-flask", prometheus_server=False)

app = flask.Flask("agent-server")
_recent: list[float] = []


def too_many_requests(limit: int = 20, window: float = 1.0) -> bool:
    """A process-wide sliding window; a real server would key it per client."""
    now = time.monotonic()
    _recent[:] = [t for t in _recent if now - t <= window]
    if len(_recent) >= limit:
        return True
    _recent.append(now)
    return False


def run_agent(message: str, mode: str) -> str:
    """Stand-in for the real agent (LLM calls, tools, retrieval ...)."""
    time.sleep(0.2 if mode == "deep" else 0.02)
    return f"[{mode}] you said: {message}"


@app.post("/chat")
def chat() -> Any:
    if too_many_requests():
        record_rate_limit_exceeded("/chat")  # the route template, never the client
        flask.abort(429, "rate limit exceeded")
    body = flask.request.get_json()  # a malformed body answers 400 JSON by itself
    if not isinstance(body, dict):
        flask.abort(400, "the body must be a JSON object")
    message, mode = body.get("message"), body.get("mode", "quick")
    if not isinstance(message, str) or not message or len(message) > MAX_MESSAGE_CHARS:
        flask.abort(400, f"message must be 1-{MAX_MESSAGE_CHARS} characters")
    if mode not in MODES:
        flask.abort(400, f"mode must be one of {', '.join(MODES)}")
    log.info("answering in %s mode", mode)
    return {"reply": run_agent(message, mode)}


def agent_mode(request: flask.Request) -> dict[str, str]:
    """Hook: put the requested agent mode on the span, the events and the metrics."""
    if request.method != "POST" or request.path != "/chat":
        return {}
    body = request.get_json(silent=True) or {}
    mode = body.get("mode", "quick") if isinstance(body, dict) else "invalid"
    return {"agent.mode": mode if mode in MODES else "invalid"}


instrument_app(app, hook=agent_mode, hook_metric_attributes=["agent.mode"])


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8000)
