"""Replay recorded Ollama traffic through the real ollama client.

:class:`OllamaCassette` is the OpenAI helpers' :class:`~tests.openai_helpers.Cassette`
(VCR YAML, a ``httpx.MockTransport`` that answers each request with the
recorded response for the same method and URL) plus what the ollama client
needs: ``ollama.Client(host, **kwargs)`` hands its extra keyword arguments to
``httpx.Client``, so ``transport=`` plugs the recording in under the client's
own HTTP stack. Nothing else is mocked: the ollama client builds, sends,
parses and streams (NDJSON) exactly as against a server.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import httpx
import ollama

from tests.openai_helpers import Cassette

HOST = "http://127.0.0.1:11434"
#: The Authorization header tests build clients with: it must never reach telemetry.
SECRET_TOKEN = "Bearer ollama-SECRET-token"

FIXTURES_DIR = Path(__file__).parent / "fixtures" / "ollama"

_PATH_METHOD = {
    "/api/chat": "chat",
    "/api/generate": "generate",
    "/api/embed": "embed",
    "/api/embeddings": "embeddings",
}


class OllamaCassette(Cassette):
    """One recorded conversation with an Ollama server."""

    def method(self, index: int = 0) -> str:
        """The client method that makes the recorded request (``chat``, ``generate``...)."""
        uri = self.interactions[index]["request"]["uri"]
        return _PATH_METHOD[httpx.URL(uri).path]

    def call_kwargs(self, index: int = 0) -> dict[str, Any]:
        """The recorded request body as keyword arguments of the client method.

        Older clients sent defaults (``"format": ""``, ``"keep_alive": null``,
        ``"system": ""``); those are dropped, as today's client would not send them.
        """
        params = inspect.signature(getattr(ollama.Client, self.method(index))).parameters
        return {
            key: value
            for key, value in self.request_json(index).items()
            if key in params and value not in (None, "", [], {}) and key != "raw"
        }

    def stream_lines(self, index: int = 0) -> list[dict[str, Any]]:
        """The JSON objects of a recorded NDJSON (streamed) body."""
        return [json.loads(line) for line in self.response_text(index).splitlines() if line]

    def final(self, index: int = 0) -> dict[str, Any]:
        """The recorded response, or the last (``done``) line of a streamed one."""
        lines = self.stream_lines(index)
        return lines[-1]

    def client(self, **kwargs: Any) -> ollama.Client:  # type: ignore[override]
        return ollama.Client(
            host=kwargs.pop("host", HOST),
            headers={"Authorization": SECRET_TOKEN},
            transport=self.transport(),
            **kwargs,
        )

    def async_client(self, **kwargs: Any) -> ollama.AsyncClient:  # type: ignore[override]
        return ollama.AsyncClient(
            host=kwargs.pop("host", HOST),
            headers={"Authorization": SECRET_TOKEN},
            transport=self.transport(),
            **kwargs,
        )


def fixture_cassette(name: str) -> OllamaCassette:
    """A small self-written recording under tests/fixtures/ollama (always present)."""
    return OllamaCassette(FIXTURES_DIR / name)
