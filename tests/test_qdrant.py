"""QdrantInstrumentor against real in-memory Qdrant clients (``QdrantClient(":memory:")``)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.trace import SpanKind, StatusCode
from qdrant_client import AsyncQdrantClient, QdrantClient, models

from otel_agentkit import instrumentation, semconv
from otel_agentkit.instrumentation import qdrant as qdrant_instrumentation
from otel_agentkit.instrumentation.qdrant import QdrantInstrumentor
from otel_agentkit.testing import TelemetryCapture

#: Skip the server version check on connect (qdrant-client 1.13+; older ones have none).
NO_VERSION_CHECK: dict[str, Any] = (
    {"check_compatibility": False}
    if "check_compatibility" in inspect.signature(QdrantClient.__init__).parameters
    else {}
)

COLLECTION = "docs"
POINTS = [
    models.PointStruct(id=1, vector=[1.0, 0.0, 0.0], payload={"text": "the secret plan"}),
    models.PointStruct(id=2, vector=[0.0, 1.0, 0.0], payload={"text": "a shopping list"}),
    models.PointStruct(id=3, vector=[0.9, 0.1, 0.0], payload={"text": "the secret recipe"}),
]
VECTORS = models.VectorParams(size=3, distance=models.Distance.COSINE)


@pytest.fixture
def client() -> Iterator[QdrantClient]:
    """A fresh in-memory client with one three-point collection, set up before instrumenting."""
    qdrant = QdrantClient(":memory:")
    qdrant.create_collection(COLLECTION, vectors_config=VECTORS)
    qdrant.upsert(COLLECTION, points=POINTS)
    yield qdrant
    qdrant.close()


@pytest.fixture
def instrumented(
    agentkit_telemetry: TelemetryCapture, client: QdrantClient
) -> Iterator[TelemetryCapture]:
    QdrantInstrumentor().instrument()
    try:
        yield agentkit_telemetry
    finally:
        QdrantInstrumentor().uninstrument()


def test_query_points_span(instrumented: TelemetryCapture, client: QdrantClient) -> None:
    # collection name passed positionally, as most callers do
    response = client.query_points(COLLECTION, query=[1.0, 0.0, 0.0], limit=2)
    assert [p.id for p in response.points] == [1, 3]
    span = instrumented.span(f"query_points {COLLECTION}")
    assert span.kind is SpanKind.CLIENT
    assert dict(span.attributes or {}) == {
        semconv.DB_SYSTEM_NAME: semconv.DB_SYSTEM_QDRANT,
        semconv.DB_OPERATION_NAME: "query_points",
        semconv.DB_COLLECTION_NAME: COLLECTION,
        semconv.GEN_AI_REQUEST_TOP_K: 2,
        semconv.DB_RESPONSE_RETURNED_ROWS: 2,
    }


def test_every_operation(instrumented: TelemetryCapture, client: QdrantClient) -> None:
    client.upsert(
        collection_name=COLLECTION,
        points=[models.PointStruct(id=4, vector=[0.0, 0.0, 1.0], payload={})],
    )
    client.query_points(collection_name=COLLECTION, query=[0.0, 0.0, 1.0])  # limit=10
    assert len(client.retrieve(COLLECTION, ids=[1, 2])) == 2
    points, _next = client.scroll(COLLECTION, limit=3)
    assert len(points) == 3
    assert client.count(COLLECTION).count == 4
    batch = client.query_batch_points(
        COLLECTION,
        requests=[
            models.QueryRequest(query=[1.0, 0.0, 0.0], limit=1),
            models.QueryRequest(query=[0.0, 1.0, 0.0], limit=2),
        ],
    )
    assert [len(r.points) for r in batch] == [1, 2]
    client.delete(COLLECTION, points_selector=models.PointIdsList(points=[4]))
    spans = instrumented.spans()
    ops = ["upsert", "query_points", "retrieve", "scroll", "count", "query_batch_points", "delete"]
    assert [s.name for s in spans] == [f"{op} {COLLECTION}" for op in ops]
    attrs = [dict(s.attributes or {}) for s in spans]
    assert [a.get(semconv.DB_RESPONSE_RETURNED_ROWS) for a in attrs] == [
        None,
        4,
        2,
        3,
        None,
        3,
        None,
    ]
    assert [a.get(semconv.GEN_AI_REQUEST_TOP_K) for a in attrs] == [
        None,
        10,
        None,
        None,
        None,
        None,
        None,
    ]


def test_duration_metric(instrumented: TelemetryCapture, client: QdrantClient) -> None:
    client.query_points(COLLECTION, query=[1.0, 0.0, 0.0], limit=1)
    client.query_points(COLLECTION, query=[0.0, 1.0, 0.0], limit=1)
    attrs = {
        semconv.DB_SYSTEM_NAME: semconv.DB_SYSTEM_QDRANT,
        semconv.DB_OPERATION_NAME: "query_points",
        semconv.DB_COLLECTION_NAME: COLLECTION,
    }
    (point,) = instrumented.metric_points(semconv.DB_CLIENT_OPERATION_DURATION)
    assert dict(point.attributes) == attrs
    assert point.count == 2
    assert tuple(point.explicit_bounds) == semconv.DB_DURATION_BUCKETS


def test_error_on_missing_collection(instrumented: TelemetryCapture, client: QdrantClient) -> None:
    with pytest.raises(ValueError, match="not found"):
        client.query_points("missing", query=[1.0, 0.0, 0.0])
    span = instrumented.span("query_points missing")
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})[semconv.ERROR_TYPE] == "ValueError"
    (point,) = instrumented.metric_points(semconv.DB_CLIENT_OPERATION_DURATION)
    assert point.attributes[semconv.ERROR_TYPE] == "ValueError"
    assert point.attributes[semconv.DB_COLLECTION_NAME] == "missing"


def test_no_content_by_default(instrumented: TelemetryCapture, client: QdrantClient) -> None:
    secret_filter = models.Filter(
        must=[models.FieldCondition(key="text", match=models.MatchValue(value="secret plan"))]
    )
    client.query_points(COLLECTION, query=[1.0, 0.0, 0.0], query_filter=secret_filter)
    client.scroll(COLLECTION, scroll_filter=secret_filter)
    spans = instrumented.spans()
    # Every attribute, exactly: nothing else (no db.query.text, no filter) is there.
    assert [(span.name, dict(span.attributes or {})) for span in spans] == [
        (
            f"query_points {COLLECTION}",
            {
                "db.system.name": "qdrant",
                "db.operation.name": "query_points",
                "db.collection.name": COLLECTION,
                "gen_ai.request.top_k": 10,
                "db.response.returned_rows": 0,
            },
        ),
        (
            f"scroll {COLLECTION}",
            {
                "db.system.name": "qdrant",
                "db.operation.name": "scroll",
                "db.collection.name": COLLECTION,
                "db.response.returned_rows": 0,
            },
        ),
    ]


def test_content_with_capture_on(
    agentkit_telemetry: TelemetryCapture, client: QdrantClient
) -> None:
    QdrantInstrumentor().instrument(capture_content=True)
    try:
        client.query_points(
            COLLECTION,
            query=[0.25, 0.5, 0.75],
            query_filter=models.Filter(
                must=[models.FieldCondition(key="text", match=models.MatchValue(value="plan"))]
            ),
        )
        client.retrieve(COLLECTION, ids=[2, 3])
    finally:
        QdrantInstrumentor().uninstrument()
    query = str(
        (agentkit_telemetry.span(f"query_points {COLLECTION}").attributes or {})[
            semconv.DB_QUERY_TEXT
        ]
    )
    assert '"value":"plan"' in query
    assert "0.75" not in query  # vectors never
    retrieve = agentkit_telemetry.span(f"retrieve {COLLECTION}").attributes or {}
    assert retrieve[semconv.DB_QUERY_TEXT] == '{"ids":[2,3]}'


def test_server_address_of_a_remote_client(agentkit_telemetry: TelemetryCapture) -> None:
    """A remote client names its server; nothing listens on the port, so the call fails."""
    port = _closed_port()
    remote = QdrantClient(url=f"http://127.0.0.1:{port}", timeout=1, **NO_VERSION_CHECK)
    QdrantInstrumentor().instrument()
    try:
        with pytest.raises(Exception):  # noqa: B017, PT011 - whatever the transport raises
            remote.count(COLLECTION)
    finally:
        QdrantInstrumentor().uninstrument()
        remote.close()
    attrs = agentkit_telemetry.span(f"count {COLLECTION}").attributes or {}
    assert attrs[semconv.SERVER_ADDRESS] == "127.0.0.1"
    assert attrs[semconv.SERVER_PORT] == port
    assert semconv.ERROR_TYPE in attrs


def test_async_client(agentkit_telemetry: TelemetryCapture) -> None:
    async def run() -> list[Any]:
        aclient = AsyncQdrantClient(":memory:")
        await aclient.create_collection(COLLECTION, vectors_config=VECTORS)
        await aclient.upsert(COLLECTION, points=POINTS)
        QdrantInstrumentor().instrument()
        try:
            response = await aclient.query_points(COLLECTION, query=[1.0, 0.0, 0.0], limit=2)
        finally:
            QdrantInstrumentor().uninstrument()
            await aclient.close()
        return list(response.points)

    assert [p.id for p in asyncio.run(run())] == [1, 3]
    (span,) = agentkit_telemetry.spans()
    assert span.name == f"query_points {COLLECTION}"
    assert (span.attributes or {})[semconv.DB_RESPONSE_RETURNED_ROWS] == 2


def test_uninstrument_restores(agentkit_telemetry: TelemetryCapture, client: QdrantClient) -> None:
    methods = ("query_points", "upsert", "retrieve", "delete", "scroll", "count")
    originals = {m: QdrantClient.__dict__[m] for m in methods}
    QdrantInstrumentor().instrument()
    assert QdrantClient.__dict__["count"] is not originals["count"]
    QdrantInstrumentor().uninstrument()
    assert {m: QdrantClient.__dict__[m] for m in methods} == originals
    client.count(COLLECTION)
    assert agentkit_telemetry.spans() == []


def test_instrument_twice_wraps_once(instrumented: TelemetryCapture, client: QdrantClient) -> None:
    QdrantInstrumentor().instrument()
    assert not hasattr(QdrantClient.count.__wrapped__, "__wrapped__")
    client.count(COLLECTION)
    assert len(instrumented.spans()) == 1


def test_instrument_by_name(agentkit_telemetry: TelemetryCapture, client: QdrantClient) -> None:
    try:
        assert instrumentation.instrument("qdrant") == ["qdrant"]
        client.count(COLLECTION)
    finally:
        instrumentation.uninstrument("qdrant")
    assert [s.name for s in agentkit_telemetry.spans()] == [f"count {COLLECTION}"]


def _boom(*args: Any) -> Any:
    raise RuntimeError("internal bug")


@pytest.mark.parametrize("part", ["describe", "rows"])
def test_our_errors_never_reach_the_host(
    instrumented: TelemetryCapture,
    client: QdrantClient,
    monkeypatch: pytest.MonkeyPatch,
    part: str,
) -> None:
    monkeypatch.setattr(qdrant_instrumentation._STORE, part, _boom)
    response = client.query_points(COLLECTION, query=[1.0, 0.0, 0.0], limit=2)
    assert [p.id for p in response.points] == [1, 3]
    (span,) = instrumented.spans()
    assert span.end_time is not None
    (point,) = instrumented.metric_points(semconv.DB_CLIENT_OPERATION_DURATION)
    assert point.count == 1  # the duration is recorded whatever part failed


def test_grpc_client_names_the_grpc_port(agentkit_telemetry: TelemetryCapture) -> None:
    """prefer_grpc: the port reported is the gRPC one; nothing listens, so the call fails."""
    port = _closed_port()
    remote = QdrantClient(
        host="127.0.0.1",
        port=_closed_port(),
        grpc_port=port,
        prefer_grpc=True,
        timeout=2,
        **NO_VERSION_CHECK,
    )
    QdrantInstrumentor().instrument()
    try:
        with pytest.raises(Exception):  # noqa: B017, PT011 - whatever the transport raises
            remote.count(COLLECTION)
    finally:
        QdrantInstrumentor().uninstrument()
        remote.close()
    attrs = agentkit_telemetry.span(f"count {COLLECTION}").attributes or {}
    assert attrs[semconv.SERVER_ADDRESS] == "127.0.0.1"
    assert attrs[semconv.SERVER_PORT] == port


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_non_vector_query_is_content(
    agentkit_telemetry: TelemetryCapture, client: QdrantClient
) -> None:
    """A query by point id (nearest to point 1) is recorded with capture on; a vector is not."""
    QdrantInstrumentor().instrument(capture_content="SPAN_AND_EVENT")
    try:
        response = client.query_points(COLLECTION, query=1, limit=1)
    finally:
        QdrantInstrumentor().uninstrument()
    assert [p.id for p in response.points] == [3]
    attrs = agentkit_telemetry.span(f"query_points {COLLECTION}").attributes or {}
    assert attrs[semconv.DB_QUERY_TEXT] == '{"query":1}'


def test_unsupported_version_is_not_wrapped(
    agentkit_telemetry: TelemetryCapture,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from otel_agentkit.instrumentation import _base

    original = QdrantClient.__dict__["count"]
    monkeypatch.setattr(_base, "installed_version", lambda name: "1.2.0")
    with caplog.at_level("WARNING", logger="otel_agentkit"):
        QdrantInstrumentor().instrument()
    try:
        assert QdrantClient.__dict__["count"] is original
        assert "qdrant-client 1.2.0 is not supported" in caplog.text
    finally:
        QdrantInstrumentor().uninstrument()


@pytest.mark.filterwarnings("ignore:The class .* does not implement get_config")
def test_a_chroma_embedding_function_querying_qdrant_gets_both_spans(
    agentkit_telemetry: TelemetryCapture, client: QdrantClient
) -> None:
    """Each store guards against its own nested calls only."""
    import uuid

    import chromadb

    from otel_agentkit.instrumentation.chromadb import ChromaInstrumentor

    class QdrantBackedEmbedder(chromadb.EmbeddingFunction):  # type: ignore[type-arg,misc]
        def __init__(self) -> None:
            pass

        def __call__(self, input: Any) -> Any:
            client.count(COLLECTION)
            return [[1.0, 0.0, 0.0] for _ in input]

        @staticmethod
        def name() -> str:
            return "qdrant-backed"

    chroma = chromadb.EphemeralClient()
    col = chroma.create_collection(
        f"nest-{uuid.uuid4().hex[:8]}", embedding_function=QdrantBackedEmbedder()
    )
    col.add(ids=["a"], embeddings=[[1.0, 0.0, 0.0]])
    ChromaInstrumentor().instrument()
    QdrantInstrumentor().instrument()
    try:
        col.query(query_texts=["hello"], n_results=1)
    finally:
        QdrantInstrumentor().uninstrument()
        ChromaInstrumentor().uninstrument()
        chroma.delete_collection(col.name)
    query = agentkit_telemetry.span(f"query {col.name}")
    count = agentkit_telemetry.span(f"count {COLLECTION}")
    assert count.parent is not None
    assert count.parent.span_id == query.context.span_id
