"""Replay recorded Bedrock traffic through real boto3 ``bedrock-runtime`` clients.

A ``before-send`` handler (botocore's own hook for answering a request
instead of the network) answers each request with the recorded response for
the same method and URL, as a real ``urllib3.HTTPResponse`` over the recorded
bytes. Everything else is botocore's: it signs, sends through its endpoint,
parses the JSON, decodes AWS event-stream frames (stored as bytes in the
recordings) and raises for error responses exactly as against the service.

Self-written fixtures (tests/fixtures/bedrock) may give a streamed body as a
readable list of ``events`` (``{event: name, payload: {...}}``, or
``{exception: name, payload: {...}}`` for an in-stream error; an ``chunk``
event's ``model_json`` is the model's own JSON, base64-encoded into
``payload.bytes`` as Bedrock sends it); :func:`event_frames` encodes them.
"""

from __future__ import annotations

import base64
import io
import json
import struct
import zlib
from collections import defaultdict, deque
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import boto3
import yaml
from botocore.awsrequest import AWSResponse
from botocore.eventstream import EventStreamBuffer
from urllib3 import HTTPResponse

FIXTURES_DIR = Path(__file__).parent / "fixtures" / "bedrock"
REGION = "us-east-1"
ENDPOINT = f"bedrock-runtime.{REGION}.amazonaws.com"
#: The secret key the clients sign with: it must never reach telemetry.
SECRET_KEY = "bedrock-SECRET-key"

#: URL path action -> client method.
_METHODS = {
    "converse": "converse",
    "converse-stream": "converse_stream",
    "invoke": "invoke_model",
    "invoke-with-response-stream": "invoke_model_with_response_stream",
}
#: InvokeModel request header -> keyword argument.
_INVOKE_HEADERS = {
    "x-amzn-bedrock-guardrailidentifier": "guardrailIdentifier",
    "x-amzn-bedrock-guardrailversion": "guardrailVersion",
    "x-amzn-bedrock-trace": "trace",
}


def frame(headers: dict[str, str], payload: bytes) -> bytes:
    """One AWS event-stream message: prelude, string headers, payload, CRC32s."""
    encoded = b"".join(
        bytes([len(name)])
        + name.encode()
        + b"\x07"
        + struct.pack(">H", len(value))
        + value.encode()
        for name, value in headers.items()
    )
    prelude = struct.pack(">II", 16 + len(encoded) + len(payload), len(encoded))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + encoded + payload
    return message + struct.pack(">I", zlib.crc32(message))


def event_frames(events: list[dict[str, Any]]) -> bytes:
    """A fixture's readable events as the binary frames Bedrock streams."""
    frames = []
    for event in events:
        payload = dict(event.get("payload") or {})
        if "model_json" in event:
            payload["bytes"] = base64.b64encode(json.dumps(event["model_json"]).encode()).decode()
        if "exception" in event:
            kind = {":exception-type": event["exception"], ":message-type": "exception"}
        else:
            kind = {":event-type": event["event"], ":message-type": "event"}
        headers = {**kind, ":content-type": "application/json"}
        frames.append(frame(headers, json.dumps(payload).encode()))
    return b"".join(frames)


def _header(value: Any) -> str:
    value = value[0] if isinstance(value, list) else value
    return value.decode() if isinstance(value, bytes) else str(value)


