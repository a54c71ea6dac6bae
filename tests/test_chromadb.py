"""ChromaInstrumentor against a real in-memory Chroma (``chromadb.EphemeralClient``).

Every collection is created with ``embedding_function=None`` and explicit
embeddings: Chroma's default embedding function downloads a model.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import chromadb
import pytest
from chromadb.api.models.Collection import Collection
from opentelemetry.trace import SpanKind, StatusCode

from otel_agentkit import instrumentation, semconv
from otel_agentkit.instrumentation import chromadb as chroma_instrumentation
from otel_agentkit.instrumentation.chromadb import ChromaInstrumentor
from otel_agentkit.testing import TelemetryCapture

EMBEDDINGS = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.9, 0.1, 0.0]]
DOCUMENTS = ["the secret plan", "a shopping list", "the secret recipe"]


@pytest.fixture(scope="module")
def client() -> Any:
    # Default settings: Chroma allows one ephemeral instance per process, and other
    # tests (health checks) create theirs with the defaults.
    return chromadb.EphemeralClient()


@pytest.fixture
def collection(client: Any) -> Iterator[Any]:
    """A fresh collection with three documents, created before instrumenting."""
    name = f"docs-{uuid.uuid4().hex[:8]}"
    col = client.create_collection(name, embedding_function=None)
    col.add(ids=["a", "b", "c"], embeddings=EMBEDDINGS, documents=DOCUMENTS)
    yield col
    with contextlib.suppress(Exception):  # a test deleted it
        client.delete_collection(name)


@pytest.fixture
def instrumented(
    agentkit_telemetry: TelemetryCapture, collection: Any
) -> Iterator[TelemetryCapture]:
    """Instrumented after ``collection`` is set up: only the test's own calls are recorded."""
    ChromaInstrumentor().instrument()
    try:
        yield agentkit_telemetry
    finally:
        ChromaInstrumentor().uninstrument()


def test_query_span(instrumented: TelemetryCapture, collection: Any) -> None:
    result = collection.query(query_embeddings=[[1.0, 0.0, 0.0]], n_results=2)
    assert result["ids"] == [["a", "c"]]
    span = instrumented.span(f"query {collection.name}")
    assert span.kind is SpanKind.CLIENT
    assert dict(span.attributes or {}) == {
        semconv.DB_SYSTEM_NAME: semconv.DB_SYSTEM_CHROMADB,
        semconv.DB_OPERATION_NAME: "query",
        semconv.DB_COLLECTION_NAME: collection.name,
        semconv.DB_NAMESPACE: "default_database",
        semconv.GEN_AI_REQUEST_TOP_K: 2,
        semconv.DB_RESPONSE_RETURNED_ROWS: 2,
    }
    assert span.status.status_code is StatusCode.UNSET


def test_query_rows_count_every_query_and_default_top_k(
    instrumented: TelemetryCapture, collection: Any
) -> None:
    collection.query(query_embeddings=[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])  # n_results=10
    span = instrumented.span(f"query {collection.name}")
    assert span.attributes is not None
    assert span.attributes[semconv.GEN_AI_REQUEST_TOP_K] == 10
    assert span.attributes[semconv.DB_RESPONSE_RETURNED_ROWS] == 6  # 3 hits for each query


def test_every_operation(instrumented: TelemetryCapture, collection: Any) -> None:
    name = collection.name
    collection.add(ids=["d"], embeddings=[[0.0, 0.0, 1.0]], documents=["four"])
    collection.upsert(ids=["e"], embeddings=[[0.0, 0.5, 0.5]], documents=["five"])
    collection.update(ids=["e"], embeddings=[[0.0, 0.6, 0.4]], documents=["five!"])
    assert len(collection.get(ids=["a", "b"])["ids"]) == 2
    assert len(collection.peek(limit=4)["ids"]) == 4
    assert collection.count() == 5
    collection.delete(ids=["d"])
    spans = instrumented.spans()
    assert [s.name for s in spans] == [
        f"{op} {name}" for op in ("add", "upsert", "update", "get", "peek", "count", "delete")
    ]
    rows = {
        s.name.split()[0]: (s.attributes or {}).get(semconv.DB_RESPONSE_RETURNED_ROWS)
        for s in spans
    }
    assert rows == {
        "add": None,
        "upsert": None,
        "update": None,
        "get": 2,
        "peek": 4,
        "count": None,
        "delete": None,
    }
    # top_k is the k of a similarity search only
    assert all(semconv.GEN_AI_REQUEST_TOP_K not in (s.attributes or {}) for s in spans)


