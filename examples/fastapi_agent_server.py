"""A small agent server on FastAPI, made observable with one call.

Run it::

    pip install 'otel-agentkit[fastapi]' uvicorn
    python examples/fastapi_agent_server.py

Then::

    curl -s localhost:8000/ask -H 'content-type: application/json' \
         -H 'X-Request-ID: demo-1' -d '{"question": "what is OTel?", "mode": "deep"}'
    curl -s localhost:8000/metrics | grep agentkit_http
    curl -s localhost:8000/health

Every response carries ``X-Request-ID``; every log line written while a
request runs has it; the server span has it as ``agentkit.request.id``.
Errors come back as ``{"error": ..., "request_id": ...}``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict, deque
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from pydantic import BaseModel

import otel_agentkit
from otel_agentkit.web import record_rate_limit_exceeded
from otel_agentkit.web.fastapi import instrument_app

#: The agent modes this server knows: a small, fixed set, so safe as a metric label.
MODES = ("quick", "deep")

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
log = logging.getLogger("agent")

# Providers first, then instrument_app: the official instrumentation binds to them.
# The app serves /metrics itself, so the standalone Prometheus server is off.
otel_agentkit.configure("agent-server-fastapi", prometheus_server=False)

app = FastAPI(title="agent server")


class Ask(BaseModel):
    question: str
    mode: str = "quick"


class SlidingWindowLimiter:
    """At most ``limit`` requests per ``window`` seconds per client address."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self.hits: defaultdict[str, deque[float]] = defaultdict(deque)

    def allow(self, client: str) -> bool:
        now = time.monotonic()
        hits = self.hits[client]
        while hits and now - hits[0] > self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        return True


limiter = SlidingWindowLimiter(limit=20, window=1.0)


async def run_agent(question: str, mode: str) -> str:
    """Stand-in for the real agent (LLM calls, tools, retrieval ...)."""
    await asyncio.sleep(0.2 if mode == "deep" else 0.02)
    return f"[{mode}] you asked: {question}"


@app.post("/ask")
async def ask(body: Ask, request: Request) -> dict[str, Any]:
    client = request.client.host if request.client else "unknown"
    if not limiter.allow(client):
        record_rate_limit_exceeded("/ask")  # the route template, never the client
        raise HTTPException(429, "rate limit exceeded", headers={"Retry-After": "1"})
    if body.mode not in MODES:
        raise HTTPException(400, f"mode must be one of {', '.join(MODES)}")
    log.info("answering in %s mode", body.mode)
    return {"answer": await run_agent(body.question, body.mode)}


async def agent_mode(request: Request) -> dict[str, str]:
    """Hook: put the requested agent mode on the span, the events and the metrics."""
    if request.method != "POST" or request.url.path != "/ask":
        return {}
    try:
        mode = (await request.json()).get("mode", "quick")
    except ValueError:
        return {"agent.mode": "invalid"}
    return {"agent.mode": mode if mode in MODES else "invalid"}


instrument_app(app, hook=agent_mode, hook_metric_attributes=["agent.mode"])


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=8000)
