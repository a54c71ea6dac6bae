"""Real local HTTP servers and small utilities for the health check tests."""

from __future__ import annotations

import importlib
import json
import os
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType
from typing import Any

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_module(name: str) -> ModuleType:
    """Import a library a test needs: skip locally when missing, fail under CI=true."""
    if IN_CI:
        return importlib.import_module(name)
    return pytest.importorskip(name)


@dataclass
class Route:
    """What the server answers on one path."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    #: Seconds to wait before answering (interrupted when the server stops).
    delay: float = 0.0
    #: Extra response headers (e.g. Location for a redirect).
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, payload: Any, *, status: int = 200, delay: float = 0.0) -> Route:
        return cls(status, json.dumps(payload).encode(), "application/json", delay)

    @classmethod
    def redirect(cls, location: str) -> Route:
        return cls(302, b"", "text/plain", headers={"Location": location})


@dataclass
class LocalServer:
    """A real HTTP server on 127.0.0.1 in a thread, standing in for Ollama, vLLM, ...

    Counts hits per path and keeps the request headers it saw.
    """

    routes: dict[str, Route] = field(default_factory=dict)
    hits: Counter[str] = field(default_factory=Counter)
    headers: list[dict[str, str]] = field(default_factory=list)
    port: int = 0
    _stopping: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LocalServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                with owner._lock:
                    owner.hits[path] += 1
                    owner.headers.append({k.lower(): v for k, v in self.headers.items()})
                    route = owner.routes.get(path)
                if route is None:
                    self.send_error(404)
                    return
                if route.delay and owner._stopping.wait(route.delay):
                    return
                try:
                    self.send_response(route.status)
                    self.send_header("Content-Type", route.content_type)
                    self.send_header("Content-Length", str(len(route.body)))
                    for name, value in route.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(route.body)
                except OSError:  # the client gave up (timeout) before we answered
                    pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.block_on_close = False  # slow handlers must not hold up stop()
        self._server = server
        self.port = int(server.server_address[1])
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def total_hits(self) -> int:
        with self._lock:
            return sum(self.hits.values())


@contextmanager
def local_server(routes: dict[str, Route] | None = None) -> Iterator[LocalServer]:
    server = LocalServer(routes=dict(routes or {})).start()
    try:
        yield server
    finally:
        server.stop()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


#: What Ollama's GET /api/tags returns (shape from Ollama's API docs).
OLLAMA_TAGS: dict[str, Any] = {
    "models": [
        {
            "name": "llama3:latest",
            "model": "llama3:latest",
            "modified_at": "2024-05-01T10:00:00Z",
            "size": 4661224676,
            "digest": "365c0bd3c000a25d28ddbf732fe1c6add414de7275464c4e4d1c3b5fcb5d8ad1",
            "details": {"format": "gguf", "family": "llama", "parameter_size": "8.0B"},
        },
        {
            "name": "nomic-embed-text:v1.5",
            "model": "nomic-embed-text:v1.5",
            "modified_at": "2024-05-01T10:00:00Z",
            "size": 274302450,
            "digest": "0a109f422b47e3a30ba2b10eca18548e944e8a23073ee3f3e947efcf3c45e59f",
            "details": {"format": "gguf", "family": "nomic-bert", "parameter_size": "137M"},
        },
    ]
}

#: The models of the NIM the OpenAI-compatible checks talk to (a FakeModelServer).
NIM_MODELS: tuple[str, ...] = ("meta/llama-3.1-8b-instruct", "nvidia/nv-embedqa-e5-v5")
