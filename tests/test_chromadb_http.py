"""ChromaInstrumentor over HTTP: a real Chroma server (``chroma run``) on 127.0.0.1.

The ``chroma`` command ships with the chromadb package; the server runs in a
temporary directory for this module and is stopped at the end.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import chromadb
import pytest
from opentelemetry.trace import StatusCode

from otel_agentkit import semconv
from otel_agentkit.instrumentation.chromadb import ChromaInstrumentor
from otel_agentkit.testing import TelemetryCapture


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def chroma_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
    assert chroma, "the chroma command (from the chromadb package) is not installed"
    port = _free_port()
    path = tmp_path_factory.mktemp("chroma")
    proc = subprocess.Popen(
        [chroma, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("chroma run did not start") from None
                time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def instrumented(agentkit_telemetry: TelemetryCapture) -> Iterator[TelemetryCapture]:
    ChromaInstrumentor().instrument()
    try:
        yield agentkit_telemetry
    finally:
        ChromaInstrumentor().uninstrument()


def test_http_client_names_the_server(instrumented: TelemetryCapture, chroma_port: int) -> None:
    client = chromadb.HttpClient(host="127.0.0.1", port=chroma_port)
    name = f"http-{uuid.uuid4().hex[:8]}"
    col = client.create_collection(name, embedding_function=None)
    col.add(ids=["a", "b"], embeddings=[[1.0, 0.0], [0.0, 1.0]], documents=["x", "y"])
    assert col.query(query_embeddings=[[1.0, 0.0]], n_results=1)["ids"] == [["a"]]
    span = instrumented.span(f"query {name}")
    attrs = dict(span.attributes or {})
    assert attrs[semconv.SERVER_ADDRESS] == "127.0.0.1"
    assert attrs[semconv.SERVER_PORT] == chroma_port
    assert attrs[semconv.DB_NAMESPACE] == "default_database"
    assert attrs[semconv.DB_RESPONSE_RETURNED_ROWS] == 1
    client.delete_collection(name)
    # chromadb 1.x raises NotFoundError; older versions InvalidCollectionException.
    with pytest.raises(Exception) as caught:  # noqa: PT011 - the library's own class, per version
        col.count()
    error_type = type(caught.value).__name__
    if int(chromadb.__version__.split(".")[0]) >= 1:
        assert error_type == "NotFoundError"
    failed = instrumented.span(f"count {name}")
    assert failed.status.status_code is StatusCode.ERROR
    assert (failed.attributes or {})[semconv.ERROR_TYPE] == error_type


def test_async_collection(instrumented: TelemetryCapture, chroma_port: int) -> None:
    name = f"async-{uuid.uuid4().hex[:8]}"

    async def run() -> Any:
        client = await chromadb.AsyncHttpClient(host="127.0.0.1", port=chroma_port)
        col = await client.create_collection(name, embedding_function=None)
        await col.add(ids=["a", "b", "c"], embeddings=[[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
        result = await col.query(query_embeddings=[[1.0, 0.0]], n_results=2)
        await client.delete_collection(name)
        return result

    assert asyncio.run(run())["ids"] == [["a", "c"]]
    assert [s.name for s in instrumented.spans()] == [f"add {name}", f"query {name}"]
    query = dict(instrumented.span(f"query {name}").attributes or {})
    assert query[semconv.GEN_AI_REQUEST_TOP_K] == 2
    assert query[semconv.DB_RESPONSE_RETURNED_ROWS] == 2
    assert query[semconv.SERVER_PORT] == chroma_port
    (point,) = instrumented.metric_points(
        semconv.DB_CLIENT_OPERATION_DURATION, {semconv.DB_OPERATION_NAME: "query"}
    )
    assert point.count == 1
