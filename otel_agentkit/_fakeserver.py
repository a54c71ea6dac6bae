"""An OpenAI-compatible model server on 127.0.0.1, for testing agents offline.

Public as :class:`otel_agentkit.testing.FakeModelServer` (and ``otel-agentkit
fake-llm`` on the command line). It speaks HTTP/1.1 with keep-alive, answers
``POST /v1/chat/completions``, ``POST /v1/responses`` (both with and without
``stream``), ``POST /v1/embeddings`` and ``GET /v1/models``, and takes its
replies from :mod:`otel_agentkit._fakemodel`. Built on the standard library's
``http.server``; it imports nothing else.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Final

from otel_agentkit import _fakemodel
from otel_agentkit._fakemodel import (
    DEFAULT_EMBEDDING_MODEL,
    DEFAULT_MODEL,
    Answer,
    Failure,
    Reply,
    ToolCall,
)

__all__ = ["FakeModelServer", "RecordedRequest"]

_ENDPOINTS: Final = {
    "/v1/chat/completions": "chat",
    "/v1/responses": "responses",
    "/v1/embeddings": "embeddings",
}
_FAILING_ENDPOINTS: Final = frozenset({*_ENDPOINTS.values(), "models"})
#: How long an idle keep-alive connection is kept open.
_IDLE_TIMEOUT_S: Final = 30.0


@dataclass(frozen=True)
class RecordedRequest:
    """One request the server received: method, path, headers (lower-case names), JSON body."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: Any


class _StoppingError(Exception):
    """The server is stopping: abandon the answer."""


class FakeModelServer:
    """An OpenAI-compatible model server on 127.0.0.1, in a background thread.

    ::

        from otel_agentkit.testing import FakeModelServer, ToolCall

        with FakeModelServer() as server:
            client = openai.OpenAI(base_url=server.base_url, api_key="test")
            server.reply_next(ToolCall("get_weather", {"city": "Lisbon"}))
            server.fail_next(429)

    Replies are deterministic (see :mod:`otel_agentkit._fakemodel` for the
    rules): the same request gets the same reply and token counts. ``latency``
    (seconds before each answer starts) and ``chunk_latency`` (seconds between
    streamed events) can be changed at any time.

    Args:
        host: address to listen on (default 127.0.0.1).
        port: port to listen on (default 0: a free port; see :attr:`port`).
        latency: seconds to wait before answering each request.
        chunk_latency: seconds to wait before each streamed event.
        models: the models it serves; a request naming another gets 404
            ``model_not_found``. Default: any model is accepted.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        chunk_latency: float = 0.0,
        models: Sequence[str] | None = None,
    ) -> None:
        self.host = host
        self.latency = latency
        self.chunk_latency = chunk_latency
        self.models: tuple[str, ...] | None = None if models is None else tuple(models)
        self._requested_port = port
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._replies: deque[Reply] = deque()
        self._failures: deque[tuple[Failure, str | None]] = deque()
        self._requests: list[RecordedRequest] = []
        self._number = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()

    # -- lifecycle ------------------------------------------------------------

    def start(self) -> FakeModelServer:
        """Start listening and serving in a daemon thread; returns the server."""
        if self._server is not None:
            return self
        self._stopping.clear()
        server = ThreadingHTTPServer((self.host, self._requested_port), _handler_for(self))
        server.daemon_threads = True
        server.block_on_close = False
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="agentkit-fake-model-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close every connection. Idempotent."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> FakeModelServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- where it listens -------------------------------------------------------

    @property
    def port(self) -> int:
        """The port it listens on (after :meth:`start`)."""
        if self._server is None:
            raise RuntimeError("the fake model server is not running; call start() first")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """``http://host:port`` of the running server."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The ``/v1`` URL to give an OpenAI client (``base_url=``, ``OPENAI_BASE_URL``)."""
        return self.url + "/v1"

    # -- scripting ----------------------------------------------------------------

    def reply_next(self, *replies: str | ToolCall | Sequence[ToolCall] | Reply) -> None:
        """Queue replies for the next chat or responses requests, in order.

        Each is text, a :class:`ToolCall`, a list of them (parallel calls) or a
        :class:`Reply`. When the queue is empty the deterministic rules apply.
        """
        with self._lock:
            self._replies.extend(Reply.of(r) for r in replies)

    def fail_next(
        self,
        status: int = 500,
        *,
        times: int = 1,
        message: str | None = None,
        retry_after: float | None = None,
        endpoint: str | None = None,
    ) -> None:
        """Answer the next ``times`` requests with HTTP ``status`` and an OpenAI error body.

        ``endpoint`` (``"chat"``, ``"responses"``, ``"embeddings"`` or
        ``"models"``) restricts the failure to requests to that API; other
        requests are answered normally meanwhile.
        """
        if endpoint is not None and endpoint not in _FAILING_ENDPOINTS:
            raise ValueError(f"endpoint must be one of {sorted(_FAILING_ENDPOINTS)}")
        failure = Failure(status, message, retry_after)
        with self._lock:
            self._failures.extend([(failure, endpoint)] * times)

    def reset(self) -> None:
        """Forget queued replies and failures and the recorded requests."""
        with self._lock:
            self._replies.clear()
            self._failures.clear()
            self._requests.clear()

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    # -- answering (called from the handler threads) -----------------------------

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _take_failure(self, endpoint: str | None) -> Failure | None:
        with self._lock:
            for index, (failure, only) in enumerate(self._failures):
                if only is None or only == endpoint:
                    del self._failures[index]
                    return failure
        return None

    def _next_number(self) -> int:
        with self._lock:
            self._number += 1
            return self._number

    def _take_reply(self) -> Reply | None:
        with self._lock:
            return self._replies.popleft() if self._replies else None

    def _unknown_model(self, model: str) -> Failure | None:
        if self.models is None or model in self.models:
            return None
        return Failure(404, f"The model `{model}` does not exist or you do not have access to it.")

    def _wait(self, seconds: float) -> None:
        if seconds > 0 and self._stopping.wait(seconds):
            raise _StoppingError

    def _model_list(self) -> dict[str, Any]:
        names = self.models or (DEFAULT_MODEL, DEFAULT_EMBEDDING_MODEL)
        return {
            "object": "list",
            "data": [
                {"id": n, "object": "model", "created": _fakemodel.CREATED, "owned_by": "fake"}
                for n in names
            ],
        }