def test_duration_metric(instrumented: TelemetryCapture, collection: Any) -> None:
    collection.query(query_embeddings=[[1.0, 0.0, 0.0]], n_results=1)
    collection.query(query_embeddings=[[0.0, 1.0, 0.0]], n_results=1)
    collection.count()
    attrs = {
        semconv.DB_SYSTEM_NAME: semconv.DB_SYSTEM_CHROMADB,
        semconv.DB_OPERATION_NAME: "query",
        semconv.DB_COLLECTION_NAME: collection.name,
    }
    (point,) = instrumented.metric_points(semconv.DB_CLIENT_OPERATION_DURATION, attrs)
    assert dict(point.attributes) == attrs  # nothing beyond the allow-listed keys
    assert point.count == 2
    assert tuple(point.explicit_bounds) == semconv.DB_DURATION_BUCKETS
    metric = instrumented.metric(semconv.DB_CLIENT_OPERATION_DURATION)
    assert metric.unit == semconv.UNIT_SECONDS
    (count_point,) = instrumented.metric_points(
        semconv.DB_CLIENT_OPERATION_DURATION, {**attrs, semconv.DB_OPERATION_NAME: "count"}
    )
    assert count_point.count == 1


def test_error_on_deleted_collection(
    instrumented: TelemetryCapture, client: Any, collection: Any
) -> None:
    client.delete_collection(collection.name)
    # chromadb 1.x raises NotFoundError; older versions other classes (InvalidCollectionException).
    with pytest.raises(Exception) as caught:  # noqa: PT011 - the library's own class, per version
        collection.query(query_embeddings=[[1.0, 0.0, 0.0]], n_results=1)
    error_type = type(caught.value).__name__
    if int(chromadb.__version__.split(".")[0]) >= 1:
        assert error_type == "NotFoundError"
    span = instrumented.span(f"query {collection.name}")
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes[semconv.ERROR_TYPE] == error_type
    assert semconv.DB_RESPONSE_RETURNED_ROWS not in span.attributes
    (point,) = instrumented.metric_points(semconv.DB_CLIENT_OPERATION_DURATION)
    assert point.attributes[semconv.ERROR_TYPE] == error_type


def test_span_is_a_child_of_the_current_span(
    instrumented: TelemetryCapture, collection: Any
) -> None:
    from opentelemetry import trace

    with trace.get_tracer("test").start_as_current_span("retrieve") as parent:
        collection.count()
    span = instrumented.span(f"count {collection.name}")
    assert span.parent is not None
    assert span.parent.span_id == parent.get_span_context().span_id


def test_no_content_by_default(instrumented: TelemetryCapture, collection: Any) -> None:
    collection.query(
        query_embeddings=[[1.0, 0.0, 0.0]], n_results=2, where={"topic": {"$ne": "hidden"}}
    )
    collection.upsert(ids=["z"], embeddings=[[0.3, 0.3, 0.3]], documents=["the secret memo"])
    name = collection.name
    spans = instrumented.spans()
    # Every attribute, exactly: nothing else (no db.query.text, no documents) is there.
    assert [(span.name, dict(span.attributes or {})) for span in spans] == [
        (
            f"query {name}",
            {
                "db.system.name": "chroma",
                "db.operation.name": "query",
                "db.collection.name": name,
                "db.namespace": "default_database",
                "gen_ai.request.top_k": 2,
                "db.response.returned_rows": 2,
            },
        ),
        (
            f"upsert {name}",
            {
                "db.system.name": "chroma",
                "db.operation.name": "upsert",
                "db.collection.name": name,
                "db.namespace": "default_database",
            },
        ),
    ]


@pytest.mark.parametrize("how", ["instrument_kwarg", "env_var"])
def test_content_with_capture_on(
    agentkit_telemetry: TelemetryCapture,
    collection: Any,
    monkeypatch: pytest.MonkeyPatch,
    how: str,
) -> None:
    if how == "env_var":
        monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "SPAN_ONLY")
        ChromaInstrumentor().instrument()
    else:
        ChromaInstrumentor().instrument(capture_content="SPAN_ONLY")
    try:
        collection.query(query_embeddings=[[0.25, 0.5, 0.75]], n_results=1, where={"topic": "x"})
        collection.upsert(ids=["z"], embeddings=[[0.3, 0.3, 0.3]], documents=["the secret memo"])
    finally:
        ChromaInstrumentor().uninstrument()
    query = agentkit_telemetry.span(f"query {collection.name}").attributes or {}
    assert '"where":{"topic":"x"}' in str(query[semconv.DB_QUERY_TEXT])
    assert "0.75" not in str(query[semconv.DB_QUERY_TEXT])  # embeddings never
    upsert = agentkit_telemetry.span(f"upsert {collection.name}").attributes or {}
    assert "the secret memo" in str(upsert[semconv.DB_QUERY_TEXT])


