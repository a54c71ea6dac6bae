"""A small app for the ops end-to-end test and for trying the local stack.

It configures otel-agentkit with the standalone Prometheus ``/metrics`` server
and drives simulated agent requests through the otel-agentkit APIs that exist,
so a real Prometheus can scrape it and every dashboard panel and recording
rule can be queried against what the code really emits. It never records a
metric by name through the raw OpenTelemetry API: each metric it produces
comes from an otel-agentkit feature.

    python examples/ops_app.py --port 9464          # then: docker compose -f deploy/... up
    python examples/ops_app.py --port 0             # any free port (the test does this)

Prints ``{"port": N, "metrics_url": ...}`` on one line once it is ready
(``/metrics`` up and every feature driven at least once), then serves until
interrupted. Spans go wherever ``OTEL_EXPORTER_OTLP_ENDPOINT`` says, if set.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

import otel_agentkit
from otel_agentkit import metrics as counters
from otel_agentkit.context import request_id
from otel_agentkit.decorators import (
    GuardrailDecision,
    GuardrailViolation,
    traced_agent,
    traced_guardrail,
    traced_tool,
    traced_workflow,
)
from otel_agentkit.health import CheckResult, HealthRegistry

Driver = Callable[[int], None]
#: Requests handled before the app says it is ready.
WARM_UP_REQUESTS = 4


def _decorator_driver() -> Driver:
    """Agent work through the decorators and counters (issue 3)."""

    @traced_tool(name="web_search")
    def web_search(query: str) -> str:
        return f"results for {query}"

    @traced_tool(name="flaky_api")
    def flaky_api(number: int) -> str:
        if number % 4 == 0:
            raise TimeoutError("upstream timed out")
        return "ok"

    @traced_guardrail(name="no_secrets")
    def no_secrets(text: str) -> Any:
        if "secret" in text:
            raise GuardrailViolation("secret in request", guardrail="no_secrets")
        return GuardrailDecision.allow()

    @traced_agent(name="planner")
    def planner(number: int) -> str:
        web_search("weather in Lisbon")
        with contextlib.suppress(TimeoutError):  # the failure is on the tool's span and metric
            flaky_api(number)
        return "plan"

    @traced_workflow(name="handle_request")
    def workflow(number: int) -> None:
        try:
            no_secrets("my secret" if number % 5 == 0 else "plan a trip")
        except GuardrailViolation:
            counters.record_notification("slack", "failed")
            return
        planner(number)
        counters.record_notification("email", "sent")

    def drive(number: int) -> None:
        workflow(number)
        if number % 10 == 0:
            counters.record_scheduler_trigger("nightly-digest")
        if number % 3 == 0:
            counters.record_rate_limit_exceeded("/chat")

    return drive


def _health_driver() -> Driver:
    """Health checks (issue 7): one passing, one failing."""

    health = HealthRegistry(default_ttl=0.5, default_timeout=1.0)
    health.add("model-server", lambda: CheckResult.ok("3 models"))
    health.add("vector-store", lambda: CheckResult.error("connection refused"), critical=False)

    def drive(number: int) -> None:
        if number % 10 == 0:
            health.run_sync()

    return drive


def _vector_driver() -> Driver:
    """Vector-store queries: a real in-memory Chroma collection, instrumented.

    The collection is given explicit embeddings (Chroma's default embedding
    function would download a model). Every request runs one similarity query;
    every 17th queries a collection deleted at startup (the error series).
    """
    import chromadb
    from chromadb.config import Settings

    client = chromadb.EphemeralClient(settings=Settings(anonymized_telemetry=False))
    docs = client.get_or_create_collection("ops-docs", embedding_function=None)
    docs.upsert(
        ids=["lisbon", "porto", "faro"],
        embeddings=[[1.0, 0.0], [0.0, 1.0], [0.7, 0.7]],
        documents=["Lisbon weather", "Porto weather", "Faro weather"],
    )
    gone = client.get_or_create_collection("ops-gone", embedding_function=None)
    client.delete_collection("ops-gone")
    otel_agentkit.instrument("chromadb")

    def drive(number: int) -> None:
        if number % 17 == 0:
            with contextlib.suppress(chromadb.errors.NotFoundError):
                gone.query(query_embeddings=[[1.0, 0.0]], n_results=1)
            return
        docs.query(query_embeddings=[[1.0, number % 5 / 5]], n_results=2)

    return drive


def _web_driver() -> Driver:
    """HTTP traffic (issue 6): a Flask app with ``instrument_app`` on a real local server.

    Every simulated request also goes over HTTP to this server: most answer
    200, every 7th 503 and every 11th hits an unknown path (404), so the
    request, error and latency panels have something to show. The middleware
    also registers the process metrics.
    """
    import flask
    from werkzeug.serving import make_server

    from otel_agentkit.web.flask import instrument_app

    app = flask.Flask("ops-app")

    @app.get("/chat")
    def chat() -> Any:
        number = int(flask.request.args.get("n", "0"))
        if number % 7 == 0:
            flask.abort(503)
        return {"answer": "ok"}

    instrument_app(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"

    def drive(number: int) -> None:
        path = "/nowhere" if number % 11 == 0 else f"/chat?n={number}"
        try:
            with urllib.request.urlopen(base + path, timeout=5) as response:  # noqa: S310
                response.read()
        except urllib.error.HTTPError as exc:  # 4xx/5xx are part of the traffic
            exc.read()

    return drive


def _llm_driver() -> Driver:
    """LLM calls (issue 4): the real openai client, instrumented, against a local server."""
    import openai

    from otel_agentkit.pricing import ModelPrice, set_model_prices
    from otel_agentkit.testing import FakeModelServer

    # Made-up prices for the local model: the "estimated cost" panel reads agentkit.llm.cost.usd.
    set_model_prices({"ops-model": ModelPrice(input_per_million=0.15, output_per_million=0.60)})
    otel_agentkit.instrument("openai")
    # A local OpenAI-compatible server (as vLLM or NIM would be) serving one model:
    # the model "missing" gets 404, like a real server's unknown model.
    server = FakeModelServer(models=["ops-model"]).start()
    client = openai.OpenAI(base_url=server.base_url, api_key="ops-demo-key", max_retries=0)
    messages = [{"role": "user", "content": "Weather in Lisbon?"}]

    @traced_agent(name="assistant")  # odd requests' calls: tokens and cost by agent
    def assistant(number: int) -> None:
        call(number)

    def drive(number: int) -> None:
        if number % 2:
            assistant(number)
        else:
            call(number)

    def call(number: int) -> None:
        model = "missing" if number % 13 == 0 else "ops-model"
        try:
            if number % 3 == 0:
                stream = client.chat.completions.create(
                    model=model,
                    messages=messages,
                    stream=True,
                    stream_options={"include_usage": True},
                )
                for _ in stream:
                    pass
            else:
                client.chat.completions.create(model=model, messages=messages)
        except openai.NotFoundError:  # part of the traffic: the LLM error-rate panel
            pass

    return drive


def drivers() -> list[Driver]:
    """Every feature, each driven through its public API.

    The ops end-to-end test lists the metric families of features not driven
    here yet in its ``NOT_YET_EMITTED`` set; every feature that emits a
    dashboard metric is driven now.
    """
    return [_decorator_driver(), _health_driver(), _web_driver(), _llm_driver(), _vector_driver()]


def handle_request(number: int, active: list[Driver]) -> None:
    """One simulated agent request, under its own request id."""
    with request_id(f"ops-{number}-{uuid.uuid4().hex[:8]}"):
        for drive in active:
            drive(number)


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
    active = drivers()
    # Ready means every feature has recorded, the error paths too: request 0 takes
    # them all (every modulus above divides 0), the requests after it the normal ones.
    for number in range(WARM_UP_REQUESTS):
        handle_request(number, active)
    print(
        json.dumps({"port": telemetry.prometheus_port, "metrics_url": telemetry.prometheus_url}),
        flush=True,
    )
    number = WARM_UP_REQUESTS
    try:
        while not stop.wait(args.interval):
            handle_request(number, active)
            number += 1
    except KeyboardInterrupt:
        pass
    finally:
        otel_agentkit.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
