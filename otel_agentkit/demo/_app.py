"""The demo's web server: a Flask app answering ``POST /ask`` with the agent.

``instrument_app`` gives it server spans, request ids, request logs and
metrics, and mounts ``/metrics`` and ``/health``; werkzeug serves it on
127.0.0.1 in a thread of this process.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import flask
from werkzeug.serving import BaseWSGIServer, make_server

from otel_agentkit.decorators import GuardrailViolation
from otel_agentkit.demo._agent import TravelAgent, check_input
from otel_agentkit.health import HealthRegistry
from otel_agentkit.web.flask import instrument_app

_log = logging.getLogger("agentkit.demo")


def build_app(
    agent: TravelAgent, health: HealthRegistry, model_errors: tuple[type[Exception], ...]
) -> Any:
    """The Flask app; ``model_errors`` are the client's exceptions answered with 502."""
    app = flask.Flask("agentkit-demo")

    @app.post("/ask")
    def ask() -> Any:
        body = flask.request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("question"), str):
            flask.abort(400, "the body must be {'question': '...'}")
        question: str = body["question"]
        try:
            check_input(question)
        except GuardrailViolation as exc:
            _log.info("request blocked by guardrail %s: %s", exc.guardrail, exc.reason)
            return {"error": f"blocked: {exc.reason}"}, 400
        try:
            answer = agent.answer(question, stream=bool(body.get("stream")))
        except model_errors as exc:
            _log.error("the model server failed: %s", type(exc).__name__)
            return {"error": f"the model server failed ({type(exc).__name__})"}, 502
        return {"answer": answer}

    instrument_app(app, health=health)
    return app


class Server:
    """A WSGI app served by werkzeug on 127.0.0.1 from a daemon thread."""

    def __init__(self, app: Any, port: int) -> None:
        self._server: BaseWSGIServer = make_server("127.0.0.1", port, app, threaded=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="agentkit-demo-web", daemon=True
        )

    @property
    def url(self) -> str:
        """``http://127.0.0.1:port`` of the running server."""
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> Server:
        """Serve in the background; returns the server."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