def test_uninstrument_restores(agentkit_telemetry: TelemetryCapture, collection: Any) -> None:
    originals = {m: Collection.__dict__[m] for m in ("query", "add", "count", "peek")}
    ChromaInstrumentor().instrument()
    assert Collection.__dict__["query"] is not originals["query"]
    ChromaInstrumentor().uninstrument()
    assert {m: Collection.__dict__[m] for m in originals} == originals
    collection.count()
    assert agentkit_telemetry.spans() == []


def test_instrument_twice_wraps_once(instrumented: TelemetryCapture, collection: Any) -> None:
    ChromaInstrumentor().instrument()  # second call: a no-op
    assert not hasattr(Collection.query.__wrapped__, "__wrapped__")
    collection.count()
    assert len(instrumented.spans()) == 1


def test_instrument_by_name(agentkit_telemetry: TelemetryCapture, collection: Any) -> None:
    assert instrumentation.available()["chromadb"] == (
        "otel_agentkit.instrumentation.chromadb:ChromaInstrumentor"
    )
    try:
        assert instrumentation.instrument("chromadb") == ["chromadb"]
        collection.count()
    finally:
        instrumentation.uninstrument("chromadb")
    assert [s.name for s in agentkit_telemetry.spans()] == [f"count {collection.name}"]


def _boom(*args: Any) -> Any:
    raise RuntimeError("internal bug")


@pytest.mark.parametrize("part", ["describe", "rows"])
def test_our_errors_never_reach_the_host(
    instrumented: TelemetryCapture,
    collection: Any,
    monkeypatch: pytest.MonkeyPatch,
    part: str,
) -> None:
    monkeypatch.setattr(chroma_instrumentation._STORE, part, _boom)
    result = collection.query(query_embeddings=[[1.0, 0.0, 0.0]], n_results=2)
    assert result["ids"] == [["a", "c"]]
    (span,) = instrumented.spans()
    assert span.end_time is not None
    assert span.status.status_code is StatusCode.UNSET


def test_tracer_failure_still_runs_the_call(
    instrumented: TelemetryCapture, collection: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from otel_agentkit.instrumentation._base import TelemetryHandle

    monkeypatch.setattr(TelemetryHandle, "tracer", _boom)
    assert collection.count() == 3
    assert instrumented.spans() == []


def test_no_providers_no_work(collection: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """With only the API's no-op providers, calls pass straight through (no span work)."""
    from otel_agentkit.instrumentation import _vector

    monkeypatch.setattr(_vector, "_start", _boom)  # would raise if reached
    ChromaInstrumentor().instrument()
    try:
        assert collection.query(query_embeddings=[[1.0, 0.0, 0.0]], n_results=1)["ids"] == [["a"]]
    finally:
        ChromaInstrumentor().uninstrument()


class _Embedder(chromadb.EmbeddingFunction):  # type: ignore[type-arg,misc]
    """A local embedding function (no model download) that opens its own span."""

    def __init__(self) -> None:
        pass

    def __call__(self, input: Any) -> Any:
        from opentelemetry import trace

        with trace.get_tracer("test").start_as_current_span("embed"):
            return [[float(len(text)), 1.0, 0.0] for text in input]

    @staticmethod
    def name() -> str:
        return "test-embedder"


@pytest.mark.filterwarnings("ignore:The class _Embedder does not implement get_config")
def test_work_inside_the_call_nests_under_its_span(
    agentkit_telemetry: TelemetryCapture, client: Any
) -> None:
    """Spans opened by the store's own callbacks (an embedding function) are its children."""
    col = client.create_collection(f"embed-{uuid.uuid4().hex[:8]}", embedding_function=_Embedder())
    col.add(ids=["a", "b"], documents=["short", "a longer text"])
    ChromaInstrumentor().instrument()
    try:
        col.query(query_texts=["tiny"], n_results=1)
    finally:
        ChromaInstrumentor().uninstrument()
        client.delete_collection(col.name)
    query = agentkit_telemetry.span(f"query {col.name}")
    embeds = [s for s in agentkit_telemetry.spans_named("embed") if s.parent is not None]
    assert [s.parent.span_id for s in embeds if s.parent] == [query.context.span_id]
