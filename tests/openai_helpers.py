"""Replay recorded OpenAI traffic through the real openai client.

A :class:`Cassette` reads a VCR.py YAML file; :meth:`Cassette.transport` is an
``httpx.MockTransport`` (the openai client's own transport hook, accepted as
``http_client`` by openai 1.x, 2.x and 3.x) that answers each request with the
recorded response for the same method and URL, in recorded order. Nothing
else is mocked: the openai client builds, sends, retries (off), parses and
streams exactly as it does against the network.
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from pathlib import Path
from typing import Any

import httpx
import openai
import yaml

#: What tests use as the API key: it must never appear in any telemetry.
SECRET_KEY = "sk-test-SECRET"
BASE_URL = "https://api.openai.com/v1"

FIXTURES_DIR = Path(__file__).parent / "fixtures" / "openai"

_DROP_HEADERS = {"content-length", "transfer-encoding", "content-encoding", "connection"}


class Cassette:
    """One recorded conversation with the API."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.interactions: list[dict[str, Any]] = yaml.safe_load(path.read_text())["interactions"]
        self.served: list[httpx.Request] = []

    # -- what was recorded -------------------------------------------------------

    def request_json(self, index: int = 0) -> dict[str, Any]:
        body = self.interactions[index]["request"]["body"]
        return json.loads(body) if body else {}

    def response_text(self, index: int = 0) -> str:
        body = self.interactions[index]["response"]["body"]["string"]
        if isinstance(body, bytes):
            import gzip

            try:
                return gzip.decompress(body).decode()
            except OSError:
                return body.decode()
        return str(body)

    def response_json(self, index: int = 0) -> dict[str, Any]:
        return json.loads(self.response_text(index))  # type: ignore[no-any-return]

    def stream_events(self, index: int = 0) -> list[dict[str, Any]]:
        """The JSON payloads of a recorded server-sent-event body (no ``[DONE]``)."""
        events = []
        for line in self.response_text(index).splitlines():
            if line.startswith("data: ") and not line.startswith("data: [DONE]"):
                events.append(json.loads(line[len("data: ") :]))
        return events

    def status(self, index: int = 0) -> int:
        return int(self.interactions[index]["response"]["status"]["code"])

    # -- replay ----------------------------------------------------------------------

    def transport(self, http: Any = httpx) -> Any:
        """A ``MockTransport`` of ``http``: ``httpx``, or ``httpx2`` (openai 3.x's own stack)."""
        queues: dict[tuple[str, str], deque[dict[str, Any]]] = defaultdict(deque)
        for interaction in self.interactions:
            request = interaction["request"]
            queues[(request["method"], request["uri"])].append(interaction["response"])

        def handle(request: Any) -> Any:
            self.served.append(request)
            key = (request.method, str(request.url))
            if not queues.get(key):
                return http.Response(599, json={"error": {"message": f"no recording for {key}"}})
            recorded = queues[key].popleft()
            body = recorded["body"]["string"]
            headers = [
                (name, value)
                for name, values in recorded["headers"].items()
                for value in (values if isinstance(values, list) else [values])
                if name.lower() not in _DROP_HEADERS
            ]
            if isinstance(body, bytes):
                # gzip-compressed recording: serve it compressed, as the server did.
                headers += [
                    (name, value)
                    for name, values in recorded["headers"].items()
                    for value in (values if isinstance(values, list) else [values])
                    if name.lower() == "content-encoding"
                ]
                content = body
            else:
                content = body.encode()
            return http.Response(recorded["status"]["code"], headers=headers, content=content)

        return http.MockTransport(handle)

    def client(self, **kwargs: Any) -> openai.OpenAI:
        return openai.OpenAI(
            api_key=SECRET_KEY,
            base_url=kwargs.pop("base_url", BASE_URL),
            http_client=httpx.Client(transport=self.transport()),
            max_retries=0,
            **kwargs,
        )

    def native_client(self) -> openai.OpenAI:
        """A client on openai 3.x's own HTTP stack (``httpx2``)."""
        import httpx2

        return openai.OpenAI(
            api_key=SECRET_KEY,
            base_url=BASE_URL,
            http_client=httpx2.Client(transport=self.transport(httpx2)),
            max_retries=0,
        )

    def async_client(self, **kwargs: Any) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(
            api_key=SECRET_KEY,
            base_url=kwargs.pop("base_url", BASE_URL),
            http_client=httpx.AsyncClient(transport=self.transport()),
            max_retries=0,
            **kwargs,
        )


def request_kwargs(cassette: Cassette, index: int = 0) -> dict[str, Any]:
    """The recorded request body as keyword arguments for the client method."""
    return dict(cassette.request_json(index))


def sse_body(chunks: list[dict[str, Any]]) -> bytes:
    """A chat-completions event-stream body from chunk payloads."""
    return "".join(f"data: {json.dumps(c)}\n\n" for c in chunks).encode() + b"data: [DONE]\n\n"


def fixture_cassette(name: str) -> Cassette:
    """A small self-written recording under tests/fixtures/openai (always present)."""
    return Cassette(FIXTURES_DIR / name)