class BedrockCassette:
    """One recorded conversation with Bedrock Runtime (a VCR.py cassette or a fixture)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.interactions: list[dict[str, Any]] = yaml.safe_load(path.read_text())["interactions"]

    # -- what was recorded ------------------------------------------------------------

    def _request(self, index: int) -> dict[str, Any]:
        return self.interactions[index]["request"]  # type: ignore[no-any-return]

    def _path(self, index: int) -> tuple[str, str]:
        """(model id, action) of the recorded URL ``/model/{modelId}/{action}``."""
        path = urlsplit(self._request(index)["uri"]).path
        _, model, action = path.rsplit("/", 2)
        return unquote(model), action

    def model_id(self, index: int = 0) -> str:
        return self._path(index)[0]

    def method(self, index: int = 0) -> str:
        return _METHODS[self._path(index)[1]]

    def request_json(self, index: int = 0) -> dict[str, Any]:
        return json.loads(self._request(index)["body"])  # type: ignore[no-any-return]

    def call_kwargs(self, index: int = 0) -> dict[str, Any]:
        """The keyword arguments of the client method that sends the recorded request."""
        model = self.model_id(index)
        if self.method(index).startswith("converse"):
            return {"modelId": model, **self.request_json(index)}
        kwargs = {"modelId": model, "body": self._request(index)["body"]}
        for name, value in self._request(index)["headers"].items():
            if name.lower() in _INVOKE_HEADERS:
                kwargs[_INVOKE_HEADERS[name.lower()]] = _header(value)
        return kwargs

    def body(self, index: int = 0) -> bytes:
        body = self.interactions[index]["response"]["body"]
        if "events" in body:
            return event_frames(body["events"])
        raw = body["string"]
        return raw if isinstance(raw, bytes) else raw.encode()

    def response_headers(self, index: int = 0) -> dict[str, str]:
        headers = self.interactions[index]["response"]["headers"]
        return {name.lower(): _header(value) for name, value in headers.items()}

    def response_json(self, index: int = 0) -> dict[str, Any]:
        return json.loads(self.body(index))  # type: ignore[no-any-return]

    def events(self, index: int = 0) -> list[dict[str, Any]]:
        """A streamed response's events as ``{event type: JSON}`` (a chunk: the model's JSON)."""
        buffer = EventStreamBuffer()
        buffer.add_data(self.body(index))
        events = []
        for message in buffer:
            kind = message.headers.get(":event-type") or message.headers[":exception-type"]
            payload = json.loads(message.payload)
            if kind == "chunk":
                payload = json.loads(base64.b64decode(payload["bytes"]))
            events.append({kind: payload})
        return events

    # -- replay ---------------------------------------------------------------------------

    def client(self, **kwargs: Any) -> Any:
        """A real ``bedrock-runtime`` client whose requests this recording answers."""
        client = boto3.client(
            "bedrock-runtime",
            region_name=REGION,
            aws_access_key_id="AKIDTEST",
            aws_secret_access_key=SECRET_KEY,
            **kwargs,
        )
        client.meta.events.register("before-send.bedrock-runtime", self.answer)
        return client

    def call(self, client: Any = None, index: int = 0) -> Any:
        """Make the recorded call (with a new client unless one is given)."""
        client = client or self.client()
        return getattr(client, self.method(index))(**self.call_kwargs(index))

    def answer(self, request: Any, **_: Any) -> AWSResponse:
        queue = self._queues().get((request.method, unquote(request.url)))
        if not queue:
            body, status, headers = b'{"message": "no recording"}', 599, {}
        else:
            index = queue.popleft()
            recorded = self.interactions[index]["response"]
            body, status = self.body(index), int(recorded["status"]["code"])
            headers = self.response_headers(index)
        raw = HTTPResponse(
            body=io.BytesIO(body), headers=headers, status=status, preload_content=False
        )
        return AWSResponse(request.url, status, headers, raw)

    def _queues(self) -> dict[tuple[str, str], deque[int]]:
        if not hasattr(self, "_pending"):
            self._pending: dict[tuple[str, str], deque[int]] = defaultdict(deque)
            for index, interaction in enumerate(self.interactions):
                request = interaction["request"]
                self._pending[(request["method"], unquote(request["uri"]))].append(index)
        return self._pending


def fixture_cassette(name: str) -> BedrockCassette:
    """A small self-written recording under tests/fixtures/bedrock (always present)."""
    return BedrockCassette(FIXTURES_DIR / name)
