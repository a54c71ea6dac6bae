"""Apps the end-to-end web test runs under uvicorn and gunicorn (subprocesses).

``GET /work?delay=S`` sleeps S seconds so the test knows which latency bucket
each request must land in.
"""

from __future__ import annotations

from typing import Any

import otel_agentkit
from otel_agentkit.context import get_request_id


def _configure(service: str, traces_exporter: str | None = "none") -> None:
    otel_agentkit.configure(
        service,
        traces_exporter=traces_exporter,  # None: OTEL_TRACES_EXPORTER decides
        logs_exporter="none",
        metrics_exporter="prometheus",
        prometheus_server=False,  # the app serves /metrics itself
    )


def create_fastapi_app() -> Any:
    import asyncio

    from fastapi import FastAPI

    from otel_agentkit.web.fastapi import instrument_app

    _configure("e2e-fastapi")
    app = FastAPI()

    @app.get("/work")
    async def work(delay: float = 0.0) -> dict[str, Any]:
        if delay:
            await asyncio.sleep(delay)
        return {"ok": True, "request_id": get_request_id()}

    instrument_app(app)
    return app


def create_flask_app() -> Any:
    import time

    import flask

    from otel_agentkit.web.flask import instrument_app

    _configure("e2e-flask")
    app = flask.Flask("e2e")

    @app.get("/work")
    def work() -> Any:
        delay = float(flask.request.args.get("delay", "0"))
        if delay:
            time.sleep(delay)
        return {"ok": True, "request_id": get_request_id()}

    instrument_app(app)
    return app


def create_flask_multiproc_app() -> Any:
    """Flask app for pre-fork workers in multi-process metrics mode.

    The directory comes from ``AGENTKIT_METRICS_MULTIPROC_DIR``; ``GET /pid``
    answers with the worker's pid so the test can see the requests spread.
    """
    import os

    import flask

    from otel_agentkit.web.flask import instrument_app

    # Spans go where OTEL_TRACES_EXPORTER / OTEL_EXPORTER_OTLP_ENDPOINT say (none unset).
    _configure("e2e-flask-multiproc", traces_exporter=None)
    app = flask.Flask("e2e-multiproc")

    @app.get("/pid")
    def pid() -> Any:
        return {"pid": os.getpid()}

    instrument_app(app)
    return app


def create_fastapi_multiproc_app() -> Any:
    """FastAPI twin of :func:`create_flask_multiproc_app` for ``uvicorn --workers N``."""
    import os

    from fastapi import FastAPI

    from otel_agentkit.web.fastapi import instrument_app

    _configure("e2e-fastapi-multiproc")
    app = FastAPI()

    @app.get("/pid")
    async def pid() -> dict[str, Any]:
        return {"pid": os.getpid()}

    instrument_app(app)
    return app
