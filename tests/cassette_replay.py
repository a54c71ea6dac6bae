"""Replay VCR.py cassettes (recorded HTTP traffic) through a client's own transport.

:class:`Cassette` reads a VCR.py YAML file; :meth:`Cassette.transport` is a
``MockTransport`` of ``httpx`` or ``httpx2`` that answers each request with the
recorded response for the same method and URL, in recorded order (gzip bodies
served compressed, as the server sent them). Provider helpers
(``tests/openai_helpers.py``, ``tests/anthropic_helpers.py``) add clients.
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from pathlib import Path
from typing import Any

import httpx
import yaml

_DROP_HEADERS = {"content-length", "transfer-encoding", "content-encoding", "connection"}


class Cassette:
    """One recorded conversation with the API."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.interactions: list[dict[str, Any]] = yaml.safe_load(path.read_text())["interactions"]
        self.served: list[Any] = []  # httpx or httpx2 requests

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

    def normalise_url(self, url: str) -> str:
        """How a recorded and a sent URL are compared (as they are, unless a subclass says)."""
        return url

    def transport(self, http: Any = httpx) -> Any:
        """A ``MockTransport`` of ``http``: ``httpx``, or ``httpx2`` (openai 3.x's own stack)."""
        queues: dict[tuple[str, str], deque[dict[str, Any]]] = defaultdict(deque)
        for interaction in self.interactions:
            request = interaction["request"]
            queues[(request["method"], self.normalise_url(request["uri"]))].append(
                interaction["response"]
            )

        def handle(request: Any) -> Any:
            self.served.append(request)
            key = (request.method, self.normalise_url(str(request.url)))
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
