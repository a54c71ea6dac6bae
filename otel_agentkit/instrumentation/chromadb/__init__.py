"""Chroma auto-instrumentation.

::

    from otel_agentkit.instrumentation.chromadb import ChromaInstrumentor

    ChromaInstrumentor().instrument()

or ``otel_agentkit.instrument("chromadb")``, or, with no code change,
``opentelemetry-instrument python app.py`` (entry point ``agentkit_chromadb``).

Wraps ``Collection`` (and ``AsyncCollection``) ``add``, ``get``, ``query``,
``update``, ``upsert``, ``delete``, ``count`` and ``peek``. Each call gets one
CLIENT span ``{operation} {collection}`` (``query docs``) with
``db.system.name=chroma``, ``db.operation.name``, ``db.collection.name``,
``db.namespace`` (the Chroma database), ``db.response.returned_rows``,
``gen_ai.request.top_k`` (``n_results``), ``server.address``/``server.port``
for HTTP clients and ``error.type`` on failure; and a
``db.client.operation.duration`` point. Documents, metadatas, query texts and
filters are recorded (as ``db.query.text``) only with content capture on;
embeddings never are.
"""

from __future__ import annotations

from typing import Any

from otel_agentkit import semconv
from otel_agentkit.instrumentation import _vector
from otel_agentkit.instrumentation._vector import Args, Request, Store, Target

__all__ = ["ChromaInstrumentor"]


_METHODS = ("add", "get", "query", "update", "upsert", "delete", "count", "peek")
_TARGETS: tuple[Target, ...] = tuple(
    Target("chromadb.api.models.Collection", "Collection", m, m) for m in _METHODS
) + tuple(
    Target("chromadb.api.models.AsyncCollection", "AsyncCollection", m, m, True) for m in _METHODS
)

#: Arguments that are content (recorded only with capture on), per operation.
#: Embeddings are never recorded.
_CONTENT_ARGS = {
    "query": ("query_texts", "ids", "where", "where_document"),
    "get": ("ids", "where", "where_document"),
    "delete": ("ids", "where", "where_document"),
    "add": ("ids", "documents", "metadatas"),
    "upsert": ("ids", "documents", "metadatas"),
    "update": ("ids", "documents", "metadatas"),
}


def _describe(instance: Any, operation: str, args: Args, request: Request) -> None:
    name = getattr(instance, "name", None)
    request.collection = name if isinstance(name, str) else None
    database = getattr(instance, "database", None)
    request.namespace = database if isinstance(database, str) else None
    client = getattr(instance, "_client", None)
    if hasattr(client, "_api_url"):  # FastAPI / AsyncFastAPI: an HTTP client
        settings = getattr(client, "_settings", None)
        host = getattr(settings, "chroma_server_host", None)
        port = getattr(settings, "chroma_server_http_port", None)
        request.host = str(host) if host else None
        request.port = int(port) if port is not None else None
    if operation == "query":
        n_results = args.get("n_results")
        if isinstance(n_results, int):
            request.top_k = n_results
    for key in _CONTENT_ARGS.get(operation, ()):
        value = args.get(key)
        if value is not None:
            request.content[key] = value


def _rows(operation: str, result: Any) -> int | None:
    if operation == "query":
        ids = result.get("ids") or []
        return sum(len(per_query) for per_query in ids)
    if operation in ("get", "peek"):
        return _vector.count_of(result.get("ids") or [])
    return None


_STORE = Store("chromadb", semconv.DB_SYSTEM_CHROMADB, _describe, _rows)


class ChromaInstrumentor(_vector.VectorStoreInstrumentor):
    """Instruments the chromadb client library (0.5.16 up to, not including, 2).

    Keyword arguments to :meth:`instrument`:

    ``tracer_provider``, ``meter_provider``
        Providers to use; by default the global ones, looked up at call time.
    ``capture_content``
        ``NO_CONTENT``/``SPAN_ONLY``/``EVENT_ONLY``/``SPAN_AND_EVENT`` (or a bool);
        by default ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``, read
        at each call. With a mode that captures on spans, query texts, ids,
        filters, documents and metadatas go into ``db.query.text`` (redacted
        and truncated like every captured value). Embeddings never do.
    """

    _instruments = ("chromadb >= 0.5.16, < 2",)
    _modules = ("chromadb",)
    _store = _STORE
    _targets = _TARGETS
