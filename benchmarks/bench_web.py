"""Per-request cost of ``instrument_app`` against the same app uninstrumented and
with only the official OpenTelemetry instrumentation, measured in one run.

Flask through its test client and FastAPI through httpx's ASGI transport, with
in-memory exporters, so the numbers are framework + instrumentation overhead,
not network. The request events are off (``otel_agentkit.http`` below INFO),
as with a default logging setup.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from benchmarks._timing import per_call, table

NUMBER = 1_000
REPEAT = 5


def _flask_app(mode: str) -> Any:
    import flask

    app = flask.Flask(f"bench-{mode}")

    @app.post("/ask/<int:n>")
    def ask(n: int) -> Any:
        return {"n": n}

    if mode == "official":
        from opentelemetry.instrumentation.flask import FlaskInstrumentor

        FlaskInstrumentor.instrument_app(app)
    elif mode == "agentkit":
        from otel_agentkit.web.flask import instrument_app

        instrument_app(app)
    return app


def _fastapi_app(mode: str) -> Any:
    from fastapi import FastAPI

    app = FastAPI()

    @app.post("/ask/{n}")
    async def ask(n: int) -> dict[str, int]:
        return {"n": n}

    if mode == "official":
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(app)
    elif mode == "agentkit":
        from otel_agentkit.web.fastapi import instrument_app

        instrument_app(app)
    return app


def _flask_call(app: Any) -> Callable[[], object]:
    client = app.test_client()
    headers = {"X-Request-ID": "bench-1"}
    return lambda: client.post("/ask/1", json={"q": "x"}, headers=headers)


def _fastapi_timing(app: Any) -> float:
    import httpx

    async def run() -> float:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://b") as client:
            headers = {"X-Request-ID": "bench-1"}
            loop = asyncio.get_running_loop()
            for _ in range(100):
                await client.post("/ask/1", json={"q": "x"}, headers=headers)
            best = float("inf")
            for _ in range(REPEAT):
                start = loop.time()
                for _ in range(NUMBER):
                    await client.post("/ask/1", json={"q": "x"}, headers=headers)
                best = min(best, (loop.time() - start) / NUMBER)
            return best

    return asyncio.run(run())


def main() -> None:
    from contextlib import nullcontext

    from otel_agentkit.testing import capture_telemetry

    rows = []
    for framework in ("flask", "fastapi"):
        results: dict[str, float] = {}
        for mode in ("plain", "official", "agentkit"):
            # "plain" runs with no providers: recent FastAPI has native telemetry
            # that turns itself on as soon as global providers exist.
            with nullcontext() if mode == "plain" else capture_telemetry():
                if framework == "flask":
                    app = _flask_app(mode)
                    results[mode] = per_call(_flask_call(app), number=NUMBER, repeat=REPEAT)
                else:
                    results[mode] = _fastapi_timing(_fastapi_app(mode))
        base, official = results["plain"], results["official"]
        for mode, seconds in results.items():
            rows.append(
                (
                    framework,
                    mode,
                    f"{seconds * 1e6:.0f}",
                    f"{seconds / base:.2f}x",
                    f"{seconds / official:.2f}x",
                )
            )
    print(
        table(
            "web: per-request cost (µs) vs. uninstrumented and vs. official instrumentation only",
            ["framework", "mode", "µs/request", "vs plain", "vs official"],
            rows,
        )
    )


if __name__ == "__main__":
    main()
