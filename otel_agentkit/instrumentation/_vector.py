"""What the vector-store instrumentors (Chroma, Qdrant) share.

Vector-store clients are database clients: each wrapped call gets one CLIENT
span ``{db.operation.name} {db.collection.name}`` with the DB client
semantic-convention attributes, plus ``gen_ai.request.top_k`` for a similarity
search's k, and one ``db.client.operation.duration`` point.

A library module describes itself with a :class:`Store` (system name and how
to read a call) and a list of :class:`Target` methods; :class:`VectorStoreInstrumentor`
does the rest. Our own failures are logged at debug
and swallowed: the caller always gets the library's result or exception,
untouched.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import Any, ClassVar, NamedTuple

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import Span, SpanKind

from otel_agentkit import _content, _sanitize, semconv
from otel_agentkit._content import ContentCapture, capture_mode
from otel_agentkit.instrumentation._base import (
    LibraryInstrumentor,
    TelemetryHandle,
    explicit_capture,
    log_internal_error,
    mark_failed,
    metric_attributes,
    unwrap_methods,
    wrap_methods,
)


class Request:
    """What a call's arguments say, read by a :class:`Store` before the call."""

    __slots__ = ("collection", "content", "host", "namespace", "port", "top_k")

    def __init__(self) -> None:
        self.collection: str | None = None
        self.namespace: str | None = None
        self.host: str | None = None
        self.port: int | None = None
        self.top_k: int | None = None
        #: Query texts, filters, ids, documents: recorded only with content capture on.
        self.content: dict[str, Any] = {}


class Params:
    """A wrapped method's parameters (of the bound method: without ``self``), read once."""

    __slots__ = ("defaults", "positions")

    def __init__(self, method: Any) -> None:
        self.positions: dict[str, int] = {}
        self.defaults: dict[str, Any] = {}
        try:
            parameters = list(inspect.signature(method).parameters.values())
        except (TypeError, ValueError):
            return
        positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        for index, param in enumerate(parameters):
            if param.kind in positional:
                self.positions[param.name] = index
            if param.default is not inspect.Parameter.empty:
                self.defaults[param.name] = param.default