def _sse(events: Iterable[Mapping[str, Any]], *, named: bool) -> Iterator[bytes]:
    for event in events:
        head = f"event: {event['type']}\n" if named else ""
        yield f"{head}data: {json.dumps(event)}\n\n".encode()
    if not named:
        yield b"data: [DONE]\n\n"


def _handler_for(owner: FakeModelServer) -> type[BaseHTTPRequestHandler]:
    """A request handler class bound to ``owner``."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "agentkit-fake-model"
        timeout = _IDLE_TIMEOUT_S

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in separate writes: without this, Nagle's
            # algorithm and delayed ACKs add ~40 ms to every keep-alive answer.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with owner._lock:
                owner._connections.add(self.connection)

        def finish(self) -> None:
            with owner._lock:
                owner._connections.discard(self.connection)
            with contextlib.suppress(OSError):  # the client went away mid-answer
                super().finish()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # a test server: no access log on stderr

        # -- responses --------------------------------------------------------

        def _json(self, status: int, payload: Any, headers: Mapping[str, str] = {}) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _stream(self, chunks: Iterable[bytes]) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for chunk in chunks:
                owner._wait(owner.chunk_latency)
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")

        def _fail(self, failure: Failure) -> None:
            self._json(failure.status, failure.body(), failure.headers())

        # -- methods ----------------------------------------------------------

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0].rstrip("/")
            owner._record(RecordedRequest("GET", path, self._headers(), None))
            try:
                owner._wait(owner.latency)
            except _StoppingError:
                return
            if path != "/v1/models":
                self._fail(Failure(404, f"Unknown path {path}"))
            elif (failure := owner._take_failure("models")) is not None:
                self._fail(failure)
            else:
                self._json(200, owner._model_list())

        def do_POST(self) -> None:
            path = self.path.split("?", 1)[0].rstrip("/")
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = None
            owner._record(RecordedRequest("POST", path, self._headers(), body))
            endpoint = _ENDPOINTS.get(path)
            try:
                owner._wait(owner.latency)
                if endpoint is None:
                    self._fail(Failure(404, f"Unknown path {path}"))
                elif not isinstance(body, dict) or not isinstance(body.get("model"), str):
                    self._fail(Failure(400, "The body must be a JSON object with a 'model'."))
                else:
                    failure = owner._take_failure(endpoint) or owner._unknown_model(body["model"])
                    if failure is not None:
                        self._fail(failure)
                    else:
                        self._answer(endpoint, body)
            except (_StoppingError, ConnectionError):
                self.close_connection = True

        def _headers(self) -> dict[str, str]:
            return {k.lower(): v for k, v in self.headers.items()}

        def _answer(self, endpoint: str, body: dict[str, Any]) -> None:
            model: str = body["model"]
            if endpoint == "embeddings":
                owner._next_number()
                self._json(200, _fakemodel.embeddings(body, model))
                return
            chat = endpoint == "chat"
            conv = _fakemodel.read_chat(body) if chat else _fakemodel.read_responses(body)
            reply = owner._take_reply() or _fakemodel.choose_reply(conv)
            answer = Answer.build(owner._next_number(), model, reply, conv)
            streaming = body.get("stream") is True
            if chat:
                n = body.get("n")
                choices = n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else 1
                if not streaming:
                    self._json(200, answer.chat_completion(choices))
                    return
                options = body.get("stream_options")
                usage = isinstance(options, dict) and options.get("include_usage") is True
                self._stream(_sse(answer.chat_chunks(choices, usage), named=False))
            elif streaming:
                self._stream(_sse(answer.response_events(body), named=True))
            else:
                self._json(200, answer.response(body))

    return Handler
