"""Qdrant auto-instrumentation.

::

    from otel_agentkit.instrumentation.qdrant import QdrantInstrumentor

    QdrantInstrumentor().instrument()

or ``otel_agentkit.instrument("qdrant")``, or, with no code change,
``opentelemetry-instrument python app.py`` (entry point ``agentkit_qdrant``).

Wraps ``QdrantClient`` and ``AsyncQdrantClient`` ``query_points``,
``query_batch_points``, ``search`` (qdrant-client < 1.13), ``upsert``,
``retrieve``, ``delete``, ``scroll`` and ``count``. Each call gets one CLIENT
span ``{operation} {collection}`` (``query_points docs``) with
``db.system.name=qdrant``, ``db.operation.name``, ``db.collection.name``,
``db.response.returned_rows``, ``gen_ai.request.top_k`` (``limit`` of a
similarity search), ``server.address``/``server.port`` for a remote server and
``error.type`` on failure; and a ``db.client.operation.duration`` point.
Filters, ids and text queries are recorded (as ``db.query.text``) only with
content capture on; vectors never are.
"""

from __future__ import annotations

from typing import Any

from otel_agentkit import semconv
from otel_agentkit.instrumentation import _vector
from otel_agentkit.instrumentation._vector import Args, Request, Store, Target

__all__ = ["QdrantInstrumentor"]


_METHODS = (
    "query_points",
    "query_batch_points",
    "search",
    "upsert",
    "retrieve",
    "delete",
    "scroll",
    "count",
)
_TARGETS: tuple[Target, ...] = tuple(
    Target("qdrant_client.qdrant_client", "QdrantClient", m, m) for m in _METHODS
) + tuple(
    Target("qdrant_client.async_qdrant_client", "AsyncQdrantClient", m, m, True) for m in _METHODS
)

#: Similarity searches: their ``limit`` is the k of ``gen_ai.request.top_k``.
_SEARCHES = frozenset({"query_points", "search"})

#: Arguments that are content (recorded only with capture on), per operation.
#: Vectors (``query_vector``, the points of ``upsert``) are never recorded.
_CONTENT_ARGS = {
    "query_points": ("query", "query_filter"),
    "search": ("query_filter",),
    "retrieve": ("ids",),
    "delete": ("points_selector",),
    "scroll": ("scroll_filter",),
    "count": ("count_filter",),
}


def _is_vector(value: Any) -> bool:
    """A dense or multi vector (a list of numbers, or of lists of numbers)."""
    if not isinstance(value, list | tuple) or not value:
        return False
    first = value[0]
    if isinstance(first, list | tuple):
        return True
    return isinstance(first, int | float) and not isinstance(first, bool)


def _server(client: Any) -> tuple[str | None, int | None]:
    remote = getattr(client, "_client", None)
    host = getattr(remote, "_host", None)
    if not isinstance(host, str) or not host:  # QdrantLocal (":memory:" or a path)
        return None, None
    grpc = getattr(remote, "_prefer_grpc", False) is True
    port = getattr(remote, "_grpc_port" if grpc else "_port", None)
    return host, port if isinstance(port, int) else None


def _describe(instance: Any, operation: str, args: Args, request: Request) -> None:
    name = args.get("collection_name")
    request.collection = name if isinstance(name, str) else None
    request.host, request.port = _server(instance)
    if operation in _SEARCHES:
        limit = args.get("limit")
        if isinstance(limit, int):
            request.top_k = limit
    for key in _CONTENT_ARGS.get(operation, ()):
        value = args.get(key)
        if value is not None and not (key == "query" and _is_vector(value)):
            request.content[key] = value


def _rows(operation: str, result: Any) -> int | None:
    if operation == "query_points":
        return _vector.count_of(result.points)
    if operation == "query_batch_points":
        return sum(len(response.points) for response in result)
    if operation in ("search", "retrieve"):
        return _vector.count_of(result)
    if operation == "scroll":
        return _vector.count_of(result[0])
    return None


_STORE = Store("qdrant", semconv.DB_SYSTEM_QDRANT, _describe, _rows)


class QdrantInstrumentor(_vector.VectorStoreInstrumentor):
    """Instruments the qdrant-client library (1.10 up to, not including, 2).

    Keyword arguments to :meth:`instrument`:

    ``tracer_provider``, ``meter_provider``
        Providers to use; by default the global ones, looked up at call time.
    ``capture_content``
        ``NO_CONTENT``/``SPAN_ONLY``/``EVENT_ONLY``/``SPAN_AND_EVENT`` (or a bool);
        by default ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``, read
        at each call. With a mode that captures on spans, filters, ids and
        non-vector queries go into ``db.query.text`` (redacted and truncated
        like every captured value). Vectors never do.
    """

    _instruments = ("qdrant-client >= 1.10, < 2",)
    _modules = ("qdrant_client",)
    _store = _STORE
    _targets = _TARGETS
