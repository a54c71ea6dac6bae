"""A small app for the ops end-to-end test and for trying the local stack.

It configures otel-agentkit with the standalone Prometheus ``/metrics`` server
and drives simulated agent requests through the otel-agentkit APIs that exist,
so a real Prometheus can scrape it and every dashboard panel and recording
rule can be queried against what the code really emits. It never records a
metric by name through the raw OpenTelemetry API: each metric it produces
comes from an otel-agentkit feature.

    python examples/ops_app.py --port 9464          # then: docker compose -f deploy/... up
    python examples/ops_app.py --port 0             # any free port (the test does this)

Prints ``{"port": N, "metrics_url": ...}`` on one line once ``/metrics`` is
up, then serves until interrupted.
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
import uuid

import otel_agentkit
from otel_agentkit.context import request_id


def handle_request(number: int) -> None:
    """One simulated agent request.

    What this branch can drive: ``configure()`` (the resource, exported as
    ``target_info``) and the request-id context. Extend this function as the
    emitting features land, each through its public API:

    - decorators (issue 3): an ``@traced_agent`` that calls ``@traced_tool``
      functions (one of them raising), an ``@traced_workflow``, a
      ``@traced_guardrail`` that blocks, and the scheduler / notification /
      rate-limit recording helpers;
    - OpenAI instrumentation (issue 4): an ``openai`` client on an
      ``httpx.MockTransport`` serving a canned chat completion and a stream
      (LLM duration, tokens, time to first chunk; cost once estimated);
    - web (issue 6): serve these requests through
      ``otel_agentkit.web.fastapi.instrument_app`` under uvicorn and call them
      over HTTP, one route answering 5xx (HTTP and process metrics);
    - health (issue 7): a ``HealthRegistry`` with an ok and a failing check;
    - vector stores: a chromadb in-memory collection queried with explicit
      embeddings (``db.client.operation.duration``).
    """
    with request_id(f"ops-{number}-{uuid.uuid4().hex[:8]}"):
        pass


def main(argv: list[str] | None = None) -> int:
    """Configure telemetry, print the /metrics port, drive requests until stopped."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--service", default="ops-app", help="service.name")
    parser.add_argument("--port", type=int, default=9464, help="/metrics port (0: any)")
    parser.add_argument("--host", default="127.0.0.1", help="/metrics bind address")
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between requests")
    args = parser.parse_args(argv)

    telemetry = otel_agentkit.configure(
        args.service, prometheus_host=args.host, prometheus_port=args.port
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(
        json.dumps({"port": telemetry.prometheus_port, "metrics_url": telemetry.prometheus_url}),
        flush=True,
    )
    number = 0
    try:
        while not stop.wait(args.interval):
            handle_request(number)
            number += 1
    except KeyboardInterrupt:
        pass
    finally:
        otel_agentkit.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