class Args:
    """A call's arguments by parameter name (positional ones too), with defaults.

    Looked up by name on demand (no ``Signature.bind``: it costs more than the
    rest of the wrapper).
    """

    __slots__ = ("_args", "_kwargs", "_params")

    def __init__(self, params: Params, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
        self._params = params
        self._args = args
        self._kwargs = kwargs

    def get(self, name: str) -> Any:
        """The value passed for ``name``, else the parameter's default, else None."""
        if name in self._kwargs:
            return self._kwargs[name]
        index = self._params.positions.get(name)
        if index is not None and index < len(self._args):
            return self._args[index]
        return self._params.defaults.get(name)


#: (instance, operation, args, request) -> None: fills ``request``.
Describe = Callable[[Any, str, Args, Request], None]
#: (operation, result) -> rows returned, or None when the operation returns no rows.
Rows = Callable[[str, Any], "int | None"]


class Store:
    """One vector-store library: its ``db.system.name`` and how to read its calls."""

    __slots__ = ("describe", "in_call", "name", "rows", "system")

    def __init__(self, name: str, system: str, describe: Describe, rows: Rows) -> None:
        self.name = name
        self.system = system
        self.describe = describe
        self.rows = rows
        #: Set while one of this store's wrappers runs: a wrapped method calling
        #: another of the same library gets one span, not two. Per store, so a
        #: Chroma embedding function that queries Qdrant still gets its span.
        self.in_call: ContextVar[bool] = ContextVar(f"otel_agentkit_{name}_in_call", default=False)


class Target(NamedTuple):
    """A method to wrap: ``module.cls.method``, reported as ``operation``."""

    module: str
    cls: str
    method: str
    operation: str
    is_async: bool = False


class Settings:
    """What ``instrument()`` was given."""

    __slots__ = ("capture", "handle")

    def __init__(self, handle: TelemetryHandle, capture: ContentCapture | None) -> None:
        self.handle = handle
        self.capture = capture


def settings_from(kwargs: Mapping[str, Any]) -> Settings:
    """:class:`Settings` from ``instrument()`` keyword arguments."""
    handle = TelemetryHandle(
        tracer_provider=kwargs.get("tracer_provider"),
        meter_provider=kwargs.get("meter_provider"),
    )
    return Settings(handle, explicit_capture(kwargs.get("capture_content")))


class _Call:
    """One wrapped call in flight: its span, context token and start time."""

    __slots__ = ("_settings", "metric_attrs", "span", "start", "store", "token")

    def __init__(
        self, settings: Settings, store: Store, operation: str, instance: Any, args: Args
    ) -> None:
        request = Request()
        try:
            store.describe(instance, operation, args, request)
        except Exception:  # describe what we can: the span still names the operation
            log_internal_error(f"{store.name} request attributes")
        attributes: dict[str, Any] = {
            semconv.DB_SYSTEM_NAME: store.system,
            semconv.DB_OPERATION_NAME: operation,
        }
        if request.collection:
            attributes[semconv.DB_COLLECTION_NAME] = request.collection
        if request.namespace:
            attributes[semconv.DB_NAMESPACE] = request.namespace
        if request.host:
            attributes[semconv.SERVER_ADDRESS] = request.host
        if request.port is not None:
            attributes[semconv.SERVER_PORT] = request.port
        if request.top_k is not None:
            attributes[semconv.GEN_AI_REQUEST_TOP_K] = request.top_k
        attributes = dict(_sanitize.attributes(attributes))  # names from the request: made safe
        if request.content:
            # An explicit capture_content= wins; else the env var, read at each call.
            capture = settings.capture or capture_mode()
            if _content.should_capture_on_span(capture):
                attributes[semconv.DB_QUERY_TEXT] = _content.to_json(request.content)
        collection = attributes.get(semconv.DB_COLLECTION_NAME)
        name = f"{operation} {collection}" if collection else operation
        self.store = store
        self.metric_attrs = metric_attributes(attributes)
        self.span: Span = settings.handle.tracer().start_span(
            name, kind=SpanKind.CLIENT, attributes=attributes
        )
        self.token: object = None
        self.start = time.perf_counter()
        self._settings = settings

    def attach(self) -> None:
        self.token = otel_context.attach(trace.set_span_in_context(self.span))

    def detach(self) -> None:
        if self.token is not None:
            try:
                otel_context.detach(self.token)  # type: ignore[arg-type]
            except Exception:
                log_internal_error(f"{self.store.name} context detach")
            self.token = None

    def _record(self) -> None:
        elapsed = time.perf_counter() - self.start
        self._settings.handle.db_instruments().duration.record(
            elapsed,
            self.metric_attrs,
            context=trace.set_span_in_context(self.span),
        )

    def succeed(self, operation: str, result: Any) -> None:
        try:
            if self.span.is_recording():
                rows = self.store.rows(operation, result)
                if rows is not None:
                    self.span.set_attribute(semconv.DB_RESPONSE_RETURNED_ROWS, rows)
        except Exception:  # an unexpected result shape: the duration is still recorded
            log_internal_error(f"{self.store.name} result handling")
        try:
            self._record()
        except Exception:
            log_internal_error(f"{self.store.name} duration")
        finally:
            self.span.end()

    def fail(self, exc: BaseException) -> None:
        try:
            self.metric_attrs[semconv.ERROR_TYPE] = mark_failed(self.span, exc)
            self._record()
        except Exception:
            log_internal_error(f"{self.store.name} error handling")
        finally:
            self.span.end()


def _skip(settings: Settings, store: Store) -> bool:
    return store.in_call.get() or settings.handle.inactive() or not is_instrumentation_enabled()


def _start(
    settings: Settings,
    store: Store,
    operation: str,
    params: list[Params],
    wrapped: Any,
    instance: Any,
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
) -> _Call | None:
    try:
        if not params:  # the first traced call reads the method's signature, once
            params.append(Params(wrapped))
        call = _Call(settings, store, operation, instance, Args(params[0], args, kwargs))
        call.attach()
    except Exception:
        log_internal_error(f"{store.name} span start")
        return None
    return call


def _sync_wrapper(settings: Settings, store: Store, operation: str) -> Callable[..., Any]:
    params: list[Params] = []

    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        if _skip(settings, store):
            return wrapped(*args, **kwargs)
        call = _start(settings, store, operation, params, wrapped, instance, args, kwargs)
        if call is None:
            return wrapped(*args, **kwargs)
        in_call = store.in_call.set(True)
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as exc:
            store.in_call.reset(in_call)
            call.detach()
            call.fail(exc)
            raise
        store.in_call.reset(in_call)
        call.detach()
        call.succeed(operation, result)
        return result

    return wrapper


def _async_wrapper(settings: Settings, store: Store, operation: str) -> Callable[..., Any]:
    params: list[Params] = []

    async def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        if _skip(settings, store):
            return await wrapped(*args, **kwargs)
        call = _start(settings, store, operation, params, wrapped, instance, args, kwargs)
        if call is None:
            return await wrapped(*args, **kwargs)
        in_call = store.in_call.set(True)
        try:
            result = await wrapped(*args, **kwargs)
        except BaseException as exc:
            store.in_call.reset(in_call)
            call.detach()
            call.fail(exc)
            raise
        store.in_call.reset(in_call)
        call.detach()
        call.succeed(operation, result)
        return result

    return wrapper


def count_of(value: Any) -> int | None:
    """``len(value)`` for a sized value, else None."""
    try:
        return len(value)
    except Exception:
        return None


class VectorStoreInstrumentor(LibraryInstrumentor):
    """What the vector-store instrumentors share: wrap and unwrap their targets.

    A subclass names the versions it supports (``_instruments``), the modules
    whose import triggers wrapping (``_modules``), its :class:`Store` and the
    :class:`Target` methods to wrap.
    """

    _store: ClassVar[Store]
    _targets: ClassVar[tuple[Target, ...]]

    def _check_arguments(self, **kwargs: Any) -> None:
        settings_from(kwargs)

    def _wrap(self, **kwargs: Any) -> None:
        settings = settings_from(kwargs)
        self._wrapped = wrap_methods(
            (
                t.module,
                t.cls,
                t.method,
                (_async_wrapper if t.is_async else _sync_wrapper)(
                    settings, self._store, t.operation
                ),
            )
            for t in self._targets
        )

    def _unwrap(self) -> None:
        unwrap_methods(getattr(self, "_wrapped", []), f"{self._store.name} uninstrument")
        self._wrapped = []
