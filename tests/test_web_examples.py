"""The example agent servers in examples/ run and behave as their docstrings say."""

from __future__ import annotations

import asyncio
import runpy
from pathlib import Path
from typing import Any

import httpx

from otel_agentkit import semconv
from tests.web_helpers import prom_value

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _load(name: str) -> dict[str, Any]:
    # run_name != "__main__": the module builds its app but does not start a server.
    return runpy.run_path(str(EXAMPLES / name), run_name="example")


def test_flask_agent_server() -> None:
    module = _load("flask_agent_server.py")
    client = module["app"].test_client()
    ok = client.post(
        "/chat", json={"message": "hi", "mode": "deep"}, headers={"X-Request-ID": "x1"}
    )
    assert ok.status_code == 200
    assert ok.get_json() == {"reply": "[deep] you said: hi"}
    assert ok.headers["X-Request-ID"] == "x1"
    bad = client.post("/chat", json={"message": "hi", "mode": "psychic"})
    assert bad.status_code == 400
    assert bad.get_json()["request_id"] == bad.headers["X-Request-ID"]
    assert client.post("/chat", json=[1, 2]).status_code == 400
    statuses = [client.post("/chat", json={"message": "m"}).status_code for _ in range(25)]
    assert 429 in statuses
    text = client.get("/metrics").get_data(as_text=True)
    assert (
        prom_value(text, "agentkit_rate_limit_exceeded_total", agentkit_rate_limit_endpoint="/chat")
        >= 1
    )
    assert (
        prom_value(
            text,
            "agentkit_http_requests_total",
            http_route="/chat",
            agent_mode="deep",
            agentkit_http_status_class="2xx",
        )
        == 1
    )
    # the unknown mode and the non-object body
    assert prom_value(text, "agentkit_http_requests_total", agent_mode="invalid") == 2
    assert client.get("/health").get_json() == {"status": "ok"}


def test_fastapi_agent_server() -> None:
    module = _load("fastapi_agent_server.py")
    app = module["app"]

    async def drive() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app, client=("10.0.0.1", 1234))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            first = await client.post(
                "/ask", json={"question": "q", "mode": "quick"}, headers={"X-Request-ID": "f1"}
            )
            bad = await client.post("/ask", json={"question": "q", "mode": "psychic"})
            burst = [await client.post("/ask", json={"question": "q"}) for _ in range(25)]
            scrape = await client.get("/metrics")
            return [first, bad, *burst, scrape]

    responses = asyncio.run(drive())
    first, bad, *burst, scrape = responses
    assert first.json() == {"answer": "[quick] you asked: q"}
    assert first.headers["X-Request-ID"] == "f1"
    assert bad.status_code == 400
    assert bad.json()["error"] == "mode must be one of quick, deep"
    limited = [r for r in burst if r.status_code == 429]
    assert limited
    assert limited[0].headers["Retry-After"] == "1"
    assert limited[0].json()["error"] == "rate limit exceeded"
    text = scrape.text
    assert prom_value(
        text, "agentkit_rate_limit_exceeded_total", agentkit_rate_limit_endpoint="/ask"
    ) == len(limited)
    assert prom_value(text, "agentkit_http_requests_total", agent_mode="invalid") == 1
    assert semconv.prometheus_name(semconv.AGENTKIT_HTTP_ERRORS, suffix="total") in text
